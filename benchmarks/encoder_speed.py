"""Forward+backward time and peak memory: SummaryMixing against the alternatives.

Two comparisons, at the paper's size by default (12 layers, d 768, FFN 3072,
8 heads, kernel 31), batch 1, for utterances of 5, 10, 20 and 30 s (50 frames/s):

* layer: our ``SummaryMixing`` layer against the straightforward formula (the
  summary repeated on every frame, concatenated to ``f(x_t)``, ``c`` applied to
  the ``T x 2d`` result), both with the same ``f``, ``s`` and ``c``;
* encoder: our ``ConformerEncoder`` with SummaryMixing, SpeechBrain's
  regularMHA (which returns the attention weights, so the ``T x T`` matrix is
  built), RelPosMHAXL and RoPEMHA (fused SDPA inside), our ``SDPA`` attention
  (``scaled_dot_product_attention``, the strongest attention a user would
  pick), and the same encoder with no mixer at all (every layer's mixer
  returns zeros): the floor that no mixer can go below, since the feed-forward
  and convolution modules, identical in every configuration, remain. Its ratio
  to SDPA is the best any replacement of attention could reach here.

Beside each encoder, its *matmul floor* (``_matmul_floor.py``): the matrix
products of its step (forward and backward ``mm``/``addmm``/``bmm``/
``baddbmm`` and pointwise convolutions), recorded once at each length and
replayed alone at the same shapes, timed in the same round-robin as the
encoders; ``vs floor`` is the encoder's time over it, i.e. how much of the
step is not matrix products. A fused SDPA kernel is one opaque op, so its
products are not in SDPA's (and RoPEMHA's) floor; compiled encoders share the
products, hence the floor, of their eager twin.

``--layer-by-layer-mlp`` adds ``SummaryMixing, MLP layer by layer``: the same
encoder with each of SummaryMixing's block-diagonal MLPs run one
``GroupedLinear`` after the other (each laying its input out heads first and
back), instead of ``GroupedMLP``'s single heads-first pass, so that the gain
of that layout is measured side by side.

Configurations are timed alternately (round-robin inside every repeat, the
starting configuration rotating) so that machine noise hits all of them alike;
the median over repeats is reported. Peak memory is CUDA's
``max_memory_allocated`` on GPU; on CPU, each configuration runs one
forward+backward in a fresh subprocess and reports how far its peak resident
memory rose above its resident memory just before the step (the peak is reset
there, see ``_timing.py``, so that import and model-building peaks do not count).

Usage:
    python benchmarks/encoder_speed.py                    # paper size, CPU, fp32
    python benchmarks/encoder_speed.py --device cuda --dtype bf16
    python benchmarks/encoder_speed.py --layers 2 --d-model 128 --d-ffn 512 \
        --lengths-s 1 2 --repeats 1                       # smoke run
"""

from __future__ import annotations

import argparse
import csv
import functools
import multiprocessing
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from _matmul_floor import ProductReplay, record_products
from _timing import (
    fmt,
    peak_resident_mib,
    reset_peak_resident,
    resident_mib,
    rotation,
    synchronize,
)
from speechbrain.nnet.attention import RelPosEncXL
from torch import nn

from summarymixing.encoders import ConformerEncoder
from summarymixing.layers.grouped_linear import GroupedMLP
from summarymixing.layers.summary_mixing import SummaryMixing

