"""CTC decoding of fine-tuned models: greedy, beam search, KenLM language models."""

import pytest
import torch

from summarymixing.finetune.decoding import CTCDecoder, DecodingOptions
from summarymixing.mp3s.scoring.tokenizers import (
    CharacterTokenizer,
    train_bpe_tokenizer,
)

ARPA = "\n".join([
    "\\data\\", "ngram 1=5", "ngram 2=3", "",
    "\\1-grams:",
    "-1.0\t<s>\t-0.3", "-1.0\t</s>", "-0.2\tCAT\t-0.3", "-3.0\tKAT\t-0.3",
    "-2.0\t<unk>",
    "", "\\2-grams:", "-0.1\t<s> CAT", "-0.1\tCAT </s>", "-2.0\t<s> KAT",
    "", "\\end\\", "",
])  # fmt: skip
TOKENIZER = CharacterTokenizer([" ", "A", "C", "K", "T"])


def ambiguous_logits() -> tuple[torch.Tensor, torch.Tensor]:
    """Acoustically "KAT" (K slightly ahead of C), then padding."""
    logits = torch.full((2, 5, 6), -5.0)
    logits[:, 0, 4], logits[:, 0, 3] = 2.0, 1.8  # K vs C
    logits[:, 1, 2] = logits[:, 2, 5] = 5.0  # A, T
    logits[:, 3:, 0] = 5.0  # blanks
    padding = torch.tensor([[False] * 3 + [True] * 2, [False] * 5])
    return logits, padding


def test_beam_search_agrees_with_greedy_without_a_language_model():
    logits, padding = ambiguous_logits()
    greedy = CTCDecoder(TOKENIZER, DecodingOptions("greedy"))(logits, padding)
    beam = CTCDecoder(TOKENIZER, DecodingOptions("beam", 16))(logits, padding)
    assert greedy == beam == ["KAT", "KAT"]


def test_a_kenlm_model_changes_the_text_towards_its_words(tmp_path):
    (tmp_path / "words.arpa").write_text(ARPA)
    logits, padding = ambiguous_logits()
    options = DecodingOptions("beam", 16, str(tmp_path / "words.arpa"), 1.0, 0.0)
    assert CTCDecoder(TOKENIZER, options)(logits, padding) == ["CAT", "CAT"]
    weightless = DecodingOptions("beam", 16, str(tmp_path / "words.arpa"), 0.0, 0.0)
    assert CTCDecoder(TOKENIZER, weightless)(logits, padding) == ["KAT", "KAT"]


def test_beam_search_over_sentencepiece_pieces(tmp_path):
    texts = ["THE CAT SAT", "A CAT RAN", "THE DOG SAT"] * 20
    tokenizer = train_bpe_tokenizer(tmp_path, texts, vocab_size=30)
    ids = tokenizer.encode("THE CAT")
    logits = torch.full((1, 2 * len(ids), tokenizer.vocab_size), -5.0)
    for frame, token in enumerate(ids):  # each piece, then a blank
        logits[0, 2 * frame, token] = 5.0
        logits[0, 2 * frame + 1, 0] = 5.0
    padding = torch.zeros(1, 2 * len(ids), dtype=torch.bool)
    assert CTCDecoder(tokenizer, DecodingOptions("beam", 8))(logits, padding) == [
        "THE CAT"
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (DecodingOptions("viterbi"), "decoding 'viterbi': choose one of greedy, beam"),
        (DecodingOptions("beam", 0), "beam_size must be 1 or more"),
        (DecodingOptions("greedy", lm_file="x.arpa"), "add --decoding beam"),
        (DecodingOptions("beam", lm_file="/no/such.arpa"), "/no/such.arpa does not"),
    ],
)
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        CTCDecoder(TOKENIZER, options)


def test_a_file_that_is_not_a_language_model_is_named(tmp_path):
    (tmp_path / "notes.arpa").write_text("these are my notes\n")
    with pytest.raises(ValueError, match=r"notes.arpa does not load .*KenLM ARPA"):
        CTCDecoder(
            TOKENIZER, DecodingOptions("beam", lm_file=str(tmp_path / "notes.arpa"))
        )


def test_characters_without_a_space_cannot_mark_words():
    with pytest.raises(ValueError, match="needs a space among the characters"):
        CTCDecoder(CharacterTokenizer(["A", "B"]), DecodingOptions("beam"))


def test_beam_search_reads_every_real_frame_of_a_padded_batch():
    """15 real frames of 53: 15 / 53 * 53 truncates to 14 in float32."""
    logits = torch.full((2, 53, 6), -5.0)
    logits[:, :, 0] = 5.0  # blanks
    logits[:, 14, 2] = 9.0  # "A" on the 15th frame, the last real one of row 0
    padding = torch.zeros(2, 53, dtype=torch.bool)
    padding[0, 15:] = True
    texts = CTCDecoder(TOKENIZER, DecodingOptions("beam", 4))(logits, padding)
    assert texts == ["A", "A"]
