"""The MP3S speaker-verification probe: AAM-softmax training, cosine scoring.

Training is speaker classification over the training speakers (3 s chunks,
AAM-softmax on the cosine classifier, see
:class:`~summarymixing.mp3s.brains.classification.ClassificationProbeBrain`);
the validation accuracy on held-out chunks of the same speakers drives
annealing and checkpoint selection. The test stage runs the embedder alone on
every enrolment and test utterance (whole, unchunked) and scores each trial
by the cosine similarity of its two embeddings; the EER (percent) and minDCF
(p_target 0.01) follow from the target and non-target scores.
"""

from collections.abc import Mapping, Sequence

import speechbrain as sb
import torch
import torch.nn.functional as F

from summarymixing.mp3s.brains.classification import ClassificationProbeBrain
from summarymixing.mp3s.corpora.voxceleb import Trial
from summarymixing.mp3s.scoring.metrics import equal_error_rate, min_detection_cost
from summarymixing.training.distributed import unwrap


def score_trials(
    embeddings: Mapping[str, torch.Tensor], trials: Sequence[Trial]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine scores of the target and of the non-target trials.

    Parameters
    ----------
    embeddings : mapping
        Utterance ID → ``(embedding_size,)`` embedding.
    trials : sequence of Trial
        The verification trials.

    Returns
    -------
    target_scores, nontarget_scores : torch.Tensor
        One score per trial of each label.

    Raises
    ------
    ValueError
        A trial names an utterance without embedding (its audio was left out
        at preparation; the manifest's record says why).

    Example
    -------
    >>> embeddings = {"a": torch.tensor([1.0, 0.0]), "b": torch.tensor([1.0, 0.1]),
    ...               "c": torch.tensor([0.0, 1.0])}
    >>> targets, others = score_trials(embeddings, [Trial(1, "a", "b"),
    ...                                              Trial(0, "a", "c")])
    >>> round(targets.item(), 3), round(others.item(), 3)
    (0.995, 0.0)
    """
    missing = sorted(
        {u for t in trials for u in (t.enrol_id, t.test_id) if u not in embeddings}
    )
    if missing:
        raise ValueError(
            f"The trials name {len(missing)} utterance(s) without an embedding, "
            f"e.g. {missing[:5]}: their audio was left out at preparation (see "
            "the records of the enrol and test manifests); restore the files or "
            "remove these trials"
        )
    enrol = torch.stack([embeddings[trial.enrol_id] for trial in trials])
    test = torch.stack([embeddings[trial.test_id] for trial in trials])
    scores = F.cosine_similarity(enrol.float(), test.float(), dim=-1)
    labels = torch.tensor([trial.label for trial in trials], dtype=torch.bool)
    return scores[labels], scores[~labels]


class SpeakerProbeBrain(ClassificationProbeBrain):
    """Speaker classification in training; verification EER and minDCF in test.

    Parameters
    ----------
    features, probe, hparams, run_opts, checkpointer
        As :class:`ClassificationProbeBrain`; the probe is an
        ``EmbeddingClassifierProbe`` and ``hparams.loss`` an ``AAMSoftmaxLoss``.
    trials : sequence of Trial
        The verification trials; the test set holds every utterance they name.
    """

    logs_test_loss = False

    def __init__(
        self, features, probe, trials, hparams, run_opts=None, checkpointer=None
    ) -> None:
        super().__init__(features, probe, hparams, run_opts, checkpointer)
        self.trials = list(trials)
        self.embeddings: dict[str, torch.Tensor] = {}

    def run_probe(
        self, features: torch.Tensor, padding_mask: torch.Tensor, stage: sb.Stage
    ) -> torch.Tensor:
        """Class scores, except in the test stage: embeddings."""
        if stage == sb.Stage.TEST:
            return unwrap(self.modules.probe).embed(features, padding_mask)
        return self.modules.probe(features, padding_mask)

    def compute_objectives(self, predictions, batch, stage: sb.Stage) -> torch.Tensor:
        """Keep the test embeddings (no loss); otherwise as for classification."""
        if stage != sb.Stage.TEST:
            return super().compute_objectives(predictions, batch, stage)
        embeddings, _ = predictions
        self.embeddings.update(zip(batch.id, embeddings.detach().cpu(), strict=True))
        return torch.zeros(())

    def start_metrics(self, stage: sb.Stage) -> None:
        """Forget predictions and embeddings."""
        super().start_metrics(stage)
        self.embeddings = {}

    def summarize_metrics(self, stage: sb.Stage) -> dict[str, float]:
        """Return the validation accuracy, or the test EER and minDCF."""
        if stage != sb.Stage.TEST:
            return super().summarize_metrics(stage)
        targets, nontargets = score_trials(self.embeddings, self.trials)
        eer, _ = equal_error_rate(targets, nontargets)
        min_dcf, _ = min_detection_cost(targets, nontargets)
        return {"EER": eer, "minDCF": min_dcf}
