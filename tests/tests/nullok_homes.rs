//! `nullok` during a rollout locks nobody out, and never waves an enrolled user through:
//! users without a file pass whatever state their home is in (group-writable, another
//! owner's, not created yet, relative, not UTF-8), a file that exists in an untrusted place is
//! still refused, and a home whose names cannot be read yet (fscrypt locked, eCryptfs not
//! mounted) is refused with a pointer to `secret=/var/lib/pam_totp/%u.toml`. The fscrypt test
//! uses Debian's fscrypt on a loop-mounted ext4 image with the `encrypt` feature. The users
//! exist only inside private mount namespaces, so these tests need root.

use pam_totp_tests::*;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::PathBuf;
use std::process::Command;

/// nullok, then a module that lets the stack succeed: PAM_IGNORE passes, a refusal fails.
const ROLLOUT: &str =
    "auth required @MODULE@ nullok rate_limit=100/30\nauth required pam_permit.so\n";

/// Replaces user `name`'s home in the fake passwd file by `home` (raw bytes allowed).
fn set_home(users: &FakeUsers, name: &str, home: &[u8]) {
    let text = fs::read(&users.passwd).unwrap();
    let mut out = Vec::new();
    for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let fields: Vec<&[u8]> = line.split(|b| *b == b':').collect();
        if fields.first() == Some(&name.as_bytes()) {
            let mut f = fields.clone();
            f[5] = home;
            out.extend_from_slice(&f.join(&b':'));
        } else {
            out.extend_from_slice(line);
        }
        out.push(b'\n');
    }
    fs::write(&users.passwd, out).unwrap();
}

fn login(env: &Env, users: &FakeUsers, i: usize, service: &str, answer: &str) -> Login {
    env.run(&Run {
        service,
        answers: &[answer],
        user: Some(&users.users[i].0),
        passwd: Some(&users.passwd),
        ..Run::default()
    })
}

