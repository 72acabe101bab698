//! Faults: logins killed at any point of an update, a full disk, a read-only file system, a
//! huge file. The file is always the old or the new state, never torn; failures are logged
//! and fail closed.

use pam_totp_tests::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A mount made for a test, unmounted (lazily) when dropped.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Mount {
        fs::create_dir_all(dir).unwrap();
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .status()
            .expect("mount");
        assert!(status.success(), "mount tmpfs failed");
        Mount(dir.to_path_buf())
    }

    fn remount(&self, options: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .status()
            .expect("mount");
        assert!(status.success(), "remount {options} failed");
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A fresh environment whose secret file lives on a small tmpfs.
fn on_tmpfs(size: &str) -> (Env, Mount, PathBuf) {
    let env = Env::new();
    let dir = env.dir.path().join("fs");
    let mount = Mount::tmpfs(&dir, size);
    let file = dir.join(format!("{}.toml", env.user));
    write_private(&file, &secret_toml(KEY, "SHA1", 6, 30, &["abcde-fghjk"]));
    env.service(
        "t",
        &format!(
            "auth required @MODULE@ secret={}/%u.toml rate_limit=1000/30\n",
            dir.display()
        ),
    );
    (env, mount, file)
}

#[test]
fn a_full_disk_fails_closed_and_is_logged() {
    needs_root!();
    let (env, _mount, file) = on_tmpfs("64k");
    let before = fs::read(&file).unwrap();
    // Fill the file system.
    let filler = file.with_file_name("filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=4k", "count=64"])
        .arg(format!("of={}", filler.display()))
        .output();
    let code = oathtool(KEY, &[], now());
    let login = env.login("t", &[&code]);
    assert_eq!(
        login.rc,
        rc::AUTH_ERR,
        "a code must not be accepted when it cannot be recorded"
    );
    let log = env.log();
    assert!(
        log.contains("cannot save login state") && log.contains("No space left on device"),
        "{log}"
    );
    assert_eq!(fs::read(&file).unwrap(), before, "the file is unchanged");
    // Space again: the same code works (it was never recorded as used).
    fs::remove_file(&filler).unwrap();
    assert!(env.login("t", &[&code]).ok(), "{}", env.log());
}

#[test]
fn a_read_only_file_system_fails_closed_and_is_logged() {
    needs_root!();
    let (env, mount, file) = on_tmpfs("1m");
    let before = fs::read(&file).unwrap();
    mount.remount("ro");
    let login = env.login("t", &[&oathtool(KEY, &[], now())]);
    assert_eq!(login.rc, rc::AUTH_ERR);
    assert!(env.log().contains("Read-only file system"), "{}", env.log());
    assert_eq!(fs::read(&file).unwrap(), before);
    assert_eq!(
        env.login("t", &["abcde-fghjk"]).rc,
        rc::AUTH_ERR,
        "recovery codes too"
    );
    mount.remount("rw");
    assert!(env.login("t", &["abcde-fghjk"]).ok(), "{}", env.log());
}

#[test]
fn logins_killed_mid_update_never_tear_the_file() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service(
        "t",
        "auth required @MODULE@ secret=@SECRET@ rate_limit=1000/30\n",
    );
    let code = oathtool(KEY, &[], now());
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut killed = 0;
    for round in 0..150u64 {
        if Instant::now() > deadline {
            break;
        }
        // Several logins at once, killed after a varying delay (0 to ~6 ms).
        let children: Vec<_> = (0..4)
            .map(|i| {
                let answer = if i == 0 {
                    code.clone()
                } else {
                    "000000".to_string()
                };
                env.command(&Run {
                    service: "t",
                    answers: &[&answer],
                    ..Run::default()
                })
                .spawn()
                .unwrap()
            })
            .collect();
        std::thread::sleep(Duration::from_micros((round * 397) % 6000));
        for mut c in children {
            if c.try_wait().unwrap().is_none() {
                let _ = c.kill();
                killed += 1;
            }
            let _ = c.wait();
        }
        let text = fs::read_to_string(env.secret_path()).expect("the file is always there");
        assert!(
            text.starts_with("# pam_totp secret file") || text.starts_with("version = 1"),
            "round {round}: torn file:\n{text}"
        );
        assert!(
            text.contains("secret = \"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\""),
            "round {round}:\n{text}"
        );
        // Parses whole, with a valid state (the last one made durable, or a newer one).
        let state = file_state(&env.secret_path());
        assert!(
            state.marks[0].is_none_or(|s| s <= now() / 30 + 1),
            "round {round}: {state:?}"
        );
    }
    assert!(
        killed > 20,
        "only {killed} logins were killed while running"
    );
    // The state still works: a fresh code is accepted, the used one refused.
    let next = oathtool(KEY, &[], now() + 30);
    assert!(env.login("t", &[&next]).ok(), "{}", env.log());
    assert_eq!(env.login("t", &[&next]).rc, rc::AUTH_ERR);
    // Killed updates may leave a temporary file (never read); none is ever a torn secret file.
    for entry in fs::read_dir(env.dir.path()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !name.ends_with(".toml") || name == format!("{}.toml", env.user),
            "{name}"
        );
    }
}

