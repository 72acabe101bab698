//! The whole user journey with the real binaries: totp-enroll makes the file, pam_totp.so
//! accepts the phone's code (from oathtool) and a recovery code, regenerated recovery codes
//! replace the old ones, and remove turns the second factor off.

use pam_totp_tests::*;
use std::io::Write;
use std::process::{Command, Stdio};

fn enroll_cli(env: &Env, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(enroll_path())
        .arg("--secret-file")
        .arg(env.template())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run totp-enroll");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The recovery codes of a JSON answer, without a JSON parser: the strings in the array.
fn recovery_codes(json: &str) -> Vec<String> {
    let start = json.find("\"recovery_codes\"").expect("recovery_codes key");
    let list = &json[start..];
    let list = &list[list.find('[').unwrap() + 1..list.find(']').unwrap()];
    list.split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .collect()
}

#[test]
fn enroll_then_log_in_with_the_phone_and_a_recovery_code() {
    let env = Env::new();
    env.service("totp", "auth required @MODULE@ secret=@SECRET@ nullok window=2 rate_limit=100/30\nauth required pam_permit.so\n");
    wait_for_fresh_step(30);
    let first = oathtool(KEY, &[], now());
    let (code, out, err) = enroll_cli(
        &env,
        &["enroll", "--secret", KEY, "--json"],
        &format!("{first}\n"),
    );
    assert_eq!(code, 0, "{err}");
    let codes = recovery_codes(&out);
    assert!(codes.len() >= 10, "{out}");

    // The code used at enrollment cannot be replayed at login.
    assert_eq!(
        env.login("totp", &[&first]).rc,
        rc::AUTH_ERR,
        "{}",
        env.log()
    );

    // New recovery codes (the user proves himself with the next code) replace the old set.
    // totp-enroll applies the default 3/30 throttle to the same checks as logins.
    let proof = oathtool(KEY, &[], now() + 30);
    let (code, out, err) = enroll_cli(&env, &["recovery-codes", "--json"], &format!("{proof}\n"));
    assert_eq!(code, 0, "{err}");
    let fresh = recovery_codes(&out);
    assert_eq!(fresh.len(), codes.len());
    assert_eq!(
        env.login("totp", &[&codes[0]]).rc,
        rc::AUTH_ERR,
        "old recovery code still works"
    );
    // A new recovery code works once.
    assert!(env.login("totp", &[&fresh[0]]).ok(), "{}", env.log());
    assert_eq!(env.login("totp", &[&fresh[0]]).rc, rc::AUTH_ERR);
    // The phone's next code works (window=2 reaches two steps ahead).
    assert!(
        env.login("totp", &[&oathtool(KEY, &[], now() + 60)]).ok(),
        "{}",
        env.log()
    );

    // remove: the user is no longer asked (nullok) and gets in through the rest of the stack.
    let (code, _, err) = enroll_cli(&env, &["remove"], "");
    assert_eq!(code, 0, "{err}");
    let login = env.login("totp", &[]);
    assert!(login.ok() && login.prompts().is_empty(), "{login:?}");
}

#[test]
fn a_wrong_first_code_leaves_no_file_and_no_login() {
    let env = Env::new();
    env.service("totp", "auth required @MODULE@ secret=@SECRET@\n");
    let (code, _, _) = enroll_cli(&env, &["enroll", "--secret", KEY, "--json"], "000000\n");
    assert_eq!(code, 1);
    assert!(!env.secret_path().exists());
    assert_eq!(
        env.login("totp", &[&oathtool(KEY, &[], now())]).rc,
        rc::AUTH_ERR
    );
}

#[test]
fn import_a_file_made_by_google_authenticator() {
    let env = Env::new();
    let ga = env.dir.path().join("google_authenticator");
    let out = Command::new(tool("google-authenticator", "libpam-google-authenticator"))
        .args([
            "-t", "-d", "-f", "-r", "3", "-R", "30", "-w", "3", "-Q", "NONE", "-q", "-s",
        ])
        .arg(&ga)
        .env("HOME", env.dir.path())
        .output()
        .expect("run google-authenticator");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&ga).unwrap();
    let secret = text.lines().next().unwrap().to_string();
    let scratch: Vec<&str> = text
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with('"'))
        .collect();
    assert_eq!(scratch.len(), 5, "{text}");

    let (code, out, err) = enroll_cli(
        &env,
        &["import-google-authenticator", ga.to_str().unwrap()],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    env.service(
        "totp",
        "auth required @MODULE@ secret=@SECRET@ rate_limit=100/30\n",
    );
    // The phone keeps working: the same secret gives the same codes.
    assert!(
        env.login("totp", &[&oathtool(&secret, &[], now())]).ok(),
        "{}",
        env.log()
    );
    // Scratch codes became single-use recovery codes.
    assert!(env.login("totp", &[scratch[0]]).ok(), "{}", env.log());
    assert_eq!(env.login("totp", &[scratch[0]]).rc, rc::AUTH_ERR);
    let stored = std::fs::read_to_string(env.secret_path()).unwrap();
    for s in &scratch {
        assert!(!stored.contains(s), "scratch code {s} stored in plain text");
    }
}
