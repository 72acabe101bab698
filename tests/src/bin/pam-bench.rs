//! Side-by-side benchmark of pam_totp.so and pam_google_authenticator.so, each measured as
//! what it adds to a login over pam_permit.so (the cost of libpam itself): the same secret, the
//! same policy (one step of drift either way, at most 3 checks per 30 s, no code reuse), real
//! logins through real libpam (`pam_start_confdir` + `pam_authenticate` + `pam_end`), codes
//! from oathtool. Each timed login runs in `pam-timer` (tests/support/pam_timer.c), a plain C
//! program like sshd, sudo or su: no Rust runtime and no libgcc_s loaded beforehand, so that
//! each module's loading cost counts as it does in those programs. pam_google_authenticator runs twice: as installed by default,
//! and with `noskewadj`, which turns off its search for clock skew after a wrong code (half a
//! day either way), the part of its work pam_totp does not do.
//!
//! pam-bench [--iterations N] [--dir DIR] [--instructions RUNS] [--callgrind-out DIR] [--check] [--keep]
//!
//! Before every login the user's file is restored (not timed: written in place and synced),
//! so that each timed login is the full work of a first login in its time step: open, read,
//! check, and the state update on disk. pam_totp's file is in today's format (version 2,
//! state in slots). The wrong code matches no time step within the skew search either, as an
//! attacker's guess almost never does. The modules take turns, so all see the same machine.
//! Prints, per module and case,
//! the median, 90th and 99th percentile and the mean time of one login, and the ratio.
//! With valgrind installed, each module and case also runs RUNS times (default 3) under
//! callgrind, and the median count of instructions executed by the whole host process is
//! reported, again as what each module adds over pam_permit (wall time depends on the
//! machine; instructions much less).
//! `--callgrind-out DIR` keeps the last callgrind profile of each module and case there
//! (`callgrind_annotate DIR/callgrind.pam_totp.right-code`, also `wrong-code`; build with `--profile profiling`
//! and point `PAM_TOTP_MODULE` at that build to see function names).
//! `--check` runs a few logins of each kind and only verifies that every one of them ended as
//! expected (the test suite runs it so that the benchmark cannot silently measure failures).
//! `--keep` leaves the directory (pam.d, the modules' files, the last codes) in place and names
//! it, to run `pam-timer` by hand under perf or strace.
//! `--dir` picks where the files live (default: a directory under target/, on the same disk as
//! a build; put it on the file system your homes are on to measure what your users will see).
//!
//! Both modules log every login. Without a syslog daemon (no `/dev/log`, as on build machines)
//! glibc would write pam_google_authenticator's lines to the console (it opens its log with
//! `LOG_CONS`), which costs more than the login itself and is not what a server does; then
//! `pam-timer` runs with the test suite's syslog shim preloaded, so that every log line of
//! every module is appended to a file instead.

use pam_totp_core::secret_file::SecretFile;
use pam_totp_tests::{
    current_user, module_path, oathtool, secret_toml, workspace_root, write_private, KEY,
};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const PAM_SUCCESS: i32 = 0;
const PAM_AUTH_ERR: i32 = 7;

/// One module under test: its service name, the file it reads and that file's fresh content
/// (none for the pam_permit baseline).
struct Contender {
    name: &'static str,
    service: &'static str,
    file: Option<PathBuf>,
    pristine: String,
    times: [Vec<Duration>; 2],
    instructions: [Vec<u64>; 2],
}

