//! OpenVPN end to end: a real OpenVPN 2.6 server with the auth-pam plugin and real OpenVPN
//! clients (`dev tun`, 127.0.0.1) inside a private network and mount namespace, with a test
//! pam.d bound over /etc/pam.d (and fake users over /etc/passwd, /etc/shadow, /etc/group where
//! pam_unix needs them). Nothing on the machine changes. Needs root; see `pam_totp_tests::vpn`.

use pam_totp_tests::vpn::{self, Outcome, Server};
use pam_totp_tests::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The code alone as the password: the plugin, given no name/value list, answers the module's
/// hidden prompt with the password field.
const CODE_ONLY: &str = "auth required @MODULE@ secret=@SECRET@\naccount required pam_permit.so\n";

/// Password and code in one field (packaging/pam.d/openvpn): `forward_pass` splits, pam_unix
/// checks the password (requisite), `check_forwarded` checks the code.
fn forward_pass_stack() -> String {
    shipped_stack("openvpn")
}

/// Password, then code, as two PAM prompts answered from the plugin's name/value list
/// (packaging/pam.d/openvpn-static-challenge).
fn static_challenge_stack() -> String {
    shipped_stack("openvpn-static-challenge")
}

fn syslog(env: &Env) -> PathBuf {
    env.dir.path().join("syslog.log")
}

fn pamd(env: &Env) -> PathBuf {
    env.dir.path().join("pam.d")
}

/// A six-digit code that is none of the codes for the previous, current and next time step.
fn wrong_code() -> String {
    wrong_codes().swap_remove(0)
}

/// Six-digit codes that are none of the codes for the previous, current and next time step.
fn wrong_codes() -> Vec<String> {
    let t = now();
    let right: Vec<String> = [t - 30, t, t + 30]
        .iter()
        .map(|&at| oathtool(KEY, &[], at))
        .collect();
    [
        "000000", "111111", "222222", "333333", "444444", "555555", "666666",
    ]
    .iter()
    .filter(|c| !right.iter().any(|r| r == *c))
    .map(|c| c.to_string())
    .collect()
}

/// Asserts that a connection ended as `want`, with the logs when it did not.
fn assert_outcome(c: &vpn::Connection, want: Outcome, server: &Server, env: &Env) {
    assert_eq!(
        c.outcome,
        want,
        "{}\n{}\n{}",
        c.log,
        server.log(),
        env.log()
    );
}

/// Starts a server whose PAM service is the code-only service for the current user, with
/// `extra` server configuration lines.
fn code_only_server_with(env: &Env, extra: &str) -> Server {
    env.enroll(KEY, &[]);
    env.service("openvpn-totp", CODE_ONLY);
    let pamd = pamd(env);
    Server::start_with(
        env.dir.path(),
        &[(pamd.as_path(), "/etc/pam.d")],
        "openvpn-totp",
        &syslog(env),
        extra,
    )
}

fn code_only_server(env: &Env) -> Server {
    code_only_server_with(env, "")
}

/// Renegotiate the data channel keys every 5 s (the default is 3600 s).
const FAST_RENEG: &str = "reneg-sec 5\n";

/// Two enrolled fake users (pamtest0, pamtest1, password [`FakeUsers::PASSWORD`]) and a server
/// whose namespace sees them and the test pam.d.
fn fake_user_server(env: &Env, service: &str, text: &str, plugin_args: &str) -> Server {
    let users = FakeUsers::new(env.dir.path(), 2);
    for i in 0..2 {
        users.enroll(i, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    }
    env.service(service, text);
    let pamd = pamd(env);
    let mut binds: Vec<(&Path, &str)> = users.binds();
    binds.push((pamd.as_path(), "/etc/pam.d"));
    Server::start(env.dir.path(), &binds, plugin_args, &syslog(env))
}

#[test]
fn openvpn_connects_with_the_code_as_the_password() {
    needs_root!();
    let env = Env::new();
    let server = code_only_server(&env);
    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());
    let c = server.connect(&env.user, &code, None);
    assert_eq!(
        c.outcome,
        Outcome::Connected,
        "{}\n{}\n{}",
        c.log,
        server.log(),
        env.log()
    );
    let log = env.log();
    assert!(
        log.contains(&format!(
            "pam_totp(openvpn-totp:auth): accepted verification code; user={}",
            env.user
        )),
        "{log}"
    );
    // The plugin asked the module's own prompt and answered it with the password field.
    assert!(
        server.log().contains("query='Verification code: '"),
        "{}",
        server.log()
    );

    // The same code again (a second client, or someone who saw it) is refused.
    let again = server.connect(&env.user, &code, None);
    assert_eq!(again.outcome, Outcome::AuthFailed, "{}", again.log);
    assert!(env.log().contains("reason=replayed code"), "{}", env.log());
}

