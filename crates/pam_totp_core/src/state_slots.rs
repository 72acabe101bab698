//! Where a version-2 secret file keeps its login state: two slots after the settings, each
//! on pages of its own, rewritten in place by one small write and `fdatasync`.
//!
//! ```text
//! [settings: header comments, version = 2, secret, parameters, recovery hashes; T bytes]
//! #<spaces>\n                                                        padding
//! # pam_totp login state: the settings above end at byte 0000312; ... \n   ends at P
//! #pam_totp-state seq=7 last_step=... checks=... sum=...\n  #<spaces>\n     slot 0, L bytes
//! #pam_totp-state seq=8 last_step=... checks=... sum=...\n  #<spaces>\n     slot 1, L bytes
//! ```
//!
//! P and L are multiples of 4096, so writing one slot never rewrites a page (or sector) of the
//! other, and the file ends with the slots: a reader finds the fixed-length delimiter line at
//! `len - 2L` (L = 4096 almost always) without searching, and the settings' length in it. Each
//! slot's first line carries a sequence number and a checksum over that line; the rest of the
//! slot is padding. A reader takes the valid slot with the higher sequence number. A writer
//! always overwrites the other slot, so the newest state that was made durable is never
//! touched: a write torn by a crash (new bytes at the start, old ones after, or zeroes) fails
//! its checksum and the previous state stands. The file size never changes in place, so
//! `fdatasync` has no metadata to flush. When the settings change (recovery code used, new
//! enrollment) or the state outgrows its slot, the whole file is replaced instead (temporary
//! file and rename). Every line is a TOML comment, so an intact file is a TOML document.

use crate::login_state::LoginState;
use crate::remember::RememberedHost;
use sha2::{Digest, Sha256};

/// Slot length and alignment unit: a page on every Linux system (and a multiple of any sector).
pub const PAGE: usize = 4096;
/// The delimiter line: this, the settings' length in [`LENGTH_DIGITS`] digits, [`DELIMITER_END`].
const DELIMITER_START: &str = "# pam_totp login state: the settings above end at byte ";
const DELIMITER_END: &str =
    "; two state slots follow, rewritten in place at each login: do not edit\n";
const LENGTH_DIGITS: usize = 7;
const DELIMITER_LEN: usize = DELIMITER_START.len() + LENGTH_DIGITS + DELIMITER_END.len();
/// How every valid slot starts.
const SLOT_PREFIX: &str = "#pam_totp-state ";
/// Bytes of SHA-256 kept as the slot checksum (as hex).
const SUM_BYTES: usize = 8;

/// Where the state slots of a version-2 file are, and which one holds the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotLayout {
    /// Offset of slot 0 (the end of the delimiter line, a multiple of [`PAGE`]).
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
    /// No delimiter line where two slots of whole pages would begin.
    NoDelimiter,
    /// Neither slot is valid (a crash tears at most one: the file was damaged otherwise).
    NoValidSlot,
}

/// Finds the slots of a version-2 file: returns its settings (the TOML text before the
/// padding and delimiter), the offset of slot 0 and the slot length.
pub fn split(bytes: &[u8]) -> Result<(&[u8], usize, usize), SlotError> {
    let len = bytes.len();
    let mut slot_len = PAGE;
    while 2 * slot_len + DELIMITER_LEN <= len {
        let offset = len - 2 * slot_len;
        let settings_len = bytes
            .get(offset - DELIMITER_LEN..offset)
            .and_then(settings_len_in);
        if let Some(settings_len) = settings_len.filter(|n| *n <= offset - DELIMITER_LEN) {
            if offset.is_multiple_of(PAGE) {
                let settings = bytes.get(..settings_len).ok_or(SlotError::NoDelimiter)?;
                return Ok((settings, offset, slot_len));
            }
        }
        slot_len += PAGE;
    }
    Err(SlotError::NoDelimiter)
}

