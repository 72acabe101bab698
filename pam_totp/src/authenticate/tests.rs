//! Every rule of the login flow, both ways, against a scripted PAM stack, user database and
//! secret store at a fixed time: no root, no libpam. Codes come from an independent
//! implementation (`reference`), and no log line may contain anything the user typed.

mod enroll;
mod mocks;
mod policy;
mod reference;
mod remember;

use super::*;
use crate::options::{DEFAULT_PROMPT, FORWARD_PASS_PROMPT};
use mocks::{Journal, MockPam, MockStore, MockUsers, Stage};
use pam_totp_core::recovery::RecoveryHash;
use pam_totp_core::secret::TotpSecret;
use pam_totp_core::secret_file::{Algorithm, SecretFile};
use std::path::PathBuf;

/// RFC 6238's SHA1 test key.
const KEY: &[u8] = b"12345678901234567890";
/// The fixed clock: one of RFC 6238's test times.
const NOW: u64 = 1_111_111_109;
/// The time step of [`NOW`].
const STEP: u64 = NOW / 30;
/// The enrolled user's recovery codes.
const RECOVERY: [&str; 2] = ["abcde-fghjk", "mnpqr-stvwx"];
/// The password typed in front of the code on a `forward_pass` line.
const PASSWORD: &str = "hunter2";

/// The code `offset` time steps from now.
fn code(offset: i64) -> String {
    let t = NOW.checked_add_signed(30 * offset).unwrap();
    reference::totp(KEY, t, 6)
}

/// A 6-digit code that no step within 2 of now has.
fn wrong_code() -> String {
    let near: Vec<String> = (-2..=2).map(code).collect();
    ["000000", "111111", "222222"]
        .into_iter()
        .find(|c| !near.iter().any(|n| n == c))
        .unwrap()
        .to_string()
}

fn alice() -> Account {
    Account {
        name: "alice".into(),
        uid: 1000,
        gid: 1000,
        home: PathBuf::from("/home/alice"),
    }
}

fn enrollment() -> SecretFile {
    let secret = TotpSecret::from_bytes(KEY.to_vec()).unwrap();
    let mut file = SecretFile::new(secret, Algorithm::SHA1, 6, 30);
    file.recovery = RECOVERY
        .iter()
        .enumerate()
        .map(|(i, c)| RecoveryHash::new([i as u8; 16], c).unwrap())
        .collect();
    file
}

/// One PAM transaction's environment: alice exists; enrolled or not.
struct Env {
    pam: MockPam,
    users: MockUsers,
    store: MockStore,
    journal: Journal,
    /// What the user typed or earlier modules set: never to be logged.
    secrets: Vec<String>,
    /// The store the module under test serves (the mock stands in for it).
    serves: Store,
}

impl Env {
    fn not_enrolled() -> Self {
        let journal = Journal::default();
        let mut users = MockUsers::default();
        users.add(alice(), &[]);
        let store = MockStore::default();
        store.shelf().journal = journal.clone();
        Env {
            pam: MockPam::new("alice", journal.clone()),
            users,
            store,
            journal,
            secrets: Vec::new(),
            serves: Store::File,
        }
    }

    fn enrolled() -> Self {
        let env = Env::not_enrolled();
        env.store
            .shelf()
            .records
            .insert("alice".into(), enrollment());
        env
    }

    /// The user will type `answers`, in order.
    fn answers(mut self, answers: &[&str]) -> Self {
        for a in answers {
            self.secret(a);
            self.pam.answers.push_back(a.to_string());
        }
        self
    }

    /// The user will type [`PASSWORD`] and then `code` into one field.
    fn typing_password_and(self, code: &str) -> Self {
        let mut env = self.answers(&[&format!("{PASSWORD}{code}")]);
        env.secret(PASSWORD);
        env.secret(code);
        env
    }

    /// An earlier module set PAM_AUTHTOK.
    fn authtok(mut self, tok: &str) -> Self {
        self.secret(tok);
        self.pam.authtok = Some(tok.to_string());
        self
    }

    /// `text` must never appear in a log line.
    fn secret(&mut self, text: &str) {
        self.secrets.push(text.to_string());
    }

    /// Runs the module with `args` at [`NOW`]; checks that no log line holds a secret.
    fn run(&mut self, args: &[&str]) -> Verdict {
        self.run_at(args, NOW)
    }

