//! store=ldap when something is wrong (issue 12): slapd stopped or SIGSTOPped, a certificate
//! the configured CA did not sign, a wrong bind password, an unsafe or broken `ldap.toml`,
//! entries that cannot be used. Every case refuses the login within `timeout`, leaves the
//! host process alive, and logs a line that names the cause; none logs the bind password.

use pam_totp_tests::ldap::{
    assert_log_mentions, load_params, load_totp_user, oath_user_ldif, HostConfig, LdapHost,
    Transport, TOTP_PARAMS,
};
use pam_totp_tests::slapd::{
    token_dn, totp_params_ldif, totp_token_ldif, user_dn, Slapd, TotpParams, AUDITOR_DN,
    LIMITED_PASSWORD, READER_DN, SERVICE_PASSWORD,
};
use pam_totp_tests::*;
use std::os::unix::fs::symlink;
use std::time::Duration;

/// A slapd with the current user as a TOTP user ([`KEY`]): (slapd, token DN).
fn directory() -> (Slapd, String) {
    let slapd = Slapd::start();
    load_params(&slapd);
    let token = load_totp_user(&slapd, &current_user(), KEY);
    (slapd, token)
}

/// A host over `transport` with `timeout = 2` and service `ldap`.
fn host(slapd: &Slapd, transport: Transport) -> LdapHost {
    let host = LdapHost::with_config(HostConfig::new(slapd, transport).timeout(2));
    host.service("ldap", "rate_limit=20/30 window=10", "");
    host
}

/// A login with the current code; asserts that it is refused (not PAM_SUCCESS, and a real
/// PAM answer: the driver printed pam_authenticate's result, so the host process lived) and
/// that the bind password is not in the log. Returns the login and how long it took.
fn refused(host: &LdapHost, what: &str) -> (Login, Duration) {
    let code = oathtool(KEY, &[], now());
    let (login, took) = host.timed_login("ldap", &[&code]);
    assert!(
        !login.ok(),
        "{what}: the login must be refused: {login:?}\n{}",
        host.log()
    );
    let log = host.log();
    assert!(
        !log.contains(SERVICE_PASSWORD),
        "{what}: password logged\n{log}"
    );
    assert!(!log.contains(&code), "{what}: code logged\n{log}");
    (login, took)
}

/// The host still works once the fault is gone: a code of a step after the watermark of the
/// current user's token `token` (the hosts' `window=10` accepts the next few steps, so that
/// one test can log in several times within a time step).
fn works_again(slapd: &Slapd, token: &str, host: &LdapHost, what: &str) {
    wait_for_fresh_step(30);
    let now_step = now() / 30;
    let step = match slapd.attribute(token, "oathTOTPLastTimeStep") {
        Some(last) => now_step.max(last.parse::<u64>().expect("a watermark") + 1),
        None => now_step,
    };
    assert!(step <= now_step + 10, "{what}: too many logins in one step");
    let login = host.login("ldap", &[&oathtool(KEY, &[], step * 30)]);
    assert!(login.ok(), "{what}: {login:?}\n{}", host.log());
    assert_eq!(
        slapd.attribute(token, "oathTOTPLastTimeStep"),
        Some(step.to_string()),
        "{what}"
    );
}

#[test]
fn a_stopped_slapd_refuses_at_once_with_a_log_line() {
    needs_root!();
    needs_slapd!();
    let (mut slapd, _) = directory();
    let hosts = [Transport::Ldaps, Transport::StartTls, Transport::Ldapi].map(|t| host(&slapd, t));
    slapd.stop();
    for (host, name) in hosts.iter().zip(["ldaps", "StartTLS", "ldapi"]) {
        let (_, took) = refused(host, name);
        assert!(
            took < Duration::from_millis(1500),
            "{name}: a refused connection took {took:?}"
        );
        assert_log_mentions(&host.log(), &["unreachable: "], name);
        assert_log_mentions(
            &host.log(),
            &["start the directory server or fix uri in"],
            name,
        );
    }
    assert_log_mentions(
        &hosts[0].log(),
        &[&format!("127.0.0.1:{}", slapd.ldaps_port())],
        "the log names the server",
    );
}

