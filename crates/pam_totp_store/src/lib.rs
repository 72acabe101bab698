//! pam_totp's file store: a user's secret file opened without following symlinks, its owner
//! and mode checked, locked, and replaced atomically and durably, with the user's filesystem
//! identity where the user controls the directory; `file_store` offers it to the login flow as
//! a `pam_totp_core::store::SecretStore`. All `unsafe` of this crate is in `ffi`.

pub mod bounded;
mod ffi;
pub mod file_store;
pub mod identity;
pub mod ownership;
pub mod store;
