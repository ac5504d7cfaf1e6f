"""Quality monitor: a reading of the features' quality while pre-training.

The contrastive accuracy says how well the model solves its own task, not
whether its features help a downstream task; a small model on little audio can
raise the one while the other falls. The monitor measures the other directly,
cheaply, every ``interval`` optimizer steps and once before the first step (the
untrained encoder's value, the baseline every later value is compared with):

1. the frozen encoder (eval mode: no masking, no layerdrop, no dropout) encodes
   a few minutes of labelled speech in the LibriSpeech layout, and the mean of
   its hidden states is kept for each utterance (the features an MP3S probe
   starts from, its layer weights being uniform at first);
2. a small BiLSTM-CTC probe over characters is trained on those cached
   features for a fixed number of steps, always from the same initial weights
   and in the same order, so that two readings differ only by the features;
3. its greedy CER on held-out speakers is the reading (lower is better);
4. beside it, with no training at all, a speaker reading: each utterance's
   features are mean- and standard-deviation-pooled over its frames, every
   dimension is standardised over the utterances, and every pair of
   utterances (training and held-out ones) is scored by cosine similarity;
   the equal error rate of same-speaker against other-speaker pairs is the
   speaker EER (lower is better). Pre-training that discards who speaks
   shows here first (measured: ``benchmarks/measured/pretraining_regime.md``).

Everything runs on the main process with the random streams of the run forked
(:func:`torch.random.fork_rng`), so that monitoring does not change the run.
Written here rather than reusing the MP3S probes because those train for
epochs through the upstream; this one must cost seconds.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from speechbrain.utils.checkpoints import (
    mark_as_loader,
    mark_as_saver,
    register_checkpoint_hooks,
)
from speechbrain.utils.data_utils import batch_pad_right
from speechbrain.utils.edit_distance import accumulatable_wer_stats
from speechbrain.utils.metric_stats import EER
from torch import nn

from summarymixing.data.audio import load_audio
from summarymixing.data.prepare_librispeech import read_transcripts

logger = logging.getLogger(__name__)

Encode = Callable[[torch.Tensor, torch.Tensor], tuple[list[torch.Tensor], torch.Tensor]]
"""``encode(wavs, wav_lens) -> (hidden_states, padding_mask)``, as exported."""


def labelled_utterances(
    folder: str | Path, split: str, limit: int
) -> list[tuple[Path, str]]:
    """Pick up to ``limit`` (audio, transcript) pairs of a LibriSpeech split.

    Utterances are taken in turn from each speaker (sorted order), so that a
    small selection still covers every speaker of the split.

    Arguments
    ---------
    folder : str or Path
        A LibriSpeech root.
    split : str
        E.g. ``dev-clean``.
    limit : int
        Most utterances to take.

    Returns
    -------
    list of (Path, str)

    Example
    -------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for speaker in ("1", "2"):
    ...     chapter = root / "dev-clean" / speaker / "9"
    ...     chapter.mkdir(parents=True)
    ...     lines = [f"{speaker}-9-000{k} WORD {k}" for k in range(3)]
    ...     _ = (chapter / f"{speaker}-9.trans.txt").write_text(chr(10).join(lines))
    >>> [path.name for path, _ in labelled_utterances(root, "dev-clean", 3)]
    ['1-9-0000.flac', '2-9-0000.flac', '1-9-0001.flac']
    """
    split_folder = Path(folder) / split
    if not split_folder.is_dir():
        raise FileNotFoundError(
            f"The quality monitor needs the LibriSpeech split {split_folder}; "
            "set --monitor_folder to a LibriSpeech root that has it, or "
            "--quality_monitor false"
        )
    by_speaker: dict[str, list[tuple[Path, str]]] = {}
    for text_file in sorted(split_folder.rglob("*.trans.txt")):
        for utterance, text in read_transcripts(text_file.parent).items():
            audio = text_file.parent / f"{utterance}.flac"
            by_speaker.setdefault(utterance.split("-")[0], []).append((audio, text))
    chosen: list[tuple[Path, str]] = []
    queues = [items for _, items in sorted(by_speaker.items())]
    while len(chosen) < limit and any(queues):
        for items in queues:
            if items and len(chosen) < limit:
                chosen.append(items.pop(0))
    return chosen


class CTCProbe(nn.Module):
    """One BiLSTM layer and a linear layer over characters (index 0 = blank).

    Arguments
    ---------
    input_size : int
        Feature dimension.
    hidden_size : int
        LSTM units per direction.
    num_outputs : int
        Characters + 1.

    Example
    -------
    >>> probe = CTCProbe(16, 8, 5)
    >>> probe(torch.randn(2, 7, 16)).shape
    torch.Size([2, 7, 5])
    """

    def __init__(self, input_size: int, hidden_size: int, num_outputs: int):
        super().__init__()
        self.lstm = nn.LSTM(
            input_size, hidden_size, batch_first=True, bidirectional=True
        )
        self.output = nn.Linear(2 * hidden_size, num_outputs)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Return ``(batch, frames, num_outputs)`` log-probabilities."""
        hidden, _ = self.lstm(features)
        return self.output(hidden).log_softmax(dim=-1)


