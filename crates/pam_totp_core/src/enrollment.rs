//! A new enrollment, as totp-enroll and the module's enrollment at login both make it: a new
//! random key, a set of recovery codes, and the secret file completed once the first code was
//! right. Randomness is passed in (a fill function), so this stays pure and testable.

use crate::params::{RateLimit, DEFAULT_HOTP_WINDOW, DEFAULT_RATE_LIMIT, DEFAULT_WINDOW};
use crate::recovery::{generate, RecoveryHash, RANDOM_BYTES_PER_CODE};
use crate::secret::{SecretError, TotpSecret};
use crate::secret_file::{datetime_from_unix, SecretFile};
use crate::verify::Policy;
use zeroize::{Zeroize, Zeroizing};

/// Bytes of a new key (160 bits, RFC 4226's recommendation).
pub const NEW_SECRET_BYTES: usize = 20;
/// Recovery codes made per set.
pub const RECOVERY_CODES: usize = 10;

/// The policy for the first code of a new enrollment: the default window, no meaningful
/// throttle (nothing is stored until the code is right; the caller bounds the tries).
pub const FIRST_CODE_POLICY: Policy = Policy {
    window: DEFAULT_WINDOW,
    hotp_window: DEFAULT_HOTP_WINDOW,
    rate_limit: RateLimit {
        max_checks: 1000,
        ..DEFAULT_RATE_LIMIT
    },
};

/// Why a new key or recovery codes could not be made.
#[derive(Debug, thiserror::Error)]
pub enum NewError<E> {
    /// The random number generator failed.
    #[error("cannot read random bytes: {0}")]
    Random(E),
    /// The key was refused (cannot happen for [`NEW_SECRET_BYTES`]).
    #[error("the new key was refused: {0}")]
    Secret(#[from] SecretError),
}

/// A new random key of [`NEW_SECRET_BYTES`], from `fill` (the kernel's random number
/// generator in the callers).
pub fn new_secret<E>(
    mut fill: impl FnMut(&mut [u8]) -> Result<(), E>,
) -> Result<TotpSecret, NewError<E>> {
    let mut bytes = vec![0u8; NEW_SECRET_BYTES];
    if let Err(e) = fill(&mut bytes) {
        bytes.zeroize();
        return Err(NewError::Random(e));
    }
    Ok(TotpSecret::from_bytes(bytes)?)
}

/// A new set of [`RECOVERY_CODES`] recovery codes from `fill`: the codes to show once, and
/// their hashes to store.
pub fn new_recovery_codes<E>(
    mut fill: impl FnMut(&mut [u8]) -> Result<(), E>,
) -> Result<(Vec<Zeroizing<String>>, Vec<RecoveryHash>), E> {
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    let mut hashes = Vec::with_capacity(RECOVERY_CODES);
    let mut bytes = Zeroizing::new([0u8; RANDOM_BYTES_PER_CODE]);
    for _ in 0..RECOVERY_CODES {
        fill(&mut bytes[..])?;
        let (code, hash) = generate(&bytes);
        codes.push(code);
        hashes.push(hash);
    }
    Ok((codes, hashes))
}

/// Completes a new enrollment whose first code was accepted: keeps the accepted step (so the
/// code cannot be replayed at the next login), drops the counted checks, and records when it
/// was created and the recovery codes' hashes.
pub fn complete(file: &mut SecretFile, now: u64, recovery: Vec<RecoveryHash>) {
    file.state.checks.clear();
    file.created = datetime_from_unix(now);
    file.recovery = recovery;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recovery::find;
    use crate::secret_file::Algorithm;
    use crate::verify::{check, Outcome};

    /// A counting "random" source: distinct bytes on every call.
    fn counting() -> impl FnMut(&mut [u8]) -> Result<(), ()> {
        let mut n = 0u8;
        move |buf| {
            for b in buf.iter_mut() {
                n = n.wrapping_add(1);
                *b = n;
            }
            Ok(())
        }
    }

    #[test]
    fn new_secret_has_160_bits_from_the_source() {
        let s = new_secret(counting()).unwrap();
        assert_eq!(s.bits(), 160);
        assert_eq!(s.as_bytes(), (1..=20).collect::<Vec<u8>>().as_slice());
    }

    #[test]
    fn failing_source_is_an_error() {
        assert!(matches!(
            new_secret(|_: &mut [u8]| Err("no entropy")),
            Err(NewError::Random("no entropy"))
        ));
        assert!(new_recovery_codes(|_: &mut [u8]| Err(())).is_err());
    }

    #[test]
    fn recovery_codes_match_their_hashes_and_differ() {
        let (codes, hashes) = new_recovery_codes(counting()).unwrap();
        assert_eq!(
            (codes.len(), hashes.len()),
            (RECOVERY_CODES, RECOVERY_CODES)
        );
        for (i, code) in codes.iter().enumerate() {
            assert_eq!(find(&hashes, code), Some(i));
        }
        let mut unique: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
    }

    #[test]
    fn complete_keeps_the_step_and_drops_the_checks() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
        let mut file = SecretFile::new(secret, Algorithm::SHA1, 8, 30);
        // RFC 6238 appendix B: SHA1 at t=59 is 94287082.
        assert!(matches!(
            check(&mut file, "94287082", 59, FIRST_CODE_POLICY),
            Outcome::Accepted { .. }
        ));
        let step = file.state.marks[0];
        assert!(step.is_some());
        let (_, hashes) = new_recovery_codes(counting()).unwrap();
        complete(&mut file, 59, hashes);
        assert!(file.state.checks.is_empty());
        assert_eq!(file.state.marks[0], step);
        assert!(file.created.is_some());
        assert_eq!(file.recovery.len(), RECOVERY_CODES);
    }
}
