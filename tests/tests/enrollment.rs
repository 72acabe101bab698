//! The whole user journey with the real binaries: totp-enroll makes the file, pam_totp.so
//! accepts the phone's code (from oathtool) and a recovery code, regenerated recovery codes
//! replace the old ones, and remove turns the second factor off.

use pam_totp_tests::*;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Stdio};

fn enroll_cli(env: &Env, args: &[&str], stdin: &str) -> (i32, String, String) {
    enroll_cli_with(env, args, stdin, &[])
}

/// [`enroll_cli`] with extra environment variables (e.g. an LD_PRELOAD shim).
fn enroll_cli_with(
    env: &Env,
    args: &[&str],
    stdin: &str,
    vars: &[(&str, &std::ffi::OsStr)],
) -> (i32, String, String) {
    let mut child = Command::new(enroll_path())
        .arg("--secret-file")
        .arg(env.template())
        .args(args)
        .envs(vars.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run totp-enroll");
    // totp-enroll may refuse and exit before it reads the code (a file exists): then the
    // write meets a closed pipe, which is not the test's concern.
    let written = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    if let Err(e) = written {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "write the code: {e}"
        );
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The recovery codes of a JSON answer, without a JSON parser: the strings in the array.
fn recovery_codes(json: &str) -> Vec<String> {
    let start = json.find("\"recovery_codes\"").expect("recovery_codes key");
    let list = &json[start..];
    let list = &list[list.find('[').unwrap() + 1..list.find(']').unwrap()];
    list.split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .collect()
}

#[test]
fn enroll_then_log_in_with_the_phone_and_a_recovery_code() {
    let env = Env::new();
    env.service("totp", "auth required @MODULE@ secret=@SECRET@ nullok window=2 rate_limit=100/30\nauth required pam_permit.so\n");
    wait_for_fresh_step(30);
    let first = oathtool(KEY, &[], now());
    let (code, out, err) = enroll_cli(
        &env,
        &["enroll", "--secret", KEY, "--json"],
        &format!("{first}\n"),
    );
    assert_eq!(code, 0, "{err}");
    let codes = recovery_codes(&out);
    assert!(codes.len() >= 10, "{out}");

    // The code used at enrollment cannot be replayed at login.
    assert_eq!(
        env.login("totp", &[&first]).rc,
        rc::AUTH_ERR,
        "{}",
        env.log()
    );

    // New recovery codes (the user proves himself with the next code) replace the old set.
    // totp-enroll applies the default 3/30 throttle to the same checks as logins.
    let proof = oathtool(KEY, &[], now() + 30);
    let (code, out, err) = enroll_cli(&env, &["recovery-codes", "--json"], &format!("{proof}\n"));
    assert_eq!(code, 0, "{err}");
    let fresh = recovery_codes(&out);
    assert_eq!(fresh.len(), codes.len());
    assert_eq!(
        env.login("totp", &[&codes[0]]).rc,
        rc::AUTH_ERR,
        "old recovery code still works"
    );
    // A new recovery code works once.
    assert!(env.login("totp", &[&fresh[0]]).ok(), "{}", env.log());
    assert_eq!(env.login("totp", &[&fresh[0]]).rc, rc::AUTH_ERR);
    // The phone's next code works (window=2 reaches two steps ahead).
    assert!(
        env.login("totp", &[&oathtool(KEY, &[], now() + 60)]).ok(),
        "{}",
        env.log()
    );

    // remove: the user is no longer asked (nullok) and gets in through the rest of the stack.
    let (code, _, err) = enroll_cli(&env, &["remove"], "");
    assert_eq!(code, 0, "{err}");
    let login = env.login("totp", &[]);
    assert!(login.ok() && login.prompts().is_empty(), "{login:?}");
}

#[test]
fn a_wrong_first_code_leaves_no_file_and_no_login() {
    let env = Env::new();
    env.service("totp", "auth required @MODULE@ secret=@SECRET@\n");
    let (code, _, _) = enroll_cli(&env, &["enroll", "--secret", KEY, "--json"], "000000\n");
    assert_eq!(code, 1);
    assert!(!env.secret_path().exists());
    assert_eq!(
        env.login("totp", &[&oathtool(KEY, &[], now())]).rc,
        rc::AUTH_ERR
    );
}

#[test]
fn import_a_file_made_by_google_authenticator() {
    let env = Env::new();
    let ga = env.dir.path().join("google_authenticator");
    let out = Command::new(tool("google-authenticator", "libpam-google-authenticator"))
        .args([
            "-t", "-d", "-f", "-r", "3", "-R", "30", "-w", "3", "-Q", "NONE", "-q", "-s",
        ])
        .arg(&ga)
        .env("HOME", env.dir.path())
        .output()
        .expect("run google-authenticator");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&ga).unwrap();
    let secret = text.lines().next().unwrap().to_string();
    let scratch: Vec<&str> = text
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with('"'))
        .collect();
    assert_eq!(scratch.len(), 5, "{text}");

    let (code, out, err) = enroll_cli(
        &env,
        &["import-google-authenticator", ga.to_str().unwrap()],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    // Debian 12's tool makes 128-bit keys: no notice about a short key.
    assert!(!out.contains("-bit key"), "{out}");
    env.service(
        "totp",
        "auth required @MODULE@ secret=@SECRET@ rate_limit=100/30\n",
    );
    // The phone keeps working: the same secret gives the same codes.
    assert!(
        env.login("totp", &[&oathtool(&secret, &[], now())]).ok(),
        "{}",
        env.log()
    );
    // Scratch codes became single-use recovery codes.
    assert!(env.login("totp", &[scratch[0]]).ok(), "{}", env.log());
    assert_eq!(env.login("totp", &[scratch[0]]).rc, rc::AUTH_ERR);
    let stored = std::fs::read_to_string(env.secret_path()).unwrap();
    for s in &scratch {
        assert!(!stored.contains(s), "scratch code {s} stored in plain text");
    }
}

/// google-authenticator's own test key: 80 bits, as older versions of its tool made them.
const KEY80: &str = "2SH3V3GDW7ZNMGYE";

#[test]
fn an_80_bit_key_from_an_older_google_authenticator_is_imported_and_logs_in() {
    let env = Env::new();
    let ga = env.dir.path().join("google_authenticator");
    // As those versions wrote the file: key, options, then the scratch codes; mode 0400.
    write_private(
        &ga,
        &format!(
            "{KEY80}\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 17\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n\
             42131985\n73810344\n06692815\n57236460\n91835122\n"
        ),
    );
    std::fs::set_permissions(&ga, std::fs::Permissions::from_mode(0o400)).unwrap();
    let (code, out, err) = enroll_cli(
        &env,
        &["import-google-authenticator", ga.to_str().unwrap()],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    // One line says that a new enrollment would give a longer key, and how.
    let notices: Vec<&str> = out.lines().filter(|l| l.contains("80 bits")).collect();
    assert_eq!(notices.len(), 1, "{out}");
    assert!(
        notices[0].contains("160-bit key") && notices[0].contains("totp-enroll enroll --force"),
        "{out}"
    );
    assert!(out.contains("5 scratch code(s)"), "{out}");

    // The module reads the 80-bit key, and the phone's codes (oathtool's) log in.
    env.service(
        "totp",
        "auth required @MODULE@ secret=@SECRET@ window=8 rate_limit=100/30\n",
    );
    wait_for_fresh_step(30);
    assert!(
        env.login("totp", &[&oathtool(KEY80, &[], now())]).ok(),
        "{}",
        env.log()
    );
    // A replay does not; a scratch code works once.
    assert_eq!(
        env.login("totp", &[&oathtool(KEY80, &[], now())]).rc,
        rc::AUTH_ERR
    );
    assert!(env.login("totp", &["73810344"]).ok(), "{}", env.log());
    assert_eq!(env.login("totp", &["73810344"]).rc, rc::AUTH_ERR);
    // The file keeps the key as it was: the phone's entry stays valid.
    let stored = std::fs::read_to_string(env.secret_path()).unwrap();
    assert!(
        stored.contains(&format!("secret = \"{KEY80}\"")),
        "{stored}"
    );
}

/// Environment variables that make totp-enroll's renameat2(RENAME_NOREPLACE) fail with EINVAL
/// as on NFS (tests/support/renameat2_einval.c), logging each refused call to `log`.
fn nfs_like(log: &std::path::Path) -> Vec<(&'static str, &std::ffi::OsStr)> {
    vec![
        ("LD_PRELOAD", env!("RENAMEAT2_EINVAL_SO").as_ref()),
        ("RENAMEAT2_SHIM_LOG", log.as_os_str()),
    ]
}

/// Names in `env`'s directory that look like temporary secret files.
fn temporary_files(env: &Env) -> Vec<String> {
    std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

#[test]
fn enrollment_works_where_rename_noreplace_is_not_supported() {
    let env = Env::new();
    let log = env.dir.path().join("renameat2.log");
    wait_for_fresh_step(30);
    let (code, out, err) = enroll_cli_with(
        &env,
        &["enroll", "--secret", KEY, "--json"],
        &format!("{}\n", oathtool(KEY, &[], now())),
        &nfs_like(&log),
    );
    assert_eq!(code, 0, "{out}{err}");
    // The shim was loaded and refused the call: the file got into place another way.
    let refused = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(refused.lines().count(), 1, "{refused:?}");
    let meta = std::fs::metadata(env.secret_path()).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.nlink(), 1, "the temporary name is gone");
    assert!(
        temporary_files(&env).is_empty(),
        "{:?}",
        temporary_files(&env)
    );
    // A valid secret file: the module accepts the phone's next code from it.
    env.service(
        "totp",
        "auth required @MODULE@ secret=@SECRET@ window=2 rate_limit=100/30\n",
    );
    assert!(
        env.login("totp", &[&oathtool(KEY, &[], now() + 30)]).ok(),
        "{}",
        env.log()
    );
}

#[test]
fn without_rename_noreplace_an_existing_file_is_never_replaced() {
    let env = Env::new();
    let log = env.dir.path().join("renameat2.log");
    // A file that is there before: refused without --force, untouched.
    env.enroll(RFC_SHA1_KEY, &[]);
    let before = std::fs::read_to_string(env.secret_path()).unwrap();
    let (code, out, err) = enroll_cli_with(
        &env,
        &["enroll", "--secret", KEY, "--json"],
        &format!("{}\n", oathtool(KEY, &[], now())),
        &nfs_like(&log),
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(env.secret_path()).unwrap(), before);

    // A file that appears between the check and the write (a concurrent enrollment, made by
    // the shim just before it refuses renameat2): the fallback link fails with EEXIST and the
    // other enrollment stays as it is.
    std::fs::remove_file(env.secret_path()).unwrap();
    let mut vars = nfs_like(&log);
    vars.push(("RENAMEAT2_SHIM_RACE", "1".as_ref()));
    wait_for_fresh_step(30);
    let (code, out, err) = enroll_cli_with(
        &env,
        &["enroll", "--secret", KEY, "--json"],
        &format!("{}\n", oathtool(KEY, &[], now())),
        &vars,
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("already exists") && err.contains(env.secret_path().to_str().unwrap()),
        "{err}"
    );
    assert!(out.is_empty(), "no recovery codes are shown: {out}");
    assert_eq!(
        std::fs::read_to_string(env.secret_path()).unwrap(),
        "raced\n"
    );
    assert!(
        temporary_files(&env).is_empty(),
        "{:?}",
        temporary_files(&env)
    );
    let refused = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(refused.lines().count(), 1, "{refused:?}");
}
