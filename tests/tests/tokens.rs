//! Several tokens per user through real libpam: TOTP and HOTP tokens side by side, the HOTP
//! counter and `hotp_window=`, replay per token, the rate limit per user, and the file
//! version kept (2 stays 2, 3 stays 3). Files are written with the core's writer; codes come
//! from oathtool (`--totp`, `--hotp -c N`).

use pam_totp_tests::*;

/// The RFC 4226 appendix D key ("12345678901234567890") in base32, for an HOTP token.
const HOTP_KEY: &str = RFC_SHA1_KEY;
/// Another 160-bit key ("abcdefghijklmnopqrst"), for a second TOTP token.
const SPARE_KEY: &str = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U";
/// RFC 4226 appendix D: the HOTP codes of that key for counters 0 to 9.
const RFC4226_CODES: [&str; 10] = [
    "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
    "520489",
];

const SERVICE: &str = "auth required @MODULE@ secret=@SECRET@ rate_limit=100/30\n";

/// A user with a TOTP token `phone` (KEY) and an HOTP token `fob` (the RFC 4226 key).
fn phone_and_fob() -> Env {
    let env = Env::new();
    env.write_secret(&tokens_toml(
        &[
            TestToken::totp("phone", KEY),
            TestToken::hotp("fob", HOTP_KEY),
        ],
        &["abcde-fghjk"],
    ));
    env.service("totp", SERVICE);
    env
}

fn text(env: &Env) -> String {
    std::fs::read_to_string(env.secret_path()).unwrap()
}

fn token_names(env: &Env) -> Vec<String> {
    let bytes = std::fs::read(env.secret_path()).unwrap();
    pam_totp_core::secret_file::SecretFile::parse(&bytes)
        .unwrap()
        .tokens()
        .map(|t| t.name.clone())
        .collect()
}

fn refused(env: &Env, service: &str, code: &str, why: &str) {
    let login = env.login(service, &[code]);
    assert_eq!(login.rc, rc::AUTH_ERR, "{why}: {login:?}\n{}", env.log());
}

fn accepted(env: &Env, service: &str, code: &str, why: &str) {
    let login = env.login(service, &[code]);
    assert!(login.ok(), "{why}: {login:?}\n{}", env.log());
}

#[test]
fn oathtool_agrees_with_rfc4226_vectors() {
    // Our HOTP codes come from oathtool; check oathtool itself against RFC 4226 appendix D.
    for (counter, code) in RFC4226_CODES.iter().enumerate() {
        assert_eq!(&oathtool_hotp(HOTP_KEY, counter as u64, &[]), code);
    }
}

#[test]
fn the_test_file_is_version_3_with_a_token_table_each() {
    let env = phone_and_fob();
    let text = text(&env);
    assert!(text.contains("\nversion = 3\n"), "{text}");
    assert_eq!(text.matches("[[token]]").count(), 2, "{text}");
    assert_eq!(token_names(&env), ["phone", "fob"]);
}

#[test]
fn a_totp_code_and_an_hotp_code_each_log_in_and_name_their_token() {
    let env = phone_and_fob();
    wait_for_fresh_step(30);
    accepted(
        &env,
        "totp",
        &oathtool(KEY, &[], now()),
        "the TOTP token's code",
    );
    let log = env.log();
    assert!(
        log.contains(&format!(
            "accepted verification code; user={} drift_steps=0 token=phone",
            env.user
        )),
        "{log}"
    );
    accepted(
        &env,
        "totp",
        &oathtool_hotp(HOTP_KEY, 0, &[]),
        "the HOTP code",
    );
    let log = env.log();
    assert!(
        log.contains(&format!(
            "accepted verification code; user={} counter=0 token=fob",
            env.user
        )),
        "{log}"
    );
    let state = file_state(&env.secret_path());
    assert_eq!(state.marks, [Some(now() / 30), Some(0)], "{state:?}");
    // Neither code passes twice; the TOTP replay is logged with its token.
    refused(&env, "totp", &oathtool(KEY, &[], now()), "TOTP replay");
    assert!(
        env.log().contains("reason=replayed code") && env.log().contains("token=phone"),
        "{}",
        env.log()
    );
    refused(
        &env,
        "totp",
        &oathtool_hotp(HOTP_KEY, 0, &[]),
        "HOTP replay",
    );
    for needle in [KEY, HOTP_KEY] {
        assert!(!env.log().contains(needle), "a key in the log");
    }
}

