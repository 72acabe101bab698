//! Enrollment in a pseudo-terminal, answered as a person would: read the key off the screen,
//! type a wrong code, then the right one; and Ctrl-C at the prompt leaves no file.

mod common;

use common::*;
use rexpect::session::{spawn_command, PtySession};
use std::process::Command;

fn start(env: &Env) -> PtySession {
    let mut cmd = Command::new(bin());
    cmd.env("TOTP_ENROLL_CONFIG", no_site_defaults())
        .arg("--secret-file")
        .arg(env.file())
        .args(["enroll", "--issuer", "Example"]);
    spawn_command(cmd, Some(20_000)).expect("spawn totp-enroll in a pty")
}

#[test]
fn a_person_enrolls_at_a_terminal() {
    let env = Env::new();
    wait_for_fresh_step(30);
    let mut p = start(&env);
    p.exp_string("otpauth://totp/Example:").unwrap();
    let (_, key_line) = p.exp_regex(r"Key: [A-Z2-7 ]+\r?\n").unwrap();
    let key: String = key_line
        .trim_start_matches("Key: ")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    assert_eq!(key.len(), 32, "a 160-bit key is shown: {key_line:?}");
    p.exp_string("Enter the code from your app: ").unwrap();
    p.send_line("000000").unwrap();
    p.exp_string("That code is not right").unwrap();
    p.exp_string("Enter the code from your app: ").unwrap();
    p.send_line(&oathtool(&key, &[], now())).unwrap();
    p.exp_string("Code accepted").unwrap();
    p.exp_string("Recovery codes").unwrap();
    p.exp_regex(r"[0-9a-z]{5}-[0-9a-z]{5}").unwrap();
    p.exp_eof().unwrap();
    assert!(env.text().contains(&key));
}

#[test]
fn ctrl_c_at_the_prompt_leaves_no_file() {
    let env = Env::new();
    let mut p = start(&env);
    p.exp_string("Enter the code from your app: ").unwrap();
    p.send_control('c').unwrap();
    p.exp_eof().unwrap();
    assert!(!env.file().exists());
    let leftovers = std::fs::read_dir(env.dir.path()).unwrap().count();
    assert_eq!(leftovers, 0, "no temporary file either");
}
