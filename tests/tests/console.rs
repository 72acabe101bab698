//! The console path: su from one user to another and login(1), each on a pseudo-terminal
//! driven by expect(1), through a PAM service with Debian's common-auth and pam_totp. Runs in a
//! private mount namespace with test users, test pam.d, private login records and a private
//! /dev/log. Needs root; the machine's /etc is never changed.

use pam_totp_tests::consumers::*;
use pam_totp_tests::*;
use std::path::PathBuf;

/// Fields drop in order: the log listener is drained before the directory goes.
struct Console {
    syslog: SyslogListener,
    binds: Vec<(PathBuf, &'static str)>,
    users: FakeUsers,
    env: Env,
}

impl Console {
    /// pamtest0 (not enrolled) and pamtest1 (enrolled); services `su` and `login`.
    fn new() -> Console {
        let env = Env::new();
        let users = FakeUsers::new(env.dir.path(), 2);
        users.enroll(1, &secret_toml(KEY, "SHA1", 6, 30, &[]));
        env.service("common-auth", COMMON_AUTH);
        env.service("su", PASSWORD_THEN_CODE_STACK);
        env.service("login", PASSWORD_THEN_CODE_STACK);
        let binds = namespace_binds(&env, &users, &[]);
        let syslog = SyslogListener::start(&env, "devlog");
        Console {
            syslog,
            binds,
            users,
            env,
        }
    }

    /// pamtest0 runs `su pamtest1 -c 'id -un'`, answering the password and `code`.
    fn su(&self, code: &str) -> Ran {
        let uid = self.users.users[0].1.to_string();
        let setpriv = tool("setpriv", "util-linux");
        let su = tool("su", "util-linux");
        dialogue(
            &self.env,
            &self.binds,
            Some(&self.syslog),
            &[
                &setpriv.to_string_lossy(),
                "--reuid",
                &uid,
                "--regid",
                &uid,
                "--clear-groups",
                "--",
                &su.to_string_lossy(),
                "pamtest1",
                "-c",
                "id -un",
            ],
            &[
                ("Password: ", Some(FakeUsers::PASSWORD)),
                ("Verification code: ", Some(code)),
            ],
            DialogueEnd::Exit,
        )
    }

    fn context(&self, ran: &Ran) -> String {
        format!("{ran:#?}\n--- syslog:\n{}", self.syslog.log())
    }
}

#[test]
fn su_to_an_enrolled_user_needs_password_and_code() {
    needs_root!();
    let c = Console::new();
    wait_for_fresh_step(30);
    let ran = c.su(&oathtool(KEY, &[], now()));
    assert!(ran.ok(), "{}", c.context(&ran));
    assert!(ran.stdout.contains("\npamtest1\r\n"), "{}", c.context(&ran));
    assert!(
        c.syslog
            .log()
            .contains("pam_totp(su:auth): accepted verification code; user=pamtest1"),
        "{}",
        c.context(&ran)
    );
}

#[test]
fn su_with_a_wrong_code_fails() {
    needs_root!();
    let c = Console::new();
    let ran = c.su(&wrong_code(KEY));
    assert_eq!(ran.status, Some(1), "{}", c.context(&ran));
    assert!(
        ran.stdout.contains("su: Authentication failure"),
        "{}",
        c.context(&ran)
    );
    assert!(
        !ran.stdout.contains("\npamtest1\r\n"),
        "{}",
        c.context(&ran)
    );
    assert!(
        c.syslog
            .log()
            .contains("pam_totp(su:auth): authentication failure; user=pamtest1"),
        "{}",
        c.context(&ran)
    );
}

#[test]
fn login_on_a_terminal_asks_for_the_code() {
    needs_root!();
    let c = Console::new();
    let login = tool("login", "login");
    let login = login.to_string_lossy();
    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());
    let ran = dialogue(
        &c.env,
        &c.binds,
        Some(&c.syslog),
        &[&login, "pamtest1"],
        &[
            ("Password: ", Some(FakeUsers::PASSWORD)),
            ("Verification code: ", Some(&code)),
            ("$ ", Some("echo WHO=$(id -un); exit")),
        ],
        DialogueEnd::Exit,
    );
    assert!(ran.ok(), "{}", c.context(&ran));
    assert!(ran.stdout.contains("WHO=pamtest1"), "{}", c.context(&ran));
    assert!(
        c.syslog
            .log()
            .contains("pam_totp(login:auth): accepted verification code; user=pamtest1"),
        "{}",
        c.context(&ran)
    );

    // The same code again (a replay): "Login incorrect", and login asks for a user name anew.
    let ran = dialogue(
        &c.env,
        &c.binds,
        Some(&c.syslog),
        &[&login, "pamtest1"],
        &[
            ("Password: ", Some(FakeUsers::PASSWORD)),
            ("Verification code: ", Some(&code)),
            ("Login incorrect", None),
            ("login: ", None),
        ],
        DialogueEnd::Stop,
    );
    assert!(ran.ok(), "{}", c.context(&ran));
    assert!(!ran.stdout.contains("WHO="), "{}", c.context(&ran));
    assert!(
        c.syslog.log().contains("reason=replayed code"),
        "{}",
        c.context(&ran)
    );
}
