"""`tsqa plan --jobs N`: the specs split across processes give the plan (byte for byte), the lint
findings and the refusals of one process; a failing process is a one-line error."""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import signal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from tsqa.cli import main
from tsqa.compile.planner import SPECS_PER_PROCESS, chunk_bounds, plan_jobs
from tsqa.forked import usable_cpus

PROJECT = """\
version: 1
name: par
models:
  generator: {engine: vllm, model: org/gen-7b, revision: r1, max_model_len: 8192, throughput_tokens_per_s: 1000, workers: 2}
  solver: {engine: vllm, model: org/solve-7b, revision: r1, max_model_len: 2048, throughput_tokens_per_s: 2000}
defaults:
  verify: {kind: vote, model: solver, samples: 3}
output: {dir: runs/par}
"""
HELD = "Which organ of the human body pumps blood through the arteries and veins to every other organ?"


def _spec(i: int, rng: random.Random) -> str:
    fmt = rng.choice(["multiple_choice", "short_answer"])
    fields = (
        "fields: {question: '{{ question }}', choices: '{{ choices }}', answer: '{{ answer }}'}\n"
        if fmt == "multiple_choice"
        else "fields: {question: 'Q{{ n }}: {{ question }}', answer: '{{ answer }}'}\nverify: {extractor: number}\n"
    )
    seed = f"data/s{i:02d}.parquet" if i % 3 else f"data/s{i:02d}.jsonl"
    dedup = ["", "dedup: {threshold: 0.7, against: [tasks]}\n", "dedup: {threshold: 0.8}\n", ""][i % 4]
    return (
        f"task: t{i:02d}\ngroup: {rng.choice(['knowledge', 'reasoning'])}\n"
        f"seed: {{files: ../{seed}, license: cc0-1.0}}\nformat: {fmt}\n{fields}{dedup}"
        f"generate: {{per_seed: {rng.randint(1, 3)}, sampling: {{max_tokens: {rng.choice([300, 1900])}}}}}\n"
        f"blend: {{weight: {rng.choice([0.5, 1.0])}}}\n"
    )


def _rows(i: int, count: int) -> list[dict[str, object]]:
    return [
        {
            "question": f"Spec {i} asks question {n}: what is {n} + {i}?",
            "choices": ["1", "2", str(n + i)],
            "answer": 2,
            "n": n,
        }
        for n in range(count)
    ]


