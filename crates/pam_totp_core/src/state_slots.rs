//! Where a version-2 secret file keeps its login state: two slots after the TOML part, each
//! on pages of its own, rewritten in place by one small write and `fdatasync`.
//!
//! ```text
//! [TOML part: header comments, version = 2, secret, parameters, recovery hashes]
//! # pam_totp login state ... <spaces>\n      <- ends on a 4096-byte boundary: P
//! #pam_totp-state seq=7 last_step=... checks=... sum=... <spaces>\n     slot 0, L bytes
//! #pam_totp-state seq=8 last_step=... checks=... sum=... <spaces>\n     slot 1, L bytes
//! ```
//!
//! L is a multiple of 4096, so writing one slot never rewrites a page (or sector) of the
//! other. Each slot carries a sequence number and a checksum over its contents; a reader takes
//! the valid slot with the higher sequence number. A writer always overwrites the other slot,
//! so the newest state that was made durable is never touched: a write torn by a crash (new
//! bytes at the start, old ones after, or zeroes) fails its checksum and the previous state
//! stands. The file size never changes in place, so `fdatasync` has no metadata to flush.
//! When the TOML part changes (recovery code used, new enrollment) or the state outgrows its
//! slot, the whole file is replaced instead (temporary file and rename). Every line is a TOML
//! comment, so an intact file is still a TOML document.

use crate::secret_file::LoginState;
use sha2::{Digest, Sha256};

/// Slot length and alignment unit: a page on every Linux system (and a multiple of any sector).
pub const PAGE: usize = 4096;
/// The last line of the TOML part, padded with spaces to end on a page boundary.
pub const STATE_DELIMITER: &str =
    "# pam_totp login state: two slots below, rewritten in place at each login; do not edit";
/// How every slot starts.
const SLOT_PREFIX: &str = "#pam_totp-state ";
/// Bytes of SHA-256 kept as the slot checksum (as hex).
const SUM_BYTES: usize = 8;

/// Where the state slots of a version-2 file are, and which one holds the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotLayout {
    /// Offset of slot 0 (the end of the TOML part, a multiple of [`PAGE`]).
    pub offset: usize,
    /// Length of each slot (a multiple of [`PAGE`]).
    pub slot_len: usize,
    /// The slot that holds the current state.
    pub current: usize,
    /// Its sequence number.
    pub seq: u64,
}

impl SlotLayout {
    /// The slot the next update overwrites: never the current one.
    pub fn next_slot(&self) -> usize {
        1 - self.current
    }

    /// The file offset of slot `index` (0 or 1).
    pub fn slot_offset(&self, index: usize) -> u64 {
        u64::try_from(self.offset + index * self.slot_len).unwrap_or(u64::MAX)
    }
}

/// Why the state part of a version-2 file cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotError {
    /// No delimiter line, or it does not end on a page boundary.
    NoDelimiter,
    /// The bytes after the delimiter are not two slots of a whole number of pages.
    BadSize,
    /// Neither slot is valid (a crash tears at most one: the file was damaged otherwise).
    NoValidSlot,
}

/// The TOML part of a version-2 file and where its state lives: the bytes up to and including
/// the delimiter line, and the slot layout.
pub fn split(bytes: &[u8]) -> Result<(&[u8], usize, usize), SlotError> {
    let needle = format!("\n{STATE_DELIMITER}");
    let start = find(bytes, needle.as_bytes()).ok_or(SlotError::NoDelimiter)? + 1;
    let line_end = bytes
        .get(start..)
        .and_then(|rest| rest.iter().position(|b| *b == b'\n'))
        .ok_or(SlotError::NoDelimiter)?;
    let offset = start + line_end + 1;
    let padding = bytes.get(start + STATE_DELIMITER.len()..offset.saturating_sub(1));
    if !offset.is_multiple_of(PAGE) || !padding.is_some_and(|p| p.iter().all(|b| *b == b' ')) {
        return Err(SlotError::NoDelimiter);
    }
    let rest = bytes.len() - offset;
    let slot_len = rest / 2;
    if !rest.is_multiple_of(2) || slot_len == 0 || !slot_len.is_multiple_of(PAGE) {
        return Err(SlotError::BadSize);
    }
    let toml_part = bytes.get(..offset).ok_or(SlotError::NoDelimiter)?;
    Ok((toml_part, offset, slot_len))
}

/// Reads both slots after `offset` and returns the current state and the layout.
pub fn read(
    bytes: &[u8],
    offset: usize,
    slot_len: usize,
) -> Result<(LoginState, SlotLayout), SlotError> {
    let slot = |i: usize| {
        bytes
            .get(offset + i * slot_len..offset + (i + 1) * slot_len)
            .and_then(decode)
    };
    let (current, (seq, state)) = match (slot(0), slot(1)) {
        (Some(a), Some(b)) if b.0 > a.0 => (1, b),
        (Some(a), _) => (0, a),
        (None, Some(b)) => (1, b),
        (None, None) => return Err(SlotError::NoValidSlot),
    };
    let layout = SlotLayout {
        offset,
        slot_len,
        current,
        seq,
    };
    Ok((state, layout))
}

