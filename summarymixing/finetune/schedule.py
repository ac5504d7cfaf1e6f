"""wav2vec 2.0's fine-tuning schedule from fractions of the run."""

from __future__ import annotations

from speechbrain.nnet.schedulers import TriStageLRSchedule


def tri_stage_schedule(
    lr: float,
    total_steps: int,
    warmup_fraction: float = 0.1,
    hold_fraction: float = 0.4,
    final_lr_scale: float = 0.05,
) -> TriStageLRSchedule:
    """SpeechBrain's ``TriStageLRSchedule`` over ``total_steps`` updates.

    Each stage lasts at least one update, so that a very short run (a smoke
    test, a demo) does not divide by zero inside the schedule.

    Example
    -------
    >>> schedule = tri_stage_schedule(1e-3, 20000)
    >>> schedule.warmup_steps, schedule.hold_steps, schedule.decay_steps
    (2000, 8000, 10000)
    >>> tri_stage_schedule(1e-3, 2).warmup_steps
    1
    """
    warmup = max(1, round(total_steps * warmup_fraction))
    hold = max(1, round(total_steps * hold_fraction))
    decay = max(1, total_steps - warmup - hold)
    return TriStageLRSchedule(
        lr, warmup, hold, decay, total_steps, final_lr_scale=final_lr_scale
    )
