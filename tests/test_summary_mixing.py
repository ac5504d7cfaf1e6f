"""SummaryMixing layer: equations, padding exactness, chunking, streaming, errors."""

import itertools

import pytest
import torch
from speechbrain.utils.dynamic_chunk_training import DynChunkTrainConfig
from torch.utils._python_dispatch import TorchDispatchMode

from summarymixing import SummaryMixing
from summarymixing.layers import MODES
from summarymixing.layers.grouped_linear import GroupedLinear

ATOL = 1e-5


def make_layer(mode: str, nhead: int = 2, layernorm: bool = True, dim: int = 16):
    torch.manual_seed(0)
    kwargs = dict(
        enc_dim=dim,
        nhead=nhead,
        local_proj_hid_dim=[28, 8],
        local_proj_out_dim=12,
        summary_hid_dim=[20],
        summary_out_dim=12,
        mode=mode,
        use_layernorm=layernorm,
        global_dropout=0.3,
    )
    if mode == "SummaryMixing-lite":
        kwargs["summary_out_dim"] = dim
    layer = SummaryMixing(**kwargs)
    # Non-trivial biases and norms so that the reference checks every term.
    with torch.no_grad():
        for name, param in layer.named_parameters():
            if "bias" in name or "norm" in name:
                param.add_(0.1 * torch.randn_like(param))
    return layer.eval()


def plain_mlp(sequential, x):
    """Each layer as a dense block-diagonal matrix, then the activation."""
    for module in sequential:
        if isinstance(module, GroupedLinear):
            x = x @ module.dense_weight().T + module.bias
        else:
            x = module(x)
    return x


def plain_projections(layer, x):
    if layer.mode == "SummaryMixing":
        return plain_mlp(layer.local_proj, x), plain_mlp(layer.summary_proj, x)
    if layer.mode == "SummaryMixing-lite":
        return None, plain_mlp(layer.summary_proj, x)
    linear, act = layer.fast_proj
    heads = linear.nhead
    both = act(x @ linear.dense_weight().T + linear.bias)
    per_head = both.view(*both.shape[:-1], heads, 2, -1)
    return per_head[..., 0, :].flatten(-2), per_head[..., 1, :].flatten(-2)


def plain_formula(layer, x, visible):
    """h_t = c([f(x_t); mean of s over the frames t sees]), written plainly.

    ``visible[b, t, u]`` is 1 when frame t's summary includes frame u. The
    summary is repeated along time and concatenated, as in the equations.
    """
    local, summary = plain_projections(layer, x)
    means = torch.einsum("btu,bud->btd", visible, summary)
    means = means / visible.sum(-1, keepdim=True).clamp(min=1)
    if layer.summary_norm is not None:
        means = layer.summary_norm(means)
    if layer.mode == "SummaryMixing-lite":
        return means
    if layer.local_norm is not None:
        local = layer.local_norm(local)
    joined = torch.cat([local, means], dim=-1)
    return layer.combiner_activation(layer.combiner(joined))


def full_visibility(keep):
    return keep[:, None, :].expand(-1, keep.shape[1], -1).clone()


def chunk_visibility(keep, chunk, left):
    frames = keep.shape[1]
    index = torch.arange(frames) // chunk
    own, other = index[:, None], index[None, :]
    allowed = other <= own
    if left is not None:
        allowed &= other >= own - left
    return allowed[None].float() * keep[:, None, :]


def padded_batch(lengths, dim=16, seed=1):
    torch.manual_seed(seed)
    frames = max(lengths)
    x = torch.randn(len(lengths), frames, dim)
    mask = torch.arange(frames)[None, :] >= torch.tensor(lengths)[:, None]
    x = x.masked_fill(mask[..., None], 7.0)  # garbage in the padding
    return x, mask


@pytest.mark.parametrize(
    "mode,nhead,layernorm", list(itertools.product(MODES, [1, 2, 4], [True, False]))
)
def test_eval_output_equals_plain_formula(mode, nhead, layernorm):
    layer = make_layer(mode, nhead, layernorm)
    x, mask = padded_batch([9, 4, 1])
    keep = (~mask).float()
    expected = plain_formula(layer, x, full_visibility(keep)) * keep[..., None]
    assert torch.allclose(layer(x, src_key_padding_mask=mask), expected, atol=ATOL)


@pytest.mark.parametrize("mode", MODES)
def test_padded_batch_equals_each_utterance_alone(mode):
    layer = make_layer(mode)
    lengths = [13, 1, 6, 2]
    x, mask = padded_batch(lengths)
    batched = layer(x, src_key_padding_mask=mask)
    for index, length in enumerate(lengths):
        alone = layer(x[index : index + 1, :length])
        assert torch.allclose(batched[index, :length], alone[0], atol=ATOL)
        assert torch.all(batched[index, length:] == 0)


