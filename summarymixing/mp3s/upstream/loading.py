"""Upstream encoders for MP3S probing, loaded from a local folder only.

Two kinds of folder are recognised by :func:`upstream_from_folder`:

* an encoder exported by our pre-training (``<output>/encoder`` of
  ``recipes/pretrain.py``, holding ``encoder.json``) or a baseline folder
  (FBANK, untrained: :mod:`summarymixing.export.baselines`), loaded with
  :func:`summarymixing.export.load_encoder`, or only the Hugging Face-style
  files of such a folder (``config.json`` of model type
  ``summarymixing_w2v2`` and ``model.safetensors``,
  :mod:`summarymixing.export.hf_style`);
* a locally stored Hugging Face or SpeechBrain wav2vec 2.0 family model
  (``config.json`` with ``model_type`` wav2vec2, hubert, wavlm, data2vec-audio
  or wav2vec2-conformer, its weights, and ``preprocessor_config.json``),
  wrapped by :class:`HuggingFaceWav2Vec2Upstream` around SpeechBrain's
  ``Wav2Vec2`` lobe. This needs the optional ``transformers`` package.

Nothing is ever fetched from a hub: a path that is not a folder is an error.
"""

import json
from pathlib import Path

import torch
from torch import nn

from summarymixing.export import load_encoder
from summarymixing.export.hf_style import MODEL_TYPE, SummaryMixingW2V2Model
from summarymixing.padding import make_padding_mask, relative_to_absolute_lengths

HF_MODEL_TYPES = ("wav2vec2", "hubert", "wavlm", "data2vec-audio", "wav2vec2-conformer")
HF_FILES = ("config.json", "preprocessor_config.json")


def _read_hf_config(folder: Path) -> dict:
    """Check a local Hugging Face folder and return its ``config.json``."""
    for name in HF_FILES:
        if not (folder / name).is_file():
            raise FileNotFoundError(
                f"{folder} has no {name}: a local Hugging Face wav2vec 2.0 folder "
                "needs config.json, the weights and preprocessor_config.json "
                "(save_pretrained of the model and of its feature extractor)"
            )
    config = json.loads((folder / "config.json").read_text())
    model_type = config.get("model_type")
    if model_type not in HF_MODEL_TYPES:
        raise ValueError(
            f"{folder}/config.json describes a {model_type!r} model; MP3S probing "
            f"of Hugging Face models supports {', '.join(HF_MODEL_TYPES)}"
        )
    return config


def conv_output_frames(
    num_samples: torch.Tensor, kernels: list[int], strides: list[int]
) -> torch.Tensor:
    """Frames out of a stack of unpadded 1-D convolutions.

    Parameters
    ----------
    num_samples : torch.Tensor
        ``(batch,)`` input lengths.
    kernels, strides : list of int
        Kernel size and stride of each convolution.

    Returns
    -------
    torch.Tensor
        ``(batch,)`` output lengths (at least 0).

    Example
    -------
    >>> kernels, strides = [10, 3, 3, 3, 3, 2, 2], [5, 2, 2, 2, 2, 2, 2]
    >>> conv_output_frames(torch.tensor([16000, 400]), kernels, strides)
    tensor([49,  1])
    """
    lengths = num_samples.clone()
    for kernel, stride in zip(kernels, strides, strict=True):
        lengths = torch.div(lengths - kernel, stride, rounding_mode="floor") + 1
    return lengths.clamp(min=0)


