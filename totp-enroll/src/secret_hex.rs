//! Keys written in hexadecimal (pam_oath usersfiles, `import-pskc --key`), decoded into a
//! buffer that is wiped on drop and never reallocated (so no copy of the key is left behind).

use zeroize::Zeroizing;

/// The bytes `text` spells in hexadecimal (either case); `None` for an odd length or any other
/// character.
pub fn decode(text: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(text.len() / 2));
    for pair in text.chunks_exact(2) {
        let nibble = |c: &u8| {
            char::from(*c)
                .to_digit(16)
                .and_then(|v| u8::try_from(v).ok())
        };
        let (high, low) = (nibble(pair.first()?)?, nibble(pair.get(1)?)?);
        bytes.push(high << 4 | low);
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_either_case_and_nothing_else() {
        let all: Vec<u8> = (0..=255).collect();
        let text: String = all.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(decode(text.as_bytes()).unwrap().as_slice(), all);
        assert_eq!(decode(b"abCD").unwrap().as_slice(), [0xab, 0xcd]);
        assert_eq!(decode(b"").unwrap().as_slice(), [] as [u8; 0]);
        for bad in ["a", "+f", "0g", " 1", "0x", "\u{e9}0"] {
            assert_eq!(decode(bad.as_bytes()), None, "{bad}");
        }
    }
}