#[test]
fn the_hotp_counter_moves_past_the_code_that_matched() {
    let env = phone_and_fob();
    // Three presses ahead of the next counter (0): inside the default look-ahead.
    accepted(&env, "totp", &oathtool_hotp(HOTP_KEY, 3, &[]), "counter 3");
    assert!(env.log().contains("counter=3 token=fob"), "{}", env.log());
    assert_eq!(file_state(&env.secret_path()).marks[1], Some(3));
    // The skipped codes and the used one are refused from now on ...
    for counter in 0..=3 {
        refused(
            &env,
            "totp",
            &oathtool_hotp(HOTP_KEY, counter, &[]),
            &format!("counter {counter} after 3 was used"),
        );
    }
    assert_eq!(file_state(&env.secret_path()).marks[1], Some(3));
    // ... and the next one passes.
    accepted(&env, "totp", &oathtool_hotp(HOTP_KEY, 4, &[]), "counter 4");
    assert_eq!(file_state(&env.secret_path()).marks[1], Some(4));
}

#[test]
fn hotp_window_bounds_the_look_ahead() {
    let env = phone_and_fob();
    env.service(
        "narrow",
        "auth required @MODULE@ secret=@SECRET@ hotp_window=2 rate_limit=100/30\n",
    );
    // Default 10: counters 0 to 9 are looked at, 10 is not.
    refused(
        &env,
        "totp",
        &oathtool_hotp(HOTP_KEY, 10, &[]),
        "counter 10 is beyond the default look-ahead",
    );
    assert!(env.log().contains("reason=wrong code"), "{}", env.log());
    assert_eq!(file_state(&env.secret_path()).marks[1], None);
    accepted(&env, "totp", &oathtool_hotp(HOTP_KEY, 9, &[]), "counter 9");
    // hotp_window=2 from next counter 10: 10 and 11 are looked at, 12 is not.
    refused(
        &env,
        "narrow",
        &oathtool_hotp(HOTP_KEY, 12, &[]),
        "counter 12 with hotp_window=2",
    );
    accepted(
        &env,
        "narrow",
        &oathtool_hotp(HOTP_KEY, 11, &[]),
        "counter 11",
    );
    assert_eq!(file_state(&env.secret_path()).marks[1], Some(11));
    // hotp_window=2 from 12: 13 is looked at, so 13 passes where 14 would not.
    refused(&env, "narrow", &oathtool_hotp(HOTP_KEY, 14, &[]), "14");
    accepted(&env, "narrow", &oathtool_hotp(HOTP_KEY, 13, &[]), "13");
}

#[test]
fn replay_is_per_token() {
    let env = Env::new();
    env.write_secret(&tokens_toml(
        &[
            TestToken::totp("phone", KEY),
            TestToken::totp("spare", SPARE_KEY),
            TestToken::hotp("fob", HOTP_KEY),
        ],
        &[],
    ));
    env.service("totp", SERVICE);
    wait_for_fresh_step(30);
    let t = now();
    accepted(&env, "totp", &oathtool(KEY, &[], t), "phone");
    // The phone's step is used; the spare's code for the same step is not.
    refused(&env, "totp", &oathtool(KEY, &[], t), "phone again");
    assert!(
        env.log().contains("token=phone") && env.log().contains("reason=replayed code"),
        "{}",
        env.log()
    );
    accepted(
        &env,
        "totp",
        &oathtool(SPARE_KEY, &[], t),
        "spare, same step",
    );
    assert!(
        env.log().contains("drift_steps=0 token=spare"),
        "{}",
        env.log()
    );
    refused(&env, "totp", &oathtool(SPARE_KEY, &[], t), "spare again");
    // An older step of the spare is refused too once a newer one was used there ...
    refused(
        &env,
        "totp",
        &oathtool(SPARE_KEY, &[], t - 30),
        "spare older",
    );
    // ... and the HOTP token is untouched by both.
    accepted(&env, "totp", &oathtool_hotp(HOTP_KEY, 0, &[]), "fob");
    let state = file_state(&env.secret_path());
    assert_eq!(
        state.marks,
        [Some(t / 30), Some(t / 30), Some(0)],
        "{state:?}"
    );
    // The phone's next step still works.
    accepted(&env, "totp", &oathtool(KEY, &[], t + 30), "phone next step");
}

