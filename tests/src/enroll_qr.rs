//! Enrollment at login as a user sees it: a real client (ssh, sudo) on a pseudo-terminal,
//! driven by expect(1) (`support/enroll_dialogue.exp`) and answered by the test as it goes; the
//! QR code found in what the client printed, drawn into an image and decoded with zbarimg, the
//! code for the decoded key made by oathtool.

use crate::consumers::has_exited;
use crate::{tool, Env};
use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The module's code prompt (the default `prompt=`).
pub const CODE_PROMPT: &str = "Verification code: ";
/// The module's prompt after the recovery codes.
pub const STORED_PROMPT: &str = "Press Enter once the recovery codes are stored: ";
/// What the expect program prints at each code prompt.
const ASKED: &str = "DIALOGUE: code?";
/// The expect program.
const SCRIPT: &str = include_str!("../support/enroll_dialogue.exp");
/// How long a whole dialogue may take.
const LIMIT: Duration = Duration::from_secs(40);

/// What an enrollment dialogue did.
#[derive(Debug, Clone)]
pub struct Dialogue {
    /// expect's exit status (the client's, or 92/93 for a timeout or a missing answer);
    /// None when it overran its time and was killed.
    pub status: Option<i32>,
    /// Everything the client printed (pty output, `\r\n` line ends), with expect's markers.
    pub transcript: String,
    /// How many times the code prompt was shown.
    pub asked: usize,
}

impl Dialogue {
    /// True when the client exited with status 0.
    pub fn ok(&self) -> bool {
        self.status == Some(0)
    }

    /// The transcript's lines without their `\r`.
    pub fn lines(&self) -> Vec<&str> {
        self.transcript
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .collect()
    }
}

