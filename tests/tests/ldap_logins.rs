//! store=ldap logins through real libpam against the real slapd (issue 12): pam_totp.so with
//! `store=ldap ldap_config=...` dispatches to pam_totp_ldap.so, which reads the OATH-LDAP
//! entries the harness loaded and moves their watermark. A code is accepted once, a replay and
//! a wrong code are refused, a recovery code works once, users without a token pass only with
//! nullok, HOTP tokens count, and every transport (ldaps, StartTLS, ldapi with a simple bind or
//! SASL EXTERNAL) works. Codes come from oathtool.

use pam_totp_tests::consumers::wrong_code;
use pam_totp_tests::ldap::{
    add_recovery_codes, assert_log_mentions, hotp_token_ldif, load_hotp_user, load_params,
    load_totp_user, oath_user_ldif, values, LdapHost, Transport, HOTP_PARAMS,
};
use pam_totp_tests::slapd::{token_dn, user_ldif, Slapd, RECOVERY_ATTR, SERVICE_PASSWORD};
use pam_totp_tests::*;

/// A generous limit, so that a test's few checks are never throttled (the rate limit has its
/// own test in ldap_hosts.rs).
const OPTIONS: &str = "rate_limit=20/30";

/// A slapd with the parameter entries and the current user (root) as a TOTP user with
/// [`KEY`], and one host reaching it over `transport`: (slapd, host, token DN).
fn setup(transport: Transport) -> (Slapd, LdapHost, String) {
    let slapd = Slapd::start();
    load_params(&slapd);
    let token = load_totp_user(&slapd, &current_user(), KEY);
    let host = LdapHost::new(&slapd, transport);
    host.service("ldap", OPTIONS, "");
    (slapd, host, token)
}

/// Nothing secret in a host's log: not the bind password, not the given codes.
fn assert_no_secrets(host: &LdapHost, codes: &[&str]) {
    let log = host.log();
    assert!(
        !log.contains(SERVICE_PASSWORD),
        "bind password logged:\n{log}"
    );
    for code in codes {
        assert!(!log.contains(code), "code {code} logged:\n{log}");
    }
}

#[test]
fn a_code_is_accepted_once_and_moves_the_watermark() {
    needs_root!();
    needs_slapd!();
    let (slapd, host, token) = setup(Transport::Ldaps);
    wait_for_fresh_step(30);
    let t = now();
    let code = oathtool(KEY, &[], t);

    let first = host.login("ldap", &[&code]);
    assert!(first.ok(), "{first:?}\n{}\n{}", host.log(), slapd.log());
    assert!(
        host.log().contains("accepted verification code; user="),
        "{}",
        host.log()
    );
    let step = (t / 30).to_string();
    assert_eq!(
        slapd.attribute(&token, "oathTOTPLastTimeStep").as_deref(),
        Some(step.as_str()),
        "the watermark is the accepted code's step"
    );

    let replay = host.login("ldap", &[&code]);
    assert_eq!(
        replay.rc,
        rc::AUTH_ERR,
        "replay: {replay:?}\n{}",
        host.log()
    );
    assert!(
        host.log().contains("reason=replayed code"),
        "{}",
        host.log()
    );

    let wrong = wrong_code(KEY);
    let refused = host.login("ldap", &[&wrong]);
    assert_eq!(refused.rc, rc::AUTH_ERR, "{refused:?}\n{}", host.log());
    assert!(host.log().contains("reason=wrong code"), "{}", host.log());
    assert_eq!(
        slapd.attribute(&token, "oathTOTPLastTimeStep").as_deref(),
        Some(step.as_str()),
        "neither the replay nor the wrong code moved the watermark"
    );
    // Every check is counted on the token entry (three inside the window), with the time of
    // the newest as a GeneralizedTime.
    assert_eq!(
        slapd.attribute(&token, "oathFailureCount").as_deref(),
        Some("3")
    );
    let last = slapd
        .attribute(&token, "oathLastFailure")
        .expect("oathLastFailure written");
    assert!(
        last.len() == 15 && last.ends_with('Z') && last[..14].bytes().all(|b| b.is_ascii_digit()),
        "oathLastFailure {last:?} is not YYYYMMDDHHMMSSZ"
    );
    // slapo-otp's own attribute is left alone.
    assert_eq!(slapd.attribute(&token, "oathTOTPTimeStepDrift"), None);
    assert_no_secrets(&host, &[&code, &wrong]);
}

