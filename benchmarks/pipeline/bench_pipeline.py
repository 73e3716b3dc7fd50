"""Every CPU stage of `tsqa apply` on one large task, with a scripted engine (engine time excluded):
rows/s per stage and peak RSS, at several seed counts (goal: RSS ≤ 2 GiB and flat within 25%
from 50k to 500k seeds; ≤ 20 µs of CPU stage time per candidate).

One task of N multiple-choice seeds, per_seed 2, vote with 5 samples, two enrichment variants,
dedup within the task and against seeds (across tasks too: the group has one member), an eval
file to decontaminate against, package and blend. The engine answers from a pure function of the
request id (what a model would have returned, computed in microseconds); the time spent inside it
is measured and subtracted from its stage. Times are this process's CPU time (`time.process_time`),
so a shared, loaded machine inflates wall time but not the figures. Each size runs in a fresh
process so peak RSS is its own.

    python benchmarks/pipeline/bench_pipeline.py --seeds 50000,500000

Since session 14, dedup, decontaminate and package run as one pass over enrich's rows: their time
is in dedup's figure (the table adds a row for the three). To compare two checkouts without the
model stages' minutes: `--seeds 50000 --workdir DIR` once with the older checkout (a newer tsqa
resumes an older run directory, not the reverse), then, alternating,
`PYTHONPATH=<checkout>/python python bench_pipeline.py --seeds 50000 --workdir DIR --rerun-cpu-stages`.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
WORDS = [
    "amber",
    "basalt",
    "cobalt",
    "delta",
    "ember",
    "fjord",
    "garnet",
    "harbor",
    "indigo",
    "jasper",
    "kelp",
    "lumen",
    "mica",
    "nectar",
    "onyx",
    "prism",
    "quartz",
    "raven",
    "sable",
    "talc",
    "umber",
    "velvet",
    "willow",
    "xenon",
    "yarrow",
    "zephyr",
    "anchor",
    "beacon",
    "cinder",
    "dune",
]

PROJECT = """\
name: bench
models:
  generator: {{engine: vllm, model: bench/generator, max_model_len: 8192, chunk_size: 4096}}
output: {{dir: run, shard_rows: {shard_rows}}}
"""
SPEC = """\
task: bench
seed: {files: seeds.parquet, license: cc0-1.0}
format: multiple_choice
generate: {per_seed: 2}
verify: {kind: vote, samples: 5, min_agreement: 0.6}
enrich: {variants: [reasoning, knowledge]}
dedup: {against: [seeds, tasks]}
decontaminate: {eval_files: [eval.jsonl], ngram: 8}
"""


EVAL_WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliett",
    "kilo",
    "lima",
    "mike",
    "oscar",
    "papa",
    "romeo",
]


def words(key: str, n: int, vocabulary: list[str] = WORDS) -> str:
    h = zlib.crc32(key.encode())
    out = []
    for _ in range(n):
        h = (h * 1103515245 + 12345) & 0x7FFFFFFF
        out.append(vocabulary[h % len(vocabulary)])
    return " ".join(out)


def write_project(root: Path, seeds: int, shard_rows: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (root / "specs").mkdir(parents=True)
    (root / "tsqa.yaml").write_text(PROJECT.format(shard_rows=shard_rows))
    (root / "specs" / "bench.yaml").write_text(SPEC)
    with pq.ParquetWriter(
        root / "specs" / "seeds.parquet",
        pa.schema([("question", pa.string()), ("choices", pa.list_(pa.string())), ("answer", pa.int64())]),
    ) as writer:
        for start in range(0, seeds, 50_000):
            ids = range(start, min(seeds, start + 50_000))
            writer.write_table(
                pa.table(
                    {
                        "question": [f"Seed {i}: which {words(f's{i}', 8)}?" for i in ids],
                        "choices": [[words(f"c{i}.{k}", 2) for k in range(4)] for i in ids],
                        "answer": [i % 4 for i in ids],
                    }
                )
            )
    # Eval items in words of their own: the seed guard refuses seeds that share most of their words
    # with an eval record, and these seeds must all be usable.
    eval_items = [{"question": f"Eval item {i}: {words(f'e{i}', 12, EVAL_WORDS)}", "answer": "x"} for i in range(200)]
    (root / "specs" / "eval.jsonl").write_text("\n".join(json.dumps(e) for e in eval_items) + "\n")


def answer_option(question_id: str) -> str:
    """The text of the generator's answer to question `<seed id>.<position>` (see `reply`)."""
    seed, position = question_id.rsplit(".", 1)
    j = zlib.crc32(seed.encode()) % 4
    return f"{words(f'o{seed}.{position}.{j}', 2)} {j}"


