//! The packaged text of a question (what decontamination searches, package writes and blend
//! counts): context, question, lettered options, the enrichment without its closing "final
//! answer" line, and the answer. Byte for byte the text of `tsqa.stages.packaged_text.render_text`
//! (the Python oracle the tests compare with), so Python's notions are spelled out here:
//! `str.strip()`/`\s` whitespace and the case-insensitive letters of `re.IGNORECASE`.

use crate::error::{Error, Result};

/// Option letters: the Python renderer indexes `string.ascii_uppercase`, so 26 options at most.
const LETTERS: &[u8; 26] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Python's `str.isspace()` (also what `\s` matches in a `str` pattern): Unicode White_Space plus
/// the information separators U+001C..U+001F, which Rust's `char::is_whitespace` leaves out.
#[inline]
pub fn is_py_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n'
            | '\u{0b}'
            | '\u{0c}'
            | '\r'
            | '\u{1c}'..='\u{1f}'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Python's `str.strip()`.
#[inline]
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Case-insensitive letters as Python's `re.IGNORECASE` matches them: each letter's two ASCII
/// cases, plus İ/ı for `i` and ſ (long s) for `s`.
fn letter_at(s: &str, at: usize, letter: u8) -> Option<usize> {
    let c = s[at..].chars().next()?;
    let ok = match letter {
        b'i' => matches!(c, 'i' | 'I' | '\u{130}' | '\u{131}'),
        b's' => matches!(c, 's' | 'S' | '\u{17f}'),
        _ => c.is_ascii() && (c as u8).eq_ignore_ascii_case(&letter),
    };
    ok.then(|| at + c.len_utf8())
}

/// The end of `word` (lowercase ASCII) matched at `at`, if it is there.
fn word_at(s: &str, mut at: usize, word: &[u8]) -> Option<usize> {
    for &letter in word {
        at = letter_at(s, at, letter)?;
    }
    Some(at)
}

/// The end of the run of whitespace starting at `at`.
fn skip_space(s: &str, at: usize) -> usize {
    s[at..].find(|c: char| !is_py_space(c)).map_or(s.len(), |k| at + k)
}

/// Whether `\s*:?[^\n]*\s*$` matches `s[at..]`, `s` being stripped (its last character is not
/// whitespace, so `$` is the end and the last `\s*` is empty): every newline after `at` must lie
/// in the leading whitespace.
fn tail_ok(s: &str, at: usize) -> bool {
    !s[skip_space(s, at)..].contains('\n')
}

/// Whether `final\s+answer(?:\s+is)?\s*:?[^\n]*\s*$` matches at `start`, where `final` matched
/// and ends at `after_final`.
fn final_answer_tail(s: &str, after_final: usize) -> bool {
    let at = skip_space(s, after_final);
    if at == after_final {
        return false; // `\s+`
    }
    let Some(after_answer) = word_at(s, at, b"answer") else { return false };
    let is_at = skip_space(s, after_answer);
    let with_is = is_at > after_answer && word_at(s, is_at, b"is").is_some_and(|end| tail_ok(s, end));
    with_is || tail_ok(s, after_answer)
}

/// `_strip_final_line`: the stripped text without a closing "(the) final answer (is): …" line,
/// i.e. `_FINAL_TAIL.sub("", text.strip()).strip()` with
/// `_FINAL_TAIL = (?:the\s+)?final\s+answer(?:\s+is)?\s*:?[^\n]*\s*$` (IGNORECASE). The leftmost
/// "final" where the pattern matches decides; the "the" before it (and its spaces) goes too.
pub fn strip_final_line(text: &str) -> &str {
    let s = py_strip(text);
    let mut from = 0;
    while from < s.len() {
        // Every candidate starts with f/F (ASCII): find them bytewise.
        let Some(k) = s.as_bytes()[from..].iter().position(|b| b | 0x20 == b'f') else { break };
        let start = from + k;
        from = start + 1;
        let Some(after_final) = word_at(s, start, b"final") else { continue };
        if !final_answer_tail(s, after_final) {
            continue;
        }
        let space = s[..start].trim_end_matches(is_py_space).len();
        let the = space < start && space >= 3 && s.as_bytes()[space - 3..space].eq_ignore_ascii_case(b"the");
        return py_strip(&s[..if the { space - 3 } else { start }]);
    }
    s
}

/// One row's fields; `None` is a null. `options` yields each option (a null item renders as
/// Python's `f"{None}"`, "None").
pub struct Row<'a, O: ExactSizeIterator<Item = Option<&'a str>>> {
    pub context: Option<&'a str>,
    pub question: Option<&'a str>,
    pub options: Option<O>,
    pub enrichment: Option<&'a str>,
    pub answer: Option<&'a str>,
}