#[test]
fn a_recovery_code_works_once() {
    needs_root!();
    needs_slapd!();
    let (slapd, host, token) = setup(Transport::Ldaps);
    let stored = add_recovery_codes(&slapd, "root-phone", &["abcde-fghjk", "mnpqr-stvwx"]);
    assert_eq!(token, token_dn("root-phone"));

    let first = host.login("ldap", &["abcde-fghjk"]);
    assert!(first.ok(), "{first:?}\n{}\n{}", host.log(), slapd.log());
    assert!(
        host.log().contains("accepted recovery code; user=")
            && host.log().contains("recovery_codes_left=1"),
        "{}",
        host.log()
    );
    assert_eq!(
        values(&slapd, &token, RECOVERY_ATTR),
        [stored[1].clone()],
        "exactly the used code's value was deleted"
    );
    let again = host.login("ldap", &["abcde-fghjk"]);
    assert_eq!(again.rc, rc::AUTH_ERR, "recovery code reused: {again:?}");
    // The other one, typed without the dash and in capitals.
    let second = host.login("ldap", &["MNPQRSTVWX"]);
    assert!(second.ok(), "{second:?}\n{}", host.log());
    assert!(values(&slapd, &token, RECOVERY_ATTR).is_empty());
    assert_eq!(
        slapd.attribute(&token, "oathTOTPLastTimeStep"),
        None,
        "a recovery code does not move the watermark"
    );
    assert_no_secrets(&host, &["abcde-fghjk", "abcdefghjk", "mnpqr", "stvwx"]);
}

#[test]
fn users_without_a_token_pass_only_with_nullok() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    load_params(&slapd);
    let host = LdapHost::new(&slapd, Transport::Ldaps);
    let users = FakeUsers::new(host.env.dir.path(), 4);
    let name = |i: usize| users.users[i].0.clone();
    // pamtest0: a TOTP user (the search must pick the right entry); pamtest1: in the
    // directory without any OATH class; pamtest2: oathHOTPUser without a token; pamtest3:
    // not in the directory at all.
    load_totp_user(&slapd, &name(0), KEY);
    slapd.add_ldif(&user_ldif(&name(1), "pw1", None));
    slapd.add_ldif(&oath_user_ldif(&name(2), "pw2", None, None, true));
    host.service("nullok", "nullok", "auth required pam_permit.so\n");
    host.service("strict", "", "auth required pam_permit.so\n");

    for i in 1..=3 {
        let user = name(i);
        let passed = host.login_as(&users, &user, "nullok", &[]);
        assert!(
            passed.ok() && passed.prompts().is_empty(),
            "{user} with nullok: {passed:?}\n{}",
            host.log()
        );
        let refused = host.login_as(&users, &user, "strict", &["123456"]);
        assert_eq!(
            refused.rc,
            rc::AUTH_ERR,
            "{user} without nullok: {refused:?}\n{}",
            host.log()
        );
    }
    let log = host.log();
    assert_eq!(
        log.matches("reason=not enrolled").count(),
        3,
        "three refusals name the reason:\n{log}"
    );
    // The enrolled user is asked and refused with nullok too when the code is wrong, and
    // gets in with the right one.
    let wrong = host.login_as(&users, &name(0), "nullok", &[&wrong_code(KEY)]);
    assert_eq!(wrong.rc, rc::AUTH_ERR, "{wrong:?}\n{}", host.log());
    wait_for_fresh_step(30);
    let ok = host.login_as(&users, &name(0), "nullok", &[&oathtool(KEY, &[], now())]);
    assert!(ok.ok(), "{ok:?}\n{}", host.log());
}

