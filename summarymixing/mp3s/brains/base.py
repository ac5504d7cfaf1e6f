"""The Brain every MP3S probe shares: frozen features, probe, two optimisers.

Per batch: ``WeightedLayerFeatures`` (frozen upstream, softmax-weighted sum of
all its hidden states) → probe → the task's loss. The probe and the layer
weights have their own optimisers and NewBob annealers
(:mod:`~summarymixing.mp3s.brains.optimisation`), handed to SpeechBrain through
``optimizers_dict`` so that its gradient clipping, accumulation, DDP and AMP
apply to both; both learning rates are annealed on the validation metric at
the end of every epoch, and the checkpoint with the best validation metric is
the one evaluated.

Only SpeechBrain's hooks are used (``init_optimizers``, ``compute_forward``,
``compute_objectives``, ``on_stage_start``, ``on_stage_end``); the non-finite
guard, the RNG streams and the unreadable-file count are
:class:`~summarymixing.training.robust_brain.RobustBrain`'s. A task family
subclasses :class:`ProbeBrain` and defines its loss and metrics
(:meth:`~ProbeBrain.batch_loss`,
:meth:`~ProbeBrain.start_metrics`, :meth:`~ProbeBrain.update_metrics`,
:meth:`~ProbeBrain.summarize_metrics`) and which validation metric drives
annealing and checkpoint selection.

Checkpoints hold the probe, the layer-weight logits (``features.mixer``, not
the frozen upstream: it is in the encoder folder already), both optimisers
and annealers, the epoch counter, the data-loader position, the RNG state and
the count of unreadable training files.
"""

import abc

import speechbrain as sb
import torch
from speechbrain.utils.distributed import if_main_process

from summarymixing.mp3s.brains.optimisation import (
    ProbeOptimisers,
    build_probe_optimisers,
)
from summarymixing.mp3s.corpora.datasets import require_readable_audio
from summarymixing.mp3s.upstream.weighted_layers import WeightedLayerFeatures
from summarymixing.training.distributed import unwrap
from summarymixing.training.robust_brain import RobustBrain
from summarymixing.training.trackers import make_tracker

VALIDATION_KEY = "validation_error"


