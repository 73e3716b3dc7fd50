"""The run report: yields per stage, rejection reasons, vote agreement and lengths, as Markdown
with PNG charts beside it (matplotlib, headless)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tsqa.compile.plan import Plan
from tsqa.stages.registry import MODEL_STAGE_DEFS, YIELD_STAGES
from tsqa.store.manifest import Manifest
from tsqa.store.shards import read_shard

_YIELD = YIELD_STAGES


def write_report(path: Path, plan: Plan, manifests: dict[str, dict[str, Manifest]]) -> None:
    charts = path.parent / "report"
    charts.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# tsqa run report — {plan.project}",
        "",
        f"Plan digest `{plan.input_digest[:16]}`.",
        "",
        "## Yield per stage",
        "",
        "| task | " + " | ".join(s.value for s in _YIELD) + " |",
        "|---|" + "---|" * len(_YIELD),
    ]
    for task, stages in manifests.items():
        cells = [f"{stages[s.value].rows_out:,}" if s.value in stages else "—" for s in _YIELD]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    lines += ["", "## Rejections", "", "| task | stage | reason | rows |", "|---|---|---|---|"]
    reasons: Counter[str] = Counter()
    for task, stages in manifests.items():
        for stage, m in stages.items():
            for reason, count in sorted(m.rejections.items()):
                lines.append(f"| {task} | {stage} | {reason} | {count:,} |")
                reasons[f"{stage}: {reason}"] += count
    lines += [
        "",
        "## Model calls",
        "",
        "| task | stage | requests | cache hits | prompt tokens | completion tokens |",
        "|---|---|---|---|---|---|",
    ]
    for task, stages in manifests.items():
        for stage in (d.stage for d in MODEL_STAGE_DEFS):
            called = stages.get(stage.value)
            if called is not None and called.requests:
                lines.append(
                    f"| {task} | {stage.value} | {called.requests:,} | {called.cache_hits:,} "
                    f"| {called.prompt_tokens:,} | {called.completion_tokens:,} |"
                )
    agreement, lengths = _collect(path.parent, manifests)
    lines += ["", "## Charts", ""]
    for name, title in _plot(charts, reasons, agreement, lengths):
        lines.append(f"![{title}](report/{name})")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _collect(root: Path, manifests: dict[str, dict[str, Manifest]]) -> tuple[list[float], list[int]]:
    agreement: list[float] = []
    lengths: list[int] = []
    for stages in manifests.values():
        verify, package = stages.get("verify"), stages.get("package")
        for shard in verify.shards if verify else []:
            agreement += [
                a for a in read_shard(root / shard.file, columns=["agreement"]).column(0).to_pylist() if a is not None
            ]
        for shard in package.shards if package else []:
            lengths += [len(t) for t in read_shard(root / shard.file, columns=["text"]).column(0).to_pylist()]
    return agreement, lengths


def _plot(folder: Path, reasons: Counter[str], agreement: list[float], lengths: list[int]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    if reasons:
        fig, ax = plt.subplots(figsize=(7, 0.4 * len(reasons) + 1.2))
        labels, counts = zip(*reasons.most_common(), strict=True)
        ax.barh(labels, counts)
        ax.invert_yaxis()
        ax.set_xlabel("rows rejected")
        fig.tight_layout()
        fig.savefig(folder / "rejections.png", dpi=100)
        plt.close(fig)
        made.append(("rejections.png", "Rejections by stage and reason"))
    for values, name, title, xlabel in (
        (agreement, "agreement.png", "Vote agreement of verified questions", "agreement"),
        (lengths, "lengths.png", "Length of packaged texts", "characters"),
    ):
        if values:
            fig, ax = plt.subplots(figsize=(6, 3))
            ax.hist(values, bins=20)
            ax.set_xlabel(xlabel)
            ax.set_ylabel("rows")
            fig.tight_layout()
            fig.savefig(folder / name, dpi=100)
            plt.close(fig)
            made.append((name, title))
    return made
