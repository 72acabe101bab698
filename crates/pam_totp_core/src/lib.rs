//! pam_totp's core: the secret and its file format, a new enrollment and its otpauth URI,
//! recovery codes, code checking with the
//! clock passed in, the rate limit, path templates and log-safe text, and the traits the login
//! flow reaches its user database and secret store through. No libpam, no `unsafe`, no I/O:
//! what the PAM module, totp-enroll, the stores and the fuzzers share.
#![forbid(unsafe_code)]

pub mod algorithm;
pub mod enrollment;
pub mod hex;
pub mod hotp;
pub mod log_safe;
pub mod login_state;
pub mod otpauth;
pub mod params;
pub mod rate_limit;
pub mod recovery;
pub mod remember;
pub mod secret;
pub mod secret_file;
pub mod state_slots;
pub mod store;
pub mod template;
pub mod token;
pub mod toml_problem;
pub mod user_db;
pub mod verify;
