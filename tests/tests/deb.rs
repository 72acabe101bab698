//! The Debian package pam-totp (packaging/build-deb.sh, cargo-deb): what it contains and with
//! which modes, what lintian says of it (no errors, warnings or infos but those overridden with
//! a reason), its DEP-5 copyright, changelog and md5sums, `dpkg -i`, a login through the
//! installed module named `pam_totp.so` in a service file, the fail2ban filter on lines the
//! module really logged, the pam-auth-update profile (off by default; once enabled, after
//! pam_unix in common-auth), and `dpkg -r` / `dpkg -P`.
//!
//! The install test needs root, and touches none of the host's files: it runs in a throwaway
//! view of the system, a private mount namespace with overlays (upper layers on a tmpfs) over
//! /usr, /etc and /var (and /lib where it is not a link into /usr), which vanish with the
//! namespace. Afterwards it checks that the host's pam_totp files and dpkg's record of pam-totp
//! are as before. The host may have the project installed (README command 1 runs
//! packaging/install.sh): in the sandbox the test runs packaging/install.sh itself, checks what
//! it installed and takes it away with `--uninstall` (and purges a pam-totp package it sees
//! through the overlays), so that every run shows an installed project does not get in the way
//! and the package is then tested on a system without those files. Enabling the pam-auth-update
//! profile happens on copies of /etc/pam.d, /var/lib/pam and /var/cache/debconf bound over the
//! sandbox's in a further namespace.
//!
//! `PAM_TOTP_DEB=path.deb` tests a package built beforehand instead of running build-deb.sh.

use pam_totp_tests::*;
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

const PACKAGE: &str = "pam-totp";
const FILTER: &str = "/etc/fail2ban/filter.d/pam-totp.conf";
const PROFILE: &str = "/usr/share/pam-configs/pam_totp";
const RHOST: &str = "192.0.2.7";
const DOC: &str = "/usr/share/doc/pam-totp";
/// The Maintainer field: the project has no mail domain, so an address under the reserved
/// `.invalid` domain (RFC 2606), the one SECURITY.md uses, rather than one that looks real.
const MAINTAINER: &str = "pam_totp maintainers <maintainers@pam-totp.invalid>";
/// The install test; the test binary runs it again, by this name, inside the sandbox.
const INSTALL_TEST: &str = "debian_package_installs_works_and_removes";
/// Set (to the sandbox directory) for the test binary that runs inside the sandbox.
const SANDBOX_ENV: &str = "PAM_TOTP_DEB_SANDBOX";
/// The mount source of the sandbox's tmpfs and overlays, to recognise them in mountinfo.
const SANDBOX_SOURCE: &str = "pam_totp-deb-sandbox";
/// Run by `unshare -m` (support/deb_sandbox.sh) with the sandbox directory and the command: a tmpfs on the directory
/// holds an upper and a work directory per tree; each tree of the system that dpkg,
/// maintainer scripts and packaging/install.sh write gets an overlay.
const SANDBOX_SH: &str = include_str!("../support/deb_sandbox.sh");

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(cmd: &mut Command) -> String {
    String::from_utf8_lossy(&run(cmd).stdout).into_owned()
}

/// The Debian multiarch triplet of this machine (x86_64-linux-gnu here).
fn triplet() -> String {
    let tool = tool("dpkg-architecture", "dpkg-dev");
    stdout(Command::new(tool).arg("-qDEB_HOST_MULTIARCH"))
        .trim()
        .to_string()
}

/// PATH with the directory of the cargo running the tests first, for the scripts that call
/// cargo (packaging/build-deb.sh, packaging/install.sh).
fn path_with_cargo() -> std::ffi::OsString {
    let cargo_dir = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .and_then(|c| c.parent().map(Path::to_path_buf));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = cargo_dir.into_iter().chain(std::env::split_paths(&path));
    std::env::join_paths(dirs).expect("join PATH")
}

/// The package: built once per test binary with packaging/build-deb.sh, or `$PAM_TOTP_DEB`.
fn deb() -> &'static Path {
    static DEB: OnceLock<PathBuf> = OnceLock::new();
    DEB.get_or_init(|| {
        if let Ok(deb) = std::env::var("PAM_TOTP_DEB") {
            return PathBuf::from(deb);
        }
        let script = workspace_root().join("packaging/build-deb.sh");
        let out = run(Command::new(&script)
            .current_dir(workspace_root())
            .env("PATH", path_with_cargo())
            .stderr(Stdio::inherit()));
        let text = String::from_utf8_lossy(&out.stdout);
        let deb = PathBuf::from(text.lines().last().unwrap_or_default().trim());
        assert!(
            deb.is_file() && deb.extension().is_some_and(|e| e == "deb"),
            "build-deb.sh printed {text:?}, not the path of a .deb"
        );
        deb
    })
}

