//! Code checking through real libpam: right, wrong, neighbouring steps, replay, algorithms,
//! digits, periods, recovery codes. Codes come from oathtool.

use pam_totp_tests::*;

const BASIC: &str = "auth required @MODULE@ secret=@SECRET@ rate_limit=100/30\n";

fn basic_env() -> Env {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service("totp", BASIC);
    env
}

#[test]
fn oathtool_agrees_with_rfc6238_vectors() {
    // Our codes come from oathtool; check oathtool itself against RFC 6238 appendix B.
    assert_eq!(oathtool(RFC_SHA1_KEY, &["-d", "8"], 59), "94287082");
    assert_eq!(
        oathtool(RFC_SHA1_KEY, &["-d", "8"], 1_111_111_109),
        "07081804"
    );
    assert_eq!(
        oathtool(RFC_SHA1_KEY, &["-d", "8"], 20_000_000_000),
        "65353130"
    );
    assert_eq!(oathtool("2SH3V3GDW7ZNMGYE", &[], 300_000), "050548");
}

#[test]
fn right_code_is_accepted_and_logged() {
    let env = basic_env();
    let code = oathtool(KEY, &[], now());
    let login = env.login("totp", &[&code]);
    assert!(login.ok(), "{login:?}\n{}", env.log());
    assert_eq!(login.prompts(), vec!["Verification code: "]);
    let log = env.log();
    assert!(
        log.contains(&format!(
            "pam_totp(totp:auth): accepted verification code; user={}",
            env.user
        )),
        "{log}"
    );
    // authpriv (10 << 3) + info (6)
    assert!(
        log.lines()
            .any(|l| l.starts_with("86 pam_totp(totp:auth): accepted")),
        "{log}"
    );
}

#[test]
fn wrong_code_is_refused_with_a_fail_delay() {
    let env = basic_env();
    let code = oathtool(KEY, &[], now());
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let login = env.login("totp", &[&wrong]);
    assert_eq!(login.rc, rc::AUTH_ERR, "{login:?}");
    assert!(
        login.fail_delay().unwrap() >= 1_000_000,
        "pam_fail_delay was requested: {login:?}"
    );
    let log = env.log();
    assert!(
        log.contains("authentication failure; user=") && log.contains("reason=wrong code"),
        "{log}"
    );
    assert!(!log.contains(&wrong), "the code must not be logged: {log}");
}

#[test]
fn previous_and_next_steps_are_accepted() {
    for offset in [-30i64, 30] {
        let env = basic_env();
        wait_for_fresh_step(30);
        let at = (now() as i64 + offset) as u64;
        let login = env.login("totp", &[&oathtool(KEY, &[], at)]);
        assert!(login.ok(), "offset {offset}: {login:?}\n{}", env.log());
        let drift = if offset < 0 {
            "drift_steps=-1"
        } else {
            "drift_steps=1"
        };
        assert!(env.log().contains(drift), "{}", env.log());
    }
}

#[test]
fn two_steps_off_is_refused() {
    for offset in [-60i64, 60, 90] {
        let env = basic_env();
        wait_for_fresh_step(30);
        let at = (now() as i64 + offset) as u64;
        let login = env.login("totp", &[&oathtool(KEY, &[], at)]);
        assert_eq!(login.rc, rc::AUTH_ERR, "offset {offset}: {login:?}");
    }
}

#[test]
fn window_option_widens_and_narrows() {
    let env = basic_env();
    env.service(
        "wide",
        "auth required @MODULE@ secret=@SECRET@ window=3 rate_limit=100/30\n",
    );
    env.service(
        "narrow",
        "auth required @MODULE@ secret=@SECRET@ window=0 rate_limit=100/30\n",
    );
    wait_for_fresh_step(30);
    let t = now();
    assert!(env.login("wide", &[&oathtool(KEY, &[], t - 90)]).ok());
    assert_eq!(
        env.login("narrow", &[&oathtool(KEY, &[], t + 30)]).rc,
        rc::AUTH_ERR
    );
    assert!(env.login("narrow", &[&oathtool(KEY, &[], t)]).ok());
}

#[test]
fn a_code_is_accepted_once() {
    let env = basic_env();
    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());
    assert!(env.login("totp", &[&code]).ok());
    let again = env.login("totp", &[&code]);
    assert_eq!(again.rc, rc::AUTH_ERR, "replay accepted: {again:?}");
    assert!(env.log().contains("reason=replayed code"), "{}", env.log());
    // An older code inside the window is refused too once a newer one was used.
    let older = oathtool(KEY, &[], now() - 30);
    assert_eq!(env.login("totp", &[&older]).rc, rc::AUTH_ERR);
    // The next step's code still works.
    assert!(env.login("totp", &[&oathtool(KEY, &[], now() + 30)]).ok());
}

