//! Module options and their place in a PAM stack: nullok, forward_pass, use_first_pass,
//! try_first_pass, rate_limit, unknown options, conversation failures.

use pam_totp_tests::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;

#[test]
fn nullok_ignores_users_without_a_file() {
    let env = Env::new();
    env.service(
        "nullok",
        "auth required @MODULE@ secret=@SECRET@ nullok\nauth required pam_permit.so\n",
    );
    let login = env.login("nullok", &[]);
    assert!(login.ok(), "{login:?}\n{}", env.log());
    assert!(
        login.prompts().is_empty(),
        "a user without a file is not asked: {login:?}"
    );
    // Alone in the stack, PAM_IGNORE cannot grant access.
    env.service("alone", "auth required @MODULE@ secret=@SECRET@ nullok\n");
    assert_ne!(env.login("alone", &[]).rc, rc::SUCCESS);
}

#[test]
fn nullok_still_asks_enrolled_users() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service(
        "nullok",
        "auth required @MODULE@ secret=@SECRET@ nullok\nauth required pam_permit.so\n",
    );
    let wrong = env.login("nullok", &["000000"]);
    assert_eq!(wrong.rc, rc::AUTH_ERR);
    assert_eq!(wrong.prompts(), vec!["Verification code: "]);
    assert!(env.login("nullok", &[&oathtool(KEY, &[], now())]).ok());
}

#[test]
fn without_nullok_a_missing_file_fails_after_the_same_prompt() {
    let env = Env::new();
    env.service(
        "strict",
        "auth required @MODULE@ secret=@SECRET@\nauth required pam_permit.so\n",
    );
    let login = env.login("strict", &["123456"]);
    assert_eq!(login.rc, rc::AUTH_ERR);
    assert_eq!(
        login.prompts(),
        vec!["Verification code: "],
        "same prompt as an enrolled user"
    );
    assert!(env.log().contains("not enrolled"), "{}", env.log());
}

#[test]
fn unknown_user_fails_like_a_wrong_code() {
    let env = Env::new();
    env.service("strict", "auth required @MODULE@ secret=@SECRET@\n");
    let login = env.run(&Run {
        service: "strict",
        answers: &["123456"],
        user: Some("no-such-user-pam-totp"),
        ..Run::default()
    });
    assert_eq!(login.rc, rc::AUTH_ERR);
    assert_eq!(login.prompts(), vec!["Verification code: "]);
}

/// A stand-in for pam_unix: a pam_exec script that records PAM_AUTHTOK in `seen` and accepts
/// it only when it is `password`. Returns the pam.d line (control `requisite`, as shipped).
fn password_line(env: &Env, password: &str) -> String {
    let seen = env.dir.path().join("authtok-seen");
    let script = env.dir.path().join("check-password.sh");
    fs::write(
        &script,
        "#!/bin/sh\ntr -d '\\000' > \"$1\"\n[ \"$(cat \"$1\")\" = \"$2\" ]\n",
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o700)).unwrap();
    format!(
        "auth requisite pam_exec.so expose_authtok quiet {} {} {password}\n",
        script.display(),
        seen.display()
    )
}

/// What the password module was handed last.
fn authtok_seen(env: &Env) -> String {
    fs::read_to_string(env.dir.path().join("authtok-seen")).unwrap_or_default()
}

/// The shipped OpenVPN stack (packaging/pam.d/openvpn) with this environment's secret
/// template and `options` on the forward_pass line, and `password_line` for pam_unix.
fn openvpn_stack(env: &Env, options: &str) -> String {
    let shipped = shipped_stack("openvpn");
    let pam_unix = shipped
        .lines()
        .find(|l| l.contains("pam_unix.so use_first_pass"))
        .expect("the shipped stack checks the password with pam_unix")
        .to_string();
    assert!(pam_unix.contains("requisite"), "{pam_unix}");
    shipped
        .replace(&format!("{pam_unix}\n"), &password_line(env, "s3cretpass"))
        .replace(
            "forward_pass",
            &format!("forward_pass secret=@SECRET@ {options}"),
        )
        .replace(
            "account    required    pam_unix.so",
            "account required pam_permit.so",
        )
}

