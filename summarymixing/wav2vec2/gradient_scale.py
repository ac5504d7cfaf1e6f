"""Scale the gradient that flows back through a tensor, leave its value alone.

wav2vec 2.0 (fairseq's ``feature_grad_mult``, 0.1 in its BASE recipe) scales
the front-end's gradient this way: the losses still see the front-end's output
exactly, and its parameters receive the gradient times the factor. Under
Adam(W) that does *not* make them learn ten times more slowly: Adam divides
each parameter's step by the root of its own running squared gradient, so a
constant factor cancels except against ``eps`` and a global gradient-norm
clip (measured: 0.1 and 1.0 gave nearly the same features after 1000 demo
steps, ``benchmarks/measured/pretraining_regime.md``). Only 0 changes
training, and :class:`~.pretrainer.W2V2Pretrainer` implements 0 as a real
freeze. An expression like ``x * s + x.detach() * (1 - s)`` is not exact in floating
point (it moves about a quarter of the values by one ulp); this autograd
function returns its input unchanged.
"""

import torch


class _ScaleGradient(torch.autograd.Function):
    """Identity forward, gradient multiplied by ``scale`` backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad * ctx.scale, None


def scale_gradient(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Return ``x`` unchanged; its gradient is multiplied by ``scale``.

    Arguments
    ---------
    x : torch.Tensor
        Any tensor.
    scale : float
        Gradient factor: 1 leaves training as it is, 0 zeroes the gradient of
        everything upstream of ``x`` (AdamW still applies weight decay to
        zero-gradient parameters; turn ``requires_grad`` off to freeze).

    Returns
    -------
    torch.Tensor
        A tensor equal to ``x``.

    Example
    -------
    >>> x = torch.ones(3, requires_grad=True)
    >>> y = scale_gradient(x, 0.1)
    >>> torch.equal(y, x)
    True
    >>> y.sum().backward()
    >>> x.grad
    tensor([0.1000, 0.1000, 0.1000])
    """
    if scale == 1.0:
        return x
    return _ScaleGradient.apply(x, scale)
