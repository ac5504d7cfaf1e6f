r"""Transcribe audio files with a fine-tuned model (``<output>/asr`` of fine-tuning).

Usage
-----
::

    python -m summarymixing.recipes.transcribe results/finetune_ctc/1986/asr \
        a.flac b.wav --batch_size 8
    summarymixing-transcribe ASR_FOLDER *.wav --decoding beam --lm_file 4gram.arpa

Prints one ``<path><TAB><text>`` line per file, in the order given. Files of
any rate and channel count are read (resampled to 16 kHz, channels averaged).
A folder that is not an ASR model, an unreadable file or a language model that
does not load gives one message naming it (exit status 2), before any file is
transcribed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from summarymixing.data.audio import BadAudioError, probe_audio
from summarymixing.finetune import DecodingOptions, load_asr


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line (see the module docstring).

    Example
    -------
    >>> args = parse_args(["asr", "a.wav", "--decoding", "beam"])
    >>> args.folder, args.paths, args.decoding, args.batch_size
    (PosixPath('asr'), [PosixPath('a.wav')], 'beam', 8)
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("folder", type=Path, help="the asr folder written by recipes/finetune_ctc.py")
    add("paths", type=Path, nargs="+", help="audio files")
    add("--batch_size", type=int, default=8)
    add("--device", default="cpu")
    add("--decoding", choices=["greedy", "beam"], default="greedy")
    add("--beam_size", type=int, default=100)
    add("--lm_file", help="KenLM ARPA or binary file (beam search)")
    add("--lm_weight", type=float, default=0.5)
    add("--word_bonus", type=float, default=1.5)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Print the transcript of every file."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    options = DecodingOptions(
        args.decoding, args.beam_size, args.lm_file, args.lm_weight, args.word_bonus
    )
    try:
        for path in args.paths:
            probe_audio(path)
        asr = load_asr(args.folder, args.device, options)
        texts = asr.transcribe(args.paths, batch_size=args.batch_size)
    except BadAudioError as error:
        print(f"error: {error.path}: {error.reason}", file=sys.stderr)
        sys.exit(2)
    except (ValueError, FileNotFoundError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    for path, text in zip(args.paths, texts, strict=True):
        print(f"{path}\t{text}")


if __name__ == "__main__":
    main()