def reply(request_id: str, prompt: str) -> str | list[str]:
    _task, stage, rest = request_id.split("/", 2)
    if stage == "generate":
        questions = [
            {
                "question": f"Generated {rest} #{k}: {words(f'q{rest}.{k}', 10)}?",
                "options": [f"{words(f'o{rest}.{k}.{j}', 2)} {j}" for j in range(4)],
                "answer": "ABCD"[zlib.crc32(rest.encode()) % 4],
            }
            for k in range(2)
        ]
        return json.dumps({"questions": questions})
    if stage == "solve":
        # One request per sample, each with its own option order (parse shuffled them too): find
        # the generator's answer among the options shown last; the fifth sample dissents.
        question_id, sample = rest.rsplit("/", 1)
        shown = prompt[prompt.rindex("Options:") :]
        letter = shown[shown.index(f". {answer_option(question_id)}\n") - 1]
        return json.dumps({"answer": "A" if sample == "4" else letter})
    question_id = rest.rsplit("/", 1)[0]
    return f"{words(rest, 30)}. The final answer is: {answer_option(question_id)}"


class TimedEngine:
    """The scripted engine, with the time spent inside it (excluded from the stage figures)."""

    name = "bench"

    def __init__(self) -> None:
        self.seconds = 0.0

    def run(self, requests: Iterable[Any]) -> Iterator[Any]:
        from tsqa.engines.base import Result

        for request in requests:
            start = time.process_time()
            texts = reply(request.id, request.messages[-1].content)
            n = request.sampling.n
            texts = (texts,) * n if isinstance(texts, str) else tuple(texts)
            result = Result(id=request.id, texts=texts, finish_reasons=("stop",) * n, completion_tokens=10 * n)
            self.seconds += time.process_time() - start
            yield result

    def close(self) -> None:
        pass


def _rss_now() -> float:
    """Resident memory now (MiB): what an earlier phase left held, next to the peak."""
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def cpu_stage_names() -> list[str]:
    """The stages the goal counts, seeds aside: every one that calls no model."""
    from tsqa.stages.base import Kind
    from tsqa.stages.registry import REGISTRY

    return [s.stage.value for s in REGISTRY if s.kind in (Kind.ROWS, Kind.GROUP)]


