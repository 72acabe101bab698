//! Two "hosts" sharing one directory (issue 12): each is a separate driver process with its
//! own pam.d directory and `ldap.toml` (one over ldaps, the other over ldapi or StartTLS), as
//! two servers of a fleet. 32 logins on each, released together with one code: exactly one of
//! the 64 gets in, on either host, and the watermark is that code's step. The same for one
//! recovery code. Failures spread over both hosts count against one rate limit.

use pam_totp_tests::consumers::wrong_code;
use pam_totp_tests::ldap::{
    add_recovery_codes, finish_burst, hotp_token_ldif, load_params, load_totp_user, oath_user_ldif,
    values, Burst, HostConfig, LdapHost, Transport, HOTP_PARAMS, TOTP_PARAMS,
};
use pam_totp_tests::slapd::{token_dn, totp_token_ldif, Slapd, RECOVERY_ATTR};
use pam_totp_tests::*;
use std::time::Duration;

/// Logins per host in a race.
const PER_HOST: usize = 32;

/// Two hosts reaching `slapd` over `first` and `second`, each with service `race` (a rate
/// limit the race cannot reach, and a timeout no slow handshake reaches).
fn two_hosts(slapd: &Slapd, first: Transport, second: Transport) -> [LdapHost; 2] {
    [first, second].map(|t| {
        let host = LdapHost::with_config(HostConfig::new(slapd, t).timeout(30));
        host.service("race", "rate_limit=1000/30", "");
        host
    })
}

/// Releases [`PER_HOST`] logins on each host at the same moment, all answering `answer`.
fn race(hosts: &[LdapHost; 2], answer: &str) -> [Burst; 2] {
    let start = start_time(Duration::from_millis(1500));
    let children = hosts
        .each_ref()
        .map(|h| h.spawn_burst("race", answer, PER_HOST, start));
    children.map(finish_burst)
}

/// The log lines of both hosts that contain any of `marks`.
fn lines_with(hosts: &[LdapHost; 2], marks: &[&str]) -> usize {
    hosts
        .iter()
        .map(|h| {
            h.log()
                .lines()
                .filter(|l| marks.iter().any(|m| l.contains(m)))
                .count()
        })
        .sum()
}

fn both_logs(hosts: &[LdapHost; 2]) -> String {
    format!("host A:\n{}\nhost B:\n{}", hosts[0].log(), hosts[1].log())
}

/// Exactly one success among all transactions, and every other one refused.
fn assert_exactly_one_success(hosts: &[LdapHost; 2], bursts: &[Burst; 2]) {
    for (name, b) in ["A", "B"].iter().zip(bursts) {
        assert_eq!(
            b.rcs.len(),
            PER_HOST,
            "host {name} finished {} of {PER_HOST} transactions:\n{}\n{}",
            b.rcs.len(),
            b.stdout,
            b.stderr
        );
    }
    let ok: usize = bursts.iter().map(|b| b.count(rc::SUCCESS)).sum();
    let refused: usize = bursts.iter().map(|b| b.count(rc::AUTH_ERR)).sum();
    assert_eq!(
        (ok, refused),
        (1, 2 * PER_HOST - 1),
        "{} racing logins on two hosts: {ok} accepted, {refused} refused (A {:?}, B {:?})\n{}",
        2 * PER_HOST,
        bursts[0].rcs,
        bursts[1].rcs,
        both_logs(hosts)
    );
}

/// What a refused racer may say: it read the state after the winner's modify (a replay or,
/// for a recovery code, a code no longer there), or before it, and its own modify failed.
const LOST_RACE: &[&str] = &["cannot save login state", "another login"];

/// The log says what the race did: one `accepted` line, and every other login refused with
/// `reason` (it read the state after the winner's modify) or a lost compare-and-swap.
fn assert_logged_one_accepted_rest(
    hosts: &[LdapHost; 2],
    accepted: &str,
    reason: &str,
    what: &str,
) {
    assert_eq!(lines_with(hosts, &[accepted]), 1, "{}", both_logs(hosts));
    let mut lost = LOST_RACE.to_vec();
    lost.push(reason);
    assert_eq!(
        lines_with(hosts, &lost),
        2 * PER_HOST - 1,
        "every refusal is {what} or a lost compare-and-swap\n{}",
        both_logs(hosts)
    );
}

