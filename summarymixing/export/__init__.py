"""Encoder folders: export an encoder, or a baseline, and load any of them back.

* :mod:`.encoder_folder`: the folder format (``encoder.json`` with its
  ``kind``, ``hyperparams.yaml``, weights), :func:`export_encoder` and
  :func:`load_encoder`;
* :mod:`.model_yaml`: the resolved model definitions of a recipe YAML;
* :mod:`.pretrained_encoder`: :class:`PretrainedEncoder`, front-end and
  context network returning every hidden state;
* :mod:`.fbank_upstream`: :class:`FbankUpstream`, the log-mel features as an
  upstream with one hidden state;
* :mod:`.hf_style`: the folder's ``config.json`` and
  :class:`SummaryMixingW2V2Model` (``from_pretrained``), a Hugging Face-style
  view that needs only ``config.json`` and ``model.safetensors``;
* :mod:`.s3prl_upstream`: ``UpstreamExpert``, any encoder folder as an s3prl
  (SUPERB) upstream;
* :mod:`.baselines`: the FBANK and untrained-encoder baselines of every SSL
  table, written as encoder folders, so that whatever
  takes an encoder folder takes a baseline unchanged.
"""

from summarymixing.export.baselines import (
    export_fbank_baseline,
    export_initial_state,
    export_untrained,
    export_untrained_like,
)
from summarymixing.export.encoder_folder import (
    FORMAT,
    FORMAT_VERSION,
    KINDS,
    export_encoder,
    load_encoder,
    read_encoder_json,
    write_encoder_json,
)
from summarymixing.export.fbank_upstream import FbankUpstream
from summarymixing.export.hf_style import SummaryMixingW2V2Model, read_hf_config
from summarymixing.export.model_yaml import EXPORTED_KEYS, model_yaml, resolved_values
from summarymixing.export.pretrained_encoder import PretrainedEncoder

__all__ = [
    "EXPORTED_KEYS",
    "FORMAT",
    "FORMAT_VERSION",
    "KINDS",
    "FbankUpstream",
    "PretrainedEncoder",
    "SummaryMixingW2V2Model",
    "export_encoder",
    "export_fbank_baseline",
    "export_untrained",
    "export_untrained_like",
    "export_initial_state",
    "load_encoder",
    "model_yaml",
    "read_encoder_json",
    "read_hf_config",
    "resolved_values",
    "write_encoder_json",
]
