//! Test harness for pam_totp: runs the real module through real libpam (`pam-driver`, which
//! uses `pam_start_confdir`), captures its syslog lines, and gets codes from `oathtool`.

pub mod consumers;
pub mod enroll_qr;
pub mod ffi;
pub mod slapd;
pub mod vpn;

pub use consumers::shipped_stack;

use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// PAM return codes (Linux-PAM values).
pub mod rc {
    /// PAM_SUCCESS
    pub const SUCCESS: i32 = 0;
    /// PAM_SERVICE_ERR
    pub const SERVICE_ERR: i32 = 3;
    /// PAM_PERM_DENIED
    pub const PERM_DENIED: i32 = 6;
    /// PAM_AUTH_ERR
    pub const AUTH_ERR: i32 = 7;
    /// PAM_AUTHINFO_UNAVAIL
    pub const AUTHINFO_UNAVAIL: i32 = 9;
}

/// The RFC 6238 appendix B SHA1 key "12345678901234567890" in base32.
pub const RFC_SHA1_KEY: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
/// A 160-bit test key.
pub const KEY: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// True when the test suite runs in CI (`CI=true` or `CI=1`), where missing prerequisites are
/// failures, not skips.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// True when running as root (the effective user id). Tests that need root begin with
/// [`needs_root!`].
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Whether the root-only test `test` can run: true as root; otherwise it says SKIPPED and
/// returns false, except in CI ([`in_ci`]), where the missing privilege fails the test. Tests
/// call it through [`needs_root!`], which names the test for them.
pub fn needs_root(test: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(
        !in_ci(),
        "{test} needs root, and CI runs as root: run the suite as root"
    );
    eprintln!("SKIPPED {test}: needs root (runs in CI)");
    false
}

/// The name of the function that encloses a local item, from the item's type name:
/// `tests::a_test::here` gives `a_test`. Used by [`needs_root!`].
pub fn enclosing_fn(local_item: &str) -> &str {
    let path = local_item
        .rsplit_once("::")
        .map_or(local_item, |(path, _)| path);
    path.rsplit("::").next().unwrap_or(path)
}

/// Returns from the enclosing test when it needs root and cannot have it (see [`needs_root`]);
/// the name in the message is the enclosing function's, so it cannot disagree with the test.
/// Write `needs_root!();` as a test's first statement.
#[macro_export]
macro_rules! needs_root {
    () => {{
        fn here() {}
        if !$crate::needs_root($crate::enclosing_fn(::std::any::type_name_of_val(&here))) {
            return;
        }
    }};
}

/// The workspace root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The pam_totp.so under test: `$PAM_TOTP_MODULE`, or the release build (built here once),
/// with pam_totp_ldap.so (`store=ldap`) beside it in the same directory, as installed.
pub fn module_path() -> &'static Path {
    static MODULE: OnceLock<PathBuf> = OnceLock::new();
    MODULE.get_or_init(|| {
        if let Ok(p) = std::env::var("PAM_TOTP_MODULE") {
            return PathBuf::from(p);
        }
        let root = workspace_root();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "-p",
                "pam_totp",
                "-p",
                "pam_totp_ldap",
            ])
            .args(["-p", "totp-enroll"])
            .current_dir(&root)
            .status()
            .expect("run cargo build for the module");
        assert!(status.success(), "cargo build --release failed");
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join("target"));
        // Install them under their real names (libpam's log prefix reads "pam_totp(...)";
        // pam_totp.so loads pam_totp_ldap.so from its own directory), each copied beside and
        // renamed into place, so that test binaries running at once never see half a file.
        let dir = target.join("pam_totp-test");
        fs::create_dir_all(&dir).expect("create target/pam_totp-test");
        let install = |built: &str, name: &str| {
            let built = target.join("release").join(built);
            assert!(built.exists(), "{} was not built", built.display());
            let tmp = dir.join(format!("{name}.{}", std::process::id()));
            fs::copy(&built, &tmp).expect("copy the module");
            let named = dir.join(name);
            fs::rename(&tmp, &named).expect("rename the module into place");
            named
        };
        install("libpam_totp_ldap.so", LDAP_MODULE);
        install("libpam_totp.so", "pam_totp.so")
    })
}