    /// Runs the module with `args` at Unix time `now`; checks that no log line holds a
    /// secret.
    fn run_at(&mut self, args: &[&str], now: u64) -> Verdict {
        let store = self.store.clone();
        let open_store = |opts: &ModuleOptions| {
            store.shelf().template = Some(opts.secret_template.clone());
            store
        };
        let verdict = authenticate(
            &mut self.pam,
            &self.users,
            self.serves,
            open_store,
            args,
            now,
        );
        for line in self.pam.lines() {
            for secret in &self.secrets {
                assert!(
                    !line.contains(secret.as_str()),
                    "a log line shows {secret:?}: {line:?}"
                );
            }
        }
        verdict
    }

    fn record(&self) -> SecretFile {
        self.store.record("alice")
    }

    fn events(&self) -> Vec<String> {
        self.journal.events()
    }

    fn logged(&self, level: Level, text: &str) -> bool {
        self.pam.logged(level, text)
    }

    /// The user whose split-off code no `check_forwarded` line accepted (the alarm's user).
    fn unsettled_user(&self) -> Option<String> {
        self.pam
            .kept
            .as_ref()
            .and_then(|k| k.unsettled_user().map(str::to_string))
    }
}

const ASK_CODE: &str = "ask Verification code: ";

#[test]
fn the_right_code_lets_in_after_the_file_was_opened_and_saves_under_the_lock() {
    let mut env = Env::enrolled().answers(&[&code(0)]);
    assert_eq!(env.run(&[]), Verdict::Success);
    assert_eq!(env.pam.prompts, [DEFAULT_PROMPT]);
    assert_eq!(env.pam.fail_delay, Some(FAIL_DELAY_MICROS));
    assert!(env.logged(
        Level::Info,
        "accepted verification code; user=alice drift_steps=0"
    ));
    assert_eq!(
        env.events(),
        ["locate alice", "open", ASK_CODE, "lock", "save", "unlock"]
    );
    let state = env.record().state;
    assert_eq!(state.marks, [Some(STEP)]);
    assert_eq!(state.checks, [NOW]);
    assert_eq!(
        env.store.0.borrow().template.as_deref(),
        Some("~/.pam_totp.toml")
    );
}

#[test]
fn a_wrong_code_is_refused_counted_and_logged_with_a_safe_host() {
    let mut env = Env::enrolled().answers(&[&wrong_code()]);
    env.pam.rhost = Some("192.0.2.1\nforged".into());
    assert_eq!(env.run(&[]), Verdict::AuthErr);
    assert!(env.logged(
        Level::Notice,
        "authentication failure; user=alice rhost=192.0.2.1?forged reason=wrong code"
    ));
    assert_eq!(env.record().state.checks, [NOW]);
    assert_eq!(env.record().state.marks[0], None);
}

#[test]
fn input_that_is_no_code_is_refused_and_counted() {
    let mut env = Env::enrolled().answers(&["hunter2!"]);
    assert_eq!(env.run(&[]), Verdict::AuthErr);
    assert!(env.logged(Level::Notice, "reason=input is not a code"));
    assert_eq!(env.record().state.checks, [NOW]);
}

#[test]
fn no_answer_from_the_conversation_is_refused_without_counting() {
    let mut env = Env::enrolled();
    assert_eq!(env.run(&[]), Verdict::AuthErr);
    assert!(env.logged(Level::Notice, "reason=conversation gave no answer"));
    assert!(!env.events().contains(&"lock".to_string()));
    assert!(env.record().state.checks.is_empty());
}

#[test]
fn no_user_name_is_refused() {
    let mut env = Env::enrolled();
    env.pam.user = Err("pam_get_user returned PAM_CONV_ERR".into());
    assert_eq!(env.run(&["nullok"]), Verdict::AuthErr);
    assert!(env.logged(
        Level::Error,
        "cannot get the user name: pam_get_user returned PAM_CONV_ERR"
    ));
    assert!(env.events().is_empty());
}

#[test]
fn nullok_lets_a_user_without_a_file_through_unasked() {
    let mut env = Env::not_enrolled();
    assert_eq!(env.run(&["nullok", "debug"]), Verdict::Ignore);
    assert!(env.pam.prompts.is_empty());
    assert!(env.logged(
        Level::Debug,
        "user=alice not enrolled (/mock/alice.toml does not exist); nullok lets the stack decide"
    ));
    // Without debug, nothing is logged.
    let mut quiet = Env::not_enrolled();
    assert_eq!(quiet.run(&["nullok"]), Verdict::Ignore);
    assert!(quiet.pam.log.is_empty());
}