class HuggingFaceWav2Vec2Upstream(nn.Module):
    """A local Hugging Face / SpeechBrain wav2vec 2.0 returning all hidden states.

    Wraps SpeechBrain's ``Wav2Vec2`` lobe (``freeze=True``,
    ``output_all_hiddens=True``) and adds the frame padding mask computed from
    the model's own convolution kernels and strides. Note what SpeechBrain and
    Hugging Face do with padding: when the feature extractor asks for it, the
    waveform is layer-normalised over its full padded length, and base models
    with a group-normalised convolutional encoder ignore the attention mask, so
    their features are not exactly independent of padding (our own exported
    encoders are).

    Parameters
    ----------
    folder : str or Path
        A local folder written by ``save_pretrained`` (weights as
        ``.safetensors``/``.bin``, or a SpeechBrain ``.ckpt``), holding
        ``config.json`` and ``preprocessor_config.json``.

    Raises
    ------
    FileNotFoundError
        When the folder or one of its files is missing.
    ImportError
        When ``transformers`` is not installed (``pip install transformers``).

    Example
    -------
    >>> HuggingFaceWav2Vec2Upstream("/no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: /no/such/folder has no config.json: ...
    """

    def __init__(self, folder: str | Path) -> None:
        super().__init__()
        folder = Path(folder)
        config = _read_hf_config(folder)
        try:
            from speechbrain.integrations.huggingface.wav2vec2 import Wav2Vec2
        except ImportError as error:
            raise ImportError(
                f"Probing the Hugging Face model in {folder} needs the optional "
                "'transformers' package: pip install transformers"
            ) from error
        self.folder = folder
        self.model = Wav2Vec2(
            source=str(folder),
            save_path=str(folder),
            freeze=True,
            output_all_hiddens=True,
        )
        self.kernels = list(config.get("conv_kernel", [10, 3, 3, 3, 3, 2, 2]))
        self.strides = list(config.get("conv_stride", [5, 2, 2, 2, 2, 2, 2]))
        self.num_hidden_states = int(config["num_hidden_layers"]) + 1

    def forward(
        self, wavs: torch.Tensor, wav_lens: torch.Tensor
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Return every hidden state and the frame padding mask.

        Parameters
        ----------
        wavs : torch.Tensor
            ``(batch, samples)`` zero-padded 16 kHz waveforms.
        wav_lens : torch.Tensor
            ``(batch,)`` SpeechBrain relative lengths.

        Returns
        -------
        hidden_states : list of torch.Tensor
            ``num_hidden_layers + 1`` tensors of shape ``(batch, frames, dim)``.
        padding_mask : torch.Tensor
            ``(batch, frames)`` bool, ``True`` on padded frames.
        """
        stacked = self.model(wavs, wav_lens)
        num_samples = relative_to_absolute_lengths(wav_lens, wavs.shape[1])
        frames = conv_output_frames(num_samples, self.kernels, self.strides)
        padding_mask = make_padding_mask(frames.to(stacked.device), stacked.shape[2])
        return list(stacked.unbind(0)), padding_mask


def _is_our_hf_style_folder(folder: Path) -> bool:
    """Whether ``folder/config.json`` is the Hugging Face-style view of ours."""
    config = folder / "config.json"
    if not config.is_file():
        return False
    return json.loads(config.read_text()).get("model_type") == MODEL_TYPE


def upstream_from_folder(folder: str | Path, device: str = "cpu") -> nn.Module:
    """Load the upstream stored in a local folder (see the module docstring).

    Parameters
    ----------
    folder : str or Path
        Our exported encoder folder (``encoder.json``) or a local Hugging Face
        / SpeechBrain wav2vec 2.0 folder (``config.json``).
    device : str
        Where to put the model.

    Returns
    -------
    torch.nn.Module
        An upstream called as ``upstream(wavs, wav_lens)`` returning
        ``(hidden_states, padding_mask)``, in eval mode.

    Raises
    ------
    FileNotFoundError
        When the folder does not exist.
    ValueError
        When the folder holds neither kind of model.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     upstream_from_folder(folder)
    Traceback (most recent call last):
    ...
    ValueError: ... is not an encoder folder: ...
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Encoder folder {folder} does not exist: pass the 'encoder' folder "
            "written by recipes/pretrain.py or a local Hugging Face wav2vec 2.0 "
            "folder"
        )
    if (folder / "encoder.json").is_file():
        return load_encoder(folder, device)
    if _is_our_hf_style_folder(folder):  # config.json + model.safetensors only
        return SummaryMixingW2V2Model.from_pretrained(folder, device).encoder
    if (folder / "config.json").is_file():
        return HuggingFaceWav2Vec2Upstream(folder).to(device).eval()
    found = sorted(path.name for path in folder.iterdir())[:8]
    raise ValueError(
        f"{folder} is not an encoder folder: expected encoder.json (an encoder "
        "exported by recipes/pretrain.py) or config.json (a local Hugging Face "
        f"/ SpeechBrain wav2vec 2.0 model); found {found or 'nothing'}"
    )