def greedy_ctc(log_probs: torch.Tensor) -> list[int]:
    """Best path of one utterance: repeats merged, blanks (0) removed.

    Example
    -------
    >>> greedy_ctc(torch.log(torch.tensor([[.1, .9], [.1, .9], [.9, .1], [.2, .8]])))
    [1, 1]
    """
    best = log_probs.argmax(dim=-1).tolist()
    return [k for i, k in enumerate(best) if k != 0 and (i == 0 or best[i - 1] != k)]


def character_error_rate(
    features: list[torch.Tensor], texts: list[str], probe: CTCProbe, vocab: dict
) -> float:
    """Greedy CER (percent) of ``probe``; unknown characters count as errors.

    Example
    -------
    >>> probe = CTCProbe(4, 2, 3)
    >>> vocab = {"A": 1, "B": 2}
    >>> character_error_rate([torch.randn(5, 4)], ["AB"], probe, vocab) >= 0.0
    True
    """
    stats: Counter = Counter()
    with torch.no_grad():
        for feature, text in zip(features, texts, strict=True):
            hypothesis = greedy_ctc(probe(feature.unsqueeze(0))[0])
            reference = [vocab.get(char, -1) for char in text]
            stats = accumulatable_wer_stats([reference], [hypothesis], stats)
    return float(stats["WER"])


def speaker_of(path: Path) -> str:
    """Speaker of a LibriSpeech file: the first field of its name.

    Example
    -------
    >>> speaker_of(Path("dev-clean/84/121123/84-121123-0000.flac"))
    '84'
    """
    return path.name.split("-")[0]


def pooled_statistics(features: list[torch.Tensor]) -> torch.Tensor:
    """Mean and standard deviation of each utterance's frames, standardised.

    Arguments
    ---------
    features : list of torch.Tensor
        ``(frames, dim)`` per utterance.

    Returns
    -------
    torch.Tensor
        ``(utterances, 2 * dim)``: each column standardised over utterances,
        so that no dimension dominates a cosine by its scale.

    Example
    -------
    >>> pooled = pooled_statistics([torch.randn(5, 3) for _ in range(4)])
    >>> pooled.shape, bool(pooled.mean(dim=0).abs().max() < 1e-5)
    (torch.Size([4, 6]), True)
    """
    pooled = torch.stack(
        [
            torch.cat([utterance.mean(dim=0), utterance.std(dim=0, correction=0)])
            for utterance in features
        ]
    )
    centred = pooled - pooled.mean(dim=0)
    return centred / centred.std(dim=0, correction=0).clamp_min(1e-8)


