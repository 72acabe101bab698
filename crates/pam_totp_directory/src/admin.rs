//! What `totp-enroll --store ldap` does to a user's entries, bound as the administrator's
//! configuration says: read them (status, tokens), enroll (token and parameters entries, the
//! user entry's object class and token reference), replace recovery codes, add a token,
//! remove the enrollment.
//!
//! Layout ([`layout`]): a new token is the entry `cn=<name>,<user DN>` with its parameters
//! entry `cn=params,cn=<name>,<user DN>` below it; both are added first, then one modify of
//! the user entry adds the object class and the token reference, so that logins see either
//! no token or a complete one. If a step fails, what was added is deleted again. Removal goes
//! the other way round, leaf first: parameters entry, token entry, then the user entry's
//! reference and class. A parameters entry elsewhere in the tree (one shared by many users,
//! as other tools lay them out) is left alone; the token entries, which hold the keys, are
//! deleted wherever they are.
//!
//! In the directory a user has at most one TOTP and one HOTP token (`oathTOTPToken` and
//! `oathHOTPToken` are single-valued). The login state and the recovery codes live on the
//! TOTP token entry, or on the HOTP one when the user has no TOTP token.

mod error;
pub mod layout;
mod read;

pub use error::AdminError;
pub use read::{DirectoryUser, Enrollment, TokenEntry};

use crate::config::LdapConfig;
use crate::connection::{rc, Connection};
use crate::error::shown_dn;
use layout::{KindNames, RECOVERY_ATTR, RECOVERY_CLASS, TOTP};
use ldap3::{LdapError, LdapResult, Mod, Scope};
use pam_totp_core::recovery::RecoveryHash;
use pam_totp_core::secret_file::{datetime_from_unix, SecretFile};
use pam_totp_core::token::{Token, TokenKind};
use std::collections::HashSet;
use std::path::PathBuf;
use toml::value::Datetime;

/// A bound connection for the administrator's operations.
pub struct Admin {
    conn: Connection,
    base: String,
    config: PathBuf,
}

/// A modify of attribute values given as bytes.
type Change = Mod<Vec<u8>>;

fn values<I: IntoIterator<Item = S>, S: AsRef<[u8]>>(items: I) -> HashSet<Vec<u8>> {
    items.into_iter().map(|s| s.as_ref().to_vec()).collect()
}

fn name(attr: &str) -> Vec<u8> {
    attr.as_bytes().to_vec()
}

/// Result codes that say the server does not know a class or attribute pam_totp writes
/// (undefinedAttributeType, invalidAttributeSyntax, objectClassViolation).
const SCHEMA_CODES: [u32; 3] = [17, 21, 65];

impl Admin {
    /// Connects and binds as `config` says.
    pub fn open(config: &LdapConfig) -> Result<Admin, AdminError> {
        Ok(Admin {
            conn: Connection::open(config)?,
            base: config.base.clone(),
            config: config.path.clone(),
        })
    }

    /// The directory's URI (for messages).
    pub fn uri(&self) -> &str {
        self.conn.uri()
    }

    /// The outcome of a write `operation` on `dn`: the refusals an administrator can act on
    /// get their own errors (no right to write, schema missing, entry exists); with
    /// `gone_is_done`, an entry that does not exist is success (deleting it again).
    fn written(
        &self,
        operation: &str,
        dn: &str,
        result: Result<LdapResult, LdapError>,
        gone_is_done: bool,
    ) -> Result<(), AdminError> {
        let result = result.map_err(|e| self.conn.failure(operation, e))?;
        let code = result.rc;
        let failure = || {
            self.conn
                .failure(operation, LdapError::from(result.clone()))
        };
        match code {
            0 => Ok(()),
            rc::NO_SUCH_OBJECT if gone_is_done => Ok(()),
            rc::INSUFFICIENT_ACCESS => Err(AdminError::NotAllowed { source: failure() }),
            rc::ALREADY_EXISTS => Err(AdminError::EntryExists {
                dn: shown_dn(dn),
                uri: self.uri().to_string(),
                user: String::new(),
            }),
            c if SCHEMA_CODES.contains(&c) => Err(AdminError::Schema { source: failure() }),
            _ => Err(failure().into()),
        }
    }

