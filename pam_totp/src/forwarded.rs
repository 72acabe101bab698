//! The code that a `forward_pass` line splits off the single password field and keeps for the
//! `check_forwarded` line after the password module: the password is checked first, so a
//! wrong password never burns a code or counts toward the rate limit.

use crate::log_safe;
use crate::options::ModuleOptions;
use std::cell::Cell;
use zeroize::Zeroizing;

/// What `forward_pass` keeps in the PAM handle for `check_forwarded`.
#[derive(Debug)]
pub struct KeptCode {
    user: String,
    /// The options of the `forward_pass` line, which the `check_forwarded` line uses.
    options: ModuleOptions,
    /// None when the field was handed on whole (a user not enrolled, under `nullok`).
    code: Option<Zeroizing<String>>,
    taken: Cell<bool>,
}

impl KeptCode {
    /// The code split off for `user` (None: nothing was split off) under `options`.
    pub fn new(user: &str, options: ModuleOptions, code: Option<Zeroizing<String>>) -> Self {
        KeptCode {
            user: user.to_string(),
            options,
            code,
            taken: Cell::new(false),
        }
    }

    /// The user, the options and the code, once: a second `check_forwarded` line gets nothing.
    pub fn take(&self) -> Option<Taken> {
        if self.taken.replace(true) {
            return None;
        }
        Some(Taken {
            user: self.user.clone(),
            options: self.options.clone(),
            code: self.code.clone(),
        })
    }

    /// The alarm for a transaction that succeeded while a code was kept and never checked:
    /// the stack has a `forward_pass` line without its `check_forwarded` line.
    pub fn unchecked_success_line(&self) -> Option<String> {
        if self.taken.get() || self.code.is_none() {
            return None;
        }
        Some(format!(
            "SECOND FACTOR NOT CHECKED: user={} was authenticated with the password alone: the forward_pass line split a code off, but no 'auth required pam_totp.so check_forwarded' line after the password module checked it; fix this service's pam.d file (see /usr/share/doc/pam-totp/examples/openvpn)",
            log_safe::field(&self.user)
        ))
    }
}

/// A kept code as `check_forwarded` receives it.
#[derive(Debug)]
pub struct Taken {
    /// The user `forward_pass` split the field for.
    pub user: String,
    /// The options of the `forward_pass` line.
    pub options: ModuleOptions,
    /// The code (None: the field was handed on whole).
    pub code: Option<Zeroizing<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_code_is_taken_once_and_alarms_only_when_never_taken() {
        let kept = KeptCode::new(
            "alice",
            ModuleOptions::default(),
            Some(Zeroizing::new("123456".into())),
        );
        assert!(kept.unchecked_success_line().is_some());
        let taken = kept.take().unwrap();
        assert_eq!(taken.user, "alice");
        assert_eq!(taken.code.unwrap().as_str(), "123456");
        assert!(kept.take().is_none());
        assert!(kept.unchecked_success_line().is_none());
        let whole = KeptCode::new("bob", ModuleOptions::default(), None);
        assert!(whole.unchecked_success_line().is_none());
    }

    #[test]
    fn the_alarm_does_not_show_the_code() {
        let kept = KeptCode::new(
            "x\ny",
            ModuleOptions::default(),
            Some(Zeroizing::new("987654".into())),
        );
        let line = kept.unchecked_success_line().unwrap();
        assert!(!line.contains("987654") && !line.contains('\n'));
    }
}