def speaker_eer(features: list[torch.Tensor], speakers: list[str]) -> float | None:
    """EER (percent) of cosine scores of pooled features, over every pair.

    Arguments
    ---------
    features : list of torch.Tensor
        ``(frames, dim)`` per utterance.
    speakers : list of str
        Speaker of each utterance.

    Returns
    -------
    float or None
        None when there are no same-speaker or no other-speaker pairs.

    Example
    -------
    >>> seeded = torch.Generator().manual_seed(0)
    >>> voices = [torch.randn(20, 4, generator=seeded) + 3 * (k % 2) for k in range(8)]
    >>> speaker_eer(voices, ["a", "b"] * 4)
    0.0
    >>> speaker_eer(voices[:2], ["a", "b"]) is None
    True
    """
    pooled = nn.functional.normalize(pooled_statistics(features), dim=-1)
    scores = pooled @ pooled.T
    index = {speaker: k for k, speaker in enumerate(dict.fromkeys(speakers))}
    labels = torch.tensor([index[speaker] for speaker in speakers])
    same = labels[:, None] == labels[None, :]
    upper = torch.ones_like(same).triu(diagonal=1)
    positive, negative = scores[same & upper], scores[~same & upper]
    if not len(positive) or not len(negative):
        return None
    return 100.0 * float(EER(positive, negative)[0])


@dataclass(frozen=True)
class MonitorReading:
    """One reading of the quality monitor.

    Attributes
    ----------
    cer : float
        Greedy CER (percent) of the small CTC probe on held-out speakers.
    speaker_eer : float or None
        Speaker EER (percent) of pooled features, no training; None when the
        utterances do not give both kinds of pairs.
    """

    cer: float
    speaker_eer: float | None

    def as_record(self) -> dict[str, float | None]:
        """Return the step-log fields of this reading.

        Example
        -------
        >>> MonitorReading(50.0, 12.5).as_record()
        {'monitor_cer': 50.0, 'monitor_speaker_eer': 12.5}
        """
        return {"monitor_cer": self.cer, "monitor_speaker_eer": self.speaker_eer}