#[test]
fn without_nullok_a_user_without_a_file_is_asked_then_refused() {
    let mut env = Env::not_enrolled().answers(&[&code(0)]);
    assert_eq!(env.run(&[]), Verdict::AuthErr);
    assert_eq!(env.pam.prompts, [DEFAULT_PROMPT]);
    assert!(env.logged(
        Level::Notice,
        "authentication failure; user=alice rhost= reason=not enrolled (/mock/alice.toml does not exist); run totp-enroll or add nullok"
    ));
}

#[test]
fn an_unknown_user_is_not_enrolled_both_ways() {
    let mut with = Env::enrolled();
    with.pam.user = Ok("mallory".into());
    assert_eq!(with.run(&["nullok"]), Verdict::Ignore);
    assert!(with.pam.prompts.is_empty());

    let mut without = Env::enrolled().answers(&["123456"]);
    without.pam.user = Ok("mallory".into());
    assert_eq!(without.run(&[]), Verdict::AuthErr);
    assert_eq!(without.pam.prompts, [DEFAULT_PROMPT]);
    assert!(without.logged(
        Level::Notice,
        "user=mallory rhost= reason=not enrolled (unknown user); run totp-enroll or add nullok"
    ));
    assert!(with.events().iter().all(|e| !e.starts_with("locate")));
}

#[test]
fn a_failing_user_database_is_refused_even_with_nullok() {
    for args in [&["nullok"][..], &[]] {
        let mut env = Env::enrolled().answers(&[&code(0)]);
        env.users.down = true;
        assert_eq!(env.run(args), Verdict::AuthErr, "{args:?}");
        // Asked as an enrolled user would be, and never "not enrolled".
        assert_eq!(env.pam.prompts, [DEFAULT_PROMPT]);
        assert!(env.logged(
            Level::Error,
            "cannot look up user=alice in the passwd database: the directory server did not answer"
        ));
        assert!(env.pam.lines().iter().all(|l| !l.contains("not enrolled")));
        assert_eq!(env.events(), [ASK_CODE]);
    }
}

#[test]
fn the_canonical_name_from_the_user_database_finds_the_file() {
    let mut env = Env::enrolled().answers(&[&code(0)]);
    env.users.add(alice(), &["Alice"]);
    env.pam.user = Ok("Alice".into());
    assert_eq!(
        env.run(&["secret=/var/lib/pam_totp/%u.toml"]),
        Verdict::Success
    );
    assert_eq!(env.events()[0], "locate alice");
    assert_eq!(
        env.store.0.borrow().template.as_deref(),
        Some("/var/lib/pam_totp/%u.toml")
    );
}

#[test]
fn a_user_name_unusable_in_a_path_is_asked_then_refused() {
    let mut env = Env::enrolled().answers(&["123456"]);
    let mut dotted = alice();
    dotted.name = ".alice".into();
    env.users.add(dotted, &["alias"]);
    env.pam.user = Ok("alias".into());
    assert_eq!(env.run(&["nullok"]), Verdict::AuthErr);
    assert_eq!(env.pam.prompts, [DEFAULT_PROMPT]);
    assert!(env.logged(
        Level::Error,
        "user=alias rhost= reason=user name not usable in a file path"
    ));
    assert_eq!(env.events(), [ASK_CODE]);
}

#[test]
fn a_refused_file_is_asked_then_refused_even_with_nullok() {
    for (stage, why) in [
        (
            Stage::Locate,
            "directory /mock is writable by group or others",
        ),
        (Stage::Open, "/mock/alice.toml is accessible by other users"),
    ] {
        for args in [&["nullok"][..], &[]] {
            let mut env = Env::enrolled().answers(&[&code(0)]);
            env.store.shelf().refuse = Some(stage);
            assert_eq!(env.run(args), Verdict::AuthErr, "{stage:?} {args:?}");
            // The prompt is shown, so that it does not tell who is enrolled.
            assert_eq!(env.pam.prompts, [DEFAULT_PROMPT]);
            let line = format!("refusing secret file of user=alice: {why}");
            assert!(env.logged(Level::Error, &line), "{:?}", env.pam.log);
            // Known before the user typed anything; the record was never read.
            assert_eq!(env.events().last().map(String::as_str), Some(ASK_CODE));
            assert!(env.record().state.checks.is_empty());
        }
    }
}

