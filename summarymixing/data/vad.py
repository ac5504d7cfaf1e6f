"""Energy voice activity detection and cutting of long recordings into pieces.

Libri-Light ships chapter-length recordings; wav2vec 2.0 pre-training wants
pieces of 10 to 30 s cut at pauses. This module does both steps with plain
numpy, deterministically (no randomness, no model).

**Detection** (:class:`EnergyVad`):

1. Frame energy: the signal is split into non-overlapping frames of
   ``frame_s`` (10 ms); each frame's energy is ``10·log10(mean(x²) + 1e-10)``.
2. Threshold: a frame is speech when its energy is at most
   ``dynamic_range_db`` below the loudest frame of the recording *and* at least
   ``noise_margin_db`` above the noise floor, estimated as the
   ``noise_percentile``-th percentile of the frame energies. The first bound
   ignores faint background in clean recordings; the second adapts to noisy
   ones, whose floor is high.
3. Smoothing: silences shorter than ``min_silence_s`` between speech frames
   are filled first (they are dips between syllables or short pauses, not
   boundaries); speech runs that remain shorter than ``min_speech_s`` (clicks)
   are then dropped; every speech region is finally widened by ``pad_s`` on
   both sides (hangover) so that onsets and decays are kept.

**Cutting** (:func:`cut_into_pieces`): the speech regions become units; a
unit longer than ``max_piece_s`` (speech without any pause) is first split at
its quietest frames, the only case where a cut falls inside speech. A piece is
a run of consecutive units (the silences between them included); the silence
between two pieces is dropped. Dynamic programming picks the segmentation with,
in this order of priority: (1) the fewest pieces shorter than ``min_piece_s``,
(2) the fewest cuts inside speech, (3) the best total cut value, where a cut in
a silence of ``g`` seconds is worth ``min(g, max_piece_s) − cut_cost_s``: cuts
go to the longest pauses, and short pauses are cut only when the length limits
need it. Every piece is at most ``max_piece_s`` long. A piece that would be
shorter than ``min_piece_s`` (an isolated stretch of speech between pauses too
long to bridge) is widened into the silence around it, as far as its
neighbours and the recording allow; only then can it stay short. A recording
shorter than ``min_piece_s`` that holds speech is kept whole as one piece. A
recording in which nothing is detected gives no piece.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch

_ENERGY_FLOOR = 1e-10


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start (inclusive) and end (exclusive) indices of the True runs of ``mask``."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


@dataclass(frozen=True)
class EnergyVad:
    """Energy-based speech detector (see the module docstring for the algorithm).

    Arguments
    ---------
    frame_s : float
        Frame length and hop in seconds.
    dynamic_range_db : float
        Speech frames are at most this far below the loudest frame.
    noise_margin_db : float
        Speech frames are at least this far above the noise floor.
    noise_percentile : float
        Percentile of frame energies taken as the noise floor.
    min_speech_s : float
        Shorter speech runs are discarded as clicks.
    min_silence_s : float
        Shorter silences between speech are filled.
    pad_s : float
        Widening of every speech region on each side.

    Example
    -------
    >>> rate = 16000
    >>> signal = torch.zeros(3 * rate)
    >>> signal[rate : 2 * rate] = 0.5 * torch.sin(torch.arange(rate) * 0.3)
    >>> EnergyVad().speech_regions(signal, rate)
    [(14400, 33600)]
    """

    frame_s: float = 0.01
    dynamic_range_db: float = 40.0
    noise_margin_db: float = 6.0
    noise_percentile: float = 10.0
    min_speech_s: float = 0.1
    min_silence_s: float = 0.3
    pad_s: float = 0.1

    def hop(self, sample_rate: int) -> int:
        """Frame hop in samples."""
        return max(1, round(self.frame_s * sample_rate))

    def frame_energy_db(self, signal: np.ndarray, sample_rate: int) -> np.ndarray:
        """Energy of each frame in dB; the last, partial frame is included.

        Example
        -------
        >>> EnergyVad().frame_energy_db(np.ones(250), 16000).round(3)
        array([0., 0.])
        """
        hop = self.hop(sample_rate)
        num_frames = math.ceil(len(signal) / hop)
        squares = np.zeros(num_frames * hop)
        squares[: len(signal)] = np.square(signal, dtype=np.float64)
        sums = squares.reshape(num_frames, hop).sum(axis=1)
        counts = np.full(num_frames, hop)
        counts[-1] = len(signal) - (num_frames - 1) * hop
        return 10 * np.log10(sums / counts + _ENERGY_FLOOR)

    def speech_mask(self, energy_db: np.ndarray) -> np.ndarray:
        """Smoothed per-frame speech decision from frame energies.

        Example
        -------
        >>> energy = np.array([-90.0] * 50 + [-20.0] * 50 + [-90.0] * 50)
        >>> int(EnergyVad().speech_mask(energy).sum())  # 50 frames + 2 x 10 pad
        70
        """
        floor = np.percentile(energy_db, self.noise_percentile)
        threshold = max(
            energy_db.max() - self.dynamic_range_db, floor + self.noise_margin_db
        )
        mask = energy_db > threshold
        min_silence = round(self.min_silence_s / self.frame_s)
        starts, ends = _runs(mask)
        for gap_start, gap_end in zip(ends[:-1], starts[1:], strict=True):
            if gap_end - gap_start < min_silence:
                mask[gap_start:gap_end] = True
        min_speech = round(self.min_speech_s / self.frame_s)
        for start, end in zip(*_runs(mask), strict=True):
            if end - start < min_speech:
                mask[start:end] = False
        pad = round(self.pad_s / self.frame_s)
        padded = mask.copy()
        for start, end in zip(*_runs(mask), strict=True):
            padded[max(start - pad, 0) : end + pad] = True
        return padded

    def speech_regions(
        self, signal: torch.Tensor | np.ndarray, sample_rate: int
    ) -> list[tuple[int, int]]:
        """Speech regions as ``(start, end)`` sample indices, end exclusive.

        Example
        -------
        >>> EnergyVad().speech_regions(np.zeros(16000), 16000)
        []
        """
        signal = np.asarray(signal, dtype=np.float32)
        if signal.size == 0:
            return []
        hop = self.hop(sample_rate)
        starts, ends = _runs(
            self.speech_mask(self.frame_energy_db(signal, sample_rate))
        )
        return [
            (int(start * hop), int(min(end * hop, len(signal))))
            for start, end in zip(starts, ends, strict=True)
        ]


def _split_long_region(
    region: tuple[int, int], energy_db: np.ndarray, hop: int, min_len: int, max_len: int
) -> list[int]:
    """Sample positions that split a region longer than ``max_len`` at quiet frames."""
    first, last = region[0] // hop, math.ceil(region[1] / hop)
    length, max_frames, min_frames = last - first, max_len // hop, min_len // hop
    parts = math.ceil(length / max_frames)
    part = math.ceil(length / parts)
    slack = max(0, min(max_frames - part, part - min_frames) // 2)
    splits = []
    for k in range(1, parts):
        nominal = first + round(k * length / parts)
        window = energy_db[nominal - slack : nominal + slack + 1]
        splits.append(int((nominal - slack + int(np.argmin(window))) * hop))
    return splits


def _units(
    regions: list[tuple[int, int]], energy_db: np.ndarray, hop: int, limits: tuple
) -> tuple[list[tuple[int, int]], set[int]]:
    """Split over-long regions; return the units and those that follow a split."""
    units, inside_speech = [], set()
    for start, end in regions:
        splits = []
        if end - start > limits[1]:
            splits = _split_long_region((start, end), energy_db, hop, *limits)
        bounds = [start, *splits, end]
        for index, (left, right) in enumerate(
            zip(bounds[:-1], bounds[1:], strict=True)
        ):
            if index > 0:
                inside_speech.add(len(units))
            units.append((left, right))
    return units, inside_speech


def _best_segmentation(
    units: list[tuple[int, int]],
    inside_speech: set[int],
    sample_rate: int,
    limits: tuple[int, int],
    cut_cost_s: float,
) -> list[tuple[int, int]]:
    """Dynamic programming over units; costs are compared lexicographically."""
    min_len, max_len = limits
    best: list[tuple] = [((0, 0, 0.0), -1)]
    for end in range(1, len(units) + 1):
        candidates = []
        for start in range(end - 1, -1, -1):
            length = units[end - 1][1] - units[start][0]
            if length > max_len:
                break
            short, speech_cuts, value = best[start][0]
            short += length < min_len
            if start in inside_speech:
                speech_cuts += 1
            elif start > 0:
                gap = (units[start][0] - units[start - 1][1]) / sample_rate
                value -= min(gap, max_len / sample_rate) - cut_cost_s
            candidates.append(((short, speech_cuts, value), start))
        best.append(min(candidates))
    pieces, end = [], len(units)
    while end > 0:
        start = best[end][1]
        pieces.append((units[start][0], units[end - 1][1]))
        end = start
    return pieces[::-1]


def cut_into_pieces(
    signal: torch.Tensor | np.ndarray,
    sample_rate: int,
    min_piece_s: float = 10.0,
    max_piece_s: float = 30.0,
    vad: EnergyVad | None = None,
    cut_cost_s: float = 1.0,
) -> list[tuple[int, int]]:
    """Cut a recording into speech pieces of ``min_piece_s`` to ``max_piece_s``.

    See the module docstring for the algorithm and its guarantees.

    Arguments
    ---------
    signal : torch.Tensor or numpy.ndarray
        Mono signal ``[samples]``.
    sample_rate : int
        Sampling rate in Hz.
    min_piece_s, max_piece_s : float
        Length limits of the pieces, in seconds.
    vad : EnergyVad, optional
        Detector settings; defaults to ``EnergyVad()``.
    cut_cost_s : float
        Silence length below which a cut costs more than it is worth.

    Returns
    -------
    list of (int, int)
        ``(start, end)`` sample indices, end exclusive, in order, disjoint.

    Example
    -------
    >>> rate = 1000
    >>> burst = np.sin(np.arange(8 * rate) * 0.5)
    >>> signal = np.concatenate([burst, np.zeros(2 * rate), burst, np.zeros(rate)])
    >>> pieces = cut_into_pieces(signal, rate, min_piece_s=5, max_piece_s=12)
    >>> [(start / rate, end / rate) for start, end in pieces]
    [(0.0, 8.1), (9.9, 18.1)]
    """
    if not 0 < min_piece_s <= max_piece_s:
        raise ValueError(
            f"Piece limits must satisfy 0 < min_piece_s <= max_piece_s, got "
            f"min_piece_s={min_piece_s} and max_piece_s={max_piece_s}."
        )
    vad = vad or EnergyVad()
    signal = np.asarray(signal, dtype=np.float32)
    regions = vad.speech_regions(signal, sample_rate)
    if not regions:
        return []
    if len(signal) < min_piece_s * sample_rate:
        return [(0, len(signal))]
    limits = (round(min_piece_s * sample_rate), round(max_piece_s * sample_rate))
    energy_db = vad.frame_energy_db(signal, sample_rate)
    units, inside_speech = _units(regions, energy_db, vad.hop(sample_rate), limits)
    pieces = _best_segmentation(units, inside_speech, sample_rate, limits, cut_cost_s)
    return _widen_short_pieces(pieces, len(signal), limits[0])


def _widen_short_pieces(
    pieces: list[tuple[int, int]], num_samples: int, min_len: int
) -> list[tuple[int, int]]:
    """Widen pieces shorter than ``min_len`` into the silence around them."""
    widened = []
    for index, (start, end) in enumerate(pieces):
        left_room = start - (widened[-1][1] if widened else 0)
        right_limit = pieces[index + 1][0] if index + 1 < len(pieces) else num_samples
        right_room = right_limit - end
        missing = max(min_len - (end - start), 0)
        left = min(left_room, max(missing // 2, missing - right_room))
        right = min(right_room, missing - left)
        widened.append((start - left, end + right))
    return widened
