//! LdapStore against the real slapd: locate/open/lock/save as the login flow drives them, with
//! the clock passed to the code check (codes made by oathtool at the same time). A save moves
//! the watermark by compare-and-swap and writes the failure count; a stale save loses as a
//! conflict; a recovery code is deleted once; an HOTP-only user keeps its state on the HOTP
//! entry; malformed attributes, a dangling token DN and a base the identity cannot search
//! are refused, and only a missing entry (or one without tokens) is "not enrolled".

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

mod common;

use common::{config, Via};
use pam_totp_core::params::{RateLimit, DEFAULT_HOTP_WINDOW};
use pam_totp_core::recovery::RecoveryHash;
use pam_totp_core::store::{Located, LockedRecord, Record, RecordError, SecretStore};
use pam_totp_core::user_db::Account;
use pam_totp_core::verify::{self, Outcome, Policy};
use pam_totp_directory::{DirectoryError, LdapStore};
use pam_totp_tests::slapd::{
    base32_decode, base64_encode, params_dn, token_dn, totp_params_ldif, totp_token_ldif, user_dn,
    user_ldif, Slapd, TotpParams, RECOVERY_ATTR, RECOVERY_CLASS, SERVICE_DN, SERVICE_PASSWORD,
};
use pam_totp_tests::{needs_root, needs_slapd, oathtool, oathtool_hotp, KEY};

/// A fixed time for the code checks: the store never reads the clock.
const NOW: u64 = 1_796_119_433;
const POLICY: Policy = Policy {
    window: 1,
    hotp_window: DEFAULT_HOTP_WINDOW,
    rate_limit: RateLimit {
        max_checks: 3,
        seconds: 30,
    },
};

fn account(name: &str) -> Account {
    Account {
        name: name.into(),
        uid: 1000,
        gid: 1000,
        home: "/home/x".into(),
    }
}

/// TOTP user `alice` (token `alice-phone`, SHA1, 6 digits, 30 s).
fn with_alice(slapd: &Slapd) {
    slapd.add_ldif(&totp_params_ldif("totp-sha1-6", &TotpParams::default()));
    slapd.add_ldif(&totp_token_ldif("alice-phone", "totp-sha1-6", KEY));
    slapd.add_ldif(&user_ldif("alice", "alicepw", Some("alice-phone")));
}

fn found(store: &mut LdapStore, name: &str) -> pam_totp_directory::store::FoundEntries {
    match store.locate(&account(name)) {
        Located::Found(f) => f,
        Located::NotEnrolled(e) => panic!("not enrolled: {e}"),
        Located::Refused(e) => panic!("refused: {e}"),
        Located::ConfigError(e) => panic!("config: {e}"),
    }
}

fn locked(store: &mut LdapStore, name: &str) -> pam_totp_directory::store::ReadEntries {
    let f = found(store, name);
    let opened = store.open(f).unwrap_or_else(|e| panic!("open: {e}"));
    store.lock(opened).unwrap_or_else(|e| panic!("lock: {e}"))
}

fn check(record: &mut pam_totp_directory::store::ReadEntries, input: &str, now: u64) -> Outcome {
    verify::check(record.content_mut(), input, now, POLICY)
}

fn state(slapd: &Slapd, dn: &str, attr: &str) -> Option<String> {
    slapd.attribute(dn, attr)
}

/// Searches slapd logged with `dn` as their base (`-d stats`).
fn searches_of(slapd: &Slapd, dn: &str) -> usize {
    let wanted = format!("SRCH base=\"{dn}\"").to_ascii_lowercase();
    slapd
        .log()
        .lines()
        .filter(|l| l.to_ascii_lowercase().contains(&wanted))
        .count()
}

