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

**A file that breaks during training** becomes an empty signal and a reason
(``audio_error``) here; :mod:`summarymixing.data.bad_audio` leaves it out of
the batch, logs and counts it.

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
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import torch
from speechbrain.dataio.dataset import DynamicItemDataset
from speechbrain.dataio.sampler import DynamicBatchSampler
from speechbrain.utils.data_pipeline import GeneratorDynamicItem

from summarymixing.data.audio import TARGET_SAMPLE_RATE, BadAudioError, load_audio
from summarymixing.data.bad_audio import AUDIO_ERROR_KEY
from summarymixing.data.manifest import describe_reason_counts, load_manifests

logger = logging.getLogger(__name__)

# RMS of a float signal in [-1, 1]: 1e-4 is -80 dBFS, far below recorded
# speech (typically -20 to -40 dBFS)
SILENCE_RMS_THRESHOLD = 1e-4

OUTPUT_KEYS = ["id", "sig", "wav", AUDIO_ERROR_KEY]


def _load_signal(wav: str, *segment: str, sample_rate: int, silence_rms: float | None):
    """Yield the signal (empty on failure), then the failure reason (or "")."""
    start_s, stop_s = (float(value) for value in segment) if segment else (None, None)
    try:
        signal, error = load_audio(wav, sample_rate, start_s, stop_s), ""
    except BadAudioError as bad:
        signal, error = torch.zeros(0), bad.reason
    if silence_rms is not None and not error:
        error = silence_reason(signal, silence_rms)
        if error:
            # Nothing to learn from, and easy to "solve": a silent batch gives a
            # low loss and a high accuracy that distort the logged statistics.
            signal = torch.zeros(0)
    yield signal
    yield error


def silence_reason(signal: torch.Tensor, threshold_rms: float) -> str:
    """Why a signal counts as silent ("" when it does not).

    Digital silence (every sample 0) always does; otherwise an RMS at or
    below ``threshold_rms`` (0 keeps everything that is not digital silence).

    Example
    -------
    >>> silence_reason(torch.zeros(100), 1e-4)
    'silent (every sample is 0)'
    >>> silence_reason(torch.full((100,), 1e-5), 1e-4)
    'silent (RMS 1.0e-05, at or below silence_rms_threshold 0.0001)'
    >>> silence_reason(torch.full((100,), 0.1), 1e-4)
    ''
    """
    if not bool(signal.any()):
        return "silent (every sample is 0)"
    rms = float(signal.double().square().mean().sqrt())
    if rms <= threshold_rms:
        limit = f"silence_rms_threshold {threshold_rms:g}"
        return f"silent (RMS {rms:.1e}, at or below {limit})"
    return ""


def make_pretraining_dataset(
    manifests: str | Path | Sequence[str | Path],
    sample_rate: int = TARGET_SAMPLE_RATE,
    min_duration_s: float | None = None,
    max_duration_s: float | None = None,
    silence_rms_threshold: float | None = SILENCE_RMS_THRESHOLD,
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
    silence_rms_threshold : float or None
        Leave out silent items (see :func:`silence_reason`): right for
        training data; None keeps them, as a test set (whose every item is
        scored) must.

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
            _load_signal, sample_rate=sample_rate, silence_rms=silence_rms_threshold
        ),
        takes=["wav", "start", "stop"] if segmented else ["wav"],
        provides=["sig", AUDIO_ERROR_KEY],
    )
    dataset = DynamicItemDataset(data, dynamic_items=[item], output_keys=OUTPUT_KEYS)
    dataset.left_out_by_duration = {}
    if min_duration_s is None and max_duration_s is None:
        return dataset
    low, high = min_duration_s or 0.0, max_duration_s or float("inf")
    left_out = _report_left_out(data, low, high)
    dataset = dataset.filtered_sorted(
        key_min_value={"duration": low}, key_max_value={"duration": high}
    )
    dataset.left_out_by_duration = left_out
    return dataset


def _report_left_out(data: dict[str, dict], low: float, high: float) -> dict:
    """Log the items the duration limits leave out: each (log file), a summary.

    Returns the counts per reason.

    Example
    -------
    >>> data = {"a": {"duration": 0.5, "wav": "a.wav"}, "b": {"duration": 3.0}}
    >>> _report_left_out(data, 1.0, 30.0)
    {'shorter than 1 s': 1}
    """
    reasons = {}
    for key, row in data.items():
        duration = float(row["duration"])
        if duration < low:
            reasons[key] = f"shorter than {low:g} s"
        elif duration > high:
            reasons[key] = f"longer than {high:g} s"
    for key, reason in reasons.items():  # DEBUG: to log.txt, not the console
        logger.debug("Left out %s (%s): %s", key, data[key].get("wav", ""), reason)
    counts = dict(Counter(reasons.values()))
    if reasons:
        logger.warning(
            "%d of %d items left out by the duration limits (%s), e.g. %s; each "
            "is named in log.txt; change min_utterance_seconds / "
            "max_utterance_seconds to keep them",
            len(reasons),
            len(data),
            describe_reason_counts(counts),
            ", ".join(list(reasons)[:5]),
        )
    return counts


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
