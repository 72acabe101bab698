//! `add-token`, `tokens`, `remove-token` and `resync` through the real binary, with codes from
//! Debian's `oathtool` (`--totp`, `--hotp -c N`): the first code checked before anything is
//! written and stored as used, the file moving from version 2 to 3 (and back), no key in any
//! listing, refusals that leave the file alone, the resync range, root acting for a user in
//! the user's home, a non-root caller refused for someone else, and the audit lines.

mod common;

use common::*;
use pam_totp_core::params::{DEFAULT_HOTP_WINDOW, DEFAULT_RATE_LIMIT, DEFAULT_WINDOW};
use pam_totp_core::secret::TotpSecret;
use pam_totp_core::secret_file::SecretFile;
use pam_totp_core::verify::{check, Matched, Outcome, Policy};
use pam_totp_tests::{secret_toml, tool, Env as LogEnv, FakeUsers};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// LOG_AUTHPRIV | LOG_NOTICE, as the shim writes the priority.
const AUTHPRIV_NOTICE: &str = "85";
/// The hardware token's key (160 bits), base32, and the same bytes in hex.
const FOB: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const FOB_HEX: &str = "3132333435363738393031323334353637383930";
/// The spare phone's key.
const SPARE: &str = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U";

/// The key of hardware token `i` (20 bytes of the digit `i`), base32: one user's tokens
/// cannot share a key.
fn fob_key(i: u8) -> String {
    TotpSecret::from_bytes(vec![b'0' + i; 20])
        .unwrap()
        .to_base32()
        .to_string()
}

/// `oathtool --hotp -b -c COUNTER KEY`, as one line of input.
fn hotp(key: &str, counter: u64) -> String {
    let out = Command::new(tool("oathtool", "oathtool"))
        .args(["--hotp", "-b", "-c", &counter.to_string(), key])
        .output()
        .expect("run oathtool");
    assert!(out.status.success(), "oathtool: {out:?}");
    format!("{}\n", String::from_utf8_lossy(&out.stdout).trim())
}

/// An enrollment with `KEY` (version 2, one `default` TOTP token).
fn enrolled() -> Env {
    let env = Env::new();
    enroll_json(&env, KEY);
    env
}

fn parsed(path: &Path) -> SecretFile {
    SecretFile::parse(&std::fs::read(path).unwrap()).unwrap()
}

fn version(env: &Env) -> i64 {
    parsed(&env.file()).version()
}

/// A login's check of `input` against the file (the module's defaults), saved nowhere.
fn login_check(env: &Env, input: &str) -> Outcome {
    let policy = Policy {
        window: DEFAULT_WINDOW,
        hotp_window: DEFAULT_HOTP_WINDOW,
        rate_limit: DEFAULT_RATE_LIMIT,
    };
    check(&mut parsed(&env.file()), input.trim(), now(), policy)
}

fn assert_no_key(text: &str) {
    for key in [KEY, FOB, FOB_HEX, SPARE, "JBSW Y3DP", "GEZD GNBV"] {
        assert!(!text.contains(key), "a key was printed: {text}");
    }
}

fn add_fob(env: &Env, counter: u64) -> serde_json::Value {
    let c = counter.to_string();
    let out = env.run(
        &[
            "add-token",
            "--name",
            "fob",
            "--hotp",
            "--counter",
            &c,
            "--secret",
            FOB,
            "--json",
        ],
        &hotp(FOB, counter),
    );
    assert_exit(&out, 0);
    json(&out)
}