/// Every file the package must contain, with its mode as `dpkg-deb --contents` shows it.
fn expected_files(triplet: &str) -> Vec<(String, &'static str)> {
    let mut files = vec![
        (format!("/lib/{triplet}/security/pam_totp.so"), "-rw-r--r--"),
        (
            format!("/lib/{triplet}/security/pam_totp_ldap.so"),
            "-rw-r--r--",
        ),
        ("/usr/bin/totp-enroll".into(), "-rwxr-xr-x"),
        ("/usr/share/man/man8/pam_totp.8.gz".into(), "-rw-r--r--"),
        ("/usr/share/man/man1/totp-enroll.1.gz".into(), "-rw-r--r--"),
        (PROFILE.into(), "-rw-r--r--"),
        (FILTER.into(), "-rw-r--r--"),
        (format!("{DOC}/copyright"), "-rw-r--r--"),
        (format!("{DOC}/changelog.Debian.gz"), "-rw-r--r--"),
        ("/usr/share/lintian/overrides/pam-totp".into(), "-rw-r--r--"),
    ];
    for example in [
        "sshd",
        "sshd-publickey",
        "sudo",
        "openvpn",
        "fail2ban-jail-pam-totp.conf",
        "totp-enroll.toml",
        "ldap/pam_totp.schema",
        "ldap/pam_totp.ldif",
        "ldap/ldap.toml",
    ] {
        files.push((format!("{DOC}/examples/{example}"), "-rw-r--r--"));
    }
    files
}

/// `dpkg-deb --contents`: path (with a leading `/`) -> (mode, owner).
fn contents(deb: &Path) -> HashMap<String, (String, String)> {
    let text = stdout(
        Command::new(tool("dpkg-deb", "dpkg"))
            .arg("--contents")
            .arg(deb),
    );
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let path = f.get(5)?.strip_prefix('.')?;
            Some((path.to_string(), (f[0].to_string(), f[1].to_string())))
        })
        .collect()
}

fn field(deb: &Path, name: &str) -> String {
    stdout(
        Command::new(tool("dpkg-deb", "dpkg"))
            .arg("-f")
            .arg(deb)
            .arg(name),
    )
    .trim()
    .to_string()
}

fn installed() -> bool {
    Command::new(tool("dpkg-query", "dpkg"))
        .args(["-W", "-f", "${db:Status-Abbrev}", PACKAGE])
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).starts_with("ii"))
}

/// The files pam-auth-update manages, to check that installing and removing leave them alone.
fn common_pam_files() -> Vec<(String, String)> {
    [
        "common-auth",
        "common-account",
        "common-password",
        "common-session",
        "common-session-noninteractive",
    ]
    .iter()
    .map(|name| {
        let path = format!("/etc/pam.d/{name}");
        let text = fs::read_to_string(&path).unwrap_or_default();
        (path, text)
    })
    .collect()
}

/// A code one off the right one: certainly wrong.
fn wrong_code(code: &str) -> String {
    let n: u32 = code.parse().expect("numeric code");
    format!("{:06}", (n + 1) % 1_000_000)
}

/// A captured "<priority> <message>" line as syslog would write it to /var/log/auth.log.
fn as_syslog(captured: &str, program: &str) -> String {
    let message = captured.split_once(' ').map(|(_, m)| m).unwrap_or(captured);
    format!("Nov 24 18:35:01 testhost {program}[4242]: {message}")
}

/// The hosts `fail2ban-regex` finds in `line` with the installed filter.
fn fail2ban_hosts(line: &str) -> String {
    let tool = tool("fail2ban-regex", "fail2ban");
    stdout(Command::new(tool).args(["-o", "ip", line, FILTER]))
        .trim()
        .to_string()
}

fn log_line<'a>(log: &'a str, what: &str) -> &'a str {
    log.lines()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no log line with {what:?} in:\n{log}"))
}

