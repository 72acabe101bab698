//! The policy options through real libpam: `only_group=` and `skip_group=` with test users
//! and groups that exist only in a private mount namespace (membership by primary and by
//! supplementary group, resolved by glibc's NSS), the grace period `nullok_until=` with dates
//! around today's, and the count of recovery codes left after a recovery-code login.
//! Group tests need root (the namespace); the others run as any user.

use pam_totp_tests::*;
use std::process::Command;
use std::time::Duration;

/// The code line, then a module that lets the stack succeed: PAM_IGNORE (not asked) passes,
/// a refusal fails, as in the shipped key-then-code stack.
fn stack(options: &str) -> String {
    format!(
        "auth [success=done ignore=ignore default=die] @MODULE@ rate_limit=100/30 {options}\n\
         auth required pam_permit.so\n"
    )
}

const ASKED: [&str; 1] = ["Verification code: "];

/// Test users and groups: pamtest0 is in `pt-admins` as a supplementary member; pamtest1 has
/// `pt-ops` as its primary group (and no supplementary group); pamtest2 is in neither;
/// `pt-svc` lists pamtest0 and is pamtest3's primary group. Every user is enrolled with
/// [`KEY`] unless `enrolled` says otherwise.
struct Groups {
    users: FakeUsers,
    env: Env,
}

impl Groups {
    fn new(enrolled: [bool; 4]) -> Groups {
        let env = Env::new();
        let users = FakeUsers::new(env.dir.path(), 4);
        users.add_group("pt-admins", 41_000, &[0]);
        users.add_group("pt-ops", 41_001, &[]);
        users.add_group("pt-svc", 41_002, &[0]);
        users.set_primary_group(1, 41_001);
        users.set_primary_group(3, 41_002);
        for (i, yes) in enrolled.iter().enumerate() {
            if *yes {
                users.enroll(i, &secret_toml(KEY, "SHA1", 6, 30, &[]));
            }
        }
        Groups { users, env }
    }

    /// Authenticates test user `i` against `service`, with `answers` and driver `extra`
    /// arguments, in a namespace with the test passwd and group files.
    fn login(&self, service: &str, i: usize, answers: &[&str], extra: &[&str]) -> Login {
        let group = [(self.users.group.as_path(), "/etc/group")];
        self.env.run(&Run {
            service,
            answers,
            extra,
            user: Some(&self.users.users[i].0),
            passwd: Some(&self.users.passwd),
            binds: &group,
            ..Run::default()
        })
    }

    /// Asserts that user `i` passed without being asked, and that the log says why.
    fn passes_unasked(&self, service: &str, i: usize, reason: &str) {
        let l = self.login(service, i, &["123456"], &[]);
        assert!(
            l.ok(),
            "{service}: pamtest{i} was refused: {l:?}\n{}",
            self.env.log()
        );
        assert!(
            l.prompts().is_empty(),
            "{service}: pamtest{i} was asked: {l:?}"
        );
        let line = format!(
            "pam_totp({service}:auth): second factor not required; user=pamtest{i} rhost= reason={reason}"
        );
        assert!(self.env.log().contains(&line), "{line}\n{}", self.env.log());
    }

    /// Asserts that user `i` is asked for a code and refused with a wrong one.
    fn is_asked(&self, service: &str, i: usize) {
        let wrong = self.login(service, i, &[&consumers::wrong_code(KEY)], &[]);
        assert_eq!(wrong.prompts(), ASKED, "{service}: pamtest{i}: {wrong:?}");
        assert_eq!(wrong.rc, rc::AUTH_ERR, "{service}: pamtest{i}: {wrong:?}");
    }

    /// Asserts that user `i` is asked and let in with the right code (once per user and time
    /// step: the code is then used up).
    fn gets_in_with_the_code(&self, service: &str, i: usize) {
        wait_for_fresh_step(30);
        let right = self.login(service, i, &[&oathtool(KEY, &[], now())], &[]);
        assert!(
            right.ok(),
            "{service}: pamtest{i}: {right:?}\n{}",
            self.env.log()
        );
        assert_eq!(right.prompts(), ASKED);
    }
}

#[test]
fn only_group_asks_its_members_by_primary_or_supplementary_group_and_nobody_else() {
    needs_root!();
    // pamtest2 is enrolled too: outside the policy, a file does not make a user asked.
    let g = Groups::new([true, true, true, false]);
    g.env.service("only", &stack("only_group=pt-admins,pt-ops"));
    g.is_asked("only", 0);
    g.is_asked("only", 1);
    g.gets_in_with_the_code("only", 0);
    g.gets_in_with_the_code("only", 1);
    g.passes_unasked("only", 2, "not a member of only_group=pt-admins,pt-ops");
    // A non-member without a file passes as well, without nullok.
    g.passes_unasked("only", 3, "not a member of only_group=pt-admins,pt-ops");

    // The other way round: with only pt-svc in the list, pamtest1 (pt-ops) is not asked,
    // and pamtest0 (supplementary in pt-svc) is.
    g.env.service("svc", &stack("only_group=pt-svc"));
    g.is_asked("svc", 0);
    g.passes_unasked("svc", 1, "not a member of only_group=pt-svc");
}