/// A login reads the parameters entry once, when it opens the user's entries; the token entry
/// (whose state the compare-and-swap needs fresh) again when it reads the state.
#[test]
fn a_login_reads_the_parameters_entry_once() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    with_alice(&slapd);
    let files = config(&slapd, Via::Ldaps);
    let params = params_dn("totp-sha1-6");
    let token = token_dn("alice-phone");
    let (params_before, token_before) = (searches_of(&slapd, &params), searches_of(&slapd, &token));

    let mut store = LdapStore::new(&files.path);
    let mut record = locked(&mut store, "alice");
    assert!(check(&mut record, &oathtool(KEY, &[], NOW), NOW).is_success());
    record.save().unwrap_or_else(|e| panic!("save: {e}"));

    // slapd writes its log as it goes: wait for the modify to be logged.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !slapd.log().contains("MOD dn=") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        searches_of(&slapd, &params) - params_before,
        1,
        "{}",
        slapd.log()
    );
    assert_eq!(
        searches_of(&slapd, &token) - token_before,
        2,
        "{}",
        slapd.log()
    );
}

/// A token enrolled again while the user types (a new `oathSecretTime`): the state read after
/// the answer comes with its parameters read again, not the ones read before the prompt.
#[test]
fn a_token_enrolled_again_meanwhile_has_its_parameters_read_again() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    with_alice(&slapd);
    let files = config(&slapd, Via::Ldaps);
    let params = params_dn("totp-sha1-6");
    let mut store = LdapStore::new(&files.path);
    let f = found(&mut store, "alice");
    let opened = store.open(f).unwrap_or_else(|e| panic!("open: {e}"));
    slapd.modify_ldif(&format!(
        "dn: {}\nchangetype: modify\nadd: oathSecretTime\noathSecretTime: 20261201000000Z\n",
        token_dn("alice-phone")
    ));
    slapd.modify_ldif(&format!(
        "dn: {params}\nchangetype: modify\nreplace: oathOTPLength\noathOTPLength: 8\n"
    ));
    let record = store.lock(opened).unwrap_or_else(|e| panic!("lock: {e}"));
    assert_eq!(record.content().first_token().digits, 8);
}

#[test]
fn a_code_moves_the_watermark_and_a_stale_save_loses() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    with_alice(&slapd);
    let files = config(&slapd, Via::Ldaps);
    let token = token_dn("alice-phone");
    let code = oathtool(KEY, &[], NOW);

    // Two logins read the same state, one of them on another connection (another host).
    let other_files = config(&slapd, Via::Ldapi);
    let mut store = LdapStore::new(&files.path);
    let mut other = LdapStore::new(&other_files.path);
    let mut a = locked(&mut store, "alice");
    assert_eq!(a.content().first_token().name, "alice-phone");
    assert_eq!(a.content().state.marks, vec![None]);
    let mut b = locked(&mut other, "alice");

    assert!(check(&mut a, &code, NOW).is_success());
    a.save().unwrap_or_else(|e| panic!("save: {e}"));
    let step = (NOW / 30).to_string();
    assert_eq!(
        state(&slapd, &token, "oathTOTPLastTimeStep"),
        Some(step.clone())
    );
    assert_eq!(
        state(&slapd, &token, "oathFailureCount").as_deref(),
        Some("1")
    );
    assert_eq!(
        state(&slapd, &token, "oathLastFailure"),
        Some(pam_totp_directory::generalized_time::format(NOW))
    );

    // B checked the same code against what it read before A's save: it matches, but the
    // save is a compare-and-swap against values that are gone.
    assert!(check(&mut b, &code, NOW).is_success());
    let err = b.save().expect_err("a stale save must fail");
    assert!(err.is_conflict() && !err.is_not_enrolled(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("another login changed uid=alice,ou=people") && text.contains("first"),
        "{text}"
    );
    assert_eq!(
        state(&slapd, &token, "oathTOTPLastTimeStep"),
        Some(step.clone())
    );

    // A new login sees the watermark: the code is a replay now, and the check is counted.
    let mut c = locked(&mut store, "alice");
    assert_eq!(c.content().state.marks, vec![Some(NOW / 30)]);
    assert!(matches!(
        check(&mut c, &code, NOW + 1),
        Outcome::Replayed { .. }
    ));
    c.save().unwrap();
    assert_eq!(
        state(&slapd, &token, "oathFailureCount").as_deref(),
        Some("2")
    );
    // The next step's code is accepted and moves the watermark again.
    let mut d = locked(&mut store, "alice");
    let next = oathtool(KEY, &[], NOW + 30);
    assert!(check(&mut d, &next, NOW + 30).is_success());
    d.save().unwrap();
    assert_eq!(
        state(&slapd, &token, "oathTOTPLastTimeStep"),
        Some((NOW / 30 + 1).to_string())
    );
}

