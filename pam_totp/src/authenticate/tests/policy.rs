//! The policy options, each rule both ways: `only_group=` and `skip_group=` (membership by
//! primary and supplementary group, skip_group winning, groups that do not exist, a group
//! database that does not answer) and the grace period `nullok_until=` with the clock on
//! both sides of its end.

use super::*;

/// alice's primary group.
const PRIMARY: u32 = 1000;

/// alice is in `alice` (primary, gid 1000) and `admins` (supplementary); `ops` and `svc`
/// exist without her.
fn with_groups(mut env: Env) -> Env {
    for (name, gid, members) in [
        ("alice", PRIMARY, &[][..]),
        ("admins", 2000, &["alice"][..]),
        ("ops", 3000, &["bob"][..]),
        ("svc", 4000, &[][..]),
    ] {
        let members = members.iter().map(|m| m.to_string()).collect();
        env.users.groups.insert(name.into(), (gid, members));
    }
    env
}

fn enrolled() -> Env {
    with_groups(Env::enrolled())
}

fn not_enrolled() -> Env {
    with_groups(Env::not_enrolled())
}

/// The line that says the second factor was not required, and why.
fn not_required(reason: &str) -> String {
    format!("second factor not required; user=alice rhost= reason={reason}")
}

#[test]
fn a_member_of_only_group_is_asked_by_supplementary_or_primary_group() {
    for group in ["admins", "alice", "ops,admins"] {
        let option = format!("only_group={group}");
        let mut env = enrolled().answers(&[&code(0)]);
        assert_eq!(env.run(&[&option]), Verdict::Success, "{option}");
        assert_eq!(env.pam.prompts, [DEFAULT_PROMPT]);
        assert!(!env.pam.lines().iter().any(|l| l.contains("not required")));

        // A member without a file is refused as without the option.
        let mut env = not_enrolled().answers(&[&code(0)]);
        assert_eq!(env.run(&[&option]), Verdict::AuthErr, "{option}");
        assert_eq!(env.pam.prompts, [DEFAULT_PROMPT]);
        assert!(env.logged(Level::Notice, "reason=not enrolled"));
    }
}

#[test]
fn outside_only_group_nobody_is_asked_and_no_file_is_looked_at() {
    for env in [enrolled(), not_enrolled()] {
        let mut env = env.answers(&[&code(0)]);
        assert_eq!(env.run(&["only_group=ops,svc"]), Verdict::Ignore);
        assert!(env.pam.prompts.is_empty());
        assert!(env.events().is_empty(), "{:?}", env.events());
        assert!(env.logged(
            Level::Info,
            &not_required("not a member of only_group=ops,svc")
        ));
        assert_eq!(env.pam.log.len(), 1, "{:?}", env.pam.log);
    }
}

#[test]
fn a_member_of_skip_group_is_not_asked_by_supplementary_or_primary_group() {
    for group in ["admins", "alice", "svc,admins"] {
        let option = format!("skip_group={group}");
        let mut env = enrolled().answers(&[&code(0)]);
        assert_eq!(env.run(&[&option]), Verdict::Ignore, "{option}");
        assert!(env.pam.prompts.is_empty());
        assert!(env.events().is_empty());
        let matched = group.rsplit(',').next().unwrap();
        let line = not_required(&format!("member of skip_group={matched}"));
        assert!(env.logged(Level::Info, &line), "{:?}", env.pam.log);
    }
}

#[test]
fn outside_skip_group_everyone_is_asked_as_usual() {
    let mut env = enrolled().answers(&[&code(0)]);
    assert_eq!(env.run(&["skip_group=ops,svc"]), Verdict::Success);
    assert_eq!(env.pam.prompts, [DEFAULT_PROMPT]);

    let mut env = not_enrolled().answers(&[&code(0)]);
    assert_eq!(env.run(&["skip_group=ops"]), Verdict::AuthErr);
    assert_eq!(env.pam.prompts, [DEFAULT_PROMPT]);
    assert!(env.logged(
        Level::Notice,
        "reason=not enrolled (/mock/alice.toml does not exist); run totp-enroll or add nullok"
    ));
}

