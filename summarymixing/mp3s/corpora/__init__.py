"""The MP3S corpora: one preparer per corpus, the task manifests, the datasets.

Each ``prepare_<corpus>`` reads a corpus in its distribution layout and writes
the manifests a task's probes read (:mod:`.manifests` maps a task to its
preparer); :mod:`.datasets` turns a manifest into a SpeechBrain dataset. This
layer knows nothing of encoders or probes.
"""

from summarymixing.mp3s.corpora.buckeye import prepare_buckeye
from summarymixing.mp3s.corpora.commonvoice import prepare_commonvoice
from summarymixing.mp3s.corpora.iemocap import prepare_iemocap
from summarymixing.mp3s.corpora.slurp import prepare_slurp
from summarymixing.mp3s.corpora.voxceleb import prepare_voxceleb

__all__ = [
    "prepare_buckeye",
    "prepare_commonvoice",
    "prepare_iemocap",
    "prepare_slurp",
    "prepare_voxceleb",
]
