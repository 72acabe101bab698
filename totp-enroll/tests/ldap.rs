//! `totp-enroll --store ldap` against a real slapd with the otp overlay (slapo-otp): a
//! directory user (not known to this host) enrolled with codes from Debian's `oathtool`, then
//! slapd itself accepting a bind with the password followed by a code of the enrolled token
//! (the interop proof: the entries are what slapo-otp reads); status and tokens as JSON;
//! recovery codes stored hashed and replaced; an HOTP token beside the TOTP one (slapd takes
//! its code too); a second token of a kind refused; remove; a wrong first code writing
//! nothing; --force; the module's read-mostly configuration refused with the fix; the
//! commands that work on files only; the audit lines.

mod common;

use common::*;
use pam_totp_tests::slapd::{
    user_dn, Slapd, ADMIN_DN, ADMIN_PASSWORD, PEOPLE, SERVICE_DN, SERVICE_PASSWORD,
};
use pam_totp_tests::{needs_slapd, tool, Env as LogEnv};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A directory user this host's user database does not know.
const USER: &str = "ldap-only-alice";
/// Their directory password (the part of a slapo-otp bind before the code).
const PASSWORD: &str = "alice-directory-pw";
/// The hardware token's key (160 bits).
const FOB: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
/// LOG_AUTHPRIV | LOG_NOTICE, as the syslog shim writes the priority.
const AUTHPRIV_NOTICE: &str = "85";

/// A slapd with `USER` in it (no OATH class), and LDAP configurations for totp-enroll.
struct Directory {
    slapd: Slapd,
    dir: tempfile::TempDir,
}

