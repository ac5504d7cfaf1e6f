"""The MP3S ASR probe: CTC on characters or BPE pieces, greedy decoding, WER/CER.

The probe's frame logits are trained with CTC
(:func:`~summarymixing.mp3s.scoring.ctc.ctc_loss`, exact lengths from the padding
mask). Evaluation decodes greedily (best token per real frame, repeats merged,
blanks removed), detokenises, and scores the words against the reference
transcript with SpeechBrain's ``ErrorRateStats``: WER on words, CER on
characters with spaces counted (``split_tokens=True``). The validation WER
drives annealing and checkpoint selection. Each test set's alignments are
written to ``<output_folder>/wer_<test set>.txt``.
"""

from pathlib import Path

import speechbrain as sb
import torch
from speechbrain.utils.metric_stats import ErrorRateStats

from summarymixing.mp3s.brains.base import ProbeBrain
from summarymixing.mp3s.scoring.ctc import ctc_greedy_decode, ctc_loss
from summarymixing.padding import relative_to_absolute_lengths


class ASRProbeBrain(ProbeBrain):
    """CTC training and WER/CER evaluation of a frame-level probe.

    Parameters
    ----------
    features : WeightedLayerFeatures
        Frozen upstream with learned layer weights.
    probe : torch.nn.Module
        Returns ``(batch, frames, vocab_size)`` logits.
    tokenizer : CharacterTokenizer or SentencePieceTokenizer
        Decodes token ids; its ``blank_index`` is the CTC blank.
    hparams, run_opts, checkpointer
        As :class:`~summarymixing.mp3s.brains.base.ProbeBrain`. Batches carry
        ``tokens`` and ``wrd``. The hparam ``validation_metric`` (``WER``, the
        MP3S choice and the default, or ``CER``) drives NewBob annealing and the
        choice of the checkpoint that is tested; CER is the steadier signal
        while a weak probe's WER stays near 100%.
    """

    validation_metric = "WER"
    higher_is_better = False
    VALIDATION_METRICS = ("WER", "CER")

    def __init__(
        self, features, probe, tokenizer, hparams, run_opts=None, checkpointer=None
    ) -> None:
        super().__init__(features, probe, hparams, run_opts, checkpointer)
        metric = getattr(self.hparams, "validation_metric", self.validation_metric)
        if metric not in self.VALIDATION_METRICS:
            raise ValueError(
                f"validation_metric={metric!r} is not an ASR metric; "
                f"choose one of {self.VALIDATION_METRICS}"
            )
        self.validation_metric = metric
        self.tokenizer = tokenizer
        self.word_stats = ErrorRateStats()
        self.char_stats = ErrorRateStats(split_tokens=True)

    def batch_loss(
        self, outputs: torch.Tensor, padding_mask: torch.Tensor, batch
    ) -> torch.Tensor:
        """CTC loss of the batch's token targets."""
        tokens, token_lens = batch.tokens
        lengths = relative_to_absolute_lengths(token_lens, tokens.shape[1])
        return ctc_loss(
            outputs, padding_mask, tokens, lengths, self.tokenizer.blank_index
        )

    def start_metrics(self, stage: sb.Stage) -> None:
        """Fresh word and character error statistics."""
        self.word_stats = ErrorRateStats()
        self.char_stats = ErrorRateStats(split_tokens=True)

    def transcribe(
        self, outputs: torch.Tensor, padding_mask: torch.Tensor
    ) -> list[str]:
        """Greedy CTC transcriptions of a batch of logits."""
        blank = self.tokenizer.blank_index
        hypotheses = ctc_greedy_decode(outputs, padding_mask, blank)
        return [self.tokenizer.decode(ids) for ids in hypotheses]

    def update_metrics(
        self, outputs: torch.Tensor, padding_mask: torch.Tensor, batch, stage: sb.Stage
    ) -> None:
        """Score the batch's transcriptions against its reference words."""
        hypotheses = [text.split() for text in self.transcribe(outputs, padding_mask)]
        references = [text.split() for text in batch.wrd]
        self.word_stats.append(batch.id, hypotheses, references)
        self.char_stats.append(batch.id, hypotheses, references)

    def summarize_metrics(self, stage: sb.Stage) -> dict[str, float]:
        """WER and CER in percent; test alignments go to a file."""
        metrics = {
            "WER": float(self.word_stats.summarize("error_rate")),
            "CER": float(self.char_stats.summarize("error_rate")),
        }
        if stage == sb.Stage.TEST and sb.utils.distributed.if_main_process():
            path = Path(self.hparams.output_folder) / f"wer_{self.test_name}.txt"
            with open(path, "w", encoding="utf-8") as stream:
                self.word_stats.write_stats(stream)
        return metrics
