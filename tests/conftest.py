"""Shared fixtures.

``tiny_corpora`` synthesises every corpus once per test session (``--size
tiny --seed 0``, a few seconds) so that any test can read a LibriSpeech,
Libri-Light, CommonVoice, VoxCeleb1, IEMOCAP, SLURP or Buckeye folder in its
real layout::

    def test_something(tiny_corpora):
        librispeech = tiny_corpora / CORPORA["librispeech"]

Treat the folders as read-only: they are shared by the whole session.
"""

from pathlib import Path

import pytest

from summarymixing.data.synthetic import CORPORA, build_corpus


@pytest.fixture(scope="session")
def tiny_corpora(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder holding every tiny synthetic corpus (roots: ``CORPORA``)."""
    out = tmp_path_factory.mktemp("synthetic_corpora")
    for name in CORPORA:
        build_corpus(name, out, size="tiny", seed=0, progress=False)
    return out
