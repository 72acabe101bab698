//! Side-by-side benchmark of pam_totp.so and pam_google_authenticator.so: the same secret, the
//! same policy (one step of drift either way, at most 3 checks per 30 s, no code reuse), real
//! logins through real libpam (`pam_start_confdir` + `pam_authenticate` + `pam_end`), codes
//! from oathtool. Each timed login runs in `pam-timer` (tests/support/pam_timer.c), a plain C
//! program like sshd, sudo or su: no Rust runtime and no libgcc_s loaded beforehand, so that
//! each module's loading cost counts as it does in those programs. pam_google_authenticator runs twice: as installed by default,
//! and with `noskewadj`, which turns off its search for clock skew after a wrong code (half a
//! day either way), the part of its work pam_totp does not do.
//!
//! pam-bench [--iterations N] [--dir DIR] [--check]
//!
//! Before every login the user's file is written afresh (not timed), so that each timed login
//! is the full work of a first login in its time step: open, read, check, and the state update
//! on disk. The wrong code matches no time step within the skew search either, as an
//! attacker's guess almost never does. The modules take turns, so all see the same machine.
//! Prints, per module and case,
//! the median, 90th and 99th percentile and the mean time of one login, and the ratio.
//! `--check` runs a few logins of each kind and only verifies that every one of them ended as
//! expected (the test suite runs it so that the benchmark cannot silently measure failures).
//! `--dir` picks where the files live (default: a directory under target/, on the same disk as
//! a build; put it on the file system your homes are on to measure what your users will see).
//!
//! Both modules log every login. Without a syslog daemon (no `/dev/log`, as on build machines)
//! glibc would write pam_google_authenticator's lines to the console (it opens its log with
//! `LOG_CONS`), which costs more than the login itself and is not what a server does; then
//! `pam-timer` runs with the test suite's syslog shim preloaded, so that every log line of
//! every module is appended to a file instead.

use pam_totp_tests::{
    current_user, module_path, oathtool, secret_toml, workspace_root, write_private, KEY,
};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const PAM_SUCCESS: i32 = 0;
const PAM_AUTH_ERR: i32 = 7;

/// One module under test: its service name, the file it reads and that file's fresh content.
struct Contender {
    name: &'static str,
    service: &'static str,
    file: PathBuf,
    pristine: String,
    times: [Vec<Duration>; 2],
}

/// What a login types and how it must end.
#[derive(Clone, Copy)]
enum Case {
    RightCode,
    WrongCode,
}

impl Case {
    const ALL: [Case; 2] = [Case::RightCode, Case::WrongCode];

    fn label(self) -> &'static str {
        match self {
            Case::RightCode => "right code (accepted, state written)",
            Case::WrongCode => "wrong code (refused, count written)",
        }
    }

    fn expected(self) -> i32 {
        match self {
            Case::RightCode => PAM_SUCCESS,
            Case::WrongCode => PAM_AUTH_ERR,
        }
    }

    fn index(self) -> usize {
        match self {
            Case::RightCode => 0,
            Case::WrongCode => 1,
        }
    }
}

