"""Pre-training data pipeline: dataset, bad-file skipping and dynamic batches.

The chain the pre-training recipe builds (SpeechBrain's pieces, plus ours
where a bad file must be survived)::

    dataset = make_pretraining_dataset("prep/librilight.csv", max_duration_s=30)
    sampler = make_dynamic_batch_sampler(dataset, max_batch_length_s=360)
    loader_kwargs = loader_options(dataset, seed=0, batch_sampler=sampler)
    # = SkipBadAudio(dataset) as collate_fn, and the loader's own generator
    # (summarymixing.data.loaders: what makes mid-epoch resumes exact)
    brain.train_sampler = sampler   # so that Brain calls sampler.set_epoch(epoch)
    brain.fit(epoch_counter, dataset, valid, train_loader_kwargs=loader_kwargs)
    # each step: tracker.update(batch) logs and counts the files skipped

**A file that breaks during training** (deleted, truncated or corrupted after
preparation) must neither stop a week-long run nor vanish unnoticed. It cannot
be counted where it is read: with ``num_workers > 0``, loading and collation
run in worker processes whose counters the training process never sees. So
the news travels with the batch: the audio pipeline turns a ``BadAudioError``
into an empty signal plus a reason (``audio_error``); :class:`SkipBadAudio`
(the collate function) leaves such items out and attaches them as
``batch.skipped``; :class:`BadAudioTracker`, in the training process, logs them
by ID, path and reason, counts them (and is checkpointed), and raises
:class:`TooManyBadFilesError` past ``max_fraction``. A batch is never empty: if
all its items are bad, the first readable item of the dataset stands in, so
that under DDP every rank still takes part in the step.

**Resuming.** ``DynamicBatchSampler`` draws its batches from ``seed + epoch``
only when ``set_epoch`` is called: iterating it twice without ``set_epoch``
yields different orders. ``Brain`` calls ``set_epoch`` on ``brain.train_sampler``,
which it sets itself only for samplers it creates (under DDP it wraps ours in
``DistributedSamplerWrapper``, which forwards ``set_epoch``); in single-process
runs the recipe sets ``brain.train_sampler = sampler``. With that, the batch
order of an epoch depends on ``(seed, epoch)`` alone, and the position inside
the epoch is restored by ``SaveableDataLoader`` from the checkpoint.
"""

import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from speechbrain.dataio.batch import PaddedBatch
from speechbrain.dataio.dataset import DynamicItemDataset
from speechbrain.dataio.sampler import DynamicBatchSampler
from speechbrain.utils.checkpoints import (
    mark_as_loader,
    mark_as_saver,
    register_checkpoint_hooks,
)
from speechbrain.utils.data_pipeline import GeneratorDynamicItem

from summarymixing.data.audio import TARGET_SAMPLE_RATE, BadAudioError, load_audio
from summarymixing.data.manifest import load_manifests, read_record, record_path

logger = logging.getLogger(__name__)

AUDIO_ERROR_KEY = "audio_error"
OUTPUT_KEYS = ["id", "sig", "wav", AUDIO_ERROR_KEY]


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


def _load_signal(wav: str, *segment: str, sample_rate: int, reject_silence: bool):
    """Yield the signal (empty on failure), then the failure reason (or "")."""
    start_s, stop_s = (float(value) for value in segment) if segment else (None, None)
    try:
        signal, error = load_audio(wav, sample_rate, start_s, stop_s), ""
    except BadAudioError as bad:
        signal, error = torch.zeros(0), bad.reason
    if reject_silence and not error and not bool(signal.any()):
        # Nothing to learn from, and easy to "solve": a silent batch gives a
        # low loss and a high accuracy that distort the logged statistics.
        signal, error = torch.zeros(0), "silent (every sample is 0)"
    yield signal
    yield error


def make_pretraining_dataset(
    manifests: str | Path | Sequence[str | Path],
    sample_rate: int = TARGET_SAMPLE_RATE,
    min_duration_s: float | None = None,
    max_duration_s: float | None = None,
    reject_silence: bool = True,
) -> DynamicItemDataset:
    """Build a dataset over one or more manifests that yields 16 kHz signals.

    Each item provides ``id``, ``sig`` (float32 mono, empty when the file
    cannot be read or is digital silence), ``wav`` (the path) and
    ``audio_error`` (``""`` or the reason). Manifests with ``start``/``stop``
    columns yield those segments.

    Arguments
    ---------
    manifests : path or list of paths
        Manifests written by the ``prepare_*`` functions; IDs must be unique
        across them.
    sample_rate : int
        Rate of the returned signals.
    min_duration_s, max_duration_s : float, optional
        Leave out items shorter / longer than this.
    reject_silence : bool
        Treat digital silence (every sample 0) as unreadable: right for
        training data, wrong for a test set (whose every item is scored).

    Example
    -------
    >>> import tempfile
    >>> from summarymixing.data.audio import write_audio
    >>> from summarymixing.data.manifest import write_manifest
    >>> root = Path(tempfile.mkdtemp())
    >>> write_audio(root / "a.wav", torch.rand(8000) - 0.5, 8000)
    >>> write_audio(root / "b.wav", torch.zeros(8000), 8000)
    >>> rows = [{"ID": n, "duration": 1.0, "wav": str(root / f"{n}.wav")} for n in "ab"]
    >>> _ = write_manifest(root / "m.csv", rows, options={})
    >>> dataset = make_pretraining_dataset(root / "m.csv")
    >>> dataset[0]["sig"].shape, dataset[0]["audio_error"]
    (torch.Size([16000]), '')
    >>> dataset[1]["sig"].shape, dataset[1]["audio_error"]
    (torch.Size([0]), 'silent (every sample is 0)')
    """
    data = load_manifests(manifests)
    segmented = "start" in next(iter(data.values()))
    item = GeneratorDynamicItem(
        func=functools.partial(
            _load_signal, sample_rate=sample_rate, reject_silence=reject_silence
        ),
        takes=["wav", "start", "stop"] if segmented else ["wav"],
        provides=["sig", AUDIO_ERROR_KEY],
    )
    dataset = DynamicItemDataset(data, dynamic_items=[item], output_keys=OUTPUT_KEYS)
    if min_duration_s is None and max_duration_s is None:
        return dataset
    low, high = min_duration_s or 0.0, max_duration_s or float("inf")
    _report_left_out(data, low, high)
    return dataset.filtered_sorted(
        key_min_value={"duration": low}, key_max_value={"duration": high}
    )