#[test]
fn failures_are_counted_and_rate_limit_the_next_login() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    with_alice(&slapd);
    let files = config(&slapd, Via::StartTls);
    let token = token_dn("alice-phone");
    let mut store = LdapStore::new(&files.path);
    let wrong = pam_totp_tests::consumers::wrong_code(KEY);
    for i in 0..3u64 {
        let mut r = locked(&mut store, "alice");
        assert_eq!(check(&mut r, &wrong, NOW + i), Outcome::Wrong);
        r.save().unwrap();
        assert_eq!(
            state(&slapd, &token, "oathFailureCount"),
            Some((i + 1).to_string())
        );
    }
    // The fourth check within the window is refused before the code is looked at, even on
    // another connection: the count lives in the directory.
    let other_files = config(&slapd, Via::Ldapi);
    let mut other = LdapStore::new(&other_files.path);
    let mut r = locked(&mut other, "alice");
    assert_eq!(r.content().state.checks.len(), 3);
    let outcome = check(&mut r, &oathtool(KEY, &[], NOW + 3), NOW + 3);
    assert!(
        matches!(outcome, Outcome::RateLimited { .. }),
        "{outcome:?}"
    );
    drop(r);
    // Outside the window the count no longer limits, and starts again.
    let later = NOW + 100;
    let mut r = locked(&mut other, "alice");
    assert_eq!(check(&mut r, &wrong, later), Outcome::Wrong);
    r.save().unwrap();
    assert_eq!(
        state(&slapd, &token, "oathFailureCount").as_deref(),
        Some("1")
    );
    assert_eq!(
        state(&slapd, &token, "oathLastFailure"),
        Some(pam_totp_directory::generalized_time::format(later))
    );
}

#[test]
fn a_recovery_code_is_deleted_once() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    with_alice(&slapd);
    let token = token_dn("alice-phone");
    let codes = ["abcde-fghjk", "mnpqr-stvwx"];
    let hashes: Vec<String> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| RecoveryHash::new([i as u8 + 1; 16], c).unwrap().encode())
        .collect();
    slapd.modify_ldif(&format!(
        "dn: {token}\nchangetype: modify\nadd: objectClass\nobjectClass: {RECOVERY_CLASS}\n-\n\
         add: {RECOVERY_ATTR}\n{RECOVERY_ATTR}: {}\n{RECOVERY_ATTR}: {}\n",
        hashes[0], hashes[1]
    ));
    let files = config(&slapd, Via::Ldaps);
    let mut store = LdapStore::new(&files.path);
    let mut a = locked(&mut store, "alice");
    let mut b = locked(&mut store, "alice");
    assert_eq!(a.content().recovery.len(), 2);
    assert_eq!(
        check(&mut a, codes[0], NOW),
        Outcome::RecoveryAccepted { remaining: 1 }
    );
    a.save().unwrap();
    let left = slapd
        .values_as(SERVICE_DN, SERVICE_PASSWORD, &token, RECOVERY_ATTR)
        .unwrap();
    assert_eq!(left, [hashes[1].clone()]);
    // The same code, read before the delete: it matches, the save loses.
    assert!(check(&mut b, codes[0], NOW + 1).is_success());
    assert!(b.save().expect_err("used twice").is_conflict());
    // Read again: the code is gone.
    let mut c = locked(&mut store, "alice");
    assert_eq!(check(&mut c, codes[0], NOW + 2), Outcome::Wrong);
    c.save().unwrap();
    let left = slapd
        .values_as(SERVICE_DN, SERVICE_PASSWORD, &token, RECOVERY_ATTR)
        .unwrap();
    assert_eq!(left.len(), 1);
}