#[test]
fn a_slapd_that_does_not_answer_is_given_up_after_the_timeout() {
    needs_root!();
    needs_slapd!();
    let (slapd, token) = directory();
    for transport in [Transport::Ldaps, Transport::Ldapi] {
        let host = host(&slapd, transport);
        slapd.pause();
        let (login, took) = refused(&host, &format!("{transport:?} SIGSTOP"));
        slapd.resume();
        assert!(
            took >= Duration::from_millis(1800) && took <= Duration::from_millis(4500),
            "{transport:?}: timeout = 2, refused after {took:?}: {login:?}\n{}",
            host.log()
        );
        assert_log_mentions(
            &host.log(),
            &["gave no answer within 2 s"],
            &format!("{transport:?} SIGSTOP"),
        );
        works_again(
            &slapd,
            &token,
            &host,
            &format!("{transport:?} after SIGCONT"),
        );
    }
}

/// BIND operations of the service account in slapd's log.
fn service_binds(slapd: &Slapd) -> usize {
    slapd
        .log()
        .lines()
        .filter(|l| l.contains("BIND dn=\"cn=pam_totp,dc=example,dc=org\""))
        .count()
}

#[test]
fn a_certificate_the_ca_file_did_not_sign_is_refused() {
    needs_root!();
    needs_slapd!();
    let (slapd, token) = directory();
    for transport in [Transport::Ldaps, Transport::StartTls] {
        let mut host = host(&slapd, transport);
        host.reconfigure(|c| c.ca_file = Some(slapd.other_ca_cert()));
        let binds = service_binds(&slapd);
        refused(&host, &format!("{transport:?} other CA"));
        assert_log_mentions(
            &host.log(),
            &["the server certificate is not trusted: it is not signed by a CA in ca_file"],
            &format!("{transport:?} other CA"),
        );
        assert_eq!(
            service_binds(&slapd),
            binds,
            "{transport:?}: the bind (and its password) must not be sent over an untrusted \
             connection\n{}",
            slapd.log()
        );
        host.reconfigure(|c| c.ca_file = Some(slapd.ca_cert()));
        works_again(
            &slapd,
            &token,
            &host,
            &format!("{transport:?} with the right CA"),
        );
    }
    assert!(slapd.attribute(&token, "oathTOTPLastTimeStep").is_some());
}

#[test]
fn starttls_comes_before_the_bind() {
    needs_root!();
    needs_slapd!();
    let (slapd, token) = directory();
    let host = host(&slapd, Transport::StartTls);
    works_again(&slapd, &token, &host, "StartTLS");
    let log = slapd.log();
    let bind = log
        .lines()
        .find(|l| l.contains("BIND dn=\"cn=pam_totp,dc=example,dc=org\""))
        .unwrap_or_else(|| panic!("no bind of the service account:\n{log}"));
    let conn = bind
        .split_whitespace()
        .find(|w| w.starts_with("conn="))
        .expect("a conn= field");
    let ops: Vec<&str> = log
        .lines()
        .filter(|l| l.split_whitespace().any(|w| w == conn))
        .filter(|l| l.contains(" EXT oid=") || l.contains(" BIND dn="))
        .collect();
    assert!(
        ops.first()
            .is_some_and(|l| l.contains("EXT oid=1.3.6.1.4.1.1466.20037")),
        "the first operation on {conn} must be StartTLS: {ops:?}"
    );
}

#[test]
fn a_wrong_bind_password_is_refused_with_the_fix() {
    needs_root!();
    needs_slapd!();
    let (slapd, _) = directory();
    for transport in [Transport::Ldaps, Transport::Ldapi] {
        let mut host = host(&slapd, transport);
        host.reconfigure(|c| {
            if let Some((_, pw)) = c.bind.as_mut() {
                *pw = "not-the-password".into();
            }
        });
        let (_, took) = refused(&host, &format!("{transport:?} wrong password"));
        assert!(took < Duration::from_secs(2), "{took:?}");
        let log = host.log();
        assert!(!log.contains("not-the-password"), "{log}");
        assert_log_mentions(
            &log,
            &["refused (rc 49 (invalidcredentials))"],
            "wrong password",
        );
        assert_log_mentions(&log, &["bind_password_file"], "wrong password");
    }
}