FRAMES_PER_SECOND = 50
ENCODER_MIXERS = ("SummaryMixing", "regularMHA", "RelPosMHAXL", "RoPEMHA", "SDPA")
NO_MIXER = "no mixer (floor)"
LAYER_BY_LAYER = "SummaryMixing, MLP layer by layer"
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths-s", type=float, nargs="+", default=[5, 10, 20, 30])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--layer-repeats", type=int, default=30,
        help="repeats of the (fast, noisier) layer comparison",
    )  # fmt: skip
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--dtype", choices=list(DTYPES), default="fp32")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--d-model", type=int, default=768)
    parser.add_argument("--d-ffn", type=int, default=3072)
    parser.add_argument("--nhead", type=int, default=8)
    parser.add_argument("--kernel-size", type=int, default=31)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--parts", nargs="+", choices=["layer", "encoder"],
                        default=["layer", "encoder"])  # fmt: skip
    parser.add_argument("--no-memory", action="store_true", help="skip memory")
    parser.add_argument("--no-matmul-floor", action="store_true",
                        help="skip the matmul floors")  # fmt: skip
    parser.add_argument(
        "--compiled", nargs="*", default=[], choices=ENCODER_MIXERS, metavar="MIXER",
        help="also time these encoders under torch.compile (compiled in the "
        "warm-up repeats, which --warmup must allow: at least 1)",
    )  # fmt: skip
    parser.add_argument(
        "--layer-by-layer-mlp", action="store_true",
        help="also time the SM encoder with its MLPs run one layer at a time",
    )  # fmt: skip
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/out/encoder_speed")
    )
    return parser.parse_args(argv)


class PlainSummaryMixing(nn.Module):
    """The equations as written, sharing ``f``, ``s`` and ``c`` with ``layer``."""

    def __init__(self, layer: SummaryMixing) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layer = self.layer
        local = layer.local_norm(layer.local_proj(x))
        mean = layer.summary_norm(layer.summary_proj(x).mean(dim=1, keepdim=True))
        repeated = mean.repeat(1, x.shape[1], 1)
        concatenated = layer.dropout(torch.cat([local, repeated], dim=-1))
        return layer.combiner_activation(layer.combiner(concatenated))


class NoMixer(nn.Module):
    """A mixer that returns zeros: what is left of a block is the floor."""

    def forward(
        self, query: torch.Tensor, *args: object, **kwargs: object
    ) -> tuple[torch.Tensor, None]:
        return torch.zeros_like(query), None


@dataclass
class Case:
    """One configuration: how to build it and how to run it on an input."""

    part: str
    name: str
    build: Callable[[], nn.Module]
    run: Callable[[nn.Module, torch.Tensor], torch.Tensor]


def summary_mixing_layer(args: argparse.Namespace) -> SummaryMixing:
    return SummaryMixing(args.d_model, nhead=args.nhead, global_dropout=args.dropout)


def conformer(args: argparse.Namespace, attention_type: str) -> ConformerEncoder:
    return ConformerEncoder(
        args.layers, args.d_model, args.d_ffn, args.nhead, args.kernel_size,
        dropout=args.dropout, attention_type=attention_type,
    )  # fmt: skip


def conformer_without_mixer(args: argparse.Namespace) -> ConformerEncoder:
    model = conformer(args, "regularMHA")
    for layer in model.layers:
        layer.mha_layer = NoMixer()
    return model


def with_layer_by_layer_mlps(model: nn.Module) -> nn.Module:
    """Make every ``GroupedMLP`` of ``model`` run its layers one at a time."""
    for module in model.modules():
        if isinstance(module, GroupedMLP):
            module.forward = functools.partial(nn.Sequential.forward, module)
    return model


