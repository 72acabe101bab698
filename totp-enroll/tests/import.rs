//! `import-google-authenticator` through the real binary.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

fn write_ga(env: &Env, name: &str, text: &str) -> PathBuf {
    let path = env.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    path
}

#[test]
fn a_google_authenticator_file_keeps_the_phone_working() {
    let env = Env::new();
    let ga = write_ga(
        &env,
        "ga",
        &format!("{RFC_SHA1_KEY}\n\" RATE_LIMIT 5 60 1700000000\n\" WINDOW_SIZE 17\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n21815126\n46859078\n50471075\n"),
    );
    let out = env.run(&["import-google-authenticator", ga.to_str().unwrap()], "");
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("window=8"), "{text}");
    assert!(text.contains("rate_limit=5/60"), "{text}");
    assert!(text.contains("3 scratch code(s)"), "{text}");
    assert_eq!(
        std::fs::metadata(env.file()).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let secret = env.text();
    assert!(
        secret.contains(RFC_SHA1_KEY) && !secret.contains("21815126"),
        "scratch codes are stored hashed"
    );

    let st = json(&env.run(&["status", "--json"], ""));
    assert_eq!(
        (st["enrolled"].clone(), st["recovery_codes_left"].clone()),
        (true.into(), 3.into())
    );
    assert_eq!(
        (
            st["algorithm"].clone(),
            st["digits"].clone(),
            st["period"].clone()
        ),
        ("SHA1".into(), 6.into(), 30.into())
    );

    // A scratch code is now a recovery code, and the phone's codes are accepted.
    let out = env.run(&["recovery-codes", "--json"], "46859078\n");
    assert_exit(&out, 0);
    let out = env.run(&["recovery-codes", "--json"], &code(RFC_SHA1_KEY));
    assert_exit(&out, 0);

    // A second import needs --force.
    let out = env.run(&["import-google-authenticator", ga.to_str().unwrap()], "");
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    let out = env.run(
        &[
            "import-google-authenticator",
            "--force",
            ga.to_str().unwrap(),
        ],
        "",
    );
    assert_exit(&out, 0);
    assert_eq!(
        json(&env.run(&["status", "--json"], ""))["recovery_codes_left"],
        3
    );
}

#[test]
fn step_size_becomes_the_period() {
    let env = Env::new();
    let ga = write_ga(
        &env,
        "ga",
        &format!("{RFC_SHA1_KEY}\n\" STEP_SIZE 60\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n\" RATE_LIMIT 3 30\n"),
    );
    let out = env.run(&["import-google-authenticator", ga.to_str().unwrap()], "");
    assert_exit(&out, 0);
    assert_eq!(json(&env.run(&["status", "--json"], ""))["period"], 60);
}

/// Keys shorter than the 80 bits of older google-authenticator versions are refused. (80-bit
/// keys are imported: tests/tests/enrollment.rs logs in with one through libpam.)
#[test]
fn short_keys_are_refused_with_the_fix() {
    let env = Env::new();
    let ga = write_ga(&env, "ga", "GEZDGNBVGY3TQOJQ\n\" TOTP_AUTH\n12345678\n");
    let out = env.run(&["import-google-authenticator", ga.to_str().unwrap()], "");
    assert_exit(&out, 0);
    let ga = write_ga(&env, "ga40", "GEZDGNBV\n\" TOTP_AUTH\n12345678\n");
    let other = Env::new();
    let out = other.run(&["import-google-authenticator", ga.to_str().unwrap()], "");
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("40 bits")
            && err.contains("at least 80")
            && err.contains("totp-enroll enroll"),
        "{err}"
    );
    assert!(err.contains(ga.to_str().unwrap()), "{err}");
    assert!(!err.contains("GEZDGNBV"), "the key is not echoed");
    assert!(!other.file().exists());
}

#[test]
fn hotp_files_are_refused() {
    let env = Env::new();
    let ga = write_ga(
        &env,
        "ga",
        &format!("{RFC_SHA1_KEY}\n\" HOTP_COUNTER 1\n12345678\n"),
    );
    let out = env.run(&["import-google-authenticator", ga.to_str().unwrap()], "");
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("HOTP is not supported yet"),
        "{}",
        stderr(&out)
    );
    assert!(!env.file().exists());
}

#[test]
fn symlinks_and_garbage_are_refused() {
    let env = Env::new();
    let ga = write_ga(&env, "ga", &format!("{RFC_SHA1_KEY}\n\" TOTP_AUTH\n"));
    let link = env.dir.path().join("link");
    std::os::unix::fs::symlink(&ga, &link).unwrap();
    let out = env.run(&["import-google-authenticator", link.to_str().unwrap()], "");
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));

    let bad = write_ga(
        &env,
        "bad",
        &format!("{RFC_SHA1_KEY}\nnot a scratch code\n"),
    );
    let out = env.run(&["import-google-authenticator", bad.to_str().unwrap()], "");
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("line 2") && !err.contains("not a scratch code"),
        "{err}"
    );

    let missing = env.dir.path().join("missing");
    let out = env.run(
        &["import-google-authenticator", missing.to_str().unwrap()],
        "",
    );
    assert_exit(&out, 1);
    assert!(stderr(&out).contains(missing.to_str().unwrap()));
    assert!(!env.file().exists());
}
