//! The PAM entry points: thin glue from libpam to [`crate::authenticate`], with the system's
//! user database. pam_totp.so serves the secret file store and hands `store=ldap` lines to
//! pam_totp_ldap.so ([`crate::ffi::authenticate_in_ldap_module`]), which runs
//! [`authenticate_hook`] with the directory.

use crate::authenticate::{authenticate, Verdict};
use crate::ffi;
use crate::forwarded::{KeptCode, Taken};
use crate::frontend::{Frontend, Level};
use crate::options::{ModuleOptions, Store};
use crate::user_db::SystemUsers;
use pam::constants::{
    PamFlag, PamMessageStyle, PamResultCode, PAM_ERROR_MSG, PAM_PROMPT_ECHO_OFF, PAM_SILENT,
    PAM_TEXT_INFO,
};
use pam::conv::Conv;
use pam::items::{AuthTok, RHost};
use pam::module::{PamHandle, PamHooks};
use pam_totp_core::store::SecretStore;
use pam_totp_store::file_store::FileStore;
use std::ffi::CStr;
use std::time::{SystemTime, UNIX_EPOCH};
use zeroize::Zeroizing;

/// The module type registered with pam-bindings.
pub struct PamTotp;

struct PamFrontend<'a> {
    pamh: &'a mut PamHandle,
    silent: bool,
}

impl PamFrontend<'_> {
    /// Shows `text` in `style` unless the application passed PAM_SILENT; an application that
    /// cannot show it does not fail the login.
    fn tell(&mut self, style: PamMessageStyle, text: &str) {
        if self.silent {
            return;
        }
        if let Ok(Some(conv)) = self.pamh.get_item::<Conv>() {
            let _ = conv.send(style, text);
        }
    }
}

fn to_string(bytes: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(String::from_utf8_lossy(bytes).into_owned())
}

impl Frontend for PamFrontend<'_> {
    fn silent(&self) -> bool {
        self.silent
    }

    fn user(&mut self) -> Result<String, String> {
        self.pamh
            .get_user(None)
            .map_err(|rc| format!("pam_get_user returned {rc:?}"))
    }

    fn ask_hidden(&mut self, prompt: &str) -> Option<Zeroizing<String>> {
        let conv = self.pamh.get_item::<Conv>().ok()??;
        let reply = conv.send(PAM_PROMPT_ECHO_OFF, prompt).ok()??;
        Some(to_string(reply.as_bytes()))
    }

    fn tell_error(&mut self, text: &str) {
        self.tell(PAM_ERROR_MSG, text);
    }

    fn tell_info(&mut self, text: &str) {
        self.tell(PAM_TEXT_INFO, text);
    }

    fn authtok(&self) -> Option<Zeroizing<String>> {
        let tok = self.pamh.get_item::<AuthTok>().ok()??;
        Some(to_string(tok.as_bytes()))
    }

    fn set_authtok(&mut self, value: &str) -> bool {
        ffi::set_authtok(self.pamh, value)
    }

    fn rhost(&self) -> Option<String> {
        let host = self.pamh.get_item::<RHost>().ok()??;
        Some(host.to_string_lossy().into_owned())
    }

    fn hostname(&self) -> Option<String> {
        nix::unistd::gethostname()
            .ok()
            .map(|name| name.to_string_lossy().into_owned())
    }

    fn log(&mut self, level: Level, message: &str) {
        let priority = match level {
            Level::Error => libc::LOG_ERR,
            Level::Warning => libc::LOG_WARNING,
            Level::Notice => libc::LOG_NOTICE,
            Level::Info => libc::LOG_INFO,
            Level::Debug => libc::LOG_DEBUG,
        };
        ffi::syslog(self.pamh, priority, message);
    }

    fn request_fail_delay(&mut self, micros: u32) {
        ffi::fail_delay(self.pamh, micros);
    }

    fn keep_code(&mut self, kept: KeptCode) -> bool {
        ffi::keep_code(self.pamh, kept)
    }

    fn take_kept_code(&mut self) -> Option<Taken> {
        ffi::take_kept_code(self.pamh)
    }

    fn settle_kept_code(&mut self) {
        ffi::settle_kept_code(self.pamh);
    }

    fn clock(&self) -> Option<u64> {
        unix_now()
    }
}

