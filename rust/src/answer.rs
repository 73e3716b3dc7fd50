//! Answer extraction and canonicalisation for majority voting.
//!
//! Steps per sampled response:
//! 1. Extract the answer span by mode: the last `\boxed{…}` (balanced braces), the text after the
//!    last "The final answer is" / "Final answer:" / "answer is" / "answer:", multiple-choice
//!    letters ("(B)", "B.", "B) …", "Answer: b"), or the last number in the text.
//! 2. Canonicalise so equivalent answers vote together (NeMo-Skills counts raw strings and does
//!    not): numbers become reduced fractions (`1,000.0` = `1000`; `0.50` = `.5` = `1/2` =
//!    `\frac{1}{2}`), multiple choice becomes the option letter (letter ↔ option text), short
//!    text is NFKC-folded, lowercased, stripped of punctuation and articles (SQuAD's
//!    `normalize_answer`).
//!
//! `None` means no answer could be extracted; such samples count in the total but not as votes.

use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// How answers are extracted and compared; the same strings as the Python `Literal`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    MultipleChoice,
    Number,
    Boxed,
    FinalAnswer,
    Text,
}

impl Mode {
    pub fn parse(name: &str) -> Result<Mode> {
        Ok(match name {
            "multiple_choice" => Mode::MultipleChoice,
            "number" => Mode::Number,
            "boxed" => Mode::Boxed,
            "final_answer" => Mode::FinalAnswer,
            "text" => Mode::Text,
            _ => {
                return Err(Error::param(
                    "mode",
                    format!("'{name}'"),
                    "expected one of 'multiple_choice', 'number', 'boxed', 'final_answer', 'text'",
                ))
            }
        })
    }
}

/// The canonical answer of one sampled response, or `None`.
pub fn canonical_answer(response: &str, mode: Mode, options: Option<&[&str]>) -> Option<String> {
    match mode {
        Mode::Boxed => last_boxed(response).and_then(|b| math_or_text(&b)),
        Mode::FinalAnswer => {
            final_answer_span(response).or_else(|| last_boxed(response)).and_then(|s| math_or_text(&s))
        }
        Mode::Number => {
            let span = last_boxed(response).or_else(|| final_answer_span(response));
            if let Some(n) = span.as_deref().and_then(canonical_number) {
                return Some(n);
            }
            last_number(response).and_then(|s| canonical_number(&s))
        }
        Mode::Text => {
            let span = final_answer_span(response).unwrap_or_else(|| response.to_string());
            non_empty(canonical_text(&span))
        }
        Mode::MultipleChoice => choice(response, options).map(letter),
    }
}

/// The canonical form of a reference answer: no extraction, but MC references may be a letter,
/// an option text or a 0-based option index.
pub fn canonical_reference(reference: &str, mode: Mode, options: Option<&[&str]>) -> Option<String> {
    match mode {
        Mode::MultipleChoice => {
            let r = reference.trim();
            if let Some(i) = as_letter(r, options, true) {
                return Some(letter(i));
            }
            if let Some(i) = match_option(r, options) {
                return Some(letter(i));
            }
            let n = options.map_or(usize::MAX, <[&str]>::len);
            r.parse::<usize>().ok().filter(|&i| i < n).map(letter)
        }
        Mode::Number => canonical_number(&strip_boxed(reference)).or_else(|| non_empty(canonical_text(reference))),
        Mode::Boxed | Mode::FinalAnswer => math_or_text(&strip_boxed(reference)),
        Mode::Text => non_empty(canonical_text(reference)),
    }
}

/// The display text of a canonical MC key: "B" → the option text, when options are known.
pub fn option_text<'a>(key: &str, options: Option<&[&'a str]>) -> Option<&'a str> {
    let idx = letter_index(key)?;
    options.and_then(|o| o.get(idx).copied())
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        Some(s)
    }
}

fn letter(i: usize) -> String {
    if i < 26 {
        char::from(b'A' + i as u8).to_string()
    } else {
        format!("#{i}")
    }
}

