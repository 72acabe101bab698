//! What `import-oath-usersfile` and `import-pskc` share: reading the source file, naming the
//! imported tokens, and storing them (a new enrollment with recovery codes, or tokens added to
//! an existing one under its lock), with the audit line and the output.

use super::{
    audit_import, check_existing, new_recovery_codes, now, print_out, recovery_codes_text,
    write_enrollment,
};
use crate::audit::Action;
use crate::error::CliError;
use crate::json;
use crate::source_file;
use crate::target::Target;
use pam_totp_core::enrollment;
use pam_totp_core::params::ALLOWED_DIGITS_TEXT;
use pam_totp_core::secret::TotpSecret;
use pam_totp_core::secret_file::SecretFile;
use pam_totp_core::token::{check_name, Token, TokenError, MAX_NAME_LEN};
use std::fmt::Write as _;
use std::path::Path;
use zeroize::Zeroizing;

/// One token to import, before it is named.
pub struct Incoming {
    /// Where it comes from, for messages ("line 3", "key package \"12345678\"").
    pub origin: String,
    /// The name it should get (made unique when stored).
    pub wanted_name: NameWish,
    /// The token (its name is set when stored).
    pub token: Token,
    /// Its replay mark: for HOTP, the counter before the next one to accept.
    pub mark: Option<u64>,
}

/// How an imported token is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameWish {
    /// `PREFIX-N` with the lowest N from 1 that is free.
    Numbered(&'static str),
    /// This name (already sanitized), or `NAME-N` with the lowest N from 2 that is free.
    Named(String),
}

/// Reads the source file: a regular file (no symbolic link at its last component, no FIFO),
/// at most `max` bytes; root acting for another user reads it with root's rights only on a
/// path the user cannot change, else with the user's ([`crate::source_file`]).
pub fn read_source(
    target: &Target,
    path: &Path,
    max: usize,
) -> Result<Zeroizing<Vec<u8>>, CliError> {
    source_file::read_source(target, path, max).map_err(|e| CliError::ImportIo {
        path: path.to_path_buf(),
        source: source_file::explain(e, max),
    })
}

/// The key as a stored secret, refusing keys pam_totp cannot check (under 80 bits, or longer
/// than a secret file holds).
pub fn secret(path: &Path, origin: &str, key: &[u8]) -> Result<TotpSecret, CliError> {
    TotpSecret::from_bytes(key.to_vec()).map_err(|e| CliError::ImportRefused {
        path: path.to_path_buf(),
        reason: format!("{origin}: {e}; such a token cannot be imported, issue a new one"),
    })
}

/// Refuses digits pam_totp does not check.
pub fn check_digits(path: &Path, origin: &str, digits: u8) -> Result<(), CliError> {
    if pam_totp_core::params::digits_allowed(digits) {
        return Ok(());
    }
    Err(CliError::ImportRefused {
        path: path.to_path_buf(),
        reason: format!(
            "{origin}: codes of {digits} digits are not supported (pam_totp checks {ALLOWED_DIGITS_TEXT}); nothing was imported. Leave this token out of the file, or issue a new one"
        ),
    })
}

/// A token name from free text (a serial number): characters outside the name rule become
/// `-`, leading ones that cannot start a name are dropped, and it is cut to leave room for a
/// `-N` suffix. None when nothing usable is left.
pub fn sanitize_name(text: &str) -> Option<String> {
    let mapped: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .skip_while(|c| !c.is_ascii_alphanumeric())
        .take(MAX_NAME_LEN - 4)
        .collect();
    check_name(&mapped).ok().map(|()| mapped)
}

/// The first name for `wish` that `taken` does not hold.
fn unique_name(wish: &NameWish, taken: &[String]) -> String {
    let free = |name: &String| !taken.contains(name);
    match wish {
        NameWish::Numbered(prefix) => (1u32..)
            .map(|n| format!("{prefix}-{n}"))
            .find(free)
            .unwrap_or_default(),
        NameWish::Named(name) => std::iter::once(name.clone())
            .chain((2u32..).map(|n| format!("{name}-{n}")))
            .find(free)
            .unwrap_or_default(),
    }
}

/// An imported token with its name set.
struct Named {
    /// Where it comes from, for messages.
    origin: String,
    /// The token, named.
    token: Token,
    /// Its replay mark.
    mark: Option<u64>,
}

/// Names each token so that no name repeats one in `taken` or an earlier import, and checks
/// each token.
fn name_tokens(
    path: &Path,
    incoming: Vec<Incoming>,
    mut taken: Vec<String>,
) -> Result<Vec<Named>, CliError> {
    let mut named = Vec::with_capacity(incoming.len());
    for item in incoming {
        let mut token = item.token;
        token.name = unique_name(&item.wanted_name, &taken);
        token.check().map_err(|e| CliError::ImportRefused {
            path: path.to_path_buf(),
            reason: format!("{}: {e}", item.origin),
        })?;
        taken.push(token.name.clone());
        named.push(Named {
            origin: item.origin,
            token,
            mark: item.mark,
        });
    }
    Ok(named)
}

