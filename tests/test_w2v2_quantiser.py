import io

import pytest
import torch

from summarymixing.wav2vec2 import GumbelProductQuantiser


def make_quantiser(**kwargs):
    torch.manual_seed(0)
    defaults = dict(input_dim=16, num_groups=2, num_codewords=12, out_dim=8)
    return GumbelProductQuantiser(**{**defaults, **kwargs})


def test_paper_configuration_shapes():
    quantiser = GumbelProductQuantiser()
    assert quantiser.codebooks.shape == (2, 320, 128)
    assert quantiser.total_codewords == 640
    out = quantiser(torch.randn(1, 7, 512))
    assert out.quantised.shape == (1, 7, 256)


@pytest.mark.parametrize("training", [True, False])
def test_perplexity_bounds_and_codes_used(training):
    quantiser = make_quantiser().train(training)
    padding = torch.zeros(3, 40, dtype=torch.bool)
    padding[1, 25:] = True
    out = quantiser(torch.randn(3, 40, 16), padding)
    assert 1.0 <= out.perplexity.item() <= quantiser.total_codewords
    assert out.perplexity.dtype == torch.float32
    real_codes = out.codes[~padding]
    distinct = sum(real_codes[:, g].unique().numel() for g in range(2))
    assert out.codes_used.item() == distinct


def test_collapsed_codebook_has_minimal_perplexity():
    quantiser = make_quantiser().eval()
    with torch.no_grad():
        quantiser.logits_proj.weight.zero_()
        quantiser.logits_proj.bias.zero_()
        quantiser.logits_proj.bias[[0, 12]] = 50.0
    out = quantiser(torch.randn(2, 10, 16))
    torch.testing.assert_close(out.perplexity, torch.tensor(2.0), atol=1e-3, rtol=0)
    assert out.codes_used.item() == 2


def test_padding_does_not_enter_perplexity_or_codes_used():
    quantiser = make_quantiser().eval()
    latents = torch.randn(2, 30, 16)
    padding = torch.zeros(2, 30, dtype=torch.bool)
    padding[0, 10:] = True
    reference = quantiser(latents, padding)
    changed = latents.clone()
    changed[0, 10:] = 100 * torch.randn(20, 16)
    out = quantiser(changed, padding)
    torch.testing.assert_close(out.perplexity, reference.perplexity)
    assert out.codes_used == reference.codes_used


def test_eval_is_deterministic_argmax_and_training_is_hard_one_hot():
    quantiser = make_quantiser()
    latents = torch.randn(2, 5, 16)
    quantiser.eval()
    first, second = quantiser(latents), quantiser(latents)
    assert torch.equal(first.quantised, second.quantised)
    logits = quantiser.logits_proj(latents).view(2, 5, 2, 12)
    assert torch.equal(first.codes, logits.argmax(-1))
    quantiser.train()
    out = quantiser(latents)
    rebuilt = torch.stack(
        [quantiser.codebooks[g][out.codes[..., g]] for g in range(2)], dim=2
    )
    torch.testing.assert_close(out.quantised, quantiser.output_proj(rebuilt.flatten(2)))


def test_straight_through_gradients_reach_logits_and_codebooks():
    quantiser = make_quantiser().train()
    out = quantiser(torch.randn(2, 6, 16))
    (out.quantised.pow(2).sum() - out.perplexity).backward()
    for name, parameter in quantiser.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_temperature_schedule():
    quantiser = make_quantiser()
    assert quantiser.temperature == 2.0
    quantiser.count_optimizer_step(100_000)
    assert quantiser.temperature == pytest.approx(2.0 * 0.999995**100_000)
    quantiser.count_optimizer_step(400_000)
    assert quantiser.temperature == 0.25
    assert quantiser(torch.randn(1, 3, 16)).temperature == 0.25


def test_temperature_step_counter_survives_state_dict_round_trip():
    quantiser = make_quantiser()
    for _ in range(1234):
        quantiser.count_optimizer_step()
    buffer = io.BytesIO()
    torch.save(quantiser.state_dict(), buffer)
    buffer.seek(0)
    resumed = make_quantiser()
    assert resumed.temperature == 2.0
    resumed.load_state_dict(torch.load(buffer))
    assert int(resumed.optimizer_steps) == 1234
    assert (
        resumed.temperature
        == quantiser.temperature
        == pytest.approx(2.0 * 0.999995**1234)
    )


def test_logits_and_outputs_are_fp32_under_autocast():
    quantiser = make_quantiser().train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = quantiser(torch.randn(2, 5, 16).bfloat16())
    assert out.quantised.dtype == torch.float32
    assert out.perplexity.dtype == torch.float32


def test_out_dim_not_divisible_by_groups_raises():
    with pytest.raises(ValueError, match="divisible by num_groups"):
        GumbelProductQuantiser(out_dim=255)
