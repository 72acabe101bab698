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

/// An SPDX license expression, as crates write it ("MIT OR Apache-2.0", "(MIT OR Apache-2.0)
/// AND Unicode-3.0", "Apache-2.0 WITH LLVM-exception", the old "MIT/Apache-2.0").
#[derive(Debug, PartialEq)]
enum Expr {
    License(String),
    With(String, String),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

fn tokens(text: &str) -> Vec<String> {
    text.replace('(', " ( ")
        .replace(')', " ) ")
        .replace('/', " OR ")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

struct Parser {
    tokens: Vec<String>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn next(&mut self) -> Result<String, String> {
        let t = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or("unexpected end of the expression")?;
        self.at += 1;
        Ok(t)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.and()?];
        while self.peek().is_some_and(|t| t.eq_ignore_ascii_case("OR")) {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.atom()?];
        while self.peek().is_some_and(|t| t.eq_ignore_ascii_case("AND")) {
            self.at += 1;
            parts.push(self.atom()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn atom(&mut self) -> Result<Expr, String> {
        let t = self.next()?;
        if t == "(" {
            let inner = self.or()?;
            return match self.next()?.as_str() {
                ")" => Ok(inner),
                other => Err(format!("expected ')', found {other:?}")),
            };
        }
        if [")", "AND", "OR", "WITH"].contains(&t.to_ascii_uppercase().as_str()) {
            return Err(format!("expected a license name, found {t:?}"));
        }
        if self.peek().is_some_and(|t| t.eq_ignore_ascii_case("WITH")) {
            self.at += 1;
            return Ok(Expr::With(t, self.next()?));
        }
        Ok(Expr::License(t))
    }
}

fn parse(text: &str) -> Result<Expr, String> {
    let mut p = Parser {
        tokens: tokens(text),
        at: 0,
    };
    let e = p.or()?;
    match p.peek() {
        None => Ok(e),
        Some(t) => Err(format!("unexpected {t:?} in {text:?}")),
    }
}

/// True when the terms can be met using only licenses in `allowed`.
fn satisfiable(e: &Expr, allowed: &[&str]) -> bool {
    match e {
        Expr::License(l) => allowed.contains(&l.as_str()),
        Expr::With(l, exception) => {
            allowed.contains(&l.as_str()) && EXCEPTIONS.contains(&exception.as_str())
        }
        Expr::And(parts) => parts.iter().all(|p| satisfiable(p, allowed)),
        Expr::Or(parts) => parts.iter().any(|p| satisfiable(p, allowed)),
    }
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
        ("GPL-2.0 WITH LLVM-exception", false),
        ("Apache-2.0 WITH Some-other-exception", false),
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
        let members: Vec<&str> = meta["workspace_members"]
            .as_array()
            .expect("workspace_members")
            .iter()
            .filter_map(Value::as_str)
            .collect();
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
        let members: Vec<&str> = meta["workspace_members"]
            .as_array()
            .expect("workspace_members")
            .iter()
            .filter_map(Value::as_str)
            .collect();
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