def run_encoder(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    pos_embs = None
    if model.attention_type == "RelPosMHAXL":
        pos_embs = RelPosEncXL(x.shape[-1]).to(x.device)(x)
    return model(x, pos_embs=pos_embs)[0]


def make_cases(args: argparse.Namespace) -> list[Case]:
    cases = []
    if "layer" in args.parts:
        cases += [
            Case("layer", "SummaryMixing layer",
                 lambda: summary_mixing_layer(args), lambda m, x: m(x)),
            Case("layer", "plain formula",
                 lambda: PlainSummaryMixing(summary_mixing_layer(args)),
                 lambda m, x: m(x)),
        ]  # fmt: skip
    if "encoder" in args.parts:
        for mixer in ENCODER_MIXERS:
            cases.append(
                Case(
                    "encoder",
                    mixer,
                    lambda mixer=mixer: conformer(args, mixer),
                    run_encoder,
                )
            )
        floor = Case(
            "encoder", NO_MIXER, lambda: conformer_without_mixer(args), run_encoder
        )
        cases.append(floor)
        if args.layer_by_layer_mlp:
            cases.append(
                Case(
                    "encoder",
                    LAYER_BY_LAYER,
                    lambda: with_layer_by_layer_mlps(conformer(args, "SummaryMixing")),
                    run_encoder,
                )
            )
        for mixer in args.compiled:
            cases.append(
                Case(
                    "encoder",
                    f"{mixer} compiled",
                    lambda mixer=mixer: torch.compile(conformer(args, mixer)),
                    run_encoder,
                )
            )
    return cases


def step(
    case: Case, model: nn.Module, x: torch.Tensor, args: argparse.Namespace
) -> None:
    """One training step's compute: forward, backward, gradients dropped."""
    with torch.autocast(args.device, DTYPES[args.dtype], enabled=args.dtype != "fp32"):
        out = case.run(model, x)
    out.float().square().mean().backward()
    model.zero_grad(set_to_none=True)


def time_round_robin(
    runs: list[Callable[[], None]],
    args: argparse.Namespace,
    repeats: int,
) -> tuple[list[list[float]], list[float | None]]:
    """Seconds per call of every run (alternating), and CUDA peak MiB."""
    times: list[list[float]] = [[] for _ in runs]
    peaks: list[float | None] = [None] * len(runs)
    for repeat in range(args.warmup + repeats):
        for index in rotation(repeat, len(runs)):
            if args.device == "cuda":
                torch.cuda.reset_peak_memory_stats()
                before = torch.cuda.memory_allocated()
            synchronize(args.device)
            tic = time.perf_counter()
            runs[index]()
            synchronize(args.device)
            if repeat >= args.warmup:
                times[index].append(time.perf_counter() - tic)
            if args.device == "cuda":
                peak = (torch.cuda.max_memory_allocated() - before) / 2**20
                peaks[index] = max(peaks[index] or 0.0, peak)
    return times, peaks


def cpu_peak_probe(
    part: str, name: str, frames: int, args: argparse.Namespace
) -> float:
    """Run in a fresh process: peak resident growth (MiB) over one step.

    A first step on 8 frames initialises the libraries' lazy buffers, so that
    the growth measured is the step's own memory.
    """
    torch.manual_seed(0)
    case = next(c for c in make_cases(args) if (c.part, c.name) == (part, name))
    model = case.build().train()
    step(case, model, torch.randn(args.batch_size, 8, args.d_model), args)
    x = torch.randn(args.batch_size, frames, args.d_model)
    if not reset_peak_resident():
        raise SystemExit(
            "cannot reset the peak resident memory (/proc/self/clear_refs is not "
            "writable here); run with --no-memory"
        )
    before = resident_mib()
    step(case, model, x, args)
    return peak_resident_mib() - before


def cpu_peak_mib(case: Case, frames: int, args: argparse.Namespace) -> float:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1, maxtasksperchild=1) as pool:
        return pool.apply(cpu_peak_probe, (case.part, case.name, frames, args))


def ratio(rows: list[dict], row: dict, name: str) -> float | None:
    for other in rows:
        if (other["part"], other["config"], other["frames"]) == (
            row["part"], name, row["frames"]
        ):  # fmt: skip
            return row["median_s"] / other["median_s"]
    return None


def check_plain_formula(args: argparse.Namespace) -> None:
    """Make sure the two layers compared compute the same thing (eval mode)."""
    layer = summary_mixing_layer(args).eval()
    x = torch.randn(1, 50, args.d_model)
    with torch.no_grad():
        torch.testing.assert_close(PlainSummaryMixing(layer)(x), layer(x))


