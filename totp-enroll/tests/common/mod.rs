//! What is particular to driving the real `totp-enroll` binary against a temporary secret file;
//! the rest (keys, codes from Debian's `oathtool`, the clock, root and CI rules) is the shared
//! test harness, `pam_totp_tests`, re-exported here.
#![allow(dead_code)]

// Each test binary uses its own part of these, as with the helpers below (dead_code above).
#[allow(unused_imports)]
pub use pam_totp_tests::{
    file_state, is_root, needs_root, now, oathtool, wait_for_fresh_step, KEY, RFC_SHA1_KEY,
};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use tempfile::TempDir;

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_totp-enroll")
}

/// A temporary directory holding one secret file.
pub struct Env {
    /// The directory (root-owned 0700 when the tests run as root).
    pub dir: TempDir,
}

impl Env {
    /// A new empty directory.
    pub fn new() -> Self {
        Env {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The secret file path.
    pub fn file(&self) -> PathBuf {
        self.dir.path().join("secret.toml")
    }

    /// The secret file's text.
    pub fn text(&self) -> String {
        std::fs::read_to_string(self.file()).expect("read secret file")
    }

    /// Runs `totp-enroll --secret-file FILE ARGS` with `stdin` as input.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        let file = self.file();
        let mut full = vec!["--secret-file", file.to_str().expect("utf-8 path")];
        full.extend_from_slice(args);
        run_with(&full, stdin, |_| {})
    }
}

/// An empty site defaults file (mode 0644), so that a /etc/totp-enroll.toml on the machine
/// running the tests cannot change them.
pub fn no_site_defaults() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-site-defaults.toml");
    if !path.exists() {
        std::fs::write(&path, "").expect("write the empty site defaults");
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
        .expect("chmod the empty site defaults");
    path
}

/// Runs the binary with `args` and `stdin`; `setup` may change the command (uid ...).
pub fn run_with(args: &[&str], stdin: &str, setup: impl FnOnce(&mut Command)) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env_remove("NO_COLOR")
        // No site defaults from the machine running the tests (tests that want some set it).
        .env("TOTP_ENROLL_CONFIG", no_site_defaults())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    setup(&mut cmd);
    let mut child = cmd.spawn().expect("spawn totp-enroll");
    let mut input = child.stdin.take().expect("stdin");
    // The binary may exit before reading (usage errors): ignore a broken pipe.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    child.wait_with_output().expect("wait for totp-enroll")
}

/// The current code as a line of input (after waiting for a fresh step of 30 s).
pub fn code(key: &str) -> String {
    wait_for_fresh_step(30);
    format!("{}\n", oathtool(key, &[], now()))
}

/// The code of the next 30 s step: accepted (window 1) even after the current step's code
/// was used.
pub fn next_code(key: &str) -> String {
    wait_for_fresh_step(30);
    format!("{}\n", oathtool(key, &[], now() + 30))
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit status, showing the output when it differs.
pub fn assert_exit(o: &Output, want: i32) {
    assert_eq!(
        o.status.code(),
        Some(want),
        "exit status; stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

/// Parses stdout as one JSON object.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(stdout(o).trim())
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {}", stdout(o)))
}

/// The stored recovery code hashes of a secret file.
pub fn stored_hashes(text: &str) -> Vec<String> {
    text.split('"')
        .filter(|s| s.starts_with("sha256$"))
        .map(str::to_string)
        .collect()
}

/// Enrolls `key` with `--json` and returns the JSON object.
pub fn enroll_json(env: &Env, key: &str) -> serde_json::Value {
    let out = env.run(&["enroll", "--secret", key, "--json"], &code(key));
    assert_exit(&out, 0);
    json(&out)
}
