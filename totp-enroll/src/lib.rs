//! Library part of `totp-enroll`: the pieces that are useful outside the command-line tool,
//! such as the `~/.google_authenticator` parser (used by the binary and by the fuzz targets
//! in `fuzz/`), and the readers of pam_oath usersfiles and RFC 6030 (PSKC) seed files for the
//! import commands.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod google_authenticator;
pub mod oath_usersfile;
pub mod pskc;