/// The settings' length a delimiter line states, if `line` is one.
fn settings_len_in(line: &[u8]) -> Option<usize> {
    let rest = line.strip_prefix(DELIMITER_START.as_bytes())?;
    let (digits, end) = rest.split_at_checked(LENGTH_DIGITS)?;
    if end != DELIMITER_END.as_bytes() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Reads the slots after `offset` and returns the current state and the layout: the valid
/// slot with the higher sequence number. The slot that claims the higher number is checked
/// first; the other one is checked only when that one is not valid.
pub fn read(
    bytes: &[u8],
    offset: usize,
    slot_len: usize,
) -> Result<(LoginState, SlotLayout), SlotError> {
    let slot = |i: usize| {
        bytes
            .get(offset + i * slot_len..offset + (i + 1) * slot_len)
            .unwrap_or_default()
    };
    let newer_first = match (claimed_seq(slot(0)), claimed_seq(slot(1))) {
        (Some(a), Some(b)) if b > a => [1, 0],
        (None, Some(_)) => [1, 0],
        _ => [0, 1],
    };
    for current in newer_first {
        if let Some((seq, state)) = decode(slot(current)) {
            let layout = SlotLayout {
                offset,
                slot_len,
                current,
                seq,
            };
            return Ok((state, layout));
        }
    }
    Err(SlotError::NoValidSlot)
}

/// The sequence number a slot's first line states, before its checksum is checked: read as
/// [`decode`] reads it (the field up to the next space).
fn claimed_seq(slot: &[u8]) -> Option<u64> {
    let rest = slot
        .strip_prefix(SLOT_PREFIX.as_bytes())?
        .strip_prefix(b"seq=")?;
    let end = rest.iter().position(|b| *b == b' ' || *b == b'\n')?;
    std::str::from_utf8(rest.get(..end)?).ok()?.parse().ok()
}

/// What follows `settings_len` bytes of settings: padding and the delimiter line, ending on a
/// page boundary. None when the settings are too long to be stated.
pub fn delimiter_after(settings_len: usize) -> Option<String> {
    let digits = format!("{settings_len:0width$}", width = LENGTH_DIGITS);
    if digits.len() != LENGTH_DIGITS {
        return None;
    }
    let end = (settings_len + DELIMITER_LEN).div_ceil(PAGE) * PAGE;
    let mut text = Vec::with_capacity(end - settings_len);
    push_padding(&mut text, end - settings_len - DELIMITER_LEN);
    text.extend_from_slice(DELIMITER_START.as_bytes());
    text.extend_from_slice(digits.as_bytes());
    text.extend_from_slice(DELIMITER_END.as_bytes());
    String::from_utf8(text).ok()
}

/// Appends `len` bytes of comment: nothing, a blank line, or `#`, spaces and a line break.
fn push_padding(out: &mut Vec<u8>, len: usize) {
    match len {
        0 => {}
        1 => out.push(b'\n'),
        n => {
            out.push(b'#');
            // One fill, not a push per space: a slot is mostly padding, written at each login.
            out.resize(out.len() + n - 2, b' ');
            out.push(b'\n');
        }
    }
}

/// The smallest slot length (a multiple of [`PAGE`]) that holds `state`.
pub fn slot_len_for(state: &LoginState) -> usize {
    (state_text(state, u64::MAX).len() + SUM_SUFFIX_LEN).div_ceil(PAGE) * PAGE
}

/// Slot bytes for `state` with sequence number `seq`, exactly `slot_len` long; None when the
/// state does not fit (the file must then be rewritten with longer slots).
pub fn encode(state: &LoginState, seq: u64, slot_len: usize) -> Option<Vec<u8>> {
    let line = state_line(state, seq);
    let rest = slot_len.checked_sub(line.len())?;
    let mut bytes = Vec::with_capacity(slot_len);
    bytes.extend_from_slice(line.as_bytes());
    push_padding(&mut bytes, rest);
    Some(bytes)
}

/// An empty slot (no valid state): what the slot not written yet holds.
pub fn blank(slot_len: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(slot_len);
    push_padding(&mut bytes, slot_len);
    bytes
}

/// The first line of a slot: the state, its sequence number and the checksum.
fn state_line(state: &LoginState, seq: u64) -> String {
    let mut text = state_text(state, seq);
    let sum = checksum(&text);
    text.push_str(" sum=");
    text.push_str(&sum);
    text.push('\n');
    text
}

/// What ` sum=<checksum>\n` adds to a state line.
const SUM_SUFFIX_LEN: usize = " sum=".len() + 2 * SUM_BYTES + 1;

/// A state line without its checksum.
fn state_text(state: &LoginState, seq: u64) -> String {
    let mut text = String::with_capacity(96 + state.checks.len() * 11 + state.marks.len() * 21);
    text.push_str(SLOT_PREFIX);
    text.push_str("seq=");
    text.push_str(&seq.to_string());
    // One token (every file before tokens existed): `last_step=`, as version 2 has always
    // written it; several: `marks=`, one value per token in the file's order.
    text.push_str(if state.marks.len() == 1 {
        " last_step="
    } else {
        " marks="
    });
    for (i, mark) in state.marks.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        match mark {
            Some(value) => text.push_str(&value.to_string()),
            None => text.push('-'),
        }
    }
    text.push_str(" checks=");
    for (i, t) in state.checks.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&t.to_string());
    }
    if !state.remembered.is_empty() {
        // Host names as hex: no space, comma or line break can come from PAM_RHOST.
        text.push_str(" hosts=");
        for (i, r) in state.remembered.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&crate::hex::encode(r.host.as_bytes()));
            text.push(':');
            text.push_str(&r.at.to_string());
        }
    }
    text
}