fn package_contents_and_control(deb: &Path, triplet: &str) {
    let files = contents(deb);
    for (path, mode) in expected_files(triplet) {
        let (got, owner) = files
            .get(&path)
            .unwrap_or_else(|| panic!("{path} missing from the package: {files:#?}"));
        assert_eq!(got, mode, "mode of {path}");
        assert_eq!(owner, "root/root", "owner of {path}");
    }
    for (path, (mode, owner)) in &files {
        assert_eq!(owner, "root/root", "owner of {path}");
        assert!(
            !mode.contains(['s', 'S'])
                && mode.get(5..6) != Some("w")
                && mode.get(8..9) != Some("w"),
            "{path} has mode {mode}: nothing in the package is setuid or group/other-writable"
        );
    }

    assert_eq!(field(deb, "Package"), PACKAGE);
    let arch = stdout(Command::new("dpkg").arg("--print-architecture"));
    assert_eq!(field(deb, "Architecture"), arch.trim());
    assert_eq!(field(deb, "Section"), "admin");
    assert_eq!(field(deb, "Priority"), "optional");
    assert_eq!(field(deb, "Maintainer"), MAINTAINER);
    let depends = field(deb, "Depends");
    assert!(
        depends.split(", ").any(|d| d.starts_with("libpam0g")),
        "Depends: {depends}"
    );
    let description = field(deb, "Description");
    let mut lines = description.lines();
    let short = lines.next().unwrap_or_default();
    assert!(
        short.contains("PAM") && short.len() <= 80,
        "short description: {short:?}"
    );
    assert!(
        lines.count() >= 3,
        "extended description missing:\n{description}"
    );

    let conffiles = stdout(
        Command::new(tool("dpkg-deb", "dpkg"))
            .arg("--info")
            .arg(deb)
            .arg("conffiles"),
    );
    assert!(
        conffiles.lines().any(|l| l.trim() == FILTER),
        "the fail2ban filter is a conffile: {conffiles:?}"
    );
}

/// The profile is off by default and sits in the Additional block, after pam_unix.
fn profile_text_checks() {
    let profile = fs::read_to_string(PROFILE).expect("read the installed profile");
    let value = |text: &str, key: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}:")))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("{key}: missing in\n{text}"))
    };
    assert_eq!(value(&profile, "Default"), "no", "off by default");
    assert_eq!(value(&profile, "Auth-Type"), "Additional");
    let unix = fs::read_to_string("/usr/share/pam-configs/unix").unwrap_or_default();
    if !unix.is_empty() {
        let ours: i64 = value(&profile, "Priority").parse().expect("Priority");
        let theirs: i64 = value(&unix, "Priority").parse().expect("unix Priority");
        assert!(ours < theirs, "Priority {ours} below pam_unix's {theirs}");
    }
    let auth: Vec<&str> = profile
        .lines()
        .skip_while(|l| !l.starts_with("Auth:"))
        .skip(1)
        .take_while(|l| l.starts_with([' ', '\t']))
        .map(str::trim)
        .collect();
    assert_eq!(auth.len(), 1, "one Auth line: {auth:?}");
    let words: Vec<&str> = auth[0].split_whitespace().collect();
    assert_eq!(words, ["required", "pam_totp.so", "nullok"]);
}

/// A login through the installed module, named `pam_totp.so` in the service file.
fn login_through_installed_module() -> Env {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service("deb-totp", "auth required pam_totp.so secret=@SECRET@\n");
    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());
    let login = env.login("deb-totp", &[&code]);
    assert!(login.ok(), "{login:?}\n{}", env.log());
    assert_eq!(login.prompts(), vec!["Verification code: "]);

    let wrong = env.run(&Run {
        service: "deb-totp",
        answers: &[&wrong_code(&code)],
        extra: &["--rhost", RHOST],
        ..Run::default()
    });
    assert_eq!(wrong.rc, rc::AUTH_ERR, "{wrong:?}");
    let local = env.login("deb-totp", &[&wrong_code(&code)]);
    assert_eq!(local.rc, rc::AUTH_ERR, "{local:?}");

    // store=ldap: the installed pam_totp.so finds the installed pam_totp_ldap.so, whose
    // store reports the (missing) configuration file.
    let config = env.dir.path().join("ldap.toml");
    env.service(
        "deb-ldap",
        &format!(
            "auth required pam_totp.so store=ldap ldap_config={}\n",
            config.display()
        ),
    );
    let ldap = env.login("deb-ldap", &["123456"]);
    assert_eq!(ldap.rc, rc::SERVICE_ERR, "{ldap:?}\n{}", env.log());
    let log = env.log();
    assert!(!log.contains("store=ldap needs pam_totp_ldap.so"), "{log}");
    assert!(
        log.contains(&format!(
            "pam_totp(deb-ldap:auth): configuration error: LDAP configuration {}",
            config.display()
        )),
        "{log}"
    );
    env
}

