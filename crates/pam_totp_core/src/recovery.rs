//! Single-use recovery codes: generated as `xxxxx-xxxxx` (50 random bits), stored only as
//! salted SHA-256 hashes, compared in constant time.

use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Characters of generated codes: Crockford's base32 (no i, l, o, u), lower case.
pub const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Characters per generated code (without the dash).
pub const CODE_CHARS: usize = 10;
/// Bytes of random salt per stored hash.
pub const SALT_BYTES: usize = 16;
/// Random bytes consumed to generate one code and its salt.
pub const RANDOM_BYTES_PER_CODE: usize = CODE_CHARS + SALT_BYTES;
const SCHEME: &str = "sha256";

/// One stored recovery code: `sha256$<salt hex>$<digest hex>`.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryHash {
    salt: [u8; SALT_BYTES],
    digest: [u8; 32],
}

impl fmt::Debug for RecoveryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryHash(..)")
    }
}

impl RecoveryHash {
    /// Hashes a code (any spelling the user may type) with the given salt.
    pub fn new(salt: [u8; SALT_BYTES], code: &str) -> Option<Self> {
        let normal = normalise(code)?;
        Some(RecoveryHash {
            salt,
            digest: digest(&salt, &normal),
        })
    }

    /// Parses the stored text form.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('$');
        if parts.next()? != SCHEME {
            return None;
        }
        let salt = decode_hex::<SALT_BYTES>(parts.next()?)?;
        let digest = decode_hex::<32>(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        Some(RecoveryHash { salt, digest })
    }

    /// The stored text form.
    pub fn encode(&self) -> String {
        format!(
            "{SCHEME}${}${}",
            crate::hex::encode(&self.salt),
            crate::hex::encode(&self.digest)
        )
    }
}

/// Canonical form of a typed code: lower case, no dashes or spaces, `o`->`0`, `i`/`l`->`1`.
/// Returns None unless it is 6 to 16 letters and digits.
pub fn normalise(code: &str) -> Option<Zeroizing<String>> {
    let mut out = Zeroizing::new(String::with_capacity(CODE_CHARS));
    for c in code.chars() {
        match c.to_ascii_lowercase() {
            '-' | ' ' => {}
            'o' => out.push('0'),
            'i' | 'l' => out.push('1'),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ => return None,
        }
        if out.len() > 16 {
            return None;
        }
    }
    (out.len() >= 6).then_some(out)
}

/// Length of a recovery code as printed: two halves and a dash (`xxxxx-xxxxx`).
pub const PRINTED_CHARS: usize = CODE_CHARS + 1;

/// True when `text` is a recovery code as printed: five characters of [`ALPHABET`], a dash,
/// five more (either case).
pub fn is_dashed_form(text: &str) -> bool {
    let half = CODE_CHARS / 2;
    text.len() == PRINTED_CHARS
        && text.bytes().enumerate().all(|(i, b)| {
            if i == half {
                b == b'-'
            } else {
                ALPHABET.contains(&b.to_ascii_lowercase())
            }
        })
}

fn digest(salt: &[u8], normal: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(normal.as_bytes());
    h.finalize().into()
}

/// Index of the stored hash that `code` matches. Every hash is computed and compared,
/// whether or not an earlier one matched, so the time taken does not depend on the codes.
pub fn find(hashes: &[RecoveryHash], code: &str) -> Option<usize> {
    let normal = normalise(code)?;
    let mut found: Option<usize> = None;
    for (i, stored) in hashes.iter().enumerate() {
        let candidate = digest(&stored.salt, &normal);
        let hit: bool = candidate.ct_eq(&stored.digest).into();
        if hit && found.is_none() {
            found = Some(i);
        }
    }
    found
}

/// Makes one code (`xxxxx-xxxxx`) and its hash from `RANDOM_BYTES_PER_CODE` random bytes.
pub fn generate(random: &[u8; RANDOM_BYTES_PER_CODE]) -> (Zeroizing<String>, RecoveryHash) {
    let mut code = Zeroizing::new(String::with_capacity(CODE_CHARS + 1));
    let (chars, salt_bytes) = random.split_at(CODE_CHARS);
    for (i, b) in chars.iter().enumerate() {
        if i == CODE_CHARS / 2 {
            code.push('-');
        }
        #[allow(clippy::indexing_slicing)] // `b & 31` is below 32, the alphabet's length.
        code.push(char::from(ALPHABET[usize::from(b & 31)]));
    }
    let mut salt = [0u8; SALT_BYTES];
    salt.copy_from_slice(salt_bytes);
    let normal = normalise(&code).unwrap_or_default();
    let hash = RecoveryHash {
        salt,
        digest: digest(&salt, &normal),
    };
    (code, hash)
}

fn decode_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    crate::hex::decode(text.as_bytes())?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seed: u8) -> (Zeroizing<String>, RecoveryHash) {
        let mut r = [0u8; RANDOM_BYTES_PER_CODE];
        for (i, b) in r.iter_mut().enumerate() {
            *b = seed.wrapping_mul(31).wrapping_add(i as u8 * 7);
        }
        generate(&r)
    }

    #[test]
    fn generated_codes_look_right_and_match() {
        let (code, hash) = sample(1);
        assert_eq!(code.len(), 11);
        assert_eq!(code.get(5..6), Some("-"));
        assert!(code
            .chars()
            .all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
        assert_eq!(find(std::slice::from_ref(&hash), &code), Some(0));
        // Typed in upper case, without the dash, with spaces.
        let upper = code.to_uppercase().replace('-', " ");
        assert_eq!(find(&[hash], &upper), Some(0));
    }

    #[test]
    fn wrong_codes_do_not_match() {
        let (_, h1) = sample(1);
        let (c2, h2) = sample(2);
        assert_eq!(find(std::slice::from_ref(&h1), &c2), None);
        assert_eq!(find(&[h1, h2], &c2), Some(1));
        assert_eq!(find(&[], &c2), None);
        assert_eq!(find(&[sample(3).1], "short"), None);
        assert_eq!(find(&[sample(3).1], "%s%s%s%n"), None);
    }

    #[test]
    fn stored_form_round_trips_and_is_strict() {
        let (code, h) = sample(9);
        let text = h.encode();
        assert!(text.starts_with("sha256$"));
        assert!(!text.contains(code.as_str()));
        assert_eq!(RecoveryHash::parse(&text), Some(h));
        assert_eq!(RecoveryHash::parse("md5$00$00"), None);
        assert_eq!(RecoveryHash::parse(&format!("{text}$x")), None);
        assert_eq!(RecoveryHash::parse("sha256$zz$zz"), None);
        assert_eq!(RecoveryHash::parse(""), None);
    }

    #[test]
    fn confusable_letters_are_folded() {
        let salt = [7u8; SALT_BYTES];
        let h = RecoveryHash::new(salt, "10abc-0defg").unwrap();
        assert_eq!(find(&[h], "LOABC-ODEFG"), Some(0));
    }

    #[test]
    fn scratch_codes_of_eight_digits_work() {
        let h = RecoveryHash::new([1u8; SALT_BYTES], "12345678").unwrap();
        assert_eq!(find(std::slice::from_ref(&h), "12345678"), Some(0));
        assert_eq!(find(&[h], "12345679"), None);
    }
}