@pytest.mark.parametrize(
    "mode,chunk,left",
    list(itertools.product(MODES, [1, 3, 4], [None, 0, 1, 3])),
)
def test_chunked_summary_equals_brute_force_masked_mean(mode, chunk, left):
    layer = make_layer(mode)
    x, mask = padded_batch([11, 7, 1])
    keep = (~mask).float()
    config = DynChunkTrainConfig(chunk_size=chunk, left_context_size=left)
    got = layer(x, src_key_padding_mask=mask, dynchunktrain_config=config)
    expected = plain_formula(layer, x, chunk_visibility(keep, chunk, left))
    assert torch.allclose(got, expected * keep[..., None], atol=ATOL)


@pytest.mark.parametrize("mode,left", list(itertools.product(MODES, [None, 0, 2])))
def test_streaming_equals_chunked_offline(mode, left):
    layer = make_layer(mode)
    chunk = 3
    x, mask = padded_batch([14, 10])
    config = DynChunkTrainConfig(chunk_size=chunk, left_context_size=left)
    offline = layer(x, src_key_padding_mask=mask, dynchunktrain_config=config)
    state = layer.make_streaming_state(left_context_chunks=left)
    pieces = [
        layer.forward_streaming(x[:, s : s + chunk], state, mask[:, s : s + chunk])
        for s in range(0, x.shape[1], chunk)
    ]
    assert torch.allclose(torch.cat(pieces, dim=1), offline, atol=ATOL)


def test_unlimited_streaming_state_is_a_running_sum_and_count():
    layer = make_layer("SummaryMixing")
    state = layer.make_streaming_state()
    for piece in torch.randn(1, 12, 16).split(4, dim=1):
        layer.forward_streaming(piece, state)
    assert state.total.shape == (1, 12) and state.count.tolist() == [12.0]
    assert len(state.recent) == 0


class OpRecorder(TorchDispatchMode):
    """Records every aten op and the shape of every tensor it produces."""

    def __init__(self):
        super().__init__()
        self.ops, self.shapes = [], []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.ops.append(str(func.overloadpacket))
        for item in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(item, torch.Tensor):
                self.shapes.append(tuple(item.shape))
        return out


@pytest.mark.parametrize("mode", ["SummaryMixing", "SummaryMixing-fast"])
def test_fast_identities_no_concat_no_repeat(mode):
    layer = make_layer(mode).train()
    frames, dim = 40, 16
    x = torch.randn(2, frames, dim, requires_grad=True)
    mask = torch.zeros(2, frames, dtype=torch.bool)
    mask[1, 30:] = True
    with OpRecorder() as recorder:
        layer(x, src_key_padding_mask=mask).sum().backward()
    assert not any(op in ("aten.cat", "aten.repeat") for op in recorder.ops)
    if mode == "SummaryMixing":  # (fast mode's one projection is 2 x d wide)
        concat_width = layer.local_out_dim + layer.summary_out_dim
        assert (frames, concat_width) not in {shape[-2:] for shape in recorder.shapes}


def test_chunked_path_is_linear_in_time():
    layer = make_layer("SummaryMixing")
    frames = 97
    x, mask = padded_batch([frames, 50])
    config = DynChunkTrainConfig(chunk_size=4, left_context_size=2)
    with OpRecorder() as recorder:
        layer(x, src_key_padding_mask=mask, dynchunktrain_config=config)
    largest = max(torch.Size(shape).numel() for shape in recorder.shapes)
    assert largest < frames * frames  # no T x T matrix anywhere
    assert largest <= 2 * 100 * 28  # bounded by B x T x widest layer


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("chunked", [False, True])
def test_every_parameter_gets_a_gradient(mode, chunked):
    layer = make_layer(mode).train()
    x, mask = padded_batch([8, 5])
    config = DynChunkTrainConfig(chunk_size=3, left_context_size=1) if chunked else None
    layer(x, src_key_padding_mask=mask, dynchunktrain_config=config).pow(
        2
    ).sum().backward()
    for name, param in layer.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name


def test_lite_creates_only_the_summary_parameters():
    lite = SummaryMixing(16, mode="SummaryMixing-lite")
    names = {name.split(".")[0] for name, _ in lite.named_parameters()}
    assert names == {"summary_proj", "summary_norm"}


def test_biases_start_at_zero():
    for mode in MODES:
        layer = SummaryMixing(16, nhead=4, mode=mode, summary_hid_dim=[32])
        linear_biases = [
            module.bias
            for module in layer.modules()
            if isinstance(module, (GroupedLinear, torch.nn.Linear))
        ]
        assert len(linear_biases) >= 2
        assert all(torch.all(bias == 0) for bias in linear_biases)


