//! A JSON reader that accepts exactly what Python's `json.loads(str)` accepts (strict mode):
//! `NaN`, `Infinity` and `-Infinity` are numbers, a repeated key keeps its last value, control
//! characters inside strings are errors, whitespace is `[ \t\n\r]`, a leading BOM is an error.
//! Where Python's result would depend on more than the grammar (a lone surrogate escape, an
//! integer past Python's 4300-digit limit, nesting deep enough to reach its recursion limit) the
//! reader says `Unsupported` and the caller runs the Python implementation instead.

/// A decoded value; numbers keep no value (parse only asks whether a value is a string).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool,
    Number,
    Str(String),
    Array(Vec<Value>),
    /// Members in document order, repeated keys included (`get` finds the last).
    Object(Vec<(String, Value)>),
}

impl Value {
    /// `dict.get(key)`: the last member named `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Python raises JSONDecodeError (or RecursionError).
    Invalid,
    /// Python's behaviour is not reproduced here: use the Python implementation.
    Unsupported,
}

/// Deeper than this, Python may hit its recursion limit (about 1000 frames, less what the caller
/// uses): leave the decision to Python.
const MAX_DEPTH: usize = 100;
/// CPython refuses to convert integer literals longer than 4300 digits (ValueError).
const MAX_INT_DIGITS: usize = 4000;

pub fn loads(text: &str) -> Result<Value, Failure> {
    let mut p = Reader { s: text.as_bytes(), i: 0, text, python_only: false };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(Failure::Invalid);
    }
    // Only a document Python decodes too is left to it: a malformed one is Invalid either way.
    if p.python_only {
        return Err(Failure::Unsupported);
    }
    Ok(v)
}

struct Reader<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
    /// A lone surrogate escape or an over-long integer was read: valid JSON to Python, but its
    /// value (a str Rust cannot hold, a ValueError) is Python's to produce.
    python_only: bool,
}

