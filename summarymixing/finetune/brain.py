"""The CTC fine-tuning Brain: wav2vec 2.0's schedule, greedy WER/CER.

Two AdamW optimisers, one for the context network (``encoder_lr``) and one for
the head (``head_lr``), each with SpeechBrain's ``TriStageLRSchedule`` over
``optimizer_step_limit`` updates (warm-up, hold, decay; fractions
``warmup_fraction``, ``hold_fraction``, the rest decays). For the first
``freeze_encoder_steps`` updates only the head learns: the encoder's
optimiser is left out of the step (``freeze_optimizers``) and the encoder runs
without a graph. Loss: CTC over real frames (:func:`summarymixing.mp3s.scoring.ctc.
ctc_loss`); a non-finite loss is skipped and counted, and unreadable training
files are skipped by the loader and counted, by the base shared with
pre-training and the probes
(:class:`~summarymixing.training.robust_brain.RobustBrain`). Every
``log_interval`` updates the pre-training's step log writes loss, lrs, grad
norm and throughput to the log and ``steps.jsonl``; validation and test
decode (validation greedily, test with the configured
:class:`~summarymixing.finetune.decoding.CTCDecoder`: greedy, or beam search
with an optional language model) and score with SpeechBrain's
``ErrorRateStats`` (WER on words, CER on characters), as the MP3S ASR probe
does. An unreadable evaluation file stops evaluation, naming it,
so that a metric never silently covers fewer utterances. The checkpoint with
the lowest validation ``validation_metric`` (``WER``, or ``CER``: the
steadier signal while a weak model's WER stays near 100 %) is the one tested.
"""

from __future__ import annotations

import logging
from pathlib import Path

import speechbrain as sb
import torch
from speechbrain.utils.distributed import if_main_process
from speechbrain.utils.metric_stats import ErrorRateStats

from summarymixing.finetune.data import split_label
from summarymixing.finetune.decoding import CTCDecoder, DecodingOptions
from summarymixing.mp3s.corpora.datasets import require_readable_audio
from summarymixing.mp3s.scoring.ctc import ctc_loss
from summarymixing.padding import relative_to_absolute_lengths
from summarymixing.training.distributed import unwrap
from summarymixing.training.pretrain_brain import gradient_norm
from summarymixing.training.robust_brain import RobustBrain
from summarymixing.training.step_log import StepLog
from summarymixing.training.trackers import make_tracker

logger = logging.getLogger(__name__)


