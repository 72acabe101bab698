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
//! reference and class (token entries right below the user entry that it does not name, left
//! by a failed run, go too). A parameters entry elsewhere in the tree (one shared by many
//! users, as other tools lay them out) is left alone; the token entries, which hold the keys,
//! are deleted wherever they are.
//!
//! In the directory a user has at most one TOTP and one HOTP token (`oathTOTPToken` and
//! `oathHOTPToken` are single-valued). The login state and the recovery codes live on the
//! TOTP token entry, or on the HOTP one when the user has no TOTP token.

mod error;
pub mod layout;
mod read;

use error::shown;
pub use error::AdminError;
use layout::{name, values};
pub use read::{DirectoryUser, Enrollment};

use crate::config::LdapConfig;
use crate::connection::{rc, Connection};
use crate::entries::{attr, Slot};
use crate::ldap_entry::Entry;
use ldap3::{LdapError, LdapResult, Mod, Scope};
use pam_totp_core::recovery::RecoveryHash;
use pam_totp_core::secret_file::SecretFile;
use pam_totp_core::token::{Token, TokenKind};
use std::collections::HashSet;
use std::path::PathBuf;

/// A bound connection for the administrator's operations.
pub struct Admin {
    conn: Connection,
    base: String,
    config: PathBuf,
}