#[test]
fn forward_pass_hands_the_password_on_and_checks_the_code_after_it() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service("fwd", &openvpn_stack(&env, ""));
    let code = oathtool(KEY, &[], now());
    let login = env.login("fwd", &[&format!("s3cretpass{code}")]);
    assert!(login.ok(), "{login:?}\n{}", env.log());
    assert_eq!(login.prompts(), vec!["Password & verification code: "]);
    assert_eq!(
        authtok_seen(&env),
        "s3cretpass",
        "PAM_AUTHTOK for the next module"
    );
    assert!(
        env.log().contains("accepted verification code"),
        "{}",
        env.log()
    );

    // A wrong code fails even though the password module is happy.
    let wrong = env.login("fwd", &["s3cretpass000000"]);
    assert_eq!(wrong.rc, rc::AUTH_ERR);
    assert!(env.log().contains("reason=wrong code"), "{}", env.log());
}

#[test]
fn forward_pass_a_wrong_password_never_reaches_the_code() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service("fwd", &openvpn_stack(&env, ""));
    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());
    // More wrong passwords than the rate limit allows checks, the last with the right code.
    for attempt in ["notthepassword000000", "x111111", "y222222", "nope333333"] {
        let login = env.login("fwd", &[attempt]);
        assert!(!login.ok(), "{attempt}");
    }
    let login = env.login("fwd", &[&format!("wrongpass{code}")]);
    assert!(!login.ok());
    assert_eq!(authtok_seen(&env), "wrongpass");
    let log = env.log();
    assert!(
        !log.contains("pam_totp(fwd:auth): authentication failure"),
        "{log}"
    );
    // Nothing was counted or used up: the right password with the same code gets in.
    let login = env.login("fwd", &[&format!("s3cretpass{code}")]);
    assert!(login.ok(), "{login:?}\n{}", env.log());
    // One check recorded: the right one.
    let state = file_state(&env.secret_path());
    assert_eq!(state.checks.len(), 1, "{state:?}");
}

/// Runs the current user through `service` with pam_acct_mgmt after authentication, as
/// OpenVPN's plugin does.
fn login_with_account(env: &Env, service: &str, answer: &str) -> Login {
    env.run(&Run {
        service,
        answers: &[answer],
        extra: &["--acct"],
        ..Run::default()
    })
}

/// The account result of a login run with `--acct`.
fn account_rc(login: &Login) -> Option<i32> {
    login
        .lines
        .iter()
        .find_map(|l| l.strip_prefix("ACCT ").and_then(|v| v.parse().ok()))
}

#[test]
fn forward_pass_without_an_effective_check_line_fails_closed_in_the_account_stack() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    // The check_forwarded line forgotten; the shipped account line of pam_totp kept.
    let forgotten: String = openvpn_stack(&env, "")
        .lines()
        .filter(|l| !l.contains("check_forwarded") || l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    // Or present but not "required": a wrong code does not stop authentication.
    let optional = openvpn_stack(&env, "").replace(
        "auth       required    @MODULE@ check_forwarded",
        "auth       optional    @MODULE@ check_forwarded",
    );
    assert_ne!(
        optional,
        openvpn_stack(&env, ""),
        "the shipped check line moved"
    );
    for (service, text) in [("forgotten", &forgotten), ("optional", &optional)] {
        env.service(service, text);
        let login = login_with_account(&env, service, "s3cretpass000000");
        assert!(
            login.ok(),
            "{service}: authentication alone passes: {login:?}"
        );
        assert_eq!(
            account_rc(&login),
            Some(rc::PERM_DENIED),
            "{service}: {login:?}"
        );
    }
    let log = env.log();
    assert_eq!(log.matches("account refused: user=").count(), 2, "{log}");
    // The right code through the shipped stack: the account line does not get in the way.
    env.service("shipped", &openvpn_stack(&env, ""));
    let code = oathtool(KEY, &[], now());
    let login = login_with_account(&env, "shipped", &format!("s3cretpass{code}"));
    assert_eq!(
        account_rc(&login),
        Some(rc::SUCCESS),
        "{login:?}\n{}",
        env.log()
    );
}