#[test]
fn an_unsafe_or_broken_configuration_is_refused() {
    needs_root!();
    needs_slapd!();
    let (slapd, token) = directory();
    let mut host = host(&slapd, Transport::Ldaps);
    let config = host.config_path().display().to_string();
    let secret = host.password_path().display().to_string();

    // A group-readable file of root's group is fine (0640).
    host.chmod_config(0o640);
    works_again(&slapd, &token, &host, "ldap.toml 0640");

    host.chmod_config(0o644);
    refused(&host, "ldap.toml 0644");
    assert_log_mentions(&host.log(), &[&config], "ldap.toml 0644");
    host.chmod_config(0o600);

    host.chmod_config(0o620);
    refused(&host, "ldap.toml group-writable");
    host.chmod_config(0o600);

    std::fs::set_permissions(
        host.password_path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    refused(&host, "password file 0644");
    assert_log_mentions(&host.log(), &[&secret], "password file 0644");
    host.write_config();

    nix::unistd::chown(
        &host.config_path(),
        Some(nix::unistd::Uid::from_raw(65534)),
        None,
    )
    .unwrap();
    refused(&host, "ldap.toml owned by nobody");
    host.write_config();

    // A symbolic link to a good file is refused (opened without following links).
    let real = host.env.dir.path().join("real-ldap.toml");
    std::fs::rename(host.config_path(), &real).unwrap();
    symlink(&real, host.config_path()).unwrap();
    refused(&host, "ldap.toml a symlink");
    std::fs::remove_file(host.config_path()).unwrap();
    host.write_config();

    // An unknown key (a typo) is refused and named.
    let text = std::fs::read_to_string(host.config_path()).unwrap();
    write_private(&host.config_path(), &format!("{text}tiemout = 3\n"));
    refused(&host, "unknown key");
    assert_log_mentions(&host.log(), &["tiemout"], "unknown key");
    host.write_config();

    // ldaps:// without ca_file.
    host.reconfigure(|c| c.ca_file = None);
    refused(&host, "ldaps without ca_file");
    assert_log_mentions(&host.log(), &["ca_file"], "ldaps without ca_file");
    host.reconfigure(|c| c.ca_file = Some(slapd.ca_cert()));

    // timeout out of range.
    host.reconfigure(|c| c.timeout = Some(0));
    refused(&host, "timeout = 0");
    host.reconfigure(|c| c.timeout = Some(2));

    // No file at all.
    std::fs::remove_file(host.config_path()).unwrap();
    refused(&host, "no ldap.toml");
    assert_log_mentions(&host.log(), &[&config], "no ldap.toml");
    host.write_config();
    works_again(&slapd, &token, &host, "repaired");
}

#[test]
fn entries_that_cannot_be_used_are_refused_and_named() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    load_params(&slapd);
    let user = current_user();
    let host = host(&slapd, Transport::Ldaps);

    // The user names a token entry that does not exist.
    slapd.add_ldif(&oath_user_ldif(&user, "pw", Some("nowhere"), None, false));
    refused(&host, "dangling token DN");
    assert_log_mentions(&host.log(), &["cn=nowhere"], "dangling token DN");
    slapd.modify_ldif(&format!("dn: {}\nchangetype: delete\n", user_dn(&user)));

    // An HMAC pam_totp does not have (SHA-224).
    let sha224 = TotpParams {
        algorithm: "1.2.840.113549.2.8".into(),
        ..TotpParams::default()
    };
    slapd.add_ldif(&totp_params_ldif("sha224", &sha224));
    slapd.add_ldif(&totp_token_ldif("odd", "sha224", KEY));
    slapd.add_ldif(&oath_user_ldif(&user, "pw", Some("odd"), None, false));
    refused(&host, "SHA-224");
    assert_log_mentions(&host.log(), &["oathHMACAlgorithm"], "SHA-224");
    assert_eq!(
        slapd.attribute(&token_dn("odd"), "oathTOTPLastTimeStep"),
        None
    );
    slapd.modify_ldif(&format!("dn: {}\nchangetype: delete\n", user_dn(&user)));

    // Two entries for one user name: refused, though each alone would do.
    slapd.add_ldif(&format!(
        "dn: ou=more,{}\nobjectClass: organizationalUnit\nou: more\n",
        pam_totp_tests::slapd::PEOPLE
    ));
    slapd.add_ldif(&totp_token_ldif("good", TOTP_PARAMS, KEY));
    slapd.add_ldif(&oath_user_ldif(&user, "pw", Some("good"), None, false));
    works_again(&slapd, &token_dn("good"), &host, "one good entry");
    let twin = oath_user_ldif(&user, "pw", Some("good"), None, false).replacen(
        &format!("dn: uid={user},"),
        &format!("dn: uid={user},ou=more,"),
        1,
    );
    slapd.add_ldif(&twin);
    refused(&host, "two entries");
    assert_log_mentions(&host.log(), &["ou=more", "two", "entries"], "two entries");
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    needs_root!();
    needs_slapd!();
    let (slapd, token) = directory();
    // The server certificate names 127.0.0.1 and localhost. In a private mount namespace,
    // /etc/hosts gives 127.0.0.1 a name the certificate does not have.
    let mut host = host(&slapd, Transport::Ldaps);
    let hosts = host.env.dir.path().join("hosts");
    std::fs::write(
        &hosts,
        "127.0.0.1 localhost\n127.0.0.1 ldap.other.example\n",
    )
    .unwrap();
    let passwd = std::path::Path::new("/etc/passwd");
    let binds = [(hosts.as_path(), "/etc/hosts")];
    let login_in_namespace = |host: &LdapHost| {
        host.env.run(&Run {
            service: "ldap",
            answers: &[&oathtool(KEY, &[], now())],
            passwd: Some(passwd),
            binds: &binds,
            ..Run::default()
        })
    };
    let port = slapd.ldaps_port();
    host.reconfigure(|c| c.uri = format!("ldaps://ldap.other.example:{port}"));
    wait_for_fresh_step(30);
    let login = login_in_namespace(&host);
    assert!(!login.ok(), "{login:?}\n{}", host.log());
    assert_log_mentions(
        &host.log(),
        &["it does not name the host of uri"],
        "certificate for another name",
    );
    assert_eq!(slapd.attribute(&token, "oathTOTPLastTimeStep"), None);
    // The name the certificate has works, through the same /etc/hosts.
    host.reconfigure(|c| c.uri = format!("ldaps://localhost:{port}"));
    let login = login_in_namespace(&host);
    assert!(login.ok(), "{login:?}\n{}", host.log());
}