fn letter_index(key: &str) -> Option<usize> {
    let b = key.as_bytes();
    match b {
        [c] if c.is_ascii_uppercase() => Some((c - b'A') as usize),
        [b'#', ..] => key[1..].parse().ok(),
        _ => None,
    }
}

fn strip_boxed(s: &str) -> String {
    last_boxed(s).unwrap_or_else(|| s.to_string())
}

/// Content of the last `\boxed{…}` or `\fbox{…}`, braces balanced.
pub fn last_boxed(text: &str) -> Option<String> {
    let start = ["\\boxed{", "\\fbox{"].iter().filter_map(|m| text.rfind(m).map(|p| p + m.len())).max()?;
    let mut depth = 1usize;
    for (i, c) in text[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(text[start..start + i].trim().to_string());
                }
            }
            _ => {}
        }
    }
    None
}

/// The span after the last answer marker, up to the end of its line, without trailing dots.
pub fn final_answer_span(text: &str) -> Option<String> {
    // ASCII lowercase keeps byte offsets aligned with `text`.
    let lower = text.to_ascii_lowercase();
    let markers = ["the final answer is", "final answer:", "the answer is", "answer is", "answer:"];
    let (pos, len) = markers.iter().find_map(|m| lower.rfind(m).map(|p| (p, m.len())))?;
    let rest = &text[pos + len..];
    let line = rest.trim_start().lines().next().unwrap_or("");
    if let Some(b) = last_boxed(line) {
        return Some(b);
    }
    let span = line.trim().trim_end_matches(['.', '!']).trim().trim_matches('$').trim();
    if span.is_empty() {
        None
    } else {
        Some(span.to_string())
    }
}

/// Canonical number if `s` is one, else canonical math/text.
fn math_or_text(s: &str) -> Option<String> {
    canonical_number(s).or_else(|| non_empty(canonical_math(s)))
}

/// Light LaTeX clean-up for non-numeric math answers: `$`, spacing commands, `\left`/`\right`,
/// `\text{}`, `\dfrac` → `\frac`, whitespace removed, trailing period dropped.
fn canonical_math(s: &str) -> String {
    let mut t = unwrap_text(s.trim());
    for (from, to) in [
        ("\\left", ""),
        ("\\right", ""),
        ("\\!", ""),
        ("\\,", ""),
        ("\\;", ""),
        ("\\dfrac", "\\frac"),
        ("\\tfrac", "\\frac"),
        ("$", ""),
    ] {
        t = t.replace(from, to);
    }
    let t: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    t.trim_end_matches('.').to_string()
}

/// `\text{abc}` / `\textbf{}` / `\mathrm{}` → `abc` (outer wrapper only).
fn unwrap_text(s: &str) -> String {
    for w in ["\\text{", "\\textbf{", "\\mathrm{", "\\mathbf{"] {
        if let Some(inner) = s.strip_prefix(w).and_then(|r| r.strip_suffix('}')) {
            return inner.to_string();
        }
    }
    s.to_string()
}

/// Reduced fraction text of a number written as an integer, decimal, `a/b` or `\frac{a}{b}`.
pub fn canonical_number(s: &str) -> Option<String> {
    let mut t = unwrap_text(s.trim().trim_matches('$').trim());
    for junk in ["\\!", "\\,", "\\ ", "\\$", "{,}", "\\left", "\\right"] {
        t = t.replace(junk, "");
    }
    let t = t.trim().trim_end_matches('.').trim();
    let t = t.strip_prefix('(').and_then(|x| x.strip_suffix(')')).unwrap_or(t);
    let (num, den) = parse_fraction(t)?;
    Some(format_ratio(num, den))
}

