//! `remember=`: a successful code from a remote host lets the same user in from that host,
//! without a code, for the duration; never without PAM_RHOST, never from another host, never
//! after the duration; only successful codes are remembered.

use super::*;

const HOST: &str = "198.51.100.7";

fn from(mut env: Env, host: Option<&str>) -> Env {
    env.pam.rhost = host.map(str::to_string);
    env
}

#[test]
fn a_host_that_gave_a_code_is_remembered_for_the_duration() {
    let mut env = from(Env::enrolled(), Some(HOST)).answers(&[&code(0)]);
    assert_eq!(env.run(&["remember=12h"]), Verdict::Success);
    let remembered = env.record().state.remembered;
    assert_eq!(remembered.len(), 1);
    assert_eq!((remembered[0].host.as_str(), remembered[0].at), (HOST, NOW));

    // An hour later from the same host: in without a prompt, logged with the host and age.
    env.pam.prompts.clear();
    let before = env.record();
    assert_eq!(env.run_at(&["remember=12h"], NOW + 3600), Verdict::Success);
    assert!(env.pam.prompts.is_empty(), "{:?}", env.pam.prompts);
    assert!(env.logged(
        Level::Info,
        "second factor not required; user=alice rhost=198.51.100.7 reason=remembered host (a code was given from it 3600 s ago, remember=43200 s)"
    ));
    assert_eq!(env.record(), before, "a remembered pass writes nothing");
}

#[test]
fn after_the_duration_or_from_another_host_a_code_is_asked() {
    let mut env = from(Env::enrolled(), Some(HOST)).answers(&[&code(0)]);
    assert_eq!(env.run(&["remember=30m"]), Verdict::Success);
    // 30 minutes later: asked again (the answer runs out: refused).
    assert_eq!(env.run_at(&["remember=30m"], NOW + 1800), Verdict::AuthErr);
    assert_eq!(env.pam.prompts.len(), 2);
    // Another host, a minute later: asked.
    let mut other = from(Env::enrolled(), Some("203.0.113.9"));
    other.store = env.store.clone();
    assert_eq!(other.run_at(&["remember=30m"], NOW + 60), Verdict::AuthErr);
    assert_eq!(other.pam.prompts, [DEFAULT_PROMPT]);
}

#[test]
fn logins_without_a_remote_host_are_never_remembered() {
    let mut env = from(Env::enrolled(), None).answers(&[&code(0)]);
    assert_eq!(env.run(&["remember=12h"]), Verdict::Success);
    assert!(env.record().state.remembered.is_empty());
    let mut blank = from(Env::enrolled(), Some("  ")).answers(&[&code(0)]);
    assert_eq!(blank.run(&["remember=12h"]), Verdict::Success);
    assert!(blank.record().state.remembered.is_empty());
}

/// A login "from" this machine (a port forward, a web terminal, a screen locker that sets
/// PAM_RHOST) is never remembered: every local user with a password would get the pass.
#[test]
fn this_machine_is_never_remembered() {
    for host in ["127.0.0.1", "::1", "localhost", "box", "box.example.org"] {
        let mut env = from(Env::enrolled(), Some(host)).answers(&[&code(0)]);
        assert_eq!(env.run(&["remember=12h"]), Verdict::Success, "{host}");
        assert!(env.record().state.remembered.is_empty(), "{host}");
        assert_eq!(
            env.run_at(&["remember=12h"], NOW + 60),
            Verdict::AuthErr,
            "{host}"
        );
    }
}

#[test]
fn failed_codes_are_not_remembered_and_without_the_option_nothing_is() {
    let mut env = from(Env::enrolled(), Some(HOST)).answers(&[&wrong_code()]);
    assert_eq!(env.run(&["remember=12h"]), Verdict::AuthErr);
    assert!(env.record().state.remembered.is_empty());
    let mut plain = from(Env::enrolled(), Some(HOST)).answers(&[&code(0)]);
    assert_eq!(plain.run(&[]), Verdict::Success);
    assert!(plain.record().state.remembered.is_empty());
    // A host remembered earlier does not count on a line without remember=.
    let mut env = from(Env::enrolled(), Some(HOST)).answers(&[&code(0)]);
    assert_eq!(env.run(&["remember=12h"]), Verdict::Success);
    assert_eq!(env.run_at(&[], NOW + 60), Verdict::AuthErr);
}

#[test]
fn a_recovery_code_is_remembered_like_a_code() {
    let mut env = from(Env::enrolled(), Some(HOST)).answers(&[RECOVERY[0]]);
    assert_eq!(env.run(&["remember=1d"]), Verdict::Success);
    assert_eq!(env.record().state.remembered.len(), 1);
}

#[test]
fn bad_values_and_forward_pass_are_configuration_errors() {
    for args in [
        &["remember=91d"][..],
        &["remember=12"],
        &["remember"],
        &["remember=1h", "remember=2h"],
        &["remember=1h", "forward_pass"],
    ] {
        let mut env = from(Env::enrolled(), Some(HOST));
        assert_eq!(env.run(args), Verdict::ServiceErr, "{args:?}");
        assert!(env.pam.prompts.is_empty());
    }
}
