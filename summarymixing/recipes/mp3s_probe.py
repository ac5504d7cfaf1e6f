"""MP3S probing of a frozen encoder on one task with one probe.

The YAML file names the task and the probe (``hparams/mp3s/<task>_<probe>.yaml``,
published hyper-parameters); everything else is
:func:`summarymixing.mp3s.run.tasks.run_probe`, whose ``result.json`` lands in the
output folder. Re-running the same command resumes from the last checkpoint.

Usage
-----
One GPU::

    python recipes/mp3s_probe.py hparams/mp3s/librispeech_bilstm.yaml \
        --encoder_folder results/w2v2_SummaryMixing/1986/encoder \
        --data_folder /data/LibriSpeech \
        --output_folder results/mp3s/librispeech_bilstm

Several GPUs (the batch size is per process)::

    torchrun --nproc_per_node=4 recipes/mp3s_probe.py \
        hparams/mp3s/voxceleb1_ecapa.yaml --encoder_folder ENC \
        --data_folder /data/VoxCeleb1 --output_folder results/mp3s/voxceleb1_ecapa

Any YAML key can be overridden (``--fold 3`` for IEMOCAP, ``--number_of_epochs
1``); on CPU-only machines add ``--device cpu``. Every task and probe at once,
with the results table: see the benchmark runner.
"""

import logging
import sys

import speechbrain as sb

from summarymixing.mp3s.run.tasks import run_probe
from summarymixing.training.config import load_yaml, resolve_extends
from summarymixing.training.run_options import parse_arguments

FOLDER_KEYS = ("encoder_folder", "data_folder", "output_folder")


def parse_command_line(argv: list[str]) -> dict:
    """Split the command line into run_probe's arguments.

    Returns
    -------
    dict
        ``task``, ``probe``, the three folders, ``overrides``, ``run_opts`` and
        ``hparams_path``.
    """
    hparams_path, run_opts, cli = parse_arguments(argv)
    overrides = load_yaml(cli) or {}
    missing = [key for key in FOLDER_KEYS if overrides.get(key) is None]
    if missing:
        raise ValueError(
            "Missing " + ", ".join(f"--{key}" for key in missing) + "; usage: "
            "python recipes/mp3s_probe.py hparams/mp3s/<task>_<probe>.yaml "
            "--encoder_folder DIR --data_folder DIR --output_folder DIR"
        )
    _, declared = resolve_extends(hparams_path)
    if "task" not in declared or "probe" not in declared:
        raise ValueError(
            f"{hparams_path} does not name its task and probe: pass one of the "
            "hparams/mp3s/<task>_<probe>.yaml files (or a file extending one of "
            "their bases that sets task and probe)"
        )
    return {
        "task": declared["task"],
        "probe": declared["probe"],
        **{key: overrides.pop(key) for key in FOLDER_KEYS},
        "overrides": overrides,
        "run_opts": run_opts,
        "hparams_path": hparams_path,
    }


def main(argv: list[str] | None = None) -> None:
    """Run one probe and print its metrics."""
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s - %(name)s - %(message)s"
    )
    arguments = parse_command_line(argv)
    sb.utils.distributed.ddp_init_group(arguments["run_opts"])
    result = run_probe(**arguments)
    metrics = ", ".join(f"{name} {value:.2f}" for name, value in result.metrics.items())
    print(f"{result.task} / {result.probe}: {metrics}")
    print(f"Layer weights: {[round(w, 3) for w in result.layer_weights]}")
    print(f"Result: {result.output_folder / 'result.json'}")


if __name__ == "__main__":
    main()
