"""Corpus curation on the native core: near-dup (MinHash/LSH), exact dedup, majority vote,
n-gram contamination. Every function takes Arrow columns (zero-copy) or Python lists and
releases the GIL; errors derive from ``NativeError``."""

from tsqa._native import (
    ColumnTypeError,
    IndexFormatError,
    IndexMismatchError,
    InputError,
    NativeError,
    NativeIOError,
    NullValueError,
    ParameterError,
)
from tsqa.curate.contamination import (
    ContaminationResult,
    NgramIndex,
    build_contamination_index,
    contamination,
)
from tsqa.curate.exact import ExactResult, exact_dedup
from tsqa.curate.neardup import (
    MinHashIndex,
    NearDupResult,
    band_keys,
    build_index,
    choose_bands,
    minhash_signatures,
    near_dedup,
)
from tsqa.curate.vote import VoteResult, majority_vote

__all__ = [
    "ColumnTypeError",
    "ContaminationResult",
    "ExactResult",
    "IndexFormatError",
    "IndexMismatchError",
    "InputError",
    "MinHashIndex",
    "NativeError",
    "NativeIOError",
    "NearDupResult",
    "NgramIndex",
    "NullValueError",
    "ParameterError",
    "VoteResult",
    "band_keys",
    "build_contamination_index",
    "build_index",
    "choose_bands",
    "contamination",
    "exact_dedup",
    "majority_vote",
    "minhash_signatures",
    "near_dedup",
]
