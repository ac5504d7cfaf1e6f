"""MP3S probes learn for real: ASR and speaker verification on the small corpora.

The fast tests (``test_mp3s_tasks.py``) only check that every probe trains and
yields its metric. These slow tests check that the whole pipeline (preparer,
frozen encoder, learned layer weights, probe, two optimisers, NewBob,
best-checkpoint evaluation) learns: a small frozen encoder with random weights
(fbank front-end with 256 channels, 2 SummaryMixing Conformer layers of width
64) is exported as pre-training exports it, and two probes are trained for a
few epochs with reduced sizes on the ``small`` synthetic corpora (built here,
about 20 s):

* LibriSpeech, BiLSTM CTC probe: 23 minutes of training speech from 20
  speakers; CER on test-clean, whose 4 speakers and sentences are unseen.
* VoxCeleb1, x-vector probe: 40 training speakers; EER on 540 trials between
  10 unseen speakers.

Random encoder weights suffice: the lowest hidden state, a random projection
of normalised filterbanks, still carries the phones and the voice, and the
learned layer weights move towards it.

Chance, defined honestly:

* CER: a transcriber that does not listen scores 100 % with an empty answer
  and at best about 85 % (:func:`deaf_cer`: the most frequent character
  repeated, or real training sentences, measured on the test set itself).
* EER: 50 % for scores that carry no information about the speakers.

Measured on 2 CPU cores (one thread): CER 53-55 %, EER 7-18 % (three seeds of
the encoder and the probes); the whole file takes about 3 minutes.
"""

import csv
from collections import Counter
from itertools import cycle
from pathlib import Path

import pytest
import torch
from speechbrain.utils.metric_stats import ErrorRateStats

from summarymixing.data.synthetic import build_corpus
from summarymixing.mp3s.run.tasks import run_probe

pytestmark = pytest.mark.slow

RUN_OPTS = {"device": "cpu", "noprogressbar": True}
ASR_OVERRIDES = {
    "lstm_hidden_size": 128,
    "lstm_layers": 1,
    "number_of_epochs": 8,
    "batch_size": 8,
    "sorting": "random",
    "probe_lr": 0.005,
    "test_splits": ["test-clean"],
    "test_batch_size": 8,
    "num_workers": 0,
}
MAX_CER = 65.0
"""Pass mark for the test-clean CER (measured 53-55 %; chance about 85 %)."""
SPEAKER_OVERRIDES = {
    "xvector_channels": [64, 64, 64, 64, 192],
    "embedding_size": 64,
    "number_of_epochs": 10,
    "batch_size": 8,
    "probe_lr": 0.005,
    "test_batch_size": 8,
    "num_workers": 0,
}
MAX_EER = 25.0
"""Pass mark for the EER (measured 7-18 %; chance 50 %)."""


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One thread: reproducible numbers, and no fight over 2 shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory):
    """Return the root of a small synthetic corpus, synthesised on first use."""
    out = tmp_path_factory.mktemp("small_corpora")

    def root(name: str) -> Path:
        return build_corpus(name, out, "small", seed=0, progress=False)

    return root


@pytest.fixture(scope="module")
def encoder_folder(
    tmp_path_factory: pytest.TempPathFactory, export_tiny_encoder
) -> Path:
    """A random frozen encoder, exported the way recipes/pretrain.py does."""
    folder = tmp_path_factory.mktemp("random_encoder")
    return export_tiny_encoder(folder, latent_dim=256, d_model=64, d_ffn=128)


def transcripts(manifest: Path) -> list[str]:
    """Return the ``wrd`` column of a prepared manifest."""
    with open(manifest, encoding="utf-8") as stream:
        return [row["wrd"] for row in csv.DictReader(stream)]


def character_error_rate(hypotheses: list[str], references: list[str]) -> float:
    """CER in percent, spaces counted, scored as the ASR probe scores it."""
    stats = ErrorRateStats(split_tokens=True)
    ids = [str(index) for index in range(len(references))]
    words = [[text.split() for text in texts] for texts in (hypotheses, references)]
    stats.append(ids, *words)
    return float(stats.summarize("error_rate"))


def deaf_cer(train: list[str], test: list[str]) -> float:
    """Best CER of transcribers that do not listen to the audio.

    Each writes the same kind of answer for every test utterance: nothing,
    the most frequent training character repeated 1 to 30 times, or a
    training sentence (the training sentences in turn).
    """
    top = Counter("".join(train).replace(" ", "")).most_common(1)[0][0]
    answers = [[""] * len(test)]
    answers += [[top * count] * len(test) for count in range(1, 31)]
    answers.append([sentence for sentence, _ in zip(cycle(train), test)])
    return min(character_error_rate(answer, test) for answer in answers)


def test_bilstm_ctc_probe_transcribes_unseen_speakers(
    small_corpus, encoder_folder, tmp_path
):
    output = tmp_path / "librispeech"
    result = run_probe(
        "librispeech",
        "bilstm",
        encoder_folder,
        small_corpus("librispeech"),
        output,
        ASR_OVERRIDES,
        RUN_OPTS,
    )
    train = transcripts(output / "prepared" / "train-clean-100.csv")
    test = transcripts(output / "prepared" / "test-clean.csv")
    chance = deaf_cer(train, test)
    assert chance > MAX_CER + 15.0
    assert result.metrics["CER"] < MAX_CER, (result.metrics, chance)


def test_xvector_probe_verifies_unseen_speakers(small_corpus, encoder_folder, tmp_path):
    result = run_probe(
        "voxceleb1",
        "xvector",
        encoder_folder,
        small_corpus("voxceleb1"),
        tmp_path / "voxceleb1",
        SPEAKER_OVERRIDES,
        RUN_OPTS,
    )
    assert result.metrics["EER"] < MAX_EER, result.metrics
