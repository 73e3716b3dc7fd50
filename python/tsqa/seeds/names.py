"""Is a name (a split, a file, a folder, a hub id) a name for evaluation data?

One definition, used by lint and by the guard. A name is folded first, so that look-alikes read as
what they look like: Unicode format characters (zero-width spaces, bidi marks) are dropped, NFKC
folds compatibility forms (fullwidth `ｔｅｓｔ`, mathematical `𝐭𝐞𝐬𝐭`), combining marks are stripped
(`tést`), and the Unicode confusables table (UTS #39, via confusable-homoglyphs) maps letters of
other scripts that look Latin (Cyrillic `е`, Greek `ο`) to the Latin letter. The folded name is
split into tokens at separators, case changes and letter/digit boundaries (`gsm8k-test`,
`evalSet`, `.test.jsonl`, `validation-00000-of-00001`), and a name is eval-named when a token, or
two or three adjacent tokens joined (`held_out`, `eval_set`, `val_data`), is an eval word: the
common spellings below plus every eval split name of the installed lm-eval registry (from the
catalogue), so `testmini`, `devtest` or `test_hasAns` are known. Matching whole tokens keeps
`contest`, `latest` and `interval` from matching.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache, lru_cache
from pathlib import Path

# Words that mean held-out data, whatever the dataset.
EVAL_ROOTS = frozenset(
    {
        "test",
        "tests",
        "testing",
        "testset",
        "testsets",
        "testdata",
        "testmini",
        "devtest",
        "validation",
        "validations",
        "validate",
        "validated",
        "valid",
        "val",
        "vali",
        "validset",
        "valset",
        "valdata",
        "dev",
        "devset",
        "devel",
        "development",
        "devdata",
        "eval",
        "evals",
        "evaluation",
        "evaluations",
        "evalset",
        "evaldata",
        "evaluate",
        "heldout",
        "holdout",
    }
    # The same words in other languages written in Latin letters (accents are folded away):
    # Spanish, Portuguese, French, Italian, German, Dutch, Polish, Turkish, Swedish, Indonesian.
    | {"prueba", "pruebas", "evaluacion", "evaluaciones", "validacion", "teste", "testes", "avaliacao", "validacao"}
    | {"evaluations", "valutazione", "convalida", "collaudo", "prufung", "pruefung", "validierung", "auswertung"}
    | {"testdaten", "testsatz", "validatie", "evaluatie", "walidacja", "ewaluacja", "testowy", "testowe"}
    | {"dogrulama", "degerlendirme", "utvardering", "ujian", "pengujian", "validasi", "evaluasi"}
    # Italian, Dutch, Vietnamese (`kiểm tra`), Turkish (`sınav`), Polish, French.
    | {"prova", "toets", "toetsen", "toetsing", "kiemtra", "sinav", "sinavi", "sprawdzian", "sprawdzanie"}
    | {"essai", "essais", "epreuve", "epreuves", "controle"}
    # English inflections (`testing` is above: a folder of tests is eval data to a reader too).
    | {"validating", "validates", "validator", "evaluating", "evaluated", "evaluates", "tested"}
)
# Eval words in scripts that do not fold to Latin: matched as words (Cyrillic, Greek) or anywhere
# in the name (Chinese, Japanese, Korean: written without spaces; Arabic, Hebrew, Devanagari:
# their vowel signs are not word characters to a regex).
NATIVE_WORDS = frozenset(
    {"тест", "тесты", "тестовый", "тестовая", "тестовые", "проверка", "валидация", "валидационный", "оценка"}
    | {
        "τεστ",
        "δοκιμή",
        "δοκιμη",
        "αξιολόγηση",
        "αξιολογηση",
        "επικύρωση",
        "επικυρωση",
    }
)
NATIVE_SUBSTRINGS = ("测试", "測試", "验证", "驗證", "评估", "評估", "评测", "評測", "テスト", "検証", "評価")
NATIVE_SUBSTRINGS_THAI = ("ทดสอบ", "ประเมิน", "ตรวจสอบ", "ข้อสอบ")  # Thai: written without spaces
NATIVE_SUBSTRINGS_ABJAD = ("اختبار", "تقييم", "בדיקה", "מבחן", "परीक्षण", "परीक्षा", "मूल्यांकन", "सत्यापन")
NATIVE_SUBSTRINGS_KO = ("테스트", "검증", "평가", "시험")
# Registry split names that are ordinary words used as subset names, not eval markers by themselves
# (lm-eval has tasks whose test split is called `train`, `default`, `en` …). Their eval use is
# refused per dataset (Catalog.dataset_eval_splits), not as a name.
_NOT_NAMES = frozenset(
    {"train", "training", "default", "primary", "secondary", "latest", "seed", "grammar", "reading"}
    | {"vocabulary", "variations", "transliteration", "full"}
)
# Run-together compounds: a root with one of these before or after it (`testset`, `evalcopies`,
# `minitest`, `devsplit`). Any token starting with "eval" is eval-named (evaluate, evals …).
_AFFIXES = frozenset(
    {"set", "sets", "data", "split", "splits", "mini", "only", "copy", "copies", "file", "files", "part"}
    | {"parts", "subset", "subsets", "ing", "s", "full", "public", "private", "hidden", "blind", "official"}
    | {"gold", "my", "small", "big", "all", "orig", "original", "clean", "final", "rows", "examples"}
)
_COMPOUND_ROOTS = ("test", "valid", "val", "dev", "heldout", "holdout", "eval")
_SEPARATORS = re.compile(r"[^0-9a-z]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_DIGITS = re.compile(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")


@cache
def _confusables() -> dict[str, str]:
    """Non-ASCII character → the ASCII letter or digit it is confusable with (UTS #39 data)."""
    import confusable_homoglyphs  # type: ignore[import-untyped]

    data = json.loads((Path(confusable_homoglyphs.__file__).parent / "confusables.json").read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for char, glyphs in data.items():
        group = [char, *(g["c"] for g in glyphs)]
        ascii_ = [c for c in group if len(c) == 1 and c.isascii() and c.isalnum()]
        if not ascii_:
            continue
        target = min(ascii_, key=lambda c: (not c.islower(), c))
        for c in group:
            if len(c) == 1 and not c.isascii():
                out.setdefault(c, target)
    return out


def fold(text: str) -> str:
    """The text as it looks: format characters dropped, NFKC, marks stripped, confusables to ASCII.

    Case is kept (token boundaries need it); compare `fold(x).casefold()`.

    >>> fold("t\\u0435st")  # Cyrillic е
    'test'
    >>> fold("ｖａｌｉｄａｔｉｏｎ")
    'validation'
    """
    if text.isascii():  # nothing to fold: ASCII has no format characters, marks or confusables
        return text
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    table = _confusables()
    return "".join(_latin(table.get(c, c)) for c in text)


_LATIN_NAME = re.compile(r"^LATIN (?:SMALL |CAPITAL )?LETTER (?:SMALL CAPITAL )?([A-Z])(?: WITH .*| BAR| STROKE)?$")
# Greek letters read as the Latin letter they look like (or stand for): `τest`, `τεστ`.
_GREEK = str.maketrans(
    {"τ": "t", "Τ": "T", "ε": "e", "Ε": "E", "σ": "s", "ς": "s", "Σ": "S", "ν": "v", "α": "a", "ι": "i"}
    | {"κ": "k", "ρ": "p", "υ": "u", "η": "n", "ο": "o", "ϲ": "c", "δ": "d", "λ": "l", "μ": "m", "β": "b"}
)


@lru_cache(maxsize=4096)
def _latin(char: str) -> str:
    """A Latin letter with a stroke, hook or bar (`ŧ`, `ƭ`, `ʈ`, `ᴛ`) as its base letter; a Greek
    letter as the Latin one it looks like; anything else as it is."""
    if char.isascii() or len(char) != 1:
        return char
    greek = char.translate(_GREEK)
    if greek != char:
        return greek
    m = _LATIN_NAME.match(unicodedata.name(char, ""))
    if m is None:
        return char
    return m.group(1).lower() if unicodedata.category(char) == "Ll" or "SMALL" in unicodedata.name(char) else m.group(1)


def tokens(name: str) -> list[str]:
    """The lower-case word tokens of a folded name.

    >>> tokens("gsm8k-testMini.v2.jsonl")
    ['gsm', '8', 'k', 'test', 'mini', 'v', '2', 'jsonl']
    """
    folded = _CAMEL.sub(" ", fold(name))
    folded = _DIGITS.sub(" ", folded.casefold())
    return [t for t in _SEPARATORS.split(folded) if t]


@lru_cache(maxsize=65536)  # pure (eval_words is fixed per process); lint and plan ask ~25 times per spec
def eval_word(name: str) -> str | None:
    """The eval word `name` contains (as a token or joined tokens), or None.

    >>> eval_word("val_data.jsonl"), eval_word("contest_train.jsonl"), eval_word("held-out")
    ('val', None, 'heldout')
    """
    if not name.isascii() and (native := _native_word(name)):
        return native
    if not name.isascii() and (bidi := _BIDI.search(name)):
        # An override or isolate shows the name other than its bytes (`\u202etset` reads "test").
        return f"U+{ord(bidi.group()):04X} (a bidi control)"
    for candidate in _spellings(name):
        if word := _eval_word(candidate):
            return word
    return None


_WORD = re.compile(r"[^\W\d_]+")


def _native_word(name: str) -> str | None:
    text = "".join(c for c in unicodedata.normalize("NFKC", name) if unicodedata.category(c) != "Cf").casefold()
    for sub in (*NATIVE_SUBSTRINGS, *NATIVE_SUBSTRINGS_KO, *NATIVE_SUBSTRINGS_ABJAD, *NATIVE_SUBSTRINGS_THAI):
        if sub in text:
            return sub
    for word in _WORD.findall(text):
        bare = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
        if (
            word in NATIVE_WORDS
            or bare in NATIVE_WORDS
            or any(bare.startswith(w) and len(w) >= 4 for w in NATIVE_WORDS)
        ):
            return str(word)
    return None


# Letters of other scripts that read as Latin but are not in the confusables table's ASCII
# mapping (Cyrillic small te, em, ka, en …): folded, never dropped as separators.
_EXTRA_FOLDS = str.maketrans({"т": "t", "Т": "t", "м": "m", "к": "k", "н": "h", "в": "b", "ѕ": "s", "ј": "j"})
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "€": "e"})
_LEET_RUN = re.compile(r"(?<=[a-z])[0134579@$€]+|[0134579@$€]+(?=[a-z])")


