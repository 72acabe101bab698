//! The secret file as the module finds it: modes, owners, symlinks, odd file types, bad
//! contents; the module running as the user himself; root acting in a user's directory.

use pam_totp_tests::*;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Instant;

fn env_with(service_opts: &str) -> Env {
    let env = Env::new();
    env.service(
        "t",
        &format!("auth required @MODULE@ secret=@SECRET@ rate_limit=100/30 {service_opts}\n"),
    );
    env
}

fn refused(env: &Env, why: &str) {
    let code = oathtool(KEY, &[], now());
    let start = Instant::now();
    let login = env.login("t", &[&code]);
    assert_eq!(login.rc, rc::AUTH_ERR, "{why}: {login:?}");
    assert!(
        start.elapsed().as_millis() < 1000,
        "{why}: took {:?}",
        start.elapsed()
    );
    let log = env.log();
    assert!(log.contains("refusing secret file"), "{why}: {log}");
}

#[test]
fn files_other_users_can_access_are_refused() {
    for mode in [0o644, 0o640, 0o604, 0o606, 0o660, 0o602] {
        let env = env_with("");
        env.enroll(KEY, &[]);
        fs::set_permissions(env.secret_path(), fs::Permissions::from_mode(mode)).unwrap();
        refused(&env, &format!("mode {mode:o}"));
        let fix = format!("fix: chmod 600 {}", env.secret_path().display());
        assert!(env.log().contains(&fix), "{}", env.log());
    }
    // 0400 is fine.
    let env = env_with("");
    env.enroll(KEY, &[]);
    fs::set_permissions(env.secret_path(), fs::Permissions::from_mode(0o400)).unwrap();
    assert!(
        env.login("t", &[&oathtool(KEY, &[], now())]).ok(),
        "{}",
        env.log()
    );
    assert_eq!(
        fs::metadata(env.secret_path()).unwrap().mode() & 0o777,
        0o400,
        "mode kept on update"
    );
}

