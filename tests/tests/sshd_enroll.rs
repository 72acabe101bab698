//! Enrollment at login (`enroll`) through a real sshd (keyboard-interactive) and the real ssh
//! client on a pseudo-terminal: the password, then the QR code the client prints is decoded
//! with zbarimg, the code for the decoded key made by oathtool and typed. Needs root; the
//! machine's /etc is never changed.

use pam_totp_core::secret_file::{SecretFile, FORMAT_VERSION};
use pam_totp_tests::consumers::*;
use pam_totp_tests::enroll_qr::*;
use pam_totp_tests::*;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::Command;

/// Password (pam_unix, requisite), then pam_totp with `enroll`.
const STACK: &str = "auth requisite pam_unix.so\n\
auth required @MODULE@ enroll\n\
account required pam_unix.so\n\
session required pam_permit.so\n";

/// Fields drop in order: sshd stops before its directory goes.
struct Setup {
    sshd: Sshd,
    users: FakeUsers,
    env: Env,
}

impl Setup {
    /// pamtest0 with a password and no secret file; sshd with the stack above.
    fn new() -> Setup {
        let env = Env::new();
        let users = FakeUsers::new(env.dir.path(), 1);
        env.service("sshd-enroll", STACK);
        let sshd = Sshd::start(&env, &users, "sshd-enroll", "keyboard-interactive");
        Setup { sshd, users, env }
    }

    fn secret_path(&self) -> PathBuf {
        self.users.users[0].2.join(".pam_totp.toml")
    }

    /// `ssh pamtest0@127.0.0.1 id -un` on a pseudo-terminal; the n-th code prompt is answered
    /// with `answer(transcript so far, n)`.
    fn ssh(&self, answer: impl FnMut(&str, usize) -> Option<String>) -> Dialogue {
        let port = self.sshd.port.to_string();
        let ssh = tool("ssh", "openssh-client");
        let ssh = ssh.to_str().expect("ssh path");
        #[rustfmt::skip]
        let client = [
            ssh, "-F", "/dev/null", "-p", &port,
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=5",
            "-o", "PreferredAuthentications=keyboard-interactive",
            "-o", "IdentityFile=none", "-o", "IdentitiesOnly=yes",
            "pamtest0@127.0.0.1", "id -un",
        ];
        enroll_dialogue(
            &self.env,
            Command::new(tool("expect", "expect")),
            "Password: ",
            &client,
            answer,
        )
    }

    fn context(&self, d: &Dialogue) -> String {
        format!(
            "{}\n--- status {:?}, asked {}\n--- sshd:\n{}\n--- syslog:\n{}",
            d.transcript,
            d.status,
            d.asked,
            self.sshd.log(),
            self.sshd.syslog()
        )
    }
}

