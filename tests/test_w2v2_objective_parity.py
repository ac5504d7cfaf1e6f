"""Parity of the project's wav2vec 2.0 objective with the paper's equations.

The reference below is written from the wav2vec 2.0 equations (Baevski et al.,
2020, section 3.2, and fairseq's documented behaviour), not from the project's
code: it uses no helper of :mod:`summarymixing.wav2vec2` and computes, in
float64 and with plain Python loops over frames where that keeps it obviously
right,

* contrastive task: for every masked frame ``t`` the logits
  ``[cos(c_t, q_t), cos(c_t, q_d1), ..., cos(c_t, q_dK)] / temperature``, a
  distractor whose codewords equal the positive's in every group set to
  ``-inf`` (it is not a wrong answer), cross-entropy with the positive as class
  0 **summed** over masked frames, and the accuracy (positive logit strictly
  above every distractor);
* diversity: ``weight * M * (G*V - perplexity) / (G*V)``, the perplexity being
  the sum over groups of ``exp(entropy)`` of the noise-free softmax
  probabilities averaged over the real (non-padded) frames;
* distractor sampling: uniform, with replacement, among the *other* masked
  frames of the same utterance, never padding.

The project computes the same quantities vectorised (one ``(T, T)``
similarity matrix per utterance gathered at the distractor indices, a
one-pass sampler with a rank shift to skip the positive); agreement of the
two formulations to 1e-6 on fixed, seeded tensors is what is checked. The
whole :meth:`W2V2Pretrainer.forward` is then recomputed from the model's own
intermediate tensors, and the front-end gradient scale is checked to scale
the front-end's gradients only.

Tolerances: the project runs its losses in fp32 by design while the
reference runs in float64, so comparisons use ``rtol=1e-6, atol=1e-6``
(``|a - b| <= 1e-6 + 1e-6 * |b|``): logits reach ``1 / temperature = 10``,
where one fp32 ulp is already ~1e-6.
"""

import math
from collections.abc import Iterator

import pytest
import torch
from speechbrain.lobes.models.transformer.Conformer import ConformerEncoder

from summarymixing.wav2vec2 import (
    ConvPositionalEmbedding,
    FbankConvFrontEnd,
    GumbelProductQuantiser,
    W2V2EncoderWrapper,
    W2V2Pretrainer,
)
from summarymixing.wav2vec2.losses import (
    contrastive_logits,
    contrastive_loss,
    diversity_loss,
)
from summarymixing.wav2vec2.negatives import sample_distractors

TOLERANCE = {"rtol": 1e-6, "atol": 1e-6}

# fairseq (and the project) compute the entropy as -sum p * log(p + 1e-7).
# The reference uses the same epsilon, so the two agree to float rounding;
# without it they would differ by about exp(H) * V * 1e-7 per group (~1e-5
# here), which would take up nearly all of the tolerance.
ENTROPY_EPSILON = 1e-7


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny tensors run fastest single-threaded on a shared CPU."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# --------------------------------------------------------------------------
# Independent reference, written from the equations.
# --------------------------------------------------------------------------


def reference_cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """Cosine similarity of two 1-D vectors, in float64."""
    a, b = a.double(), b.double()
    return float(torch.dot(a, b) / (torch.linalg.norm(a) * torch.linalg.norm(b)))


def masked_frames(mask: torch.Tensor) -> list[tuple[int, int]]:
    """``(utterance, frame)`` of every masked frame, row-major order."""
    batch, time = mask.shape
    return [(b, t) for b in range(batch) for t in range(time) if bool(mask[b, t])]