/// LDIF for HOTP user `uid` with token `cn` (8 digits, SHA1: oathtool makes HOTP codes with
/// SHA1 only) and its params entry.
fn hotp_user_ldif(uid: &str, cn: &str) -> String {
    format!(
        "dn: {params}\nobjectClass: device\nobjectClass: oathHOTPParams\ncn: {cn}-params\n\
         oathOTPLength: 8\noathHMACAlgorithm: 1.2.840.113549.2.7\noathHOTPLookAhead: 5\n\n\
         dn: {token}\nobjectClass: device\nobjectClass: oathHOTPToken\ncn: {cn}\n\
         oathHOTPParams: {params}\noathSecret:: {key}\n\n\
         dn: {user}\nobjectClass: inetOrgPerson\nobjectClass: oathHOTPUser\nuid: {uid}\n\
         cn: {uid}\nsn: {uid}\noathHOTPToken: {token}\n",
        params = params_dn(&format!("{cn}-params")),
        token = token_dn(cn),
        user = user_dn(uid),
        key = base64_encode(&base32_decode(KEY)),
    )
}

#[test]
fn an_hotp_user_keeps_its_state_on_the_hotp_entry() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    slapd.add_ldif(&hotp_user_ldif("bob", "bob-key"));
    let files = config(&slapd, Via::Ldaps);
    let mut store = LdapStore::new(&files.path);
    let token = token_dn("bob-key");
    let mut r = locked(&mut store, "bob");
    let first = r.content().first_token().clone();
    assert_eq!(first.name, "bob-key");
    assert_eq!((first.digits, first.period()), (8, None));
    assert_eq!(first.algorithm, pam_totp_core::params::Algorithm::SHA1);
    let code = oathtool_hotp(KEY, 2, &["--digits=8"]);
    assert!(check(&mut r, &code, NOW).is_success(), "counter 2's code");
    r.save().unwrap();
    assert_eq!(
        state(&slapd, &token, "oathHOTPCounter").as_deref(),
        Some("2")
    );
    assert_eq!(
        state(&slapd, &token, "oathFailureCount").as_deref(),
        Some("1")
    );
    // The same code again: the counter has moved past it.
    let mut r = locked(&mut store, "bob");
    assert_eq!(r.content().state.marks, vec![Some(2)]);
    assert!(!check(&mut r, &code, NOW + 1).is_success());
}

#[test]
fn malformed_entries_are_refused_before_the_prompt() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    let bad_oid = TotpParams {
        algorithm: "1.2.840.113549.2.8".into(),
        ..TotpParams::default()
    };
    let seven = TotpParams {
        digits: 7,
        ..TotpParams::default()
    };
    for (uid, params, wanted) in [
        ("carol", bad_oid, "oathHMACAlgorithm=1.2.840.113549.2.8"),
        ("dave", seven, "oathOTPLength=7"),
    ] {
        slapd.add_ldif(&totp_params_ldif(&format!("{uid}-params"), &params));
        slapd.add_ldif(&totp_token_ldif(
            &format!("{uid}-t"),
            &format!("{uid}-params"),
            KEY,
        ));
        slapd.add_ldif(&user_ldif(uid, "pw", Some(&format!("{uid}-t"))));
        let files = config(&slapd, Via::Ldaps);
        let mut store = LdapStore::new(&files.path);
        let f = found(&mut store, uid);
        let err = store.open(f).err().expect("malformed entry opened");
        let text = err.to_string();
        assert!(matches!(err, DirectoryError::Malformed { .. }), "{text}");
        assert!(!err.is_not_enrolled(), "{text}");
        assert!(
            text.contains(wanted) && text.contains("is not usable"),
            "{text}"
        );
        assert!(
            text.contains(&format!("cn={uid}-params,ou=params")),
            "{text}"
        );
    }
}

