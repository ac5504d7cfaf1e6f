"""Tokenizers (character, SentencePiece BPE) and MP3S metrics."""

from pathlib import Path

import pytest
import torch
from speechbrain.utils.metric_stats import EER, minDCF

from summarymixing.mp3s import (
    CharacterTokenizer,
    SentencePieceTokenizer,
    accuracy,
    equal_error_rate,
    error_rate,
    load_or_build_character_tokenizer,
    min_detection_cost,
    train_bpe_tokenizer,
)

TRANSCRIPTS = [
    "THE CAT SAT ON THE MAT",
    "A DOG RAN FAR AWAY",
    "IT'S A QUIET EVENING",
    "HELLO WORLD AGAIN",
]
WELSH = ["mae hi'n braf heddiw", "diolch yn fawr iawn", "bore da i chi gyd"] * 5


def test_character_tokenizer_round_trip_with_blank_at_zero():
    tokenizer = CharacterTokenizer.from_transcripts(TRANSCRIPTS)
    assert tokenizer.blank_index == 0
    assert tokenizer.vocab_size == len(set("".join(TRANSCRIPTS))) + 1
    for text in TRANSCRIPTS:
        ids = tokenizer.encode(text)
        assert 0 not in ids
        assert tokenizer.decode(ids) == text
    assert tokenizer.decode([0] + tokenizer.encode("CAT") + [0]) == "CAT"


def test_character_tokenizer_names_every_unknown_character():
    tokenizer = CharacterTokenizer.from_transcripts(TRANSCRIPTS)
    with pytest.raises(ValueError) as error:
        tokenizer.encode("CAFÉ AND ZEBRA!", source="dev-clean/1-2-3")
    message = str(error.value)
    assert "['!', 'B', 'Z', 'É']" in message
    assert "CAFÉ AND ZEBRA!" in message and "dev-clean/1-2-3" in message


def test_character_tokenizer_is_saved_then_reused(tmp_path: Path):
    path = tmp_path / "tokenizer" / "characters.json"
    built = load_or_build_character_tokenizer(path, TRANSCRIPTS)
    reused = load_or_build_character_tokenizer(path, ["other text entirely"])
    assert reused.characters == built.characters
    (tmp_path / "bad.json").write_text('{"type": "bpe"}')
    with pytest.raises(ValueError, match="not a character tokenizer"):
        CharacterTokenizer.load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="no transcripts"):
        CharacterTokenizer.from_transcripts([])


def test_bpe_tokenizer_round_trip_blank_and_reuse(tmp_path: Path):
    tokenizer = train_bpe_tokenizer(tmp_path, WELSH, vocab_size=40)
    assert isinstance(tokenizer, SentencePieceTokenizer)
    assert tokenizer.blank_index == 0 and tokenizer.vocab_size <= 40
    for text in WELSH[:3]:
        ids = tokenizer.encode(text)
        assert 0 not in ids and tokenizer.decode(ids) == text
    assert tokenizer.decode([0, *tokenizer.encode("diolch"), 0]) == "diolch"
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "bpe40.model",
        "bpe40.vocab",
    ]
    model_bytes = (tmp_path / "bpe40.model").read_bytes()
    reused = train_bpe_tokenizer(tmp_path, ["completely different text"], vocab_size=40)
    assert (tmp_path / "bpe40.model").read_bytes() == model_bytes
    assert reused.encode(WELSH[0]) == tokenizer.encode(WELSH[0])


def test_bpe_tokenizer_names_unknown_characters(tmp_path: Path):
    tokenizer = train_bpe_tokenizer(tmp_path, WELSH, vocab_size=40)
    with pytest.raises(ValueError, match=r"\['q', 't', 'u', 'ŵ'\]"):
        tokenizer.encode("ŵyr quite braf")
    with pytest.raises(ValueError, match="no transcripts"):
        train_bpe_tokenizer(tmp_path / "empty", ["", "  "])


def test_eer_and_min_dcf_on_hand_made_scores():
    # Threshold 0.5: one of four targets missed (0.3), one of four non-targets
    # accepted (0.75) -> EER 25 %. The cheapest operating point with
    # p_target = 0.01 accepts no non-target (threshold >= 0.75) and misses
    # two targets: 0.01 * 0.5 = 0.005.
    targets = torch.tensor([0.9, 0.8, 0.7, 0.3])
    non_targets = torch.tensor([0.1, 0.2, 0.4, 0.75])
    eer, threshold = equal_error_rate(targets, non_targets)
    assert eer == pytest.approx(25.0)
    assert 0.3 <= threshold < 0.75
    cost, threshold = min_detection_cost(targets, non_targets)
    assert cost == pytest.approx(0.005)
    assert 0.75 <= threshold < 0.8
    cost, _ = min_detection_cost(targets, non_targets, p_target=0.5)
    assert cost == pytest.approx(0.25)
    separated = equal_error_rate(torch.tensor([2.0, 3.0]), torch.tensor([0.0, 1.0]))
    assert separated[0] == 0.0
    swapped = equal_error_rate(torch.tensor([0.0, 1.0]), torch.tensor([2.0, 3.0]))
    assert swapped[0] == 100.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_eer_and_min_dcf_equal_speechbrain(seed: int):
    generator = torch.Generator().manual_seed(seed)
    targets = torch.randn(300, generator=generator) + 1.5
    non_targets = torch.randn(500, generator=generator)
    non_targets[:50] = targets[:50]  # ties between the two sets
    reference_eer, _ = EER(targets, non_targets)
    reference_dcf, _ = minDCF(targets, non_targets)
    assert equal_error_rate(targets, non_targets)[0] == pytest.approx(
        100 * reference_eer, abs=1e-9
    )
    assert min_detection_cost(targets, non_targets)[0] == pytest.approx(
        reference_dcf, abs=1e-9
    )


def test_verification_metrics_need_both_kinds_of_trial():
    with pytest.raises(ValueError, match="at least one target and one non-target"):
        equal_error_rate(torch.tensor([]), torch.tensor([0.1]))


def test_word_and_character_error_rates():
    references = ["the cat sat on the mat", "hello world"]
    hypotheses = ["the cat sat on mat", "hello there world"]
    # One deletion and one insertion over eight reference words.
    assert error_rate(references, hypotheses) == pytest.approx(25.0)
    assert error_rate(["abcd"], ["abxd"], unit="char") == pytest.approx(25.0)
    with pytest.raises(ValueError, match="unit must be"):
        error_rate(references, hypotheses, unit="phone")
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        error_rate(references, hypotheses[:1])


def test_accuracy_from_labels_or_scores():
    targets = torch.tensor([0, 1, 2, 2])
    assert accuracy(torch.tensor([0, 1, 1, 2]), targets) == pytest.approx(75.0)
    scores = torch.nn.functional.one_hot(targets, 3).float()
    assert accuracy(scores, targets) == pytest.approx(100.0)
    with pytest.raises(ValueError, match="same non-empty shape"):
        accuracy(torch.tensor([0, 1]), targets)
