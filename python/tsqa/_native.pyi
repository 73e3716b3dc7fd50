"""Type stubs for the Rust extension (the contract of rust/src/py).

Every function releases the GIL and runs on a rayon pool of ``threads`` workers owned by the call
(default: all cores). Text inputs are Arrow string columns (string, large_string, string_view;
arrays, chunked arrays, table columns) read zero-copy through the Arrow PyCapsule interface.
"""

from os import PathLike
from typing import Any, Literal, TypeAlias, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "ALGORITHM_VERSION",
    "DETECTED_KERNEL",
    "ColumnTypeError",
    "IndexFormatError",
    "IndexMismatchError",
    "InputError",
    "MinHashIndex",
    "NativeError",
    "NativeIOError",
    "NgramIndex",
    "NullValueError",
    "ParameterError",
    "StreamDedup",
    "__version__",
    "band_keys",
    "check_pattern",
    "choose_bands",
    "exact_dedup",
    "majority_vote",
    "minhash_signatures",
    "near_dedup",
    "parquet_file_head",
    "parse_generations",
    "render_packaged_texts",
    "rows_as_json",
]

__version__: str
ALGORITHM_VERSION: int
"""Version of the MinHash/shingle/band-key definitions; stored in every persisted index."""
DETECTED_KERNEL: Literal["scalar", "avx2", "avx512"]

_Shingle: TypeAlias = Literal["word", "char"]
_Kernel: TypeAlias = Literal["auto", "scalar", "avx2", "avx512"]
_Verify: TypeAlias = Literal["exact", "signature", "none"]
_Mode: TypeAlias = Literal["multiple_choice", "number", "boxed", "final_answer", "text", "span"]

class NativeError(Exception):
    """Base class of every error raised by tsqa's native core."""

class ParameterError(NativeError, ValueError):
    """A parameter is out of range; the message quotes the value."""

class InputError(NativeError, ValueError):
    """Input records or columns cannot be used (lengths, limits)."""

class ColumnTypeError(NativeError, TypeError):
    """A column is not of a supported Arrow type."""

class NullValueError(NativeError, ValueError):
    """A column has a null where text is required; the message names the row."""

class IndexFormatError(NativeError, ValueError):
    """A persisted index is unreadable (bad magic, truncated, checksum)."""

class IndexMismatchError(NativeError, ValueError):
    """A persisted index was built with other parameters."""

class NativeIOError(NativeError, OSError):
    """Reading or writing an index file failed."""

def near_dedup(
    texts_obj: Any,
    *,
    threshold: float = 0.8,
    num_perm: int = 128,
    ngram: int = 5,
    shingle: _Shingle = "word",
    keep_digits: bool = True,
    seed: int = 1,
    bands: int | None = None,
    rows: int | None = None,
    verify: _Verify = "exact",
    scores: npt.NDArray[np.float64] | None = None,
    index: MinHashIndex | None = None,
    threads: int | None = None,
    kernel_name: _Kernel = "auto",
    column: str = "texts",
) -> dict[str, Any]:
    """Near-duplicate clusters.

    Returns:
        ``cluster_id``, ``duplicate_of`` (-1 when kept), ``cluster_size``, ``index_match`` (int64),
        ``is_duplicate`` (bool) arrays and ``stats`` (seconds per stage, pair counts, bands, rows,
        kernel).

    Raises:
        ParameterError, ColumnTypeError, NullValueError, InputError, IndexMismatchError.
    """

def minhash_signatures(
    texts_obj: Any,
    *,
    num_perm: int = 128,
    ngram: int = 5,
    shingle: _Shingle = "word",
    keep_digits: bool = True,
    seed: int = 1,
    threads: int | None = None,
    kernel_name: _Kernel = "auto",
    column: str = "texts",
) -> npt.NDArray[np.uint32]:
    """``n × num_perm`` signatures; rows of records without shingles are all 2**32-1."""