#[test]
fn algorithms_digits_and_periods() {
    let cases: &[(&str, u8, u64, &[&str])] = &[
        ("SHA1", 8, 30, &["-d", "8"]),
        ("SHA256", 6, 30, &["--totp=sha256"]),
        ("SHA512", 8, 30, &["--totp=sha512", "-d", "8"]),
        ("SHA1", 6, 60, &["-s", "60"]),
        ("SHA256", 8, 45, &["--totp=sha256", "-d", "8", "-s", "45"]),
    ];
    for &(algo, digits, period, args) in cases {
        let env = Env::new();
        env.write_secret(&secret_toml(KEY, algo, digits, period, &[]));
        env.service("totp", BASIC);
        wait_for_fresh_step(period);
        let code = oathtool(KEY, args, now());
        assert_eq!(code.len(), usize::from(digits));
        let login = env.login("totp", &[&code]);
        assert!(
            login.ok(),
            "{algo}/{digits}/{period}: {login:?}\n{}",
            env.log()
        );
        // A SHA1 code does not pass for another algorithm.
        if algo != "SHA1" {
            let sha1 = oathtool(
                KEY,
                &["-d", &digits.to_string(), "-s", &period.to_string()],
                now() + period,
            );
            assert_eq!(env.login("totp", &[&sha1]).rc, rc::AUTH_ERR, "{algo}");
        }
    }
}

#[test]
fn base32_as_apps_write_it() {
    let env = Env::new();
    let spaced = "jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp";
    env.write_secret(&secret_toml(spaced, "SHA1", 6, 30, &[]));
    env.service("totp", BASIC);
    assert!(
        env.login("totp", &[&oathtool(KEY, &[], now())]).ok(),
        "{}",
        env.log()
    );
}

#[test]
fn recovery_code_works_once() {
    let env = Env::new();
    env.enroll(KEY, &["abcde-fghjk", "mnpqr-stvwx"]);
    env.service("totp", BASIC);
    let first = env.login("totp", &["abcde-fghjk"]);
    assert!(first.ok(), "{first:?}\n{}", env.log());
    assert!(
        env.log().contains("accepted recovery code; user=")
            && env.log().contains("recovery_codes_left=1")
    );
    assert_eq!(
        env.login("totp", &["abcde-fghjk"]).rc,
        rc::AUTH_ERR,
        "recovery code reused"
    );
    // Typed without the dash and in capitals.
    assert!(env.login("totp", &["MNPQRSTVWX"]).ok());
    assert_eq!(env.login("totp", &["mnpqr-stvwx"]).rc, rc::AUTH_ERR);
    let file = std::fs::read_to_string(env.secret_path()).unwrap();
    assert!(file.contains("recovery_codes = []"), "{file}");
    assert!(
        !env.log().contains("abcde") && !env.log().contains("mnpqr"),
        "{}",
        env.log()
    );
}

#[test]
fn custom_and_default_prompts() {
    let env = basic_env();
    env.service(
        "custom",
        "auth required @MODULE@ secret=@SECRET@ prompt=One-time_code:_\n",
    );
    let login = env.login("custom", &["000000"]);
    assert_eq!(login.prompts(), vec!["One-time code: "]);
}

#[test]
fn setcred_succeeds() {
    let env = basic_env();
    let code = oathtool(KEY, &[], now());
    let login = env.run(&Run {
        service: "totp",
        answers: &[&code],
        extra: &["--setcred"],
        ..Run::default()
    });
    assert!(login.ok());
    assert!(login.lines.iter().any(|l| l == "SETCRED 0"), "{login:?}");
}

#[test]
fn logs_never_contain_the_secret() {
    let env = basic_env();
    env.service(
        "dbg",
        "auth required @MODULE@ secret=@SECRET@ debug rate_limit=100/30\n",
    );
    let code = oathtool(KEY, &[], now());
    env.login("dbg", &["123"]);
    env.login("dbg", &[&code]);
    env.login("dbg", &[&code]);
    let log = env.log();
    assert!(log.contains("accepted verification code"), "{log}");
    for needle in [KEY.to_string(), KEY.to_lowercase(), code] {
        assert!(
            !log.contains(&needle),
            "{needle} leaked into the log:\n{log}"
        );
    }
}
