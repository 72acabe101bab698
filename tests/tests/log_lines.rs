//! Every kind of line pam_totp logs, written for a hostile user name or host: no line may be
//! split into two (a forged line for fail2ban to act on) and no `user=`/`rhost=` field may be
//! forged. Names with line breaks can only be typed (unknown users); names with spaces and `=`
//! can also exist in the user database (LDAP, SSSD), which the root-only test sets up.

use pam_totp_tests::*;
use std::fs;

/// A user name that tries to end the line and forge a failure for another address.
const FORGING_NAME: &str =
    "ghost\npam_totp(t:auth): authentication failure; user=victim rhost=198.51.100.9 reason=wrong code";
/// A PAM_RHOST that tries the same.
const FORGING_HOST: &str = "192.0.2.1\n99 pam_totp(t:auth): authentication failure; user=victim rhost=198.51.100.9 reason=x";
/// A user name that can exist in a user database and tries to forge fields.
const SPACED_NAME: &str = "x rhost=198.51.100.9 reason=forged";

/// Every captured line is one whole syslog call, and none carries a forged field.
fn assert_no_forgery(log: &str, kinds: &[&str]) {
    for line in log.lines() {
        let (prio, rest) = line.split_once(' ').unwrap_or_default();
        assert!(
            prio.parse::<u8>().is_ok() && rest.starts_with("pam_"),
            "a log line was split: {line:?}\n{log}"
        );
        assert!(!line.contains("user=victim"), "forged user field: {line:?}");
        assert!(
            !line.contains("rhost=198.51.100.9 "),
            "forged rhost field: {line:?}"
        );
        assert!(!line.contains("user=x rhost"), "forged field: {line:?}");
    }
    for kind in kinds {
        assert!(log.contains(kind), "no {kind:?} line was written:\n{log}");
    }
}

#[test]
fn typed_user_names_and_hosts_cannot_forge_lines() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service(
        "debug",
        "auth required @MODULE@ secret=@SECRET@ nullok debug\nauth required pam_permit.so\n",
    );
    env.service("strict", "auth required @MODULE@ secret=@SECRET@\n");
    env.service(
        "check",
        "auth required pam_permit.so\nauth required @MODULE@ check_forwarded\n",
    );
    env.service(
        "split",
        "auth required @MODULE@ secret=@SECRET@ forward_pass\nauth required pam_permit.so\n",
    );
    let as_user = |service: &str, user: &str, rhost: &str| {
        env.run(&Run {
            service,
            answers: &["000000"],
            user: Some(user),
            extra: &["--rhost", rhost],
            ..Run::default()
        })
    };
    // nullok's debug line for an unknown user (issue 8 item 7: it printed the raw name).
    assert!(as_user("debug", FORGING_NAME, "192.0.2.1").ok());
    // The failure line: unknown user, hostile host.
    assert_eq!(
        as_user("strict", FORGING_NAME, FORGING_HOST).rc,
        rc::AUTH_ERR
    );
    // A wrong code of an enrolled user from a hostile host.
    let me = env.user.clone();
    assert_eq!(as_user("strict", &me, FORGING_HOST).rc, rc::AUTH_ERR);
    // check_forwarded without a kept code.
    assert_eq!(as_user("check", FORGING_NAME, "192.0.2.1").rc, rc::AUTH_ERR);
    // The alarm for a forward_pass line without its check line.
    assert!(as_user("split", FORGING_NAME, "192.0.2.1").ok());
    assert_no_forgery(
        &env.log(),
        &[
            "not enrolled (unknown user); nullok lets the stack decide",
            "reason=not enrolled",
            "reason=wrong code",
            "check_forwarded: no code was kept",
            "SECOND FACTOR NOT CHECKED",
        ],
    );
}

#[test]
fn user_database_names_with_spaces_cannot_forge_fields() {
    needs_root!();
    let env = Env::new();
    let users = FakeUsers::new(env.dir.path(), 1);
    let passwd = fs::read_to_string(&users.passwd).unwrap();
    fs::write(
        &users.passwd,
        passwd.replace("pamtest0:", &format!("{SPACED_NAME}:")),
    )
    .unwrap();
    let file = env.dir.path().join(format!("{SPACED_NAME}.toml"));
    write_private(&file, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    nix::unistd::chown(&file, Some(nix::unistd::Uid::from_raw(40_000)), None).unwrap();
    env.service("t", "auth required @MODULE@ secret=@SECRET@\n");
    let run = |answer: &str| {
        env.run(&Run {
            service: "t",
            answers: &[answer],
            user: Some(SPACED_NAME),
            passwd: Some(&users.passwd),
            extra: &["--rhost", "192.0.2.1"],
            ..Run::default()
        })
    };
    assert!(run(&oathtool(KEY, &[], now())).ok(), "{}", env.log());
    assert_eq!(run("000000").rc, rc::AUTH_ERR);
    // The refusal of an unusable file names the path (with the name in it).
    fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    assert_eq!(run("000000").rc, rc::AUTH_ERR);
    assert_no_forgery(
        &env.log(),
        &[
            "accepted verification code; user=x?rhost?198.51.100.9?reason?forged",
            "reason=wrong code",
            "refusing secret file of user=x?rhost?198.51.100.9?reason?forged",
        ],
    );
}

#[test]
fn one_file_for_every_user_is_a_configuration_error() {
    // Issue 8 item 8: a template without %u, ~ or %h gives all users one secret, one replay
    // and one rate-limit state.
    let env = Env::new();
    let shared = env.dir.path().join("everyone.toml");
    write_private(&shared, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    env.service(
        "shared",
        &format!("auth required @MODULE@ secret={}\n", shared.display()),
    );
    let login = env.login("shared", &[&oathtool(KEY, &[], now())]);
    assert_eq!(login.rc, rc::SERVICE_ERR, "{login:?}");
    assert!(login.prompts().is_empty());
    assert!(
        env.log().contains("names one file for every user"),
        "{}",
        env.log()
    );
}
