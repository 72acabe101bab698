//! What logins remember between each other: per token, the highest time step or counter
//! accepted (replay), the times of recent checks (rate limit) and remembered hosts.

/// Replay, rate-limit and remembered-host state, kept in the same file so one write updates
/// everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginState {
    /// One per token, in the file's token order: the highest time step (TOTP) or counter
    /// (HOTP) accepted so far; codes at or below it are refused. None: nothing accepted yet.
    pub marks: Vec<Option<u64>>,
    /// Unix times of recent code checks, oldest first.
    pub checks: Vec<u64>,
    /// Hosts a code was given from (`remember=`), most recent first.
    pub remembered: Vec<crate::remember::RememberedHost>,
}

impl LoginState {
    /// The state of a new enrollment with `tokens` tokens: nothing accepted, nothing checked.
    pub fn new(tokens: usize) -> Self {
        LoginState {
            marks: vec![None; tokens],
            checks: Vec::new(),
            remembered: Vec::new(),
        }
    }
}
