//! Builds the syslog capture shim (support/syslog_capture.c) as a shared object for LD_PRELOAD,
//! and pam-bench's C host (support/pam_timer.c).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let so = out.join("libsyslog_capture.so");
    let compiler = cc::Build::new().get_compiler();
    let status = Command::new(compiler.path())
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o"])
        .arg(&so)
        .arg("support/syslog_capture.c")
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "building the syslog capture shim failed");
    println!("cargo:rerun-if-changed=support/syslog_capture.c");
    println!("cargo:rustc-env=SYSLOG_CAPTURE_SO={}", so.display());

    // pam-bench's timed host, a plain C program like the real PAM applications.
    let timer = out.join("pam-timer");
    let status = Command::new(compiler.path())
        .args(["-O2", "-Wall", "-Werror", "-o"])
        .arg(&timer)
        .arg("support/pam_timer.c")
        .arg("-lpam")
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "building pam-timer failed");
    println!("cargo:rerun-if-changed=support/pam_timer.c");
    println!("cargo:rustc-env=PAM_TIMER={}", timer.display());
}