_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Turned (upside-down) letters: `ʇsǝʇ` is "test" turned, read backwards.
_TURNED = str.maketrans(
    {"ʇ": "t", "ǝ": "e", "ɐ": "a", "ɹ": "r", "ɯ": "m", "ɥ": "h", "ʌ": "v", "ʍ": "w", "ʎ": "y", "ɔ": "c"}
    | {"ɟ": "f", "ƃ": "g", "ɾ": "j", "ʞ": "k", "ꞁ": "l", "ı": "i", "ᴉ": "i", "ʃ": "l", "ɓ": "q", "ʒ": "z"}
    | {"∀": "a", "Ǝ": "e", "ꓕ": "t", "⊥": "t", "Ʌ": "v", "Ɐ": "a", "Ɯ": "m", "Ʇ": "t", "ɒ": "a", "ǫ": "o"}
)

_TURNED_ASCII = str.maketrans("pdnuqb", "dpunbq")


def _spellings(name: str) -> list[str]:
    """The name as written, %-decoded, with look-alike letters folded and leetspeak digits
    between letters read as letters (`t3st`): every way a reader would read it."""
    from urllib.parse import unquote

    out = [name]
    for _ in range(3):  # %2574est → %74est → test
        decoded = unquote(out[-1])
        if decoded == out[-1]:
            break
        out.append(decoded)
    out += [fold(v).translate(_EXTRA_FOLDS) for v in out]
    if not name.isascii() and (turned := name.translate(_TURNED)) != name:
        upside_down = turned.translate(_TURNED_ASCII)[::-1]  # turned text reads backwards, `p` is `d`
        out += [turned, turned[::-1], upside_down]
    out += [_LEET_RUN.sub(lambda m: m.group().translate(_LEET), v.casefold()) for v in out]
    return list(dict.fromkeys(out))


