//! Real home directories: the default `~/.pam_totp.toml` template with root acting for users
//! (setfsuid), symlinks planted in a home, root enrolling a user with totp-enroll, and 200
//! users logging in at once. The users exist only inside a private mount namespace (a fake
//! /etc/passwd bound over the real one), so these tests need root.

use pam_totp_tests::*;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const DEFAULT: &str = "auth required @MODULE@ rate_limit=100/30\n";

fn login_as(env: &Env, users: &FakeUsers, i: usize, answer: &str) -> Login {
    env.run(&Run {
        service: "home",
        answers: &[answer],
        user: Some(&users.users[i].0),
        passwd: Some(&users.passwd),
        ..Run::default()
    })
}

/// Every entry in `home` belongs to `uid`, and no temporary file is left.
fn home_is_clean(home: &Path, uid: u32) {
    for entry in fs::read_dir(home).unwrap() {
        let entry = entry.unwrap();
        let meta = fs::symlink_metadata(entry.path()).unwrap();
        assert_eq!(
            meta.uid(),
            uid,
            "{} is not the user's",
            entry.path().display()
        );
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            !name.ends_with(".tmp"),
            "temporary file {name} left in the home"
        );
    }
}

#[test]
fn the_default_template_works_in_a_real_home() {
    needs_root!();
    let env = Env::new();
    let users = FakeUsers::new(env.dir.path(), 1);
    env.service("home", DEFAULT);
    let file = users.enroll(0, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    let login = login_as(&env, &users, 0, &oathtool(KEY, &[], now()));
    assert!(login.ok(), "{login:?}\n{}", env.log());
    let meta = fs::metadata(&file).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (40_000, 0o600));
    assert!(file_state(&file).marks[0].is_some());
    home_is_clean(&users.users[0].2, 40_000);
}

#[test]
fn symlinks_planted_in_a_home_are_refused() {
    needs_root!();
    let env = Env::new();
    let users = FakeUsers::new(env.dir.path(), 1);
    let home = users.users[0].2.clone();
    // Root's file that the user would like the module to read or overwrite.
    let precious = env.dir.path().join("shadow-like");
    write_private(&precious, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    let before = fs::read(&precious).unwrap();
    symlink(&precious, home.join(".pam_totp.toml")).unwrap();
    env.service("home", DEFAULT);
    let login = login_as(&env, &users, 0, &oathtool(KEY, &[], now()));
    assert_eq!(login.rc, rc::AUTH_ERR, "{login:?}");
    assert!(env.log().contains("is a symbolic link"), "{}", env.log());
    assert_eq!(fs::read(&precious).unwrap(), before);

    // A symlinked directory below the home is refused too.
    let real = env.dir.path().join("elsewhere");
    fs::create_dir(&real).unwrap();
    symlink(&real, home.join(".config")).unwrap();
    env.service(
        "home",
        "auth required @MODULE@ secret=~/.config/pam_totp.toml\n",
    );
    let login = login_as(&env, &users, 0, &oathtool(KEY, &[], now()));
    assert_eq!(login.rc, rc::AUTH_ERR, "{login:?}");
}

#[test]
fn root_enrolls_a_user_in_his_home_with_totp_enroll() {
    needs_root!();
    let env = Env::new();
    let users = FakeUsers::new(env.dir.path(), 1);
    let (name, uid, home) = users.users[0].clone();
    wait_for_fresh_step(30);
    let mut child = in_namespace_with_passwd(&users.passwd, &enroll_path())
        .args(["--user", &name, "enroll", "--secret", KEY, "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let code = oathtool(KEY, &[], now());
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{code}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta = fs::metadata(home.join(".pam_totp.toml")).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (uid, 0o600));
    home_is_clean(&home, uid);
    // The user logs in with the phone's next code.
    env.service("home", DEFAULT);
    let login = login_as(&env, &users, 0, &oathtool(KEY, &[], now() + 30));
    assert!(login.ok(), "{login:?}\n{}", env.log());
}

#[test]
fn two_hundred_users_log_in_at_once() {
    needs_root!();
    let env = Env::new();
    let users = FakeUsers::new(env.dir.path(), 200);
    env.service("home", DEFAULT);
    let files: Vec<_> = (0..200)
        .map(|i| users.enroll(i, &secret_toml(KEY, "SHA1", 6, 30, &[])))
        .collect();
    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());
    let start = start_time(Duration::from_millis(3000));
    let at = start.to_string();
    let children: Vec<_> = (0..200)
        .map(|i| {
            env.command(&Run {
                service: "home",
                answers: &[&code],
                extra: &["--start-at", &at],
                user: Some(&users.users[i].0),
                passwd: Some(&users.passwd),
                ..Run::default()
            })
            .spawn()
            .expect("spawn")
        })
        .collect();
    let logins: Vec<Login> = children.into_iter().map(finish).collect();
    let ok = logins.iter().filter(|l| l.ok()).count();
    assert_eq!(ok, 200, "{}", env.log());
    for (i, file) in files.iter().enumerate() {
        let state = file_state(file);
        assert_eq!(state.checks.len(), 1, "user {i}: one check recorded");
        assert!(state.marks[0].is_some(), "user {i}: {state:?}");
        assert_eq!(fs::metadata(file).unwrap().uid(), 40_000 + i as u32);
    }
}
