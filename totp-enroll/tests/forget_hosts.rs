//! `forget-hosts [HOST]` through the real binary: secret files whose login state remembers
//! hosts (`remember=`), one host or all of them dropped under the file's lock, the rest of the
//! file kept, one audit line per change (through the syslog capture shim) and none when
//! nothing was dropped; not enrolled, usage errors, and `--user` without root refused.

mod common;

use common::*;
use pam_totp_core::remember::RememberedHost;
use pam_totp_core::secret_file::SecretFile;
use pam_totp_tests::{secret_toml, Env as LogEnv, FakeUsers};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

/// LOG_AUTHPRIV | LOG_NOTICE, as the shim writes the priority.
const AUTHPRIV_NOTICE: &str = "85";
/// The replay state of the test files, which forgetting hosts must keep.
const LAST_STEP: u64 = 58_800_000;

/// A version-1 secret file (as the module reads it; totp-enroll rewrites it as version 2)
/// whose `[state]` table remembers `hosts` (host, time), with a last step and one check.
fn file_with_hosts(hosts: &[(&str, u64)]) -> String {
    let entries: Vec<String> = hosts
        .iter()
        .map(|(host, at)| format!("{{ host = \"{host}\", at = {at} }}"))
        .collect();
    format!(
        "{}[state]\nlast_step = {LAST_STEP}\nchecks = [1764000300]\nremembered = [{}]\n",
        secret_toml(KEY, "SHA1", 6, 30, &["aaaa-bbbb", "cccc-dddd"]),
        entries.join(", ")
    )
}

const THREE: &[(&str, u64)] = &[
    ("2001:db8::1", 1_764_000_200),
    ("host.example", 1_764_000_100),
    ("10.0.0.1", 1_764_000_000),
];

fn hosts(list: &[(&str, u64)]) -> Vec<RememberedHost> {
    list.iter()
        .map(|(host, at)| RememberedHost {
            host: host.to_string(),
            at: *at,
        })
        .collect()
}

/// An environment whose secret file remembers `list`.
fn env_with(list: &[(&str, u64)]) -> Env {
    let env = Env::new();
    pam_totp_tests::write_private(&env.file(), &file_with_hosts(list));
    env
}

/// Runs `totp-enroll --secret-file FILE ARGS` with the shim capturing its syslog lines into
/// `log`; returns the output and the lines it logged.
fn run_logged(env: &Env, log: &LogEnv, args: &[&str]) -> (Output, Vec<String>) {
    let before = log.log().lines().count();
    let file = env.file();
    let mut full = vec!["--secret-file", file.to_str().unwrap()];
    full.extend_from_slice(args);
    let out = run_with(&full, "", |c| {
        log.capture_syslog(c);
        c.env_remove("SUDO_USER");
    });
    let lines = log.log().lines().skip(before).map(str::to_string).collect();
    (out, lines)
}

fn me() -> nix::unistd::User {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
}

/// The audit line of a `forget-hosts` by the user running the tests; `what` is `host=H` or
/// `hosts=all`.
fn expected(what: &str, count: usize, file: &Path) -> String {
    let me = me();
    format!(
        "{AUTHPRIV_NOTICE} action=forget-hosts user={name} by_uid={uid} by_user={name} {what} forgotten={count} file={}",
        file.display(),
        name = me.name,
        uid = me.uid
    )
}

/// Parses the secret file.
fn parsed(path: &Path) -> SecretFile {
    SecretFile::parse(&std::fs::read(path).unwrap()).unwrap()
}

/// Everything but the remembered hosts is as it was: settings, recovery codes, replay and
/// rate-limit state; the file is still private.
fn assert_rest_kept(original: &SecretFile, path: &Path) {
    let now = parsed(path);
    assert!(original.same_but_state(&now), "settings changed");
    assert_eq!(now.state.marks[0], Some(LAST_STEP));
    assert_eq!(now.state.checks, original.state.checks);
    let meta = std::fs::metadata(path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.uid(), me().uid.as_raw());
}

fn status_count(env: &Env) -> serde_json::Value {
    let out = env.run(&["status", "--json"], "");
    assert_exit(&out, 0);
    json(&out)["remembered_hosts"].clone()
}

