"""Every MP3S probe: shapes, gradients, exactness under padding, SpeechBrain parity."""

import inspect
import math

import pytest
import torch

from summarymixing.mp3s import (
    AAMSoftmaxLoss,
    BiLSTMCTCProbe,
    BiLSTMLinearProbe,
    ContextNetCTCProbe,
    ECAPAEmbedder,
    EmbeddingClassifierProbe,
    LinearCTCProbe,
    MeanPoolLinearProbe,
    XvectorEmbedder,
    ctc_greedy_decode,
    ctc_loss,
)
from summarymixing.mp3s.probes.padding import run_packed_rnn

DIM, VOCAB, CLASSES = 16, 6, 5
LENGTHS = [12, 7, 4]


@pytest.fixture(autouse=True)
def single_thread():
    """Tiny models run faster on one thread, and much faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_xvector() -> XvectorEmbedder:
    return XvectorEmbedder(DIM, 8, [8, 8, 12], [5, 3, 1], [1, 2, 1])


def tiny_ecapa() -> ECAPAEmbedder:
    return ECAPAEmbedder(
        DIM,
        8,
        [8, 8, 8, 16],
        [5, 3, 3, 1],
        [1, 2, 3, 1],
        attention_channels=4,
        res2net_scale=2,
        se_channels=4,
    )


CTC_PROBES = {
    "bilstm_ctc": lambda: BiLSTMCTCProbe(DIM, VOCAB, hidden_size=8),
    "contextnet_ctc": lambda: ContextNetCTCProbe(
        DIM, VOCAB, out_channels=8, conv_channels=[8, 12], num_blocks=2, num_layers=2
    ),
    "linear_ctc": lambda: LinearCTCProbe(DIM, VOCAB, hidden_size=8),
}
UTTERANCE_PROBES = {
    "xvector": lambda: EmbeddingClassifierProbe(tiny_xvector(), CLASSES),
    "ecapa": lambda: EmbeddingClassifierProbe(tiny_ecapa(), CLASSES),
    "mean_pool_linear": lambda: MeanPoolLinearProbe(DIM, CLASSES),
    "bilstm_linear": lambda: BiLSTMLinearProbe(DIM, CLASSES, hidden_size=8),
}
ALL_PROBES = {**CTC_PROBES, **UTTERANCE_PROBES}


def padded_features(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Three utterances; the padding holds large junk that must not matter."""
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(len(LENGTHS), max(LENGTHS), DIM, generator=generator)
    positions = torch.arange(max(LENGTHS))
    padding = positions.unsqueeze(0) >= torch.tensor(LENGTHS).unsqueeze(1)
    junk = 50 * torch.randn(features.shape, generator=generator)
    return torch.where(padding.unsqueeze(-1), junk, features), padding


