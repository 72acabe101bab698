//! What is wrong with a configuration file's TOML, for a message: toml's own message and the
//! line, without the snippet of the file that toml's Display would quote around it.

/// `error`'s message with the line of `text` it points at, on one line.
pub fn describe(error: &toml::de::Error, text: &str) -> String {
    let msg = error.message().trim().replace('\n', " ");
    match error.span() {
        Some(span) => {
            let line = text
                .get(..span.start)
                .map_or(0, |t| t.matches('\n').count())
                + 1;
            format!("line {line}: {msg}")
        }
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Settings {
        timeout: u32,
    }

    #[test]
    fn names_the_line_and_not_the_text() {
        let text = "\n\ntimeout = s3cret\n";
        let Err(e) = toml::from_str::<Settings>(text) else {
            panic!("parsed")
        };
        let shown = describe(&e, text);
        assert!(shown.starts_with("line 3: "), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
