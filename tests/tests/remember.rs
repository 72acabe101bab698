//! `remember=DURATION` through real libpam: a code given from a remote host (PAM_RHOST) lets
//! the same user in from that host without one; another host, no host, or a line without the
//! option asks; the host is kept in the user's file, and removing the file forgets it.

use pam_totp_tests::*;

const HOST: &str = "198.51.100.7";

fn login_from(env: &Env, host: Option<&str>, answers: &[&str]) -> Login {
    let extra: Vec<&str> = host.map(|h| vec!["--rhost", h]).unwrap_or_default();
    env.run(&Run {
        service: "t",
        answers,
        extra: &extra,
        ..Run::default()
    })
}

#[test]
fn a_host_that_gave_a_code_needs_none_for_the_duration() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service("t", "auth required @MODULE@ secret=@SECRET@ remember=1h\n");
    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());
    let first = login_from(&env, Some(HOST), &[&code]);
    assert!(first.ok(), "{first:?}\n{}", env.log());
    let state = file_state(&env.secret_path());
    assert_eq!(state.remembered.len(), 1, "{state:?}");
    assert_eq!(state.remembered[0].host, HOST);

    // No answer to give: in only because the host is remembered.
    let again = login_from(&env, Some(HOST), &[]);
    assert!(again.ok(), "{again:?}\n{}", env.log());
    assert!(again.prompts().is_empty(), "{again:?}");
    assert!(
        env.log().contains(&format!(
            "second factor not required; user={} rhost={HOST} reason=remembered host (a code was given from it",
            env.user
        )),
        "{}",
        env.log()
    );

    // Another host, no host at all, and a line without remember= are asked (and refused).
    for host in [Some("203.0.113.9"), None] {
        let other = login_from(&env, host, &[]);
        assert_eq!(other.rc, rc::AUTH_ERR, "{host:?}: {other:?}");
        assert_eq!(other.prompts().len(), 1, "{host:?}: {other:?}");
    }
    env.service("t", "auth required @MODULE@ secret=@SECRET@\n");
    assert_eq!(login_from(&env, Some(HOST), &[]).rc, rc::AUTH_ERR);

    // Removing the file forgets everything: enrolled again, the host is asked.
    env.service("t", "auth required @MODULE@ secret=@SECRET@ remember=1h\n");
    std::fs::remove_file(env.secret_path()).unwrap();
    env.enroll(KEY, &[]);
    assert_eq!(login_from(&env, Some(HOST), &[]).rc, rc::AUTH_ERR);
}

#[test]
fn a_wrong_code_is_not_remembered() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service("t", "auth required @MODULE@ secret=@SECRET@ remember=12h\n");
    let wrong = oathtool(KEY, &[], now() + 600);
    assert_eq!(login_from(&env, Some(HOST), &[&wrong]).rc, rc::AUTH_ERR);
    assert!(file_state(&env.secret_path()).remembered.is_empty());
    assert_eq!(login_from(&env, Some(HOST), &[]).rc, rc::AUTH_ERR);
}

#[test]
fn this_machine_is_never_remembered() {
    let env = Env::new();
    env.enroll(KEY, &[]);
    env.service("t", "auth required @MODULE@ secret=@SECRET@ remember=12h\n");
    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());
    let login = login_from(&env, Some("127.0.0.1"), &[&code]);
    assert!(login.ok(), "{login:?}\n{}", env.log());
    assert!(file_state(&env.secret_path()).remembered.is_empty());
    assert_eq!(login_from(&env, Some("127.0.0.1"), &[]).rc, rc::AUTH_ERR);
}
