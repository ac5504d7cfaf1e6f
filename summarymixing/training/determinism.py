"""The ``deterministic`` switch: the same run twice gives the same numbers.

What exactness holds where:

* **CPU** (tested): a run is bit-for-bit reproducible, and a run resumed from
  any checkpoint (mid-epoch included) is bit-for-bit the uninterrupted one,
  with the switch off. The switch costs nothing there.
* **GPU, switch off** (the default, the fast setting): resuming restores
  every state exactly (weights, optimiser moments, scheduler, sampler and
  loader position, every RNG stream), but some CUDA kernels add in an
  unspecified order (atomics in scatter/index backward passes, cuDNN's
  autotuned convolutions, some attention backward kernels), so two runs,
  and a run and its resumed twin, drift apart from the first step by float
  rounding, exactly as two uninterrupted runs of the same command do.
* **GPU, switch on**: ``torch.use_deterministic_algorithms`` selects
  deterministic kernels, cuDNN autotuning is off and cuBLAS gets the
  workspace setting it needs (``CUBLAS_WORKSPACE_CONFIG``). Runs on the same
  GPU model and software stack then repeat exactly; a few operations have no
  deterministic CUDA kernel, and PyTorch names each one in a warning instead of
  stopping a long run (``warn_only``). Expect a slower step. Not measured by
  this project: no GPU was available where it was written.

Set it in the YAML (``deterministic: true``) or with ``--deterministic true``.
"""

from __future__ import annotations

import logging
import os

import torch

logger = logging.getLogger(__name__)

CUBLAS_SETTING = ":4096:8"


def set_deterministic(enabled: bool) -> bool:
    """Switch PyTorch to deterministic kernels (or leave the defaults).

    Call before the first CUDA operation (the YAML applies it while loading).
    Switching off restores PyTorch's defaults.

    Parameters
    ----------
    enabled : bool
        True: deterministic algorithms, no cuDNN autotuning.

    Returns
    -------
    bool
        ``enabled``, so that the YAML can keep the value.

    Example
    -------
    >>> set_deterministic(True)
    True
    >>> torch.are_deterministic_algorithms_enabled()
    True
    >>> set_deterministic(False)
    False
    >>> torch.are_deterministic_algorithms_enabled()
    False
    """
    if not isinstance(enabled, bool):
        raise ValueError(f"deterministic must be true or false, not {enabled!r}")
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_SETTING)
    torch.use_deterministic_algorithms(enabled, warn_only=True)
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = False
    if enabled:
        logger.info("deterministic kernels on (see summarymixing.training.determinism)")
    return enabled