#[test]
fn only_a_missing_entry_is_not_enrolled() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    with_alice(&slapd);
    // eve: an entry without the OATH classes; frank: a token DN that names nothing.
    slapd.add_ldif(&user_ldif("eve", "pw", None));
    slapd.add_ldif(&user_ldif("frank", "pw", Some("gone")));
    let files = config(&slapd, Via::Ldaps);
    let mut store = LdapStore::new(&files.path);
    for name in ["nobody", "eve"] {
        match store.locate(&account(name)) {
            Located::NotEnrolled(e) => {
                assert!(e.is_not_enrolled(), "{e}");
                // The flow adds "not enrolled" and the fix; the store says why.
                let text = e.to_string();
                assert!(
                    text.contains(&format!(
                        "no directory entry with objectClass oathUser and uid={name}"
                    )),
                    "{text}"
                );
            }
            _ => panic!("{name} must be not enrolled"),
        }
    }
    // A filter metacharacter in the name is escaped, not a wildcard.
    assert!(matches!(
        store.locate(&account("a*")),
        Located::NotEnrolled(_)
    ));
    let f = found(&mut store, "frank");
    let err = store.open(f).err().expect("dangling token DN opened");
    assert!(matches!(err, DirectoryError::MissingEntry { .. }), "{err}");
    assert!(!err.is_not_enrolled());
    assert!(
        err.to_string()
            .contains("named by oathTOTPToken of uid=frank"),
        "{err}"
    );

    // Two entries for one name: refused, not a guess.
    let sub = format!("ou=sub,{}", pam_totp_tests::slapd::PEOPLE);
    slapd.add_ldif(&format!(
        "dn: {sub}\nobjectClass: organizationalUnit\nou: sub\n\n\
         dn: uid=alice,{sub}\nobjectClass: inetOrgPerson\nobjectClass: oathTOTPUser\n\
         uid: alice\ncn: alice\nsn: alice\noathTOTPToken: {}\n",
        token_dn("alice-phone")
    ));
    match store.locate(&account("alice")) {
        Located::Refused(e) => {
            assert!(
                matches!(e, DirectoryError::Ambiguous { count: 2, .. }),
                "{e}"
            );
            assert!(e.to_string().contains("user names must be unique"), "{e}");
        }
        _ => panic!("two entries must be refused"),
    }

    // An identity that cannot search the base (SASL EXTERNAL maps to nobody with rights
    // here) is refused, never taken for "no such user" (which nullok would let in).
    let external = config(&slapd, Via::LdapiExternal);
    let mut blind = LdapStore::new(&external.path);
    match blind.locate(&account("alice")) {
        Located::Refused(e) => {
            assert!(!e.is_not_enrolled());
            assert!(e.to_string().contains("search base"), "{e}");
        }
        other => panic!(
            "must be refused: {:?}",
            matches!(other, Located::NotEnrolled(_))
        ),
    }
}

#[test]
fn a_stopped_server_refuses_the_lock_within_the_timeout() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    with_alice(&slapd);
    let files = common::config_with(&slapd, Via::Ldaps, &slapd.ca_cert(), SERVICE_PASSWORD, 2);
    let mut store = LdapStore::new(&files.path);
    let f = found(&mut store, "alice");
    let opened = store.open(f).unwrap();
    slapd.pause();
    let began = std::time::Instant::now();
    let result = store.lock(opened);
    let took = began.elapsed();
    slapd.resume();
    let err = result.err().expect("no answer");
    assert!(matches!(err, DirectoryError::Timeout { .. }), "{err}");
    assert!(took < std::time::Duration::from_secs(3), "{took:?}");
    // The store recovers with a new connection.
    let _ = locked(&mut store, "alice");
}

#[test]
fn enroll_at_login_is_not_supported() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    with_alice(&slapd);
    let files = config(&slapd, Via::Ldaps);
    let mut store = LdapStore::new(&files.path);
    let f = found(&mut store, "alice");
    let file = pam_totp_core::secret_file::SecretFile::new(
        pam_totp_core::secret::TotpSecret::from_bytes(vec![1; 20]).unwrap(),
        pam_totp_core::params::Algorithm::SHA1,
        6,
        30,
    );
    let err = store.create(f, &file).unwrap_err().to_string();
    assert!(err.contains("totp-enroll --store ldap"), "{err}");
}

