//! The project is licensed MIT OR Apache-2.0 (LICENSE-MIT, LICENSE-APACHE): every crate of the
//! project says so in its Cargo.toml, and every dependency (of the main workspace and of the
//! fuzz workspace, for every platform, as `cargo metadata` resolves them from the lock files)
//! is under a license that allows it to be used in, and shipped with, such a project.
//!
//! Allowed are the permissive licenses below. MPL-2.0 (file-level copyleft: the crate stays
//! under MPL-2.0 and its source must be available) is allowed for a crate that the package's
//! debian/copyright names with its license; a new MPL crate fails here until it is named there.

use pam_totp_tests::workspace_root;
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::Command;

const PROJECT_LICENSE: &str = "MIT OR Apache-2.0";

/// Licenses under which a dependency may be shipped in an MIT OR Apache-2.0 project without
/// further conditions than keeping its notice.
const PERMISSIVE: &[&str] = &[
    "MIT",
    "MIT-0",
    "Apache-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Zlib",
    "0BSD",
    "CC0-1.0",
    "Unlicense",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "NCSA",
    "BSL-1.0",
];

/// License exceptions that only grant more (LLVM's exception to Apache-2.0).
const EXCEPTIONS: &[&str] = &["LLVM-exception"];

/// An SPDX license expression as crates write it ("MIT OR Apache-2.0", "(MIT OR Apache-2.0)
/// AND Unicode-3.0", "Apache-2.0 WITH LLVM-exception", the old "MIT/Apache-2.0"), read by
/// the `spdx` crate in its crates.io-compatible mode.
fn parse(text: &str) -> Result<spdx::Expression, String> {
    spdx::Expression::parse_mode(text, spdx::ParseMode::LAX).map_err(|e| e.to_string())
}

/// True when the terms can be met using only licenses in `allowed`.
fn satisfiable(e: &spdx::Expression, allowed: &[&str]) -> bool {
    e.evaluate(|req| {
        let license_ok = req
            .license
            .id()
            .is_some_and(|id| allowed.contains(&id.name));
        let addition_ok = req.addition.as_ref().is_none_or(|a| {
            a.id()
                .is_some_and(|exception| EXCEPTIONS.contains(&exception.name))
        });
        license_ok && addition_ok
    })
}

/// `cargo metadata` of the workspace whose Cargo.toml is `manifest`, from its lock file.
fn metadata(manifest: &Path) -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .arg("--manifest-path")
        .arg(manifest)
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata --manifest-path {} failed: {}",
        manifest.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// The package ids of the workspace's own crates in `cargo metadata` output.
fn workspace_members(meta: &Value) -> Vec<&str> {
    meta["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

#[test]
fn spdx_expressions_are_read_as_crates_write_them() {
    let allowed = &["MIT", "Apache-2.0"];
    for (text, ok) in [
        ("MIT OR Apache-2.0", true),
        ("MIT/Apache-2.0", true),
        ("Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT", true),
        ("(MIT OR Apache-2.0) AND Unicode-3.0", false),
        ("(MIT OR Apache-2.0) AND MIT", true),
        ("MPL-2.0", false),
        ("GPL-3.0-only OR MIT", true),
        ("GPL-3.0-only AND MIT", false),
        ("GPL-2.0-only WITH LLVM-exception", false),
        ("Apache-2.0 WITH Classpath-exception-2.0", false),
    ] {
        let e = parse(text).unwrap_or_else(|err| panic!("{text}: {err}"));
        assert_eq!(satisfiable(&e, allowed), ok, "{text}: {e:?}");
    }
    for bad in ["", "MIT OR", "(MIT", "MIT)", "AND MIT", "MIT WITH"] {
        assert!(parse(bad).is_err(), "{bad:?} must not parse");
    }
}

#[test]
fn the_project_is_mit_or_apache_2_0() {
    let root = workspace_root();
    let mit = fs::read_to_string(root.join("LICENSE-MIT")).expect("read LICENSE-MIT");
    assert!(
        mit.starts_with("MIT License\n") && mit.contains("Permission is hereby granted"),
        "LICENSE-MIT is not the MIT license text"
    );
    let apache = fs::read_to_string(root.join("LICENSE-APACHE")).expect("read LICENSE-APACHE");
    assert!(
        apache.contains("Apache License") && apache.contains("Version 2.0, January 2004"),
        "LICENSE-APACHE is not the Apache License 2.0"
    );
    for manifest in [root.join("Cargo.toml"), root.join("fuzz/Cargo.toml")] {
        let meta = metadata(&manifest);
        let members = workspace_members(&meta);
        assert!(!members.is_empty(), "{}: no members", manifest.display());
        for package in meta["packages"].as_array().expect("packages") {
            if members.contains(&package["id"].as_str().unwrap_or_default()) {
                assert_eq!(
                    package["license"].as_str(),
                    Some(PROJECT_LICENSE),
                    "license = \"{PROJECT_LICENSE}\" in {}",
                    package["manifest_path"]
                );
            }
        }
    }
}

#[test]
fn every_dependency_license_allows_mit_or_apache_2_0() {
    let root = workspace_root();
    let copyright =
        fs::read_to_string(root.join("packaging/debian/copyright")).expect("read copyright");
    let mut checked = 0;
    let mut refused = Vec::new();
    for manifest in [root.join("Cargo.toml"), root.join("fuzz/Cargo.toml")] {
        let meta = metadata(&manifest);
        let members = workspace_members(&meta);
        for package in meta["packages"].as_array().expect("packages") {
            if members.contains(&package["id"].as_str().unwrap_or_default()) {
                continue;
            }
            let name = package["name"].as_str().unwrap_or_default();
            let version = package["version"].as_str().unwrap_or_default();
            let Some(text) = package["license"].as_str() else {
                refused.push(format!(
                    "{name} {version}: no SPDX license (license-file {})",
                    package["license_file"]
                ));
                continue;
            };
            let expr = parse(text).unwrap_or_else(|e| panic!("{name} {version}: {e}"));
            checked += 1;
            if satisfiable(&expr, PERMISSIVE) {
                continue;
            }
            let mut with_mpl = PERMISSIVE.to_vec();
            with_mpl.push("MPL-2.0");
            let named = copyright.contains(&format!("The {name} crate (MPL-2.0"));
            if satisfiable(&expr, &with_mpl) && named {
                continue;
            }
            refused.push(format!(
                "{name} {version}: {text}{}",
                if satisfiable(&expr, &with_mpl) {
                    " (MPL-2.0: name it in packaging/debian/copyright as \"The NAME crate (MPL-2.0\")"
                } else {
                    ""
                }
            ));
        }
    }
    assert!(checked > 50, "only {checked} dependencies checked");
    refused.sort();
    refused.dedup();
    assert!(
        refused.is_empty(),
        "dependencies whose license does not allow shipping them in an {PROJECT_LICENSE} project:\n{}",
        refused.join("\n")
    );
}