#[test]
fn skip_group_wins_over_only_group() {
    let mut env = enrolled().answers(&[&code(0)]);
    assert_eq!(
        env.run(&["only_group=admins", "skip_group=alice"]),
        Verdict::Ignore
    );
    assert!(env.pam.prompts.is_empty());
    assert!(env.logged(Level::Info, &not_required("member of skip_group=alice")));

    // The same user in only_group and outside skip_group is asked.
    let mut env = enrolled().answers(&[&code(0)]);
    assert_eq!(
        env.run(&["only_group=admins", "skip_group=svc"]),
        Verdict::Success
    );
    assert_eq!(env.pam.prompts, [DEFAULT_PROMPT]);
}

#[test]
fn a_group_that_does_not_exist_is_a_configuration_error_for_everyone() {
    for (args, option) in [
        (&["only_group=admins,nosuch"][..], "only_group"),
        (&["skip_group=nosuch", "nullok"][..], "skip_group"),
        (&["only_group=ops", "skip_group=nosuch"][..], "skip_group"),
    ] {
        // Also for a user the rest of the line would exempt, and one without a file.
        for env in [enrolled(), not_enrolled()] {
            let mut env = env.answers(&[&code(0)]);
            assert_eq!(env.run(args), Verdict::ServiceErr, "{args:?}");
            let line = format!(
                "configuration error: group \"nosuch\" named in {option}= does not exist in the group database; create it or fix the pam.d line"
            );
            assert!(env.logged(Level::Error, &line), "{:?}", env.pam.log);
            assert!(env.pam.prompts.is_empty());
            assert!(env.events().is_empty());
        }
    }
}

/// glibc's getgrouplist leaves out the groups of a back end that is down without saying so:
/// the group entry's member list (looked up with errors reported) still makes alice a member
/// of only_group, so she is asked rather than let through.
#[test]
fn a_member_left_out_by_a_silently_failing_group_list_is_still_asked() {
    let mut env = enrolled().answers(&[&code(0)]);
    env.users.membership_silently_short = true;
    assert_eq!(env.run(&["only_group=admins"]), Verdict::Success);
    assert_eq!(env.pam.prompts, [DEFAULT_PROMPT]);
}

#[test]
fn a_group_database_that_does_not_answer_is_refused_even_with_nullok() {
    for (args, down) in [
        (&["only_group=admins"][..], "group"),
        (&["skip_group=svc", "nullok"][..], "group"),
        (&["only_group=ops"][..], "membership"),
        (&["skip_group=svc", "nullok"][..], "membership"),
    ] {
        let mut env = not_enrolled().answers(&[&code(0)]);
        match down {
            "group" => env.users.groups_down = true,
            _ => env.users.membership_down = true,
        }
        assert_eq!(env.run(args), Verdict::AuthErr, "{args:?} {down}");
        // Asked as an enrolled user would be; never exempt, never "not enrolled".
        assert_eq!(env.pam.prompts, [DEFAULT_PROMPT]);
        let why = match down {
            "group" => format!(
                "cannot look up group \"{}\" named in {}= in the group database: the directory server did not answer",
                args[0].split_once('=').unwrap().1,
                args[0].split_once('=').unwrap().0
            ),
            _ => "cannot list the user's groups in the group database: the directory server did not answer".into(),
        };
        let line = format!("refusing user=alice: {why}");
        assert!(env.logged(Level::Error, &line), "{:?}", env.pam.log);
        assert!(env
            .pam
            .lines()
            .iter()
            .all(|l| !l.contains("not enrolled") && !l.contains("not required")));
        assert_eq!(env.events(), [ASK_CODE]);
    }
}

#[test]
fn groups_are_looked_up_only_when_the_line_names_some() {
    let mut env = enrolled().answers(&[&code(0)]);
    assert_eq!(env.run(&[]), Verdict::Success);
    assert!(env.users.asked.borrow().is_empty());

    let mut env = enrolled().answers(&[&code(0)]);
    assert_eq!(env.run(&["only_group=admins"]), Verdict::Success);
    assert_eq!(*env.users.asked.borrow(), ["group admins", "groups alice"]);
}

