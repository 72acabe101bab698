//! `enroll`, `status`, `recovery-codes`, `remove` and usage errors, through the real binary.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn enroll_from_stdin_writes_a_private_file_and_json() {
    let env = Env::new();
    let v = enroll_json(&env, RFC_SHA1_KEY);
    let obj = v.as_object().expect("object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["otpauth_uri", "recovery_codes", "secret"]);
    assert_eq!(v["secret"], RFC_SHA1_KEY);
    let uri = v["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(
        uri.contains(&format!("?secret={RFC_SHA1_KEY}&issuer=")),
        "{uri}"
    );
    assert!(
        !uri.contains("algorithm=") && !uri.contains("digits=") && !uri.contains("period="),
        "{uri}"
    );
    let codes: Vec<&str> = v["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 10);
    assert!(
        codes.iter().all(|c| c.len() == 11 && &c[5..6] == "-"),
        "{codes:?}"
    );

    let meta = std::fs::metadata(env.file()).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let text = env.text();
    assert!(text.contains(RFC_SHA1_KEY));
    assert!(text.contains("created = "));
    assert_eq!(stored_hashes(&text).len(), 10);
    for c in &codes {
        assert!(!text.contains(c), "recovery codes are stored hashed only");
    }
    // The first code's step is kept (no replay at the next login), the checks are not.
    let state = file_state(&env.file());
    assert!(state.marks[0].is_some(), "{state:?}");
    assert!(state.checks.is_empty(), "{state:?}");
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn enroll_with_other_parameters() {
    let env = Env::new();
    wait_for_fresh_step(60);
    let code = format!(
        "{}\n",
        oathtool(KEY, &["--totp=sha256", "-d", "8", "-s", "60"], now())
    );
    let out = env.run(
        &[
            "enroll",
            "--secret",
            KEY,
            "--algorithm",
            "SHA256",
            "--digits",
            "8",
            "--period",
            "60",
            "--json",
            "--issuer",
            "ACME VPN",
            "--label",
            "bob",
        ],
        &code,
    );
    assert_exit(&out, 0);
    let v = json(&out);
    let uri = v["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/ACME%20VPN:bob?"), "{uri}");
    assert!(
        uri.ends_with("&issuer=ACME%20VPN&algorithm=SHA256&digits=8&period=60"),
        "{uri}"
    );
    let st = json(&env.run(&["status", "--json"], ""));
    assert_eq!(st["algorithm"], "SHA256");
    assert_eq!(st["digits"], 8);
    assert_eq!(st["period"], 60);
}

#[test]
fn wrong_code_writes_nothing() {
    let env = Env::new();
    let right = code(RFC_SHA1_KEY);
    let wrong = if right.trim() == "000000" {
        "111111\n"
    } else {
        "000000\n"
    };
    let out = env.run(&["enroll", "--secret", RFC_SHA1_KEY, "--json"], wrong);
    assert_exit(&out, 1);
    assert!(
        stdout(&out).is_empty(),
        "nothing on stdout: {}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains("wrong code") && err.contains(env.file().to_str().unwrap()),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(env.dir.path()).unwrap().count(),
        0,
        "no file, no temporary file"
    );
    // No code at all (stdin closed) fails the same way.
    let out = env.run(&["enroll", "--secret", RFC_SHA1_KEY, "--no-qr"], "");
    assert_exit(&out, 1);
    assert!(!env.file().exists());
}

#[test]
fn existing_enrollment_needs_force() {
    let env = Env::new();
    enroll_json(&env, RFC_SHA1_KEY);
    let before = env.text();
    let out = env.run(&["enroll", "--secret", KEY, "--json"], &code(KEY));
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("--force") && err.contains(env.file().to_str().unwrap()),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
    assert_eq!(env.text(), before, "the old enrollment is untouched");

    let out = env.run(
        &["enroll", "--secret", KEY, "--json", "--force"],
        &code(KEY),
    );
    assert_exit(&out, 0);
    let after = env.text();
    assert!(after.contains(KEY) && !after.contains(RFC_SHA1_KEY));
    assert_eq!(
        std::fs::metadata(env.file()).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn a_corrupt_file_can_be_replaced_with_force_and_removed() {
    let env = Env::new();
    let corrupt = "version = 1\nsecret = 3\n";
    std::fs::write(env.file(), corrupt).unwrap();
    std::fs::set_permissions(env.file(), std::fs::Permissions::from_mode(0o600)).unwrap();
    // Without --force: refused before anything is shown.
    let out = env.run(&["enroll", "--secret", RFC_SHA1_KEY, "--no-qr"], "123456\n");
    assert_exit(&out, 1);
    assert!(stdout(&out).is_empty(), "nothing shown before refusing");
    // With --force: replaced.
    let out = env.run(
        &["enroll", "--secret", RFC_SHA1_KEY, "--force", "--json"],
        &code(RFC_SHA1_KEY),
    );
    assert_exit(&out, 0);
    assert!(env.text().contains(RFC_SHA1_KEY));
    // remove works on a corrupt file too (root's recovery path).
    std::fs::write(env.file(), corrupt).unwrap();
    let out = env.run(&["remove"], "");
    assert_exit(&out, 0);
    assert!(!env.file().exists());
}

#[test]
fn a_file_with_a_bad_mode_is_not_replaced_or_removed() {
    let env = Env::new();
    std::fs::write(env.file(), "version = 1\nsecret = 3\n").unwrap();
    std::fs::set_permissions(env.file(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(
        &["enroll", "--secret", RFC_SHA1_KEY, "--force", "--no-qr"],
        &code(RFC_SHA1_KEY),
    );
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("rm -- ") && err.contains(env.file().to_str().unwrap()),
        "{err}"
    );
    let out = env.run(&["remove"], "");
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
    assert!(env.file().exists());
}

/// Run as root, `--force` and `remove` with a mistaken (or malicious) `--secret-file` must not
/// replace or delete some other root-only 0600 file: only a pam_totp secret file, even a
/// corrupt one (see a_corrupt_file_can_be_replaced_with_force_and_removed), is touched.
#[test]
fn a_file_that_is_not_a_secret_file_is_never_replaced_or_removed() {
    use std::os::unix::fs::MetadataExt;
    let env = Env::new();
    // %u, so that the template is one the module would accept too.
    let template = format!("{}/%u", env.dir.path().display());
    let user = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name;
    let victim = env.dir.path().join(&user);
    for text in [
        "root:$y$j9T$salt$hash:20000:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\n",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n",
        "version = 1\n",
        "",
    ] {
        std::fs::write(&victim, text).unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
        if is_root() {
            assert_eq!(std::fs::metadata(&victim).unwrap().uid(), 0, "root's file");
        }
        let inode = std::fs::metadata(&victim).unwrap().ino();
        let out = run_with(
            &[
                "--secret-file",
                &template,
                "enroll",
                "--secret",
                RFC_SHA1_KEY,
                "--force",
                "--no-qr",
            ],
            &code(RFC_SHA1_KEY),
            |_| {},
        );
        assert_exit(&out, 1);
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "{} is not a pam_totp secret file",
                victim.display()
            )) && err.contains(&format!("rm -- {}", victim.display())),
            "{err}"
        );
        assert!(stdout(&out).is_empty(), "no key is shown: {}", stdout(&out));
        let out = run_with(&["--secret-file", &template, "remove"], "", |_| {});
        assert_exit(&out, 1);
        assert!(stderr(&out).contains("not removing it"), "{}", stderr(&out));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), text, "unchanged");
        assert_eq!(
            std::fs::metadata(&victim).unwrap().ino(),
            inode,
            "same file"
        );
    }
}

