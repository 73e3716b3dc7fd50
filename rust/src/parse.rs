//! Parse and validate generated questions (tsqa's parse stage, `tsqa.stages.parse`), the same
//! checks, reasons, messages and option shuffle as its Python implementation, row for row:
//!
//! the engine returned text; it is JSON `{"questions": [...]}`; question and answer are strings
//! within length bounds (and a context when the task has one); multiple choice has the seed's
//! option count, distinct options (case-folded) and an answer that is a letter or an option; the
//! kept options are reordered by a permutation read from a BLAKE2b digest of the question (a
//! Lehmer code); a question whose MinHash estimate against its seed question is ≥ 0.7 is a near
//! copy. Messages quote values as Python's `repr` does (`parse_pystr`).

use blake2::digest::{Update, VariableOutput};
use blake2::Blake2bVar;
use rayon::prelude::*;

use crate::error::Result;
use crate::minhash::Kernel;
use crate::normalize::NormalizeOptions;
use crate::parse_json::{loads, Failure, Value};
use crate::parse_pystr as py;
use crate::shingle::ShingleKind;
use crate::sketch::{SketchParams, Sketcher};

pub const LETTERS: &[u8; 26] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// Estimated Jaccard of word 3-grams with the seed question at which a question is a near copy.
pub const NEAR_COPY_JACCARD: f64 = 0.7;
const NUM_PERM: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    MultipleChoice,
    ShortAnswer,
    /// Any other format: free text, judged by the long-answer bounds.
    Long,
}

impl Format {
    pub fn parse(name: &str) -> Format {
        match name {
            "multiple_choice" => Format::MultipleChoice,
            "short_answer" => Format::ShortAnswer,
            _ => Format::Long,
        }
    }
}

/// Length bounds in characters (inclusive), `tsqa.stages.output_schema.BOUNDS`.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub question: (usize, usize),
    pub answer: (usize, usize),
    pub long_answer: (usize, usize),
}

#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub format: Format,
    pub with_context: bool,
    pub bounds: Bounds,
}

/// One generator response (a row of the generate stage).
pub struct Candidate<'a> {
    pub candidate_id: &'a str,
    pub seed_id: &'a str,
    pub seed_question: &'a str,
    pub n_options: Option<i64>,
    pub text: Option<&'a str>,
    pub truncated: bool,
    pub error: Option<&'a str>,
}

/// A kept question. `candidate` indexes the input rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub candidate: usize,
    pub position: usize,
    pub question: String,
    pub options: Option<Vec<String>>,
    pub answer_index: Option<i32>,
    pub answer_text: String,
    pub context: Option<String>,
}

/// A rejected candidate (or one of its questions): reason code and message.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub candidate: usize,
    pub reason: &'static str,
    pub detail: String,
}

#[derive(Debug, Default)]
pub struct Parsed {
    pub questions: Vec<Question>,
    /// In the Python implementation's order: each candidate's own rejects in row order, then the
    /// near copies in question order.
    pub rejects: Vec<Reject>,
}

/// Parses every candidate; None when some response needs Python's own JSON decoder (see
/// `parse_json::Failure::Unsupported`): the caller then parses the batch in Python.
pub fn parse_all(candidates: &[Candidate<'_>], rules: &Rules, kernel: Kernel) -> Result<Option<Parsed>> {
    let per: Vec<Option<(Vec<Question>, Vec<Reject>)>> =
        candidates.par_iter().enumerate().map(|(i, c)| parse_one(i, c, rules)).collect();
    let mut pending = Vec::new();
    let mut rejects = Vec::new();
    for one in per {
        let Some((q, r)) = one else { return Ok(None) };
        pending.extend(q);
        rejects.extend(r);
    }
    let near = near_copy_similarity(&pending, candidates, kernel)?;
    let mut questions = Vec::with_capacity(pending.len());
    for (q, sim) in pending.into_iter().zip(near) {
        if sim >= NEAR_COPY_JACCARD {
            rejects.push(Reject {
                candidate: q.candidate,
                reason: "near_copy_of_seed",
                detail: format!("estimated Jaccard {sim:.2} with the seed question"),
            });
        } else {
            questions.push(q);
        }
    }
    Ok(Some(Parsed { questions, rejects }))
}

fn parse_one(i: usize, c: &Candidate<'_>, rules: &Rules) -> Option<(Vec<Question>, Vec<Reject>)> {
    let mut rejects = Vec::new();
    let mut reject = |reason: &'static str, detail: &str| {
        rejects.push(Reject { candidate: i, reason, detail: py::head(detail, 300).to_string() })
    };
    if let Some(error) = c.error {
        reject("engine_error", error);
        return Some((Vec::new(), rejects));
    }
    let text = c.text.unwrap_or("");
    let payload = match loads(text) {
        Ok(v) => v,
        Err(Failure::Unsupported) => return None,
        Err(Failure::Invalid) => {
            reject(if c.truncated { "truncated" } else { "invalid_json" }, py::head(text, 200));
            return Some((Vec::new(), rejects));
        }
    };
    let items = match payload.get("questions") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        _ => {
            reject("schema", "expected {\"questions\": [...]} with at least one item");
            return Some((Vec::new(), rejects));
        }
    };
    let mut questions = Vec::new();
    for (position, item) in items.iter().enumerate() {
        match validate(item, c, rules) {
            Ok(mut q) => {
                q.candidate = i;
                q.position = position;
                if let (Some(options), Some(index)) = (q.options.take(), q.answer_index) {
                    // generators favour answer slots: a seeded shuffle keyed by content
                    let (options, index) = shuffle_options(&q.question, options, index as usize);
                    q.options = Some(options);
                    q.answer_index = Some(index as i32);
                }
                questions.push(q);
            }
            Err((reason, detail)) => reject(reason, &detail),
        }
    }
    Some((questions, rejects))
}