def build(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return ALL_PROBES[name]()


@pytest.mark.parametrize("name", list(ALL_PROBES))
def test_forward_backward_on_a_padded_batch(name: str):
    probe = build(name).train()
    features, padding = padded_features()
    output = probe(features, padding)
    if name in CTC_PROBES:
        assert output.shape == (len(LENGTHS), max(LENGTHS), VOCAB)
    else:
        assert output.shape == (len(LENGTHS), CLASSES)
    output[:, :1].sum().backward()
    for parameter_name, parameter in probe.named_parameters():
        assert parameter.grad is not None, parameter_name
        assert bool(torch.isfinite(parameter.grad).all()), parameter_name


@pytest.mark.parametrize("name", list(ALL_PROBES))
def test_padded_batch_gives_each_utterance_its_own_output(name: str):
    probe = build(name).eval()
    features, padding = padded_features()
    with torch.no_grad():
        batch = probe(features, padding)
        for index, length in enumerate(LENGTHS):
            alone = probe(
                features[index : index + 1, :length],
                torch.zeros(1, length, dtype=torch.bool),
            )
            expected = batch[index, :length] if name in CTC_PROBES else batch[index]
            assert torch.allclose(expected, alone[0], atol=1e-5), (name, index)


@pytest.mark.parametrize("name", ["xvector", "ecapa"])
def test_speaker_embeddings_and_cosine_scores(name: str):
    probe = build(name).eval()
    features, padding = padded_features()
    with torch.no_grad():
        embeddings = probe.embed(features, padding)
        cosines = probe(features, padding)
    assert embeddings.shape == (len(LENGTHS), 8)
    assert bool((cosines.abs() <= 1 + 1e-6).all())


@pytest.mark.parametrize("name", list(CTC_PROBES))
def test_ctc_loss_is_finite_on_a_padded_batch(name: str):
    probe = build(name).train()
    features, padding = padded_features()
    targets = torch.tensor([[1, 2, 3, 4], [5, 1, 0, 0], [2, 0, 0, 0]])
    loss = ctc_loss(probe(features, padding), padding, targets, torch.tensor([4, 2, 1]))
    assert loss.dim() == 0 and bool(torch.isfinite(loss)) and loss.item() > 0
    loss.backward()
    assert all(bool(torch.isfinite(p.grad).all()) for p in probe.parameters())


def test_ctc_loss_ignores_padded_frames():
    features, padding = padded_features()
    logits = torch.randn(len(LENGTHS), max(LENGTHS), VOCAB)
    targets = torch.tensor([[1, 2], [3, 4], [5, 5]])
    lengths = torch.tensor([2, 2, 2])
    changed = logits.masked_fill(padding.unsqueeze(-1), 100.0)
    assert torch.allclose(
        ctc_loss(logits, padding, targets, lengths),
        ctc_loss(changed, padding, targets, lengths),
    )


def test_greedy_decoding_merges_repeats_and_drops_blanks_on_real_frames():
    best = torch.tensor([[1, 1, 0, 1, 2, 2, 0, 3], [4, 0, 4, 4, 5, 5, 5, 5]])
    logits = torch.nn.functional.one_hot(best, VOCAB).float()
    padding = torch.tensor([[False] * 8, [False] * 4 + [True] * 4])
    assert ctc_greedy_decode(logits, padding) == [[1, 1, 2, 3], [4, 4]]


def test_contextnet_matches_speechbrain_forward_without_padding():
    probe = build("contextnet_ctc").eval()
    features = torch.randn(2, 10, DIM)
    with torch.no_grad():
        ours = probe(features, torch.zeros(2, 10, dtype=torch.bool))
        speechbrain = probe.output(probe.contextnet(features))
    assert torch.allclose(ours, speechbrain, atol=1e-5)


def test_ecapa_matches_speechbrain_forward_without_padding():
    embedder = tiny_ecapa().eval()
    features = torch.randn(2, 10, DIM)
    with torch.no_grad():
        ours = embedder(features, torch.zeros(2, 10, dtype=torch.bool))
        speechbrain = embedder.ecapa(features).squeeze(1)
    assert torch.allclose(ours, speechbrain, atol=1e-5)


def test_xvector_matches_speechbrain_forward_without_padding():
    """Up to the noise (<= 9e-5) SpeechBrain's statistics pooling adds to the mean."""
    embedder = tiny_xvector().eval()
    features = torch.randn(2, 10, DIM)
    with torch.no_grad():
        ours = embedder(features, torch.zeros(2, 10, dtype=torch.bool))
        speechbrain = embedder.xvector(features).squeeze(1)
    assert torch.allclose(ours, speechbrain, atol=1e-3)


def test_aam_softmax_loss_matches_the_margin_formula():
    margin, scale = 0.2, 30.0
    cosines = torch.tensor([[0.5, 0.4, -0.1], [0.1, 0.3, 0.2]])
    targets = torch.tensor([0, 2])
    logits = scale * cosines.clone()
    for row, target in enumerate(targets.tolist()):
        angle = math.acos(cosines[row, target].item())
        logits[row, target] = scale * math.cos(angle + margin)
    expected = torch.nn.functional.cross_entropy(logits, targets)
    loss = AAMSoftmaxLoss(margin, scale)(cosines, targets)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_probe_defaults_are_the_published_sizes():
    def defaults(cls) -> dict:
        return {
            name: parameter.default
            for name, parameter in inspect.signature(cls).parameters.items()
            if parameter.default is not inspect.Parameter.empty
        }

    assert defaults(BiLSTMCTCProbe) == {
        "hidden_size": 1024,
        "num_layers": 2,
        "dropout": 0.2,
    }
    assert defaults(LinearCTCProbe)["hidden_size"] == 1024
    assert defaults(ContextNetCTCProbe)["num_blocks"] == 21
    assert defaults(XvectorEmbedder)["channels"] == (512, 512, 512, 512, 1500)
    assert defaults(XvectorEmbedder)["embedding_size"] == 512
    ecapa = defaults(ECAPAEmbedder)
    assert ecapa["channels"] == (512, 512, 512, 512, 1536)
    assert (ecapa["attention_channels"], ecapa["embedding_size"]) == (64, 512)
    assert defaults(AAMSoftmaxLoss) == {"margin": 0.2, "scale": 30.0}
    assert defaults(BiLSTMLinearProbe)["num_layers"] == 2


def test_contextnet_keeps_the_frame_rate():
    probe = ContextNetCTCProbe(
        DIM, VOCAB, out_channels=8, conv_channels=[8] * 3, num_blocks=3, num_layers=1
    ).eval()
    no_padding = torch.zeros(1, 33, dtype=torch.bool)
    assert probe(torch.randn(1, 33, DIM), no_padding).shape[1] == 33


def test_configuration_errors_are_clear():
    with pytest.raises(ValueError, match="conv_channels has 2 entries but num_blocks"):
        ContextNetCTCProbe(DIM, VOCAB, conv_channels=[8, 8], num_blocks=3)
    with pytest.raises(ValueError, match="one entry per TDNN layer"):
        XvectorEmbedder(DIM, 8, [8, 8], [3], [1, 1])
    with pytest.raises(ValueError, match="one entry per layer"):
        ECAPAEmbedder(DIM, 8, [8, 8, 16], [3, 1], [1, 1, 1])
    lstm = torch.nn.LSTM(DIM, 4, batch_first=True)
    empty = torch.tensor([[False, False], [True, True]])
    with pytest.raises(ValueError, match="no real frame"):
        run_packed_rnn(lstm, torch.randn(2, 2, DIM), empty)
