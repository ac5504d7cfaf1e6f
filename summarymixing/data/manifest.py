"""CSV manifests in SpeechBrain's format, written once and reused on restart.

A manifest is the CSV that ``DynamicItemDataset.from_csv`` reads: a header
``ID,duration,wav`` (duration in seconds, ``wav`` an absolute path) followed by
optional extra columns such as ``spk_id``, ``wrd`` or ``start``/``stop``.

Preparation over a large corpus takes a while, and a pre-training run is often
restarted. Every manifest therefore has a JSON *record* next to it
(``train.csv`` → ``train.json``) holding the options it was prepared with, its
size and the files that had to be left out. :func:`manifest_is_current` lets a
``prepare_*`` function skip all work when the CSV exists and was prepared with
the same options; changed options prepare it again. Both files are written
atomically (temporary file + ``os.replace``), the CSV first, so a crash in the
middle can never leave a record that vouches for a half-written CSV.
"""

import csv
import io
import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from speechbrain.dataio.dataio import load_data_csv

from summarymixing.atomic_files import write_text_atomically

logger = logging.getLogger(__name__)

MANIFEST_COLUMNS = ("ID", "duration", "wav")
RECORD_VERSION = 1


@dataclass(frozen=True)
class SkippedFile:
    """A file left out of a manifest, and why.

    Example
    -------
    >>> SkippedFile("/data/a.flac", "file not found").reason
    'file not found'
    """

    path: str
    reason: str


def reason_kind(reason: str) -> str:
    """Name the kind of reason a file was left out: the text before any detail.

    Example
    -------
    >>> reason_kind("cannot decode (Error opening 'x.wav': Format not recognised)")
    'cannot decode'
    """
    return reason.split(" (")[0]


def describe_reason_counts(counts: Mapping[str, int]) -> str:
    """Write counts per reason as text, the most frequent first.

    Example
    -------
    >>> describe_reason_counts({"file not found": 1, "cannot decode": 2})
    '2 cannot decode, 1 file not found'
    """
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{count} {reason}" for reason, count in ordered)


def record_path(manifest: str | Path) -> Path:
    """Path of the JSON record that accompanies a manifest.

    Example
    -------
    >>> record_path("/prep/dev-clean.csv").name
    'dev-clean.json'
    """
    return Path(manifest).with_suffix(".json")


def _rows_to_csv(rows: list[Mapping[str, object]], columns: list[str]) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        cells = [
            float(row[column]) if column == "duration" else row[column]
            for column in columns
        ]
        writer.writerow(
            f"{value:.3f}" if isinstance(value, float) else value for value in cells
        )
    return text.getvalue()


def _as_json(options: Mapping[str, object]) -> dict:
    return json.loads(json.dumps(dict(options), default=str))


def write_manifest(
    manifest: str | Path,
    rows: Iterable[Mapping[str, object]],
    options: Mapping[str, object],
    skipped: Iterable[SkippedFile] = (),
) -> Path:
    """Write a manifest and its JSON record atomically.

    Arguments
    ---------
    manifest : str or Path
        Destination CSV; parent folders are created.
    rows : iterable of mappings
        One per item, each with ``ID``, ``duration`` (seconds) and ``wav``,
        plus the same extra columns for every row. IDs must be unique.
    options : mapping
        JSON-serialisable options the manifest was prepared with.
    skipped : iterable of SkippedFile
        Files left out; each is logged as a warning and kept in the record.

    Returns
    -------
    Path
        The manifest path.

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> rows = [{"ID": "a", "duration": 1.5, "wav": "/x/a.flac", "wrd": "HI"}]
    >>> path = write_manifest(folder / "m.csv", rows, {"splits": ["a"]})
    >>> path.read_text().splitlines()
    ['ID,duration,wav,wrd', 'a,1.500,/x/a.flac,HI']
    """
    manifest = Path(manifest)
    rows, skipped = list(rows), list(skipped)
    columns = list(MANIFEST_COLUMNS)
    if rows:
        columns += [key for key in rows[0] if key not in MANIFEST_COLUMNS]
    _check_rows(manifest, rows, columns)
    for item in skipped:
        logger.warning("Left out of %s: %s (%s)", manifest.name, item.path, item.reason)
    write_text_atomically(manifest, _rows_to_csv(rows, columns))
    record = {
        "version": RECORD_VERSION,
        "options": _as_json(options),
        "num_items": len(rows),
        "total_seconds": round(sum(float(row["duration"]) for row in rows), 3),
        "num_skipped": len(skipped),
        "skipped_by_reason": dict(
            Counter(reason_kind(item.reason) for item in skipped)
        ),
        "skipped": [asdict(item) for item in skipped],
    }
    write_text_atomically(record_path(manifest), json.dumps(record, indent=1) + "\n")
    logger.info(
        "Wrote %s: %d items, %.2f h, %d files left out%s",
        manifest,
        len(rows),
        record["total_seconds"] / 3600,
        len(skipped),
        f" ({describe_reason_counts(record['skipped_by_reason'])})" if skipped else "",
    )
    return manifest