def _report_left_out(data: dict[str, dict], low: float, high: float) -> int:
    """Log how many items the duration limits leave out, and name some.

    Example
    -------
    >>> data = {"a": {"duration": 0.5}, "b": {"duration": 3.0}}
    >>> _report_left_out(data, 1.0, 30.0)
    1
    """
    short = [key for key, row in data.items() if float(row["duration"]) < low]
    long = [key for key, row in data.items() if float(row["duration"]) > high]
    if short or long:
        logger.warning(
            "%d of %d items left out by the duration limits: %d shorter than "
            "%g s (%s), %d longer than %g s (%s); change min_utterance_seconds / "
            "max_utterance_seconds to keep them",
            len(short) + len(long),
            len(data),
            len(short),
            low,
            ", ".join(short[:5]) + (", ..." if len(short) > 5 else ""),
            len(long),
            high,
            ", ".join(long[:5]) + (", ..." if len(long) > 5 else ""),
        )
    return len(short) + len(long)


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
        self.prepared_left_out = 0

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
        summarymixing.data.pipeline.TooManyBadFilesError: 1 of 4 audio files were left out at preparation ...
        """  # noqa: E501
        kept, left_out = 0, []
        for manifest in manifests:
            record = read_record(manifest) or {}
            kept += int(record.get("num_items", 0))
            left_out += [
                f"{item['path']}: {item['reason']}"
                for item in record.get("skipped", [])
            ]
        self.prepared_left_out = len(left_out)
        if len(left_out) > self.max_fraction * (kept + len(left_out)):
            records = ", ".join(str(record_path(m)) for m in manifests)
            raise TooManyBadFilesError(
                f"{len(left_out)} of {kept + len(left_out)} audio files were left "
                f"out at preparation (more than {self.max_fraction:.1%}; all of "
                f"them in {records}), e.g. {'; '.join(left_out[:5])}. Fix or remove "
                "these files and prepare again, or raise max_bad_audio_fraction."
            )
        return len(left_out)

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
        """One line for the training log.

        Example
        -------
        >>> BadAudioTracker().summary()
        'bad audio: 0 skipped of 0 items (0 distinct files)'
        """
        line = (
            f"bad audio: {self.num_skipped} skipped of {self.num_seen} items "
            f"({len(self.skipped)} distinct files)"
        )
        if self.prepared_left_out:
            line += f"; {self.prepared_left_out} files left out at preparation"
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


def make_dynamic_batch_sampler(
    dataset: DynamicItemDataset,
    max_batch_length_s: float,
    num_buckets: int = 20,
    shuffle: bool = True,
    seed: int = 0,
    batch_ordering: str = "random",
    max_batch_ex: int | None = None,
) -> DynamicBatchSampler:
    """Build SpeechBrain's ``DynamicBatchSampler`` with batches measured in seconds.

    Items are bucketed by duration; a bucket whose upper boundary is ``b``
    seconds makes batches of ``int(max_batch_length_s / b)`` items, so a batch
    holds at most ``max_batch_length_s`` seconds (fewer buckets: emptier
    batches). An item longer than the budget gets a batch of its own (logged).
    See the module docstring for ``set_epoch`` and resuming.

    Arguments
    ---------
    dataset : DynamicItemDataset
        Needs a ``duration`` (seconds) per item.
    max_batch_length_s : float
        Seconds of audio per batch, padding excluded.
    num_buckets, shuffle, seed, batch_ordering, max_batch_ex
        As in ``DynamicBatchSampler``; batches are drawn from ``seed + epoch``.

    Example
    -------
    >>> data = {f"u{i}": {"duration": 1.0 + i} for i in range(6)}
    >>> sampler = make_dynamic_batch_sampler(DynamicItemDataset(data), 8.0, 2)
    >>> sorted(index for batch in sampler for index in batch)
    [0, 1, 2, 3, 4, 5]
    """
    longest = max(dataset.data[key]["duration"] for key in dataset.data_ids)
    if longest > max_batch_length_s:
        logger.warning(
            "Items up to %.1f s exceed max_batch_length_s=%.1f s: each gets a "
            "batch of its own, larger than the budget.",
            longest,
            max_batch_length_s,
        )
    return DynamicBatchSampler(
        dataset,
        max_batch_length=max_batch_length_s,
        num_buckets=num_buckets,
        length_func=lambda row: float(row["duration"]),
        shuffle=shuffle,
        batch_ordering=batch_ordering,
        max_batch_ex=max_batch_ex,
        seed=seed,
    )
