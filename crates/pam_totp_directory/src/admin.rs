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
use crate::connection::Connection;
use layout::{KindNames, RECOVERY_ATTR, RECOVERY_CLASS, TOTP};
use ldap3::{Mod, Scope, SearchEntry};
use pam_totp_core::recovery::RecoveryHash;
use pam_totp_core::secret_file::{datetime_from_unix, SecretFile};
use pam_totp_core::token::{Token, TokenKind};
use std::collections::HashSet;
use toml::value::Datetime;

/// A bound connection for the administrator's operations.
pub struct Admin {
    conn: Connection,
    uri: String,
    base: String,
}

/// A modify of attribute values given as bytes.
type Change = Mod<Vec<u8>>;

fn values<I: IntoIterator<Item = S>, S: AsRef<[u8]>>(items: I) -> HashSet<Vec<u8>> {
    items.into_iter().map(|s| s.as_ref().to_vec()).collect()
}

fn name(attr: &str) -> Vec<u8> {
    attr.as_bytes().to_vec()
}

impl Admin {
    /// Connects and binds as `config` says.
    pub fn open(config: &LdapConfig) -> Result<Admin, AdminError> {
        Ok(Admin {
            conn: Connection::open(config)?,
            uri: config.uri.clone(),
            base: config.base.clone(),
        })
    }

    /// The directory's URI (for messages).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// A search; `what` names it in an error.
    fn search(
        &mut self,
        what: &str,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
    ) -> Result<Vec<SearchEntry>, AdminError> {
        let timeout = self.conn.timeout();
        let (entries, _) = self
            .conn
            .ldap()
            .with_timeout(timeout)
            .search(base, scope, filter, attrs.to_vec())
            .and_then(|r| r.success())
            .map_err(|e| AdminError::operation(what.to_string(), &self.uri, &e))?;
        Ok(entries.into_iter().map(SearchEntry::construct).collect())
    }

    /// The entry `dn` with `attrs`; None when it does not exist.
    fn search_base(
        &mut self,
        what: &str,
        dn: &str,
        attrs: &[&str],
    ) -> Result<Option<SearchEntry>, AdminError> {
        match self.search(what, dn, Scope::Base, "(objectClass=*)", attrs) {
            Ok(mut found) => Ok(found.pop()),
            Err(e) if e.result_code() == Some(NO_SUCH_OBJECT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn add(&mut self, dn: &str, attrs: layout::Attributes) -> Result<(), AdminError> {
        let timeout = self.conn.timeout();
        self.conn
            .ldap()
            .with_timeout(timeout)
            .add(dn, attrs)
            .and_then(|r| r.success())
            .map(drop)
            .map_err(|e| AdminError::operation(format!("adding {dn}"), &self.uri, &e))
    }

    fn modify(&mut self, dn: &str, mods: Vec<Change>) -> Result<(), AdminError> {
        let timeout = self.conn.timeout();
        self.conn
            .ldap()
            .with_timeout(timeout)
            .modify(dn, mods)
            .and_then(|r| r.success())
            .map(drop)
            .map_err(|e| AdminError::operation(format!("modifying {dn}"), &self.uri, &e))
    }

    /// Deletes `dn`; an entry that is not there (any more) is no error.
    fn delete(&mut self, dn: &str) -> Result<(), AdminError> {
        let timeout = self.conn.timeout();
        match self
            .conn
            .ldap()
            .with_timeout(timeout)
            .delete(dn)
            .and_then(|r| r.success())
        {
            Ok(_) => Ok(()),
            Err(e) if error::result_code(&e) == Some(NO_SUCH_OBJECT) => Ok(()),
            Err(e) => Err(AdminError::operation(
                format!("deleting {dn}"),
                &self.uri,
                &e,
            )),
        }
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
        self.add(&token_dn, entry.0.clone())?;
        if let Err(e) = self.add(&params_dn, layout::params_entry(token)) {
            let _ = self.delete(&token_dn);
            return Err(e);
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

    /// Removes the user's enrollment: each token's parameters entry (when it lies below the
    /// token or the user entry), the token entry, then the user entry's token references and
    /// OATH classes. Returns false when there was nothing to remove. Entries already gone are
    /// no error, so a half-removed enrollment can be removed again.
    pub fn remove(&mut self, user: &DirectoryUser) -> Result<bool, AdminError> {
        if !user.is_enrolled() {
            return Ok(false);
        }
        let references: Vec<(KindNames, String)> = user
            .references()
            .map(|(kind, dn)| (kind, dn.to_string()))
            .collect();
        for (kind, token_dn) in &references {
            let what = format!(
                "reading {token_dn} (named by {} of {})",
                kind.user_ref, user.dn
            );
            if let Some(entry) = self.search_base(&what, token_dn, &[kind.params_ref])? {
                let params: Vec<String> = entry
                    .attrs
                    .iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case(kind.params_ref))
                    .flat_map(|(_, v)| v.iter().cloned())
                    .collect();
                for params_dn in params {
                    if layout::is_below(&params_dn, token_dn)
                        || layout::is_below(&params_dn, &user.dn)
                    {
                        self.delete(&params_dn)?;
                    }
                }
                self.delete(token_dn)?;
            }
        }
        let mut mods = Vec::new();
        for (kind, _) in &references {
            mods.push(Mod::Delete(name(kind.user_ref), HashSet::new()));
        }
        for class in [layout::TOTP.user_class, layout::HOTP.user_class] {
            if user.has_class(class) {
                mods.push(Mod::Delete(name("objectClass"), values([class])));
            }
        }
        self.modify(&user.dn, mods)?;
        Ok(true)
    }
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

/// LDAP's noSuchObject.
const NO_SUCH_OBJECT: u32 = 32;

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
