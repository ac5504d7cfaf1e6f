"""SLURP manifests for MP3S intent (scenario) classification.

Layout read (the SLURP repository with the real-recording audio unpacked)::

    <data_folder>/dataset/slurp/train.jsonl  devel.jsonl  test.jsonl
    <data_folder>/slurp_real/<recording>.flac

One JSON object per line, with at least ``sentence``, ``scenario``,
``action`` and ``recordings`` (a list of ``{"file": ...}``); ``intent`` is
read when present (else ``<scenario>_<action>``). As in MP3S, training uses
``train_real``: the real recordings of ``train.jsonl`` (the synthetic-speech
``train_synthetic.jsonl`` is not read); ``valid`` comes from ``devel.jsonl``.
Every recording is one row: a command read by several people, or by one
person in two rooms, gives several rows.

The manifests ``<save_folder>/{train,valid,test}.csv`` have the columns
``ID,duration,wav,scenario,action,intent,wrd``: ``ID`` the recording's file
name without extension, ``wrd`` the sentence as written. Missing or
unreadable recordings, and recordings listed twice, are left out and listed in
the manifest's record. The label set is the training data's scenarios (18 in
the real corpus): a ``valid`` or ``test`` command whose scenario never occurs
in training cannot be classified, and is an error that names it.
"""

import json
import logging
from pathlib import Path

from summarymixing.data.manifest import SkippedFile
from summarymixing.mp3s.corpora.common import (
    SplitRows,
    prepare_splits,
    probe_duration,
    require_path,
)

logger = logging.getLogger(__name__)

SPLIT_FILES = {"train": "train.jsonl", "valid": "devel.jsonl", "test": "test.jsonl"}
REQUIRED_FIELDS = ("sentence", "scenario", "action", "recordings")
_HINT = (
    "Pass as data_folder the SLURP folder that holds dataset/slurp/*.jsonl and "
    "slurp_real/ (the unpacked slurp_real.tar.gz)."
)


def read_jsonl(path: str | Path) -> list[dict]:
    r"""SLURP records of one ``.jsonl`` file.

    Raises
    ------
    ValueError
        A line is not JSON or lacks a required field (named, with the line).

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "devel.jsonl"
    >>> record = {"sentence": "wake me up", "scenario": "alarm", "action": "set",
    ...           "recordings": [{"file": "audio-1.flac"}]}
    >>> _ = path.write_text(json.dumps(record) + "\n")
    >>> read_jsonl(path)[0]["scenario"]
    'alarm'
    """
    records = []
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} line {number} is not JSON ({error}).") from None
        missing = [name for name in REQUIRED_FIELDS if name not in record]
        if missing:
            raise ValueError(f"{path} line {number} lacks the field(s) {missing}.")
        records.append(record)
    return records


def check_labels(
    records: list[dict], known: set[str], source: Path, field: str = "scenario"
) -> None:
    """Raise if some record's label is not among the training labels.

    Raises
    ------
    ValueError
        Naming the unseen labels, how many commands carry them and the file.

    Example
    -------
    >>> check_labels([{"scenario": "alarm"}], {"alarm", "iot"}, Path("test.jsonl"))
    >>> check_labels([{"scenario": "news"}], {"alarm"}, Path("test.jsonl"))
    Traceback (most recent call last):
    ...
    ValueError: test.jsonl: scenario(s) {'news': 1} never occur in the training data (['alarm']); a classifier cannot predict them. Check that train.jsonl is complete.
    """  # noqa: E501
    unseen: dict[str, int] = {}
    for record in records:
        if record[field] not in known:
            unseen[record[field]] = unseen.get(record[field], 0) + 1
    if unseen:
        raise ValueError(
            f"{source}: {field}(s) {unseen} never occur in the training data "
            f"({sorted(known)}); a classifier cannot predict them. Check that "
            "train.jsonl is complete."
        )


def _split_rows(records: list[dict], audio_folder: Path, seen: set[str]) -> SplitRows:
    split = SplitRows()
    for record in records:
        for recording in record["recordings"]:
            wav = audio_folder / recording["file"]
            if wav.stem in seen:
                split.skipped.append(SkippedFile(str(wav), "recording listed twice"))
                continue
            seen.add(wav.stem)
            duration = probe_duration(wav, split.skipped)
            if duration is None:
                continue
            split.rows.append(
                {
                    "ID": wav.stem,
                    "duration": duration,
                    "wav": str(wav),
                    "scenario": record["scenario"],
                    "action": record["action"],
                    "intent": record.get(
                        "intent", f"{record['scenario']}_{record['action']}"
                    ),
                    "wrd": record["sentence"],
                }
            )
    return split


def prepare_slurp(data_folder: str | Path, save_folder: str | Path) -> dict[str, Path]:
    """Write the SLURP ``train`` (real), ``valid`` and ``test`` manifests.

    Manifests prepared from the same folder are reused.

    Arguments
    ---------
    data_folder : str or Path
        The SLURP folder (``dataset/slurp/`` and ``slurp_real/``).
    save_folder : str or Path
        Where ``train.csv``, ``valid.csv`` and ``test.csv`` go.

    Returns
    -------
    dict
        ``{"train": path, "valid": path, "test": path}``.

    Raises
    ------
    FileNotFoundError
        A ``.jsonl`` file or ``slurp_real/`` is missing.
    ValueError
        A ``valid`` or ``test`` scenario never occurs in training, or a
        ``.jsonl`` line is malformed.

    Example
    -------
    >>> import tempfile, torch
    >>> from summarymixing.data.audio import write_audio
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "dataset" / "slurp").mkdir(parents=True)
    >>> for index, split in enumerate(("train", "devel", "test")):
    ...     name = f"audio-{index}.flac"
    ...     write_audio(root / "slurp_real" / name, torch.zeros(8000), 16000)
    ...     record = {"sentence": "lights off", "scenario": "iot",
    ...               "action": "hue_lightoff", "recordings": [{"file": name}]}
    ...     _ = (root / f"dataset/slurp/{split}.jsonl").write_text(json.dumps(record))
    >>> manifests = prepare_slurp(root, root / "prep")
    >>> manifests["test"].read_text().splitlines()[1].split(",")[3:]
    ['iot', 'hue_lightoff', 'iot_hue_lightoff', 'lights off']
    """
    data_folder, save_folder = Path(data_folder).resolve(), Path(save_folder)
    audio_folder = require_path(
        data_folder / "slurp_real", "SLURP real-recording audio folder", _HINT
    )
    jsonl = {
        split: require_path(
            data_folder / "dataset" / "slurp" / name,
            f"SLURP split {name!r} ({split})",
            _HINT,
        )
        for split, name in SPLIT_FILES.items()
    }
    options = {"corpus": "slurp", "data_folder": str(data_folder)}

    def read_splits() -> dict[str, SplitRows]:
        records = {split: read_jsonl(path) for split, path in jsonl.items()}
        known = {record["scenario"] for record in records["train"]}
        for split in ("valid", "test"):
            check_labels(records[split], known, jsonl[split])
        seen: set[str] = set()
        return {
            split: _split_rows(records[split], audio_folder, seen)
            for split in SPLIT_FILES
        }

    return prepare_splits(save_folder, list(SPLIT_FILES), options, read_splits)
