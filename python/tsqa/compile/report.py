"""Render a Plan for people (rich tables and a one-line summary) or tools (JSON)."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tsqa.compile.plan import Plan
from tsqa.compile.stages import ChangeKind

_CHANGE_STYLE = {ChangeKind.NONE: "dim", ChangeKind.NEW: "green", ChangeKind.REGENERATE: "yellow"}


def render_plan(plan: Plan, console: Console) -> None:
    table = Table(title=f"tsqa plan — {plan.project}", show_lines=False, header_style="bold")
    for column, justify in [
        ("task", "left"),
        ("group", "left"),
        ("change", "left"),
        ("seed rows", "right"),
        ("requests", "right"),
        ("prompt tok", "right"),
        ("output tok", "right"),
        ("GPU-h", "right"),
        ("expected rows", "right"),
        ("weight", "right"),
    ]:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for task in plan.tasks:
        gpu = [s.estimate for s in task.stages if s.needs_gpu]
        seed_rows = "?" if task.seed_rows is None else _num(task.seed_rows)
        if task.seed_rows is not None and task.used_seed_rows < task.seed_rows:
            seed_rows = f"{_num(task.used_seed_rows)}/{seed_rows}"
        table.add_row(
            task.task,
            task.group or "",
            Text(task.change.value, style=_CHANGE_STYLE.get(task.change, "cyan")),
            seed_rows,
            _num(sum(e.requests for e in gpu)),
            _num(sum(e.prompt_tokens for e in gpu)),
            _num(sum(e.output_tokens for e in gpu)),
            f"{task.gpu_hours:.2f}",
            _num(task.expected_rows),
            f"{task.blend_weight:g}",
        )
    t = plan.totals
    table.add_section()
    table.add_row(
        "total",
        "",
        "",
        _num(t.seed_rows),
        _num(t.requests),
        _num(t.prompt_tokens),
        _num(t.output_tokens),
        f"{t.gpu_hours:.2f}",
        _num(t.expected_rows),
        "",
        style="bold",
    )
    console.print(table)
    if plan.waves:
        waves = Table(title="engine waves (one model load each)", header_style="bold")
        for column in ("model", "stages", "tasks", "requests", "GPU-h", "wall-h on workers", "workers"):
            waves.add_column(column)
        for w in plan.waves:
            waves.add_row(
                f"{w.model} ({w.model_id})",
                ", ".join(s.value for s in w.stages),
                str(len(w.tasks)),
                _num(w.requests),
                f"{w.gpu_hours:.2f}",
                f"{w.wall_hours:.2f}",
                w.replicas,
            )
        console.print(waves)
    notes: dict[str, list[str]] = {}
    for task in plan.tasks:
        for v in task.violations:
            console.print(
                f"[red]token budget[/] {task.task} {v.stage.value}: {v.violating_rows}/{v.sampled_rows} sampled rows "
                f"exceed {v.model}'s max_model_len {v.max_model_len}; worst seed {v.seed_id!r}: "
                f"{v.prompt_tokens} prompt + {v.max_tokens} max_tokens",
                highlight=False,
            )
        for note in task.notes:
            notes.setdefault(note, []).append(task.task)
    for note, names in notes.items():
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        console.print(f"[dim]note[/] {note} ({shown})", highlight=False)
    console.print(summary_line(plan), highlight=False)


def summary_line(plan: Plan) -> str:
    counts = Counter(t.change for t in plan.tasks)
    if not plan.has_work:
        return f"No changes. {len(plan.tasks)} tasks are up to date."
    parts = [
        f"{n} {kind.value}"
        for kind, n in sorted(counts.items(), key=lambda kv: kv[0].value)
        if kind is not ChangeKind.NONE
    ]
    unchanged = counts.get(ChangeKind.NONE, 0)
    return (
        f"Plan: {', '.join(parts)}, {unchanged} unchanged. {plan.totals.gpu_hours:.2f} GPU-hours, "
        f"~{_num(plan.totals.expected_rows)} rows expected, {plan.totals.violations} token-budget violations."
    )


def _num(value: float) -> str:
    value = float(value)
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value:.0f}"
