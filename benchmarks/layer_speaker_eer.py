r"""Where an encoder keeps (or loses) who speaks: a speaker EER per layer.

For each encoder folder (``recipes/pretrain.py``'s export, an untrained or an
FBANK baseline folder), every utterance of a VoxCeleb1 trial list is encoded
once, frozen; for the front-end's latents and each hidden state on its own,
the frames of each utterance are mean- and std-pooled, standardised over the
utterances, and every pair of utterances is scored by cosine similarity: the
EER of same- against other-speaker pairs is that layer's reading
(:func:`summarymixing.training.quality_monitor.speaker_eer`, the quality
monitor's speaker reading, here per layer). Nothing is trained, so a folder
costs seconds. A trained probe (MP3S's x-vector) reads more out of the same
features; this is for comparing layers and encoders quickly.

Prints a table (rows: encoders, columns: ``latent``, ``h0`` = the input of
the first layer, ``h1`` ... = each layer's output) and writes
``<out>/layer_speaker_eer.csv`` and ``.png``.

Usage:
    python benchmarks/layer_speaker_eer.py untrained=/runs/u trained=/runs/sm/encoder \
        --voxceleb /data/VoxCeleb1 --out /tmp/speaker
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import torch
from matplotlib import pyplot
from speechbrain.utils.data_utils import batch_pad_right

from summarymixing.data.audio import load_audio
from summarymixing.export import load_encoder
from summarymixing.training.quality_monitor import speaker_eer

TRIALS = "veri_test2.txt"
BATCH = 8


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line (see the module docstring).

    Example
    -------
    >>> args = parse_args(["a=/x/encoder", "/y/encoder", "--voxceleb", "/v"])
    >>> args.encoders
    [('a', PosixPath('/x/encoder')), ('y', PosixPath('/y/encoder'))]
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "encoders", nargs="+", metavar="[NAME=]FOLDER", type=named_folder
    )
    parser.add_argument("--voxceleb", type=Path, required=True,
                        help=f"a VoxCeleb1 root with {TRIALS} and wav/")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/speaker"))
    parser.add_argument("--threads", type=int, default=None)
    return parser.parse_args(argv)


def named_folder(text: str) -> tuple[str, Path]:
    """``NAME=FOLDER`` or ``FOLDER`` (named after its parent folder)."""
    name, _, folder = text.rpartition("=")
    path = Path(folder)
    return (name or path.parent.name or path.name), path


def trial_utterances(root: Path) -> list[Path]:
    """Every file of ``root/veri_test2.txt``, once each, in the list's order.

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / TRIALS).write_text("1 a/v/1.wav a/w/2.wav" + chr(10) +
    ...                                "0 a/v/1.wav b/u/1.wav" + chr(10))
    >>> [path.relative_to(root).as_posix() for path in trial_utterances(root)]
    ['wav/a/v/1.wav', 'wav/a/w/2.wav', 'wav/b/u/1.wav']
    """
    trials = root / TRIALS
    if not trials.is_file():
        raise FileNotFoundError(
            f"{trials} does not exist: --voxceleb must be a VoxCeleb1 root "
            f"holding {TRIALS} and wav/ (e.g. a synthetic one from "
            "`python -m summarymixing.data.synthetic --corpus voxceleb1`)"
        )
    names: dict[str, None] = {}
    for line in trials.read_text().splitlines():
        for name in line.split()[1:]:
            names[name] = None
    return [root / "wav" / name for name in names]


def layer_features(
    folder: Path, waves: list[torch.Tensor]
) -> dict[str, list[torch.Tensor]]:
    """Frames of every utterance for the latents and each hidden state."""
    model = load_encoder(folder)
    captured: list[torch.Tensor] = []
    frontend = getattr(model, "frontend", None)
    hook = (
        frontend.register_forward_hook(lambda _m, _i, out: captured.append(out))
        if frontend is not None
        else None
    )
    layers: dict[str, list[torch.Tensor]] = {}
    with torch.no_grad():
        for start in range(0, len(waves), BATCH):
            batch = waves[start : start + BATCH]
            wavs, lengths = batch_pad_right(batch)
            captured.clear()
            states, padding = model(wavs, lengths)
            named = {f"h{k}": state for k, state in enumerate(states)}
            if captured:
                latent = captured[0][0] if isinstance(captured[0], tuple) else (
                    captured[0])  # fmt: skip
                named = {"latent": latent, **named}
            for name, state in named.items():
                for row in range(len(batch)):
                    frames = int((~padding[row]).sum())
                    layers.setdefault(name, []).append(state[row, :frames].float())
    if hook is not None:
        hook.remove()
    return layers


def measure(
    encoders: list[tuple[str, Path]], root: Path
) -> list[dict[str, float | str | None]]:
    """One row per encoder: name, then EER (percent) per layer."""
    paths = trial_utterances(root)
    waves = [load_audio(path, 16000) for path in paths]
    speakers = [path.relative_to(root / "wav").parts[0] for path in paths]
    rows = []
    for name, folder in encoders:
        layers = layer_features(folder, waves)
        row: dict[str, float | str | None] = {"encoder": name}
        for layer, features in layers.items():
            row[layer] = speaker_eer(features, speakers)
        rows.append(row)
        print(format_row(row), flush=True)
    return rows


def format_row(row: dict[str, float | str | None]) -> str:
    """``name: latent 10.0 | h0 10.2 | ...``.

    Example
    -------
    >>> format_row({"encoder": "x", "h0": 12.5, "h1": None})
    'x: h0 12.5 | h1 -'
    """
    cells = [
        f"{key} {'-' if value is None else format(value, '.1f')}"
        for key, value in row.items()
        if key != "encoder"
    ]
    return f"{row['encoder']}: " + " | ".join(cells)


def write_outputs(rows: list[dict[str, float | str | None]], out: Path) -> None:
    """Write the CSV (one row per encoder) and a line plot over layers."""
    out.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with (out / "layer_speaker_eer.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    figure, axis = pyplot.subplots(figsize=(7, 4))
    for row in rows:
        layers = [key for key in columns[1:] if row.get(key) is not None]
        axis.plot(layers, [row[key] for key in layers], "o-", label=row["encoder"])
    axis.set(xlabel="representation", ylabel="speaker EER, cosine, no training (%)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out / "layer_speaker_eer.png", dpi=120)
    pyplot.close(figure)


def main(argv: list[str] | None = None) -> int:
    """Measure, print, write; a bad folder is one message, exit status 2."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        rows = measure(args.encoders, args.voxceleb)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    write_outputs(rows, args.out)
    print(f"Wrote {args.out / 'layer_speaker_eer.csv'} and .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
