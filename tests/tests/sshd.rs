//! OpenSSH end to end: a real sshd (UsePAM, keyboard-interactive) on a loopback port, in a
//! private mount namespace with test users and a test pam.d, and the real ssh client answering
//! the prompts through SSH_ASKPASS. Needs root; the machine's /etc is never changed.

use pam_totp_tests::consumers::*;
use pam_totp_tests::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Password (pam_unix), then code (pam_totp), as the README's "password, then code".
const PASSWORD_THEN_CODE: &str = "auth required pam_unix.so\n\
auth required @MODULE@\n\
account required pam_unix.so\n\
session required pam_permit.so\n";

const KBD: &str = "keyboard-interactive";

/// Fields drop in order: sshd stops before its directory goes.
struct Setup {
    sshd: Sshd,
    users: FakeUsers,
    env: Env,
}

impl Setup {
    /// `count` test users, the service `sshd-totp` with `stack`, sshd with `methods`.
    fn new(count: u32, stack: &str, methods: &str) -> Setup {
        let env = Env::new();
        let users = FakeUsers::new(env.dir.path(), count);
        env.service("sshd-totp", stack);
        let sshd = Sshd::start(&env, &users, "sshd-totp", methods);
        Setup { env, users, sshd }
    }

    fn name(&self, i: usize) -> &str {
        &self.users.users[i].0
    }

    /// Password and code over keyboard-interactive.
    fn login(&self, i: usize, code: &str) -> SshOutcome {
        self.sshd.ssh(&SshLogin {
            user: self.name(i),
            password: Some(FakeUsers::PASSWORD),
            code: Some(code),
            methods: KBD,
            key: None,
        })
    }

    /// Everything a failed assertion should show.
    fn context(&self, outcome: &SshOutcome) -> String {
        format!(
            "{outcome:#?}\n--- sshd:\n{}\n--- syslog:\n{}",
            self.sshd.log(),
            self.sshd.syslog()
        )
    }
}

const USER_PROMPT: &str = "(pamtest0@127.0.0.1) ";

