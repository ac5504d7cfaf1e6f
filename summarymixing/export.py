"""Export a pre-trained encoder as a self-describing folder, and load it back.

The folder holds everything needed to rebuild the encoder without the recipe:

* ``hyperparams.yaml``: the resolved ``frontend`` and ``encoder_wrapper``
  definitions (hyperpyyaml, no references to the recipe's other keys);
* ``frontend.ckpt`` and ``encoder_wrapper.ckpt``: their weights;
* ``encoder.json``: a format tag and a description (mixer, sizes, number of
  hidden states), checked on load so that a folder from another model gives a
  clear message instead of a wall of missing-key errors.

``load_encoder(folder)`` returns a :class:`PretrainedEncoder` whose forward gives
every hidden state (input of the first layer plus each layer), as MP3S needs.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import torch
from hyperpyyaml import load_hyperpyyaml, resolve_references
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from torch import nn

FORMAT = "summarymixing-w2v2-encoder"
FORMAT_VERSION = 1
EXPORTED_KEYS = ("frontend", "encoder_wrapper")


class PretrainedEncoder(nn.Module):
    """Front-end + context network of a pre-trained model, without SSL heads.

    Parameters
    ----------
    frontend : torch.nn.Module
        Waveform to latent frames, with ``output_lengths(num_samples)``.
    encoder_wrapper : torch.nn.Module
        A ``W2V2EncoderWrapper`` whose encoder returns hidden states.
    description : dict
        What ``encoder.json`` says about the model.

    Example
    -------
    >>> from summarymixing.wav2vec2 import FbankConvFrontEnd, W2V2EncoderWrapper
    >>> from summarymixing import ConformerEncoder
    >>> encoder = ConformerEncoder(2, 32, 64, 2, output_hidden_states=True)
    >>> model = PretrainedEncoder(
    ...     FbankConvFrontEnd(out_channels=16), W2V2EncoderWrapper(16, 32, encoder), {}
    ... ).eval()
    >>> states, padding = model(torch.randn(2, 8000), torch.tensor([1.0, 0.5]))
    >>> len(states), tuple(states[0].shape), padding.shape
    (3, (2, 26, 32), torch.Size([2, 26]))
    """

    def __init__(
        self,
        frontend: nn.Module,
        encoder_wrapper: nn.Module,
        description: dict[str, Any],
    ) -> None:
        super().__init__()
        self.frontend = frontend
        self.encoder_wrapper = encoder_wrapper
        self.description = description

    def forward(
        self, wavs: torch.Tensor, wav_lens: torch.Tensor
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Return all hidden states and the frame padding mask (True = padded).

        Parameters
        ----------
        wavs : torch.Tensor
            ``(batch, samples)`` zero-padded 16 kHz waveforms.
        wav_lens : torch.Tensor
            ``(batch,)`` SpeechBrain relative lengths.

        Returns
        -------
        hidden_states : list of torch.Tensor
            ``num_layers + 1`` tensors of shape ``(batch, frames, d_model)``.
        padding_mask : torch.Tensor
            ``(batch, frames)`` bool, True on padded frames.
        """
        from summarymixing.wav2vec2.lengths import frontend_latents

        latents, _, padding_mask = frontend_latents(self.frontend, wavs, wav_lens)
        output = self.encoder_wrapper(latents, padding_mask)
        return list(output.hidden_states), padding_mask


def _extract_model_yaml(base_yaml: str | Path, overrides: dict[str, Any]) -> str:
    """Resolve the recipe YAML and keep only the exported model definitions."""
    resolved = resolve_references(Path(base_yaml).read_text(), overrides).getvalue()
    yaml = YAML()
    document = yaml.load(resolved)
    subset = CommentedMap((key, document[key]) for key in EXPORTED_KEYS)
    stream = io.StringIO()
    yaml.dump(subset, stream)
    return stream.getvalue()


def export_encoder(
    folder: str | Path,
    base_yaml: str | Path,
    overrides: dict[str, Any],
    frontend: nn.Module,
    encoder_wrapper: nn.Module,
    description: dict[str, Any],
) -> Path:
    """Write the encoder folder (see module docstring).

    Parameters
    ----------
    folder : str or Path
        Where to write; created if needed, files replaced.
    base_yaml : str or Path
        The recipe's hyperpyyaml file defining ``frontend`` and
        ``encoder_wrapper``.
    overrides : dict
        The overrides the recipe was loaded with.
    frontend, encoder_wrapper : torch.nn.Module
        The trained modules.
    description : dict
        Facts about the model to store in ``encoder.json``.

    Returns
    -------
    Path
        The folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hyperparams.yaml").write_text(_extract_model_yaml(base_yaml, overrides))
    torch.save(frontend.state_dict(), folder / "frontend.ckpt")
    torch.save(encoder_wrapper.state_dict(), folder / "encoder_wrapper.ckpt")
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **description}
    (folder / "encoder.json").write_text(json.dumps(meta, indent=2) + "\n")
    return folder


def load_encoder(folder: str | Path, device: str = "cpu") -> PretrainedEncoder:
    """Load an exported encoder folder in eval mode.

    Parameters
    ----------
    folder : str or Path
        A folder written by :func:`export_encoder` (``<output>/encoder`` of a
        pre-training run).
    device : str
        Where to put the model.

    Returns
    -------
    PretrainedEncoder
        The encoder, returning all hidden states.
    """
    folder = Path(folder)
    meta_path = folder / "encoder.json"
    if not meta_path.is_file():
        raise FileNotFoundError(
            f"{folder} is not an exported summarymixing encoder (no encoder.json); "
            "pass the 'encoder' folder written at the end of recipes/pretrain.py"
        )
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"{folder} holds a {meta.get('format')!r} model, not a {FORMAT!r} one; "
            "export it with summarymixing.export.export_encoder"
        )
    with open(folder / "hyperparams.yaml") as stream:
        modules = load_hyperpyyaml(stream)
    model = PretrainedEncoder(modules["frontend"], modules["encoder_wrapper"], meta)
    for name in EXPORTED_KEYS:
        state = torch.load(folder / f"{name}.ckpt", map_location="cpu")
        try:
            getattr(model, name).load_state_dict(state)
        except RuntimeError as error:
            raise ValueError(
                f"{folder / (name + '.ckpt')} does not match {folder}/hyperparams.yaml "
                f"(the weights come from another model): {error}"
            ) from error
    return model.to(device).eval()