/// Writes `text` to `path`, root-owned, mode 0600, as the LDAP store demands.
fn write_root_only(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    std::os::unix::fs::chown(path, Some(0), Some(0)).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

impl Directory {
    fn start() -> Directory {
        let slapd = Slapd::start();
        slapd.add_ldif(&pam_totp_tests::slapd::user_ldif(USER, PASSWORD, None));
        let dir = tempfile::tempdir().unwrap();
        let d = Directory { slapd, dir };
        d.write_config("ldap-admin.toml", ADMIN_DN, ADMIN_PASSWORD);
        d.write_config("ldap.toml", SERVICE_DN, SERVICE_PASSWORD);
        d
    }

    /// An ldaps configuration binding as `dn` with `password` (in its own password file).
    fn write_config(&self, name: &str, dn: &str, password: &str) {
        let secret = self.dir.path().join(format!("{name}.secret"));
        write_root_only(&secret, &format!("{password}\n"));
        let text = format!(
            "uri = \"{}\"\nbase = \"{PEOPLE}\"\nbind_dn = \"{dn}\"\nbind_password_file = \"{}\"\n\
             ca_file = \"{}\"\ntimeout = 5\n",
            self.slapd.ldaps_url(),
            secret.display(),
            self.slapd.ca_cert().display()
        );
        write_root_only(&self.config(name), &text);
    }

    fn config(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `totp-enroll --store ldap --ldap-config ldap-admin.toml --user USER ARGS`.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        self.run_as("ldap-admin.toml", args, stdin, |_| {})
    }

    fn run_as(
        &self,
        config: &str,
        args: &[&str],
        stdin: &str,
        setup: impl FnOnce(&mut Command),
    ) -> Output {
        let config = self.config(config);
        let mut full = vec![
            "--store",
            "ldap",
            "--ldap-config",
            config.to_str().unwrap(),
            "--user",
            USER,
        ];
        full.extend_from_slice(args);
        run_with(&full, stdin, setup)
    }

    /// The values of `attr` of `dn`, read by the administrator (empty when the entry has
    /// none; None when the entry does not exist).
    fn values(&self, dn: &str, attr: &str) -> Option<Vec<String>> {
        match self.slapd.values_as(ADMIN_DN, ADMIN_PASSWORD, dn, attr) {
            Ok(values) => Some(values),
            Err(run) if run.rc() == Some(32) => None,
            Err(run) => panic!("ldapsearch {dn} {attr}: {run:?}"),
        }
    }

    fn user_values(&self, attr: &str) -> Vec<String> {
        self.values(&user_dn(USER), attr).expect("the user entry")
    }

    /// A slapo-otp bind as the user with the password followed by `code`.
    fn bind(&self, code: &str) -> pam_totp_tests::slapd::LdapRun {
        self.slapd
            .bind(&user_dn(USER), &format!("{PASSWORD}{code}"))
    }
}

fn token_dn(name: &str) -> String {
    format!("cn={name},{}", user_dn(USER))
}

fn params_dn(name: &str) -> String {
    format!("cn=params,{}", token_dn(name))
}

/// The code of the step before the current one (accepted by the first-code check's window):
/// enrolling with it leaves the current step's code for a slapo-otp bind.
fn previous_code(key: &str) -> String {
    wait_for_fresh_step(30);
    format!("{}\n", oathtool(key, &[], now() - 30))
}

/// `oathtool --hotp -b -c COUNTER KEY`.
fn hotp(key: &str, counter: u64) -> String {
    let out = Command::new(tool("oathtool", "oathtool"))
        .args(["--hotp", "-b", "-c", &counter.to_string(), key])
        .output()
        .unwrap();
    assert!(out.status.success(), "oathtool: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

/// Enrolls `USER` with `KEY` (first code from the previous step) and returns the JSON.
fn enroll(d: &Directory) -> serde_json::Value {
    let out = d.run(&["enroll", "--secret", KEY, "--json"], &previous_code(KEY));
    assert_exit(&out, 0);
    json(&out)
}

fn assert_sorted_eq(mut a: Vec<String>, mut b: Vec<String>) {
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn an_enrolled_directory_user_binds_through_slapo_otp_with_the_token() {
    needs_root!();
    needs_slapd!();
    assert!(
        nix::unistd::User::from_name(USER).unwrap().is_none(),
        "{USER} must not be known to this host"
    );
    let d = Directory::start();
    let v = enroll(&d);
    assert_eq!(v["secret"], KEY);
    assert!(v["otpauth_uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/"));
    let codes = strings(&v["recovery_codes"]);
    assert_eq!(codes.len(), 10);

    // The user entry names the token; token and parameters entries below it.
    assert_sorted_eq(
        d.user_values("objectClass"),
        vec!["inetOrgPerson".into(), "oathTOTPUser".into()],
    );
    assert_eq!(d.user_values("oathTOTPToken"), [token_dn("default")]);
    assert_eq!(
        d.values(&token_dn("default"), "oathTOTPParams").unwrap(),
        [params_dn("default")]
    );
    assert_eq!(
        d.values(&params_dn("default"), "oathHMACAlgorithm")
            .unwrap(),
        ["1.2.840.113549.2.7"]
    );
    // The first code's step is used up, as a login would leave it.
    let step = now() / 30;
    let mark: u64 = d
        .values(&token_dn("default"), "oathTOTPLastTimeStep")
        .unwrap()[0]
        .parse()
        .unwrap();
    assert!(mark + 1 == step || mark + 2 == step, "{mark} vs {step}");
    // Recovery codes are stored hashed, one value each, never in clear.
    let hashes = d
        .values(&token_dn("default"), "pamTotpRecoveryCode")
        .unwrap();
    assert_eq!(hashes.len(), 10);
    for h in &hashes {
        assert!(h.starts_with("sha256$"), "{h}");
        assert!(codes.iter().all(|c| !h.contains(c.as_str())));
    }

    // slapd's own otp overlay accepts the current code of the enrolled key, once.
    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());
    let bound = d.bind(&code);
    assert!(bound.ok(), "slapo-otp bind: {bound:?}");
    assert_eq!(bound.whoami(), Some(user_dn(USER).as_str()));
    assert_eq!(d.bind(&code).rc(), Some(49), "a replay is refused");
    assert_eq!(d.bind("000000").rc(), Some(49));

    // An existing enrollment is not replaced without --force, and nothing is shown first.
    let out = d.run(&["enroll", "--no-qr"], "");
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("already enrolled"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert!(!stdout(&out).contains("otpauth://"), "{}", stdout(&out));
}

#[test]
fn status_tokens_recovery_codes_and_remove() {
    needs_root!();
    needs_slapd!();
    let d = Directory::start();

    let out = d.run(&["status", "--json"], "");
    assert_exit(&out, 0);
    let v = json(&out);
    assert_eq!(v["enrolled"], false);
    assert!(v["algorithm"].is_null() && v["recovery_codes_left"].is_null());
    let out = d.run(&["tokens"], "");
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("not enrolled"), "{}", stderr(&out));

    let first = strings(&enroll(&d)["recovery_codes"]);
    let out = d.run(&["status", "--json"], "");
    assert_exit(&out, 0);
    let v = json(&out);
    assert_eq!(v["enrolled"], true);
    assert_eq!(v["algorithm"], "SHA1");
    assert_eq!(v["digits"], 6);
    assert_eq!(v["period"], 30);
    assert_eq!(v["recovery_codes_left"], 10);
    assert!(v["created"].as_str().unwrap().ends_with('Z'), "{v}");
    assert!(v["remembered_hosts"].is_null());
    let out = d.run(&["status"], "");
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains(&format!("directory entry: {}", user_dn(USER))),
        "{}",
        stdout(&out)
    );

    let out = d.run(&["tokens", "--json"], "");
    assert_exit(&out, 0);
    assert_eq!(
        json(&out),
        serde_json::json!({"tokens": [
            {"name": "default", "type": "totp", "algorithm": "SHA1", "digits": 6, "period": 30}
        ]})
    );
    assert!(!stdout(&out).contains(KEY));

    // A new set replaces the stored hashes.
    let before = d
        .values(&token_dn("default"), "pamTotpRecoveryCode")
        .unwrap();
    let out = d.run(&["recovery-codes", "--json"], "");
    assert_exit(&out, 0);
    let codes = strings(&json(&out)["recovery_codes"]);
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| !first.contains(c)));
    let after = d
        .values(&token_dn("default"), "pamTotpRecoveryCode")
        .unwrap();
    assert_eq!(after.len(), 10);
    assert!(after.iter().all(|h| !before.contains(h)), "old hashes left");

    let out = d.run(&["remove"], "");
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("no longer has a second factor"));
    assert_eq!(d.values(&token_dn("default"), "cn"), None);
    assert_eq!(d.values(&params_dn("default"), "cn"), None);
    assert!(d.user_values("oathTOTPToken").is_empty());
    assert_eq!(d.user_values("objectClass"), ["inetOrgPerson"]);
    let out = d.run(&["status", "--json"], "");
    assert_exit(&out, 0);
    assert_eq!(json(&out)["enrolled"], false);
    let out = d.run(&["status"], "");
    assert!(stdout(&out).contains("not enrolled"), "{}", stdout(&out));
    // Removing again is no error.
    let out = d.run(&["remove"], "");
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("nothing to remove"),
        "{}",
        stderr(&out)
    );
    // The user can be enrolled again.
    enroll(&d);
}

