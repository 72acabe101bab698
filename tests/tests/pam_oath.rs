//! Coming from pam_oath: a user logs in through Debian's pam_oath (libpam-oath) with an HOTP
//! code from oathtool; `totp-enroll import-oath-usersfile` takes the usersfile pam_oath wrote
//! back; pam_totp then refuses the code pam_oath already accepted and accepts the next one.
//! Also a login with a token imported from a PSKC file. All through real libpam.

use pam_totp_tests::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// RFC 4226's key in hex, as pam_oath's usersfile holds keys.
const RFC_HEX: &str = "3132333435363738393031323334353637383930";

/// pam_totp with the default HOTP look-ahead and no throttle in the way of the test.
const TOTP_SERVICE: &str = "auth required @MODULE@ secret=@SECRET@ rate_limit=100/30\n";

/// Whether Debian's pam_oath is installed. Without it the test is skipped, except in CI
/// (tests/install-deps.sh installs libpam-oath), where that is a failure.
fn pam_oath_present(test: &str) -> bool {
    let dirs = ["/lib", "/usr/lib"];
    let found = dirs.iter().any(|dir| {
        Path::new(dir).join("security/pam_oath.so").exists()
            || std::fs::read_dir(dir).is_ok_and(|entries| {
                entries
                    .flatten()
                    .any(|e| e.path().join("security/pam_oath.so").exists())
            })
    });
    if !found {
        assert!(
            !in_ci(),
            "{test}: pam_oath.so is missing: apt-get install libpam-oath (tests/install-deps.sh)"
        );
        eprintln!("SKIPPED {test}: pam_oath.so is missing (apt-get install libpam-oath)");
    }
    found
}

/// two-tokens.xml's HOTP key (`abcdefghijklmnopqrst`) in hex: one user's tokens cannot share
/// a key, so it is not the TOTP token's.
const PSKC_HOTP_HEX: &str = "6162636465666768696a6b6c6d6e6f7071727374";

/// The HOTP code of `counter` from oathtool (RFC 4226's key).
fn hotp(counter: u64) -> String {
    hotp_of(RFC_HEX, counter)
}

/// The HOTP code of `counter` for the key `hex`, from oathtool.
fn hotp_of(hex: &str, counter: u64) -> String {
    let out = Command::new(tool("oathtool", "oathtool"))
        .args(["--hotp", "-c", &counter.to_string(), hex])
        .output()
        .expect("run oathtool");
    assert!(out.status.success(), "oathtool failed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs `totp-enroll --secret-file TEMPLATE ARGS` with its syslog captured into the env's log.
fn totp_enroll(env: &Env, args: &[&str]) -> Output {
    let mut cmd = Command::new(enroll_path());
    cmd.arg("--secret-file").arg(env.template()).args(args);
    env.capture_syslog(&mut cmd)
        .output()
        .expect("run totp-enroll")
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "totp-enroll failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn pam_oath_users_keep_their_hotp_token_and_no_code_is_accepted_twice() {
    needs_root!();
    if !pam_oath_present("pam_oath_users_keep_their_hotp_token_and_no_code_is_accepted_twice") {
        return;
    }
    let env = Env::new();
    let usersfile: PathBuf = env.dir.path().join("users.oath");
    write_private(&usersfile, &format!("HOTP {} - {RFC_HEX}\n", env.user));
    env.service(
        "oath",
        &format!(
            "auth required pam_oath.so usersfile={} window=5\n",
            usersfile.display()
        ),
    );
    env.service("totp", TOTP_SERVICE);

    // pam_oath: a wrong code fails; the code of counter 2 (within its window) passes, and
    // pam_oath writes the counter it used back into the usersfile.
    assert!(
        !env.login("oath", &["000000"]).ok(),
        "pam_oath takes a wrong code"
    );
    let login = env.login("oath", &[&hotp(2)]);
    assert!(login.ok(), "pam_oath login: {login:?}");
    let written = std::fs::read_to_string(&usersfile).unwrap();
    assert!(
        written.contains(&format!("\t2\t{}\t", hotp(2))),
        "pam_oath recorded counter 2: {written}"
    );
    // pam_oath itself refuses the code again.
    assert!(!env.login("oath", &[&hotp(2)]).ok());

    // Import the usersfile pam_oath wrote.
    let out = totp_enroll(
        &env,
        &[
            "import-oath-usersfile",
            usersfile.to_str().unwrap(),
            "--json",
        ],
    );
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["tokens"], serde_json::json!(["oath-1"]));
    assert_eq!(v["recovery_codes"].as_array().unwrap().len(), 10);
    let log = env.log();
    assert!(
        log.contains(&format!("action=import-oath-usersfile user={}", env.user)),
        "{log}"
    );
    assert!(
        !log.contains(RFC_HEX) && !log.contains(RFC_SHA1_KEY),
        "{log}"
    );

    // pam_totp: the code pam_oath took (and the one before it) are refused; the next passes,
    // once.
    for used in [2, 1] {
        let login = env.login("totp", &[&hotp(used)]);
        assert!(!login.ok(), "code of counter {used} accepted: {login:?}");
    }
    let login = env.login("totp", &[&hotp(3)]);
    assert!(login.ok(), "the next code is refused: {login:?}");
    assert!(env.log().contains("token=oath-1"), "{}", env.log());
    assert!(!env.login("totp", &[&hotp(3)]).ok(), "replayed");
    assert!(env.login("totp", &[&hotp(4)]).ok());
    assert_eq!(file_state(&env.secret_path()).marks, [Some(4)]);
}

#[test]
fn a_pskc_totp_token_logs_in_after_import() {
    needs_root!();
    let env = Env::new();
    env.service("totp", TOTP_SERVICE);
    // The file's keys are marked for "@USER@" (UserId): made the test user's.
    let template = workspace_root().join("totp-enroll/tests/data/pskc/two-tokens.xml");
    let text = std::fs::read_to_string(template)
        .expect("two-tokens.xml")
        .replace("@USER@", &env.user);
    let pskc = env.dir.path().join("two-tokens.xml");
    std::fs::write(&pskc, text).expect("write the PSKC file");
    let out = totp_enroll(&env, &["import-pskc", pskc.to_str().unwrap()]);
    assert_ok(&out);
    // The 60 s TOTP token (RFC 4226's key).
    wait_for_fresh_step(60);
    let code = oathtool(RFC_SHA1_KEY, &["-s", "60"], now());
    let login = env.login("totp", &[&code]);
    assert!(login.ok(), "{login:?}");
    assert!(
        env.log().lines().any(|l| l.ends_with("token=FT-0001-A")),
        "{}",
        env.log()
    );
    // The HOTP token of the same file (its own key) starts at its Counter (41).
    assert!(!env.login("totp", &[&hotp_of(PSKC_HOTP_HEX, 40)]).ok());
    assert!(env.login("totp", &[&hotp_of(PSKC_HOTP_HEX, 41)]).ok());
    assert!(env.log().contains("token=FT-0001-A-2"), "{}", env.log());
    // A wrong code fails.
    assert!(!env.login("totp", &["000000"]).ok());
}
