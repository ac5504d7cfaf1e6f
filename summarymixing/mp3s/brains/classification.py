"""The MP3S utterance-classification probe: emotion (IEMOCAP), intent (SLURP).

The probe maps each utterance to one score per class; the loss is the
``loss`` hyper-parameter, called as ``loss(scores, targets)``
(``torch.nn.CrossEntropyLoss`` in the published recipes, also for the
ECAPA-TDNN probe whose scores are cosines). Accuracy (percent of utterances
whose best-scoring class is right) is the metric; the validation accuracy
drives annealing and checkpoint selection.
"""

import speechbrain as sb
import torch

from summarymixing.mp3s.brains.base import ProbeBrain
from summarymixing.mp3s.scoring.metrics import accuracy


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