def matmul_floors(
    cases: list[Case], models: list[nn.Module], x: torch.Tensor,
    args: argparse.Namespace,
) -> dict[str, ProductReplay]:  # fmt: skip
    """Case name -> the replay of its step's matrix products (eager encoders)."""
    floors = {}
    for case, model in zip(cases, models, strict=True):
        if case.part == "encoder" and not case.name.endswith(" compiled"):
            record = functools.partial(step, case, model, x, args)
            floors[case.name] = ProductReplay(record_products(record))
    return floors


def floor_columns(
    case: Case,
    floors: dict[str, ProductReplay],
    floor_times: dict[str, list[float]],
    case_times: list[float],
) -> dict[str, float | None]:
    """``products_gflop``, ``floor_s`` and ``vs_floor`` of one row (or None)."""
    eager = case.name.removesuffix(" compiled")
    if case.part != "encoder" or eager not in floor_times:
        return {"products_gflop": None, "floor_s": None, "vs_floor": None}
    floor_s = statistics.median(floor_times[eager])
    return {
        "products_gflop": floors[eager].flops() / 1e9,
        "floor_s": floor_s,
        "vs_floor": statistics.median(case_times) / floor_s,
    }


def measure(args: argparse.Namespace) -> list[dict]:
    torch.manual_seed(0)
    if "layer" in args.parts:
        check_plain_formula(args)
    cases = make_cases(args)
    models = [case.build().to(args.device).train() for case in cases]
    rows = []
    for seconds in args.lengths_s:
        frames = int(round(seconds * FRAMES_PER_SECOND))
        x = torch.randn(args.batch_size, frames, args.d_model, device=args.device)
        floors = {} if args.no_matmul_floor else matmul_floors(cases, models, x, args)
        times, peaks, floor_times = [], [], {}
        for part in dict.fromkeys(case.part for case in cases):
            indices = [i for i, case in enumerate(cases) if case.part == part]
            repeats = args.layer_repeats if part == "layer" else args.repeats
            runs = [functools.partial(step, cases[i], models[i], x, args)
                    for i in indices]  # fmt: skip
            floor_names = [cases[i].name for i in indices if cases[i].name in floors]
            runs += [floors[name] for name in floor_names]
            part_times, part_peaks = time_round_robin(runs, args, repeats)
            times += part_times[: len(indices)]
            peaks += part_peaks[: len(indices)]
            floor_times.update(
                zip(floor_names, part_times[len(indices) :], strict=True)
            )
        for case, case_times, peak in zip(cases, times, peaks, strict=True):
            if peak is None and args.device == "cpu" and not args.no_memory:
                peak = cpu_peak_mib(case, frames, args)
            rows.append({
                "part": case.part, "config": case.name, "length_s": seconds,
                "frames": frames, "median_s": statistics.median(case_times),
                "min_s": min(case_times), "peak_mib": peak,
                **floor_columns(case, floors, floor_times, case_times),
            })  # fmt: skip
        print(f"measured {seconds:g} s ({frames} frames)", flush=True)
    for row in rows:
        row["vs_SDPA"] = ratio(rows, row, "SDPA")
        row["vs_regularMHA"] = ratio(rows, row, "regularMHA")
        row["vs_RelPosMHAXL"] = ratio(rows, row, "RelPosMHAXL")
        row["vs_plain"] = ratio(rows, row, "plain formula")
        eager = row["config"].removesuffix(" compiled")
        row["vs_eager"] = ratio(rows, row, eager) if eager != row["config"] else None
    return rows