/// A modify of attribute values given as bytes.
type Change = Mod<Vec<u8>>;

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
        let failure = || {
            self.conn
                .failure(operation, LdapError::from(result.clone()))
        };
        match result.rc {
            0 => Ok(()),
            rc::NO_SUCH_OBJECT if gone_is_done => Ok(()),
            rc::INSUFFICIENT_ACCESS => Err(AdminError::NotAllowed { source: failure() }),
            rc::ALREADY_EXISTS => Err(AdminError::EntryExists {
                dn: shown(dn),
                uri: self.uri().to_string(),
                user: String::new(),
            }),
            code if SCHEMA_CODES.contains(&code) => Err(AdminError::Schema { source: failure() }),
            _ => Err(failure().into()),
        }
    }

    fn add(&mut self, dn: &str, attrs: layout::Attributes) -> Result<(), AdminError> {
        let timeout = self.conn.timeout();
        let result = self.conn.ldap().with_timeout(timeout).add(dn, attrs);
        self.written(&format!("add of {}", shown(dn)), dn, result, false)
    }

    fn modify(&mut self, dn: &str, mods: Vec<Change>) -> Result<(), AdminError> {
        let timeout = self.conn.timeout();
        let result = self.conn.ldap().with_timeout(timeout).modify(dn, mods);
        self.written(&format!("modify of {}", shown(dn)), dn, result, false)
    }

    /// Deletes `dn`; an entry that is not there (any more) is no error.
    fn delete(&mut self, dn: &str) -> Result<(), AdminError> {
        let timeout = self.conn.timeout();
        let result = self.conn.ldap().with_timeout(timeout).delete(dn);
        self.written(&format!("delete of {}", shown(dn)), dn, result, true)
    }

    /// Enrolls `user` with the one token of `file`, a new enrollment whose first code was
    /// accepted (its mark and recovery codes are stored with it), made at Unix time `now`. An
    /// existing enrollment is refused unless `replace`, which removes it first. Returns true
    /// when one was replaced.
    pub fn enroll(
        &mut self,
        user: &DirectoryUser,
        file: &SecretFile,
        replace: bool,
        now: u64,
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
        let outcome = self.attach(user, file.first_token(), mark, now, Some(&file.recovery));
        match outcome {
            Err(e) if replaced => Err(AdminError::Replaced {
                dn: shown(&user.dn),
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
        check_new_token(user, enrollment, token.kind)?;
        // The state entry changes only when a TOTP token joins an HOTP-only user.
        let old_state = enrollment.state();
        let moved = match token.kind {
            TokenKind::Totp { .. } => {
                Some(old_state.map(|s| s.recovery.clone()).unwrap_or_default())
            }
            TokenKind::Hotp => None,
        };
        self.attach(user, token, mark, now, moved.as_deref())?;
        if let (Some(codes), Some(old)) = (&moved, old_state) {
            if !codes.is_empty() {
                // The codes are on the new entry now; the old entry's copies are never read
                // again, so a failure here leaves only dead values behind.
                let _ = self.modify(
                    &old.dn,
                    vec![Mod::Delete(name(attr::RECOVERY_CODE), HashSet::new())],
                );
            }
        }
        Ok(())
    }

    /// Adds the token and parameters entries of `token` below the user's entry, then the
    /// object class and reference to the user entry; deletes what it added when a later step
    /// fails. `recovery` (the codes to store) makes the token entry the state entry.
    fn attach(
        &mut self,
        user: &DirectoryUser,
        token: &Token,
        mark: Option<u64>,
        created: u64,
        recovery: Option<&[RecoveryHash]>,
    ) -> Result<(), AdminError> {
        let token_dn = layout::token_dn(&token.name, &user.dn);
        let params_dn = layout::params_dn(&token_dn);
        let entry = layout::token_entry(token, &params_dn, mark, created, recovery);
        let named = |e: AdminError| match e {
            AdminError::EntryExists { dn, uri, .. } => AdminError::EntryExists {
                dn,
                uri,
                user: pam_totp_core::log_safe::field(&user.name),
            },
            e => e,
        };
        self.add(&token_dn, entry.0.clone()).map_err(named)?;
        if let Err(e) = self.add(&params_dn, layout::params_entry(token)) {
            let _ = self.delete(&token_dn);
            return Err(named(e));
        }
        let slot = layout::slot_of(token.kind);
        if let Err(e) = self.modify(&user.dn, reference(user, slot, &token_dn)) {
            let _ = self.delete(&params_dn);
            let _ = self.delete(&token_dn);
            return Err(e);
        }
        Ok(())
    }

    /// Replaces the recovery codes of `enrollment` (on its state entry) with `hashes`.
    pub fn replace_recovery_codes(
        &mut self,
        user: &DirectoryUser,
        enrollment: &Enrollment,
        hashes: &[RecoveryHash],
    ) -> Result<(), AdminError> {
        let state = enrollment
            .state()
            .ok_or_else(|| user.not_enrolled_error())?;
        let mut mods = Vec::new();
        if !state.has_recovery_class {
            mods.push(Mod::Add(
                name("objectClass"),
                values([attr::RECOVERY_CLASS]),
            ));
        }
        mods.push(Mod::Replace(
            name(attr::RECOVERY_CODE),
            values(hashes.iter().map(RecoveryHash::encode)),
        ));
        let dn = state.dn.clone();
        self.modify(&dn, mods)
    }

    /// Removes the user's enrollment: each token entry the user entry names, and every
    /// other token entry right below the user entry (what a failed run may have left), each
    /// after its parameters entry (when that lies below the token or the user entry); then
    /// the user entry's token references and OATH classes. Returns false when there was
    /// nothing to remove. Entries already gone are no error, so a half-removed enrollment can
    /// be removed again.
    pub fn remove(&mut self, user: &DirectoryUser) -> Result<bool, AdminError> {
        let params_attrs = [attr::TOTP_PARAMS, attr::HOTP_PARAMS];
        let mut tokens: Vec<(String, Vec<String>)> = Vec::new();
        for (_, dn) in user.references() {
            if let Some(entry) = self.conn.read(dn, &params_attrs)? {
                tokens.push((dn.to_string(), texts(&entry, &params_attrs)));
            }
        }
        let filter = format!(
            "(|(objectClass={})(objectClass={}))",
            attr::TOTP_TOKEN,
            attr::HOTP_TOKEN
        );
        let below = self
            .conn
            .search(&user.dn, Scope::OneLevel, &filter, &params_attrs)?
            .unwrap_or_default();
        for entry in &below {
            if !tokens.iter().any(|(dn, _)| layout::same_dn(dn, &entry.dn)) {
                tokens.push((entry.dn.clone(), texts(entry, &params_attrs)));
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
        for (slot, _) in user.references() {
            mods.push(Mod::Delete(name(slot.token_attr()), HashSet::new()));
        }
        for slot in [Slot::Totp, Slot::Hotp] {
            let class = layout::user_class(slot);
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
fn texts(entry: &Entry, attrs: &[&str]) -> Vec<String> {
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
    let slot = layout::slot_of(kind);
    match enrollment.entry_of(slot) {
        Some(existing) => Err(AdminError::OneTokenPerKind {
            dn: shown(&user.dn),
            article: read::article(slot),
            kind: layout::label(slot),
            existing: shown(&existing.dn),
        }),
        None => Ok(()),
    }
}

/// The user-entry modify that names `token_dn` as the user's token in `slot` (adding the
/// slot's object class unless the entry has it).
fn reference(user: &DirectoryUser, slot: Slot, token_dn: &str) -> Vec<Change> {
    let class = layout::user_class(slot);
    let mut mods = Vec::new();
    if !user.has_class(class) {
        mods.push(Mod::Add(name("objectClass"), values([class])));
    }
    mods.push(Mod::Add(name(slot.token_attr()), values([token_dn])));
    mods
}