/// A referral below the base (the user may live on the other server): refused, never "not
/// enrolled", and never a guess that the one entry seen is the only one.
#[test]
fn a_search_answered_with_a_referral_is_refused() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    with_alice(&slapd);
    let files = config(&slapd, Via::Ldaps);
    let mut store = LdapStore::new(&files.path);
    assert!(matches!(
        store.locate(&account("zed")),
        Located::NotEnrolled(_)
    ));
    // A subordinate referral below the base: the server answers a subtree search for any
    // name with a continuation reference to the other server.
    slapd.add_ldif(&format!(
        "dn: ou=remote,{people}\nobjectClass: referral\nobjectClass: extensibleObject\n\
         ou: remote\nref: ldap://ldap2.example.org/ou=remote,{people}\n",
        people = pam_totp_tests::slapd::PEOPLE
    ));
    for name in ["zed", "alice"] {
        match store.locate(&account(name)) {
            Located::Refused(e) => {
                assert!(!e.is_not_enrolled(), "{e}");
                assert!(e.to_string().contains("referral"), "{e}");
            }
            Located::NotEnrolled(e) => panic!("{name} must be refused, not 'not enrolled': {e}"),
            Located::Found(_) => panic!("{name}: a search with a referral must be refused"),
            Located::ConfigError(e) => panic!("config: {e}"),
        }
    }
}

/// Two hosts whose clocks differ by more than the rate-limit window share one count: the
/// host that is behind counts the other's failures (its `oathLastFailure` is ahead of this
/// clock) and does not move `oathLastFailure` back, so that the host ahead counts them too.
/// Alternating between the hosts must not reset the count.
#[test]
fn hosts_with_skewed_clocks_share_one_failure_count() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    with_alice(&slapd);
    let token = token_dn("alice-phone");
    let files = config(&slapd, Via::Ldaps);
    let other_files = config(&slapd, Via::Ldapi);
    const AHEAD: u64 = 120;
    let mut behind = LdapStore::with_clock(&files.path, || NOW);
    let mut ahead = LdapStore::with_clock(&other_files.path, || NOW + AHEAD);
    let wrong = pam_totp_tests::consumers::wrong_code(KEY);
    let mut allowed = 0;
    for i in 0..6u64 {
        let (store, now) = if i % 2 == 0 {
            (&mut ahead, NOW + AHEAD + i)
        } else {
            (&mut behind, NOW + i)
        };
        let mut r = locked(store, "alice");
        match check(&mut r, &wrong, now) {
            Outcome::RateLimited { .. } => {}
            outcome => {
                assert_eq!(outcome, Outcome::Wrong);
                r.save().unwrap_or_else(|e| panic!("save: {e}"));
                allowed += 1;
            }
        }
    }
    assert_eq!(allowed, 3, "the limit is 3 checks per 30 s over both hosts");
    assert_eq!(
        state(&slapd, &token, "oathFailureCount").as_deref(),
        Some("3")
    );
    // The time written by the host ahead stays.
    assert_eq!(
        state(&slapd, &token, "oathLastFailure"),
        Some(pam_totp_directory::generalized_time::format(
            NOW + AHEAD + 2
        ))
    );
    // A value far ahead of every clock (broken) neither locks the user out nor stays.
    slapd.modify_ldif(&format!(
        "dn: {token}\nchangetype: modify\nreplace: oathLastFailure\noathLastFailure: 20991231000000Z\n"
    ));
    let mut r = locked(&mut behind, "alice");
    assert_eq!(check(&mut r, &wrong, NOW + 10), Outcome::Wrong);
    r.save().unwrap();
    assert_eq!(
        state(&slapd, &token, "oathLastFailure"),
        Some(pam_totp_directory::generalized_time::format(NOW + 10))
    );
    assert_eq!(
        state(&slapd, &token, "oathFailureCount").as_deref(),
        Some("1")
    );
}

