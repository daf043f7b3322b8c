//! A strict JSON reader that keeps the position of every value and key.
//!
//! Why not serde: every rule of a policy carries its origin, the file and
//! line of its `{`, which `fdsup check` prints beside it, `fdsup explain`
//! and the audit log name as the deciding rule, and `explain` reads the
//! rule's `comment` back by; and every refusal, most of them about a value
//! (a bad path, address or variable, two fields that exclude each other),
//! is located at that value. serde gives no position of a value, only
//! the place where its own deserializer failed (measured: the end of the
//! token, and the end of the object for a missing field). It would also
//! need hand-written impls to be as strict: derived structs take a JSON
//! array for a struct and `null` for an optional field. Duplicate fields it
//! does refuse. So a policy is read here into a small tree in which each
//! value and key carries its [`Pos`], and `parse.rs` turns the tree into the
//! typed model by hand.
//!
//! The grammar is RFC 8259 exactly: no comments, no trailing commas, nothing
//! after the top-level value but whitespace; a byte-order mark is skipped.
//! Nesting deeper than [`MAX_DEPTH`] is refused so a hostile file cannot
//! exhaust the stack. Keys are kept as written, repeats included: refusing
//! a repeated key is the policy's rule (`parse.rs`). Lines and columns are
//! 1-based; columns count characters, not bytes.

use std::fmt;

/// Deeper nesting than this is refused; policies nest four levels.
pub const MAX_DEPTH: usize = 128;

/// A position in the source text: 1-based line, 1-based column in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A JSON value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// What the value is.
    pub kind: Kind,
    /// Where its first character is (the `"`, `{`, `[`, digit or letter).
    pub pos: Pos,
}

/// The kinds of JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, kept as written so that `1` and `1.0` stay distinguishable.
    Number(String),
    /// A string, escapes decoded.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, members in source order.
    Object(Vec<Member>),
}

impl Kind {
    /// The kind's name with an article, for "expected X, got Y" messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Number(_) => "a number",
            Kind::String(_) => "a string",
            Kind::Array(_) => "an array",
            Kind::Object(_) => "an object",
        }
    }
}

/// One `"key": value` member of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The decoded key.
    pub key: String,
    /// Where the key's opening quote is.
    pub key_pos: Pos,
    /// The member's value.
    pub value: Value,
}

/// A syntax error with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where the problem is.
    pub pos: Pos,
    /// What is wrong, lower case, no trailing period.
    pub message: String,
}

/// Parses `text` as one JSON value followed only by whitespace.
pub fn parse(text: &str) -> Result<Value, SyntaxError> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        i: 0,
        line: 1,
        col: 1,
    };
    // A byte-order mark is not JSON, but editors on some systems write one.
    if parser.bytes.starts_with("\u{feff}".as_bytes()) {
        parser.i = 3;
    }
    parser.skip_ws();
    let value = parser.value(0)?;
    parser.skip_ws();
    if parser.i < parser.bytes.len() {
        return Err(parser.error("unexpected text after the end of the JSON value"));
    }
    Ok(value)
}

struct Parser<'t> {
    text: &'t str,
    bytes: &'t [u8],
    /// Byte offset of the next unread byte.
    i: usize,
    /// Line and column of the byte at `i`.
    line: u32,
    col: u32,
}

