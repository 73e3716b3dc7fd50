"""Templates (field mappings and prompts) may only use variables that will exist."""

from __future__ import annotations

from collections.abc import Iterator

from tsqa.diagnostics import Diagnostic
from tsqa.lint.rules.base import LintContext, rule
from tsqa.prompts import BUILTIN_PROMPTS, STAGE_VARIABLES, PromptStage
from tsqa.spec.load import LoadedSpec
from tsqa.spec.models import LmEvalSeed, VoteVerify
from tsqa.spec.models.prompts import PromptFile, PromptInline
from tsqa.spec.prompt_files import PromptFileRefused
from tsqa.spec.templates import JINJA_GLOBALS, TemplateError, template_variables
from tsqa.spec.yaml_source import PathKey


@rule("undefined-variable")
def undefined_variable(ctx: LintContext) -> Iterator[Diagnostic]:
    """A template (field mapping or prompt) references a variable that does not exist.

    Why: templates render with undefined variables as errors (as in lm-eval), so the run would fail
    on its first record, or, for a prompt, the model would never see what the author meant.
    Field templates see the seed document's columns (from the lm-eval task config, or `seed.columns`);
    prompts see their stage's variables (see `tsqa.prompts.STAGE_VARIABLES`): a solve prompt cannot
    see the answer.

    Example: `fields: {question: "{{ questoin }}"}` → 'questoin' is not a column.
    """
    for loaded in ctx.specs:
        columns = _known_columns(loaded, ctx)
        if columns is not None:
            for name, text in loaded.spec.fields.model_dump(exclude_none=True).items():
                yield from _check(loaded, ("fields", name), text, columns | JINJA_GLOBALS, "column")
        for path, stage, text in _prompts(loaded):
            if text is not None:
                yield from _check(loaded, path, text, STAGE_VARIABLES[stage] | JINJA_GLOBALS, f"{stage} variable")


@rule("template-syntax")
def template_syntax(ctx: LintContext) -> Iterator[Diagnostic]:
    """A template is not valid Jinja.

    Why: it cannot render; the run would fail on its first record.

    Example: `question: "{{ question }"` (unclosed expression).
    """
    for loaded in ctx.specs:
        for path, text in spec_templates(loaded):
            try:
                template_variables(text)
            except TemplateError as exc:
                if exc.nondeterministic:
                    continue  # template-nondeterministic's finding
                yield loaded.diagnostic(
                    path, "template-syntax", f"invalid template (template line {exc.line}): {exc.message}"
                )


@rule("unknown-prompt")
def unknown_prompt(ctx: LintContext) -> Iterator[Diagnostic]:
    """A prompt names a built-in that does not exist for its stage, or a file that cannot be read.

    Why: the stage would have no prompt to render.

    Example: `generate: {prompt: similar_questions}` → the built-in is `similar_question`.
    """
    for loaded in ctx.specs:
        for path, stage, ref in _prompt_refs(loaded):
            if isinstance(ref, str):
                builtin = BUILTIN_PROMPTS.get(ref)
                if builtin is None or builtin.stage != stage:
                    names = sorted(n for n, p in BUILTIN_PROMPTS.items() if p.stage == stage)
                    yield loaded.diagnostic(
                        path, "unknown-prompt", f"no built-in {stage} prompt {ref!r} (built-ins: {', '.join(names)})"
                    )
            elif (
                isinstance(ref, PromptFile)
                and (problem := prompt_file_problem(loaded, path, ref)) is not None
                and problem.missing
            ):
                yield loaded.diagnostic(
                    (*path, "file"),
                    "unknown-prompt",
                    f"prompt file {ref.file!r} not found (relative to {loaded.path.parent})",
                )


def _check(loaded: LoadedSpec, path: PathKey, text: str, known: frozenset[str], what: str) -> Iterator[Diagnostic]:
    try:
        used = template_variables(text)
    except TemplateError:
        return  # reported by template-syntax
    for name in sorted(used - known):
        yield loaded.diagnostic(path, "undefined-variable", f"template references undefined {what} {name!r}")


def _known_columns(loaded: LoadedSpec, ctx: LintContext) -> frozenset[str] | None:
    seed = loaded.spec.seed
    declared = frozenset(seed.columns) if seed.columns is not None else None
    if isinstance(seed, LmEvalSeed) and ctx.catalog is not None:
        info = ctx.catalog.get(seed.lm_eval)
        if info is not None and info.columns is not None:
            return info.columns | (declared or frozenset())
    return declared


def _prompt_refs(loaded: LoadedSpec) -> list[tuple[PathKey, PromptStage, object]]:
    spec = loaded.spec
    refs: list[tuple[PathKey, PromptStage, object]] = [(("generate", "prompt"), "generate", spec.generate.prompt)]
    refs += [(("enrich", "prompts", v), "enrich", r) for v, r in spec.enrich.prompts.items()]
    if isinstance(spec.verify, VoteVerify):
        refs.append((("verify", "prompt"), "solve", spec.verify.prompt))
    return refs


def spec_templates(loaded: LoadedSpec) -> list[tuple[PathKey, str]]:
    """Every template text a spec renders: its field templates, then its custom prompts."""
    texts: list[tuple[PathKey, str]] = [
        (("fields", n), t) for n, t in loaded.spec.fields.model_dump(exclude_none=True).items()
    ]
    return texts + [(p, t) for p, _, t in _prompts(loaded) if t is not None]


def _prompts(loaded: LoadedSpec) -> Iterator[tuple[PathKey, PromptStage, str | None]]:
    """The text of every custom prompt a spec uses (built-ins are checked by tests, not lint)."""
    for path, stage, ref in _prompt_refs(loaded):
        if isinstance(ref, PromptInline):
            yield (*path, "inline"), stage, ref.inline
        elif isinstance(ref, PromptFile):
            yield (*path, "file"), stage, _read_prompt_file(loaded, path, ref)


def _read_prompt_file(loaded: LoadedSpec, path: PathKey, ref: PromptFile) -> str | None:
    """The prompt file's text; None when it is missing or refused (rule prompt-file-unsafe)."""
    from tsqa.spec.prompt_files import read_prompt_file

    # Relative to the file that names it: the spec, or tsqa.yaml for a default prompt.
    try:
        return read_prompt_file(ref.file, loaded.ref(path).file.parent)
    except PromptFileRefused:
        return None


def prompt_file_problem(loaded: LoadedSpec, path: PathKey, ref: PromptFile) -> PromptFileRefused | None:
    """Why the prompt file may not be read (checked before anything opens it), or None."""
    from tsqa.spec.prompt_files import prompt_file_path

    try:
        prompt_file_path(ref.file, loaded.ref(path).file.parent)
    except PromptFileRefused as err:
        return err
    return None
