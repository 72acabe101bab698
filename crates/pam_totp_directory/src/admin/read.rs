//! Reading a user's entries for the administrator, with [`crate::entries`]' reader: the user
//! entry found by `uid` below `base` whatever its classes (enroll finds users who have no
//! OATH class yet), and the token and parameters entries it names, as a [`SecretFile`] (so
//! that `status` and `tokens` show them as they show a file) with the DNs a change needs.

use super::error::{shown, AdminError};
use super::layout;
use super::Admin;
use crate::entries::{self, ParamsSeen, Slot, TokenEntry, UserEntry, UserTokens};
use pam_totp_core::secret_file::SecretFile;

/// A user's entry in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    /// The name it was found by (`uid`).
    pub name: String,
    /// Its DN.
    pub dn: String,
    /// The entry as read.
    pub entry: UserEntry,
}

impl DirectoryUser {
    /// True when the entry names a token: the user is enrolled.
    pub fn is_enrolled(&self) -> bool {
        self.entry.has_tokens()
    }

    /// True when the entry has object class `class`.
    pub fn has_class(&self, class: &str) -> bool {
        self.entry.entry.has_class(class)
    }

    /// The token references, TOTP first.
    pub fn references(&self) -> impl Iterator<Item = (Slot, &str)> + '_ {
        [Slot::Totp, Slot::Hotp]
            .into_iter()
            .filter_map(|slot| Some((slot, self.entry.token(slot)?)))
    }

    /// The refusal to enroll a user who is enrolled, naming the token references.
    pub fn exists_error(&self) -> AdminError {
        AdminError::Exists {
            dn: shown(&self.dn),
            what: self
                .references()
                .map(|(slot, dn)| format!("{}: {}", slot.token_attr(), shown(dn)))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The refusal of a command that needs an enrollment.
    pub fn not_enrolled_error(&self) -> AdminError {
        AdminError::NotEnrolled {
            dn: shown(&self.dn),
            name: pam_totp_core::log_safe::field(&self.name),
        }
    }
}

/// A user's enrollment as read from the directory.
#[derive(Debug, Clone)]
pub struct Enrollment {
    /// The entries.
    pub tokens: UserTokens,
    /// The tokens, marks, recovery codes and creation time, as a secret file would hold them.
    pub file: SecretFile,
}

impl Enrollment {
    /// The entry that keeps the login state and the recovery codes: the TOTP token entry, or
    /// the HOTP one when the user has no TOTP token.
    pub fn state(&self) -> Option<&TokenEntry> {
        self.tokens.state_entry()
    }

    /// The token entry in `slot`, if the user has one.
    pub fn entry_of(&self, slot: Slot) -> Option<&TokenEntry> {
        match slot {
            Slot::Totp => self.tokens.totp.as_ref(),
            Slot::Hotp => self.tokens.hotp.as_ref(),
        }
    }
}

impl Admin {
    /// The entry of user `name`: `(uid=<name>)` below `base`, which must match one entry.
    pub fn find_user(&mut self, name: &str) -> Result<DirectoryUser, AdminError> {
        let found = entries::find_person(&mut self.conn, &self.base, name, &self.config)?;
        let entry = found.ok_or_else(|| AdminError::NoSuchUser {
            name: pam_totp_core::log_safe::line(name),
            base: shown(&self.base),
            uri: self.uri().to_string(),
            config: self.config.display().to_string(),
        })?;
        Ok(DirectoryUser {
            name: name.to_string(),
            dn: entry.dn.clone(),
            entry,
        })
    }

    /// The user's enrollment, None when the entry names no token.
    pub fn read(&mut self, user: &DirectoryUser) -> Result<Option<Enrollment>, AdminError> {
        if !user.is_enrolled() {
            return Ok(None);
        }
        let tokens =
            entries::read_user_tokens(&mut self.conn, &user.entry, &mut ParamsSeen::default())?;
        let file = tokens.to_secret_file()?;
        Ok(Some(Enrollment { tokens, file }))
    }

    /// The user's enrollment, which must exist.
    pub fn enrolled(&mut self, user: &DirectoryUser) -> Result<Enrollment, AdminError> {
        self.read(user)?.ok_or_else(|| user.not_enrolled_error())
    }
}

/// "a" or "an" before the slot's label.
pub(super) fn article(slot: Slot) -> &'static str {
    match layout::label(slot) {
        "HOTP" => "an",
        _ => "a",
    }
}
