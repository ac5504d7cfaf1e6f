"""``recipes/pretrain.py`` as a measured subprocess: wall time, CPU time, peak RSS.

:func:`pretrain` runs the recipe once per output folder and records what it
cost in ``<folder>/reproduce.json``; a folder holding that record is reused
(and refused when it was made by another command). The peak is the child's
``ru_maxrss`` from ``os.wait4``: the peak resident set size of that one
process, not the largest of all children as ``RUSAGE_CHILDREN`` would give.
:func:`baseline_rss_mib` measures the same for ``recipes/pretrain.py --help``,
which imports everything the recipe imports and builds nothing: the share of
a peak that is the interpreter and its libraries.
"""

from __future__ import annotations

import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from _pretrain_logs import clean_step_seconds

from summarymixing.training.step_log import read_steps

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "pretrain.py"
RECORD = "reproduce.json"
POLL_SECONDS = 20.0


def command_line_value(value: Any) -> str:
    """Spell a YAML value for ``recipes/pretrain.py --key=value``.

    Run options (``--precision``, ...) arrive as raw strings, so strings stay
    unquoted; lists go in YAML flow style.

    Example
    -------
    >>> command_line_value("fp32"), command_line_value([144]), command_line_value(1)
    ('fp32', '[144]', '1')
    """
    return value if isinstance(value, str) else json.dumps(value)


def pretraining_command(
    hparams: Path, folder: Path, device: str, keys: dict[str, Any]
) -> list[str]:
    """Return the recipe's command line: hparams file, run options, YAML keys.

    Example
    -------
    >>> command = pretraining_command(Path("h.yaml"), Path("out"), "cpu", {"lr": 1})
    >>> command[2:]
    ['h.yaml', '--device=cpu', '--noprogressbar', '--output_folder=out', '--lr=1']
    """
    command = [sys.executable, str(RECIPE), str(hparams), f"--device={device}"]
    command += ["--noprogressbar", f"--output_folder={folder}"]
    return command + [f"--{key}={command_line_value(v)}" for key, v in keys.items()]


def run_measured(
    command: list[str], log_file: Path, threads: int | None = None
) -> dict[str, float]:
    """Run ``command`` with its output to ``log_file``; return what it cost.

    ``threads`` sets ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` of the child
    (None: its default, one per core).

    Returns ``returncode``, ``peak_rss_mib`` (``ru_maxrss``) and
    ``cpu_seconds`` (user + system time) of that process.

    Example
    -------
    >>> import tempfile
    >>> log = Path(tempfile.mkdtemp()) / "log.txt"
    >>> cost = run_measured([sys.executable, "-c", "x = bytearray(2**27)"], log)
    >>> cost["returncode"], cost["peak_rss_mib"] > 128
    (0, True)
    """
    env = dict(os.environ)
    if threads is not None:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    with log_file.open("ab") as output:
        child = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=env
        )
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return {
        "returncode": child.returncode,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
    }


def progress_line(name: str, folder: Path, steps: int) -> str | None:
    """Describe the last logged step of a running pre-training and its pace."""
    kinds = read_steps(folder)
    records = kinds["step"]
    if not records:
        return None
    last = records[-1]
    recent = [seconds for _, seconds in clean_step_seconds(kinds)[-50:]]
    pace = f", {statistics.median(recent):.2f} s/step" if recent else ""
    values = ", ".join(
        f"{key} {last[key]:.3f}" for key in ("loss", "accuracy") if key in last
    )
    return f"  {name}: step {last['step']}/{steps}{pace}, {values}"


def run_with_progress(
    name: str, command: list[str], folder: Path, steps: int, threads: int | None
) -> dict[str, float]:
    """:func:`run_measured` in a thread, printing progress every POLL_SECONDS."""
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(run_measured, command, folder / "stdout.txt", threads)
        while wait([future], timeout=POLL_SECONDS).not_done:
            line = progress_line(name, folder, steps)
            if line:
                print(line, flush=True)
        return future.result()


def pretrain(
    name: str,
    hparams: Path,
    folder: Path,
    device: str,
    keys: dict[str, Any],
    threads: int | None = None,
) -> dict[str, Any]:
    """Pre-train one model into ``folder`` (or reuse it); return its record.

    The record holds the command, ``threads`` (see :func:`run_measured`),
    ``wall_seconds``, ``cpu_seconds``,
    ``peak_rss_mib`` and ``resumed`` (the folder held an interrupted run,
    which the recipe resumed: its peak and times are those of the resumed
    part). ``keys`` must hold ``optimizer_step_limit``.
    """
    folder = folder.resolve()
    record_file = folder / RECORD
    command = pretraining_command(hparams, folder, device, keys)
    if record_file.is_file():
        record = json.loads(record_file.read_text())
        if record["command"] != command:
            then = [arg for arg in record["command"] if arg not in command]
            now = [arg for arg in command if arg not in record["command"]]
            raise ValueError(
                f"{folder} holds a pre-training run made with other settings "
                f"({shlex.join(then)} then, {shlex.join(now)} now); delete it or "
                "pass another --out"
            )
        print(f"{name}: pre-trained before, reused ({folder})")
        return record
    folder.mkdir(parents=True, exist_ok=True)
    steps = keys["optimizer_step_limit"]
    print(f"{name}: pre-training {steps} steps in {folder}", flush=True)
    resumed = (folder / "log.txt").is_file()
    start = time.time()
    cost = run_with_progress(name, command, folder, steps, threads)
    if cost["returncode"] != 0:
        raise RuntimeError(
            f"pre-training {name} failed (exit code {cost['returncode']}); its "
            f"output is in {folder / 'stdout.txt'}. Re-running the same command "
            "resumes it."
        )
    record = {"command": command, "threads": threads, **cost, "resumed": resumed}
    record["wall_seconds"] = time.time() - start
    record_file.write_text(json.dumps(record, indent=2) + "\n")
    return record


def baseline_rss_mib(out: Path, threads: int | None = None) -> float:
    """Peak RSS of ``recipes/pretrain.py --help``: interpreter and libraries.

    Measured once per ``out`` and thread count; kept in
    ``<out>/libraries_rss.json``.
    """
    cache = out / "libraries_rss.json"
    known = json.loads(cache.read_text()) if cache.is_file() else {}
    if str(threads) not in known:
        command = [sys.executable, str(RECIPE), "--help"]
        cost = run_measured(command, out / "help.txt", threads)
        if cost["returncode"] != 0:
            raise RuntimeError(f"{RECIPE} --help failed; see {out / 'help.txt'}")
        known[str(threads)] = cost["peak_rss_mib"]
        cache.write_text(json.dumps(known, indent=1) + "\n")
    return known[str(threads)]
