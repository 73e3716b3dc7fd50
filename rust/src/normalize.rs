//! Text normaliser shared by near-dup, exact dedup and contamination.
//!
//! Steps:
//! 1. ASCII fast path (most Q&A text): one table lookup per byte lowercases letters, keeps digits
//!    and maps everything else to a word break.
//! 2. Otherwise Unicode NFKC (UAX #15) folds compatibility forms (full-width digits, ligatures,
//!    superscripts), then each char is lowercased; letters, marks and digits are kept and all
//!    other chars (punctuation, symbols, spaces) become word breaks.
//! 3. Digits are kept by default (math Q&A differs by numbers only); `keep_digits = false` turns
//!    them into word breaks too.
//!
//! The output is the words joined by single spaces, with no leading or trailing space, so word
//! shingles split on b' ' and the exact hash of two texts differing only in punctuation or
//! spacing is equal.

use unicode_normalization::UnicodeNormalization;

/// Normaliser settings; they are part of every persisted index header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NormalizeOptions {
    pub keep_digits: bool,
}

impl Default for NormalizeOptions {
    fn default() -> Self {
        NormalizeOptions { keep_digits: true }
    }
}

/// Byte classes of the ASCII fast path: 0 = word break, otherwise the lowercased byte.
const fn ascii_table(keep_digits: bool) -> [u8; 128] {
    let mut t = [0u8; 128];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        t[c] = if b.is_ascii_lowercase() || (keep_digits && b.is_ascii_digit()) {
            b
        } else if b.is_ascii_uppercase() {
            b + 32
        } else {
            0
        };
        c += 1;
    }
    t
}

static ASCII_KEEP: [u8; 128] = ascii_table(true);
static ASCII_DROP: [u8; 128] = ascii_table(false);

/// Writes the normal form of `text` into `out` (cleared first); reuse `out` across records.
pub fn normalize_into(text: &str, opts: NormalizeOptions, out: &mut String) {
    out.clear();
    if text.is_ascii() {
        ascii_into(text.as_bytes(), opts, out);
    } else {
        unicode_into(text, opts, out);
    }
}

/// Like `normalize_into`, and also writes the end offset of every word into `ends`, so word
/// shingling needs no second scan for spaces.
pub fn normalize_words_into(text: &str, opts: NormalizeOptions, out: &mut String, ends: &mut Vec<u32>) {
    out.clear();
    ends.clear();
    if text.is_ascii() {
        ascii_words_into(text.as_bytes(), opts, out, ends);
    } else {
        unicode_into(text, opts, out);
        ends.extend(out.bytes().enumerate().filter(|&(_, b)| b == b' ').map(|(i, _)| i as u32));
        if !out.is_empty() {
            ends.push(out.len() as u32);
        }
    }
}

/// Convenience for tests and one-off calls.
pub fn normalize(text: &str, opts: NormalizeOptions) -> String {
    let mut out = String::with_capacity(text.len());
    normalize_into(text, opts, &mut out);
    out
}

fn ascii_into(bytes: &[u8], opts: NormalizeOptions, out: &mut String) {
    ascii_impl::<false>(bytes, opts, out, &mut Vec::new());
}

fn ascii_words_into(bytes: &[u8], opts: NormalizeOptions, out: &mut String, ends: &mut Vec<u32>) {
    ascii_impl::<true>(bytes, opts, out, ends);
}