#[test]
fn an_unknown_user_is_outside_only_group_and_not_in_skip_group() {
    let mut env = not_enrolled().answers(&["123456"]);
    env.pam.user = Ok("mallory".into());
    assert_eq!(env.run(&["only_group=admins"]), Verdict::Ignore);
    assert!(env.pam.prompts.is_empty());
    assert!(env.logged(
        Level::Info,
        "second factor not required; user=mallory rhost= reason=not a member of only_group=admins"
    ));

    let mut env = not_enrolled().answers(&["123456"]);
    env.pam.user = Ok("mallory".into());
    assert_eq!(env.run(&["skip_group=admins"]), Verdict::AuthErr);
    assert_eq!(env.pam.prompts, [DEFAULT_PROMPT]);
    assert!(env.logged(
        Level::Notice,
        "user=mallory rhost= reason=not enrolled (unknown user)"
    ));
}

#[test]
fn an_exempt_user_passes_whatever_the_state_of_his_file() {
    for stage in [Stage::Locate, Stage::Open] {
        let mut env = enrolled();
        env.store.shelf().refuse = Some(stage);
        assert_eq!(env.run(&["skip_group=admins"]), Verdict::Ignore);
        assert!(env.events().is_empty());
    }
}

#[test]
fn the_exemption_line_has_a_safe_host() {
    let mut env = enrolled();
    env.pam.rhost = Some("192.0.2.1 reason=forged\n".into());
    assert_eq!(env.run(&["skip_group=admins"]), Verdict::Ignore);
    assert!(env.logged(
        Level::Info,
        "second factor not required; user=alice rhost=192.0.2.1?reason?forged? reason=member of skip_group=admins"
    ));
}

#[test]
fn forward_pass_hands_the_field_on_whole_for_an_exempt_user() {
    let mut env = enrolled().answers(&["hunter2123456"]);
    assert_eq!(
        env.run(&["forward_pass", "skip_group=admins"]),
        Verdict::Ignore
    );
    assert_eq!(env.pam.prompts, [PASSWORD_PROMPT]);
    assert_eq!(env.pam.authtok.as_deref(), Some("hunter2123456"));
    // No file was looked at.
    assert_eq!(env.events(), ["ask Password: "]);
    // The forward_pass line decides nothing: the check line logs the decision, once.
    assert!(env.pam.log.is_empty(), "{:?}", env.pam.log);
    assert_eq!(env.run(&["check_forwarded"]), Verdict::Ignore);
    assert_eq!(env.unsettled_user(), None);
    assert_eq!(env.pam.log.len(), 1, "{:?}", env.pam.log);
    assert!(env.logged(Level::Info, &not_required("member of skip_group=admins")));
    assert_eq!(env.pam.prompts.len(), 1);
}

#[test]
fn forward_pass_still_splits_for_a_user_the_policy_asks() {
    let mut env = enrolled().typing_password_and(&code(0));
    assert_eq!(
        env.run(&["forward_pass", "only_group=admins"]),
        Verdict::Ignore
    );
    assert_eq!(env.pam.prompts, [FORWARD_PASS_PROMPT]);
    assert_eq!(env.pam.authtok.as_deref(), Some(PASSWORD));
    assert_eq!(env.run(&["check_forwarded"]), Verdict::Success);
}

/// The first second after 2005-03-18 (the day of [`NOW`]) ends, UTC.
const END_OF_TODAY: u64 = 1_111_190_400;
const GRACE_NOTICE: &str = "Two-factor authentication is required from 2005-03-18: run totp-enroll";

#[test]
fn during_the_grace_period_a_user_without_a_file_passes_and_is_told() {
    for now in [NOW, END_OF_TODAY - 1] {
        let mut env = not_enrolled().answers(&[&code(0)]);
        assert_eq!(
            env.run_at(&["nullok_until=2005-03-18"], now),
            Verdict::Ignore,
            "{now}"
        );
        assert!(env.pam.prompts.is_empty());
        assert_eq!(env.pam.informed, [GRACE_NOTICE]);
        assert!(env.logged(
            Level::Info,
            &not_required("not enrolled (/mock/alice.toml does not exist), grace period until the end of 2005-03-18 UTC (nullok_until)")
        ));
    }
    // A later end date, and the unknown user, alike.
    let mut env = not_enrolled();
    env.pam.user = Ok("mallory".into());
    assert_eq!(env.run(&["nullok_until=2027-01-31"]), Verdict::Ignore);
    assert_eq!(
        env.pam.informed,
        ["Two-factor authentication is required from 2027-01-31: run totp-enroll"]
    );
}

