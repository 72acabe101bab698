//! Builds the syslog capture shim (support/syslog_capture.c), the NFS-like renameat2 shim
//! (support/renameat2_einval.c) and the torn-write shim (support/torn_write.c) as shared
//! objects for LD_PRELOAD, pam-bench's C host
//! (support/pam_timer.c), and a PAM module that returns a chosen code (support/pam_return.c).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    // The shim, preloaded into programs under test.
    build_c(
        "support/syslog_capture.c",
        "libsyslog_capture.so",
        &["-shared", "-fPIC"],
        &[],
        "SYSLOG_CAPTURE_SO",
    );
    // A renameat2() that answers EINVAL to RENAME_NOREPLACE, as NFS does (enrollment tests).
    build_c(
        "support/renameat2_einval.c",
        "librenameat2_einval.so",
        &["-shared", "-fPIC"],
        &[],
        "RENAMEAT2_EINVAL_SO",
    );
    // A pwrite() torn by a crash: half written (or zeroes), then SIGKILL (crash tests).
    build_c(
        "support/torn_write.c",
        "libtorn_write.so",
        &["-shared", "-fPIC"],
        &["-ldl"],
        "TORN_WRITE_SO",
    );
    // pam-bench's timed host, a plain C program like the real PAM applications.
    build_c(
        "support/pam_timer.c",
        "pam-timer",
        &[],
        &["-lpam"],
        "PAM_TIMER",
    );
    // A module whose answer a test chooses (ret=N), to check shipped control lines.
    build_c(
        "support/pam_return.c",
        "pam_return.so",
        &["-shared", "-fPIC"],
        &[],
        "PAM_RETURN_SO",
    );
}

/// Compiles one C file into OUT_DIR/`output` and hands its path to the crate as `env_name`.
fn build_c(source: &str, output: &str, flags: &[&str], libs: &[&str], env_name: &str) {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join(output);
    let compiler = cc::Build::new().get_compiler();
    let status = Command::new(compiler.path())
        .args(flags)
        .args(["-O2", "-Wall", "-Werror", "-o"])
        .arg(&out)
        .arg(source)
        .args(libs)
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "building {source} failed");
    println!("cargo:rerun-if-changed={source}");
    println!("cargo:rustc-env={env_name}={}", out.display());
}
