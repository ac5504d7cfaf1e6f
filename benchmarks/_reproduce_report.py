"""The report of a ``reproduce.py`` study: markdown, CSV files and figures.

:func:`write_report` reads everything back from the study's folder (probe
results, ``steps.jsonl`` for curves and step times, ``reproduce.json``) and
writes ``report.md``, ``results.csv`` (one row per upstream x task x probe x
budget x metric x seed), ``summary.csv`` (mean, std, n over seeds) and the
figures ``curves.png``, ``downstream.png``, ``efficiency.png``. Whatever is
not finished shows as missing, so a partial study gets a report too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from _reproduce_plots import plot_curves, plot_downstream, plot_efficiency
from _reproduce_results import (
    METRICS,
    RESULT_COLUMNS,
    ResultRow,
    Summary,
    SummaryKey,
    collect_layer_weights,
    collect_rows,
    cost_numbers,
    pretraining_numbers,
    summaries,
    summarise,
    write_rows,
    write_summary,
)
from _reproduce_setup import Setup, setup_section
from _reproduce_study import Study
from _reproduce_verdicts import study_verdicts

Probes = Sequence[tuple[str, str]]


def stat_text(values: Sequence[float | None], spec: str) -> str:
    """``mean ± std (n)`` of the values that are there, ``-`` when none is.

    Example
    -------
    >>> stat_text([1.0, 3.0, None], ".1f"), stat_text([2.0], ".2f"), stat_text([], "g")
    ('2.0 ± 1.4 (2)', '2.00 (1)', '-')
    """
    summary = summarise([value for value in values if value is not None])
    if summary is None:
        return "-"
    spread = "" if summary.std is None else f" ± {summary.std:{spec}}"
    return f"{summary.mean:{spec}}{spread} ({summary.n})"


def downstream_table(
    study: Study, probes: Probes, table: dict[SummaryKey, Summary | None]
) -> str:
    """Markdown: a row per task, metric and budget, a column per upstream."""
    names = [upstream.name for upstream in study.upstreams]
    lines = [
        "| task | metric | labels | " + " | ".join(names) + " |",
        "|---|---|---:|" + "---:|" * len(names),
    ]
    for task, probe in probes:
        for metric in METRICS[task]:
            for budget in study.budgets:
                keys = [(n, task, probe, budget, metric) for n in names]
                texts = [
                    table[key].text(metric) if table.get(key) else
                    ("missing" if key in table else "n/a")
                    for key in keys
                ]  # fmt: skip
                lines.append(
                    f"| {task} ({probe}) | {metric} | {budget:g} min | "
                    + " | ".join(texts) + " |"
                )  # fmt: skip
    return "\n".join(lines)


def pretraining_table(study: Study) -> str:
    """Markdown: size and final statistics of each model, mean over seeds."""
    lines = [
        "| model | parameters (M) | steps | loss (last 10%) | accuracy (last 10%) "
        "| dev-clean loss (last) | monitor CER, step 0 (%) | monitor CER, last (%) "
        "| monitor speaker EER, step 0 (%) | monitor speaker EER, last (%) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for upstream in study.pretrained:
        folders = [study.pretrain_folder(upstream, seed) for seed in study.seeds]
        numbers = [pretraining_numbers(folder) for folder in folders]
        costs = [cost_numbers(folder) or {} for folder in folders]
        cells = [stat_text([c.get("parameters_m") for c in costs], ".2f")]
        for name, spec in (("steps", ".0f"), ("loss", ".3f"), ("accuracy", ".3f"),
                           ("valid_loss", ".3f"), ("monitor_first", ".1f"),
                           ("monitor_last", ".1f"), ("monitor_eer_first", ".1f"),
                           ("monitor_eer_last", ".1f")):  # fmt: skip
            cells.append(stat_text([n[name] for n in numbers], spec))
        lines.append(f"| {upstream.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def layer_weight_table(
    weights: dict[tuple[str, str, str, float], list[list[float]]],
) -> str:
    """Markdown: the learned layer weights of each frozen probe, mean ± std.

    Example
    -------
    >>> print(layer_weight_table({("sm", "voxceleb1", "xvector", 10.0): [
    ...     [0.5, 0.3, 0.2], [0.3, 0.3, 0.4]]}))
    | upstream | probe | labels | h0 | h1 | h2 |
    |---|---|---:|---:|---:|---:|
    | sm | voxceleb1 (xvector) | 10 min | 0.40 ± 0.14 (2) | 0.30 ± 0.00 (2) | 0.30 ± 0.14 (2) |
    """  # noqa: E501
    width = max((len(seeds[0]) for seeds in weights.values()), default=0)
    lines = [
        "| upstream | probe | labels | "
        + " | ".join(f"h{k}" for k in range(width))
        + " |",
        "|---|---|---:|" + "---:|" * width,
    ]
    for (upstream, task, probe, budget), seeds in weights.items():
        cells = [stat_text(list(layer), ".2f") for layer in zip(*seeds, strict=True)]
        cells += [""] * (width - len(cells))
        lines.append(
            f"| {upstream} | {task} ({probe}) | {budget:g} min | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines)


COST_COLUMNS = (
    ("median_s", "step, median (s)", ".3f", True),
    ("mean_all_s", "step, all included (s)", ".3f", False),
    ("wall_min", "wall (min)", ".1f", False),
    ("cpu_min", "CPU (min)", ".1f", True),
    ("peak_mib", "peak RSS (MiB)", ".0f", True),
    ("above_mib", "above libraries (MiB)", ".0f", True),
)
"""Key, header, format, and whether the ratio to the reference is shown."""


def cost_table(study: Study, baseline_mib: float | None) -> str:
    """Markdown: step time, wall and CPU time, peak memory; ratios to reference."""
    means: dict[str, dict[str, list[float]]] = {}
    for upstream in study.pretrained:
        costs = [cost_numbers(study.pretrain_folder(upstream, s)) for s in study.seeds]
        columns: dict[str, list[float]] = {key: [] for key, *_ in COST_COLUMNS}
        for cost in filter(None, costs):
            if baseline_mib is not None:
                cost["above_mib"] = cost["peak_mib"] - baseline_mib
            for key in columns:
                if cost.get(key) is not None:
                    columns[key].append(cost[key])
        means[upstream.name] = columns
    header, rule = "| model |", "|---|"
    for _, title, _, ratio in COST_COLUMNS:
        header += f" {title} |" + (f" vs {study.reference} |" if ratio else "")
        rule += "---:|" * (2 if ratio else 1)
    lines = [header, rule]
    reference = means.get(study.reference, {})
    for name, columns in means.items():
        cells = []
        for key, _, spec, ratio in COST_COLUMNS:
            cells.append(stat_text(columns[key], spec))
            if ratio:
                ours, theirs = (
                    summarise(columns[key]),
                    summarise(reference.get(key, [])),
                )
                cells.append(
                    f"{ours.mean / theirs.mean:.2f}"
                    if ours and theirs and theirs.mean
                    else "-"
                )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def missing_lines(rows: Sequence[ResultRow], failures: Sequence[str]) -> list[str]:
    """Markdown list: failed stages, then probe runs failed or not finished."""
    lines = [f"- {failure}" for failure in failures]
    seen = set()
    for row in rows:
        key = (row.upstream, row.task, row.probe, row.budget_minutes, row.seed)
        if row.status != "done" and key not in seen:
            seen.add(key)
            lines.append(
                f"- {row.upstream} {row.task}/{row.probe}, {row.budget_minutes:g} min, "
                f"seed {row.seed}: {row.status}"
            )
    return lines


def write_report(
    study: Study, probes: Probes, setup: Setup
) -> tuple[Path, list[ResultRow]]:
    """Write the CSV files, the figures and ``report.md``.

    Returns
    -------
    tuple of (Path, list of ResultRow)
        The report, and the rows of ``results.csv``.
    """
    out = study.out
    out.mkdir(parents=True, exist_ok=True)
    rows = collect_rows(study, probes)
    table = summaries(rows)
    write_rows(out / "results.csv", rows, RESULT_COLUMNS)
    write_summary(out / "summary.csv", table)
    plot_curves(study, out / "curves.png")
    plot_downstream(study, list(probes), table, out / "downstream.png")
    plot_efficiency(study, setup.baseline_mib, out / "efficiency.png")
    claims = study_verdicts(study, probes, table)
    held = sum(v.holds is True for v in claims)
    judged = sum(v.holds is not None for v in claims)
    missing = missing_lines(rows, setup.failures)
    sections = [
        f"# {study.title}",
        INTRO[study.ablation is not None],
        "## Verdicts",
        (
            f"{held} of {judged} judged differences exceed the spread of seeds"
            if study.ablation is not None
            else f"{held} of {judged} judged claims hold"
        )
        + f" ({len(claims) - judged} not judged)."
        " Primary metric of each probe: CER of LibriSpeech test-clean, EER of "
        "VoxCeleb1; lower is better; ± is the sample standard deviation over seeds.",
        "\n".join(f"- {verdict.line}" for verdict in claims),
        "## Downstream (MP3S probes on the frozen encoders, and fine-tuning)",
        "Mean ± std (number of seeds) over seeds; WER, CER, EER in %, minDCF; "
        "lower is better. *labels*: the minutes of labelled training audio the "
        "probe was given (see the label subsets below). *finetune_ctc*: the "
        "encoder itself fine-tuned with a CTC head on the same labels (front-end "
        "frozen, `hparams/finetune_demo.yaml`'s schedule, test-clean; FBANK has "
        "no encoder: n/a). *finetune_ctc_scaled*: the same with its updates in "
        "proportion to the labelled minutes (the smallest budget's run is the "
        "fixed one).",
        downstream_table(study, probes, table),
        "![downstream metrics](downstream.png)",
        "## Where the frozen probes read",
        "The softmax layer weights each frozen probe learned (mean ± std over "
        "seeds; h0: the first layer's input, h1 ...: each layer's output; they "
        "start uniform). A probe that keeps them near uniform mixes every "
        "layer, whichever carries the information it needs.",
        layer_weight_table(collect_layer_weights(study, probes)),
        "## Pre-training",
        "Training loss and accuracy: mean over the last 10% of the steps; "
        "dev-clean: the last validation; monitor: the quality monitor's CER of a "
        "small CTC probe on frozen features and its speaker EER (cosine scores of "
        "pooled frozen features, no training) (step 0 = untrained).",
        pretraining_table(study),
        "![curves](curves.png)",
        "## Cost",
        "Step: wall time per optimizer step from the recipe's `steps.jsonl` "
        "(median over the clean step records: no validation, monitor reading or "
        "restart in the interval); all included: the "
        "training time over the steps. Wall and CPU time, peak RSS (`ru_maxrss`)"
        " of the whole pre-training process; above libraries: minus the peak of "
        f"`recipes/pretrain.py --help` ({setup.baseline_mib or 0:.0f} MiB). "
        "With --jobs 2 or more, other runs shared the machine (see Setup).",
        cost_table(study, setup.baseline_mib),
        "![step time and memory](efficiency.png)",
        "## Setup",
        setup_section(study, setup),
    ]
    if missing:
        sections += ["## Missing or failed", "\n".join(missing)]
    report = out / "report.md"
    report.write_text("\n\n".join(sections) + "\n")
    return report, rows


INTRO = {
    False: "SummaryMixing and MHSA wav2vec 2.0 models pre-trained for the same "
    "steps on the same batches, for several seeds, and probed frozen beside "
    "the untrained encoder and the FBANK features, with two budgets of "
    "labelled audio. Synthetic speech and a small model: the cost comparison "
    "is real; the downstream numbers say whether pre-training helped here.",
    True: "One pre-training key of the SummaryMixing model changed, everything "
    "else as in the main study, for several seeds; both encoders and the "
    "untrained encoder of the default probed frozen with two budgets of "
    "labelled audio, and fine-tuned with CTC on the same labels.",
}