#[test]
fn an_hotp_token_beside_the_totp_one_and_no_second_of_a_kind() {
    needs_root!();
    needs_slapd!();
    let d = Directory::start();
    enroll(&d);

    // A wrong first code adds nothing.
    let out = d.run(
        &[
            "add-token",
            "--name",
            "fob",
            "--hotp",
            "--secret",
            FOB,
            "--json",
        ],
        &format!("{}\n", hotp(FOB, 5)),
    );
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("wrong code"), "{}", stderr(&out));
    assert_eq!(d.values(&token_dn("fob"), "cn"), None);

    let out = d.run(
        &[
            "add-token",
            "--name",
            "fob",
            "--hotp",
            "--secret",
            FOB,
            "--json",
        ],
        &format!("{}\n", hotp(FOB, 0)),
    );
    assert_exit(&out, 0);
    let v = json(&out);
    assert_eq!(
        (v["name"].as_str(), v["counter"].as_u64()),
        (Some("fob"), Some(1))
    );
    assert_eq!(d.user_values("oathHOTPToken"), [token_dn("fob")]);
    assert_eq!(
        d.values(&token_dn("fob"), "oathHOTPCounter").unwrap(),
        ["0"]
    );
    assert_eq!(
        d.values(&params_dn("fob"), "oathHOTPLookAhead").unwrap(),
        ["9"]
    );
    let out = d.run(&["tokens", "--json"], "");
    assert_exit(&out, 0);
    assert_eq!(
        json(&out)["tokens"],
        serde_json::json!([
            {"name": "default", "type": "totp", "algorithm": "SHA1", "digits": 6, "period": 30},
            {"name": "fob", "type": "hotp", "algorithm": "SHA1", "digits": 6, "counter": 1}
        ])
    );
    // The recovery codes stay with the TOTP token entry.
    let out = d.run(&["status", "--json"], "");
    assert_eq!(json(&out)["recovery_codes_left"], 10);

    // At most one TOTP and one HOTP token: refused before a key is shown.
    for args in [
        &["add-token", "--name", "spare"][..],
        &["add-token", "--name", "fob2", "--hotp"],
    ] {
        let out = d.run(args, "");
        assert_exit(&out, 1);
        let err = stderr(&out);
        assert!(
            err.contains("at most one TOTP and one HOTP token"),
            "{args:?}: {err}"
        );
        assert!(!stdout(&out).contains("otpauth://"), "{}", stdout(&out));
    }
    assert_eq!(d.values(&token_dn("spare"), "cn"), None);

    // slapo-otp reads the HOTP token and parameters entries as written: with the TOTP
    // reference taken off the user entry, slapd takes the HOTP token's next code, once.
    // (With both tokens, slapd 2.5.13 writes oathTOTPTimeStepDrift to the HOTP entry after an
    // HOTP match, which its schema check refuses, and the bind never gets an answer: a slapd
    // bug, not something the entries can avoid.)
    d.slapd.modify_ldif(&format!(
        "dn: {}\nchangetype: modify\ndelete: oathTOTPToken\n-\ndelete: objectClass\nobjectClass: oathTOTPUser\n",
        user_dn(USER)
    ));
    let bound = d.bind(&hotp(FOB, 1));
    assert!(bound.ok(), "slapo-otp HOTP bind: {bound:?}");
    assert_eq!(d.bind(&hotp(FOB, 1)).rc(), Some(49), "a replay is refused");
    assert_eq!(
        d.values(&token_dn("fob"), "oathHOTPCounter").unwrap(),
        ["1"]
    );

    // Removing the enrollment removes both tokens, leaf first (the TOTP one no longer named
    // by the user entry, but right below it).
    let out = d.run(&["remove"], "");
    assert_exit(&out, 0);
    for name in ["default", "fob"] {
        assert_eq!(d.values(&token_dn(name), "cn"), None, "{name}");
        assert_eq!(d.values(&params_dn(name), "cn"), None, "{name}");
    }
    assert_eq!(d.user_values("objectClass"), ["inetOrgPerson"]);
    assert!(d.user_values("oathHOTPToken").is_empty());
}

