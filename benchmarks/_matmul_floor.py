"""The matrix products of a training step, recorded and replayed alone.

An encoder's step is bounded below by its matrix products: whatever else it
does (normalisation, activations, softmax, masking, copies) only adds time.
:func:`record_products` runs one step under a ``TorchDispatchMode`` and keeps
every matrix-product call that reaches ATen, forward and backward: ``mm``,
``addmm``, ``bmm``, ``baddbmm``, and the convolutions whose kernel is 1 wide
and ungrouped (pointwise, a matrix product in disguise) with their backward.
A :class:`ProductReplay` then calls exactly those ops again, at the same
shapes, strides and dtypes, on random tensors made once per distinct shape:
the time it takes is the step's *matmul floor*, measured on this machine
rather than computed from a peak FLOP rate.

Not counted: what a fused attention kernel (``scaled_dot_product_attention``)
multiplies inside itself (one opaque op, so SDPA's floor understates its
products), depthwise convolutions, and element-wise work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten
PRODUCTS = {aten.mm.default, aten.addmm.default, aten.bmm.default,
            aten.baddbmm.default}  # fmt: skip
CONVOLUTIONS = {aten.convolution.default, aten.convolution_backward.default}


@dataclass(frozen=True)
class TensorSpec:
    """Size, stride, dtype and device of one tensor argument."""

    size: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: torch.dtype
    device: str

    @classmethod
    def of(cls, tensor: torch.Tensor) -> TensorSpec:
        """Describe ``tensor``."""
        return cls(tuple(tensor.shape), tuple(tensor.stride()), tensor.dtype,
                   str(tensor.device))  # fmt: skip

    def make(self) -> torch.Tensor:
        """Return a random tensor of this spec (same strides, so same layout).

        Example
        -------
        >>> spec = TensorSpec((3, 4), (0, 1), torch.float32, "cpu")  # expanded
        >>> tensor = spec.make()
        >>> tensor.stride(), bool((tensor[0] == tensor[2]).all())
        ((0, 1), True)
        """
        elements = 1 + sum(
            (n - 1) * s for n, s in zip(self.size, self.stride, strict=True)
        )
        storage = torch.empty(elements, dtype=self.dtype, device=self.device)
        storage = storage.normal_() if storage.is_floating_point() else storage.zero_()
        return storage.as_strided(self.size, self.stride)


def _is_pointwise_convolution(func: Any, args: tuple) -> bool:
    """Tell whether a convolution (or its backward) has a width-1, ungrouped kernel."""
    weight = args[1] if func is aten.convolution.default else args[2]
    groups = args[8] if func is aten.convolution.default else args[9]
    return weight.dim() == 3 and weight.shape[-1] == 1 and groups == 1


class _Recorder(TorchDispatchMode):
    """Keep every matrix-product call that passes through, then run it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, tuple, dict]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in PRODUCTS or (
            func in CONVOLUTIONS and _is_pointwise_convolution(func, args)
        ):
            described = tuple(
                TensorSpec.of(a) if isinstance(a, torch.Tensor) else a for a in args
            )
            self.calls.append((func, described, dict(kwargs)))
        return func(*args, **kwargs)


def record_products(step: Callable[[], None]) -> list[tuple[Any, tuple, dict]]:
    """Run ``step`` once and return its matrix-product calls, in order.

    Example
    -------
    >>> layer = torch.nn.Linear(4, 3)
    >>> def step():
    ...     layer(torch.randn(2, 5, 4)).sum().backward()
    >>> sorted({str(func) for func, _, _ in record_products(step)})
    ['aten.addmm.default', 'aten.mm.default']
    """
    with _Recorder() as recorder:
        step()
    return recorder.calls


class ProductReplay:
    """Call recorded matrix products again, alone, on random tensors.

    Tensors are made once per distinct :class:`TensorSpec` and shared by the
    calls that need that spec, so memory stays near one step's largest
    operands; outputs are freed as soon as they are made.

    Example
    -------
    >>> layer = torch.nn.Linear(4, 3)  # forward, and the weight's gradient:
    >>> replay = ProductReplay(record_products(
    ...     lambda: layer(torch.randn(2, 5, 4)).sum().backward()))
    >>> len(replay), replay.flops() == 2 * (2 * 10 * 4 * 3)
    (2, True)
    >>> replay()
    """

    def __init__(self, calls: list[tuple[Any, tuple, dict]]) -> None:
        tensors: dict[TensorSpec, torch.Tensor] = {}
        self.calls = []
        for func, described, kwargs in calls:
            for spec in described:
                if isinstance(spec, TensorSpec) and spec not in tensors:
                    tensors[spec] = spec.make()
            args = tuple(tensors.get(a, a) if isinstance(a, TensorSpec) else a
                         for a in described)  # fmt: skip
            self.calls.append((func, args, kwargs))
        self.specs = calls

    def __len__(self) -> int:
        return len(self.calls)

    def __call__(self) -> None:
        """Run every product once, in the recorded order."""
        with torch.no_grad():
            for func, args, kwargs in self.calls:
                func(*args, **kwargs)

    def flops(self) -> int:
        """Multiply-adds times 2 of the ``mm``/``addmm``/``bmm``/``baddbmm`` calls."""
        total = 0
        for func, described, _ in self.specs:
            if func in (aten.mm.default, aten.bmm.default):
                a, b = described[0], described[1]
            elif func in (aten.addmm.default, aten.baddbmm.default):
                a, b = described[1], described[2]
            else:
                continue
            batch = a.size[0] if len(a.size) == 3 else 1
            total += 2 * batch * a.size[-2] * a.size[-1] * b.size[-1]
        return total