def print_table(rows: list[dict], args: argparse.Namespace) -> None:
    memory = ("CUDA max_memory_allocated growth" if args.device == "cuda"
              else "peak RSS growth in a fresh subprocess (VmHWM)")  # fmt: skip
    memory += " over one step: activations, gradients and workspace"
    print(f"\ndevice {args.device}, {torch.get_num_threads()} threads, {args.dtype}, "
          f"B={args.batch_size}, {args.layers} layers, d {args.d_model}, FFN "
          f"{args.d_ffn}, {args.nhead} heads, kernel {args.kernel_size}; "
          f"median of {args.layer_repeats} (layer) and {args.repeats} (encoder) "
          f"alternating repeats; memory = {memory}")  # fmt: skip
    header = "| part | config | length (s) | frames | time (s) | vs SDPA "
    header += "| vs regularMHA | vs RelPosMHAXL | vs plain | vs eager | peak MiB "
    header += "| products (GFLOP) | matmul floor (s) | vs floor |"
    print(header + "\n|" + "---|" * 14)
    for row in rows:
        cells = [
            row["part"],
            row["config"],
            format(row["length_s"], "g"),
            str(row["frames"]),
            format(row["median_s"], ".3f"),
        ]
        cells += [
            fmt(row[key], ".2f")
            for key in (
                "vs_SDPA",
                "vs_regularMHA",
                "vs_RelPosMHAXL",
                "vs_plain",
                "vs_eager",
            )
        ]
        cells.append(fmt(row["peak_mib"], ".0f"))
        cells += [fmt(row["products_gflop"], ".1f"), fmt(row["floor_s"], ".3f"),
                  fmt(row["vs_floor"], ".2f")]  # fmt: skip
        print("| " + " | ".join(cells) + " |")  # fmt: skip
    for row in rows:
        if row["config"] == NO_MIXER and row["vs_SDPA"] is not None:
            print(f"at {row['length_s']:g} s, no mixer at all takes "
                  f"{row['vs_SDPA']:.2f}x SDPA's time and "
                  f"{fmt(row['vs_regularMHA'], '.2f')}x regularMHA's: the floor "
                  "for any mixer in this encoder")  # fmt: skip


def write_outputs(rows: list[dict], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    has_memory = any(r["peak_mib"] is not None for r in rows)
    figure, axes = pyplot.subplots(
        1, 3 if has_memory else 2, figsize=(16 if has_memory else 11, 4)
    )
    time_axis, ratio_axis = axes[0], axes[1]
    for part, config in dict.fromkeys((r["part"], r["config"]) for r in rows):
        mine = [r for r in rows if (r["part"], r["config"]) == (part, config)]
        lengths = [r["length_s"] for r in mine]
        label = f"{part}: {config}"
        time_axis.plot(lengths, [r["median_s"] for r in mine], "o-", label=label)
        if part == "encoder" and config != "SDPA" and mine[0]["vs_SDPA"]:
            ratios = [r["vs_SDPA"] for r in mine]
            ratio_axis.plot(lengths, ratios, "o-", label=config)
        if has_memory and all(r["peak_mib"] is not None for r in mine):
            axes[2].plot(lengths, [r["peak_mib"] for r in mine], "o-", label=label)
    time_axis.set(xlabel="utterance length (s)", ylabel="forward+backward (s)")
    time_axis.set_yscale("log")
    time_axis.legend(fontsize=8)
    ratio_axis.axhline(1.0, color="grey", linewidth=0.8)
    ratio_axis.set(xlabel="utterance length (s)", ylabel="encoder time / SDPA's")
    ratio_axis.legend(fontsize=8)
    if has_memory:
        axes[2].set(xlabel="utterance length (s)", ylabel="peak memory growth (MiB)")
        axes[2].set_yscale("log")
    figure.tight_layout()
    figure.savefig(out.with_suffix(".png"), dpi=120)
    print(f"wrote {out.with_suffix('.csv')} and {out.with_suffix('.png')}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.compiled and args.warmup < 1:
        raise SystemExit("--compiled needs --warmup 1 or more (compiling is not timed)")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit(
            "--device cuda requested but torch.cuda.is_available() is False"
        )
    rows = measure(args)
    print_table(rows, args)
    write_outputs(rows, args.out)


if __name__ == "__main__":
    main()
