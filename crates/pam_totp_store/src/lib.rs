//! pam_totp's file store: a user's secret file opened without following symlinks, its owner
//! and mode checked, locked, and replaced atomically and durably, with the user's filesystem
//! identity where the user controls the directory. All `unsafe` of this crate is in `ffi`.
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

pub mod bounded;
mod ffi;
pub mod identity;
pub mod store;
