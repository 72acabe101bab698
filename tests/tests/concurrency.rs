//! Logins racing on one user's file: one valid code accepted exactly once, and a burst of
//! wrong codes still exhausts the rate limit with every check counted.

use pam_totp_tests::*;
use std::time::Duration;

fn race(processes: usize) {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service(
        "race",
        "auth required @MODULE@ secret=@SECRET@ rate_limit=1000/30\n",
    );
    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());
    let start = start_time(Duration::from_millis(300 + 20 * processes as u64));
    let children: Vec<_> = (0..processes)
        .map(|_| env.spawn("race", &code, start))
        .collect();
    let logins: Vec<Login> = children.into_iter().map(finish).collect();
    let ok = logins.iter().filter(|l| l.ok()).count();
    assert_eq!(
        ok,
        1,
        "{processes} racing logins with one code: {ok} accepted\n{}",
        env.log()
    );
    assert!(logins.iter().all(|l| l.ok() || l.rc == rc::AUTH_ERR));
    let log = env.log();
    assert_eq!(
        log.matches("accepted verification code").count(),
        1,
        "{log}"
    );
    assert_eq!(
        log.matches("reason=replayed code").count(),
        processes - 1,
        "{log}"
    );
    let state = file_state(&env.secret_path());
    assert_eq!(
        state.checks.len(),
        processes,
        "every check recorded: {state:?}"
    );
}

#[test]
fn sixteen_racing_logins_accept_one_code_once() {
    race(16);
}

#[test]
fn sixty_four_racing_logins_accept_one_code_once() {
    race(64);
}

#[test]
fn a_burst_of_wrong_codes_exhausts_the_rate_limit() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service("burst", "auth required @MODULE@ secret=@SECRET@\n");
    let start = start_time(Duration::from_millis(500));
    let children: Vec<_> = (0..16)
        .map(|i| env.spawn("burst", &format!("{:06}", 111_111 * (i % 9)), start))
        .collect();
    let logins: Vec<Login> = children.into_iter().map(finish).collect();
    assert!(logins.iter().all(|l| l.rc == rc::AUTH_ERR), "{logins:?}");
    let log = env.log();
    assert_eq!(
        log.matches("reason=wrong code").count(),
        3,
        "exactly 3 codes checked:\n{log}"
    );
    assert_eq!(
        log.matches("rate limit of 3 checks per 30 s reached")
            .count(),
        13,
        "{log}"
    );
    // The right code is now refused too: the burst was counted durably.
    let code = oathtool(KEY, &[], now());
    assert_eq!(env.login("burst", &[&code]).rc, rc::AUTH_ERR);
}

/// A user with a TOTP token `phone` (KEY) and an HOTP token `fob` (the RFC 4226 key), as a
/// version-3 file.
fn phone_and_fob(env: &Env) {
    env.write_secret(&tokens_toml(
        &[
            TestToken::totp("phone", KEY),
            TestToken::hotp("fob", RFC_SHA1_KEY),
        ],
        &[],
    ));
    env.service(
        "race",
        "auth required @MODULE@ secret=@SECRET@ rate_limit=1000/30\n",
    );
}

#[test]
fn sixteen_racing_logins_accept_one_hotp_code_once() {
    let env = Env::new();
    phone_and_fob(&env);
    let code = oathtool_hotp(RFC_SHA1_KEY, 2, &[]);
    let start = start_time(Duration::from_millis(620));
    let children: Vec<_> = (0..16).map(|_| env.spawn("race", &code, start)).collect();
    let logins: Vec<Login> = children.into_iter().map(finish).collect();
    let ok = logins.iter().filter(|l| l.ok()).count();
    assert_eq!(
        ok,
        1,
        "16 racing logins with one HOTP code: {ok} accepted\n{}",
        env.log()
    );
    assert!(logins.iter().all(|l| l.ok() || l.rc == rc::AUTH_ERR));
    let log = env.log();
    assert_eq!(
        log.matches("accepted verification code").count(),
        1,
        "{log}"
    );
    assert!(log.contains("counter=2 token=fob"), "{log}");
    // An HOTP code at or below the counter is just not one of the next codes.
    assert_eq!(log.matches("reason=wrong code").count(), 15, "{log}");
    let state = file_state(&env.secret_path());
    assert_eq!(state.checks.len(), 16, "every check recorded: {state:?}");
    assert_eq!(state.marks, [None, Some(2)], "{state:?}");
}

#[test]
fn racing_logins_with_codes_of_different_tokens_both_pass() {
    let env = Env::new();
    phone_and_fob(&env);
    wait_for_fresh_step(30);
    let t = now();
    // Three rounds, each a TOTP login and an HOTP login started at the same moment: a login
    // must not overwrite the other token's mark (or lose the other's check) with what it read.
    for round in 0..3u64 {
        let totp = oathtool(KEY, &[], t - 30 + 30 * round);
        let hotp = oathtool_hotp(RFC_SHA1_KEY, round, &[]);
        let start = start_time(Duration::from_millis(300));
        let a = env.spawn("race", &totp, start);
        let b = env.spawn("race", &hotp, start);
        let (a, b) = (finish(a), finish(b));
        assert!(
            a.ok() && b.ok(),
            "round {round}: TOTP {} HOTP {}\n{}",
            a.rc,
            b.rc,
            env.log()
        );
        let state = file_state(&env.secret_path());
        assert_eq!(
            state.marks,
            [Some(t / 30 - 1 + round), Some(round)],
            "round {round}: {state:?}"
        );
        assert_eq!(state.checks.len() as u64, 2 * (round + 1), "{state:?}");
    }
    let log = env.log();
    assert_eq!(log.matches("token=phone").count(), 3, "{log}");
    assert_eq!(log.matches("token=fob").count(), 3, "{log}");
}

/// Unmounts a test mount when dropped.
struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn racing_on_a_filesystem_with_coarse_timestamps() {
    // On ramfs two updates within one timer tick get equal timestamps; the module must still
    // read the state under the lock instead of trusting what it read before the prompt.
    needs_root!();
    for _ in 0..3 {
        let env = Env::new();
        let ram = env.dir.path().join("ram");
        std::fs::create_dir(&ram).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "ramfs", "ramfs"])
            .arg(&ram)
            .status()
            .expect("mount");
        assert!(status.success(), "mount -t ramfs failed");
        let _mount = Mount(ram.clone());
        std::fs::set_permissions(&ram, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let file = ram.join(format!("{}.toml", env.user));
        write_private(&file, &secret_toml(KEY, "SHA1", 6, 30, &[]));
        env.service(
            "race",
            &format!(
                "auth required @MODULE@ secret={}/%u.toml rate_limit=1000/30\n",
                ram.display()
            ),
        );
        wait_for_fresh_step(30);
        let code = oathtool(KEY, &[], now());
        let start = start_time(Duration::from_millis(1500));
        let children: Vec<_> = (0..64).map(|_| env.spawn("race", &code, start)).collect();
        let ok = children.into_iter().map(finish).filter(Login::ok).count();
        assert_eq!(
            ok,
            1,
            "one code accepted {ok} times on ramfs\n{}",
            env.log()
        );
    }
}
