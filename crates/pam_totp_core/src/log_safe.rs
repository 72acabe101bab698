//! The one sanitizer for text that reaches the log. Log parsers such as fail2ban act on these
//! lines, so nothing a user controls (user name, PAM_RHOST, paths built from them, file
//! contents quoted in errors) may start a new line or forge a `key=value` field.

/// Longest user-controlled field written to the log, in characters.
pub const MAX_FIELD_CHARS: usize = 64;
/// PAM_RHOST may be a long host name: a little more room.
pub const MAX_HOST_CHARS: usize = 256;

/// A value for a `key=value` field (user name, host): characters other than letters, digits
/// and `._-@+$\:` become `?`, so it cannot contain spaces, `=` or line breaks; cut to
/// [`MAX_FIELD_CHARS`].
pub fn field(value: &str) -> String {
    field_of_length(value, MAX_FIELD_CHARS)
}

/// [`field`] for PAM_RHOST, cut to [`MAX_HOST_CHARS`].
pub fn host(value: &str) -> String {
    field_of_length(value, MAX_HOST_CHARS)
}

/// A path built from a user name or home directory, for the middle of a message: as [`field`]
/// but `/`, `%`, `~` and `,` are kept, and up to [`MAX_HOST_CHARS`] characters.
pub fn path(value: &str) -> String {
    value
        .chars()
        .take(MAX_HOST_CHARS)
        .map(|c| if "/%~,".contains(c) { c } else { field_char(c) })
        .collect()
}

/// A distinguished name from a directory, for the middle of a message: as [`field`] but `=`
/// and `,` are kept (so `uid=alice,ou=people,dc=example,dc=org` reads as written), up to
/// [`MAX_HOST_CHARS`] characters. Spaces still become `?`, so a DN cannot pass for the fixed
/// `authentication failure; user=..` line that log watchers match.
pub fn dn(value: &str) -> String {
    value
        .chars()
        .take(MAX_HOST_CHARS)
        .map(|c| if "=,".contains(c) { c } else { field_char(c) })
        .collect()
}

fn field_char(c: char) -> char {
    if c.is_alphanumeric() || "._-@+$\\:".contains(c) {
        c
    } else {
        '?'
    }
}

fn field_of_length(value: &str, max: usize) -> String {
    value.chars().take(max).map(field_char).collect()
}

/// Replaces raw user-controlled strings (a user name, a home directory) inside a message, such
/// as a file error that quotes a path built from them, with their [`path`] forms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scrubber {
    /// Raw text and its log-safe form, longest raw text first.
    pairs: Vec<(String, String)>,
}

impl Scrubber {
    /// A scrubber for `raw` strings (e.g. the user name and the home). The longest is
    /// replaced first, so a home that contains the user name is replaced whole.
    pub fn new(raw: &[&str]) -> Self {
        let mut pairs: Vec<(String, String)> =
            raw.iter().map(|r| (r.to_string(), path(r))).collect();
        pairs.sort_by_key(|(raw, _)| std::cmp::Reverse(raw.len()));
        Scrubber { pairs }
    }

    /// `text` with every raw string (longer than one character) replaced by its safe form.
    pub fn apply(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (raw, safe) in &self.pairs {
            if raw.len() > 1 && raw != safe {
                text = text.replace(raw.as_str(), safe);
            }
        }
        text
    }
}

/// A whole log line: every control character (line breaks, NUL, escape sequences), the
/// Unicode line and paragraph separators, and the invisible format characters that reorder or
/// hide text for a reader (bidirectional overrides, zero-width characters) become `?`.
/// Applied to every line the module logs, after the fields were made safe with [`field`].
pub fn line(message: &str) -> String {
    message
        .chars()
        .map(|c| {
            if c.is_control() || is_format(c) {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// Line separators and the format characters of Unicode category Cf that matter on screen.
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_cannot_forge_fields_or_lines() {
        assert_eq!(field("alice"), "alice");
        assert_eq!(field("DOM\\bob.smith@ex-1"), "DOM\\bob.smith@ex-1");
        assert_eq!(field("x rhost=1.2.3.4\nfake"), "x?rhost?1.2.3.4?fake");
        assert_eq!(field(&"a".repeat(100)).len(), MAX_FIELD_CHARS);
        assert_eq!(host("2001:db8::1"), "2001:db8::1");
        assert_eq!(host(&"h".repeat(300)).len(), MAX_HOST_CHARS);
        assert_eq!(path("/home/a b/x=y.toml"), "/home/a?b/x?y.toml");
        assert_eq!(
            dn("uid=alice,ou=people,dc=example,dc=org"),
            "uid=alice,ou=people,dc=example,dc=org"
        );
        assert_eq!(dn("cn=J Doe\n; user=x"), "cn=J?Doe???user=x");
    }

    #[test]
    fn lines_have_no_control_characters() {
        assert_eq!(line("a\nb\r\0c\x1b[31m\u{2028}d\te"), "a?b??c?[31m?d?e");
        assert_eq!(
            line("plain text, path /home/a b"),
            "plain text, path /home/a b"
        );
    }

    #[test]
    fn scrubbed_messages_show_safe_names_and_homes() {
        let scrub = Scrubber::new(&["a b", "/home/a b"]);
        assert_eq!(
            scrub.apply("/home/a b/.pam_totp.toml is owned by a b"),
            "/home/a?b/.pam_totp.toml is owned by a?b"
        );
        assert_eq!(Scrubber::new(&["x\n", "/h"]).apply("/h/x\n"), "/h/x?");
        // One character is too short to be told apart from the message's own text.
        assert_eq!(Scrubber::new(&[" "]).apply("a b"), "a b");
        assert_eq!(Scrubber::default().apply("a\nb"), "a\nb");
    }
}
