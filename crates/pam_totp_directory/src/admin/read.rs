//! Reading a user's entries for the administrator: the user entry found by `uid` below
//! `base` (whatever its classes: enroll finds users who have no OATH class yet), its token
//! references, and the token and parameters entries they name, as a [`SecretFile`] (so that
//! `status` and `tokens` show them as they show a file) together with the DNs a change needs.

use super::error::AdminError;
use super::layout::{self, KindNames, HOTP, RECOVERY_ATTR, RECOVERY_CLASS, TOTP};
use super::Admin;
use crate::error::{shown_dn, DirectoryError};
use crate::ldap_entry::Entry;
use ldap3::Scope;
use pam_totp_core::recovery::RecoveryHash;
use pam_totp_core::secret::TotpSecret;
use pam_totp_core::secret_file::SecretFile;
use pam_totp_core::token::{check_name, Token};

/// A user's entry in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    /// The name it was found by (`uid`).
    pub name: String,
    /// Its DN.
    pub dn: String,
    /// Its object classes.
    pub classes: Vec<String>,
    /// `oathTOTPToken`: the DN of its TOTP token entry.
    pub totp: Option<String>,
    /// `oathHOTPToken`: the DN of its HOTP token entry.
    pub hotp: Option<String>,
}

impl DirectoryUser {
    /// True when the entry names a token: the user is enrolled.
    pub fn is_enrolled(&self) -> bool {
        self.totp.is_some() || self.hotp.is_some()
    }

    /// The refusal to enroll a user who is enrolled, naming the token references.
    pub fn exists_error(&self) -> AdminError {
        AdminError::Exists {
            dn: shown_dn(&self.dn),
            what: self
                .references()
                .map(|(kind, dn)| format!("{}: {}", kind.user_ref, shown_dn(dn)))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// True when the entry has object class `class`.
    pub fn has_class(&self, class: &str) -> bool {
        self.classes.iter().any(|c| c.eq_ignore_ascii_case(class))
    }

    /// The token references, TOTP first, with the names of their kind.
    pub fn references(&self) -> impl Iterator<Item = (KindNames, &str)> + '_ {
        [(TOTP, &self.totp), (HOTP, &self.hotp)]
            .into_iter()
            .filter_map(|(kind, dn)| Some((kind, dn.as_deref()?)))
    }
}

/// One token entry as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEntry {
    /// Its DN.
    pub dn: String,
    /// TOTP or HOTP names.
    pub kind: KindNames,
    /// The parameters entry it names.
    pub params_dn: String,
    /// Whether it has pam_totp's recovery class.
    pub has_recovery_class: bool,
    /// Its recovery code values, as stored.
    pub recovery: Vec<String>,
}

/// A user's enrollment as read from the directory.
#[derive(Debug, Clone)]
pub struct Enrollment {
    /// The entry that keeps the login state and the recovery codes: the TOTP token entry, or
    /// the HOTP one when the user has no TOTP token (the first of `file`'s tokens).
    pub state: TokenEntry,
    /// The HOTP token entry of a user who has both (the second of `file`'s tokens).
    pub other: Option<TokenEntry>,
    /// The tokens, marks, recovery codes and creation time, as a secret file would hold them.
    pub file: SecretFile,
}

impl Enrollment {
    /// The token entries, in `file`'s token order.
    pub fn entries(&self) -> impl Iterator<Item = &TokenEntry> + '_ {
        std::iter::once(&self.state).chain(&self.other)
    }

    /// The token entry of `kind`, if the user has one.
    pub fn entry_of(&self, kind: KindNames) -> Option<&TokenEntry> {
        self.entries().find(|e| e.kind == kind)
    }
}

/// The attributes read from a user entry.
const USER_ATTRS: &[&str] = &["objectClass", "uid", "oathTOTPToken", "oathHOTPToken"];

/// The attributes read from a token entry.
const TOKEN_ATTRS: &[&str] = &[
    "objectClass",
    "cn",
    "oathSecret",
    "oathTOTPParams",
    "oathHOTPParams",
    "oathTOTPLastTimeStep",
    "oathHOTPCounter",
    "oathSecretTime",
    RECOVERY_ATTR,
];