#[test]
fn a_service_account_without_the_rights_it_needs_is_refused_with_the_fix() {
    needs_root!();
    needs_slapd!();
    let (slapd, token) = directory();
    // Reads the secret but may not write the login state: the code is right, the login is
    // refused all the same (a code that cannot be used up is not accepted).
    let mut reader = host(&slapd, Transport::Ldaps);
    reader.reconfigure(|c| c.bind = Some((READER_DN.into(), LIMITED_PASSWORD.into())));
    wait_for_fresh_step(30);
    refused(&reader, "no write access");
    assert_log_mentions(
        &reader.log(),
        &["insufficient", "ACL", "access", "rc 50"],
        "no write access",
    );
    assert!(!reader.log().contains(LIMITED_PASSWORD));
    assert_eq!(slapd.attribute(&token, "oathTOTPLastTimeStep"), None);
    // Reads everything but oathSecret.
    let mut auditor = host(&slapd, Transport::Ldaps);
    auditor.reconfigure(|c| c.bind = Some((AUDITOR_DN.into(), LIMITED_PASSWORD.into())));
    refused(&auditor, "no read access to oathSecret");
    assert_log_mentions(
        &auditor.log(),
        &["oathSecret"],
        "no read access to oathSecret",
    );
    assert_eq!(slapd.attribute(&token, "oathTOTPLastTimeStep"), None);
    assert_eq!(slapd.attribute(&token, "oathFailureCount"), None);
}
