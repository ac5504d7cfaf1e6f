"""Robust audio file I/O: probe, load (mono, 16 kHz, float32) and write.

Every failure a corpus can throw at a long pre-training run (a file deleted
after preparation, a 0-byte file left by an interrupted copy, a truncated or
corrupt FLAC, a header that announces no samples, samples that are NaN) is
reported as one exception type, :class:`BadAudioError`, which carries the path
and a short human reason. Callers decide whether to skip (data preparation,
training) or stop.

File I/O goes through ``soundfile`` (libsndfile reads WAV, FLAC, OGG/Vorbis and
MP3), not ``torchaudio.load``: torchaudio 2.9+ delegates loading to an optional
package. Other sampling rates are converted with
``torchaudio.functional.resample`` (a pure tensor operation).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import torch
import torchaudio.functional

from summarymixing.atomic_files import write_atomically

TARGET_SAMPLE_RATE = 16000
_READ_ERRORS = (soundfile.SoundFileError, RuntimeError, OSError, ValueError)


class BadAudioError(ValueError):
    """An audio file that cannot be used, with its path and the reason.

    Arguments
    ---------
    path : str or Path
        The offending file.
    reason : str
        Short description, e.g. ``"file not found"`` or ``"empty file (0 bytes)"``.

    Example
    -------
    >>> error = BadAudioError("/data/a.flac", "file not found")
    >>> str(error)
    '/data/a.flac: file not found'
    >>> error.reason
    'file not found'
    """

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason

    def __reduce__(self):
        return (type(self), (self.path, self.reason))


@dataclass(frozen=True)
class AudioInfo:
    """Header information of an audio file.

    Example
    -------
    >>> AudioInfo("a.wav", sample_rate=8000, num_frames=12000, num_channels=1).duration
    1.5
    """

    path: str
    sample_rate: int
    num_frames: int
    num_channels: int

    @property
    def duration(self) -> float:
        """Duration in seconds."""
        return self.num_frames / self.sample_rate


def _check_file_exists(path: Path) -> None:
    if not path.is_file():
        raise BadAudioError(path, "file not found")
    if path.stat().st_size == 0:
        raise BadAudioError(path, "empty file (0 bytes)")


def probe_audio(path: str | Path) -> AudioInfo:
    """Read an audio file's header without decoding the samples.

    Arguments
    ---------
    path : str or Path
        Any file libsndfile reads.

    Returns
    -------
    AudioInfo

    Raises
    ------
    BadAudioError
        Missing, empty, undecodable, or announcing zero samples.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "tone.wav"
    >>> write_audio(path, torch.zeros(8000), 8000)
    >>> probe_audio(path).duration
    1.0
    """
    path = Path(path)
    _check_file_exists(path)
    try:
        info = soundfile.info(str(path))
    except _READ_ERRORS as error:
        raise BadAudioError(path, f"cannot decode ({error})") from error
    if info.frames <= 0 or info.samplerate <= 0:
        raise BadAudioError(path, "no audio samples")
    return AudioInfo(str(path), info.samplerate, info.frames, info.channels)


def _read_samples(
    path: Path, start_s: float | None, stop_s: float | None
) -> tuple[np.ndarray, int]:
    try:
        with soundfile.SoundFile(str(path)) as audio_file:
            rate = audio_file.samplerate
            start = round(start_s * rate) if start_s is not None else 0
            stop = round(stop_s * rate) if stop_s is not None else audio_file.frames
            audio_file.seek(start)
            samples = audio_file.read(
                max(stop - start, 0), dtype="float32", always_2d=True
            )
    except _READ_ERRORS as error:
        raise BadAudioError(path, f"cannot decode ({error})") from error
    return samples, rate


def load_audio(
    path: str | Path,
    sample_rate: int = TARGET_SAMPLE_RATE,
    start_s: float | None = None,
    stop_s: float | None = None,
) -> torch.Tensor:
    """Load an audio file as a mono float32 tensor at ``sample_rate``.

    Channels are averaged; any other sampling rate is resampled with
    ``torchaudio.functional.resample``. ``start_s``/``stop_s`` select a segment
    (in seconds of the file) without decoding the rest where the format seeks.

    Arguments
    ---------
    path : str or Path
        Audio file.
    sample_rate : int
        Rate of the returned signal.
    start_s, stop_s : float, optional
        Segment boundaries in seconds; ``None`` means file start / file end.

    Returns
    -------
    torch.Tensor
        Shape ``[samples]``, dtype float32.

    Raises
    ------
    BadAudioError
        Missing, empty, corrupt, zero-length, or non-finite samples.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "stereo_8k.wav"
    >>> write_audio(path, torch.full((2, 8000), 0.5), 8000)
    >>> signal = load_audio(path)
    >>> signal.shape, signal.dtype
    (torch.Size([16000]), torch.float32)
    """
    path = Path(path)
    _check_file_exists(path)
    samples, rate = _read_samples(path, start_s, stop_s)
    if samples.shape[0] == 0:
        raise BadAudioError(path, "no audio samples")
    if not np.isfinite(samples).all():
        raise BadAudioError(path, "non-finite samples (NaN or Inf)")
    signal = torch.from_numpy(samples.mean(axis=1, dtype=np.float32))
    if rate != sample_rate:
        signal = torchaudio.functional.resample(signal, rate, sample_rate)
    return signal.contiguous()


def write_audio(
    path: str | Path, signal: torch.Tensor | np.ndarray, sample_rate: int
) -> None:
    """Write a signal atomically (temporary file, then rename).

    The format follows the extension (``.flac`` and ``.wav`` are written as
    16-bit PCM). A crash never leaves a half-written file under ``path``.

    Arguments
    ---------
    path : str or Path
        Destination; parent folders are created.
    signal : torch.Tensor or numpy.ndarray
        ``[samples]`` or ``[channels, samples]``, values in [-1, 1].
    sample_rate : int
        Sampling rate in Hz.

    Example
    -------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "a" / "b.flac"
    >>> write_audio(path, torch.zeros(1600), 16000)
    >>> probe_audio(path).num_frames
    1600
    """
    path = Path(path)
    samples = torch.as_tensor(signal).detach().cpu().float().numpy()
    if samples.ndim == 2:
        samples = samples.T
    audio_format = path.suffix.lstrip(".").upper() or "WAV"
    subtype = "PCM_16" if audio_format in ("FLAC", "WAV") else None
    write_atomically(
        path,
        lambda temporary: soundfile.write(
            str(temporary),
            np.clip(samples, -1.0, 1.0),
            sample_rate,
            subtype=subtype,
            format=audio_format,
        ),
    )
