//! `store=ldap` through real libpam, without a directory: pam_totp.so hands such lines (and the
//! `check_forwarded` line of a `store=ldap` `forward_pass` line) to pam_totp_ldap.so, loaded
//! from pam_totp.so's own directory under either of its names; without it (or with a file that
//! is not it) the login is unavailable, with a log line that says where to install it; a
//! missing `ldap_config=` file refuses the login, named in the log. pam_totp.so itself does not
//! carry the LDAP client, so users of the file store do not pay for it.

use pam_totp_tests::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// A user name no system has: the flow decides without looking at a store.
const NOBODY: &str = "pam-totp-nosuchuser";

/// A directory of `env` holding pam_totp.so and, for each `(source, name)`, a copy of `source`
/// named `name`: an installation with or without the LDAP module.
fn modules(env: &Env, dir: &str, extra: &[(&Path, &str)]) -> PathBuf {
    let dir = env.dir.path().join(dir);
    fs::create_dir(&dir).unwrap();
    fs::copy(module_path(), dir.join("pam_totp.so")).unwrap();
    for (source, name) in extra {
        fs::copy(source, dir.join(name)).unwrap();
    }
    dir
}

/// The LDAP module of the build under test.
fn ldap_module() -> PathBuf {
    module_path().with_file_name(LDAP_MODULE)
}

/// The captured lines that contain `text`.
fn lines_with<'a>(log: &'a str, text: &str) -> Vec<&'a str> {
    log.lines().filter(|l| l.contains(text)).collect()
}

#[test]
fn store_ldap_without_the_ldap_module_is_unavailable_and_says_where_to_install_it() {
    let env = Env::new();
    let alone = modules(&env, "alone", &[]);
    let module = alone.join("pam_totp.so");
    env.service(
        "ldap",
        &format!("auth required {} store=ldap nullok\n", module.display()),
    );
    let login = env.login("ldap", &["123456"]);
    assert_eq!(login.rc, rc::AUTHINFO_UNAVAIL, "{login:?}\n{}", env.log());
    assert!(login.prompts().is_empty(), "{login:?}");
    let dir = alone.display();
    let want = format!(
        "pam_totp(ldap:auth): store=ldap needs pam_totp_ldap.so in {dir}: {dir}/pam_totp_ldap.so: cannot open shared object file: No such file or directory; install it next to pam_totp.so"
    );
    let log = env.log();
    assert_eq!(
        lines_with(&log, "store=ldap needs"),
        [format!("83 {want}")],
        "{log}"
    );

    // The file store of the same module is not affected.
    env.enroll(KEY, &[]);
    env.service(
        "file",
        &format!("auth required {} secret=@SECRET@\n", module.display()),
    );
    let code = oathtool(KEY, &[], now());
    let login = env.login("file", &[&code]);
    assert!(login.ok(), "{login:?}\n{}", env.log());
}

#[test]
fn a_file_that_is_not_the_ldap_module_is_named_with_the_loaders_reason() {
    let env = Env::new();
    let garbage = env.dir.path().join("garbage");
    fs::write(&garbage, "not an ELF file\n".repeat(20)).unwrap();
    for (dir, source, reason) in [
        // Not a shared object at all.
        ("text", garbage.as_path(), "invalid ELF header"),
        // A shared object without the entry point (pam_totp.so itself under that name).
        (
            "other",
            module_path(),
            "undefined symbol: pam_totp_ldap_authenticate",
        ),
    ] {
        let dir = modules(&env, dir, &[(source, LDAP_MODULE)]);
        env.service(
            "ldap",
            &format!("auth required {}/pam_totp.so store=ldap\n", dir.display()),
        );
        let login = env.login("ldap", &["123456"]);
        assert_eq!(login.rc, rc::AUTHINFO_UNAVAIL, "{login:?}");
        let log = env.log();
        let lines = lines_with(
            &log,
            &format!("needs pam_totp_ldap.so in {}:", dir.display()),
        );
        assert_eq!(lines.len(), 1, "{log}");
        // The error of the file that is there, not "no such file" for libpam_totp_ldap.so.
        assert!(lines[0].contains(reason), "{log}");
        assert!(
            lines[0].ends_with("; install it next to pam_totp.so"),
            "{log}"
        );
    }
}

