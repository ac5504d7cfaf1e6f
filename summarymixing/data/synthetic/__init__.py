"""Synthetic speech corpora in each dataset's real on-disk layout.

No machine here can download LibriSpeech, Libri-Light, CommonVoice, VoxCeleb1,
IEMOCAP, SLURP or Buckeye, so tests and the demo use speech synthesised with
eSpeak NG (through the ``espeakng-loader`` wheel) and written exactly as the
real corpora lie on disk; the real preparers are what get exercised.

Command line::

    python -m summarymixing.data.synthetic --corpus all --size tiny --out data/synthetic
    python -m summarymixing.data.synthetic --corpus librilight --hours 3 --out DIR

Python::

    from summarymixing.data.synthetic import build_corpus
    root = build_corpus("librispeech", "data/synthetic", size="small")
    pretraining = build_corpus("librilight", "data/synthetic", hours=3.0)

Sizes are ``tiny`` (unit tests, seconds to build) and ``small`` (the demo).
Libri-Light, the pre-training audio, can instead be built by ``hours`` (3 hours:
45 speakers, about 30 s on 2 CPU cores, 200 MB): no voice and no sentence of it
occurs in the held-out splits that the probes evaluate on (LibriSpeech dev and
test, the VoxCeleb1 trial speakers).

``build_corpus`` returns the corpus root, the folder a real recipe takes as
``data_folder`` (``<out>/<CORPORA[name]>``):

==============  =========================  =====================================
corpus          root                       inside the root
==============  =========================  =====================================
librispeech     ``LibriSpeech``            ``<split>/<spk>/<chapter>/*.flac``,
                                           ``*.trans.txt``, ``SPEAKERS.TXT``
librilight      ``librilight``             ``small/<spk>/<book>/*.flac`` + ``.json``
commonvoice-cy  ``cv-corpus/cy``           ``clips/*.mp3``, ``{train,dev,test}.tsv``
commonvoice-eu  ``cv-corpus/eu``           same as ``cy``
voxceleb1       ``VoxCeleb1``              ``wav/<id>/<video>/<NNNNN>.wav``,
                                           ``veri_test2.txt``, ``vox1_meta.csv``
iemocap         ``IEMOCAP_full_release``   ``Session<n>/sentences/wav/...``,
                                           ``Session<n>/dialog/EmoEvaluation/``
slurp           ``SLURP``                  ``dataset/slurp/*.jsonl``, ``slurp_real/``
buckeye         ``Buckeye``                ``s<NN>/s<NN>01a.{wav,words,txt}``
==============  =========================  =====================================

``build_limited_resource(<LibriSpeech root>)`` adds Libri-Light's
limited-resource fine-tuning layout (``librispeech_finetuning/1h/0..5`` and
``9h``, ``clean`` and ``other``) to a synthetic LibriSpeech, from its
``train-clean-100`` audio (hard links).

Each builder module documents its layout and what makes its content learnable.
"""

from .corpus import CORPORA, SIZES, build_corpus
from .limited_resource import build_limited_resource
from .tts import LANGUAGES, SAMPLE_RATE, Speech, Voice, phonemize, synthesize

__all__ = [
    "CORPORA",
    "LANGUAGES",
    "SAMPLE_RATE",
    "SIZES",
    "Speech",
    "Voice",
    "build_corpus",
    "build_limited_resource",
    "phonemize",
    "synthesize",
]