class CTCFineTuneBrain(RobustBrain):
    """Fine-tune a :class:`~summarymixing.finetune.ctc_model.CTCFineTuner`.

    Parameters
    ----------
    modules : dict
        ``{"model": CTCFineTuner}``.
    tokenizer : CharacterTokenizer or SentencePieceTokenizer
        Its ``blank_index`` is the CTC blank.
    hparams : dict
        ``encoder_lr``, ``head_lr``, ``adam_betas``, ``adam_eps``,
        ``weight_decay``, ``encoder_lr_schedule``, ``head_lr_schedule``,
        ``freeze_encoder_steps``, ``max_nonfinite_batches``, ``log_interval``,
        ``sample_rate``, ``output_folder``, ``train_logger`` (and optionally
        ``step_jsonl``, ``experiment_tracker``, ``max_bad_audio_fraction``
        and the decoding keys of
        :meth:`~summarymixing.finetune.decoding.DecodingOptions.from_hparams`).
    run_opts, checkpointer
        As for ``speechbrain.Brain``; the checkpointer also gets both
        optimisers and the random state.
    """

    def __init__(
        self, modules, tokenizer, hparams, run_opts=None, checkpointer=None
    ) -> None:
        super().__init__(
            modules=modules,
            hparams=hparams,
            run_opts=run_opts,
            checkpointer=checkpointer,
        )
        self.tokenizer = tokenizer
        self.greedy = CTCDecoder(tokenizer, DecodingOptions())
        self.test_decoder = CTCDecoder(
            tokenizer, DecodingOptions.from_hparams(vars(self.hparams))
        )
        main = if_main_process()
        jsonl = getattr(self.hparams, "step_jsonl", None)
        self.step_log = StepLog(
            self.hparams.log_interval,
            1,
            jsonl if jsonl and main else None,
            make_tracker(vars(self.hparams)) if main else None,
        )
        self.last_grad_norm: float | None = None
        self.test_name = "test"
        self.test_metrics: dict[str, float] = {}
        self.validation_metric = getattr(self.hparams, "validation_metric", "WER")
        if self.validation_metric not in ("WER", "CER"):
            raise ValueError(
                f"validation_metric={self.validation_metric!r}: choose WER or CER"
            )
        self.start_stats()

    def init_optimizers(self) -> None:
        """AdamW for the encoder and for the head, each checkpointed."""
        model = unwrap(self.modules.model)
        encoder = [p for p in model.encoder.parameters() if p.requires_grad]
        options = {
            "betas": tuple(self.hparams.adam_betas),
            "eps": self.hparams.adam_eps,
            "weight_decay": self.hparams.weight_decay,
        }
        self.optimizers_dict = {
            "encoder": torch.optim.AdamW(
                encoder, lr=self.hparams.encoder_lr, **options
            ),
            "head": torch.optim.AdamW(
                model.head.parameters(), lr=self.hparams.head_lr, **options
            ),
        }
        self.optimizer = self.optimizers_dict["head"]
        if self.checkpointer is not None:
            for name, optimizer in self.optimizers_dict.items():
                self.checkpointer.add_recoverable(f"{name}_optimizer", optimizer)

    @property
    def encoder_frozen(self) -> bool:
        """Whether the next update leaves the encoder as it is."""
        return self.optimizer_step < self.hparams.freeze_encoder_steps

    def on_fit_batch_start(self, batch, should_step: bool) -> None:
        """Count skipped files; run the encoder without a graph while frozen."""
        super().on_fit_batch_start(batch, should_step)
        unwrap(self.modules.model).encoder_frozen = self.encoder_frozen

    def compute_forward(self, batch, stage: sb.Stage):
        """Logits and padding mask of the batch."""
        batch = batch.to(self.device)
        if stage != sb.Stage.TRAIN:
            require_readable_audio(batch)
        wavs, wav_lens = batch.sig
        return self.modules.model(wavs, wav_lens)

    def compute_objectives(self, predictions, batch, stage: sb.Stage) -> torch.Tensor:
        """CTC loss; in evaluation also the transcriptions' error statistics."""
        logits, padding = predictions
        tokens, token_lens = batch.tokens
        lengths = relative_to_absolute_lengths(token_lens, tokens.shape[1])
        loss = ctc_loss(logits, padding, tokens, lengths, self.tokenizer.blank_index)
        if stage == sb.Stage.TRAIN:
            return self.checked_loss(loss, batch)
        decoder = self.test_decoder if stage == sb.Stage.TEST else self.greedy
        hypotheses = [text.split() for text in decoder(logits, padding)]
        references = [text.split() for text in batch.wrd]
        self.word_stats.append(batch.id, hypotheses, references)
        self.char_stats.append(batch.id, hypotheses, references)
        return loss

    def freeze_optimizers(self, optimizers: dict) -> dict:
        """Leave the encoder's optimiser out while it is frozen; measure the norm."""
        scale = self.scaler.get_scale() if self.scaler.is_enabled() else 1.0
        self.last_grad_norm = gradient_norm(list(self.modules.parameters())) / scale
        if self.encoder_frozen:
            return {"head": optimizers["head"]}
        return optimizers

    def on_fit_batch_end(self, batch, outputs, loss, should_step: bool) -> None:
        """Advance both learning rates per update; log."""
        wavs, wav_lens = batch.sig
        seconds = float(wav_lens.sum()) * wavs.shape[1] / self.hparams.sample_rate
        if not self.guard.last_was_skipped:
            self.step_log.add_batch({"loss": loss}, seconds)
        if not should_step or self.update_skipped:
            return
        step = self.optimizer_step
        self.hparams.encoder_lr_schedule(self.optimizers_dict["encoder"], step)
        self.hparams.head_lr_schedule(self.optimizers_dict["head"], step)
        lr = self.optimizers_dict["encoder"].param_groups[0]["lr"]
        limit = getattr(self, "optimizer_step_limit", None)
        self.step_log.maybe_emit(step, lr, self.last_grad_norm, limit)

    def start_stats(self) -> None:
        """Fresh word and character error statistics."""
        self.word_stats = ErrorRateStats()
        self.char_stats = ErrorRateStats(split_tokens=True)

    def on_stage_start(self, stage: sb.Stage, epoch: int | None = None) -> None:
        """Reset the error statistics."""
        self.start_stats()

    def on_stage_end(self, stage: sb.Stage, stage_loss: float, epoch=None) -> None:
        """Log; keep the best checkpoint by validation WER; keep test metrics."""
        if stage == sb.Stage.TRAIN:
            self.train_loss = stage_loss
            return
        metrics = {
            "loss": stage_loss,
            "WER": float(self.word_stats.summarize("error_rate")),
            "CER": float(self.char_stats.summarize("error_rate")),
        }
        if stage == sb.Stage.TEST:
            self.test_metrics = {k: v for k, v in metrics.items() if k != "loss"}
            self.hparams.train_logger.log_stats(
                {"test": self.test_name}, test_stats=metrics
            )
            if if_main_process():
                label = split_label(self.test_name)
                path = Path(self.hparams.output_folder) / f"wer_{label}.txt"
                with open(path, "w", encoding="utf-8") as stream:
                    self.word_stats.write_stats(stream)
            return
        self.step_log.record("valid", self.optimizer_step, **metrics)
        logger.info(
            "step %d | dev WER %.2f | dev CER %.2f",
            self.optimizer_step,
            metrics["WER"],
            metrics["CER"],
        )
        self.hparams.train_logger.log_stats(
            {"epoch": epoch, "optimizer_step": self.optimizer_step},
            train_stats={"loss": getattr(self, "train_loss", float("nan"))},
            valid_stats=metrics,
        )
        if self.checkpointer is not None:
            key = self.validation_metric
            self.checkpointer.save_and_keep_only(
                meta={key: metrics[key], "optimizer_step": self.optimizer_step},
                min_keys=[key],
                num_to_keep=1,
            )

    def evaluate_split(self, name: str, dataset, loader_kwargs: dict) -> dict:
        """Evaluate the best checkpoint on one test set; return WER and CER."""
        self.test_name = name
        self.evaluate(
            dataset, min_key=self.validation_metric, test_loader_kwargs=loader_kwargs
        )
        return dict(self.test_metrics)
