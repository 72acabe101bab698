//! Reading a code typed by the user: from the terminal, or one line of stdin in scripts.

use crate::error::CliError;
use std::io::{BufRead, IsTerminal, Write};
use zeroize::Zeroizing;

/// Longest line accepted as a code (TOTP codes have 6 or 8 digits, recovery codes 11 characters).
pub const MAX_CODE_LINE: usize = 64;

/// The prompt for a code.
pub const PROMPT: &str = "Enter the code from your app: ";

/// True when a person is typing (stdin is a terminal), so a wrong code may be retried.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

/// Prints `prompt` on stderr and reads one line from stdin (the terminal, or a pipe).
pub fn read_code(prompt: &str) -> Result<Zeroizing<String>, CliError> {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{prompt}");
    let _ = err.flush();
    drop(err);
    let stdin = std::io::stdin().lock();
    read_line_from(stdin)
}

/// Reads one bounded line from `reader`, without the line end.
pub fn read_line_from<R: BufRead>(reader: R) -> Result<Zeroizing<String>, CliError> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_CODE_LINE + 2));
    reader
        .take(MAX_CODE_LINE as u64 + 2)
        .read_until(b'\n', &mut bytes)
        .map_err(|source| CliError::Io {
            what: "cannot read the code from stdin",
            source,
        })?;
    if bytes.is_empty() {
        return Err(CliError::NoCode);
    }
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    if bytes.len() > MAX_CODE_LINE {
        return Err(CliError::CodeTooLong(MAX_CODE_LINE));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| CliError::NoCode)?;
    let code = Zeroizing::new(text.trim().to_string());
    if code.is_empty() {
        return Err(CliError::NoCode);
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_is_read() {
        let code = read_line_from(&b"123456\nrest\n"[..]).unwrap();
        assert_eq!(code.as_str(), "123456");
        let code = read_line_from(&b" 123 456 \r\n"[..]).unwrap();
        assert_eq!(code.as_str(), "123 456");
        let code = read_line_from(&b"12345678"[..]).unwrap();
        assert_eq!(code.as_str(), "12345678");
    }

    #[test]
    fn empty_and_long_input_are_refused() {
        assert!(matches!(read_line_from(&b""[..]), Err(CliError::NoCode)));
        assert!(matches!(read_line_from(&b"\n"[..]), Err(CliError::NoCode)));
        let long = vec![b'1'; 10_000];
        assert!(matches!(
            read_line_from(&long[..]),
            Err(CliError::CodeTooLong(_))
        ));
    }
}