def band_keys(
    texts_obj: Any,
    *,
    threshold: float = 0.8,
    num_perm: int = 128,
    ngram: int = 5,
    shingle: _Shingle = "word",
    keep_digits: bool = True,
    seed: int = 1,
    bands: int | None = None,
    rows: int | None = None,
    threads: int | None = None,
    kernel_name: _Kernel = "auto",
    column: str = "texts",
) -> npt.NDArray[np.uint64]:
    """``bands × n`` band keys; 0 marks a record without shingles."""

def choose_bands(threshold: float, num_perm: int = 128) -> tuple[int, int, float]:
    """``(bands, rows, detection probability at threshold)``."""

@final
class MinHashIndex:
    """Band tables and full signatures of earlier corpora, persisted in a versioned file."""

    def __new__(
        cls,
        *,
        threshold: float = 0.8,
        num_perm: int = 128,
        ngram: int = 5,
        shingle: _Shingle = "word",
        keep_digits: bool = True,
        seed: int = 1,
        bands: int | None = None,
        rows: int | None = None,
    ) -> MinHashIndex: ...
    def add(
        self,
        texts_obj: Any,
        ids: npt.NDArray[np.uint64] | None = None,
        *,
        threads: int | None = None,
        kernel_name: _Kernel = "auto",
        column: str = "texts",
    ) -> int:
        """Adds records (skipping those without shingles); returns how many were added."""
    def matches(
        self,
        texts_obj: Any,
        *,
        threshold: float = 0.8,
        threads: int | None = None,
        kernel_name: _Kernel = "auto",
        column: str = "texts",
    ) -> npt.NDArray[np.int64]:
        """Per record, the lowest id of a verified match in the index, or -1."""
    def save(self, path: str | PathLike[str]) -> None: ...
    @staticmethod
    def load(
        path: str | PathLike[str],
        *,
        threshold: float | None = None,
        num_perm: int | None = None,
        ngram: int | None = None,
        shingle: _Shingle | None = None,
        keep_digits: bool | None = None,
        seed: int | None = None,
        bands: int | None = None,
        rows: int | None = None,
    ) -> MinHashIndex:
        """Loads an index; parameters given must match the stored ones (IndexMismatchError)."""
    def __len__(self) -> int: ...
    @property
    def params(self) -> dict[str, Any]: ...

@final
class StreamDedup:
    """Exact + near-duplicate dedup of questions streamed shard by shard (band keys spilled to
    files in ``spill_dir``), against seeds streamed the same way."""

    def __new__(
        cls,
        spill_dir: str | PathLike[str],
        *,
        threshold: float = 0.8,
        num_perm: int = 128,
        ngram: int = 5,
        shingle: _Shingle = "word",
        keep_digits: bool = True,
        seed: int = 1,
        bands: int | None = None,
        rows: int | None = None,
        verify: _Verify = "exact",
        threads: int | None = None,
        kernel_name: _Kernel = "auto",
    ) -> StreamDedup: ...
    def __len__(self) -> int: ...
    @property
    def seeds(self) -> int: ...
    def next_task(self) -> None: ...
    def add_questions(self, ids: Any, texts_obj: Any, scores: npt.NDArray[np.float64]) -> npt.NDArray[np.uint32]:
        """Adds one shard (rows whose id this task already had are skipped); returns the
        positions of the rows added."""
    def add_seeds(self, texts_obj: Any) -> None: ...
    def resolve(self) -> tuple[bool, bool]:
        """Groups the spilled keys; returns whether questions / seeds must be fed again."""
    def feed_questions(self, start: int, texts_obj: Any) -> None: ...
    def feed_seeds(self, start: int, texts_obj: Any) -> None: ...
    def finish(self) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
        """Dropped rows (sorted), reasons (1 exact, 2 seed, 3 near) and what each duplicates."""
    def begin_save(self, path: str | PathLike[str], also_dropped: npt.NDArray[np.uint32]) -> None: ...
    def keep_signatures(self) -> None:
        """Spill each question's signature as it is added (before any), for ``save_spilled``."""
    def save_spilled(self) -> None:
        """Feed the whole index from the spilled signatures (instead of ``save_feed``)."""
    def save_feed(self, start: int, texts_obj: Any) -> None: ...
    def end_save(self) -> None: ...