/// The delimiter line, padded with spaces so that it ends on a page boundary after `toml_len`
/// bytes of TOML text.
pub fn delimiter_line(toml_len: usize) -> String {
    let min_end = toml_len + STATE_DELIMITER.len() + 1;
    let end = min_end.div_ceil(PAGE) * PAGE;
    let mut line = String::with_capacity(end - toml_len);
    line.push_str(STATE_DELIMITER);
    line.extend(std::iter::repeat_n(' ', end - min_end));
    line.push('\n');
    line
}

/// The smallest slot length (a multiple of [`PAGE`]) that holds `state`.
pub fn slot_len_for(state: &LoginState) -> usize {
    let content = content(state, u64::MAX);
    // Content, " sum=", the checksum and the final newline.
    let needed = content.len() + 5 + 2 * SUM_BYTES + 1;
    needed.div_ceil(PAGE) * PAGE
}

/// Slot bytes for `state` with sequence number `seq`, exactly `slot_len` long; None when the
/// state does not fit (the file must then be rewritten with longer slots).
pub fn encode(state: &LoginState, seq: u64, slot_len: usize) -> Option<Vec<u8>> {
    let mut text = content(state, seq);
    let sum = checksum(&text);
    text.push_str(" sum=");
    text.push_str(&sum);
    if text.len() + 1 > slot_len {
        return None;
    }
    let mut bytes = text.into_bytes();
    bytes.resize(slot_len - 1, b' ');
    bytes.push(b'\n');
    Some(bytes)
}

/// An empty slot (no valid state): what the slot not written yet holds.
pub fn blank(slot_len: usize) -> Vec<u8> {
    let mut bytes = vec![b' '; slot_len];
    if let Some(first) = bytes.first_mut() {
        *first = b'#';
    }
    if let Some(last) = bytes.last_mut() {
        *last = b'\n';
    }
    bytes
}

/// The checksummed part of a slot.
fn content(state: &LoginState, seq: u64) -> String {
    let mut text = String::with_capacity(64 + state.checks.len() * 11);
    text.push_str(SLOT_PREFIX);
    text.push_str("seq=");
    text.push_str(&seq.to_string());
    text.push_str(" last_step=");
    match state.last_step {
        Some(step) => text.push_str(&step.to_string()),
        None => text.push('-'),
    }
    text.push_str(" checks=");
    for (i, t) in state.checks.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&t.to_string());
    }
    text
}

fn checksum(content: &str) -> String {
    let digest = Sha256::digest(content.as_bytes());
    crate::hex::encode(digest.get(..SUM_BYTES).unwrap_or_default())
}

