//! Tokens through real libpam: a hardware HOTP token added with the real `totp-enroll
//! add-token` logs in with its next code (from `oathtool --hotp`), the log line names the
//! token and the counter, and the code is used up; the enrollment's own TOTP token still works.

use pam_totp_tests::*;
use std::io::Write;
use std::process::{Command, Stdio};

const BASIC: &str = "auth required @MODULE@ secret=@SECRET@ rate_limit=100/30\n";
/// The hardware token's key (the RFC 4226 key, 160 bits), base32.
const FOB: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

/// `oathtool --hotp -b -c COUNTER KEY`.
fn hotp(key: &str, counter: u64) -> String {
    let out = Command::new(tool("oathtool", "oathtool"))
        .args(["--hotp", "-b", "-c", &counter.to_string(), key])
        .output()
        .expect("run oathtool");
    assert!(out.status.success(), "oathtool: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_token_added_by_totp_enroll_logs_in_and_is_named_in_the_log() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service("totp", BASIC);

    // The real CLI adds the token; its first code (counter 0) is checked and used up.
    let mut child = Command::new(enroll_path())
        .arg("--secret-file")
        .arg(env.template())
        .args([
            "add-token",
            "--name",
            "fob",
            "--hotp",
            "--secret",
            FOB,
            "--no-qr",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run totp-enroll");
    writeln!(child.stdin.take().unwrap(), "{}", hotp(FOB, 0)).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "add-token: {out:?}");

    // The code totp-enroll took is refused at login; the next one logs in, named.
    let login = env.login("totp", &[&hotp(FOB, 0)]);
    assert_eq!(login.rc, rc::AUTH_ERR, "{login:?}\n{}", env.log());
    let login = env.login("totp", &[&hotp(FOB, 1)]);
    assert!(login.ok(), "{login:?}\n{}", env.log());
    let log = env.log();
    assert!(
        log.contains(&format!(
            "accepted verification code; user={} counter=1 token=fob",
            env.user
        )),
        "{log}"
    );
    // Used up: the same code again is refused.
    let login = env.login("totp", &[&hotp(FOB, 1)]);
    assert_eq!(login.rc, rc::AUTH_ERR, "{login:?}\n{}", env.log());

    // The enrollment's own token still logs in, named `default`.
    wait_for_fresh_step(30);
    let login = env.login("totp", &[&oathtool(KEY, &[], now())]);
    assert!(login.ok(), "{login:?}\n{}", env.log());
    assert!(env.log().contains("token=default"), "{}", env.log());
}