/// The file name pam_totp.so looks for beside itself for `store=ldap` lines.
pub const LDAP_MODULE: &str = "pam_totp_ldap.so";

/// The totp-enroll binary under test: `$TOTP_ENROLL`, or the release build next to the module.
pub fn enroll_path() -> PathBuf {
    if let Ok(p) = std::env::var("TOTP_ENROLL") {
        return PathBuf::from(p);
    }
    module_path();
    let root = workspace_root();
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    target.join("release/totp-enroll")
}

/// The pam-driver binary built next to the running test binary.
pub fn driver_path() -> PathBuf {
    helper_path("pam-driver")
}

/// A binary of this crate (`pam-driver`, `pam-bench`) built next to the running test binary.
pub fn helper_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current test binary");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile directory");
    let helper = dir.join(name);
    assert!(
        helper.exists(),
        "{} missing: run through cargo test",
        helper.display()
    );
    helper
}

/// Path of an external tool; panics with the Debian package to install when it is missing.
pub fn tool(name: &str, package: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} not found: apt-get install {package}");
}

/// Runs openssl in `dir` (test certificates); panics with its error output when it fails.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new(tool("openssl", "openssl"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// How many seconds of a time step [`wait_for_fresh_step`] leaves at least: time enough to
/// make a code, start the program under test and have it check the code in the same step.
pub const FRESH_STEP_MARGIN: Duration = Duration::from_secs(5);

/// Waits until at least [`FRESH_STEP_MARGIN`] remains in the current time step of `period`
/// seconds, so that a code made now is still current when the program under test checks it.
pub fn wait_for_fresh_step(period: u64) {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let period = Duration::from_secs(period);
    let into = Duration::from_nanos((since_epoch.as_nanos() % period.as_nanos()) as u64);
    let left = period - into;
    if left < FRESH_STEP_MARGIN {
        // A little past the boundary, so that now() is in the new step.
        std::thread::sleep(left + Duration::from_millis(200));
    }
}