#[test]
fn forward_pass_without_its_check_line_is_loud_on_every_login() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    // The two-line stack of older releases: no check line, and no pam_totp account line.
    let stack: String = openvpn_stack(&env, "")
        .lines()
        .filter(|l| !l.contains("check_forwarded") || l.starts_with('#'))
        .filter(|l| !(l.starts_with("account") && l.contains("@MODULE@")))
        .map(|l| format!("{l}\n"))
        .collect();
    env.service("fwd", &stack);
    for _ in 0..2 {
        let login = env.login("fwd", &["s3cretpass000000"]);
        assert!(login.ok(), "the stack decides without pam_totp: {login:?}");
    }
    let log = env.log();
    assert_eq!(
        log.matches("pam_totp(fwd:auth): SECOND FACTOR NOT CHECKED: user=")
            .count(),
        2,
        "{log}"
    );
    assert!(!log.contains("000000"), "{log}");
    // A failed login (wrong password) is not an alarm.
    let login = env.login("fwd", &["wrong000000"]);
    assert!(!login.ok());
    assert_eq!(env.log().matches("SECOND FACTOR NOT CHECKED").count(), 2);
}

#[test]
fn check_forwarded_without_forward_pass_fails_closed() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service(
        "chk",
        "auth required pam_permit.so\nauth required @MODULE@ check_forwarded\n",
    );
    let login = env.login("chk", &[]);
    assert_eq!(login.rc, rc::AUTH_ERR);
    assert!(login.prompts().is_empty(), "{login:?}");
    assert!(
        env.log().contains("check_forwarded: no code was kept"),
        "{}",
        env.log()
    );
    // Its options come from the forward_pass line: any other option is a configuration error.
    env.service(
        "chk2",
        "auth required @MODULE@ secret=@SECRET@ forward_pass\nauth required @MODULE@ check_forwarded nullok\n",
    );
    let login = env.login("chk2", &["s3cretpass000000"]);
    assert_eq!(login.rc, rc::SERVICE_ERR);
    assert!(env.log().contains("move it there"), "{}", env.log());
}

#[test]
fn forward_pass_with_a_recovery_code() {
    let env = Env::new();
    env.enroll(KEY, &["abcde-fghjk"]);
    env.service("fwd", &openvpn_stack(&env, ""));
    assert!(
        env.login("fwd", &["s3cretpassabcde-fghjk"]).ok(),
        "{}",
        env.log()
    );
    assert_eq!(authtok_seen(&env), "s3cretpass");
}

#[test]
fn forward_pass_nullok_passes_the_whole_field_on() {
    let env = Env::new();
    env.service("fwd", &openvpn_stack(&env, "nullok"));
    let login = env.login("fwd", &["s3cretpass"]);
    assert!(login.ok(), "{login:?}\n{}", env.log());
    assert_eq!(login.prompts(), vec!["Password: "]);
    assert_eq!(authtok_seen(&env), "s3cretpass");
    assert!(
        !env.log().contains("SECOND FACTOR NOT CHECKED"),
        "{}",
        env.log()
    );
    // Without nullok an unenrolled user is refused, after the password and without a prompt
    // that differs from an enrolled user's.
    env.service("strict", &openvpn_stack(&env, ""));
    let login = env.login("strict", &["s3cretpass123456"]);
    assert_eq!(login.rc, rc::AUTH_ERR);
    assert_eq!(login.prompts(), vec!["Password & verification code: "]);
    assert!(env.log().contains("reason=not enrolled"), "{}", env.log());
}

