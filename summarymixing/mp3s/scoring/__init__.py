"""Turning probe outputs into numbers: CTC loss and decoding, metrics, tokenizers.

:mod:`.ctc` (CTC loss over real frames, greedy decoding), :mod:`.metrics`
(error rates, accuracy, EER, minDCF), :mod:`.tokenizers` (characters or
SentencePiece BPE, built from the training transcripts). Fine-tuning scores
with the same modules, so that its WER/CER mean what the probes' mean.
"""