fn parse_fraction(t: &str) -> Option<(i128, i128)> {
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (n, d) = if let Some(rest) = ["\\frac{", "\\dfrac{", "\\tfrac{"].iter().find_map(|p| body.strip_prefix(p)) {
        let close = rest.find('}')?;
        let (a, tail) = (&rest[..close], &rest[close + 1..]);
        let b = tail.strip_prefix('{')?.strip_suffix('}')?;
        let (an, ad) = parse_decimal(a.trim())?;
        let (bn, bd) = parse_decimal(b.trim())?;
        (an.checked_mul(bd)?, ad.checked_mul(bn)?)
    } else if let Some((a, b)) = body.split_once('/') {
        let (an, ad) = parse_decimal(a.trim())?;
        let (bn, bd) = parse_decimal(b.trim())?;
        (an.checked_mul(bd)?, ad.checked_mul(bn)?)
    } else {
        parse_decimal(body)?
    };
    if d == 0 {
        return None;
    }
    Some((if neg { -n } else { n }, d))
}

/// `1,234.50` → (123450, 100); thousands separators must group by three.
fn parse_decimal(s: &str) -> Option<(i128, i128)> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if int.contains(',') {
        let groups: Vec<&str> = int.split(',').collect();
        let ok = !groups[0].is_empty() && groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3);
        if !ok {
            return None;
        }
    }
    let digits: String = int.chars().filter(|&c| c != ',').chain(frac.chars()).collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 36 || frac.len() > 30 {
        return None;
    }
    let n: i128 = digits.parse().ok()?;
    Some((n, 10i128.pow(frac.len() as u32)))
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

fn format_ratio(n: i128, d: i128) -> String {
    let (n, d) = if d < 0 { (-n, -d) } else { (n, d) };
    let g = gcd(n, d).max(1);
    let (n, d) = (n / g, d / g);
    if d == 1 {
        n.to_string()
    } else {
        format!("{n}/{d}")
    }
}

/// The last number-like token (digits with `,` `.` `/`, optional sign) in free text.
fn last_number(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let end = b.iter().rposition(u8::is_ascii_digit)? + 1;
    let mut start = end;
    while start > 0 && (b[start - 1].is_ascii_digit() || matches!(b[start - 1], b',' | b'.' | b'/')) {
        start -= 1;
    }
    while start < end && !b[start].is_ascii_digit() && b[start] != b'.' {
        start += 1;
    }
    if start > 0 && b[start - 1] == b'-' {
        start -= 1;
    }
    Some(text[start..end].trim_matches(|c| c == ',' || c == '/').to_string())
}

/// SQuAD-style normal form: NFKC, lowercase, punctuation → space, articles dropped, single spaces.
pub fn canonical_text(s: &str) -> String {
    let folded: String =
        s.nfkc().flat_map(char::to_lowercase).map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    let words: Vec<&str> = folded.split_whitespace().filter(|w| !matches!(*w, "a" | "an" | "the")).collect();
    words.join(" ")
}

/// A lone letter such as "B", "(B)", "B.", "B)", "[B]" or "Option B"; lowercase only when `loose`.
fn as_letter(s: &str, options: Option<&[&str]>, loose: bool) -> Option<usize> {
    let t = s.trim().trim_start_matches("option").trim_start_matches("Option").trim();
    let t = t.trim_matches(|c: char| matches!(c, '(' | ')' | '[' | ']' | '.' | ':' | '*' | '$') || c.is_whitespace());
    let t = unwrap_text(t);
    let mut chars = t.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else { return None };
    let c = if loose { c.to_ascii_uppercase() } else { c };
    if !c.is_ascii_uppercase() {
        return None;
    }
    let i = (c as u8 - b'A') as usize;
    match options {
        Some(o) if i >= o.len() => None,
        _ => Some(i),
    }
}

fn match_option(s: &str, options: Option<&[&str]>) -> Option<usize> {
    let want = canonical_text(s);
    if want.is_empty() {
        return None;
    }
    options?.iter().position(|o| canonical_text(o) == want)
}

/// "B) text" / "(B) text" / "B. text": a leading letter followed by the option text.
fn leading_letter(s: &str, options: Option<&[&str]>) -> Option<usize> {
    let t = s.trim().trim_start_matches('(');
    let mut it = t.char_indices();
    let (_, c) = it.next()?;
    let (j, sep) = it.next()?;
    if !c.is_ascii_uppercase() || !matches!(sep, ')' | '.' | ':') {
        return None;
    }
    let i = (c as u8 - b'A') as usize;
    if let Some(o) = options {
        if i >= o.len() {
            return None;
        }
        let rest = &t[j + 1..];
        if !rest.trim().is_empty() && canonical_text(rest) != canonical_text(o[i]) {
            return None;
        }
    }
    Some(i)
}

