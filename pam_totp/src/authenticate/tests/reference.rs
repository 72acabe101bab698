//! Codes for the tests, computed independently of the code under test: HMAC-SHA1 (RFC 2104
//! through the `hmac` and `sha1` crates), dynamic truncation per RFC 4226 section 5.3, and
//! time steps per RFC 6238, checked against the RFCs' own test vectors.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// HOTP(key, counter) with `digits` digits (RFC 4226).
pub fn hotp(key: &[u8], counter: u64, digits: u32) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).unwrap();
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[19] & 0x0f);
    let binary = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    let code = binary % 10u32.pow(digits);
    format!("{code:0width$}", width = digits as usize)
}

/// TOTP(key) at Unix time `t` with 30-second steps (RFC 6238).
pub fn totp(key: &[u8], t: u64, digits: u32) -> String {
    hotp(key, t / 30, digits)
}

#[test]
fn the_reference_gives_the_rfc_vectors() {
    let key = b"12345678901234567890";
    // RFC 4226 Appendix D.
    let hotp_vectors = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
        "520489",
    ];
    for (counter, expected) in hotp_vectors.iter().enumerate() {
        assert_eq!(hotp(key, counter as u64, 6), *expected);
    }
    // RFC 6238 Appendix B, SHA1.
    for (t, expected) in [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ] {
        assert_eq!(totp(key, t, 8), expected);
    }
}