#[test]
fn hotp_and_totp_tokens_are_added_after_a_first_code_and_listed_without_keys() {
    let env = enrolled();
    let v2 = std::fs::read(env.file()).unwrap();
    assert_eq!(version(&env), 2);

    // Listing a file of before tokens: one `default` TOTP token; the file is not touched.
    let out = env.run(&["tokens", "--json"], "");
    assert_exit(&out, 0);
    assert_eq!(
        json(&out),
        serde_json::json!({"tokens": [{"name": "default", "type": "totp", "algorithm": "SHA1", "digits": 6, "period": 30}]})
    );
    let out = env.run(&["tokens"], "");
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("default  TOTP"), "{}", stdout(&out));
    assert_eq!(std::fs::read(env.file()).unwrap(), v2);

    // A wrong first code (the next counter's, and one that is no code) writes nothing.
    for wrong in [hotp(FOB, 4), "000000\n".to_string()] {
        let out = env.run(
            &[
                "add-token",
                "--name",
                "fob",
                "--hotp",
                "--counter",
                "3",
                "--secret",
                FOB,
            ],
            &wrong,
        );
        assert_exit(&out, 1);
        assert!(
            stderr(&out).contains("nothing was written"),
            "{}",
            stderr(&out)
        );
        assert_eq!(std::fs::read(env.file()).unwrap(), v2, "v2 file unchanged");
    }

    // The HOTP token: the code at --counter, stored as used; the file becomes version 3.
    let out = env.run(
        &[
            "add-token",
            "--name",
            "fob",
            "--hotp",
            "--counter",
            "3",
            "--secret",
            FOB,
            "--no-qr",
        ],
        &hotp(FOB, 3),
    );
    assert_exit(&out, 0);
    let shown = stdout(&out);
    assert!(shown.contains(&format!("Key (hex): {FOB_HEX}")), "{shown}");
    assert!(
        shown.contains("otpauth://hotp/") && shown.contains("&counter=3"),
        "{shown}"
    );
    assert_eq!(version(&env), 3);
    assert!(env.text().contains("version = 3\n"));
    assert_eq!(parsed(&env.file()).state.marks[1], Some(3));
    // The next login needs a later code: the one at 3 is refused, the one at 4 accepted.
    assert_eq!(login_check(&env, &hotp(FOB, 3)), Outcome::Wrong);
    assert_eq!(
        login_check(&env, &hotp(FOB, 4)),
        Outcome::Accepted {
            token: "fob".into(),
            matched: Matched::Counter(4)
        }
    );

    // A TOTP token with a given key, --json: name, type, otpauth_uri and secret.
    let out = env.run(
        &[
            "add-token",
            "--name",
            "spare",
            "--secret",
            SPARE,
            "--digits",
            "8",
            "--json",
        ],
        &format!("{}\n", {
            wait_for_fresh_step(30);
            oathtool(SPARE, &["-d", "8"], now())
        }),
    );
    assert_exit(&out, 0);
    let step = now() / 30;
    let v = json(&out);
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["name", "otpauth_uri", "secret", "type"]);
    assert_eq!(
        (v["name"].clone(), v["type"].clone()),
        ("spare".into(), "totp".into())
    );
    assert_eq!(v["secret"], SPARE);
    let uri = v["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/")
            && uri.contains(&format!("secret={SPARE}"))
            && uri.contains("digits=8"),
        "{uri}"
    );
    let marks = parsed(&env.file()).state.marks;
    assert!(
        marks[2] == Some(step) || marks[2] == Some(step - 1),
        "{marks:?}"
    );
    // The accepted code is used up for the next login.
    let used = oathtool(SPARE, &["-d", "8"], marks[2].unwrap() * 30);
    assert!(matches!(login_check(&env, &used), Outcome::Replayed { .. }));

    // The listing names all three with their parameters (the HOTP counter is the next one)
    // and prints no key; neither does status.
    let out = env.run(&["tokens", "--json"], "");
    assert_exit(&out, 0);
    assert_no_key(&stdout(&out));
    let listed = json(&out)["tokens"].clone();
    assert_eq!(
        listed,
        serde_json::json!([
            {"name": "default", "type": "totp", "algorithm": "SHA1", "digits": 6, "period": 30},
            {"name": "fob", "type": "hotp", "algorithm": "SHA1", "digits": 6, "counter": 4},
            {"name": "spare", "type": "totp", "algorithm": "SHA1", "digits": 8, "period": 30},
        ])
    );
    let out = env.run(&["tokens"], "");
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert_no_key(&text);
    assert_no_key(&stderr(&out));
    assert!(text.contains("3 token(s)"), "{text}");
    assert!(
        text.contains("fob      HOTP  SHA1       6       next counter 4"),
        "{text}"
    );
    assert!(
        text.contains("spare    TOTP  SHA1       8       period 30 s"),
        "{text}"
    );
    let out = env.run(&["status"], "");
    assert_no_key(&stdout(&out));

    // HOTP --json: name, type, secret and the next counter.
    let env = enrolled();
    let v = add_fob(&env, 0);
    assert_eq!(
        v,
        serde_json::json!({"name": "fob", "type": "hotp", "secret": FOB, "counter": 1})
    );
}

