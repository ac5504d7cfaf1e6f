"""Gumbel-softmax product quantiser producing wav2vec 2.0 targets.

Each latent frame picks one codeword in each of ``G`` codebooks of ``V``
entries; the picked codewords are concatenated and projected, giving the
target ``q_t``. Training samples the choice with a hard straight-through
Gumbel softmax at a temperature that decays per optimizer step,
``max(2.0 * 0.999995**step, 0.25)``; evaluation takes the argmax.

Written here rather than reusing SpeechBrain's ``GumbelVectorQuantizer``
because (1) its code perplexity averages over padded frames too, and (2) its
temperature lives in a Python attribute that a checkpoint does not restore.
Here the optimizer-step counter is a buffer, saved in ``state_dict``.

Which frames enter the perplexity: wav2vec 2.0's paper maximises the entropy
of the codeword distribution averaged "across a batch of utterances"
(fairseq's code happens to quantise masked frames only). We average over
**every non-padded frame** of the batch, masked or not: it is the paper's
definition, it sees more frames, and padding never counts.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class QuantiserOutput:
    """What :class:`GumbelProductQuantiser` returns.

    Attributes
    ----------
    quantised : torch.Tensor
        ``(batch, time, out_dim)`` fp32 targets ``q_t``.
    codes : torch.Tensor
        ``(batch, time, groups)`` index of the codeword chosen in each group.
    perplexity : torch.Tensor
        Scalar fp32: sum over groups of the perplexity of the mean codeword
        probabilities over non-padded frames, in ``[groups, groups * V]``.
    codes_used : torch.Tensor
        Scalar: number of distinct (group, codeword) pairs chosen on
        non-padded frames.
    temperature : float
        Gumbel temperature used.
    """

    quantised: torch.Tensor
    codes: torch.Tensor
    perplexity: torch.Tensor
    codes_used: torch.Tensor
    temperature: float


class GumbelProductQuantiser(nn.Module):
    """Product quantiser with Gumbel softmax and a step-driven temperature.

    Logits, softmax and codeword sums run in fp32 even under autocast.

    Arguments
    ---------
    input_dim : int
        Dimension of the latents.
    num_groups : int
        Number of codebooks ``G``.
    num_codewords : int
        Codewords per codebook ``V``.
    out_dim : int
        Output dimension; each codeword has ``out_dim // G`` dims, their
        concatenation is projected by a ``Linear(out_dim, out_dim)``.
    max_temperature : float
        Temperature at step 0.
    min_temperature : float
        Floor of the temperature.
    temperature_decay : float
        Multiplicative decay per optimizer step.

    Example
    -------
    >>> quantiser = GumbelProductQuantiser(input_dim=16, num_codewords=8, out_dim=6)
    >>> padding = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    >>> out = quantiser(torch.randn(2, 5, 16), padding)
    >>> out.quantised.shape, out.codes.shape, 2 <= out.perplexity.item() <= 16
    (torch.Size([2, 5, 6]), torch.Size([2, 5, 2]), True)
    >>> quantiser.count_optimizer_step(1000)
    >>> round(quantiser.temperature, 4)
    1.99
    """

    def __init__(
        self,
        input_dim: int = 512,
        num_groups: int = 2,
        num_codewords: int = 320,
        out_dim: int = 256,
        max_temperature: float = 2.0,
        min_temperature: float = 0.25,
        temperature_decay: float = 0.999995,
    ):
        super().__init__()
        if out_dim % num_groups != 0:
            raise ValueError(
                f"out_dim={out_dim} must be divisible by num_groups={num_groups} "
                "(each group contributes out_dim // num_groups dims)."
            )
        self.num_groups = num_groups
        self.num_codewords = num_codewords
        self.max_temperature = max_temperature
        self.min_temperature = min_temperature
        self.temperature_decay = temperature_decay
        self.logits_proj = nn.Linear(input_dim, num_groups * num_codewords)
        nn.init.normal_(self.logits_proj.weight, mean=0.0, std=1.0)
        nn.init.zeros_(self.logits_proj.bias)
        self.codebooks = nn.Parameter(
            torch.rand(num_groups, num_codewords, out_dim // num_groups)
        )
        self.output_proj = nn.Linear(out_dim, out_dim)
        self.register_buffer("optimizer_steps", torch.zeros((), dtype=torch.long))

    @property
    def total_codewords(self) -> int:
        """Return ``G * V``, the upper bound of the perplexity."""
        return self.num_groups * self.num_codewords

    @property
    def temperature(self) -> float:
        """Return the Gumbel temperature for the current optimizer step."""
        steps = int(self.optimizer_steps)
        decayed = self.max_temperature * math.pow(self.temperature_decay, steps)
        return max(decayed, self.min_temperature)

    def count_optimizer_step(self, num_steps: int = 1) -> None:
        """Advance the temperature schedule; call once per optimizer step.

        Arguments
        ---------
        num_steps : int
            Number of optimizer steps taken.
        """
        self.optimizer_steps += num_steps

    def forward(
        self, latents: torch.Tensor, padding_mask: torch.Tensor | None = None
    ) -> QuantiserOutput:
        """Quantise ``(batch, time, input_dim)`` latents.

        Arguments
        ---------
        latents : torch.Tensor
            Latent frames.
        padding_mask : torch.Tensor, optional
            ``(batch, time)``, ``True`` on padded frames (excluded from the
            perplexity and the codeword count).

        Returns
        -------
        QuantiserOutput
            Targets, codes, perplexity, codes used and temperature.
        """
        batch, time, _ = latents.shape
        temperature = self.temperature
        with torch.autocast(device_type=latents.device.type, enabled=False):
            logits = self.logits_proj(latents.float())
            logits = logits.view(batch, time, self.num_groups, self.num_codewords)
            if self.training:
                one_hot = F.gumbel_softmax(logits, tau=temperature, hard=True)
            else:
                one_hot = F.one_hot(logits.argmax(-1), self.num_codewords).float()
            codes = one_hot.argmax(-1)
            codewords = torch.einsum("btgv,gvd->btgd", one_hot, self.codebooks)
            quantised = self.output_proj(codewords.flatten(2))
            real = torch.ones(batch, time, dtype=torch.bool, device=latents.device)
            if padding_mask is not None:
                real = ~padding_mask
            perplexity = self._perplexity(logits[real])
            codes_used = self._count_codes_used(codes[real])
        return QuantiserOutput(quantised, codes, perplexity, codes_used, temperature)

    def _perplexity(self, real_logits: torch.Tensor) -> torch.Tensor:
        """Sum over groups of exp(entropy of the mean softmax over frames)."""
        mean_probs = torch.softmax(real_logits, dim=-1).mean(dim=0)
        entropy = -(mean_probs * torch.log(mean_probs + 1e-7)).sum(dim=-1)
        return torch.exp(entropy).sum()

    def _count_codes_used(self, real_codes: torch.Tensor) -> torch.Tensor:
        """Count the distinct (group, codeword) pairs among ``(frames, G)``."""
        group_offsets = torch.arange(self.num_groups, device=real_codes.device)
        flat = real_codes + group_offsets * self.num_codewords
        used = torch.zeros(self.total_codewords, dtype=torch.bool, device=flat.device)
        return used.index_fill(0, flat.flatten(), True).sum()