#[test]
fn skip_group_members_pass_unasked_and_skip_group_wins_over_only_group() {
    needs_root!();
    // pamtest0 and pamtest3 (the pt-svc members) have no file, and there is no nullok.
    let g = Groups::new([false, true, true, false]);
    g.env.service(
        "skip",
        &stack("only_group=pt-admins,pt-svc skip_group=pt-svc"),
    );
    // pamtest0: in only_group (pt-admins) and in skip_group (supplementary): skip wins.
    g.passes_unasked("skip", 0, "member of skip_group=pt-svc");
    // pamtest3: in skip_group by its primary group.
    g.passes_unasked("skip", 3, "member of skip_group=pt-svc");

    // Outside skip_group, users are asked as usual.
    g.env.service("skip-only", &stack("skip_group=pt-svc"));
    g.is_asked("skip-only", 1);
    g.is_asked("skip-only", 2);
    let unenrolled_member = g.login("skip-only", 0, &[], &[]);
    assert!(unenrolled_member.ok(), "{unenrolled_member:?}");

    // The exemption line carries PAM_RHOST made safe.
    let l = g.login(
        "skip-only",
        3,
        &[],
        &["--rhost", "192.0.2.1 reason=x\nforged"],
    );
    assert!(l.ok(), "{l:?}");
    assert!(
        g.env.log().contains(
            "second factor not required; user=pamtest3 rhost=192.0.2.1?reason?x?forged reason=member of skip_group=pt-svc"
        ),
        "{}",
        g.env.log()
    );
}

#[test]
fn a_group_that_does_not_exist_fails_closed_for_everyone() {
    needs_root!();
    let g = Groups::new([false, true, false, false]);
    for (service, options, option) in [
        ("typo-only", "only_group=pt-admins,pt-admnis", "only_group"),
        ("typo-skip", "skip_group=pt-admnis nullok", "skip_group"),
    ] {
        g.env.service(service, &stack(options));
        for i in 0..3 {
            let l = g.login(service, i, &["123456"], &[]);
            assert_eq!(l.rc, rc::SERVICE_ERR, "{service}: pamtest{i}: {l:?}");
            assert!(l.prompts().is_empty(), "{l:?}");
        }
        let line = format!(
            "pam_totp({service}:auth): configuration error: group \"pt-admnis\" named in {option}= does not exist in the group database; create it or fix the pam.d line"
        );
        assert!(g.env.log().contains(&line), "{line}\n{}", g.env.log());
    }
}

