"""The robustness base that pre-training, the probes and fine-tuning share."""

import pytest
import speechbrain as sb
import torch
from speechbrain.dataio.batch import PaddedBatch
from speechbrain.utils.checkpoints import Checkpointer

from summarymixing.finetune.brain import CTCFineTuneBrain
from summarymixing.mp3s.brains.base import ProbeBrain
from summarymixing.training.pretrain_brain import PretrainBrain
from summarymixing.training.random_state import RandomState
from summarymixing.training.robust_brain import RobustBrain


class LinearBrain(RobustBrain):
    """The smallest Brain on the base: a linear regression."""

    def compute_forward(self, batch, stage):
        return self.modules.model(batch.x.data)

    def compute_objectives(self, predictions, batch, stage):
        loss = ((predictions - batch.y.data) ** 2).mean()
        return self.checked_loss(loss, batch) if stage == sb.Stage.TRAIN else loss


def make_brain(checkpointer=None, **hparams):
    torch.manual_seed(0)
    return LinearBrain(
        modules={"model": torch.nn.Linear(2, 1)},
        opt_class=lambda params: torch.optim.AdamW(params, lr=0.1, weight_decay=0.1),
        hparams={"max_nonfinite_batches": 5, **hparams},
        run_opts={"device": "cpu"},
        checkpointer=checkpointer,
    )


def batch(corrupt: bool = False, skipped=()) -> PaddedBatch:
    x = torch.ones(2) * (float("nan") if corrupt else 1.0)
    padded = PaddedBatch([{"id": "a", "x": x, "y": torch.ones(1)}])
    padded.skipped = list(skipped)
    padded.num_requested = 1 + len(padded.skipped)
    return padded


@pytest.mark.parametrize("brain_class", [PretrainBrain, ProbeBrain, CTCFineTuneBrain])
def test_every_brain_of_the_project_is_a_robust_brain(brain_class):
    assert issubclass(brain_class, RobustBrain)


def test_a_non_finite_update_moves_nothing_and_a_finite_one_steps():
    brain = make_brain()
    brain.init_optimizers()
    brain.fit_batch(batch())  # AdamW has moments and weight decay now
    before = [p.detach().clone() for p in brain.modules.parameters()]
    brain.fit_batch(batch(corrupt=True))
    assert brain.update_skipped and brain.guard.skipped == 1
    after = [p.detach() for p in brain.modules.parameters()]
    assert all(torch.equal(old, new) for old, new in zip(before, after, strict=True))
    brain.fit_batch(batch())
    assert not brain.update_skipped
    moved = [p.detach() for p in brain.modules.parameters()]
    assert not all(torch.equal(a, b) for a, b in zip(before, moved, strict=True))


def test_skipped_files_are_counted_against_the_yaml_limit():
    from summarymixing.data.bad_audio import SkippedAudio, TooManyBadFilesError

    brain = make_brain(max_bad_audio_fraction=0.2)
    brain.bad_audio.min_items = 1
    bad = SkippedAudio("b", "/data/b.flac", "empty file")
    brain.on_fit_batch_start(batch(), should_step=True)
    assert brain.bad_audio.num_seen == 1 and brain.bad_audio.num_skipped == 0
    with pytest.raises(TooManyBadFilesError, match="/data/b.flac"):
        brain.on_fit_batch_start(batch(skipped=[bad]), should_step=True)


def test_the_checkpoint_holds_the_random_state_and_the_bad_file_count(tmp_path):
    checkpointer = Checkpointer(tmp_path)
    brain = make_brain(checkpointer)
    recoverables = checkpointer.recoverables
    assert isinstance(recoverables["random_state"], RandomState)
    assert recoverables["random_state"].rank == 0
    assert recoverables["bad_audio"] is brain.bad_audio
