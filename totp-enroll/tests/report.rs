//! `report` (root only) through the real binary, with test users that exist only in a private
//! mount namespace (a copy of /etc/passwd with `pamtestN` entries and real home directories).

mod common;

use common::*;
use pam_totp_tests::{in_namespace, secret_toml, Env as LogEnv, FakeUsers};
use serde_json::Value;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Time step 57870000 of 30 s, i.e. Unix time 1736100000.
const LAST_STEP: u64 = 57_870_000;

/// `t` (seconds since the epoch) as RFC 3339 UTC, by date(1), not by the code under test.
fn rfc3339(t: u64) -> String {
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{t}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The test users and their files:
/// 0 enrolled (3 recovery codes, a last accepted step), 1 not enrolled, 2 a file others can
/// read, 3 enrolled with a 60 s period and no code accepted yet, 4 a symbolic link as the
/// file, 5 a file of mode 0000 (readable by root, not by the user: the report reads as the
/// user, as the module does).
fn users(log: &LogEnv) -> FakeUsers {
    let users = FakeUsers::new(log.dir.path(), 6);
    let state = format!("\n[state]\nlast_step = {LAST_STEP}\n");
    let zero = users.enroll(
        0,
        &(secret_toml(KEY, "SHA1", 6, 30, &["aaaa-bbbb", "cccc-dddd", "eeee-ffff"]) + &state),
    );
    let two = users.enroll(2, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    std::fs::set_permissions(two, std::fs::Permissions::from_mode(0o644)).unwrap();
    users.enroll(3, &secret_toml(KEY, "SHA256", 8, 60, &[]));
    symlink(&zero, users.users[4].2.join(".pam_totp.toml")).unwrap();
    let five = users.enroll(5, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    std::fs::set_permissions(five, std::fs::Permissions::from_mode(0o000)).unwrap();
    users
}

/// Runs `totp-enroll ARGS` as root in the namespace where the test users exist.
fn run_report(users: &FakeUsers, log: &LogEnv, args: &[&str]) -> Output {
    let mut cmd = in_namespace(&users.binds(), Path::new(bin()));
    cmd.args(args)
        .env("TOTP_ENROLL_CONFIG", no_site_defaults())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    log.capture_syslog(&mut cmd);
    cmd.output().unwrap()
}

/// The rows of the test users, by name.
fn row<'a>(report: &'a Value, user: &str) -> &'a Value {
    report["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["user"] == user)
        .unwrap_or_else(|| panic!("no row for {user}: {report}"))
}

fn names(report: &Value) -> Vec<String> {
    report["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["user"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_account_with_its_state_and_refused_files_per_user() {
    needs_root!();
    let log = LogEnv::new();
    let users = users(&log);
    let before = std::fs::read(users.users[0].2.join(".pam_totp.toml")).unwrap();

    let out = run_report(&users, &log, &["report", "--json"]);
    assert_exit(&out, 0);
    let report = json(&out);
    let top: Vec<&String> = report.as_object().unwrap().keys().collect();
    assert_eq!(top, ["users"]);

    // Every account of the database, in its order: the passwd file's come first.
    let passwd: Vec<String> = std::fs::read_to_string(&users.passwd)
        .unwrap()
        .lines()
        .filter_map(|l| l.split(':').next())
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    let listed = names(&report);
    assert!(listed.len() >= passwd.len(), "{listed:?}");
    assert_eq!(listed[..passwd.len()], passwd[..]);

    // Exactly these keys; "error" only where a file is refused.
    for r in report["users"].as_array().unwrap() {
        let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut want = vec![
            "enrolled",
            "last_success",
            "recovery_codes_left",
            "tokens",
            "user",
        ];
        if r["enrolled"].is_null() {
            want.push("error");
            want.sort_unstable();
        }
        assert_eq!(keys, want, "{r}");
    }

    let r = row(&report, "pamtest0");
    assert_eq!(
        (
            &r["enrolled"],
            &r["tokens"],
            &r["recovery_codes_left"],
            &r["last_success"]
        ),
        (
            &Value::from(true),
            &Value::from(1),
            &Value::from(3),
            &Value::from(rfc3339(LAST_STEP * 30))
        )
    );
    let r = row(&report, "pamtest1");
    assert_eq!(r["enrolled"], false);
    assert!(
        r["tokens"].is_null() && r["recovery_codes_left"].is_null() && r["last_success"].is_null()
    );
    let r = row(&report, "pamtest2");
    assert!(r["enrolled"].is_null(), "{r}");
    let error = r["error"].as_str().unwrap();
    assert!(
        error.contains("mode 0644") && error.contains("chmod 600"),
        "{error}"
    );
    let r = row(&report, "pamtest3");
    assert_eq!(
        (
            &r["enrolled"],
            &r["recovery_codes_left"],
            &r["last_success"]
        ),
        (&Value::from(true), &Value::from(0), &Value::Null)
    );
    let r = row(&report, "pamtest4");
    assert!(
        r["enrolled"].is_null() && r["error"].as_str().unwrap().contains("symbolic link"),
        "{r}"
    );
    let r = row(&report, "pamtest5");
    assert!(
        r["enrolled"].is_null() && r["error"].as_str().unwrap().contains("EACCES"),
        "read as the user, not as root: {r}"
    );
    assert!(stderr(&out).contains("refused"), "{}", stderr(&out));

    // Nothing was changed, nothing logged.
    assert_eq!(
        std::fs::read(users.users[0].2.join(".pam_totp.toml")).unwrap(),
        before
    );
    assert_eq!(log.log(), "");
}

#[test]
fn not_enrolled_keeps_only_accounts_without_a_file() {
    needs_root!();
    let log = LogEnv::new();
    let users = users(&log);
    let out = run_report(&users, &log, &["report", "--not-enrolled", "--json"]);
    assert_exit(&out, 0);
    let report = json(&out);
    assert!(
        report["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["enrolled"] == false),
        "{report}"
    );
    let listed = names(&report);
    assert!(listed.contains(&"pamtest1".to_string()), "{listed:?}");
    for enrolled_or_refused in ["pamtest0", "pamtest2", "pamtest3", "pamtest4", "pamtest5"] {
        assert!(
            !listed.contains(&enrolled_or_refused.to_string()),
            "{listed:?}"
        );
    }
    // The refused ones are not silently dropped.
    assert!(
        stderr(&out).contains("--not-enrolled leaves them out"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_table_is_aligned() {
    needs_root!();
    let log = LogEnv::new();
    let users = users(&log);
    let out = run_report(&users, &log, &["report"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    let header = text.lines().next().unwrap();
    assert!(header.starts_with("USER "), "{header}");
    let column = |name: &str| header.find(name).unwrap();
    let line = |user: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(user))
            .unwrap_or_else(|| panic!("no line for {user}: {text}"))
    };
    let zero = line("pamtest0");
    assert_eq!(&zero[column("ENROLLED")..][..4], "yes ");
    assert_eq!(&zero[column("TOKENS")..][..2], "1 ");
    assert_eq!(&zero[column("RECOVERY CODES")..][..2], "3 ");
    assert_eq!(
        zero[column("LAST SUCCESS")..].trim_end(),
        rfc3339(LAST_STEP * 30)
    );
    assert_eq!(&line("pamtest1")[column("ENROLLED")..][..3], "no ");
    assert!(line("pamtest3").ends_with("never"), "{text}");
    let two = line("pamtest2");
    assert_eq!(&two[column("ENROLLED")..][..8], "refused ");
    assert!(two[column("PROBLEM")..].contains("chmod 600"), "{two}");
}

#[test]
fn the_template_picks_where_the_files_are() {
    needs_root!();
    let log = LogEnv::new();
    let users = users(&log);
    // A root-owned directory: a root-owned file there belongs to the user it is named after.
    let dir = log.dir.path().join("var-lib-pam_totp");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    pam_totp_tests::write_private(
        &dir.join("pamtest1.toml"),
        &secret_toml(KEY, "SHA1", 6, 30, &["aaaa-bbbb"]),
    );
    let template = format!("{}/%u.toml", dir.display());
    let out = run_report(
        &users,
        &log,
        &["--secret-file", &template, "report", "--json"],
    );
    assert_exit(&out, 0);
    let report = json(&out);
    let r = row(&report, "pamtest1");
    assert_eq!(
        (&r["enrolled"], &r["recovery_codes_left"]),
        (&Value::from(true), &Value::from(1))
    );
    // The files in the homes do not count under this template.
    for user in ["pamtest0", "pamtest2", "root"] {
        assert_eq!(row(&report, user)["enrolled"], false, "{user}");
    }
    // Each account once, though its file is also found in the directory.
    assert_eq!(
        names(&report).iter().filter(|n| *n == "pamtest1").count(),
        1
    );

    // Files in the directory whose user the database does not list are reported too: here a
    // file left behind by a deleted account. Other files there are not users' files.
    pam_totp_tests::write_private(
        &dir.join("ghost.toml"),
        &secret_toml(KEY, "SHA1", 6, 30, &[]),
    );
    pam_totp_tests::write_private(&dir.join("notes.txt"), "not a secret file");
    let out = run_report(
        &users,
        &log,
        &["--secret-file", &template, "report", "--json"],
    );
    assert_exit(&out, 0);
    let report = json(&out);
    let ghost = row(&report, "ghost");
    assert!(ghost["enrolled"].is_null(), "{ghost}");
    assert!(
        ghost["error"]
            .as_str()
            .unwrap()
            .contains("belongs to nobody"),
        "{ghost}"
    );
    assert!(!names(&report).iter().any(|n| n.starts_with("notes")));
    assert!(stderr(&out).contains("refused"), "{}", stderr(&out));

    // A template that names one file for every account is refused.
    let out = run_report(
        &users,
        &log,
        &[
            "--secret-file",
            &format!("{}/all.toml", dir.display()),
            "report",
        ],
    );
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("one file for every user"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn only_root_may_report_and_user_does_not_apply() {
    let out = run_with(&["report"], "", |c| {
        if is_root() {
            use std::os::unix::process::CommandExt;
            c.uid(65534).gid(65534);
        }
    });
    assert_exit(&out, 1);
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("only root can run it; run: sudo totp-enroll report"),
        "{}",
        stderr(&out)
    );
    let out = run_with(&["--user", "root", "report"], "", |_| {});
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--user cannot be used with report"));
}
