//! pam_totp.so: the PAM front end (entry points, options, conversation, the login flow) over
//! `pam_totp_core` (file format, code checks) and `pam_totp_store` (the secret file on disk).

pub mod authenticate;
pub mod date;
pub mod forwarded;
pub mod frontend;
pub mod notices;
pub mod options;
pub mod policy;
pub mod qr;
pub mod user_db;

pub(crate) mod ffi;
mod hooks;

pub use hooks::{authenticate_hook, PamTotp};
pam::pam_hooks!(PamTotp);