#[test]
fn a_file_locked_by_another_login_too_long_is_refused() {
    let mut env = Env::enrolled().answers(&[&code(0)]);
    env.store.shelf().locked_elsewhere = true;
    assert_eq!(env.run(&[]), Verdict::AuthErr);
    assert!(env.logged(
        Level::Error,
        "refusing secret file of user=alice: /mock/alice.toml stayed locked by another login"
    ));
    assert_eq!(env.record().state.marks[0], None);
}

#[test]
fn a_store_that_cannot_work_is_a_service_error() {
    let mut env = Env::enrolled().answers(&[&code(0)]);
    env.store.shelf().misconfigured = true;
    assert_eq!(env.run(&["nullok"]), Verdict::ServiceErr);
    assert!(env.logged(Level::Error, "configuration error: the store cannot work"));
    assert!(env.pam.prompts.is_empty());
}

#[test]
fn a_bad_option_is_a_service_error_before_anything_else() {
    let mut env = Env::enrolled().answers(&[&code(0)]);
    assert_eq!(env.run(&["nulok"]), Verdict::ServiceErr);
    assert!(env.logged(
        Level::Error,
        "configuration error: unknown option \"nulok\""
    ));
    assert!(env.pam.lines()[0].ends_with("; fix the pam.d line"));
    assert!(env.pam.prompts.is_empty());
    assert_eq!(env.pam.fail_delay, None);
    assert!(env.events().is_empty());
    assert_eq!(env.store.0.borrow().template, None);
}

#[test]
fn use_first_pass_takes_the_code_from_the_earlier_module() {
    let mut env = Env::enrolled().authtok(&code(0));
    assert_eq!(env.run(&["use_first_pass"]), Verdict::Success);
    assert!(env.pam.prompts.is_empty());
    assert_eq!(env.record().state.marks[0], Some(STEP));
}

#[test]
fn use_first_pass_without_an_earlier_password_fails_unasked() {
    let mut env = Env::enrolled().answers(&[&code(0)]);
    assert_eq!(env.run(&["use_first_pass"]), Verdict::AuthErr);
    assert!(env.pam.prompts.is_empty());
    assert!(env.logged(
        Level::Error,
        "reason=use_first_pass but no earlier module set a password"
    ));
    assert!(env.record().state.checks.is_empty());
}

#[test]
fn try_first_pass_takes_an_authtok_shaped_like_this_users_code() {
    let mut env = Env::enrolled().authtok(&code(0));
    assert_eq!(env.run(&["try_first_pass"]), Verdict::Success);
    assert!(env.pam.prompts.is_empty());
    assert_eq!(
        env.events(),
        ["locate alice", "open", "lock", "save", "unlock"]
    );
}

#[test]
fn try_first_pass_takes_a_recovery_code_from_the_authtok() {
    let mut env = Env::enrolled().authtok(RECOVERY[0]);
    assert_eq!(env.run(&["try_first_pass"]), Verdict::Success);
    assert!(env.pam.prompts.is_empty());
    assert!(env.logged(
        Level::Notice,
        "accepted recovery code; user=alice recovery_codes_left=1"
    ));
}

#[test]
fn try_first_pass_asks_when_the_authtok_is_a_password_without_holding_the_lock() {
    for password in ["Summer2024", "12345678", "1234567"] {
        let mut env = Env::enrolled().authtok(password).answers(&[&code(0)]);
        assert_eq!(env.run(&["try_first_pass"]), Verdict::Success, "{password}");
        assert_eq!(env.pam.prompts, [DEFAULT_PROMPT]);
        // The lock taken to read the number of digits is released before the user types,
        // and the record is located and opened again.
        assert_eq!(
            env.events(),
            [
                "locate alice",
                "open",
                "lock",
                "unlock",
                "locate alice",
                "open",
                ASK_CODE,
                "lock",
                "save",
                "unlock"
            ]
        );
        // The password was not spent as a code.
        assert_eq!(env.record().state.checks, [NOW]);
    }
}

#[test]
fn try_first_pass_without_an_authtok_asks() {
    let mut env = Env::enrolled().answers(&[&code(0)]);
    assert_eq!(env.run(&["try_first_pass"]), Verdict::Success);
    assert_eq!(env.pam.prompts, [DEFAULT_PROMPT]);
}