#[test]
fn two_hosts_racing_64_logins_accept_one_code_once() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    load_params(&slapd);
    let token = load_totp_user(&slapd, &current_user(), KEY);
    let hosts = two_hosts(&slapd, Transport::Ldaps, Transport::Ldapi);
    wait_for_fresh_step(30);
    let t = now();
    let code = oathtool(KEY, &[], t);
    let bursts = race(&hosts, &code);
    assert_exactly_one_success(&hosts, &bursts);
    assert_eq!(
        slapd.attribute(&token, "oathTOTPLastTimeStep"),
        Some((t / 30).to_string()),
        "the watermark is the step of the one accepted code\n{}",
        both_logs(&hosts)
    );
    assert_logged_one_accepted_rest(
        &hosts,
        "accepted verification code",
        "reason=replayed code",
        "a replay",
    );
    let count: usize = slapd
        .attribute(&token, "oathFailureCount")
        .and_then(|c| c.parse().ok())
        .expect("oathFailureCount written");
    assert!(
        (1..=2 * PER_HOST).contains(&count),
        "oathFailureCount {count}"
    );
}

#[test]
fn two_hosts_racing_64_logins_accept_one_recovery_code_once() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    load_params(&slapd);
    let token = load_totp_user(&slapd, &current_user(), KEY);
    let stored = add_recovery_codes(&slapd, "root-phone", &["abcde-fghjk", "mnpqr-stvwx"]);
    let hosts = two_hosts(&slapd, Transport::Ldaps, Transport::StartTls);
    let bursts = race(&hosts, "abcde-fghjk");
    assert_exactly_one_success(&hosts, &bursts);
    assert_eq!(
        values(&slapd, &token, RECOVERY_ATTR),
        [stored[1].clone()],
        "the used code's value is gone, the other one is still there"
    );
    assert_logged_one_accepted_rest(
        &hosts,
        "accepted recovery code",
        "reason=wrong code",
        "a used code",
    );
}

#[test]
fn two_hosts_racing_64_logins_accept_one_hotp_code_once() {
    needs_root!();
    needs_slapd!();
    // A user with both kinds of token: the count goes to the TOTP token entry and the
    // counter to the HOTP token entry, two modifies, and still only one login gets in.
    let slapd = Slapd::start_with(pam_totp_tests::slapd::EXTERNAL_AS_SERVICE);
    load_params(&slapd);
    slapd.add_ldif(&totp_token_ldif("both-phone", TOTP_PARAMS, KEY));
    slapd.add_ldif(&hotp_token_ldif(
        "both-fob",
        HOTP_PARAMS,
        RFC_SHA1_KEY,
        Some(4),
    ));
    slapd.add_ldif(&oath_user_ldif(
        &current_user(),
        "pw",
        Some("both-phone"),
        Some("both-fob"),
        false,
    ));
    let hosts = two_hosts(&slapd, Transport::StartTls, Transport::LdapiExternal);
    let bursts = race(&hosts, &oathtool_hotp(RFC_SHA1_KEY, 6, &[]));
    assert_exactly_one_success(&hosts, &bursts);
    assert_eq!(
        slapd
            .attribute(&token_dn("both-fob"), "oathHOTPCounter")
            .as_deref(),
        Some("6"),
        "{}",
        both_logs(&hosts)
    );
    assert_eq!(
        slapd.attribute(&token_dn("both-phone"), "oathTOTPLastTimeStep"),
        None
    );
    assert_logged_one_accepted_rest(
        &hosts,
        "accepted verification code",
        "reason=wrong code",
        "a used counter",
    );
}