def reference_contrastive(
    context: torch.Tensor,
    targets: torch.Tensor,
    codes: torch.Tensor,
    mask: torch.Tensor,
    distractors: torch.Tensor,
    temperature: float,
) -> tuple[torch.Tensor, float, float]:
    """wav2vec 2.0 contrastive logits, summed cross-entropy and accuracy.

    Arguments
    ---------
    context, targets : torch.Tensor
        ``(batch, time, dim)`` c_t and q_t.
    codes : torch.Tensor
        ``(batch, time, groups)`` codeword indices of q_t.
    mask : torch.Tensor
        ``(batch, time)`` masked frames (the positives).
    distractors : torch.Tensor
        ``(M, K)`` flat ``b * time + t`` indices of each positive's distractors.
    temperature : float
        Logit temperature.

    Returns
    -------
    logits : torch.Tensor
        ``(M, 1 + K)`` float64, the positive in column 0.
    loss : float
        Cross-entropy with target 0, summed over the M masked frames.
    accuracy : float
        Fraction of frames whose positive logit beats every distractor.
    """
    time = mask.shape[1]
    rows, loss, correct = [], 0.0, 0
    for m, (b, t) in enumerate(masked_frames(mask)):
        row = [reference_cosine(context[b, t], targets[b, t]) / temperature]
        for flat in distractors[m].tolist():
            bd, td = divmod(flat, time)
            if codes[bd, td].tolist() == codes[b, t].tolist():
                row.append(-math.inf)
            else:
                row.append(
                    reference_cosine(context[b, t], targets[bd, td]) / temperature
                )
        peak = max(row)
        log_partition = peak + math.log(sum(math.exp(x - peak) for x in row))
        loss += log_partition - row[0]
        correct += int(row[0] > max(row[1:]))
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float64), loss, correct / len(rows)


def reference_softmax(x: torch.Tensor) -> torch.Tensor:
    """Softmax of a 1-D float64 vector, from its definition."""
    e = torch.exp(x - x.max())
    return e / e.sum()


def reference_perplexity(logits: torch.Tensor, padding: torch.Tensor) -> float:
    """Sum over groups of exp(entropy of the mean softmax over real frames).

    Arguments
    ---------
    logits : torch.Tensor
        ``(batch, time, groups, codewords)`` noise-free quantiser logits.
    padding : torch.Tensor
        ``(batch, time)``, ``True`` on padded frames (left out).

    Returns
    -------
    float
        The codebook perplexity, in ``[G, G * V]``.
    """
    batch, time, groups, codewords = logits.shape
    total = 0.0
    for g in range(groups):
        mean = torch.zeros(codewords, dtype=torch.float64)
        count = 0
        for b in range(batch):
            for t in range(time):
                if not bool(padding[b, t]):
                    mean += reference_softmax(logits[b, t, g].double())
                    count += 1
        mean /= count
        entropy = -sum(
            float(p) * math.log(float(p) + ENTROPY_EPSILON) for p in mean.tolist()
        )
        total += math.exp(entropy)
    return total


def reference_quantiser_logits(
    quantiser: GumbelProductQuantiser, latents: torch.Tensor
) -> torch.Tensor:
    """``(batch, time, G, V)`` float64 logits recomputed from the weights."""
    weight = quantiser.logits_proj.weight.detach().double()
    bias = quantiser.logits_proj.bias.detach().double()
    logits = latents.detach().double() @ weight.T + bias
    return logits.view(
        *latents.shape[:2], quantiser.num_groups, quantiser.num_codewords
    )


def reference_diversity(
    perplexity: float, total_codewords: int, num_masked: int, weight: float
) -> float:
    """``weight * M * (G*V - perplexity) / (G*V)``."""
    return weight * num_masked * (total_codewords - perplexity) / total_codewords


def reference_distractors(
    mask: torch.Tensor, num_distractors: int, generator: torch.Generator
) -> torch.Tensor:
    """Fixed distractors: uniform among the other masked frames, by loops."""
    time = mask.shape[1]
    rows = []
    for b, t in masked_frames(mask):
        others = [b * time + s for s in range(time) if bool(mask[b, s]) and s != t]
        picks = torch.randint(len(others), (num_distractors,), generator=generator)
        rows.append([others[i] for i in picks.tolist()])
    return torch.tensor(rows, dtype=torch.long)


# --------------------------------------------------------------------------
# 1. Contrastive logits and loss.
# --------------------------------------------------------------------------