def _check_rows(manifest: Path, rows: list[Mapping], columns: list[str]) -> None:
    seen = set()
    for row in rows:
        if set(row) != set(columns):
            raise ValueError(
                f"{manifest}: every row needs exactly the columns {columns}; "
                f"row {row.get('ID')!r} has {sorted(row)}."
            )
        if row["ID"] in seen:
            raise ValueError(f"{manifest}: duplicate ID {row['ID']!r}.")
        seen.add(row["ID"])


def read_record(manifest: str | Path) -> dict | None:
    """Read the JSON record of a manifest; ``None`` when missing or unreadable.

    Example
    -------
    >>> read_record("/nonexistent/m.csv") is None
    True
    """
    try:
        return json.loads(record_path(manifest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def manifest_is_current(manifest: str | Path, options: Mapping[str, object]) -> bool:
    """Whether ``manifest`` exists and was prepared with exactly ``options``.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "m.csv"
    >>> _ = write_manifest(path, [], {"max_s": 30})
    >>> manifest_is_current(path, {"max_s": 30})
    True
    >>> manifest_is_current(path, {"max_s": 20})
    False
    """
    record = read_record(manifest)
    return (
        Path(manifest).is_file()
        and record is not None
        and record.get("version") == RECORD_VERSION
        and record.get("options") == _as_json(options)
    )


def read_manifest(manifest: str | Path) -> list[dict[str, str]]:
    """Rows of a manifest as dictionaries of strings (``duration`` included).

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "m.csv"
    >>> _ = write_manifest(path, [{"ID": "a", "duration": 2, "wav": "/a.wav"}], {})
    >>> read_manifest(path)
    [{'ID': 'a', 'duration': '2.000', 'wav': '/a.wav'}]
    """
    with open(manifest, newline="", encoding="utf-8") as csv_file:
        return [dict(row) for row in csv.DictReader(csv_file)]


def load_manifests(manifests: str | Path | Sequence[str | Path]) -> dict[str, dict]:
    """Read one or more manifests into SpeechBrain's ``{ID: row}`` form.

    Durations become floats (SpeechBrain's ``load_data_csv``).

    Raises
    ------
    FileNotFoundError
        A manifest is missing.
    ValueError
        An ID appears twice, or the manifests hold no item.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "m.csv"
    >>> _ = write_manifest(path, [{"ID": "a", "duration": 2, "wav": "/a.wav"}], {})
    >>> load_manifests(path)
    {'a': {'duration': 2.0, 'wav': '/a.wav'}}
    """
    if isinstance(manifests, (str, Path)):
        manifests = [manifests]
    data = {}
    for manifest in manifests:
        if not Path(manifest).is_file():
            raise FileNotFoundError(
                f"Manifest {manifest} not found; run data preparation first."
            )
        for utterance_id, row in load_data_csv(str(manifest)).items():
            if utterance_id in data:
                raise ValueError(f"ID {utterance_id!r} appears twice ({manifest}).")
            data[utterance_id] = row
    if not data:
        raise ValueError(
            f"Manifests {[str(path) for path in manifests]} hold no items."
        )
    return data
