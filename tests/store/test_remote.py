"""`output.store`: the run directory mirrored through pyarrow.fs, same layout and manifests, and
an apply elsewhere (empty `output.dir`) resumes from it without a model call."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from tsqa.apply.session import ApplyFailed, run_apply
from tsqa.store.remote import LOCAL_ONLY, RunStore, StoreError

sys.path.insert(0, str(Path(__file__).parents[1] / "apply"))

from scripted_project import scripted_engine, write_project


def files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).parts[0] not in LOCAL_ONLY
    }


def with_store(root: Path, uri: str) -> None:
    text = (root / "tsqa.yaml").read_text().replace("output: {dir: run}", f'output: {{dir: run, store: "{uri}"}}')
    (root / "tsqa.yaml").write_text(text)


def test_apply_publishes_the_run_directory_and_resumes_from_it_elsewhere(tmp_path: Path) -> None:
    store_dir = tmp_path / "bucket" / "runs" / "colours"
    uri = store_dir.as_uri()  # file:///…: pyarrow's LocalFileSystem behind a URI
    root = tmp_path / "project"
    write_project(root)
    with_store(root, uri)
    engine = scripted_engine()
    run_apply([root / "specs"], project_file=root / "tsqa.yaml", engine_factory=lambda _: engine)
    published, local = files(store_dir), files(root / "run")
    assert published == local  # the same layout, byte for byte (manifests included)
    assert any(k.endswith("/manifest.json") for k in published) and "blend.json" in published
    assert not (store_dir / "cache").exists() and not (store_dir / "apply.lock").exists()

    # Another machine: the same project, nothing local. It pulls the finished run and has nothing to call.
    elsewhere = tmp_path / "elsewhere"
    write_project(elsewhere)
    with_store(elsewhere, uri)
    again = scripted_engine()
    run_apply([elsewhere / "specs"], project_file=elsewhere / "tsqa.yaml", engine_factory=lambda _: again)
    assert again.calls == []
    rewritten = {"blend.json", "state.json", "report.md", "report.html"}  # stamped with this apply's time
    resumed = files(elsewhere / "run")
    assert {k: v for k, v in resumed.items() if k not in rewritten} == {
        k: v for k, v in local.items() if k not in rewritten
    }
    assert resumed.keys() == local.keys()


def test_manifests_reach_the_store_after_their_shards(tmp_path: Path) -> None:
    """A reader of the store trusts a stage folder with a manifest: it must be uploaded last."""
    run = tmp_path / "run"
    (run / "tasks/t/parse/fp/data").mkdir(parents=True)
    (run / "tasks/t/parse/fp/data/part-00000.parquet").write_bytes(b"rows")
    (run / "tasks/t/parse/fp/manifest.json").write_text("{}")
    (run / "state.json").write_text("{}")
    (run / "cache").mkdir()
    (run / "cache/responses.sqlite").write_bytes(b"db")
    (run / "tasks/t/parse/fp/data/.tmp-abc.parquet").write_bytes(b"torn")
    moved: list[str] = []
    (tmp_path / "remote").mkdir()
    inner = pafs.SubTreeFileSystem(str(tmp_path / "remote"), pafs.LocalFileSystem())
    store = RunStore(inner, "", "test://")
    original = inner.move

    def move(src: str, dest: str) -> None:
        moved.append(dest)
        original(src, dest)

    object.__setattr__(store, "fs", _Spy(inner, move))
    assert store.push(run) == 3
    assert moved == ["tasks/t/parse/fp/data/part-00000.parquet", "tasks/t/parse/fp/manifest.json", "state.json"]
    assert store.push(run) == 0  # nothing changed: nothing rewritten
    (run / "state.json").write_text('{"a": 1}')
    assert store.push(run) == 1 and (tmp_path / "remote/state.json").read_text() == '{"a": 1}'


class _Spy:
    def __init__(self, inner: object, move: object) -> None:
        self._inner, self.move = inner, move

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def test_pyarrows_mock_filesystem_holds_a_run(tmp_path: Path) -> None:
    """Any pyarrow.fs filesystem works (here the in-memory mock one pyarrow ships for tests)."""
    fs, root = pafs.FileSystem.from_uri("mock:///runs/x")
    store = RunStore(fs, root, "mock:///runs/x")
    run = tmp_path / "run"
    (run / "datasets/t").mkdir(parents=True)
    (run / "datasets/t/part-00000.parquet").write_bytes(b"packaged")
    (run / "blend.json").write_text("{}")
    assert store.push(run) == 2
    back = tmp_path / "back"
    assert store.pull(back) == 2 and files(back) == files(run)


def test_a_store_uri_pyarrow_cannot_open_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"cannot be opened through pyarrow\.fs"):
        RunStore.open("nosuchscheme://bucket/x")
    root = tmp_path / "project"
    write_project(root)
    with_store(root, "nosuchscheme://bucket/x")
    with pytest.raises(ApplyFailed, match=r"output\.store .nosuchscheme://bucket/x. cannot be opened"):
        run_apply([root / "specs"], project_file=root / "tsqa.yaml", engine_factory=lambda _: scripted_engine())
