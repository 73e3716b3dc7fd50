//! CPython's `str` semantics that parse's messages and checks depend on, exactly: `strip()`,
//! `casefold()`, `repr()`, `len()` (code points), slicing by code points, and `upper()` of one
//! character. The Unicode facts come from CPython's own database (`parse_pystr_tables.rs`,
//! generated), so a rejection reads the same as the Python implementation's, byte for byte.

use std::borrow::Cow;

use crate::parse_pystr_tables::{CASEFOLD, SPACE, UNPRINTABLE, UPPER_LETTER};

/// `str.isspace()` of one character.
pub fn is_space(c: char) -> bool {
    let cp = c as u32;
    if cp < 0x80 {
        return matches!(cp, 0x09..=0x0d | 0x1c..=0x20);
    }
    SPACE.binary_search(&cp).is_ok()
}

/// `str.strip()`.
pub fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// `len(s)`: code points.
pub fn len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// `s[:n]`.
pub fn head(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s; // n bytes hold at least n code points
    }
    match s.char_indices().nth(n) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

/// `s.casefold()`.
pub fn casefold(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Cow::Owned(s.to_ascii_lowercase());
        }
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match CASEFOLD.binary_search_by_key(&(c as u32), |&(cp, _)| cp) {
            Ok(i) => out.push_str(CASEFOLD[i].1),
            Err(_) => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The ASCII capital `s.upper()` is, when it is exactly one (`"b"`, `"ſ"` → `S`), else None.
pub fn upper_letter(s: &str) -> Option<u8> {
    let mut chars = s.chars();
    let c = chars.next()?;
    if chars.next().is_some() {
        return None; // upper() never shortens a string
    }
    UPPER_LETTER.binary_search_by_key(&(c as u32), |&(cp, _)| cp).ok().map(|i| UPPER_LETTER[i].1)
}

fn printable(c: char) -> bool {
    let cp = c as u32;
    let i = UNPRINTABLE.partition_point(|&(a, _)| a <= cp);
    !(i > 0 && cp <= UNPRINTABLE[i - 1].1)
}

/// `repr(s)`, appended to `out`.
pub fn push_repr(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_ascii() || printable(c) => out.push(c),
            c if (c as u32) <= 0xff => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
}

/// `repr(s)`.
pub fn repr(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_repr(&mut out, s);
    out
}

/// `repr(list_of_str)`.
pub fn repr_list<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = String::from("[");
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_repr(&mut out, s.as_ref());
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_uses_python_whitespace() {
        assert_eq!(strip("\x1c a b\u{3000}\u{85}"), "a b");
        assert_eq!(strip("\u{200b}x"), "\u{200b}x"); // zero width space is not whitespace
        assert_eq!(strip(" \t\n"), "");
    }

    #[test]
    fn casefold_is_full_folding() {
        assert_eq!(casefold("Straße"), "strasse");
        assert_eq!(casefold("ABC"), "abc");
        assert_eq!(casefold("ﬁ"), "fi");
        assert!(matches!(casefold("abc"), Cow::Borrowed(_)));
    }

    #[test]
    fn upper_letter_only_single_characters() {
        assert_eq!(upper_letter("b"), Some(b'B'));
        assert_eq!(upper_letter("ı"), Some(b'I'));
        assert_eq!(upper_letter("ſ"), Some(b'S'));
        assert_eq!(upper_letter("ß"), None);
        assert_eq!(upper_letter("ab"), None);
        assert_eq!(upper_letter(""), None);
    }

    #[test]
    fn repr_matches_python() {
        assert_eq!(repr("it's"), "\"it's\"");
        assert_eq!(repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(repr("tab\there\\\n"), "'tab\\there\\\\\\n'");
        assert_eq!(repr("\x00\x7f\u{a0}é\u{200b}😀\u{e000}"), "'\\x00\\x7f\\xa0é\\u200b😀\\ue000'");
        assert_eq!(repr("\u{10ffff}"), "'\\U0010ffff'");
        assert_eq!(repr_list(&["a", "b"]), "['a', 'b']");
        assert_eq!(repr_list::<&str>(&[]), "[]");
    }

    #[test]
    fn head_and_len_count_code_points() {
        assert_eq!(len("héllo"), 5);
        assert_eq!(head("héllo", 2), "hé");
        assert_eq!(head("abc", 10), "abc");
    }
}

/// `json.dumps(s, ensure_ascii=False)`, appended to `out`: quotes, backslashes and control
/// characters escaped (`\n`-style where JSON has one, else `\u00XX`), everything else as is.
pub fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// `json.dumps(x)` of a float: `repr(x)` (shortest round-trip digits, fixed notation for
/// exponents -4 ≤ e < 16, else `1e+16` style), or `NaN` / `Infinity` / `-Infinity`.
pub fn push_json_float(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("NaN");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    // The shortest digit count that reads back as x ("-1.2345e-7": 5), then the x rounded
    // correctly (ties to even) to that many digits: of two equally short strings, Python's repr
    // takes the nearer one, where the shortest formatter may take either.
    // Next to a power of two the round-trip interval is lopsided (the gap below is half the gap
    // above), so the nearest n-digit decimal may fall outside it: then the shortest formatter's
    // own digits are the only n-digit string that reads back, and the one repr writes.
    let shortest = format!("{x:e}");
    let n = shortest.split_once('e').map_or(1, |(m, _)| m.bytes().filter(u8::is_ascii_digit).count());
    let rounded = format!("{:.*e}", n - 1, x);
    let sci = if rounded.parse::<f64>().ok() == Some(x) { rounded } else { shortest };
    let (mantissa, exp) = sci.split_once('e').expect("{:e} always writes an exponent");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let (sign, mantissa) = mantissa.strip_prefix('-').map_or(("", mantissa), |m| ("-", m));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let n = digits.len() as i32;
    let decpt = exp + 1;
    out.push_str(sign);
    if decpt <= -4 || decpt > 16 {
        out.push_str(&digits[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        out.push_str(&format!("e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs()));
    } else if decpt <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-decpt) as usize));
        out.push_str(&digits);
    } else if decpt < n {
        out.push_str(&digits[..decpt as usize]);
        out.push('.');
        out.push_str(&digits[decpt as usize..]);
    } else {
        out.push_str(&digits);
        out.push_str(&"0".repeat((decpt - n) as usize));
        out.push_str(".0");
    }
}

#[cfg(test)]
mod json_tests {
    use super::*;

    fn float(x: f64) -> String {
        let mut s = String::new();
        push_json_float(&mut s, x);
        s
    }

    #[test]
    fn floats_read_as_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123.456, "123.456"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (-2.5e300, "-2.5e+300"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::from(0.1_f32), "0.10000000149011612"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (f64::from(-542.723_45_f32), "-542.7234497070312"), // a tie: the even digit
            (5e-324, "5e-324"),
            (2f64.powi(-24), "5.960464477539063e-08"), // powers of two: lopsided round-trip intervals
            (2f64.powi(-1017), "7.120236347223045e-307"),
            (2f64.powi(-791), "7.678447687145631e-239"),
        ];
        for (x, want) in cases {
            assert_eq!(float(x), want, "{x}");
        }
    }

    #[test]
    fn strings_escape_as_python_json() {
        let mut s = String::new();
        push_json_str(&mut s, "a\"b\\c\nd\x01\x7fé😀\u{8}\u{c}\t\r");
        assert_eq!(s, "\"a\\\"b\\\\c\\nd\\u0001\x7fé😀\\b\\f\\t\\r\"");
    }
}