fn fail2ban_filter_checks(env: &Env) {
    let log = env.log();
    let failure = log_line(&log, &format!("rhost={RHOST} reason="));
    assert!(
        failure.contains("pam_totp(deb-totp:auth): authentication failure; user="),
        "{failure}"
    );
    let line = as_syslog(failure, "sshd");
    assert_eq!(fail2ban_hosts(&line), RHOST, "filter must match {line:?}");
    // The same line from the journal (backend = systemd) has no syslog header.
    let bare = failure.split_once(' ').map(|(_, m)| m).unwrap_or(failure);
    let journal = format!("Nov 24 18:35:01 {bare}");
    assert_eq!(
        fail2ban_hosts(&journal),
        RHOST,
        "filter must match {journal:?}"
    );

    let local = log_line(&log, "rhost= reason=");
    let line = as_syslog(local, "sudo");
    assert_eq!(fail2ban_hosts(&line), "", "no host to ban in {line:?}");
    let success = log_line(&log, "accepted verification code");
    let line = as_syslog(success, "sshd");
    assert_eq!(fail2ban_hosts(&line), "", "success must not match {line:?}");
}

/// A copy of `source` (with modes and owners) under `dir`.
fn copy_dir(source: &str, dir: &Path) -> PathBuf {
    let name = source.trim_start_matches('/').replace('/', "_");
    let target = dir.join(name);
    run(Command::new("cp").arg("-a").arg(source).arg(&target));
    target
}

fn driver_in(
    binds: &[(&Path, &str)],
    user: &str,
    answers: &[&str],
    env: &Env,
) -> (i32, Vec<String>) {
    let mut cmd = in_namespace(binds, &driver_path());
    cmd.args([
        "--confdir",
        "/etc/pam.d",
        "--service",
        "deb-common",
        "--user",
        user,
    ]);
    for a in answers {
        cmd.args(["--answer", a]);
    }
    cmd.env("LD_PRELOAD", env!("SYSLOG_CAPTURE_SO"))
        .env("PAM_TOTP_TEST_SYSLOG", env.dir.path().join("syslog.log"))
        .stdin(Stdio::null());
    let out = cmd.output().expect("run pam-driver");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let rc = text
        .lines()
        .find_map(|l| l.strip_prefix("AUTH ")?.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no AUTH line: {text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let prompts = text
        .lines()
        .filter_map(|l| l.strip_prefix("PROMPT_OFF ").map(str::to_string))
        .collect();
    (rc, prompts)
}

/// pam-auth-update on copies of its state: `--package` (what postinst runs) enables nothing;
/// `--enable pam_totp` puts `auth required pam_totp.so nullok` after pam_unix's block, and the
/// resulting common-auth asks enrolled users for password then code, others for the password;
/// the package's prerm takes it out again.
fn pam_auth_update_in_namespace() {
    let env = Env::new();
    let pam_d = copy_dir("/etc/pam.d", env.dir.path());
    let var_lib_pam = env.dir.path().join("var_lib_pam");
    if Path::new("/var/lib/pam").is_dir() {
        run(Command::new("cp")
            .arg("-a")
            .arg("/var/lib/pam")
            .arg(&var_lib_pam));
    } else {
        fs::create_dir(&var_lib_pam).expect("mkdir");
    }
    let debconf = copy_dir("/var/cache/debconf", env.dir.path());
    let state_binds = [
        (pam_d.as_path(), "/etc/pam.d"),
        (var_lib_pam.as_path(), "/var/lib/pam"),
        (debconf.as_path(), "/var/cache/debconf"),
    ];
    let update = |args: &[&str]| {
        let mut cmd = in_namespace(&state_binds, &tool("pam-auth-update", "libpam-runtime"));
        run(cmd
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null()));
        fs::read_to_string(pam_d.join("common-auth")).expect("read common-auth copy")
    };
    let before = fs::read_to_string(pam_d.join("common-auth")).expect("read common-auth copy");

    let after_package = update(&["--package"]);
    assert!(
        !after_package.contains("pam_totp"),
        "Default: no, yet pam-auth-update --package enabled it:\n{after_package}"
    );

    let enabled = update(&["--enable", "pam_totp"]);
    let lines: Vec<&str> = enabled
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .collect();
    let find = |what: &str| {
        lines
            .iter()
            .position(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what} line in common-auth:\n{enabled}"))
    };
    let totp = find("pam_totp.so");
    assert_eq!(
        lines[totp].split_whitespace().collect::<Vec<_>>(),
        ["auth", "required", "pam_totp.so", "nullok"],
        "{enabled}"
    );
    assert!(
        find("pam_unix.so") < totp && find("pam_permit.so") < totp,
        "{enabled}"
    );
    // The Primary block's jumps are untouched: pam_unix's line is the same as before.
    let unix_line = |text: &str| {
        text.lines()
            .find(|l| l.contains("pam_unix.so") && !l.starts_with('#'))
            .map(str::to_string)
    };
    assert_eq!(unix_line(&enabled), unix_line(&before), "{enabled}");

    // Log in through that common-auth: test users with a known password, bound over
    // /etc/passwd, /etc/shadow and /etc/group in the same private namespace.
    fs::write(pam_d.join("deb-common"), "@include common-auth\n").expect("service file");
    let users = FakeUsers::new(env.dir.path(), 2);
    users.enroll(0, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    let mut binds = users.binds();
    binds.push((pam_d.as_path(), "/etc/pam.d"));
    let (enrolled, plain) = (users.users[0].0.as_str(), users.users[1].0.as_str());
    let password = FakeUsers::PASSWORD;

    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());
    let (rc, prompts) = driver_in(&binds, enrolled, &[password, &code], &env);
    assert_eq!(rc, rc::SUCCESS, "{prompts:?}\n{}", env.log());
    assert_eq!(prompts, ["Password: ", "Verification code: "]);

    let (rc, _) = driver_in(&binds, enrolled, &[password, &wrong_code(&code)], &env);
    assert_eq!(rc, rc::AUTH_ERR, "wrong code\n{}", env.log());

    let (rc, prompts) = driver_in(&binds, enrolled, &["not-the-password", &code], &env);
    assert_ne!(rc, rc::SUCCESS, "wrong password");
    assert_eq!(
        prompts,
        ["Password: "],
        "no code is asked after a wrong password"
    );

    let (rc, prompts) = driver_in(&binds, plain, &[password], &env);
    assert_eq!(
        rc,
        rc::SUCCESS,
        "nullok: not enrolled, password only\n{}",
        env.log()
    );
    assert_eq!(prompts, ["Password: "]);

    // The package's prerm, as "dpkg -r" runs it, takes the enabled profile out again before the
    // module leaves the disk.
    let prerm = Path::new("/var/lib/dpkg/info/pam-totp.prerm");
    run(in_namespace(&state_binds, prerm)
        .arg("remove")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null()));
    let removed = fs::read_to_string(pam_d.join("common-auth")).expect("read common-auth copy");
    assert!(
        !removed.contains("pam_totp"),
        "prerm left pam_totp in:\n{removed}"
    );
    assert_eq!(unix_line(&removed), unix_line(&before), "{removed}");
}

