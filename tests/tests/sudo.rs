//! sudo end to end, as the README sets it up: a sudoers drop-in `Defaults:USER
//! pam_service=sudo-totp` and a PAM service `@include common-auth` + pam_totp. sudo runs as a
//! test user (uid 40000, through setpriv) in a private mount namespace with test users, test
//! pam.d, test sudoers and a private /dev/log; `sudo -S -k` reads the answers from stdin.
//! Needs root; the machine's /etc is never changed.

use pam_totp_tests::consumers::*;
use pam_totp_tests::enroll_qr::*;
use pam_totp_tests::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// Fields drop in order: the log listener is drained before the directory goes.
struct Sudo {
    syslog: SyslogListener,
    binds: Vec<(PathBuf, &'static str)>,
    users: FakeUsers,
    /// Owns the temporary directory.
    _env: Env,
}

impl Sudo {
    /// pamtest0, enrolled, may run `id` as root after password + code; sudo lets it try the
    /// password `passwd_tries` times per invocation.
    fn new(passwd_tries: u32) -> Sudo {
        Sudo::with_stack(passwd_tries, PASSWORD_THEN_CODE_STACK, true)
    }

    /// [`Sudo::new`] with `stack` as the sudo-totp service, pamtest0 enrolled or not.
    fn with_stack(passwd_tries: u32, stack: &str, enrolled: bool) -> Sudo {
        let env = Env::new();
        let users = FakeUsers::new(env.dir.path(), 1);
        if enrolled {
            users.enroll(0, &secret_toml(KEY, "SHA1", 6, 30, &[]));
        }
        env.service("common-auth", COMMON_AUTH);
        env.service("sudo-totp", stack);
        let dir = env.dir.path().join("sudo");
        let drop_ins = dir.join("sudoers.d");
        fs::create_dir_all(&drop_ins).unwrap();
        fs::set_permissions(&drop_ins, fs::Permissions::from_mode(0o755)).unwrap();
        // The main file as Debian ships it, but with timestamps in the test's directory and
        // no lecture (which would be recorded under /var/lib/sudo).
        let sudoers = dir.join("sudoers");
        write_mode(
            &sudoers,
            &format!(
                "Defaults env_reset\nDefaults lecture=never\nDefaults timestampdir={}\n\
                 root ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n",
                dir.join("ts").display()
            ),
            0o440,
        );
        // The drop-in of the README (sudo checks: owned by root, not writable by others).
        write_mode(
            &drop_ins.join("totp"),
            &format!(
                "Defaults:pamtest0 pam_service=sudo-totp, passwd_tries={passwd_tries}\n\
                 pamtest0 ALL=(root) /usr/bin/id\n"
            ),
            0o440,
        );
        let binds = namespace_binds(
            &env,
            &users,
            &[(sudoers, "/etc/sudoers"), (drop_ins, "/etc/sudoers.d")],
        );
        let syslog = SyslogListener::start(&env, "devlog");
        Sudo {
            syslog,
            binds,
            users,
            _env: env,
        }
    }

    /// `sudo -S -k id -u` as pamtest0 with `input` on stdin.
    fn sudo(&self, input: &str) -> Ran {
        let mut cmd = namespace_command_as(
            &self.binds,
            Some(&self.syslog),
            self.users.users[0].1,
            &tool("sudo", "sudo"),
        );
        cmd.args(["-S", "-k", "id", "-u"]);
        run_bounded(cmd, input, CLIENT_LIMIT)
    }

    /// `sudo -k id -u` as pamtest0 on a pseudo-terminal (expect as root in the namespace,
    /// sudo through setpriv); the n-th code prompt is answered with `answer(transcript, n)`.
    fn sudo_on_terminal(&self, answer: impl FnMut(&str, usize) -> Option<String>) -> Dialogue {
        let expect = namespace_command(&self.binds, Some(&self.syslog), &tool("expect", "expect"));
        let setpriv = tool("setpriv", "util-linux");
        let sudo = tool("sudo", "sudo");
        let uid = self.users.users[0].1.to_string();
        #[rustfmt::skip]
        let client = [
            setpriv.to_str().expect("path"), "--reuid", &uid, "--regid", &uid, "--clear-groups",
            "--", sudo.to_str().expect("path"), "-k", "id", "-u",
        ];
        enroll_dialogue(
            &self._env,
            expect,
            "password for pamtest0: ",
            &client,
            answer,
        )
    }

    fn context(&self, ran: &Ran) -> String {
        format!(
            "{ran:#?}\n--- syslog:\n{}\n--- secret file:\n{}",
            self.syslog.log(),
            self.secret_file()
        )
    }

