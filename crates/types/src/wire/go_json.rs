//! JSON bytes exactly as Go's `encoding/json` (`json.Marshal`) writes them.
//!
//! mpcium clients sign the output of `json.Marshal`, so any byte we write
//! differently breaks their signatures. Go's string rules (Go 1.22 and later;
//! mpcium needs a newer toolchain than that):
//!
//! - `"` and `\` become `\"` and `\\`; `/` is left alone.
//! - `\b` `\f` `\n` `\r` `\t` use the short escapes (since Go 1.22; before, `\b`
//!   and `\f` were `\u0008` and `\u000c`).
//! - every other byte below 0x20 is `\u00XX` with lowercase hex; DEL (0x7f) is raw.
//! - `<` `>` `&` become `\u003c` `\u003e` `\u0026` (Marshal's HTML escaping).
//! - U+2028 and U+2029 become `\u2028` and `\u2029`.
//! - everything else, including all other non-ASCII, is written as raw UTF-8.
//!   (Go writes invalid UTF-8 as `\ufffd`; a Rust `&str` cannot hold any.)
//!
//! [`GoObject`] writes the small fixed-order objects that get signed, and never
//! fails. [`to_go_json`] runs any `Serialize` value through the same string
//! rules, so our events are byte-identical to what mpcium's Go code publishes.

use std::io;

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter};

use super::b64;

/// Appends `s` as a quoted JSON string, escaped as Go does.
pub fn push_string(out: &mut String, s: &str) {
    out.push('"');
    push_escaped(out, s);
    out.push('"');
}

/// Appends the contents of a JSON string (no quotes), escaped as Go does.
pub fn push_escaped(out: &mut String, s: &str) {
    // Copy unescaped runs in one go; only the rare escaped char is handled alone.
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if needs_escape(c) {
            out.push_str(&s[start..i]);
            push_char_escape(out, c);
            start = i + c.len_utf8();
        }
    }
    out.push_str(&s[start..]);
}

fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}' | '"' | '\\' | '<' | '>' | '&' | '\u{2028}' | '\u{2029}'
    )
}

/// Writes one character the way Go would, escaped or not.
fn push_char_escape(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if needs_escape(c) => out.push_str(&format!("\\u{:04x}", u32::from(c))),
        c => out.push(c),
    }
}

/// Builder for a compact JSON object with keys in the order they are added,
/// like a Go struct marshalled by `json.Marshal`.
#[derive(Debug)]
pub struct GoObject {
    buf: String,
    empty: bool,
}

impl Default for GoObject {
    fn default() -> Self {
        Self::new()
    }
}

impl GoObject {
    pub fn new() -> Self {
        Self {
            buf: String::from("{"),
            empty: true,
        }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.buf.push(',');
        }
        self.empty = false;
        push_string(&mut self.buf, key);
        self.buf.push(':');
    }

    /// A Go `string` field.
    pub fn string(mut self, key: &str, value: &str) -> Self {
        self.key(key);
        push_string(&mut self.buf, value);
        self
    }

    /// A Go `[]byte` field that is not nil: standard base64 with padding.
    pub fn bytes(mut self, key: &str, value: &[u8]) -> Self {
        self.key(key);
        self.buf.push('"');
        self.buf.push_str(&b64::encode(value));
        self.buf.push('"');
        self
    }

    /// A Go integer field.
    pub fn uint(mut self, key: &str, value: u64) -> Self {
        self.key(key);
        self.buf.push_str(&value.to_string());
        self
    }

    /// A Go `[]string` field that is not nil.
    pub fn strings(mut self, key: &str, values: &[String]) -> Self {
        self.key(key);
        self.buf.push('[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.buf.push(',');
            }
            push_string(&mut self.buf, v);
        }
        self.buf.push(']');
        self
    }

    /// A Go `[]uint32` field that is not nil.
    pub fn uints(mut self, key: &str, values: &[u32]) -> Self {
        self.key(key);
        self.buf.push('[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.buf.push(',');
            }
            self.buf.push_str(&v.to_string());
        }
        self.buf.push(']');
        self
    }

    /// The finished object as bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push('}');
        self.buf.into_bytes()
    }
}

/// Serializes `value` as compact JSON with Go's string escaping.
pub fn to_go_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    value.serialize(&mut ser)?;
    Ok(out)
}

/// serde_json's compact formatter with every string character routed through
/// [`push_escaped`], so the escaping decisions are ours, not serde_json's.
struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut s = String::with_capacity(fragment.len());
        push_escaped(&mut s, fragment);
        writer.write_all(s.as_bytes())
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        let c = match char_escape {
            CharEscape::Quote => '"',
            CharEscape::ReverseSolidus => '\\',
            CharEscape::Solidus => '/',
            CharEscape::Backspace => '\u{8}',
            CharEscape::FormFeed => '\u{c}',
            CharEscape::LineFeed => '\n',
            CharEscape::CarriageReturn => '\r',
            CharEscape::Tab => '\t',
            CharEscape::AsciiControl(b) => char::from(b),
        };
        let mut s = String::new();
        push_char_escape(&mut s, c);
        writer.write_all(s.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        let mut out = String::new();
        push_string(&mut out, s);
        out
    }

    #[test]
    fn every_ascii_byte_matches_go() {
        // Expected forms written out from Go's appendString and htmlSafeSet.
        for b in 0u8..0x80 {
            let got = esc(&char::from(b).to_string());
            let want = match b {
                0x08 => r#""\b""#.to_string(),
                0x0c => r#""\f""#.to_string(),
                b'\n' => r#""\n""#.to_string(),
                b'\r' => r#""\r""#.to_string(),
                b'\t' => r#""\t""#.to_string(),
                b'"' => r#""\"""#.to_string(),
                b'\\' => r#""\\""#.to_string(),
                b'<' => r#""\u003c""#.to_string(),
                b'>' => r#""\u003e""#.to_string(),
                b'&' => r#""\u0026""#.to_string(),
                0..=0x1f => format!("\"\\u00{b:02x}\""),
                _ => format!("\"{}\"", char::from(b)),
            };
            assert_eq!(got, want, "byte {b:#04x}");
        }
    }

    #[test]
    fn line_separators_are_escaped_other_unicode_is_not() {
        assert_eq!(esc("a\u{2028}b\u{2029}c"), r#""a\u2028b\u2029c""#);
        assert_eq!(esc("é€😀\u{85}\u{feff}"), "\"é€😀\u{85}\u{feff}\"");
    }

    #[test]
    fn formatter_agrees_with_push_string() {
        let s = "<a href=\"x\">&\u{1}\u{8}\u{c}/\u{7f}\u{2028}</a>";
        let via_serde = String::from_utf8(to_go_json(s).unwrap()).unwrap();
        assert_eq!(via_serde, esc(s));
    }

    #[test]
    fn object_keeps_order_and_is_compact() {
        let got = GoObject::new()
            .string("b", "x")
            .uint("a", 7)
            .strings("l", &["p".into(), "q".into()])
            .strings("e", &[])
            .bytes("t", b"hi")
            .finish();
        assert_eq!(got, br#"{"b":"x","a":7,"l":["p","q"],"e":[],"t":"aGk="}"#);
        assert_eq!(GoObject::new().finish(), b"{}");
    }
}
