//! Links GCC's unwinder (libgcc_eh.a) statically into pam_totp.so.
//!
//! Rust's standard library unwinds panics with libgcc_s.so.1. sshd, sudo, su, login and
//! OpenVPN do not load that library, so libpam would load and unload it with the module for
//! every PAM transaction: about 100 µs per login here (README "Performance"). With the static
//! unwinder the module needs only libc and libpam, and panics are still caught at the FFI
//! boundary (`panic = "unwind"`). The GCC Runtime Library Exception allows this linking.
//! Only the cdylib is affected; where libgcc_eh.a cannot be found (not GCC), nothing changes.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    if !linux_gnu {
        return;
    }
    let Some(archive) = libgcc_eh() else {
        return;
    };
    // --as-needed (rustc's default) then drops libgcc_s: nothing is left for it to provide.
    println!("cargo:rustc-cdylib-link-arg=-Wl,--whole-archive");
    println!("cargo:rustc-cdylib-link-arg={}", archive.display());
    println!("cargo:rustc-cdylib-link-arg=-Wl,--no-whole-archive");
}

/// The C compiler's libgcc_eh.a, if it has one.
fn libgcc_eh() -> Option<PathBuf> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let out = Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    // Without the file the compiler echoes the bare name back.
    (out.status.success() && path.is_absolute() && path.is_file()).then_some(path)
}