#[test]
fn status_reports_enrollment_and_counts() {
    let env = Env::new();
    let out = env.run(&["status", "--json"], "");
    assert_exit(&out, 0);
    let v = json(&out);
    assert_eq!(v["enrolled"], false);
    assert!(v["recovery_codes_left"].is_null());
    let out = env.run(&["status"], "");
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("not enrolled"), "{}", stdout(&out));

    enroll_json(&env, RFC_SHA1_KEY);
    let v = json(&env.run(&["status", "--json"], ""));
    assert_eq!(v["enrolled"], true);
    assert_eq!(v["algorithm"], "SHA1");
    assert_eq!(v["digits"], 6);
    assert_eq!(v["period"], 30);
    assert_eq!(v["recovery_codes_left"], 10);
    assert!(
        v["created"].as_str().is_some_and(|c| c.ends_with('Z')),
        "{v}"
    );

    // A file others can read is reported with the fix.
    std::fs::set_permissions(env.file(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(&["status", "--json"], "");
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
}

#[test]
fn recovery_codes_are_replaced() {
    let env = Env::new();
    let first = enroll_json(&env, RFC_SHA1_KEY);
    let old_codes: Vec<String> = first["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let old_hashes = stored_hashes(&env.text());

    // A wrong code changes nothing but the throttle state.
    let out = env.run(&["recovery-codes", "--json"], "000000\n");
    assert_exit(&out, 1);
    assert!(stdout(&out).is_empty());
    assert_eq!(stored_hashes(&env.text()), old_hashes);

    // One of the old recovery codes proves possession; a new set replaces the old.
    let out = env.run(
        &["recovery-codes", "--json"],
        &format!("{}\n", old_codes[0]),
    );
    assert_exit(&out, 0);
    let v = json(&out);
    let new_codes = v["recovery_codes"].as_array().unwrap();
    assert_eq!(new_codes.len(), 10);
    let new_hashes = stored_hashes(&env.text());
    assert_eq!(new_hashes.len(), 10);
    assert!(
        new_hashes.iter().all(|h| !old_hashes.contains(h)),
        "old hashes are gone"
    );

    // The old codes no longer match anything stored; the new ones do.
    let file = pam_totp_core::secret_file::SecretFile::parse(env.text().as_bytes()).unwrap();
    assert_eq!(
        pam_totp_core::recovery::find(&file.recovery, &old_codes[1]),
        None
    );
    assert_eq!(
        pam_totp_core::recovery::find(&file.recovery, new_codes[3].as_str().unwrap()),
        Some(3)
    );

    // A TOTP code works as proof too (the next step's: this step's was used at enrollment).
    // This is the third check in 30 s, the most the default throttle allows.
    let out = env.run(&["recovery-codes"], &next_code(RFC_SHA1_KEY));
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("not shown again") && text.contains("no longer work"),
        "{text}"
    );
    assert_eq!(
        json(&env.run(&["status", "--json"], ""))["recovery_codes_left"],
        10
    );
    // A fourth check inside 30 s is throttled without looking at the code.
    let out = env.run(&["recovery-codes"], &format!("{}\n", old_codes[2]));
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("too many"), "{}", stderr(&out));
}

