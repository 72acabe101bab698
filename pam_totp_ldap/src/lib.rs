//! pam_totp_ldap.so: pam_totp's login flow over the LDAP store. libpam never loads it:
//! pam_totp.so dlopens it from its own directory for `store=ldap` lines and calls its one
//! entry point, `pam_totp_ldap_authenticate` ([`ffi`]), so that only those lines pay for the
//! LDAP client and TLS. Everything but the store is pam_totp's code.

pub mod ffi;

use pam::constants::{PamFlag, PamResultCode};
use pam::module::PamHandle;
use pam_totp::options::{ModuleOptions, Store};
use pam_totp_directory::LdapStore;
use std::ffi::CStr;

/// One `auth` line with `store=ldap` (or a `check_forwarded` line whose code a `store=ldap`
/// line kept): pam_totp's flow with the directory named by `ldap_config=`.
pub fn authenticate(pamh: &mut PamHandle, args: &[&CStr], flags: PamFlag) -> PamResultCode {
    let store = |opts: &ModuleOptions| LdapStore::new(&opts.ldap_config);
    pam_totp::authenticate_hook(pamh, args, flags, Store::Ldap, store)
}
