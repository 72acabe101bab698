//! Links GCC's unwinder (libgcc_eh.a) statically into pam_totp.so.
//!
//! Rust's standard library unwinds panics with libgcc_s.so.1. sshd, sudo, su, login and
//! OpenVPN do not load that library, so libpam would load and unload it with the module for
//! every PAM transaction: about 100 µs per login here (README "Performance"). With the static
//! unwinder the module needs only libc and libpam, and panics are still caught at the FFI
//! boundary (`panic = "unwind"`). The GCC Runtime Library Exception allows this linking.
//! Only the cdylib is affected; where libgcc_eh.a cannot be found (not GCC), nothing changes.
//!
//! It also packs the module's relative relocations (`-z pack-relative-relocs`, DT_RELR): about
//! 1800 of them, otherwise a 42 kB table that the loader reads at every transaction, become a
//! 0.5 kB bitmap (README "Performance"). Only when a probe program built that way runs here
//! and finds glibc 2.36 or later (which loads such objects): the system's linker must know the
//! option without a warning; otherwise, or when cross-compiling, the table stays as it is.

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
    if packs_relative_relocations() {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,pack-relative-relocs");
    }
    let Some(archive) = libgcc_eh() else {
        return;
    };
    // --as-needed (rustc's default) then drops libgcc_s: nothing is left for it to provide.
    println!("cargo:rustc-cdylib-link-arg=-Wl,--whole-archive");
    println!("cargo:rustc-cdylib-link-arg={}", archive.display());
    println!("cargo:rustc-cdylib-link-arg=-Wl,--no-whole-archive");
}

/// True when a program linked with `-z pack-relative-relocs` builds and runs on this machine,
/// which is also the target.
fn packs_relative_relocations() -> bool {
    if std::env::var("HOST").ok() != std::env::var("TARGET").ok() {
        return false;
    }
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return false;
    };
    let source = out.join("relr_probe.c");
    let program = out.join("relr_probe");
    // A pointer in writable data: the program has a relative relocation to pack. It also
    // checks the C library it runs on: rustc may link with another linker (rust-lld) than the
    // C compiler's, which packs whatever the system's ld does with the option.
    let text = "#include <gnu/libc-version.h>\n#include <stdio.h>\n\
        static const char *p = \"x\";\n\
        int main(void) {\n\
          unsigned major = 0, minor = 0;\n\
          if (sscanf(gnu_get_libc_version(), \"%u.%u\", &major, &minor) != 2) return 1;\n\
          if (major < 2 || (major == 2 && minor < 36)) return 1;\n\
          return p[0] == 'x' ? 0 : 1;\n\
        }\n";
    if std::fs::write(&source, text).is_err() {
        return false;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let built = Command::new(cc)
        .args([
            "-fPIE",
            "-pie",
            // An ld that does not know the option only warns.
            "-Wl,--fatal-warnings",
            "-Wl,-z,pack-relative-relocs",
            "-o",
        ])
        .arg(&program)
        .arg(&source)
        .output()
        .is_ok_and(|o| o.status.success());
    built && Command::new(&program).status().is_ok_and(|s| s.success())
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
