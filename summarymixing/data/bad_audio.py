"""Bad audio: files left out of training, each logged, counted and bounded.

**A file that breaks during training** (deleted, truncated or corrupted after
preparation, or silent) must neither stop a week-long run nor vanish
unnoticed. It cannot be counted where it is read: with ``num_workers > 0``,
loading and collation run in worker processes whose counters the training
process never sees. So the news travels with the batch: the audio pipeline
turns a ``BadAudioError`` into an empty signal plus a reason
(``audio_error``); :class:`SkipBadAudio` (the collate function) leaves such
items out and attaches them as ``batch.skipped``; :class:`BadAudioTracker`, in
the training process, logs them by ID, path and reason, counts them per
reason (and is checkpointed), and raises :class:`TooManyBadFilesError` past
``max_fraction``. A batch is never empty: if all its items are bad, the first
readable item of the dataset stands in, so that under DDP every rank still
takes part in the step.

**Files left out before training** (at preparation, or by the duration
limits) never reach a batch; the tracker is told about them
(:meth:`BadAudioTracker.add_prepared`, :meth:`BadAudioTracker.add_duration_limits`),
holds the preparation failures to the same ``max_fraction`` before the first
step, and names every kind of loss in :meth:`BadAudioTracker.summary`, which
the recipe logs at the end of every epoch and of the run.
"""

import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from speechbrain.dataio.batch import PaddedBatch
from speechbrain.dataio.dataset import DynamicItemDataset
from speechbrain.utils.checkpoints import (
    mark_as_loader,
    mark_as_saver,
    register_checkpoint_hooks,
)

from summarymixing.data.manifest import (
    describe_reason_counts,
    read_record,
    reason_kind,
    record_path,
)

logger = logging.getLogger(__name__)

AUDIO_ERROR_KEY = "audio_error"


class TooManyBadFilesError(ValueError):
    """Raised when more than the allowed fraction of audio files are unreadable."""


@dataclass(frozen=True)
class SkippedAudio:
    """An item left out of a training batch: its ID, path and the reason.

    Example
    -------
    >>> SkippedAudio("utt1", "/data/utt1.flac", "file not found").reason
    'file not found'
    """

    id: str
    path: str
    reason: str


class SkipBadAudio:
    """Collate function that leaves unreadable items out of the batch.

    The result is ``collate_fn`` applied to the readable items, with two
    attributes added: ``skipped`` (list of :class:`SkippedAudio`) and
    ``num_requested`` (items the sampler asked for). When no item of a batch is
    readable, the first readable item of ``dataset`` takes their place, so that
    no batch is empty (the skipped items are still reported).

    Arguments
    ---------
    dataset : DynamicItemDataset or sequence of dicts
        The dataset being loaded: source of the substitute item.
    collate_fn : callable
        Collation of the readable items (SpeechBrain's ``PaddedBatch``).

    Example
    -------
    >>> import torch
    >>> good = {"id": "a", "sig": torch.ones(3), "wav": "a.wav", "audio_error": ""}
    >>> bad = good | {"id": "b", "sig": torch.zeros(0), "audio_error": "file not found"}
    >>> batch = SkipBadAudio(dataset=[good])([good, bad])
    >>> batch.sig.data.shape, [item.id for item in batch.skipped], batch.num_requested
    (torch.Size([1, 3]), ['b'], 2)
    """

    def __init__(
        self, dataset: DynamicItemDataset | Sequence[dict], collate_fn=PaddedBatch
    ):
        self.dataset = dataset
        self.collate_fn = collate_fn

    def __call__(self, examples: list[dict]):
        """Collate the readable examples; attach the skipped ones."""
        good = [example for example in examples if not example[AUDIO_ERROR_KEY]]
        skipped = [
            SkippedAudio(example["id"], example["wav"], example[AUDIO_ERROR_KEY])
            for example in examples
            if example[AUDIO_ERROR_KEY]
        ]
        if not good:
            good = [self._first_readable_example()]
        batch = self.collate_fn(good)
        batch.skipped, batch.num_requested = skipped, len(examples)
        return batch

    def _first_readable_example(self) -> dict:
        for index in range(len(self.dataset)):
            example = self.dataset[index]
            if not example[AUDIO_ERROR_KEY]:
                return example
        raise TooManyBadFilesError(
            "No audio file of the training set can be read; check the data folder "
            "and prepare the manifests again."
        )


