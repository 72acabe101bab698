//! A small JSON writer for output that holds secrets: built in a zeroized buffer, unlike
//! `serde_json::Value`, whose strings are freed without being wiped.

use std::fmt::Write as _;
use zeroize::Zeroizing;

/// Builds one JSON object.
#[derive(Debug)]
pub struct Object {
    text: Zeroizing<String>,
    first: bool,
}

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Object {
            text: Zeroizing::new(String::from("{")),
            first: true,
        }
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.text.push(',');
        }
        self.first = false;
        push_string(&mut self.text, key);
        self.text.push(':');
    }

    /// Adds a string member.
    pub fn string(mut self, key: &str, value: &str) -> Self {
        self.key(key);
        push_string(&mut self.text, value);
        self
    }

    /// Adds a number member.
    pub fn number(mut self, key: &str, value: u64) -> Self {
        self.key(key);
        let _ = write!(self.text, "{value}");
        self
    }

    /// Adds an array-of-strings member.
    pub fn strings<S: AsRef<str>>(mut self, key: &str, values: &[S]) -> Self {
        self.key(key);
        self.text.push('[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.text.push(',');
            }
            push_string(&mut self.text, v.as_ref());
        }
        self.text.push(']');
        self
    }

    /// The finished object text.
    pub fn finish(mut self) -> Zeroizing<String> {
        self.text.push('}');
        self.text
    }
}

/// Appends `s` as a JSON string literal.
fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_valid_json() {
        let text = Object::new()
            .string("a", "x\"y\\z\n\u{1}é")
            .strings("codes", &["1", "2"])
            .strings("none", &[] as &[&str])
            .number("n", u64::MAX)
            .finish();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["a"], "x\"y\\z\n\u{1}é");
        assert_eq!(v["codes"], serde_json::json!(["1", "2"]));
        assert_eq!(v["none"], serde_json::json!([]));
        assert_eq!(v["n"], serde_json::json!(u64::MAX));
    }
}
