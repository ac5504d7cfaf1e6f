"""The claims of a study, each checked on the measured numbers.

Every verdict is computed from the mean and sample standard deviation over
seeds (:class:`_reproduce_results.Summary`) of one probe: a task, a label
budget and its primary metric (CER of LibriSpeech test-clean, EER of
VoxCeleb1; lower is better). With fewer than two seeds on either side, or a
side without results, a claim is *not judged*.

* :func:`beats`: "A beats B by more than the spread of seeds", i.e.
  ``mean(B) - mean(A) > std(A) + std(B)`` (pre-trained vs ``untrained``, vs
  ``fbank``);
* :func:`within_one_std`: "A within one std of B or better", i.e.
  ``mean(A) <= mean(B) + std(B)`` (SummaryMixing vs MHSA);
* :func:`ablation`: which value of an ablated key has the lower mean, and
  whether ``|mean(a) - mean(b)|`` exceeds ``std(a) + std(b)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from _reproduce_results import METRICS, NEEDS_ENCODER, Summary, SummaryKey
from _reproduce_study import Study

from summarymixing.mp3s.benchmark.tables import format_value


@dataclass(frozen=True)
class Verdict:
    """One claim: whether it holds (None: not judged) and its report line."""

    holds: bool | None
    line: str


def probe_label(task: str, metric: str, budget: float, probe: str = "") -> str:
    """How a probe is named in a verdict (fine-tuning says so).

    Example
    -------
    >>> probe_label("librispeech", "CER", 10.0)
    'librispeech CER, 10 min labels'
    >>> probe_label("librispeech", "CER", 10.0, "finetune_ctc")
    'librispeech CER after CTC fine-tuning, 10 min labels'
    >>> probe_label("librispeech", "CER", 30.0, "finetune_ctc_scaled")
    'librispeech CER after CTC fine-tuning (updates scaled), 30 min labels'
    """
    how = " after CTC fine-tuning" if probe in NEEDS_ENCODER else ""
    how += " (updates scaled)" if probe.endswith("_scaled") else ""
    return f"{task} {metric}{how}, {budget:g} min labels"


def _unjudged(
    claim: str, sides: dict[str, Summary | None], need_spread: bool = True
) -> Verdict | None:
    missing = [name for name, summary in sides.items() if summary is None]
    if missing:
        names = ", ".join(missing)
        return Verdict(None, f"{claim}: not judged (no result for {names})")
    if need_spread and any(s.std is None for s in sides.values()):
        counts = ", ".join(f"{name} {s.n}" for name, s in sides.items())
        return Verdict(None, f"{claim}: not judged (needs 2 seeds or more: {counts})")
    return None


def beats(
    model: str,
    baseline: str,
    label: str,
    metric: str,
    ours: Summary | None,
    theirs: Summary | None,
) -> Verdict:
    """Whether ``model`` is lower than ``baseline`` by more than both spreads.

    Example
    -------
    >>> beats("SM", "untrained", "librispeech CER, 10 min labels", "CER",
    ...       Summary(35.0, 2.0, 3), Summary(40.0, 1.0, 3)).line
    'SM beats untrained by more than the spread of seeds (librispeech CER, 10 min labels): holds (untrained 40.00 ± 1.00 - SM 35.00 ± 2.00 = 5.00 > 3.00)'
    >>> beats("SM", "fbank", "x", "CER", Summary(39.0, 2.0, 3), Summary(40.0, 1.0, 3))
    Verdict(holds=False, line='SM beats fbank by more than the spread of seeds (x): does NOT hold (fbank 40.00 ± 1.00 - SM 39.00 ± 2.00 = 1.00 <= 3.00)')
    """  # noqa: E501
    claim = f"{model} beats {baseline} by more than the spread of seeds ({label})"
    unjudged = _unjudged(claim, {model: ours, baseline: theirs})
    if unjudged is not None:
        return unjudged
    gap, spread = theirs.mean - ours.mean, ours.std + theirs.std
    holds = gap > spread
    numbers = (
        f"{baseline} {_pm(metric, theirs)} - {model} {_pm(metric, ours)} = "
        f"{format_value(metric, gap)} {'>' if holds else '<='} "
        f"{format_value(metric, spread)}"
    )
    return Verdict(holds, f"{claim}: {_word(holds)} ({numbers})")


def within_one_std(
    model: str,
    reference: str,
    label: str,
    metric: str,
    ours: Summary | None,
    theirs: Summary | None,
) -> Verdict:
    """Whether ``mean(model) <= mean(reference) + std(reference)``.

    Example
    -------
    >>> within_one_std("SummaryMixing", "MHSA", "voxceleb1 EER, 30 min labels",
    ...                "EER", Summary(12.5, 0.3, 3), Summary(12.0, 0.4, 3)).line
    'SummaryMixing within one std of MHSA or better (voxceleb1 EER, 30 min labels): does NOT hold (SummaryMixing 12.50 > MHSA 12.00 + 0.40 = 12.40)'
    >>> within_one_std("A", "B", "x", "EER", Summary(1.0, None, 1),
    ...                Summary(2.0, None, 1)).holds is None
    True
    """  # noqa: E501
    claim = f"{model} within one std of {reference} or better ({label})"
    unjudged = _unjudged(claim, {model: ours, reference: theirs})
    if unjudged is not None:
        return unjudged
    bound = theirs.mean + theirs.std
    holds = ours.mean <= bound
    numbers = (
        f"{model} {format_value(metric, ours.mean)} {'<=' if holds else '>'} "
        f"{reference} {format_value(metric, theirs.mean)} + "
        f"{format_value(metric, theirs.std)} = {format_value(metric, bound)}"
    )
    return Verdict(holds, f"{claim}: {_word(holds)} ({numbers})")


def ablation(
    key: str,
    values: tuple[str, str],
    label: str,
    metric: str,
    first: Summary | None,
    second: Summary | None,
) -> Verdict:
    """Which value of ``key`` gives the lower mean, and is that beyond the spread.

    ``holds`` is True when the difference exceeds ``std + std``.

    Example
    -------
    >>> ablation("codebook_size", ("64", "320"), "librispeech CER, 10 min labels",
    ...          "CER", Summary(32.0, 0.5, 3), Summary(30.0, 1.0, 3)).line
    'codebook_size (librispeech CER, 10 min labels): 320 has the lower mean (320 30.00 ± 1.00 vs 64 32.00 ± 0.50); the difference 2.00 exceeds the spread 1.50'
    >>> ablation("lr", ("0.001", "0.003"), "x", "CER", Summary(30.0, 1.0, 3),
    ...          Summary(30.5, 1.0, 3)).line
    'lr (x): 0.001 has the lower mean (0.001 30.00 ± 1.00 vs 0.003 30.50 ± 1.00); the difference 0.50 does not exceed the spread 2.00'
    """  # noqa: E501
    claim = f"{key} ({label})"
    sides = {f"{key}={values[0]}": first, f"{key}={values[1]}": second}
    unjudged = _unjudged(claim, sides)
    if unjudged is not None:
        return unjudged
    ranked = sorted(zip(values, (first, second), strict=True), key=lambda p: p[1].mean)
    (low, low_s), (high, high_s) = ranked
    gap, spread = high_s.mean - low_s.mean, low_s.std + high_s.std
    if gap == 0:
        lower = f"equal means ({low} and {high}: {_pm(metric, low_s)})"
    else:
        lower = (
            f"{low} has the lower mean ({low} {_pm(metric, low_s)} vs {high} "
            f"{_pm(metric, high_s)})"
        )
    exceeds = gap > spread
    return Verdict(
        exceeds,
        f"{claim}: {lower}; the difference {format_value(metric, gap)} "
        f"{'exceeds' if exceeds else 'does not exceed'} the spread "
        f"{format_value(metric, spread)}",
    )


def study_verdicts(
    study: Study,
    probes: Sequence[tuple[str, str]],
    table: dict[SummaryKey, Summary | None],
) -> list[Verdict]:
    """Every claim of a study, on the primary metric of every probe and budget.

    Main study: (a, b) each pre-trained model against ``untrained`` and
    ``fbank`` (:func:`beats`), then (c) each other pre-trained model against
    the reference, MHSA (:func:`within_one_std`). Ablation: :func:`ablation`
    of its two arms, then each arm against ``untrained`` when the study has it.
    """
    cases = [
        (task, probe, METRICS[task][0], budget)
        for task, probe in probes
        for budget in study.budgets
    ]

    def get(
        name: str, task: str, probe: str, metric: str, budget: float
    ) -> Summary | None:
        return table.get((name, task, probe, budget, metric))

    if study.ablation is not None:
        key = study.ablation.key
        arms = study.ablation.arm_names()
        values = (arms[0].removeprefix(f"{key}-"), arms[1].removeprefix(f"{key}-"))
        found = [
            ablation(key, values, probe_label(t, m, b, p), m,
                     get(arms[0], t, p, m, b), get(arms[1], t, p, m, b))
            for t, p, m, b in cases
        ]  # fmt: skip
        if any(upstream.kind == "untrained" for upstream in study.upstreams):
            found += [
                beats(arm, "untrained", probe_label(t, m, b, p), m,
                      get(arm, t, p, m, b), get("untrained", t, p, m, b))
                for arm in arms
                for t, p, m, b in cases
            ]  # fmt: skip
        return found
    names = {upstream.name for upstream in study.upstreams}
    models = [upstream.name for upstream in study.pretrained]
    found = [
        beats(model, baseline, probe_label(t, m, b, p), m,
              get(model, t, p, m, b), get(baseline, t, p, m, b))
        for baseline in ("untrained", "fbank") if baseline in names
        for model in models
        for t, p, m, b in cases
        if not (baseline == "fbank" and p in NEEDS_ENCODER)
    ]  # fmt: skip
    found += [
        within_one_std(model, study.reference, probe_label(t, m, b, p), m,
                       get(model, t, p, m, b), get(study.reference, t, p, m, b))
        for model in models if model != study.reference
        for t, p, m, b in cases
    ]  # fmt: skip
    return found


def _pm(metric: str, summary: Summary) -> str:
    return f"{format_value(metric, summary.mean)} ± {format_value(metric, summary.std)}"


def _word(holds: bool) -> str:
    return "holds" if holds else "does NOT hold"
