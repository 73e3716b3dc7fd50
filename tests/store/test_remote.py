"""`output.store`: the run directory mirrored through pyarrow.fs, same layout and manifests, and
an apply elsewhere (empty `output.dir`) resumes from it without a model call."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow.fs as pafs
import pytest

import tsqa.store.remote as remote_mod
from tsqa.apply.session import ApplyFailed, run_apply
from tsqa.store.remote import DIGESTS, LOCAL_ONLY, RunStore, StoreError

sys.path.insert(0, str(Path(__file__).parents[1] / "apply"))

from scripted_project import scripted_engine, write_project


def files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).parts[0] not in (*LOCAL_ONLY, DIGESTS)
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
    assert moved == [
        "tasks/t/parse/fp/data/part-00000.parquet",
        "tasks/t/parse/fp/manifest.json",
        "state.json",
        DIGESTS,  # the record of what was pushed, after everything it describes
    ]
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


def test_a_file_changed_in_place_with_the_same_size_is_pushed_again(tmp_path: Path) -> None:
    """Packaged datasets are rewritten in place by every apply and often keep their byte size."""
    run, remote = tmp_path / "run", tmp_path / "remote"
    shard = run / "datasets/t/part-00000.parquet"
    shard.parent.mkdir(parents=True)
    shard.write_bytes(b"group=knowledge")
    store = RunStore.open(remote.as_uri())
    assert store.push(run) == 1 and store.push(run) == 0
    shard.write_bytes(b"group=knowledgz")  # same size, new bytes
    assert store.push(run) == 1
    assert (remote / "datasets/t/part-00000.parquet").read_bytes() == b"group=knowledgz"


def test_a_damaged_same_size_file_in_the_store_is_repaired(tmp_path: Path) -> None:
    run, remote = tmp_path / "run", tmp_path / "remote"
    shard = run / "tasks/t/enrich/fp/data/part-00001.parquet"
    shard.parent.mkdir(parents=True)
    shard.write_bytes(b"good rows")
    store = RunStore.open(remote.as_uri())
    assert store.push(run) == 1
    (remote / "tasks/t/enrich/fp/data/part-00001.parquet").write_bytes(b"bad  rows")  # flipped bytes there
    assert store.push(run) == 1
    assert (remote / "tasks/t/enrich/fp/data/part-00001.parquet").read_bytes() == b"good rows"
    (remote / DIGESTS).unlink()  # a store published before digests were recorded: read back, not rewritten
    assert store.push(run) == 0 and (remote / DIGESTS).exists()
    assert store.pull(tmp_path / "back") == 1  # the digest record stays in the store


def test_an_unreachable_store_is_an_error_within_the_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """gs:// without network retries for 15 minutes inside pyarrow: apply must not hang there."""
    import threading

    release = threading.Event()

    class Silent:
        def get_file_info(self, _: object) -> object:
            release.wait(30)
            raise OSError("gave up")

    monkeypatch.setattr(remote_mod, "_filesystem", lambda uri: (Silent(), "b/x"))
    monkeypatch.setattr(remote_mod, "PROBE_TIMEOUT_S", 0.2)
    try:
        with pytest.raises(StoreError, match=r"output\.store 'gs://b/x' is unreachable: no answer within 0\.2 s"):
            RunStore.open("gs://b/x")
        root = tmp_path / "project"
        write_project(root)
        with_store(root, "gs://b/x")
        with pytest.raises(ApplyFailed, match=r"output\.store 'gs://b/x' is unreachable"):
            run_apply([root / "specs"], project_file=root / "tsqa.yaml", engine_factory=lambda _: scripted_engine())
    finally:
        release.set()


def test_the_in_memory_mock_filesystem_is_refused_as_a_store() -> None:
    with pytest.raises(StoreError, match="vanishes when apply exits"):
        RunStore.open("mock:///runs/x")


@pytest.mark.parametrize("where", ["inside", "around", "same"])
def test_a_file_store_overlapping_the_run_directory_is_refused(tmp_path: Path, where: str) -> None:
    """Inside output.dir every push copies the store into itself; around it a pull brings foreign files in."""
    root = tmp_path / "project"
    write_project(root)
    store_dir = {"inside": root / "run" / "store", "around": root, "same": root / "run"}[where]
    with_store(root, store_dir.as_uri())
    engine = scripted_engine()
    if where == "same":  # nothing to copy: allowed
        run_apply([root / "specs"], project_file=root / "tsqa.yaml", engine_factory=lambda _: engine)
        assert engine.calls and not (root / "run" / "run").exists()
        return
    with pytest.raises(ApplyFailed, match=rf"output\.store .* is {where} output\.dir .*copy the run into itself"):
        run_apply([root / "specs"], project_file=root / "tsqa.yaml", engine_factory=lambda _: engine)
    assert engine.calls == [] and not (root / "run" / "store" / "store").exists()