/// The baseline: libpam with pam_permit.so, whose cost every module's is measured over.
const BASELINE: &str = "pam_permit";

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

    fn expected(self, c: &Contender) -> i32 {
        if c.file.is_none() {
            return PAM_SUCCESS;
        }
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
    eprintln!(
        "pam-bench: {msg}\nusage: pam-bench [--iterations N] [--dir DIR] [--instructions RUNS] [--callgrind-out DIR] [--check] [--keep]"
    );
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
    let mut keep = false;
    let mut instruction_runs: usize = 3;
    let mut profiles: Option<PathBuf> = None;
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
            "--instructions" => {
                instruction_runs = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage("--instructions needs a number (0: none)"))
            }
            "--check" => check = true,
            "--keep" => keep = true,
            "--callgrind-out" => {
                profiles = Some(
                    args.next()
                        .map(PathBuf::from)
                        .unwrap_or_else(|| usage("--callgrind-out needs a directory")),
                )
            }
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
    if check {
        instruction_runs = 0;
    }
    let valgrind = which("valgrind");
    if instruction_runs > 0 && valgrind.is_none() {
        eprintln!("pam-bench: valgrind is not installed: no instruction counts (apt-get install valgrind)");
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

    if let Some(valgrind) = valgrind.filter(|_| instruction_runs > 0) {
        for _ in 0..instruction_runs {
            for case in Case::ALL {
                for c in &mut contenders {
                    let out = profiles.as_deref().map(|d| {
                        let case = ["right-code", "wrong-code"][case.index()];
                        d.join(format!("callgrind.{}.{case}", c.name.replace(' ', "-")))
                    });
                    let count = instructions(
                        &valgrind,
                        dir.path(),
                        c,
                        &user,
                        case,
                        &mut codes,
                        out.as_deref(),
                    );
                    c.instructions[case.index()].push(count);
                }
            }
        }
    }

    if check {
        println!("pam-bench --check: every login of every module ended as expected");
    } else {
        report(&contenders, iterations, dir.path());
    }
    if keep {
        let kept = dir.keep();
        println!(
            "pam-bench: kept {} (pam-timer {}/pam.d SERVICE {user} CODE)",
            kept.display(),
            kept.display()
        );
    }
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
        ("bench-pam_permit", "pam_permit.so".to_string()),
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
    // pam_totp's file as totp-enroll writes it today (format version 2).
    let totp = SecretFile::parse(secret_toml(KEY, "SHA1", 6, 30, &[]).as_bytes())
        .and_then(|f| f.to_toml())
        .unwrap_or_else(|e| usage(&format!("pam_totp's file: {e}")));
    let contender = |name, service, file, pristine: &str| Contender {
        name,
        service,
        file,
        pristine: pristine.to_string(),
        times: [Vec::new(), Vec::new()],
        instructions: [Vec::new(), Vec::new()],
    };
    vec![
        contender(BASELINE, "bench-pam_permit", None, ""),
        contender(
            "pam_totp",
            "bench-pam_totp",
            Some(totp_dir.join(format!("{user}.toml"))),
            totp.as_str(),
        ),
        contender(
            "pam_google_authenticator",
            "bench-google_authenticator",
            Some(ga_dir.join(user)),
            &ga,
        ),
        contender(
            "pam_google_authenticator noskewadj",
            "bench-google_authenticator-noskewadj",
            Some(ga_noskew_dir.join(user)),
            &ga,
        ),
    ]
}

/// Puts the contender's file back as it was before any login, on disk (not timed). A file of
/// the same size is written in place, as a login of pam_totp writes it, so that its blocks
/// stay allocated; otherwise it is created afresh.
fn restore(c: &Contender) {
    let Some(file) = &c.file else {
        return;
    };
    let same_size = std::fs::OpenOptions::new()
        .write(true)
        .open(file)
        .ok()
        .filter(|f| {
            f.metadata()
                .is_ok_and(|m| m.len() == c.pristine.len() as u64)
        });
    let written = match same_size {
        Some(f) => f
            .write_all_at(c.pristine.as_bytes(), 0)
            .and_then(|()| f.sync_all()),
        None => {
            write_private(file, &c.pristine);
            std::fs::File::open(file).and_then(|f| f.sync_all())
        }
    };
    written.unwrap_or_else(|e| usage(&format!("restore {}: {e}", file.display())));
}

/// The `pam-timer` command for one login of `c`.
fn timer_command(dir: &Path, c: &Contender, user: &str, answer: &str) -> Command {
    let mut timer = Command::new(env!("PAM_TIMER"));
    timer.arg(dir.join("pam.d")).args([c.service, user, answer]);
    if let Some(log) = syslog_capture(dir) {
        timer
            .env("LD_PRELOAD", env!("SYSLOG_CAPTURE_SO"))
            .env("PAM_TOTP_TEST_SYSLOG", log);
    }
    timer
}