#[test]
fn one_host_case_insensitively_then_all_and_nothing_twice() {
    let env = env_with(THREE);
    let log = LogEnv::new();
    let file = env.file();
    let original = parsed(&file);
    assert_eq!(original.state.remembered, hosts(THREE));
    let name = me().name;

    assert_eq!(status_count(&env), 3);
    let out = env.run(&["status"], "");
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("\n  remembered hosts: 3\n"),
        "{}",
        stdout(&out)
    );

    // One host, named in another case and with spaces, as the module compares PAM_RHOST. The
    // version-1 file is rewritten whole (as version 2).
    let (out, lines) = run_logged(&env, &log, &["forget-hosts", " HOST.Example "]);
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out),
        format!("forgot remembered host host.example for {name}\n")
    );
    assert_eq!(lines, [expected("host=host.example", 1, &file)]);
    assert_eq!(
        file_state(&file).remembered,
        hosts(&[THREE[0], THREE[2]]),
        "only that host is dropped, the order kept"
    );
    assert!(env.text().contains("version = 2"), "{}", env.text());
    assert_rest_kept(&original, &file);
    assert_eq!(status_count(&env), 2);

    // The same host again, and one never remembered: nothing dropped, exit 0, the file not
    // touched, no audit line.
    let bytes = std::fs::read(&file).unwrap();
    for host in ["host.example", "10.0.0.9"] {
        let (out, lines) = run_logged(&env, &log, &["forget-hosts", host]);
        assert_exit(&out, 0);
        assert_eq!(
            stdout(&out),
            format!("{name} had no remembered host {host}\n")
        );
        assert!(lines.is_empty(), "{lines:?}");
        assert_eq!(std::fs::read(&file).unwrap(), bytes);
    }

    // An IPv6 address, with --json; the file is version 2 now: its state slot is rewritten in
    // place.
    let (out, lines) = run_logged(&env, &log, &["forget-hosts", "2001:DB8::1", "--json"]);
    assert_exit(&out, 0);
    assert_eq!(json(&out), serde_json::json!({ "forgotten": 1 }));
    assert_eq!(lines, [expected("host=2001:db8::1", 1, &file)]);
    assert_eq!(file_state(&file).remembered, hosts(&[THREE[2]]));
    assert_eq!(std::fs::read(&file).unwrap().len(), bytes.len(), "in place");
    assert_rest_kept(&original, &file);

    // All (the last one).
    let (out, lines) = run_logged(&env, &log, &["forget-hosts"]);
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out),
        format!("forgot 1 remembered host for {name}\n")
    );
    assert_eq!(lines, [expected("hosts=all", 1, &file)]);
    assert!(file_state(&file).remembered.is_empty());
    assert_rest_kept(&original, &file);
    assert_eq!(status_count(&env), 0);

    // Nothing left: not an error, nothing written or logged.
    let bytes = std::fs::read(&file).unwrap();
    let (out, lines) = run_logged(&env, &log, &["forget-hosts"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), format!("{name} had no remembered hosts\n"));
    assert!(lines.is_empty(), "{lines:?}");
    let (out, lines) = run_logged(&env, &log, &["forget-hosts", "--json"]);
    assert_exit(&out, 0);
    assert_eq!(json(&out), serde_json::json!({ "forgotten": 0 }));
    assert!(lines.is_empty(), "{lines:?}");
    assert_eq!(std::fs::read(&file).unwrap(), bytes);
    assert_eq!(log.log().lines().count(), 3, "{}", log.log());
}

#[test]
fn all_hosts_at_once() {
    let env = env_with(THREE);
    let log = LogEnv::new();
    let file = env.file();
    let original = parsed(&file);
    let (out, lines) = run_logged(&env, &log, &["forget-hosts"]);
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out),
        format!("forgot 3 remembered hosts for {}\n", me().name)
    );
    assert_eq!(lines, [expected("hosts=all", 3, &file)]);
    assert!(file_state(&file).remembered.is_empty());
    assert_rest_kept(&original, &file);
    // No secret or recovery material in the line.
    assert!(!log.log().contains(KEY), "{}", log.log());
}

