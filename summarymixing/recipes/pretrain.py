"""wav2vec 2.0 pre-training with SummaryMixing (or attention, for the baseline).

Usage
-----
Demo on synthetic speech (no download, a small model, about 13 min on 2 CPU
cores, corpus included)::

    python recipes/pretrain.py hparams/w2v2_summarymixing.yaml

The same from any folder once the package is installed (a YAML path that does
not exist there names the file shipped in the package)::

    summarymixing-pretrain hparams/w2v2_summarymixing.yaml
    python -m summarymixing.recipes.pretrain hparams/w2v2_summarymixing.yaml

Real data, one GPU, the paper configuration::

    python recipes/pretrain.py hparams/w2v2_summarymixing.yaml \
        --data_folder /data/librilight/medium \
        --valid_folder /data/LibriSpeech

Several GPUs, or several nodes (run on each node)::

    torchrun --nproc_per_node=4 recipes/pretrain.py hparams/w2v2_summarymixing.yaml \
        --data_folder /data/librilight/medium --valid_folder /data/LibriSpeech
    torchrun --nnodes=2 --nproc_per_node=4 --rdzv_backend=c10d \
        --rdzv_endpoint=HOST:29400 --rdzv_id=w2v2 recipes/pretrain.py ...

``--dump_config`` prints the fully resolved YAML that would run (the variant's
``extends``, the demo keys and the command line applied: plain hyperpyyaml,
as SpeechBrain's tools read it) and exits; the output folder's
``hyperparams.yaml`` holds the same for a run.

On CPU-only machines add ``--device cpu --distributed_backend gloo --precision
fp32`` (the paper configuration trains in fp16).
The attention baseline is ``hparams/w2v2_mhsa.yaml``, everything else equal.

The untrained baseline of MP3S (the same encoder before any step)::

    python recipes/pretrain.py hparams/w2v2_summarymixing.yaml --optimizer_step_limit 0

exports the freshly initialised encoder (seed ``--seed``, the very state a
training run starts from) to ``<output_folder>/encoder`` and exits, before any
data preparation; the demo model keys of ``hparams/demo.yaml`` apply when no
``--data_folder`` is given, as for training.
"""

import logging
import sys
from pathlib import Path

import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml, resolve_references
from speechbrain.utils.distributed import get_rank, if_main_process, run_on_main

from summarymixing.data.bad_audio import (
    SkipBadAudio,
    TooManyBadFilesError,
)
from summarymixing.data.loaders import loader_options
from summarymixing.data.pipeline import (
    make_dynamic_batch_sampler,
    make_pretraining_dataset,
)
from summarymixing.data.pretraining_data import prepare_pretraining_manifests
from summarymixing.export import export_encoder, export_initial_state
from summarymixing.resources import hparams_folder
from summarymixing.training.checkpointer import DamagedCheckpointsError
from summarymixing.training.config import (
    configured_value,
    load_yaml,
    merged_overrides,
)
from summarymixing.training.distributed import (
    ProcessGroupError,
    close_process_group,
    exit_on_lost_peer,
    init_process_group,
    replica_divergence,
    unwrap,
    world_size,
)
from summarymixing.training.pretrain_brain import PretrainBrain
from summarymixing.training.quality_monitor import make_quality_monitor
from summarymixing.training.run_options import parse_arguments
from summarymixing.training.step_log import effective_batch_hours
from summarymixing.training.storage_errors import exit_on_storage_error
from summarymixing.training.trackers import check_tracker_name
from summarymixing.training.worst_case import describe, heaviest_batches

logger = logging.getLogger(__name__)
DUMP_FLAG = "--dump_config"
DEMO_OVERRIDES = hparams_folder() / "demo.yaml"


def load_configuration(argv):
    """Parse the command line; fall back to the demo when no data is given."""
    hparams_file, run_opts, cli = parse_arguments(argv)
    cli = load_yaml(cli) or {}
    demo = configured_value(hparams_file, cli, "data_folder") is None
    if demo:
        cli = {**load_yaml(DEMO_OVERRIDES.read_text()), **cli}
        if "output_folder" not in cli:  # not the folder a real-data run uses
            attention = configured_value(hparams_file, cli, "attention_type")
            seed = configured_value(hparams_file, cli, "seed")
            cli["output_folder"] = f"results/w2v2_{attention}_demo/{seed}"
    if run_opts["optimizer_step_limit"] is not None:
        cli["optimizer_step_limit"] = run_opts["optimizer_step_limit"]
    base, overrides = merged_overrides(hparams_file, cli)
    check_tracker_name(configured_value(hparams_file, cli, "experiment_tracker"))
    return base, overrides, run_opts, demo


def resolved_configuration(base: Path, overrides: dict) -> str:
    """Return the YAML that runs: base, variant, demo keys and CLI, resolved.

    Plain hyperpyyaml (no ``extends``, every override applied, references
    resolved), as SpeechBrain's own tools read it; ``--dump_config`` prints it.
    """
    with open(base, encoding="utf-8") as stream:
        return resolve_references(stream, overrides).getvalue()


