"""Frame-level CTC probes of MP3S: BiLSTM and Linear (ContextNet: own module).

Each probe maps ``(features, padding_mask)`` to frame logits
``(batch, frames, vocab_size)``; :mod:`summarymixing.mp3s.scoring.ctc` turns them into
a loss and transcriptions. Defaults are the published probe sizes.
"""

import torch
from speechbrain.nnet.RNN import rnn_init
from torch import nn

from summarymixing.mp3s.probes.padding import run_packed_rnn


class BiLSTMCTCProbe(nn.Module):
    """Bidirectional LSTM followed by a linear layer to the vocabulary.

    MP3S uses SpeechBrain's ``LSTM`` lobe (2 layers of 1024 units per
    direction, dropout 0.2) on the padded batch, so its backward direction
    reads the padding first. We build the same ``torch.nn.LSTM`` with
    SpeechBrain's initialisation (``rnn_init``) and run it on packed sequences
    with exact integer lengths, so a padded batch gives each utterance what it
    gets alone.

    Parameters
    ----------
    input_size : int
        Dimension of the features.
    vocab_size : int
        Number of output tokens, CTC blank included.
    hidden_size : int
        LSTM units per direction.
    num_layers : int
        Number of LSTM layers.
    dropout : float
        Dropout between LSTM layers.

    Example
    -------
    >>> probe = BiLSTMCTCProbe(16, 5, hidden_size=8)
    >>> padding = torch.tensor([[False] * 7, [False] * 4 + [True] * 3])
    >>> probe(torch.randn(2, 7, 16), padding).shape
    torch.Size([2, 7, 5])
    """

    def __init__(
        self,
        input_size: int,
        vocab_size: int,
        hidden_size: int = 1024,
        num_layers: int = 2,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            input_size,
            hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=True,
            batch_first=True,
        )
        rnn_init(self.lstm)
        self.output = nn.Linear(2 * hidden_size, vocab_size)

    def forward(
        self, features: torch.Tensor, padding_mask: torch.Tensor
    ) -> torch.Tensor:
        """Frame logits.

        Parameters
        ----------
        features : torch.Tensor
            ``(batch, frames, input_size)``.
        padding_mask : torch.Tensor
            ``(batch, frames)`` bool, ``True`` on padding.

        Returns
        -------
        torch.Tensor
            ``(batch, frames, vocab_size)``.
        """
        return self.output(run_packed_rnn(self.lstm, features, padding_mask))


class LinearCTCProbe(nn.Module):
    """One hidden block (Linear + activation), then a linear layer to the vocabulary.

    "Linear (1 block 1024)" in MP3S is SpeechBrain's ``VanillaNN`` with one
    block of 1024 units and a sigmoid activation, followed by the CTC output
    layer; this is that network. It works frame by frame, so padding never
    affects real frames.

    Parameters
    ----------
    input_size : int
        Dimension of the features.
    vocab_size : int
        Number of output tokens, CTC blank included.
    hidden_size : int
        Units of the hidden block.
    activation : type of torch.nn.Module
        Activation of the hidden block (published: sigmoid).

    Example
    -------
    >>> probe = LinearCTCProbe(16, 5, hidden_size=8)
    >>> probe(torch.randn(2, 7, 16), torch.zeros(2, 7, dtype=torch.bool)).shape
    torch.Size([2, 7, 5])
    """

    def __init__(
        self,
        input_size: int,
        vocab_size: int,
        hidden_size: int = 1024,
        activation: type[nn.Module] = nn.Sigmoid,
    ) -> None:
        super().__init__()
        self.hidden = nn.Sequential(nn.Linear(input_size, hidden_size), activation())
        self.output = nn.Linear(hidden_size, vocab_size)

    def forward(
        self, features: torch.Tensor, padding_mask: torch.Tensor
    ) -> torch.Tensor:
        """Frame logits.

        Parameters
        ----------
        features : torch.Tensor
            ``(batch, frames, input_size)``.
        padding_mask : torch.Tensor
            ``(batch, frames)`` bool, ``True`` on padding (unused: the probe is
            frame-wise).

        Returns
        -------
        torch.Tensor
            ``(batch, frames, vocab_size)``.
        """
        return self.output(self.hidden(features))
