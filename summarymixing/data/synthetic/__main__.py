"""Command line: ``python -m summarymixing.data.synthetic --corpus all --out DIR``.

Usage::

    python -m summarymixing.data.synthetic --corpus librispeech --size small --out DIR
    python -m summarymixing.data.synthetic --corpus all --size tiny --out DIR --seed 0
    python -m summarymixing.data.synthetic --corpus librilight --hours 3 --out DIR

``--hours`` (a positive number, ``librilight`` only) builds that many hours of
pre-training audio instead of ``--size``; see ``librilight``. A request that
cannot be built (another corpus in the folder, too little disk space, more
hours than there are voices) is an error message and exit status 2.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

from .corpus import CORPORA, SIZES, build_corpus


def positive_hours(text: str) -> float:
    """Parse ``--hours``: a finite number of hours above zero.

    Example
    -------
    >>> positive_hours("2.5")
    2.5
    >>> positive_hours("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a positive number of hours, not '0'
    """
    try:
        hours = float(text)
    except ValueError:
        hours = math.nan
    if not math.isfinite(hours) or hours <= 0:
        raise argparse.ArgumentTypeError(
            f"must be a positive number of hours, not {text!r}"
        )
    return hours


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m summarymixing.data.synthetic",
        description="Synthesise speech corpora in their real on-disk layouts.",
    )
    parser.add_argument("--corpus", required=True, choices=[*CORPORA, "all"])
    parser.add_argument("--size", default="tiny", choices=SIZES)
    parser.add_argument(
        "--hours",
        type=positive_hours,
        help="librilight only: build this many hours instead of --size",
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Example
    -------
    >>> parse_args(["--corpus", "slurp", "--out", "x"]).size
    'tiny'
    >>> parse_args(["--corpus", "librilight", "--hours", "3", "--out", "x"]).hours
    3.0
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.hours is not None and args.corpus != "librilight":
        parser.error(
            f"--hours applies only to --corpus librilight, not --corpus {args.corpus}"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    """Build the requested corpora and print where each one is.

    Example
    -------
    >>> import tempfile
    >>> main(["--corpus", "librilight", "--out", tempfile.mkdtemp(), "--quiet"])  # doctest: +ELLIPSIS
    librilight: .../librilight (...s)
    0
    """  # noqa: E501
    args = parse_args(argv)
    names = list(CORPORA) if args.corpus == "all" else [args.corpus]
    for name in names:
        start = time.perf_counter()
        try:
            root = build_corpus(
                name,
                args.out,
                args.size,
                args.seed,
                progress=not args.quiet,
                hours=args.hours,
            )
        except ValueError as error:  # a request that cannot be met, not a bug
            print(f"{_parser().prog}: error: {error}", file=sys.stderr)
            return 2
        print(f"{name}: {root} ({time.perf_counter() - start:.1f}s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