def demo_announcement(yaml_file: str, base: Path, overrides: dict) -> str:
    """Say which YAML and model a run without ``--data_folder`` runs, and why.

    Printed before anything else, so that a user who reads the YAML knows
    that the model which runs is the demo's.

    Example
    -------
    >>> from summarymixing.resources import hparams_folder
    >>> base, overrides = merged_overrides(
    ...     hparams_folder() / "w2v2_summarymixing.yaml",
    ...     {**load_yaml(DEMO_OVERRIDES.read_text()), "output_folder": "out"},
    ... )
    >>> print(demo_announcement("hparams/w2v2_summarymixing.yaml", base, overrides))
    DEMO (no --data_folder): hparams/w2v2_summarymixing.yaml with the small model and
    schedule of hparams/demo.yaml (SummaryMixing, 3 layers, d_model 96, 4000 steps)
    on 3 h of synthetic speech, into out. Pass --data_folder to run the YAML's own
    model on your data.
    """
    keys = {
        key: configured_value(base, overrides, key)
        for key in ("attention_type", "num_layers", "d_model", "optimizer_step_limit")
    }
    hours = configured_value(base, overrides, "demo_hours")
    return (
        f"DEMO (no --data_folder): {yaml_file} with the small model and\n"
        f"schedule of hparams/demo.yaml ({keys['attention_type']}, "
        f"{keys['num_layers']} layers, d_model {keys['d_model']}, "
        f"{keys['optimizer_step_limit']} steps)\n"
        f"on {hours:g} h of synthetic speech, into "
        f"{overrides.get('output_folder', 'the output folder')}. Pass "
        "--data_folder to run the YAML's own\nmodel on your data."
    )


def build_demo_corpus(hparams):
    """Synthesise the demo corpora; return (train folder, validation root).

    ``demo_hours`` of Libri-Light (speakers and sentences apart from the
    LibriSpeech held-out splits) and the small LibriSpeech, which validates
    and feeds the quality monitor.
    """
    from summarymixing.data.synthetic import build_corpus

    root = Path(hparams["output_folder"]).parent / "demo_corpus"
    hours = hparams["demo_hours"]
    train = build_corpus("librilight", root / f"{hours:g}h", seed=0, hours=hours)
    valid = build_corpus("librispeech", root, size="small", seed=0)
    return train, valid


def main(argv: list[str] | None = None) -> None:
    """Read the configuration; export the initial state or pre-train."""
    argv = sys.argv[1:] if argv is None else argv
    dump = DUMP_FLAG in argv
    argv = [argument for argument in argv if argument != DUMP_FLAG]
    yaml_file = argv[0] if argv else "hparams/w2v2_summarymixing.yaml"
    try:
        base, overrides, run_opts, demo = load_configuration(argv)
        if dump:
            print(resolved_configuration(base, overrides), end="")
            return
        if demo and get_rank() in (None, 0):
            print(demo_announcement(yaml_file, base, overrides), flush=True)
        if run_opts["optimizer_step_limit"] == 0:  # the initial state, no data
            if get_rank() in (None, 0):
                folder, seed = export_initial_state(base, overrides)
                model = "the demo model of hparams/demo.yaml" if demo else "the model"
                print(
                    f"Exported the untrained encoder ({model}, seed {seed}, no "
                    f"training): {folder} (summarymixing.export.load_encoder)"
                )
            return
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    output = overrides.get("output_folder", "the output folder")
    with exit_on_storage_error(str(output)), exit_on_lost_peer():
        pretrain(base, overrides, run_opts, demo, yaml_file)


