"""The report's charts as PNG bytes (matplotlib, headless Agg backend)."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from tsqa.report.build import AGREEMENT_EDGES, Report
from tsqa.stages.output_schema import LETTERS


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=90)
    _pyplot().close(fig)
    return buf.getvalue()


SEEDS_COLOR, OUTPUTS_COLOR = "#9aa5b1", "#2f6fdf"


def charts(report: Report) -> dict[str, tuple[str, bytes]]:
    """name → (title, PNG) for every chart that has data."""
    plt = _pyplot()
    out: dict[str, tuple[str, bytes]] = {}
    mc = [t for t in report.tasks if t.positions is not None]
    if mc:
        cols = min(4, len(mc))
        rows = math.ceil(len(mc) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
        for ax, t in zip(axes.flat, mc, strict=False):
            p = t.positions
            assert p is not None
            total_s, total_o = sum(p.seeds) or 1, sum(p.outputs) or 1
            xs = range(p.n_options)
            ax.bar([x - 0.2 for x in xs], [c / total_s for c in p.seeds], 0.4, color=SEEDS_COLOR, label="seeds")
            ax.bar([x + 0.2 for x in xs], [c / total_o for c in p.outputs], 0.4, color=OUTPUTS_COLOR, label="outputs")
            ax.axhline(1 / p.n_options, color="black", lw=0.8, ls="--")
            ax.set_xticks(list(xs), list(LETTERS[: p.n_options]))
            ax.set_title(f"{t.task}\np seeds {_p(p.seeds_p)} · outputs {_p(p.outputs_p)}", fontsize=8)
            ax.tick_params(labelsize=7)
        for ax in list(axes.flat)[len(mc) :]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=7, loc="upper left")
        out["positions"] = ("Answer position: share of rows per option letter (dashed: uniform)", _png(fig))
    tasks = [t.task for t in report.tasks]
    fig, axes = plt.subplots(1, 3, figsize=(13, 0.32 * len(tasks) + 1.6), sharey=True)
    for ax, key in zip(axes, ("question", "answer", "enrichment"), strict=True):
        ys = range(len(tasks))
        seeds = [(t.lengths[key][0] or {}).get("median", 0) for t in report.tasks]
        outs = [(t.lengths[key][1] or {}).get("median", 0) for t in report.tasks]
        ax.barh([y - 0.2 for y in ys], seeds, 0.4, color=SEEDS_COLOR, label="seeds")
        ax.barh([y + 0.2 for y in ys], outs, 0.4, color=OUTPUTS_COLOR, label="outputs")
        ax.set_yticks(list(ys), tasks, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel(f"median {key} characters", fontsize=8)
    axes[0].legend(fontsize=7, loc="lower right")
    out["lengths"] = ("Lengths: seeds vs packaged outputs (median characters)", _png(fig))
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.32 * len(tasks) + 1.6), sharey=True)
    ys = range(len(tasks))
    for ax, (label, seeds, outs) in zip(
        axes,
        (
            (
                "distinct-2 of questions",
                [t.diversity.distinct["distinct-2"][0] or 0 for t in report.tasks],
                [t.diversity.distinct["distinct-2"][1] or 0 for t in report.tasks],
            ),
            (
                "mean within-task MinHash similarity",
                [t.diversity.within_seeds or 0 for t in report.tasks],
                [t.diversity.within_outputs or 0 for t in report.tasks],
            ),
        ),
        strict=True,
    ):
        ax.barh([y - 0.2 for y in ys], seeds, 0.4, color=SEEDS_COLOR, label="seeds")
        ax.barh([y + 0.2 for y in ys], outs, 0.4, color=OUTPUTS_COLOR, label="outputs")
        ax.set_yticks(list(ys), tasks, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel(label, fontsize=8)
    axes[0].legend(fontsize=7, loc="lower right")
    out["diversity"] = ("Diversity: distinct-2 (higher is more varied) and within-task similarity", _png(fig))
    kept = np.concatenate([np.zeros(0), *(t.agreement_kept for t in report.tasks)])
    rejected = np.concatenate([np.zeros(0), *(t.agreement_rejected for t in report.tasks)])
    if len(kept) or len(rejected):
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.hist(
            [rejected, kept],
            bins=AGREEMENT_EDGES,
            stacked=True,
            color=["#d9822b", OUTPUTS_COLOR],
            label=["rejected", "kept"],
        )
        ax.set_xlabel("vote agreement (share of samples on the winner)")
        ax.set_ylabel("questions")
        ax.legend(fontsize=8, loc="upper left")
        out["agreement"] = ("Vote agreement of verified questions", _png(fig))
    reasons: dict[str, int] = {}
    for t in report.tasks:
        for r in t.rejections:
            key = f"{r['stage']}: {r['reason']}"
            reasons[key] = reasons.get(key, 0) + r["count"]
    if reasons:
        items = sorted(reasons.items(), key=lambda kv: -kv[1])
        fig, ax = plt.subplots(figsize=(7, 0.35 * len(items) + 1.2))
        ax.barh([k for k, _ in items], [v for _, v in items], color="#d9822b")
        ax.invert_yaxis()
        ax.tick_params(labelsize=8)
        ax.set_xlabel("rows rejected")
        out["rejections"] = ("Rejections by stage and reason", _png(fig))
    if report.tokens_by_group:
        groups = sorted(report.tokens_by_group)
        fig, ax = plt.subplots(figsize=(6, 0.4 * len(groups) + 1.2))
        ax.barh(groups, [report.tokens_by_group[g] for g in groups], color=OUTPUTS_COLOR)
        ax.set_xlabel("packaged tokens")
        out["tokens"] = ("Packaged tokens per group", _png(fig))
    return out


def _p(value: float | None) -> str:
    return "—" if value is None else f"{value:.2g}"