#[test]
fn nullok_lets_unenrolled_users_through_whatever_their_home() {
    needs_root!();
    let env = Env::new();
    let users = FakeUsers::new(env.dir.path(), 6);
    let home = |i: usize| users.users[i].2.clone();
    // 0: group-writable home. 1: home owned by another uid. 2: home not created yet
    // (pam_mkhomedir makes it at session time). 3: relative home. 4: home not UTF-8.
    fs::set_permissions(home(0), fs::Permissions::from_mode(0o775)).unwrap();
    nix::unistd::chown(&home(1), Some(nix::unistd::Uid::from_raw(12345)), None).unwrap();
    fs::set_permissions(home(1), fs::Permissions::from_mode(0o755)).unwrap();
    fs::remove_dir_all(home(2)).unwrap();
    set_home(&users, "pamtest3", b"relative/home");
    let mut latin1 = home(4).into_os_string().into_vec();
    latin1.extend_from_slice(b"-caf\xe9");
    fs::create_dir(OsStr::from_bytes(&latin1)).unwrap();
    fs::write(
        PathBuf::from(OsStr::from_bytes(&latin1)).join(".profile"),
        "#\n",
    )
    .unwrap();
    nix::unistd::chown(
        OsStr::from_bytes(&latin1),
        Some(nix::unistd::Uid::from_raw(40_004)),
        Some(nix::unistd::Gid::from_raw(40_004)),
    )
    .unwrap();
    set_home(&users, "pamtest4", &latin1);

    // The default template (in the home) and a template in an administrator's directory that
    // never uses the home.
    let state = env.dir.path().join("state");
    fs::create_dir(&state).unwrap();
    env.service("home", ROLLOUT);
    env.service(
        "varlib",
        &ROLLOUT.replace(
            "nullok",
            &format!("nullok secret={}/%u.toml", state.display()),
        ),
    );
    for service in ["home", "varlib"] {
        for i in 0..5 {
            let l = login(&env, &users, i, service, "123456");
            assert!(
                l.ok(),
                "{service}: pamtest{i} (not enrolled) was refused: {l:?}\n{}",
                env.log()
            );
            assert!(l.prompts().is_empty(), "{service}: pamtest{i}: {l:?}");
        }
    }
    assert!(!env.log().contains("refusing"), "{}", env.log());

    // A file that exists in the group-writable home is still refused, even with nullok.
    let file = users.enroll(0, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    let l = login(&env, &users, 0, "home", &oathtool(KEY, &[], now()));
    assert_eq!(l.rc, rc::AUTH_ERR, "{l:?}");
    assert!(
        env.log().contains("is writable by group or others"),
        "{}",
        env.log()
    );
    fs::remove_file(file).unwrap();
    // So is one in the home of another owner.
    fs::write(home(1).join(".pam_totp.toml"), "planted").unwrap();
    let l = login(&env, &users, 1, "home", "123456");
    assert_eq!(l.rc, rc::AUTH_ERR, "{l:?}");
    assert!(
        env.log().contains("neither root nor pamtest1"),
        "{}",
        env.log()
    );

    // And an enrolled user with a home that is not UTF-8 logs in with the code.
    let file = PathBuf::from(OsStr::from_bytes(&latin1)).join(".pam_totp.toml");
    write_private(&file, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    nix::unistd::chown(&file, Some(nix::unistd::Uid::from_raw(40_004)), None).unwrap();
    let l = login(&env, &users, 4, "home", &oathtool(KEY, &[], now()));
    assert!(l.ok(), "{l:?}\n{}", env.log());
    assert!(!l.prompts().is_empty());
}

#[test]
fn an_unmounted_ecryptfs_home_is_refused_not_waved_through() {
    needs_root!();
    // Before the session mounts it, an eCryptfs home is the lower directory that
    // ecryptfs-setup-private leaves: links to .ecryptfs and .Private, no user files.
    let env = Env::new();
    let users = FakeUsers::new(env.dir.path(), 1);
    let home = users.users[0].2.clone();
    symlink("/home/.ecryptfs/pamtest0/.ecryptfs", home.join(".ecryptfs")).unwrap();
    symlink("/home/.ecryptfs/pamtest0/.Private", home.join(".Private")).unwrap();
    env.service("home", ROLLOUT);
    let l = login(&env, &users, 0, "home", "123456");
    assert_eq!(l.rc, rc::AUTH_ERR, "{l:?}");
    let log = env.log();
    assert!(
        log.contains("an eCryptfs home that is not mounted"),
        "{log}"
    );
    assert!(log.contains("secret=/var/lib/pam_totp/%u.toml"), "{log}");
}

#[test]
fn a_home_that_may_be_mounted_later_is_refused() {
    needs_root!();
    let env = Env::new();
    let users = FakeUsers::new(env.dir.path(), 3);
    env.service("home", ROLLOUT);
    // 0: an empty home, the mount point of a file system the session mounts (pam_mount).
    fs::remove_file(users.users[0].2.join(".profile")).unwrap();
    let l = login(&env, &users, 0, "home", "123456");
    assert_eq!(l.rc, rc::AUTH_ERR, "{l:?}");
    assert!(env.log().contains("is empty"), "{}", env.log());
    // 1: a missing home below a mount point of /etc/fstab that is not mounted.
    let unmounted = env.dir.path().join("nfs-homes");
    fs::create_dir(&unmounted).unwrap();
    let home = unmounted.join("pamtest1");
    set_home(&users, "pamtest1", home.as_os_str().as_bytes());
    let fstab = env.dir.path().join("fstab");
    fs::write(
        &fstab,
        format!(
            "# test\nserver:/homes {} nfs defaults 0 0\n",
            unmounted.display()
        ),
    )
    .unwrap();
    let l = env.run(&Run {
        service: "home",
        answers: &["123456"],
        user: Some("pamtest1"),
        passwd: Some(&users.passwd),
        binds: &[(fstab.as_path(), "/etc/fstab")],
        ..Run::default()
    });
    assert_eq!(l.rc, rc::AUTH_ERR, "{l:?}");
    assert!(
        env.log()
            .contains("(a mount point in /etc/fstab) is not mounted"),
        "{}",
        env.log()
    );
    // 2: "Private directory only" eCryptfs (real .ecryptfs and .Private directories, no
    // encrypted home): an ordinary home, not enrolled.
    let home = users.users[2].2.clone();
    fs::create_dir(home.join(".ecryptfs")).unwrap();
    fs::create_dir(home.join(".Private")).unwrap();
    let l = login(&env, &users, 2, "home", "123456");
    assert!(l.ok(), "{l:?}\n{}", env.log());
}

/// Quotes `word` for sh.
fn sh_quote(word: &OsStr) -> String {
    format!("'{}'", word.to_string_lossy().replace('\'', "'\\''"))
}

/// The sh script of [`a_locked_fscrypt_home_is_refused_not_waved_through`].
const FSCRYPT_HOME_SH: &str = include_str!("../support/fscrypt_home.sh");

/// `cmd` as one sh command line (environment, program, arguments).
fn sh_line(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), sh_quote(v?))))
        .collect();
    parts.push(sh_quote(cmd.get_program()));
    parts.extend(cmd.get_args().map(sh_quote));
    parts.join(" ")
}

