//! What the login flow needs from the PAM stack: the conversation, PAM items, the log and the
//! data kept in the PAM handle. `hooks` implements it over libpam; tests script it.

use crate::forwarded::{KeptCode, Taken};
use zeroize::Zeroizing;

/// Syslog severities used by the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Configuration or file problems an administrator must fix.
    Error,
    /// Replays and rate-limit hits.
    Warning,
    /// Failed codes, recovery codes used.
    Notice,
    /// Successful logins.
    Info,
    /// Extra detail with the `debug` option.
    Debug,
}

/// What the flow needs from the PAM stack.
pub trait Frontend {
    /// The user being authenticated (may prompt for it).
    fn user(&mut self) -> Result<String, String>;
    /// Asks with echo off; None when the conversation fails or gives no answer.
    fn ask_hidden(&mut self, prompt: &str) -> Option<Zeroizing<String>>;
    /// Shows an error line to the user (unless the application asked for silence).
    fn tell_error(&mut self, text: &str);
    /// Shows an information line to the user (unless the application asked for silence).
    fn tell_info(&mut self, text: &str);
    /// True when the application asked for silence (PAM_SILENT): messages are not shown
    /// (prompts still are).
    fn silent(&self) -> bool;
    /// PAM_AUTHTOK as set by an earlier module.
    fn authtok(&self) -> Option<Zeroizing<String>>;
    /// Sets PAM_AUTHTOK for the following modules.
    fn set_authtok(&mut self, value: &str) -> bool;
    /// PAM_RHOST, for log lines (raw: the flow makes it log-safe).
    fn rhost(&self) -> Option<String>;
    /// This machine's host name (for telling a local PAM_RHOST from a remote one).
    fn hostname(&self) -> Option<String>;
    /// Writes one line to the authpriv log.
    fn log(&mut self, level: Level, message: &str);
    /// Asks libpam to delay the answer if the stack fails.
    fn request_fail_delay(&mut self, micros: u32);
    /// Keeps the code split off by `forward_pass` for the `check_forwarded` line.
    fn keep_code(&mut self, kept: KeptCode) -> bool;
    /// The code an earlier `forward_pass` line kept in this transaction, once.
    fn take_kept_code(&mut self) -> Option<Taken>;
    /// Records that the kept code was accepted (or the user found not enrolled under
    /// `nullok`), so that a successful transaction raises no alarm.
    fn settle_kept_code(&mut self);
    /// The Unix time now, read again when a typed code is checked (the user may have taken a
    /// while to type it); None when the clock cannot be read.
    fn clock(&self) -> Option<u64>;
}
