r"""Draw the curves of one or several pre-training runs into one PNG.

Reads each run's ``steps.jsonl`` (the step log's records, see
:func:`summarymixing.training.step_log.read_steps`) and draws one panel per
quantity that any run logged: training and dev-clean loss, contrastive
accuracy, codebook perplexity and codes used, Gumbel temperature, learning
rate, gradient norm, throughput, and the quality monitor's CER and speaker
EER. A run still going is drawn as far as it got. Needs matplotlib
(``pip install "summarymixing[plot]"``).

Usage
-----
::

    python -m summarymixing.plot results/w2v2_SummaryMixing_demo/1986 \
        results/w2v2_regularMHA_demo/1986 --out curves.png
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from summarymixing.training.step_log import curve, read_steps

PANELS = (
    ("step", "loss", "training loss"),
    ("valid", "loss", "dev-clean loss"),
    ("step", "accuracy", "contrastive accuracy"),
    ("step", "perplexity", "codebook perplexity"),
    ("step", "codes_used", "codes used"),
    ("step", "temperature", "Gumbel temperature"),
    ("step", "lr", "learning rate"),
    ("step", "grad_norm", "gradient norm"),
    ("step", "audio_per_second", "audio seconds per second"),
    ("monitor", "monitor_cer", "quality monitor CER (%)"),
    ("monitor", "monitor_speaker_eer", "quality monitor speaker EER (%)"),
)
"""(record kind, value name, axis label) of every panel, in order."""
COLUMNS = 4


def run_curves(folders: Sequence[Path]) -> list[dict[tuple[str, str], list]]:
    """Return, per run, (kind, name) -> its (step, value) points.

    Example
    -------
    >>> import json, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> line = {"kind": "step", "step": 10, "loss": 3.5}
    >>> _ = (folder / "steps.jsonl").write_text(json.dumps(line) + chr(10))
    >>> run_curves([folder])[0][("step", "loss")]
    [(10, 3.5)]
    """
    runs = []
    for folder in folders:
        records = read_steps(Path(folder))
        runs.append(
            {(kind, name): curve(records[kind], name) for kind, name, _ in PANELS}
        )
    return runs


def plot_runs(
    folders: Sequence[Path], path: Path, names: Sequence[str] | None = None
) -> list[str]:
    """Draw every panel some run has points for; return their labels.

    Parameters
    ----------
    folders : sequence of Path
        Output folders of ``recipes/pretrain.py`` (each with ``steps.jsonl``).
    path : Path
        The PNG to write.
    names : sequence of str, optional
        Legend names, the folders' last two parts by default.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    names = list(names or ["/".join(Path(f).resolve().parts[-2:]) for f in folders])
    runs = run_curves(folders)
    panels = [p for p in PANELS if any(run[p[:2]] for run in runs)]
    rows = max(1, -(-len(panels) // COLUMNS))
    figure, axes = pyplot.subplots(
        rows, COLUMNS, figsize=(4.5 * COLUMNS, 3.4 * rows), squeeze=False
    )
    for axis, (kind, name, label) in zip(axes.flat, panels, strict=False):
        for index, (run, run_name) in enumerate(zip(runs, names, strict=True)):
            points = run[(kind, name)]
            if points:
                steps, values = zip(*points, strict=True)
                marker = "-" if kind == "step" else "o-"
                axis.plot(steps, values, marker, color=f"C{index}", markersize=3,
                          label=run_name)  # fmt: skip
        axis.set(xlabel="optimizer step", ylabel=label)
        axis.grid(alpha=0.3)
        if name == "lr":
            axis.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    for axis in list(axes.flat)[len(panels) :]:
        axis.set_visible(False)
    if panels:
        axes.flat[0].legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return [label for _, _, label in panels]


def main(argv: Sequence[str] | None = None) -> int:
    """Check the folders, draw, print where the PNG went; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m summarymixing.plot", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("runs", nargs="+", type=Path, help="pre-training folders")
    parser.add_argument("--out", type=Path, default=Path("curves.png"))
    parser.add_argument("--names", nargs="+", help="legend names, one per run")
    args = parser.parse_args(argv)
    missing = [str(f) for f in args.runs if not (f / "steps.jsonl").is_file()]
    if missing:
        print(
            f"error: no steps.jsonl in {', '.join(missing)}: pass the output "
            "folder of recipes/pretrain.py (the one holding log.txt and save/)",
            file=sys.stderr,
        )
        return 2
    if args.names and len(args.names) != len(args.runs):
        print(
            f"error: {len(args.names)} --names for {len(args.runs)} runs",
            file=sys.stderr,
        )
        return 2
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(
            'error: plotting needs pip install "summarymixing[plot]"', file=sys.stderr
        )
        return 2
    panels = plot_runs(args.runs, args.out, args.names)
    print(f"{len(panels)} panels of {len(args.runs)} runs: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
