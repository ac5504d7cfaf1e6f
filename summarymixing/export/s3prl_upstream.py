"""An encoder folder as an s3prl upstream, for SUPERB users.

s3prl calls an upstream with a list of unpadded 16 kHz waveforms and expects
a dict whose ``hidden_states`` is a list of padded ``(batch, frames, dim)``
tensors, one per layer, and ``get_downsample_rates(key)``, the input samples
per output frame, from which it computes each utterance's number of frames.
:class:`UpstreamExpert` gives exactly that for any encoder folder (pre-trained,
untrained or FBANK), through our own loader, so nothing of the recipes runs.
Register it with s3prl as a custom upstream whose ``expert.py`` is one line::

    from summarymixing.export.s3prl_upstream import UpstreamExpert

and pass the encoder folder as the checkpoint (``-k ENCODER_FOLDER``).
Layerdrop is off (see :func:`~.pretrained_encoder.disable_layerdrop`), so the
number of hidden states never varies (s3prl issue 350).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from summarymixing.export.encoder_folder import load_encoder
from summarymixing.export.hf_style import samples_per_frame

SAMPLE_RATE = 16000


class UpstreamExpert(nn.Module):
    """s3prl's upstream interface around :func:`load_encoder`.

    Parameters
    ----------
    ckpt : str or Path
        An encoder folder.
    model_config : str, optional
        Accepted for s3prl's call signature; the folder describes the model.
    **kwargs
        Other s3prl options, ignored.

    Example
    -------
    >>> import tempfile
    >>> from summarymixing.export import export_fbank_baseline
    >>> upstream = UpstreamExpert(export_fbank_baseline(tempfile.mkdtemp()))
    >>> out = upstream([torch.randn(16000), torch.randn(8000)])
    >>> [tuple(state.shape) for state in out["hidden_states"]]
    [(2, 101, 80)]
    >>> upstream.get_downsample_rates("hidden_states")
    160
    """

    def __init__(
        self, ckpt: str | Path, model_config: str | None = None, **kwargs
    ) -> None:
        super().__init__()
        self.model = load_encoder(ckpt)
        self.downsample_rate = samples_per_frame(self.model)

    def get_downsample_rates(self, key: str = "hidden_states") -> int:
        """Input samples per output frame, the same for every key."""
        return self.downsample_rate

    def forward(self, wavs: list[torch.Tensor]) -> dict[str, list[torch.Tensor]]:
        """Encode unpadded 1-D waveforms; padded frames of every state are zero.

        Returns
        -------
        dict
            ``hidden_states``: ``num_hidden_states`` tensors ``(batch, frames,
            dim)``; ``last_hidden_state``: the last of them.
        """
        lengths = torch.tensor([len(wav) for wav in wavs], device=wavs[0].device)
        padded = pad_sequence(list(wavs), batch_first=True)
        states, padding = self.model(padded, lengths.float() / lengths.max())
        keep = (~padding).unsqueeze(-1).to(states[0].dtype)
        states = [state * keep for state in states]
        return {"hidden_states": states, "last_hidden_state": states[-1]}
