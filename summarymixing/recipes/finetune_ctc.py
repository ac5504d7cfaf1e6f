"""Fine-tune an exported encoder for ASR with CTC over characters.

Usage
-----
Demo (no ``--data_folder``): the demo's pre-trained encoder
(``results/w2v2_SummaryMixing_demo/1986/encoder``, from ``python
recipes/pretrain.py hparams/w2v2_summarymixing.yaml``) fine-tuned on the
small synthetic LibriSpeech with the short schedule of
``hparams/finetune_demo.yaml`` (said in the log; command-line keys win)::

    python recipes/finetune_ctc.py hparams/finetune_ctc.yaml --device cpu

Real data, one GPU, fairseq's BASE 10 h schedule (the YAML's defaults) on
Libri-Light's 10 h set, tested on LibriSpeech's dev and test splits (split
names: LibriSpeech folders, ``10min``/``1h``/``10h``, or ``wav,wrd`` CSV
files; :mod:`summarymixing.finetune.data`)::

    python recipes/finetune_ctc.py hparams/finetune_ctc.yaml \
        --encoder_folder results/w2v2_SummaryMixing/1986/encoder \
        --data_folder /data/LibriSpeech --train_splits "[10h]" \
        --limited_resource_folder /data/librispeech_finetuning

Prints the test WER and CER of every test split and writes them to
``<output_folder>/result.json`` in the MP3S results format (the first test
split as ``WER``/``CER``, the others as ``WER_<split>``...; ``probe``
``finetune_ctc``) and, with the decoding, step count and bad-audio counts, to
``finetune.json`` (not ``run.json``: MP3S run folders keep their identity
there); ``wer_<split>.txt`` holds the alignments.
The tested checkpoint is exported to ``<output_folder>/asr``
(:func:`summarymixing.finetune.load_asr` transcribes files with it).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.distributed import if_main_process, run_on_main

from summarymixing.atomic_files import write_json_atomically
from summarymixing.data.bad_audio import TooManyBadFilesError
from summarymixing.data.loaders import loader_options
from summarymixing.data.pipeline import make_dynamic_batch_sampler
from summarymixing.export import load_encoder, read_encoder_json
from summarymixing.finetune import (
    CTCFineTuneBrain,
    CTCFineTuner,
    DecodingOptions,
    export_asr,
    prepare_splits,
)
from summarymixing.finetune.data import split_label
from summarymixing.mp3s.corpora.datasets import (
    UnreadableAudioError,
    add_token_targets,
    audio_dataset,
    check_transcripts,
)
from summarymixing.mp3s.run.tasks import RESULT_FILE, ProbeResult, write_result
from summarymixing.mp3s.scoring.tokenizers import TOKENIZERS, make_tokenizer
from summarymixing.resources import hparams_folder
from summarymixing.training.checkpointer import AtomicCheckpointer
from summarymixing.training.config import (
    configured_value,
    load_yaml,
    merged_overrides,
)
from summarymixing.training.distributed import (
    ProcessGroupError,
    close_process_group,
    init_process_group,
    replica_divergence,
    unwrap,
    world_size,
)
from summarymixing.training.run_options import parse_arguments
from summarymixing.training.trackers import check_tracker_name

logger = logging.getLogger(__name__)
DEMO_ENCODER = Path("results/w2v2_SummaryMixing_demo/1986/encoder")
DEMO_KEYS = hparams_folder() / "finetune_demo.yaml"
FACTS_FILE = "finetune.json"
"""Per-split metrics, decoding, steps and bad-audio counts of a run."""


def load_configuration(argv: list[str]) -> tuple[dict, dict, object, Path]:
    """Parse, check and load the YAML: (hparams, overrides, run_opts, base file)."""
    hparams_file, run_opts, cli = parse_arguments(argv)
    cli = load_yaml(cli) or {}
    if configured_value(hparams_file, cli, "data_folder") is None:
        logger.info("No --data_folder: DEMO keys of %s apply", DEMO_KEYS)
        cli = {**load_yaml(DEMO_KEYS.read_text()), **cli}
        if "output_folder" not in cli:  # not the folder a real-data run uses
            seed = configured_value(hparams_file, cli, "seed")
            cli["output_folder"] = f"results/finetune_ctc_demo/{seed}"
    if run_opts["optimizer_step_limit"] is not None:  # a run option, and the
        cli["optimizer_step_limit"] = run_opts["optimizer_step_limit"]  # schedule's
    base, overrides = merged_overrides(hparams_file, cli)
    with open(base, encoding="utf-8") as stream:
        hparams = load_hyperpyyaml(stream, overrides)
    check_tracker_name(hparams["experiment_tracker"])
    if hparams["validation_metric"] not in ("WER", "CER"):
        raise ValueError(
            f"validation_metric {hparams['validation_metric']!r}: choose WER or CER"
        )
    if hparams["tokenizer"] not in TOKENIZERS:
        raise ValueError(
            f"tokenizer {hparams['tokenizer']!r}: choose one of {', '.join(TOKENIZERS)}"
        )
    folder = Path(hparams["encoder_folder"] or DEMO_ENCODER)
    if hparams["encoder_folder"] is None and not folder.is_dir():
        raise FileNotFoundError(
            f"no --encoder_folder, and the demo's encoder {folder} does not exist: "
            "run python recipes/pretrain.py hparams/w2v2_summarymixing.yaml first, "
            "or pass --encoder_folder"
        )
    if read_encoder_json(folder)["kind"] == "fbank":
        raise ValueError(
            f"{folder} holds the FBANK baseline, which has no encoder to fine-tune"
        )
    hparams["encoder_folder"] = str(folder)
    return hparams, overrides, run_opts, base


def build_model(hparams: dict, vocab_size: int) -> CTCFineTuner:
    """Load the encoder folder, set its layerdrop, add the CTC head."""
    encoder = load_encoder(hparams["encoder_folder"])  # checked: not FBANK
    for module in encoder.modules():
        if hasattr(module, "layerdrop_prob"):
            module.layerdrop_prob = hparams["layerdrop_prob"]
    return CTCFineTuner(
        encoder,
        vocab_size,
        mask_prob=hparams["mask_prob"],
        mask_length=hparams["mask_length"],
        channel_mask_prob=hparams["channel_mask_prob"],
        channel_mask_length=hparams["channel_mask_length"],
        final_dropout=hparams["final_dropout"],
        train_frontend=hparams["train_frontend"],
    )


def main(argv: list[str] | None = None) -> None:
    """Fine-tune, test every test split, export; print and write the results."""
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s - %(message)s")
    try:  # everything a user can get wrong fails here, before training
        hparams, overrides, run_opts, base = load_configuration(argv)
        init_process_group(run_opts["distributed_backend"], hparams["ddp_timeout_s"])
        run_on_main(prepare_splits, args=[hparams])  # then read by every rank
        manifests = prepare_splits(hparams)
        run = set_up(hparams, overrides, run_opts, base, manifests)
    except (ValueError, FileNotFoundError, ImportError, TooManyBadFilesError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except ProcessGroupError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    try:
        results = train_and_test(hparams, *run)
    except (TooManyBadFilesError, UnreadableAudioError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    divergence = replica_divergence(run[0].modules.model)
    if world_size() > 1:
        logger.info("Replica check: max parameter difference across %d ranks = %g",
                    world_size(), divergence)  # fmt: skip
    if if_main_process():
        write_results(hparams, run[0], run[3], results)
    close_process_group()


def build_tokenizer(hparams: dict, transcripts: list[str]):
    """Return the run's tokenizer (built once by the main process, then read)."""
    folder = Path(hparams["output_folder"]) / "tokenizer"
    options = [hparams["tokenizer"], folder, transcripts, hparams["bpe_vocab_size"]]
    run_on_main(make_tokenizer, args=options)
    return make_tokenizer(*options)


