//! The `~/.google_authenticator` importer (`totp_enroll::google_authenticator`).
//!
//! Invariants: `parse` and `convert` never panic; a parsed file keeps at most
//! `MAX_RECOVERY_CODES` 8-digit scratch codes; a converted file carries every scratch code as a
//! recovery code, can be written (`to_toml`) and read back equal; replay state is never set in
//! the future; error messages never repeat the key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pam_totp_core::recovery;
use pam_totp_core::secret_file::{SecretFile, MAX_RECOVERY_CODES};
use totp_enroll::google_authenticator::{
    convert, counting_salts, parse, GaError, SCRATCH_CODE_DIGITS,
};

/// A fixed "now" (2023-11-14), so runs are reproducible.
const NOW: u64 = 1_700_000_000;

/// The first line when it looks like a real key (long, base32 alphabet): it must never be
/// echoed in an error message.
fn key_line(data: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(data).ok()?;
    let first = text.split('\n').next()?.trim();
    (first.len() >= 16
        && first
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)))
    .then_some(first)
}

fn assert_no_key(data: &[u8], err: &GaError) {
    if let Some(key) = key_line(data) {
        assert!(
            !err.to_string().contains(key),
            "an error message repeats the key"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let ga = match parse(data) {
        Ok(ga) => ga,
        Err(e) => {
            assert_no_key(data, &e);
            return;
        }
    };
    assert!(ga.scratch_codes.len() <= MAX_RECOVERY_CODES);
    for code in &ga.scratch_codes {
        assert_eq!(code.len(), SCRATCH_CODE_DIGITS);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
    }
    let converted = match convert(&ga, NOW, counting_salts()) {
        Ok(c) => c,
        Err(e) => {
            assert_no_key(data, &e);
            return;
        }
    };
    let file = &converted.file;
    assert_eq!(file.recovery.len(), ga.scratch_codes.len());
    if let (Some(first), Some(last)) = (ga.scratch_codes.first(), ga.scratch_codes.last()) {
        assert!(recovery::find(&file.recovery, first).is_some());
        assert!(recovery::find(&file.recovery, last).is_some());
    }
    if let (Some(Some(step)), Some(period)) =
        (file.state.marks.first(), file.first_token().period())
    {
        assert!(
            *step <= NOW / period + 1,
            "replay state set in the future"
        );
    }
    let text = match file.to_toml() {
        Ok(text) => text,
        Err(e) => panic!("an imported file cannot be written: {e}"),
    };
    match SecretFile::parse(text.as_bytes()) {
        Ok(back) => assert_eq!(&back, file),
        Err(e) => panic!("an imported file does not read back: {e}"),
    }
});