#[test]
fn a_huge_file_is_refused_quickly() {
    let env = Env::new();
    env.service("t", "auth required @MODULE@ secret=@SECRET@\n");
    let mut text = secret_toml(KEY, "SHA1", 6, 30, &[]);
    text.push_str(&format!("# {}\n", "x".repeat(50 * 1024 * 1024)));
    env.write_secret(&text);
    fs::set_permissions(env.secret_path(), fs::Permissions::from_mode(0o600)).unwrap();
    let start = Instant::now();
    let login = env.login("t", &[&oathtool(KEY, &[], now())]);
    assert_eq!(login.rc, rc::AUTH_ERR);
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "took {:?}",
        start.elapsed()
    );
    assert!(
        env.log().contains("larger than 65536 bytes"),
        "{}",
        env.log()
    );
}

/// A login killed while writing its login state (half the slot written, or zeroes) loses
/// nothing that an earlier login made durable, and accepts nothing twice: a code accepted
/// before the crash is still refused, the rate-limit checks recorded before it still count,
/// and the code of the killed login (never answered) works once afterwards.
#[test]
fn a_login_killed_mid_state_write_loses_nothing_and_accepts_nothing_twice() {
    for mode in ["cut", "zero"] {
        let env = Env::new();
        env.enroll(KEY, &[]);
        env.service(
            "t",
            "auth required @MODULE@ secret=@SECRET@ rate_limit=4/60\n",
        );
        wait_for_fresh_step(30);
        let t = now();
        // A wrong code moves the file to version 2 (state in slots); then a code accepted.
        assert_eq!(env.login("t", &["000000"]).rc, rc::AUTH_ERR);
        let accepted = oathtool(KEY, &[], t - 30);
        assert!(env.login("t", &[&accepted]).ok(), "{}", env.log());
        let durable = file_state(&env.secret_path());
        assert_eq!(durable.checks.len(), 2, "{durable:?}");

        // The next login is killed in the middle of its state write.
        let next = oathtool(KEY, &[], t);
        let shim_log = env.dir.path().join("torn.log");
        let mut cmd = env.command(&Run {
            service: "t",
            answers: &[&next],
            ..Run::default()
        });
        cmd.env(
            "LD_PRELOAD",
            format!("{}:{}", env!("SYSLOG_CAPTURE_SO"), env!("TORN_WRITE_SO")),
        )
        .env("TORN_WRITE", mode)
        .env("TORN_WRITE_LOG", &shim_log);
        let out = cmd.output().unwrap();
        assert!(!out.status.success(), "{mode}: the login was killed");
        let torn = fs::read_to_string(&shim_log).unwrap_or_default();
        assert!(
            torn.starts_with(&format!("torn {mode} ")),
            "{mode}: shim not hit: {torn:?}"
        );
        assert_eq!(
            env.log().matches("accepted verification code").count(),
            1,
            "{mode}: the killed login said nothing: {}",
            env.log()
        );

        // The torn slot is ignored: the state is the last durable one.
        assert_eq!(file_state(&env.secret_path()), durable, "{mode}");
        assert_eq!(
            env.login("t", &[&accepted]).rc,
            rc::AUTH_ERR,
            "{mode}: the code accepted before the crash is still used"
        );
        assert!(env.log().contains("replayed code"), "{}", env.log());
        // Three checks counted now (two before the crash, one replay): one more is allowed.
        assert!(env.login("t", &[&next]).ok(), "{mode}: {}", env.log());
        let limited = env.login("t", &[&next]);
        assert_eq!(limited.rc, rc::AUTH_ERR, "{mode}");
        assert!(
            env.log()
                .contains("rate limit of 4 checks per 60 s reached"),
            "{mode}: the checks from before the crash still count: {}",
            env.log()
        );
    }
}

