//! One cheap pass over the raw text before the XML parser sees it: roxmltree slows down badly
//! on many nested namespace declarations (3,000 took 15 s) and on many attributes, so files
//! with more than a PSKC file ever has are refused first. The scan of tags is approximate
//! (it does not check well-formedness; the parser does): a pathological file may be refused
//! that a full parser would read, never the other way round for the limits checked.

use crate::pskc::{PskcError, MAX_XMLNS_DECLARATIONS, MAX_XML_ATTRIBUTES, MAX_XML_DEPTH};

/// Refuses `text` when it has more namespace declarations, deeper nesting or more attributes
/// on one element than the limits.
pub(super) fn check(text: &str) -> Result<(), PskcError> {
    let bytes = text.as_bytes();
    let mut xmlns = 0usize;
    let mut depth = 0usize;
    let mut at = 0usize;
    while let Some(offset) = bytes[at..].iter().position(|b| *b == b'<') {
        let start = at + offset;
        let rest = &bytes[start..];
        if rest.starts_with(b"<!--") {
            at = skip_past(bytes, start + 4, b"-->");
        } else if rest.starts_with(b"<![CDATA[") {
            at = skip_past(bytes, start + 9, b"]]>");
        } else if rest.starts_with(b"<?") {
            at = skip_past(bytes, start + 2, b"?>");
        } else if rest.starts_with(b"<!") {
            at = skip_past(bytes, start + 2, b">");
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            at = skip_past(bytes, start + 2, b">");
        } else {
            let tag = scan_start_tag(bytes, start + 1);
            xmlns += tag.xmlns;
            if xmlns > MAX_XMLNS_DECLARATIONS {
                return Err(PskcError::TooComplex(format!(
                    "more than {MAX_XMLNS_DECLARATIONS} namespace declarations (xmlns)"
                )));
            }
            if tag.attributes > MAX_XML_ATTRIBUTES {
                return Err(PskcError::TooComplex(format!(
                    "an element with more than {MAX_XML_ATTRIBUTES} attributes"
                )));
            }
            if !tag.empty {
                depth += 1;
                if depth > MAX_XML_DEPTH {
                    return Err(PskcError::TooComplex(format!(
                        "elements nested more than {MAX_XML_DEPTH} deep"
                    )));
                }
            }
            at = tag.end;
        }
    }
    Ok(())
}

/// The index after the first `end` at or after `from` (the end of `bytes` if there is none).
fn skip_past(bytes: &[u8], from: usize, end: &[u8]) -> usize {
    bytes
        .get(from..)
        .and_then(|rest| rest.windows(end.len()).position(|w| w == end))
        .map_or(bytes.len(), |i| from + i + end.len())
}

/// What a start tag holds.
struct StartTag {
    /// Attributes (each `=` outside quotes).
    attributes: usize,
    /// Attributes named `xmlns` or `xmlns:...`.
    xmlns: usize,
    /// Whether it ends in `/>`.
    empty: bool,
    /// The index after its `>` (or the end of the text).
    end: usize,
}

/// Scans the start tag whose name begins at `from`, up to its `>` outside quotes.
fn scan_start_tag(bytes: &[u8], from: usize) -> StartTag {
    let mut tag = StartTag {
        attributes: 0,
        xmlns: 0,
        empty: false,
        end: bytes.len(),
    };
    let mut quote: Option<u8> = None;
    // The last name seen outside quotes: [word_start, word_end).
    let mut word_start = from;
    let mut word_end = from;
    let mut in_word = false;
    let mut previous = 0u8;
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        if let Some(q) = quote {
            if b == q {
                quote = None;
            }
            continue;
        }
        match b {
            b'"' | b'\'' => {
                quote = Some(b);
                in_word = false;
            }
            b'>' => {
                tag.empty = previous == b'/';
                tag.end = i + 1;
                return tag;
            }
            b'=' => {
                tag.attributes += 1;
                let name = bytes.get(word_start..word_end).unwrap_or_default();
                if name == b"xmlns" || name.starts_with(b"xmlns:") {
                    tag.xmlns += 1;
                }
                in_word = false;
            }
            b' ' | b'\t' | b'\r' | b'\n' | b'/' => in_word = false,
            _ => {
                if !in_word {
                    word_start = i;
                    in_word = true;
                }
                word_end = i + 1;
            }
        }
        previous = b;
    }
    tag
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::pskc::PskcError;

    fn refused(text: &str) -> bool {
        matches!(check(text), Err(PskcError::TooComplex(_)))
    }

    #[test]
    fn counts_what_it_should() {
        let nested = |n: usize| format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
        assert!(!refused(&nested(32)));
        assert!(refused(&nested(33)));
        // Siblings, empty elements, comments and closed elements do not nest.
        assert!(!refused(&"<a><b/></a>".repeat(1000)));
        assert!(!refused(&format!(
            "<r>{}</r>",
            "<!-- <a><a><a> -->".repeat(100)
        )));
        let attributes = |n: usize| {
            let list: String = (0..n).map(|i| format!(" a{i}='>'")).collect();
            format!("<r{list}/>")
        };
        assert!(!refused(&attributes(32)));
        assert!(refused(&attributes(33)));
        let declarations = |n: usize| {
            let list: String = (0..n)
                .map(|i| format!("<e xmlns:p{i} = \"urn:x\"/>"))
                .collect();
            format!("<r xmlns=\"urn:y\">{list}</r>")
        };
        assert!(!refused(&declarations(63)));
        assert!(refused(&declarations(64)));
        // Text that only looks like a declaration is not one.
        assert!(!refused(&format!(
            "<r a=\"xmlns:p='x'\">{}</r>",
            "xmlns:p=\"x\" ".repeat(100)
        )));
    }
}