impl Parser<'_> {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    fn error(&self, message: impl Into<String>) -> SyntaxError {
        self.error_at(self.pos(), message)
    }

    fn error_at(&self, pos: Pos, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            pos,
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.i).copied()
    }

    /// Steps over one byte, keeping line and column right: the column
    /// advances at each character's first byte and never at a UTF-8
    /// continuation byte, so it counts characters at every boundary.
    fn bump(&mut self) {
        if let Some(&b) = self.bytes.get(self.i) {
            self.i += 1;
            if b == b'\n' {
                self.line = self.line.saturating_add(1);
                self.col = 1;
            } else if b & 0xC0 != 0x80 {
                self.col = self.col.saturating_add(1);
            }
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.bump();
        }
    }

    /// Describes the character at the current position for messages.
    fn found(&self) -> String {
        match self.text.get(self.i..).and_then(|rest| rest.chars().next()) {
            None => "the end of the file".to_owned(),
            Some(c) => format!("{c:?}"),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let pos = self.pos();
        let kind = match self.peek() {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Kind::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => Kind::Number(self.number()?),
            Some(b't') => self.literal("true", Kind::Bool(true))?,
            Some(b'f') => self.literal("false", Kind::Bool(false))?,
            Some(b'n') => self.literal("null", Kind::Null)?,
            _ => return Err(self.error(format!("expected a JSON value, found {}", self.found()))),
        };
        Ok(Value { kind, pos })
    }

    fn literal(&mut self, word: &str, kind: Kind) -> Result<Kind, SyntaxError> {
        if self.bytes[self.i..].starts_with(word.as_bytes()) {
            for _ in 0..word.len() {
                self.bump();
            }
            Ok(kind)
        } else {
            Err(self.error(format!("expected a JSON value, found {}", self.found())))
        }
    }

    fn object(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
        self.bump(); // '{'
        let mut members: Vec<Member> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.bump();
            return Ok(Kind::Object(members));
        }
        loop {
            self.skip_ws();
            let key_pos = self.pos();
            if self.peek() != Some(b'"') {
                return Err(self.error(format!("expected a key in quotes, found {}", self.found())));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error(format!(
                    "expected ':' after the key, found {}",
                    self.found()
                )));
            }
            self.bump();
            self.skip_ws();
            let value = self.value(depth + 1)?;
            members.push(Member {
                key,
                key_pos,
                value,
            });
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b'}') => {
                    self.bump();
                    return Ok(Kind::Object(members));
                }
                _ => {
                    return Err(self.error(format!(
                        "expected ',' or '}}' after an object member, found {}",
                        self.found()
                    )))
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
        self.bump(); // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.bump();
            return Ok(Kind::Array(items));
        }
        loop {
            self.skip_ws();
            let value = self.value(depth + 1)?;
            items.push(value);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b']') => {
                    self.bump();
                    return Ok(Kind::Array(items));
                }
                _ => {
                    return Err(self.error(format!(
                        "expected ',' or ']' after an array element, found {}",
                        self.found()
                    )))
                }
            }
        }
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos();
        self.bump(); // '"'
        let mut out = String::new();
        loop {
            let run_start = self.i;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.bump();
            }
            // The run ends at an ASCII byte or the end, so it is whole characters.
            out.push_str(self.text.get(run_start..self.i).unwrap_or_default());
            match self.peek() {
                None => return Err(self.error_at(start, "string is not terminated")),
                Some(b'"') => {
                    self.bump();
                    return Ok(out);
                }
                Some(b'\\') => out.push(self.escape()?),
                Some(b) => {
                    return Err(self.error(format!(
                        "control character U+{b:04X} in a string must be escaped"
                    )))
                }
            }
        }
    }

    fn escape(&mut self) -> Result<char, SyntaxError> {
        let pos = self.pos();
        self.bump(); // '\\'
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.bump();
                let hi = self.hex4(pos)?;
                return self.unicode(hi, pos);
            }
            _ => return Err(self.error_at(pos, format!("invalid escape \\{}", self.found()))),
        };
        self.bump();
        Ok(c)
    }

    /// Finishes a `\uXXXX` escape whose value is `hi`, reading the low half
    /// of a surrogate pair if `hi` is a high half.
    fn unicode(&mut self, hi: u32, pos: Pos) -> Result<char, SyntaxError> {
        match hi {
            0xD800..=0xDBFF => {
                if !self.bytes[self.i..].starts_with(b"\\u") {
                    return Err(self.error_at(pos, "unpaired surrogate in \\u escape"));
                }
                self.bump();
                self.bump();
                let lo = self.hex4(pos)?;
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return Err(self.error_at(pos, "unpaired surrogate in \\u escape"));
                }
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                char::from_u32(c).ok_or_else(|| self.error_at(pos, "invalid \\u escape"))
            }
            0xDC00..=0xDFFF => Err(self.error_at(pos, "unpaired surrogate in \\u escape")),
            _ => char::from_u32(hi).ok_or_else(|| self.error_at(pos, "invalid \\u escape")),
        }
    }

    fn hex4(&mut self, pos: Pos) -> Result<u32, SyntaxError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(b @ b'0'..=b'9') => b - b'0',
                Some(b @ b'a'..=b'f') => b - b'a' + 10,
                Some(b @ b'A'..=b'F') => b - b'A' + 10,
                _ => return Err(self.error_at(pos, "\\u must be followed by four hex digits")),
            };
            v = v * 16 + u32::from(d);
            self.bump();
        }
        Ok(v)
    }

    fn number(&mut self) -> Result<String, SyntaxError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.bump();
        }
        match self.peek() {
            Some(b'0') => self.bump(),
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error(format!("expected a digit, found {}", self.found()))),
        }
        if self.peek() == Some(b'.') {
            self.bump();
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(self.error(format!(
                    "expected a digit after '.', found {}",
                    self.found()
                )));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.bump();
            if let Some(b'+' | b'-') = self.peek() {
                self.bump();
            }
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(self.error(format!(
                    "expected a digit in the exponent, found {}",
                    self.found()
                )));
            }
            self.digits();
        }
        Ok(self.text.get(start..self.i).unwrap_or_default().to_owned())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.bump();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> (u32, u32, String) {
        let e = parse(text).unwrap_err();
        (e.pos.line, e.pos.col, e.message)
    }

    fn string(text: &str) -> String {
        match parse(text).unwrap().kind {
            Kind::String(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    #[test]
    fn parses_every_kind() {
        let v = parse(r#" {"a": [1, -2.5e+3, true, false, null, "x", {}, []]} "#).unwrap();
        let Kind::Object(m) = v.kind else { panic!() };
        assert_eq!(m[0].key, "a");
        let Kind::Array(items) = &m[0].value.kind else {
            panic!()
        };
        let kinds: Vec<Kind> = items.iter().map(|v| v.kind.clone()).collect();
        assert_eq!(
            kinds,
            vec![
                Kind::Number("1".into()),
                Kind::Number("-2.5e+3".into()),
                Kind::Bool(true),
                Kind::Bool(false),
                Kind::Null,
                Kind::String("x".into()),
                Kind::Object(vec![]),
                Kind::Array(vec![]),
            ]
        );
    }

    #[test]
    fn decodes_escapes() {
        assert_eq!(string(r#""\"\\\/\b\f\n\r\t""#), "\"\\/\u{8}\u{c}\n\r\t");
        assert_eq!(string(r#""\u0041\u00e9\u20AC""#), "Aé€");
        assert_eq!(string(r#""\ud83d\ude00""#), "😀");
        assert_eq!(string("\"é😀\""), "é😀");
        assert_eq!(string(r#""\u0000""#), "\0");
    }

    #[test]
    fn refuses_bad_strings() {
        assert_eq!(
            err(r#""\ud83d""#),
            (1, 2, "unpaired surrogate in \\u escape".into())
        );
        assert_eq!(
            err(r#""\ud83d\u0041""#).2,
            "unpaired surrogate in \\u escape"
        );
        assert_eq!(err(r#""\ude00""#).2, "unpaired surrogate in \\u escape");
        assert_eq!(
            err(r#""\u12""#).2,
            "\\u must be followed by four hex digits"
        );
        assert_eq!(err(r#""\x""#), (1, 2, "invalid escape \\'x'".into()));
        assert_eq!(
            err("\"a\tb\""),
            (
                1,
                3,
                "control character U+0009 in a string must be escaped".into()
            )
        );
        assert_eq!(err("\n  \"abc"), (2, 3, "string is not terminated".into()));
    }

    #[test]
    fn refuses_bad_numbers() {
        assert_eq!(
            err("01").2,
            "unexpected text after the end of the JSON value"
        );
        assert_eq!(err("-").2, "expected a digit, found the end of the file");
        assert_eq!(
            err("1.").2,
            "expected a digit after '.', found the end of the file"
        );
        assert_eq!(
            err("1e").2,
            "expected a digit in the exponent, found the end of the file"
        );
        assert_eq!(err("+1").2, "expected a JSON value, found '+'");
    }

    #[test]
    fn refuses_bad_structure() {
        assert_eq!(
            err(""),
            (
                1,
                1,
                "expected a JSON value, found the end of the file".into()
            )
        );
        assert_eq!(
            err("{} x"),
            (
                1,
                4,
                "unexpected text after the end of the JSON value".into()
            )
        );
        assert_eq!(
            err("[1,]"),
            (1, 4, "expected a JSON value, found ']'".into())
        );
        assert_eq!(
            err("{\"a\":1,}"),
            (1, 8, "expected a key in quotes, found '}'".into())
        );
        assert_eq!(
            err("{\"a\" 1}"),
            (1, 6, "expected ':' after the key, found '1'".into())
        );
        assert_eq!(
            err("{\"a\":1 \"b\":2}"),
            (
                1,
                8,
                "expected ',' or '}' after an object member, found '\"'".into()
            )
        );
        assert_eq!(
            err("[1 2]"),
            (
                1,
                4,
                "expected ',' or ']' after an array element, found '2'".into()
            )
        );
        assert_eq!(
            err("tru"),
            (1, 1, "expected a JSON value, found 't'".into())
        );
        assert_eq!(err("// c\n{}").2, "expected a JSON value, found '/'");
        let deep = "[".repeat(MAX_DEPTH + 2);
        assert!(err(&deep).2.starts_with("nesting deeper than"));
    }

    #[test]
    fn keeps_repeated_keys() {
        let v = parse("{\"x\":1,\"\\u0078\":2}").unwrap();
        let Kind::Object(m) = v.kind else { panic!() };
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].key.as_str(), m[1].key.as_str()), ("x", "x"));
        assert_eq!(m[1].key_pos, Pos { line: 1, col: 8 });
    }

    #[test]
    fn positions_count_characters() {
        let v = parse("{\n  \"é😀\": \"ü\", \"k\":\r\n\t[true]}").unwrap();
        let Kind::Object(m) = v.kind else { panic!() };
        assert_eq!(v.pos, Pos { line: 1, col: 1 });
        assert_eq!(m[0].key_pos, Pos { line: 2, col: 3 });
        assert_eq!(m[0].value.pos, Pos { line: 2, col: 9 });
        assert_eq!(m[1].key_pos, Pos { line: 2, col: 14 });
        assert_eq!(m[1].value.pos, Pos { line: 3, col: 2 });
        let Kind::Array(a) = &m[1].value.kind else {
            panic!()
        };
        assert_eq!(a[0].pos, Pos { line: 3, col: 3 });
    }

    #[test]
    fn skips_a_byte_order_mark() {
        let v = parse("\u{feff}{}").unwrap();
        assert_eq!(v.kind, Kind::Object(vec![]));
        assert_eq!(v.pos, Pos { line: 1, col: 1 });
    }
}
