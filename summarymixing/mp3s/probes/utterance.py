"""Utterance-level MP3S probes: classifiers and speaker/emotion embedders.

* :class:`MeanPoolLinearProbe`: mean over real frames, then a linear layer
  without bias (IEMOCAP and SLURP probe 1).
* :class:`BiLSTMLinearProbe`: BiLSTM, linear projection back to the feature
  size, mean over real frames, linear layer without bias (SLURP probe 2).
* :class:`EmbeddingClassifierProbe`: an embedder (X-vector or ECAPA-TDNN,
  see :mod:`~summarymixing.mp3s.probes.speaker`) and SpeechBrain's cosine
  classifier; trained with :class:`AAMSoftmaxLoss` for speaker verification.

Every probe maps ``(features, padding_mask)`` to ``(batch, classes)``.
"""

from collections.abc import Callable

import torch
from speechbrain.lobes.models.ECAPA_TDNN import Classifier
from speechbrain.nnet.losses import AdditiveAngularMargin, LogSoftmaxWrapper
from speechbrain.nnet.RNN import rnn_init
from torch import nn

from summarymixing.mp3s.probes.padding import run_packed_rnn
from summarymixing.padding import masked_mean


class MeanPoolLinearProbe(nn.Module):
    """Mean over real frames, then ``Linear(input_size, num_classes, bias=False)``.

    Parameters
    ----------
    input_size : int
        Dimension of the features.
    num_classes : int
        Number of classes.

    Example
    -------
    >>> probe = MeanPoolLinearProbe(16, 4)
    >>> probe(torch.randn(2, 7, 16), torch.zeros(2, 7, dtype=torch.bool)).shape
    torch.Size([2, 4])
    """

    def __init__(self, input_size: int, num_classes: int) -> None:
        super().__init__()
        self.output = nn.Linear(input_size, num_classes, bias=False)

    def forward(
        self, features: torch.Tensor, padding_mask: torch.Tensor
    ) -> torch.Tensor:
        """Class logits ``(batch, num_classes)``.

        Parameters
        ----------
        features : torch.Tensor
            ``(batch, frames, input_size)``.
        padding_mask : torch.Tensor
            ``(batch, frames)`` bool, ``True`` on padding.

        Returns
        -------
        torch.Tensor
            ``(batch, num_classes)``.
        """
        return self.output(masked_mean(features, padding_mask))


