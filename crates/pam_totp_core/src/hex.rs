//! Lower-case hexadecimal, written without a formatter call per byte (a secret file holds a
//! few hundred bytes of hashes and salts), and read back strictly.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `bytes` as lower-case hexadecimal.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            // A nibble is below 16: `get` always finds its digit.
            if let Some(d) = DIGITS.get(usize::from(nibble)) {
                out.push(char::from(*d));
            }
        }
    }
    out
}

/// The bytes `text` spells in hexadecimal (either case); None for an odd length or any other
/// character. The result is allocated once at its final size and never reallocated, so a
/// caller that decodes a key and wraps the result in `Zeroizing` leaves no copy behind.
pub fn decode(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let mut bytes = Vec::with_capacity(text.len() / 2);
    for pair in text.chunks_exact(2) {
        let nibble = |c: &u8| char::from(*c).to_digit(16);
        let (hi, lo) = (nibble(pair.first()?)?, nibble(pair.get(1)?)?);
        bytes.push(u8::try_from(hi * 16 + lo).ok()?);
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_it_encodes_and_nothing_else() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(encode(&bytes).as_bytes()), Some(bytes));
        assert_eq!(decode(b"ABcd"), Some(vec![0xab, 0xcd]));
        assert_eq!(decode(b""), Some(vec![]));
        for bad in ["a", "+f", "0g", " 1", "0x", "é0", "\u{e9}0"] {
            assert_eq!(decode(bad.as_bytes()), None, "{bad}");
        }
        // Allocated at its size: nothing was reallocated (and left behind) on the way.
        let decoded = decode(b"00112233445566778899").unwrap();
        assert_eq!(decoded.capacity(), decoded.len());
    }

    #[test]
    fn matches_the_formatter() {
        let bytes: Vec<u8> = (0..=255).collect();
        let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(encode(&bytes), expected);
        assert_eq!(encode(&[]), "");
    }
}