#[test]
fn a_wrong_first_code_writes_nothing_and_force_replaces_the_key() {
    needs_root!();
    needs_slapd!();
    let d = Directory::start();
    // A code of another key.
    let out = d.run(&["enroll", "--secret", KEY, "--json"], &previous_code(FOB));
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("wrong code; nothing was written"), "{err}");
    assert!(err.contains(&user_dn(USER)), "{err}");
    assert!(d.user_values("oathTOTPToken").is_empty());
    assert_eq!(d.user_values("objectClass"), ["inetOrgPerson"]);
    assert_eq!(d.values(&token_dn("default"), "cn"), None);

    enroll(&d);
    let out = d.run(
        &["enroll", "--force", "--secret", FOB, "--json"],
        &previous_code(FOB),
    );
    assert_exit(&out, 0);
    assert_eq!(json(&out)["secret"], FOB);
    wait_for_fresh_step(30);
    assert_eq!(d.bind(&oathtool(KEY, &[], now())).rc(), Some(49), "old key");
    let bound = d.bind(&oathtool(FOB, &[], now()));
    assert!(bound.ok(), "new key: {bound:?}");
}

#[test]
fn the_modules_read_mostly_configuration_is_refused_with_the_fix() {
    needs_root!();
    needs_slapd!();
    let d = Directory::start();
    let out = d.run_as(
        "ldap.toml",
        &["enroll", "--secret", KEY, "--json"],
        &previous_code(KEY),
        |_| {},
    );
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("--ldap-config"), "{err}");
    assert!(err.contains("ldap-admin.toml"), "{err}");
    assert!(
        !err.contains(SERVICE_PASSWORD) && !err.contains(KEY),
        "{err}"
    );
    assert!(d.user_values("oathTOTPToken").is_empty());
    assert_eq!(d.values(&token_dn("default"), "cn"), None, "rolled back");

    // A user the directory does not have.
    let config = d.config("ldap-admin.toml");
    let out = run_with(
        &[
            "--store",
            "ldap",
            "--ldap-config",
            config.to_str().unwrap(),
            "--user",
            "nobody-here",
            "status",
        ],
        "",
        |_| {},
    );
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("no directory entry with uid=nobody-here"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn file_only_commands_say_they_are_not_available_and_usage_is_checked() {
    needs_root!();
    needs_slapd!();
    let d = Directory::start();
    let config = d.config("ldap-admin.toml");
    let report = [
        "--store",
        "ldap",
        "--ldap-config",
        config.to_str().unwrap(),
        "report",
    ];
    let out = run_with(&report, "", |_| {});
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("report is not available with --store ldap"),
        "{}",
        stderr(&out)
    );
    for args in [
        &["forget-hosts"][..],
        &["remove-token", "--name", "x"],
        &["resync", "--name", "x"],
        &["import-google-authenticator"],
        &["import-oath-usersfile", "/nonexistent"],
        &["import-pskc", "/nonexistent"],
    ] {
        let out = d.run(args, "");
        assert_exit(&out, 1);
        assert!(
            stderr(&out).contains("not available with --store ldap"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    for args in [
        &["--ldap-config", config.to_str().unwrap(), "status"][..],
        &["--store", "ldap", "--secret-file", "/tmp/x", "status"],
    ] {
        assert_exit(&run_with(args, "", |_| {}), 2);
    }
    // A configuration that is not root-only is refused before the directory is asked.
    fs::set_permissions(config.as_path(), fs::Permissions::from_mode(0o644)).unwrap();
    let out = d.run(&["status"], "");
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains(config.to_str().unwrap()),
        "{}",
        stderr(&out)
    );
}

#[test]
fn each_directory_change_is_one_audit_line() {
    needs_root!();
    needs_slapd!();
    let d = Directory::start();
    let log = LogEnv::new();
    let config = d.config("ldap-admin.toml");
    let logged = |args: &[&str], stdin: &str| -> (Output, Vec<String>) {
        let before = log.log().lines().count();
        let out = d.run_as("ldap-admin.toml", args, stdin, |c| {
            log.capture_syslog(c);
            c.env_remove("SUDO_USER");
        });
        let lines = log.log().lines().skip(before).map(str::to_string).collect();
        (out, lines)
    };
    let line = |action: &str, extra: &str| {
        format!(
            "{AUTHPRIV_NOTICE} action={action} user={USER} by_uid=0 by_user=root{extra} store=ldap ldap_config={}",
            config.display()
        )
    };
    let (out, lines) = logged(&["status", "--json"], "");
    assert_exit(&out, 0);
    assert!(lines.is_empty(), "{lines:?}");
    let (out, lines) = logged(&["enroll", "--secret", KEY, "--json"], &previous_code(FOB));
    assert_exit(&out, 1);
    assert!(lines.is_empty(), "a refused change logs nothing: {lines:?}");
    let (out, lines) = logged(&["enroll", "--secret", KEY, "--json"], &previous_code(KEY));
    assert_exit(&out, 0);
    assert_eq!(lines, [line("enroll", "")]);
    let (out, lines) = logged(
        &["enroll", "--force", "--secret", KEY, "--json"],
        &previous_code(KEY),
    );
    assert_exit(&out, 0);
    assert_eq!(lines, [line("enroll", " replaced=yes")]);
    let (out, lines) = logged(&["recovery-codes", "--json"], "");
    assert_exit(&out, 0);
    assert_eq!(lines, [line("recovery-codes", "")]);
    let (out, lines) = logged(
        &[
            "add-token",
            "--name",
            "fob",
            "--hotp",
            "--secret",
            FOB,
            "--json",
        ],
        &format!("{}\n", hotp(FOB, 0)),
    );
    assert_exit(&out, 0);
    assert_eq!(lines, [line("add-token", " token=fob")]);
    let (out, lines) = logged(&["remove"], "");
    assert_exit(&out, 0);
    assert_eq!(lines, [line("remove", "")]);
}