/// The `auth` hook over the store `make_store` opens for the options in force, which serves
/// `serves` (a line of another store is refused): pam_totp.so runs it with the file store,
/// pam_totp_ldap.so with the directory.
pub fn authenticate_hook<S: SecretStore>(
    pamh: &mut PamHandle,
    args: &[&CStr],
    flags: PamFlag,
    serves: Store,
    make_store: impl FnOnce(&ModuleOptions) -> S,
) -> PamResultCode {
    let mut fe = PamFrontend {
        pamh,
        silent: flags & PAM_SILENT != 0,
    };
    let Some(args) = args
        .iter()
        .map(|a| a.to_str().ok())
        .collect::<Option<Vec<&str>>>()
    else {
        fe.log(
            Level::Error,
            "configuration error: an option is not valid UTF-8; fix the pam.d line",
        );
        return PamResultCode::PAM_SERVICE_ERR;
    };
    let now = match unix_now() {
        Some(now) => now,
        None => {
            fe.log(
                Level::Error,
                "the system clock is before 1970; fix the time (NTP)",
            );
            return PamResultCode::PAM_AUTHINFO_UNAVAIL;
        }
    };
    match authenticate(&mut fe, &SystemUsers, serves, make_store, &args, now) {
        Verdict::Success => PamResultCode::PAM_SUCCESS,
        Verdict::Ignore => PamResultCode::PAM_IGNORE,
        Verdict::AuthErr => PamResultCode::PAM_AUTH_ERR,
        Verdict::ServiceErr => PamResultCode::PAM_SERVICE_ERR,
    }
}

/// True when this `auth` line belongs to pam_totp_ldap.so: it says `store=ldap`, or it is a
/// `check_forwarded` line and the code was kept by a `store=ldap` line. One pass over `args`.
fn wants_ldap(pamh: &PamHandle, args: &[&CStr]) -> bool {
    let mut check_forwarded = false;
    for arg in args {
        match arg.to_bytes() {
            b"store=ldap" => return true,
            b"check_forwarded" => check_forwarded = true,
            _ => {}
        }
    }
    check_forwarded && ffi::kept_code_store(pamh) == Some(Store::Ldap)
}

impl PamHooks for PamTotp {
    fn sm_authenticate(pamh: &mut PamHandle, args: Vec<&CStr>, flags: PamFlag) -> PamResultCode {
        if wants_ldap(pamh, &args) {
            return ffi::authenticate_in_ldap_module(pamh, flags, &args);
        }
        let store = |opts: &ModuleOptions| FileStore::new(&opts.secret_template);
        authenticate_hook(pamh, &args, flags, Store::File, store)
    }

    /// Fails closed when a `forward_pass` line kept a code that no `check_forwarded` line
    /// accepted (the stack lets the password alone in); otherwise no account policy.
    fn acct_mgmt(pamh: &mut PamHandle, _args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        match ffi::unsettled_kept_code_user(pamh) {
            Some(user) => {
                let line = format!(
                    "account refused: user={} passed authentication without the code that the forward_pass line split off being accepted (no effective 'auth required pam_totp.so check_forwarded' line); fix this service's pam.d file",
                    pam_totp_core::log_safe::field(&user)
                );
                ffi::syslog(pamh, libc::LOG_ALERT, &line);
                PamResultCode::PAM_PERM_DENIED
            }
            None => PamResultCode::PAM_IGNORE,
        }
    }

    fn sm_setcred(_pamh: &mut PamHandle, _args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        // No credentials to establish; success keeps sshd and sudo stacks working.
        PamResultCode::PAM_SUCCESS
    }
}

/// Seconds since 1970 by the system clock; None for a clock set before 1970.
fn unix_now() -> Option<u64> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}