#[test]
fn openvpn_refuses_a_wrong_code_with_auth_failed() {
    needs_root!();
    let env = Env::new();
    let server = code_only_server(&env);
    wait_for_fresh_step(30);
    let c = server.connect(&env.user, &wrong_code(), None);
    assert_eq!(
        c.outcome,
        Outcome::AuthFailed,
        "{}\n{}\n{}",
        c.log,
        server.log(),
        env.log()
    );
    assert!(
        c.log
            .contains("AUTH: Received control message: AUTH_FAILED"),
        "{}",
        c.log
    );
    let log = env.log();
    assert!(
        log.contains(&format!(
            "pam_totp(openvpn-totp:auth): authentication failure; user={} rhost=127.0.0.1 reason=wrong code",
            env.user
        )),
        "{log}"
    );
    assert!(!log.contains("accepted verification code"), "{log}");
    assert!(
        server
            .log()
            .contains(&format!("user '{}' failed to authenticate", env.user)),
        "{}",
        server.log()
    );

    // The same server and user with the right code connect: the refusal was the code's.
    let code = oathtool(KEY, &[], now());
    let c = server.connect(&env.user, &code, None);
    assert_eq!(c.outcome, Outcome::Connected, "{}\n{}", c.log, env.log());
}

#[test]
fn openvpn_forward_pass_takes_password_and_code_in_one_field() {
    needs_root!();
    let env = Env::new();
    let server = fake_user_server(&env, "openvpn-fwd", &forward_pass_stack(), "openvpn-fwd");
    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());

    // The right password followed by the right code.
    let c = server.connect("pamtest0", &format!("{}{code}", FakeUsers::PASSWORD), None);
    assert_outcome(&c, Outcome::Connected, &server, &env);
    assert!(
        server
            .log()
            .contains("query='Password & verification code: '"),
        "{}",
        server.log()
    );
    assert!(
        env.log()
            .contains("pam_totp(openvpn-fwd:auth): accepted verification code; user=pamtest0"),
        "{}",
        env.log()
    );

    // The other order: the same code again behind a wrong password is stopped by pam_unix
    // (requisite) before pam_totp sees it: no replay line, no check counted.
    let before = env.log();
    let c = server.connect("pamtest0", &format!("not-the-password{code}"), None);
    assert_outcome(&c, Outcome::AuthFailed, &server, &env);
    let added = env.log().replacen(&before, "", 1);
    assert!(
        added.contains("pam_unix(openvpn-fwd:auth): authentication failure"),
        "{added}"
    );
    assert!(
        !added.contains("pam_totp(openvpn-fwd:auth): authentication failure"),
        "{added}"
    );
    assert!(!added.contains("SECOND FACTOR NOT CHECKED"), "{added}");
}

#[test]
fn openvpn_forward_pass_wrong_passwords_neither_burn_the_code_nor_count() {
    needs_root!();
    // Issue 8: a wrong password with the right code used to burn the code (the right password
    // then got "replayed code"), and three bogus logins per 30 s exhausted the user's rate
    // limit: anyone who knew a user name could keep that user off the VPN.
    let env = Env::new();
    let server = fake_user_server(&env, "openvpn-fwd", &forward_pass_stack(), "openvpn-fwd");
    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());

    // Four bogus logins (more than the rate limit of 3 per 30 s), then a wrong password with
    // the right code.
    for wrong in wrong_codes().iter().take(4) {
        let c = server.connect("pamtest1", &format!("notthepassword{wrong}"), None);
        assert_outcome(&c, Outcome::AuthFailed, &server, &env);
    }
    let c = server.connect("pamtest1", &format!("not-the-password{code}"), None);
    assert_outcome(&c, Outcome::AuthFailed, &server, &env);
    let log = env.log();
    assert!(
        !log.contains("pam_totp(openvpn-fwd:auth): authentication failure"),
        "a wrong password reached the code check:\n{log}"
    );
    assert_eq!(
        log.matches("pam_unix(openvpn-fwd:auth): authentication failure")
            .count(),
        5,
        "{log}"
    );

    // The right password with the same code: the code was not used up, the limit not reached.
    let c = server.connect("pamtest1", &format!("{}{code}", FakeUsers::PASSWORD), None);
    assert_outcome(&c, Outcome::Connected, &server, &env);
    let log = env.log();
    assert!(
        log.contains("pam_totp(openvpn-fwd:auth): accepted verification code; user=pamtest1"),
        "{log}"
    );
    assert!(!log.contains("rate limit"), "{log}");
}