#[test]
fn not_enrolled_is_an_error_and_writes_nothing() {
    let env = Env::new();
    let log = LogEnv::new();
    for args in [&["forget-hosts"][..], &["forget-hosts", "10.0.0.1"]] {
        let (out, lines) = run_logged(&env, &log, args);
        assert_exit(&out, 1);
        let err = stderr(&out);
        assert!(
            err.contains("not enrolled") && err.contains("run totp-enroll enroll"),
            "{err}"
        );
        assert!(err.contains(env.file().to_str().unwrap()), "{err}");
        assert_eq!(stdout(&out), "");
        assert!(lines.is_empty(), "{lines:?}");
        assert!(!env.file().exists());
    }
    assert_eq!(status_count(&env), serde_json::Value::Null);
}

#[test]
fn empty_overlong_or_several_hosts_are_usage_errors() {
    let env = env_with(THREE);
    let bytes = std::fs::read(env.file()).unwrap();
    let long = "a".repeat(256);
    for args in [
        &["forget-hosts", ""][..],
        &["forget-hosts", "   "],
        &["forget-hosts", &long],
        &["forget-hosts", "10.0.0.1", "host.example"],
        &["forget-hosts", "--all"],
    ] {
        let out = env.run(args, "");
        assert_exit(&out, 2);
    }
    let out = env.run(&["forget-hosts", ""], "");
    assert!(
        stderr(&out).contains("omit HOST to forget every remembered host"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(env.file()).unwrap(), bytes);
    // 255 bytes can be remembered, so it can be forgotten (it is not: nothing dropped).
    let out = env.run(&["forget-hosts", &"a".repeat(255)], "");
    assert_exit(&out, 0);
}

#[test]
fn another_user_needs_root() {
    use std::os::unix::process::CommandExt;
    let env = env_with(THREE);
    let bytes = std::fs::read(env.file()).unwrap();
    let file = env.file();
    let args = [
        "--secret-file",
        file.to_str().unwrap(),
        "--user",
        "root",
        "forget-hosts",
    ];
    let out = if is_root() {
        run_with(&args, "", |c| {
            c.uid(65534).gid(65534);
        })
    } else {
        // Not root already: root's hosts are another user's.
        run_with(&args, "", |_| {})
    };
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("only root"), "{}", stderr(&out));
    assert_eq!(std::fs::read(env.file()).unwrap(), bytes);
}

/// Root forgets a user's hosts in the user's home (the file is rewritten with the user's
/// filesystem identity: still the user's, mode 0600); the audit line names both.
#[test]
fn root_forgets_a_users_hosts_in_the_users_home() {
    needs_root!();
    let log = LogEnv::new();
    let users = FakeUsers::new(log.dir.path(), 1);
    let (name, uid, home) = users.users[0].clone();
    let file: PathBuf = users.enroll(0, &file_with_hosts(THREE));
    let original = parsed(&file);
    let run = |args: &[&str]| {
        let mut cmd = pam_totp_tests::in_namespace(&users.binds(), Path::new(bin()));
        cmd.args(["--user", &name])
            .args(args)
            .env("TOTP_ENROLL_CONFIG", no_site_defaults())
            .env("SUDO_USER", "carol")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        log.capture_syslog(&mut cmd);
        cmd.output().unwrap()
    };
    let out = run(&["forget-hosts", "10.0.0.1"]);
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out),
        format!("forgot remembered host 10.0.0.1 for {name}\n")
    );
    assert_eq!(file_state(&file).remembered, hosts(&THREE[..2]));
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (uid, 0o600));
    assert_eq!(file, home.join(".pam_totp.toml"));

    let out = run(&["forget-hosts"]);
    assert_exit(&out, 0);
    assert!(file_state(&file).remembered.is_empty());
    let now = parsed(&file);
    assert!(original.same_but_state(&now));
    assert_eq!(now.state.marks[0], Some(LAST_STEP));
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (uid, 0o600));

    let lines: Vec<String> = log.log().lines().map(str::to_string).collect();
    let line = |what: &str, n: usize| {
        format!(
            "{AUTHPRIV_NOTICE} action=forget-hosts user={name} by_uid=0 by_user=root sudo_user=carol {what} forgotten={n} file={}",
            file.display()
        )
    };
    assert_eq!(lines, [line("host=10.0.0.1", 1), line("hosts=all", 2)]);
}
