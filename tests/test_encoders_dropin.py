"""A SpeechBrain user's scenario: swap the encoder's ``!new:`` target and train.

``tests/yaml/asr_dropin.yaml`` is a small Fbank -> Linear -> Conformer -> CTC
model wired as in SpeechBrain's recipes. The data are tone sequences: each of six
symbols is a tone of its own frequency, so the model has something to learn.
"""

from pathlib import Path

import speechbrain as sb
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.dataio.dataset import DynamicItemDataset
from speechbrain.lobes.models.transformer.TransformerASR import (
    make_transformer_src_tgt_masks,
)

YAML_PATH = Path(__file__).parent / "yaml" / "asr_dropin.yaml"
OUR_TARGET = "!new:summarymixing.ConformerEncoder"
SPEECHBRAIN_TARGET = (
    "!new:speechbrain.lobes.models.transformer.Conformer.ConformerEncoder"
)
SAMPLE_RATE = 16000
TONE_SECONDS = 0.08


def tone_sequence(tokens, generator):
    """One tone per token (token k -> 200 + 200k Hz), with a little noise."""
    time = torch.arange(int(TONE_SECONDS * SAMPLE_RATE)) / SAMPLE_RATE
    tones = [torch.sin(2 * torch.pi * (200 + 200 * k) * time) for k in tokens]
    wav = torch.cat(tones)
    return 0.5 * wav + 0.01 * torch.randn(wav.shape, generator=generator)


def tone_dataset():
    generator = torch.Generator().manual_seed(0)
    data = {}
    for index in range(6):
        length = 3 + index % 4
        tokens = torch.randint(1, 7, (length,), generator=generator)
        data[f"utt{index}"] = {
            "sig": tone_sequence(tokens.tolist(), generator),
            "tokens": tokens,
        }
    dataset = DynamicItemDataset(data)
    dataset.set_output_keys(["id", "sig", "tokens"])
    return dataset


class CTCBrain(sb.Brain):
    """Fbank -> normalisation -> Linear -> encoder -> Linear -> CTC."""

    def compute_forward(self, batch, stage):
        batch = batch.to(self.device)
        wavs, wav_lens = batch.sig
        feats = self.modules.normalize(self.hparams.compute_features(wavs), wav_lens)
        src = self.modules.input_proj(feats)
        padding, _, _, _ = make_transformer_src_tgt_masks(src, wav_len=wav_lens)
        encoded, _ = self.modules.encoder(src, src_key_padding_mask=padding)
        return self.hparams.log_softmax(self.modules.ctc_lin(encoded)), wav_lens

    def compute_objectives(self, predictions, batch, stage):
        log_probs, wav_lens = predictions
        tokens, token_lens = batch.tokens
        return self.hparams.ctc_cost(log_probs, tokens, wav_lens, token_lens)

    def on_stage_end(self, stage, stage_loss, epoch=None):
        self.hparams.stage_losses.append(stage_loss)


def load_hparams(target=OUR_TARGET, overrides=None):
    text = YAML_PATH.read_text()
    assert OUR_TARGET in text
    return load_hyperpyyaml(text.replace(OUR_TARGET, target), overrides or {})


def test_yaml_trains_with_our_encoder_as_the_drop_in():
    torch.set_num_threads(2)
    hparams = load_hparams()
    hparams["stage_losses"] = []
    brain = CTCBrain(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts={"device": "cpu", "noprogressbar": True},
    )
    brain.fit(
        hparams["epoch_counter"], tone_dataset(), train_loader_kwargs={"batch_size": 6}
    )
    losses = hparams["stage_losses"]
    assert len(losses) == hparams["number_of_epochs"]
    assert all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-5:]) / 5 < 0.3 * sum(losses[:5]) / 5


def test_same_yaml_with_speechbrains_target_builds_the_same_model():
    overrides = {"attention_type": "regularMHA"}
    ours = load_hparams(overrides=overrides)["encoder"].eval()
    speechbrain_encoder = load_hparams(SPEECHBRAIN_TARGET, overrides)["encoder"].eval()
    ours.load_state_dict(speechbrain_encoder.state_dict(), strict=True)
    x = torch.randn(2, 30, 64)
    torch.testing.assert_close(
        ours(x)[0], speechbrain_encoder(x)[0], atol=1e-5, rtol=1e-5
    )