/// True when /usr, /etc and /var are this test's overlays: the process runs in the sandbox.
fn sandboxed() -> bool {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let overlays: BTreeSet<&str> = info
        .lines()
        .filter_map(|line| {
            let (mount, fs) = line.split_once(" - ")?;
            let point = mount.split(' ').nth(4)?;
            let mut fs = fs.split(' ');
            (fs.next()? == "overlay" && fs.next()? == SANDBOX_SOURCE).then_some(point)
        })
        .collect();
    ["/usr", "/etc", "/var"]
        .iter()
        .all(|t| overlays.contains(t))
}

/// Runs the install test again, by name, in a fresh sandbox (see the module documentation).
fn run_in_sandbox(deb: &Path) {
    let dir = tempfile::Builder::new()
        .prefix("pam_totp-deb-sandbox")
        .tempdir()
        .expect("temp dir");
    let exe = std::env::current_exe().expect("the running test binary");
    let out = sh_in_private_namespace(SANDBOX_SH)
        .arg(dir.path())
        .arg(&exe)
        .args([INSTALL_TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(SANDBOX_ENV, dir.path())
        .env("PAM_TOTP_DEB", deb)
        .stdin(Stdio::null())
        .output()
        .expect("run unshare");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the install test in the sandbox failed ({}; 97: a mount failed):\n{stdout}\n{stderr}",
        out.status
    );
}

/// What the host has of pam_totp: each path the package or packaging/install.sh would write
/// (mode and SHA-256, or the entries of a directory, or absent), /etc/pam.d/common-*, and
/// dpkg's record of pam-totp.
fn host_state(triplet: &str) -> Vec<String> {
    let mut paths: Vec<String> = expected_files(triplet)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    paths.extend(
        [
            DOC,
            "/usr/share/doc/pam_totp",
            "/usr/share/doc/pam-totp/examples",
            "/var/lib/dpkg/info/pam-totp.list",
            "/var/lib/dpkg/info/pam-totp.md5sums",
        ]
        .map(String::from),
    );
    paths.extend(common_pam_files().into_iter().map(|(p, _)| p));
    let mut state: Vec<String> = paths
        .iter()
        .map(|path| match fs::symlink_metadata(path) {
            Err(_) => format!("{path}: absent"),
            Ok(m) if m.is_dir() => {
                let mut names: Vec<String> = fs::read_dir(path)
                    .map(|d| {
                        d.filter_map(|e| e.ok())
                            .map(|e| e.file_name().to_string_lossy().into_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                names.sort();
                format!("{path}: directory {names:?}")
            }
            Ok(m) => {
                let hash = Sha256::digest(fs::read(path).unwrap_or_default());
                let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
                format!("{path}: mode {:o}, sha256 {hex}", m.permissions().mode())
            }
        })
        .collect();
    let dpkg = Command::new(tool("dpkg-query", "dpkg"))
        .args(["-W", "-f", "${db:Status-Abbrev} ${Version}", PACKAGE])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    state.push(format!("dpkg-query {PACKAGE}: {dpkg:?}"));
    state
}

/// README command 1 installs with packaging/install.sh. Run it here, in the sandbox: the
/// module, totp-enroll, the man pages and the examples land where it says; then
/// `install.sh --uninstall` takes them away again, so that the package is tested on a system
/// without them (dpkg silently takes over files that no package owns).
fn install_script_round_trip(triplet: &str) {
    let script = workspace_root().join("packaging/install.sh");
    let module = format!("/lib/{triplet}/security/pam_totp.so");
    let ldap_module = format!("/lib/{triplet}/security/pam_totp_ldap.so");
    let files = [
        module.as_str(),
        ldap_module.as_str(),
        "/usr/bin/totp-enroll",
        "/usr/share/man/man8/pam_totp.8.gz",
        "/usr/share/man/man1/totp-enroll.1.gz",
        "/usr/share/doc/pam-totp/examples/sshd",
        "/usr/share/doc/pam-totp/examples/totp-enroll.toml",
        "/usr/share/doc/pam-totp/examples/ldap/pam_totp.schema",
        "/usr/share/doc/pam-totp/examples/ldap/ldap.toml",
    ];
    // As root, with the cargo of these tests: not as the user who ran "sudo tests/run.sh",
    // which is what install.sh does when it sees SUDO_USER.
    let out = run(Command::new(&script)
        .current_dir(workspace_root())
        .env("PATH", path_with_cargo())
        .env_remove("SUDO_USER")
        .stdin(Stdio::null()));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&module), "install.sh output: {said}");
    for path in files {
        assert!(
            Path::new(path).is_file(),
            "install.sh did not install {path}"
        );
    }
    let mode = |p: &str| fs::metadata(p).expect("stat").permissions().mode() & 0o7777;
    assert_eq!(mode(&module), 0o644, "{module}");
    assert_eq!(mode(&ldap_module), 0o644, "{ldap_module}");
    assert_eq!(mode("/usr/bin/totp-enroll"), 0o755, "/usr/bin/totp-enroll");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("target"));
    for (installed, built) in [
        (&module, "libpam_totp.so"),
        (&ldap_module, "libpam_totp_ldap.so"),
    ] {
        assert!(
            fs::read(installed).ok() == fs::read(target.join("release").join(built)).ok(),
            "{installed} is not the {built} of this build"
        );
    }
    run(Command::new(&script)
        .arg("--uninstall")
        .current_dir(workspace_root())
        .stdin(Stdio::null()));
    for path in files.iter().chain(&["/usr/share/doc/pam-totp"]) {
        assert!(
            !Path::new(path).exists(),
            "{path} left after install.sh --uninstall"
        );
    }
}

/// The install test: outside the sandbox it builds the package, checks its contents, runs
/// itself in the sandbox and then checks that the host is as before; inside, it does the work.
#[test]
fn debian_package_installs_works_and_removes() {
    if std::env::var_os(SANDBOX_ENV).is_some() {
        assert!(
            sandboxed(),
            "{SANDBOX_ENV} is set, but /usr, /etc and /var are not this test's overlays: \
             run the test through cargo test without {SANDBOX_ENV}, which sets up the sandbox"
        );
        in_sandbox();
        return;
    }
    pam_totp_tests::needs_root!();
    let triplet = triplet();
    let deb = deb();
    eprintln!("testing {}", deb.display());
    package_contents_and_control(deb, &triplet);
    let before = host_state(&triplet);
    run_in_sandbox(deb);
    assert_eq!(
        host_state(&triplet),
        before,
        "the install test changed the host's pam_totp files or dpkg's record of {PACKAGE}"
    );
}

fn in_sandbox() {
    let triplet = triplet();
    let module = format!("/lib/{triplet}/security/pam_totp.so");
    let deb = deb();
    // A pam-totp package on the host, seen through the overlays: purge it here.
    if installed() {
        run(Command::new("dpkg")
            .args(["--purge", PACKAGE])
            .stdin(Stdio::null()));
    }
    install_script_round_trip(&triplet);
    assert!(
        !Path::new(&module).exists(),
        "{module} exists outside the package after install.sh --uninstall"
    );
    assert!(!installed(), "{PACKAGE} installed before dpkg -i");

    let pam_before = common_pam_files();
    run(Command::new("dpkg").arg("-i").arg(deb).stdin(Stdio::null()));
    assert!(installed(), "dpkg -i did not install {PACKAGE}");
    for (path, _) in expected_files(&triplet) {
        assert!(Path::new(&path).is_file(), "{path} not installed");
    }
    // Every installed file matches its md5sums line.
    let verify = run(Command::new("dpkg")
        .args(["--verify", PACKAGE])
        .stdin(Stdio::null()));
    assert!(
        verify.stdout.is_empty(),
        "dpkg --verify {PACKAGE}: {}",
        String::from_utf8_lossy(&verify.stdout)
    );
    for page in [
        "/usr/share/man/man8/pam_totp.8.gz",
        "/usr/share/man/man1/totp-enroll.1.gz",
    ] {
        let bytes = fs::read(page).expect("read man page");
        assert_eq!(bytes.get(..2), Some(&[0x1f, 0x8b][..]), "{page} is gzip");
    }
    assert_eq!(
        common_pam_files(),
        pam_before,
        "installing (postinst: pam-auth-update --package) must not change /etc/pam.d/common-*"
    );
    let help = stdout(Command::new("/usr/bin/totp-enroll").arg("--help"));
    assert!(help.contains("enroll"), "{help}");

    profile_text_checks();
    let env = login_through_installed_module();
    fail2ban_filter_checks(&env);
    pam_auth_update_in_namespace();

    run(Command::new("dpkg")
        .args(["-r", PACKAGE])
        .stdin(Stdio::null()));
    for (path, _) in expected_files(&triplet) {
        if path == FILTER {
            assert!(
                Path::new(&path).exists(),
                "dpkg -r keeps the conffile {path}"
            );
        } else {
            assert!(!Path::new(&path).exists(), "{path} left after dpkg -r");
        }
    }
    assert_eq!(
        common_pam_files(),
        pam_before,
        "removing must not change /etc/pam.d/common-*"
    );
    let after = env.login("deb-totp", &["123456"]);
    assert!(
        !after.ok(),
        "the module is gone, so the login fails: {after:?}"
    );

    run(Command::new("dpkg")
        .args(["--purge", PACKAGE])
        .stdin(Stdio::null()));
    assert!(!Path::new(FILTER).exists(), "dpkg --purge removes {FILTER}");
}

/// lintian, Debian's package checker, finds no error, warning or info in the package (but for
/// misspellings it reads into machine code), other than those packaging/debian/lintian-overrides
/// overrides, each with a comment that says why (an override that no longer matches is itself
/// reported).
#[test]
fn lintian_finds_nothing() {
    if std::env::var_os(SANDBOX_ENV).is_some() {
        return;
    }
    let overrides = fs::read_to_string(workspace_root().join("packaging/debian/lintian-overrides"))
        .expect("read packaging/debian/lintian-overrides");
    let mut reason = false;
    for line in overrides.lines() {
        if line.starts_with('#') {
            reason = true;
        } else if line.trim().is_empty() {
            reason = false;
        } else {
            assert!(
                reason,
                "lintian override without a comment above it: {line}"
            );
        }
    }

    let deb = deb();
    // lintian leaves a temporary file (mldbm-elf-*) behind: give it a directory of its own.
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = Command::new(tool("lintian", "lintian"))
        .args(["--display-info", "--fail-on", "error,warning"])
        .arg(deb)
        .env("TMPDIR", tmp.path())
        .output()
        .expect("run lintian");
    let text = String::from_utf8_lossy(&out.stdout);
    // One info is left out: spelling-error-in-binary reads machine code too, and a string
    // the compiler inlines as instruction immediates ("unknown " + "user" + an opcode byte
    // read as "userA") comes and goes with code generation. The messages themselves are
    // prose that reviews and tests read.
    let tags: Vec<&str> = text
        .lines()
        .filter(|l| l.len() > 2 && l.as_bytes()[1] == b':')
        .filter(|l| !(l.starts_with("I: ") && l.contains(" spelling-error-in-binary ")))
        .collect();
    assert!(
        out.status.success() && tags.is_empty(),
        "lintian {} ({}):\n{}\n{}",
        deb.display(),
        out.status,
        tags.join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Debian files lintian does not read closely: md5sums that match every file, a changelog
/// dpkg can parse whose entry is this version by this maintainer, and a machine-readable
/// (DEP-5) copyright that licenses the package MIT or Apache-2.0 with both texts at hand and
/// lists the crates linked in.
#[test]
fn debian_copyright_changelog_and_md5sums() {
    if std::env::var_os(SANDBOX_ENV).is_some() {
        return;
    }
    let deb = deb();
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("root");
    let dpkg_deb = tool("dpkg-deb", "dpkg");
    run(Command::new(&dpkg_deb).arg("-x").arg(deb).arg(&root));
    run(Command::new(&dpkg_deb)
        .arg("-e")
        .arg(deb)
        .arg(dir.path().join("control")));

    // md5sums: one line per regular file, each right.
    let md5sums =
        fs::read_to_string(dir.path().join("control/md5sums")).expect("DEBIAN/md5sums missing");
    let listed: BTreeSet<String> = md5sums
        .lines()
        .filter_map(|l| l.split_once("  ").map(|(_, p)| format!("/{p}")))
        .collect();
    let regular: BTreeSet<String> = contents(deb)
        .into_iter()
        .filter(|(_, (mode, _))| mode.starts_with('-'))
        .map(|(path, _)| path)
        .collect();
    assert_eq!(listed, regular, "md5sums lists exactly the package's files");
    run(Command::new("md5sum")
        .args(["--check", "--quiet", "--strict"])
        .arg(dir.path().join("control/md5sums"))
        .current_dir(&root));

    // The changelog, as dpkg-parsechangelog reads it.
    let gz = root.join("usr/share/doc/pam-totp/changelog.Debian.gz");
    let text = stdout(Command::new("gzip").arg("-dc").arg(&gz));
    let changelog = dir.path().join("changelog");
    fs::write(&changelog, &text).expect("write changelog");
    let parse = |what: &str| {
        let tool = tool("dpkg-parsechangelog", "dpkg-dev");
        stdout(
            Command::new(tool)
                .arg("-l")
                .arg(&changelog)
                .args(["-S", what]),
        )
        .trim()
        .to_string()
    };
    assert_eq!(parse("Source"), PACKAGE);
    assert_eq!(parse("Version"), field(deb, "Version"));
    assert_eq!(parse("Maintainer"), MAINTAINER);
    assert_eq!(field(deb, "Maintainer"), MAINTAINER);

    // debian/copyright, DEP-5: paragraphs separated by empty lines.
    let copyright =
        fs::read_to_string(root.join("usr/share/doc/pam-totp/copyright")).expect("copyright");
    let paragraphs: Vec<Vec<(String, String)>> = copyright
        .split("\n\n")
        .map(|p| {
            let mut fields: Vec<(String, String)> = Vec::new();
            for line in p.lines() {
                if let Some(more) = line.strip_prefix(' ') {
                    let (_, value) = fields.last_mut().expect("continuation line first");
                    value.push('\n');
                    value.push_str(if more == "." { "" } else { more });
                } else {
                    let (name, value) = line.split_once(':').expect("Field: value");
                    fields.push((name.to_string(), value.trim().to_string()));
                }
            }
            fields
        })
        .collect();
    let get = |p: &[(String, String)], name: &str| {
        p.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let header = &paragraphs[0];
    assert_eq!(
        get(header, "Format"),
        "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
    );
    assert_eq!(get(header, "Upstream-Name"), "pam_totp");
    let crates: Vec<&str> = copyright
        .lines()
        .filter(|l| l.starts_with(' ') && l.contains(": ") && l.split(' ').count() >= 4)
        .collect();
    for name in ["pam-bindings", "totp-rs", "qr2term", "sha2", "clap"] {
        assert!(
            crates.iter().any(|l| l.starts_with(&format!(" {name} "))),
            "{name} missing from the crates in the copyright file:\n{copyright}"
        );
    }
    let files = paragraphs
        .iter()
        .find(|p| get(p, "Files") == "*")
        .expect("a Files: * paragraph");
    assert_eq!(get(files, "License"), "MIT or Apache-2.0");
    assert!(get(files, "Copyright").contains("pam_totp contributors"));
    let license = |name: &str| {
        paragraphs
            .iter()
            .find(|p| {
                p.first()
                    .is_some_and(|(n, v)| n == "License" && v.starts_with(name))
            })
            .map(|p| get(p, "License"))
            .unwrap_or_else(|| panic!("no stand-alone License: {name} paragraph:\n{copyright}"))
    };
    let mit_text = fs::read_to_string(workspace_root().join("LICENSE-MIT")).expect("LICENSE-MIT");
    assert_eq!(
        license("MIT")
            .strip_prefix("MIT\n")
            .unwrap_or_default()
            .trim(),
        mit_text.trim(),
        "the MIT paragraph is LICENSE-MIT"
    );
    assert!(license("Apache-2.0").contains("/usr/share/common-licenses/Apache-2.0"));
}