fn usage(msg: &str) -> ! {
    eprintln!("pam-bench: {msg}\nusage: pam-bench [--iterations N] [--dir DIR] [--check]");
    std::process::exit(2)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The right code for the current step, and a wrong one that matches no step within
/// pam_google_authenticator's skew search (1500 steps either way); fetched from oathtool again
/// whenever the step changes.
struct Codes {
    step: u64,
    right: String,
    wrong: String,
}

impl Codes {
    fn current(&mut self) -> &Codes {
        let t = now();
        if t / 30 != self.step {
            self.step = t / 30;
            self.right = oathtool(KEY, &[], t);
            self.wrong = wrong_code_far_from(t);
        }
        self
    }

    fn for_case(&mut self, case: Case) -> String {
        let c = self.current();
        match case {
            Case::RightCode => c.right.clone(),
            Case::WrongCode => c.wrong.clone(),
        }
    }
}

/// Where the log lines go when there is no `/dev/log`: a file written by the syslog shim.
fn syslog_capture(dir: &Path) -> Option<PathBuf> {
    (!Path::new("/dev/log").exists()).then(|| dir.join("syslog.log"))
}

/// Steps pam_google_authenticator searches either way for clock skew after a wrong code.
const SKEW_SEARCH_STEPS: u64 = 1500;

/// A six-digit code that matches no step within `SKEW_SEARCH_STEPS` (and one more) of `t`.
fn wrong_code_far_from(t: u64) -> String {
    let span = SKEW_SEARCH_STEPS + 1;
    let start = t.saturating_sub(span * 30);
    let window = (2 * span).to_string();
    let near = oathtool(KEY, &["-w", window.as_str()], start);
    (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|c| !near.lines().any(|l| l.trim() == c))
        .unwrap_or_else(|| usage("no wrong code found"))
}

fn main() {
    let mut iterations: usize = 1000;
    let mut base: Option<PathBuf> = None;
    let mut check = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--iterations" => {
                iterations = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|n| *n > 0)
                    .unwrap_or_else(|| usage("--iterations needs a positive number"))
            }
            "--dir" => {
                base = Some(
                    args.next()
                        .map(PathBuf::from)
                        .unwrap_or_else(|| usage("--dir needs a directory")),
                )
            }
            "--check" => check = true,
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if check {
        iterations = 3;
    }
    let base = base.unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target"))
    });
    std::fs::create_dir_all(&base).unwrap_or_else(|e| usage(&format!("{}: {e}", base.display())));
    let dir = tempfile::Builder::new()
        .prefix("pam_totp-bench")
        .tempdir_in(&base)
        .unwrap_or_else(|e| usage(&format!("temp dir in {}: {e}", base.display())));

    let user = current_user();
    let mut contenders = setup(dir.path(), &user);
    let mut codes = Codes {
        step: 0,
        right: String::new(),
        wrong: String::new(),
    };

    // Warm up the page cache, libpam's module loading and both modules' code paths.
    for c in &mut contenders {
        for case in Case::ALL {
            login(dir.path(), c, &user, case, &mut codes);
        }
    }
    for c in &mut contenders {
        c.times = [Vec::new(), Vec::new()];
    }

    let n = contenders.len();
    for round in 0..iterations {
        for case in Case::ALL {
            // Rotate who goes first, so no one always runs on a cache another warmed.
            for k in 0..n {
                let i = (round + k) % n;
                let took = login(dir.path(), &mut contenders[i], &user, case, &mut codes);
                contenders[i].times[case.index()].push(took);
            }
        }
    }

    if check {
        println!("pam-bench --check: every login of every module ended as expected");
        return;
    }
    report(&contenders, iterations, dir.path());
}

/// Writes both service files and the pristine content of both secret files.
fn setup(dir: &Path, user: &str) -> Vec<Contender> {
    let confdir = dir.join("pam.d");
    let totp_dir = dir.join("totp");
    let ga_dir = dir.join("ga");
    let ga_noskew_dir = dir.join("ga-noskewadj");
    for d in [&confdir, &totp_dir, &ga_dir, &ga_noskew_dir] {
        std::fs::create_dir(d).unwrap_or_else(|e| usage(&format!("{}: {e}", d.display())));
        // Whatever the umask: pam_totp refuses group-writable directories.
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| usage(&format!("chmod {}: {e}", d.display())));
    }
    let services = [
        (
            "bench-pam_totp",
            format!(
                "{} secret={}/%u.toml",
                module_path().display(),
                totp_dir.display()
            ),
        ),
        (
            "bench-google_authenticator",
            format!(
                "pam_google_authenticator.so secret={}/${{USER}}",
                ga_dir.display()
            ),
        ),
        (
            "bench-google_authenticator-noskewadj",
            format!(
                "pam_google_authenticator.so secret={}/${{USER}} noskewadj",
                ga_noskew_dir.display()
            ),
        ),
    ];
    for (name, module) in services {
        std::fs::write(confdir.join(name), format!("auth required {module}\n"))
            .unwrap_or_else(|e| usage(&format!("service file {name}: {e}")));
    }

    // pam_totp's defaults are window=1 (three steps in all), rate_limit=3/30 and no reuse:
    // the same policy written the google-authenticator way.
    let ga =
        format!("{KEY}\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 3\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n");
    vec![
        Contender {
            name: "pam_totp",
            service: "bench-pam_totp",
            file: totp_dir.join(format!("{user}.toml")),
            pristine: secret_toml(KEY, "SHA1", 6, 30, &[]),
            times: [Vec::new(), Vec::new()],
        },
        Contender {
            name: "pam_google_authenticator",
            service: "bench-google_authenticator",
            file: ga_dir.join(user),
            pristine: ga.clone(),
            times: [Vec::new(), Vec::new()],
        },
        Contender {
            name: "pam_google_authenticator noskewadj",
            service: "bench-google_authenticator-noskewadj",
            file: ga_noskew_dir.join(user),
            pristine: ga,
            times: [Vec::new(), Vec::new()],
        },
    ]
}

