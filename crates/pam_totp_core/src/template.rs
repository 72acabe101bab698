//! Expansion of the `secret=` path template (`~`, `%h`, `%u`) into a base directory and
//! the components below it that must be walked without following symlinks.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use thiserror::Error;

/// A secret file location split at the point where user-controlled directories begin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretPath {
    /// Directory chosen by the administrator (or the user's home); opened normally.
    base: PathBuf,
    /// Components below `base`, never empty; the last one is the file name.
    below: Vec<OsString>,
    /// The path is inside the user's home, so the user controls every directory below `base`.
    in_home: bool,
}

impl SecretPath {
    /// The full path, for messages.
    pub fn display_path(&self) -> PathBuf {
        let mut p = self.base.clone();
        for c in &self.below {
            p.push(c);
        }
        p
    }

    /// The directory chosen by the administrator, or the user's home.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// The directories between the base and the file; each is opened with O_NOFOLLOW.
    pub fn directories_below(&self) -> &[OsString] {
        self.below.split_last().map_or(&[], |(_, dirs)| dirs)
    }

    /// The file's name (last component).
    pub fn file_name(&self) -> &OsStr {
        self.below
            .last()
            .map_or(OsStr::new(""), OsString::as_os_str)
    }

    /// True when the file is inside the user's home (`~` or `%h` templates).
    pub fn in_home(&self) -> bool {
        self.in_home
    }
}

/// Why a template or user name cannot give a safe path.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TemplateError {
    /// Unknown `%` escape.
    #[error("secret= template \"{0}\": unknown escape (use %u, %h, %% or a leading ~)")]
    BadEscape(String),
    /// The result is not an absolute path.
    #[error("secret= template \"{0}\" does not give an absolute path; start it with /, ~ or %h")]
    NotAbsolute(String),
    /// `.`/`..`/empty components would let the path escape its directory.
    #[error("secret= template \"{0}\" gives a path with '.' or '..' components or no file name")]
    BadComponent(String),
    /// The template names the same file for every user.
    #[error("secret= template \"{0}\" names one file for every user (one secret, one replay and rate-limit state for all); put %u in it or start it with ~ or %h, e.g. /var/lib/pam_totp/%u.toml")]
    SharedByAllUsers(String),
    /// The user name cannot be placed into a path.
    #[error(
        "user name is not usable in a file path (empty, '/', leading '.', or control characters)"
    )]
    BadUserName,
    /// The template uses the home directory, and the passwd entry's home is not absolute.
    #[error("home directory \"{0}\" of the user is not an absolute path, and the secret= template uses the home (~ or %h)")]
    BadHome(String),
}

/// Checks a template on its own, before any user is known: it must name a file per user.
pub fn check_template(template: &str) -> Result<(), TemplateError> {
    let per_user = template.starts_with('~') || escapes(template).any(|e| e == 'u' || e == 'h');
    if per_user {
        Ok(())
    } else {
        Err(TemplateError::SharedByAllUsers(template.to_string()))
    }
}

/// The characters after each `%` of a template (`%%` counts once, as `%`).
fn escapes(template: &str) -> impl Iterator<Item = char> + '_ {
    let mut chars = template.chars();
    std::iter::from_fn(move || loop {
        match chars.next()? {
            '%' => return Some(chars.next().unwrap_or('%')),
            _ => continue,
        }
    })
}

/// True when the template needs the user's home directory (`~` or `%h`).
pub fn uses_home(template: &str) -> bool {
    template.starts_with('~') || escapes(template).any(|e| e == 'h')
}

/// Checks that a user name can be used as a path component (CVE-2023-42456 style names refused).
pub fn check_user_name(user: &str) -> Result<(), TemplateError> {
    let ok = !user.is_empty()
        && user.len() <= 256
        && !user.starts_with('.')
        && !user.starts_with('-')
        && !user.contains('/')
        && !user.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(TemplateError::BadUserName)
    }
}