/// The sequence number and state of one slot, or None when it is not a whole valid slot (torn,
/// zeroed, blank or edited).
fn decode(slot: &[u8]) -> Option<(u64, LoginState)> {
    let (last, body) = slot.split_last()?;
    if *last != b'\n' {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    let text = text.trim_end_matches(' ');
    let (content, sum) = text.rsplit_once(" sum=")?;
    // Plain equality: the checksum guards against torn writes, not an attacker (whoever can
    // write the file can compute it).
    if sum.len() != 2 * SUM_BYTES || checksum(content) != sum {
        return None;
    }
    let mut fields = content.strip_prefix(SLOT_PREFIX)?.split(' ');
    let seq = fields.next()?.strip_prefix("seq=")?.parse().ok()?;
    let last_step = match fields.next()?.strip_prefix("last_step=")? {
        "-" => None,
        step => Some(step.parse().ok()?),
    };
    let checks_text = fields.next()?.strip_prefix("checks=")?;
    if fields.next().is_some() {
        return None;
    }
    let checks = if checks_text.is_empty() {
        Vec::new()
    } else {
        checks_text
            .split(',')
            .map(|t| t.parse().ok())
            .collect::<Option<Vec<u64>>>()?
    };
    Some((seq, LoginState { last_step, checks }))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(last_step: Option<u64>, checks: &[u64]) -> LoginState {
        LoginState {
            last_step,
            checks: checks.to_vec(),
        }
    }

    /// A file with `toml` as its TOML part and the two slot images.
    fn file(toml: &str, slot0: &[u8], slot1: &[u8]) -> Vec<u8> {
        let mut bytes = toml.as_bytes().to_vec();
        bytes.extend_from_slice(delimiter_line(toml.len()).as_bytes());
        bytes.extend_from_slice(slot0);
        bytes.extend_from_slice(slot1);
        bytes
    }

    fn read_all(bytes: &[u8]) -> Result<(LoginState, SlotLayout), SlotError> {
        let (_, offset, len) = split(bytes)?;
        read(bytes, offset, len)
    }

    #[test]
    fn a_slot_round_trips_and_the_newer_one_wins() {
        let old = state(Some(10), &[1, 2]);
        let new = state(Some(11), &[1, 2, 3]);
        let a = encode(&old, 4, PAGE).unwrap();
        let b = encode(&new, 5, PAGE).unwrap();
        assert_eq!(a.len(), PAGE);
        let bytes = file("version = 2\n", &a, &b);
        assert_eq!(bytes.len(), 3 * PAGE);
        let (got, layout) = read_all(&bytes).unwrap();
        assert_eq!(got, new);
        assert_eq!((layout.current, layout.seq, layout.next_slot()), (1, 5, 0));
        assert_eq!(layout.slot_offset(1), 2 * PAGE as u64);
        let swapped = file("version = 2\n", &b, &a);
        assert_eq!(read_all(&swapped).unwrap().0, new);
        assert_eq!(read_all(&swapped).unwrap().1.current, 0);
    }

    #[test]
    fn empty_state_and_blank_slots() {
        let empty = LoginState::default();
        let a = encode(&empty, 1, PAGE).unwrap();
        let bytes = file("x = 1\n", &blank(PAGE), &a);
        assert_eq!(read_all(&bytes).unwrap().0, empty);
        let none = file("x = 1\n", &blank(PAGE), &blank(PAGE));
        assert_eq!(read_all(&none), Err(SlotError::NoValidSlot));
    }

    /// A crash while slot 0 is being overwritten leaves any mix of its new and old bytes, or
    /// zeroes: the reader gets the state of slot 1 (the last one made durable) or, if the new
    /// write landed whole, the new state: never anything else.
    #[test]
    fn every_torn_or_zeroed_write_reads_as_the_old_or_the_new_state() {
        let durable = state(Some(100), &[5, 6, 7]);
        let older = state(Some(90), &[1]);
        let newer = state(Some(101), &[5, 6, 7, 8]);
        let old_slot0 = encode(&older, 6, PAGE).unwrap();
        let slot1 = encode(&durable, 7, PAGE).unwrap();
        let new_slot0 = encode(&newer, 8, PAGE).unwrap();
        for cut in 0..=PAGE {
            for fill in [None, Some(0u8)] {
                let mut torn = new_slot0[..cut].to_vec();
                match fill {
                    None => torn.extend_from_slice(&old_slot0[cut..]),
                    Some(z) => torn.resize(PAGE, z),
                }
                let bytes = file("version = 2\n", &torn, &slot1);
                let (got, _) = read_all(&bytes).unwrap();
                let whole = torn == new_slot0;
                assert!(
                    got == durable || (whole && got == newer),
                    "cut {cut} fill {fill:?}: {got:?}"
                );
            }
        }
        // Sector-sized pieces landing out of order.
        for sector in 0..PAGE / 512 {
            let mut torn = old_slot0.clone();
            torn[sector * 512..(sector + 1) * 512]
                .copy_from_slice(&new_slot0[sector * 512..(sector + 1) * 512]);
            let (got, _) = read_all(&file("version = 2\n", &torn, &slot1)).unwrap();
            let whole = torn == new_slot0;
            assert!(
                got == durable || (whole && got == newer),
                "sector {sector}: {got:?}"
            );
        }
    }

    #[test]
    fn a_state_that_does_not_fit_asks_for_longer_slots() {
        let big = state(Some(1), &vec![1_764_000_000; 1000]);
        assert!(encode(&big, 1, PAGE).is_none());
        let len = slot_len_for(&big);
        assert_eq!(len % PAGE, 0);
        let slot = encode(&big, u64::MAX, len).unwrap();
        let bytes = file("version = 2\n", &slot, &blank(len));
        assert_eq!(read_all(&bytes).unwrap().0, big);
        assert_eq!(slot_len_for(&LoginState::default()), PAGE);
    }

    #[test]
    fn the_delimiter_ends_on_a_page_boundary() {
        for toml_len in [
            0,
            1,
            100,
            PAGE - STATE_DELIMITER.len() - 1,
            PAGE - 1,
            PAGE,
            5000,
        ] {
            let line = delimiter_line(toml_len);
            assert_eq!((toml_len + line.len()) % PAGE, 0, "{toml_len}");
            assert!(line.starts_with(STATE_DELIMITER) && line.ends_with('\n'));
        }
    }

    #[test]
    fn malformed_layouts_are_refused() {
        let slot = encode(&LoginState::default(), 1, PAGE).unwrap();
        let good = file("version = 2\n", &slot, &blank(PAGE));
        assert!(read_all(&good).is_ok());
        assert_eq!(read_all(&good[..good.len() - 1]), Err(SlotError::BadSize));
        assert_eq!(read_all(&good[..2 * PAGE]), Err(SlotError::BadSize));
        assert_eq!(read_all(b"version = 2\n"), Err(SlotError::NoDelimiter));
        // A delimiter whose padding was edited no longer ends on the boundary.
        let mut shifted = good.clone();
        shifted.insert(20, b' ');
        shifted.pop();
        assert!(read_all(&shifted).is_err());
        // Slot text edited by hand: the checksum no longer matches.
        let edited = String::from_utf8(slot.clone())
            .unwrap()
            .replacen("checks=", "checks=1", 1)
            .into_bytes();
        let edited = file("version = 2\n", &edited[..PAGE], &blank(PAGE));
        assert_eq!(read_all(&edited), Err(SlotError::NoValidSlot));
    }
}
