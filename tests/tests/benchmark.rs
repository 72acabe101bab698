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

#[test]
fn the_module_needs_only_libpam_libc_and_the_loader() {
    // pam_totp/build.rs links the unwinder statically: libgcc_s.so.1 would otherwise be loaded
    // and unloaded with the module on every PAM transaction of sshd, sudo or su.
    let text = dynamic_section();
    let needed: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1)?.split(']').next())
        .collect();
    assert!(needed.contains(&"libpam.so.0"), "{text}");
    // The dynamic loader (which the static unwinder asks for _dl_find_object) is in every
    // process already.
    let other: Vec<&&str> = needed
        .iter()
        .filter(|n| !["libpam.so.0", "libc.so.6"].contains(n) && !n.starts_with("ld-linux"))
        .collect();
    assert!(other.is_empty(), "unexpected libraries {other:?}:\n{text}");
}

#[test]
fn the_module_packs_its_relative_relocations_where_glibc_loads_them() {
    // pam_totp/build.rs links with -z pack-relative-relocs when glibc is 2.36 or later (which
    // loads DT_RELR): 1800 relocations become a 0.5 kB table instead of 42 kB, read by the
    // loader at every PAM transaction. This machine's glibc decides what must be found.
    let version = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .expect("run getconf");
    let version = String::from_utf8_lossy(&version.stdout);
    let (major, minor) = version
        .trim()
        .strip_prefix("glibc ")
        .and_then(|v| v.split_once('.'))
        .map(|(a, b)| (a.parse::<u32>().unwrap(), b.parse::<u32>().unwrap()))
        .unwrap_or_else(|| panic!("getconf GNU_LIBC_VERSION said {version:?}"));
    let text = dynamic_section();
    let packed = text.contains("(RELR)");
    assert_eq!(
        packed,
        (major, minor) >= (2, 36),
        "glibc {major}.{minor}, DT_RELR {packed}:\n{text}"
    );
    // Packed or not, the module keeps full RELRO.
    assert!(
        text.contains("BIND_NOW") && text.contains("Flags: NOW"),
        "{text}"
    );
}

/// The module's dynamic section as `readelf --dynamic` shows it.
fn dynamic_section() -> String {
    let out = Command::new(tool("readelf", "binutils"))
        .arg("--dynamic")
        .arg(module_path())
        .output()
        .expect("run readelf");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
