//! Answer extraction and canonicalisation for majority voting.
//!
//! Steps per sampled response:
//! 1. Extract the answer span by mode: the last `\boxed{…}` (balanced braces), the text after the
//!    last answer marker ("The final answer is: 901", "**Final Answer:** 901", "the answer is
//!    901.", "Answer: 901"; markdown, `$`, quotes and trailing periods removed), multiple-choice
//!    letters ("(B)", "B.", "B) …", "Answer: b"), the last number in the text, or (`span` mode)
//!    the text itself, already cut out by a spec's `pattern` (`regex_span`).
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
    /// The response is the answer span itself (cut out by `regex_span` beforehand).
    Span,
}

impl Mode {
    pub fn parse(name: &str) -> Result<Mode> {
        Ok(match name {
            "multiple_choice" => Mode::MultipleChoice,
            "number" => Mode::Number,
            "boxed" => Mode::Boxed,
            "final_answer" => Mode::FinalAnswer,
            "text" => Mode::Text,
            "span" => Mode::Span,
            _ => {
                return Err(Error::param(
                    "mode",
                    format!("'{name}'"),
                    "expected one of 'multiple_choice', 'number', 'boxed', 'final_answer', 'text', 'span'",
                ))
            }
        })
    }
}

/// The canonical answer of one sampled response, or `None`.
pub fn canonical_answer(response: &str, mode: Mode, options: Option<&[&str]>) -> Option<String> {
    match mode {
        Mode::Boxed => last_boxed(response).and_then(|b| math_or_text(&b)),
        Mode::FinalAnswer => final_answer_span(response).or_else(|| last_boxed(response)).and_then(|s| span_answer(&s)),
        Mode::Span => span_answer(&clean_span(&strip_boxed(response))?),
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
        Mode::Boxed => math_or_text(&strip_boxed(reference)),
        Mode::FinalAnswer | Mode::Span => span_answer(&clean_span(&strip_boxed(reference))?),
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

/// The span after the last answer marker: "answer" followed by `:`, `=` or "is" (markdown
/// emphasis around either allowed), up to the end of its sentence or line (the next line when the
/// marker ends one). A `\boxed{}` in the line wins; otherwise the span is cleaned by `clean_span`.
/// The last "final answer" marker wins over any plain "answer" one; markers with nothing after
/// them are skipped in favour of an earlier one.
pub fn final_answer_span(text: &str) -> Option<String> {
    // ASCII lowercase keeps byte offsets aligned with `text`.
    let lower = text.to_ascii_lowercase();
    // "final answer" markers first: a later "the answer is therefore …" is prose, not the answer.
    marker_span(text, &lower, true).or_else(|| marker_span(text, &lower, false))
}

fn marker_span(text: &str, lower: &str, final_only: bool) -> Option<String> {
    let mut end = lower.len();
    while let Some(p) = lower[..end].rfind("answer") {
        end = p;
        if final_only && !lower[..p].trim_end_matches([' ', '*', '_']).ends_with("final") {
            continue;
        }
        let Some(start) = after_marker(lower.as_bytes(), p + "answer".len()) else { continue };
        let rest = text[start..].trim_start();
        let line = rest.lines().next().unwrap_or("");
        if let Some(b) = last_boxed(line) {
            return Some(b);
        }
        // The sentence ends the span: "The final answer is 901. I hope it is correct."
        let sentence = [". ", "! ", "? "].iter().filter_map(|m| line.find(m)).min().map_or(line, |e| &line[..e]);
        if let Some(span) = clean_span(sentence) {
            return Some(span);
        }
    }
    None
}

/// Where the answer starts after the word "answer" at `i`, if a marker follows: `[*_]* \s*`
/// then `:` | `=` | `is` (optionally followed by `:`), then `[*_]*`.
fn after_marker(b: &[u8], mut i: usize) -> Option<usize> {
    let skip = |i: &mut usize, set: &[u8]| {
        while *i < b.len() && set.contains(&b[*i]) {
            *i += 1;
        }
    };
    skip(&mut i, b"*_");
    skip(&mut i, b" \t");
    match b.get(i) {
        Some(b':' | b'=') => i += 1,
        Some(b'i') if b.get(i + 1) == Some(&b's') && !b.get(i + 2).is_some_and(u8::is_ascii_alphanumeric) => {
            i += 2;
            skip(&mut i, b"*_");
            skip(&mut i, b" \t");
            if b.get(i) == Some(&b':') {
                i += 1;
            }
        }
        _ => return None,
    }
    skip(&mut i, b"*_");
    Some(i)
}

/// An answer span without its wrapping: markdown emphasis, `$…$`, `\(…\)`, `\[…\]`, quotes,
/// backticks and trailing sentence punctuation (repeated until nothing changes); None if empty.
pub fn clean_span(s: &str) -> Option<String> {
    let mut t = s.trim();
    loop {
        let before = t;
        t = t.trim_end_matches(['.', '!', ',', ';', '。']).trim();
        t = t.trim_matches(['*', '_', '`', '"', '\'', '“', '”']).trim();
        t = t.trim_matches('$').trim();
        for (open, close) in [("\\(", "\\)"), ("\\[", "\\]")] {
            if let Some(inner) = t.strip_prefix(open).and_then(|r| r.strip_suffix(close)) {
                t = inner.trim();
            }
        }
        if t == before {
            break;
        }
    }
    if t.is_empty() {
        None
    } else {
        Some(t.to_string())
    }
}

/// Canonical form of an extracted answer span: a number (also with a unit or `%` after it, or as
/// `x = 5`), else LaTeX-ish math (case kept) when it has numerals or math symbols, else short text
/// (SQuAD-normalised, so "Paris" = "paris.").
fn span_answer(s: &str) -> Option<String> {
    if let Some(n) = canonical_number(s).or_else(|| number_with_unit(s)) {
        return Some(n);
    }
    if let Some((lhs, rhs)) = s.rsplit_once('=') {
        let var = lhs.trim();
        if !var.is_empty() && var.len() <= 3 && var.bytes().all(|c| c.is_ascii_alphabetic()) {
            return span_answer(rhs);
        }
    }
    let mathy = s.chars().any(|c| c.is_numeric() || "\\^_{}=+*/<>()[]|".contains(c));
    if mathy {
        non_empty(canonical_math(s))
    } else {
        non_empty(canonical_text(s))
    }
}

/// "18 apples", "$18 per hour", "25%": a leading number followed only by words without digits.
fn number_with_unit(s: &str) -> Option<String> {
    let t = s.trim().trim_start_matches("\\$").trim_start_matches(['$', '€', '£']).trim_start();
    let end = t.find(|c: char| !(c.is_ascii_digit() || matches!(c, ',' | '.' | '/' | '-'))).unwrap_or(t.len());
    if end == 0 {
        return None;
    }
    let (number, rest) = t.split_at(end);
    let rest = rest.trim_start_matches("\\%").trim_start_matches('%');
    let unit_only =
        rest.is_empty() || (rest.starts_with(char::is_whitespace) && !rest.chars().any(|c| c.is_ascii_digit()));
    if unit_only {
        canonical_number(number)
    } else {
        None
    }
}

/// Group 1 of the last match of `pattern` in `text` (the whole match when the pattern has no
/// group), trimmed; None without a match. Linear time (the `regex` crate never backtracks).
pub fn regex_span(text: &str, pattern: &regex::Regex) -> Option<String> {
    let caps = pattern.captures_iter(text).last()?;
    let m = caps.get(1).or_else(|| caps.get(0))?;
    non_empty(m.as_str().trim().to_string())
}

/// Compile a spec's answer pattern, bounded in size; Err is a one-line reason it cannot be used.
pub fn compile_pattern(pattern: &str) -> std::result::Result<regex::Regex, String> {
    let re = regex::RegexBuilder::new(pattern).size_limit(1 << 20).build().map_err(|e| match e {
        regex::Error::CompiledTooBig(limit) => format!("the compiled pattern is larger than the {limit}-byte limit"),
        // The parser's message ends in a line "error: <reason>" below a caret diagram.
        other => {
            let text = other.to_string();
            let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
            last.strip_prefix("error: ").unwrap_or(last).to_string()
        }
    })?;
    if re.captures_len() != 2 {
        return Err(format!("needs exactly one capture group (the answer), found {}", re.captures_len() - 1));
    }
    Ok(re)
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

    #[test]
    fn final_answer_forms() {
        for (resp, want) in [
            ("so 900 + 1.\nThe final answer is: 901", "901"),
            ("The final answer is 901.", "901"),
            ("**Final Answer:** 901", "901"),
            ("**Final Answer**: $901$.", "901"),
            ("The final answer is **901**.", "901"),
            ("The answer is 901!", "901"),
            ("answer is: 901", "901"),
            ("Answer: 901", "901"),
            ("Final answer:\n901", "901"),
            ("The final answer is $\\boxed{901}$.", "901"),
            ("Final Answer: The final answer is \\(901\\). I hope it is correct.", "901"),
            ("The final answer is: 1,234.", "1234"),
            ("The final answer is: $18.00", "18"),
            ("The final answer is 18 apples.", "18"),
            ("The final answer is: 25%", "25"),
            ("The final answer is: x = 5", "5"),
            ("The final answer is: 1/2", "1/2"),
            ("The final answer is: \"Paris\".", "paris"),
            ("The final answer is: the Eiffel Tower", "eiffel tower"),
            ("Answer = 42", "42"),
            ("The final answer is 7. The answer is therefore easy to check:", "7"),
        ] {
            assert_eq!(canonical_answer(resp, Mode::FinalAnswer, None).as_deref(), Some(want), "{resp}");
        }
        for resp in ["no marker here, 901", "The answers vary", "the final answer is", "answered: yes"] {
            assert_eq!(final_answer_span(resp), None, "{resp}");
        }
        // the reference canonicalises the same way: the prompt's own format agrees with it
        assert_eq!(canonical_reference("901", Mode::FinalAnswer, None).as_deref(), Some("901"));
        assert_eq!(canonical_reference("Paris", Mode::FinalAnswer, None).as_deref(), Some("paris"));
        let opts = ["Paris", "London"];
        for resp in ["The final answer is: B", "**Final Answer:** (B)", "The final answer is: London."] {
            assert_eq!(canonical_answer(resp, Mode::MultipleChoice, Some(&opts[..])).as_deref(), Some("B"), "{resp}");
        }
    }

    #[test]
    fn patterns_cut_the_span() {
        let re = compile_pattern(r"ANSWER:\s*(\S+)").unwrap();
        assert_eq!(regex_span("ANSWER: 3 then ANSWER: 4.", &re).as_deref(), Some("4."));
        assert_eq!(regex_span("nothing", &re), None);
        assert_eq!(canonical_answer("4.", Mode::Span, None).as_deref(), Some("4"));
        assert_eq!(canonical_answer("\\boxed{1/2}", Mode::Span, None).as_deref(), Some("1/2"));
        assert_eq!(canonical_answer("Paris", Mode::Span, None), canonical_reference("paris", Mode::Span, None));
        assert_eq!(canonical_answer("", Mode::Span, None), None);
        let err = |p: &str| compile_pattern(p).unwrap_err();
        assert_eq!(err(r"(unclosed"), "unclosed group");
        assert_eq!(err(r"no group"), "needs exactly one capture group (the answer), found 0");
        assert_eq!(err(r"(a)(b)"), "needs exactly one capture group (the answer), found 2");
        assert!(err(r"(?<=x)(y)").contains("look-around"), "{}", err(r"(?<=x)(y)")); // not linear-time
        assert!(err(r"(\w{1000}){1000}").contains("limit"));
        assert!(compile_pattern(r"(?:x)?(\d+)").is_ok());
    }
}
