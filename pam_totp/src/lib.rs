//! pam_totp: RFC 6238 time-based one-time passwords as a PAM module, plus the library that
//! the `totp-enroll` tool shares with it.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    unsafe_op_in_unsafe_fn
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::string_slice
    )
)]

pub mod authenticate;
pub mod forwarded;
pub mod fs;
pub mod log_safe;
pub mod options;
pub mod rate_limit;
pub mod recovery;
pub mod secret;
pub mod secret_file;
pub mod template;
pub mod verify;

pub(crate) mod ffi;
mod hooks;

pub use hooks::PamTotp;
pam::pam_hooks!(PamTotp);