#[test]
fn failures_spread_over_two_hosts_hit_one_rate_limit() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    load_params(&slapd);
    let token = load_totp_user(&slapd, &current_user(), KEY);
    let hosts = [Transport::Ldaps, Transport::Ldapi].map(|t| {
        let host = LdapHost::new(&slapd, t);
        host.service("ldap", "rate_limit=3/10", "");
        host
    });
    // All of what follows inside one time step, and well inside the 10 s window.
    wait_for_fresh_step(30);
    let wrong = wrong_code(KEY);
    // Two wrong codes on host A, one on host B: three checks in the directory, though neither
    // host alone saw three.
    for host in [&hosts[0], &hosts[0], &hosts[1]] {
        let login = host.login("ldap", &[&wrong]);
        assert_eq!(login.rc, rc::AUTH_ERR, "{login:?}\n{}", host.log());
    }
    assert_eq!(
        lines_with(&hosts, &["reason=wrong code"]),
        3,
        "{}",
        both_logs(&hosts)
    );
    assert_eq!(
        slapd.attribute(&token, "oathFailureCount").as_deref(),
        Some("3")
    );
    // Now even the right code is not checked, on either host.
    for host in [&hosts[1], &hosts[0]] {
        let code = oathtool(KEY, &[], now());
        let login = host.login("ldap", &[&code]);
        assert_eq!(login.rc, rc::AUTH_ERR, "{login:?}\n{}", host.log());
        assert!(
            host.log()
                .contains("rate limit of 3 checks per 10 s reached"),
            "{}",
            host.log()
        );
        assert!(
            login
                .errors()
                .iter()
                .any(|e| e.contains("Too many verification attempts")),
            "{login:?}"
        );
    }
    assert_eq!(
        slapd.attribute(&token, "oathTOTPLastTimeStep"),
        None,
        "a code that was not checked is not used up"
    );
    assert_eq!(
        slapd.attribute(&token, "oathFailureCount").as_deref(),
        Some("3"),
        "throttled attempts are not checks"
    );
    // Once the window has passed, the right code gets in (here on host B).
    std::thread::sleep(Duration::from_secs(11));
    wait_for_fresh_step(30);
    let t = now();
    let login = hosts[1].login("ldap", &[&oathtool(KEY, &[], t)]);
    assert!(login.ok(), "{login:?}\n{}", both_logs(&hosts));
    assert_eq!(
        slapd.attribute(&token, "oathTOTPLastTimeStep"),
        Some((t / 30).to_string())
    );
}

#[test]
fn a_burst_of_wrong_codes_on_two_hosts_gets_no_more_checks_than_the_limit() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    load_params(&slapd);
    let token = load_totp_user(&slapd, &current_user(), KEY);
    let hosts = [Transport::Ldaps, Transport::Ldapi].map(|t| {
        let host = LdapHost::with_config(HostConfig::new(&slapd, t).timeout(30));
        host.service("race", "rate_limit=3/30", "");
        host
    });
    let bursts = race(&hosts, &wrong_code(KEY));
    for b in &bursts {
        assert_eq!(b.count(rc::AUTH_ERR), PER_HOST, "{b:?}");
    }
    // A check counts only when its modify went through: at most three codes were looked at
    // and reported, each one counted in the directory; every other attempt was throttled or
    // lost its compare-and-swap (and so said nothing about the code).
    let wrong = lines_with(&hosts, &["reason=wrong code"]);
    let limited = lines_with(&hosts, &["rate limit of 3 checks per 30 s reached"]);
    let lost = lines_with(&hosts, LOST_RACE);
    assert!(
        (1..=3).contains(&wrong),
        "{wrong} wrong\n{}",
        both_logs(&hosts)
    );
    assert_eq!(
        wrong + limited + lost,
        2 * PER_HOST,
        "{wrong} wrong, {limited} limited, {lost} lost\n{}",
        both_logs(&hosts)
    );
    assert_eq!(
        slapd.attribute(&token, "oathFailureCount"),
        Some(wrong.to_string()),
        "{}",
        both_logs(&hosts)
    );
}