def transcript_rows(dataset) -> list[dict[str, str]]:
    """``ID`` and ``wrd`` of every utterance of a dataset."""
    return [{"ID": key, "wrd": row["wrd"]} for key, row in dataset.data.items()]


def set_up(hparams: dict, overrides: dict, run_opts, base: Path, manifests: dict):
    """Build datasets, tokenizer, model and Brain: (brain, train, evaluated, tokenizer).

    Raises the user's errors (see :func:`main`) before any training.
    """
    sb.create_experiment_directory(
        hparams["output_folder"], hyperparams_to_save=str(base), overrides=overrides
    )
    train_manifests = [manifests[name] for name in hparams["train_splits"]]
    train = audio_dataset(train_manifests, ["wrd", "tokens"])
    transcripts = [row["wrd"] for row in train.data.values()]
    tokenizer = build_tokenizer(hparams, transcripts)
    check_transcripts(tokenizer, transcript_rows(train), "train")
    add_token_targets(train, tokenizer, strict=True)
    evaluated = {}
    for name in [hparams["valid_split"], *hparams["test_splits"]]:
        evaluated[name] = audio_dataset(manifests[name], ["wrd", "tokens"])
        check_transcripts(tokenizer, transcript_rows(evaluated[name]), name)
        add_token_targets(evaluated[name], tokenizer, strict=False)
    model = build_model(hparams, tokenizer.vocab_size)
    checkpointer = AtomicCheckpointer(
        hparams["save_folder"],
        recoverables={
            "model": model,
            "counter": hparams["epoch_counter"],
            "encoder_lr_schedule": hparams["encoder_lr_schedule"],
            "head_lr_schedule": hparams["head_lr_schedule"],
        },
    )
    brain = CTCFineTuneBrain(
        {"model": model}, tokenizer, hparams, run_opts, checkpointer
    )
    brain.bad_audio.add_prepared(train_manifests)
    return brain, train, evaluated, tokenizer


