//! The per-user secret file parser (`pam_totp_core::secret_file::SecretFile::parse`).
//!
//! Invariants: parsing never panics; a file that parses can be written back (`to_toml`), the
//! written text parses to an equal file, and the canonical text is a fixed point. For a file
//! with state slots (format 2), a state update written in place into the other slot reads
//! back as the new state, and the same write cut short anywhere (a crash) reads back as the
//! old state or the new one, never anything else.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pam_totp_core::secret_file::SecretFile;
use pam_totp_core::state_slots;

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
    in_place_update(data, &file);
});

/// Writes a changed state into the slot that is not current, whole and cut short at a point
/// the input chooses, and reads each result back.
fn in_place_update(data: &[u8], file: &SecretFile) {
    let Ok((_, Some(slots))) = SecretFile::parse_with_slots(data) else {
        return;
    };
    let mut changed = file.state.clone();
    changed.checks.push(changed.checks.last().map_or(1, |t| t + 1));
    for mark in &mut changed.marks {
        *mark = Some(mark.map_or(0, |s| s.saturating_add(1)));
    }
    let Some(slot) = state_slots::encode(&changed, slots.seq + 1, slots.slot_len) else {
        return;
    };
    let at = usize::try_from(slots.slot_offset(slots.next_slot())).unwrap_or(usize::MAX);
    let Some(end) = at.checked_add(slot.len()).filter(|end| *end <= data.len()) else {
        panic!("a slot lies outside the file");
    };
    let mut whole = data.to_vec();
    whole[at..end].copy_from_slice(&slot);
    match SecretFile::parse(&whole) {
        Ok(back) => assert_eq!(back.state, changed, "the state written in place is not read"),
        Err(e) => panic!("a file with a state written in place does not parse: {e}"),
    }
    let cut = data.len() % slot.len();
    let mut torn = data.to_vec();
    torn[at..at + cut].copy_from_slice(&slot[..cut]);
    match SecretFile::parse(&torn) {
        Ok(back) => assert!(
            back.state == file.state || back.state == changed,
            "a torn write reads as a third state"
        ),
        Err(e) => panic!("a torn write makes the file unreadable: {e}"),
    }
}
