"""Heuristic task language from the lm-eval folder and task name; None when not obvious."""

from __future__ import annotations

import re
from itertools import pairwise

# ISO 639-3 codes used in task names → ISO 639-1 where one exists, so `--lang en` finds "eng".
_THREE_TO_TWO = {
    "amh": "am", "eng": "en", "ewe": "ee", "fra": "fr", "hau": "ha", "ibo": "ig", "kin": "rw",
    "lin": "ln", "lug": "lg", "orm": "om", "sna": "sn", "sot": "st", "swa": "sw", "twi": "tw",
    "wol": "wo", "xho": "xh", "yor": "yo", "zul": "zu", "nno": "nn", "nob": "nb",
    "vai": "vai", "bbj": "bbj", "fon": "fon",
}  # fmt: skip
_TWO = frozenset(
    [
        "am",
        "ar",
        "bg",
        "bn",
        "ca",
        "da",
        "de",
        "el",
        "en",
        "es",
        "eu",
        "fi",
        "fr",
        "gl",
        "gu",
        "ha",
        "hi",
        "hr",
        "hu",
        "hy",
        "id",
        "ig",
        "is",
        "it",
        "ja",
        "kn",
        "ko",
        "ln",
        "lg",
        "ml",
        "mr",
        "my",
        "nb",
        "ne",
        "nl",
        "nn",
        "no",
        "om",
        "pl",
        "pt",
        "ro",
        "ru",
        "rw",
        "sk",
        "sn",
        "sr",
        "st",
        "sv",
        "sw",
        "ta",
        "te",
        "th",
        "tr",
        "tw",
        "uk",
        "ur",
        "vi",
        "wo",
        "xh",
        "yo",
        "zh",
        "zu",
    ]
)

# Families with one task per language; the language is a token of the task name.
_MULTILINGUAL = frozenset(
    [
        "afrimgsm",
        "afrobench",
        "arc_mt",
        "okapi",
        "mgsm",
        "xnli",
        "xstorycloze",
        "tydiqa",
        "paws-x",
        "truthfulqa-multi",
        "mela",
        "headqa",
        "indicxnli",
        "noreval",
    ]
)

_ENGLISH = [
    "aime",
    "anli",
    "arc",
    "babi",
    "c4",
    "code_x_glue",
    "common_voice",
    "commonsense_qa",
    "coqa",
    "drop",
    "fld",
    "glue",
    "gpqa",
    "gsm8k",
    "gsm8k_platinum",
    "gsm_plus",
    "hellaswag",
    "hendrycks_ethics",
    "hendrycks_math",
    "jsonschema_bench",
    "leaderboard",
    "logiqa",
    "logiqa2",
    "mastermind",
    "mathqa",
    "med_prescriptions",
    "med_text_classification",
    "meddialog",
    "mediqa_qa2019",
    "medmcqa",
    "medqa",
    "medtext",
    "meqsum",
    "mimic_repsum",
    "minerva_math",
    "mts_dialog",
    "mutual",
    "nq_open",
    "olaph",
    "openbookqa",
    "piqa",
    "pubmedqa",
    "qasper",
    "realtoxicityprompts",
    "sciq",
    "siqa",
    "slr_bench",
    "super_glue",
    "swag",
    "tinyBenchmarks",
    "toxigen",
    "triviaqa",
    "webqs",
    "wikitext",
    "winogrande",
]
# Monolingual families (and the fallback for multilingual ones whose name carries no code).
_FAMILY_LANGUAGE: dict[str, str] = {
    **dict.fromkeys(_ENGLISH, "en"),
    "basque_bench": "eu", "catalan_bench": "ca", "galician_bench": "gl", "portuguese_bench": "pt",
    "spanish_bench": "es", "french_bench": "fr", "japanese_leaderboard": "ja", "kobest": "ko",
    "polemo2": "pl", "darijahellaswag": "ary", "egyhellaswag": "arz", "xnli_eu": "eu",
    "ulqa": "ug", "noreval": "no",
}  # fmt: skip


def _code(token: str) -> str | None:
    if token in _TWO:
        return token
    return _THREE_TO_TWO.get(token)


def guess_language(name: str, family: str) -> str | None:
    """ISO 639 code of the task's text, or None (unknown, or a translation pair).

    >>> guess_language("afrimgsm_cot_amh_prompt_1", "afrimgsm")
    'am'
    >>> guess_language("catalan_bench_flores_ca-en", "catalan_bench") is None
    True
    >>> guess_language("arc_easy", "arc")
    'en'
    """
    codes = [_code(t) for t in re.split(r"[_\-]", name.lower())]
    # Two adjacent language tokens name a translation direction: no single language.
    if any(a and b for a, b in pairwise(codes)):
        return None
    if family in _MULTILINGUAL:
        found = [c for c in codes if c]
        if found:
            return found[-1]
    return _FAMILY_LANGUAGE.get(family)