    fn add(&mut self, dn: &str, attrs: layout::Attributes) -> Result<(), AdminError> {
        let timeout = self.conn.timeout();
        let result = self.conn.ldap().with_timeout(timeout).add(dn, attrs);
        self.written(&format!("add of {}", shown_dn(dn)), dn, result, false)
    }

    fn modify(&mut self, dn: &str, mods: Vec<Change>) -> Result<(), AdminError> {
        let timeout = self.conn.timeout();
        let result = self.conn.ldap().with_timeout(timeout).modify(dn, mods);
        self.written(&format!("modify of {}", shown_dn(dn)), dn, result, false)
    }

    /// Deletes `dn`; an entry that is not there (any more) is no error.
    fn delete(&mut self, dn: &str) -> Result<(), AdminError> {
        let timeout = self.conn.timeout();
        let result = self.conn.ldap().with_timeout(timeout).delete(dn);
        self.written(&format!("delete of {}", shown_dn(dn)), dn, result, true)
    }

    /// Enrolls `user` with the one token of `file` (a new enrollment whose first code was
    /// accepted: its mark, recovery codes and creation time are stored with it). An existing
    /// enrollment is refused unless `replace`, which removes it first. Returns true when one
    /// was replaced.
    pub fn enroll(
        &mut self,
        user: &DirectoryUser,
        file: &SecretFile,
        replace: bool,
    ) -> Result<bool, AdminError> {
        let replaced = user.is_enrolled();
        let fresh;
        let user = if replaced {
            if !replace {
                return Err(user.exists_error());
            }
            self.remove(user)?;
            fresh = self.find_user(&user.name)?;
            &fresh
        } else {
            user
        };
        let mark = file.state.marks.first().copied().flatten();
        let recovery = layout::encode_recovery(&file.recovery);
        let outcome = self.attach(
            user,
            file.first_token(),
            mark,
            file.created.as_ref(),
            Some(&recovery),
        );
        match outcome {
            Err(e) if replaced => Err(AdminError::Replaced {
                dn: user.dn.clone(),
                source: Box::new(e),
            }),
            other => other.map(|()| replaced),
        }
    }

    /// Adds `token` (its first code accepted at `mark`) to an enrolled user's tokens, made at
    /// Unix time `now`. Refused when the user already has a token of that kind. A TOTP token
    /// added beside an HOTP one takes over the login state: the recovery codes move to it.
    pub fn add_token(
        &mut self,
        user: &DirectoryUser,
        enrollment: &Enrollment,
        token: &Token,
        mark: Option<u64>,
        now: u64,
    ) -> Result<(), AdminError> {
        let kind = layout::names(token.kind);
        check_new_token(user, enrollment, token.kind)?;
        // The state entry changes only when a TOTP token joins an HOTP-only user.
        let moved = (kind == TOTP).then(|| enrollment.state.recovery.clone());
        let created = datetime_from_unix(now);
        self.attach(user, token, mark, created.as_ref(), moved.as_deref())?;
        if moved.as_ref().is_some_and(|codes| !codes.is_empty()) {
            // The codes are on the new entry now; the old entry's copies are never read
            // again, so a failure here leaves only dead values behind.
            let _ = self.modify(
                &enrollment.state.dn,
                vec![Mod::Delete(name(RECOVERY_ATTR), HashSet::new())],
            );
        }
        Ok(())
    }

    /// Adds the token and parameters entries of `token` below the user's entry, then the
    /// object class and reference to the user entry; deletes what it added when a later step
    /// fails. `recovery` (the values to store) makes the token entry the state entry.
    fn attach(
        &mut self,
        user: &DirectoryUser,
        token: &Token,
        mark: Option<u64>,
        created: Option<&Datetime>,
        recovery: Option<&[String]>,
    ) -> Result<(), AdminError> {
        let kind = layout::names(token.kind);
        let token_dn = layout::token_dn(&token.name, &user.dn);
        let params_dn = layout::params_dn(&token_dn);
        let entry = layout::token_entry(token, &params_dn, mark, created, recovery);
        let named = |e: AdminError| match e {
            AdminError::EntryExists { dn, uri, .. } => AdminError::EntryExists {
                dn,
                uri,
                user: user.name.clone(),
            },
            e => e,
        };
        self.add(&token_dn, entry.0.clone()).map_err(named)?;
        if let Err(e) = self.add(&params_dn, layout::params_entry(token)) {
            let _ = self.delete(&token_dn);
            return Err(named(e));
        }
        if let Err(e) = self.modify(&user.dn, reference(user, kind, &token_dn)) {
            let _ = self.delete(&params_dn);
            let _ = self.delete(&token_dn);
            return Err(e);
        }
        Ok(())
    }