@register_checkpoint_hooks
class BadAudioTracker:
    """Log, count and bound the items skipped by :class:`SkipBadAudio`.

    Call :meth:`update` on every training batch (one tracker per rank under
    DDP); add it to the checkpointer as a recoverable to keep counts on resume.

    Arguments
    ---------
    max_fraction : float
        Largest tolerated share of bad items among those seen.
    min_items : int
        The share is only checked once this many items were seen.

    Example
    -------
    >>> import torch
    >>> tracker = BadAudioTracker(max_fraction=0.5, min_items=1)
    >>> good = {"id": "b", "sig": torch.ones(2), "wav": "b.flac", "audio_error": ""}
    >>> batch = SkipBadAudio(dataset=[good])([good])
    >>> tracker.update(batch)
    []
    >>> tracker.num_seen, tracker.num_skipped
    (1, 0)
    """

    def __init__(self, max_fraction: float = 0.01, min_items: int = 100):
        self.max_fraction = max_fraction
        self.min_items = min_items
        self.num_seen = 0
        self.num_skipped = 0
        self.skipped: dict[str, SkippedAudio] = {}
        self.prepared_left_out: dict[str, int] = {}
        self.left_out_by_duration: dict[str, int] = {}

    def add_prepared(self, manifests: Sequence[str | Path]) -> int:
        """Count the files data preparation left out of ``manifests``.

        They never reach a batch, so :meth:`update` cannot see them; they are
        held to the same ``max_fraction`` here (of the files prepared: the
        count is final, so ``min_items`` does not apply) and appear in
        :meth:`summary`. Returns the number left out.

        Example
        -------
        >>> import tempfile
        >>> from summarymixing.data.manifest import SkippedFile, write_manifest
        >>> folder = Path(tempfile.mkdtemp())
        >>> rows = [{"ID": f"u{i}", "duration": 1.0, "wav": f"/u{i}.wav"} for i in range(3)]
        >>> bad = [SkippedFile("/bad.wav", "cannot decode")]
        >>> manifest = write_manifest(folder / "train.csv", rows, {}, bad)
        >>> BadAudioTracker(max_fraction=0.5).add_prepared([manifest])
        1
        >>> BadAudioTracker(max_fraction=0.1).add_prepared([manifest])
        Traceback (most recent call last):
        ...
        summarymixing.data.bad_audio.TooManyBadFilesError: 1 of 4 audio files were left out at preparation ...
        """  # noqa: E501
        kept, left_out, reasons = 0, [], Counter()
        for manifest in manifests:
            record = read_record(manifest) or {}
            kept += int(record.get("num_items", 0))
            for item in record.get("skipped", []):
                left_out.append(f"{item['path']}: {item['reason']}")
                reasons[reason_kind(item["reason"])] += 1
        self.prepared_left_out = dict(reasons)
        if len(left_out) > self.max_fraction * (kept + len(left_out)):
            records = ", ".join(str(record_path(m)) for m in manifests)
            raise TooManyBadFilesError(
                f"{len(left_out)} of {kept + len(left_out)} audio files were left "
                f"out at preparation (more than {self.max_fraction:.1%}; all of "
                f"them in {records}), e.g. {'; '.join(left_out[:5])}. Fix or remove "
                "these files and prepare again, or raise max_bad_audio_fraction."
            )
        return len(left_out)

    def add_duration_limits(self, counts: Mapping[str, int]) -> None:
        """Record the items the duration limits left out, per reason.

        Example
        -------
        >>> tracker = BadAudioTracker()
        >>> tracker.add_duration_limits({"shorter than 1 s": 2})
        >>> tracker.summary()
        'bad audio: 0 skipped of 0 items (0 distinct files); 2 items left out by the duration limits (2 shorter than 1 s)'
        """  # noqa: E501
        self.left_out_by_duration = dict(counts)

    def update(self, batch) -> list[SkippedAudio]:
        """Count a collated batch; return (and log) the items it skipped."""
        skipped = list(getattr(batch, "skipped", []))
        self.num_seen += getattr(batch, "num_requested", len(batch))
        self.num_skipped += len(skipped)
        for item in skipped:
            self.skipped[item.id] = item
            logger.warning("Skipped %s (%s): %s", item.id, item.path, item.reason)
        too_many = self.num_skipped > self.max_fraction * self.num_seen
        if too_many and self.num_seen >= self.min_items:
            examples = list(self.skipped.values())[:5]
            raise TooManyBadFilesError(
                f"{self.num_skipped} of {self.num_seen} audio items could not be "
                f"read (more than {self.max_fraction:.1%}), e.g. "
                + "; ".join(f"{item.path}: {item.reason}" for item in examples)
                + ". Fix or remove these files and prepare the manifests again, "
                "or raise max_bad_audio_fraction."
            )
        return skipped

    def summary(self) -> str:
        """One line for the training log: every kind of loss, per reason.

        Example
        -------
        >>> tracker = BadAudioTracker()
        >>> tracker.summary()
        'bad audio: 0 skipped of 0 items (0 distinct files)'
        >>> import torch
        >>> good = {"id": "g", "sig": torch.ones(2), "wav": "g.wav", "audio_error": ""}
        >>> silent = good | {"id": "s", "audio_error": "silent (every sample is 0)"}
        >>> _ = tracker.update(SkipBadAudio(dataset=[good])([silent]))
        >>> tracker.summary()
        'bad audio: 1 skipped of 1 items (1 distinct files: 1 silent)'
        """
        reasons = Counter(reason_kind(item.reason) for item in self.skipped.values())
        line = (
            f"bad audio: {self.num_skipped} skipped of {self.num_seen} items "
            f"({len(self.skipped)} distinct files"
        )
        line += f": {describe_reason_counts(reasons)})" if reasons else ")"
        before_training = [
            ("files left out at preparation", self.prepared_left_out),
            ("items left out by the duration limits", self.left_out_by_duration),
        ]
        for what, counts in before_training:
            if counts:
                total = sum(counts.values())
                line += f"; {total} {what} ({describe_reason_counts(counts)})"
        return line

    @mark_as_saver
    def _save(self, path: Path) -> None:
        state = {"num_seen": self.num_seen, "num_skipped": self.num_skipped}
        state["skipped"] = [asdict(item) for item in self.skipped.values()]
        Path(path).write_text(json.dumps(state), encoding="utf-8")

    @mark_as_loader
    def _load(self, path: Path, end_of_epoch: bool) -> None:
        state = json.loads(Path(path).read_text(encoding="utf-8"))
        self.num_seen, self.num_skipped = state["num_seen"], state["num_skipped"]
        self.skipped = {item["id"]: SkippedAudio(**item) for item in state["skipped"]}
