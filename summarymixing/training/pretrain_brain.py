"""The ``Brain`` of wav2vec 2.0 pre-training.

Only SpeechBrain's hooks are used (``compute_forward``, ``compute_objectives``,
``freeze_optimizers``, ``on_fit_batch_end``, ``on_stage_end``), never an
override of ``fit_batch``, so that gradient accumulation, DDP ``no_sync``, AMP
and gradient clipping stay SpeechBrain's. The robustness shared with the
probes and fine-tuning (non-finite losses skipped and counted, an update whose
every batch was skipped takes no step, per-rank RNG streams and unreadable
files in the checkpoint) is :class:`~.robust_brain.RobustBrain`'s. What
pre-training adds: the learning rate and the quantiser temperature advance
once per optimizer step, the gradient norm and throughput are logged every
``log_interval`` steps, and the quality monitor reads the features.
"""

from __future__ import annotations

import logging

import speechbrain as sb
import torch
from speechbrain.utils.distributed import if_main_process

from summarymixing.training.distributed import unwrap, world_size
from summarymixing.training.quality_monitor import QualityMonitor
from summarymixing.training.robust_brain import RobustBrain
from summarymixing.training.step_log import StepLog
from summarymixing.training.trackers import make_tracker
from summarymixing.training.worst_case import reserve_optimizer_state, try_batches

logger = logging.getLogger(__name__)

VALID_TERMS = ("loss", "contrastive", "diversity", "accuracy", "perplexity")


def gradient_norm(parameters: list[torch.nn.Parameter]) -> float:
    """Global L2 norm of the gradients of ``parameters`` (0 when none).

    Example
    -------
    >>> weight = torch.nn.Parameter(torch.zeros(2))
    >>> weight.grad = torch.tensor([3.0, 4.0])
    >>> gradient_norm([weight])
    5.0
    """
    norms = [p.grad.detach().float().norm() for p in parameters if p.grad is not None]
    return float(torch.stack(norms).norm()) if norms else 0.0