/// The attributes read from a parameters entry.
const PARAMS_ATTRS: &[&str] = &[
    "oathOTPLength",
    "oathHMACAlgorithm",
    "oathTOTPTimeStepPeriod",
];

/// The text values of `attr`.
fn texts(entry: &Entry, attr: &str) -> Vec<String> {
    entry
        .values(attr)
        .iter()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

/// The one value of single-valued `attr`, if any.
fn single(entry: &Entry, attr: &'static str) -> Result<Option<String>, DirectoryError> {
    let mut all = texts(entry, attr);
    if all.len() > 1 {
        return Err(malformed(&entry.dn, attr, "it has several values"));
    }
    Ok(all.pop())
}

fn malformed(dn: &str, attr: &str, problem: &str) -> DirectoryError {
    DirectoryError::Malformed {
        attribute: attr.to_string(),
        value: String::new(),
        dn: shown_dn(dn),
        problem: problem.to_string(),
    }
}

/// A number attribute (decimal, no sign).
fn number(entry: &Entry, attr: &'static str) -> Result<Option<u64>, DirectoryError> {
    match single(entry, attr)? {
        None => Ok(None),
        Some(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| malformed(&entry.dn, attr, "not a decimal number")),
    }
}

/// The error for entry `dn` named by `attr` of `named_by` that does not exist.
fn missing(dn: &str, attr: &str, named_by: &str) -> DirectoryError {
    DirectoryError::MissingEntry {
        dn: shown_dn(dn),
        attribute: attr.to_string(),
        named_by: shown_dn(named_by),
    }
}

impl Admin {
    /// The entry of user `name`: `(uid=<name>)` below `base`, which must match one entry.
    pub fn find_user(&mut self, name: &str) -> Result<DirectoryUser, AdminError> {
        let filter = format!("(uid={})", ldap3::ldap_escape(name));
        let base = self.base.clone();
        let found = self
            .conn
            .search(&base, Scope::Subtree, &filter, USER_ATTRS)?
            .ok_or_else(|| DirectoryError::AccessDenied {
                identity: self.conn.identity().to_string(),
                what: format!(
                    "search base {} (it does not exist, or may not be seen; fix base in {} or the ACL)",
                    shown_dn(&base),
                    self.config.display()
                ),
            })?;
        let mut found = found.into_iter();
        let (Some(entry), None) = (found.next(), found.next()) else {
            let count = found.count();
            return Err(if count == 0 {
                AdminError::NoSuchUser {
                    name: pam_totp_core::log_safe::line(name),
                    base: shown_dn(&base),
                    uri: self.uri().to_string(),
                    config: self.config.display().to_string(),
                }
            } else {
                DirectoryError::Ambiguous {
                    user: pam_totp_core::log_safe::field(name),
                    count: count + 2,
                    base: shown_dn(&base),
                    config: self.config.clone(),
                }
                .into()
            });
        };
        Ok(DirectoryUser {
            name: name.to_string(),
            classes: texts(&entry, "objectClass"),
            totp: single(&entry, "oathTOTPToken")?,
            hotp: single(&entry, "oathHOTPToken")?,
            dn: entry.dn,
        })
    }

    /// The user's enrollment, None when the entry names no token.
    pub fn read(&mut self, user: &DirectoryUser) -> Result<Option<Enrollment>, AdminError> {
        let mut tokens: Vec<(TokenEntry, Token, Option<u64>, Entry)> = Vec::new();
        for (kind, dn) in user.references() {
            let entry = self
                .conn
                .read(dn, TOKEN_ATTRS)?
                .ok_or_else(|| missing(dn, kind.user_ref, &user.dn))?;
            let params_dn = single(&entry, kind.params_ref)?
                .ok_or_else(|| malformed(&entry.dn, kind.params_ref, "it is missing"))?;
            let params = self
                .conn
                .read(&params_dn, PARAMS_ATTRS)?
                .ok_or_else(|| missing(&params_dn, kind.params_ref, dn))?;
            let token = token_of(kind, &entry, &params, tokens.first().map(|t| &t.1.name))?;
            let mark = number(&entry, kind.watermark)?;
            tokens.push((
                TokenEntry {
                    dn: entry.dn.clone(),
                    kind,
                    params_dn,
                    has_recovery_class: entry.has_class(RECOVERY_CLASS),
                    recovery: texts(&entry, RECOVERY_ATTR),
                },
                token,
                mark,
                entry,
            ));
        }
        let mut parts = tokens.into_iter();
        let Some((state_entry, first, first_mark, state)) = parts.next() else {
            return Ok(None);
        };
        let mut file = SecretFile::with_token(first);
        if let Some(mark) = first_mark {
            file.set_mark(0, mark);
        }
        file.created = single(&state, "oathSecretTime")?
            .as_deref()
            .and_then(layout::datetime_of_generalized);
        file.recovery = state_entry
            .recovery
            .iter()
            .map(|v| {
                RecoveryHash::parse(v).ok_or_else(|| {
                    malformed(&state.dn, RECOVERY_ATTR, "a value is not sha256$salt$hash")
                })
            })
            .collect::<Result<_, _>>()?;
        let mut other = None;
        for (entry, token, mark, _) in parts {
            file.add_token(token, mark)
                .map_err(|e| malformed(&entry.dn, "oathSecret", &e.to_string()))?;
            other = Some(entry);
        }
        Ok(Some(Enrollment {
            state: state_entry,
            other,
            file,
        }))
    }
}

/// The token of a token entry and its parameters entry. Its name is the entry's `cn` when
/// that is a valid token name different from `taken` (the other token's), else `totp`/`hotp`.
fn token_of(
    kind: KindNames,
    entry: &Entry,
    params: &Entry,
    taken: Option<&String>,
) -> Result<Token, DirectoryError> {
    let fallback = kind.label.to_ascii_lowercase();
    let name = texts(entry, "cn")
        .into_iter()
        .find(|cn| check_name(cn).is_ok() && Some(cn) != taken)
        .unwrap_or(fallback);
    let key =
        match entry.values("oathSecret") {
            [key] => key.clone(),
            [] => return Err(malformed(
                &entry.dn,
                "oathSecret",
                "it is missing, or the bind identity may not read it (check the directory's ACL)",
            )),
            _ => return Err(malformed(&entry.dn, "oathSecret", "it has several values")),
        };
    let secret = TotpSecret::from_bytes(key)
        .map_err(|e| malformed(&entry.dn, "oathSecret", &e.to_string()))?;
    let digits = number(params, "oathOTPLength")?
        .and_then(|d| u8::try_from(d).ok())
        .filter(|d| pam_totp_core::params::digits_allowed(*d))
        .ok_or_else(|| malformed(&params.dn, "oathOTPLength", "must be 6 or 8"))?;
    let algorithm = single(params, "oathHMACAlgorithm")?
        .as_deref()
        .and_then(layout::algorithm_of_oid)
        .ok_or_else(|| {
            malformed(
                &params.dn,
                "oathHMACAlgorithm",
                "must be the OID of HMAC-SHA1, -SHA256 or -SHA512 (1.2.840.113549.2.7, .9 or .11)",
            )
        })?;
    let token = if kind == TOTP {
        let period = number(params, "oathTOTPTimeStepPeriod")?
            .filter(|p| (1..=pam_totp_core::token::MAX_PERIOD).contains(p))
            .ok_or_else(|| {
                malformed(
                    &params.dn,
                    "oathTOTPTimeStepPeriod",
                    "must be 1 to 86400 seconds",
                )
            })?;
        Token::totp(&name, secret, algorithm, digits, period)
    } else {
        Token::hotp(&name, secret, algorithm, digits)
    };
    token
        .check()
        .map_err(|e| malformed(&entry.dn, "oathSecret", &e.to_string()))?;
    Ok(token)
}