def contrastive_case() -> dict[str, torch.Tensor]:
    """Three utterances (the last padded) with hand-placed code collisions."""
    generator = torch.Generator().manual_seed(0)
    batch, time, dim, groups, codewords = 3, 10, 6, 2, 3
    lengths = [10, 10, 6]
    context = torch.randn(batch, time, dim, generator=generator, dtype=torch.float64)
    targets = torch.randn(batch, time, dim, generator=generator, dtype=torch.float64)
    codes = torch.randint(codewords, (batch, time, groups), generator=generator)
    mask = torch.zeros(batch, time, dtype=torch.bool)
    mask[0, 1:7] = True
    mask[1, 0:4] = True
    mask[1, 6:10] = True
    mask[2, 2:4] = True
    # Frame (0, 2) and (0, 4) share every code: each is the other's
    # "distractor equal to the positive". Frame (0, 5) shares only group 0
    # with (0, 1): a real distractor, not to be masked out.
    codes[0, 4] = codes[0, 2]
    codes[0, 5] = torch.tensor([int(codes[0, 1, 0]), (int(codes[0, 1, 1]) + 1) % 3])
    # The padded utterance has two masked frames with identical codes, so
    # every distractor of both is -inf: their loss is 0 and they count as
    # correct.
    codes[2, 3] = codes[2, 2]
    # Padding: garbage vectors, and codes equal to the positives', which must
    # never be read.
    padding = torch.arange(time)[None, :] >= torch.tensor(lengths)[:, None]
    context[padding] = 1e3 * torch.randn(int(padding.sum()), dim, dtype=torch.float64)
    targets[padding] = 1e3 * torch.randn(int(padding.sum()), dim, dtype=torch.float64)
    codes[padding] = codes[2, 2].clone()
    distractors = reference_distractors(mask, num_distractors=5, generator=generator)
    # Make sure (0, 2) is offered (0, 4) at least once, and (0, 1) is offered
    # the partial collision (0, 5).
    rows = masked_frames(mask)
    distractors[rows.index((0, 2)), 0] = 0 * time + 4
    distractors[rows.index((0, 1)), 0] = 0 * time + 5
    return {
        "context": context,
        "targets": targets,
        "codes": codes,
        "mask": mask,
        "padding": padding,
        "distractors": distractors,
    }


@pytest.mark.parametrize("temperature", [0.1, 0.5])
def test_contrastive_logits_and_loss_match_the_reference(temperature: float) -> None:
    case = contrastive_case()
    mask, distractors = case["mask"], case["distractors"]
    assert not (mask & case["padding"]).any()
    expected_logits, expected_loss, expected_accuracy = reference_contrastive(
        case["context"],
        case["targets"],
        case["codes"],
        mask,
        distractors,
        temperature,
    )
    logits = contrastive_logits(
        case["context"],
        case["targets"],
        case["codes"],
        mask,
        distractors,
        temperature,
    )
    loss, accuracy = contrastive_loss(logits)

    assert logits.shape == (int(mask.sum()), 1 + distractors.shape[1])
    torch.testing.assert_close(logits.double(), expected_logits, **TOLERANCE)
    torch.testing.assert_close(loss.double().item(), expected_loss, **TOLERANCE)
    torch.testing.assert_close(accuracy.double().item(), expected_accuracy, **TOLERANCE)

    # The case exercises what it claims to: a full collision is -inf, a
    # partial one is not, the padded utterance's rows are all -inf and cost 0.
    rows = masked_frames(mask)
    assert expected_logits[rows.index((0, 2)), 1] == -math.inf
    assert math.isfinite(expected_logits[rows.index((0, 1)), 1])
    for frame in [(2, 2), (2, 3)]:
        row = logits[rows.index(frame)]
        assert torch.isinf(row[1:]).all() and torch.isfinite(row[0])
    assert 0.0 < expected_accuracy < 1.0


def test_contrastive_loss_is_a_sum_not_a_mean() -> None:
    case = contrastive_case()
    logits = contrastive_logits(
        case["context"],
        case["targets"],
        case["codes"],
        case["mask"],
        case["distractors"],
    )
    loss, _ = contrastive_loss(logits)
    doubled, _ = contrastive_loss(torch.cat([logits, logits]))
    torch.testing.assert_close(doubled, 2 * loss, **TOLERANCE)


# --------------------------------------------------------------------------
# 2. Perplexity and diversity loss.
# --------------------------------------------------------------------------