/// The chosen option index of a multiple-choice response.
fn choice(response: &str, options: Option<&[&str]>) -> Option<usize> {
    let resolve = |span: &str| {
        as_letter(span, options, true).or_else(|| leading_letter(span, options)).or_else(|| match_option(span, options))
    };
    if let Some(i) = last_boxed(response).as_deref().and_then(resolve) {
        return Some(i);
    }
    if let Some(i) = final_answer_span(response).as_deref().and_then(resolve) {
        return Some(i);
    }
    if let Some(i) = as_letter(response, options, true)
        .or_else(|| leading_letter(response, options))
        .or_else(|| match_option(response, options))
    {
        return Some(i);
    }
    // Last "(X)" in the text.
    let b = response.as_bytes();
    (0..b.len().saturating_sub(2)).rev().find_map(|p| {
        if b[p] == b'(' && b[p + 2] == b')' && b[p + 1].is_ascii_uppercase() {
            as_letter(&response[p..p + 3], options, false)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_canonicalise() {
        for (a, b) in [
            ("1,000", "1000"),
            ("1000.0", "1000"),
            ("0.50", "1/2"),
            (".5", "1/2"),
            ("\\frac{1}{2}", "1/2"),
            ("\\dfrac{2}{4}", "1/2"),
            ("2/4", "1/2"),
            ("-3.", "-3"),
            ("$12$", "12"),
            ("\\text{7}", "7"),
            ("-\\frac{6}{4}", "-3/2"),
        ] {
            assert_eq!(canonical_number(a).as_deref(), Some(b), "{a}");
        }
        for bad in ["", "abc", "1,00", "1/0", "12a", "9999999999999999999999999999999999999999"] {
            assert_eq!(canonical_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn extraction_by_mode() {
        let r = "We get \\boxed{\\frac{1}{2}} first, then \\boxed{0.5}.";
        assert_eq!(canonical_answer(r, Mode::Boxed, None).as_deref(), Some("1/2"));
        assert_eq!(canonical_answer("so x = {3}", Mode::Boxed, None), None);
        assert_eq!(
            canonical_answer("Thus... The final answer is $1,234$.", Mode::FinalAnswer, None).as_deref(),
            Some("1234")
        );
        assert_eq!(
            canonical_answer("I think 3 apples, then 4 pears, so 12.", Mode::Number, None).as_deref(),
            Some("12")
        );
        assert_eq!(
            canonical_answer("The answer is: The Eiffel Tower!", Mode::Text, None).as_deref(),
            Some("eiffel tower")
        );
        assert_eq!(canonical_answer("   ", Mode::Text, None), None);
    }

    #[test]
    fn multiple_choice_letters_and_texts() {
        let opts = ["Paris", "London", "the Rome", "Berlin"];
        let o = Some(&opts[..]);
        for (resp, want) in [
            ("B", "B"),
            ("(c)", "C"),
            ("The answer is (D).", "D"),
            ("Answer: b", "B"),
            ("london", "B"),
            ("C) Rome", "C"),
            ("After thinking, \\boxed{A}", "A"),
            ("I pick (B) because (A) is wrong... final: (C)", "C"),
        ] {
            assert_eq!(canonical_answer(resp, Mode::MultipleChoice, o).as_deref(), Some(want), "{resp}");
        }
        assert_eq!(canonical_answer("E", Mode::MultipleChoice, o), None);
        assert_eq!(canonical_answer("no idea", Mode::MultipleChoice, o), None);
        assert_eq!(canonical_reference("1", Mode::MultipleChoice, o).as_deref(), Some("B"));
        assert_eq!(canonical_reference("Berlin", Mode::MultipleChoice, o).as_deref(), Some("D"));
        assert_eq!(option_text("C", o), Some("the Rome"));
    }
}