#[test]
fn openvpn_forward_pass_without_its_check_line_is_refused_by_the_account_line() {
    needs_root!();
    // An administrator who drops the check_forwarded line: the password alone would pass
    // authentication, and the plugin's pam_acct_mgmt call meets the shipped pam_totp account
    // line, which refuses.
    let env = Env::new();
    let forgotten: String = forward_pass_stack()
        .lines()
        .filter(|l| !l.contains("check_forwarded") || l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let server = fake_user_server(&env, "openvpn-fwd", &forgotten, "openvpn-fwd");
    let c = server.connect(
        "pamtest0",
        &format!("{}{}", FakeUsers::PASSWORD, wrong_code()),
        None,
    );
    assert_outcome(&c, Outcome::AuthFailed, &server, &env);
    let log = env.log();
    assert!(
        log.contains("pam_totp(openvpn-fwd:account): account refused: user=pamtest0"),
        "{log}"
    );
}

#[test]
fn openvpn_static_challenge_sends_password_and_code_separately() {
    needs_root!();
    let env = Env::new();
    let server = fake_user_server(
        &env,
        "openvpn-sc",
        &static_challenge_stack(),
        "openvpn-sc login USERNAME password PASSWORD verification OTP",
    );
    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());

    // A wrong password with the right code: pam_unix (requisite) ends the login, the code is
    // neither checked nor used up.
    let c = server.connect("pamtest0", "not-the-password", Some(&code));
    assert_outcome(&c, Outcome::AuthFailed, &server, &env);
    assert!(
        !env.log().contains("pam_totp(openvpn-sc:auth)"),
        "a wrong password reached the code check:\n{}",
        env.log()
    );

    // The client asks for the code at its console and sends SCRV1:<password>:<code>; the
    // plugin answers pam_unix's "Password: " with the password and pam_totp's
    // "Verification code: " with the code. The same code as above: it was not used up.
    let c = server.connect("pamtest0", FakeUsers::PASSWORD, Some(&code));
    assert_outcome(&c, Outcome::Connected, &server, &env);
    assert!(
        server.log().contains("parsed static challenge password"),
        "{}",
        server.log()
    );
    assert!(
        env.log()
            .contains("pam_totp(openvpn-sc:auth): accepted verification code; user=pamtest0"),
        "{}",
        env.log()
    );

    // The right password with a wrong code.
    let c = server.connect("pamtest1", FakeUsers::PASSWORD, Some(&wrong_code()));
    assert_outcome(&c, Outcome::AuthFailed, &server, &env);
    assert!(
        env.log().contains(
            "pam_totp(openvpn-sc:auth): authentication failure; user=pamtest1 rhost=127.0.0.1 reason=wrong code"
        ),
        "{}",
        env.log()
    );
}

#[test]
fn openvpn_renegotiation_without_auth_gen_token_replays_the_code_and_drops_the_client() {
    needs_root!();
    // OpenVPN renegotiates every reneg-sec (3600 s by default) and the client sends its cached
    // password again: a one-time code cannot pass twice, so the tunnel drops. Documented in the
    // README: use auth-gen-token.
    let env = Env::new();
    let server = code_only_server_with(&env, FAST_RENEG);
    wait_for_fresh_step(30);
    let mut client = server.client(&env.user, &oathtool(KEY, &[], now()), None);
    let first = client.wait_for(
        &["Initialization Sequence Completed", "AUTH_FAILED"],
        Duration::from_secs(20),
    );
    assert_eq!(first, Some(0), "{}\n{}", client.log(), server.log());
    let later = client.wait_for(&["AUTH_FAILED"], Duration::from_secs(15));
    assert_eq!(
        later,
        Some(0),
        "no AUTH_FAILED at the renegotiation\n{}\n{}",
        client.log(),
        server.log()
    );
    assert!(server.log().contains("TLS: soft reset"), "{}", server.log());
    let log = env.log();
    assert!(log.contains("accepted verification code"), "{log}");
    assert!(log.contains("reason=replayed code"), "{log}");
}

