//! What a login costs on disk, seen from the kernel: real logins through libpam run under
//! strace, and the calls on the user's file and its directory are counted. A login reads the
//! small secret file once (one open, one read to the end) and writes at most once: the login
//! state alone changed, one write of one state slot in place and one fdatasync; the recovery
//! codes changed (or a version-1 file moves to version 2), one temporary file, fsync, rename
//! and fsync of the directory. The figures are the contract in the README ("What a login
//! costs"); time is measured by the benchmark, not here.

use pam_totp_tests::*;
use std::path::Path;
use std::process::Command;

const SERVICE: &str = "auth required @MODULE@ secret=@SECRET@\n";

/// The calls a login made on the secret file and its directory.
#[derive(Debug, Default)]
struct FileCalls {
    /// Opens of the secret file itself (not of temporary files).
    opens: usize,
    /// read() calls on the secret file and the bytes they returned.
    reads: usize,
    bytes_read: u64,
    /// Temporary files created next to it.
    temp_files: usize,
    /// Renames onto the secret file.
    renames: usize,
    /// fsync/fdatasync calls on anything in the directory, or on the directory.
    syncs: usize,
    /// Writes in place into the secret file, and the bytes they wrote.
    in_place_writes: usize,
    bytes_written: u64,
    /// Opens of the secret file that failed because it does not exist.
    missing: usize,
    /// Every traced line that touched the directory, for failure messages.
    lines: Vec<String>,
}

/// Runs one login of the current user under strace and sorts the calls on `env`'s directory.
fn traced_login(env: &Env, answers: &[&str]) -> (Login, FileCalls) {
    let strace = tool("strace", "strace");
    let trace = env.dir.path().join("strace.out");
    let driver = env.command(&Run {
        service: "totp",
        answers,
        ..Run::default()
    });
    let mut cmd = Command::new(strace);
    // -y: show the path behind each descriptor; -s 0: never print file contents (secrets).
    cmd.args(["-f", "-qq", "-y", "-s", "0", "-o"])
        .arg(&trace)
        .args([
            "-e",
            // `?`: a call this architecture or strace version does not have is left out.
            "trace=?open,openat,?openat2,read,?pread64,?readv,\
             ?rename,?renameat,renameat2,fsync,fdatasync,?sync_file_range,\
             write,?pwrite64,?pwritev,?pwritev2",
        ])
        .arg(driver.get_program())
        .args(driver.get_args());
    for (k, v) in driver.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().expect("run pam-driver under strace");
    assert!(
        out.status.success(),
        "strace or pam-driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let login = Login::from_output(&out);
    let text = std::fs::read_to_string(&trace).expect("read the strace output");
    // strace -y prints resolved paths: match against the canonical directory.
    let dir = env
        .dir
        .path()
        .canonicalize()
        .expect("canonical test directory");
    let secret = dir.join(env.secret_path().file_name().expect("secret file name"));
    let calls = sort_calls(&text, &dir, &secret);
    assert!(
        !calls.lines.is_empty(),
        "strace saw no call on {}: the trace cannot be read\n{text}",
        dir.display()
    );
    (login, calls)
}

fn sort_calls(trace: &str, dir: &Path, secret: &Path) -> FileCalls {
    let dir = dir.display().to_string();
    let secret = secret.display().to_string();
    let name = secret.rsplit('/').next().unwrap_or_default().to_string();
    let on_secret = format!("<{secret}>");
    let mut calls = FileCalls::default();
    for line in trace.lines() {
        if !line.contains(&dir) || line.contains("/pam.d") || line.contains("syslog.log") {
            continue;
        }
        calls.lines.push(line.to_string());
        let call = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.split('(').next())
            .unwrap_or_default();
        let result = line.rsplit(" = ").next().unwrap_or_default();
        match call {
            "open" | "openat" | "openat2" if line.contains("O_CREAT") => calls.temp_files += 1,
            "open" | "openat" | "openat2" if result.contains(&on_secret) => calls.opens += 1,
            "open" | "openat" | "openat2"
                if line.contains(&format!("\"{name}\"")) && result.contains("ENOENT") =>
            {
                calls.missing += 1
            }
            "read" | "pread64" | "readv" if line.contains(&format!("{on_secret},")) => {
                calls.reads += 1;
                calls.bytes_read += result.trim().parse::<u64>().unwrap_or(0);
            }
            "rename" | "renameat" | "renameat2" if line.contains(&format!("\"{name}\"")) => {
                calls.renames += 1
            }
            "fsync" | "fdatasync" | "sync_file_range" => calls.syncs += 1,
            "write" | "pwrite64" | "pwritev" | "pwritev2"
                if line.contains(&format!("{on_secret},")) =>
            {
                calls.in_place_writes += 1;
                calls.bytes_written += result.trim().parse::<u64>().unwrap_or(0);
            }
            _ => {}
        }
    }
    calls
}

/// A user enrolled with a version-1 file written by hand (state in its TOML).
fn enrolled_env() -> Env {
    let env = Env::new();
    env.enroll(KEY, &["aaaaa-bbbbb", "ccccc-ddddd"]);
    env.service("totp", SERVICE);
    env
}

/// A user whose file is in today's format: a first (wrong) login moved it to version 2.
fn enrolled_v2_env() -> Env {
    let env = enrolled_env();
    let login = env.login("totp", &["000000"]);
    assert_eq!(login.rc, rc::AUTH_ERR, "{login:?}");
    let text = std::fs::read_to_string(env.secret_path()).unwrap();
    assert!(text.contains("\nversion = 2\n"), "moved to version 2");
    env
}