/// A user with a TOTP and an HOTP token: an HOTP code is saved as two modifies (the count on
/// the TOTP entry, then the counter on the HOTP entry). Whichever of them loses, the login is
/// refused: a second login with the same code, and a login whose counter another client
/// (a slapd bind) moved between its read and its save.
#[test]
fn an_hotp_code_of_a_user_with_both_tokens_is_accepted_once() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    with_alice(&slapd);
    let hotp_key = pam_totp_tests::RFC_SHA1_KEY;
    let hotp_token = token_dn("alice-hotp");
    slapd.add_ldif(&format!(
        "dn: {params}\nobjectClass: device\nobjectClass: oathHOTPParams\ncn: alice-hotp-params\n\
         oathOTPLength: 6\noathHMACAlgorithm: 1.2.840.113549.2.7\noathHOTPLookAhead: 5\n\n\
         dn: {hotp_token}\nobjectClass: device\nobjectClass: oathHOTPToken\ncn: alice-hotp\n\
         oathHOTPParams: {params}\noathSecret:: {key}\n",
        params = params_dn("alice-hotp-params"),
        key = base64_encode(&base32_decode(hotp_key)),
    ));
    slapd.modify_ldif(&format!(
        "dn: {}\nchangetype: modify\nadd: objectClass\nobjectClass: oathHOTPUser\n-\n\
         add: oathHOTPToken\noathHOTPToken: {hotp_token}\n",
        user_dn("alice")
    ));
    let files = config(&slapd, Via::Ldaps);
    let other_files = config(&slapd, Via::Ldapi);
    let mut store = LdapStore::new(&files.path);
    let mut other = LdapStore::new(&other_files.path);
    let code = oathtool_hotp(hotp_key, 1, &[]);

    // Two logins read the same state; the first to save wins, the other loses at its first
    // modify.
    let mut a = locked(&mut store, "alice");
    assert_eq!(a.content().tokens().count(), 2);
    let mut b = locked(&mut other, "alice");
    assert!(check(&mut a, &code, NOW).is_success());
    assert!(check(&mut b, &code, NOW).is_success());
    a.save().unwrap_or_else(|e| panic!("save: {e}"));
    assert_eq!(
        state(&slapd, &hotp_token, "oathHOTPCounter").as_deref(),
        Some("1")
    );
    assert!(b.save().expect_err("second use of the code").is_conflict());

    // A login reads counter 1; a slapd bind (which REPLACEs the counter) moves it to 3; the
    // login's first modify (the count) goes through, its counter swap does not: refused.
    let next = oathtool_hotp(hotp_key, 2, &[]);
    let mut c = locked(&mut store, "alice");
    slapd.modify_ldif(&format!(
        "dn: {hotp_token}\nchangetype: modify\nreplace: oathHOTPCounter\noathHOTPCounter: 3\n"
    ));
    assert!(check(&mut c, &next, NOW + 1).is_success());
    let err = c.save().expect_err("counter moved meanwhile");
    assert!(err.is_conflict(), "{err}");
    assert_eq!(
        state(&slapd, &hotp_token, "oathHOTPCounter").as_deref(),
        Some("3")
    );
    let mut d = locked(&mut other, "alice");
    assert!(!check(&mut d, &next, NOW + 2).is_success());
}

#[test]
fn a_name_that_matches_only_ignoring_case_is_refused() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    with_alice(&slapd);
    let files = config(&slapd, Via::Ldaps);
    let mut store = LdapStore::new(&files.path);
    // uid matches ignoring case in the directory; "Alice" is another login name.
    match store.locate(&account("Alice")) {
        Located::Refused(e) => {
            let text = e.to_string();
            assert!(text.contains("no value is exactly Alice"), "{text}");
        }
        other => panic!("Alice located as {:?}", std::mem::discriminant(&other)),
    }
    assert!(matches!(store.locate(&account("alice")), Located::Found(_)));
}