#[test]
fn forward_pass_splits_hands_the_password_on_and_keeps_the_code() {
    let mut env = Env::enrolled().typing_password_and(&code(0));
    assert_eq!(env.run(&["forward_pass"]), Verdict::Ignore);
    assert_eq!(env.pam.prompts, [FORWARD_PASS_PROMPT]);
    assert_eq!(env.pam.authtok.as_deref(), Some(PASSWORD));
    // Read without the lock, nothing counted or used before the password is checked.
    assert_eq!(
        env.events(),
        [
            "locate alice",
            "snapshot",
            "ask Password & verification code: "
        ]
    );
    assert!(env.record().state.checks.is_empty());
    assert_eq!(env.unsettled_user().as_deref(), Some("alice"));

    // The check_forwarded line after the password module.
    assert_eq!(env.run(&["check_forwarded"]), Verdict::Success);
    assert_eq!(env.pam.prompts.len(), 1);
    assert_eq!(env.record().state.marks[0], Some(STEP));
    assert_eq!(env.unsettled_user(), None);
}

#[test]
fn forward_pass_splits_a_recovery_code_off() {
    let mut env = Env::enrolled().typing_password_and(RECOVERY[1]);
    assert_eq!(env.run(&["forward_pass"]), Verdict::Ignore);
    assert_eq!(env.pam.authtok.as_deref(), Some(PASSWORD));
    assert_eq!(env.run(&["check_forwarded"]), Verdict::Success);
    assert_eq!(env.record().recovery.len(), 1);
}

#[test]
fn forward_pass_hands_the_field_on_whole_for_a_user_not_enrolled_under_nullok() {
    let mut env = Env::not_enrolled().answers(&["hunter2123456"]);
    assert_eq!(env.run(&["forward_pass", "nullok"]), Verdict::Ignore);
    assert_eq!(env.pam.prompts, [PASSWORD_PROMPT]);
    assert_eq!(env.pam.authtok.as_deref(), Some("hunter2123456"));
    // Nothing was split off: no alarm if the check line is missing.
    assert_eq!(env.unsettled_user(), None);
    // The check line uses the forward_pass line's nullok.
    assert_eq!(env.run(&["check_forwarded"]), Verdict::Ignore);
    assert_eq!(env.pam.prompts.len(), 1);
}

#[test]
fn forward_pass_without_nullok_splits_for_a_user_not_enrolled_and_the_check_refuses() {
    let mut env = Env::not_enrolled().typing_password_and("123456");
    assert_eq!(env.run(&["forward_pass"]), Verdict::Ignore);
    assert_eq!(env.pam.prompts, [FORWARD_PASS_PROMPT]);
    assert_eq!(env.pam.authtok.as_deref(), Some(PASSWORD));
    assert_eq!(env.run(&["check_forwarded"]), Verdict::AuthErr);
    assert!(env.logged(Level::Notice, "reason=not enrolled ("));
    assert_eq!(env.unsettled_user().as_deref(), Some("alice"));
}

#[test]
fn forward_pass_with_a_refused_file_still_only_splits_and_the_check_refuses() {
    for stage in [Stage::Locate, Stage::Open] {
        let mut env = Env::enrolled().typing_password_and(&code(0));
        env.store.shelf().refuse = Some(stage);
        assert_eq!(
            env.run(&["forward_pass", "nullok", "debug"]),
            Verdict::Ignore
        );
        assert_eq!(env.pam.prompts, [FORWARD_PASS_PROMPT]);
        assert_eq!(env.pam.authtok.as_deref(), Some(PASSWORD));
        match stage {
            Stage::Locate => assert!(env.logged(Level::Error, "refusing secret file of user=alice")),
            Stage::Open => assert!(env.logged(
                Level::Debug,
                "forward_pass: /mock/alice.toml is accessible by other users (check_forwarded will refuse)"
            )),
        }
        assert_eq!(env.run(&["check_forwarded"]), Verdict::AuthErr, "{stage:?}");
        assert_eq!(env.unsettled_user().as_deref(), Some("alice"));
    }
}