fn checksum(content: &str) -> String {
    let digest = Sha256::digest(content.as_bytes());
    crate::hex::encode(digest.get(..SUM_BYTES).unwrap_or_default())
}

/// The sequence number and state of one slot, or None when its first line is not a whole,
/// valid state line (torn, zeroed, blank or edited).
fn decode(slot: &[u8]) -> Option<(u64, LoginState)> {
    if !slot.starts_with(SLOT_PREFIX.as_bytes()) {
        return None;
    }
    let end = slot.iter().position(|b| *b == b'\n')?;
    let text = std::str::from_utf8(slot.get(..end)?).ok()?;
    let (content, sum) = text.rsplit_once(" sum=")?;
    // Plain equality: the checksum guards against torn writes, not an attacker (whoever can
    // write the file can compute it).
    if sum.len() != 2 * SUM_BYTES || checksum(content) != sum {
        return None;
    }
    let mut fields = content.strip_prefix(SLOT_PREFIX)?.split(' ');
    let seq = fields.next()?.strip_prefix("seq=")?.parse().ok()?;
    let marks_field = fields.next()?;
    let marks = match marks_field.strip_prefix("last_step=") {
        Some(one) => vec![decode_mark(one)?],
        None => {
            let several = marks_field.strip_prefix("marks=")?;
            several
                .split(',')
                .map(decode_mark)
                .collect::<Option<Vec<_>>>()?
        }
    };
    let checks_text = fields.next()?.strip_prefix("checks=")?;
    let remembered = match fields.next() {
        None => Vec::new(),
        Some(hosts) => decode_hosts(hosts.strip_prefix("hosts=")?)?,
    };
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
    Some((
        seq,
        LoginState {
            marks,
            checks,
            remembered,
        },
    ))
}

/// One token's mark: a number, or `-` for nothing accepted yet.
fn decode_mark(text: &str) -> Option<Option<u64>> {
    match text {
        "-" => Some(None),
        value => value.parse().ok().map(Some),
    }
}

