//! `enroll`: a user whose record has a place but does not exist is shown a new key (QR code,
//! URI, key), types its code, and is enrolled (record written once, recovery codes shown
//! once); a wrong first code writes nothing; a conversation that cannot show the key refuses.

use super::*;
use crate::authenticate::enroll::STORED_PROMPT;
use pam_totp_core::enrollment::RECOVERY_CODES;
use pam_totp_core::recovery;

/// alice is not enrolled, but her record has a place (her home exists).
fn placed() -> Env {
    let env = Env::not_enrolled();
    env.store.shelf().places.push("alice".into());
    env
}

/// The key shown to the user (the last `Key:` line of the messages and prompts seen).
fn shown_key(seen: &[String]) -> Option<Vec<u8>> {
    let line = seen
        .iter()
        .rev()
        .find_map(|text| text.lines().find_map(|l| l.trim().strip_prefix("Key: ")))?;
    let secret = TotpSecret::from_base32(&line.replace(' ', "")).ok()?;
    Some(secret.as_bytes().to_vec())
}

/// The user types the current code of the key shown (by the independent reference).
fn types_the_shown_code(env: &mut Env) {
    env.pam.responder = Some(Box::new(|informed: &[String]| {
        shown_key(informed).map(|k| reference::totp(&k, NOW, 6))
    }));
}

#[test]
fn a_user_without_a_record_is_shown_the_key_and_enrolled_by_a_right_first_code() {
    let mut env = placed();
    types_the_shown_code(&mut env);
    assert_eq!(env.run(&["enroll"]), Verdict::Success);

    // Shown: a plain-text QR code (no escape or control characters), the URI and the key.
    let shown = &env.pam.informed[0];
    assert!(
        !shown.chars().any(|c| c.is_control() && c != '\n'),
        "{shown}"
    );
    assert!(shown.contains('█'));
    let key = shown_key(&env.pam.informed[..1]).unwrap();
    assert_eq!(key.len(), 20);
    let b32 = TotpSecret::from_bytes(key.clone()).unwrap().to_base32();
    assert!(shown.contains(&format!(
        "URI: otpauth://totp/box:alice%40box?secret={}&issuer=box",
        b32.as_str()
    )));
    // The QR code starts on a line of its own (sshd's client prefixes the first line).
    let second = shown.lines().nth(1).unwrap();
    assert!(second.chars().all(|c| "█▀▄ ".contains(c)), "{shown}");
    // The code, then the recovery codes are shown with a prompt of their own.
    assert_eq!(env.pam.prompts, [DEFAULT_PROMPT, STORED_PROMPT]);

    // Written once, as totp-enroll writes it: the key, the accepted step, no counted
    // checks, when it was created, the recovery codes' hashes.
    let record = env.record();
    let token = record.first_token();
    assert_eq!(token.secret.as_bytes(), key.as_slice());
    assert_eq!((token.digits, token.period()), (6, Some(30)));
    assert_eq!((token.name.as_str(), record.version()), ("default", 2));
    assert_eq!(record.state.marks[0], Some(STEP));
    assert!(record.state.checks.is_empty());
    assert!(record.created.is_some());
    assert_eq!(record.recovery.len(), RECOVERY_CODES);
    assert_eq!(
        env.events(),
        [
            "locate alice",
            "open",
            ASK_CODE,
            "locate alice",
            "create",
            &format!("ask {}", STORED_PROMPT)
        ]
    );

    // The recovery codes are shown once, after the record was written, and work.
    assert_eq!(env.pam.informed.len(), 2);
    let codes: Vec<&str> = env.pam.informed[1]
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .collect();
    assert_eq!(codes.len(), RECOVERY_CODES);
    for (i, c) in codes.iter().enumerate() {
        assert_eq!(recovery::find(&record.recovery, c), Some(i));
    }
    assert!(env.logged(Level::Info, "enrolled at login; user=alice rhost="));
    // Neither the key nor the codes reach the log.
    for line in env.pam.lines() {
        assert!(!line.contains(b32.as_str()), "{line}");
        assert!(codes.iter().all(|c| !line.contains(c)), "{line}");
    }

    // The next login is an ordinary one, and the enrollment code cannot be replayed.
    let code = reference::totp(&key, NOW, 6);
    env.pam.informed.clear();
    env.pam.answers.push_back(code);
    assert_eq!(env.run(&["enroll"]), Verdict::AuthErr);
    assert!(env.pam.informed.is_empty());
    assert!(env.logged(Level::Warning, "replay"));
}

#[test]
fn a_user_who_takes_minutes_to_scan_the_code_is_enrolled_with_the_code_of_then() {
    // The QR code was shown at NOW; the phone shows the first code three minutes later.
    let late = NOW + 180;
    let mut env = placed();
    env.pam.clock = Some(late);
    env.pam.responder = Some(Box::new(move |informed: &[String]| {
        shown_key(informed).map(|k| reference::totp(&k, late, 6))
    }));
    assert_eq!(env.run(&["enroll"]), Verdict::Success);
    assert_eq!(env.record().state.marks[0], Some(late / 30));
}

