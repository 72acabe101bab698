//! The cryptography of a PSKC file protected with a pre-shared key (RFC 6030 section 6.1):
//! AES-128-CBC with the IV in front of the ciphertext (XML Encryption's `aes128-cbc`), and the
//! HMAC-SHA1 `ValueMAC` over IV and ciphertext, checked before anything is decrypted.

use aes::cipher::{Array, BlockModeDecrypt, KeyIvInit};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use zeroize::Zeroizing;

/// AES block (and IV) size in bytes.
pub const BLOCK_BYTES: usize = 16;
/// AES-128 key size in bytes.
pub const PRE_SHARED_KEY_BYTES: usize = 16;

/// Why a value could not be decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecryptError {
    /// Not an IV and at least one block, or not a whole number of blocks.
    Length,
    /// The padding after decryption is not XML Encryption padding: the key is wrong.
    Padding,
}

/// Decrypts `iv_and_ciphertext` (IV first) with AES-128-CBC and removes the XML Encryption
/// padding (last byte = padding length, 1 to 16; the other padding bytes are arbitrary).
pub fn aes128_cbc_decrypt(
    key: &[u8; PRE_SHARED_KEY_BYTES],
    iv_and_ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
    let (iv, ciphertext) = iv_and_ciphertext
        .split_at_checked(BLOCK_BYTES)
        .ok_or(DecryptError::Length)?;
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(BLOCK_BYTES) {
        return Err(DecryptError::Length);
    }
    let decryptor = cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
        .map_err(|_| DecryptError::Length)?;
    let mut plain = Zeroizing::new(ciphertext.to_vec());
    let (blocks, rest) = Array::slice_as_chunks_mut(plain.as_mut_slice());
    if !rest.is_empty() {
        return Err(DecryptError::Length);
    }
    let mut decryptor = decryptor;
    decryptor.decrypt_blocks(blocks);
    let padding = usize::from(*plain.last().ok_or(DecryptError::Length)?);
    if padding == 0 || padding > BLOCK_BYTES {
        return Err(DecryptError::Padding);
    }
    let length = plain
        .len()
        .checked_sub(padding)
        .ok_or(DecryptError::Padding)?;
    plain.truncate(length);
    Ok(plain)
}

/// Whether `mac` is the HMAC-SHA1 of `data` under `mac_key`, compared in constant time
/// (`verify_slice` compares with `subtle`).
pub fn hmac_sha1_matches(mac_key: &[u8], data: &[u8], mac: &[u8]) -> bool {
    let Ok(mut hmac) = <Hmac<Sha1> as KeyInit>::new_from_slice(mac_key) else {
        return false;
    };
    hmac.update(data);
    hmac.verify_slice(mac).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::BlockModeEncrypt;

    const KEY: [u8; 16] = [0x42; 16];
    const IV: [u8; 16] = [0x24; 16];

    /// Encrypts with XML Encryption padding of `pad_fill` bytes, IV first.
    fn encrypt(plain: &[u8], pad_fill: u8) -> Vec<u8> {
        let padding = BLOCK_BYTES - plain.len() % BLOCK_BYTES;
        let mut buf = plain.to_vec();
        buf.resize(plain.len() + padding - 1, pad_fill);
        buf.push(u8::try_from(padding).unwrap());
        let mut encryptor = cbc::Encryptor::<aes::Aes128>::new_from_slices(&KEY, &IV).unwrap();
        let (blocks, rest) = Array::slice_as_chunks_mut(buf.as_mut_slice());
        assert!(rest.is_empty());
        encryptor.encrypt_blocks(blocks);
        [IV.as_slice(), &buf].concat()
    }

    #[test]
    fn round_trips_every_padding_length() {
        for length in 0..=40 {
            let plain: Vec<u8> = (0..length).map(|i| i as u8).collect();
            for fill in [0, 0xa5] {
                let sealed = encrypt(&plain, fill);
                assert_eq!(aes128_cbc_decrypt(&KEY, &sealed).unwrap().as_slice(), plain);
            }
        }
    }

    #[test]
    fn bad_lengths_and_wrong_keys() {
        assert_eq!(
            aes128_cbc_decrypt(&KEY, &[0; 16]),
            Err(DecryptError::Length)
        );
        assert_eq!(
            aes128_cbc_decrypt(&KEY, &[0; 33]),
            Err(DecryptError::Length)
        );
        assert_eq!(aes128_cbc_decrypt(&KEY, &[]), Err(DecryptError::Length));
        let sealed = encrypt(b"12345678901234567890", 0);
        let wrong = [0x43; 16];
        // With the wrong key the last byte is random: almost always bad padding. Either way the
        // plaintext is not the original.
        assert_ne!(
            aes128_cbc_decrypt(&wrong, &sealed).map(|p| p.to_vec()),
            Ok(b"12345678901234567890".to_vec())
        );
    }

    #[test]
    fn hmac_sha1_rfc_2202_case_2() {
        // RFC 2202 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mac = [
            0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74, 0x16, 0xd5, 0xf1, 0x84,
            0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79,
        ];
        assert!(hmac_sha1_matches(
            b"Jefe",
            b"what do ya want for nothing?",
            &mac
        ));
        let mut flipped = mac;
        flipped[19] ^= 1;
        assert!(!hmac_sha1_matches(
            b"Jefe",
            b"what do ya want for nothing?",
            &flipped
        ));
        assert!(!hmac_sha1_matches(
            b"Jefe",
            b"what do ya want for nothing?",
            &mac[..19]
        ));
    }
}
