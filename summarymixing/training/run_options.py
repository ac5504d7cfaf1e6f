"""Command-line parsing for the recipes: SpeechBrain's parser, with typed options.

SpeechBrain 1.1.2 declares ``--optimizer_step_limit`` as ``Optional[int]`` but its
parser hands the value over as a string, so ``Brain`` later compares an int with a
str and crashes on the first step. We convert (and validate) such options here.
``--optimizer_step_limit 0`` is accepted: the pre-training recipe then exports
the untrained encoder and stops.
"""

from __future__ import annotations

import dataclasses
import shutil

from speechbrain.utils.run_opts import RunOptions

INTEGER_OPTIONS = ("optimizer_step_limit",)


def parse_arguments(argv: list[str]) -> tuple[str, RunOptions, str]:
    """Parse ``hparams.yaml [--run_option V ...] [--yaml_key V ...]``.

    Parameters
    ----------
    argv : list of str
        Arguments after the script name.

    Returns
    -------
    hparams_file : str
        The YAML file.
    run_opts : speechbrain.utils.run_opts.RunOptions
        SpeechBrain run options, with integer options converted.
    overrides : str
        YAML overrides for the hyper-parameters file.

    Example
    -------
    >>> path, opts, overrides = parse_arguments(
    ...     ["h.yaml", "--optimizer_step_limit", "1000", "--seed", "3"]
    ... )
    >>> opts["optimizer_step_limit"], overrides
    (1000, 'seed: 3')
    >>> parse_arguments(["h.yaml", "--optimizer_step_limit", "-5"])
    Traceback (most recent call last):
    ...
    ValueError: --optimizer_step_limit must be a whole number >= 0, got '-5' (for example --optimizer_step_limit 1000; 0 exports the untrained encoder)
    """  # noqa: E501
    hparams_file, run_opts, overrides = RunOptions.from_command_line_args(argv)
    converted = {
        name: _as_whole_number(name, run_opts[name])
        for name in INTEGER_OPTIONS
        if isinstance(run_opts[name], str)
    }
    run_opts = dataclasses.replace(run_opts, **converted)
    if run_opts["compile"]:
        check_compiler(str(run_opts["device"]))
    return hparams_file, run_opts, overrides


def check_compiler(device: str) -> None:
    """Raise a ValueError when ``--compile`` cannot work on ``device``.

    torch.compile's default backend (inductor) generates C++ on CPU and
    Triton kernels on CUDA; without them the run would fail at its first step
    with a long compiler traceback.

    Example
    -------
    >>> import shutil
    >>> if shutil.which("g++") or shutil.which("c++") or shutil.which("clang++"):
    ...     check_compiler("cpu")
    """
    if device.startswith("cuda"):
        try:
            import triton  # noqa: F401
        except ImportError:
            raise ValueError(
                "--compile on CUDA needs Triton (pip install triton, normally "
                "installed with torch's CUDA wheels); or leave --compile out"
            ) from None
        return
    if not any(shutil.which(name) for name in ("g++", "c++", "clang++")):
        raise ValueError(
            "--compile on CPU needs a C++ compiler (g++ or clang++ on the PATH) "
            "for torch.compile's inductor backend; install one, or leave "
            "--compile out"
        )


def _as_whole_number(name: str, value: str) -> int:
    """Convert a command-line value to an int >= 0 or explain the problem."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise ValueError(
            f"--{name} must be a whole number >= 0, got {value!r} (for example "
            f"--{name} 1000; 0 exports the untrained encoder)"
        )
    return number