/// Without --secret a new key is made and shown (QR code, URI, key); the code for it is
/// typed after it was read off the output.
#[test]
fn a_new_key_is_made_and_shown_when_none_is_given() {
    let env = enrolled();
    let file = env.file();
    let mut child = Command::new(bin())
        .args([
            "--secret-file",
            file.to_str().unwrap(),
            "add-token",
            "--name",
            "phone2",
        ])
        .env("TOTP_ENROLL_CONFIG", no_site_defaults())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut shown = String::new();
    let mut qr = false;
    let key = loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "no key shown: {shown}"
        );
        shown.push_str(&line);
        qr |= line.contains('█') || line.contains('▀') || line.contains('▄');
        if let Some(uri) = line.trim().strip_prefix("URI: ") {
            assert!(uri.starts_with("otpauth://totp/"), "{uri}");
            let secret = uri.split("secret=").nth(1).unwrap();
            break secret.split('&').next().unwrap().to_string();
        }
    };
    assert!(qr, "a QR code is shown: {shown}");
    assert_ne!(key, KEY);
    wait_for_fresh_step(30);
    writeln!(
        child.stdin.take().unwrap(),
        "{}",
        oathtool(&key, &[], now())
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 0);
    let file = parsed(&env.file());
    let token = file.tokens().nth(1).unwrap();
    assert_eq!(token.name, "phone2");
    assert_eq!(*token.secret.to_base32(), key);
}

#[test]
fn duplicates_a_ninth_token_bad_names_and_no_enrollment_are_refused() {
    // Not enrolled: said, nothing written.
    let env = Env::new();
    let out = env.run(
        &["add-token", "--name", "fob", "--hotp", "--secret", FOB],
        &hotp(FOB, 0),
    );
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("run totp-enroll enroll first"),
        "{}",
        stderr(&out)
    );
    assert!(!env.file().exists());

    let env = enrolled();
    let before = std::fs::read(env.file()).unwrap();
    // A bad name is a usage error with the rule.
    for bad in ["a b", "-fob", "x/y", &"n".repeat(33)] {
        let name = format!("--name={bad}");
        let out = env.run(
            &["add-token", &name, "--hotp", "--secret", FOB],
            &hotp(FOB, 0),
        );
        assert_exit(&out, 2);
        assert!(stderr(&out).contains("letters, digits"), "{}", stderr(&out));
    }
    // The enrollment's own name is taken.
    let out = env.run(
        &["add-token", "--name", "default", "--hotp", "--secret", FOB],
        &hotp(FOB, 0),
    );
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("already a token named \"default\"")
            && stderr(&out).contains("pick another name"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(env.file()).unwrap(), before);
    // A key a token already has (here the enrollment's own) is refused, naming that token.
    let out = env.run(
        &["add-token", "--name", "twin", "--hotp", "--secret", KEY],
        &hotp(KEY, 0),
    );
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("token \"default\" already has this key"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(env.file()).unwrap(), before);

    // Seven more (each with its own key) make eight; the ninth is refused before any key is
    // shown.
    for i in 1..8 {
        let name = format!("fob{i}");
        let key = fob_key(i);
        let out = env.run(
            &["add-token", "--name", &name, "--hotp", "--secret", &key],
            &hotp(&key, 0),
        );
        assert_exit(&out, 0);
    }
    assert_eq!(parsed(&env.file()).token_count(), 8);
    let full = std::fs::read(env.file()).unwrap();
    let nine = fob_key(9);
    let out = env.run(
        &["add-token", "--name", "fob9", "--hotp", "--secret", &nine],
        &hotp(&nine, 0),
    );
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("at most 8 tokens"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let out = env.run(
        &["add-token", "--name", "fob3", "--hotp", "--secret", &nine],
        &hotp(&nine, 0),
    );
    assert_exit(&out, 1);
    assert_eq!(std::fs::read(env.file()).unwrap(), full);
}