/// The ASCII fast path; `ENDS` also records word end offsets.
fn ascii_impl<const ENDS: bool>(bytes: &[u8], opts: NormalizeOptions, out: &mut String, ends: &mut Vec<u32>) {
    let table = if opts.keep_digits { &ASCII_KEEP } else { &ASCII_DROP };
    // Branch-free: every byte writes its mapped value (a break writes b' ') and the cursor only
    // advances past a break when the previous byte was part of a word, which collapses runs; the
    // same condition records the word's end offset.
    let mut buf = std::mem::take(out).into_bytes();
    buf.clear();
    buf.resize(bytes.len() + 1, 0);
    ends.clear();
    if ENDS {
        ends.resize(bytes.len() / 2 + 2, 0);
    }
    let (mut o, mut nw) = (0usize, 0usize);
    let mut in_word = false;
    for &b in bytes {
        let m = table[b as usize & 0x7F];
        let keep = m != 0;
        buf[o] = if keep { m } else { b' ' };
        if ENDS {
            ends[nw] = o as u32;
            nw += usize::from(!keep & in_word);
        }
        o += usize::from(keep | in_word);
        in_word = keep;
    }
    if in_word {
        if ENDS {
            ends[nw] = o as u32;
            nw += 1;
        }
    } else {
        // The trailing break advanced the cursor past one space (none when the text was empty).
        o = o.saturating_sub(1);
    }
    buf.truncate(o);
    if ENDS {
        ends.truncate(nw);
    }
    // Only ASCII bytes were written, so `from_utf8` cannot fail; on ASCII it is a fast check and
    // keeps this path free of `unsafe`.
    *out = String::from_utf8(buf).unwrap_or_default();
}

fn unicode_into(text: &str, opts: NormalizeOptions, out: &mut String) {
    let mut pending_space = false;
    for c in text.nfkc() {
        let keep = if c.is_numeric() { opts.keep_digits } else { c.is_alphanumeric() || is_mark(c) };
        if !keep {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        if c.is_uppercase() {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
}

/// Combining marks belong to the word they decorate (Devanagari vowel signs, Hebrew points …).
fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05C7 | 0x0610..=0x061A
        | 0x064B..=0x065F | 0x0900..=0x0903 | 0x093A..=0x094F | 0x0981..=0x0983 | 0x09BC..=0x09CD
        | 0x0E31..=0x0E3A | 0x0E47..=0x0E4E | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF
        | 0xFE20..=0xFE2F)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP: NormalizeOptions = NormalizeOptions { keep_digits: true };
    const DROP: NormalizeOptions = NormalizeOptions { keep_digits: false };

    #[test]
    fn ascii_lowercases_and_breaks_on_punctuation() {
        assert_eq!(normalize("  Hello, World!! It's 42.  ", KEEP), "hello world it s 42");
        assert_eq!(normalize("Q: 3+4=?", DROP), "q");
        assert_eq!(normalize("", KEEP), "");
        assert_eq!(normalize("?!.", KEEP), "");
    }

    #[test]
    fn unicode_path_applies_nfkc_and_lowercase() {
        // Full-width letters and digits fold to ASCII; the ligature "ﬁ" becomes "fi".
        assert_eq!(normalize("ＡＢＣ １２ ﬁne", KEEP), "abc 12 fine");
        assert_eq!(normalize("Straße — Ünïcode…", KEEP), "straße ünïcode");
        assert_eq!(normalize("x² + ½", KEEP), "x2 1 2");
        assert_eq!(normalize("数学 问题", KEEP), "数学 问题");
    }

    #[test]
    fn word_ends_match_spaces() {
        for text in ["  Hello, World!! It's 42.  ", "a", "", "!!", "x y", "Ünï code, ok"] {
            let (mut out, mut ends) = (String::new(), Vec::new());
            normalize_words_into(text, KEEP, &mut out, &mut ends);
            assert_eq!(out, normalize(text, KEEP));
            let want: Vec<u32> = out
                .split(' ')
                .scan(0u32, |pos, w| {
                    *pos += w.len() as u32 + 1;
                    Some(*pos - 1)
                })
                .filter(|_| !out.is_empty())
                .collect();
            assert_eq!(ends, want, "{text:?}");
        }
    }

    #[test]
    fn ascii_and_unicode_paths_agree_on_ascii_content() {
        let s = "The Answer IS (B): 12,345 apples.";
        let with_unicode = format!("{s} é");
        let a = normalize(s, KEEP);
        let b = normalize(&with_unicode, KEEP);
        assert_eq!(format!("{a} é"), b);
    }
}