class BiLSTMLinearProbe(nn.Module):
    """BiLSTM, projection, mean over real frames, linear classifier.

    Parameters
    ----------
    input_size : int
        Dimension of the features.
    num_classes : int
        Number of classes.
    hidden_size : int, optional
        LSTM units per direction; defaults to ``input_size`` (published).
    num_layers : int
        Number of LSTM layers.
    dropout : float
        Dropout between LSTM layers (published: none).

    Example
    -------
    >>> probe = BiLSTMLinearProbe(16, 4, hidden_size=8)
    >>> padding = torch.tensor([[False] * 7, [False] * 3 + [True] * 4])
    >>> probe(torch.randn(2, 7, 16), padding).shape
    torch.Size([2, 4])
    """

    def __init__(
        self,
        input_size: int,
        num_classes: int,
        hidden_size: int | None = None,
        num_layers: int = 2,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        hidden_size = input_size if hidden_size is None else hidden_size
        self.lstm = nn.LSTM(
            input_size,
            hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=True,
            batch_first=True,
        )
        rnn_init(self.lstm)
        self.projection = nn.Linear(2 * hidden_size, input_size)
        self.output = nn.Linear(input_size, num_classes, bias=False)

    def forward(
        self, features: torch.Tensor, padding_mask: torch.Tensor
    ) -> torch.Tensor:
        """Class logits ``(batch, num_classes)``.

        Parameters
        ----------
        features : torch.Tensor
            ``(batch, frames, input_size)``.
        padding_mask : torch.Tensor
            ``(batch, frames)`` bool, ``True`` on padding.

        Returns
        -------
        torch.Tensor
            ``(batch, num_classes)``.
        """
        encoded = self.projection(run_packed_rnn(self.lstm, features, padding_mask))
        return self.output(masked_mean(encoded, padding_mask))


class EmbeddingClassifierProbe(nn.Module):
    """An utterance embedder followed by SpeechBrain's cosine classifier.

    Parameters
    ----------
    embedder : torch.nn.Module
        Maps ``(features, padding_mask)`` to ``(batch, embedding_size)`` and has
        an ``embedding_size`` attribute (``XvectorEmbedder``, ``ECAPAEmbedder``).
    num_classes : int
        Number of speakers (or emotions).

    Example
    -------
    >>> from summarymixing.mp3s.probes.speaker import XvectorEmbedder
    >>> probe = EmbeddingClassifierProbe(
    ...     XvectorEmbedder(16, 8, [8, 12], [3, 1], [1, 1]), num_classes=5
    ... ).eval()
    >>> features, padding = torch.randn(2, 9, 16), torch.zeros(2, 9, dtype=torch.bool)
    >>> probe.embed(features, padding).shape, probe(features, padding).shape
    (torch.Size([2, 8]), torch.Size([2, 5]))
    """

    def __init__(self, embedder: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.embedder = embedder
        self.classifier = Classifier(embedder.embedding_size, out_neurons=num_classes)

    def embed(self, features: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        """Utterance embeddings ``(batch, embedding_size)``.

        Parameters
        ----------
        features : torch.Tensor
            ``(batch, frames, input_size)``.
        padding_mask : torch.Tensor
            ``(batch, frames)`` bool, ``True`` on padding.

        Returns
        -------
        torch.Tensor
            ``(batch, embedding_size)``.
        """
        return self.embedder(features, padding_mask)

    def forward(
        self, features: torch.Tensor, padding_mask: torch.Tensor
    ) -> torch.Tensor:
        """Cosine similarities to each class, in ``[-1, 1]``.

        Parameters
        ----------
        features : torch.Tensor
            ``(batch, frames, input_size)``.
        padding_mask : torch.Tensor
            ``(batch, frames)`` bool, ``True`` on padding.

        Returns
        -------
        torch.Tensor
            ``(batch, num_classes)``.
        """
        embeddings = self.embed(features, padding_mask)
        return self.classifier(embeddings.unsqueeze(1)).squeeze(1)


class AAMSoftmaxLoss(nn.Module):
    """Additive angular margin softmax on cosine scores (SpeechBrain's loss).

    Parameters
    ----------
    margin : float
        Angular margin added to the target class.
    scale : float
        Scale of the cosines before the softmax.

    Example
    -------
    >>> loss = AAMSoftmaxLoss()
    >>> cosines = torch.tensor([[0.5, 0.4, -0.1], [0.1, 0.3, 0.2]])
    >>> value = loss(cosines, torch.tensor([0, 1]))
    >>> value.dim(), bool(value > 0)
    (0, True)
    """

    def __init__(self, margin: float = 0.2, scale: float = 30.0) -> None:
        super().__init__()
        self.loss = LogSoftmaxWrapper(AdditiveAngularMargin(margin=margin, scale=scale))

    def forward(self, cosines: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean loss over the batch.

        Parameters
        ----------
        cosines : torch.Tensor
            ``(batch, classes)`` cosine scores from :class:`EmbeddingClassifierProbe`.
        targets : torch.Tensor
            ``(batch,)`` class indices.

        Returns
        -------
        torch.Tensor
            Scalar loss.
        """
        return self.loss(cosines.unsqueeze(1), targets.unsqueeze(1))


def embedding_classifier(
    input_size: int, num_classes: int, embedder: Callable[[int], nn.Module]
) -> EmbeddingClassifierProbe:
    """Build an embedder on ``input_size`` features and its cosine classifier.

    Lets a YAML file name the embedder with its sizes
    (``embedder: !name:summarymixing.mp3s.ECAPAEmbedder``)
    while the feature size and the number of classes come from the data.

    Parameters
    ----------
    input_size : int
        Dimension of the features.
    num_classes : int
        Number of classes (speakers, emotions).
    embedder : callable
        ``embedder(input_size)`` returns an ``XvectorEmbedder`` or
        ``ECAPAEmbedder``.

    Returns
    -------
    EmbeddingClassifierProbe
        The probe.

    Example
    -------
    >>> import functools
    >>> from summarymixing.mp3s.probes.speaker import XvectorEmbedder
    >>> embedder = functools.partial(
    ...     XvectorEmbedder, embedding_size=8, channels=[8, 12], kernel_sizes=[3, 1],
    ...     dilations=[1, 1],
    ... )
    >>> probe = embedding_classifier(16, 5, embedder).eval()
    >>> probe(torch.randn(2, 9, 16), torch.zeros(2, 9, dtype=torch.bool)).shape
    torch.Size([2, 5])
    """
    return EmbeddingClassifierProbe(embedder(input_size), num_classes)