impl Reader<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, Failure> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(Failure::Invalid)
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, Failure> {
        match self.peek().ok_or(Failure::Invalid)? {
            b'"' => Ok(Value::Str(self.string()?)),
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'n' => self.literal("null", Value::Null),
            b't' => self.literal("true", Value::Bool),
            b'f' => self.literal("false", Value::Bool),
            b'N' => self.literal("NaN", Value::Number),
            b'I' => self.literal("Infinity", Value::Number),
            b'-' if self.s[self.i..].starts_with(b"-Infinity") => self.literal("-Infinity", Value::Number),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(Failure::Invalid),
        }
    }

    /// `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`, the longest match (what follows is the caller's).
    fn number(&mut self) -> Result<Value, Failure> {
        let s = self.s;
        let mut i = self.i;
        if s[i] == b'-' {
            i += 1;
        }
        let int_start = i;
        match s.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while i < s.len() && s[i].is_ascii_digit() {
                    i += 1;
                }
            }
            _ => return Err(Failure::Invalid),
        }
        let int_digits = i - int_start;
        let mut is_int = true;
        if s.get(i) == Some(&b'.') && s.get(i + 1).is_some_and(u8::is_ascii_digit) {
            is_int = false;
            i += 1;
            while i < s.len() && s[i].is_ascii_digit() {
                i += 1;
            }
        }
        if matches!(s.get(i), Some(b'e' | b'E')) {
            let mut j = i + 1;
            if matches!(s.get(j), Some(b'+' | b'-')) {
                j += 1;
            }
            if s.get(j).is_some_and(u8::is_ascii_digit) {
                is_int = false;
                while j < s.len() && s[j].is_ascii_digit() {
                    j += 1;
                }
                i = j;
            }
        }
        if is_int && int_digits > MAX_INT_DIGITS {
            self.python_only = true;
        }
        self.i = i;
        Ok(Value::Number)
    }

    fn string(&mut self) -> Result<String, Failure> {
        self.i += 1; // the opening quote
        let mut out = String::new();
        loop {
            // The run up to the next quote, backslash or control character, copied whole.
            let start = self.i;
            while self.i < self.s.len() && !matches!(self.s[self.i], b'"' | b'\\' | 0x00..=0x1f) {
                self.i += 1;
            }
            out.push_str(&self.text[start..self.i]);
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let esc = *self.s.get(self.i + 1).ok_or(Failure::Invalid)?;
                    self.i += 2;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let cp = if (0xd800..0xdc00).contains(&hi) {
                                // A pair only when a low surrogate escape follows at once.
                                if self.s[self.i..].starts_with(b"\\u") {
                                    let save = self.i;
                                    self.i += 2;
                                    let lo = self.hex4()?;
                                    if (0xdc00..0xe000).contains(&lo) {
                                        0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                                    } else {
                                        self.i = save; // a lone high surrogate, then another escape
                                        self.python_only = true;
                                        0xfffd
                                    }
                                } else {
                                    self.python_only = true; // a lone high surrogate
                                    0xfffd
                                }
                            } else if (0xdc00..0xe000).contains(&hi) {
                                self.python_only = true; // a lone low surrogate
                                0xfffd
                            } else {
                                hi
                            };
                            out.push(char::from_u32(cp).ok_or(Failure::Invalid)?);
                        }
                        _ => return Err(Failure::Invalid),
                    }
                }
                _ => return Err(Failure::Invalid), // end of text, or a control character
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, Failure> {
        let digits = self.s.get(self.i..self.i + 4).ok_or(Failure::Invalid)?;
        let mut v = 0u32;
        for &d in digits {
            v = v * 16 + (d as char).to_digit(16).ok_or(Failure::Invalid)?;
        }
        self.i += 4;
        Ok(v)
    }

    fn array(&mut self, depth: usize) -> Result<Value, Failure> {
        if depth > MAX_DEPTH {
            return Err(Failure::Unsupported);
        }
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth)?);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(Failure::Invalid),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, Failure> {
        if depth > MAX_DEPTH {
            return Err(Failure::Unsupported);
        }
        self.i += 1;
        let mut members = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(Failure::Invalid);
            }
            let key = self.string()?;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(Failure::Invalid);
            }
            self.i += 1;
            self.ws();
            let v = self.value(depth)?;
            members.push((key, v));
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Object(members));
                }
                _ => return Err(Failure::Invalid),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Value {
        loads(s).unwrap_or_else(|e| panic!("{s:?}: {e:?}"))
    }

    #[test]
    fn accepts_what_python_accepts() {
        assert_eq!(ok(" {\"a\": [1, -2.5e3, NaN, -Infinity, Infinity, true, false, null]} \n"), {
            let n = Value::Number;
            Value::Object(vec![(
                "a".into(),
                Value::Array(vec![
                    n.clone(),
                    n.clone(),
                    n.clone(),
                    n.clone(),
                    n,
                    Value::Bool,
                    Value::Bool,
                    Value::Null,
                ]),
            )])
        });
        assert_eq!(ok("\"\\ud83d\\ude00 \\u00e9\\/\""), Value::Str("😀 é/".into()));
        assert_eq!(ok("{\"k\": 1, \"k\": \"last\"}").get("k"), Some(&Value::Str("last".into())));
        assert_eq!(ok("[]"), Value::Array(vec![]));
        assert_eq!(ok("{}"), Value::Object(vec![]));
    }

    #[test]
    fn refuses_what_python_refuses() {
        for s in [
            "",
            " ",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "1.",
            "1e",
            "-",
            "+1",
            "\"a\nb\"",
            "\"\\x\"",
            "\"\\u12\"",
            "{'a': 1}",
            "[1] x",
            "\u{feff}{}",
            "nul",
            "{1: 2}",
            "\"abc",
            "[1 2]",
            ".5",
            "--1",
        ] {
            assert_eq!(loads(s), Err(Failure::Invalid), "{s:?}");
        }
    }

    #[test]
    fn leaves_python_specific_cases_to_python() {
        assert_eq!(loads("\"\\ud800\""), Err(Failure::Unsupported));
        assert_eq!(loads("\"\\udc00x\""), Err(Failure::Unsupported));
        assert_eq!(loads(&"[".repeat(200)), Err(Failure::Unsupported));
        assert_eq!(loads(&"9".repeat(5000)), Err(Failure::Unsupported));
        assert_eq!(loads(&format!("{}.5", "9".repeat(5000))), Ok(Value::Number));
        // malformed anyway: Invalid, as Python says
        assert_eq!(loads("\"\\ud83d"), Err(Failure::Invalid));
        assert_eq!(loads("[\"\\udc00\", ]"), Err(Failure::Invalid));
        assert_eq!(loads(&format!("[{}", "9".repeat(5000))), Err(Failure::Invalid));
    }
}
