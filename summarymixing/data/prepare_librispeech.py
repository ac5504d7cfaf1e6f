"""LibriSpeech manifests: one CSV per split, with speaker and transcript.

Layout read (as distributed on openslr.org)::

    <data_folder>/<split>/<spk>/<chapter>/<spk>-<chapter>-<utt>.flac
    <data_folder>/<split>/<spk>/<chapter>/<spk>-<chapter>.trans.txt

Each transcript line is ``<spk>-<chapter>-<utt> TEXT IN UPPER CASE``. The
manifest ``<save_folder>/<split>.csv`` has the columns
``ID,duration,wav,spk_id,wrd``. Utterances whose audio is missing or unreadable,
and audio files without a transcript line, are left out, logged and listed in
the manifest's JSON record (see :mod:`summarymixing.data.manifest`).
"""

import logging
from pathlib import Path

from summarymixing.data.audio import BadAudioError, probe_audio
from summarymixing.data.manifest import (
    SkippedFile,
    manifest_is_current,
    write_manifest,
)

logger = logging.getLogger(__name__)


def read_transcripts(split_folder: str | Path) -> dict[str, str]:
    """Read every ``*.trans.txt`` under a split folder.

    Arguments
    ---------
    split_folder : str or Path
        For example ``LibriSpeech/dev-clean``.

    Returns
    -------
    dict
        Utterance ID → transcript, in sorted ID order.

    Example
    -------
    >>> import tempfile
    >>> chapter = Path(tempfile.mkdtemp()) / "dev-clean" / "84" / "121123"
    >>> chapter.mkdir(parents=True)
    >>> _ = (chapter / "84-121123.trans.txt").write_text("84-121123-0000 GO DO")
    >>> read_transcripts(chapter.parents[1])
    {'84-121123-0000': 'GO DO'}
    """
    transcripts = {}
    for path in sorted(Path(split_folder).rglob("*.trans.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                utterance_id, _, text = line.strip().partition(" ")
                transcripts[utterance_id] = text.strip()
    return dict(sorted(transcripts.items()))


def split_rows(split_folder: Path) -> tuple[list[dict], list[SkippedFile]]:
    """Manifest rows of every transcribed utterance under a folder, and the skips.

    Any folder of LibriSpeech's ``<spk>/<chapter>/`` layout works (a split, or
    a fold of Libri-Light's limited-resource sets).
    """
    transcripts = read_transcripts(split_folder)
    audio_files = {path.stem: path for path in split_folder.rglob("*.flac")}
    rows, skipped = [], []
    for utterance_id, text in transcripts.items():
        speaker, chapter = (utterance_id.split("-") + [""])[:2]
        path = audio_files.get(
            utterance_id, split_folder / speaker / chapter / f"{utterance_id}.flac"
        )
        try:
            duration = probe_audio(path).duration
        except BadAudioError as error:
            skipped.append(SkippedFile(error.path, error.reason))
            continue
        row = {"ID": utterance_id, "duration": duration, "wav": str(path)}
        rows.append(row | {"spk_id": speaker, "wrd": text})
    for stem in sorted(set(audio_files) - set(transcripts)):
        skipped.append(SkippedFile(str(audio_files[stem]), "no transcript line"))
    return rows, skipped


def _split_folder(data_folder: Path, split: str) -> Path:
    folder = data_folder / split
    if not folder.is_dir():
        present = sorted(path.name for path in data_folder.glob("*") if path.is_dir())
        raise FileNotFoundError(
            f"LibriSpeech split {split!r} not found: {folder} is not a folder. "
            f"Splits present in {data_folder}: {present or 'none'}. Pass "
            "--data_folder pointing at the folder that holds the split folders "
            "(e.g. .../LibriSpeech), or choose among the splits present."
        )
    return folder


def prepare_librispeech(
    data_folder: str | Path,
    save_folder: str | Path,
    splits: list[str] | tuple[str, ...] = ("dev-clean",),
) -> dict[str, Path]:
    """Write ``<save_folder>/<split>.csv`` for each split, reusing current ones.

    A split whose manifest exists and was prepared from the same folder is not
    read again, so that restarting a recipe costs nothing.

    Arguments
    ---------
    data_folder : str or Path
        Folder holding the split folders (``.../LibriSpeech``).
    save_folder : str or Path
        Where the manifests go.
    splits : list of str
        Split folder names, e.g. ``["train-clean-100", "dev-clean"]``.

    Returns
    -------
    dict
        Split name → manifest path.

    Raises
    ------
    FileNotFoundError
        A split folder is missing (the message lists the splits present).

    Example
    -------
    >>> import tempfile, torch
    >>> from summarymixing.data.audio import write_audio
    >>> root = Path(tempfile.mkdtemp())
    >>> chapter = root / "dev-clean" / "84" / "121123"
    >>> write_audio(chapter / "84-121123-0000.flac", torch.zeros(8000), 16000)
    >>> _ = (chapter / "84-121123.trans.txt").write_text("84-121123-0000 GO DO")
    >>> manifests = prepare_librispeech(root, root / "prep", ["dev-clean"])
    >>> manifests["dev-clean"].read_text().splitlines()[1].split(",")[:2]
    ['84-121123-0000', '0.500']
    """
    data_folder, save_folder = Path(data_folder).resolve(), Path(save_folder)
    folders = {split: _split_folder(data_folder, split) for split in splits}
    manifests = {}
    for split, folder in folders.items():
        manifest = save_folder / f"{split}.csv"
        options = {"corpus": "librispeech", "split_folder": str(folder)}
        if manifest_is_current(manifest, options):
            logger.info("Reusing %s (prepared with the same options)", manifest)
        else:
            rows, skipped = split_rows(folder)
            write_manifest(manifest, rows, options, skipped)
        manifests[split] = manifest
    return manifests