/// Four logins with a wrong code under the default limit (3 checks per 30 s): three codes are
/// checked, the fourth is refused unchecked, and then so is the right code.
fn tries_before_the_limit(tokens: &[TestToken]) -> (usize, usize) {
    let env = Env::new();
    env.write_secret(&tokens_toml(tokens, &[]));
    env.service("limited", "auth required @MODULE@ secret=@SECRET@\n");
    // A six-digit code that is none of the tokens' codes now (or next in HOTP): the HOTP keys
    // are fixed, the TOTP ones change with time, so check against oathtool.
    let t = now();
    let wrong = (0..)
        .map(|n| format!("{:06}", 123_457 * n % 1_000_000))
        .find(|c| {
            tokens.iter().all(|tok| {
                if tok.hotp {
                    (0..20).all(|k| &oathtool_hotp(tok.secret, k, &[]) != c)
                } else {
                    [t - 30, t, t + 30, t + 60]
                        .iter()
                        .all(|at| &oathtool(tok.secret, &[], *at) != c)
                }
            })
        })
        .unwrap();
    for _ in 0..4 {
        refused(&env, "limited", &wrong, "a wrong code");
    }
    let right = oathtool(tokens[0].secret, &[], now());
    refused(&env, "limited", &right, "the right code over the limit");
    let log = env.log();
    assert_eq!(
        file_state(&env.secret_path()).checks.len(),
        log.matches("reason=wrong code").count()
    );
    (
        log.matches("reason=wrong code").count(),
        log.matches("rate limit of 3 checks per 30 s reached")
            .count(),
    )
}

#[test]
fn the_rate_limit_counts_checks_not_tokens() {
    let one = tries_before_the_limit(&[TestToken::totp("phone", KEY)]);
    let five = tries_before_the_limit(&[
        TestToken::totp("phone", KEY),
        TestToken::totp("spare", SPARE_KEY),
        TestToken::hotp("fob", HOTP_KEY),
        TestToken::totp("laptop", "ONSWG4TFORTGK3TUN5ZGK3TUN5ZGK3TU"),
        TestToken::hotp("safe", "GEYTEMZUGU3DOOBZGAYTEMZUGU3DOOBZ"),
    ]);
    assert_eq!(one, (3, 2), "one token: 3 checks, then refused unchecked");
    assert_eq!(five, one, "five tokens give no more tries than one");
}

#[test]
fn a_version_2_file_keeps_its_format_after_logins() {
    use pam_totp_core::secret::TotpSecret;
    use pam_totp_core::secret_file::{Algorithm, SecretFile};
    let env = Env::new();
    let mut file = SecretFile::new(
        TotpSecret::from_base32(KEY).unwrap(),
        Algorithm::SHA1,
        6,
        30,
    );
    file.recovery =
        vec![
            pam_totp_core::recovery::RecoveryHash::parse(&recovery_hash("abcde-fghjk", [1; 16]))
                .unwrap(),
        ];
    env.write_secret(&file.to_toml().unwrap());
    env.service("totp", SERVICE);
    let before = std::fs::read(env.secret_path()).unwrap();
    assert!(String::from_utf8_lossy(&before).contains("\nversion = 2\n"));
    wait_for_fresh_step(30);
    accepted(&env, "totp", &oathtool(KEY, &[], now()), "a code");
    assert!(
        env.log().contains("drift_steps=0 token=default"),
        "{}",
        env.log()
    );
    refused(&env, "totp", "000000", "a wrong code");
    let after = std::fs::read(env.secret_path()).unwrap();
    assert_eq!(
        settings_part(&after),
        settings_part(&before),
        "logins changed the settings of a version-2 file"
    );
    assert_eq!(after.len(), before.len());
    // A recovery code rewrites the file, still as version 2.
    accepted(&env, "totp", "abcde-fghjk", "the recovery code");
    let text = text(&env);
    assert!(
        text.contains("\nversion = 2\n") && !text.contains("[[token]]"),
        "{text}"
    );
    assert!(text.contains("recovery_codes = []"), "{text}");
}

#[test]
fn a_version_3_file_stays_version_3_after_logins() {
    let env = phone_and_fob();
    let before = std::fs::read(env.secret_path()).unwrap();
    wait_for_fresh_step(30);
    accepted(&env, "totp", &oathtool(KEY, &[], now()), "TOTP");
    accepted(&env, "totp", &oathtool_hotp(HOTP_KEY, 0, &[]), "HOTP");
    refused(&env, "totp", "000000", "wrong");
    let after = std::fs::read(env.secret_path()).unwrap();
    assert_eq!(settings_part(&after), settings_part(&before));
    accepted(&env, "totp", "abcde-fghjk", "the recovery code");
    let text = text(&env);
    assert!(text.contains("\nversion = 3\n"), "{text}");
    assert!(text.contains("recovery_codes = []"), "{text}");
    assert_eq!(token_names(&env), ["phone", "fob"]);
    let state = file_state(&env.secret_path());
    assert_eq!(state.marks[1], Some(0), "the HOTP counter kept: {state:?}");
    assert!(state.marks[0].is_some(), "{state:?}");
}