def run_one(seeds: int, shard_rows: int, workdir: Path | None = None, rerun: bool = False) -> dict[str, Any]:
    from tsqa.apply import executor as executor_module
    from tsqa.apply.session import run_apply
    from tsqa.spec import templates

    # One render is bounded at 1 s of wall time; on this shared machine (load 10+) a scheduling
    # pause alone can pass that and fail the run. The figures are CPU time, so widen the bound.
    object.__setattr__(templates.LIMITS, "seconds", 60.0)
    engine = TimedEngine()
    timings: dict[str, float] = {}
    original = executor_module.Executor._run

    def timed(self: Any, sdef: Any, cache: Any) -> None:
        before, start = engine.seconds, time.process_time()
        original(self, sdef, cache)
        timings[sdef.stage.value] = time.process_time() - start - (engine.seconds - before)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"stage {sdef.stage.value}: {timings[sdef.stage.value]:.1f} CPU-s, peak RSS {rss:.0f} MiB"
            f" (now {_rss_now():.0f})",
            file=sys.stderr,
            flush=True,
        )

    executor_module.Executor._run = timed  # type: ignore[method-assign]
    # After the stages, apply_plan builds the blend (every packaged text read, tokens counted) and
    # writes the report: timed as "blend" and "report" (peak RSS printed after each).
    from tsqa.apply import run as run_module

    def after(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            out = function(*args, **kwargs)
            timings[name] = timings.get(name, 0.0) + time.process_time() - start
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"{name}: {timings[name]:.1f} CPU-s, peak RSS {rss:.0f} MiB (now {_rss_now():.0f})",
                file=sys.stderr,
                flush=True,
            )
            return out

        return wrapper

    run_module.build_blend = after("blend", run_module.build_blend)  # type: ignore[attr-defined]
    from tsqa.apply import session as session_module

    # apply compiles the plan first (the seed guard's content check reads every seed row)
    session_module.compile_plan = after("compile", session_module.compile_plan)  # type: ignore[attr-defined]
    import tsqa.report

    tsqa.report.write_report = after("report", tsqa.report.write_report)  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) if workdir is None else workdir
        if rerun:  # on a copy of a finished run: its CPU stages only (the model stages stay finished)
            import shutil

            assert workdir is not None and (workdir / "run" / "blend.json").is_file(), "no finished run in --workdir"
            root = Path(tmp) / "copy"
            shutil.copytree(workdir, root)
            for stage in cpu_stage_names():
                for manifest in (root / "run" / "tasks" / "bench" / stage).glob("*/manifest.json"):
                    manifest.unlink()
        else:
            write_project(root, seeds, shard_rows)
        start, cpu = time.perf_counter(), time.process_time()
        result = run_apply([root / "specs"], project_file=root / "tsqa.yaml", engine_factory=lambda cfg: engine)
        total, total_cpu = time.perf_counter() - start, time.process_time() - cpu
        manifests = result.manifests["bench"]
    rows = {stage: (m.rows_in, m.rows_out) for stage, m in manifests.items()}
    return {
        "seeds": seeds,
        "wall_s": total,
        "engine_s": engine.seconds,
        "stage_s": timings,
        "rows": rows,
        "cpu_s": total_cpu,
        "outside_stages_cpu_s": total_cpu - sum(timings.values()) - engine.seconds,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="50000,500000")
    parser.add_argument("--shard-rows", type=int, default=50_000)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help="keep the project and its run here (one seed count)")
    parser.add_argument(
        "--rerun-cpu-stages",
        action="store_true",
        help="on a copy of the finished run in --workdir, run every CPU stage again (no model stage): "
        "compare two checkouts with PYTHONPATH=<checkout>/python, alternating, on one machine",
    )
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(run_one(args.one, args.shard_rows, args.workdir, args.rerun_cpu_stages)))
        return
    results = []
    for n in (int(x) for x in args.seeds.split(",")):
        where = ["--workdir", str(args.workdir)] if args.workdir else []
        proc = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--shard-rows", str(args.shard_rows), *where]
            + (["--rerun-cpu-stages"] if args.rerun_cpu_stages else []),
            capture_output=True,
            text=True,
            check=False,
        )
        sys.stderr.write(proc.stderr)
        if proc.returncode != 0:
            sys.exit(proc.stderr[-3000:])
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    print()
    print("| seeds | stage | rows in | rows out | CPU s (engine excluded) | rows/CPU-s | CPU µs per candidate |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        candidates = r["seeds"] * 2
        for stage, seconds in r["stage_s"].items():
            rows_in = r["rows"].get(stage, (0, 0))[0]
            print(
                f"| {r['seeds']:,} | {stage} | {rows_in:,} | {r['rows'].get(stage, (0, 0))[1]:,} | {seconds:.1f} | "
                f"{rows_in / seconds if seconds else 0:,.0f} | {seconds / candidates * 1e6:.1f} |"
            )
        # compile (the plan, before any stage) and the report are outside the stages
        cpu = sum(v for k, v in r["stage_s"].items() if k not in ("compile", "report"))
        plain = sum(v for k, v in r["stage_s"].items() if k not in ("generate", "solve", "enrich", "compile", "report"))
        # Dedup, decontaminate and package run as one pass over enrich's rows (dedup's figure)
        one_pass = sum(r["stage_s"].get(k, 0.0) for k in ("dedup", "decontaminate", "package"))
        print(
            f"| {r['seeds']:,} | dedup + decontaminate + package (one pass) | | | {one_pass:.1f} | | "
            f"{one_pass / candidates * 1e6:.1f} |"
        )
        print(
            f"| {r['seeds']:,} | CPU stages (no model stage) | | | {plain:.1f} | | **{plain / candidates * 1e6:.1f}** |"
        )
        print(f"| {r['seeds']:,} | all stages | | | {cpu:.1f} | | {cpu / candidates * 1e6:.1f} |")
    print()
    for r in results:
        print(
            f"seeds {r['seeds']:,}: peak RSS {r['peak_rss_mib']:,.0f} MiB, wall {r['wall_s']:.0f} s, "
            f"engine {r['engine_s']:.0f} s"
        )


if __name__ == "__main__":
    main()
