//! The RFC 6030 (PSKC) reader (`totp_enroll::pskc::parse`), which `import-pskc` runs on seed
//! files shipped with hardware tokens: XML from outside, optionally encrypted with a
//! pre-shared key.
//!
//! Invariants: no panic, with and without a key; every key returned is non-empty, with digits
//! 1 to 10 when given (the importer applies pam_totp's own rule); an encrypted value is only
//! returned when its MAC checked out, so two pre-shared keys never both yield secrets that
//! differ.
#![no_main]

use libfuzzer_sys::fuzz_target;
use totp_enroll::pskc::{parse, PreSharedKey};

/// RFC 6030 figure 6's pre-shared key, and another one.
const KEYS: [&str; 2] = [
    "12345678901234567890123456789012",
    "000102030405060708090a0b0c0d0e0f",
];

fuzz_target!(|data: &[u8]| {
    let plain = parse(data, None);
    let mut secrets = Vec::new();
    for hex in KEYS {
        let key = match PreSharedKey::from_hex(hex) {
            Ok(k) => k,
            Err(e) => panic!("fixed pre-shared key refused: {e}"),
        };
        if let Ok(file) = parse(data, Some(&key)) {
            for k in &file.keys {
                assert!(!k.key.is_empty(), "an empty secret");
                assert!(k.digits.is_none_or(|d| (1..=10).contains(&d)), "digits out of range");
            }
            secrets.push(file.keys.iter().map(|k| k.key.to_vec()).collect::<Vec<_>>());
        }
    }
    if let Ok(file) = plain {
        for k in &file.keys {
            assert!(!k.key.is_empty(), "an empty secret");
        }
    }
    // Two different keys cannot both decrypt (and authenticate) different secrets.
    if let [a, b] = secrets.as_slice() {
        assert_eq!(a, b, "two pre-shared keys gave different secrets");
    }
});