#[test]
fn a_symlinked_file_is_refused() {
    let env = env_with("");
    let real = env.dir.path().join("real.toml");
    write_private(&real, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    symlink(&real, env.secret_path()).unwrap();
    refused(&env, "symlink");
    assert!(env.log().contains("is a symbolic link"), "{}", env.log());
}

#[test]
fn a_symlinked_directory_below_the_base_is_refused() {
    let env = Env::new();
    let real = env.dir.path().join("realdir");
    fs::create_dir(&real).unwrap();
    write_private(
        &real.join("secret.toml"),
        &secret_toml(KEY, "SHA1", 6, 30, &[]),
    );
    symlink(&real, env.dir.path().join(&env.user)).unwrap();
    let template = format!("{}/%u/secret.toml", env.dir.path().display());
    env.service("t", &format!("auth required @MODULE@ secret={template}\n"));
    refused(&env, "symlinked directory");
    // The same layout with a real directory works.
    fs::remove_file(env.dir.path().join(&env.user)).unwrap();
    fs::rename(&real, env.dir.path().join(&env.user)).unwrap();
    assert!(
        env.login("t", &[&oathtool(KEY, &[], now())]).ok(),
        "{}",
        env.log()
    );
}

#[test]
fn fifos_and_directories_are_refused_without_hanging() {
    let env = env_with("");
    nix::unistd::mkfifo(
        &env.secret_path(),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    refused(&env, "fifo");
    assert!(env.log().contains("not a regular file"), "{}", env.log());
    fs::remove_file(env.secret_path()).unwrap();
    fs::create_dir(env.secret_path()).unwrap();
    fs::set_permissions(env.secret_path(), fs::Permissions::from_mode(0o700)).unwrap();
    refused(&env, "directory");
}

#[test]
fn unknown_versions_and_bad_contents_are_refused_with_a_reason() {
    let cases: &[(&str, &str)] = &[
        (
            "version = 4\nsecret = \"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\"\n",
            "format version 4",
        ),
        // Version 3 keeps its keys in [[token]] tables.
        (
            "version = 3\nsecret = \"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\"\n",
            "unknown field `secret`",
        ),
        // Version 2 keeps its login state in slots at the end of the file.
        (
            "version = 2\nsecret = \"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\"\n",
            "has no state delimiter",
        ),
        ("", "no 'version' key"),
        (
            "version = 1\nsecret = \"not base32!\"\n",
            "not valid base32",
        ),
        (
            "version = 1\nsecret = \"JBSWY3DP\"\n",
            "at least 80 are required",
        ),
        (
            "version = 1\nsecret = \"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\"\ndigits = 12\n",
            "must be 6 or 8",
        ),
        (
            "version = 1\nsecret = \"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\"\nperiod = 0\n",
            "bad 'period'",
        ),
        (
            "version = 1\nsecret = \"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\"\nalgorithm = \"MD5\"\n",
            "not a valid pam_totp file",
        ),
        ("\u{0}\u{1}binary", "not a valid pam_totp file"),
        (
            "version = 1\nsecret = \"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\"\nsecret = \"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\"\n",
            "not a valid pam_totp file",
        ),
    ];
    for (text, reason) in cases {
        let env = env_with("nullok");
        env.write_secret(text);
        refused(&env, reason);
        assert!(env.log().contains(reason), "{reason}: {}", env.log());
        assert!(
            !env.log().contains("JBSWY3DP"),
            "secret leaked: {}",
            env.log()
        );
    }
    let env = env_with("");
    fs::write(env.secret_path(), [0xffu8, 0xfe, 0xfd]).unwrap();
    fs::set_permissions(env.secret_path(), fs::Permissions::from_mode(0o600)).unwrap();
    refused(&env, "invalid utf-8");
}

#[test]
fn a_file_owned_by_another_user_is_refused() {
    needs_root!();
    let env = env_with("");
    env.enroll(KEY, &[]);
    nix::unistd::chown(&env.secret_path(), Some(nobody().uid), None).unwrap();
    refused(&env, "owned by nobody");
    assert!(
        env.log().contains("is owned by uid 65534, not by root"),
        "{}",
        env.log()
    );
}

fn nobody() -> nix::unistd::User {
    nix::unistd::User::from_name("nobody")
        .unwrap()
        .expect("user nobody exists")
}

/// A directory owned by `nobody` holding nobody's secret file, reachable by nobody.
fn nobody_setup() -> (Env, std::path::PathBuf) {
    let env = Env::new();
    let n = nobody();
    fs::set_permissions(env.dir.path(), fs::Permissions::from_mode(0o711)).unwrap();
    fs::set_permissions(
        env.dir.path().join("pam.d"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let log = env.dir.path().join("syslog.log");
    fs::write(&log, "").unwrap();
    fs::set_permissions(&log, fs::Permissions::from_mode(0o666)).unwrap();
    let home = env.dir.path().join("nobody-home");
    fs::create_dir(&home).unwrap();
    nix::unistd::chown(&home, Some(n.uid), Some(n.gid)).unwrap();
    fs::set_permissions(&home, fs::Permissions::from_mode(0o700)).unwrap();
    let file = home.join("nobody.toml");
    write_private(&file, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    nix::unistd::chown(&file, Some(n.uid), Some(n.gid)).unwrap();
    env.service(
        "t",
        &format!(
            "auth required @MODULE@ secret={}/%u.toml rate_limit=100/30\n",
            home.display()
        ),
    );
    (env, home)
}

/// Root (or, with `as_nobody`, nobody himself) authenticates nobody with the current code.
fn login_nobody(env: &Env, as_nobody: bool) -> Login {
    let n = nobody();
    env.run(&Run {
        service: "t",
        answers: &[&oathtool(KEY, &[], now())],
        user: Some("nobody"),
        as_ids: as_nobody.then(|| (n.uid.as_raw(), n.gid.as_raw())),
        ..Run::default()
    })
}

fn assert_all_owned_by_nobody(home: &Path) {
    for entry in fs::read_dir(home).unwrap() {
        let entry = entry.unwrap();
        let meta = fs::symlink_metadata(entry.path()).unwrap();
        assert_eq!(
            meta.uid(),
            65534,
            "{} is not owned by nobody",
            entry.path().display()
        );
        assert!(
            !entry.file_name().to_string_lossy().ends_with(".tmp"),
            "temporary file left behind"
        );
    }
}

#[test]
fn works_when_the_caller_is_the_user_himself() {
    needs_root!();
    let (env, home) = nobody_setup();
    wait_for_fresh_step(30);
    let login = login_nobody(&env, true);
    assert!(login.ok(), "{login:?}\n{}", env.log());
    assert_eq!(
        login_nobody(&env, true).rc,
        rc::AUTH_ERR,
        "replay refused for an unprivileged caller too"
    );
    let state = file_state(&home.join("nobody.toml"));
    assert!(state.marks[0].is_some(), "state saved: {state:?}");
    assert_all_owned_by_nobody(&home);
}

#[test]
fn root_updates_a_users_directory_as_that_user() {
    needs_root!();
    let (env, home) = nobody_setup();
    let login = login_nobody(&env, false);
    assert!(login.ok(), "{login:?}\n{}", env.log());
    let meta = fs::metadata(home.join("nobody.toml")).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (65534, 0o600));
    assert_all_owned_by_nobody(&home);
}

/// A read-only file (mode 0400) in a user's directory cannot be written in place by root
/// acting as the user: each update replaces it instead, keeping its mode and owner.
#[test]
fn a_read_only_file_in_a_users_directory_is_replaced_and_stays_read_only() {
    needs_root!();
    let (env, home) = nobody_setup();
    let file = home.join("nobody.toml");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o400)).unwrap();
    wait_for_fresh_step(30);
    for round in 0..2 {
        let before = fs::metadata(&file).unwrap().ino();
        let login = login_nobody(&env, false);
        assert_eq!(login.ok(), round == 0, "{login:?}\n{}", env.log());
        let meta = fs::metadata(&file).unwrap();
        assert_eq!((meta.uid(), meta.mode() & 0o777), (65534, 0o400));
        assert_ne!(
            meta.ino(),
            before,
            "round {round}: replaced, not written in place"
        );
        assert_eq!(file_state(&file).checks.len(), round + 1);
    }
    assert!(env.log().contains("replayed code"), "{}", env.log());
    assert_all_owned_by_nobody(&home);
}

#[test]
fn a_planted_temporary_symlink_is_not_followed() {
    // The CVE-2024-47191 pattern: the user plants a symlink where root will write.
    needs_root!();
    let (env, home) = nobody_setup();
    let precious = env.dir.path().join("precious");
    fs::write(&precious, "root:x:0:0:do not touch\n").unwrap();
    let before = fs::read(&precious).unwrap();
    let planted = home.join("nobody.toml.tmp");
    symlink(&precious, &planted).unwrap();
    nix::unistd::fchownat(
        nix::fcntl::AT_FDCWD,
        &planted,
        Some(nobody().uid),
        Some(nobody().gid),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .unwrap();
    let login = login_nobody(&env, false);
    assert!(login.ok(), "{login:?}\n{}", env.log());
    assert_eq!(
        fs::read(&precious).unwrap(),
        before,
        "symlink target changed"
    );
    assert_eq!(fs::metadata(&precious).unwrap().uid(), 0);
    // The planted link is neither followed nor removed; nothing else is left behind.
    assert_eq!(fs::read_link(&planted).unwrap(), precious);
    fs::remove_file(&planted).unwrap();
    assert_all_owned_by_nobody(&home);
}

#[test]
fn root_does_not_use_its_privileges_in_a_users_directory() {
    needs_root!();
    let (env, home) = nobody_setup();
    let run = || login_nobody(&env, false);
    // A file its owner cannot read is not read by root on his behalf.
    fs::set_permissions(home.join("nobody.toml"), fs::Permissions::from_mode(0o000)).unwrap();
    assert_eq!(run().rc, rc::AUTH_ERR);
    assert!(
        env.log().contains("Permission denied") || env.log().contains("EACCES"),
        "{}",
        env.log()
    );
    fs::set_permissions(home.join("nobody.toml"), fs::Permissions::from_mode(0o600)).unwrap();
    // A directory its owner made read-only is not written by root: the update fails closed.
    fs::set_permissions(&home, fs::Permissions::from_mode(0o500)).unwrap();
    let before = fs::read(home.join("nobody.toml")).unwrap();
    assert_eq!(run().rc, rc::AUTH_ERR);
    assert!(
        env.log().contains("cannot save login state"),
        "{}",
        env.log()
    );
    assert_eq!(fs::read(home.join("nobody.toml")).unwrap(), before);
    fs::set_permissions(&home, fs::Permissions::from_mode(0o700)).unwrap();
    assert!(run().ok(), "{}", env.log());
}

#[test]
fn a_missing_base_directory_fails_closed_even_with_nullok() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service(
        "typo",
        &format!(
            "auth required @MODULE@ secret={}/no-such-dir/%u.toml nullok\nauth required pam_permit.so\n",
            env.dir.path().display()
        ),
    );
    let login = env.login("typo", &["123456"]);
    assert_eq!(login.rc, rc::AUTH_ERR, "{login:?}");
    assert!(
        env.log()
            .contains("does not exist (not mounted, or a wrong secret= path)"),
        "{}",
        env.log()
    );
    // A missing directory below the home is the user's own business: not enrolled.
    let home = env.dir.path().join("home");
    fs::create_dir(&home).unwrap();
    env.service(
        "below",
        &format!(
            "auth required @MODULE@ secret={}/%u/sub/secret.toml nullok\nauth required pam_permit.so\n",
            home.display()
        ),
    );
    fs::create_dir(home.join(&env.user)).unwrap();
    fs::set_permissions(home.join(&env.user), fs::Permissions::from_mode(0o700)).unwrap();
    let login = env.login("below", &[]);
    assert!(
        login.ok() && login.prompts().is_empty(),
        "{login:?}\n{}",
        env.log()
    );
}

#[test]
fn directories_others_can_write_are_refused_unless_sticky() {
    let env = Env::new();
    let shared = env.dir.path().join("shared");
    fs::create_dir(&shared).unwrap();
    write_private(
        &shared.join(format!("{}.toml", env.user)),
        &secret_toml(KEY, "SHA1", 6, 30, &[]),
    );
    env.service(
        "t",
        &format!(
            "auth required @MODULE@ secret={}/%u.toml nullok\n",
            shared.display()
        ),
    );
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(
        env.login("t", &[&oathtool(KEY, &[], now())]).rc,
        rc::AUTH_ERR
    );
    let fix = format!("fix: chmod go-w {}", shared.display());
    assert!(env.log().contains(&fix), "{}", env.log());
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    assert!(
        env.login("t", &[&oathtool(KEY, &[], now())]).ok(),
        "{}",
        env.log()
    );
}

#[test]
fn updates_never_touch_other_files_in_the_directory() {
    // With secret=DIR/%u, user "bob" must not clobber the file of a user named "bob.tmp".
    let env = Env::new();
    env.service(
        "t",
        "auth required @MODULE@ secret=@SECRET@ rate_limit=100/30\n",
    );
    env.enroll(KEY, &[]);
    let neighbour = env.dir.path().join(format!("{}.toml.tmp", env.user));
    write_private(&neighbour, "someone else's file\n");
    assert!(
        env.login("t", &[&oathtool(KEY, &[], now())]).ok(),
        "{}",
        env.log()
    );
    assert_eq!(
        fs::read_to_string(&neighbour).unwrap(),
        "someone else's file\n"
    );
    let names: Vec<String> = fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") && n.starts_with('.'))
        .collect();
    assert!(names.is_empty(), "temporary files left: {names:?}");
}