#[test]
fn a_user_without_a_file_enrolls_by_scanning_the_qr_code_shown_by_ssh() {
    needs_root!();
    let s = Setup::new();
    let dir = s.env.dir.path().to_path_buf();
    let mut shown = Shown::default();
    wait_for_fresh_step(30);
    let d = s.ssh(|transcript, n| {
        assert_eq!(n, 1, "one code prompt when the first code is right");
        shown = read_qr(transcript, &dir);
        Some(oathtool(&shown.key, &[], now()))
    });
    assert!(d.ok(), "{}", s.context(&d));
    assert!(d.lines().contains(&"pamtest0"), "{}", s.context(&d));
    assert_eq!(d.asked, 1, "{}", s.context(&d));
    // totp-enroll's defaults: this host's name as issuer, USER@HOST as the label.
    let host = fs::read_to_string("/proc/sys/kernel/hostname").expect("host name");
    let host = host.trim();
    assert!(
        shown
            .uri
            .starts_with(&format!("otpauth://totp/{host}:pamtest0%40{host}?secret=")),
        "{}",
        shown.uri
    );

    // The recovery codes were shown during the login, once.
    let codes = recovery_codes(&d.transcript);
    assert_eq!(codes.len(), 10, "{}", s.context(&d));
    assert!(d.transcript.contains(STORED_PROMPT), "{}", s.context(&d));

    // The file, as totp-enroll writes it: the user's, mode 0600, format version 2, the key.
    let path = s.secret_path();
    let meta = fs::symlink_metadata(&path)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), s.context(&d)));
    assert!(meta.is_file());
    assert_eq!(meta.mode() & 0o7777, 0o600);
    assert_eq!((meta.uid(), meta.gid()), (40_000, 40_000));
    let bytes = fs::read(&path).expect("read the secret file");
    let text = String::from_utf8_lossy(&bytes);
    let version = format!("version = {FORMAT_VERSION}");
    assert!(text.lines().any(|l| l == version), "{text}");
    let file = SecretFile::parse(&bytes).expect("the file parses");
    let token = file.first_token();
    assert_eq!(token.secret.to_base32().as_str(), shown.key);
    assert_eq!((token.digits, token.period()), (6, Some(30)));
    assert!(file.created.is_some());
    assert_eq!(file.recovery.len(), 10);
    assert_eq!(file.state.marks[0], Some(shown.step));
    // No key and no code in the log; the decision in one line.
    let log = s.sshd.syslog();
    assert!(
        log.contains(
            "pam_totp(sshd-enroll:auth): enrolled at login; user=pamtest0 rhost=127.0.0.1"
        ),
        "{}",
        s.context(&d)
    );
    assert!(!log.contains(&shown.key), "{log}");
    assert!(codes.iter().all(|c| !log.contains(c.as_str())), "{log}");

    // The next login is an ordinary one, with a code of a later step.
    while now() / 30 <= shown.step {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    wait_for_fresh_step(30);
    let key = shown.key.clone();
    let again = s.ssh(|_, _| Some(oathtool(&key, &[], now())));
    assert!(again.ok(), "{}", s.context(&again));
    assert!(again.lines().contains(&"pamtest0"), "{}", s.context(&again));
    assert_eq!(again.asked, 1, "{}", s.context(&again));
    assert!(
        qr_grid(&again.transcript).is_none() && !again.transcript.contains("not enrolled"),
        "{}",
        s.context(&again)
    );
    assert!(
        s.sshd
            .syslog()
            .contains("pam_totp(sshd-enroll:auth): accepted verification code; user=pamtest0"),
        "{}",
        s.context(&again)
    );
}

#[test]
fn three_wrong_first_codes_fail_the_login_and_write_nothing() {
    needs_root!();
    let s = Setup::new();
    let dir = s.env.dir.path().to_path_buf();
    let mut key = String::new();
    let d = s.ssh(|transcript, n| {
        if n == 1 {
            key = read_qr(transcript, &dir).key;
        }
        Some(wrong_code(&key))
    });
    assert!(!d.ok(), "{}", s.context(&d));
    assert!(!d.lines().contains(&"pamtest0"), "{}", s.context(&d));
    // The rate limit's number of tries (3), "try again" between them.
    assert_eq!(d.asked, 3, "{}", s.context(&d));
    assert_eq!(
        d.transcript.matches("That code is not right").count(),
        2,
        "{}",
        s.context(&d)
    );
    assert!(
        !d.transcript.contains("Recovery codes"),
        "{}",
        s.context(&d)
    );
    assert!(
        !s.secret_path().exists(),
        "no file may be written: {}",
        s.context(&d)
    );
    assert!(
        s.sshd
            .syslog()
            .contains("user=pamtest0 rhost=127.0.0.1 reason=not enrolled ("),
        "{}",
        s.context(&d)
    );
    assert!(
        s.sshd
            .syslog()
            .contains("enroll: the first code was wrong 3 times, nothing written"),
        "{}",
        s.context(&d)
    );
    assert!(!s.sshd.syslog().contains(&key));
}