class PretrainBrain(RobustBrain):
    """wav2vec 2.0 pre-training of ``modules.pretrainer`` (a ``W2V2Pretrainer``).

    Expects hparams ``lr_scheduler`` (called with the optimizer once per optimizer
    step, e.g. ``speechbrain.nnet.schedulers.LinearWarmupScheduler``),
    ``log_interval``, ``max_nonfinite_batches``, ``sample_rate`` and, to
    checkpoint, a ``checkpointer``. The batch must carry ``id`` and ``sig``.
    The non-finite guard, the RNG streams and the count of unreadable files
    (``bad_audio``) are :class:`~.robust_brain.RobustBrain`'s. Set
    ``quality_monitor`` to a :class:`~.quality_monitor.QualityMonitor` (with
    ``monitor_interval`` optimizer steps) to read the features' quality before
    the first step, every ``monitor_interval`` steps and after the last.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        jsonl = getattr(self.hparams, "step_jsonl", None)
        main = if_main_process()
        self.step_log = StepLog(
            self.hparams.log_interval,
            world_size(),
            jsonl if jsonl and main else None,
            make_tracker(vars(self.hparams)) if main else None,
        )
        self.last_grad_norm: float | None = None
        self.valid_sums: dict[str, float] = {}
        self.heaviest_batches: list[tuple[str, object]] = []
        self.quality_monitor: QualityMonitor | None = None
        self.monitor_interval = 0

    def on_fit_start(self) -> None:
        """SpeechBrain's start (DDP, optimizer, recovery), then the heaviest batches.

        A fresh run's step log gets a ``model`` record with the number of
        parameters (a resumed run keeps the one of its start).

        ``heaviest_batches`` (description, batch) pairs, set by the recipe, run
        forward and backward once under the training autocast, with memory for
        Adam's moments held when the optimizer has none yet, so that a batch
        that cannot fit fails now (:mod:`.worst_case`). The run is unchanged.
        """
        super().on_fit_start()
        dropped = self.step_log.discard_after(self.optimizer_step)
        if dropped:
            logger.info(
                "Dropped %d lines of %s logged after step %d, the checkpoint "
                "this run resumes from",
                dropped,
                self.step_log.jsonl_path,
                self.optimizer_step,
            )
        if self.optimizer_step == 0:  # a resumed run keeps its first record
            parameters = sum(p.numel() for p in self.modules.parameters())
            self.step_log.record("model", 0, parameters=parameters)
        if self.quality_monitor is not None and not self.quality_monitor.history:
            self.monitor_features()
        if not self.heaviest_batches:
            return
        reserved = reserve_optimizer_state(self.modules.parameters(), self.optimizer)
        try_batches(self._forward_backward, self.modules, self.heaviest_batches)
        del reserved
        logger.info(
            "The heaviest training batches fit: %s",
            "; ".join(description for description, _ in self.heaviest_batches),
        )
        self.heaviest_batches = []

    def monitor_features(self) -> None:
        """Take one quality-monitor reading now (main process only)."""
        if self.quality_monitor is None or not if_main_process():
            return
        pretrainer = unwrap(self.modules.pretrainer)
        was_training = pretrainer.training
        pretrainer.eval()

        def encode(wavs: torch.Tensor, wav_lens: torch.Tensor):
            latents, padding = pretrainer.latents(
                wavs.to(self.device), wav_lens.to(self.device)
            )
            output = pretrainer.encoder_wrapper(latents, padding)
            return [state.cpu() for state in output.hidden_states], padding.cpu()

        reading = self.quality_monitor.evaluate(encode, self.optimizer_step)
        self.step_log.record("monitor", self.optimizer_step, **reading.as_record())
        pretrainer.train(was_training)

    def _forward_backward(self, batch) -> None:
        """Forward and backward of one training batch, as ``fit_batch`` does them."""
        self.modules.train()
        with self.training_ctx:
            outputs = self.compute_forward(batch, sb.Stage.TRAIN)
        self.scaler.scale(outputs["loss"]).backward()

    def compute_forward(self, batch, stage: sb.Stage) -> dict[str, torch.Tensor]:
        """Run the pre-training objective; loss terms per masked frame.

        The pre-trainer sums the losses over masked frames (so that the
        diversity term is scaled by their number, as in wav2vec 2.0's
        objective). Dividing the terms by that number here makes the gradient
        independent of the batch size, so that the paper's gradient clipping
        (max norm 100) is not hit at every step.
        """
        batch = batch.to(self.device)
        wavs, wav_lens = batch.sig
        outputs = self.modules.pretrainer(wavs, wav_lens)
        frames = outputs["num_masked"].clamp(min=1)
        for name in ("loss", "contrastive", "diversity"):
            outputs[name] = outputs[name] / frames
        return outputs

    def compute_objectives(
        self, outputs: dict[str, torch.Tensor], batch, stage: sb.Stage
    ) -> torch.Tensor:
        """Return the loss; a non-finite training loss is skipped and counted."""
        if stage == sb.Stage.TRAIN:
            return self.checked_loss(outputs["loss"], batch)
        for name in VALID_TERMS:
            value = float(outputs[name].detach().float())
            self.valid_sums[name] = self.valid_sums.get(name, 0.0) + value
        self.valid_sums["batches"] = self.valid_sums.get("batches", 0.0) + 1
        return outputs["loss"]

    def freeze_optimizers(self, optimizers: dict) -> dict:
        """Measure the gradient norm: the one hook between backward and step.

        With fp16 the gradients are still scaled here, so the scale is divided
        out to report the true norm.
        """
        scale = self.scaler.get_scale() if self.scaler.is_enabled() else 1.0
        self.last_grad_norm = gradient_norm(list(self.modules.parameters())) / scale
        return optimizers

    def on_fit_batch_end(self, batch, outputs, loss, should_step: bool) -> None:
        """Advance lr and quantiser temperature per optimizer step; log."""
        wavs, wav_lens = batch.sig
        seconds = float(wav_lens.sum()) * wavs.shape[1] / self.hparams.sample_rate
        if not self.guard.last_was_skipped:  # a skipped batch is not averaged
            self.step_log.add_batch(outputs, seconds)
        if not should_step or self.update_skipped:
            return
        _, lr = self.hparams.lr_scheduler(self.optimizer)
        unwrap(self.modules.pretrainer).quantiser.count_optimizer_step()
        limit = getattr(self, "optimizer_step_limit", None)
        self.step_log.maybe_emit(self.optimizer_step, lr, self.last_grad_norm, limit)
        last = self.optimizer_step == limit
        if self.monitor_interval and (
            self.optimizer_step % self.monitor_interval == 0 or last
        ):
            self.monitor_features()

    def on_stage_start(self, stage: sb.Stage, epoch: int | None = None) -> None:
        """Reset the validation statistics."""
        self.valid_sums = {}

    def on_stage_end(self, stage: sb.Stage, stage_loss: float, epoch=None) -> None:
        """Log validation statistics and keep the best checkpoint."""
        if stage == sb.Stage.TRAIN:
            self.train_loss = stage_loss
            logger.info("end of epoch %s: %s", epoch, self.bad_audio.summary())
            if self.hparams.valid_folder is None and self.checkpointer is not None:
                # No validation stage will follow: checkpoint the epoch here.
                self.checkpointer.save_and_keep_only(
                    meta={"optimizer_step": self.optimizer_step}, num_to_keep=2
                )
            return
        batches = max(self.valid_sums.pop("batches", 1.0), 1.0)
        stats = {name: value / batches for name, value in self.valid_sums.items()}
        stats["skipped_nonfinite"] = self.guard.skipped
        self.step_log.record("valid", self.optimizer_step, **stats)
        train_stats = {"loss": getattr(self, "train_loss", float("nan"))}
        self.hparams.train_logger.log_stats(
            stats_meta={
                "epoch": epoch,
                "optimizer_step": self.optimizer_step,
                "lr": self.optimizer.param_groups[0]["lr"],
            },
            train_stats=train_stats,
            valid_stats=stats,
        )
        if stage == sb.Stage.VALID and self.checkpointer is not None:
            self.checkpointer.save_and_keep_only(
                meta={"loss": stats["loss"], "optimizer_step": self.optimizer_step},
                min_keys=["loss"],
                num_to_keep=2,
            )