def exact_dedup(
    columns: list[Any],
    *,
    normalize: bool = True,
    keep_digits: bool = True,
    names: list[str] | None = None,
    threads: int | None = None,
) -> dict[str, npt.NDArray[Any]]:
    """``hash_hi``, ``hash_lo`` (uint64), ``is_duplicate`` (bool), ``first_index`` (int64)."""

def majority_vote(
    samples: Any,
    *,
    mode: _Mode = "final_answer",
    options: Any | None = None,
    references: Any | None = None,
    threads: int | None = None,
    pattern: str | None = None,
) -> dict[str, Any]:
    """``winner``, ``winner_text``, ``reference`` (pyarrow string), ``matches_reference``
    (pyarrow bool), ``votes``, ``total``, ``valid`` (int64), ``agreement`` (float64).
    With ``pattern``, each sample is first replaced by group 1 of its last match ("" if none)."""

def check_pattern(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used (Rust regex syntax, bounded size, exactly one capture
    group), or None."""

def parse_generations(
    candidate_id: Any,
    seed_id: Any,
    seed_question: Any,
    n_options: Any,
    text: Any,
    finish_reason: Any,
    error: Any,
    *,
    format: str,
    with_context: bool,
    question_chars: tuple[int, int],
    answer_chars: tuple[int, int],
    long_answer_chars: tuple[int, int],
    threads: int | None = None,
) -> dict[str, Any] | None:
    """The parse stage over the generate table's Arrow columns: ``question_id``, ``seed_id``,
    ``question``, ``options``, ``answer_index``, ``answer_text``, ``context`` of the kept
    questions and ``reject_id``, ``reject_reason``, ``reject_detail`` (pyarrow arrays), as
    ``tsqa.stages.parse.parse_candidates`` gives them; None when a response needs Python's own
    JSON decoder (lone surrogate escapes, huge integers, deep nesting)."""

def rows_as_json(rows: Any) -> Any | None:
    """Each row of a struct column (``table.to_struct_array()``) as the text
    ``json.dumps(row, ensure_ascii=False, default=str)`` writes for its ``to_pylist()`` dict (a
    pyarrow string array); None when a column's type is not plain JSON in Python (timestamps,
    decimals, binary, maps, dictionaries) or a column name repeats."""

@final
class NgramIndex:
    """Word n-gram index of evaluation texts (contamination checks)."""

    @staticmethod
    def build(
        texts_obj: Any,
        ids: npt.NDArray[np.uint64] | None = None,
        *,
        n: int = 13,
        keep_digits: bool = True,
        threads: int | None = None,
        column: str = "texts",
    ) -> NgramIndex: ...
    def query(self, texts_obj: Any, *, threads: int | None = None, column: str = "texts") -> dict[str, Any]:
        """``count`` (uint32 distinct n-grams found), ``ids`` (pyarrow list<uint64>)."""
    def save(self, path: str | PathLike[str]) -> None: ...
    @staticmethod
    def load(path: str | PathLike[str], *, n: int | None = None) -> NgramIndex: ...
    @property
    def n(self) -> int: ...
    @property
    def num_grams(self) -> int: ...
    def __len__(self) -> int: ...

def render_packaged_texts(
    context: Any, question: Any, options: Any, enrichment: Any, answer_text: Any, *, threads: int | None = None
) -> Any:
    """The packaged text of every row (``tsqa.stages.packaged_text``) as a ``pyarrow.StringArray``.
    Columns: string (context, enrichment nullable) and list<string> (options)."""

def parquet_file_head(path: str, min_rows: int) -> tuple[int, int, int, int, bytes] | None:
    """The footer of the Parquet file at ``path`` cut to its first row groups holding at least
    ``min_rows`` rows (one at least), every other field unchanged, the groups left out checked:
    (the file's num_rows, its row groups, the groups kept, their rows, the cut footer's Thrift
    bytes); None when it is no regular file, does not end like a plain (unencrypted) Parquet file,
    or its footer does not decode."""