    /// Replaces the recovery codes of `enrollment` (on its state entry) with `hashes`.
    pub fn replace_recovery_codes(
        &mut self,
        enrollment: &Enrollment,
        hashes: &[RecoveryHash],
    ) -> Result<(), AdminError> {
        let state = &enrollment.state;
        let mut mods = Vec::new();
        if !state.has_recovery_class {
            mods.push(Mod::Add(name("objectClass"), values([RECOVERY_CLASS])));
        }
        mods.push(Mod::Replace(
            name(RECOVERY_ATTR),
            values(layout::encode_recovery(hashes)),
        ));
        self.modify(&state.dn, mods)
    }

    /// Removes the user's enrollment: each token entry the user entry names, and every
    /// other token entry right below the user entry (what a failed run may have left), each
    /// after its parameters entry (when that lies below the token or the user entry); then
    /// the user entry's token references and OATH classes. Returns false when there was
    /// nothing to remove. Entries already gone are no error, so a half-removed enrollment can
    /// be removed again.
    pub fn remove(&mut self, user: &DirectoryUser) -> Result<bool, AdminError> {
        let params_attrs = [TOTP.params_ref, layout::HOTP.params_ref];
        let mut tokens: Vec<(String, Vec<String>)> = Vec::new();
        for (_, dn) in user.references() {
            if let Some(entry) = self.conn.read(dn, &params_attrs)? {
                tokens.push((dn.to_string(), texts(&entry, &params_attrs)));
            }
        }
        let below = self
            .conn
            .search(
                &user.dn,
                Scope::OneLevel,
                "(|(objectClass=oathTOTPToken)(objectClass=oathHOTPToken))",
                &params_attrs,
            )?
            .unwrap_or_default();
        for entry in below {
            if !tokens.iter().any(|(dn, _)| layout::same_dn(dn, &entry.dn)) {
                let params = texts(&entry, &params_attrs);
                tokens.push((entry.dn, params));
            }
        }
        if tokens.is_empty() && !user.is_enrolled() {
            return Ok(false);
        }
        for (token_dn, params) in &tokens {
            for params_dn in params {
                if layout::is_below(params_dn, token_dn) || layout::is_below(params_dn, &user.dn) {
                    self.delete(params_dn)?;
                }
            }
            self.delete(token_dn)?;
        }
        let mut mods = Vec::new();
        for (kind, _) in user.references() {
            mods.push(Mod::Delete(name(kind.user_ref), HashSet::new()));
        }
        for class in [TOTP.user_class, layout::HOTP.user_class] {
            if user.has_class(class) {
                mods.push(Mod::Delete(name("objectClass"), values([class])));
            }
        }
        if !mods.is_empty() {
            self.modify(&user.dn, mods)?;
        }
        Ok(true)
    }
}

/// The text values of `attrs` of `entry`.
fn texts(entry: &crate::ldap_entry::Entry, attrs: &[&str]) -> Vec<String> {
    attrs
        .iter()
        .flat_map(|a| entry.values(a))
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

/// Refuses a new token of `kind` when the user already has one of that kind (in the
/// directory a user has at most one TOTP and one HOTP token).
pub fn check_new_token(
    user: &DirectoryUser,
    enrollment: &Enrollment,
    kind: TokenKind,
) -> Result<(), AdminError> {
    let kind = layout::names(kind);
    match enrollment.entry_of(kind) {
        Some(existing) => Err(AdminError::OneTokenPerKind {
            dn: user.dn.clone(),
            article: if kind == TOTP { "a" } else { "an" },
            kind: kind.label,
            existing: existing.dn.clone(),
        }),
        None => Ok(()),
    }
}

/// The user-entry modify that names `token_dn` as the user's token of `kind` (adding the
/// kind's object class unless the entry has it).
fn reference(user: &DirectoryUser, kind: KindNames, token_dn: &str) -> Vec<Change> {
    let mut mods = Vec::new();
    if !user.has_class(kind.user_class) {
        mods.push(Mod::Add(name("objectClass"), values([kind.user_class])));
    }
    mods.push(Mod::Add(name(kind.user_ref), values([token_dn])));
    mods
}