/// Expands `template` for `user` whose home is `home`. The home is looked at only when the
/// template uses it (`~`, `%h`); it may then be any absolute path, UTF-8 or not.
///
/// A template that names one file for every user expands fine (`totp-enroll --secret-file`
/// may write one user's file anywhere); the module refuses it with [`check_template`].
pub fn expand(template: &str, user: &str, home: &Path) -> Result<SecretPath, TemplateError> {
    check_user_name(user)?;
    let home_bytes = || {
        let bytes = home.as_os_str().as_bytes();
        if bytes.starts_with(b"/") {
            Ok(bytes)
        } else {
            Err(TemplateError::BadHome(home.display().to_string()))
        }
    };

    let (in_home, rest) = if let Some(r) = template
        .strip_prefix('~')
        .filter(|r| r.is_empty() || r.starts_with('/'))
    {
        (true, r)
    } else if let Some(r) = template.strip_prefix("%h") {
        (true, r)
    } else {
        (false, template)
    };

    // Expand escapes, remembering where the first user-dependent text starts.
    let mut out: Vec<u8> = Vec::new();
    let mut first_dynamic: Option<usize> = None;
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('u') => {
                first_dynamic.get_or_insert(out.len());
                out.extend_from_slice(user.as_bytes());
            }
            Some('h') => {
                first_dynamic.get_or_insert(out.len());
                out.extend_from_slice(home_bytes()?);
            }
            Some('%') => out.push(b'%'),
            _ => return Err(TemplateError::BadEscape(template.to_string())),
        }
    }

    let (base, tail): (PathBuf, &[u8]) = if in_home {
        (PathBuf::from(OsStr::from_bytes(home_bytes()?)), &out)
    } else {
        if !out.starts_with(b"/") {
            return Err(TemplateError::NotAbsolute(template.to_string()));
        }
        // The base is the directory part before the first expansion (or before the file name).
        let limit = first_dynamic.unwrap_or(out.len());
        let cut = out
            .get(..limit)
            .and_then(|s| s.iter().rposition(|b| *b == b'/'))
            .unwrap_or(0);
        let base = out.get(..cut).filter(|b| !b.is_empty()).unwrap_or(b"/");
        (
            PathBuf::from(OsStr::from_bytes(base)),
            out.get(cut..).unwrap_or_default(),
        )
    };

    let mut below = Vec::new();
    for comp in Path::new(OsStr::from_bytes(tail)).components() {
        match comp {
            Component::RootDir => {}
            Component::Normal(c) => below.push(c.to_os_string()),
            _ => return Err(TemplateError::BadComponent(template.to_string())),
        }
    }
    // Path::components drops "." silently; refuse it explicitly, and trailing slashes too.
    if below.is_empty() || tail.split(|b| *b == b'/').any(|c| c == b".") || tail.ends_with(b"/") {
        return Err(TemplateError::BadComponent(template.to_string()));
    }
    Ok(SecretPath {
        base,
        below,
        in_home,
    })
}

/// A fixed directory that holds every user's file, named around the user name
/// (`/var/lib/pam_totp/%u.toml`): what a listing of that directory can be matched against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedDirectory {
    template: String,
    dir: PathBuf,
    prefix: String,
    suffix: String,
}

impl SharedDirectory {
    /// The directory (chosen by the administrator, not below any home).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The user whose file `file_name` is, if the template names files like that: the text
    /// between the template's prefix and suffix, a usable user name that the template turns
    /// back into exactly this file.
    pub fn user_of(&self, file_name: &OsStr) -> Option<String> {
        let name = file_name.to_str()?;
        let user = name
            .strip_prefix(self.prefix.as_str())?
            .strip_suffix(self.suffix.as_str())?;
        let path = expand(&self.template, user, Path::new("/")).ok()?;
        (path.base() == self.dir && path.below == [OsString::from(name)]).then(|| user.to_string())
    }
}