@register_checkpoint_hooks
class QualityMonitor:
    """Train a small CTC probe on frozen features; keep the CER of each reading.

    Arguments
    ---------
    folder : str or Path
        LibriSpeech root holding ``train_split`` and ``test_split``.
    train_split, test_split : str
        Where the probe's training and test utterances come from (different
        speakers).
    train_utterances, test_utterances : int
        How many of each.
    probe_steps : int
        Adam steps of the probe (batches of ``batch_size`` utterances).
    hidden_size : int
        LSTM units per direction.
    learning_rate : float
        Adam's learning rate.
    batch_size : int
        Utterances per probe step.
    sample_rate : int
        Rate the encoder expects.
    seed : int
        Seed of the probe's initial weights and batch order.

    Example
    -------
    >>> import tempfile
    >>> from summarymixing.data.audio import write_audio
    >>> root = Path(tempfile.mkdtemp())
    >>> for split, speaker in (("train-clean-100", "1"), ("dev-clean", "2")):
    ...     chapter = root / split / speaker / "9"
    ...     chapter.mkdir(parents=True)
    ...     noise = torch.randn(8000) * 0.1
    ...     write_audio(chapter / f"{speaker}-9-0000.flac", noise, 16000)
    ...     _ = (chapter / f"{speaker}-9.trans.txt").write_text(f"{speaker}-9-0000 HI")
    >>> monitor = QualityMonitor(root, probe_steps=3, hidden_size=4)
    >>> encode = lambda wavs, lens: ([wavs.unfold(1, 320, 320)], torch.zeros(
    ...     len(wavs), wavs.shape[1] // 320, dtype=torch.bool))
    >>> monitor.evaluate(encode, optimizer_step=0).cer >= 0.0
    True
    >>> monitor.history[0][0], monitor.speaker_history
    (0, [(0, None)])
    """

    def __init__(
        self,
        folder: str | Path,
        train_split: str = "train-clean-100",
        test_split: str = "dev-clean",
        train_utterances: int = 200,
        test_utterances: int = 48,
        probe_steps: int = 300,
        hidden_size: int = 64,
        learning_rate: float = 0.005,
        batch_size: int = 8,
        sample_rate: int = 16000,
        seed: int = 0,
    ) -> None:
        train = labelled_utterances(folder, train_split, train_utterances)
        test = labelled_utterances(folder, test_split, test_utterances)
        if not train or not test:
            raise ValueError(
                f"The quality monitor found {len(train)} {train_split} and "
                f"{len(test)} {test_split} utterances with transcripts in {folder}; "
                "it needs both"
            )
        self.train_waves = [load_audio(path, sample_rate) for path, _ in train]
        self.test_waves = [load_audio(path, sample_rate) for path, _ in test]
        self.train_texts = [text for _, text in train]
        self.test_texts = [text for _, text in test]
        self.speakers = [speaker_of(path) for path, _ in train + test]
        characters = sorted({char for text in self.train_texts for char in text})
        self.vocab = {char: index + 1 for index, char in enumerate(characters)}
        self.probe_steps = probe_steps
        self.hidden_size = hidden_size
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.seed = seed
        self.history: list[tuple[int, float]] = []
        self.speaker_history: list[tuple[int, float | None]] = []

    @property
    def seconds_of_speech(self) -> float:
        """Audio the probe trains on, in seconds (16 kHz)."""
        return sum(len(wave) for wave in self.train_waves) / 16000.0

    def features(self, encode: Encode, waves: list[torch.Tensor]) -> list[torch.Tensor]:
        """Mean of the hidden states of each utterance, real frames only."""
        features = []
        for start in range(0, len(waves), self.batch_size):
            batch = waves[start : start + self.batch_size]
            wavs, lengths = batch_pad_right(batch)
            hidden_states, padding = encode(wavs, lengths)
            mean = torch.stack([state.float() for state in hidden_states]).mean(dim=0)
            for row in range(len(batch)):
                features.append(mean[row, : int((~padding[row]).sum())].cpu())
        return features

    def train_probe(self, features: list[torch.Tensor]) -> CTCProbe:
        """Train a fresh probe (always the same initial weights) on ``features``."""
        torch.manual_seed(self.seed)
        order = random.Random(self.seed)
        probe = CTCProbe(features[0].shape[-1], self.hidden_size, len(self.vocab) + 1)
        optimizer = torch.optim.Adam(probe.parameters(), lr=self.learning_rate)
        ctc = nn.CTCLoss(zero_infinity=True)
        targets = [
            torch.tensor([self.vocab[char] for char in text])
            for text in self.train_texts
        ]
        for _ in range(self.probe_steps):
            rows = order.sample(
                range(len(features)), min(self.batch_size, len(features))
            )
            batch = nn.utils.rnn.pad_sequence(
                [features[i] for i in rows], batch_first=True
            )
            log_probs = probe(batch).transpose(0, 1)
            loss = ctc(
                log_probs,
                torch.cat([targets[i] for i in rows]),
                torch.tensor([len(features[i]) for i in rows]),
                torch.tensor([len(targets[i]) for i in rows]),
            )
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(probe.parameters(), 5.0)
            optimizer.step()
        return probe.eval()

    def evaluate(self, encode: Encode, optimizer_step: int) -> MonitorReading:
        """Read the features of ``encode`` now; log, keep and return the reading.

        Arguments
        ---------
        encode : callable
            ``encode(wavs, wav_lens) -> (hidden_states, padding_mask)`` on CPU
            tensors; called under ``torch.no_grad``.
        optimizer_step : int
            Step of the reading (0: before training).

        Returns
        -------
        MonitorReading
            CER on the test utterances and speaker EER over all of them.
        """
        started = time.perf_counter()
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            train = self.features(encode, self.train_waves)
            test = self.features(encode, self.test_waves)
        with torch.random.fork_rng(devices=[]):
            probe = self.train_probe(train)
        cer = character_error_rate(test, self.test_texts, probe, self.vocab)
        eer = speaker_eer(train + test, self.speakers)
        self.history.append((optimizer_step, cer))
        self.speaker_history.append((optimizer_step, eer))
        baseline = self.history[0]
        logger.info(
            "quality monitor | step %d | CER %.1f %% (before training: %.1f %% at "
            "step %d)%s | %.0f s",
            optimizer_step,
            cer,
            baseline[1],
            baseline[0],
            self._speaker_part(),
            time.perf_counter() - started,
        )
        return MonitorReading(cer, eer)

    def _speaker_part(self) -> str:
        """`` | speaker EER x % (before training: y %)``, or "" without one."""
        eer, first = self.speaker_history[-1][1], self.speaker_history[0][1]
        if eer is None:
            return ""
        before = "" if first is None else f" (before training: {first:.1f} %)"
        return f" | speaker EER {eer:.1f} %{before}"

    def verdict(self) -> str | None:
        """Say, one line per reading, whether the features beat the untrained encoder's.

        Example
        -------
        >>> monitor = QualityMonitor.__new__(QualityMonitor)
        >>> monitor.history = [(0, 60.0), (100, 50.0)]
        >>> monitor.speaker_history = [(0, 10.0), (100, 20.0)]
        >>> print(monitor.verdict())
        Quality monitor (CER of a small CTC probe on frozen features): 60.0 % before training (step 0) -> 50.0 % at step 100: the features beat the untrained encoder
        Speaker EER of pooled frozen features (no training): 10.0 % before training -> 20.0 % at step 100: no better than the untrained encoder
        """  # noqa: E501
        if len(self.history) < 2 or self.history[0][0] != 0:
            return None
        (_, first), (step, last) = self.history[0], self.history[-1]
        outcome = (
            "the features beat the untrained encoder"
            if last < first
            else "the features do NOT beat the untrained encoder"
        )
        lines = [
            "Quality monitor (CER of a small CTC probe on frozen features): "
            f"{first:.1f} % before training (step 0) -> {last:.1f} % at step {step}: "
            f"{outcome}"
        ]
        eer_first, eer_last = self.speaker_history[0][1], self.speaker_history[-1][1]
        if eer_first is not None and eer_last is not None:
            better = "better than" if eer_last < eer_first else "no better than"
            lines.append(
                "Speaker EER of pooled frozen features (no training): "
                f"{eer_first:.1f} % before training -> {eer_last:.1f} % at step "
                f"{step}: {better} the untrained encoder"
            )
        return "\n".join(lines)

    @mark_as_saver
    def _save(self, path: str | Path) -> None:
        torch.save(
            {"history": self.history, "speaker_history": self.speaker_history}, path
        )

    @mark_as_loader
    def _load(self, path: str | Path, end_of_epoch: bool = False) -> None:
        del end_of_epoch
        state = torch.load(path)
        self.history = [tuple(item) for item in state["history"]]
        # Checkpoints written before the speaker reading existed have none.
        self.speaker_history = [
            tuple(item) for item in state.get("speaker_history", [])
        ] or [(step, None) for step, _ in self.history]


