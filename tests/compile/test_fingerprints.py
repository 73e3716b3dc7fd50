"""Fingerprints ignore formatting and run knobs, and change with every field a stage reads;
each kind of edit is classified as the work it causes."""

from __future__ import annotations

from typing import Any

import pytest
from plan_workspace import PROJECT, SPEC, Workspace

from tsqa.compile.saved import applied_state
from tsqa.compile.stages import ChangeKind, Stage
from tsqa.store.state import AppliedState


def fingerprints(ws: Workspace) -> dict[Stage, str]:
    return {s.stage: s.fingerprint for s in ws.plan().tasks[0].stages}


def reordered(spec: str) -> str:
    # Same content: keys in another order, flow style instead of block, other comments.
    head, rest = spec.split("format: multiple_choice\n")
    return "# other comment\nformat: multiple_choice   # trailing comment\n" + rest + head.replace("# a comment\n", "")


@pytest.mark.parametrize(
    ("project", "spec"),
    [
        (PROJECT, reordered(SPEC)),
        (PROJECT, SPEC.replace("dedup: {threshold: 0.8}", "dedup:\n  threshold: 0.80")),
        (
            PROJECT.replace(
                "max_concurrency: 8, timeout_s: 30", "max_concurrency: 256, timeout_s: 900, max_retries: 2"
            ),
            SPEC,
        ),
        (
            PROJECT.replace("workers: 2", "workers: 64").replace(
                "throughput_tokens_per_s: 1000", "throughput_tokens_per_s: 9999"
            ),
            SPEC,
        ),
        (PROJECT.replace('base_url: "http://127.0.0.1:9/v1"', 'base_url: "http://10.0.0.1:8000/v1"'), SPEC),
        (
            PROJECT.replace(
                "tensor_parallel_size: 2", "tensor_parallel_size: 4, gpu_memory_utilization: 0.8, max_num_seqs: 512"
            ),
            SPEC,
        ),
        (PROJECT, SPEC.replace("license: cc0-1.0", "license: cc0-1.0\n  columns: [question, options]")),
    ],
    ids=[
        "comments-and-key-order",
        "number-spelling",
        "concurrency-timeouts",
        "workers-throughput",
        "endpoint-url",
        "parallelism-memory",
        "lint-only-columns",
    ],
)
def test_stable_under_irrelevant_edits(ws: Workspace, project: str, spec: str) -> None:
    before = fingerprints(ws)
    ws.write(project, spec)
    assert fingerprints(ws) == before