#[test]
fn remove_token_keeps_the_last_one_and_goes_back_to_version_2() {
    let env = enrolled();
    let v2 = env.text();
    add_fob(&env, 0);
    assert_eq!(version(&env), 3);
    let three = std::fs::read(env.file()).unwrap();

    let out = env.run(&["remove-token", "--name", "nope"], "");
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("no token named \"nope\""),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(env.file()).unwrap(), three);

    let out = env.run(&["remove-token", "--name", "fob"], "");
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("1 token(s) left"), "{}", stdout(&out));
    // Back to the lone default TOTP token: version 2 again, with the same settings and key.
    assert_eq!(version(&env), 2);
    assert!(env.text().contains("version = 2\n"));
    assert!(parsed(&env.file()).same_but_state(&SecretFile::parse(v2.as_bytes()).unwrap()));

    let out = env.run(&["remove-token", "--name", "default"], "");
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("last token") && stderr(&out).contains("totp-enroll remove"),
        "{}",
        stderr(&out)
    );
    assert_eq!(version(&env), 2);

    // Removing the default token leaves the HOTP token alone: still version 3.
    add_fob(&env, 0);
    let out = env.run(&["remove-token", "--name", "default"], "");
    assert_exit(&out, 0);
    assert_eq!(version(&env), 3);
    let out = env.run(&["tokens", "--json"], "");
    assert_eq!(json(&out)["tokens"][0]["name"], "fob");
    assert_eq!(json(&out)["tokens"].as_array().unwrap().len(), 1);
}

#[test]
fn resync_finds_codes_500_ahead_but_not_1001() {
    let env = enrolled();
    add_fob(&env, 0);
    // Next counter 1; the button was pressed 500 times away from the login prompt.
    let pair = |c: u64| format!("{}{}", hotp(FOB, c), hotp(FOB, c + 1));
    let out = env.run(&["resync", "--name", "fob"], &pair(501));
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("next code expected is counter 503"),
        "{}",
        stdout(&out)
    );
    assert_eq!(parsed(&env.file()).state.marks[1], Some(502));
    let out = env.run(&["tokens", "--json"], "");
    assert_eq!(json(&out)["tokens"][1]["counter"], 503);
    assert_eq!(
        login_check(&env, &hotp(FOB, 503)),
        Outcome::Accepted {
            token: "fob".into(),
            matched: Matched::Counter(503)
        }
    );

    // 1001 ahead of the next counter (503): not found, nothing written.
    let before = std::fs::read(env.file()).unwrap();
    let out = env.run(&["resync", "--name", "fob"], &pair(503 + 1001));
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("not changed"), "{}", stderr(&out));
    assert_eq!(std::fs::read(env.file()).unwrap(), before);
    // Two codes that are not consecutive, or behind the counter: refused too.
    for input in [format!("{}{}", hotp(FOB, 600), hotp(FOB, 602)), pair(100)] {
        let out = env.run(&["resync", "--name", "fob"], &input);
        assert_exit(&out, 1);
        assert_eq!(std::fs::read(env.file()).unwrap(), before);
    }

    // TOTP tokens have no counter; unknown tokens are named.
    let out = env.run(&["resync", "--name", "default"], &pair(600));
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("resync is for HOTP"),
        "{}",
        stderr(&out)
    );
    let out = env.run(&["resync", "--name", "nope"], &pair(600));
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("no token named"), "{}", stderr(&out));
    assert_eq!(std::fs::read(env.file()).unwrap(), before);
}

/// Runs `totp-enroll --secret-file FILE ARGS` with the syslog shim; returns the output and
/// the lines it logged.
fn run_logged(env: &Env, log: &LogEnv, args: &[&str], stdin: &str) -> (Output, Vec<String>) {
    let before = log.log().lines().count();
    let file = env.file();
    let mut full = vec!["--secret-file", file.to_str().unwrap()];
    full.extend_from_slice(args);
    let out = run_with(&full, stdin, |c| {
        log.capture_syslog(c);
        c.env_remove("SUDO_USER");
    });
    let lines = log.log().lines().skip(before).map(str::to_string).collect();
    (out, lines)
}

