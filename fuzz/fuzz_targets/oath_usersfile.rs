//! The pam_oath usersfile reader (`totp_enroll::oath_usersfile::parse_for_user`), which
//! `import-oath-usersfile` runs (as root for `--user`) on a file an administrator names.
//!
//! Invariants: no panic; entries come in file order, each on a line of the file that names the
//! user; digits are 6 to 8; an HOTP entry's first unused counter is its counter or the next
//! one; an error message never repeats a key field of the input (hex runs of 16 or more).
#![no_main]

use libfuzzer_sys::fuzz_target;
use totp_enroll::oath_usersfile::{parse_for_user, OathKind};

/// Long hex runs of the input: key fields, which no message may echo.
fn hex_runs(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_ascii_hexdigit())
        .filter(|run| run.len() >= 16)
        .collect()
}

fuzz_target!(|data: &[u8]| {
    for user in ["alice", "bob"] {
        match parse_for_user(data, user) {
            Ok(entries) => {
                let mut last_line = 0;
                for e in &entries {
                    assert!(e.line > last_line, "entries out of file order");
                    last_line = e.line;
                    assert!((6..=8).contains(&e.digits), "{} digits", e.digits);
                    assert!(!e.key.is_empty());
                    if let OathKind::Hotp { counter } = e.kind {
                        let next = e.first_unused_counter();
                        assert!(next == Some(counter) || next == counter.checked_add(1));
                    }
                }
            }
            Err(e) => {
                let message = e.to_string();
                if let Ok(text) = std::str::from_utf8(data) {
                    for run in hex_runs(text) {
                        assert!(!message.contains(run), "an error message repeats a key");
                    }
                }
            }
        }
    }
});