#[test]
fn forward_pass_fails_when_the_password_cannot_be_handed_on() {
    let mut env = Env::enrolled().typing_password_and(&code(0));
    env.pam.authtok_settable = false;
    assert_eq!(env.run(&["forward_pass"]), Verdict::AuthErr);
    assert!(env.logged(
        Level::Error,
        "forward_pass: cannot set PAM_AUTHTOK for the next module"
    ));
    assert!(env.pam.kept.is_none());
}

#[test]
fn forward_pass_fails_when_the_code_cannot_be_kept() {
    let mut env = Env::enrolled().typing_password_and(&code(0));
    env.pam.keeps_data = false;
    assert_eq!(env.run(&["forward_pass"]), Verdict::AuthErr);
    assert!(env.logged(
        Level::Error,
        "forward_pass: libpam could not keep the code for check_forwarded"
    ));
}

#[test]
fn check_forwarded_without_a_kept_code_refuses_unasked() {
    let mut env = Env::enrolled().answers(&[&code(0)]);
    assert_eq!(env.run(&["check_forwarded"]), Verdict::AuthErr);
    assert!(env.logged(
        Level::Error,
        "check_forwarded: no code was kept for user=alice: this line must come after 'auth required pam_totp.so forward_pass'"
    ));
    assert!(env.pam.prompts.is_empty());
    assert!(env.events().is_empty());
}

#[test]
fn check_forwarded_takes_the_kept_code_once() {
    let mut env = Env::enrolled().typing_password_and(&code(0));
    assert_eq!(env.run(&["forward_pass"]), Verdict::Ignore);
    assert_eq!(env.run(&["check_forwarded"]), Verdict::Success);
    assert_eq!(env.run(&["check_forwarded"]), Verdict::AuthErr);
    assert!(env.logged(Level::Error, "check_forwarded: no code was kept"));
}

#[test]
fn forward_pass_with_store_ldap_is_checked_only_by_the_ldap_module() {
    let mut env = Env::enrolled().typing_password_and(&code(0));
    env.serves = Store::Ldap;
    assert_eq!(env.run(&["forward_pass", "store=ldap"]), Verdict::Ignore);
    // The check line ran in the file store's module: refused, the code not looked at.
    env.serves = Store::File;
    assert_eq!(env.run(&["check_forwarded"]), Verdict::AuthErr);
    assert!(env.logged(
        Level::Error,
        "user=alice: the options in force use store=ldap but this module serves store=file"
    ));
    assert!(env.record().state.checks.is_empty());
    assert_eq!(env.record().state.marks[0], None);
    assert_eq!(env.unsettled_user().as_deref(), Some("alice"));
}

#[test]
fn forward_pass_with_store_ldap_and_its_check_line_in_the_ldap_module() {
    let mut env = Env::enrolled().typing_password_and(&code(0));
    env.serves = Store::Ldap;
    assert_eq!(env.run(&["forward_pass", "store=ldap"]), Verdict::Ignore);
    assert_eq!(env.run(&["check_forwarded"]), Verdict::Success);
    assert_eq!(env.record().state.marks[0], Some(STEP));
    assert_eq!(env.unsettled_user(), None);
}

#[test]
fn a_store_ldap_line_is_refused_by_the_file_module() {
    let mut env = Env::enrolled().answers(&[&code(0)]);
    assert_eq!(env.run(&["store=ldap"]), Verdict::AuthErr);
    assert!(env.logged(
        Level::Error,
        "use store=ldap but this module serves store=file"
    ));
    assert!(env.pam.prompts.is_empty());
}

#[test]
fn check_forwarded_refuses_a_code_kept_for_another_user() {
    let mut env = Env::enrolled().typing_password_and(&code(0));
    assert_eq!(env.run(&["forward_pass"]), Verdict::Ignore);
    let mut bob = alice();
    bob.name = "bob".into();
    env.users.add(bob, &[]);
    env.store.shelf().records.insert("bob".into(), enrollment());
    env.pam.user = Ok("bob".into());
    assert_eq!(env.run(&["check_forwarded"]), Verdict::AuthErr);
    assert!(env.logged(
        Level::Error,
        "check_forwarded: the code was kept for another user than user=bob (PAM_USER changed in between); refusing"
    ));
    assert_eq!(env.unsettled_user().as_deref(), Some("alice"));
    assert!(env.store.record("bob").state.checks.is_empty());
}

