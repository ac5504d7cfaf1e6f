"""The robustness every Brain of the project shares: one home, three recipes.

Pre-training (:class:`~summarymixing.training.pretrain_brain.PretrainBrain`),
the MP3S probes (:class:`~summarymixing.mp3s.brains.base.ProbeBrain`) and CTC
fine-tuning (:class:`~summarymixing.finetune.brain.CTCFineTuneBrain`) run for
hours on data nobody has listened to. SpeechBrain's ``Brain`` is kept for
everything it does well (the loop, DDP, AMP, accumulation, checkpoints); this
base adds what a long run needs and SpeechBrain does not do:

* **non-finite losses**: a training batch whose loss is NaN or inf is replaced
  by a zero loss connected to the parameters and counted
  (:class:`~summarymixing.training.nonfinite.NonFiniteGuard`, stop after
  ``max_nonfinite_batches``); an update in which every batch was skipped is
  not taken at all (no AdamW step, whose weight decay and moments would move
  the weights, and ``update_skipped`` tells the subclass not to advance its
  schedules);
* **per-rank random streams** in the checkpoint
  (:class:`~summarymixing.training.random_state.RandomState`), so that a
  resumed run draws the masks, distractors, dropout and layer-drop decisions
  the uninterrupted one would have drawn, on every rank;
* **unreadable audio**: the files the collate function skipped are counted and
  named at each training batch (:class:`~summarymixing.data.bad_audio.
  BadAudioTracker`, checkpointed, stopping the run past
  ``max_bad_audio_fraction``, 0.01 when the YAML has no such key).
"""

from __future__ import annotations

import logging

import speechbrain as sb
import torch

from summarymixing.data.bad_audio import BadAudioTracker
from summarymixing.training.nonfinite import NonFiniteGuard
from summarymixing.training.random_state import RandomState

logger = logging.getLogger(__name__)


class RobustBrain(sb.Brain):
    """``speechbrain.Brain`` with the non-finite guard, RNG streams and bad-file counts.

    Parameters are those of ``speechbrain.Brain``; ``hparams`` needs
    ``max_nonfinite_batches`` and may have ``max_bad_audio_fraction``.
    Subclasses call :meth:`checked_loss` on their training loss and read
    ``update_skipped`` before advancing a schedule.

    Example
    -------
    >>> brain = RobustBrain(
    ...     modules={"model": torch.nn.Linear(2, 1)},
    ...     hparams={"max_nonfinite_batches": 3},
    ...     run_opts={"device": "cpu"},
    ... )
    >>> brain.guard.max_skipped, brain.bad_audio.max_fraction, brain.update_skipped
    (3, 0.01, False)
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.guard = NonFiniteGuard(self.hparams.max_nonfinite_batches)
        fraction = getattr(self.hparams, "max_bad_audio_fraction", None)
        self.bad_audio = BadAudioTracker(
            **({} if fraction is None else {"max_fraction": fraction})
        )
        self.update_skipped = False
        if self.checkpointer is not None:
            rank = getattr(self, "rank", None) or 0
            self.checkpointer.add_recoverable("random_state", RandomState(rank))
            self.checkpointer.add_recoverable("bad_audio", self.bad_audio)

    def checked_loss(self, loss: torch.Tensor, batch) -> torch.Tensor:
        """Return the training ``loss``, or a zero loss if it is not finite.

        The zero loss is connected to every trainable parameter, so that DDP
        reduces a (zero) gradient for each of them.
        """
        trainable = [p for p in self.modules.parameters() if p.requires_grad]
        return self.guard.check(loss, trainable, batch.id)

    def optimizers_step(self) -> None:
        """SpeechBrain's optimizer step, unless every batch of the update was skipped.

        Then the (zero) gradients are dropped and nothing moves; under DDP all
        processes decide together (the guard sums its count over them).
        """
        self.update_skipped = self.guard.update_is_empty(self.device)
        if not self.update_skipped:
            super().optimizers_step()
            return
        for optimizer in (self.optimizers_dict or {}).values():
            optimizer.zero_grad(set_to_none=True)
        logger.warning(
            "update skipped: every batch since the last optimizer step had a "
            "non-finite loss (optimizer step %d not taken)",
            self.optimizer_step + 1,
        )

    def on_fit_batch_start(self, batch, should_step: bool) -> None:
        """Count (and log) the unreadable files the collate function left out."""
        self.bad_audio.update(batch)