#[test]
fn the_ldap_module_is_found_under_its_build_name_too() {
    let env = Env::new();
    let dir = modules(&env, "lib", &[(&ldap_module(), "libpam_totp_ldap.so")]);
    let config = env.dir.path().join("nowhere/ldap.toml");
    env.service(
        "ldap",
        &format!(
            "auth required {}/pam_totp.so store=ldap ldap_config={}\n",
            dir.display(),
            config.display()
        ),
    );
    let login = env.login("ldap", &["123456"]);
    let log = env.log();
    // Loaded: the LDAP store's own verdict on its configuration, not the loader's.
    assert!(lines_with(&log, "store=ldap needs").is_empty(), "{log}");
    assert_eq!(login.rc, rc::SERVICE_ERR, "{login:?}\n{log}");
    assert_eq!(
        lines_with(&log, &config.display().to_string()).len(),
        1,
        "{log}"
    );
}

#[test]
fn a_missing_ldap_config_refuses_the_login_and_is_named() {
    let env = Env::new();
    let config = env.dir.path().join("nowhere/ldap.toml");
    env.service(
        "ldap",
        &format!(
            "auth required @MODULE@ store=ldap ldap_config={}\n",
            config.display()
        ),
    );
    let login = env.login("ldap", &["123456"]);
    let log = env.log();
    assert_eq!(login.rc, rc::SERVICE_ERR, "{login:?}\n{log}");
    assert!(login.prompts().is_empty(), "{login:?}");
    assert!(lines_with(&log, "store=ldap needs").is_empty(), "{log}");
    let named = lines_with(&log, &config.display().to_string());
    assert_eq!(
        named.len(),
        1,
        "no log line names {}:\n{log}",
        config.display()
    );
    assert!(
        named[0].contains("pam_totp(ldap:auth): configuration error: LDAP configuration"),
        "{log}"
    );
}

#[test]
fn file_store_options_on_a_store_ldap_line_are_a_configuration_error() {
    let env = Env::new();
    for (option, says) in [
        ("remember=12h", "remembered hosts are kept in local files"),
        ("enroll", "totp-enroll --store ldap"),
        ("secret=@SECRET@", "ldap_config="),
    ] {
        env.service(
            "ldap",
            &format!("auth required @MODULE@ store=ldap {option}\n"),
        );
        let login = env.login("ldap", &["123456"]);
        assert_eq!(login.rc, rc::SERVICE_ERR, "{option}: {login:?}");
        assert!(login.prompts().is_empty(), "{option}: {login:?}");
        let log = env.log();
        assert!(
            log.lines().any(|l| l.contains("configuration error")
                && l.contains("cannot be used with store=ldap")
                && l.contains(says)),
            "{option}:\n{log}"
        );
    }
    env.service(
        "file",
        "auth required @MODULE@ secret=@SECRET@ ldap_config=/etc/pam_totp/ldap.toml\n",
    );
    let login = env.login("file", &["123456"]);
    assert_eq!(login.rc, rc::SERVICE_ERR, "{login:?}");
    assert!(env
        .log()
        .contains("option \"ldap_config=/etc/pam_totp/ldap.toml\" needs store=ldap"));
}