#[test]
fn use_first_pass_takes_the_code_from_an_earlier_module() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    // pam_unix asks "Password: " and stores the answer as PAM_AUTHTOK even when it fails.
    env.service(
        "ufp",
        "auth optional pam_unix.so\nauth required @MODULE@ secret=@SECRET@ use_first_pass\n",
    );
    let code = oathtool(KEY, &[], now());
    let login = env.login("ufp", &[&code]);
    assert!(login.ok(), "{login:?}\n{}", env.log());
    assert_eq!(login.prompts().len(), 1, "only pam_unix prompts: {login:?}");

    // Without an earlier module there is no PAM_AUTHTOK: fail, do not prompt.
    env.service(
        "alone",
        "auth required @MODULE@ secret=@SECRET@ use_first_pass\n",
    );
    let login = env.login("alone", &["123456"]);
    assert_eq!(login.rc, rc::AUTH_ERR);
    assert!(login.prompts().is_empty(), "{login:?}");
}

#[test]
fn try_first_pass_prompts_when_the_earlier_answer_is_not_a_code() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service(
        "tfp",
        "auth optional pam_unix.so\nauth required @MODULE@ secret=@SECRET@ try_first_pass\n",
    );
    let code = oathtool(KEY, &[], now());
    // The earlier answer is a password: the module asks for the code itself.
    let login = env.login("tfp", &["not a code", &code]);
    assert!(login.ok(), "{login:?}\n{}", env.log());
    assert_eq!(login.prompts().len(), 2);
    assert_eq!(login.prompts()[1], "Verification code: ");
    // The earlier answer is a code: no second prompt.
    let code = oathtool(KEY, &[], now() + 30);
    let login = env.login("tfp", &[&code]);
    assert!(login.ok(), "{login:?}");
    assert_eq!(login.prompts().len(), 1);
}

#[test]
fn try_first_pass_takes_only_the_exact_shape_of_a_code() {
    // Passwords that are 10 letters and digits, or digits of the other length, are not codes:
    // the user is asked for the code and can log in.
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service(
        "tfp",
        "auth optional pam_unix.so\nauth required @MODULE@ secret=@SECRET@ try_first_pass\n",
    );
    wait_for_fresh_step(30);
    let t = now();
    for (at, password) in [
        (t - 30, "Summer2024"),
        (t, "20242024"),
        (t + 30, "abcdefghjk"),
    ] {
        let code = oathtool(KEY, &[], at);
        let login = env.login("tfp", &[password, &code]);
        assert!(login.ok(), "{password}: {login:?}\n{}", env.log());
        assert_eq!(login.prompts().len(), 2, "{password}: {login:?}");
    }
    assert!(
        !env.log()
            .contains("pam_totp(tfp:auth): authentication failure"),
        "{}",
        env.log()
    );
}

#[test]
fn rate_limit_stops_checks_before_looking_at_the_code() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service("rl", "auth required @MODULE@ secret=@SECRET@\n");
    for _ in 0..3 {
        assert_eq!(env.login("rl", &["000000"]).rc, rc::AUTH_ERR);
    }
    let code = oathtool(KEY, &[], now());
    let blocked = env.login("rl", &[&code]);
    assert_eq!(
        blocked.rc,
        rc::AUTH_ERR,
        "the right code is refused while throttled"
    );
    assert!(
        blocked
            .errors()
            .iter()
            .any(|e| e.contains("Too many verification attempts")),
        "{blocked:?}"
    );
    let log = env.log();
    assert!(
        log.contains("rate limit of 3 checks per 30 s reached"),
        "{log}"
    );
    assert_eq!(log.matches("reason=wrong code").count(), 3);
    // The refused code was not consumed: it still works once the window has passed (simulated
    // by an administrator clearing the state: deleting and re-creating the file).
    env.enroll(KEY, &[]);
    assert!(env.login("rl", &[&code]).ok(), "{}", env.log());
}

