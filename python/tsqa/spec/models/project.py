"""The project file (tsqa.yaml): models, stage defaults, output location, executor."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Discriminator, Field

from tsqa.spec.models.common import SPEC_FORMAT_VERSION, Name, SpecModel
from tsqa.spec.models.stages import StageDefaults


class _ModelCommon(SpecModel):
    model: Annotated[str, Field(min_length=1)]
    """Local path or hub id (vllm), or the served model name (openai)."""
    revision: str | None = None
    """Hub revision (commit, tag or branch) recorded in provenance and fingerprints."""
    max_model_len: Annotated[int, Field(ge=64)] = 4096
    """Context length; rendered prompt + max_tokens must fit in it."""
    throughput_tokens_per_s: Annotated[float, Field(gt=0)] = 5000.0
    """Expected output tokens/s per worker, for plan estimates (an 8B model on one H100: 5-15k)."""
    workers: Annotated[int, Field(ge=1)] = 1
    """Engine replicas (one per GPU group) the plan may spread requests over."""


class VllmModel(_ModelCommon):
    """In-process vLLM (`vllm.LLM`), one engine per worker."""

    engine: Literal["vllm"]
    tokenizer: str | None = None
    """Tokenizer path or id when it differs from the model's."""
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    tensor_parallel_size: Annotated[int, Field(ge=1)] = 1
    """GPUs per engine replica."""
    gpu_memory_utilization: Annotated[float, Field(gt=0, le=1)] = 0.9
    """Fraction of GPU memory vLLM may take (weights + KV cache)."""
    max_num_seqs: Annotated[int, Field(ge=1)] | None = None
    """Sequences batched at once; vLLM's default when omitted."""
    enable_prefix_caching: bool = True
    enforce_eager: bool = False
    """Skip CUDA graphs / torch.compile (faster start, slower steady state)."""
    chunk_size: Annotated[int, Field(ge=1)] = 4096
    """Prompts handed to the engine per call; bounds memory, one shard per chunk."""


class OpenAIModel(_ModelCommon):
    """An OpenAI-compatible endpoint (`vllm serve`, NIM, SGLang …)."""

    engine: Literal["openai"]
    base_url: Annotated[str, Field(pattern=r"^https?://")]
    """Endpoint root, e.g. http://host:8000/v1."""
    api_key_env: str | None = None
    """Environment variable holding the API key; never the key itself."""
    max_concurrency: Annotated[int, Field(ge=1)] = 64
    """Requests in flight at once."""
    timeout_s: Annotated[float, Field(gt=0)] = 600.0
    """Per-request timeout; a timed-out request is retried."""
    max_retries: Annotated[int, Field(ge=0)] = 6
    """Retries with backoff on 408/409/429/5xx and timeouts."""


ModelConfig = Annotated[VllmModel | OpenAIModel, Discriminator("engine")]


class LocalExecutor(SpecModel):
    """Run every stage in this process (one node, its GPUs)."""

    kind: Literal["local"] = "local"


class RayExecutor(SpecModel):
    """Run generation as Ray Data jobs over vLLM actors on a Ray cluster."""

    kind: Literal["ray"]
    address: str = "auto"
    """Ray cluster address (`auto`: the cluster this node belongs to)."""
    num_gpus_per_worker: Annotated[float, Field(gt=0)] = 1.0
    """GPUs each vLLM actor reserves."""


Executor = Annotated[LocalExecutor | RayExecutor, Discriminator("kind")]


class OutputConfig(SpecModel):
    dir: Annotated[str, Field(min_length=1)] = "runs/default"
    """Run directory, relative to the project file."""
    shard_rows: Annotated[int, Field(ge=1)] = 50_000
    """Rows per Parquet shard."""
    store: Annotated[str, Field(pattern=r"^[a-z][a-z0-9+.-]*://")] | None = None
    """Object-store URI the run directory is mirrored to through `pyarrow.fs` (`s3://bucket/runs/x`,
    `gs://…`, `file:///shared/runs/x`): same layout and manifests; `dir` stays the local working
    copy (lock, response cache). Apply pulls finished work from it first and pushes after."""


class Project(SpecModel):
    """tsqa.yaml."""

    version: Literal[1] = SPEC_FORMAT_VERSION
    """Spec format version."""
    name: Name
    """Project name, recorded in manifests and the blend file."""
    models: Annotated[dict[Name, ModelConfig], Field(min_length=1)]
    """Models by the name stages use (`generator`, `solver` …); `engine` picks the kind."""
    defaults: StageDefaults = StageDefaults()
    """Stage settings every spec starts from."""
    output: OutputConfig = OutputConfig()
    """Where runs are written."""
    executor: Executor = LocalExecutor()
    """`local` (this machine) or `ray` (a Ray cluster); `kind` picks it."""
    seed_store: Annotated[str, Field(min_length=1)] = ".tsqa/seeds"
    """Local snapshot of the seed (training) splits written by `tsqa seeds fetch`, relative to the
    project file; `plan` and `apply` read seeds from here and work offline."""
    seed_roots: list[Annotated[str, Field(min_length=1)]] = []
    """Folders outside the project that seed files may live in (relative to the project file).
    Seed paths, symlinks resolved, must lie inside the project, the data dir or one of these."""
    specs: list[str] = ["specs"]
    """Folders or files holding the task specs, relative to the project file."""
    accept_failures: bool = False
    """Record model calls that still fail after the engine's retries as rejects (reason
    `engine_error`) instead of leaving their stage incomplete for the next apply to retry;
    `tsqa apply --accept-failures` does the same for one run."""
