"""Fine-tuning an exported encoder for ASR with CTC, the wav2vec 2.0 way.

* :mod:`.data`: the run's splits (LibriSpeech folders, Libri-Light's
  limited-resource sets ``10min``/``1h``/``10h``, or ``wav,wrd`` CSV files);
* :mod:`.ctc_model`: :class:`CTCFineTuner`, the encoder of an encoder folder
  with a linear CTC head, masked in time and channels while it trains;
* :mod:`.schedule`: the tri-stage learning rate of each optimiser;
* :mod:`.decoding`: :class:`CTCDecoder`, greedy or SpeechBrain's beam search
  with an optional KenLM language model;
* :mod:`.brain`: :class:`CTCFineTuneBrain`, training (encoder frozen for the
  first updates, separate learning rates, tri-stage schedule) and WER/CER
  evaluation;
* :mod:`.asr_folder`: the fine-tuned model as a folder (:func:`export_asr`)
  and :func:`load_asr`, whose ``transcribe(paths)`` returns text.

The recipe is ``recipes/finetune_ctc.py`` (``summarymixing.recipes.finetune_ctc``).
"""

from summarymixing.finetune.asr_folder import (
    CTCTranscriber,
    export_asr,
    load_asr,
    read_asr_json,
)
from summarymixing.finetune.brain import CTCFineTuneBrain
from summarymixing.finetune.ctc_model import CTCFineTuner
from summarymixing.finetune.data import prepare_splits
from summarymixing.finetune.decoding import CTCDecoder, DecodingOptions

__all__ = [
    "CTCDecoder",
    "CTCFineTuneBrain",
    "CTCFineTuner",
    "CTCTranscriber",
    "DecodingOptions",
    "export_asr",
    "load_asr",
    "prepare_splits",
    "read_asr_json",
]