    fn secret_file(&self) -> String {
        fs::read_to_string(self.users.users[0].2.join(".pam_totp.toml")).unwrap_or_default()
    }
}

fn pw_and(code: &str) -> String {
    format!("{}\n{code}\n", FakeUsers::PASSWORD)
}

#[test]
fn password_and_code_give_root() {
    needs_root!();
    let s = Sudo::new(1);
    wait_for_fresh_step(30);
    let ran = s.sudo(&pw_and(&oathtool(KEY, &[], now())));
    assert!(ran.ok(), "{}", s.context(&ran));
    assert_eq!(ran.stdout.trim(), "0", "{}", s.context(&ran));
    // sudo asked for both, in order, with the module's prompt.
    assert!(
        ran.stderr
            .starts_with("[sudo] password for pamtest0: Verification code: "),
        "{}",
        s.context(&ran)
    );
    assert!(
        s.syslog
            .log()
            .contains("pam_totp(sudo-totp:auth): accepted verification code; user=pamtest0"),
        "{}",
        s.context(&ran)
    );
    assert!(
        file_state(&s.users.users[0].2.join(".pam_totp.toml")).marks[0].is_some(),
        "{}",
        s.context(&ran)
    );
}

#[test]
fn a_wrong_code_does_not_give_root() {
    needs_root!();
    let s = Sudo::new(1);
    let ran = s.sudo(&pw_and(&wrong_code(KEY)));
    assert!(!ran.ok(), "{}", s.context(&ran));
    assert!(!ran.timed_out, "{}", s.context(&ran));
    assert!(ran.stdout.is_empty(), "{}", s.context(&ran));
    assert!(
        ran.stderr.contains("Verification code: ")
            && ran.stderr.contains("sudo: 1 incorrect password attempt"),
        "{}",
        s.context(&ran)
    );
    assert!(
        s.syslog
            .log()
            .contains("pam_totp(sudo-totp:auth): authentication failure; user=pamtest0 rhost= reason=wrong code"),
        "{}",
        s.context(&ran)
    );
}

/// What sudo's retry loop does (observed with sudo 1.9.13): each of the `passwd_tries` rounds
/// runs the whole PAM stack again, so a wrong code costs one round ("Sorry, try again.") and
/// the next round asks for the password and the code again.
#[test]
fn after_a_wrong_code_the_next_round_asks_for_password_and_code_again() {
    needs_root!();
    let s = Sudo::new(2);
    wait_for_fresh_step(30);
    let input = format!(
        "{}{}",
        pw_and(&wrong_code(KEY)),
        pw_and(&oathtool(KEY, &[], now()))
    );
    let ran = s.sudo(&input);
    assert!(ran.ok(), "{}", s.context(&ran));
    assert_eq!(ran.stdout.trim(), "0", "{}", s.context(&ran));
    let round = "[sudo] password for pamtest0: Verification code: ";
    assert_eq!(
        ran.stderr,
        format!("{round}Sorry, try again.\n{round}"),
        "{}",
        s.context(&ran)
    );
    let log = s.syslog.log();
    assert!(log.contains("reason=wrong code"), "{}", s.context(&ran));
    assert!(
        log.contains("accepted verification code; user=pamtest0"),
        "{}",
        s.context(&ran)
    );
}

/// With Debian's common-auth a wrong password ends the stack at pam_deny (requisite): the code
/// is not asked for and not spent, so the next round can still use it.
#[test]
fn a_wrong_password_is_refused_before_the_code_is_asked() {
    needs_root!();
    let s = Sudo::new(2);
    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());
    let ran = s.sudo(&format!("not-the-password\n{}", pw_and(&code)));
    assert!(ran.ok(), "{}", s.context(&ran));
    assert_eq!(ran.stdout.trim(), "0", "{}", s.context(&ran));
    assert_eq!(
        ran.stderr,
        "[sudo] password for pamtest0: Sorry, try again.\n\
         [sudo] password for pamtest0: Verification code: ",
        "{}",
        s.context(&ran)
    );
    // All rounds wrong: no root.
    let ran = s.sudo("not-the-password\nnot-the-password\n");
    assert!(!ran.ok(), "{}", s.context(&ran));
    assert!(ran.stdout.is_empty(), "{}", s.context(&ran));
    assert!(
        ran.stderr.contains("sudo: 2 incorrect password attempts"),
        "{}",
        s.context(&ran)
    );
}

/// The sudo-totp service with `enroll`.
fn enroll_stack() -> String {
    PASSWORD_THEN_CODE_STACK.replace("@MODULE@\n", "@MODULE@ enroll\n")
}

/// `enroll` through sudo: a user without a file types the password, is shown the QR code on
/// the terminal, types the code for the key decoded from it (zbarimg, oathtool) and gets root;
/// the file is written (the user's, 0600) and the recovery codes shown. sudo 1.9.13 always
/// passes PAM_SILENT, so the texts come as the first lines of the prompts.
#[test]
fn a_user_without_a_file_enrolls_through_sudo_by_scanning_the_qr_code() {
    needs_root!();
    let s = Sudo::with_stack(1, &enroll_stack(), false);
    let dir = s._env.dir.path().to_path_buf();
    let mut shown = Shown::default();
    wait_for_fresh_step(30);
    let d = s.sudo_on_terminal(|transcript, n| {
        assert_eq!(n, 1, "one code prompt when the first code is right");
        shown = read_qr(transcript, &dir);
        Some(oathtool(&shown.key, &[], now()))
    });
    let context = || {
        format!(
            "{}\n--- {:?}\n--- syslog:\n{}",
            d.transcript,
            d.status,
            s.syslog.log()
        )
    };
    assert!(d.ok(), "{}", context());
    // id -u ran as root.
    assert!(d.lines().contains(&"0"), "{}", context());
    assert_eq!(d.asked, 1, "{}", context());
    assert_eq!(recovery_codes(&d.transcript).len(), 10, "{}", context());
    let path = s.users.users[0].2.join(".pam_totp.toml");
    let meta = fs::symlink_metadata(&path).unwrap_or_else(|e| panic!("{e}\n{}", context()));
    use std::os::unix::fs::MetadataExt;
    assert!(meta.is_file());
    assert_eq!(meta.mode() & 0o7777, 0o600);
    assert_eq!((meta.uid(), meta.gid()), (40_000, 40_000));
    assert!(
        s.secret_file()
            .contains(&format!("secret = \"{}\"", shown.key)),
        "{}",
        context()
    );
    assert!(
        s.syslog
            .log()
            .contains("pam_totp(sudo-totp:auth): enrolled at login; user=pamtest0 rhost="),
        "{}",
        context()
    );
}
