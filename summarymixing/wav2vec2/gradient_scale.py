"""Scale the gradient that flows back through a tensor, leave its value alone.

wav2vec 2.0 (fairseq's ``feature_grad_mult``, 0.1 in its BASE recipe) slows
down the front-end this way: the losses still see the front-end's output
exactly, but its parameters learn ten times more slowly than the rest. An
expression like ``x * s + x.detach() * (1 - s)`` is not exact in floating
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
        Gradient factor: 1 leaves training as it is, 0 freezes everything
        upstream of ``x``.

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
