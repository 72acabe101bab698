//! Runs one real PAM transaction with a service file from any directory (pam_start_confdir)
//! and prints what happened, one event per line, for the integration tests.
//!
//! pam-driver --confdir DIR --service NAME --user USER [--rhost HOST] [--silent] [--setcred] [--acct]
//!            [--start-at UNIX_MILLIS] [--logins N] [--think MILLIS]
//!            [--answer TEXT | --answer-null | --answer-fail]...
//!
//! With `--logins N` the process is one busy "host": it runs N transactions at once, one per
//! thread, all released together at `--start-at` (each prints its own `AUTH rc` line).

use pam_totp_tests::ffi::{run, Answer, Transaction, PAM_SILENT};
use std::sync::{Arc, Barrier};
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
        think: Duration::ZERO,
    };
    let mut start_at: Option<u128> = None;
    let mut logins: usize = 1;
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
            "--think" => {
                t.think =
                    Duration::from_millis(value().parse().unwrap_or_else(|_| usage("bad --think")))
            }
            "--logins" => {
                logins = value()
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .unwrap_or_else(|| usage("bad --logins"))
            }
            "--start-at" => {
                start_at = Some(value().parse().unwrap_or_else(|_| usage("bad --start-at")))
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if t.confdir.is_empty() || t.service.is_empty() || t.user.is_empty() {
        usage("--confdir, --service and --user are required");
    }
    if logins == 1 {
        wait_until(start_at);
        run(&t);
        return;
    }
    // Every thread is started and waiting before the release, so that the transactions
    // begin within a scheduler tick of each other.
    let barrier = Arc::new(Barrier::new(logins + 1));
    let threads: Vec<_> = (0..logins)
        .map(|_| {
            let (t, barrier) = (t.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                run(&t);
            })
        })
        .collect();
    wait_until(start_at);
    barrier.wait();
    for thread in threads {
        if thread.join().is_err() {
            usage("a login thread panicked");
        }
    }
}

/// Sleeps until Unix time `at` (milliseconds), if given and still ahead.
fn wait_until(at: Option<u128>) {
    if let Some(at) = at {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        if at > now {
            std::thread::sleep(Duration::from_millis(u64::try_from(at - now).unwrap_or(0)));
        }
    }
}