/// Runs `expect` (a command that starts expect(1), e.g. inside a namespace; the script and
/// its arguments are added here) on `client`, answering `password_prompt` with the test
/// users' password and the n-th code prompt (from 1) with `answer(transcript so far, n)`
/// (None: no answer, the dialogue ends). The client runs under `LC_ALL=C.UTF-8`, as a user's
/// terminal would, so that the block characters are printed as they are.
pub fn enroll_dialogue(
    env: &Env,
    mut expect: Command,
    password_prompt: &str,
    client: &[&str],
    mut answer: impl FnMut(&str, usize) -> Option<String>,
) -> Dialogue {
    let script = env.dir.path().join("enroll_dialogue.exp");
    if !script.exists() {
        crate::consumers::write_mode(&script, SCRIPT, 0o644);
    }
    expect
        .arg(&script)
        .args([password_prompt, CODE_PROMPT, STORED_PROMPT])
        .args(client)
        .env("DIALOGUE_PASSWORD", crate::FakeUsers::PASSWORD)
        .env("LC_ALL", "C.UTF-8")
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("SSH_ASKPASS")
        .env_remove("DISPLAY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    crate::ffi::new_session_on_exec(&mut expect);
    let mut child = expect
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {expect:?}: {e}"));
    let pid = child.id() as i32;
    let mut stdin = child.stdin.take();
    let output = Arc::new(Mutex::new(Vec::new()));
    let readers: Vec<_> = [
        Box::new(child.stdout.take().expect("piped stdout")) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().expect("piped stderr")),
    ]
    .into_iter()
    .map(|mut from| {
        let output = output.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 {
                    break;
                }
                output
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&buf[..n]);
            }
        })
    })
    .collect();
    let text = || {
        let bytes = output.lock().unwrap_or_else(|e| e.into_inner()).clone();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let deadline = Instant::now() + LIMIT;
    let mut answered = 0;
    let mut timed_out = false;
    while !has_exited(pid) {
        if Instant::now() >= deadline {
            timed_out = true;
            break;
        }
        let so_far = text();
        let asked = so_far.matches(ASKED).count();
        if asked > answered {
            answered = asked;
            match (answer(&so_far, asked), stdin.as_mut()) {
                (Some(line), Some(pipe)) => {
                    pipe.write_all(format!("{line}\n").as_bytes())
                        .and_then(|()| pipe.flush())
                        .expect("answer the dialogue");
                }
                _ => drop(stdin.take()),
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    // The session leader is ours and not yet reaped: its group id still names our processes.
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    let status = child.wait().expect("wait for expect");
    drop(stdin);
    for r in readers {
        let _ = r.join();
    }
    let transcript = text();
    Dialogue {
        status: if timed_out { None } else { status.code() },
        asked: transcript.matches(ASKED).count(),
        transcript,
    }
}

/// The first QR code in `transcript` as a module grid (true = dark): the first run of at least
/// ten lines of equal length made only of `█ ▀ ▄` and spaces. The module draws light modules
/// as blocks (for dark terminals), so a block half is light and a space is dark.
pub fn qr_grid(transcript: &str) -> Option<Vec<Vec<bool>>> {
    let is_qr_line = |l: &str| {
        !l.is_empty() && l.chars().all(|c| "█▀▄ ".contains(c)) && l.chars().any(|c| c != ' ')
    };
    let lines: Vec<&str> = transcript
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .collect();
    let mut i = 0;
    while i < lines.len() {
        if !is_qr_line(lines[i]) {
            i += 1;
            continue;
        }
        let width = lines[i].chars().count();
        let run: Vec<&str> = lines[i..]
            .iter()
            .take_while(|l| is_qr_line(l) && l.chars().count() == width)
            .copied()
            .collect();
        if run.len() >= 10 {
            let mut grid = Vec::new();
            for line in run {
                let (mut top, mut bottom) = (Vec::new(), Vec::new());
                for c in line.chars() {
                    let (t, b) = match c {
                        '█' => (false, false),
                        '▀' => (false, true),
                        '▄' => (true, false),
                        _ => (true, true),
                    };
                    top.push(t);
                    bottom.push(b);
                }
                grid.push(top);
                grid.push(bottom);
            }
            return Some(grid);
        }
        i += run.len().max(1);
    }
    None
}

/// Draws `grid` as a PGM image in `dir` (each module 8x8 pixels, a quiet zone of 4 light
/// modules around it) and decodes it with `zbarimg --raw -q`: the text of the QR code.
pub fn decode_qr(grid: &[Vec<bool>], dir: &Path) -> String {
    const SCALE: usize = 8;
    const QUIET: usize = 4;
    let modules_w = grid.first().map_or(0, Vec::len) + 2 * QUIET;
    let modules_h = grid.len() + 2 * QUIET;
    let (w, h) = (modules_w * SCALE, modules_h * SCALE);
    let mut image = format!("P5\n{w} {h}\n255\n").into_bytes();
    for y in 0..h {
        for x in 0..w {
            let (my, mx) = (y / SCALE, x / SCALE);
            let dark = my >= QUIET
                && mx >= QUIET
                && grid
                    .get(my - QUIET)
                    .and_then(|row| row.get(mx - QUIET))
                    .copied()
                    .unwrap_or(false);
            image.push(if dark { 0 } else { 255 });
        }
    }
    let path = dir.join("qr.pgm");
    fs::write(&path, image).expect("write the QR image");
    let out = Command::new(tool("zbarimg", "zbar-tools"))
        .args(["--raw", "-q"])
        .arg(&path)
        .output()
        .expect("run zbarimg");
    assert!(
        out.status.success(),
        "zbarimg found no QR code in {} (status {:?}): {}",
        path.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The value of query parameter `name` of an otpauth URI.
pub fn uri_param<'a>(uri: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = uri.split_once('?')?;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

/// The base32 key shown as text (the `Key:` line, groups joined).
pub fn shown_key(transcript: &str) -> Option<String> {
    transcript.lines().find_map(|l| {
        let (_, key) = l.split_once("Key: ")?;
        Some(key.trim().replace(' ', ""))
    })
}

/// The recovery codes shown: the indented lines after the "Recovery codes" heading.
pub fn recovery_codes(transcript: &str) -> Vec<String> {
    let lines: Vec<&str> = transcript
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .skip_while(|l| !l.contains("Recovery codes"))
        .skip(1)
        .skip_while(|l| !l.starts_with("  "))
        .take_while(|l| l.starts_with("  "))
        .collect();
    lines.iter().map(|l| l.trim().to_string()).collect()
}

/// What the QR code shown at enrollment carried, read when the first code was asked for.
#[derive(Debug, Clone, Default)]
pub struct Shown {
    /// The decoded otpauth URI.
    pub uri: String,
    /// Its base32 key.
    pub key: String,
    /// The time step (of 30 s) when it was read.
    pub step: u64,
}

/// Decodes the QR code in `transcript` (its image goes to `dir`) and checks that the URI and
/// the key are shown as text too, the key being the one in the QR code.
pub fn read_qr(transcript: &str, dir: &Path) -> Shown {
    let grid = qr_grid(transcript).unwrap_or_else(|| panic!("no QR code in:\n{transcript}"));
    let uri = decode_qr(&grid, dir);
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let key = uri_param(&uri, "secret")
        .unwrap_or_else(|| panic!("no secret in {uri}"))
        .to_string();
    assert_eq!(
        shown_key(transcript).as_deref(),
        Some(key.as_str()),
        "the key shown as text is the key in the QR code:\n{transcript}"
    );
    assert!(
        transcript.contains(&format!("URI: {uri}")),
        "the URI is shown as text too:\n{transcript}"
    );
    Shown {
        uri,
        key,
        step: crate::now() / 30,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_and_key_are_read_from_a_transcript() {
        let t = "x\r\n  Key: ABCD EFGH\r\nRecovery codes (each).\r\nStore them.\r\n  a-b\r\n  c-d\r\nPress";
        assert_eq!(shown_key(t).as_deref(), Some("ABCDEFGH"));
        assert_eq!(recovery_codes(t), ["a-b", "c-d"]);
        assert_eq!(
            uri_param("otpauth://totp/a:b?secret=XY&issuer=a", "secret"),
            Some("XY")
        );
        assert_eq!(uri_param("otpauth://totp/a:b?secret=XY", "issuer"), None);
    }

    #[test]
    fn a_qr_grid_needs_ten_equal_lines() {
        let line = "█▀▄ █";
        let t = format!("({line}\n{}\n", [line; 10].join("\r\n"));
        let grid = qr_grid(&t).unwrap();
        assert_eq!((grid.len(), grid[0].len()), (20, 5));
        assert_eq!(grid[0], [false, false, true, true, false]);
        assert_eq!(grid[1], [false, true, false, true, false]);
        assert!(qr_grid(&[line; 9].join("\n")).is_none());
    }
}
