"""The MP3S utterance-classification probe: emotion (IEMOCAP), intent (SLURP).

The probe maps each utterance to one score per class; the loss is the
``loss`` hyper-parameter, called as ``loss(scores, targets)``
(``torch.nn.CrossEntropyLoss`` in the published recipes, also for the
ECAPA-TDNN probe whose scores are cosines). Accuracy (percent of utterances
whose best-scoring class is right) is the metric; the validation accuracy
drives annealing and checkpoint selection.
"""

from collections.abc import Callable

import speechbrain as sb
import torch
from torch import nn

from summarymixing.mp3s.brains.base import ProbeBrain
from summarymixing.mp3s.probes.utterance import EmbeddingClassifierProbe
from summarymixing.mp3s.scoring.metrics import accuracy


def embedding_classifier(
    input_size: int, num_classes: int, embedder: Callable[[int], nn.Module]
) -> EmbeddingClassifierProbe:
    """Build an embedder on ``input_size`` features and its cosine classifier.

    Lets a YAML file name the embedder with its sizes
    (``embedder: !name:summarymixing.mp3s.probes.speaker.ECAPAEmbedder``)
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


class ClassificationProbeBrain(ProbeBrain):
    """Utterance classification trained with ``hparams.loss``, scored by accuracy.

    Parameters
    ----------
    features, probe, hparams, run_opts, checkpointer
        As :class:`~summarymixing.mp3s.brains.base.ProbeBrain`; the probe
        returns ``(batch, classes)`` scores, batches carry ``label``
        (``(batch, 1)`` class indices) and ``hparams`` has ``loss``.
    """

    validation_metric = "accuracy"
    higher_is_better = True

    def __init__(
        self, features, probe, hparams, run_opts=None, checkpointer=None
    ) -> None:
        super().__init__(features, probe, hparams, run_opts, checkpointer)
        self.predictions: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []

    def batch_loss(
        self, outputs: torch.Tensor, padding_mask: torch.Tensor, batch
    ) -> torch.Tensor:
        """``hparams.loss`` of the class scores."""
        return self.hparams.loss(outputs, batch.label.data[:, 0])

    def start_metrics(self, stage: sb.Stage) -> None:
        """Forget the predictions of the previous stage."""
        self.predictions, self.targets = [], []

    def update_metrics(
        self, outputs: torch.Tensor, padding_mask: torch.Tensor, batch, stage: sb.Stage
    ) -> None:
        """Keep the batch's best-scoring classes and its targets."""
        self.predictions.append(outputs.argmax(dim=-1).cpu())
        self.targets.append(batch.label.data[:, 0].cpu())

    def summarize_metrics(self, stage: sb.Stage) -> dict[str, float]:
        """Accuracy in percent."""
        return {
            "accuracy": accuracy(torch.cat(self.predictions), torch.cat(self.targets))
        }
