//! The audit trail: each change totp-enroll makes is one syslog line (authpriv.notice, ident
//! `totp-enroll`) naming the action, the target user, who made it and SUDO_USER; reading
//! commands and refused or failed changes write none. Through the real binary, with the test
//! suite's syslog capture shim (LD_PRELOAD), and once through a real /dev/log socket.

mod common;

use common::*;
use pam_totp_tests::consumers::{namespace_command, SyslogListener};
use pam_totp_tests::{Env as LogEnv, FakeUsers};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

/// LOG_AUTHPRIV | LOG_NOTICE, as the shim writes the priority.
const AUTHPRIV_NOTICE: &str = "85";

/// Runs `totp-enroll --secret-file FILE ARGS` with the shim capturing its syslog lines into
/// `log`, SUDO_USER set to `sudo_user` (or unset); returns the output and the lines it logged.
fn run_logged(
    env: &Env,
    log: &LogEnv,
    args: &[&str],
    stdin: &str,
    sudo_user: Option<&str>,
) -> (Output, Vec<String>) {
    let before = log.log().lines().count();
    let file = env.file();
    let mut full = vec!["--secret-file", file.to_str().unwrap()];
    full.extend_from_slice(args);
    let out = run_with(&full, stdin, |c| {
        log.capture_syslog(c);
        match sudo_user {
            Some(s) => c.env("SUDO_USER", s),
            None => c.env_remove("SUDO_USER"),
        };
    });
    let lines = log.log().lines().skip(before).map(str::to_string).collect();
    (out, lines)
}

/// The line the shim captured for one change by the user running the tests.
fn expected(action: &str, extra: &str, file: &Path) -> String {
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap();
    format!(
        "{AUTHPRIV_NOTICE} action={action} user={name} by_uid={uid} by_user={name}{extra} file={}",
        file.display(),
        name = me.name,
        uid = me.uid
    )
}

