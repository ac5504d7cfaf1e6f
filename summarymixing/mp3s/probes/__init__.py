"""The MP3S probes: small networks trained on frozen, weighted features.

Every probe is called as ``probe(features, padding_mask)`` and gives each
utterance of a padded batch (in eval mode) what it gives it alone:
:mod:`.ctc_heads` (linear and BiLSTM CTC heads), :mod:`.contextnet` (the
ContextNet CTC probe), :mod:`.utterance` (pooled classifiers and the AAM
softmax loss), :mod:`.speaker` (x-vector and ECAPA embedders), with the
padding-exact building blocks of :mod:`.padding`.
"""
