"""MP3S downstream probing: frozen upstream, learned layer weights, probes.

The package reads in layers, each a folder importing only from the ones
above it in this list: ``corpora/`` (preparers, manifests, datasets),
``upstream/`` (frozen encoders, baselines, weighted layers), ``probes/``,
``scoring/`` (CTC, metrics, tokenizers), ``brains/`` (the probe Brains),
``run/`` (one task and probe: :func:`run_probe`) and ``benchmark/`` (every
task on every encoder). The task YAMLs name the re-exports below, not the
modules' paths.

Data flow of one task::

    wavs ──► WeightedLayerFeatures (frozen upstream, softmax-weighted layers)
         ──► (features, padding_mask) ──► probe ──► logits / embeddings
         ──► ctc_loss / cross-entropy / AAMSoftmaxLoss ──► metrics

Padding masks are ``True`` on padded frames throughout; every probe gives a
padded utterance (in eval mode) what it gives the utterance alone.
"""

from summarymixing.mp3s.brains.optimisation import (
    ProbeOptimisers,
    build_probe_optimisers,
)
from summarymixing.mp3s.probes.contextnet import ContextNetCTCProbe
from summarymixing.mp3s.probes.ctc_heads import BiLSTMCTCProbe, LinearCTCProbe
from summarymixing.mp3s.probes.speaker import ECAPAEmbedder, XvectorEmbedder
from summarymixing.mp3s.probes.utterance import (
    AAMSoftmaxLoss,
    BiLSTMLinearProbe,
    EmbeddingClassifierProbe,
    MeanPoolLinearProbe,
    embedding_classifier,
)
from summarymixing.mp3s.run.tasks import TASKS, ProbeResult, read_result, run_probe
from summarymixing.mp3s.scoring.ctc import ctc_greedy_decode, ctc_loss
from summarymixing.mp3s.scoring.metrics import (
    accuracy,
    equal_error_rate,
    error_rate,
    min_detection_cost,
)
from summarymixing.mp3s.scoring.tokenizers import (
    CharacterTokenizer,
    SentencePieceTokenizer,
    load_or_build_character_tokenizer,
    make_tokenizer,
    train_bpe_tokenizer,
)
from summarymixing.mp3s.upstream.loading import (
    HuggingFaceWav2Vec2Upstream,
    upstream_from_folder,
)
from summarymixing.mp3s.upstream.weighted_layers import (
    LayerMixer,
    WeightedLayerFeatures,
    count_hidden_states,
)
from summarymixing.padding import masked_mean, zero_padding

__all__ = [
    "TASKS",
    "ProbeResult",
    "read_result",
    "run_probe",
    "AAMSoftmaxLoss",
    "BiLSTMCTCProbe",
    "BiLSTMLinearProbe",
    "CharacterTokenizer",
    "ContextNetCTCProbe",
    "ECAPAEmbedder",
    "EmbeddingClassifierProbe",
    "HuggingFaceWav2Vec2Upstream",
    "LayerMixer",
    "LinearCTCProbe",
    "MeanPoolLinearProbe",
    "ProbeOptimisers",
    "SentencePieceTokenizer",
    "WeightedLayerFeatures",
    "XvectorEmbedder",
    "accuracy",
    "build_probe_optimisers",
    "count_hidden_states",
    "embedding_classifier",
    "ctc_greedy_decode",
    "ctc_loss",
    "equal_error_rate",
    "error_rate",
    "load_or_build_character_tokenizer",
    "make_tokenizer",
    "masked_mean",
    "min_detection_cost",
    "train_bpe_tokenizer",
    "upstream_from_folder",
    "zero_padding",
]
