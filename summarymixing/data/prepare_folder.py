"""Manifest for any folder of audio files, searched recursively.

Every file with one of the given extensions (WAV, FLAC, OGG/Vorbis and MP3 by
default: whatever libsndfile reads) becomes a row ``ID,duration,wav``; the ID
is the path relative to the folder, without extension (the extension is kept
when two files differ only by it). Unreadable files are left out, logged and
listed in the manifest's JSON record.

With ``max_duration_s``, files longer than that are cut by the energy VAD
(:func:`summarymixing.data.vad.cut_into_pieces`) into pieces of
``min_piece_s`` to ``max_duration_s`` seconds. No audio is written: the pieces
are rows with ``start`` and ``stop`` columns (seconds into the file), which
:func:`summarymixing.data.pipeline.make_pretraining_dataset` reads; files that
need no cutting get ``start`` 0 and ``stop`` their duration.
"""

import logging
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from summarymixing.data.audio import (
    TARGET_SAMPLE_RATE,
    BadAudioError,
    load_audio,
    probe_audio,
)
from summarymixing.data.manifest import (
    SkippedFile,
    manifest_is_current,
    write_manifest,
)
from summarymixing.data.vad import EnergyVad, cut_into_pieces

logger = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


def find_audio_files(
    folder: str | Path, extensions: tuple[str, ...] = AUDIO_EXTENSIONS
) -> list[Path]:
    """All files under ``folder`` whose extension is in ``extensions``, sorted.

    Matching ignores case (``.WAV`` counts as ``.wav``).

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ("b/x.WAV", "a.flac", "notes.txt"):
    ...     (root / name).parent.mkdir(exist_ok=True)
    ...     (root / name).touch()
    >>> [path.relative_to(root).as_posix() for path in find_audio_files(root)]
    ['a.flac', 'b/x.WAV']
    """
    wanted = {extension.lower() for extension in extensions}
    return sorted(
        path
        for path in Path(folder).rglob("*")
        if path.suffix.lower() in wanted and path.is_file()
    )


def utterance_ids(paths: list[Path], root: str | Path) -> list[str]:
    """Make unique IDs: relative paths without extension (kept where needed).

    Example
    -------
    >>> utterance_ids([Path("/d/a.wav"), Path("/d/a.flac"), Path("/d/s/b.mp3")], "/d")
    ['a.wav', 'a.flac', 's/b']
    """
    relative = [path.relative_to(root).as_posix() for path in paths]
    stems = [name.rsplit(".", 1)[0] for name in relative]
    counts = Counter(stems)
    return [
        stem if counts[stem] == 1 else name
        for stem, name in zip(stems, relative, strict=True)
    ]


def _file_rows(
    utterance_id: str,
    path: Path,
    max_duration_s: float | None,
    min_piece_s: float | None,
    vad: EnergyVad,
) -> list[dict]:
    """Rows of one file: whole, or cut by the VAD when longer than allowed."""
    duration = probe_audio(path).duration
    row = {"ID": utterance_id, "duration": duration, "wav": str(path)}
    if max_duration_s is None:
        return [row]
    if duration <= max_duration_s:
        return [row | {"start": 0.0, "stop": duration}]
    signal = load_audio(path, TARGET_SAMPLE_RATE)
    pieces = cut_into_pieces(
        signal, TARGET_SAMPLE_RATE, min_piece_s, max_duration_s, vad=vad
    )
    if not pieces:
        raise BadAudioError(path, "no speech detected")
    rows = []
    for index, (start, stop) in enumerate(pieces):
        start_s, stop_s = start / TARGET_SAMPLE_RATE, stop / TARGET_SAMPLE_RATE
        row = {"ID": f"{utterance_id}_{index}", "duration": stop_s - start_s}
        rows.append(row | {"wav": str(path), "start": start_s, "stop": stop_s})
    return rows


def prepare_folder(
    data_folder: str | Path,
    save_folder: str | Path,
    manifest_name: str = "audio",
    extensions: tuple[str, ...] = AUDIO_EXTENSIONS,
    max_duration_s: float | None = None,
    min_piece_s: float | None = None,
    vad: EnergyVad | None = None,
) -> Path:
    """Write ``<save_folder>/<manifest_name>.csv`` for a folder of audio files.

    Reuses the manifest when it exists and was prepared with the same options.

    Arguments
    ---------
    data_folder : str or Path
        Searched recursively.
    save_folder : str or Path
        Where the manifest goes.
    manifest_name : str
        File name of the manifest, without ``.csv``.
    extensions : tuple of str
        Extensions to take, compared without case.
    max_duration_s : float, optional
        Cut longer files into VAD pieces of at most this many seconds.
    min_piece_s : float, optional
        Shortest piece when cutting; defaults to a third of ``max_duration_s``.
    vad : EnergyVad, optional
        Detector settings for cutting; defaults to ``EnergyVad()``.

    Returns
    -------
    Path
        The manifest.

    Example
    -------
    >>> import tempfile, torch
    >>> from summarymixing.data.audio import write_audio
    >>> root = Path(tempfile.mkdtemp())
    >>> write_audio(root / "in" / "a.wav", torch.zeros(4000), 8000)
    >>> manifest = prepare_folder(root / "in", root / "prep")
    >>> manifest.read_text().splitlines()[1].split(",")[:2]
    ['a', '0.500']
    """
    data_folder = Path(data_folder).resolve()
    if not data_folder.is_dir():
        raise FileNotFoundError(
            f"Audio folder {data_folder} does not exist; pass the folder that "
            "holds your audio files (searched recursively)."
        )
    vad = vad or EnergyVad()
    if max_duration_s is not None and min_piece_s is None:
        min_piece_s = max_duration_s / 3
    options = {
        "corpus": "folder",
        "data_folder": str(data_folder),
        "extensions": sorted(extension.lower() for extension in extensions),
        "max_duration_s": max_duration_s,
    }
    if max_duration_s is not None:
        options |= {"min_piece_s": min_piece_s, "vad": asdict(vad)}
    manifest = Path(save_folder) / f"{manifest_name}.csv"
    if manifest_is_current(manifest, options):
        logger.info("Reusing %s (prepared with the same options)", manifest)
        return manifest
    paths = find_audio_files(data_folder, extensions)
    ids = utterance_ids(paths, data_folder)
    rows, skipped = [], []
    for utterance_id, path in zip(ids, paths, strict=True):
        try:
            rows += _file_rows(utterance_id, path, max_duration_s, min_piece_s, vad)
        except BadAudioError as error:
            skipped.append(SkippedFile(error.path, error.reason))
    return write_manifest(manifest, rows, options, skipped)
