"""Shared fixtures.

``tiny_corpora`` synthesises every corpus once per test session (``--size
tiny --seed 0``, a few seconds) so that any test can read a LibriSpeech,
Libri-Light, CommonVoice, VoxCeleb1, IEMOCAP, SLURP or Buckeye folder in its
real layout::

    def test_something(tiny_corpora):
        librispeech = tiny_corpora / CORPORA["librispeech"]

Treat the folders as read-only: they are shared by the whole session.

``export_tiny_encoder(folder, **sizes)`` exports a random 2-layer Conformer
SummaryMixing encoder the way ``recipes/pretrain.py`` does (its definition in
``folder/model.yaml``, the encoder in ``folder/encoder``), for the tests that
probe, benchmark or track a frozen encoder::

    def test_something(export_tiny_encoder, tmp_path):
        encoder = export_tiny_encoder(tmp_path / "sm", d_model=48)
"""

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hyperpyyaml import load_hyperpyyaml

from summarymixing.data.synthetic import CORPORA, build_corpus
from summarymixing.export import export_encoder

TINY_ENCODER_YAML = """\
frontend: !new:summarymixing.wav2vec2.FbankConvFrontEnd
    out_channels: !ref <latent_dim>
encoder_wrapper: !new:summarymixing.wav2vec2.W2V2EncoderWrapper
    latent_dim: !ref <latent_dim>
    d_model: !ref <d_model>
    encoder: !new:summarymixing.ConformerEncoder
        num_layers: 2
        d_model: !ref <d_model>
        d_ffn: !ref <d_ffn>
        nhead: 2
        kernel_size: !ref <kernel_size>
        output_hidden_states: True
latent_dim: 16
d_model: 32
d_ffn: 64
kernel_size: 7
"""


@pytest.fixture(scope="session")
def tiny_corpora(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder holding every tiny synthetic corpus (roots: ``CORPORA``)."""
    out = tmp_path_factory.mktemp("synthetic_corpora")
    for name in CORPORA:
        build_corpus(name, out, size="tiny", seed=0, progress=False)
    return out


def _export_tiny_encoder(folder: Path, seed: int = 0, **sizes: int) -> Path:
    """Export a random tiny encoder (sizes: latent_dim, d_model, d_ffn, kernel_size)."""
    folder.mkdir(parents=True, exist_ok=True)
    definition = folder / "model.yaml"
    definition.write_text(TINY_ENCODER_YAML)
    torch.manual_seed(seed)
    modules = load_hyperpyyaml(TINY_ENCODER_YAML, sizes)
    d_model = sizes.get("d_model", 32)
    description = {"d_model": d_model, "num_layers": 2, "num_hidden_states": 3}
    return export_encoder(
        folder / "encoder",
        definition,
        sizes,
        modules["frontend"],
        modules["encoder_wrapper"],
        description,
    )


@pytest.fixture(scope="session")
def export_tiny_encoder() -> Callable[..., Path]:
    """``export_tiny_encoder(folder, seed=0, **sizes)`` -> the encoder folder."""
    return _export_tiny_encoder