def make_quality_monitor(hparams: dict) -> QualityMonitor | None:
    """Build the monitor a pre-training configuration asks for, or None.

    Keys: ``quality_monitor`` (on/off), ``monitor_folder`` (a LibriSpeech
    root; null: ``valid_folder``), ``monitor_train_split``,
    ``monitor_test_split``, ``monitor_train_utterances``,
    ``monitor_test_utterances``, ``monitor_probe_steps``, ``sample_rate``,
    ``seed``. With no folder at all the monitor is off, and the log says so.

    Example
    -------
    >>> make_quality_monitor({"quality_monitor": False}) is None
    True
    """
    if not hparams.get("quality_monitor"):
        return None
    folder = hparams.get("monitor_folder") or hparams.get("valid_folder")
    if folder is None:
        logger.info(
            "Quality monitor off: no monitor_folder and no valid_folder (a "
            "LibriSpeech root) to take labelled speech from"
        )
        return None
    return QualityMonitor(
        folder,
        train_split=hparams["monitor_train_split"],
        test_split=hparams["monitor_test_split"],
        train_utterances=hparams["monitor_train_utterances"],
        test_utterances=hparams["monitor_test_utterances"],
        probe_steps=hparams["monitor_probe_steps"],
        sample_rate=hparams["sample_rate"],
        seed=hparams["seed"],
    )
