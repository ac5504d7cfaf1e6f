"""The exported ASR folder: load_asr(folder).transcribe(paths), any rate, batched."""

import json

import pytest
import torch
from test_pretrain_recipe import TINY

from summarymixing.data.audio import load_audio, write_audio
from summarymixing.export import export_untrained, load_encoder
from summarymixing.finetune import (
    CTCFineTuner,
    DecodingOptions,
    export_asr,
    load_asr,
    read_asr_json,
)
from summarymixing.mp3s.scoring.tokenizers import (
    CharacterTokenizer,
    train_bpe_tokenizer,
)

YAML = "hparams/w2v2_summarymixing.yaml"


@pytest.fixture(scope="module")
def encoder_folder(tmp_path_factory):
    model = {k: v for k, v in TINY.items() if k != "data_layout"}
    model = {k: json.loads(v) if isinstance(v, str) and v.startswith("[") else v
             for k, v in model.items()}  # fmt: skip
    return export_untrained(tmp_path_factory.mktemp("encoder"), YAML, model, 0)


def tuned_model(encoder_folder, vocab_size: int) -> CTCFineTuner:
    torch.manual_seed(0)
    model = CTCFineTuner(load_encoder(encoder_folder), vocab_size)
    with torch.no_grad():  # "fine-tuned": every weight moved, the head sharp
        for parameter in model.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
        model.head.weight.mul_(50.0)
    return model.eval()


@pytest.fixture(scope="module")
def audio_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audio")
    generator = torch.Generator().manual_seed(1)
    paths = []
    for index, (seconds, rate) in enumerate([(1.3, 16000), (0.6, 8000), (2.1, 44100)]):
        signal = 0.1 * torch.randn(int(seconds * rate), generator=generator)
        path = folder / f"utt{index}.{'flac' if rate == 16000 else 'wav'}"
        write_audio(path, signal, rate)
        paths.append(path)
    stereo = 0.1 * torch.randn(2, 16000, generator=generator)
    write_audio(folder / "stereo.wav", stereo, 16000)
    return [*paths, folder / "stereo.wav"]


def test_a_folder_transcribes_like_the_model_it_was_exported_from(
    encoder_folder, audio_files, tmp_path
):
    tokenizer = CharacterTokenizer([" ", "A", "B", "C", "D"])
    model = tuned_model(encoder_folder, tokenizer.vocab_size)
    folder = export_asr(tmp_path / "asr", model, tokenizer, encoder_folder,
                        {"optimizer_steps": 7})  # fmt: skip
    meta = read_asr_json(folder)
    assert (
        meta["optimizer_steps"] == 7
        and meta["tokenizer"] == "tokenizer/characters.json"
    )
    assert (
        json.loads((folder / "encoder" / "encoder.json").read_text())["fine_tuned"]
        == "ctc"
    )
    asr = load_asr(folder)
    texts = asr.transcribe(audio_files, batch_size=3)
    assert texts == [asr.transcribe([path], batch_size=1)[0] for path in audio_files]
    assert any(texts) and all(set(text) <= set(" ABCD") for text in texts)
    for path, text in zip(audio_files, texts, strict=True):  # the original model
        signal = load_audio(path)[None]
        with torch.no_grad():
            logits, padding = model(signal, torch.ones(1))
        assert asr.decoder(logits, padding) == [text]


def test_padding_does_not_change_the_outputs(encoder_folder, audio_files, tmp_path):
    tokenizer = CharacterTokenizer([" ", "A", "B"])
    model = tuned_model(encoder_folder, tokenizer.vocab_size)
    asr = load_asr(export_asr(tmp_path / "asr", model, tokenizer, encoder_folder, {}))
    signals = [load_audio(path) for path in audio_files]
    longest = max(len(s) for s in signals)
    wavs = torch.stack(
        [torch.nn.functional.pad(s, (0, longest - len(s))) for s in signals]
    )
    lengths = torch.tensor([len(s) / longest for s in signals])
    with torch.no_grad():
        batch, padding = asr.model(wavs, lengths)
        for row, signal in enumerate(signals):
            alone, _ = asr.model(signal[None], torch.ones(1))
            real = (~padding[row]).sum()
            assert real == alone.shape[1]
            torch.testing.assert_close(
                batch[row, :real], alone[0], atol=1e-4, rtol=1e-4
            )


def test_a_bpe_model_and_beam_search_load_from_the_folder(
    encoder_folder, audio_files, tmp_path
):
    tokenizer = train_bpe_tokenizer(tmp_path / "bpe", ["AB BA CAB", "BAD CAB"] * 10, 20)
    model = tuned_model(encoder_folder, tokenizer.vocab_size)
    folder = export_asr(tmp_path / "asr", model, tokenizer, encoder_folder, {})
    greedy = load_asr(folder).transcribe(audio_files)
    beam = load_asr(folder, decoding=DecodingOptions("beam", beam_size=4))
    assert len(beam.transcribe(audio_files)) == len(greedy) == len(audio_files)
    assert read_asr_json(folder)["tokenizer"] == "tokenizer/bpe20.model"


def test_wrong_folders_are_named_with_the_fix(encoder_folder, tmp_path):
    with pytest.raises(
        FileNotFoundError, match="it is an encoder folder, which has no"
    ):
        load_asr(encoder_folder)
    with pytest.raises(FileNotFoundError, match="not a fine-tuned summarymixing ASR"):
        load_asr(tmp_path)
    tokenizer = CharacterTokenizer([" ", "A"])
    folder = export_asr(tmp_path / "asr", tuned_model(encoder_folder, 3), tokenizer,
                        encoder_folder, {})  # fmt: skip
    CharacterTokenizer([" ", "A", "B"]).save(folder / "tokenizer" / "characters.json")
    with pytest.raises(ValueError, match="ctc_head.safetensors does not match"):
        load_asr(folder)


def test_the_transcribe_program_prints_each_file_or_one_message(
    encoder_folder, audio_files, tmp_path, capsys
):
    from summarymixing.recipes.transcribe import main

    tokenizer = CharacterTokenizer([" ", "A", "B"])
    model = tuned_model(encoder_folder, tokenizer.vocab_size)
    folder = export_asr(tmp_path / "asr", model, tokenizer, encoder_folder, {})
    main([str(folder), *map(str, audio_files[:2]), "--batch_size", "2"])
    lines = capsys.readouterr().out.splitlines()
    expected = load_asr(folder).transcribe(audio_files[:2])
    assert lines == [
        f"{p}\t{t}" for p, t in zip(audio_files[:2], expected, strict=True)
    ]
    (tmp_path / "empty.wav").write_bytes(b"")
    for arguments, message in [
        ([str(folder), str(tmp_path / "empty.wav")], "empty.wav: empty file"),
        ([str(encoder_folder), str(audio_files[0])], "it is an encoder folder"),
        ([str(folder), str(audio_files[0]), "--decoding", "beam", "--lm_file",
          str(tmp_path / "none.arpa")], "none.arpa does not exist"),
    ]:  # fmt: skip
        with pytest.raises(SystemExit) as stopped:
            main(arguments)
        assert stopped.value.code == 2
        assert message in capsys.readouterr().err
