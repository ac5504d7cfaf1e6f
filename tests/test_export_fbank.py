"""The FBANK baseline: the log-mel features of the Fbank front-end as an upstream."""

import torch

from summarymixing.export import FbankUpstream
from summarymixing.wav2vec2 import FbankConvFrontEnd, LogMelFilterbank

# FbankConvFrontEnd's state_dict keys before LogMelFilterbank was factored out
# of it: encoders exported then must still load.
FRONTEND_KEYS_BEFORE = [
    "layers.0.conv.weight",
    "layers.0.conv.bias",
    "layers.0.norm.weight",
    "layers.0.norm.bias",
    "layers.1.conv.weight",
    "layers.1.conv.bias",
    "layers.1.norm.weight",
    "layers.1.norm.bias",
    "output_norm.weight",
    "output_norm.bias",
]


def padded_batch(lengths: list[int]) -> tuple[list[torch.Tensor], torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    wavs = [
        torch.randn(n, generator=generator) * (i + 1) for i, n in enumerate(lengths)
    ]
    wavs[1][-100:] *= 50.0  # a loud end shows a dB floor that looked at padding
    batch = torch.zeros(len(wavs), max(lengths))
    for i, wav in enumerate(wavs):
        batch[i, : len(wav)] = wav
    return wavs, batch


def test_frontend_state_dict_keys_are_unchanged_and_old_weights_load():
    frontend = FbankConvFrontEnd(out_channels=16)
    assert list(frontend.state_dict()) == FRONTEND_KEYS_BEFORE
    old = {key: torch.randn_like(value) for key, value in frontend.state_dict().items()}
    FbankConvFrontEnd(out_channels=16).load_state_dict(old)  # strict
    assert list(LogMelFilterbank().state_dict()) == []


def test_fbank_upstream_is_padding_exact():
    lengths = [16000, 3211, 7777, 480]
    wavs, batch = padded_batch(lengths)
    upstream = FbankUpstream().eval()
    wav_lens = torch.tensor(lengths) / max(lengths)
    (features,), padding = upstream(batch, wav_lens)
    assert features.shape[-1] == 80 and padding.shape == features.shape[:2]
    for i, wav in enumerate(wavs):
        (alone,), alone_padding = upstream(wav.unsqueeze(0), torch.ones(1))
        frames = alone.shape[1]
        assert not alone_padding.any()
        assert (~padding[i]).sum() == frames
        torch.testing.assert_close(features[i, :frames], alone[0], atol=1e-5, rtol=1e-4)
        assert torch.all(features[i, frames:] == 0)


def test_fbank_upstream_gives_what_the_frontend_receives():
    lengths = [12000, 7000, 401]
    _, batch = padded_batch(lengths)
    num_samples = torch.tensor(lengths)
    frontend = FbankConvFrontEnd(out_channels=8)
    expected = frontend.log_mel(batch, num_samples)
    (features,), padding = FbankUpstream()(batch, num_samples / max(lengths))
    frames = frontend.fbank_lengths(num_samples)
    assert (~padding).sum(1).tolist() == frames.tolist()
    for i, count in enumerate(frames.tolist()):
        torch.testing.assert_close(features[i, :count], expected[i, :count])


def test_fbank_upstream_has_ten_ms_frames_and_one_hidden_state():
    upstream = FbankUpstream()
    (features,), _ = upstream(torch.randn(1, 32000), torch.ones(1))
    assert upstream.num_hidden_states == 1
    assert upstream.description["num_hidden_states"] == 1
    assert upstream.description["frame_rate_hz"] == 100.0
    assert features.shape == (1, 201, 80) and features.dtype == torch.float32
    assert list(upstream.parameters()) == []
