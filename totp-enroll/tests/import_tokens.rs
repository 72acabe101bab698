//! `import-oath-usersfile` and `import-pskc` through the real binary. Codes come from oathtool;
//! logins through the module after an import are in the tests crate (tests/tests/pam_oath.rs).

mod common;

use common::*;
use pam_totp_core::secret::TotpSecret;
use pam_totp_core::secret_file::SecretFile;
use pam_totp_core::token::TokenKind;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{Command, Output};

/// RFC 4226's key, in hex as pam_oath writes it.
const RFC_HEX: &str = "3132333435363738393031323334353637383930";
/// More 160-bit keys, in hex: one user's tokens cannot share a key.
/// `abcdefghijklmnopqrst` (two-tokens.xml's HOTP key; base32 `MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U`).
const HEX_B: &str = "6162636465666768696a6b6c6d6e6f7071727374";
/// `ABCDEFGHIJKLMNOPQRST`.
const HEX_C: &str = "4142434445464748494a4b4c4d4e4f5051525354";
/// `01234567890123456789`.
const HEX_D: &str = "3031323334353637383930313233343536373839";
/// What a refusal of a key the user's tokens already hold says.
const SAME_KEY: &str = "already has this key";

/// The RFC 6030 examples and the PSKC files written for these tests.
fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A copy of the test file `name` (under tests/data) in the environment's directory, with
/// `@USER@` replaced by the user the tests run as, and the RFC 6030 Figure 3 `UserId`
/// (`UID=jsmith,...`) by one naming that user.
fn for_me(env: &Env, name: &str) -> String {
    let me = pam_totp_tests::current_user();
    let text = std::fs::read_to_string(data(name))
        .unwrap()
        .replace("@USER@", &me)
        .replace("UID=jsmith,", &format!("UID={me},"));
    let path = env.dir.path().join(name.replace('/', "-"));
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// The HOTP code of `counter` from oathtool.
fn hotp(hex: &str, counter: u64, digits: u8) -> String {
    let out = Command::new("oathtool")
        .args([
            "--hotp",
            "-d",
            &digits.to_string(),
            "-c",
            &counter.to_string(),
            hex,
        ])
        .output()
        .expect("run oathtool");
    assert!(out.status.success(), "oathtool failed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A usersfile in the environment's directory.
fn usersfile(env: &Env, text: &str) -> String {
    let path = env.dir.path().join("users.oath");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.to_string_lossy().into_owned()
}

/// The secret file as the product parses it.
fn parsed(env: &Env) -> SecretFile {
    SecretFile::parse(env.text().as_bytes()).unwrap()
}

/// (name, kind, digits, mark) of every token.
fn summary(env: &Env) -> Vec<(String, TokenKind, u8, Option<u64>)> {
    let file = parsed(env);
    file.tokens()
        .zip(file.state.marks.iter().chain(std::iter::repeat(&None)))
        .map(|(t, m)| (t.name.clone(), t.kind, t.digits, *m))
        .collect()
}

fn names(v: &serde_json::Value) -> Vec<String> {
    v["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_usersfile_type_becomes_a_token() {
    needs_root!();
    let env = Env::new();
    let me = pam_totp_tests::current_user();
    let path = usersfile(
        &env,
        &format!(
            "# site tokens\nHOTP\t{me}\t-\t{RFC_HEX}\t5\t{}\t2026-11-30T08:15:02L\n\
             HOTP/T30 {me} + {HEX_B}\nHOTP/T60 {me} - {HEX_C}\n\
             HOTP/E/8 {me} - {HEX_D} 17\nHOTP someone-else - 00\n",
            hotp(RFC_HEX, 5, 6)
        ),
    );
    let out = env.run(&["import-oath-usersfile", &path, "--json"], "");
    assert_exit(&out, 0);
    let v = json(&out);
    assert_eq!(names(&v), ["oath-1", "oath-2", "oath-3", "oath-4"]);
    assert_eq!(v["recovery_codes"].as_array().unwrap().len(), 10);
    assert_eq!(
        summary(&env),
        [
            ("oath-1".into(), TokenKind::Hotp, 6, Some(5)),
            ("oath-2".into(), TokenKind::Totp { period: 30 }, 6, None),
            ("oath-3".into(), TokenKind::Totp { period: 60 }, 6, None),
            ("oath-4".into(), TokenKind::Hotp, 8, Some(16)),
        ]
    );
    assert_eq!(
        std::fs::metadata(env.file()).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Each line's key is stored with its token (base32), never printed.
    let file = parsed(&env);
    let keys: Vec<&[u8]> = file.tokens().map(|t| t.secret.as_bytes()).collect();
    assert_eq!(
        keys,
        [
            &b"12345678901234567890"[..],
            b"abcdefghijklmnopqrst",
            b"ABCDEFGHIJKLMNOPQRST",
            b"01234567890123456789"
        ]
    );
    for hex in [RFC_HEX, HEX_B, HEX_C, HEX_D] {
        assert!(!stdout(&out).contains(hex) && !stderr(&out).contains(hex));
    }
    assert!(env.text().contains(RFC_SHA1_KEY));

    // pam_oath took the code of counter 5: refused; that of 6 is accepted (checked as the
    // user's own recovery-codes request checks codes: every token, hotp_window 10).
    let out = env.run(&["recovery-codes"], &format!("{}\n", hotp(RFC_HEX, 5, 6)));
    assert_exit(&out, 1);
    let out = env.run(&["recovery-codes"], &format!("{}\n", hotp(RFC_HEX, 6, 6)));
    assert_exit(&out, 0);
    assert_eq!(summary(&env)[0].3, Some(6));
    // The 8-digit HOTP/E/8 token starts at its hand-written counter 17.
    let out = env.run(&["recovery-codes"], &format!("{}\n", hotp(HEX_D, 17, 8)));
    assert_exit(&out, 0);
    assert_eq!(summary(&env)[3].3, Some(17));
    // (At most 3 checks in 30 s: the TOTP tokens are checked by logins in the tests crate.)
}

#[test]
fn added_to_an_existing_enrollment_with_unique_names() {
    needs_root!();
    let env = Env::new();
    let me = pam_totp_tests::current_user();
    enroll_json(&env, KEY);
    // Two usersfiles with a key each: the second import's token gets the next free name.
    for (hex, expected) in [(RFC_HEX, "oath-1"), (HEX_B, "oath-2")] {
        let path = usersfile(&env, &format!("HOTP {me} - {hex}\n"));
        let out = env.run(&["import-oath-usersfile", &path, "--json"], "");
        assert_exit(&out, 0);
        let v = json(&out);
        assert_eq!(names(&v), [expected]);
        assert_eq!(v["recovery_codes"], serde_json::json!([]));
    }
    let tokens: Vec<String> = summary(&env).into_iter().map(|t| t.0).collect();
    assert_eq!(tokens, ["default", "oath-1", "oath-2"]);
    // The enrollment's recovery codes are kept.
    assert_eq!(
        json(&env.run(&["status", "--json"], ""))["recovery_codes_left"],
        10
    );
    // The same seed again (the last file, imported twice) is refused, naming the file, the
    // line and the token that has the key; nothing is written.
    let path = env.dir.path().join("users.oath");
    let before = env.text();
    let out = env.run(&["import-oath-usersfile", path.to_str().unwrap()], "");
    assert_exit(&out, 1);
    let err = stderr(&out);
    for word in [
        path.to_str().unwrap(),
        "line 1",
        "token \"oath-2\" already has this key",
        "nothing was imported",
    ] {
        assert!(err.contains(word), "{word}: {err}");
    }
    assert!(!err.contains(HEX_B), "{err}");
    assert_eq!(env.text(), before, "a refused import writes nothing");
    // So is the enrollment's own key in a usersfile.
    let own = pam_totp_core::hex::encode(TotpSecret::from_base32(KEY).unwrap().as_bytes());
    let kv = usersfile(&env, &format!("HOTP {me} - {own}\n"));
    let out = env.run(&["import-oath-usersfile", &kv], "");
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("token \"default\" already has this key"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.text(), before, "a refused import writes nothing");
    // Text output names the tokens.
    let path = usersfile(&env, &format!("HOTP {me} - {HEX_C}\n"));
    let out = env.run(&["import-oath-usersfile", &path], "");
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("oath-3"), "{}", stdout(&out));
}

#[test]
fn usersfile_lines_pam_totp_cannot_check_are_refused_by_line() {
    needs_root!();
    let env = Env::new();
    let me = pam_totp_tests::current_user();
    for (text, line) in [
        (
            format!("HOTP {me} - {RFC_HEX}\nHOTP/T30/7 {me} - {RFC_HEX}\n"),
            "line 2",
        ),
        (format!("\nHOTP {me} - 0102030405060708\n"), "line 2"),
        (format!("HOTP/E/9 {me} - {RFC_HEX}\n"), "line 1"),
        // One seed twice in the file.
        (
            format!("HOTP {me} - {RFC_HEX}\nHOTP/T30 {me} - {RFC_HEX}\n"),
            "line 2: line 1 already has this key",
        ),
    ] {
        let path = usersfile(&env, &text);
        let out = env.run(&["import-oath-usersfile", &path], "");
        assert_exit(&out, 1);
        assert!(stderr(&out).contains(line), "{}", stderr(&out));
        assert!(!env.file().exists(), "nothing is written");
    }
    // No line for the user.
    let path = usersfile(&env, "HOTP someone-else - 00\n");
    let out = env.run(&["import-oath-usersfile", &path], "");
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("no line for user"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_pin_is_not_imported() {
    needs_root!();
    let env = Env::new();
    let me = pam_totp_tests::current_user();
    let path = usersfile(&env, &format!("HOTP {me} hunter2 {RFC_HEX} 3\n"));
    let out = env.run(&["import-oath-usersfile", &path], "");
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(err.contains("line 1") && err.contains("PIN"), "{err}");
    assert!(!err.contains("hunter2") && !stdout(&out).contains("hunter2"));
    assert!(!env.text().contains("hunter2"));
    assert_eq!(summary(&env)[0].3, Some(2));
}

#[test]
fn pskc_plain_rfc_example_and_encrypted_one() {
    needs_root!();
    let env = Env::new();
    // Figure 3's only key is marked for user jsmith (UserId UID=jsmith,...): refused for
    // anyone else although it is the only key; nothing is written.
    let fig3 = data("rfc6030/figure3.xml");
    let out = env.run(&["import-pskc", &fig3], "");
    assert_exit(&out, 1);
    let err = stderr(&out);
    for word in [
        fig3.as_str(),
        "1 HOTP/TOTP key",
        "1 name another user in their UserId",
        "each user needs a file with only their keys",
        "nothing was imported",
    ] {
        assert!(err.contains(word), "{word}: {err}");
    }
    assert!(!err.contains("MTIzNDU2") && !err.contains(RFC_HEX), "{err}");
    assert!(!env.file().exists(), "nothing is written");
    // Marked for the user the tests run as: imported.
    let out = env.run(
        &[
            "import-pskc",
            &for_me(&env, "rfc6030/figure3.xml"),
            "--json",
        ],
        "",
    );
    assert_exit(&out, 0);
    let v = json(&out);
    assert_eq!(names(&v), ["987654321"]);
    assert_eq!(v["recovery_codes"].as_array().unwrap().len(), 10);
    assert_eq!(
        summary(&env),
        [("987654321".into(), TokenKind::Hotp, 8, None)]
    );
    assert!(env.text().contains(RFC_SHA1_KEY));
    // The code of counter 0 (8 digits) is accepted by the user's own request.
    let out = env.run(&["recovery-codes"], &format!("{}\n", hotp(RFC_HEX, 0, 8)));
    assert_exit(&out, 0);

    // Figure 6 is figure 3 encrypted (same serial, same secret): with the right key it is
    // the same seed again, refused as such; nothing is written.
    let fig6 = data("rfc6030/figure6.xml");
    let right_key = "12345678901234567890123456789012";
    let before = env.text();
    let out = env.run(&["import-pskc", &fig6, "--key", right_key], "");
    assert_exit(&out, 1);
    let err = stderr(&out);
    for word in [
        fig6.as_str(),
        "key \"12345678\"",
        "token \"987654321\" already has this key",
    ] {
        assert!(err.contains(word), "{word}: {err}");
    }
    assert_eq!(env.text(), before, "a refused import writes nothing");

    // Figure 6 for a user without tokens: without the key, with a wrong key, with a key of the
    // wrong length, with the right one.
    let env = Env::new();
    let out = env.run(&["import-pskc", &fig6], "");
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("--key"), "{}", stderr(&out));
    let out = env.run(
        &[
            "import-pskc",
            &fig6,
            "--key",
            "12345678901234567890123456789013",
        ],
        "",
    );
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("wrong"), "{}", stderr(&out));
    let out = env.run(&["import-pskc", &fig6, "--key", "1234"], "");
    assert_exit(&out, 1);
    // `--key -` reads the key from stdin (out of sight of ps): a wrong one is refused too.
    let out = env.run(
        &["import-pskc", &fig6, "--key", "-"],
        "12345678901234567890123456789013\n",
    );
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("wrong"), "{}", stderr(&out));
    assert!(!env.file().exists(), "nothing written by refused imports");
    let out = env.run(
        &["import-pskc", &fig6, "--key", "-", "--json"],
        &format!("{right_key}\n"),
    );
    assert_exit(&out, 0);
    let v = json(&out);
    assert_eq!(names(&v), ["987654321"]);
    assert_eq!(v["recovery_codes"].as_array().unwrap().len(), 10);
    let file = parsed(&env);
    let keys: Vec<&[u8]> = file.tokens().map(|t| t.secret.as_bytes()).collect();
    assert_eq!(keys, [b"12345678901234567890"]);
    assert_eq!(
        summary(&env),
        [("987654321".into(), TokenKind::Hotp, 8, None)]
    );
    let out = env.run(&["recovery-codes"], &format!("{}\n", hotp(RFC_HEX, 0, 8)));
    assert_exit(&out, 0);
}

#[test]
fn pskc_totp_and_hotp_with_their_parameters() {
    needs_root!();
    let env = Env::new();
    // Two keys marked for another user (the file as it is, UserId "@USER@"): refused, saying
    // how many keys the file has.
    let out = env.run(&["import-pskc", &data("pskc/two-tokens.xml")], "");
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("none of the file's 2 HOTP/TOTP key(s)"),
        "{}",
        stderr(&out)
    );
    assert!(!env.file().exists(), "nothing is written");
    let out = env.run(
        &[
            "import-pskc",
            &for_me(&env, "pskc/two-tokens.xml"),
            "--json",
        ],
        "",
    );
    assert_exit(&out, 0);
    assert_eq!(names(&json(&out)), ["FT-0001-A", "FT-0001-A-2"]);
    assert_eq!(
        summary(&env),
        [
            ("FT-0001-A".into(), TokenKind::Totp { period: 60 }, 6, None),
            ("FT-0001-A-2".into(), TokenKind::Hotp, 6, Some(40)),
        ]
    );
    // Each key package's key is its token's.
    let file = parsed(&env);
    let keys: Vec<&[u8]> = file.tokens().map(|t| t.secret.as_bytes()).collect();
    assert_eq!(
        keys,
        [&b"12345678901234567890"[..], b"abcdefghijklmnopqrst"]
    );
    let out = env.run(&["recovery-codes"], &format!("{}\n", hotp(HEX_B, 40, 6)));
    assert_exit(&out, 1);
    let out = env.run(&["recovery-codes"], &format!("{}\n", hotp(HEX_B, 41, 6)));
    assert_exit(&out, 0);
    assert_eq!(summary(&env)[1].3, Some(41));
}

#[test]
fn pskc_keys_pam_totp_cannot_check_are_refused_by_name() {
    needs_root!();
    let env = Env::new();
    for (file, words) in [
        ("pskc/time-origin.xml", ["\"k1\"", "Time"]),
        ("pskc/seven-digits.xml", ["\"k7\"", "7 digits"]),
        ("pskc/short-key.xml", ["\"k8\"", "64"]),
        ("rfc6030/figure7.xml", ["PBKDF2", "not supported"]),
    ] {
        let out = env.run(&["import-pskc", &data(file)], "");
        assert_exit(&out, 1);
        for word in words {
            assert!(stderr(&out).contains(word), "{file}: {}", stderr(&out));
        }
        assert!(!env.file().exists(), "{file}: nothing is written");
    }
}

/// Runs `totp-enroll --secret-file FILE ARGS` with its syslog lines captured into `log`;
/// returns the output and the lines it logged.
fn run_logged(env: &Env, log: &pam_totp_tests::Env, args: &[&str]) -> (Output, Vec<String>) {
    let before = log.log().lines().count();
    let file = env.file();
    let mut full = vec!["--secret-file", file.to_str().unwrap()];
    full.extend_from_slice(args);
    let out = run_with(&full, "", |c| {
        log.capture_syslog(c);
        c.env_remove("SUDO_USER");
    });
    let lines = log.log().lines().skip(before).map(str::to_string).collect();
    (out, lines)
}

#[test]
fn each_import_is_one_audit_line_without_keys_and_a_refusal_none() {
    needs_root!();
    let env = Env::new();
    let log = pam_totp_tests::Env::new();
    let me = pam_totp_tests::current_user();
    let uid = nix::unistd::getuid().as_raw();
    // The line names the tokens added and the file they came from (never a key).
    let line = |action: &str, tokens: &str, source: &str| {
        format!(
            "85 action={action} user={me} by_uid={uid} by_user={me} tokens={tokens} source={source} file={}",
            env.file().display()
        )
    };
    let path = usersfile(&env, &format!("HOTP {me} pin1234 {HEX_B} 0\n"));
    let (out, lines) = run_logged(&env, &log, &["import-oath-usersfile", &path]);
    assert_exit(&out, 0);
    assert_eq!(lines, [line("import-oath-usersfile", "oath-1", &path)]);
    let (out, lines) = run_logged(
        &env,
        &log,
        &[
            "import-pskc",
            &data("rfc6030/figure6.xml"),
            "--key",
            "12345678901234567890123456789012",
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(
        lines,
        [line(
            "import-pskc",
            "987654321",
            &data("rfc6030/figure6.xml")
        )]
    );
    let fig3 = for_me(&env, "rfc6030/figure3.xml");
    let fig3_jsmith = data("rfc6030/figure3.xml");
    for refused in [
        vec!["import-pskc", "/nonexistent/file.xml"],
        vec!["import-pskc", &data("pskc/seven-digits.xml")],
        // Figure 3 holds figure 6's seed.
        vec!["import-pskc", &fig3],
        // Figure 3 as printed is jsmith's.
        vec!["import-pskc", &fig3_jsmith],
    ] {
        let (out, lines) = run_logged(&env, &log, &refused);
        assert_exit(&out, 1);
        assert!(lines.is_empty(), "{lines:?}");
    }
    let (out, _) = run_logged(&env, &log, &["import-pskc", &fig3]);
    assert!(stderr(&out).contains(SAME_KEY), "{}", stderr(&out));
    let all = log.log();
    for secret in [
        RFC_HEX,
        RFC_SHA1_KEY,
        HEX_B,
        "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U",
        "pin1234",
        "MTIzNDU2",
    ] {
        assert!(!all.contains(secret), "{all}");
    }
}

/// Root importing for another user (`--user`) uses root's rights only on a path the user
/// cannot change: through a directory the user owns (here one holding a symbolic link to a
/// root-only directory with a root-only seed file) the file is read as the user, who cannot
/// read it, and nothing is imported; from a root-only directory the same file is imported.
#[test]
fn root_reads_an_import_for_a_user_only_where_the_user_cannot_swap_the_path() {
    needs_root!();
    use std::os::unix::fs::symlink;
    let log = pam_totp_tests::Env::new();
    let users = pam_totp_tests::FakeUsers::new(log.dir.path(), 1);
    let (name, uid, home) = users.users[0].clone();
    // Root-only: a 0700 root directory (inside the test's root-owned temporary directory,
    // whose parents /tmp is not: so this one is only reachable through the user's link).
    let vault = log.dir.path().join("vault");
    std::fs::create_dir(&vault).unwrap();
    std::fs::set_permissions(&vault, std::fs::Permissions::from_mode(0o700)).unwrap();
    let seed = vault.join("users.oath");
    std::fs::write(&seed, format!("HOTP {name} - {HEX_B}\n")).unwrap();
    std::fs::set_permissions(&seed, std::fs::Permissions::from_mode(0o600)).unwrap();
    // The user's own directory with a link to it.
    let own = home.join("drop");
    std::fs::create_dir(&own).unwrap();
    std::os::unix::fs::chown(&own, Some(uid), Some(uid)).unwrap();
    symlink(&vault, own.join("vault")).unwrap();

    let run = |path: &std::path::Path| {
        let mut cmd = pam_totp_tests::in_namespace(&users.binds(), std::path::Path::new(bin()));
        cmd.args(["--user", &name, "import-oath-usersfile"])
            .arg(path)
            .env("TOTP_ENROLL_CONFIG", no_site_defaults())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        log.capture_syslog(&mut cmd);
        cmd.output().unwrap()
    };
    let secret_file = home.join(".pam_totp.toml");
    let out = run(&own.join("vault/users.oath"));
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("cannot read it") && stderr(&out).contains("/root"),
        "{}",
        stderr(&out)
    );
    assert!(!secret_file.exists(), "nothing imported");

    // The same file in a directory only root can change (a fresh root-only tree under /root
    // would do as well; the test's directory tree is root-owned from / down except /tmp, so
    // the file is moved next to the test binary's root-only scratch place: /root).
    let root_only = PathBuf::from("/root").join(format!("pam_totp-import-{}", std::process::id()));
    std::fs::create_dir(&root_only).unwrap();
    std::fs::set_permissions(&root_only, std::fs::Permissions::from_mode(0o700)).unwrap();
    let moved = root_only.join("users.oath");
    std::fs::copy(&seed, &moved).unwrap();
    std::fs::set_permissions(&moved, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run(&moved);
    let _ = std::fs::remove_dir_all(&root_only);
    assert_exit(&out, 0);
    let file = SecretFile::parse(&std::fs::read(&secret_file).unwrap()).unwrap();
    assert_eq!(file.token_count(), 1);
    assert_eq!(
        std::fs::metadata(&secret_file).unwrap().uid(),
        uid,
        "the new file is the user's"
    );
}

#[test]
fn pskc_batch_only_the_users_keys_are_taken() {
    needs_root!();
    let env = Env::new();
    let batch = for_me(&env, "pskc/batch.xml");
    let out = env.run(&["import-pskc", &batch, "--json"], "");
    assert_exit(&out, 0);
    // Only B-2 (uid=<me>,... in lower case) is the user's: B-1 is someone-else's, B-3 has no
    // UserId and is not the file's only key.
    assert_eq!(names(&json(&out)), ["B-2"]);
    let err = stderr(&out);
    assert!(
        err.contains("2 key(s) of the file were left out")
            && err.contains("1 name another user in their UserId, 1 have no UserId"),
        "{err}"
    );
    let file = parsed(&env);
    let tokens: Vec<_> = file.tokens().collect();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].secret.as_bytes(), b"01234567890123456789");
    // Its Suite (HMAC-SHA256) is its algorithm.
    assert_eq!(
        tokens[0].algorithm,
        pam_totp_core::algorithm::Algorithm::SHA256
    );
    assert_eq!(summary(&env), [("B-2".into(), TokenKind::Hotp, 6, Some(4))]);
    // Nothing of the others' keys is stored or printed.
    let all = format!("{}{}{}", env.text(), stdout(&out), err);
    for secret in [HEX_C, RFC_HEX, RFC_SHA1_KEY, "QUJDREVG", "MTIzNDU2"] {
        assert!(!all.contains(secret), "{secret}");
    }
    assert!(!err.contains("someone-else"), "{err}");
}

#[test]
fn pskc_key_ids_in_messages_are_bounded_and_escaped() {
    needs_root!();
    let env = Env::new();
    // A newline (character reference), a non-ASCII letter and a quote, then 5000 characters.
    let id = format!("k7&#10;\u{e9}&quot;{}", "x".repeat(5000));
    let text = std::fs::read_to_string(data("pskc/seven-digits.xml"))
        .unwrap()
        .replace("Id=\"k7\"", &format!("Id=\"{id}\""));
    let path = env.dir.path().join("long-id.xml");
    std::fs::write(&path, text).unwrap();
    let out = env.run(&["import-pskc", path.to_str().unwrap()], "");
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("7 digits"), "{err}");
    assert!(err.contains(r#"key "k7??\"xxx"#), "{err}");
    assert!(
        !err.contains('\n') || err.trim_end().lines().count() == 1,
        "{err}"
    );
    assert!(!err.contains(&"x".repeat(100)), "{err}");
    assert!(err.len() < 1000, "{err}");
}
