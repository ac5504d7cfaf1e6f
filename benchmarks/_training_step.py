"""The pre-training recipe's optimizer step, built from its YAML, without data.

:func:`build` loads a recipe YAML (``extends`` variants and checked overrides
through :func:`summarymixing.training.config.merged_overrides`) into the whole
``W2V2Pretrainer`` (front-end, context network, quantiser, losses), in train
mode (the YAML's dropout and layerdrop), with the YAML's AdamW, lr schedule and
``max_grad_norm``. :func:`training_step` is one step as ``PretrainBrain`` takes
it with ``grad_accumulation_factor`` 1, in SpeechBrain ``Brain.fit_batch``'s
order: forward under autocast, loss per masked frame, (scaled) backward,
unscale, clip, AdamW step, scaler update, gradients set to None, then the lr
schedule and the quantiser temperature. The Brain's logging and non-finite
bookkeeping are left out: they are the same for every model.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hyperpyyaml import load_hyperpyyaml

from summarymixing.training.config import load_yaml, merged_overrides

HPARAMS = Path(__file__).resolve().parents[1] / "hparams"
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
SMALL = {
    "num_layers": 2,
    "d_model": 128,
    "d_ffn": 512,
    "nhead": 4,
    "kernel_size": 15,
    "latent_dim": 128,
    "local_proj_hid_dim": [128],
    "local_proj_out_dim": 128,
    "summary_hid_dim": [128],
    "summary_out_dim": 128,
    "codebook_size": 32,
    "target_dim": 64,
}


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn ``KEY=VALUE`` strings into a dict; values are read as YAML.

    Example
    -------
    >>> parse_overrides(["num_layers=2", "local_proj_hid_dim=[64]"])
    {'num_layers': 2, 'local_proj_hid_dim': [64]}
    """
    overrides = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise ValueError(f"override {pair!r}: expected KEY=VALUE, e.g. d_ffn=512")
        overrides[key] = load_yaml(value)
    return overrides


@dataclass
class TrainingSetup:
    """One model with everything its training step needs.

    ``layers_run[0]`` counts the encoder layers run (layerdrop skips some).
    """

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    lr_scheduler: Any
    scaler: torch.amp.GradScaler
    max_grad_norm: float
    layers_run: list[int]


def build(
    path: str | Path, overrides: dict[str, Any], device: str, dtype: str
) -> TrainingSetup:
    """Build the recipe's pre-trainer, optimizer, schedule and scaler from a YAML.

    Parameters
    ----------
    path : str or Path
        Recipe YAML, e.g. ``hparams/w2v2_summarymixing.yaml``.
    overrides : dict
        Keys of the YAML to change (e.g. :data:`SMALL`); unknown keys raise.
    device : str
        ``"cpu"`` or ``"cuda"``.
    dtype : str
        ``"fp32"``, ``"bf16"`` or ``"fp16"`` (the scaler is enabled for fp16).

    Returns
    -------
    TrainingSetup
        The model in train mode, on ``device``.

    Example
    -------
    >>> setup = build(HPARAMS / "w2v2_mhsa.yaml", SMALL, "cpu", "fp32")
    >>> training_step(setup, *synthetic_batch(1.0, 1, "cpu"), "fp32")
    >>> setup.layers_run[0] <= SMALL["num_layers"], setup.model.training
    (True, True)
    """
    with tempfile.TemporaryDirectory() as scratch:  # the checkpointer makes dirs
        base, overrides = merged_overrides(
            path, {**overrides, "output_folder": scratch}
        )
        with open(base) as stream:
            hparams = load_hyperpyyaml(stream, overrides)
    model = hparams["pretrainer"].to(device).train()
    layers_run = [0]

    def count_layer(*_: Any) -> None:
        layers_run[0] += 1

    for layer in model.encoder_wrapper.encoder.layers:
        layer.register_forward_pre_hook(count_layer)
    return TrainingSetup(
        model=model,
        optimizer=hparams["optimizer"](model.parameters()),
        lr_scheduler=hparams["lr_scheduler"],
        scaler=torch.amp.GradScaler(device, enabled=dtype == "fp16"),
        max_grad_norm=hparams["max_grad_norm"],
        layers_run=layers_run,
    )


def synthetic_batch(
    seconds: float, batch_size: int, device: str, sample_rate: int = 16000
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``batch_size`` noise waveforms of ``seconds`` (always the same).

    Example
    -------
    >>> wavs, wav_lens = synthetic_batch(0.5, 2, "cpu")
    >>> wavs.shape, wav_lens.tolist()
    (torch.Size([2, 8000]), [1.0, 1.0])
    """
    generator = torch.Generator().manual_seed(1234)
    samples = int(round(seconds * sample_rate))
    wavs = 0.1 * torch.randn(batch_size, samples, generator=generator)
    return wavs.to(device), torch.ones(batch_size, device=device)


def training_step(
    setup: TrainingSetup, wavs: torch.Tensor, wav_lens: torch.Tensor, dtype: str
) -> None:
    """Take one optimizer step on a batch, as the recipe does (module docstring).

    Parameters
    ----------
    setup : TrainingSetup
        From :func:`build`.
    wavs : torch.Tensor
        ``(batch, samples)`` waveforms on the model's device.
    wav_lens : torch.Tensor
        ``(batch,)`` SpeechBrain relative lengths.
    dtype : str
        ``"fp32"`` or the autocast type, ``"bf16"`` or ``"fp16"``.
    """
    with torch.autocast(wavs.device.type, DTYPES[dtype], enabled=dtype != "fp32"):
        outputs = setup.model(wavs, wav_lens)
        loss = outputs["loss"] / outputs["num_masked"].clamp(min=1)
    setup.scaler.scale(loss).backward()
    setup.scaler.unscale_(setup.optimizer)
    torch.nn.utils.clip_grad_norm_(setup.model.parameters(), setup.max_grad_norm)
    setup.scaler.step(setup.optimizer)
    setup.scaler.update()
    setup.optimizer.zero_grad(set_to_none=True)
    setup.lr_scheduler(setup.optimizer)
    setup.model.quantiser.count_optimizer_step()