fn recovery_codes(v: &serde_json::Value) -> Vec<String> {
    v["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn each_change_is_one_line_and_reading_or_refusing_writes_none() {
    let env = Env::new();
    let log = LogEnv::new();
    let file = env.file();

    let (out, lines) = run_logged(&env, &log, &["status", "--json"], "", None);
    assert_exit(&out, 0);
    assert!(lines.is_empty(), "status logs nothing: {lines:?}");

    // A wrong first code writes nothing, and logs nothing.
    let (out, lines) = run_logged(
        &env,
        &log,
        &["enroll", "--secret", KEY, "--json"],
        "000000\n",
        None,
    );
    assert_exit(&out, 1);
    assert!(lines.is_empty(), "{lines:?}");

    let (out, lines) = run_logged(
        &env,
        &log,
        &["enroll", "--secret", KEY, "--json"],
        &code(KEY),
        None,
    );
    assert_exit(&out, 0);
    let first = json(&out);
    assert_eq!(lines, [expected("enroll", "", &file)]);

    // Refused without --force: no line.
    let (out, lines) = run_logged(
        &env,
        &log,
        &["enroll", "--secret", KEY, "--json"],
        &code(KEY),
        None,
    );
    assert_exit(&out, 1);
    assert!(lines.is_empty(), "{lines:?}");

    // A replacement says so; SUDO_USER is named, sanitized (it is the caller's to set).
    let (out, lines) = run_logged(
        &env,
        &log,
        &["enroll", "--secret", KEY, "--force", "--json"],
        &code(KEY),
        Some("alice\naction=remove user=root"),
    );
    assert_exit(&out, 0);
    let second = json(&out);
    assert_eq!(
        lines,
        [expected(
            "enroll",
            " sudo_user=alice?action?remove?user?root replaced=yes",
            &file
        )]
    );

    let (out, lines) = run_logged(&env, &log, &["status"], "", Some("alice"));
    assert_exit(&out, 0);
    assert!(lines.is_empty(), "{lines:?}");

    // A wrong code for new recovery codes is counted, but changes no enrollment: no line.
    let (out, lines) = run_logged(&env, &log, &["recovery-codes"], "000000\n", None);
    assert_exit(&out, 1);
    assert!(lines.is_empty(), "{lines:?}");

    let codes = recovery_codes(&second);
    let (out, lines) = run_logged(
        &env,
        &log,
        &["recovery-codes", "--json"],
        &format!("{}\n", codes[0]),
        Some("alice"),
    );
    assert_exit(&out, 0);
    let third = json(&out);
    assert_eq!(
        lines,
        [expected("recovery-codes", " sudo_user=alice", &file)]
    );

    let (out, lines) = run_logged(&env, &log, &["remove"], "", None);
    assert_exit(&out, 0);
    assert_eq!(lines, [expected("remove", "", &file)]);
    // Nothing left to remove: no change, no line.
    let (out, lines) = run_logged(&env, &log, &["remove"], "", None);
    assert_exit(&out, 0);
    assert!(lines.is_empty(), "{lines:?}");

    // No secret, no recovery code, no typed code ever reaches the log.
    let all = log.log();
    assert_eq!(all.lines().count(), 4, "{all}");
    assert!(!all.contains(KEY), "{all}");
    for code in [first, second, third].iter().flat_map(recovery_codes) {
        assert!(!all.contains(&code), "{all}");
        assert!(!all.contains(&code.replace('-', "")), "{all}");
    }
    assert!(!all.contains("000000"), "{all}");
}

#[test]
fn an_import_is_one_line() {
    let env = Env::new();
    let log = LogEnv::new();
    let ga = env.dir.path().join("ga");
    std::fs::write(&ga, format!("{RFC_SHA1_KEY}\n\" TOTP_AUTH\n21815126\n")).unwrap();
    std::fs::set_permissions(&ga, std::fs::Permissions::from_mode(0o400)).unwrap();
    let ga_arg = ga.to_str().unwrap();

    let (out, lines) = run_logged(
        &env,
        &log,
        &["import-google-authenticator", ga_arg],
        "",
        None,
    );
    assert_exit(&out, 0);
    assert_eq!(
        lines,
        [expected("import-google-authenticator", "", &env.file())]
    );
    // Refused without --force; with it, a replacement.
    let (out, lines) = run_logged(
        &env,
        &log,
        &["import-google-authenticator", ga_arg],
        "",
        None,
    );
    assert_exit(&out, 1);
    assert!(lines.is_empty(), "{lines:?}");
    let (out, lines) = run_logged(
        &env,
        &log,
        &["import-google-authenticator", ga_arg, "--force"],
        "",
        None,
    );
    assert_exit(&out, 0);
    assert_eq!(
        lines,
        [expected(
            "import-google-authenticator",
            " replaced=yes",
            &env.file()
        )]
    );
    let all = log.log();
    assert!(
        !all.contains(RFC_SHA1_KEY) && !all.contains("21815126"),
        "{all}"
    );
}

/// Root acting for a user, logging to a real /dev/log socket (no shim): the datagram carries
/// the authpriv facility, the `totp-enroll` ident with the process id, and the caller.
#[test]
fn root_acting_for_a_user_is_logged_to_dev_log_as_authpriv() {
    needs_root!();
    let log = LogEnv::new();
    let users = FakeUsers::new(log.dir.path(), 1);
    let syslog = SyslogListener::start(&log, "devlog");
    let binds: Vec<(PathBuf, &'static str)> = users
        .binds()
        .into_iter()
        .map(|(p, t)| (p.to_path_buf(), t))
        .collect();
    let home_file = users.users[0].2.join(".pam_totp.toml");
    let run = |args: &[&str], stdin: &str| {
        let mut cmd = namespace_command(&binds, Some(&syslog), Path::new(bin()));
        cmd.args(["--user", "pamtest0"])
            .args(args)
            .env("TOTP_ENROLL_CONFIG", no_site_defaults())
            .env("SUDO_USER", "carol")
            .env_remove("LD_PRELOAD")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert_exit(&out, 0);
    };
    run(&["enroll", "--secret", KEY, "--json"], &code(KEY));
    run(&["status", "--json"], "");
    run(&["remove"], "");

    let text = syslog.log();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (line, action) in lines.iter().zip(["enroll", "remove"]) {
        assert!(line.starts_with("<85>"), "authpriv.notice: {line}");
        let (_, tagged) = line.split_once(" totp-enroll[").expect("ident totp-enroll");
        let (pid, message) = tagged.split_once("]: ").expect("pid");
        assert!(pid.chars().all(|c| c.is_ascii_digit()), "{line}");
        assert_eq!(
            message,
            format!(
                "action={action} user=pamtest0 by_uid=0 by_user=root sudo_user=carol file={}",
                home_file.display()
            )
        );
    }
    assert!(!text.contains(KEY), "{text}");
}