def train_and_test(
    hparams: dict, brain: CTCFineTuneBrain, train, evaluated: dict, tokenizer
) -> dict[str, dict[str, float]]:
    """Fine-tune, then test the best checkpoint on every test split."""
    sampler = make_dynamic_batch_sampler(
        train, hparams["max_batch_length"], hparams["num_buckets"], seed=hparams["seed"]
    )
    brain.train_sampler = sampler  # set_epoch each epoch: resumes are exact
    brain.fit(
        hparams["epoch_counter"],
        train,
        evaluated[hparams["valid_split"]],
        train_loader_kwargs=loader_options(
            train, seed=hparams["seed"], batch_sampler=sampler,
            num_workers=hparams["num_workers"],
        ),
        valid_loader_kwargs=loader_options(
            evaluated[hparams["valid_split"]], seed=hparams["seed"],
            batch_size=hparams["test_batch_size"],
        ),
    )  # fmt: skip
    brain.step_log.close()
    results = {}
    for name in hparams["test_splits"]:
        options = loader_options(
            evaluated[name], seed=hparams["seed"], batch_size=hparams["test_batch_size"]
        )
        results[name] = brain.evaluate_split(name, evaluated[name], options)
        print(f"{name}: WER {results[name]['WER']:.2f} CER {results[name]['CER']:.2f}")
    logger.info(brain.bad_audio.summary())
    return results


def mp3s_metrics(results: dict[str, dict[str, float]]) -> dict[str, float]:
    """Flatten per-split metrics the MP3S way: the first split's bare names.

    Example
    -------
    >>> mp3s_metrics({"test-clean": {"WER": 9.0}, "test-other": {"WER": 20.0}})
    {'WER': 9.0, 'WER_test-other': 20.0}
    """
    flat = {}
    for index, (name, values) in enumerate(results.items()):
        suffix = "" if index == 0 else f"_{split_label(name)}"
        flat |= {f"{metric}{suffix}": value for metric, value in values.items()}
    return flat


def write_results(hparams: dict, brain: CTCFineTuneBrain, tokenizer, results) -> None:
    """Write ``result.json`` (MP3S format), ``finetune.json``; export the ASR folder."""
    output = Path(hparams["output_folder"])
    result = ProbeResult(
        "asr", "finetune_ctc", mp3s_metrics(results), "WER", [], output.resolve()
    )
    write_result(result)
    facts = {
        "encoder_folder": hparams["encoder_folder"],
        "optimizer_steps": brain.optimizer_step,
        "decoding": vars(DecodingOptions.from_hparams(hparams)),
        "bad_audio": {
            "left_out_at_preparation": sum(brain.bad_audio.prepared_left_out.values()),
            "skipped_in_training": brain.bad_audio.num_skipped,
        },
        "metrics": results,
    }
    write_json_atomically(output / FACTS_FILE, facts)
    print(f"Result: {output / RESULT_FILE}")
    folder = export_asr(
        hparams["export_folder"],
        unwrap(brain.modules.model),
        tokenizer,
        hparams["encoder_folder"],
        {"optimizer_steps": brain.optimizer_step, "test_metrics": results},
    )
    print(f"ASR model: {folder} (summarymixing.finetune.load_asr)")


if __name__ == "__main__":
    main()