#[test]
fn password_then_code_logs_in() {
    needs_root!();
    let s = Setup::new(1, PASSWORD_THEN_CODE, KBD);
    s.users.enroll(0, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    wait_for_fresh_step(30);
    let out = s.login(0, &oathtool(KEY, &[], now()));
    assert!(out.logged_in_as("pamtest0"), "{}", s.context(&out));
    // Both factors were asked, in order, and the module's prompt text reached the client.
    assert_eq!(
        out.prompts,
        [
            format!("{USER_PROMPT}Password: "),
            format!("{USER_PROMPT}Verification code: ")
        ],
        "{}",
        s.context(&out)
    );
    assert!(
        s.sshd
            .syslog()
            .contains("pam_totp(sshd-totp:auth): accepted verification code; user=pamtest0"),
        "{}",
        s.context(&out)
    );
    assert!(
        s.sshd
            .log()
            .contains("Accepted keyboard-interactive/pam for pamtest0 from 127.0.0.1"),
        "{}",
        s.context(&out)
    );
}

#[test]
fn wrong_password_with_right_code_is_refused() {
    needs_root!();
    let s = Setup::new(1, PASSWORD_THEN_CODE, KBD);
    s.users.enroll(0, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    wait_for_fresh_step(30);
    let out = s.sshd.ssh(&SshLogin {
        user: "pamtest0",
        password: Some("not-the-password"),
        code: Some(&oathtool(KEY, &[], now())),
        methods: KBD,
        key: None,
    });
    assert!(!out.ran.ok(), "{}", s.context(&out));
    assert!(out.ran.stdout.is_empty(), "{}", s.context(&out));
    assert!(
        out.ran.stderr.contains("Permission denied"),
        "{}",
        s.context(&out)
    );
}

#[test]
fn wrong_code_is_refused() {
    needs_root!();
    let s = Setup::new(1, PASSWORD_THEN_CODE, KBD);
    s.users.enroll(0, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    let out = s.login(0, &wrong_code(KEY));
    assert!(!out.ran.ok(), "{}", s.context(&out));
    assert!(!out.ran.timed_out, "{}", s.context(&out));
    assert!(out.ran.stdout.is_empty(), "{}", s.context(&out));
    assert!(
        out.ran.stderr.contains("Permission denied"),
        "{}",
        s.context(&out)
    );
    // The code prompt was reached (the password was right) and the module refused the code.
    assert_eq!(out.prompts.len(), 2, "{}", s.context(&out));
    assert!(
        s.sshd
            .syslog()
            .contains("authentication failure; user=pamtest0 rhost=127.0.0.1 reason=wrong code"),
        "{}",
        s.context(&out)
    );
    assert!(
        s.sshd.log().contains("Failed keyboard-interactive/pam"),
        "{}",
        s.context(&out)
    );
}

#[test]
fn a_code_is_accepted_once() {
    needs_root!();
    let s = Setup::new(1, PASSWORD_THEN_CODE, KBD);
    s.users.enroll(0, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());
    let first = s.login(0, &code);
    assert!(first.logged_in_as("pamtest0"), "{}", s.context(&first));
    let again = s.login(0, &code);
    assert!(
        !again.ran.ok(),
        "replayed code accepted: {}",
        s.context(&again)
    );
    assert!(again.ran.stdout.is_empty(), "{}", s.context(&again));
    assert!(
        s.sshd.syslog().contains("reason=replayed code"),
        "{}",
        s.context(&again)
    );
}

#[test]
fn a_recovery_code_works_once() {
    needs_root!();
    let s = Setup::new(1, PASSWORD_THEN_CODE, KBD);
    s.users.enroll(
        0,
        &secret_toml(KEY, "SHA1", 6, 30, &["abcde-fghjk", "mnpqr-stvwx"]),
    );
    let first = s.login(0, "abcde-fghjk");
    assert!(first.logged_in_as("pamtest0"), "{}", s.context(&first));
    assert!(
        s.sshd
            .syslog()
            .contains("accepted recovery code; user=pamtest0 recovery_codes_left=1"),
        "{}",
        s.context(&first)
    );
    let again = s.login(0, "abcde-fghjk");
    assert!(
        !again.ran.ok(),
        "recovery code reused: {}",
        s.context(&again)
    );
    assert!(again.ran.stdout.is_empty(), "{}", s.context(&again));
    assert!(
        !s.sshd.syslog().contains("abcde"),
        "recovery code in the log: {}",
        s.sshd.syslog()
    );
}

#[test]
fn nullok_lets_an_unenrolled_user_in_with_the_password_alone() {
    needs_root!();
    let stack = PASSWORD_THEN_CODE.replace("@MODULE@", "@MODULE@ nullok");
    let s = Setup::new(2, &stack, KBD);
    // pamtest0 has no secret file; pamtest1 has one.
    s.users.enroll(1, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    let out = s.sshd.ssh(&SshLogin {
        user: "pamtest0",
        password: Some(FakeUsers::PASSWORD),
        code: None,
        methods: KBD,
        key: None,
    });
    assert!(out.logged_in_as("pamtest0"), "{}", s.context(&out));
    assert_eq!(
        out.prompts,
        [format!("{USER_PROMPT}Password: ")],
        "an unenrolled user was asked more than the password: {}",
        s.context(&out)
    );
    // nullok does not let an enrolled user skip the code.
    wait_for_fresh_step(30);
    let enrolled = s.sshd.ssh(&SshLogin {
        user: "pamtest1",
        password: Some(FakeUsers::PASSWORD),
        code: None,
        methods: KBD,
        key: None,
    });
    assert!(!enrolled.ran.ok(), "{}", s.context(&enrolled));
    assert_eq!(
        enrolled.prompts.last().map(String::as_str),
        Some("(pamtest1@127.0.0.1) Verification code: "),
        "{}",
        s.context(&enrolled)
    );
    let ok = s.login(1, &oathtool(KEY, &[], now()));
    assert!(ok.logged_in_as("pamtest1"), "{}", s.context(&ok));
}

#[test]
fn the_module_prompt_text_reaches_the_ssh_client() {
    needs_root!();
    let stack = PASSWORD_THEN_CODE.replace("@MODULE@", "@MODULE@ prompt=Code_from_your_phone:_");
    let s = Setup::new(1, &stack, KBD);
    s.users.enroll(0, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    wait_for_fresh_step(30);
    let out = s.login(0, &oathtool(KEY, &[], now()));
    assert!(out.logged_in_as("pamtest0"), "{}", s.context(&out));
    assert_eq!(
        out.prompts,
        [
            format!("{USER_PROMPT}Password: "),
            format!("{USER_PROMPT}Code from your phone: ")
        ],
        "{}",
        s.context(&out)
    );
}

/// Creates a client key pair and authorizes it in user `i`'s `~/.ssh/authorized_keys`
/// (owned by the user, as StrictModes requires). Returns the private key.
fn authorize_key(s: &Setup, i: usize) -> PathBuf {
    let key = s.env.dir.path().join(format!("client_key{i}"));
    let keygen = Command::new(tool("ssh-keygen", "openssh-client"))
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(keygen.status.success(), "{keygen:?}");
    let (_, uid, home) = &s.users.users[i];
    let ssh_dir = home.join(".ssh");
    fs::create_dir(&ssh_dir).unwrap();
    let authorized = ssh_dir.join("authorized_keys");
    fs::copy(key.with_extension("pub"), &authorized).unwrap();
    fs::set_permissions(&ssh_dir, fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(&authorized, fs::Permissions::from_mode(0o600)).unwrap();
    for p in [&ssh_dir, &authorized] {
        nix::unistd::chown(
            p,
            Some(nix::unistd::Uid::from_raw(*uid)),
            Some(nix::unistd::Gid::from_raw(*uid)),
        )
        .unwrap();
    }
    key
}

/// sshd_config's methods for "key, then code".
const KEY_THEN_CODE: &str = "publickey,keyboard-interactive";

/// The shipped "key, then code" stack, packaging/pam.d/sshd-publickey.
const PUBLICKEY_STACK: &str = "sshd-publickey";

/// The shipped stack without `nullok`: what an administrator enforces after the rollout.
fn publickey_stack_enforced() -> String {
    let shipped = shipped_stack(PUBLICKEY_STACK);
    let enforced = shipped.replace(" nullok", "");
    assert_ne!(enforced, shipped, "{PUBLICKEY_STACK} ships without nullok");
    enforced
}

impl Setup {
    /// `count` users, each with an authorized key; sshd with "key, then code" and `stack`
    /// (the shipped common-* includes are there). Returns the users' private keys.
    fn key_then_code(count: u32, stack: &str) -> (Setup, Vec<PathBuf>) {
        let s = Setup::new(count, stack, KEY_THEN_CODE);
        write_common_includes(&s.env);
        let keys = (0..count as usize).map(|i| authorize_key(&s, i)).collect();
        (s, keys)
    }

    /// User `i` with `key`, both methods, `code` as the answer to every prompt (None: the
    /// askpass program fails, i.e. no answer).
    fn key_login(&self, i: usize, key: &Path, code: Option<&str>) -> SshOutcome {
        self.sshd.ssh(&SshLogin {
            user: self.name(i),
            password: None,
            code,
            methods: KEY_THEN_CODE,
            key: Some(key),
        })
    }

    /// Asserts that `out` did not log in, after the key was accepted.
    fn refused_after_key(&self, out: &SshOutcome, i: usize) {
        assert!(!out.ran.ok(), "{}", self.context(out));
        assert!(!out.ran.timed_out, "{}", self.context(out));
        assert!(out.ran.stdout.is_empty(), "{}", self.context(out));
        let name = self.name(i);
        assert!(
            self.sshd
                .log()
                .contains(&format!("Partial publickey for {name} from 127.0.0.1")),
            "{}",
            self.context(out)
        );
        assert!(
            !self
                .sshd
                .log()
                .contains(&format!("Accepted keyboard-interactive/pam for {name}")),
            "{}",
            self.context(out)
        );
    }
}

/// The module's default prompt as the ssh client shows it.
fn code_prompt(user: &str) -> String {
    format!("({user}@127.0.0.1) Verification code: ")
}

#[test]
fn key_then_code_asks_only_for_the_code() {
    needs_root!();
    // packaging/pam.d/sshd-publickey as shipped (with nullok); both users are enrolled.
    let (s, keys) = Setup::key_then_code(2, &shipped_stack(PUBLICKEY_STACK));
    s.users.enroll(0, &secret_toml(KEY, "SHA1", 6, 30, &[]));
    s.users.enroll(1, &secret_toml(KEY, "SHA1", 6, 30, &[]));

    // Without the key, keyboard-interactive is not even offered.
    let no_key = s.sshd.ssh(&SshLogin {
        user: "pamtest0",
        password: Some(FakeUsers::PASSWORD),
        code: Some(&oathtool(KEY, &[], now())),
        methods: KBD,
        key: None,
    });
    assert!(!no_key.ran.ok(), "{}", s.context(&no_key));
    assert!(no_key.prompts.is_empty(), "{}", s.context(&no_key));
    assert!(
        no_key.ran.stderr.contains("Permission denied (publickey)"),
        "{}",
        s.context(&no_key)
    );

    // The key and a wrong code: refused after the key was accepted.
    let wrong = s.key_login(0, &keys[0], Some(&wrong_code(KEY)));
    s.refused_after_key(&wrong, 0);
    assert_eq!(
        wrong.prompts,
        [code_prompt("pamtest0")],
        "{}",
        s.context(&wrong)
    );
    assert!(
        s.sshd
            .syslog()
            .contains("user=pamtest0 rhost=127.0.0.1 reason=wrong code"),
        "{}",
        s.context(&wrong)
    );

    // The key and no answer (askpass fails), or an empty answer: refused.
    let cancelled = s.key_login(1, &keys[1], None);
    s.refused_after_key(&cancelled, 1);
    assert_eq!(
        cancelled.prompts,
        [code_prompt("pamtest1")],
        "{}",
        s.context(&cancelled)
    );
    let empty = s.key_login(1, &keys[1], Some(""));
    s.refused_after_key(&empty, 1);
    assert_eq!(
        empty.prompts,
        [code_prompt("pamtest1")],
        "{}",
        s.context(&empty)
    );

    // The key and the right code: in, and no password was asked.
    wait_for_fresh_step(30);
    let out = s.key_login(0, &keys[0], Some(&oathtool(KEY, &[], now())));
    assert!(out.logged_in_as("pamtest0"), "{}", s.context(&out));
    assert_eq!(
        out.prompts,
        [code_prompt("pamtest0")],
        "{}",
        s.context(&out)
    );
    assert!(
        s.sshd
            .log()
            .contains("Accepted keyboard-interactive/pam for pamtest0 from 127.0.0.1"),
        "{}",
        s.context(&out)
    );
}

#[test]
fn key_then_code_with_nullok_lets_an_unenrolled_user_in_with_the_key_alone() {
    needs_root!();
    // packaging/pam.d/sshd-publickey as shipped (nullok, the rollout setting); pamtest0 has no
    // secret file.
    let (s, keys) = Setup::key_then_code(1, &shipped_stack(PUBLICKEY_STACK));
    let out = s.key_login(0, &keys[0], None);
    assert!(
        out.logged_in_as("pamtest0"),
        "an unenrolled user was refused under nullok: {}",
        s.context(&out)
    );
    assert!(
        out.prompts.is_empty(),
        "an unenrolled user was asked for a code: {}",
        s.context(&out)
    );
    let log = s.sshd.log();
    assert!(
        log.contains("Partial publickey for pamtest0 from 127.0.0.1")
            && log.contains("Accepted keyboard-interactive/pam for pamtest0 from 127.0.0.1"),
        "{}",
        s.context(&out)
    );

    // The key is still required: keyboard-interactive alone is not offered.
    let no_key = s.sshd.ssh(&SshLogin {
        user: "pamtest0",
        password: Some(FakeUsers::PASSWORD),
        code: Some(""),
        methods: KBD,
        key: None,
    });
    assert!(!no_key.ran.ok(), "{}", s.context(&no_key));
    assert!(no_key.ran.stdout.is_empty(), "{}", s.context(&no_key));
    assert!(
        no_key.ran.stderr.contains("Permission denied (publickey)"),
        "{}",
        s.context(&no_key)
    );
}

#[test]
fn key_then_code_without_nullok_refuses_an_unenrolled_user() {
    needs_root!();
    // The shipped stack with nullok removed, as its comment says to enforce; pamtest0 has no file.
    let (s, keys) = Setup::key_then_code(1, &publickey_stack_enforced());
    // Asked like an enrolled user (the prompt does not reveal enrollment), then refused.
    let out = s.key_login(0, &keys[0], Some(&oathtool(KEY, &[], now())));
    s.refused_after_key(&out, 0);
    assert_eq!(
        out.prompts,
        [code_prompt("pamtest0")],
        "{}",
        s.context(&out)
    );
    assert!(
        s.sshd
            .syslog()
            .contains("user=pamtest0 rhost=127.0.0.1 reason=not enrolled"),
        "{}",
        s.context(&out)
    );
    let cancelled = s.key_login(0, &keys[0], None);
    s.refused_after_key(&cancelled, 0);
}

#[test]
fn key_then_code_fails_closed_when_pam_totp_cannot_decide() {
    needs_root!();
    // pamtest0 is not enrolled: under nullok the key alone would do. A misspelt option
    // (PAM_SERVICE_ERR) or a module libpam cannot load (PAM_MODULE_UNKNOWN) must not fall
    // through to pam_permit. sshd reads the service file at each login.
    let shipped = shipped_stack(PUBLICKEY_STACK);
    let (s, keys) = Setup::key_then_code(1, &shipped);
    let misspelt = shipped.replace(" nullok", " nulok");
    assert_ne!(misspelt, shipped);
    s.env.service("sshd-totp", &misspelt);
    let out = s.key_login(0, &keys[0], None);
    s.refused_after_key(&out, 0);
    assert!(
        s.sshd
            .syslog()
            .contains("pam_totp(sshd-totp:auth): configuration error"),
        "{}",
        s.context(&out)
    );

    let missing = s.env.dir.path().join("no-such-dir/pam_totp.so");
    s.env.service(
        "sshd-totp",
        &shipped.replace("@MODULE@", &missing.display().to_string()),
    );
    let out = s.key_login(0, &keys[0], None);
    s.refused_after_key(&out, 0);

    // The control: the same user, the stack as shipped, gets in.
    s.env.service("sshd-totp", &shipped);
    let out = s.key_login(0, &keys[0], None);
    assert!(out.logged_in_as("pamtest0"), "{}", s.context(&out));
}

#[test]
fn key_then_code_lets_a_skip_group_member_in_with_the_key_alone() {
    needs_root!();
    // The shipped stack, enforced (no nullok), with skip_group: exemption comes from the
    // group alone. pamtest0 is a supplementary member of pt-svc and has no file; pamtest1 is
    // enrolled and in no such group.
    let enforced = publickey_stack_enforced();
    let stack = enforced.replace("@MODULE@\n", "@MODULE@ skip_group=pt-svc\n");
    assert_ne!(stack, enforced);
    let (s, keys) = Setup::key_then_code(2, &stack);
    s.users.add_group("pt-svc", 41_100, &[0]);
    s.users.enroll(1, &secret_toml(KEY, "SHA1", 6, 30, &[]));

    let exempt = s.key_login(0, &keys[0], None);
    assert!(exempt.logged_in_as("pamtest0"), "{}", s.context(&exempt));
    assert!(exempt.prompts.is_empty(), "{}", s.context(&exempt));
    assert!(
        s.sshd.syslog().contains(
            "pam_totp(sshd-totp:auth): second factor not required; user=pamtest0 rhost=127.0.0.1 reason=member of skip_group=pt-svc"
        ),
        "{}",
        s.context(&exempt)
    );

    // The enrolled user outside skip_group is asked: no answer is refused, the code lets in.
    let cancelled = s.key_login(1, &keys[1], None);
    s.refused_after_key(&cancelled, 1);
    assert_eq!(
        cancelled.prompts,
        [code_prompt("pamtest1")],
        "{}",
        s.context(&cancelled)
    );
    wait_for_fresh_step(30);
    let asked = s.key_login(1, &keys[1], Some(&oathtool(KEY, &[], now())));
    assert!(asked.logged_in_as("pamtest1"), "{}", s.context(&asked));
    assert_eq!(
        asked.prompts,
        [code_prompt("pamtest1")],
        "{}",
        s.context(&asked)
    );
}

#[test]
fn key_then_code_lets_a_remembered_host_in_with_the_key_alone() {
    needs_root!();
    // The shipped stack, enforced, with remember=: after one code from 127.0.0.1 the same
    // user from the same host needs the key alone until the time is up.
    // 127.0.0.1 is this machine, never remembered: sshd resolves the client's address with a
    // test /etc/hosts (UseDNS) and sets PAM_RHOST to the name it finds there.
    let enforced = publickey_stack_enforced();
    let stack = enforced.replace("@MODULE@\n", "@MODULE@ remember=1h\n");
    assert_ne!(stack, enforced);
    let env = Env::new();
    let users = FakeUsers::new(env.dir.path(), 1);
    env.service("sshd-totp", &stack);
    let hosts = env.dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 client.example\n").unwrap();
    let sshd = Sshd::start_configured(
        &env,
        &users,
        "sshd-totp",
        KEY_THEN_CODE,
        "UseDNS yes\n",
        &[(hosts, "/etc/hosts")],
    );
    let s = Setup { env, users, sshd };
    write_common_includes(&s.env);
    let keys = [authorize_key(&s, 0)];
    s.users.enroll(0, &secret_toml(KEY, "SHA1", 6, 30, &[]));

    // Not remembered yet: asked, and no answer is refused.
    let cancelled = s.key_login(0, &keys[0], None);
    s.refused_after_key(&cancelled, 0);
    wait_for_fresh_step(30);
    let asked = s.key_login(0, &keys[0], Some(&oathtool(KEY, &[], now())));
    assert!(asked.logged_in_as("pamtest0"), "{}", s.context(&asked));
    assert_eq!(
        asked.prompts,
        [code_prompt("pamtest0")],
        "{}",
        s.context(&asked)
    );

    // Remembered: the key alone, no prompt, the pass logged with the host.
    let remembered = s.key_login(0, &keys[0], None);
    assert!(
        remembered.logged_in_as("pamtest0"),
        "{}",
        s.context(&remembered)
    );
    assert!(remembered.prompts.is_empty(), "{}", s.context(&remembered));
    assert!(
        s.sshd.syslog().contains(
            "pam_totp(sshd-totp:auth): second factor not required; user=pamtest0 rhost=client.example reason=remembered host"
        ),
        "{}",
        s.context(&remembered)
    );

    // The same stack without remember= asks again: the memory is the option's, not the file's.
    s.env.service("sshd-totp", &enforced);
    let again = s.key_login(0, &keys[0], None);
    assert!(
        !again.ran.ok() && again.ran.stdout.is_empty(),
        "{}",
        s.context(&again)
    );
    assert_eq!(
        again.prompts,
        [code_prompt("pamtest0")],
        "{}",
        s.context(&again)
    );
}

/// PAM_IGNORE in libpam's numbering.
const PAM_IGNORE: i32 = 25;

#[test]
fn key_then_code_stack_passes_only_success_and_ignore() {
    // The shipped control line, driven through real libpam with a module that returns each code
    // libpam knows (0..=31), and values outside that range: only PAM_SUCCESS and PAM_IGNORE
    // (the user is not asked) may pass. No root needed: pam_start_confdir reads the test pam.d.
    let env = Env::new();
    write_common_includes(&env);
    let shipped = shipped_stack(PUBLICKEY_STACK);
    for ret in (-1..=33).chain([99, 1000]) {
        let stub = format!("{} ret={ret}", env!("PAM_RETURN_SO"));
        env.service("publickey", &shipped.replace("@MODULE@", &stub));
        let login = env.run(&Run {
            service: "publickey",
            extra: &["--setcred"],
            ..Run::default()
        });
        if ret == rc::SUCCESS || ret == PAM_IGNORE {
            assert!(login.ok(), "module answer {ret}: {login:?}\n{}", env.log());
            assert!(
                login.lines.iter().any(|l| l == "SETCRED 0"),
                "module answer {ret}: {login:?}"
            );
        } else {
            assert!(
                !login.ok(),
                "module answer {ret} let the stack pass: {login:?}"
            );
        }
    }
}