def quantiser_case() -> tuple[GumbelProductQuantiser, torch.Tensor, torch.Tensor]:
    """A small quantiser and padded latents whose padding holds garbage."""
    torch.manual_seed(3)
    quantiser = GumbelProductQuantiser(
        input_dim=12, num_groups=2, num_codewords=8, out_dim=8
    )
    # Scale the logits down so that the averaged probabilities are not
    # one-hot: the entropy then depends on every frame.
    with torch.no_grad():
        quantiser.logits_proj.weight.mul_(0.3)
        quantiser.logits_proj.bias.normal_()
    lengths = torch.tensor([7, 4, 2])
    padding = torch.arange(7)[None, :] >= lengths[:, None]
    latents = torch.randn(3, 7, 12)
    latents[padding] = 50.0 * torch.randn(int(padding.sum()), 12)
    return quantiser, latents, padding


@pytest.mark.parametrize("training", [False, True])
def test_perplexity_matches_the_reference_on_real_frames(training: bool) -> None:
    quantiser, latents, padding = quantiser_case()
    quantiser.train(training)
    out = quantiser(latents, padding)
    logits = reference_quantiser_logits(quantiser, latents)
    # The module's own projection gives the same logits (fp32 vs float64).
    torch.testing.assert_close(
        quantiser.logits_proj(latents).double().view_as(logits),
        logits,
        rtol=1e-5,
        atol=1e-5,
    )
    expected = reference_perplexity(logits, padding)
    # In training the Gumbel noise picks the codes, but the perplexity is
    # the noise-free softmax's, as in wav2vec 2.0.
    torch.testing.assert_close(out.perplexity.double().item(), expected, **TOLERANCE)
    assert 2.0 <= expected <= 16.0
    # Sensitivity: including the garbage padded frames changes the value.
    with_padding = reference_perplexity(logits, torch.zeros_like(padding))
    assert abs(with_padding - expected) > 1e-2


def test_eval_targets_are_the_argmax_codewords_projected() -> None:
    quantiser, latents, padding = quantiser_case()
    quantiser.eval()
    out = quantiser(latents, padding)
    logits = reference_quantiser_logits(quantiser, latents)
    weight = quantiser.output_proj.weight.detach().double()
    bias = quantiser.output_proj.bias.detach().double()
    for b in range(latents.shape[0]):
        for t in range(latents.shape[1]):
            chosen = [int(logits[b, t, g].argmax()) for g in range(2)]
            assert out.codes[b, t].tolist() == chosen
            codeword = torch.cat(
                [quantiser.codebooks[g, chosen[g]].detach().double() for g in range(2)]
            )
            torch.testing.assert_close(
                out.quantised[b, t].double(), weight @ codeword + bias, **TOLERANCE
            )


@pytest.mark.parametrize("num_masked", [9, torch.tensor(9)])
def test_diversity_loss_matches_the_reference(num_masked: int | torch.Tensor) -> None:
    quantiser, latents, padding = quantiser_case()
    quantiser.eval()
    perplexity = quantiser(latents, padding).perplexity
    expected = reference_diversity(
        reference_perplexity(reference_quantiser_logits(quantiser, latents), padding),
        total_codewords=16,
        num_masked=9,
        weight=0.1,
    )
    loss = diversity_loss(perplexity, quantiser.total_codewords, num_masked, 0.1)
    torch.testing.assert_close(loss.double().item(), expected, **TOLERANCE)
    assert expected > 0.0


# --------------------------------------------------------------------------
# 3. Distractor sampling against its definition.
# --------------------------------------------------------------------------