class ProbeBrain(RobustBrain, abc.ABC):
    """Frozen features → probe → loss, with the two MP3S optimisers.

    Parameters
    ----------
    features : WeightedLayerFeatures
        The frozen upstream with its learned layer weights.
    probe : torch.nn.Module
        Called as ``probe(features, padding_mask)``.
    hparams : dict
        Needs ``probe_lr``, ``weights_lr``, ``probe_annealing_factor``,
        ``weights_annealing_factor``, ``improvement_threshold``,
        ``max_nonfinite_batches``, ``train_logger`` and ``output_folder``;
        ``experiment_tracker`` (:mod:`summarymixing.training.trackers`) if any.
    run_opts : dict or RunOptions, optional
        SpeechBrain run options.
    checkpointer : Checkpointer, optional
        Receives every recoverable of the module docstring.
    """

    #: Name of the validation metric that drives annealing and checkpoints.
    validation_metric = "loss"
    #: Whether a higher validation metric is better (e.g. accuracy).
    higher_is_better = False
    #: Whether the test stage computes a loss worth logging.
    logs_test_loss = True

    def __init__(
        self,
        features: WeightedLayerFeatures,
        probe: torch.nn.Module,
        hparams: dict,
        run_opts=None,
        checkpointer=None,
    ) -> None:
        super().__init__(
            modules={"features": features, "probe": probe},
            hparams=hparams,
            run_opts=run_opts,
            checkpointer=checkpointer,
        )
        self.optimisers: ProbeOptimisers | None = None
        self.train_stats: dict[str, float] = {}
        self.test_name = "test"
        self.test_metrics: dict[str, float] = {}
        self.tracker = make_tracker(vars(self.hparams)) if if_main_process() else None
        if checkpointer is not None:
            checkpointer.add_recoverable("probe", probe)
            checkpointer.add_recoverable("layer_weights", features.mixer)

    @abc.abstractmethod
    def batch_loss(
        self, outputs: torch.Tensor, padding_mask: torch.Tensor, batch
    ) -> torch.Tensor:
        """Return the task's loss on one batch of probe outputs."""

    @abc.abstractmethod
    def start_metrics(self, stage: sb.Stage) -> None:
        """Reset the metric statistics at the start of a stage."""

    @abc.abstractmethod
    def update_metrics(
        self, outputs: torch.Tensor, padding_mask: torch.Tensor, batch, stage: sb.Stage
    ) -> None:
        """Accumulate the metric statistics of one evaluation batch."""

    @abc.abstractmethod
    def summarize_metrics(self, stage: sb.Stage) -> dict[str, float]:
        """Return the metrics of a finished evaluation stage."""

    def layer_weights(self) -> list[float]:
        """Return the softmax weights of the hidden states (they sum to one)."""
        return unwrap(self.modules.features).layer_weights().detach().cpu().tolist()

    def init_optimizers(self) -> None:
        """Build the probe and layer-weight optimisers and register them."""
        hparams = self.hparams
        self.optimisers = build_probe_optimisers(
            unwrap(self.modules.features),
            unwrap(self.modules.probe),
            probe_lr=hparams.probe_lr,
            weights_lr=hparams.weights_lr,
            probe_annealing_factor=hparams.probe_annealing_factor,
            weights_annealing_factor=hparams.weights_annealing_factor,
            improvement_threshold=hparams.improvement_threshold,
        )
        self.optimizer = self.optimisers.probe
        if self.checkpointer is not None:
            self.checkpointer.add_recoverables(self.optimisers.recoverables())

    @property
    def optimizers_dict(self) -> dict[str, torch.optim.Optimizer] | None:
        """SpeechBrain's view of the optimisers: :attr:`optimisers`, by name.

        The probe and layer-weight optimisers (with their annealers) have one
        owner, ``self.optimisers``; SpeechBrain reads them through this view.
        """
        optimisers = getattr(self, "optimisers", None)
        return None if optimisers is None else optimisers.as_dict()

    @optimizers_dict.setter
    def optimizers_dict(self, value) -> None:
        if value is not None:  # SpeechBrain's __init__ sets None; nothing else
            raise AttributeError(
                "ProbeBrain's optimisers are set by init_optimizers (self.optimisers)"
            )

    def run_probe(
        self, features: torch.Tensor, padding_mask: torch.Tensor, stage: sb.Stage
    ) -> torch.Tensor:
        """Apply the probe to the weighted features (overridden for embeddings)."""
        return self.modules.probe(features, padding_mask)

    def compute_forward(self, batch, stage: sb.Stage):
        """Weighted frozen features, then the probe.

        Returns
        -------
        outputs : torch.Tensor
            What the probe returns.
        padding_mask : torch.Tensor
            ``(batch, frames)`` bool, ``True`` on padded frames.
        """
        batch = batch.to(self.device)
        if stage != sb.Stage.TRAIN:
            require_readable_audio(batch)
        wavs, wav_lens = batch.sig
        features, padding_mask = self.modules.features(wavs, wav_lens)
        return self.run_probe(features, padding_mask, stage), padding_mask

    def compute_objectives(self, predictions, batch, stage: sb.Stage) -> torch.Tensor:
        """Return the loss; evaluation batches also update the metrics.

        A non-finite training loss is replaced by a zero loss and counted
        (:class:`~summarymixing.training.nonfinite.NonFiniteGuard`).
        """
        outputs, padding_mask = predictions
        loss = self.batch_loss(outputs, padding_mask, batch)
        if stage == sb.Stage.TRAIN:
            return self.checked_loss(loss, batch)
        self.update_metrics(outputs, padding_mask, batch, stage)
        return loss

    def on_stage_start(self, stage: sb.Stage, epoch: int | None = None) -> None:
        """Reset the metrics."""
        self.start_metrics(stage)

    def validation_error(self, metrics: dict[str, float]) -> float:
        """Return the validation metric as a cost (lower is better), for NewBob."""
        value = metrics[self.validation_metric]
        return 100.0 - value if self.higher_is_better else value

    def on_stage_end(
        self, stage: sb.Stage, stage_loss: float, epoch: int | None = None
    ) -> None:
        """Anneal, log and checkpoint after validation; keep the test metrics."""
        if stage == sb.Stage.TRAIN:
            self.train_stats = {"loss": stage_loss}
            return
        metrics = {"loss": stage_loss, **self.summarize_metrics(stage)}
        if stage == sb.Stage.TEST:
            self.test_metrics = {k: v for k, v in metrics.items() if k != "loss"}
            logged = metrics if self.logs_test_loss else self.test_metrics
            self.hparams.train_logger.log_stats(
                {"test": self.test_name}, test_stats=logged
            )
            self.track(self.test_name, logged)
            return
        error = self.validation_error(metrics)
        probe_lr = self.optimisers.probe.param_groups[0]["lr"]
        weights_lr = self.optimisers.layer_weights.param_groups[0]["lr"]
        self.optimisers.anneal(error)
        weights = [round(weight, 3) for weight in self.layer_weights()]
        meta = {
            "probe_lr": probe_lr,
            "weights_lr": weights_lr,
            "layer_weights": weights,
            "skipped_nonfinite": self.guard.skipped,
        }
        self.hparams.train_logger.log_stats(
            {"epoch": epoch, **meta},
            train_stats=self.train_stats,
            valid_stats=metrics,
        )
        self.track("train", {**self.train_stats, **meta}, epoch)
        self.track("valid", metrics, epoch)
        if self.checkpointer is not None:
            self.checkpointer.save_and_keep_only(
                meta={VALIDATION_KEY: error, **metrics},
                min_keys=[VALIDATION_KEY],
                num_to_keep=1,
            )

    def track(self, split: str, values: dict, epoch: int | None = None) -> None:
        """Send ``values`` to the tracker at ``epoch`` (default: the last one)."""
        if self.tracker is not None:
            step = self.hparams.epoch_counter.current if epoch is None else epoch
            self.tracker.log(split, step, values)

    def close_tracker(self) -> None:
        """Flush and close the experiment tracker, once the last test has run."""
        if self.tracker is not None:
            self.tracker.close()

    def evaluate_split(self, name: str, dataset, loader_kwargs: dict) -> dict:
        """Evaluate the best checkpoint on one test set; return its metrics.

        Parameters
        ----------
        name : str
            Named in the log and in the files the stage writes.
        dataset : Dataset
            The test set.
        loader_kwargs : dict
            DataLoader options (``batch_size``, ``num_workers``).

        Returns
        -------
        dict
            Metric name → value.
        """
        self.test_name = name
        self.evaluate(
            dataset, min_key=VALIDATION_KEY, test_loader_kwargs=dict(loader_kwargs)
        )
        return dict(self.test_metrics)