/// Appends the packaged text of `row` (row number `index`, for errors) to `out`.
pub fn render_into<'a, O: ExactSizeIterator<Item = Option<&'a str>>>(
    out: &mut String,
    index: usize,
    row: Row<'a, O>,
) -> Result<()> {
    let question = row.question.ok_or_else(|| Error::Null { column: "question".into(), row: index })?;
    let answer = row.answer.ok_or_else(|| Error::Null { column: "answer_text".into(), row: index })?;
    if let Some(context) = row.context.filter(|c| !c.is_empty()) {
        out.push_str(py_strip(context));
        out.push_str("\n\n");
    }
    out.push_str("Question: ");
    out.push_str(py_strip(question));
    if let Some(options) = row.options.filter(|o| o.len() > 0) {
        if options.len() > LETTERS.len() {
            return Err(Error::Input(format!(
                "row {index}: {} options; the packaged text letters at most {} (A-Z)",
                options.len(),
                LETTERS.len()
            )));
        }
        for (i, option) in options.enumerate() {
            out.push_str(if i == 0 { "\n\n" } else { "\n" });
            out.push(LETTERS[i] as char);
            out.push_str(". ");
            out.push_str(option.unwrap_or("None"));
        }
    }
    let body = strip_final_line(row.enrichment.unwrap_or(""));
    if !body.is_empty() {
        out.push_str("\n\n");
        out.push_str(body);
    }
    out.push_str("\n\nAnswer: ");
    out.push_str(py_strip(answer));
    Ok(())
}

/// The packaged text of one row, as a new string.
pub fn render<'a, O: ExactSizeIterator<Item = Option<&'a str>>>(row: Row<'a, O>) -> Result<String> {
    let mut out = String::new();
    render_into(&mut out, 0, row)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(context: Option<&str>, question: &str, options: &[&str], enrichment: Option<&str>, answer: &str) -> String {
        render(Row {
            context,
            question: Some(question),
            options: Some(options.iter().map(|o| Some(*o))),
            enrichment,
            answer: Some(answer),
        })
        .unwrap()
    }

    #[test]
    fn renders_every_part_in_order() {
        assert_eq!(
            text(Some("  A passage. "), " Which? ", &["x", " y "], Some("Because.\nThe final answer is: B"), " y\n"),
            "A passage.\n\nQuestion: Which?\n\nA. x\nB.  y \n\nBecause.\n\nAnswer: y"
        );
        assert_eq!(text(None, "Q", &[], None, "a"), "Question: Q\n\nAnswer: a");
        // An empty context is left out; a blank one is kept, stripped to "" (as Python does).
        assert_eq!(text(Some(""), "Q", &[], Some(""), "a"), "Question: Q\n\nAnswer: a");
        assert_eq!(text(Some(" \t"), "Q", &[], None, "a"), "\n\nQuestion: Q\n\nAnswer: a");
    }

    #[test]
    fn null_option_items_and_limits() {
        let row = Row {
            context: None,
            question: Some("Q"),
            options: Some([Some("x"), None].into_iter()),
            enrichment: None,
            answer: Some("a"),
        };
        assert_eq!(render(row).unwrap(), "Question: Q\n\nA. x\nB. None\n\nAnswer: a");
        let many: Vec<&str> = vec!["o"; 27];
        let row = Row {
            context: None,
            question: Some("Q"),
            options: Some(many.iter().map(|o| Some(*o))),
            enrichment: None,
            answer: Some("a"),
        };
        assert!(matches!(render(row), Err(Error::Input(_))));
        let row = Row::<std::iter::Empty<Option<&str>>> {
            context: None,
            question: Some("Q"),
            options: None,
            enrichment: None,
            answer: None,
        };
        assert!(matches!(render(row), Err(Error::Null { row: 0, .. })));
    }

    #[test]
    fn python_whitespace() {
        assert!(is_py_space('\u{1c}') && is_py_space('\u{3000}') && is_py_space('\u{85}'));
        assert!(!is_py_space('\u{200b}') && !is_py_space('\u{180e}') && !is_py_space('x'));
        assert_eq!(py_strip("\u{1f} x \u{2029}"), "x");
    }

    #[test]
    fn final_answer_lines() {
        let cases = [
            ("Because x.\nThe final answer is: B", "Because x."),
            ("Because x. the  final answer: (B) oxygen", "Because x."),
            ("thefinal answer: B", "the"),
            ("final answer", ""),
            ("final answer\nmore", ""),
            ("final answer: A\nmore", "final answer: A\nmore"),
            ("final answer\n\nB", ""),
            ("final answer is\nB", ""),
            ("final answeris\nB", "final answeris\nB"),
            ("x FİNAL ANſWER: B", "x"),
            ("x fınal answer İſ\n B", "x"),
            ("final answer: A\nfinal answer: B", "final answer: A"),
            ("no marker here", "no marker here"),
            ("finalanswer: B", "finalanswer: B"),
            ("  ", ""),
        ];
        for (given, want) in cases {
            assert_eq!(strip_final_line(given), want, "{given:?}");
        }
    }
}
