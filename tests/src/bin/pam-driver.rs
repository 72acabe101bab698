//! Runs one real PAM transaction with a service file from any directory (pam_start_confdir)
//! and prints what happened, one event per line, for the integration tests.
//!
//! pam-driver --confdir DIR --service NAME --user USER [--rhost HOST] [--silent] [--setcred] [--acct]
//!            [--start-at UNIX_MILLIS] [--answer TEXT | --answer-null | --answer-fail]...

use pam_totp_tests::ffi::{run, Answer, Transaction, PAM_SILENT};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn usage(msg: &str) -> ! {
    eprintln!("pam-driver: {msg}");
    std::process::exit(2)
}

fn main() {
    let mut t = Transaction {
        confdir: String::new(),
        service: String::new(),
        user: String::new(),
        rhost: None,
        answers: Vec::new(),
        flags: 0,
        setcred: false,
        acct: false,
    };
    let mut start_at: Option<u128> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--confdir" => t.confdir = value(),
            "--service" => t.service = value(),
            "--user" => t.user = value(),
            "--rhost" => t.rhost = Some(value()),
            "--answer" => t.answers.push(Answer::Text(value())),
            "--answer-null" => t.answers.push(Answer::Null),
            "--answer-fail" => t.answers.push(Answer::Fail),
            "--silent" => t.flags |= PAM_SILENT,
            "--setcred" => t.setcred = true,
            "--acct" => t.acct = true,
            "--start-at" => {
                start_at = Some(value().parse().unwrap_or_else(|_| usage("bad --start-at")))
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if t.confdir.is_empty() || t.service.is_empty() || t.user.is_empty() {
        usage("--confdir, --service and --user are required");
    }
    if let Some(at) = start_at {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        if at > now {
            std::thread::sleep(Duration::from_millis(u64::try_from(at - now).unwrap_or(0)));
        }
    }
    run(&t);
}