/// The directory every user's file is in, when the template has one: no home (`~`, `%h`),
/// no escape before the last `/`, and `%u` exactly once after it.
pub fn shared_directory(template: &str) -> Option<SharedDirectory> {
    if uses_home(template) {
        return None;
    }
    let (dir, file) = template.rsplit_once('/')?;
    if dir.contains('%') || !template.starts_with('/') {
        return None;
    }
    let (mut prefix, mut suffix) = (String::new(), String::new());
    let mut seen_user = false;
    let mut chars = file.chars();
    while let Some(c) = chars.next() {
        let literal = match c {
            '%' => match chars.next()? {
                'u' if !seen_user => {
                    seen_user = true;
                    continue;
                }
                '%' => '%',
                _ => return None,
            },
            c => c,
        };
        if seen_user { &mut suffix } else { &mut prefix }.push(literal);
    }
    let dir = if dir.is_empty() { "/" } else { dir };
    seen_user.then(|| SharedDirectory {
        template: template.to_string(),
        dir: PathBuf::from(dir),
        prefix,
        suffix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(t: &str) -> Result<SecretPath, TemplateError> {
        expand(t, "alice", Path::new("/home/alice"))
    }

    #[test]
    fn default_template_is_in_home() {
        let p = ex("~/.pam_totp.toml").unwrap();
        assert_eq!(p.base, PathBuf::from("/home/alice"));
        assert_eq!(p.below, vec![OsString::from(".pam_totp.toml")]);
        assert!(p.in_home);
        assert_eq!(
            p.display_path(),
            PathBuf::from("/home/alice/.pam_totp.toml")
        );
    }

    #[test]
    fn percent_h_and_nested_dirs() {
        let p = ex("%h/.config/pam_totp/secret.toml").unwrap();
        assert_eq!(p.base, PathBuf::from("/home/alice"));
        assert_eq!(p.below.len(), 3);
        assert!(p.in_home);
    }

    #[test]
    fn system_directory_with_user_name() {
        let p = ex("/var/lib/pam_totp/%u.toml").unwrap();
        assert_eq!(p.base, PathBuf::from("/var/lib/pam_totp"));
        assert_eq!(p.below, vec![OsString::from("alice.toml")]);
        assert!(!p.in_home);
        let p = ex("/srv/totp/%u/secret.toml").unwrap();
        assert_eq!(p.base, PathBuf::from("/srv/totp"));
        assert_eq!(p.below.len(), 2);
        let p = ex("/%u.toml").unwrap();
        assert_eq!(p.base, PathBuf::from("/"));
    }

    #[test]
    fn escapes() {
        assert_eq!(
            ex("/a/100%%/%u").unwrap().display_path(),
            PathBuf::from("/a/100%/alice")
        );
        assert!(matches!(ex("/a/%x"), Err(TemplateError::BadEscape(_))));
        assert!(matches!(ex("/a/%"), Err(TemplateError::BadEscape(_))));
    }

    #[test]
    fn unsafe_paths_are_refused() {
        assert!(matches!(
            ex("relative/%u"),
            Err(TemplateError::NotAbsolute(_))
        ));
        assert!(matches!(ex("~/../x"), Err(TemplateError::BadComponent(_))));
        assert!(matches!(ex("~/./x"), Err(TemplateError::BadComponent(_))));
        assert!(matches!(ex("~"), Err(TemplateError::BadComponent(_))));
        assert!(matches!(
            ex("/var/lib/x/"),
            Err(TemplateError::BadComponent(_))
        ));
    }

    #[test]
    fn hostile_user_names_are_refused() {
        for name in [
            "",
            "../../bin/cp",
            "a/b",
            ".",
            "..",
            ".hidden",
            "-rf",
            "a\nb",
        ] {
            assert_eq!(
                expand("/var/lib/pam_totp/%u", name, Path::new("/home/x")),
                Err(TemplateError::BadUserName),
                "{name:?}"
            );
        }
        assert!(matches!(
            expand("~/x", "bob", Path::new("relative")),
            Err(TemplateError::BadHome(_))
        ));
    }

    #[test]
    fn the_home_is_needed_only_when_the_template_uses_it() {
        for home in ["", "relative/home", "/home/b\u{e9}"] {
            let p = expand("/var/lib/pam_totp/%u.toml", "bob", Path::new(home)).unwrap();
            assert_eq!(
                p.display_path(),
                PathBuf::from("/var/lib/pam_totp/bob.toml")
            );
        }
        for t in ["~/.pam_totp.toml", "%h/x", "/srv/%h/x"] {
            assert!(uses_home(t), "{t}");
            assert!(matches!(
                expand(t, "bob", Path::new("")),
                Err(TemplateError::BadHome(_))
            ));
        }
        assert!(!uses_home("/var/lib/pam_totp/%u.toml"));
        assert!(!uses_home("/var/lib/100%%h/%u"));
    }

    #[test]
    fn homes_that_are_not_utf8_work() {
        let home = OsStr::from_bytes(b"/home/caf\xe9");
        let p = expand("~/.pam_totp.toml", "bob", Path::new(home)).unwrap();
        assert_eq!(p.base(), Path::new(home));
        assert_eq!(p.file_name(), ".pam_totp.toml");
    }

    #[test]
    fn one_file_for_every_user_is_refused() {
        for t in ["/etc/totp.toml", "/var/lib/100%%u.toml", "/srv/%%h/x"] {
            assert_eq!(
                check_template(t),
                Err(TemplateError::SharedByAllUsers(t.to_string())),
                "{t}"
            );
        }
        for t in [
            "~/.x",
            "%h/.x",
            "/var/lib/pam_totp/%u.toml",
            "/srv/%u/secret",
        ] {
            assert_eq!(check_template(t), Ok(()), "{t}");
        }
    }

    #[test]
    fn a_shared_directory_names_its_files_around_the_user() {
        let shared = shared_directory("/var/lib/pam_totp/%u.toml").unwrap();
        assert_eq!(shared.dir(), Path::new("/var/lib/pam_totp"));
        assert_eq!(
            shared.user_of(OsStr::new("alice.toml")),
            Some("alice".into())
        );
        for not_a_user_file in ["alice.toml.tmp", ".toml", "alice", ".alice.toml", "-x.toml"] {
            assert_eq!(
                shared.user_of(OsStr::new(not_a_user_file)),
                None,
                "{not_a_user_file}"
            );
        }
        let prefixed = shared_directory("/etc/totp/user-%u%%.secret").unwrap();
        assert_eq!(prefixed.dir(), Path::new("/etc/totp"));
        assert_eq!(
            prefixed.user_of(OsStr::new("user-bob%.secret")),
            Some("bob".into())
        );
        assert_eq!(prefixed.user_of(OsStr::new("bob%.secret")), None);
    }

    #[test]
    fn only_fixed_directories_are_shared() {
        for per_home_or_nested in [
            "~/.pam_totp.toml",
            "%h/.pam_totp.toml",
            "/var/lib/pam_totp/%u/secret.toml",
            "/var/lib/%u.d/%u.toml",
            "/var/lib/pam_totp/%u-%u.toml",
            "/var/lib/pam_totp/all.toml",
            "relative/%u.toml",
        ] {
            assert_eq!(
                shared_directory(per_home_or_nested),
                None,
                "{per_home_or_nested}"
            );
        }
        assert_eq!(shared_directory("/%u").unwrap().dir(), Path::new("/"));
    }
}
