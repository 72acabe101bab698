//! `forward_pass`: how the single password field is split into password and code, and the code
//! kept for the `check_forwarded` line after the password module: the password is checked
//! first, so a wrong password never burns a code or counts toward the rate limit.

use crate::options::{ModuleOptions, Store};
use pam_totp_core::log_safe;
use pam_totp_core::recovery;
use std::cell::Cell;
use std::fmt;
use zeroize::Zeroizing;

/// What `forward_pass` keeps in the PAM handle for `check_forwarded`.
pub struct KeptCode {
    user: String,
    /// The options of the `forward_pass` line, which the `check_forwarded` line uses.
    options: ModuleOptions,
    /// The code until `check_forwarded` takes it out.
    code: Cell<Option<Zeroizing<String>>>,
    taken: Cell<bool>,
    /// `check_forwarded` accepted the code (or found the user not enrolled under `nullok`);
    /// true from the start when no code was split off (the field was handed on whole).
    settled: Cell<bool>,
}

impl KeptCode {
    /// The code split off for `user` (None: nothing was split off) under `options`.
    pub fn new(user: &str, options: ModuleOptions, code: Option<Zeroizing<String>>) -> Self {
        KeptCode {
            user: user.to_string(),
            options,
            settled: Cell::new(code.is_none()),
            code: Cell::new(code),
            taken: Cell::new(false),
        }
    }

    /// The user, the options and the code, once: a second `check_forwarded` line gets nothing.
    /// The code moves out of the PAM handle.
    pub fn take(&self) -> Option<Taken> {
        if self.taken.replace(true) {
            return None;
        }
        Some(Taken {
            user: self.user.clone(),
            options: self.options.clone(),
            code: self.code.take(),
        })
    }

    /// The store of the `forward_pass` line (the module that must check the code).
    pub fn store(&self) -> Store {
        self.options.store
    }

    /// `check_forwarded` let the user in (or found him not enrolled under `nullok`).
    pub fn settle(&self) {
        self.settled.set(true);
    }

    /// The user whose code was split off and not accepted, if there is one: a transaction
    /// that succeeds in this state has let the password alone in.
    pub fn unsettled_user(&self) -> Option<&str> {
        (!self.settled.get()).then_some(self.user.as_str())
    }

    /// The alarm for a transaction that succeeded while a code was kept and never accepted:
    /// the stack has a `forward_pass` line without an effective `check_forwarded` line.
    pub fn unchecked_success_line(&self) -> Option<String> {
        let user = self.unsettled_user()?;
        Some(format!(
            "SECOND FACTOR NOT CHECKED: user={} was authenticated with the password alone: the forward_pass line split a code off, but no 'auth required pam_totp.so check_forwarded' line after the password module accepted it (the line is missing, or not 'required'); fix this service's pam.d file (see /usr/share/doc/pam-totp/examples/openvpn)",
            log_safe::field(user)
        ))
    }
}

impl fmt::Debug for KeptCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeptCode")
            .field("user", &self.user)
            .field("taken", &self.taken.get())
            .field("settled", &self.settled.get())
            .finish_non_exhaustive()
    }
}

/// A kept code as `check_forwarded` receives it.
pub struct Taken {
    /// The user `forward_pass` split the field for.
    pub user: String,
    /// The options of the `forward_pass` line.
    pub options: ModuleOptions,
    /// The code (None: the field was handed on whole).
    pub code: Option<Zeroizing<String>>,
}

impl fmt::Debug for Taken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Taken")
            .field("user", &self.user)
            .field("code", &self.code.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// Splits `password || code` typed into one field: a trailing `xxxxx-xxxxx` recovery code,
/// else the last `digits` characters.
pub fn split_forwarded(combined: &str, digits: u8) -> (&str, &str) {
    const RECOVERY_LEN: usize = recovery::PRINTED_CHARS;
    let split_at = |tail_len: usize| {
        combined
            .len()
            .checked_sub(tail_len)
            .and_then(|at| Some((combined.get(..at)?, combined.get(at..)?)))
    };
    if let Some((password, tail)) = split_at(RECOVERY_LEN) {
        let looks_like_recovery = tail.bytes().enumerate().all(|(i, c)| {
            if i == RECOVERY_LEN / 2 {
                c == b'-'
            } else {
                c.is_ascii_alphanumeric()
            }
        });
        if looks_like_recovery {
            return (password, tail);
        }
    }
    split_at(usize::from(digits)).unwrap_or(("", combined))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(user: &str, code: Option<&str>) -> KeptCode {
        KeptCode::new(
            user,
            ModuleOptions::default(),
            code.map(|c| Zeroizing::new(c.to_string())),
        )
    }

    #[test]
    fn a_kept_code_is_taken_once_and_alarms_until_accepted() {
        let kept = kept("alice", Some("123456"));
        assert!(kept.unchecked_success_line().is_some());
        let taken = kept.take().unwrap();
        assert_eq!(taken.user, "alice");
        assert_eq!(taken.code.unwrap().as_str(), "123456");
        assert!(kept.take().is_none());
        // Taken but not accepted (a check line that is only "optional"): still an alarm.
        assert!(kept.unchecked_success_line().is_some());
        kept.settle();
        assert!(kept.unchecked_success_line().is_none());
        let whole = KeptCode::new("bob", ModuleOptions::default(), None);
        assert!(whole.unchecked_success_line().is_none());
    }

    #[test]
    fn neither_the_alarm_nor_debug_shows_the_code() {
        let kept = kept("x\ny", Some("987654"));
        let line = kept.unchecked_success_line().unwrap();
        assert!(!line.contains("987654") && !line.contains('\n'));
        assert!(!format!("{kept:?}").contains("987654"));
        let taken = kept.take().unwrap();
        assert!(!format!("{taken:?}").contains("987654"));
    }

    #[test]
    fn forwarded_field_is_split_at_the_code() {
        assert_eq!(split_forwarded("hunter2123456", 6), ("hunter2", "123456"));
        assert_eq!(
            split_forwarded("hunter212345678", 8),
            ("hunter2", "12345678")
        );
        assert_eq!(split_forwarded("pw-abcde-fghjk", 6), ("pw-", "abcde-fghjk"));
        assert_eq!(split_forwarded("123456", 6), ("", "123456"));
        assert_eq!(split_forwarded("12", 6), ("", "12"));
        assert_eq!(split_forwarded("pässwörd123456", 6), ("pässwörd", "123456"));
        assert_eq!(split_forwarded("ab€", 2), ("", "ab€"));
    }
}