#[test]
fn check_forwarded_refuses_a_wrong_kept_code_and_counts_it() {
    let wrong = wrong_code();
    let mut env = Env::enrolled().typing_password_and(&wrong);
    assert_eq!(env.run(&["forward_pass", "window=2"]), Verdict::Ignore);
    assert_eq!(env.run(&["check_forwarded"]), Verdict::AuthErr);
    assert!(env.logged(Level::Notice, "reason=wrong code"));
    assert_eq!(env.record().state.checks, [NOW]);
    assert_eq!(env.unsettled_user().as_deref(), Some("alice"));
}

#[test]
fn the_rate_limit_refuses_without_looking_at_the_code_and_tells_the_user() {
    let mut env = Env::enrolled().answers(&[&code(0)]);
    let mut file = enrollment();
    file.state.checks = vec![NOW - 10, NOW - 5, NOW - 1];
    env.store.shelf().records.insert("alice".into(), file);
    assert_eq!(env.run(&[]), Verdict::AuthErr);
    assert_eq!(
        env.pam.told,
        ["Too many verification attempts; try again in 20 seconds."]
    );
    assert!(env.logged(
        Level::Warning,
        "reason=rate limit of 3 checks per 30 s reached, code not checked, retry in 20 s"
    ));
    // The right code was not used up, and nothing was written.
    assert_eq!(env.record().state.marks[0], None);
    assert!(!env.events().contains(&"save".to_string()));
}

#[test]
fn a_prompt_answered_late_counts_against_the_checks_made_meanwhile() {
    // The prompt was shown at NOW; while it was open, other logins made three checks 40 s
    // later. The answer arrives at NOW + 45: against the time the prompt was shown those checks
    // lie in the future and would fall out of the window (each late answer would then reset
    // the count); against the time of the check they are the last three, so it is refused.
    let mut env = Env::enrolled().answers(&[&code(0)]);
    let mut file = enrollment();
    file.state.checks = vec![NOW + 40, NOW + 41, NOW + 42];
    env.store.shelf().records.insert("alice".into(), file);
    env.pam.clock = Some(NOW + 45);
    assert_eq!(env.run(&["rate_limit=3/30"]), Verdict::AuthErr);
    assert!(env.logged(
        Level::Warning,
        "reason=rate limit of 3 checks per 30 s reached"
    ));
    assert_eq!(env.record().state.marks[0], None);
}

#[test]
fn a_code_is_checked_at_the_time_it_is_typed() {
    // The prompt was shown at NOW and answered two minutes later with the code of that moment.
    let late = NOW + 120;
    let mut env = Env::enrolled().answers(&[&code(4)]);
    env.pam.clock = Some(late);
    assert_eq!(env.run(&[]), Verdict::Success);
    assert_eq!(env.record().state.checks, [late]);
}

#[test]
fn below_the_rate_limit_the_code_is_checked() {
    let mut env = Env::enrolled().answers(&[&code(0)]);
    let mut file = enrollment();
    file.state.checks = vec![NOW - 40, NOW - 10, NOW - 5];
    env.store.shelf().records.insert("alice".into(), file);
    assert_eq!(env.run(&["rate_limit=3/30"]), Verdict::Success);
    assert!(env.pam.told.is_empty());
}

#[test]
fn a_code_is_accepted_once() {
    let mut env = Env::enrolled().answers(&[&code(0), &code(0), &code(1)]);
    assert_eq!(env.run(&[]), Verdict::Success);
    assert_eq!(env.run(&[]), Verdict::AuthErr);
    let replayed = format!("reason=replayed code (time step {STEP} was already used)");
    assert!(env.logged(Level::Warning, &replayed));
    // A later step's code is still good.
    assert_eq!(env.run(&[]), Verdict::Success);
    assert_eq!(env.record().state.marks[0], Some(STEP + 1));
}

#[test]
fn drift_within_the_window_is_accepted_and_beyond_it_refused() {
    for (offset, args, verdict) in [
        (1, &[][..], Verdict::Success),
        (-1, &[], Verdict::Success),
        (2, &[], Verdict::AuthErr),
        (-2, &[], Verdict::AuthErr),
        (2, &["window=2"], Verdict::Success),
        (1, &["window=0"], Verdict::AuthErr),
    ] {
        let mut env = Env::enrolled().answers(&[&code(offset)]);
        assert_eq!(env.run(args), verdict, "{offset} {args:?}");
        if verdict == Verdict::Success {
            let line = format!("accepted verification code; user=alice drift_steps={offset}");
            assert!(env.logged(Level::Info, &line), "{:?}", env.pam.log);
        } else {
            assert!(env.logged(Level::Notice, "reason=wrong code"));
        }
    }
}

