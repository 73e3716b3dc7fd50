"""Attacks on `tsqa plan --jobs N` (issue 11, branch plan11): inputs for which a parallel plan
should give exactly what one process gives (output, diagnostics, exit status), and a parent
stopped by a signal that should leave no worker behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compile"))
from test_plan_parallel import HELD, _rows, make_project

from tsqa.cli import main

NESTED_FIELD = "{% for a in [1] %}" * 25 + "{{ answer }}" + "{% endfor %}" * 25
"""Jinja compiles it; Python's compiler then refuses 25 nested blocks (SyntaxError, not a
TemplateError)."""


def plan(root: Path, *args: str) -> tuple[int, str, str | None]:
    r = CliRunner().invoke(main, ["plan", str(root / "specs"), "--project", str(root / "tsqa.yaml"), *args])
    exc = None if r.exception is None or isinstance(r.exception, SystemExit) else repr(r.exception)
    return r.exit_code, r.output, exc


def edit(root: Path, name: str, change: Callable[[str], str]) -> None:
    path = root / "specs" / name
    path.write_text(change(path.read_text()))


def _nested_field_first(root: Path) -> None:
    edit(root, "t00.yaml", lambda s: s.replace("answer: '{{ answer }}'", f"answer: '{NESTED_FIELD}'"))


def _nested_inline_prompt_first(root: Path) -> None:
    text = NESTED_FIELD.replace("answer", "question")
    edit(root, "t00.yaml", lambda s: s.replace("generate: {", f'generate: {{prompt: {{inline: "{text}"}}, '))


@pytest.mark.parametrize("mutate", [_nested_field_first, _nested_inline_prompt_first], ids=["field", "inline-prompt"])
def test_a_template_python_cannot_compile_in_the_first_spec(tmp_path: Path, mutate: Callable[[Path], None]) -> None:
    root = make_project(tmp_path)
    mutate(root)
    serial = plan(root, "--jobs", "1")
    assert serial[0] == 1 and serial[2] is None and "t00.yaml" in serial[1]
    assert plan(root, "--jobs", "2") == serial


def test_a_template_python_cannot_compile_is_a_template_error(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    _nested_field_last(root)
    code, out, exc = plan(root, "--jobs", "1")
    assert code == 1 and exc is None
    assert "internal-error" not in out and "t11.yaml:" in out, out


def test_a_rule_failing_on_some_specs_reports_the_same_findings(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    for name in ("t01.yaml", "t11.yaml"):
        edit(root, name, lambda s: s.replace("answer: '{{ answer }}'", f"answer: '{NESTED_FIELD}'"))
    edit(root, "t05.yaml", lambda s: s.replace("answer: '{{ answer }}'", "answer: '{{ answer|random }}'"))
    serial = plan(root, "--jobs", "1")
    assert serial[0] == 1 and serial[2] is None
    assert plan(root, "--jobs", "3") == serial


def _failing_template_last(root: Path) -> None:
    edit(root, "t11.yaml", lambda s: s.replace("answer: '{{ answer }}'", "answer: '{{ answer }}{{ 1/0 }}'"))


def _nested_field_last(root: Path) -> None:
    edit(root, "t11.yaml", lambda s: s.replace("answer: '{{ answer }}'", f"answer: '{NESTED_FIELD}'"))


def _symlink_to_eval_last(root: Path) -> None:
    (root / "data" / "validation").mkdir()
    shutil.copy(root / "data" / "s11.parquet", root / "data" / "validation" / "v.parquet")
    (root / "data" / "innocent.parquet").symlink_to(root / "data" / "validation" / "v.parquet")
    edit(root, "t11.yaml", lambda s: s.replace("../data/s11.parquet", "../data/innocent.parquet"))


def _code_in_inline_prompt_last(root: Path) -> None:
    edit(
        root,
        "t11.yaml",
        lambda s: s.replace("generate: {", 'generate: {prompt: {inline: "{{ question.__class__ }}"}, '),
    )


def _undefined_in_inline_prompt_last(root: Path) -> None:
    edit(
        root,
        "t11.yaml",
        lambda s: s.replace("generate: {", 'generate: {prompt: {inline: "{{ nope }} {{ question }}"}, '),
    )


def _failing_prompt_file_last(root: Path) -> None:
    (root / "prompts").mkdir()
    (root / "prompts" / "p.j2").write_text("{{ question }} {{ 1/0 }}\n")
    edit(root, "t11.yaml", lambda s: s.replace("generate: {", "generate: {prompt: {file: ../prompts/p.j2}, "))


def _nested_prompt_file_first(root: Path) -> None:
    (root / "prompts").mkdir()
    (root / "prompts" / "p.j2").write_text(NESTED_FIELD.replace("answer", "question"))
    edit(root, "t00.yaml", lambda s: s.replace("generate: {", "generate: {prompt: {file: ../prompts/p.j2}, "))


def _all_weights_zero(root: Path) -> None:
    for p in (root / "specs").glob("*.yaml"):
        p.write_text(p.read_text().replace("weight: 0.5", "weight: 0").replace("weight: 1.0", "weight: 0"))


def _garbage_parquet_last(root: Path) -> None:
    (root / "data" / "s11.parquet").write_bytes(b"PAR1garbage")


def _non_utf8_spec_last(root: Path) -> None:
    (root / "specs" / "t11.yaml").write_bytes(b"task: t\xff\xfe11\n")


def _eval_rows_first_failing_template_last(root: Path) -> None:
    (root / "private").mkdir()
    (root / "private" / "held.jsonl").write_text(json.dumps({"question": HELD, "answer": "heart"}) + "\n")
    with (root / "data" / "s00.jsonl").open("a") as f:
        f.write(json.dumps({"question": HELD, "choices": ["a", "b", "heart"], "answer": 2, "n": 0}) + "\n")
    edit(root, "t00.yaml", lambda s: s + "decontaminate: {eval_files: [../private/held.jsonl]}\n")
    _failing_template_last(root)


def _eval_store_write(root: Path, rows: list[dict[str, object]]) -> None:
    import pyarrow as pa

    from tsqa.seeds.eval_store import EvalStore

    EvalStore(root / ".tsqa" / "eval").write("bench", "validation", pa.Table.from_pylist(rows))


def _eval_store_row_last(root: Path) -> None:
    other = {"question": "An unrelated question about mountains and rivers?", "choices": ["a"], "answer": 0, "n": 1}
    _eval_store_write(root, [_rows(11, 3)[2], other])


def _eval_store_row_middle(root: Path) -> None:
    _eval_store_write(root, [_rows(6, 3)[1]])


def _eval_store_damaged_sidecar(root: Path) -> None:
    _eval_store_write(root, [{"question": "An unrelated question about mountains and rivers?", "answer": "x"}])
    (root / ".tsqa" / "eval" / "bench" / "validation.fields.arrow").write_bytes(b"garbage")


def _eval_store_damaged_split(root: Path) -> None:
    (root / ".tsqa" / "eval" / "bench").mkdir(parents=True)
    (root / ".tsqa" / "eval" / "bench" / "validation.parquet").write_bytes(b"PAR1garbage")


@pytest.mark.parametrize(
    ("mutate", "expect"),
    [
        (_failing_template_last, "error[seed-render]"),
        (_nested_field_last, "blocks nested more than 16 levels deep"),
        (_symlink_to_eval_last, "error[seed-path-eval-named]"),
        (_code_in_inline_prompt_last, "error[code-in-spec]"),
        (_undefined_in_inline_prompt_last, "error[undefined-variable]"),
        (_failing_prompt_file_last, "error[prompt-render]"),
        (_nested_prompt_file_first, "blocks nested more than 16 levels deep"),
        (_all_weights_zero, "error[all-weights-zero]"),
        (_garbage_parquet_last, "cannot read"),
        (_non_utf8_spec_last, "not UTF-8"),
        (_eval_rows_first_failing_template_last, "t00.yaml:3:1: error[seed-snapshot]"),
        (_eval_store_row_last, "t11.yaml:3:1: error[seed-snapshot]"),
        (_eval_store_row_middle, "t06.yaml:3:1: error[seed-snapshot]"),
        (_eval_store_damaged_sidecar, "damaged eval store file"),
        (_eval_store_damaged_split, "damaged eval store file"),
    ],
    ids=lambda v: getattr(v, "__name__", "")[1:] if callable(v) else "",
)
def test_every_check_runs_in_every_chunk_and_refuses_alike(
    tmp_path: Path, mutate: Callable[[Path], None], expect: str
) -> None:
    """The bad spec last (in the last child's chunk) or first: the refusal of one process."""
    root = make_project(tmp_path)
    mutate(root)
    serial = plan(root, "--json", "--jobs", "1")
    assert serial[0] == 1 and serial[2] is None and expect in serial[1], serial
    assert "Traceback" not in serial[1]
    for jobs in ("3", "7"):
        assert plan(root, "--json", "--jobs", jobs) == serial, jobs


def _prompt(root: Path, name: str, source: str) -> None:
    edit(root, name, lambda s: s.replace("generate: {", f"generate: {{prompt: {source}, "))


def _binary_prompt_file(root: Path) -> None:
    (root / "p.j2").write_bytes(b"\xff\xfe{{ question }}")
    _prompt(root, "t00.yaml", "{file: ../p.j2}")


def _fifo_seed_last(root: Path) -> None:
    os.mkfifo(root / "data" / "f.jsonl")
    edit(root, "t11.yaml", lambda s: s.replace("../data/s11.parquet", "../data/f.jsonl"))


@pytest.mark.parametrize(
    ("mutate", "expect"),
    [
        (
            lambda root: edit(root, "t00.yaml", lambda s: s.replace("generate: {", "generate: {model: nope, ")),
            "error[undeclared-model]",
        ),
        (lambda root: _prompt(root, "t00.yaml", "no_such_builtin"), "error[unknown-prompt]"),
        (lambda root: _prompt(root, "t00.yaml", "{file: /etc/passwd}"), "error[prompt-file-unsafe]"),
        (lambda root: _prompt(root, "t00.yaml", "{file: ../data}"), "error[prompt-file-unsafe]"),
        (_binary_prompt_file, "not UTF-8"),
        (lambda root: (root / "specs" / "a00.yaml").write_text(""), "error[yaml-structure]"),
        (_fifo_seed_last, "is not a regular file"),
    ],
    ids=[
        "undeclared-model",
        "unknown-prompt",
        "prompt-outside",
        "prompt-dir",
        "prompt-binary",
        "empty-spec",
        "fifo-seed",
    ],
)
def test_the_first_spec_warmed_before_the_fork_refuses_alike(
    tmp_path: Path, mutate: Callable[[Path], None], expect: str
) -> None:
    """The first spec is loaded once before forking (planner._warm): its faults are the lint's."""
    root = make_project(tmp_path)
    mutate(root)
    serial = plan(root, "--jobs", "1")
    assert serial[0] == 1 and serial[2] is None and expect in serial[1], serial
    assert plan(root, "--jobs", "3") == serial


def test_the_same_spec_named_twice_plans_once(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    specs = root / "specs"
    outs = []
    for jobs in ("1", "3"):
        r = CliRunner().invoke(
            main,
            [
                "plan",
                str(specs / "t00.yaml"),
                str(specs),
                str(specs / "t00.yaml"),
                "--project",
                str(root / "tsqa.yaml"),
                "--json",
                "-j",
                jobs,
            ],
        )
        assert r.exit_code == 0, r.output
        outs.append(r.output)
    assert outs[0] == outs[1] and len(json.loads(outs[0])["tasks"]) == 12


def _alive(pid: str) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_parent_stopped_mid_plan_leaves_no_worker(tmp_path: Path, sig: signal.Signals) -> None:
    root = make_project(tmp_path, specs=300)  # ~0.4 s of work after the fork: the signal lands in it
    # The tsqa this process imports (the installed one, with its native module), not the source tree.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-c", "from tsqa.cli import main; main()", "plan", str(root / "specs")]
    cmd += ["--project", str(root / "tsqa.yaml"), "--json", "-j", "3"]
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        kids: list[str] = []
        deadline = time.monotonic() + 30
        while len(kids) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            kids = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        if len(kids) < 2:
            proc.kill()
            _, err = proc.communicate(timeout=60)
            assert "Traceback" not in err, err
            pytest.skip("the plan ended before its workers could be seen")
        proc.send_signal(sig)  # at once: with 60 specs and a 0.3 s pause the plan had ended first once
        _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "Traceback" not in err
    deadline = time.monotonic() + 10
    while any(_alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [k for k in kids if _alive(k)], "workers outlived their parent"


def test_prompt_token_counts_of_two_revisions_of_one_tokenizer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two models of one hub id at two revisions (two cached tokenizers, one counting words, one
    characters) share the counter's method name ("tokenizer:org/x"): a spec's prompt tokens must
    not come from another spec's counts, whichever specs share a process."""
    from huggingface_hub import constants
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    hub, root = tmp_path / "hub", tmp_path / "p"
    revisions = {"words": "a" * 40, "chars": "b" * 40}
    for kind, rev in revisions.items():
        tok = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
        tok.pre_tokenizer = (
            pre_tokenizers.Whitespace() if kind == "words" else pre_tokenizers.Split(Regex("."), "isolated")
        )
        snapshot = hub / "models--org--x" / "snapshots" / rev
        snapshot.mkdir(parents=True)
        tok.save(str(snapshot / "tokenizer.json"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    (root / "specs").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "tsqa.yaml").write_text(
        "version: 1\nname: tok\nmodels:\n"
        f"  generator: {{engine: vllm, model: org/x, revision: {revisions['words']}, max_model_len: 8192}}\n"
        f"  gen_b: {{engine: vllm, model: org/x, revision: {revisions['chars']}, max_model_len: 8192}}\n"
        f"  solver: {{engine: vllm, model: org/x, revision: {revisions['words']}, max_model_len: 8192}}\n"
        "output: {dir: runs/tok}\n"
    )
    rows = [{"question": f"What is {n} plus {n}? Think about the sum.", "answer": str(2 * n)} for n in range(20)]
    (root / "data" / "s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for i in range(3):
        model = "gen_b" if i == 2 else "generator"
        (root / "specs" / f"t{i}.yaml").write_text(
            f"task: t{i}\nseed: {{files: ../data/s.jsonl, license: cc0-1.0}}\nformat: short_answer\n"
            "fields: {question: '{{ question }}', answer: '{{ answer }}'}\n"
            f"generate: {{model: {model}}}\nenrich: {{model: {model}}}\nverify: {{extractor: number, model: {model}}}\n"
        )

    def tokens(out: str) -> list[list[float]]:
        model_stages = ("generate", "solve", "enrich")
        return [
            [s["estimate"]["prompt_tokens"] for s in t["stages"] if s["stage"] in model_stages]
            for t in json.loads(out)["tasks"]
        ]

    code, serial, _ = plan(root, "--json", "--jobs", "1")
    assert code == 0, serial
    counted = tokens(serial)
    assert json.loads(serial)["tasks"][2]["prompt_tokens_method"] == "tokenizer:org/x"
    assert counted[0] == counted[1] and counted[2][0] > 2 * counted[0][0]  # characters, not words
    assert plan(root, "--json", "--jobs", "3")[1] == serial
    r = CliRunner().invoke(
        main, ["plan", str(root / "specs" / "t2.yaml"), "--project", str(root / "tsqa.yaml"), "--json"]
    )
    assert tokens(r.output) == [counted[2]]