/// Today's date (UTC) shifted by `days`, from coreutils' `date` (not the module's calendar).
/// Waits first when UTC midnight is less than 10 s away, so that "today" holds for the test.
fn utc_date(days: i64) -> String {
    let into_day = now() % 86_400;
    if into_day > 86_400 - 10 {
        std::thread::sleep(Duration::from_secs(86_400 - into_day + 1));
    }
    let at = now() as i64 + days * 86_400;
    let out = Command::new(tool("date", "coreutils"))
        .args(["-u", "-d", &format!("@{at}"), "+%F"])
        .output()
        .expect("run date");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn grace_notice(date: &str) -> String {
    format!("Two-factor authentication is required from {date}: run totp-enroll")
}

/// An environment for the current user (no file yet) with service `grace` ending `date`.
fn grace_env(date: &str, more: &str) -> Env {
    let env = Env::new();
    env.service(
        "grace",
        &stack(&format!("secret=@SECRET@ nullok_until={date} {more}")),
    );
    env
}

#[test]
fn during_the_grace_period_a_user_without_a_file_passes_and_is_told() {
    for days in [0, 1] {
        let date = utc_date(days);
        let env = grace_env(&date, "");
        let l = env.login("grace", &["123456"]);
        assert!(l.ok(), "{date}: {l:?}\n{}", env.log());
        assert!(l.prompts().is_empty(), "{date}: {l:?}");
        assert_eq!(l.infos(), [grace_notice(&date)], "{date}: {l:?}");
        let start = format!(
            "second factor not required; user={} rhost= reason=not enrolled ({} does not exist",
            env.user,
            env.secret_path().display()
        );
        let end = format!("), grace period until the end of {date} UTC (nullok_until)");
        assert!(
            env.log()
                .lines()
                .any(|l| l.contains(&start) && l.ends_with(&end)),
            "{start} ... {end}\n{}",
            env.log()
        );

        // PAM_SILENT: no notice, the same verdict.
        let silent = env.run(&Run {
            service: "grace",
            extra: &["--silent"],
            ..Run::default()
        });
        assert!(silent.ok() && silent.infos().is_empty(), "{silent:?}");
    }
}

#[test]
fn after_the_grace_period_a_user_without_a_file_is_refused_like_without_nullok() {
    let date = utc_date(-1);
    let env = grace_env(&date, "");
    let l = env.login("grace", &["123456"]);
    assert_eq!(l.rc, rc::AUTH_ERR, "{l:?}");
    assert_eq!(l.prompts(), ASKED, "asked like an enrolled user: {l:?}");
    assert!(l.infos().is_empty(), "{l:?}");
    let start = format!(
        "authentication failure; user={} rhost= reason=not enrolled ({} does not exist",
        env.user,
        env.secret_path().display()
    );
    let end = format!("); the grace period ended with {date} (nullok_until); run totp-enroll");
    assert!(
        env.log()
            .lines()
            .any(|l| l.contains(&start) && l.ends_with(&end)),
        "{start} ... {end}\n{}",
        env.log()
    );
}

#[test]
fn the_grace_period_still_asks_an_enrolled_user() {
    let env = grace_env(&utc_date(1), "");
    env.enroll(KEY, &[]);
    let wrong = env.login("grace", &[&consumers::wrong_code(KEY)]);
    assert_eq!(wrong.rc, rc::AUTH_ERR, "{wrong:?}");
    assert_eq!(wrong.prompts(), ASKED);
    assert!(wrong.infos().is_empty());
    wait_for_fresh_step(30);
    let right = env.login("grace", &[&oathtool(KEY, &[], now())]);
    assert!(right.ok(), "{right:?}\n{}", env.log());
}

#[test]
fn nullok_wins_over_an_ended_grace_period() {
    let env = grace_env(&utc_date(-1), "nullok");
    let l = env.login("grace", &["123456"]);
    assert!(
        l.ok() && l.prompts().is_empty() && l.infos().is_empty(),
        "{l:?}"
    );
}

#[test]
fn under_forward_pass_the_grace_period_hands_the_field_on_and_shows_nothing() {
    // forward_pass, then a module that succeeds: the driver shows what the client saw.
    let env = Env::new();
    let date = utc_date(0);
    env.service(
        "vpn",
        &format!(
            "auth required @MODULE@ forward_pass secret=@SECRET@ nullok_until={date}\n\
             auth required pam_permit.so\n\
             auth required @MODULE@ check_forwarded\n"
        ),
    );
    let l = env.login("vpn", &["password-only"]);
    assert!(l.ok(), "{l:?}\n{}", env.log());
    assert_eq!(l.prompts(), ["Password: "], "{l:?}");
    assert!(l.infos().is_empty() && l.errors().is_empty(), "{l:?}");
}

#[test]
fn after_a_recovery_code_the_user_is_told_how_many_are_left() {
    let env = Env::new();
    let codes = ["abcde-fghjk", "mnpqr-stvwx", "23456-789ab", "cdefg-hjkmn"];
    env.enroll(KEY, &codes);
    env.service(
        "codes",
        "auth required @MODULE@ secret=@SECRET@ rate_limit=100/30\n",
    );
    let first = env.login("codes", &[codes[0]]);
    assert!(first.ok(), "{first:?}\n{}", env.log());
    assert_eq!(
        first.infos(),
        ["Recovery code accepted; 3 recovery codes left."]
    );
    assert!(first.errors().is_empty(), "{first:?}");

    let second = env.login("codes", &[codes[1]]);
    assert!(second.ok(), "{second:?}");
    assert_eq!(
        second.errors(),
        ["Recovery code accepted; only 2 recovery codes left. Make a new set with: totp-enroll recovery-codes"]
    );
    assert!(second.infos().is_empty(), "{second:?}");

    // PAM_SILENT: nothing shown, the code still works once.
    let silent = env.run(&Run {
        service: "codes",
        answers: &[codes[2]],
        extra: &["--silent"],
        ..Run::default()
    });
    assert!(silent.ok(), "{silent:?}");
    assert!(
        silent.errors().is_empty() && silent.infos().is_empty(),
        "{silent:?}"
    );
    assert!(
        env.log().contains("accepted recovery code; user=")
            && env.log().contains("recovery_codes_left=1"),
        "{}",
        env.log()
    );

    // A time code tells nothing about recovery codes.
    wait_for_fresh_step(30);
    let totp = env.login("codes", &[&oathtool(KEY, &[], now())]);
    assert!(
        totp.ok() && totp.infos().is_empty() && totp.errors().is_empty(),
        "{totp:?}"
    );
}