#[test]
fn silent_flag_suppresses_messages() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service(
        "rl",
        "auth required @MODULE@ secret=@SECRET@ rate_limit=1/30\n",
    );
    env.login("rl", &["000000"]);
    let login = env.run(&Run {
        service: "rl",
        answers: &["000000"],
        extra: &["--silent"],
        ..Run::default()
    });
    assert_eq!(login.rc, rc::AUTH_ERR);
    assert!(login.errors().is_empty(), "{login:?}");
}

#[test]
fn deleting_the_file_clears_the_lockout() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service(
        "rl",
        "auth required @MODULE@ secret=@SECRET@ rate_limit=1/3600\n",
    );
    env.login("rl", &["000000"]);
    let code = oathtool(KEY, &[], now());
    assert_eq!(env.login("rl", &[&code]).rc, rc::AUTH_ERR, "locked out");
    fs::remove_file(env.secret_path()).unwrap();
    env.enroll(KEY, &[]);
    assert!(env.login("rl", &[&code]).ok(), "{}", env.log());
}

#[test]
fn misspelt_or_bad_options_fail_closed() {
    let env = Env::new();
    for opt in [
        "nulok",
        "window=99",
        "rate_limit=3",
        "secret=relative/%u",
        "use_first_pass forward_pass",
    ] {
        env.service(
            "bad",
            &format!("auth required @MODULE@ {opt}\nauth required pam_permit.so\n"),
        );
        let login = env.login("bad", &["123456"]);
        assert_eq!(login.rc, rc::SERVICE_ERR, "{opt}: {login:?}");
        assert!(login.prompts().is_empty(), "{opt}");
    }
    let log = env.log();
    assert!(
        log.contains("configuration error: unknown option \"nulok\""),
        "{log}"
    );
    assert!(
        log.lines().any(|l| l.starts_with("83 ")),
        "logged as an error: {log}"
    );
}

#[test]
fn conversation_failures_are_refusals() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service(
        "t",
        "auth required @MODULE@ secret=@SECRET@ rate_limit=100/30\n",
    );
    for extra in [&["--answer-fail"][..], &["--answer-null"][..], &[][..]] {
        let login = env.run(&Run {
            service: "t",
            extra,
            ..Run::default()
        });
        assert_eq!(login.rc, rc::AUTH_ERR, "{extra:?}: {login:?}");
    }
}

#[test]
fn codes_typed_with_spaces_are_accepted() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service("t", "auth required @MODULE@ secret=@SECRET@\n");
    let code = oathtool(KEY, &[], now());
    let spaced = format!(" {} {} ", &code[..3], &code[3..]);
    assert!(env.login("t", &[&spaced]).ok(), "{}", env.log());
}

#[test]
fn hostile_input_is_refused() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service(
        "t",
        "auth required @MODULE@ secret=@SECRET@ rate_limit=100/30\n",
    );
    let long = "1".repeat(100_000);
    for input in [
        "",
        "12345",
        "1234567",
        "abcdef",
        "%s%s%s%n",
        "123456\n654321",
        &long,
    ] {
        let login = env.login("t", &[input]);
        assert_eq!(login.rc, rc::AUTH_ERR, "{:.20}", input);
    }
}

#[test]
fn user_names_cannot_forge_log_lines() {
    let env = Env::new();
    env.service("t", "auth required @MODULE@ secret=@SECRET@\n");
    let evil = "x rhost=198.51.100.9\npam_totp(t:auth): accepted verification code; user=root";
    let login = env.run(&Run {
        service: "t",
        answers: &["123456"],
        user: Some(evil),
        ..Run::default()
    });
    assert_eq!(login.rc, rc::AUTH_ERR);
    let log = env.log();
    assert!(!log.contains("accepted verification code"), "{log}");
    assert!(!log.contains("rhost=198.51.100.9"), "{log}");
    assert!(log.contains("user=x?rhost?198.51.100.9?pam_totp"), "{log}");
}
