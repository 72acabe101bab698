//! The per-user secret file parser (`pam_totp_core::secret_file::SecretFile::parse`).
//!
//! Invariants: parsing never panics; a file that parses can be written back (`to_toml`), the
//! written text parses to an equal file, and the canonical text is a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pam_totp_core::secret_file::SecretFile;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = SecretFile::parse(data) else {
        return;
    };
    let text = match file.to_toml() {
        Ok(text) => text,
        Err(e) => panic!("a file that parses cannot be written back: {e}"),
    };
    let back = match SecretFile::parse(text.as_bytes()) {
        Ok(back) => back,
        Err(e) => panic!("the canonical text does not parse: {e}"),
    };
    assert_eq!(back, file, "the canonical text parses to a different file");
    let again = match back.to_toml() {
        Ok(again) => again,
        Err(e) => panic!("the canonical file cannot be written again: {e}"),
    };
    assert_eq!(
        again.as_str(),
        text.as_str(),
        "the canonical text is not a fixed point"
    );
});
