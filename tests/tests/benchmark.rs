//! The side-by-side benchmark (`pam-bench`, see README "Performance") must measure what it
//! claims: every timed login of pam_totp and of pam_google_authenticator ends as expected (a
//! right code accepted, a wrong one refused). No time is measured or asserted here.

use pam_totp_tests::*;
use std::process::Command;

#[test]
fn the_benchmark_measures_real_logins_of_both_modules() {
    tool("google-authenticator", "libpam-google-authenticator");
    let out = Command::new(helper_path("pam-bench"))
        .arg("--check")
        .output()
        .expect("run pam-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("every login of every module ended as expected"),
        "pam-bench --check failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