/// The same on a version-3 file (a TOTP and an HOTP token), one case: a login killed while
/// writing its state slot loses neither token's mark nor the recorded checks, and neither
/// token's used code passes again.
#[test]
fn a_login_killed_mid_state_write_on_a_version_3_file_loses_nothing() {
    let env = Env::new();
    env.write_secret(&tokens_toml(
        &[
            TestToken::totp("phone", KEY),
            TestToken::hotp("fob", RFC_SHA1_KEY),
        ],
        &[],
    ));
    env.service(
        "t",
        "auth required @MODULE@ secret=@SECRET@ rate_limit=6/60\n",
    );
    wait_for_fresh_step(30);
    let t = now();
    let totp = oathtool(KEY, &[], t);
    let hotp = oathtool_hotp(RFC_SHA1_KEY, 0, &[]);
    assert!(env.login("t", &[&totp]).ok(), "{}", env.log());
    assert!(env.login("t", &[&hotp]).ok(), "{}", env.log());
    let durable = file_state(&env.secret_path());
    assert_eq!(durable.marks, [Some(t / 30), Some(0)], "{durable:?}");
    assert_eq!(durable.checks.len(), 2, "{durable:?}");

    // The next login (the HOTP token's next code) is killed in the middle of its state write.
    let next = oathtool_hotp(RFC_SHA1_KEY, 1, &[]);
    let shim_log = env.dir.path().join("torn.log");
    let mut cmd = env.command(&Run {
        service: "t",
        answers: &[&next],
        ..Run::default()
    });
    cmd.env(
        "LD_PRELOAD",
        format!("{}:{}", env!("SYSLOG_CAPTURE_SO"), env!("TORN_WRITE_SO")),
    )
    .env("TORN_WRITE", "cut")
    .env("TORN_WRITE_LOG", &shim_log);
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "the login was killed");
    let torn = fs::read_to_string(&shim_log).unwrap_or_default();
    assert!(torn.starts_with("torn cut "), "shim not hit: {torn:?}");
    assert_eq!(
        env.log().matches("accepted verification code").count(),
        2,
        "the killed login said nothing: {}",
        env.log()
    );

    // The torn slot is ignored: the state is the last durable one, still version 3.
    assert_eq!(file_state(&env.secret_path()), durable);
    let text = fs::read_to_string(env.secret_path()).unwrap();
    assert!(text.contains("\nversion = 3\n"), "{text}");
    // Codes accepted before the crash stay used (checks 3 and 4).
    assert_eq!(env.login("t", &[&totp]).rc, rc::AUTH_ERR, "TOTP replay");
    assert_eq!(env.login("t", &[&hotp]).rc, rc::AUTH_ERR, "HOTP replay");
    // The killed login's code was never recorded: it works once (check 5), then not (6).
    assert!(env.login("t", &[&next]).ok(), "{}", env.log());
    assert_eq!(env.login("t", &[&next]).rc, rc::AUTH_ERR, "used now");
    assert_eq!(file_state(&env.secret_path()).marks[1], Some(1));
    // The checks from before the crash still count: a seventh is refused unchecked.
    assert_eq!(env.login("t", &[&next]).rc, rc::AUTH_ERR);
    assert!(
        env.log()
            .contains("rate limit of 6 checks per 60 s reached"),
        "the checks from before the crash still count: {}",
        env.log()
    );
}

/// A state slot whose sequence number cannot grow (u64::MAX: only by editing the file) does
/// not freeze the state: the update replaces the file, and the accepted code is then refused.
#[test]
fn a_sequence_number_at_its_maximum_does_not_freeze_the_state() {
    use pam_totp_core::secret_file::SecretFile;
    use pam_totp_core::state_slots;
    let env = Env::new();
    let file = SecretFile::parse(secret_toml(KEY, "SHA1", 6, 30, &[]).as_bytes()).unwrap();
    let mut bytes = file.to_toml().unwrap().as_bytes().to_vec();
    let (_, offset, slot_len) = state_slots::split(&bytes).unwrap();
    let slot = state_slots::encode(&file.state, u64::MAX, slot_len).unwrap();
    bytes[offset..offset + slot_len].copy_from_slice(&slot);
    env.write_secret(std::str::from_utf8(&bytes).unwrap());
    env.service("t", "auth required @MODULE@ secret=@SECRET@\n");
    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());
    assert!(env.login("t", &[&code]).ok(), "{}", env.log());
    assert!(file_state(&env.secret_path()).marks[0].is_some());
    assert_eq!(env.login("t", &[&code]).rc, rc::AUTH_ERR, "replay refused");
}