/// A code from Debian's oathtool (independent of our implementation) for Unix time `at`.
/// `extra` adds options such as `--totp=sha256`, `-d 8`, `-s 60`.
pub fn oathtool(secret: &str, extra: &[&str], at: u64) -> String {
    let mut cmd = Command::new(tool("oathtool", "oathtool"));
    if !extra.iter().any(|e| e.starts_with("--totp")) {
        cmd.arg("--totp");
    }
    let out = cmd
        .args(extra)
        .args(["-b", secret, "--now", &format!("@{at}")])
        .output()
        .expect("run oathtool");
    assert!(
        out.status.success(),
        "oathtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The name of the user running the tests.
pub fn current_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .expect("the test user has a passwd entry")
}

/// A stored recovery code in the file format, computed here with sha2 (not by the module):
/// `sha256$<salt hex>$<hex of SHA-256(salt || normalised code)>`.
pub fn recovery_hash(code: &str, salt: [u8; 16]) -> String {
    let normal: String = code
        .to_lowercase()
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .collect();
    let mut h = Sha256::new();
    h.update(salt);
    h.update(normal.as_bytes());
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    format!("sha256${}${}", hex(&salt), hex(&h.finalize()))
}

/// The replay and rate-limit state a secret file holds now, read with the product's parser
/// (whose format tests are in pam_totp_core): what the tests check is what a login recorded.
/// Panics when the file is not a valid secret file.
pub fn file_state(path: &Path) -> pam_totp_core::secret_file::LoginState {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    pam_totp_core::secret_file::SecretFile::parse(&bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .state
}

/// Text of a secret file (format version 1, as written by hand: the module moves its state
/// to version 2 at the first login).
pub fn secret_toml(
    secret: &str,
    algorithm: &str,
    digits: u8,
    period: u64,
    recovery: &[&str],
) -> String {
    let hashes: Vec<String> = recovery
        .iter()
        .enumerate()
        .map(|(i, c)| format!("\"{}\"", recovery_hash(c, [i as u8 + 1; 16])))
        .collect();
    format!(
        "version = 1\nsecret = \"{secret}\"\nalgorithm = \"{algorithm}\"\ndigits = {digits}\nperiod = {period}\n\
         created = 2026-11-24T00:00:00Z\nrecovery_codes = [{}]\n",
        hashes.join(", ")
    )
}

/// One token of a version-3 file written by [`tokens_toml`]: SHA1, 6 digits, TOTP with a
/// 30-second period or HOTP.
#[derive(Debug, Clone)]
pub struct TestToken<'a> {
    /// The token's name (`token=NAME` in log lines).
    pub name: &'a str,
    /// Its key in base32.
    pub secret: &'a str,
    /// HOTP (RFC 4226) instead of TOTP.
    pub hotp: bool,
    /// Its replay mark: the highest time step or counter already used (for an HOTP token
    /// whose next counter is N, N - 1); None: nothing used yet.
    pub mark: Option<u64>,
}

impl<'a> TestToken<'a> {
    /// A TOTP token (SHA1, 6 digits, 30 s), nothing used yet.
    pub fn totp(name: &'a str, secret: &'a str) -> Self {
        TestToken {
            name,
            secret,
            hotp: false,
            mark: None,
        }
    }

    /// An HOTP token (SHA1, 6 digits) whose next counter is 0.
    pub fn hotp(name: &'a str, secret: &'a str) -> Self {
        TestToken {
            name,
            secret,
            hotp: true,
            mark: None,
        }
    }

    fn token(&self) -> pam_totp_core::token::Token {
        use pam_totp_core::secret_file::Algorithm;
        use pam_totp_core::token::Token;
        let secret = pam_totp_core::secret::TotpSecret::from_base32(self.secret)
            .unwrap_or_else(|e| panic!("test token {}: {e}", self.name));
        if self.hotp {
            Token::hotp(self.name, secret, Algorithm::SHA1, 6)
        } else {
            Token::totp(self.name, secret, Algorithm::SHA1, 6, 30)
        }
    }
}

/// Text of a secret file with the given tokens (in this order) and recovery codes, made by the
/// product's own writer (`SecretFile::to_toml`, whose format tests are in pam_totp_core): the
/// version-3 format once there is more than the one `default` TOTP token, as `totp-enroll
/// add-token` writes it.
pub fn tokens_toml(tokens: &[TestToken], recovery: &[&str]) -> String {
    use pam_totp_core::recovery::RecoveryHash;
    use pam_totp_core::secret_file::{datetime_from_unix, Algorithm, SecretFile};
    let (first, more) = tokens.split_first().expect("at least one token");
    let first_token = first.token();
    let mut file = SecretFile::new(first_token.secret.clone(), Algorithm::SHA1, 6, 30);
    *file.first_token_mut() = first_token;
    if let Some(mark) = first.mark {
        file.set_mark(0, mark);
    }
    for t in more {
        file.add_token(t.token(), t.mark)
            .unwrap_or_else(|e| panic!("add test token {}: {e}", t.name));
    }
    file.created = datetime_from_unix(1_795_000_000);
    file.recovery = recovery
        .iter()
        .enumerate()
        .map(|(i, c)| {
            RecoveryHash::parse(&recovery_hash(c, [i as u8 + 1; 16])).expect("a recovery hash")
        })
        .collect();
    let text = file.to_toml().expect("the core writes the test file");
    text.to_string()
}

/// An HOTP code from Debian's oathtool (independent of our implementation) for the base32
/// key `secret` at counter `counter`; `extra` adds options such as `-d 8`.
pub fn oathtool_hotp(secret: &str, counter: u64, extra: &[&str]) -> String {
    let out = Command::new(tool("oathtool", "oathtool"))
        .arg("--hotp")
        .args(extra)
        .args(["-b", "-c", &counter.to_string(), secret])
        .output()
        .expect("run oathtool");
    assert!(
        out.status.success(),
        "oathtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The TOML part of a secret file's bytes (before its state slots): what logins that change
/// only the login state must leave alone byte for byte.
pub fn settings_part(bytes: &[u8]) -> Vec<u8> {
    let (part, _, _) = pam_totp_core::state_slots::split(bytes).expect("a file with state slots");
    part.to_vec()
}

/// What one transaction printed.
#[derive(Debug, Clone)]
pub struct Login {
    /// pam_authenticate's return code.
    pub rc: i32,
    /// Every event line from the driver.
    pub lines: Vec<String>,
    /// Driver stderr.
    pub stderr: String,
}

impl Login {
    /// Reads the driver's event lines from a finished process.
    pub fn from_output(out: &Output) -> Login {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<String> = stdout.lines().map(str::to_string).collect();
        let rc = lines
            .iter()
            .find_map(|l| l.strip_prefix("AUTH ").and_then(|v| v.parse().ok()))
            .unwrap_or_else(|| {
                panic!(
                    "no AUTH line; stdout={stdout} stderr={}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        Login {
            rc,
            lines,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Texts of echo-off prompts, in order.
    pub fn prompts(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| l.strip_prefix("PROMPT_OFF "))
            .collect()
    }

    /// Texts of PAM_ERROR_MSG messages.
    pub fn errors(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| l.strip_prefix("ERROR "))
            .collect()
    }

    /// Texts of PAM_TEXT_INFO messages.
    pub fn infos(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| l.strip_prefix("INFO "))
            .collect()
    }

    /// The failure delay libpam reported, in microseconds.
    pub fn fail_delay(&self) -> Option<u64> {
        self.lines.iter().find_map(|l| {
            l.strip_prefix("FAIL_DELAY ")
                .and_then(|v| v.split(' ').next()?.parse().ok())
        })
    }

    /// True when pam_authenticate returned PAM_SUCCESS.
    pub fn ok(&self) -> bool {
        self.rc == rc::SUCCESS
    }
}

/// Options for one driver run.
#[derive(Debug, Clone, Default)]
pub struct Run<'a> {
    /// Service file name.
    pub service: &'a str,
    /// Replies to prompts.
    pub answers: &'a [&'a str],
    /// Extra driver arguments.
    pub extra: &'a [&'a str],
    /// Authenticate this user instead of the current one.
    pub user: Option<&'a str>,
    /// Run the driver with this uid/gid.
    pub as_ids: Option<(u32, u32)>,
    /// Run the driver in a private mount namespace with this file bound over /etc/passwd
    /// (see [`FakeUsers`]). Needs root.
    pub passwd: Option<&'a Path>,
    /// More files bound over system paths in that namespace (with `passwd`), e.g. a test
    /// /etc/fstab.
    pub binds: &'a [(&'a Path, &'a str)],
}

/// A private directory with service files, secret files and the captured log.
pub struct Env {
    /// The temporary directory (removed on drop).
    pub dir: tempfile::TempDir,
    /// The user being authenticated.
    pub user: String,
}

impl Default for Env {
    fn default() -> Self {
        Self::new()
    }
}

impl Env {
    /// A fresh environment for the current user.
    pub fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("pam_totp-test")
            .tempdir()
            .expect("temp dir");
        fs::create_dir(dir.path().join("pam.d")).expect("pam.d");
        fs::write(
            dir.path().join("pam.d/other"),
            "auth required pam_deny.so\n",
        )
        .expect("other");
        Env {
            dir,
            user: current_user(),
        }
    }

    /// The `secret=` template of this environment.
    pub fn template(&self) -> String {
        format!("{}/%u.toml", self.dir.path().display())
    }

    /// Where the current user's secret file is.
    pub fn secret_path(&self) -> PathBuf {
        self.dir.path().join(format!("{}.toml", self.user))
    }

    /// Writes the secret file (mode 0600).
    pub fn write_secret(&self, text: &str) {
        write_private(&self.secret_path(), text);
    }

    /// Writes a standard SHA1/6/30 enrollment with the given recovery codes.
    pub fn enroll(&self, secret: &str, recovery: &[&str]) {
        self.write_secret(&secret_toml(secret, "SHA1", 6, 30, recovery));
    }

    /// Writes a service file; `@MODULE@` becomes the module path, `@SECRET@` the template.
    pub fn service(&self, name: &str, body: &str) {
        let text = body
            .replace("@MODULE@", &module_path().display().to_string())
            .replace("@SECRET@", &self.template());
        fs::write(self.dir.path().join("pam.d").join(name), text).expect("write service file");
    }

    /// The captured syslog lines so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("syslog.log")
    }

    /// Makes `cmd` log through the syslog capture shim (LD_PRELOAD) into this environment's
    /// log, which [`Env::log`] reads: for programs other than the driver, such as totp-enroll.
    pub fn capture_syslog<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.env("LD_PRELOAD", env!("SYSLOG_CAPTURE_SO"))
            .env("PAM_TOTP_TEST_SYSLOG", self.log_path())
    }

    /// The driver command for a run, not started.
    pub fn command(&self, run: &Run) -> Command {
        let mut cmd = match run.passwd {
            Some(passwd) => {
                let mut binds = vec![(passwd, "/etc/passwd")];
                binds.extend_from_slice(run.binds);
                in_namespace(&binds, &driver_path())
            }
            None => Command::new(driver_path()),
        };
        cmd.arg("--confdir")
            .arg(self.dir.path().join("pam.d"))
            .args([
                "--service",
                run.service,
                "--user",
                run.user.unwrap_or(&self.user),
            ]);
        for a in run.answers {
            cmd.args(["--answer", a]);
        }
        cmd.args(run.extra);
        self.capture_syslog(&mut cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some((uid, gid)) = run.as_ids {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    /// Runs one transaction and waits for it.
    pub fn run(&self, run: &Run) -> Login {
        let out = self.command(run).output().expect("run pam-driver");
        Login::from_output(&out)
    }

    /// Authenticates the current user against `service`, answering prompts with `answers`.
    pub fn login(&self, service: &str, answers: &[&str]) -> Login {
        self.run(&Run {
            service,
            answers,
            ..Run::default()
        })
    }

    /// Starts a transaction that begins pam_authenticate at `start_at_ms`.
    pub fn spawn(&self, service: &str, answer: &str, start_at_ms: u128) -> Child {
        let at = start_at_ms.to_string();
        let extra = ["--start-at", at.as_str()];
        self.command(&Run {
            service,
            answers: &[answer],
            extra: &extra,
            ..Run::default()
        })
        .spawn()
        .expect("spawn pam-driver")
    }
}

impl Drop for Env {
    /// Keeps the captured log under target/test-logs so that tests/run.sh can check the logs
    /// of the whole suite for leaked secrets.
    fn drop(&mut self) {
        let dir = workspace_root().join("target/test-logs");
        if fs::create_dir_all(&dir).is_ok() {
            let name = self
                .dir
                .path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let _ = fs::copy(self.log_path(), dir.join(format!("{name}.log")));
        }
    }
}

/// A command that runs `program` in a private mount namespace where `passwd` is bound over
/// /etc/passwd, so that test users with real home directories exist for it alone.
pub fn in_namespace_with_passwd(passwd: &Path, program: &Path) -> Command {
    in_namespace(&[(passwd, "/etc/passwd")], program)
}

/// A command that runs `program` (arguments are added by the caller) in a private mount
/// namespace in which each `(source, target)` is bind-mounted over the system path `target`
/// (e.g. a test pam.d directory over /etc/pam.d, a test passwd over /etc/passwd). Nothing is
/// changed outside the namespace. Needs root.
pub fn in_namespace(binds: &[(&Path, &str)], program: &Path) -> Command {
    namespace(binds, None, program)
}

/// [`in_namespace`], and the namespace gets a private /dev (a tmpfs with the usual device nodes
/// bound in from the real /dev, which stays reachable at `host_dev`) whose /dev/log is the
/// unix socket `socket`: for hosts that log through syslog and ignore LD_PRELOAD (setuid
/// programs) or wipe the environment (sshd).
pub fn in_namespace_with_devlog(
    binds: &[(&Path, &str)],
    host_dev: &Path,
    socket: &Path,
    program: &Path,
) -> Command {
    namespace(binds, Some((host_dev, socket)), program)
}

/// The shell script (support/namespace.sh) run by `unshare -m`: bind mounts, then (with `--devlog HOSTDEV SOCKET`) a
/// private /dev whose `log` is the test's syslog socket, then the program.
const NAMESPACE_SH: &str = include_str!("../support/namespace.sh");

/// A command that runs the sh `script` (its arguments are added by the caller, as `$1`...) in
/// a private mount namespace: whatever it mounts is gone when it ends. Needs root.
pub fn sh_in_private_namespace(script: &str) -> Command {
    let mut cmd = Command::new(tool("unshare", "util-linux"));
    cmd.args(["-m", "--propagation", "private", "sh", "-c", script, "sh"]);
    cmd
}

fn namespace(binds: &[(&Path, &str)], devlog: Option<(&Path, &Path)>, program: &Path) -> Command {
    let mut cmd = sh_in_private_namespace(NAMESPACE_SH);
    for (source, target) in binds {
        cmd.arg(source).arg(target);
    }
    cmd.arg("--");
    if let Some((host_dev, socket)) = devlog {
        cmd.arg("--devlog").arg(host_dev).arg(socket);
    }
    cmd.arg(program);
    cmd
}

/// Test users that exist only inside a private mount namespace: copies of /etc/passwd,
/// /etc/shadow and /etc/group with extra entries, and a home directory (mode 0700, owned by the
/// user, with a `.profile`) for each. Every test user's password is [`FakeUsers::PASSWORD`].
pub struct FakeUsers {
    /// The passwd file to bind over /etc/passwd.
    pub passwd: PathBuf,
    /// The shadow file to bind over /etc/shadow.
    pub shadow: PathBuf,
    /// The group file to bind over /etc/group.
    pub group: PathBuf,
    /// (name, uid, home) of each test user.
    pub users: Vec<(String, u32, PathBuf)>,
}

impl FakeUsers {
    /// Creates `count` users named `pamtestN` with uids from 40000, homes under `dir`.
    /// Needs root (chown).
    pub fn new(dir: &Path, count: u32) -> FakeUsers {
        let mut text = fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
        let homes = dir.join("homes");
        fs::create_dir_all(&homes).expect("homes");
        fs::set_permissions(dir, fs::Permissions::from_mode(0o711)).expect("chmod");
        fs::set_permissions(&homes, fs::Permissions::from_mode(0o711)).expect("chmod");
        let mut users = Vec::new();
        for i in 0..count {
            let (name, uid) = (format!("pamtest{i}"), 40_000 + i);
            let home = homes.join(&name);
            fs::create_dir(&home).expect("home");
            nix::unistd::chown(
                &home,
                Some(nix::unistd::Uid::from_raw(uid)),
                Some(nix::unistd::Gid::from_raw(uid)),
            )
            .expect("chown home");
            fs::set_permissions(&home, fs::Permissions::from_mode(0o700)).expect("chmod home");
            // As useradd -m copies /etc/skel: a home is rarely empty (pam_totp refuses to
            // read an empty home as "not enrolled": a file system may be mounted there later).
            let profile = home.join(".profile");
            fs::write(&profile, "# test user\n").expect("write .profile");
            nix::unistd::chown(
                &profile,
                Some(nix::unistd::Uid::from_raw(uid)),
                Some(nix::unistd::Gid::from_raw(uid)),
            )
            .expect("chown .profile");
            text.push_str(&format!(
                "{name}:x:{uid}:{uid}:pam_totp test:{}:/bin/sh\n",
                home.display()
            ));
            users.push((name, uid, home));
        }
        let passwd = dir.join("passwd");
        fs::write(&passwd, text).expect("write passwd");
        fs::set_permissions(&passwd, fs::Permissions::from_mode(0o644)).expect("chmod passwd");

        let hash = Command::new(tool("openssl", "openssl"))
            .args(["passwd", "-6", "-salt", "pamtotptest", Self::PASSWORD])
            .output()
            .expect("openssl passwd");
        let hash = String::from_utf8_lossy(&hash.stdout).trim().to_string();
        assert!(hash.starts_with("$6$"), "openssl passwd failed");
        let mut shadow = fs::read_to_string("/etc/shadow").unwrap_or_default();
        let mut group = fs::read_to_string("/etc/group").expect("read /etc/group");
        for (name, uid, _) in &users {
            shadow.push_str(&format!("{name}:{hash}:20000:0:99999:7:::\n"));
            group.push_str(&format!("{name}:x:{uid}:\n"));
        }
        let shadow_path = dir.join("shadow");
        write_private(&shadow_path, &shadow);
        let group_path = dir.join("group");
        fs::write(&group_path, group).expect("write group");
        fs::set_permissions(&group_path, fs::Permissions::from_mode(0o644)).expect("chmod group");
        FakeUsers {
            passwd,
            shadow: shadow_path,
            group: group_path,
            users,
        }
    }

    /// The password of every test user.
    pub const PASSWORD: &'static str = "test-pass-1";

    /// Bind mounts that make the test users exist: passwd, shadow and group.
    pub fn binds(&self) -> Vec<(&Path, &'static str)> {
        vec![
            (self.passwd.as_path(), "/etc/passwd"),
            (self.shadow.as_path(), "/etc/shadow"),
            (self.group.as_path(), "/etc/group"),
        ]
    }

    /// Adds group `name` with id `gid` to the group file, with the test users `members`
    /// (indexes into [`FakeUsers::users`]) as supplementary members. The file is rewritten in
    /// place, so a namespace that has it bound already sees the group.
    pub fn add_group(&self, name: &str, gid: u32, members: &[usize]) {
        let names: Vec<&str> = members.iter().map(|&i| self.users[i].0.as_str()).collect();
        let mut text = fs::read_to_string(&self.group).expect("read the test group file");
        text.push_str(&format!("{name}:x:{gid}:{}\n", names.join(",")));
        fs::write(&self.group, text).expect("write the test group file");
    }

    /// Makes group `gid` the primary group of test user `i` (the group field of the passwd
    /// entry), in place like [`FakeUsers::add_group`].
    pub fn set_primary_group(&self, i: usize, gid: u32) {
        let name = &self.users[i].0;
        let text = fs::read_to_string(&self.passwd).expect("read the test passwd file");
        let mut out = String::new();
        for line in text.lines() {
            let mut fields: Vec<String> = line.split(':').map(str::to_string).collect();
            if fields.first() == Some(name) && fields.len() == 7 {
                fields[3] = gid.to_string();
            }
            out.push_str(&fields.join(":"));
            out.push('\n');
        }
        fs::write(&self.passwd, out).expect("write the test passwd file");
    }

    /// Writes `text` as user `i`'s secret file at `~/.pam_totp.toml`, owned by the user.
    pub fn enroll(&self, i: usize, text: &str) -> PathBuf {
        let (_, uid, home) = &self.users[i];
        let file = home.join(".pam_totp.toml");
        write_private(&file, text);
        nix::unistd::chown(
            &file,
            Some(nix::unistd::Uid::from_raw(*uid)),
            Some(nix::unistd::Gid::from_raw(*uid)),
        )
        .expect("chown secret file");
        file
    }
}

/// Waits for a spawned transaction.
pub fn finish(child: Child) -> Login {
    let out = child.wait_with_output().expect("wait for pam-driver");
    Login::from_output(&out)
}

/// Milliseconds since the epoch, `ahead` from now.
pub fn start_time(ahead: Duration) -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
        + ahead.as_millis()
}

/// Writes `text` to a new file with mode 0600 (replacing any existing file).
pub fn write_private(path: &Path, text: &str) {
    let _ = fs::remove_file(path);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .expect("create secret file");
    f.write_all(text.as_bytes()).expect("write secret file");
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).expect("chmod");
}

#[cfg(test)]
mod tests {
    #[test]
    fn needs_root_names_the_enclosing_test() {
        fn here() {}
        assert_eq!(
            super::enclosing_fn(std::any::type_name_of_val(&here)),
            "needs_root_names_the_enclosing_test"
        );
        assert_eq!(super::enclosing_fn("a::b::c::here"), "c");
    }
}
