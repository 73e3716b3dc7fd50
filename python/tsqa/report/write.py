"""Render the report as Markdown (+ PNG files) and as one self-contained HTML page."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from tsqa.report.build import YIELD_STAGES, Report, TaskReport, build_report
from tsqa.report.charts import charts
from tsqa.stages.output_schema import LETTERS

SECTIONS = (
    ("summary", "Summary"),
    ("samples", "Samples beside their seeds"),
    ("diversity", "Diversity"),
    ("positions", "Answer positions"),
    ("lengths", "Lengths"),
    ("agreement", "Vote agreement"),
    ("rejections", "Rejections"),
    ("tokens", "Tokens per group"),
    ("yields", "Yield per stage and model calls"),
)
"""Section ids and titles, in page order (the HTML's <section id=…>; tests look for them)."""


def write_report(root: Path, *, markdown: Path | None = None, page: Path | None = None) -> tuple[Path, Path]:
    """Write `report.md` (charts as report/*.png beside it) and `report.html` into the run dir."""
    report = build_report(root)
    made = charts(report)
    md_path = markdown or root / "report.md"
    html_path = page or root / "report.html"
    chart_dir = md_path.parent / "report"
    chart_dir.mkdir(parents=True, exist_ok=True)
    for name, (_, png) in made.items():
        (chart_dir / f"{name}.png").write_bytes(png)
    md_path.write_text(
        render_markdown(report, {n: (t, f"report/{n}.png") for n, (t, _) in made.items()}), encoding="utf-8"
    )
    html_path.write_text(render_html(report, made), encoding="utf-8")
    return md_path, html_path


# -- cells -----------------------------------------------------------------------------------------


def _f(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"


def _len(summary: dict[str, float] | None) -> str:
    return "—" if summary is None else f"{summary['median']:.0f} / {summary['mean']:.0f}"


def _tables(report: Report) -> dict[str, tuple[list[str], list[list[str]]]]:
    """Every table of the report as (header, rows) of plain text, shared by both renderers."""
    tasks = report.tasks
    t: dict[str, tuple[list[str], list[list[str]]]] = {}
    t["summary"] = (
        ["task", "group", "format", "seeds", "questions", "packaged rows"],
        [[x.task, x.group or "—", x.format or "—", f"{x.seeds:,}", f"{x.questions:,}", f"{x.rows:,}"] for x in tasks],
    )
    t["diversity"] = (
        [
            "task",
            "distinct-1 s/o",
            "distinct-2 s/o",
            "distinct-3 s/o",
            "within seeds",
            "within outputs",
            "to own seed",
            "to nearest seed",
        ],
        [
            [
                x.task,
                *(
                    f"{_f(x.diversity.distinct[k][0])} / {_f(x.diversity.distinct[k][1])}"
                    for k in ("distinct-1", "distinct-2", "distinct-3")
                ),
                _f(x.diversity.within_seeds),
                _f(x.diversity.within_outputs),
                _f(x.diversity.to_own_seed),
                _f(x.diversity.to_nearest_seed),
            ]
            for x in tasks
        ],
    )
    t["positions"] = (
        ["task", "options", "seeds per letter", "χ² p (seeds)", "outputs per letter", "χ² p (outputs)"],
        [
            [
                x.task,
                str(x.positions.n_options),
                _letters(x.positions.seeds),
                _p(x.positions.seeds_p),
                _letters(x.positions.outputs),
                _p(x.positions.outputs_p),
            ]
            for x in tasks
            if x.positions is not None
        ],
    )
    t["lengths"] = (
        ["task", "question seeds", "question outputs", "answer seeds", "answer outputs", "enrichment outputs"],
        [
            [
                x.task,
                _len(x.lengths["question"][0]),
                _len(x.lengths["question"][1]),
                _len(x.lengths["answer"][0]),
                _len(x.lengths["answer"][1]),
                _len(x.lengths["enrichment"][1]),
            ]
            for x in tasks
        ],
    )
    t["agreement"] = (
        ["task", "verified", "mean agreement (kept)", "rejected by vote", "mean agreement (rejected)"],
        [
            [
                x.task,
                str(len(x.agreement_kept)),
                _f(float(x.agreement_kept.mean())) if len(x.agreement_kept) else "—",
                str(len(x.agreement_rejected)),
                _f(float(x.agreement_rejected.mean())) if len(x.agreement_rejected) else "—",
            ]
            for x in tasks
        ],
    )
    t["rejections"] = (
        ["task", "stage", "reason", "rows", "example"],
        [
            [x.task, r["stage"], r["reason"], f"{r['count']:,}", f"{r['example_id']}: {r['example']}"]
            for x in tasks
            for r in x.rejections
        ],
    )
    t["tokens"] = (
        ["group", "rows", "tokens"],
        [
            [g, f"{report.rows_by_group.get(g, 0):,}", f"{report.tokens_by_group.get(g, 0):,}"]
            for g in sorted(set(report.rows_by_group) | set(report.tokens_by_group))
        ],
    )
    t["yields"] = (
        ["task", *YIELD_STAGES],
        [[x.task, *(f"{x.yields[s]:,}" if s in x.yields else "—" for s in YIELD_STAGES)] for x in tasks],
    )
    t["calls"] = (
        ["task", "stage", "requests", "cache hits", "prompt tokens", "completion tokens"],
        [
            [
                x.task,
                c["stage"],
                f"{c['requests']:,}",
                f"{c['cache_hits']:,}",
                f"{c['prompt_tokens']:,}",
                f"{c['completion_tokens']:,}",
            ]
            for x in tasks
            for c in x.calls
        ],
    )
    return t


def _letters(counts: list[int]) -> str:
    return " ".join(f"{LETTERS[i]}:{c}" for i, c in enumerate(counts))


_NOTES = {
    "diversity": "distinct-n: distinct word n-grams / all n-grams of the questions (s = seeds, o = outputs). "
    "Similarities are MinHash estimates of word-3-gram Jaccard: mean over pairs within the task, each output's "
    "similarity to its own seed, and to its nearest seed.",
    "positions": "Where the correct option sits. The χ² p-value tests the counts against uniform: a small p means a "
    "position bias. Generated options are reordered by a seeded shuffle, so outputs should be uniform even when seeds are not.",
    "lengths": "Characters, median / mean, of the seeds and of the packaged questions, answers and enrichments.",
    "agreement": "Share of the vote samples that agree on the winning answer (each sample saw its own option order).",
    "rejections": "Every rejection reason, with one example row (its id and the stage's detail).",
}


# -- Markdown --------------------------------------------------------------------------------------


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    def cell(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    if not rows:
        return ["(none)"]
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
        "| " + " | ".join(cell(c) for c in r) + " |" for r in rows
    ]


def render_markdown(report: Report, images: dict[str, tuple[str, str]]) -> str:
    tables = _tables(report)
    lines = [
        f"# tsqa quality report — {report.project or report.root.name}",
        "",
        f"{report.total_rows:,} packaged rows, {report.total_tokens:,} tokens, {len(report.tasks)} tasks; `report.html` has it all on one page.",
    ]
    for sid, title in SECTIONS:
        lines += ["", f"## {title}", ""]
        if sid in _NOTES:
            lines += [_NOTES[sid], ""]
        if sid == "samples":
            for x in report.tasks:
                lines += [f"### {x.task}", ""]
                lines += _md_samples(x) or ["(no packaged rows)"]
                lines.append("")
            continue
        lines += _md_table(*tables[sid])
        if sid == "yields":
            lines += ["", *_md_table(*tables["calls"])]
        chart = {"rejections": "rejections", "tokens": "tokens"}.get(sid, sid)
        if chart in images:
            title_, path = images[chart]
            lines += ["", f"![{title_}]({path})"]
    return "\n".join(lines) + "\n"


def _md_record(label: str, r: dict[str, Any]) -> list[str]:
    out = [f"**{label}**: {r['question']}"]
    if r.get("context"):
        out.append(f"  context: {r['context'][:300]}")
    for i, o in enumerate(r.get("options") or []):
        mark = " ✓" if i == r.get("answer_index") else ""
        out.append(f"  - {LETTERS[i]}. {o}{mark}")
    if not r.get("options"):
        out.append(f"  answer: {r.get('answer_text')}")
    return out


def _md_samples(x: TaskReport) -> list[str]:
    lines: list[str] = []
    for s in x.samples:
        if s["seed"]:
            lines += _md_record("seed", s["seed"])
        out = s["output"]
        lines += _md_record("generated", out)
        lines.append(f"  agreement {_f(out.get('agreement'))} ({out.get('votes')}/{out.get('samples')} votes)")
        for variant, text in out["enrichments"].items():
            lines.append(f"  *{variant}*: {(text or '').strip()[:400]}".replace("\n", " "))
        lines.append("")
    return lines


# -- HTML ------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;color:#1b1f24;padding:0 1rem}
h1{font-size:1.6rem} h2{border-bottom:2px solid #e1e4e8;padding-bottom:.3rem;margin-top:2.2rem}
table{border-collapse:collapse;font-size:.82rem;margin:.6rem 0} th,td{border:1px solid #d0d7de;padding:.25rem .5rem;vertical-align:top;text-align:left}
th{background:#f3f5f7} td.num{text-align:right} .note{color:#57606a;font-size:.85rem;max-width:900px}
img{max-width:100%;border:1px solid #e1e4e8;margin:.5rem 0} .pair{display:grid;grid-template-columns:1fr 1fr;gap:1rem;margin:.6rem 0 1.2rem}
.card{border:1px solid #d0d7de;border-radius:6px;padding:.6rem .8rem;font-size:.85rem} .card h4{margin:.1rem 0 .4rem;font-size:.8rem;color:#57606a;text-transform:uppercase}
.card.out{border-color:#2f6fdf} .ok{color:#1a7f37;font-weight:600} .enr{background:#f6f8fa;padding:.4rem;border-radius:4px;white-space:pre-wrap;margin-top:.4rem}
nav a{margin-right:.8rem;font-size:.85rem}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return "<p class='note'>(none)</p>"
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_record(label: str, r: dict[str, Any] | None, css: str) -> str:
    if r is None:
        return f"<div class='card {css}'><h4>{_e(label)}</h4><p class='note'>seed not found</p></div>"
    parts = [f"<div class='card {css}'><h4>{_e(label)}</h4>"]
    if r.get("context"):
        parts.append(f"<p class='note'>{_e(r['context'][:600])}</p>")
    parts.append(f"<p>{_e(r['question'])}</p>")
    if r.get("options"):
        items = "".join(
            f"<li>{_e(LETTERS[i])}. {_e(o)}{' <span class=ok>✓</span>' if i == r.get('answer_index') else ''}</li>"
            for i, o in enumerate(r["options"])
        )
        parts.append(f"<ol style='list-style:none;padding-left:.4rem'>{items}</ol>")
    else:
        parts.append(f"<p>answer: <b>{_e(r.get('answer_text'))}</b></p>")
    if "agreement" in r:
        parts.append(
            f"<p class='note'>agreement {_f(r.get('agreement'))} ({_e(r.get('votes'))}/{_e(r.get('samples'))} votes)</p>"
        )
    for variant, text in (r.get("enrichments") or {}).items():
        parts.append(f"<div class='enr'><b>{_e(variant)}</b>: {_e((text or '').strip()[:800])}</div>")
    parts.append("</div>")
    return "".join(parts)


def render_html(report: Report, images: dict[str, tuple[str, bytes]]) -> str:
    tables = _tables(report)
    title = f"tsqa quality report — {report.project or report.root.name}"
    body = [
        f"<h1>{_e(title)}</h1>",
        f"<p>{report.total_rows:,} packaged rows · {report.total_tokens:,} tokens · {len(report.tasks)} tasks</p>",
        "<nav>" + "".join(f"<a href='#{sid}'>{_e(t)}</a>" for sid, t in SECTIONS) + "</nav>",
    ]
    for sid, heading in SECTIONS:
        body.append(f"<section id='{sid}'><h2>{_e(heading)}</h2>")
        if sid in _NOTES:
            body.append(f"<p class='note'>{_e(_NOTES[sid])}</p>")
        if sid == "samples":
            for x in report.tasks:
                body.append(f"<h3>{_e(x.task)}</h3>")
                if not x.samples:
                    body.append("<p class='note'>(no packaged rows)</p>")
                for s in x.samples:
                    body.append(
                        "<div class='pair'>"
                        + _html_record("seed", s["seed"], "seed")
                        + _html_record("generated", s["output"], "out")
                        + "</div>"
                    )
        else:
            body.append(_html_table(*tables[sid]))
            if sid == "yields":
                body.append(_html_table(*tables["calls"]))
        if sid in images:
            caption, png = images[sid]
            data = base64.b64encode(png).decode("ascii")
            body.append(
                f"<figure><img alt='{_e(caption)}' src='data:image/png;base64,{data}'><figcaption class='note'>{_e(caption)}</figcaption></figure>"
            )
        body.append("</section>")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>" + "\n".join(body) + "</body></html>\n"
    )
