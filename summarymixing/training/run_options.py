"""Command-line parsing for the recipes: SpeechBrain's parser, with typed options.

SpeechBrain 1.1.2 declares ``--optimizer_step_limit`` as ``Optional[int]`` but its
parser hands the value over as a string, so ``Brain`` later compares an int with a
str and crashes on the first step. We convert (and validate) such options here.
``--optimizer_step_limit 0`` is accepted: the pre-training recipe then exports
the untrained encoder and stops.
"""

from __future__ import annotations

import dataclasses

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
    return hparams_file, run_opts, overrides


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