#[test]
fn recovery_codes_need_an_enrollment() {
    let env = Env::new();
    let out = env.run(&["recovery-codes"], "123456\n");
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("not enrolled"), "{}", stderr(&out));
}

#[test]
fn remove_deletes_the_file() {
    let env = Env::new();
    enroll_json(&env, RFC_SHA1_KEY);
    let out = env.run(&["remove"], "");
    assert_exit(&out, 0);
    assert!(!env.file().exists());
    assert_eq!(std::fs::read_dir(env.dir.path()).unwrap().count(), 0);
    assert_eq!(json(&env.run(&["status", "--json"], ""))["enrolled"], false);
    // Removing again is not an error.
    let out = env.run(&["remove"], "");
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("nothing to remove"));
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    for args in [
        &["enroll", "--digits", "7"][..],
        &["enroll", "--period", "0"],
        &["enroll", "--algorithm", "MD5"],
        &["enroll", "--secret", "2SH3V3GDW7ZNMGYE"],
        &["enroll", "--secret", "not base32!"],
        &["frobnicate"],
        &["--bogus"],
        &["remove", "--force"],
        &["status", "extra"],
    ] {
        let out = env.run(args, "");
        assert_exit(&out, 2);
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
    assert!(!env.file().exists());
}

#[test]
fn help_has_examples_and_exits_0() {
    let out = run_with(&["--help"], "", |_| {});
    assert_exit(&out, 0);
    let text = stdout(&out);
    let commands = [
        "enroll",
        "status",
        "recovery-codes",
        "remove",
        "import-google-authenticator",
    ];
    for cmd in commands.iter().chain(&["Examples:"]) {
        assert!(text.contains(cmd), "{cmd} missing from --help");
    }
    for cmd in commands {
        let out = run_with(&[cmd, "--help"], "", |_| {});
        assert_exit(&out, 0);
        assert!(
            stdout(&out).contains("Examples:"),
            "{cmd} --help has no examples"
        );
    }
}

