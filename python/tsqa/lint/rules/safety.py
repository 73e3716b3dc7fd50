"""A spec is data, never code; seed data is training data, never eval data.

These rules run the checks of the seed guard (tsqa.seeds.guard) before any data is read, with
positions: strings that name code, seed files and folders named like eval data (as written and
as resolved on disk, symlinks followed), seed paths outside the project, hub ids whose split
lm-eval evaluates on, template bounds, and fetched snapshots that do not verify.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path, PurePath
from typing import Any

import jinja2
from jinja2 import nodes

from tsqa.diagnostics import Diagnostic, Severity
from tsqa.lint.rules.base import LintContext, rule
from tsqa.seeds.local_data import DATA_DIR_ENV
from tsqa.spec.models import FilesSeed, HfSeed
from tsqa.spec.templates import ENV, LIMITS, TemplateError, compile_template
from tsqa.spec.yaml_source import PathKey, YamlDocument

MAX_LOOP_DEPTH = 3


def _strings(data: Any, path: PathKey = ()) -> Iterator[tuple[PathKey, str, bool]]:
    """(path, text, is_key) of every string of a YAML document, keys included."""
    if isinstance(data, str):
        yield path, data, False
    elif isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str):
                yield (*path, key), key, True
            yield from _strings(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _strings(value, (*path, i))


def _doc_diagnostic(doc: YamlDocument, path: PathKey, rule_id: str, message: str, *, key: bool) -> Diagnostic:
    from tsqa.diagnostics import format_field_path

    pos = doc.position(path, prefer_key=key)
    return Diagnostic(doc.file, pos.line, pos.col, rule_id, Severity.ERROR, format_field_path(path), message)


@rule("code-in-spec")
def code_in_spec(ctx: LintContext) -> Iterator[Diagnostic]:
    """A string in a spec or the project file names code to import or run.

    Why: a spec is data, never code. lm-eval's `!function module.fn` (even quoted, in any case or
    spacing, with look-alike letters), Python YAML tags written as text (`!!python/object`), and
    the dunder names of sandbox escapes (`__import__`, `__subclasses__` …) are refused wherever
    they appear, so nothing below lint is ever reached by them. Task functions come only from the
    installed lm-eval's own task modules, through the catalogue.

    Example: `fields: {question: "!function ../../evil.run"}` → refused; map a column or write a
    Jinja template instead.
    """
    from tsqa.lint.rules.templates import _prompts
    from tsqa.seeds.functions import code_reference

    docs: list[YamlDocument] = [loaded.doc for loaded in ctx.specs]
    if ctx.project is not None:
        docs.append(ctx.project.doc)
    for doc in docs:
        for path, text, is_key in _strings(doc.data):
            if code := code_reference(text):
                yield _doc_diagnostic(
                    doc, path, "code-in-spec", f"{code!r} names code to run; a spec is data, never code", key=is_key
                )
    for loaded in ctx.specs:  # prompt files are templates of the spec too
        for path, _, prompt in _prompts(loaded):
            if path[-1] == "file" and prompt is not None and (found := code_reference(prompt)):
                yield loaded.diagnostic(path, "code-in-spec", f"prompt file names code to run ({found!r})")


@rule("seed-path-eval-named")
def seed_path_eval_named(ctx: LintContext) -> Iterator[Diagnostic]:
    """A seed file, folder or dataset is named like eval data, as written or once resolved on disk.

    Why: eval data must never become seed data. Every component of a seed path is checked (below
    the spec's folder, the project or the data dir), after Unicode folding (NFKC, accents,
    look-alike letters), as whole tokens: `test`, `dev`, `val`, `eval_set`, `held_out`,
    `gsm8k-test`, `.test.jsonl`, and every eval split name of lm-eval's registry (`testmini`,
    `devtest` …). Symlinks are followed: a `train.jsonl` that links to `eval/x.jsonl` is refused.

    Example: `seed: {files: data/validation/part-1.jsonl}` → refused.
    """
    from tsqa.seeds.errors import SeedError, SeedPathRefused
    from tsqa.seeds.guard import check_name_parts, is_local_dataset
    from tsqa.seeds.guard_memo import guard_path, roots_around
    from tsqa.seeds.local_data import data_dir_from_env, split_files
    from tsqa.seeds.names import eval_word, normal_hub_id

    for loaded in ctx.specs:
        seed = loaded.spec.seed
        spec_dir = loaded.path.parent
        task = loaded.spec.task
        if isinstance(seed, FilesSeed):
            patterns = [seed.files] if isinstance(seed.files, str) else list(seed.files)
            for i, pattern in enumerate(patterns):
                where: PathKey = ("seed", "files") if isinstance(seed.files, str) else ("seed", "files", i)
                try:
                    check_name_parts(task, PurePath(pattern))
                    for path in _matches(spec_dir, pattern):
                        guard_path(task, path, roots_around(spec_dir, data_dir_from_env()))
                except SeedPathRefused:
                    continue  # seed-path-outside-project's finding
                except SeedError as err:
                    yield loaded.diagnostic(where, "seed-path-eval-named", _short(err))
        elif isinstance(seed, HfSeed):
            where = ("seed", "hf", "path")
            try:
                if is_local_dataset(seed.hf.path) or (spec_dir / seed.hf.path).is_dir():
                    if not os.path.isabs(seed.hf.path):
                        check_name_parts(task, PurePath(seed.hf.path))
                    folder = spec_dir / seed.hf.path
                    if folder.exists():
                        roots = roots_around(spec_dir, data_dir_from_env())
                        guard_path(task, folder, roots)
                        for path, _ in split_files(folder, seed.hf.split):
                            guard_path(task, path, roots)
                else:
                    parts = [*normal_hub_id(seed.hf.path).split("/"), *([seed.hf.name] if seed.hf.name else [])]
                    for part in parts:
                        if word := eval_word(part):
                            config = f" (config {seed.hf.name!r})" if seed.hf.name else ""
                            yield loaded.diagnostic(
                                where,
                                "seed-path-eval-named",
                                f"dataset {seed.hf.path!r}{config} is named like evaluation data ({word!r})",
                            )
                            break
            except SeedPathRefused:
                continue
            except SeedError as err:
                yield loaded.diagnostic(where, "seed-path-eval-named", _short(err))


def _matches(spec_dir: Path, pattern: str) -> list[Path]:
    full = spec_dir / pattern
    if glob.has_magic(pattern):
        return sorted(Path(p) for p in glob.glob(str(full), recursive=True))
    return [full] if full.exists() or full.is_symlink() else []


def _short(err: Exception) -> str:
    return str(err).split(": ", 1)[1] if str(err).startswith("task ") else str(err)


@rule("hub-eval-split")
def hub_eval_split(ctx: LintContext) -> Iterator[Diagnostic]:
    """An `hf:` seed reads a split that lm-eval evaluates on, under any spelling of the dataset id.

    Why: the hub id is normalised first (case, `hf://` and `datasets/` prefixes, repeated or
    trailing slashes, a `default` config), then compared with the eval splits of every lm-eval
    task on that dataset (and its known re-uploads), so `hf://datasets/AllenAI/AI2_ARC/` with
    `split: test` is the same eval data as lm-eval's arc_easy test split.

    Example: `seed: {hf: {path: Idavidrein/gpqa, name: gpqa_main}}` → its train split is gpqa's test.
    """
    if ctx.catalog is None:
        return
    from tsqa.seeds.errors import SeedError
    from tsqa.seeds.guard import check_hub_id, is_local_dataset, split_parts

    for loaded in ctx.specs:
        seed = loaded.spec.seed
        if not isinstance(seed, HfSeed) or is_local_dataset(seed.hf.path):
            continue
        try:
            check_hub_id(loaded.spec.task, seed.hf.path, seed.hf.name, split_parts(seed.hf.split), ctx.catalog)
        except SeedError as err:
            if "evaluated on" in str(err):
                yield loaded.diagnostic(("seed", "hf", "path"), "hub-eval-split", _short(err))


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?://|/)")


def _written_path_problems(seed: Any, data_dir: Path | None) -> Iterator[tuple[PathKey, str]]:
    """What the spec writes that fetch refuses without looking at the disk: `~` (never expanded),
    URLs (`file:///etc/passwd`), an hf config that is a path, a data dir named like eval data."""
    from tsqa.seeds.names import eval_word

    if isinstance(seed, FilesSeed):
        patterns = [seed.files] if isinstance(seed.files, str) else list(seed.files)
        for i, pattern in enumerate(patterns):
            where: PathKey = ("seed", "files") if isinstance(seed.files, str) else ("seed", "files", i)
            if pattern.startswith("~"):
                yield where, f"{pattern!r}: `~` is not expanded; seed files are paths relative to the spec"
            elif _URL.match(pattern):
                yield where, f"{pattern!r}: a URL; seed files are local paths relative to the spec"
    elif isinstance(seed, HfSeed):
        if seed.hf.path.casefold().startswith("file:"):
            yield ("seed", "hf", "path"), f"{seed.hf.path!r}: a file URL; a local dataset is a folder path"
        name = seed.hf.name or ""
        if any(c in name for c in "/\\") or ".." in name or name.startswith("~"):
            yield ("seed", "hf", "name"), f"config {name!r} is a path; a config name is a plain name"
    if data_dir is not None:
        for name in {data_dir.name, Path(os.path.realpath(data_dir)).name}:
            if word := eval_word(name):
                yield ("seed",), f"the data dir {data_dir} ({DATA_DIR_ENV}) is named like evaluation data ({word!r})"


@rule("seed-path-outside-project")
def seed_path_outside_project(ctx: LintContext) -> Iterator[Diagnostic]:
    """A seed path resolves (symlinks followed) outside the project, the data dir and `seed_roots:`.

    Why: data from anywhere on the machine (a shared eval folder, another project's test split)
    must not become seed data by a relative path or a symlink. List other roots explicitly.

    Example: `files: ../../shared/evals/arc.jsonl` → refused unless tsqa.yaml lists
    `seed_roots: [../../shared/train]` and the file lies there.
    """
    from tsqa.seeds.errors import SeedPathRefused
    from tsqa.seeds.guard import system_path
    from tsqa.seeds.guard_memo import guard_path, roots_around
    from tsqa.seeds.local_data import data_dir_from_env

    data_dir = data_dir_from_env()
    for loaded in ctx.specs:
        seed = loaded.spec.seed
        spec_dir = loaded.path.parent
        for at, problem in _written_path_problems(seed, data_dir):
            yield loaded.diagnostic(at, "seed-path-outside-project", problem)
        written: list[tuple[PathKey, str]] = []
        if isinstance(seed, FilesSeed):
            patterns = [seed.files] if isinstance(seed.files, str) else list(seed.files)
            written = [
                (("seed", "files") if isinstance(seed.files, str) else ("seed", "files", i), p)
                for i, p in enumerate(patterns)
            ]
        elif isinstance(seed, HfSeed):
            written = [(("seed", "hf", "path"), seed.hf.path)]
        refused = False
        for at, pattern in written:  # as written, whether or not it exists (`/proc/self/cwd/…`)
            if (step := system_path(spec_dir / pattern.split("*")[0])) is not None:
                refused = True
                yield loaded.diagnostic(
                    at,
                    "seed-path-outside-project",
                    f"{pattern!r} goes through {step}, a system path (/proc, /dev, /sys)",
                )
        if refused:
            continue
        paths: list[tuple[PathKey, Path]] = []
        if isinstance(seed, FilesSeed):
            patterns = [seed.files] if isinstance(seed.files, str) else list(seed.files)
            for i, pattern in enumerate(patterns):
                where: PathKey = ("seed", "files") if isinstance(seed.files, str) else ("seed", "files", i)
                paths += [(where, p) for p in _matches(spec_dir, pattern)]
        elif isinstance(seed, HfSeed) and (spec_dir / seed.hf.path).exists():
            paths.append((("seed", "hf", "path"), spec_dir / seed.hf.path))
        roots = roots_around(spec_dir, data_dir)
        for where, path in paths:
            try:
                guard_path(loaded.spec.task, path, roots)
            except SeedPathRefused as err:
                yield loaded.diagnostic(where, "seed-path-outside-project", _short(err))
            except Exception:  # noqa: BLE001, S112 - named-like-eval is seed-path-eval-named's finding
                continue


@rule("template-bounds")
def template_bounds(ctx: LintContext) -> Iterator[Diagnostic]:
    """A template that cannot fit its render bounds (literal sizes, ranges, powers; deep loops).

    Why: every render is bounded (1 s, 1,000,000 characters, 100,000 loop iterations per record);
    a template that cannot fit fails every record. `'x' * 10**9`, `range(10**7)`, `9 ** 99999`
    and four nested loops are caught here, before any data is read.

    Example: `question: "{% for a in x %}{% for b in x %}{% for c in x %}{% for d in x %}…"` → refused.
    """
    from tsqa.lint.rules.templates import spec_templates

    for loaded in ctx.specs:
        for path, text in spec_templates(loaded):
            for problem in _bound_problems_of(text):
                yield loaded.diagnostic(path, "template-bounds", problem)


@lru_cache(maxsize=8192)
def _bound_problems_of(text: str) -> tuple[str, ...]:
    try:
        compile_template(text)  # bounded nesting first: the walks below recurse per level
        return tuple(_bound_problems(ENV.parse(text)))
    except (jinja2.TemplateSyntaxError, TemplateError, RecursionError):
        return ()  # template-syntax reports it


def _bound_problems(tree: nodes.Template) -> Iterator[str]:
    for node in tree.find_all((nodes.Mul, nodes.Pow, nodes.Call, nodes.Filter)):
        consts = [
            c.value for c in node.find_all(nodes.Const) if isinstance(c.value, int) and not isinstance(c.value, bool)
        ]
        big = [v for v in consts if v > LIMITS.max_chars]
        right = node.right if isinstance(node, nodes.Pow) else None
        if isinstance(right, nodes.Const) and isinstance(right.value, int) and right.value > 4096:
            yield f"power with exponent {right.value} (line {node.lineno}) exceeds the render bounds"
            continue
        if big:
            yield f"literal {big[0]:,} (line {node.lineno}) exceeds the render bounds ({LIMITS.max_chars:,})"
    depth = _loop_depth(tree)
    if depth > MAX_LOOP_DEPTH:
        yield f"loops nested {depth} deep (at most {MAX_LOOP_DEPTH}); renders are bounded to {LIMITS.max_iterations:,} iterations"


def _loop_depth(node: nodes.Node) -> int:
    inner = max((_loop_depth(child) for child in node.iter_child_nodes()), default=0)
    return inner + (1 if isinstance(node, nodes.For) else 0)


@rule("template-nondeterministic")
def template_nondeterministic(ctx: LintContext) -> Iterator[Diagnostic]:
    """A template uses a filter or global whose result differs between renders (`|random`).

    Why: a render must give the same text every time. The content check at fetch compares the
    *rendered* seed question with eval data, and apply renders it again: a random choice lets an
    eval row through one render and into the output in the other, and breaks "rerun gives the
    same output". Renders refuse them too; objects printed with their memory address
    (`{{ x.split }}`) fail the record.

    Example: `fields: {question: "{{ [question, eval_question]|random }}"}` → refused.
    """
    from tsqa.lint.rules.templates import spec_templates

    for loaded in ctx.specs:
        for path, text in spec_templates(loaded):
            try:
                compile_template(text)
            except TemplateError as exc:
                if exc.nondeterministic:
                    yield loaded.diagnostic(
                        path, "template-nondeterministic", f"{exc.message} (template line {exc.line})"
                    )


@rule("prompt-file-unsafe")
def prompt_file_unsafe(ctx: LintContext) -> Iterator[Diagnostic]:
    """A prompt file (`prompt: {file: …}`) lies outside the project or is not a small UTF-8 file.

    It may not be read when it resolves outside the project, goes through /proc, /dev or /sys, is
    not a regular file, is over 256 KiB, or is not UTF-8.

    Why: a prompt file's text is sent to the model with every request. `{file:
    /proc/self/environ}` would send the environment's secrets, `{file: ../../etc/passwd}` any
    file of the machine, `{file: /dev/zero}` never ends. Prompt paths follow the rules of seed
    paths: resolved (symlinks followed) inside the spec's folder, the project or a `seed_roots:`
    root; nothing opens a refused file, below lint either.

    Example: `generate: {prompt: {file: /proc/self/environ}}` → refused.
    """
    from tsqa.lint.rules.templates import _prompt_refs, prompt_file_problem
    from tsqa.spec.models.prompts import PromptFile
    from tsqa.spec.prompt_files import PromptFileRefused, read_prompt_file

    for loaded in ctx.specs:
        for path, _, ref in _prompt_refs(loaded):
            if not isinstance(ref, PromptFile):
                continue
            problem = prompt_file_problem(loaded, path, ref)
            if problem is None:
                try:  # checked: now its content (UTF-8, size as read)
                    read_prompt_file(ref.file, loaded.ref(path).file.parent)
                except PromptFileRefused as err:
                    problem = err
            if problem is not None and not problem.missing:
                yield loaded.diagnostic((*path, "file"), "prompt-file-unsafe", str(problem))


@rule("eval-file-unsafe")
def eval_file_unsafe(ctx: LintContext) -> Iterator[Diagnostic]:
    """A `decontaminate.eval_files` path lies outside the project or is not a regular file.

    It may not be read when it resolves outside the project (or `seed_roots:`), goes through
    /proc, /dev or /sys, or is a device, a FIFO or a folder.

    Why: eval files are read (their content enters the plan's digest and the decontamination
    index); a path a spec names must not reach the machine's other files or a device that never
    ends (`/dev/zero`, `/proc/self/root/…`).

    Example: `decontaminate: {eval_files: [/dev/zero]}` → refused.
    """
    from tsqa.seeds.errors import SeedError
    from tsqa.seeds.guard import check_eval_file

    for loaded in ctx.specs:
        for i, name in enumerate(loaded.spec.decontaminate.eval_files):
            try:
                check_eval_file(loaded.spec.task, loaded.path.parent, name)
            except SeedError as err:
                yield loaded.diagnostic(("decontaminate", "eval_files", i), "eval-file-unsafe", _short(err))


@rule("index-file-unsafe")
def index_file_unsafe(ctx: LintContext) -> Iterator[Diagnostic]:
    """A `dedup.index` path goes through /proc, /dev or /sys.

    Why: a saved dedup index is read by plan (its digest) and apply (loaded whole):
    `/dev/zero` never ends, `/proc/self/environ` or `/proc/self/root/…` read the machine.

    Example: `dedup: {index: [/dev/zero]}` → refused.
    """
    from tsqa.seeds.guard import system_path

    for loaded in ctx.specs:
        for i, name in enumerate(loaded.spec.dedup.index):
            if (step := system_path(loaded.path.parent / name)) is not None:
                yield loaded.diagnostic(
                    ("dedup", "index", i),
                    "index-file-unsafe",
                    f"{name!r} goes through {step}, a system path (/proc, /dev, /sys): never an index",
                )


@rule("hub-id-is-local-path")
def hub_id_is_local_path(ctx: LintContext) -> Iterator[Diagnostic]:
    """An `hf:` hub id (no `./`) that is also a local folder or file where tsqa runs.

    Why: `datasets.load_dataset("mydata")` loads `./mydata` when it exists, with its README split
    configs, loading scripts and symlinks, none of which the seed guard sees: eval data can hide
    there under a training split's name. A local folder is written `./mydata` (guarded: every file
    checked); a hub id must not be a local path.

    The same holds for the names of `datasets`' packaged builders (`json`, `csv`, `parquet`,
    `text`, `arrow`, `pandas`, `webdataset`, `imagefolder`, ...): `load_dataset("json")` globs the
    working folder for `**/train*` files, eval-named folders and folders outside the project
    included. They are refused as hub ids; write `seed: {files: ...}` instead.

    Example: `seed: {hf: {path: mydata}}` with a folder `mydata/` → refused; write `./mydata`.
    `seed: {hf: {path: json}}` → refused.
    """
    from tsqa.seeds.guard import is_local_dataset, local_shadow, packaged_builder

    for loaded in ctx.specs:
        seed = loaded.spec.seed
        if not isinstance(seed, HfSeed) or is_local_dataset(seed.hf.path):
            continue
        if (loaded.path.parent / seed.hf.path).is_dir():
            continue  # read as a guarded local folder (seed-path-eval-named, seed-path-outside-project)
        if (builder := packaged_builder(seed.hf.path)) is not None:
            yield loaded.diagnostic(
                ("seed", "hf", "path"),
                "hub-id-is-local-path",
                f"hub id {seed.hf.path!r} is the `datasets` packaged builder {builder!r}, which reads files "
                "from the working folder unguarded; write `seed: {files: ...}`",
            )
            continue
        if (shadow := local_shadow(seed.hf.path)) is not None:
            yield loaded.diagnostic(
                ("seed", "hf", "path"),
                "hub-id-is-local-path",
                f"hub id {seed.hf.path!r} is also the local path {shadow}, which `datasets` would load instead; "
                f"write './{seed.hf.path}' for a local folder",
            )