def make_project(root: Path, specs: int = 12, seed: int = 7) -> Path:
    rng = random.Random(seed)
    (root / "tsqa.yaml").write_text(PROJECT)
    (root / "specs").mkdir()
    (root / "data").mkdir()
    for i in range(specs):
        rows = _rows(i, rng.randint(3, 40))
        if i % 3:
            pq.write_table(pa.Table.from_pylist(rows), root / "data" / f"s{i:02d}.parquet", row_group_size=7)
        else:
            (root / "data" / f"s{i:02d}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (root / "specs" / f"t{i:02d}.yaml").write_text(_spec(i, rng))
    return root


def plan(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["plan", str(root / "specs"), "--project", str(root / "tsqa.yaml"), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_jobs_give_the_plan_of_one_process_byte_for_byte(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    code, serial = plan(root, "--json", "--jobs", "1")
    assert code == 0, serial
    tasks = json.loads(serial)["tasks"]
    assert len(tasks) == 12
    # dedup peers cross the chunks: a task's dedup fingerprint reads every peer's
    assert sum(1 for t in (root / "specs").glob("*.yaml") if "against: [tasks]" in t.read_text()) >= 2
    for jobs in ("2", "3", "5"):
        code, out = plan(root, "--json", "--jobs", jobs)
        assert code == 0, out
        assert out == serial, f"--jobs {jobs} differs"
    # the tables (and the saved plan) too
    tables = plan(root, "-j", "1", "-o", str(tmp_path / "a.json"))[1]
    assert tables.replace("a.json", "b.json") == plan(root, "-j", "4", "-o", str(tmp_path / "b.json"))[1]
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_a_parallel_plan_after_arrow_started_its_thread_pools(tmp_path: Path) -> None:
    """A plan never starts Arrow's thread pools before it forks (its reads use none), but a program
    that called it after a threaded read still gets its plan: Arrow re-creates its pools in a
    forked child (and jemalloc and OpenBLAS, whose threads exist from the import, handle fork)."""
    root = make_project(tmp_path)
    serial = plan(root, "--json", "-j", "1")[1]
    pq.read_table(root / "data" / "s01.parquet", use_threads=True)  # starts Arrow's CPU and I/O pools
    threads = len(os.listdir("/proc/self/task"))
    assert plan(root, "--json", "-j", "3")[1] == serial
    assert threads > 1


def test_a_change_in_one_chunk_reaches_its_dedup_peers_in_another(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    peers = [t for t in sorted((root / "specs").glob("*.yaml")) if "against: [tasks]" in t.read_text()]
    first, last = peers[0], peers[-1]
    assert int(first.stem[1:]) < 4 and int(last.stem[1:]) >= 8  # chunks of 4 with -j 3: first and last apart
    before = json.loads(plan(root, "--json", "-j", "3")[1])
    text = first.read_text()
    first.write_text(text.replace("max_tokens: 300", "max_tokens: 299").replace("max_tokens: 1900", "max_tokens: 1899"))
    code, out = plan(root, "--json", "-j", "3")
    assert code == 0, out
    after = json.loads(out)

    def dedup_fp(payload: dict, spec: Path) -> str:  # type: ignore[type-arg]
        task = next(t for t in payload["tasks"] if t["spec_file"].endswith(spec.name))
        return str(next(s["fingerprint"] for s in task["stages"] if s["stage"] == "dedup"))

    assert dedup_fp(before, last) != dedup_fp(after, last)
    assert plan(root, "--json", "-j", "1")[1] == out


def test_lint_findings_are_the_same_in_any_number_of_processes(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    specs = root / "specs"
    (specs / "t01.yaml").write_text(re.sub(r"(?m)^format: .*$", "format: essay", (specs / "t01.yaml").read_text()))
    (specs / "t04.yaml").write_text((specs / "t04.yaml").read_text() + "description: '!function evil.run'\n")
    (specs / "t10.yaml").write_text((specs / "t10.yaml").read_text().replace("task: t10", "task: t02"))  # duplicate
    (root / "data" / "test").mkdir()
    (root / "data" / "test" / "x.jsonl").write_text(json.dumps(_rows(1, 1)[0]) + "\n")
    (specs / "t07.yaml").write_text(
        (specs / "t07.yaml").read_text().replace("../data/s07.parquet", "../data/test/x.jsonl")
    )
    code, serial = plan(root, "--jobs", "1")
    assert code == 1
    for rule in ("error[schema]", "error[code-in-spec]", "error[duplicate-task]", "error[seed-path-eval-named]"):
        assert rule in serial, serial
    assert "t10.yaml:1:" in serial and "t02.yaml:1" in serial  # the duplicate names the first definition
    for jobs in ("2", "3", "6"):
        assert plan(root, "--jobs", jobs) == (1, serial)
    lint = CliRunner().invoke(main, ["lint", str(specs), "--project", str(root / "tsqa.yaml")])
    assert lint.output == serial


def test_refusals_are_those_of_the_first_failing_spec(tmp_path: Path) -> None:
    """A seed file that holds an eval row (in the last chunk) and a field template that fails on
    every row (in an earlier one): the sample step's first refusal in spec order, whatever the split."""
    root = make_project(tmp_path)
    specs = root / "specs"
    (root / "private").mkdir()
    (root / "private" / "held.jsonl").write_text(json.dumps({"question": HELD, "answer": "heart"}) + "\n")
    with (root / "data" / "s09.jsonl").open("a") as f:
        f.write(json.dumps({"question": HELD, "choices": ["a", "b", "heart"], "answer": 2, "n": 0}) + "\n")
    (specs / "t09.yaml").write_text(
        (specs / "t09.yaml").read_text() + "decontaminate: {eval_files: [../private/held.jsonl]}\n"
    )
    code, serial = plan(root, "--jobs", "1")
    assert code == 1 and "t09.yaml" in serial and "error[seed-snapshot]" in serial and "eval rows" in serial
    for jobs in ("2", "4"):
        assert plan(root, "--jobs", jobs) == (1, serial)
    t05 = (specs / "t05.yaml").read_text()
    (specs / "t05.yaml").write_text(t05.replace("'{{ answer }}'}", "'{{ answer }}{{ 1/0 }}'}", 1))
    code, serial = plan(root, "--jobs", "1")
    assert code == 1 and "t05.yaml" in serial and "error[seed-render]" in serial and "t09.yaml" not in serial
    for jobs in ("2", "4"):
        assert plan(root, "--jobs", jobs) == (1, serial)
    assert "Traceback" not in serial


def test_a_failing_worker_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tsqa.compile.compiler import TaskBatch

    root = make_project(tmp_path)
    parent = os.getpid()
    real_plan, real_prepare = TaskBatch.plan, TaskBatch.prepare

    def raises(self: TaskBatch, peers: dict[str, list[str]]) -> object:
        if os.getpid() != parent:
            raise RuntimeError("disk on fire")
        return real_plan(self, peers)

    monkeypatch.setattr(TaskBatch, "plan", raises)
    assert plan(root, "--json", "--jobs", "2") == (1, "error: plan worker 2 of 2 failed: RuntimeError: disk on fire\n")
    monkeypatch.setattr(TaskBatch, "plan", real_plan)

    def exits(self: TaskBatch) -> object:
        if os.getpid() != parent:
            os._exit(3)
        return real_prepare(self)

    monkeypatch.setattr(TaskBatch, "prepare", exits)
    assert plan(root, "--jobs", "3") == (1, "error: plan worker 2 of 3 ended without a result (exit status 3)\n")

    def killed(self: TaskBatch) -> object:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return real_prepare(self)

    monkeypatch.setattr(TaskBatch, "prepare", killed)
    assert plan(root, "--jobs", "2") == (1, "error: plan worker 2 of 2 ended without a result (killed by signal 9)\n")
    monkeypatch.setattr(TaskBatch, "prepare", real_prepare)
    assert plan(root, "--jobs", "2")[0] == 0


def test_state_is_read_after_lint_and_its_damage_is_one_error(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    (root / "runs" / "par").mkdir(parents=True)
    (root / "runs" / "par" / "state.json").write_text("{broken")
    code, out = plan(root, "--jobs", "3")
    assert code == 1 and "unreadable applied state" in out and "Traceback" not in out
    assert plan(root, "--jobs", "1") == (code, out)
    (root / "specs" / "t03.yaml").write_text("task: [")  # lint errors come first, as in one process
    code, out = plan(root, "--jobs", "3")
    assert code == 1 and "error[yaml-syntax]" in out and "applied state" not in out


def test_chunks_cover_every_spec_once_in_order() -> None:
    for specs in (1, 2, 3, 7, 12, 700):
        for count in range(1, min(specs, 6) + 1):
            bounds = chunk_bounds(specs, count)
            assert bounds[0] == 0 and bounds[-1] == specs and len(bounds) == count + 1
            assert all(a < b for a, b in itertools.pairwise(bounds)), (specs, count, bounds)
    assert chunk_bounds(700, 2) == [0, 350, 700]
    assert chunk_bounds(7, 3) == [0, 2, 5, 7]


def test_small_plans_stay_in_one_process() -> None:
    assert plan_jobs(None, 1) == 1
    assert plan_jobs(None, SPECS_PER_PROCESS * 2 - 1) == 1
    assert plan_jobs(None, 10_000) == usable_cpus()
    assert plan_jobs(4, 2) == 2 and plan_jobs(3, 700) == 3
