"""Fine-tuning an exported encoder for ASR with CTC, the wav2vec 2.0 way.

* :mod:`.ctc_model`: :class:`CTCFineTuner`, the encoder of an encoder folder
  with a linear CTC head, masked in time and channels while it trains;
* :mod:`.brain`: :class:`CTCFineTuneBrain`, training (encoder frozen for the
  first updates, separate learning rates, tri-stage schedule) and greedy
  WER/CER evaluation.

The recipe is ``recipes/finetune_ctc.py`` (``summarymixing.recipes.finetune_ctc``).
"""

from summarymixing.finetune.brain import CTCFineTuneBrain
from summarymixing.finetune.ctc_model import CTCFineTuner

__all__ = ["CTCFineTuneBrain", "CTCFineTuner"]