#[test]
fn an_hotp_token_accepts_each_counter_once() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    load_params(&slapd);
    let token = load_hotp_user(&slapd, &current_user(), RFC_SHA1_KEY);
    let host = LdapHost::new(&slapd, Transport::Ldaps);
    host.service("ldap", OPTIONS, "");

    let c0 = oathtool_hotp(RFC_SHA1_KEY, 0, &[]);
    let first = host.login("ldap", &[&c0]);
    assert!(first.ok(), "{first:?}\n{}\n{}", host.log(), slapd.log());
    assert!(host.log().contains("counter=0"), "{}", host.log());
    assert_eq!(
        slapd.attribute(&token, "oathHOTPCounter").as_deref(),
        Some("0")
    );
    let replay = host.login("ldap", &[&c0]);
    assert_eq!(replay.rc, rc::AUTH_ERR, "{replay:?}\n{}", host.log());
    // Counter 2, skipping 1 (inside the default hotp_window).
    let c2 = oathtool_hotp(RFC_SHA1_KEY, 2, &[]);
    let skip = host.login("ldap", &[&c2]);
    assert!(skip.ok(), "{skip:?}\n{}", host.log());
    assert!(host.log().contains("counter=2"), "{}", host.log());
    assert_eq!(
        slapd.attribute(&token, "oathHOTPCounter").as_deref(),
        Some("2")
    );
    // Counter 1 is behind the counter now.
    let c1 = oathtool_hotp(RFC_SHA1_KEY, 1, &[]);
    assert_eq!(host.login("ldap", &[&c1]).rc, rc::AUTH_ERR);
    // With only an HOTP token, the login state lives on the HOTP token entry.
    assert_eq!(
        slapd.attribute(&token, "oathFailureCount").as_deref(),
        Some("4")
    );
    assert_no_secrets(&host, &[&c0, &c1, &c2]);
}

#[test]
fn with_both_tokens_the_hotp_counter_stays_on_its_entry() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    load_params(&slapd);
    let user = current_user();
    slapd.add_ldif(&pam_totp_tests::slapd::totp_token_ldif(
        "both-phone",
        pam_totp_tests::ldap::TOTP_PARAMS,
        KEY,
    ));
    slapd.add_ldif(&hotp_token_ldif(
        "both-fob",
        HOTP_PARAMS,
        RFC_SHA1_KEY,
        None,
    ));
    slapd.add_ldif(&oath_user_ldif(
        &user,
        "pw",
        Some("both-phone"),
        Some("both-fob"),
        false,
    ));
    let (totp, hotp) = (token_dn("both-phone"), token_dn("both-fob"));
    let host = LdapHost::new(&slapd, Transport::Ldaps);
    host.service("ldap", OPTIONS, "");

    let c0 = oathtool_hotp(RFC_SHA1_KEY, 0, &[]);
    let by_fob = host.login("ldap", &[&c0]);
    assert!(by_fob.ok(), "{by_fob:?}\n{}\n{}", host.log(), slapd.log());
    assert_eq!(
        slapd.attribute(&hotp, "oathHOTPCounter").as_deref(),
        Some("0")
    );
    assert_eq!(slapd.attribute(&totp, "oathTOTPLastTimeStep"), None);
    wait_for_fresh_step(30);
    let t = now();
    let by_phone = host.login("ldap", &[&oathtool(KEY, &[], t)]);
    assert!(by_phone.ok(), "{by_phone:?}\n{}", host.log());
    assert_eq!(
        slapd.attribute(&totp, "oathTOTPLastTimeStep"),
        Some((t / 30).to_string())
    );
    assert_eq!(
        slapd.attribute(&hotp, "oathHOTPCounter").as_deref(),
        Some("0")
    );
    // The checks are counted on the TOTP token entry only.
    assert_eq!(
        slapd.attribute(&totp, "oathFailureCount").as_deref(),
        Some("2")
    );
    assert_eq!(slapd.attribute(&hotp, "oathFailureCount"), None);
}

