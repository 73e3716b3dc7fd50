"""A small project on local seed files and a scripted engine whose answers are crafted per seed,
so every stage's outcome is known exactly."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tsqa.engines.base import Request
from tsqa.engines.scripted import ScriptedEngine
from tsqa.stages.output_schema import LETTERS

PROJECT = """\
name: scripted
models:
  generator: {engine: vllm, model: local/generator, max_model_len: 4096, chunk_size: 3}
  solver: {engine: vllm, model: local/solver, max_model_len: 4096}
defaults:
  verify: {kind: vote, model: solver, samples: 3, min_agreement: 0.6}
output: {dir: run}
"""

SPEC = """\
task: colours
group: knowledge
seed: {files: seeds.jsonl, license: cc0-1.0}
format: multiple_choice
generate: {per_seed: 2}
enrich: {variants: [reasoning, knowledge]}
decontaminate: {eval_files: [eval.jsonl], ngram: 8}
"""

THINGS = ["grass", "snow", "coal", "blood", "the sky", "a banana", "an orange", "a plum"]
COLOURS = ["green", "white", "black", "red", "blue", "yellow", "orange", "purple"]


def write_small_shards_project(root: Path) -> None:
    """The project with one row per shard and one solver request per chunk: every batch boundary."""
    write_project(root)
    project = root / "tsqa.yaml"
    project.write_text(
        project.read_text()
        .replace("output: {dir: run}", "output: {dir: run, shard_rows: 1}")
        .replace("local/solver, max_model_len: 4096}", "local/solver, max_model_len: 4096, chunk_size: 1}")
    )


def write_project(root: Path) -> None:
    (root / "specs").mkdir(parents=True, exist_ok=True)
    (root / "tsqa.yaml").write_text(PROJECT)
    (root / "specs" / "colours.yaml").write_text(SPEC)
    seeds = [
        {
            "question": f"What colour is {t}?",
            "choices": [COLOURS[i], COLOURS[(i + 1) % 8], COLOURS[(i + 2) % 8]],
            "answer": 0,
        }
        for i, t in enumerate(THINGS[:6])
    ]
    (root / "specs" / "seeds.jsonl").write_text("\n".join(json.dumps(s) for s in seeds) + "\n")
    # An eval item the generator will (by script) copy almost verbatim for seed 5.
    (root / "specs" / "eval.jsonl").write_text(
        json.dumps(
            {
                "question": "In the standard rainbow order which colour comes directly after green and before indigo?",
                "answer": "blue",
            }
        )
        + "\n"
    )


def generator_reply(seed_index: int) -> str:
    """Seed 0: invalid JSON. Seed 1: one good question and one whose answer is not an option.
    Seed 2: two good questions that are exact duplicates of each other. Seed 3: a near-copy of its
    seed. Seed 4: two good questions. Seed 5: one good, one copied from the eval set."""
    if seed_index == 0:
        return '{"questions": [ {"question": "unterminated'
    good = [
        {
            "question": f"Which fruit or object number {seed_index} is typically {COLOURS[seed_index]} in colour?",
            "options": [f"thing {seed_index}a", f"thing {seed_index}b", f"thing {seed_index}c"],
            "answer": "A",
        },
        {
            "question": f"Seed {seed_index}: which of these words names the colour of ripe tomatoes and fire trucks?",
            "options": ["red", "teal", "grey"],
            "answer": "A",
        },
    ]
    if seed_index == 1:
        good[1] = {**good[1], "answer": "D"}
    if seed_index == 2:
        good[1] = dict(good[0])
    if seed_index == 3:
        good = [{"question": f"What colour is {THINGS[3]}?", "options": ["red", "green", "black"], "answer": "A"}]
    if seed_index == 5:
        good[1] = {
            "question": "In the standard rainbow order which colour comes directly after green and before indigo?",
            "options": ["blue", "red", "pink"],
            "answer": "A",
        }
    return json.dumps({"questions": good})


def _right(options: list[str]) -> str:
    """The correct option's text of a generated question (the generator always answered "A")."""
    for text in ("blue", "red"):  # the rainbow question has both: blue is its answer
        if text in options:
            return text
    return next(o for o in options if re.fullmatch(r"thing \d+a", o))


def _shown_options(request: Request) -> list[str]:
    """The options as this request shows them (the last user turn: the question being asked)."""
    return re.findall(r"^[A-Z]\. (.*)$", request.messages[-1].content, re.MULTILINE)


def script(request: Request) -> str | list[str]:
    _task, stage, rest = request.id.split("/", 2)
    if stage == "generate":
        return generator_reply(int(rest.split(":")[1]))
    if stage == "solve":
        # One request per vote sample, each with its own option order: answer by option *text*.
        # Questions of seed 4 get split votes (three different options): below min_agreement.
        options = _shown_options(request)
        right = _right(options)
        others = sorted(o for o in options if o != right)
        sample = int(rest.rsplit("/", 1)[1])
        # Seed 4: a different option text per sample; the others: 2 of 3 on the right one.
        pick = [right, *others][sample % len(options)] if ":4." in rest else [right, right, others[0]][sample % 3]
        return f"Thinking... The final answer is: {LETTERS[options.index(pick)]}"
    variant = rest.rsplit("/", 1)[1]
    answer = re.search(r"^Correct answer: (.*)$", request.messages[-1].content, re.MULTILINE)
    assert answer is not None
    if ":5." in rest and variant == "knowledge":
        wrong_text = next(o for o in _shown_options(request) if o != answer.group(1))
        return f"Background facts. The final answer is: {wrong_text}"  # contradicts the verified answer
    return f"{variant} explanation of the question. The final answer is: {answer.group(1)}"


def scripted_engine() -> ScriptedEngine:
    return ScriptedEngine(script)


def apply_scripted(project: Path, engine: ScriptedEngine | None = None, **kwargs: Any) -> tuple[Any, int]:
    """`run_apply` on the project with the scripted engine: (its result, the model calls made)."""
    from tsqa.apply.session import run_apply

    engine = engine or scripted_engine()
    result = run_apply(
        [project / "specs"], project_file=project / "tsqa.yaml", engine_factory=lambda cfg: engine, **kwargs
    )
    return result, len(engine.calls)


def packaged_texts(project: Path, task: str = "colours") -> list[tuple[str, str]]:
    """(id, text) of every packaged row, sorted: what a user trains on (license/provenance aside)."""
    import pyarrow.parquet as pq

    files = sorted((project / "run" / "datasets" / task).glob("part-*.parquet"))
    return sorted((r["id"], r["text"]) for f in files for r in pq.read_table(f, columns=["id", "text"]).to_pylist())