#[test]
fn bad_secret_file_template_is_refused() {
    let out = run_with(&["--secret-file", "relative/%u", "status"], "", |_| {});
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("--secret-file"), "{}", stderr(&out));
}

/// A directory below the base that does not exist: `enroll` names that directory (not the
/// file) and says to make it; `status` and `remove` find nobody enrolled.
#[test]
fn a_missing_directory_is_named_not_the_file() {
    let env = Env::new();
    let user = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name;
    let dir = env.dir.path().join(&user);
    let file = dir.join("secret.toml");
    let template = format!("{}/%u/secret.toml", env.dir.path().display());
    let run = |args: &[&str]| {
        let mut full = vec!["--secret-file", template.as_str()];
        full.extend_from_slice(args);
        run_with(&full, "", |_| {})
    };
    let out = run(&["enroll", "--secret", RFC_SHA1_KEY]);
    assert_exit(&out, 1);
    let (err, file) = (stderr(&out), file.display().to_string());
    let want = format!("directory {} does not exist; create it", dir.display());
    assert!(err.contains(&want) && !err.contains(&file), "{err}");
    let out = run(&["status"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("not enrolled"), "{}", stdout(&out));
    let out = run(&["remove"]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("nothing to remove"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.exists());
}

#[test]
fn other_users_need_root() {
    use std::os::unix::process::CommandExt;
    if is_root() {
        let out = run_with(&["--user", "root", "status"], "", |c| {
            c.uid(65534).gid(65534);
        });
        assert_exit(&out, 1);
        assert!(stderr(&out).contains("only root"), "{}", stderr(&out));
    } else {
        // Not root already: asking for root's status is acting for another user.
        let out = run_with(&["--user", "root", "status"], "", |_| {});
        assert_exit(&out, 1);
        assert!(stderr(&out).contains("only root"), "{}", stderr(&out));
    }
    let out = run_with(&["--user", "no-such-user-xyz", "status"], "", |_| {});
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("no such user"), "{}", stderr(&out));
}

#[test]
fn root_enrolls_another_user_in_a_root_directory() {
    use std::os::unix::fs::MetadataExt;
    needs_root!();
    let env = Env::new();
    let template = format!("{}/%u.toml", env.dir.path().display());
    let args = [
        "--user",
        "nobody",
        "--secret-file",
        &template,
        "enroll",
        "--secret",
        RFC_SHA1_KEY,
        "--json",
    ];
    let out = run_with(&args, &code(RFC_SHA1_KEY), |_| {});
    assert_exit(&out, 0);
    let file = env.dir.path().join("nobody.toml");
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.uid(), 65534, "owned by the user");
    assert_eq!(meta.mode() & 0o777, 0o600);
    // Root acting for the user regenerates recovery codes without a code, and removes.
    let out = run_with(
        &[
            "--user",
            "nobody",
            "--secret-file",
            &template,
            "recovery-codes",
            "--json",
        ],
        "",
        |_| {},
    );
    assert_exit(&out, 0);
    let out = run_with(
        &["--user", "nobody", "--secret-file", &template, "remove"],
        "",
        |_| {},
    );
    assert_exit(&out, 0);
    assert!(!file.exists());
}

