"""The one check every seed read passes: only training data, never a validation or test split.

Every reader is reached through `load.read_split` or `SeedStore.read`, and both call this module
first, on what will really be opened:

- split names (`test`, `dev`, `validation_matched`, `test[:50%]`, `train+test`) and the task's own
  declared splits (a task whose "training" split is its test split, as gpqa's);
- hub ids, normalised (case, slashes, `hf://`, `datasets/`, a `default` config) before they are
  compared with every eval split the catalogue knows for that dataset, re-uploads included;
- every path: the path as written and the *resolved* real path (each symlink hop too), every
  component of it below the allowed root, named like eval data or not (names.py: NFKC, marks,
  confusables, tokens); and the real path must lie inside the project, the declared data dir or a
  root the project file allows (`seed_roots:`), so a symlink cannot lead out of them.

Lint reports the same mistakes earlier, with positions; this guard is what actually holds.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path, PurePath

from tsqa.seeds.catalog import Catalog
from tsqa.seeds.errors import EvalSplitRefused, SeedDataError, SeedError, SeedPathRefused
from tsqa.seeds.names import eval_word, normal_config, normal_hub_id
from tsqa.seeds.source import ResolvedSeed
from tsqa.seeds.sources import FILE_LOADERS, canonical_dataset

_SLICE = re.compile(r"\[[^\]]*\]$")
_MAX_LINK_HOPS = 40
PROJECT_FILE = "tsqa.yaml"
SYSTEM_ROOTS = (Path("/proc"), Path("/dev"), Path("/sys"))
"""Kernel and device trees: never data. `/proc/self/root/...` reaches any file (and escapes every
root check made on the resolved path), `/dev/zero` never ends, `/proc/self/environ` holds secrets."""
_SYSTEM_ROOT_TEXTS = tuple(str(root) for root in SYSTEM_ROOTS)


def resolve_steps(path: Path) -> tuple[Path, list[Path]]:
    """(real path, every path visited on the way): `os.path.realpath` done by hand, so that each
    symlink hop (of a folder too, anywhere in the path) can be checked, not only where it ends.

    Raises SeedPathRefused on a link loop or too many links."""
    real, visited = _resolve_text(path)
    return Path(real), [Path(step) for step in visited]


def _resolve_text(path: Path | str) -> tuple[str, list[str]]:
    """`resolve_steps` on path texts, each as `str(Path(...))` writes it (pathlib's objects were
    most of the guard's cost: ~60 µs a path)."""
    written = os.fspath(path)
    anchor, parts = _anchor_parts(written)
    start = anchor + "/".join(parts) if anchor else _join(os.getcwd(), parts)
    stack = list(reversed(_anchor_parts(start)[1]))
    current = _anchor_parts(start)[0] or "/"
    visited = [start]
    hops = 0
    while stack:
        part = stack.pop()
        if part == "..":
            current = _parent(current)
            visited.append(current)
            continue
        candidate = _join(current, [part])
        visited.append(candidate)
        if os.path.islink(candidate):
            hops += 1
            if hops > _MAX_LINK_HOPS:
                raise SeedPathRefused(f"{path}: too many symbolic links (a loop?)")
            target_anchor, target_parts = _anchor_parts(os.readlink(candidate))
            if target_anchor:
                visited.append(target_anchor + "/".join(target_parts))
                current = target_anchor
            else:
                visited.append(_join(current, target_parts))
            stack.extend(reversed(target_parts))
        else:
            current = candidate
    return current, visited


def _anchor_parts(text: str) -> tuple[str, list[str]]:
    """(anchor, parts) of a path text as PurePosixPath splits it: `//` stays an anchor of its own
    (POSIX leaves two leading slashes to the system), `.` and empty parts go, `..` stays."""
    if text[:1] != "/":
        anchor = ""
    elif text[:2] == "//" and text[2:3] != "/":
        anchor = "//"
    else:
        anchor = "/"
    return anchor, [p for p in text.split("/") if p and p != "."]


def _join(base: str, parts: list[str]) -> str:
    """`str(Path(base).joinpath(*parts))` for a normalised absolute `base` and plain parts."""
    if not parts:
        return base
    return base + ("" if base.endswith("/") else "/") + "/".join(parts)


def _parent(text: str) -> str:
    """`str(Path(text).parent)` for a normalised absolute path text."""
    cut = text.rfind("/")
    if cut == len(text) - 1:  # the anchor alone
        return text
    head = text[:cut]
    return text[: cut + 1] if head in ("", "/") else head


def _contains(root: str, real: str) -> bool:
    """`Path(real) == Path(root) or Path(real).is_relative_to(root)`, on normalised texts."""
    if real == root:
        return True
    if root in ("/", "//"):
        return _anchor_parts(real)[0] == root
    return real.startswith(root + "/")


def _below(real: str, root: str) -> str:
    """`str(Path(real).relative_to(root))` ('' for the root itself) when `_contains(root, real)`."""
    if real == root:
        return ""
    return real[len(root) :] if root in ("/", "//") else real[len(root) + 1 :]


def system_path(path: Path) -> Path | None:
    """The first step of `path` (as written, each link hop, resolved) inside /proc, /dev or /sys."""
    try:
        real, visited = _resolve_text(path)
    except OSError:
        return Path(path)
    for step in [*visited, real]:
        normal = os.path.normpath(step)  # as text: Path.is_relative_to was most of the guard's cost
        if normal.startswith("//"):  # POSIX normpath keeps a leading "//"; the kernel reads it as "/"
            normal = "/" + normal.lstrip("/")
        if any(normal == root or normal.startswith(root + "/") for root in _SYSTEM_ROOT_TEXTS):
            return Path(step)
    return None


def check_system_path(task: str, path: Path) -> None:
    """SeedPathRefused when `path` goes through /proc, /dev or /sys."""
    if (step := system_path(path)) is not None:
        raise SeedPathRefused(
            f"task {task!r}: {path} goes through {step}, a system path (/proc, /dev, /sys): never data"
        )


def split_parts(split: str) -> list[str]:
    """The split names in a `datasets` split expression: "train[:10%]+test" → ["train", "test"].

    >>> split_parts("train[:10%]+ test")
    ['train', 'test']
    """
    return [_SLICE.sub("", part).strip() for part in split.split("+")]


@dataclass(frozen=True)
class SeedRoots:
    """The folders seed data may resolve into: the project, the data dir, allowed roots."""

    roots: tuple[Path, ...]
    names: tuple[tuple[Path, PurePath], ...] = ()
    """Roots whose own names are checked too (data dir, `seed_roots:`): their last component, as
    written and resolved, so `--data-dir eval_copies` is refused like a folder would be."""
    eval_files: tuple[Path, ...] = ()
    """Declared eval files: a seed file that is one of them (same inode) is refused."""

    @classmethod
    def around(cls, spec_dir: Path, data_dir: Path | None = None, extra: Iterable[Path] = ()) -> SeedRoots:
        """The spec's folder, the project holding it (nearest tsqa.yaml above; else spec_dir
        itself), its `seed_roots:`, and `data_dir`. Names are checked below the deepest of them
        that holds a path, so a project may live anywhere, under any folder name."""
        project_dir, allowed = project_roots(spec_dir)
        declared = [*allowed, *extra, *([data_dir] if data_dir is not None else [])]
        roots = [spec_dir, project_dir, *declared]
        names = []
        spec_real, project_real = Path(os.path.realpath(spec_dir)), Path(os.path.realpath(project_dir))
        if spec_real != project_real and spec_real.is_relative_to(project_real):
            # The spec's own folder counts, for what lies in it: a spec in `evaluation_data/`
            # reading `train.jsonl` beside it reads eval data. Only its own name: the folders
            # above it are the project's layout (a repository's `tests/fixtures/specs`).
            names.append((spec_real, PurePath(spec_real.name)))
        for root in declared:
            real = Path(os.path.realpath(root))
            names += [(real, PurePath(real.name)), (real, PurePath(Path(root).name))]
        return cls(tuple(dict.fromkeys(Path(os.path.realpath(r)) for r in roots)), tuple(names))

    def root_of(self, real: Path) -> Path | None:
        """The allowed root holding the real path `real`, the deepest one first."""
        found = self.root_text_of(os.fspath(real))
        return None if found is None else Path(found)

    def root_text_of(self, real: str) -> str | None:
        """`root_of` on a normalised real path text."""
        for root in self._deepest_first:
            if _contains(root, real):
                return root
        return None

    @cached_property
    def _deepest_first(self) -> tuple[str, ...]:
        return tuple(os.fspath(r) for r in sorted(self.roots, key=lambda r: -len(r.parts)))


def project_roots(spec_dir: Path) -> tuple[Path, list[Path]]:
    """(project folder, its `seed_roots` resolved against it) for a spec folder."""
    start = Path(os.path.realpath(spec_dir))
    for folder in (start, *start.parents):
        project_file = folder / PROJECT_FILE
        if project_file.is_file():
            st = project_file.stat()
            return folder, [folder / r for r in _declared_roots(str(project_file), st.st_mtime_ns, st.st_size)]
    return start, []


@cache
def _declared_roots(project_file: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    """`seed_roots:` of a project file, read once per version of the file."""
    from tsqa.spec.load import load_project

    loaded, _ = load_project(Path(project_file))
    return tuple(loaded.project.seed_roots) if loaded is not None else ()


_PLAIN_SPLIT = re.compile(r"\w[\w.-]*")
_ALL_SPLITS = frozenset({"all", "any", "every", "full", "*"})


def split_problem(split: str) -> str | None:
    """Why `split` is not one plain split name, or None. `datasets` reads split *expressions*
    (`train+test`, `train[:50%]`, `all`) that can mix in eval splits; a seed names one split.

    >>> split_problem("train"), split_problem("train[:50%]") is not None, split_problem("all") is not None
    (None, True, True)
    """
    if split.strip().casefold() in _ALL_SPLITS:
        return f"split {split!r} reads every split (eval splits included); name the training split"
    if not _PLAIN_SPLIT.fullmatch(split):
        return f"split {split!r} is not a plain split name (no `+`, slices `[:n%]`, spaces or other syntax)"
    return None


def check_training_only(seed: ResolvedSeed, catalog: Catalog, files: Iterable[PurePath] = ()) -> None:
    """Raise EvalSplitRefused unless `seed` reads training data only; SeedError if unknowable.

    Checks what the seed names (split, hub id, file patterns); paths on disk are checked by
    `guard_path` as they are opened.
    """
    if problem := split_problem(seed.split):
        raise EvalSplitRefused(f"task {seed.task!r}: {problem}; seeds read training data only")
    parts = split_parts(seed.split)
    for part in parts:
        if not part:
            raise EvalSplitRefused(f"task {seed.task!r}: empty split name in {seed.split!r}")
        if word := eval_word(part):
            raise EvalSplitRefused(
                f"task {seed.task!r}: split {seed.split!r} is an evaluation split ({word!r}); "
                "seeds read training data only"
            )
    if seed.kind == "lm_eval":
        _check_lm_eval(seed, parts, catalog)
    if seed.kind in ("lm_eval", "hf") and seed.dataset_path:
        check_hub_id(seed.task, seed.dataset_path, seed.dataset_name, parts, catalog)
    if seed.kind == "files":
        for path in [*map(PurePath, seed.files), *files]:
            check_name_parts(seed.task, path)


def check_hub_id(
    task: str, dataset_path: str, dataset_name: str | None, parts: Sequence[str], catalog: Catalog
) -> None:
    """The hub id is not named like eval data, and no split read is one lm-eval evaluates on."""
    if is_local_dataset(dataset_path):
        if not os.path.isabs(os.path.expanduser(dataset_path)):
            check_name_parts(task, PurePath(dataset_path))  # on disk: guard_path, below its root
        return
    hub = normal_hub_id(dataset_path)
    for component in [*hub.split("/"), *([dataset_name] if dataset_name else [])]:
        if word := eval_word(component):
            raise EvalSplitRefused(
                f"task {task!r}: dataset {dataset_path!r}"
                + (f" ({dataset_name})" if dataset_name else "")
                + f" is named like evaluation data ({word!r}); "
                "seeds read training data only"
            )
    evals = hub_eval_splits(catalog, hub, normal_config(dataset_name))
    for part in parts:
        if part.casefold() in evals:
            raise EvalSplitRefused(
                f"task {task!r}: split {part!r} of {dataset_path}"
                + (f" ({dataset_name})" if dataset_name else "")
                + " is evaluated on by lm-eval; seeds read training data only"
            )


def hub_eval_splits(catalog: Catalog, hub: str, config: str | None) -> frozenset[str]:
    """Every split any lm-eval task evaluates on for this (normalised) dataset and config; with
    no config, the splits evaluated on under any of its configs."""
    index, any_config = _hub_index(catalog._root)
    if config is not None:
        return index.get((hub, config), frozenset()) | index.get((hub, None), frozenset())
    return any_config.get(hub, frozenset())


@cache
def _hub_index(
    catalog: Catalog,
) -> tuple[dict[tuple[str, str | None], frozenset[str]], dict[str, frozenset[str]]]:
    """(dataset, config) → eval splits, and dataset → eval splits under any config."""
    index: defaultdict[tuple[str, str | None], set[str]] = defaultdict(set)
    any_config: defaultdict[str, set[str]] = defaultdict(set)
    for dataset_path, dataset_name, eval_splits in catalog.dataset_evals():
        if not dataset_path or dataset_path in FILE_LOADERS:
            continue
        splits = {s.casefold() for s in eval_splits}
        for path in {dataset_path, canonical_dataset(dataset_path)}:
            index[(normal_hub_id(path), normal_config(dataset_name))] |= splits
            any_config[normal_hub_id(path)] |= splits
    return {k: frozenset(v) for k, v in index.items()}, {k: frozenset(v) for k, v in any_config.items()}


def _check_lm_eval(seed: ResolvedSeed, parts: list[str], catalog: Catalog) -> None:
    info = catalog.get(seed.lm_eval_task or "")
    if info is None:
        raise SeedError(f"task {seed.task!r}: lm-eval has no task {seed.lm_eval_task!r}")
    train = info.training_split
    if train is None:
        raise EvalSplitRefused(f"task {seed.task!r}: lm-eval task {info.name!r} declares no training split")
    if train in info.eval_splits:
        raise EvalSplitRefused(
            f"task {seed.task!r}: lm-eval task {info.name!r} uses its eval split {train!r} as its training split"
        )
    for part in parts:
        if part != train:
            raise EvalSplitRefused(
                f"task {seed.task!r}: split {part!r} is not the training split {train!r} of lm-eval task {info.name!r}"
            )


def is_local_dataset(dataset_path: str) -> bool:
    """`hf: {path: ./folder}`: a dataset folder on disk rather than a hub id."""
    return dataset_path.startswith((".", "/", "~", "\\")) or os.path.isabs(dataset_path) or "\\" in dataset_path


def check_name_parts(task: str, path: PurePath) -> None:
    """Every folder and the file name of `path` (as written or relative to a root)."""
    for part in path.parts:
        if part in ("..", ".", path.anchor, ""):
            continue
        if word := eval_word(part):
            raise EvalSplitRefused(
                f"task {task!r}: {path} is named like evaluation data ({word!r} in {part!r}); "
                "seeds read training data only"
            )


def guard_path(task: str, path: Path, roots: SeedRoots) -> Path:
    """The real path of `path` once it is known to be training data inside an allowed root.

    Checks the path as written, every symlink hop, and the resolved path; each below its root.
    """
    check_system_path(task, path)
    hops = [Path(os.path.abspath(path))]
    current = hops[0]
    for _ in range(_MAX_LINK_HOPS):
        if not current.is_symlink():
            break
        target = Path(os.readlink(current))
        current = Path(os.path.abspath(current.parent / target))
        hops.append(current)
    real_text = os.path.realpath(path)
    real = Path(real_text)
    for hop in hops:  # the name of each link on the way, where its folder is inside a root
        parent = os.path.realpath(hop.parent)
        root = roots.root_text_of(parent)
        if root is not None:
            check_name_parts(task, PurePath(_below(parent, root), hop.name))
    root = roots.root_text_of(real_text)
    if root is None:
        raise SeedPathRefused(
            f"task {task!r}: {path} resolves to {real}, outside the project and the data dir; "
            "seed data must live inside them (or under a root listed in tsqa.yaml `seed_roots:`)"
        )
    check_name_parts(task, PurePath(_below(real_text, root)))
    for declared, name in roots.names:
        declared_text = os.fspath(declared)
        if declared_text == root or _contains(declared_text, real_text):
            check_name_parts(task, name)
    _check_hard_links(task, real, roots)
    check_not_eval_file(task, real, roots.eval_files)
    return real


_MAX_WALK = 200_000
"""Entries looked at per root when a seed file has other hard links (bounds the walk)."""


def _check_hard_links(task: str, real: Path, roots: SeedRoots) -> None:
    """A file with more than one hard link is the same data under every name
    (`ln eval/test.jsonl data/train.jsonl`): every other name must be found inside a root and
    pass the name check too. A name that cannot be found (outside the roots, or past the walk's
    bound) cannot be checked, so the file is refused: copy it instead of linking it."""
    try:
        st = os.stat(real)
    except OSError:
        return
    if st.st_nlink <= 1 or not os.path.isfile(real):
        return
    found = {real}
    for root, other in _same_inode(roots.roots, st.st_dev, st.st_ino):
        if other in found:
            continue
        found.add(other)
        try:
            check_name_parts(task, PurePath(other.relative_to(root)))
        except EvalSplitRefused as err:
            raise EvalSplitRefused(f"task {task!r}: {real} is a hard link of {other}: {err}") from None
    if len(found) < st.st_nlink:
        raise SeedPathRefused(
            f"task {task!r}: {real} has {st.st_nlink} hard links and {st.st_nlink - len(found)} of them lie "
            "outside the project and the data dir, where they cannot be checked (an eval file under another "
            "name?); copy the file instead of linking it"
        )


def check_not_eval_file(task: str, real: Path, eval_files: Iterable[Path]) -> None:
    """EvalSplitRefused when `real` is one of the eval files (same real path or same inode)."""
    try:
        st = os.stat(real)
    except OSError:
        return
    for eval_file in eval_files:
        try:
            other = os.stat(eval_file)
        except OSError:
            continue
        if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
            raise EvalSplitRefused(
                f"task {task!r}: {real} is the eval file {eval_file} (same file: a link or hard link); "
                "seeds read training data only"
            )


def _same_inode(roots: Iterable[Path], dev: int, ino: int) -> Iterable[tuple[Path, Path]]:
    for root in roots:
        seen = 0
        for folder, dirs, files in os.walk(root):
            for name in files:
                seen += 1
                path = Path(folder) / name
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if st.st_ino == ino and st.st_dev == dev:
                    yield root, Path(os.path.realpath(folder)) / name
            seen += len(dirs)
            if seen > _MAX_WALK:
                break


def check_eval_file(task: str, spec_dir: Path, name: str) -> Path:
    """The real path of a declared eval file (`decontaminate.eval_files`), once it is known to be
    a regular file inside the project's roots (as seed paths, without the name check: it *is*
    eval data). Raises SeedPathRefused / SeedDataError."""
    path = spec_dir / name
    check_system_path(task, path)
    real, _ = resolve_steps(path)
    if SeedRoots.around(spec_dir).root_of(real) is None:
        raise SeedPathRefused(
            f"task {task!r}: eval file {name} resolves to {real}, outside the project "
            "(or a root listed in tsqa.yaml `seed_roots:`)"
        )
    if os.path.lexists(real) and not os.path.isfile(real):
        raise SeedDataError(f"task {task!r}: eval file {name} is not a regular file")
    return real


def local_shadow(dataset_path: str) -> Path | None:
    """The local path `datasets.load_dataset(dataset_path)` would load instead of the hub: a
    folder or file of that name (or a `<name>.py` loading script) relative to the working folder.
    `datasets` prefers it, with its README split configs, scripts and symlinks, unguarded."""
    if is_local_dataset(dataset_path):
        return None
    base = Path(os.getcwd())
    for candidate in (base / dataset_path, base / f"{dataset_path}.py"):
        try:
            if os.path.lexists(candidate):
                return candidate
        except (OSError, ValueError):
            continue
    return None


# `datasets` packaged builders (datasets.packaged_modules, 5.x): as a "hub id" each one reads
# `data_files` relative to the working folder or, with none, globs it for the split's files
# (`**/train*`), eval-named folders and folders outside the project included, unguarded.
PACKAGED_BUILDERS = frozenset(
    {
        "arrow", "audiofolder", "cache", "conll", "csv", "eval", "fasta", "fastq", "folder_based_builder",
        "genbank", "generator", "harbor", "hdf5", "iceberg", "imagefolder", "json", "lance", "meshfolder",
        "mmcif", "niftifolder", "pandas", "parquet", "pdb", "pdffolder", "spark", "sql", "text", "tsfile",
        "videofolder", "vortex", "webdataset", "xml",
    }
)  # fmt: skip
_REMOTE = re.compile(r"^(hf|https?|s3|gs|gcs|az|abfs)://", re.IGNORECASE)


def packaged_builder(dataset_path: str, data_files: object = None) -> str | None:
    """The packaged builder `dataset_path` names, unless every one of its data_files is remote
    (lm-eval's `csv` + `hf://datasets/...` tasks): a local read through it bypasses the guard."""
    name = normal_hub_id(dataset_path).removesuffix(".py")
    if name not in PACKAGED_BUILDERS:
        return None
    files = _flat_files(data_files)
    if files and all(_REMOTE.match(f.strip()) for f in files):
        return None
    return name


def _flat_files(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _flat_files(v)]
    if isinstance(value, (list, tuple)):
        return [f for v in value for f in _flat_files(v)]
    return []


def check_hub_not_local(task: str, dataset_path: str, data_files: object = None) -> None:
    """SeedPathRefused when a hub id is also a local path (see local_shadow) or a `datasets`
    packaged builder reading local files (see PACKAGED_BUILDERS)."""
    if (builder := packaged_builder(dataset_path, data_files)) is not None:
        raise SeedPathRefused(
            f"task {task!r}: hub id {dataset_path!r} is the `datasets` packaged builder {builder!r}, which reads "
            "files from the working folder unguarded; use `seed: {files: ...}` (or `hf: {path: ./folder}`)"
        )
    if (shadow := local_shadow(dataset_path)) is not None:
        raise SeedPathRefused(
            f"task {task!r}: hub id {dataset_path!r} is also the local path {shadow}, which `datasets` would "
            f"load instead of the hub (unguarded); write `./{dataset_path}` for a local folder, or run elsewhere"
        )