def test_published_configuration_keys_are_accepted():
    config = dict(
        enc_dim=64,
        nhead=4,
        local_proj_hid_dim=[64],
        local_proj_out_dim=64,
        summary_hid_dim=[64],
        summary_out_dim=64,
        activation=torch.nn.GELU,
        global_dropout=0.1,
        mode="SummaryMixing",
        use_layernorm=True,
    )
    assert SummaryMixing(**config)(torch.randn(1, 3, 64)).shape == (1, 3, 64)


def test_dropout_is_active_in_training_only():
    layer = make_layer("SummaryMixing")
    x = torch.randn(1, 20, 16)
    assert torch.equal(layer(x), layer(x))
    layer.train()
    assert not torch.equal(layer(x), layer(x))


def test_bfloat16_autocast_is_close_to_fp32():
    layer = make_layer("SummaryMixing")
    x, mask = padded_batch([30, 12])
    reference = layer(x, src_key_padding_mask=mask)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = layer(x, src_key_padding_mask=mask)
    assert low.dtype == torch.bfloat16
    assert torch.allclose(low.float(), reference, atol=0.1)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(enc_dim=16, mode="SummaryMixing-turbo"), "mode='SummaryMixing-turbo'"),
        (dict(enc_dim=16, nhead=3), "nhead=3 must divide enc_dim=16"),
        (dict(enc_dim=16, nhead=2, local_proj_hid_dim=[9]), "local_proj_hid_dim"),
        (dict(enc_dim=16, nhead=2, summary_hid_dim=[5]), "summary_hid_dim"),
        (dict(enc_dim=16, mode="SummaryMixing-lite", summary_out_dim=8), "enc_dim"),
        (
            dict(enc_dim=16, mode="SummaryMixing-fast", local_proj_out_dim=8),
            "local_proj_out_dim",
        ),
    ],
)
def test_bad_constructor_arguments_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        SummaryMixing(**kwargs)


def test_unknown_mode_lists_accepted_values():
    with pytest.raises(ValueError) as error:
        SummaryMixing(8, mode="fast")
    assert all(mode in str(error.value) for mode in MODES)


def test_bad_inputs_raise_clear_errors():
    layer = SummaryMixing(16)
    with pytest.raises(ValueError, match="enc_dim=16"):
        layer(torch.randn(2, 5, 12))
    with pytest.raises(ValueError, match="src_key_padding_mask has shape"):
        layer(torch.randn(2, 5, 16), src_key_padding_mask=torch.zeros(2, 4, dtype=bool))
    with pytest.raises(ValueError, match="True = padded"):
        layer(torch.randn(2, 5, 16), src_key_padding_mask=torch.ones(2, 5))
    config = DynChunkTrainConfig(chunk_size=0)
    with pytest.raises(ValueError, match="chunk_size"):
        layer(torch.randn(1, 5, 16), dynchunktrain_config=config)


def test_summary_dropout_per_frame_draws_a_mask_for_every_frame_copy():
    x = torch.randn(1, 6, 16).expand(2, 6, 16).clone()
    x[:, 1:] = x[:, :1]  # every frame the same: only dropout can tell them apart
    for mode in ("utterance", "frame"):
        layer = SummaryMixing(
            16, mode="SummaryMixing-lite", global_dropout=0.5, summary_dropout=mode
        ).train()
        out = layer(x)
        frames_differ = not torch.equal(out[:, 0], out[:, 1])
        assert frames_differ == (mode == "frame")
        layer.eval()
        reference = SummaryMixing(16, mode="SummaryMixing-lite").eval()
        reference.load_state_dict(layer.state_dict())
        assert torch.equal(layer(x), reference(x))


def test_summary_dropout_per_frame_keeps_chunks_and_padding_exact():
    layer = SummaryMixing(16, nhead=2, summary_dropout="frame").eval()
    fast = SummaryMixing(16, nhead=2).eval()
    fast.load_state_dict(layer.state_dict())
    x = torch.randn(2, 9, 16)
    mask = torch.tensor([[False] * 9, [False] * 6 + [True] * 3])
    config = DynChunkTrainConfig(chunk_size=4, left_context_size=1)
    layer.train(), fast.train()
    layer.dropout.p = fast.dropout.p = 0.0  # the per-frame path, no randomness
    layer.summary_dropout = "frame"
    assert layer._dropout_per_frame() is False  # p == 0: nothing to draw
    layer.dropout.p = 1e-12
    assert layer._dropout_per_frame() is True
    torch.testing.assert_close(
        layer(x, mask, config), fast(x, mask, config), rtol=1e-5, atol=1e-5
    )


def test_unknown_summary_dropout_is_refused():
    with pytest.raises(ValueError, match="summary_dropout='token' is unknown"):
        SummaryMixing(16, summary_dropout="token")