# Pieces a run-together name may be built from (`devtestset`, `testcases`, `validationset`).
_PIECES = frozenset(EVAL_ROOTS | _AFFIXES | {"case", "cases", "question", "questions", "sample", "samples"})
_PIECE_ROOTS = frozenset(EVAL_ROOTS)
_DATASET_PREFIX = re.compile(r"^[a-z0-9]*[0-9][a-z]?")  # `gsm8k`, `mmlu2` before a root
_SINGLE_RUN = re.compile(r"(?:(?<![0-9a-z])[0-9a-z](?:[^0-9a-z]+|$)){3,}")


def _segments(piece: str) -> bool:
    """Whether `piece` is eval words and affixes run together, at least one an eval root,
    optionally after a dataset-like prefix ending in a digit (`gsm8ktest`)."""
    starts = [0]
    if m := _DATASET_PREFIX.match(piece):
        starts.append(m.end())
    for start in starts:
        # reach[i]: positions reachable from `start`, with whether a root was used
        reach: dict[int, bool] = {start: False}
        for i in range(start, len(piece)):
            if i not in reach:
                continue
            for j in range(i + 1, min(len(piece), i + 12) + 1):
                part = piece[i:j]
                if part in _PIECES:
                    reach[j] = reach.get(j, False) or reach[i] or part in _PIECE_ROOTS
        if reach.get(len(piece)) and len(piece) > start:
            return True
    return False