#[test]
fn every_transport_logs_in() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start_with(pam_totp_tests::slapd::EXTERNAL_AS_SERVICE);
    load_params(&slapd);
    let token = load_totp_user(&slapd, &current_user(), KEY);
    wait_for_fresh_step(30);
    let t = now();
    // Four logins, each with the code of a later step than the one before (the window
    // accepts one step ahead; each host moves the watermark for the next).
    let transports = [
        Transport::Ldaps,
        Transport::StartTls,
        Transport::Ldapi,
        Transport::LdapiExternal,
    ];
    for (i, transport) in transports.into_iter().enumerate() {
        let host = LdapHost::new(&slapd, transport);
        host.service("ldap", &format!("{OPTIONS} window=4"), "");
        let at = t - 60 + 30 * i as u64;
        let login = host.login("ldap", &[&oathtool(KEY, &[], at)]);
        assert!(
            login.ok(),
            "{transport:?}: {login:?}\n{}\n{}",
            host.log(),
            slapd.log()
        );
        assert_eq!(
            slapd.attribute(&token, "oathTOTPLastTimeStep"),
            Some((at / 30).to_string()),
            "{transport:?}"
        );
        assert_no_secrets(&host, &[]);
    }
}

#[test]
fn store_ldap_refuses_enroll_at_login_and_remember() {
    needs_root!();
    needs_slapd!();
    let (slapd, host, token) = setup(Transport::Ldaps);
    for (service, option) in [("enroll", "enroll"), ("remember", "remember=3600")] {
        host.service(service, option, "");
        let login = host.login(service, &["123456"]);
        assert_eq!(
            login.rc,
            rc::SERVICE_ERR,
            "{option} with store=ldap: {login:?}\n{}",
            host.log()
        );
    }
    assert_log_mentions(&host.log(), &["totp-enroll"], "enroll with store=ldap");
    assert_eq!(slapd.attribute(&token, "oathFailureCount"), None);
}

#[test]
fn a_slow_typist_gets_in_after_the_server_dropped_the_idle_connection() {
    needs_root!();
    needs_slapd!();
    // slapd closes connections idle for a second; the user takes three to type the code.
    let slapd = Slapd::start_with("idletimeout 1\n");
    load_params(&slapd);
    let token = load_totp_user(&slapd, &current_user(), KEY);
    let host = LdapHost::new(&slapd, Transport::Ldaps);
    host.service("ldap", OPTIONS, "");
    wait_for_fresh_step(30);
    let t = now();
    let code = oathtool(KEY, &[], t);
    let login = host.login_thinking("ldap", &[&code], std::time::Duration::from_secs(3));
    assert!(
        slapd.log().contains("closed (idletimeout)"),
        "slapd did not close the idle connection, so this test tests nothing:\n{}",
        slapd.log()
    );
    assert!(login.ok(), "{login:?}\n{}\n{}", host.log(), slapd.log());
    assert_eq!(
        slapd.attribute(&token, "oathTOTPLastTimeStep"),
        Some((t / 30).to_string())
    );
}

#[test]
fn a_user_name_with_filter_characters_finds_no_one_else() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    load_params(&slapd);
    let victim = load_totp_user(&slapd, "pamvictim", KEY);
    let host = LdapHost::new(&slapd, Transport::Ldaps);
    host.service("strict", OPTIONS, "");
    // Users whose names would match pamvictim's entry if they went into the search filter
    // unescaped; they exist for NSS (in a private mount namespace), not in the directory.
    let names = ["pamvic*", "x)(uid=pamvictim", "*"];
    let mut passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    for (i, name) in names.iter().enumerate() {
        passwd.push_str(&format!(
            "{name}:x:{}:{}::/nonexistent:/bin/sh\n",
            40_100 + i,
            40_100 + i
        ));
    }
    let passwd_path = host.env.dir.path().join("passwd");
    std::fs::write(&passwd_path, passwd).unwrap();
    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());
    for name in names {
        let login = host.env.run(&Run {
            service: "strict",
            answers: &[&code],
            user: Some(name),
            passwd: Some(&passwd_path),
            ..Run::default()
        });
        assert_eq!(login.rc, rc::AUTH_ERR, "{name}: {login:?}\n{}", host.log());
    }
    let log = host.log();
    assert!(!log.contains("accepted"), "{log}");
    assert_eq!(
        slapd.attribute(&victim, "oathTOTPLastTimeStep"),
        None,
        "{log}"
    );
    assert_eq!(slapd.attribute(&victim, "oathFailureCount"), None, "{log}");
}
