"""Libri-Light: cut the raw recordings into 10–30 s pieces, then a manifest.

Raw layout (as downloaded)::

    <data_folder>/<speaker>/<book>/<name>.flac   (+ <name>.json metadata)

Cut layout (what the official VAD cutting produces, and what we write)::

    <cut_folder>/<speaker>/<book>/<name>_<k>.flac

Raw recordings are chapter-length. Each is loaded at 16 kHz, cut by our
energy VAD (:func:`summarymixing.data.vad.cut_into_pieces`) into pieces of
``min_piece_s`` to ``max_piece_s`` seconds, and the pieces are written as
16-bit FLAC. Cutting thousands of hours takes hours, so it is resumable: once
all pieces of a recording are written, a small ``<name>.vad.json`` next to
them records the cutting options and the pieces; a restarted preparation
skips every recording whose record matches. A folder that is already cut is
only indexed. Unreadable recordings (and recordings with no speech) are left
out, logged and listed in the manifest's JSON record.
"""

import json
import logging
import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

from summarymixing.atomic_files import write_text_atomically
from summarymixing.data.audio import (
    TARGET_SAMPLE_RATE,
    BadAudioError,
    load_audio,
    probe_audio,
    write_audio,
)
from summarymixing.data.manifest import SkippedFile, manifest_is_current, write_manifest
from summarymixing.data.prepare_folder import find_audio_files
from summarymixing.data.vad import EnergyVad, cut_into_pieces

logger = logging.getLogger(__name__)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def cut_recording(
    source: Path, out_folder: Path, cutting: dict
) -> list[tuple[Path, float]]:
    """Cut one recording into ``<out_folder>/<stem>_<k>.flac`` pieces.

    Skips the work when ``<out_folder>/<stem>.vad.json`` records the same
    ``cutting`` options (``min_piece_s``, ``max_piece_s``, ``vad`` as a dict)
    and all the pieces it lists are still there.

    Returns
    -------
    list of (Path, float)
        Each piece and its duration in seconds.

    Raises
    ------
    BadAudioError
        The recording cannot be read, or holds no speech.

    Example
    -------
    >>> import tempfile, torch
    >>> root = Path(tempfile.mkdtemp())
    >>> tone = 0.5 * torch.sin(torch.arange(24000) * 0.3)
    >>> write_audio(root / "rec.flac", torch.cat([tone, 0 * tone, tone]), 16000)
    >>> cutting = {"min_piece_s": 1.0, "max_piece_s": 2.0, "vad": asdict(EnergyVad())}
    >>> pieces = cut_recording(root / "rec.flac", root / "out", cutting)
    >>> [(path.name, seconds) for path, seconds in pieces]
    [('rec_0.flac', 1.6), ('rec_1.flac', 1.6)]
    """
    record_file = out_folder / f"{source.stem}.vad.json"
    record = _read_json(record_file)
    if record is not None and record.get("cutting") == cutting:
        pieces = [(out_folder / name, seconds) for name, seconds in record["pieces"]]
        if all(path.is_file() for path, _ in pieces):
            return pieces
    signal = load_audio(source, TARGET_SAMPLE_RATE)
    vad = EnergyVad(**cutting["vad"])
    pieces = cut_into_pieces(
        signal, TARGET_SAMPLE_RATE, cutting["min_piece_s"], cutting["max_piece_s"], vad
    )
    if not pieces:
        raise BadAudioError(source, "no speech detected")
    stale = re.compile(re.escape(source.stem) + r"_\d+\.flac")
    for old in out_folder.glob(f"{source.stem}_*.flac"):
        if stale.fullmatch(old.name):
            old.unlink()
    written = []
    for index, (start, stop) in enumerate(pieces):
        piece = out_folder / f"{source.stem}_{index}.flac"
        write_audio(piece, signal[start:stop], TARGET_SAMPLE_RATE)
        written.append((piece.name, (stop - start) / TARGET_SAMPLE_RATE))
    write_text_atomically(
        record_file, json.dumps({"cutting": cutting, "pieces": written})
    )
    return [(out_folder / name, seconds) for name, seconds in written]


def _cut_job(job: tuple[Path, Path, dict]) -> list[tuple[Path, float]] | SkippedFile:
    try:
        return cut_recording(*job)
    except BadAudioError as error:
        return SkippedFile(error.path, error.reason)


def _cut_all(
    sources: list[Path],
    data_folder: Path,
    cut_folder: Path,
    cutting: dict,
    workers: int,
) -> tuple[list[tuple[Path, float]], list[SkippedFile]]:
    jobs = [
        (source, cut_folder / source.parent.relative_to(data_folder), cutting)
        for source in sources
    ]
    if workers > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            results = list(pool.map(_cut_job, jobs, chunksize=4))
    else:
        results = [_cut_job(job) for job in jobs]
    pieces = [
        piece for result in results if isinstance(result, list) for piece in result
    ]
    skipped = [result for result in results if isinstance(result, SkippedFile)]
    return pieces, skipped


