//! The administrator's path from the README: a service file in /etc/pam.d and pamtester.
//! Runs in a private mount namespace (unshare -m) with a temporary directory bound over
//! /etc/pam.d, so the machine's PAM configuration is never touched. Needs root.

use pam_totp_tests::*;
use std::io::Write;
use std::process::{Command, Stdio};

fn pamtester(env: &Env, service: &str, input: &str) -> (bool, String) {
    let pamd = env.dir.path().join("pam.d");
    let script = format!(
        "mount --bind '{}' /etc/pam.d && exec '{}' -v {service} '{}' authenticate",
        pamd.display(),
        tool("pamtester", "pamtester").display(),
        env.user
    );
    let mut child = Command::new(tool("unshare", "util-linux"))
        .args(["-m", "sh", "-c", &script])
        .env("LD_PRELOAD", env!("SYSLOG_CAPTURE_SO"))
        .env("PAM_TOTP_TEST_SYSLOG", env.dir.path().join("syslog.log"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pamtester");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn pamtester_logs_in_with_a_code_and_refuses_a_wrong_one() {
    needs_root!();
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service("totp-pamtester", "auth required @MODULE@ secret=@SECRET@\n");
    let (ok, text) = pamtester(
        &env,
        "totp-pamtester",
        &format!("{}\n", oathtool(KEY, &[], now())),
    );
    assert!(ok, "{text}\n{}", env.log());
    assert!(text.contains("Verification code: "), "{text}");
    assert!(text.contains("successfully authenticated"), "{text}");
    let (ok, text) = pamtester(&env, "totp-pamtester", "000000\n");
    assert!(!ok, "{text}");
    assert!(text.contains("Authentication failure"), "{text}");
}