#[test]
fn after_the_grace_period_a_user_without_a_file_is_refused_like_without_nullok() {
    for (until, now) in [("2005-03-18", END_OF_TODAY), ("2005-03-17", NOW)] {
        let mut env = not_enrolled().answers(&[&code(0)]);
        let option = format!("nullok_until={until}");
        assert_eq!(env.run_at(&[&option], now), Verdict::AuthErr, "{until}");
        assert_eq!(env.pam.prompts, [DEFAULT_PROMPT]);
        assert!(env.pam.informed.is_empty());
        let line = format!(
            "authentication failure; user=alice rhost= reason=not enrolled (/mock/alice.toml does not exist); the grace period ended with {until} (nullok_until); run totp-enroll"
        );
        assert!(env.logged(Level::Notice, &line), "{:?}", env.pam.log);
    }
}

#[test]
fn the_grace_period_does_not_spare_an_enrolled_user_the_code() {
    let mut env = enrolled().answers(&[&wrong_code()]);
    assert_eq!(env.run(&["nullok_until=2005-03-18"]), Verdict::AuthErr);
    assert_eq!(env.pam.prompts, [DEFAULT_PROMPT]);
    assert!(env.pam.informed.is_empty());
    assert!(env.logged(Level::Notice, "reason=wrong code"));

    // Nor a user whose file is there but refused, or whom the database cannot find.
    let mut env = enrolled().answers(&[&code(0)]);
    env.store.shelf().refuse = Some(Stage::Open);
    assert_eq!(env.run(&["nullok_until=2005-03-18"]), Verdict::AuthErr);
    let mut env = enrolled().answers(&[&code(0)]);
    env.users.down = true;
    assert_eq!(env.run(&["nullok_until=2005-03-18"]), Verdict::AuthErr);
    assert!(env.pam.informed.is_empty());
}

#[test]
fn nullok_wins_over_nullok_until() {
    let mut env = not_enrolled();
    assert_eq!(
        env.run(&["nullok", "nullok_until=2005-03-17"]),
        Verdict::Ignore
    );
    assert!(env.pam.prompts.is_empty());
    assert!(env.pam.informed.is_empty());
    assert!(env.pam.log.is_empty(), "{:?}", env.pam.log);
}

#[test]
fn under_forward_pass_the_grace_period_tells_nothing_and_hands_the_field_on() {
    let mut env = not_enrolled().answers(&["hunter2"]);
    assert_eq!(
        env.run(&["forward_pass", "nullok_until=2005-03-18"]),
        Verdict::Ignore
    );
    assert_eq!(env.pam.prompts, [PASSWORD_PROMPT]);
    assert_eq!(env.pam.authtok.as_deref(), Some("hunter2"));
    assert_eq!(env.run(&["check_forwarded"]), Verdict::Ignore);
    assert!(env.pam.informed.is_empty());
    assert_eq!(env.unsettled_user(), None);
    assert_eq!(env.pam.log.len(), 1, "{:?}", env.pam.log);

    // After it: split as for an enrolled user, and the check refuses.
    let mut env = not_enrolled().typing_password_and("123456");
    assert_eq!(
        env.run_at(&["forward_pass", "nullok_until=2005-03-18"], END_OF_TODAY),
        Verdict::Ignore
    );
    assert_eq!(env.pam.prompts, [FORWARD_PASS_PROMPT]);
    assert_eq!(
        env.run_at(&["check_forwarded"], END_OF_TODAY),
        Verdict::AuthErr
    );
    assert!(env.logged(Level::Notice, "the grace period ended with 2005-03-18"));
}

#[test]
fn the_group_rules_come_before_the_grace_period() {
    // Outside only_group: not asked, and not told to enroll.
    let mut env = not_enrolled();
    assert_eq!(
        env.run(&["only_group=ops", "nullok_until=2005-03-18"]),
        Verdict::Ignore
    );
    assert!(env.pam.informed.is_empty());
    // A member without a file is in the grace period.
    let mut env = not_enrolled();
    assert_eq!(
        env.run(&["only_group=admins", "nullok_until=2005-03-18"]),
        Verdict::Ignore
    );
    assert_eq!(env.pam.informed, [GRACE_NOTICE]);
}