#[test]
fn a_locked_fscrypt_home_is_refused_not_waved_through() {
    needs_root!();
    let fscrypt = tool("fscrypt", "fscrypt");
    let mkfs = tool("mkfs.ext4", "e2fsprogs");
    let env = Env::new();
    let users = FakeUsers::new(env.dir.path(), 1);
    let dir = env.dir.path();
    let mnt = dir.join("mnt");
    let home = mnt.join("pamtest0");
    set_home(&users, "pamtest0", home.as_os_str().as_bytes());
    let secret = dir.join("secret.toml");
    write_private(&secret, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    env.service("home", ROLLOUT);
    wait_for_fresh_step(30);
    let t = now();
    let driver = |code: &str| {
        // The namespace below binds the passwd file itself: run the driver directly.
        let mut cmd = env.command(&Run {
            service: "home",
            answers: &[code],
            user: Some("pamtest0"),
            ..Run::default()
        });
        cmd.env_remove("PATH");
        sh_line(&cmd)
    };
    // Everything runs in a private mount namespace (see the script): nothing outside changes.
    let out = sh_in_private_namespace(FSCRYPT_HOME_SH)
        .arg(dir)
        .arg(&users.passwd)
        .arg(&users.group)
        .arg(&mkfs)
        .arg(&fscrypt)
        .arg(&home)
        .arg(&secret)
        .arg(driver(&oathtool(KEY, &[], t)))
        .arg(driver(&oathtool(KEY, &[], t + 30)))
        .arg(driver("123456"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let step = |name: &str| -> i32 {
        let after = stdout
            .split(&format!("STEP {name}\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("no step {name}: {stdout}\n{stderr}"));
        after
            .lines()
            .find_map(|l| l.strip_prefix("AUTH ").and_then(|v| v.parse().ok()))
            .unwrap_or_else(|| panic!("no result for {name}: {stdout}\n{stderr}"))
    };
    let log = env.log();
    // Locked: the name cannot be looked up; nullok must not turn that into "not enrolled".
    assert_eq!(step("locked"), rc::AUTH_ERR, "{stdout}\n{log}");
    assert!(
        log.contains("is encrypted with fscrypt and locked"),
        "{log}"
    );
    assert!(log.contains("secret=/var/lib/pam_totp/%u.toml"), "{log}");
    // Unlocked: the enrolled user logs in with the code.
    assert_eq!(step("unlocked"), rc::SUCCESS, "{stdout}\n{log}");
    assert!(
        log.contains("accepted verification code; user=pamtest0"),
        "{log}"
    );
    // Unlocked and no file: not enrolled, nullok lets the stack decide.
    assert_eq!(step("not-enrolled"), rc::SUCCESS, "{stdout}\n{log}");
}