def pretrain(
    base: Path, overrides: dict, run_opts: dict, demo: bool, yaml_file: str
) -> None:
    """Load the model, prepare data, pre-train, export the encoder."""
    timeout_s = configured_value(base, overrides, "ddp_timeout_s")
    try:
        init_process_group(run_opts["distributed_backend"], timeout_s)
    except ProcessGroupError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    with open(base) as stream:
        hparams = load_hyperpyyaml(stream, overrides)
    try:  # before the folder's hyperparams.yaml is overwritten
        hparams["checkpointer"].check_matches()
    except (ValueError, DamagedCheckpointsError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    sb.create_experiment_directory(
        hparams["output_folder"], hyperparams_to_save=str(base), overrides=overrides
    )
    hparams["checkpointer"].log_removed()
    if demo:
        logger.info(
            "No --data_folder: DEMO on synthetic speech with the small model and "
            "schedule of %s (the paper configuration is used with real data).",
            DEMO_OVERRIDES,
        )
        run_on_main(build_demo_corpus, args=[hparams])
        train_folder, valid_root = build_demo_corpus(hparams)
        hparams["data_folder"], hparams["valid_folder"] = train_folder, valid_root

    prepare_kwargs = dict(
        data_folder=hparams["data_folder"],
        data_layout=hparams["data_layout"],
        prepared_folder=hparams["prepared_folder"],
        train_splits=hparams["train_splits"],
        valid_folder=hparams["valid_folder"],
        valid_split=hparams["valid_split"],
        min_piece_s=hparams["min_piece_seconds"],
        max_piece_s=hparams["max_piece_seconds"],
    )
    run_on_main(prepare_pretraining_manifests, kwargs=prepare_kwargs)
    train_manifests, valid_manifest = prepare_pretraining_manifests(**prepare_kwargs)

    item_limits = dict(
        min_duration_s=hparams["min_utterance_seconds"],
        max_duration_s=hparams["max_utterance_seconds"],
        silence_rms_threshold=hparams["silence_rms_threshold"],
    )
    train_set = make_pretraining_dataset(train_manifests, **item_limits)
    valid_set = None
    if valid_manifest is not None:
        valid_set = make_pretraining_dataset(valid_manifest, **item_limits)
    sampler = make_dynamic_batch_sampler(
        train_set,
        hparams["max_batch_length"],
        num_buckets=hparams["num_buckets"],
        seed=hparams["seed"],
    )

    brain = PretrainBrain(
        modules=hparams["modules"],
        opt_class=hparams["optimizer"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    tracker = brain.bad_audio
    try:
        tracker.add_prepared(train_manifests)
        tracker.add_duration_limits(train_set.left_out_by_duration)
    except TooManyBadFilesError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    brain.train_sampler = sampler
    brain.quality_monitor = make_quality_monitor(hparams)
    if brain.quality_monitor is not None:
        brain.monitor_interval = hparams["monitor_interval"]
        hparams["checkpointer"].add_recoverable(
            "quality_monitor", brain.quality_monitor
        )
    if hparams["try_heaviest_batches"]:
        collate = SkipBadAudio(train_set)
        brain.heaviest_batches = [
            (describe(indices, sampler), collate([train_set[i] for i in indices]))
            for indices in heaviest_batches(sampler)
        ]
    world = world_size()
    if world > 1 and len(sampler) < 2 * world:
        raise ValueError(
            f"{len(sampler)} batches for {world} processes: SpeechBrain's "
            "DistributedSamplerWrapper needs at least 2 per process. Lower "
            "--max_batch_length or use more data."
        )
    logger.info(
        "Effective batch: %.3f h of audio per update (%s s x %d processes x %d "
        "accumulation); %d training files",
        effective_batch_hours(
            hparams["max_batch_length"], world, brain.grad_accumulation_factor
        ),
        hparams["max_batch_length"],
        world,
        brain.grad_accumulation_factor,
        len(train_set),
    )
    try:
        brain.fit(
            hparams["epoch_counter"],
            train_set,
            valid_set,
            train_loader_kwargs=loader_options(
                train_set,
                seed=hparams["seed"],
                batch_sampler=sampler,
                num_workers=hparams["num_workers"],
            ),
            valid_loader_kwargs=loader_options(
                valid_set, seed=hparams["seed"], batch_size=4
            ),
        )
    except TooManyBadFilesError as error:
        print(
            f"error: {error} The last checkpoint in {hparams['save_folder']} is "
            "kept: the same command resumes from it.",
            file=sys.stderr,
        )
        sys.exit(1)
    finally:
        brain.step_log.close()
    logger.info("end of the run: %s", tracker.summary())

    divergence = replica_divergence(brain.modules.pretrainer)
    if world > 1:
        logger.info(
            "Replica check: max parameter difference across %d ranks = %g",
            world,
            divergence,
        )
    if if_main_process():
        pretrainer = unwrap(brain.modules.pretrainer)
        folder = export_encoder(
            hparams["export_folder"],
            base,
            overrides,
            pretrainer.frontend,
            pretrainer.encoder_wrapper,
            {
                "attention_type": hparams["attention_type"],
                "mode": hparams["mode"],
                "d_model": hparams["d_model"],
                "num_layers": hparams["num_layers"],
                "num_hidden_states": hparams["num_layers"] + 1,
                "sample_rate": hparams["sample_rate"],
                "optimizer_steps": brain.optimizer_step,
            },
        )
        trend = brain.step_log.trend("accuracy")
        if trend:
            print(f"Contrastive {trend}")
        verdict = brain.quality_monitor and brain.quality_monitor.verdict()
        if verdict:
            print(verdict)
        print(f"Checkpoints: {hparams['save_folder']}")
        print(f"Exported encoder: {folder} (summarymixing.export.load_encoder)")
        if demo:
            print(
                f"Real data: python recipes/pretrain.py {yaml_file} "
                "--data_folder /path/to/librilight/medium "
                "--valid_folder /path/to/LibriSpeech"
            )
    close_process_group()


if __name__ == "__main__":
    main()