/// Restores the contender's file, then has `pam-timer` run and time one PAM transaction.
fn login(dir: &Path, c: &mut Contender, user: &str, case: Case, codes: &mut Codes) -> Duration {
    restore(c);
    let out = timer_command(dir, c, user, &codes.for_case(case))
        .output()
        .unwrap_or_else(|e| usage(&format!("run pam-timer: {e}")));
    let log = syslog_capture(dir);
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
    if rc != i64::from(case.expected(c)) {
        let log = log
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|l| format!("\nlog lines:\n{l}"))
            .unwrap_or_default();
        eprintln!(
            "pam-bench: {} returned {rc} for \"{}\" (expected {}); its file was {:?}{log}",
            c.name,
            case.label(),
            case.expected(c),
            c.file
        );
        std::process::exit(1);
    }
    took
}

/// The number of instructions one login of `c` executes in the host process (user space,
/// counted by callgrind), after restoring its file.
fn instructions(
    valgrind: &Path,
    dir: &Path,
    c: &Contender,
    user: &str,
    case: Case,
    codes: &mut Codes,
    profile: Option<&Path>,
) -> u64 {
    restore(c);
    let timer = timer_command(dir, c, user, &codes.for_case(case));
    let mut cmd = Command::new(valgrind);
    let out = profile.unwrap_or(Path::new("/dev/null"));
    cmd.arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(timer.get_program())
        .args(timer.get_args());
    for (k, v) in timer.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| usage(&format!("run valgrind: {e}")));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let rc = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .and_then(|f| f.parse::<i32>().ok());
    if rc != Some(case.expected(c)) {
        eprintln!(
            "pam-bench: {} under callgrind returned {rc:?}: {stderr}",
            c.name
        );
        std::process::exit(1);
    }
    stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| usage(&format!("no instruction count from callgrind: {stderr}")))
}

/// The program `name` on PATH, if any.
fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

fn median_of(values: &[u64]) -> Option<u64> {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied()
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
        // What each module adds over pam_permit, and pam_totp's share of the others'.
        let added: Vec<f64> = medians
            .iter()
            .map(|m| (m.as_secs_f64() - medians[0].as_secs_f64()) * 1e6)
            .collect();
        for (i, c) in contenders.iter().enumerate().skip(1) {
            println!(
                "|  | added over {BASELINE}: {} | {:.0} µs | | | |",
                c.name, added[i]
            );
        }
        for (i, c) in contenders.iter().enumerate().skip(2) {
            println!(
                "|  | added-time ratio pam_totp / {} | {:.2} | | | |",
                c.name,
                added[1] / added[i].max(1e-3)
            );
        }
    }
    if contenders.iter().all(|c| !c.instructions[0].is_empty()) {
        println!(
            "\nInstructions per login (callgrind, median of {} runs), and added over {BASELINE}:\n",
            contenders[0].instructions[0].len()
        );
        println!("| case | module | instructions | added | ratio of added, pam_totp / module |");
        println!("|---|---|---|---|---|");
        for case in Case::ALL {
            let counts: Vec<u64> = contenders
                .iter()
                .map(|c| median_of(&c.instructions[case.index()]).unwrap_or(0))
                .collect();
            let added: Vec<i64> = counts
                .iter()
                .map(|n| *n as i64 - counts[0] as i64)
                .collect();
            for (i, c) in contenders.iter().enumerate() {
                let ratio = if i >= 2 {
                    format!("{:.2}", added[1] as f64 / (added[i] as f64).max(1.0))
                } else {
                    String::new()
                };
                println!(
                    "| {} | {} | {} | {} | {ratio} |",
                    case.label(),
                    c.name,
                    counts[i],
                    added[i]
                );
            }
        }
    }
    let _ = std::io::stdout().flush();
}