# edit → (first stage whose fingerprint changes, the change kind a re-apply reports)
EDITS = {
    "seed-limit": (SPEC.replace("limit: 1000", "limit: 2000"), None, Stage.SEEDS, ChangeKind.REGENERATE),
    "seed-files": (SPEC.replace("data/quiz.jsonl", "data/quiz2.jsonl"), None, Stage.SEEDS, ChangeKind.REGENERATE),
    "fields": (
        SPEC.replace("format: multiple_choice\n", "format: multiple_choice\nfields: {question: '{{ q }}'}\n"),
        None,
        Stage.NORMALISE,
        ChangeKind.REGENERATE,
    ),
    "format": (
        SPEC.replace("format: multiple_choice", "format: short_answer"),
        None,
        Stage.NORMALISE,
        ChangeKind.REGENERATE,
    ),
    "gen-prompt": (
        SPEC.replace("  per_seed: 2\n", "  per_seed: 2\n  prompt: {inline: 'New question like {{ question }}'}\n"),
        None,
        Stage.GENERATE,
        ChangeKind.REGENERATE,
    ),
    "gen-sampling": (SPEC.replace("temperature: 0.9", "temperature: 1.0"), None, Stage.GENERATE, ChangeKind.REGENERATE),
    "gen-per-seed": (SPEC.replace("per_seed: 2", "per_seed: 3"), None, Stage.GENERATE, ChangeKind.REGENERATE),
    "gen-model-revision": (
        None,
        PROJECT.replace("revision: r1", "revision: r2"),
        Stage.GENERATE,
        ChangeKind.REGENERATE,
    ),
    "gen-model-weights": (None, PROJECT.replace("org/gen-7b", "org/gen-70b"), Stage.GENERATE, ChangeKind.REGENERATE),
    "description": (
        SPEC.replace("group: knowledge", "group: knowledge\ndescription: science quiz"),
        None,
        Stage.GENERATE,
        ChangeKind.REGENERATE,
    ),
    "vote-samples": (SPEC.replace("samples: 5", "samples: 7"), None, Stage.SOLVE, ChangeKind.RESOLVE),
    "solver-model": (None, PROJECT.replace("model: solver-8b", "model: solver-70b"), Stage.SOLVE, ChangeKind.RESOLVE),
    "min-agreement": (
        SPEC.replace("min_agreement: 0.6", "min_agreement: 0.8"),
        None,
        Stage.VERIFY,
        ChangeKind.REVERIFY,
    ),
    "extractor": (
        SPEC.replace("min_agreement: 0.6", "min_agreement: 0.6\n  extractor: final_answer"),
        None,
        Stage.VERIFY,
        ChangeKind.REVERIFY,
    ),
    "variants": (
        SPEC.replace("[reasoning, knowledge]", "[reasoning, knowledge, distractors]"),
        None,
        Stage.ENRICH,
        ChangeKind.REENRICH,
    ),
    "enrich-tokens": (SPEC.replace("max_tokens: 300", "max_tokens: 600"), None, Stage.ENRICH, ChangeKind.REENRICH),
    "dedup-threshold": (SPEC.replace("threshold: 0.8", "threshold: 0.7"), None, Stage.DEDUP, ChangeKind.REDEDUP),
    "decontaminate": (
        SPEC.replace("blend:", "decontaminate: {ngram: 8}\nblend:"),
        None,
        Stage.DECONTAMINATE,
        ChangeKind.REDECONTAMINATE,
    ),
    "license": (SPEC.replace("license: cc0-1.0", "license: mit"), None, Stage.PACKAGE, ChangeKind.REPACKAGE),
    "weight": (SPEC.replace("weight: 1.0", "weight: 2.5"), None, Stage.BLEND, ChangeKind.REBLEND),
}


@pytest.mark.parametrize("name", sorted(EDITS))
def test_each_relevant_edit_changes_its_stage_and_is_classified(ws: Workspace, name: str) -> None:
    spec, project, first, kind = EDITS[name]
    applied = applied_state(ws.plan(), AppliedState())
    before = fingerprints(ws)
    ws.write(project, spec)
    after = ws.plan(applied)
    task = after.tasks[0]
    changed = [s.stage for s in task.stages if s.fingerprint != before[s.stage]]
    order = list(Stage)
    assert changed == order[order.index(first) :], "the first edited stage and everything after it"
    assert task.change is kind
    assert {s.stage: s.status for s in task.stages}[first] == "changed"


def test_gpu_work_follows_the_change_kind(ws: Workspace) -> None:
    applied = applied_state(ws.plan(), AppliedState())
    assert ws.plan(applied).tasks[0].change is ChangeKind.NONE
    assert ws.plan(applied).totals.gpu_hours == 0 and not ws.plan(applied).has_work

    def gpu_stages(spec: str) -> set[Stage]:
        ws.write(spec=spec)
        return {s.stage for s in ws.plan(applied).tasks[0].stages if s.needs_gpu}

    assert gpu_stages(EDITS["weight"][0]) == set()
    assert gpu_stages(EDITS["dedup-threshold"][0]) == set()
    assert gpu_stages(EDITS["min-agreement"][0]) == set()  # votes are cached; only the count changes
    assert gpu_stages(EDITS["variants"][0]) == {Stage.ENRICH}
    assert gpu_stages(EDITS["vote-samples"][0]) == {Stage.SOLVE, Stage.ENRICH}
    assert gpu_stages(EDITS["gen-sampling"][0]) == {Stage.GENERATE, Stage.SOLVE, Stage.ENRICH}