def _probe_all(paths: list[Path]) -> tuple[list[tuple[Path, float]], list[SkippedFile]]:
    found, skipped = [], []
    for path in paths:
        try:
            found.append((path, probe_audio(path).duration))
        except BadAudioError as error:
            skipped.append(SkippedFile(error.path, error.reason))
    return found, skipped


def prepare_librilight(
    data_folder: str | Path,
    save_folder: str | Path,
    cut_folder: str | Path | None = None,
    manifest_name: str = "librilight",
    layout: str = "auto",
    min_piece_s: float = 10.0,
    max_piece_s: float = 30.0,
    vad: EnergyVad | None = None,
    num_workers: int = 1,
) -> Path:
    """Cut Libri-Light if needed, then write ``<save_folder>/<manifest_name>.csv``.

    Arguments
    ---------
    data_folder : str or Path
        A subset folder (``small``, ``medium``, ...) in the raw or the cut
        layout, or a folder holding several subsets.
    save_folder : str or Path
        Where the manifest goes.
    cut_folder : str or Path, optional
        Where raw recordings are cut to; ``<save_folder>/librilight_cut`` by
        default. Must not lie inside ``data_folder``.
    manifest_name : str
        File name of the manifest, without ``.csv``.
    layout : str
        ``"raw"`` (cut every recording), ``"cut"`` (index the files as they
        are) or ``"auto"``: ``"cut"`` when no readable file lasts more than
        ``max_piece_s``, else ``"raw"``.
    min_piece_s, max_piece_s : float
        Piece length limits for cutting, in seconds.
    vad : EnergyVad, optional
        Detector settings; defaults to ``EnergyVad()``.
    num_workers : int
        Processes cutting in parallel.

    Returns
    -------
    Path
        The manifest: ``ID,duration,wav``, the ID being the piece's path
        relative to its folder, without extension.

    Example
    -------
    >>> import tempfile, torch
    >>> root = Path(tempfile.mkdtemp())
    >>> tone = 0.5 * torch.sin(torch.arange(24000) * 0.3)
    >>> signal = torch.cat([tone, 0 * tone, tone])
    >>> write_audio(root / "small" / "spk" / "book" / "rec.flac", signal, 16000)
    >>> manifest = prepare_librilight(
    ...     root / "small", root / "prep", min_piece_s=1.0, max_piece_s=2.0
    ... )
    >>> [line.split(",")[:2] for line in manifest.read_text().splitlines()[1:]]
    [['spk/book/rec_0', '1.600'], ['spk/book/rec_1', '1.600']]
    """
    data_folder = Path(data_folder).resolve()
    cut_folder = Path(cut_folder or Path(save_folder) / "librilight_cut").resolve()
    _check_folders(data_folder, cut_folder, layout)
    vad = vad or EnergyVad()
    cutting = {
        "min_piece_s": min_piece_s,
        "max_piece_s": max_piece_s,
        "vad": asdict(vad),
    }
    options = {"corpus": "librilight", "data_folder": str(data_folder)}
    options |= {"layout": layout, "cut_folder": str(cut_folder), "cutting": cutting}
    manifest = Path(save_folder) / f"{manifest_name}.csv"
    if manifest_is_current(manifest, options):
        logger.info("Reusing %s (prepared with the same options)", manifest)
        return manifest
    sources, skipped = _probe_all(find_audio_files(data_folder, (".flac",)))
    if layout == "auto":
        is_cut = all(seconds <= max_piece_s for _, seconds in sources)
        layout = "cut" if is_cut else "raw"
    root = data_folder
    if layout == "raw":
        paths = [path for path, _ in sources]
        sources, cut_skipped = _cut_all(
            paths, data_folder, cut_folder, cutting, num_workers
        )
        skipped, root = skipped + cut_skipped, cut_folder
    rows = [
        {"ID": path.relative_to(root).with_suffix("").as_posix(), "duration": seconds}
        | {"wav": str(path)}
        for path, seconds in sources
    ]
    return write_manifest(manifest, rows, options, skipped)


def _check_folders(data_folder: Path, cut_folder: Path, layout: str) -> None:
    if layout not in ("auto", "raw", "cut"):
        raise ValueError(f"layout must be 'auto', 'raw' or 'cut', got {layout!r}.")
    if not data_folder.is_dir():
        raise FileNotFoundError(
            f"Libri-Light folder {data_folder} does not exist; pass a subset "
            "folder such as .../librilight/small (raw or VAD-cut layout)."
        )
    if cut_folder.is_relative_to(data_folder):
        raise ValueError(
            f"cut_folder {cut_folder} lies inside data_folder {data_folder}; "
            "choose a cut_folder (or save_folder) outside the corpus."
        )
