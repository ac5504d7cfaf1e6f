"""Skip and count batches whose loss is not finite.

SpeechBrain's ``Brain.check_loss_isfinite`` counts a non-finite loss but still
back-propagates it (and resets its count every epoch, which for a 300k-step run
with few epochs means "never stops"). Here the batch is replaced by a zero loss
that still touches every parameter (so DDP's gradient reduction sees each one),
the skipped batch is named in the log, and the run stops with a clear message
once the number of skipped batches exceeds a limit. An update in which every
batch was skipped (on every process) takes no optimizer step at all: AdamW's
weight decay and moments would otherwise still move the parameters, and lr,
temperature and step counter would advance for a batch nobody learnt from.
"""

from __future__ import annotations

import logging

import torch

logger = logging.getLogger(__name__)


class NonFiniteGuard:
    """Replace non-finite losses by a harmless zero and count them.

    Parameters
    ----------
    max_skipped : int
        Number of skipped batches after which training stops.

    Example
    -------
    >>> guard = NonFiniteGuard(max_skipped=1)
    >>> weight = torch.nn.Parameter(torch.ones(2))
    >>> loss = guard.check(torch.tensor(float("nan")), [weight], ["utt1"])
    >>> loss.item(), guard.skipped
    (0.0, 1)
    """

    def __init__(self, max_skipped: int = 20) -> None:
        self.max_skipped = max_skipped
        self.skipped = 0
        self.finite_in_update = 0
        self.last_was_skipped = False

    def check(
        self,
        loss: torch.Tensor,
        parameters: list[torch.nn.Parameter],
        batch_ids: list[str],
    ) -> torch.Tensor:
        """Return ``loss``, or a zero loss connected to ``parameters`` if not finite."""
        self.last_was_skipped = not bool(torch.isfinite(loss))
        if not self.last_was_skipped:
            self.finite_in_update += 1
            return loss
        self.skipped += 1
        logger.warning(
            "non-finite loss (%s): batch skipped (%d so far, limit %d); ids: %s",
            loss.item(),
            self.skipped,
            self.max_skipped,
            ", ".join(batch_ids[:8]),
        )
        if self.skipped > self.max_skipped:
            raise RuntimeError(
                f"{self.skipped} batches had a non-finite loss (limit "
                f"max_nonfinite_batches={self.max_skipped}). Lower the learning rate, "
                "use --precision bf16 instead of fp16, or check the data for "
                "silent or clipped files; resume from the last checkpoint after."
            )
        return sum(param.sum() * 0.0 for param in parameters if param.requires_grad)

    def update_is_empty(self, device: torch.device | str = "cpu") -> bool:
        """Say whether no batch of this update had a finite loss; start the next.

        Under DDP the count is summed over the processes (a collective, on
        ``device``), so that all of them take or skip the step together.

        Example
        -------
        >>> guard = NonFiniteGuard()
        >>> weight = torch.nn.Parameter(torch.ones(2))
        >>> _ = guard.check(torch.tensor(float("inf")), [weight], ["utt1"])
        >>> guard.update_is_empty()
        True
        >>> _ = guard.check(torch.tensor(1.0), [weight], ["utt2"])
        >>> guard.update_is_empty()
        False
        """
        finite = torch.tensor(float(self.finite_in_update), device=device)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(finite)
        self.finite_in_update = 0
        return bool(finite == 0)