/// Restores the contender's file (not timed), then times one whole PAM transaction.
/// Restores the contender's file, then has `pam-timer` run and time one PAM transaction.
fn login(dir: &Path, c: &mut Contender, user: &str, case: Case, codes: &mut Codes) -> Duration {
    write_private(&c.file, &c.pristine);
    let mut timer = Command::new(env!("PAM_TIMER"));
    timer
        .arg(dir.join("pam.d"))
        .args([c.service, user, codes.for_case(case).as_str()]);
    let log = syslog_capture(dir);
    if let Some(log) = &log {
        timer
            .env("LD_PRELOAD", env!("SYSLOG_CAPTURE_SO"))
            .env("PAM_TOTP_TEST_SYSLOG", log);
    }
    let out = timer
        .output()
        .unwrap_or_else(|e| usage(&format!("run pam-timer: {e}")));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.split_whitespace().map(str::parse::<i64>);
    let (Some(Ok(rc)), Some(Ok(usec))) = (fields.next(), fields.next()) else {
        eprintln!(
            "pam-bench: pam-timer failed for {}: {}{}",
            c.name,
            text,
            String::from_utf8_lossy(&out.stderr)
        );
        std::process::exit(1);
    };
    let took = Duration::from_micros(u64::try_from(usec).unwrap_or(0));
    if rc != i64::from(case.expected()) {
        let log = log
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|l| format!("\nlog lines:\n{l}"))
            .unwrap_or_default();
        eprintln!(
            "pam-bench: {} returned {rc} for \"{}\" (expected {}); its file was {}{log}",
            c.name,
            case.label(),
            case.expected(),
            c.file.display()
        );
        std::process::exit(1);
    }
    took
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let i = (sorted.len() * p / 100).min(sorted.len().saturating_sub(1));
    sorted.get(i).copied().unwrap_or_default()
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn report(contenders: &[Contender], iterations: usize, dir: &Path) {
    let fs_type = Command::new("stat")
        .args(["-f", "-c", "%T"])
        .arg(dir)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let syslog = match syslog_capture(dir) {
        Some(_) => "appended to a file by the syslog shim (no /dev/log here)",
        None => "sent to /dev/log",
    };
    println!(
        "{iterations} logins per module and case; files in {} ({fs_type}); log lines {syslog}\n",
        dir.display()
    );
    println!("| case | module | median | p90 | p99 | mean |");
    println!("|---|---|---|---|---|---|");
    for case in Case::ALL {
        let mut medians = Vec::new();
        for c in contenders {
            let mut t = c.times[case.index()].clone();
            t.sort();
            let total: Duration = t.iter().sum();
            let mean = total / u32::try_from(t.len().max(1)).unwrap_or(u32::MAX);
            medians.push(percentile(&t, 50));
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                case.label(),
                c.name,
                micros(percentile(&t, 50)),
                micros(percentile(&t, 90)),
                micros(percentile(&t, 99)),
                micros(mean)
            );
        }
        if let Some((ours, others)) = medians.split_first() {
            for (theirs, c) in others.iter().zip(&contenders[1..]) {
                println!(
                    "|  | median ratio pam_totp / {} | {:.2} | | | |",
                    c.name,
                    ours.as_secs_f64() / theirs.as_secs_f64().max(1e-9)
                );
            }
        }
    }
}
