"""Class: eval rows under a training name. No name gives them away, so the rows themselves are
compared with every eval record the project can see (the eval store of `tsqa seeds fetch-eval`,
declared eval files, the dataset's eval splits in the data dir): fetch refuses them with the count
and the source, plan and apply refuse them too (linted first), and a snapshot replaced by hand or
checked against an older eval store is refused when it is read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from attack_helpers import Attack, Workspace

EVAL = [
    {
        "id": f"v{i}",
        "question": q,
        "choices": {"text": ["red", "blue", "green", "yellow"], "label": ["A", "B", "C", "D"]},
        "answerKey": "B",
    }
    for i, q in enumerate(
        [
            "Which planet of the solar system is known to most people as the red planet because of its dusty iron surface?",
            "What is the temperature at which pure water boils at sea level when measured on the Celsius scale?",
            "Which organ of the human body pumps blood through the arteries and veins to every other organ?",
        ]
    )
]
TRAIN = [
    {"question": "How many legs does a common garden spider have when it is fully grown?", "answer": "8"},
    {"question": "Which gas do green plants take in from the air to make their food?", "answer": "carbon dioxide"},
]
ARC_SPEC = "task: arc\nformat: multiple_choice\nseed: {lm_eval: arc_easy, license: cc-by-sa-4.0}\n"


def jsonl(rows: list[dict]) -> str:  # type: ignore[type-arg]
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def as_seed(row: dict) -> dict:  # type: ignore[type-arg]
    return {"question": row["question"], "answer": row["choices"]["text"][1]}


def with_eval_store(ws: Workspace) -> None:
    """The eval store as `tsqa seeds fetch-eval` writes it, for lm-eval's arc_easy eval splits."""
    dd = ws.root / "dd" / "allenai" / "ai2_arc" / "ARC-Easy"
    dd.mkdir(parents=True)
    (dd / "validation.jsonl").write_text(jsonl(EVAL[:2]))
    (dd / "test.jsonl").write_text(jsonl(EVAL[2:]))
    (ws.root / "specs" / "arc.yaml").write_text(ARC_SPEC)
    result = ws.run(
        "seeds", "fetch-eval", str(ws.root / "specs" / "arc.yaml"), "--project", str(ws.root / "tsqa.yaml"),
        "--data-dir", str(ws.root / "dd"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    ws.reads.clear()


def files_spec(path: str = "../data/train.jsonl", extra: str = "") -> str:
    return f"task: attack\nformat: short_answer\nseed: {{files: {path}, license: mit}}\n{extra}"


def twist(row: dict, how: str) -> dict:  # type: ignore[type-arg]
    q, a = row["question"], row["choices"]["text"][1]
    return {
        "exact copy": {"question": q, "answer": a},
        "raw eval record": row,
        "keys renamed": {"prompt": q, "target": a},
        "case and punctuation": {"question": q.upper().replace("?", " ?!"), "answer": a.upper()},
        "extra whitespace": {"question": "  " + q.replace(" ", "   ") + "\n", "answer": f" {a} "},
        "other answer": {"question": q, "answer": "something else entirely"},
        "cyrillic look-alikes": {"question": q.replace("a", "а").replace("e", "е").replace("o", "о"), "answer": a},
        "fullwidth": {"question": "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in q), "answer": a},
        "zero-width spaces": {"question": q.replace(" ", " \u200b"), "answer": a},
        "prefixed and suffixed": {"question": "Question: " + q + " Think step by step.", "answer": a},
        "question split in two fields": {
            "stem": " ".join(q.split()[: len(q.split()) // 2]),
            "rest": " ".join(q.split()[len(q.split()) // 2 :]),
            "answer": a,
        },
        "answer first": {"answer": a, "question": q},
    }[how]


TWISTS = [
    "exact copy", "raw eval record", "keys renamed", "case and punctuation", "extra whitespace", "other answer",
    "cyrillic look-alikes", "fullwidth", "zero-width spaces", "prefixed and suffixed",
    "question split in two fields", "answer first",
]  # fmt: skip


@pytest.mark.parametrize("how", TWISTS)
def test_training_file_of_eval_store_rows(ws: Workspace, how: str) -> None:
    ws.build(Attack(files_spec(), {"data/train.jsonl": jsonl([twist(r, how) for r in EVAL])}))
    with_eval_store(ws)
    for result in (ws.fetch(), ws.plan(), ws.run("apply", str(ws.spec), "--project", str(ws.root / "tsqa.yaml"))):
        ws.assert_refused(result, rows_read=True)
        assert "3 of 3 seed rows are eval rows" in result.output, result.output
        assert "eval store allenai_ai2_arc_ARC-Easy" in result.output
    assert not (ws.root / ".tsqa" / "seeds").exists() or not any((ws.root / ".tsqa" / "seeds").glob("*/data.parquet"))


@pytest.mark.parametrize("fmt", ["parquet", "json"])
def test_other_file_formats_of_eval_rows(ws: Workspace, fmt: str) -> None:
    rows = [as_seed(r) for r in EVAL]
    ws.build(Attack(files_spec(f"../data/train.{fmt}")))
    (ws.root / "data").mkdir(exist_ok=True)
    if fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), ws.root / "data" / "train.parquet")
    else:
        (ws.root / "data" / "train.json").write_text(json.dumps(rows))
    with_eval_store(ws)
    result = ws.fetch()
    ws.assert_refused(result, rows_read=True)
    assert ("train.parquet row 1" if fmt == "parquet" else "train.json item 1") in result.output


def test_declared_eval_files_are_compared(ws: Workspace) -> None:
    spec = files_spec(extra="decontaminate: {eval_files: [../private/held.jsonl]}\n")
    ws.build(Attack(spec, {"data/train.jsonl": jsonl([as_seed(r) for r in EVAL]), "private/held.jsonl": jsonl(EVAL)}))
    for result in (ws.fetch(), ws.plan()):
        ws.assert_refused(result, rows_read=True)
        assert "eval file ../private/held.jsonl" in result.output


def test_eval_splits_in_the_data_dir_are_compared(ws: Workspace) -> None:
    """An lm-eval seed whose local `train.jsonl` holds the validation rows: caught without fetch-eval."""
    dd = "dd/allenai/ai2_arc/ARC-Easy/"
    ws.build(Attack(ARC_SPEC, {dd + "train.jsonl": jsonl(EVAL), dd + "validation.jsonl": jsonl(EVAL)}))
    result = ws.fetch("--data-dir", str(ws.root / "dd"))
    ws.assert_refused(result, rows_read=True)
    assert "3 of 3 seed rows are eval rows (sources: allenai/ai2_arc validation.jsonl)" in result.output


def test_a_few_eval_rows_are_dropped_and_listed(ws: Workspace) -> None:
    """Under the share that refuses a seed, the eval rows are refused one by one, each listed."""
    train = [
        {"question": f"Training question number {i} about the topic of counting things?", "answer": str(i)}
        for i in range(300)
    ]
    ws.build(Attack(files_spec(), {"data/train.jsonl": jsonl([*train[:150], as_seed(EVAL[0]), *train[150:]])}))
    with_eval_store(ws)
    result = ws.fetch()
    assert result.exit_code == 0, result.output
    assert "300 rows" in result.output and "1 rows refused as eval rows" in result.output
    assert "train.jsonl:151: question of eval record eval store allenai_ai2_arc_ARC-Easy/validation" in result.output
    meta = json.loads(next((ws.root / ".tsqa" / "seeds").glob("*/meta.json")).read_text())
    assert meta["eval_check"]["refused_rows"] == 1


def test_eval_store_grown_after_the_fetch(ws: Workspace) -> None:
    """Fetched clean, then `fetch-eval` stores eval rows equal to seed rows: plan and apply refuse."""
    ws.build(Attack(files_spec(), {"data/train.jsonl": jsonl([*TRAIN, as_seed(EVAL[1])])}))
    assert ws.fetch().exit_code == 0
    with_eval_store(ws)
    for result in (ws.plan(), ws.run("apply", str(ws.spec), "--project", str(ws.root / "tsqa.yaml"))):
        ws.assert_refused(result, rows_read=True)
        assert "1 of 3 seed rows are eval rows" in result.output


@pytest.mark.parametrize("how", ["rows replaced", "file truncated", "meta edited", "old format"])
def test_a_snapshot_replaced_by_hand_is_refused(ws: Workspace, how: str) -> None:
    ws.build(Attack(files_spec(), {"data/train.jsonl": jsonl(TRAIN)}))
    assert ws.fetch().exit_code == 0
    folder = next((ws.root / ".tsqa" / "seeds").glob("files--attack*"))
    meta = json.loads((folder / "meta.json").read_text())
    if how == "rows replaced":
        pq.write_table(pa.Table.from_pylist([as_seed(r) for r in EVAL]), folder / "data.parquet")
    elif how == "file truncated":
        (folder / "data.parquet").write_bytes((folder / "data.parquet").read_bytes()[:-20])
    elif how == "meta edited":
        meta["content_sha256"] = "0" * 64
        (folder / "meta.json").write_text(json.dumps(meta))
    else:
        meta["format"] = 1
        del meta["content_sha256"]
        (folder / "meta.json").write_text(json.dumps(meta))
    for result in (ws.plan(), ws.run("apply", str(ws.spec), "--project", str(ws.root / "tsqa.yaml"))):
        ws.assert_refused(result, rows_read=True)
        assert "tsqa seeds fetch --force" in result.output
    from tsqa.seeds.errors import ContentRefused
    from tsqa.seeds.store import SeedStore
    from tsqa.spec.load import load_project, load_spec

    project, _ = load_project(ws.root / "tsqa.yaml")
    loaded, _ = load_spec(ws.spec, project)
    assert project is not None and loaded is not None
    with pytest.raises(ContentRefused):
        SeedStore.for_project(project.path, project.project).read(loaded.spec)
    refetched = ws.fetch()
    assert refetched.exit_code == 0 and "fetched" in refetched.output  # fetch writes a true one again


def test_direct_reads_compare_rows_too(ws: Workspace) -> None:
    """`read_split` (plan and apply on an unfetched file seed) refuses eval rows on its own."""
    from tsqa.seeds.catalog import load_catalog
    from tsqa.seeds.errors import ContentRefused
    from tsqa.seeds.load import read_split
    from tsqa.seeds.source import resolve_seed
    from tsqa.spec.load import load_project, load_spec

    ws.build(Attack(files_spec(), {"data/train.jsonl": jsonl([as_seed(r) for r in EVAL])}))
    with_eval_store(ws)
    project, _ = load_project(ws.root / "tsqa.yaml")
    loaded, _ = load_spec(ws.spec, project)
    assert loaded is not None
    with pytest.raises(ContentRefused, match="3 of 3 seed rows are eval rows"):
        read_split(resolve_seed(loaded.spec, load_catalog()), spec_dir=Path(loaded.path).parent)


def test_a_forged_meta_json_does_not_hide_eval_rows(ws: Workspace) -> None:
    """Rows replaced *and* meta.json rewritten to match (content hash and eval check): the rows are
    still compared with the eval store whenever the snapshot is used."""
    import hashlib

    ws.build(Attack(files_spec(), {"data/train.jsonl": jsonl(TRAIN)}))
    with_eval_store(ws)
    assert ws.fetch().exit_code == 0
    folder = next((ws.root / ".tsqa" / "seeds").glob("files--attack*"))
    pq.write_table(pa.Table.from_pylist([as_seed(r) for r in EVAL]), folder / "data.parquet")
    meta = json.loads((folder / "meta.json").read_text())
    meta["content_sha256"] = hashlib.sha256((folder / "data.parquet").read_bytes()).hexdigest()
    meta["rows"] = 3
    (folder / "meta.json").write_text(json.dumps(meta))
    for result in (ws.plan(),):
        ws.assert_refused(result, rows_read=True)
        assert "3 of 3 seed rows are eval rows" in result.output


def test_eval_files_declared_after_the_fetch(ws: Workspace) -> None:
    ws.build(Attack(files_spec(), {"data/train.jsonl": jsonl([*TRAIN, as_seed(EVAL[0])])}))
    assert ws.fetch().exit_code == 0
    ws.spec.write_text(files_spec(extra="decontaminate: {eval_files: [../private/held.jsonl]}\n"))
    (ws.root / "private").mkdir()
    (ws.root / "private" / "held.jsonl").write_text(jsonl(EVAL))
    for result in (ws.plan(),):
        ws.assert_refused(result, rows_read=True)
        assert "1 of 3 seed rows are eval rows (sources: eval file ../private/held.jsonl)" in result.output


def test_forged_snapshot_with_the_eval_store_removed(ws: Workspace) -> None:
    """attack9 2g: rows replaced, meta's hash rewritten, and the eval store deleted: the snapshot
    was checked against an eval store that is gone, so plan and apply refuse it."""
    import hashlib
    import shutil

    ws.build(Attack(files_spec(), {"data/train.jsonl": jsonl(TRAIN)}))
    with_eval_store(ws)
    assert ws.fetch().exit_code == 0
    folder = next((ws.root / ".tsqa" / "seeds").glob("files--attack*"))
    pq.write_table(pa.Table.from_pylist([as_seed(r) for r in EVAL]), folder / "data.parquet")
    meta = json.loads((folder / "meta.json").read_text())
    meta["content_sha256"] = hashlib.sha256((folder / "data.parquet").read_bytes()).hexdigest()
    meta["rows"] = 3
    (folder / "meta.json").write_text(json.dumps(meta))
    shutil.rmtree(ws.root / ".tsqa" / "eval")
    for result in (ws.plan(), ws.run("apply", str(ws.spec), "--project", str(ws.root / "tsqa.yaml"))):
        ws.assert_refused(result, rows_read=True)
        assert "eval store that is no longer there" in result.output, result.output


def test_lint_reads_no_seed_data(ws: Workspace) -> None:
    """README: lint never opens seed rows; eval rows in a training file are plan's and fetch's."""
    ws.build(Attack(files_spec(), {"data/train.jsonl": jsonl(EVAL)}))
    with_eval_store(ws)
    result = ws.lint()
    assert result.exit_code == 0, result.output
    assert ws.reads == [], ws.reads


# -- eval files the content check could not read were silently no reference (class 6) ----------
def _gz(text: str) -> bytes:
    import gzip

    return gzip.compress(text.encode())


UNREADABLE_LOOKING = {
    "byte-order mark": ("validation.jsonl", "\ufeff" + jsonl(EVAL)),
    "one broken line": ("validation.jsonl", jsonl(EVAL[:1]) + '{"question": "broken\n' + jsonl(EVAL[1:])),
    "csv": ("validation.csv", "question,answer\n" + "".join(f'"{r["question"]}",blue\n' for r in EVAL)),
    "tsv": ("test.tsv", "question\tanswer\n" + "".join(f"{r['question']}\tblue\n" for r in EVAL)),
    "gzipped jsonl": ("validation.jsonl.gz", _gz(jsonl(EVAL))),
    "json lines under .json": ("validation.json", jsonl(EVAL)),
    "plain text": ("test.txt", "".join(r["question"] + "\n" for r in EVAL)),
    "hidden folder": (".cache/validation.jsonl", jsonl(EVAL)),
    "13 levels deep": ("/".join(f"d{i}" for i in range(13)) + "/test.jsonl", jsonl(EVAL)),
    "eval folder, neutral file": ("heldout/part-0.jsonl", jsonl(EVAL)),
    "upper-case suffix": ("validation.JSONL", jsonl(EVAL)),
}


@pytest.mark.parametrize(("name", "content"), UNREADABLE_LOOKING.values(), ids=UNREADABLE_LOOKING.keys())
def test_every_eval_looking_file_in_the_data_dir_is_a_reference(ws: Workspace, name: str, content: object) -> None:
    dd = ws.root / "dd" / "allenai" / "ai2_arc" / "ARC-Easy"
    ws.build(Attack(ARC_SPEC, {"dd/allenai/ai2_arc/ARC-Easy/train.jsonl": jsonl(EVAL)}))
    path = dd / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    result = ws.fetch("--data-dir", str(ws.root / "dd"))
    ws.assert_refused(result, rows_read=True)
    assert "3 of 3 seed rows are eval rows" in result.output, result.output
    assert not list((ws.root / ".tsqa" / "seeds").glob("*/data.parquet"))


UNREADABLE_FORMATS = {
    "zip": ("validation.zip", b"PK\x03\x04 not really"),
    "unknown suffix": ("test.data", b"\x00\x01\x02"),
    "no suffix": ("test", b"rows"),
    "broken parquet": ("validation.parquet", b"PAR1 broken"),
    "broken gzip": ("test.jsonl.gz", b"\x1f\x8b broken"),
    "link to a folder": ("validation", None),
    "link to an endless device": ("test.jsonl", "/dev/zero"),
    "a FIFO": ("validation.jsonl", "fifo"),
}


@pytest.mark.parametrize(("name", "content"), UNREADABLE_FORMATS.values(), ids=UNREADABLE_FORMATS.keys())
def test_an_eval_looking_file_tsqa_cannot_read_fails_the_fetch(ws: Workspace, name: str, content: object) -> None:
    """Not a silent gap in the references: the fetch fails, naming the file."""
    dd = ws.root / "dd" / "allenai" / "ai2_arc" / "ARC-Easy"
    ws.build(Attack(ARC_SPEC, {"dd/allenai/ai2_arc/ARC-Easy/train.jsonl": jsonl([as_seed(r) for r in EVAL])}))
    if content is None:
        (ws.outside / "somewhere").mkdir()
        (dd / name).symlink_to(ws.outside / "somewhere")
    elif content == "/dev/zero":
        (dd / name).symlink_to("/dev/zero")
    elif content == "fifo":
        os.mkfifo(dd / name)
    else:
        assert isinstance(content, bytes)
        (dd / name).write_bytes(content)
    result = ws.fetch("--data-dir", str(ws.root / "dd"))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "attack.yaml:3:" in result.output, result.output
    assert name in result.output, result.output
    assert not list((ws.root / ".tsqa" / "seeds").glob("*/data.parquet"))


def test_ordinary_files_beside_eval_files_are_not_references(ws: Workspace) -> None:
    """The control case: a README or sources.json in the data dir is no eval file."""
    dd = "dd/allenai/ai2_arc/ARC-Easy/"
    ws.build(Attack(ARC_SPEC, {dd + "train.jsonl": jsonl(EVAL[:1]), dd + "README.md": "# ARC", dd + "notes.bin": "x"}))
    result = ws.fetch("--data-dir", str(ws.root / "dd"))
    assert result.exit_code == 0, result.output


# -- near copies in disguise (class 7): text folded to a canonical form, containment against the
# shorter text, nested strings and keys, the rendered question ----------------------------------
FILLERS = ["basically", "um", "actually", "like", "literally", "honestly"]


def disguise(q: str, how: str) -> str:
    words = q.split()
    return {
        "hangul filler for spaces": "\u3164".join(words),
        "hangul filler inside words": " ".join(w[:2] + "\u3164" + w[2:] if len(w) > 3 else w for w in words),
        "combining grapheme joiner": " ".join(w[:1] + "\u034f" + w[1:] for w in words),
        "nbsp entities": "&nbsp;".join(words),
        "numeric entities": " ".join("".join(f"&#{ord(c)};" for c in w) for w in words),
        "percent escapes": "%20".join(words),
        "double-escaped": "%2520".join(words),
        "doubled words": " ".join(w + " " + w for w in words),
        "filler words": " ".join(w + " " + FILLERS[i % len(FILLERS)] for i, w in enumerate(words)),
        "truncated to two thirds": " ".join(words[: 2 * len(words) // 3]),
        "reordered halves": " ".join(words[len(words) // 2 :] + words[: len(words) // 2]),
        "extra spacing and tabs": "\t \u2003".join(words),
        "letters spaced out": " ".join(" ".join(w) for w in words),
        "soft hyphens": " ".join(w[:2] + "\u00ad" + w[2:] for w in words),
        "variation selectors": " ".join(w + "\ufe0f" for w in words),
    }[how]


DISGUISES = [
    "hangul filler for spaces", "hangul filler inside words", "combining grapheme joiner", "nbsp entities",
    "numeric entities", "percent escapes", "double-escaped", "doubled words", "filler words",
    "truncated to two thirds", "reordered halves", "extra spacing and tabs", "letters spaced out", "soft hyphens",
    "variation selectors",
]  # fmt: skip


@pytest.mark.parametrize("how", DISGUISES)
def test_disguised_eval_questions_are_refused(ws: Workspace, how: str) -> None:
    rows = [{"question": disguise(r["question"], how), "answer": "blue"} for r in EVAL]
    ws.build(Attack(files_spec(), {"data/train.jsonl": jsonl(rows)}))
    with_eval_store(ws)
    for result in (ws.fetch(), ws.plan()):
        ws.assert_refused(result, rows_read=True)
        assert "3 of 3 seed rows are eval rows" in result.output, result.output


NESTED = {
    "in a list": lambda q: {"question": "Pick one.", "answer": "a", "items": ["x", q]},
    "in a nested object": lambda q: {"question": "Pick one.", "answer": "a", "meta": {"deep": {"text": q}}},
    "as a key": lambda q: {"question": "Pick one.", "answer": "a", "table": {q: "blue"}},
}


@pytest.mark.parametrize("shape", NESTED.values(), ids=NESTED.keys())
def test_eval_questions_nested_or_as_keys(ws: Workspace, shape: object) -> None:
    rows = [shape(r["question"]) for r in EVAL]  # type: ignore[operator]
    ws.build(Attack(files_spec(), {"data/train.jsonl": jsonl(rows)}))
    with_eval_store(ws)
    result = ws.fetch()
    ws.assert_refused(result, rows_read=True)
    assert "3 of 3 seed rows are eval rows" in result.output, result.output


def test_a_question_assembled_by_the_fields_template(ws: Workspace) -> None:
    """Each column alone is too short to match; the rendered question is the eval question."""
    rows = []
    for r in EVAL:
        words = r["question"].split()
        rows.append({"a": " ".join(words[:3]), "b": " ".join(words[3:6]), "c": " ".join(words[6:]), "answer": "blue"})
    extra = 'fields: {question: "{{ a }} {{ b }} {{ c }}", answer: "{{ answer }}"}\n'
    ws.build(
        Attack(
            "task: attack\nformat: short_answer\nseed: {files: ../data/train.jsonl, license: mit, columns: [a, b, c, answer]}\n"
            + extra,
            {"data/train.jsonl": jsonl(rows)},
        )
    )
    with_eval_store(ws)
    result = ws.fetch()
    ws.assert_refused(result, rows_read=True)
    assert "3 of 3 seed rows are eval rows" in result.output, result.output


def test_related_but_different_questions_pass(ws: Workspace) -> None:
    """The control case: same topic and many shared words, not a copy."""
    rows = [
        {
            "question": "Which planet is closest to the sun, and how long is one year on its surface?",
            "answer": "Mercury",
        },
        {
            "question": "At what temperature does pure water freeze at sea level on the Fahrenheit scale?",
            "answer": "32",
        },
        {"question": "Which organ of the human body filters the blood and produces urine?", "answer": "kidney"},
    ]
    ws.build(Attack(files_spec(), {"data/train.jsonl": jsonl(rows)}))
    with_eval_store(ws)
    result = ws.fetch()
    assert result.exit_code == 0, result.output


# -- the recorded verdict (class 11): plan trusts fetch's check while nothing changed --------------
def test_plan_uses_the_recorded_verdict_until_the_eval_store_changes(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tsqa.seeds import store as store_module

    ws.build(Attack(files_spec(), {"data/train.jsonl": jsonl(TRAIN)}))
    with_eval_store(ws)
    assert ws.fetch().exit_code == 0
    meta = json.loads(next((ws.root / ".tsqa" / "seeds").glob("files--attack*/meta.json")).read_text())
    assert meta["eval_check"]["verdict"] == "no eval rows" and meta["eval_check"]["eval_store"]
    store_module._RECHECKED.clear()
    checked: list[str] = []
    original = store_module.check_rows

    def spy(table: pa.Table, evals: object, *args: object) -> object:
        checked.append("store re-check")
        return original(table, evals, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(store_module, "check_rows", spy)
    assert ws.plan().exit_code == 0
    assert checked == []  # nothing changed: the recorded verdict holds, no row compared
    # The eval store grows: the snapshot is checked again (and now refused).
    split = next((ws.root / ".tsqa" / "eval").glob("*/test.parquet"))
    pq.write_table(pa.table({"id": ["x:test:9"], "text": [TRAIN[0]["question"] + " " + TRAIN[0]["answer"]]}), split)
    (split.parent / "test.fields.arrow").unlink()
    result = ws.plan()
    assert checked, "the eval store changed: the snapshot must be checked again"
    ws.assert_refused(result, rows_read=True)