def test_distractors_are_uniform_among_other_masked_frames_of_the_utterance() -> None:
    batch, time, draws = 3, 40, 4000
    lengths = torch.tensor([40, 30, 12])
    padding = torch.arange(time)[None, :] >= lengths[:, None]
    mask = torch.zeros(batch, time, dtype=torch.bool)
    mask[0, 0:8] = mask[0, 15:27] = mask[0, 35:40] = True
    mask[1, 4:14] = mask[1, 20:28] = True
    mask[2, 5:7] = True  # only one other masked frame: always drawn
    generator = torch.Generator().manual_seed(11)
    index = sample_distractors(mask, mask, num_distractors=draws, generator=generator)
    positives = masked_frames(mask)
    assert index.shape == (len(positives), draws)

    flat_mask, flat_padding = mask.flatten(), padding.flatten()
    chi_square, degrees_of_freedom = 0.0, 0
    for row, (b, t) in enumerate(positives):
        drawn = index[row]
        assert bool((drawn // time == b).all()), "distractor from another utterance"
        assert bool(flat_mask[drawn].all()), "distractor is not a masked frame"
        assert not bool(flat_padding[drawn].any()), "distractor is padding"
        assert not bool((drawn == b * time + t).any()), "distractor is the positive"
        others = [b * time + s for s in range(time) if bool(mask[b, s]) and s != t]
        counts = torch.bincount(drawn, minlength=batch * time)[others].double()
        assert int(counts.sum()) == draws  # nothing drawn outside `others`
        expected = draws / len(others)
        # Each frame within 40 % (at least 5 standard deviations) of its
        # expected count.
        assert bool(((counts - expected).abs() < 0.4 * expected).all())
        chi_square += float(((counts - expected) ** 2 / expected).sum())
        degrees_of_freedom += len(others) - 1
    # Pooled Pearson chi-square of uniformity, a loose (~6 sigma) bound.
    assert chi_square < degrees_of_freedom + 6 * math.sqrt(2 * degrees_of_freedom)


# --------------------------------------------------------------------------
# 4. The whole pre-trainer forward, recomputed.
# --------------------------------------------------------------------------


def tiny_modules() -> tuple[
    FbankConvFrontEnd, W2V2EncoderWrapper, GumbelProductQuantiser
]:
    """Small front-end, encoder and quantiser, no dropout, no layerdrop."""
    torch.manual_seed(5)
    frontend = FbankConvFrontEnd(n_mels=20, out_channels=16)
    encoder = ConformerEncoder(
        num_layers=1,
        d_model=16,
        d_ffn=32,
        nhead=2,
        kernel_size=7,
        attention_type="regularMHA",
        dropout=0.0,
        layerdrop_prob=0.0,
    )
    wrapper = W2V2EncoderWrapper(
        16,
        16,
        encoder,
        out_dim=8,
        dropout=0.0,
        positional_encoding=ConvPositionalEmbedding(16, kernel_size=8, groups=4),
    )
    quantiser = GumbelProductQuantiser(
        input_dim=16, num_groups=2, num_codewords=8, out_dim=8
    )
    return frontend, wrapper, quantiser


def tiny_batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two waveforms (the second padded) and a fixed span mask."""
    generator = torch.Generator().manual_seed(9)
    wavs = torch.zeros(2, 8000)
    wavs[0] = torch.randn(8000, generator=generator)
    wavs[1, :5000] = torch.randn(5000, generator=generator)
    wav_lens = torch.tensor([1.0, 5000 / 8000])
    mask = torch.zeros(2, 26, dtype=torch.bool)  # 26 and 16 latent frames
    mask[0, 2:12] = mask[0, 15:21] = True
    mask[1, 3:10] = True
    return wavs, wav_lens, mask


def test_pretrainer_forward_matches_the_reference_objective(one_thread: None) -> None:
    frontend, wrapper, quantiser = tiny_modules()
    model = W2V2Pretrainer(frontend, wrapper, quantiser, num_distractors=6).eval()
    wavs, wav_lens, mask = tiny_batch()
    seed = 123
    with torch.no_grad():
        torch.manual_seed(seed)
        out = model(wavs, wav_lens, mask=mask)

        # Recompute the intermediate tensors. In eval mode with a given mask,
        # the only random draw of forward() is the distractor sampling, which
        # happens after the quantiser and the context network.
        latents, padding = model.latents(wavs, wav_lens)
        assert latents.shape[1] == mask.shape[1]
        assert not (mask & padding).any()
        targets = model.quantiser(latents, padding)
        context = model.encoder_wrapper(latents, padding, mask).context
        torch.manual_seed(seed)
        distractors = sample_distractors(mask, mask, model.num_distractors)

    logits, contrastive, accuracy = reference_contrastive(
        context, targets.quantised, targets.codes, mask, distractors, 0.1
    )
    # The case exercises the "distractor equal to the positive" rule.
    assert bool(torch.isinf(logits).any())
    perplexity = reference_perplexity(
        reference_quantiser_logits(model.quantiser, latents), padding
    )
    num_masked = int(mask.sum())
    diversity = reference_diversity(perplexity, 16, num_masked, 0.1)

    assert int(out["num_masked"]) == num_masked
    for key, expected in [
        ("contrastive", contrastive),
        ("diversity", diversity),
        ("loss", contrastive + diversity),
        ("accuracy", accuracy),
        ("perplexity", perplexity),
    ]:
        torch.testing.assert_close(
            out[key].double().item(), expected, **TOLERANCE, msg=key
        )
    assert contrastive > 0.0 and diversity > 0.0


# --------------------------------------------------------------------------
# 5. Gradient scale of the front-end.
# --------------------------------------------------------------------------


def gradients(model: W2V2Pretrainer) -> dict[str, torch.Tensor]:
    """Clone every parameter's gradient, then clear it."""
    grads = {}
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        grads[name] = parameter.grad.detach().clone()
        parameter.grad = None
    return grads


def test_frontend_grad_scale_scales_only_the_frontend_gradient(
    one_thread: None,
) -> None:
    frontend, wrapper, quantiser = tiny_modules()
    wavs, wav_lens, mask = tiny_batch()
    results = {}
    for scale in (1.0, 0.1):
        model = W2V2Pretrainer(
            frontend, wrapper, quantiser, num_distractors=6, frontend_grad_scale=scale
        ).train()
        # Same Gumbel noise and distractors in both runs.
        torch.manual_seed(321)
        out = model(wavs, wav_lens, mask=mask)
        out["loss"].backward()
        results[scale] = (out["loss"].detach(), gradients(model))

    (loss_full, grads_full), (loss_scaled, grads_scaled) = results[1.0], results[0.1]
    # Forward values unchanged; loss and gradients are compared to 1e-6
    # relative to their scale (the distractor draws and the Gumbel noise are
    # the same, the summation order of the backward pass need not be).
    torch.testing.assert_close(loss_scaled, loss_full, **TOLERANCE)
    frontend_names = [name for name in grads_full if name.startswith("frontend.")]
    assert frontend_names
    for name, grad in grads_full.items():
        assert grad.abs().sum() > 0, name
        expected = 0.1 * grad if name.startswith("frontend.") else grad
        scale = float(grad.abs().max())
        torch.testing.assert_close(
            grads_scaled[name], expected, rtol=1e-6, atol=1e-6 * scale, msg=name
        )


def test_frontend_grad_scale_zero_freezes_the_frontend_even_with_weight_decay(
    one_thread: None,
) -> None:
    frontend, wrapper, quantiser = tiny_modules()
    wavs, wav_lens, mask = tiny_batch()
    model = W2V2Pretrainer(
        frontend, wrapper, quantiser, num_distractors=6, frontend_grad_scale=0.0
    ).train()
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    optimiser = torch.optim.AdamW(model.parameters(), lr=0.1, weight_decay=0.5)
    for _ in range(2):
        optimiser.zero_grad()
        model(wavs, wav_lens, mask=mask)["loss"].backward()
        optimiser.step()
    moved = {
        name
        for name, value in model.state_dict().items()
        if not torch.equal(value, before[name])
    }
    frontend_names = {name for name in before if name.startswith("frontend.")}
    assert frontend_names and not moved & frontend_names
    assert any(name.startswith("encoder_wrapper.") for name in moved)
    assert any(name.startswith("quantiser.") for name in moved)
    assert all(p.grad is None for p in model.frontend.parameters())


@pytest.mark.parametrize("scale", [-0.1, float("nan")])
def test_frontend_grad_scale_must_be_non_negative(scale: float) -> None:
    frontend, wrapper, quantiser = tiny_modules()
    with pytest.raises(ValueError, match="frontend_grad_scale must be >= 0"):
        W2V2Pretrainer(frontend, wrapper, quantiser, frontend_grad_scale=scale)