fn assert_read_once(calls: &FileCalls, size: u64) {
    assert_eq!(calls.opens, 1, "the secret file is opened once: {calls:#?}");
    assert!(
        calls.reads <= 2 && calls.bytes_read == size,
        "the file is read once to its end ({size} bytes): {calls:#?}"
    );
}

/// One small synchronous write: one state slot (a page) in place, and fdatasync.
fn assert_one_slot_write(calls: &FileCalls) {
    assert_eq!(
        (
            calls.in_place_writes,
            calls.bytes_written,
            calls.syncs,
            calls.temp_files,
            calls.renames
        ),
        (1, 4096, 1, 0, 0),
        "one write of one state slot in place and one fdatasync: {calls:#?}"
    );
}

/// The whole file replaced: a temporary file, fsync, rename, fsync of the directory.
fn assert_one_replace(calls: &FileCalls) {
    assert_eq!(
        (
            calls.temp_files,
            calls.renames,
            calls.syncs,
            calls.in_place_writes
        ),
        (1, 1, 2, 0),
        "one durable replace: a temporary file, fsync, rename, fsync of the directory: {calls:#?}"
    );
}

#[test]
fn an_accepted_code_costs_one_read_and_one_slot_write() {
    let env = enrolled_v2_env();
    let size = std::fs::metadata(env.secret_path()).unwrap().len();
    let code = oathtool(KEY, &[], now());
    let (login, calls) = traced_login(&env, &[&code]);
    assert!(login.ok(), "{login:?}\n{}", env.log());
    assert_read_once(&calls, size);
    assert_one_slot_write(&calls);
}

#[test]
fn a_refused_code_costs_one_read_and_one_slot_write() {
    let env = enrolled_v2_env();
    let size = std::fs::metadata(env.secret_path()).unwrap().len();
    let wrong = oathtool(KEY, &[], now() + 300);
    let (login, calls) = traced_login(&env, &[&wrong]);
    assert_eq!(login.rc, rc::AUTH_ERR, "{login:?}");
    assert_read_once(&calls, size);
    assert_one_slot_write(&calls);
}

#[test]
fn a_recovery_code_costs_one_read_and_one_replace() {
    let env = enrolled_v2_env();
    let size = std::fs::metadata(env.secret_path()).unwrap().len();
    let (login, calls) = traced_login(&env, &["ccccc-ddddd"]);
    assert!(login.ok(), "{login:?}\n{}", env.log());
    assert_read_once(&calls, size);
    assert_one_replace(&calls);
}

/// A version-1 file moves to version 2 at its first login, by one atomic replace; the state
/// it held comes along.
#[test]
fn a_version_1_file_moves_to_version_2_in_one_replace() {
    let env = enrolled_env();
    let size = std::fs::metadata(env.secret_path()).unwrap().len();
    let code = oathtool(KEY, &[], now());
    let (login, calls) = traced_login(&env, &[&code]);
    assert!(login.ok(), "{login:?}\n{}", env.log());
    assert_read_once(&calls, size);
    assert_one_replace(&calls);
    let text = std::fs::read_to_string(env.secret_path()).unwrap();
    assert!(text.contains("\nversion = 2\n") && !text.contains("[state]"));
    assert_eq!(file_state(&env.secret_path()).checks.len(), 1);
    // The accepted code came along as used.
    assert_eq!(env.login("totp", &[&code]).rc, rc::AUTH_ERR);
}

/// A version-3 file (a TOTP and an HOTP token): a login costs what it costs on version 2,
/// whichever token's code it gives.
#[test]
fn a_login_on_a_version_3_file_costs_one_read_and_one_slot_write() {
    let env = Env::new();
    env.write_secret(&tokens_toml(
        &[
            TestToken::totp("phone", KEY),
            TestToken::hotp("fob", RFC_SHA1_KEY),
        ],
        &["aaaaa-bbbbb"],
    ));
    env.service("totp", SERVICE);
    let text = std::fs::read_to_string(env.secret_path()).unwrap();
    assert!(text.contains("\nversion = 3\n"), "{text}");
    let size = std::fs::metadata(env.secret_path()).unwrap().len();
    let codes = [
        ("TOTP", oathtool(KEY, &[], now())),
        ("HOTP", oathtool_hotp(RFC_SHA1_KEY, 0, &[])),
    ];
    for (kind, code) in codes {
        let (login, calls) = traced_login(&env, &[&code]);
        assert!(login.ok(), "{kind}: {login:?}\n{}", env.log());
        assert_read_once(&calls, size);
        assert_one_slot_write(&calls);
    }
    let (login, calls) = traced_login(&env, &["000000"]);
    assert_eq!(login.rc, rc::AUTH_ERR, "{login:?}");
    assert_read_once(&calls, size);
    assert_one_slot_write(&calls);
    assert_eq!(std::fs::metadata(env.secret_path()).unwrap().len(), size);
}

#[test]
fn a_user_without_a_file_costs_no_read_and_no_write() {
    let env = Env::new();
    env.service(
        "totp",
        "auth required @MODULE@ secret=@SECRET@ nullok\nauth required pam_permit.so\n",
    );
    let (login, calls) = traced_login(&env, &[]);
    assert!(
        login.ok() && login.prompts().is_empty(),
        "{login:?}\n{}",
        env.log()
    );
    assert_eq!(
        calls.missing, 1,
        "the module looked for the file once: {calls:#?}"
    );
    assert_eq!(
        (
            calls.opens,
            calls.reads,
            calls.temp_files,
            calls.renames,
            calls.syncs
        ),
        (0, 0, 0, 0, 0),
        "{calls:#?}"
    );
}