#[test]
fn a_recovery_code_is_accepted_once() {
    let mut env = Env::enrolled().answers(&[RECOVERY[0], RECOVERY[0]]);
    assert_eq!(env.run(&[]), Verdict::Success);
    assert!(env.logged(
        Level::Notice,
        "accepted recovery code; user=alice recovery_codes_left=1"
    ));
    assert_eq!(env.record().recovery.len(), 1);
    assert_eq!(env.run(&[]), Verdict::AuthErr);
    assert!(env.logged(Level::Notice, "reason=wrong code"));
}

#[test]
fn after_a_recovery_code_the_user_is_told_how_many_are_left() {
    // Four codes: after the first, three are left (information); after the second, two
    // (a warning with the command that makes new ones); then one, then none.
    let codes = ["abcde-fghjk", "mnpqr-stvwx", "23456-789ab", "cdefg-hjkmn"];
    let mut file = enrollment();
    file.recovery = codes
        .iter()
        .enumerate()
        .map(|(i, c)| RecoveryHash::new([i as u8; 16], c).unwrap())
        .collect();
    let mut env = Env::enrolled().answers(&codes);
    env.store.shelf().records.insert("alice".into(), file);
    assert_eq!(env.run(&["rate_limit=10/30"]), Verdict::Success);
    assert_eq!(
        env.pam.informed,
        ["Recovery code accepted; 3 recovery codes left."]
    );
    assert!(env.pam.told.is_empty());
    for left in ["2 recovery codes", "1 recovery code", "no recovery codes"] {
        assert_eq!(env.run(&["rate_limit=10/30"]), Verdict::Success);
        let warning = format!(
            "Recovery code accepted; only {left} left. Make a new set with: totp-enroll recovery-codes"
        );
        assert_eq!(env.pam.told.last(), Some(&warning));
    }
    assert_eq!(env.pam.informed.len(), 1);
    assert_eq!(env.pam.told.len(), 3);
    assert!(env.logged(
        Level::Notice,
        "accepted recovery code; user=alice recovery_codes_left=0"
    ));
}

#[test]
fn a_time_code_or_a_refused_recovery_code_tells_nothing_about_recovery_codes() {
    let mut env = Env::enrolled().answers(&[&code(0), "zzzzz-zzzzz"]);
    assert_eq!(env.run(&[]), Verdict::Success);
    assert_eq!(env.run(&[]), Verdict::AuthErr);
    assert!(env.pam.informed.is_empty() && env.pam.told.is_empty());
}

#[test]
fn a_recovery_code_through_forward_pass_is_followed_by_the_count() {
    let mut env = Env::enrolled().typing_password_and(RECOVERY[0]);
    assert_eq!(env.run(&["forward_pass"]), Verdict::Ignore);
    assert!(env.pam.told.is_empty());
    assert_eq!(env.run(&["check_forwarded"]), Verdict::Success);
    assert_eq!(
        env.pam.told,
        ["Recovery code accepted; only 1 recovery code left. Make a new set with: totp-enroll recovery-codes"]
    );
}

#[test]
fn a_login_whose_state_cannot_be_saved_is_refused() {
    let mut env = Env::enrolled().answers(&[&code(0)]);
    env.store.shelf().save_fails = true;
    assert_eq!(env.run(&[]), Verdict::AuthErr);
    assert!(env.logged(
        Level::Error,
        "cannot save login state of user=alice (login refused to keep codes single-use): cannot write /mock/alice.toml: No space left on device"
    ));
    assert!(!env.logged(Level::Info, "accepted"));
    assert_eq!(env.record().state.marks[0], None);
}

#[test]
fn a_login_that_lost_a_race_is_refused_and_logged_as_such() {
    let mut env = Env::enrolled().answers(&[&code(0)]);
    env.store.shelf().save_conflicts = true;
    assert_eq!(env.run(&[]), Verdict::AuthErr);
    assert!(env.logged(
        Level::Error,
        "login of user=alice lost a race: another login changed alice's record first (refused: a code is accepted only once)"
    ));
    assert!(!env.logged(Level::Info, "accepted"));
    assert_eq!(env.record().state.marks[0], None);
}