def _eval_word(name: str) -> str | None:
    words = eval_words()
    lowered = name.casefold()
    # Case-insensitive pieces between separators (`hElDoUt` is one word, not h-El-Do-Ut), and
    # runs of single letters between separators joined (`t-e-s-t`, `t e s t`).
    pieces = [p for p in _SEPARATORS.split(lowered) if p]
    pieces += ["".join(_SEPARATORS.split(m.group())) for m in _SINGLE_RUN.finditer(lowered)]
    for piece in pieces:
        if piece in words or _segments(piece):
            return piece
    toks = tokens(name)
    for size in (1, 2, 3):
        for i in range(len(toks) - size + 1):
            joined = "".join(toks[i : i + size])
            if joined in words:
                return joined
    for tok in toks:
        if tok.startswith("eval"):
            return tok
        for root in _COMPOUND_ROOTS:
            if (tok.startswith(root) and tok[len(root) :] in _AFFIXES) or (
                tok.endswith(root) and tok[: -len(root)] in _AFFIXES
            ):
                return tok
    return None


def is_eval_name(name: str) -> bool:
    return eval_word(name) is not None


@cache
def eval_words() -> frozenset[str]:
    """EVAL_ROOTS plus the eval split names of the lm-eval registry (folded, separators removed)."""
    words = set(EVAL_ROOTS)
    try:
        from tsqa.seeds.catalog import load_catalog

        catalog = load_catalog()
    except Exception:  # noqa: BLE001 - without the catalogue the common spellings still hold
        return frozenset(words)
    splits = {split for _, _, names in catalog.dataset_evals() for split in names}  # ~100 names, 15k uses
    for split in splits:
        word = "".join(tokens(split))
        if len(word) > 2 and word not in _NOT_NAMES:
            words.add(word)
    return frozenset(words)


@lru_cache(maxsize=65536)
def normal_hub_id(dataset_path: str) -> str:
    """A hub dataset id as the hub resolves it: `hf://datasets/Org/Name/` → `org/name`.

    >>> normal_hub_id("hf://datasets/OpenAI//GSM8K/")
    'openai/gsm8k'
    """
    from urllib.parse import unquote

    value = fold(unquote(dataset_path)).strip()  # `org%2Fname` is `org/name` to the hub's URLs
    value = re.sub(r"\s*/\s*", "/", value)  # `org / name`
    for prefix in ("https://huggingface.co/", "http://huggingface.co/", "hf://", "huggingface.co/"):
        if value.casefold().startswith(prefix):
            value = value[len(prefix) :]
    value = value.strip("/")
    if value.casefold().startswith("datasets/"):
        value = value[len("datasets/") :]
    value = re.sub(r"/+", "/", value).strip("/")
    value = re.sub(r"@.*$", "", value)  # `org/name@revision`
    return value.casefold()


@lru_cache(maxsize=65536)
def normal_config(name: str | None) -> str | None:
    """A dataset config name; `default` (or empty) is the same as none."""
    if name is None:
        return None
    value = fold(name).strip().casefold()
    return None if value in ("", "default") else value