/// Writes a site defaults file (mode 0644) in `env`'s directory and returns its path.
fn site_config(env: &Env, text: &str, mode: u32) -> std::path::PathBuf {
    let path = env.dir.path().join("totp-enroll.toml");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn site_defaults_give_the_issuer_and_the_secret_file() {
    let env = Env::new();
    let template = format!("{}/%u.toml", env.dir.path().display());
    let config = site_config(
        &env,
        &format!("issuer = \"ACME VPN\"\nsecret_file = \"{template}\"\n"),
        0o644,
    );
    let with_site = |cmd: &mut std::process::Command| {
        cmd.env("TOTP_ENROLL_CONFIG", &config);
    };
    wait_for_fresh_step(30);
    let out = run_with(
        &["enroll", "--secret", RFC_SHA1_KEY, "--json"],
        &code(RFC_SHA1_KEY),
        with_site,
    );
    assert_exit(&out, 0);
    let uri = json(&out)["otpauth_uri"].as_str().unwrap().to_string();
    assert!(uri.starts_with("otpauth://totp/ACME%20VPN:"), "{uri}");
    assert!(uri.ends_with("&issuer=ACME%20VPN"), "{uri}");
    let user = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name;
    let file = env.dir.path().join(format!("{user}.toml"));
    assert!(
        file.exists(),
        "the site's secret_file was used: {}",
        file.display()
    );
    let status = run_with(&["status", "--json"], "", with_site);
    assert_exit(&status, 0);
    assert_eq!(json(&status)["enrolled"], true);

    // Command-line options win over the site defaults.
    let other = Env::new();
    let out = run_with(
        &[
            "--secret-file",
            other.file().to_str().unwrap(),
            "enroll",
            "--secret",
            RFC_SHA1_KEY,
            "--issuer",
            "Override",
            "--json",
        ],
        &code(RFC_SHA1_KEY),
        with_site,
    );
    assert_exit(&out, 0);
    let uri = json(&out)["otpauth_uri"].as_str().unwrap().to_string();
    assert!(uri.starts_with("otpauth://totp/Override:"), "{uri}");
    assert!(other.file().exists());
}

#[test]
fn unsafe_or_malformed_site_defaults_stop_the_tool() {
    let env = Env::new();
    for (text, mode, expected) in [
        ("issuer = \"ACME\"\n", 0o666, "chmod go-w"),
        ("isuer = \"ACME\"\n", 0o644, "isuer"),
        ("issuer = \"a:b\"\n", 0o644, "issuer must not contain ':'"),
        ("secret_file = \"relative/%u.toml\"\n", 0o644, "secret_file"),
    ] {
        let config = site_config(&env, text, mode);
        let out = run_with(&["status"], "", |cmd| {
            cmd.env("TOTP_ENROLL_CONFIG", &config);
        });
        assert_exit(&out, 1);
        let err = stderr(&out);
        assert!(
            err.contains(config.to_str().unwrap()) && err.contains(expected),
            "{text:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
    // A named file that does not exist is an error (a typo must not drop the defaults), and
    // so is something that is not a regular file.
    for (path, expected) in [
        ("/nonexistent/totp-enroll.toml", "does not exist"),
        ("/dev/null", "not a regular file"),
    ] {
        let out = run_with(&["status"], "", |cmd| {
            cmd.env("TOTP_ENROLL_CONFIG", path);
        });
        assert_exit(&out, 1);
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    }
    // A symlink is not followed.
    let target = site_config(&env, "issuer = \"ACME\"\n", 0o644);
    let link = env.dir.path().join("link.toml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = run_with(&["status"], "", |cmd| {
        cmd.env("TOTP_ENROLL_CONFIG", &link);
    });
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("link.toml: is a symbolic link"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_set_uid_copy_refuses_to_run_before_reading_anything() {
    use std::os::unix::process::CommandExt;
    needs_root!();
    // A mistaken `chmod u+s` must not let a user read root-only files through totp-enroll,
    // not even in an error message about the site defaults.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let copy = dir.path().join("totp-enroll");
    std::fs::copy(bin(), &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let secret = dir.path().join("root-only.toml");
    std::fs::write(&secret, "issuer = 424242\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Another test thread that forks while the copy is still open for writing keeps it open
    // in its child until that child execs: the kernel then refuses to run the copy (ETXTBSY)
    // for a moment. Try again briefly.
    let mut tries = 0;
    let out = loop {
        match std::process::Command::new(&copy)
            .arg("status")
            .env("TOTP_ENROLL_CONFIG", &secret)
            .uid(65534)
            .gid(65534)
            .output()
        {
            Err(e)
                if e.raw_os_error() == Some(nix::errno::Errno::ETXTBSY as i32) && tries < 100 =>
            {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.unwrap(),
        }
    };
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("must not run set-uid"), "{err}");
    assert!(!err.contains("424242"), "{err}");
}