#[test]
fn openvpn_auth_gen_token_keeps_the_tunnel_across_renegotiation() {
    needs_root!();
    // With auth-gen-token the server hands the client a session token after the first login;
    // renegotiations authenticate with the token and PAM (and the code) is not asked again.
    // The token's renewal time must be at least twice hand-window (15 s here).
    let env = Env::new();
    let mut server = code_only_server_with(&env, &format!("{FAST_RENEG}auth-gen-token 0 30\n"));
    wait_for_fresh_step(30);
    let mut client = server.client(&env.user, &oathtool(KEY, &[], now()), None);
    let first = client.wait_for(
        &["Initialization Sequence Completed", "AUTH_FAILED"],
        Duration::from_secs(20),
    );
    assert_eq!(first, Some(0), "{}\n{}", client.log(), server.log());
    let renegotiated = server.wait_for(
        &["auth-token authentication succeeded"],
        Duration::from_secs(15),
    );
    assert_eq!(
        renegotiated,
        Some(0),
        "no renegotiation with the token\n{}",
        server.log()
    );
    assert!(!client.exited(), "{}", client.log());
    assert!(!client.log().contains("AUTH_FAILED"), "{}", client.log());
    let log = env.log();
    assert_eq!(
        log.matches("accepted verification code").count(),
        1,
        "{log}"
    );
    assert!(!log.contains("authentication failure"), "{log}");
}

#[test]
fn openvpn_deferred_auth_pam_accepts_the_right_code_and_refuses_a_wrong_one() {
    needs_root!();
    // The README recommends `setenv deferred_auth_pam 1`, so that the plugin checks in the
    // background and a wrong code's failure delay does not hold up the server. Two clients at
    // once, one with a wrong code and one with the right code: each gets its own answer.
    let env = Env::new();
    // duplicate-cn: both clients are the same user, and neither may replace the other.
    let mut server = code_only_server_with(&env, "setenv deferred_auth_pam 1\nduplicate-cn\n");
    wait_for_fresh_step(30);
    let mut wrong = server.client(&env.user, &wrong_code(), None);
    let right = server.connect(&env.user, &oathtool(KEY, &[], now()), None);
    assert_eq!(
        right.outcome,
        Outcome::Connected,
        "{}\n{}\n{}",
        right.log,
        server.log(),
        env.log()
    );
    let refused = wrong.wait_for(
        &["AUTH_FAILED", "Initialization Sequence Completed"],
        Duration::from_secs(20),
    );
    assert_eq!(refused, Some(0), "{}\n{}", wrong.log(), server.log());
    // The plugin's background child reports each deferred result (after answering, so wait).
    for needle in [
        "deferred auth: PAM succeeded",
        "deferred auth: PAM rejected",
    ] {
        assert_eq!(
            server.wait_for(&[needle], Duration::from_secs(10)),
            Some(0),
            "no \"{needle}\": the plugin did not defer\n{}",
            server.log()
        );
    }
    let log = env.log();
    assert_eq!(
        log.matches("accepted verification code").count(),
        1,
        "{log}"
    );
    assert!(log.contains("reason=wrong code"), "{log}");
}

/// `enroll` on the shipped one-field stack (on its `forward_pass` line, where its options go):
/// OpenVPN's client cannot show a key, so a user without a file is refused after the password,
/// with a log line saying why, and nothing is written; an enrolled user connects as before.
#[test]
fn openvpn_forward_pass_with_enroll_refuses_a_user_without_a_file_with_a_log_line() {
    needs_root!();
    let env = Env::new();
    let users = FakeUsers::new(env.dir.path(), 2);
    users.enroll(0, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    let stack = forward_pass_stack().replacen(
        "@MODULE@ forward_pass\n",
        "@MODULE@ forward_pass enroll\n",
        1,
    );
    assert!(stack.contains("forward_pass enroll\n"), "{stack}");
    env.service("openvpn-enroll", &stack);
    let pamd = pamd(&env);
    let mut binds: Vec<(&Path, &str)> = users.binds();
    binds.push((pamd.as_path(), "/etc/pam.d"));
    let server = Server::start(env.dir.path(), &binds, "openvpn-enroll", &syslog(&env));

    let c = server.connect("pamtest1", &format!("{}123456", FakeUsers::PASSWORD), None);
    assert_outcome(&c, Outcome::AuthFailed, &server, &env);
    let log = env.log();
    assert!(
        log.contains(
            "pam_totp(openvpn-enroll:auth): authentication failure; user=pamtest1 rhost=127.0.0.1 reason=not enrolled ("
        ) && log.contains(
            "enroll cannot show the key through a forward_pass conversation (e.g. OpenVPN): run totp-enroll"
        ),
        "{log}"
    );
    assert!(!log.contains("enrolled at login"), "{log}");
    assert!(
        !users.users[1].2.join(".pam_totp.toml").exists(),
        "nothing may be written"
    );

    // An enrolled user is not affected.
    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());
    let c = server.connect("pamtest0", &format!("{}{code}", FakeUsers::PASSWORD), None);
    assert_outcome(&c, Outcome::Connected, &server, &env);
}