/// The VPN stack with `store=ldap` on the forward_pass line: the check_forwarded line, which
/// names no store, runs in pam_totp_ldap.so too (in pam_totp.so it would refuse, logging that
/// it serves the file store); without the LDAP module, the forward_pass line is unavailable
/// and the check line finds no code. The account hook of pam_totp.so reads the code kept by
/// pam_totp_ldap.so.
#[test]
fn the_check_line_of_a_store_ldap_forward_pass_line_runs_in_the_ldap_module() {
    let env = Env::new();
    let config = env.dir.path().join("nowhere/ldap.toml");
    let stack = |module: &Path, check: bool| {
        let mut text = format!(
            "auth required {} forward_pass store=ldap ldap_config={}\n\
             auth required pam_permit.so\n",
            module.display(),
            config.display()
        );
        if check {
            text += &format!("auth required {} check_forwarded\n", module.display());
        }
        text + &format!(
            "account required {}\naccount required pam_permit.so\n",
            module.display()
        )
    };
    let run = |service: &str| {
        env.run(&Run {
            service,
            answers: &["hunter2123456"],
            user: Some(NOBODY),
            extra: &["--acct"],
            ..Run::default()
        })
    };
    let account = |login: &Login| {
        login
            .lines
            .iter()
            .find_map(|l| l.strip_prefix("ACCT ").and_then(|v| v.parse::<i32>().ok()))
    };

    env.service("vpn", &stack(module_path(), true));
    let login = run("vpn");
    let log = env.log();
    assert_eq!(login.rc, rc::AUTH_ERR, "{login:?}\n{log}");
    assert_eq!(login.prompts(), ["Password & verification code: "]);
    assert!(!log.contains("this module serves store=file"), "{log}");
    assert!(!log.contains("no code was kept"), "{log}");
    let checked = lines_with(&log, "pam_totp(vpn:auth): authentication failure");
    assert_eq!(checked.len(), 1, "{log}");
    assert!(checked[0].contains("reason=not enrolled"), "{log}");

    // No check line: authentication passes on the password, the account hook of pam_totp.so
    // refuses on the code the LDAP module kept.
    env.service("vpn-unchecked", &stack(module_path(), false));
    let login = run("vpn-unchecked");
    assert!(login.ok(), "{login:?}\n{}", env.log());
    assert_eq!(account(&login), Some(rc::PERM_DENIED), "{login:?}");
    assert!(env.log().contains(&format!(
        "pam_totp(vpn-unchecked:account): account refused: user={NOBODY} passed authentication without the code"
    )));

    // Without the LDAP module.
    let alone = modules(&env, "alone", &[]).join("pam_totp.so");
    env.service("vpn-alone", &stack(&alone, true));
    let login = run("vpn-alone");
    let log = env.log();
    // The first failing required line's code.
    assert_eq!(login.rc, rc::AUTHINFO_UNAVAIL, "{login:?}\n{log}");
    assert!(login.prompts().is_empty(), "{login:?}");
    assert_eq!(
        lines_with(&log, "(vpn-alone:auth): store=ldap needs").len(),
        1,
        "{log}"
    );
    assert_eq!(
        lines_with(&log, "(vpn-alone:auth): check_forwarded: no code was kept").len(),
        1,
        "{log}"
    );
}

/// The crates whose sources `binary` names (the paths of panic locations that
/// `registry/src/<index>/<crate>-<version>/` leaves in a release build), by name.
fn crates_named_in(binary: &[u8]) -> BTreeSet<String> {
    let marker = b"/registry/src/";
    let mut crates = BTreeSet::new();
    let mut rest = binary;
    while let Some(at) = rest.windows(marker.len()).position(|w| w == marker) {
        rest = &rest[at + marker.len()..];
        let path: Vec<u8> = rest
            .iter()
            .take_while(|b| b.is_ascii_graphic())
            .copied()
            .collect();
        let path = String::from_utf8_lossy(&path);
        // <index>/<crate>-<version>/...
        let Some(dir) = path.split('/').nth(1) else {
            continue;
        };
        let name = dir
            .char_indices()
            .find(|&(i, c)| c == '-' && dir[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
            .map_or(dir, |(i, _)| &dir[..i]);
        crates.insert(name.to_string());
    }
    crates
}

/// The LDAP client and its TLS stack, by crate name.
const LDAP_CRATES: [&str; 8] = [
    "ldap3",
    "lber",
    "rustls",
    "rustls-webpki",
    "rustls-pki-types",
    "ring",
    "tokio",
    "tokio-rustls",
];

#[test]
fn the_file_store_module_does_not_carry_the_ldap_client() {
    // The probe sees what is linked in: the LDAP client in pam_totp_ldap.so ...
    let ldap = crates_named_in(&fs::read(ldap_module()).unwrap());
    for linked in ["ldap3", "rustls", "totp-rs"] {
        assert!(
            ldap.contains(linked),
            "{linked} not found in {}: the probe no longer sees crates ({ldap:?})",
            ldap_module().display()
        );
    }
    // ... and the code checks and the QR code of `enroll` in pam_totp.so.
    let module = fs::read(module_path()).unwrap();
    let crates = crates_named_in(&module);
    for linked in ["totp-rs", "qrcode"] {
        assert!(
            crates.contains(linked),
            "{linked} not found in {}: the probe no longer sees crates ({crates:?})",
            module_path().display()
        );
    }
    for ldap in LDAP_CRATES {
        assert!(
            !crates.contains(ldap),
            "pam_totp.so links {ldap}: the LDAP store belongs in pam_totp_ldap.so only ({crates:?})"
        );
    }
    let text = String::from_utf8_lossy(&module);
    for name in ["pam_totp_directory", "rustls", "ldap3"] {
        assert!(!text.contains(name), "pam_totp.so mentions {name}");
    }
    // About 1.1 MB today; the LDAP client and TLS would add more than this margin.
    let size = module.len();
    assert!(
        size < 1_400_000,
        "pam_totp.so is {size} bytes: what made the file store's module grow?"
    );
}