def test_regenerating_one_task_re_dedups_its_cross_task_peers(ws: Workspace) -> None:
    other = SPEC.replace("task: quiz", "task: other").replace("data/quiz.jsonl", "data/other.jsonl")
    (ws.root / "specs" / "other.yaml").write_text(other)
    applied = applied_state(ws.plan(), AppliedState())
    (ws.root / "specs" / "other.yaml").write_text(other.replace("temperature: 0.9", "temperature: 1.1"))
    changes = {t.task: t.change for t in ws.plan(applied).tasks}
    assert changes == {"other": ChangeKind.REGENERATE, "quiz": ChangeKind.REDEDUP}
    (ws.root / "specs" / "other.yaml").write_text(
        other.replace("against: [seeds, tasks]", "against: [seeds]").replace(
            "dedup: {threshold: 0.8}", "dedup: {threshold: 0.8, against: [seeds]}"
        )
    )
    applied = applied_state(ws.plan(), AppliedState())
    (ws.root / "specs" / "other.yaml").write_text(
        other.replace("dedup: {threshold: 0.8}", "dedup: {threshold: 0.8, against: [seeds]}").replace(
            "temperature: 0.9", "temperature: 1.1"
        )
    )
    changes = {t.task: t.change for t in ws.plan(applied).tasks}
    assert changes == {"other": ChangeKind.REGENERATE, "quiz": ChangeKind.NONE}  # no longer peers


def test_stages_up_to_enrich_read_no_peers_or_eval_data(ws: Workspace) -> None:
    """The plan computes the fingerprints up to enrich once (for dedup peers, with neither peers
    nor eval data) and reuses them for the task: that holds only while no stage up to enrich reads
    them. A stage that starts to must fail here, not silently keep a stale fingerprint."""
    from tsqa.compile.compiler import _fingerprints, _model_calls
    from tsqa.compile.seed_sample import sample_seeds
    from tsqa.lint import lint_paths

    checked = lint_paths([ws.root / "specs"], project_file=ws.root / "tsqa.yaml")
    assert checked.project is not None
    loaded = checked.specs[0]
    calls, _ = _model_calls(loaded, checked.project.project.models)
    sample = sample_seeds(loaded, checked.project)
    bare = _fingerprints(loaded, calls, sample, "0.4.13", [], until=Stage.ENRICH)
    full = _fingerprints(loaded, calls, sample, "0.4.13", ["peer:abc"], ["evalhash"])
    assert list(bare) == list(full)[: len(bare)] and list(bare)[-1] is Stage.ENRICH
    assert {s: full[s] for s in bare} == bare
    assert full[Stage.DEDUP] != _fingerprints(loaded, calls, sample, "0.4.13", [])[Stage.DEDUP]
    reused = _fingerprints(loaded, calls, sample, "0.4.13", ["peer:abc"], ["evalhash"], known=bare)
    assert reused == full


def test_payload_is_the_canonical_json_of_the_whole() -> None:
    """`fingerprint` builds its JSON key by key (a long shared list of strings encoded once):
    the text is exactly `canonical_json` of the whole payload, for any inputs."""
    import random

    from tsqa.compile.fingerprint import DATA_FORMAT_VERSION, _payload, canonical_json
    from tsqa.spec.models.sampling import Sampling

    rng = random.Random(3)
    peers = [f"task_{i:04d}:{rng.getrandbits(64):016x}" for i in range(700)]
    leaves: list[Any] = [
        'é\u2028"\\',
        1,
        2.5,
        None,
        True,
        ("a", 1),
        {"b", "a"},
        Sampling(),
        peers,
        peers[:63],
        [1, "x"] * 40,
    ]
    for _ in range(300):
        inputs = {
            rng.choice(["peers", "z", "a", "é", "Ä", "model", "1"]): rng.choice(leaves)
            for _ in range(rng.randint(0, 6))
        }
        if rng.random() < 0.3:
            inputs["nested"] = {"peers": rng.choice(leaves), "k": dict(inputs)}
        upstream = rng.choice([None, "abc", "é"])
        whole = canonical_json({"v": DATA_FORMAT_VERSION, "up": upstream, "in": inputs})
        assert _payload(inputs, upstream) == whole
    assert _payload({1: "x"}, None) == canonical_json({"v": DATA_FORMAT_VERSION, "up": None, "in": {1: "x"}})  # type: ignore[dict-item]
