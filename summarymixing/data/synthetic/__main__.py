"""Command line: ``python -m summarymixing.data.synthetic --corpus all --out DIR``.

Usage::

    python -m summarymixing.data.synthetic --corpus librispeech --size small --out DIR
    python -m summarymixing.data.synthetic --corpus all --size tiny --out DIR --seed 0
"""

from __future__ import annotations

import argparse
import sys
import time

from .corpus import CORPORA, SIZES, build_corpus


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Example
    -------
    >>> parse_args(["--corpus", "slurp", "--out", "x"]).size
    'tiny'
    """
    parser = argparse.ArgumentParser(
        prog="python -m summarymixing.data.synthetic",
        description="Synthesise speech corpora in their real on-disk layouts.",
    )
    parser.add_argument("--corpus", required=True, choices=[*CORPORA, "all"])
    parser.add_argument("--size", default="tiny", choices=SIZES)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


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
        root = build_corpus(
            name, args.out, args.size, args.seed, progress=not args.quiet
        )
        print(f"{name}: {root} ({time.perf_counter() - start:.1f}s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