#[test]
fn wrong_first_codes_write_nothing_within_the_rate_limit() {
    let mut env = placed().answers(&["000000", "111111"]);
    assert_eq!(env.run(&["enroll", "rate_limit=2/30"]), Verdict::AuthErr);
    assert_eq!(env.pam.prompts.len(), 2);
    // "Try again" once: not after the last try.
    assert_eq!(env.pam.told.len(), 1);
    assert!(env.store.0.borrow().records.is_empty());
    assert!(!env.events().contains(&"create".to_string()));
    assert!(env.logged(
        Level::Notice,
        "the first code was wrong 2 times, nothing written"
    ));
    // No recovery codes were shown.
    assert_eq!(env.pam.informed.len(), 1);
}

#[test]
fn a_right_code_after_a_wrong_one_enrolls() {
    let mut env = placed().answers(&["000000"]);
    types_the_shown_code(&mut env);
    assert_eq!(env.run(&["enroll"]), Verdict::Success);
    assert_eq!(env.pam.prompts.len(), 3);
    assert_eq!(env.record().state.marks[0], Some(STEP));
}

#[test]
fn a_record_that_cannot_be_written_fails_and_shows_no_recovery_codes() {
    let mut env = placed();
    env.store.shelf().save_fails = true;
    types_the_shown_code(&mut env);
    assert_eq!(env.run(&["enroll"]), Verdict::AuthErr);
    assert!(env.logged(
        Level::Error,
        "enroll: cannot write the new record of user=alice"
    ));
    assert_eq!(env.pam.informed.len(), 1);
    assert_eq!(env.pam.told, ["Enrollment failed; ask an administrator."]);
}

#[test]
fn no_place_for_a_record_is_not_enrolled_as_without_enroll() {
    let mut env = Env::not_enrolled().answers(&["123456"]);
    assert_eq!(env.run(&["enroll"]), Verdict::AuthErr);
    assert!(env.pam.informed.is_empty());
    assert!(env.logged(Level::Notice, "reason=not enrolled ("));
}

#[test]
fn without_enroll_nothing_changes() {
    let mut env = placed().answers(&["123456"]);
    assert_eq!(env.run(&[]), Verdict::AuthErr);
    assert!(env.pam.informed.is_empty());
    assert!(env.store.0.borrow().records.is_empty());
}

#[test]
fn an_enrolled_user_is_asked_as_usual() {
    let mut env = Env::enrolled().answers(&[&code(0)]);
    assert_eq!(env.run(&["enroll"]), Verdict::Success);
    assert!(env.pam.informed.is_empty());
    assert_eq!(env.record().recovery.len(), RECOVERY.len());
}

#[test]
fn a_refused_record_is_never_enrolled_over() {
    let mut env = Env::enrolled().answers(&["123456"]);
    env.store.shelf().refuse = Some(Stage::Open);
    assert_eq!(env.run(&["enroll"]), Verdict::AuthErr);
    assert!(env.pam.informed.is_empty());
    assert!(!env.events().contains(&"create".to_string()));
}

#[test]
fn forward_pass_cannot_show_the_key_and_check_forwarded_refuses_with_a_log_line() {
    let mut env = placed().typing_password_and("123456");
    assert_eq!(env.run(&["forward_pass", "enroll"]), Verdict::Ignore);
    assert_eq!(env.pam.prompts, [FORWARD_PASS_PROMPT]);
    assert!(env.pam.informed.is_empty());
    assert_eq!(env.run(&["check_forwarded"]), Verdict::AuthErr);
    assert!(env.logged(
        Level::Error,
        "enroll cannot show the key through a forward_pass conversation"
    ));
    assert!(env.store.0.borrow().records.is_empty());
}

#[test]
fn enroll_takes_no_value() {
    let mut env = placed();
    assert_eq!(env.run(&["enroll=yes"]), Verdict::ServiceErr);
}

#[test]
fn under_silence_the_texts_open_the_prompts_and_the_user_is_enrolled() {
    // PAM_SILENT (sudo always passes it) silences messages, not prompts.
    let mut env = placed().answers(&["000000"]);
    env.pam.silent = true;
    types_the_shown_code(&mut env);
    assert_eq!(env.run(&["enroll"]), Verdict::Success);
    assert!(env.pam.informed.is_empty() && env.pam.told.is_empty());
    let prompts = &env.pam.prompts;
    assert_eq!(prompts.len(), 3);
    assert!(prompts[0].contains('█') && prompts[0].contains("  Key: "));
    assert!(prompts[0].ends_with(&format!("code the app shows.\n{DEFAULT_PROMPT}")));
    assert!(prompts[1].starts_with("That code is not right"));
    assert!(prompts[1].ends_with(DEFAULT_PROMPT));
    assert!(prompts[2].contains("Recovery codes"));
    assert!(prompts[2].ends_with(STORED_PROMPT));
    assert_eq!(env.record().recovery.len(), RECOVERY_CODES);
    assert!(env.logged(Level::Info, "enrolled at login; user=alice"));
}

#[test]
fn enroll_wins_over_nullok_and_the_grace_period_for_a_user_with_a_place() {
    for option in ["nullok", "nullok_until=2099-12-31"] {
        let mut env = placed();
        types_the_shown_code(&mut env);
        assert_eq!(env.run(&["enroll", option]), Verdict::Success, "{option}");
        assert_eq!(env.record().recovery.len(), RECOVERY_CODES, "{option}");
        assert!(!env.logged(Level::Info, "grace period"), "{option}");
    }
}