type Invalid = (&'static str, String);

fn validate(item: &Value, c: &Candidate<'_>, rules: &Rules) -> std::result::Result<Question, Invalid> {
    let (question, answer) = match (item.get("question"), item.get("answer")) {
        (Some(Value::Str(q)), Some(Value::Str(a))) => (py::strip(q), py::strip(a)),
        _ => {
            return Err(("schema", format!("question and answer must be strings, got {}", py::repr_list(&keys(item)))))
        }
    };
    let (lo, hi) = rules.bounds.question;
    let n = py::len(question);
    if !(lo..=hi).contains(&n) {
        return Err(("length", format!("question has {n} characters, outside ({lo}, {hi})")));
    }
    let context = if rules.with_context {
        match item.get("context").and_then(Value::as_str).map(py::strip) {
            Some(s) if !s.is_empty() => Some(s.to_string()),
            _ => return Err(("schema", "context is required for this task".to_string())),
        }
    } else {
        None
    };
    let mut out = Question {
        candidate: 0,
        position: 0,
        question: question.to_string(),
        options: None,
        answer_index: None,
        answer_text: answer.to_string(),
        context,
    };
    if rules.format == Format::MultipleChoice {
        let options: Vec<&str> = match item.get("options") {
            Some(Value::Array(list)) => {
                let stripped: Option<Vec<&str>> =
                    list.iter().map(|o| o.as_str().map(py::strip).filter(|s| !s.is_empty())).collect();
                stripped.ok_or(("schema", "options must be a list of non-empty strings".to_string()))?
            }
            _ => return Err(("schema", "options must be a list of non-empty strings".to_string())),
        };
        if let Some(want) = c.n_options {
            if options.len() as i64 != want {
                return Err(("option_count", format!("{} options, the seed has {want}", options.len())));
            }
        }
        let folded: Vec<_> = options.iter().map(|o| py::casefold(o)).collect();
        let mut distinct: Vec<&str> = folded.iter().map(|f| f.as_ref()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        if options.len() < 2 || distinct.len() != options.len() {
            return Err((
                "duplicate_options",
                format!("options must be ≥ 2 and distinct: {}", py::repr_list(&options)),
            ));
        }
        let Some(index) = answer_index(answer, &options, &folded) else {
            return Err((
                "answer_not_in_options",
                format!("answer {} is neither a letter nor an option", py::repr(answer)),
            ));
        };
        out.answer_text = options[index].to_string();
        out.answer_index = Some(index as i32);
        out.options = Some(options.iter().map(|o| o.to_string()).collect());
    } else {
        let (lo, hi) = if rules.format == Format::ShortAnswer { rules.bounds.answer } else { rules.bounds.long_answer };
        let n = py::len(answer);
        if !(lo..=hi).contains(&n) {
            return Err(("length", format!("answer has {n} characters, outside ({lo}, {hi})")));
        }
    }
    Ok(out)
}

/// `sorted(item)`: an item that is not an object reads as `{"_not_an_object": item}`.
fn keys(item: &Value) -> Vec<&str> {
    match item {
        Value::Object(members) => {
            let mut k: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
            k.sort_unstable(); // UTF-8 byte order is code point order, as Python sorts
            k.dedup();
            k
        }
        _ => vec!["_not_an_object"],
    }
}

/// A letter naming an option (`"b"`, `"(C)"`, `"D."`) or an option's text, case-folded.
fn answer_index(answer: &str, options: &[&str], folded: &[std::borrow::Cow<'_, str>]) -> Option<usize> {
    let letter = py::strip(answer).trim_matches(['(', ')', '.']);
    if let Some(l) = py::upper_letter(letter) {
        let index = (l - b'A') as usize;
        if index < options.len() {
            return Some(index);
        }
    }
    let target = py::casefold(answer);
    folded.iter().position(|f| *f == target)
}

/// The permutation of range(n) read from the 128-bit BLAKE2b digest of the key (seed 0, "options",
/// key, joined by U+001F), taken modulo n! as a Lehmer code (`option_order.permutation`).
pub fn permutation(n: usize, parts: &[&str]) -> Vec<usize> {
    let mut hasher = Blake2bVar::new(16).expect("16 is a valid BLAKE2b output size");
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update(b"\x1f");
        }
        hasher.update(p.as_bytes());
    }
    let mut digest = [0u8; 16];
    hasher.finalize_variable(&mut digest).expect("the buffer is the output size");
    let mut code = u128::from_le_bytes(digest);
    let mut left: Vec<usize> = (0..n).collect();
    let mut out = Vec::with_capacity(n);
    for size in (1..=n).rev() {
        let pick = (code % size as u128) as usize;
        code /= size as u128;
        out.push(left.remove(pick));
    }
    out
}

/// `option_order.shuffle_options(options, index, key="\x1f".join([question, *options]))`.
pub fn shuffle_options(question: &str, options: Vec<String>, index: usize) -> (Vec<String>, usize) {
    let mut parts: Vec<&str> = vec!["0", "options", question];
    parts.extend(options.iter().map(String::as_str));
    let perm = permutation(options.len(), &parts);
    let new_index = perm.iter().position(|&p| p == index).expect("a permutation holds every index");
    let mut slots: Vec<Option<String>> = options.into_iter().map(Some).collect();
    let shuffled = perm.iter().map(|&p| slots[p].take().expect("each index once")).collect();
    (shuffled, new_index)
}

/// Per pending question, the share of equal MinHash slots (word 3-grams, 128 permutations, seed 1)
/// with its seed question; each distinct seed question is sketched once.
fn near_copy_similarity(pending: &[Question], candidates: &[Candidate<'_>], kernel: Kernel) -> Result<Vec<f64>> {
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let params = SketchParams::new(
        NUM_PERM,
        1,
        1.0,
        Some((1, 1)),
        ShingleKind::Word(3),
        NormalizeOptions { keep_digits: true },
    )?;
    let sketcher = Sketcher::new(params, kernel)?;
    let questions: Vec<&str> = pending.iter().map(|q| q.question.as_str()).collect();
    let mut seed_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut seeds: Vec<&str> = Vec::new();
    let which: Vec<usize> = pending
        .iter()
        .map(|q| {
            let s = candidates[q.candidate].seed_question;
            *seed_of.entry(s).or_insert_with(|| {
                seeds.push(s);
                seeds.len() - 1
            })
        })
        .collect();
    let new = sketcher.signatures(&questions);
    let old = sketcher.signatures(&seeds);
    Ok(which
        .iter()
        .enumerate()
        .map(|(r, &s)| {
            let a = &new[r * NUM_PERM..(r + 1) * NUM_PERM];
            let b = &old[s * NUM_PERM..(s + 1) * NUM_PERM];
            a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / NUM_PERM as f64
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: Bounds = Bounds { question: (10, 2000), answer: (1, 300), long_answer: (1, 6000) };

    fn cand<'a>(text: Option<&'a str>, n_options: Option<i64>) -> Candidate<'a> {
        Candidate {
            candidate_id: "t:0",
            seed_id: "t:0",
            seed_question: "What colour is the sky on a clear day?",
            n_options,
            text,
            truncated: false,
            error: None,
        }
    }

    fn run(cands: &[Candidate<'_>], format: Format) -> Parsed {
        let rules = Rules { format, with_context: false, bounds: BOUNDS };
        parse_all(cands, &rules, Kernel::Scalar).unwrap().unwrap()
    }

    #[test]
    fn permutation_matches_python_golden() {
        // python: option_order.permutation(4, 0, "options", "q\x1fa\x1fb\x1fc\x1fd")
        assert_eq!(permutation(4, &["0", "options", "q", "a", "b", "c", "d"]), vec![3, 1, 2, 0]);
        // python: option_order.permutation(26, 0, "options", "x")
        let golden = [17, 11, 0, 4, 10, 13, 15, 21, 7, 8, 9, 5, 12, 25, 18, 3, 23, 2, 16, 22, 19, 20, 1, 24, 6, 14];
        assert_eq!(permutation(26, &["0", "options", "x"]), golden);
    }

    #[test]
    fn keeps_a_valid_multiple_choice_question() {
        let text = r#"{"questions": [{"question": " Which planet is largest? ", "options": ["Mars", "Jupiter", "Venus", "Earth"], "answer": "(b)"}]}"#;
        let out = run(&[cand(Some(text), Some(4))], Format::MultipleChoice);
        assert!(out.rejects.is_empty(), "{:?}", out.rejects);
        let q = &out.questions[0];
        assert_eq!(q.question, "Which planet is largest?");
        let options = q.options.as_ref().unwrap();
        assert_eq!(options[q.answer_index.unwrap() as usize], "Jupiter");
        assert_eq!(q.answer_text, "Jupiter");
    }

    #[test]
    fn rejections_carry_python_messages() {
        let cases: &[(&str, &str, &str)] = &[
            ("not json", "invalid_json", "not json"),
            ("[]", "schema", "expected {\"questions\": [...]} with at least one item"),
            (r#"{"questions": [3]}"#, "schema", "question and answer must be strings, got ['_not_an_object']"),
            (
                r#"{"questions": [{"question": "short", "answer": "x", "b": 1}]}"#,
                "length",
                "question has 5 characters, outside (10, 2000)",
            ),
            (
                r#"{"questions": [{"question": "long enough?", "answer": "A", "options": ["a", "A "]}]}"#,
                "duplicate_options",
                "options must be ≥ 2 and distinct: ['a', 'A']",
            ),
            (
                r#"{"questions": [{"question": "long enough?", "answer": "it's", "options": ["x", "y"]}]}"#,
                "answer_not_in_options",
                "answer \"it's\" is neither a letter nor an option",
            ),
            (
                r#"{"questions": [{"question": "long enough?", "answer": "A", "options": ["x", ""]}]}"#,
                "schema",
                "options must be a list of non-empty strings",
            ),
        ];
        for (text, reason, detail) in cases {
            let out = run(&[cand(Some(text), None)], Format::MultipleChoice);
            assert_eq!(out.rejects.len(), 1, "{text}");
            assert_eq!((out.rejects[0].reason, out.rejects[0].detail.as_str()), (*reason, *detail), "{text}");
        }
        let out = run(
            &[cand(
                Some(r#"{"questions": [{"question": "long enough?", "answer": "A", "options": ["x", "y"]}]}"#),
                Some(3),
            )],
            Format::MultipleChoice,
        );
        assert_eq!(out.rejects[0].detail, "2 options, the seed has 3");
    }

    #[test]
    fn near_copies_come_last() {
        let copy = r#"{"questions": [{"question": "What colour is the sky on a clear day?", "answer": "blue"}]}"#;
        let own = r#"{"questions": [{"question": "How many legs does a spider have?", "answer": "eight"}, {"question": "x", "answer": "y"}]}"#;
        let out = run(&[cand(Some(copy), None), cand(Some(own), None)], Format::ShortAnswer);
        let reasons: Vec<_> = out.rejects.iter().map(|r| (r.candidate, r.reason)).collect();
        assert_eq!(reasons, vec![(1, "length"), (0, "near_copy_of_seed")]);
        assert_eq!(out.rejects[1].detail, "estimated Jaccard 1.00 with the seed question");
        assert_eq!(out.questions.len(), 1);
        assert_eq!((out.questions[0].candidate, out.questions[0].position), (1, 0));
    }

    #[test]
    fn engine_errors_and_truncation() {
        let mut c = cand(Some("{\"questions\": [{"), None);
        c.truncated = true;
        let mut e = cand(None, None);
        e.error = Some("boom");
        let out = run(&[c, e], Format::ShortAnswer);
        assert_eq!(out.rejects[0].reason, "truncated");
        assert_eq!((out.rejects[1].reason, out.rejects[1].detail.as_str()), ("engine_error", "boom"));
    }

    #[test]
    fn unsupported_json_defers_to_python() {
        let rules = Rules { format: Format::ShortAnswer, with_context: false, bounds: BOUNDS };
        assert!(parse_all(&[cand(Some("\"\\ud800\""), None)], &rules, Kernel::Scalar).unwrap().is_none());
    }

    #[test]
    fn jaccard_format_rounds_half_to_even_like_python() {
        assert_eq!(format!("{:.2}", 0.875_f64), "0.88");
        assert_eq!(format!("{:.2}", 0.125_f64), "0.12");
    }
}