#[test]
fn each_token_change_is_one_audit_line_naming_the_token_and_no_key() {
    let env = enrolled();
    let log = LogEnv::new();
    let file = env.file();
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap();
    let line = |action: &str, token: &str| {
        format!(
            "{AUTHPRIV_NOTICE} action={action} user={name} by_uid={uid} by_user={name} token={token} file={}",
            file.display(),
            name = me.name,
            uid = me.uid
        )
    };
    let add = ["add-token", "--name", "fob", "--hotp", "--secret", FOB];

    // Refused and failed changes, and listings, log nothing.
    let (out, lines) = run_logged(&env, &log, &add, &hotp(FOB, 1));
    assert_exit(&out, 1);
    assert!(lines.is_empty(), "{lines:?}");
    let (out, lines) = run_logged(&env, &log, &["tokens"], "");
    assert_exit(&out, 0);
    assert!(lines.is_empty(), "{lines:?}");

    let (out, lines) = run_logged(&env, &log, &add, &hotp(FOB, 0));
    assert_exit(&out, 0);
    assert_eq!(lines, [line("add-token", "fob")]);
    let (out, lines) = run_logged(&env, &log, &add, &hotp(FOB, 0));
    assert_exit(&out, 1);
    assert!(lines.is_empty(), "{lines:?}");

    let pair = format!("{}{}", hotp(FOB, 40), hotp(FOB, 41));
    let (out, lines) = run_logged(&env, &log, &["resync", "--name", "fob"], &pair);
    assert_exit(&out, 0);
    assert_eq!(lines, [line("resync", "fob")]);
    let (out, lines) = run_logged(&env, &log, &["resync", "--name", "fob"], &pair);
    assert_exit(&out, 1);
    assert!(lines.is_empty(), "{lines:?}");

    let (out, lines) = run_logged(&env, &log, &["remove-token", "--name", "fob"], "");
    assert_exit(&out, 0);
    assert_eq!(lines, [line("remove-token", "fob")]);
    let (out, lines) = run_logged(&env, &log, &["remove-token", "--name", "default"], "");
    assert_exit(&out, 1);
    assert!(lines.is_empty(), "{lines:?}");

    assert_no_key(&log.log());
}

#[test]
fn another_user_needs_root() {
    use std::os::unix::process::CommandExt;
    let env = enrolled();
    let bytes = std::fs::read(env.file()).unwrap();
    let file = env.file();
    for args in [
        &["add-token", "--name", "fob", "--hotp", "--secret", FOB][..],
        &["tokens"],
        &["remove-token", "--name", "default"],
        &["resync", "--name", "default"],
    ] {
        let mut full = vec!["--secret-file", file.to_str().unwrap(), "--user", "root"];
        full.extend_from_slice(args);
        let out = if is_root() {
            run_with(&full, &hotp(FOB, 0), |c| {
                c.uid(65534).gid(65534);
            })
        } else {
            run_with(&full, &hotp(FOB, 0), |_| {})
        };
        assert_exit(&out, 1);
        assert!(
            stderr(&out).contains("only root"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert_eq!(std::fs::read(env.file()).unwrap(), bytes);
    }
}

/// Root adds a token for a user in the user's home: the file stays the user's (0600), the
/// audit line names root, SUDO_USER and the token.
#[test]
fn root_adds_and_lists_a_users_tokens_in_the_users_home() {
    needs_root!();
    let log = LogEnv::new();
    let users = FakeUsers::new(log.dir.path(), 1);
    let (name, uid, home) = users.users[0].clone();
    let file = users.enroll(0, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    let run = |args: &[&str], stdin: &str| {
        let mut cmd = pam_totp_tests::in_namespace(&users.binds(), Path::new(bin()));
        cmd.args(["--user", &name])
            .args(args)
            .env("TOTP_ENROLL_CONFIG", no_site_defaults())
            .env("SUDO_USER", "carol")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        log.capture_syslog(&mut cmd);
        let mut child = cmd.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run(
        &[
            "add-token",
            "--name",
            "fob",
            "--hotp",
            "--secret",
            FOB,
            "--json",
        ],
        &hotp(FOB, 0),
    );
    assert_exit(&out, 0);
    assert_eq!(file, home.join(".pam_totp.toml"));
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (uid, 0o600));
    assert_eq!(
        SecretFile::parse(&std::fs::read(&file).unwrap())
            .unwrap()
            .version(),
        3
    );

    let out = run(&["tokens", "--json"], "");
    assert_exit(&out, 0);
    assert_eq!(json(&out)["tokens"][1]["name"], "fob");

    let lines: Vec<String> = log.log().lines().map(str::to_string).collect();
    assert_eq!(
        lines,
        [format!(
            "{AUTHPRIV_NOTICE} action=add-token user={name} by_uid=0 by_user=root sudo_user=carol token=fob file={}",
            file.display()
        )]
    );
}