/// Why adding an imported token was refused: the token's origin in the file, what is wrong and
/// the fix. `imported` holds the (name, origin) of the tokens of this file added before it, to
/// tell a seed given twice in the file from one the user already had.
fn add_refused(
    path: &Path,
    origin: &str,
    e: &TokenError,
    imported: &[(String, String)],
) -> CliError {
    let reason = match e {
        TokenError::SameKey(twin) => match imported.iter().find(|(name, _)| name == twin) {
            Some((_, first)) => format!(
                "{origin}: {first} already has this key: one seed twice in the file adds \
                 nothing; nothing was imported. Leave one of them out of the file"
            ),
            None => format!(
                "{origin}: token \"{twin}\" already has this key: this seed is already enrolled \
                 (imported before?) and a second token with it adds nothing; nothing was \
                 imported. Leave this token out of the file"
            ),
        },
        _ => format!("{origin}: {e}; nothing was imported"),
    };
    CliError::ImportRefused {
        path: path.to_path_buf(),
        reason,
    }
}

/// What was stored.
pub struct Stored {
    /// The names of the tokens added, in order.
    pub names: Vec<String>,
    /// The recovery codes of a new enrollment (to show once); None when tokens were added to
    /// an existing one.
    pub recovery_codes: Option<Vec<Zeroizing<String>>>,
}

/// Stores the imported tokens: without an enrollment, a new file holding them (the first one
/// first) and new recovery codes; with one, the tokens added to it under its lock. Writes the
/// audit line.
pub fn store(
    target: &Target,
    path: &Path,
    incoming: Vec<Incoming>,
    action: Action,
) -> Result<Stored, CliError> {
    if incoming.is_empty() {
        return Err(CliError::ImportRefused {
            path: path.to_path_buf(),
            reason: "no token to import".to_string(),
        });
    }
    if let Some(loaded) = target.load()? {
        let mut locked = loaded.lock().map_err(|e| target.store_error(e))?;
        let taken = locked.content().tokens().map(|t| t.name.clone()).collect();
        let named = name_tokens(path, incoming, taken)?;
        let mut imported = Vec::with_capacity(named.len());
        for item in named {
            let name = item.token.name.clone();
            locked
                .content_mut()
                .add_token(item.token, item.mark)
                .map_err(|e| add_refused(path, &item.origin, &e, &imported))?;
            imported.push((name, item.origin));
        }
        let names: Vec<String> = imported.into_iter().map(|(name, _)| name).collect();
        locked.save().map_err(|e| target.store_error(e))?;
        audit_import(target, action, &names, path);
        return Ok(Stored {
            names,
            recovery_codes: None,
        });
    }
    check_existing(target, false)?;
    let mut named = name_tokens(path, incoming, Vec::new())?.into_iter();
    let Some(first) = named.next() else {
        return Err(CliError::ImportRefused {
            path: path.to_path_buf(),
            reason: "no token to import".to_string(),
        });
    };
    let mut imported = vec![(first.token.name.clone(), first.origin)];
    let mut file = SecretFile::with_token(first.token);
    if let Some(mark) = first.mark {
        file.set_mark(0, mark);
    }
    for item in named {
        let name = item.token.name.clone();
        file.add_token(item.token, item.mark)
            .map_err(|e| add_refused(path, &item.origin, &e, &imported))?;
        imported.push((name, item.origin));
    }
    let names: Vec<String> = imported.into_iter().map(|(name, _)| name).collect();
    let (codes, hashes) = new_recovery_codes()?;
    enrollment::complete(&mut file, now()?, hashes);
    write_enrollment(target, &file, false)?;
    audit_import(target, action, &names, path);
    Ok(Stored {
        names,
        recovery_codes: Some(codes),
    })
}

/// Prints what was stored: the names (and parameters) of the tokens added and, for a new
/// enrollment, the recovery codes; as one JSON object (`tokens`, `recovery_codes`) with
/// `--json`.
pub fn report(
    target: &Target,
    source: &Path,
    stored: &Stored,
    as_json: bool,
) -> Result<(), CliError> {
    if as_json {
        let none: Vec<Zeroizing<String>> = Vec::new();
        let mut out = json::Object::new()
            .strings("tokens", &stored.names)
            .strings(
                "recovery_codes",
                stored.recovery_codes.as_deref().unwrap_or(&none),
            )
            .finish();
        out.push('\n');
        return print_out(&out);
    }
    let mut text = Zeroizing::new(String::new());
    let _ = writeln!(
        text,
        "Imported {} token(s) from {} for {} into {}: {}",
        stored.names.len(),
        source.display(),
        target.user.name,
        target.display_path().display(),
        stored.names.join(", ")
    );
    match &stored.recovery_codes {
        Some(codes) => {
            text.push_str("A new enrollment was made.\n\n");
            text.push_str(&recovery_codes_text(codes));
        }
        None => text.push_str("They were added to the existing enrollment.\n"),
    }
    print_out(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_become_names() {
        assert_eq!(sanitize_name("987654321").as_deref(), Some("987654321"));
        assert_eq!(sanitize_name("SN 12/34").as_deref(), Some("SN-12-34"));
        assert_eq!(sanitize_name("--x").as_deref(), Some("x"));
        assert_eq!(sanitize_name("ä1").as_deref(), Some("1"));
        assert_eq!(sanitize_name("---"), None);
        assert_eq!(sanitize_name(""), None);
        let long = sanitize_name(&"9".repeat(100)).unwrap();
        assert_eq!(long.len(), MAX_NAME_LEN - 4);
    }

    #[test]
    fn names_are_unique() {
        let taken = vec!["oath-1".to_string(), "x".to_string(), "x-2".to_string()];
        assert_eq!(unique_name(&NameWish::Numbered("oath"), &taken), "oath-2");
        assert_eq!(unique_name(&NameWish::Numbered("oath"), &[]), "oath-1");
        assert_eq!(unique_name(&NameWish::Named("x".into()), &taken), "x-3");
        assert_eq!(unique_name(&NameWish::Named("y".into()), &taken), "y");
    }
}