/// `hex(host):time,...` back into remembered hosts.
fn decode_hosts(text: &str) -> Option<Vec<RememberedHost>> {
    text.split(',')
        .map(|entry| {
            let (host, at) = entry.split_once(':')?;
            let host = String::from_utf8(crate::hex::decode(host.as_bytes())?).ok()?;
            Some(RememberedHost {
                host,
                at: at.parse().ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(last_step: Option<u64>, checks: &[u64]) -> LoginState {
        LoginState {
            marks: vec![last_step],
            checks: checks.to_vec(),
            remembered: Vec::new(),
        }
    }

    #[test]
    fn remembered_hosts_round_trip_whatever_their_bytes() {
        let mut s = state(Some(3), &[1]);
        for (i, host) in ["10.0.0.1", "h st,x:y\nz", "::1", "bücher.example"]
            .iter()
            .enumerate()
        {
            crate::remember::record(&mut s.remembered, host, 100 + i as u64);
        }
        let slot = encode(&s, 9, PAGE).unwrap();
        let line_end = slot.iter().position(|b| *b == b'\n').unwrap();
        assert!(!slot[..line_end].contains(&b'\n'));
        let bytes = file("version = 2\n", &slot, &blank(PAGE));
        assert_eq!(read_all(&bytes).unwrap().0, s);
    }

    /// Several tokens: one mark each, `-` for none, in order; one token: `last_step=` as
    /// version 2 files have always had it.
    #[test]
    fn marks_round_trip() {
        let mut s = state(None, &[5]);
        s.marks = vec![Some(7), None, Some(u64::MAX)];
        let slot = encode(&s, 3, PAGE).unwrap();
        assert!(
            slot.starts_with(b"#pam_totp-state seq=3 marks=7,-,18446744073709551615 checks=5 sum=")
        );
        let bytes = file("version = 3\n", &slot, &blank(PAGE));
        assert_eq!(read_all(&bytes).unwrap().0, s);
        let one = encode(&state(Some(4), &[]), 1, PAGE).unwrap();
        assert!(one.starts_with(b"#pam_totp-state seq=1 last_step=4 checks= sum="));
        for bad in ["marks=", "marks=1,,2", "marks=x", "last_step=1,2"] {
            let line = format!("seq=1 {bad} checks=");
            let sum = checksum(&format!("{SLOT_PREFIX}{line}"));
            let slot = format!("{SLOT_PREFIX}{line} sum={sum}\n");
            assert_eq!(decode(slot.as_bytes()), None, "{bad}");
        }
    }

    /// A file with `toml` as its settings and the two slot images.
    fn file(toml: &str, slot0: &[u8], slot1: &[u8]) -> Vec<u8> {
        let mut bytes = toml.as_bytes().to_vec();
        bytes.extend_from_slice(delimiter_after(toml.len()).unwrap().as_bytes());
        bytes.extend_from_slice(slot0);
        bytes.extend_from_slice(slot1);
        bytes
    }

    fn read_all(bytes: &[u8]) -> Result<(LoginState, SlotLayout), SlotError> {
        let (settings, offset, len) = split(bytes)?;
        assert!(bytes.starts_with(settings));
        read(bytes, offset, len)
    }

    /// True when `torn` starts with the whole first line of `new`.
    fn has_whole_line_of(torn: &[u8], new: &[u8]) -> bool {
        let line = new.iter().position(|b| *b == b'\n').unwrap() + 1;
        torn.starts_with(&new[..line])
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
        let empty = LoginState::new(1);
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
                let whole = has_whole_line_of(&torn, &new_slot0);
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
            let whole = has_whole_line_of(&torn, &new_slot0);
            assert!(
                got == durable || (whole && got == newer),
                "sector {sector}: {got:?}"
            );
        }
    }

    /// The slot read first is the one whose number `decode` reads as the higher, whatever
    /// way it is written (`+9` parses as 9 there too).
    #[test]
    fn the_higher_number_wins_however_it_is_written() {
        let older = state(Some(3), &[]);
        let newer = state(Some(9), &[]);
        let a = encode(&older, 3, PAGE).unwrap();
        let text = state_text(&newer, 9).replacen("seq=9", "seq=+9", 1);
        let mut b = format!("{text} sum={}\n", checksum(&text)).into_bytes();
        let len = b.len();
        push_padding(&mut b, PAGE - len);
        let (got, layout) = read_all(&file("version = 2\n", &a, &b)).unwrap();
        assert_eq!((got, layout.current, layout.seq), (newer, 1, 9));
    }

    /// Slots are sized without computing a checksum: the line's length must be the same.
    #[test]
    fn the_sized_line_is_the_written_line() {
        for st in [
            LoginState::new(1),
            state(Some(7), &[1, 2, 3]),
            state(None, &vec![1_764_000_000; 300]),
        ] {
            for seq in [0, 9, u64::MAX] {
                let line = state_line(&st, seq);
                assert_eq!(line.len(), state_text(&st, seq).len() + SUM_SUFFIX_LEN);
                assert!(line.ends_with('\n'));
            }
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
        assert_eq!(slot_len_for(&LoginState::new(1)), PAGE);
    }

    #[test]
    fn the_delimiter_ends_on_a_page_boundary_and_states_the_settings_length() {
        for toml_len in [
            0,
            1,
            100,
            PAGE - DELIMITER_LEN - 2,
            PAGE - DELIMITER_LEN - 1,
        ] {
            let text = delimiter_after(toml_len).unwrap();
            assert_eq!((toml_len + text.len()) % PAGE, 0, "{toml_len}");
            assert!(text.ends_with(DELIMITER_END));
            let line = &text.as_bytes()[text.len() - DELIMITER_LEN..];
            assert_eq!(settings_len_in(line), Some(toml_len));
        }
        for toml_len in [PAGE - DELIMITER_LEN, PAGE - 1, PAGE, 5000] {
            let text = delimiter_after(toml_len).unwrap();
            assert_eq!((toml_len + text.len()) % PAGE, 0, "{toml_len}");
        }
        assert!(delimiter_after(10_000_000).is_none());
        // Every byte of the padding is a TOML comment or a line break.
        for gap in 0..4 {
            let mut p = Vec::new();
            push_padding(&mut p, gap);
            assert_eq!(p.len(), gap);
            assert!(p.is_empty() || p.ends_with(b"\n"));
        }
    }

    #[test]
    fn malformed_layouts_are_refused() {
        let slot = encode(&LoginState::new(1), 1, PAGE).unwrap();
        let good = file("version = 2\n", &slot, &blank(PAGE));
        assert!(read_all(&good).is_ok());
        assert_eq!(
            read_all(&good[..good.len() - 1]),
            Err(SlotError::NoDelimiter)
        );
        assert_eq!(read_all(&good[..2 * PAGE]), Err(SlotError::NoDelimiter));
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
        // The padding of a slot is not part of the state: editing it changes nothing.
        let mut padded = slot.clone();
        padded[PAGE - 2] = b'x';
        assert!(read_all(&file("version = 2\n", &padded, &blank(PAGE))).is_ok());
        assert_eq!(read_all(&edited), Err(SlotError::NoValidSlot));
    }
}
