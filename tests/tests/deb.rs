//! The Debian package pam-totp (packaging/build-deb.sh, cargo-deb): what it contains and with
//! which modes, `dpkg -i`, a login through the installed module named `pam_totp.so` in a service
//! file, the fail2ban filter on lines the module really logged, the pam-auth-update profile (off
//! by default; once enabled, after pam_unix in common-auth), and `dpkg -r` / `dpkg -P`.
//!
//! Installs into the real system, so it needs root. The machine's /etc/pam.d is never edited:
//! the package's own postinst and prerm run `pam-auth-update --package` (which must leave
//! /etc/pam.d/common-* as they were, the profile being `Default: no`), and enabling the profile
//! happens on copies of /etc/pam.d, /var/lib/pam and /var/cache/debconf bound over the real ones
//! in a private mount namespace.
//!
//! `PAM_TOTP_DEB=path.deb` tests a package built beforehand instead of running build-deb.sh.

use pam_totp_tests::*;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const PACKAGE: &str = "pam-totp";
const FILTER: &str = "/etc/fail2ban/filter.d/pam-totp.conf";
const PROFILE: &str = "/usr/share/pam-configs/pam_totp";
const RHOST: &str = "192.0.2.7";

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

/// Builds the package with packaging/build-deb.sh (or takes `$PAM_TOTP_DEB`).
fn build_deb() -> PathBuf {
    if let Ok(deb) = std::env::var("PAM_TOTP_DEB") {
        return PathBuf::from(deb);
    }
    let script = workspace_root().join("packaging/build-deb.sh");
    let out = run(Command::new(&script)
        .current_dir(workspace_root())
        .stderr(Stdio::inherit()));
    let text = String::from_utf8_lossy(&out.stdout);
    let deb = PathBuf::from(text.lines().last().unwrap_or_default().trim());
    assert!(
        deb.is_file() && deb.extension().is_some_and(|e| e == "deb"),
        "build-deb.sh printed {text:?}, not the path of a .deb"
    );
    deb
}

/// Every file the package must contain, with its mode as `dpkg-deb --contents` shows it.
fn expected_files(triplet: &str) -> Vec<(String, &'static str)> {
    let mut files = vec![
        (format!("/lib/{triplet}/security/pam_totp.so"), "-rw-r--r--"),
        ("/usr/bin/totp-enroll".into(), "-rwxr-xr-x"),
        ("/usr/share/man/man8/pam_totp.8.gz".into(), "-rw-r--r--"),
        ("/usr/share/man/man1/totp-enroll.1.gz".into(), "-rw-r--r--"),
        (PROFILE.into(), "-rw-r--r--"),
        (FILTER.into(), "-rw-r--r--"),
    ];
    for example in [
        "sshd",
        "sshd-publickey",
        "sudo",
        "openvpn",
        "fail2ban-jail-pam-totp.conf",
        "totp-enroll.toml",
    ] {
        files.push((
            format!("/usr/share/doc/pam-totp/examples/{example}"),
            "-rw-r--r--",
        ));
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

/// Purges the package when the test ends, also when it fails half way.
struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        let out = Command::new("dpkg").args(["--purge", PACKAGE]).output();
        if let Ok(out) = out {
            if !out.status.success() {
                eprintln!(
                    "dpkg --purge {PACKAGE} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
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
    assert!(field(deb, "Maintainer").contains('@'), "Maintainer");
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

#[test]
fn debian_package_installs_works_and_removes() {
    if !pam_totp_tests::needs_root("debian_package_installs_works_and_removes") {
        return;
    }
    let triplet = triplet();
    let module = format!("/lib/{triplet}/security/pam_totp.so");
    assert!(
        !installed(),
        "{PACKAGE} is already installed: this test installs and purges it (dpkg -P {PACKAGE} first)"
    );
    assert!(
        !Path::new(&module).exists(),
        "{module} exists outside the package (packaging/install.sh?): run packaging/install.sh --uninstall first"
    );

    let deb = build_deb();
    eprintln!("testing {}", deb.display());
    package_contents_and_control(&deb, &triplet);

    let pam_before = common_pam_files();
    let _purge = Purge;
    run(Command::new("dpkg")
        .arg("-i")
        .arg(&deb)
        .stdin(Stdio::null()));
    assert!(installed(), "dpkg -i did not install {PACKAGE}");
    for (path, _) in expected_files(&triplet) {
        assert!(Path::new(&path).is_file(), "{path} not installed");
    }
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
