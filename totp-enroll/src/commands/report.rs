//! `report` (root only): every account of the user database with its state (and, when the
//! secret files share one directory, every file there whose user was not listed), read through the
//! store (no symlink followed; files in a user's directory read with the user's filesystem
//! identity), so that a refused file is reported as the module would refuse it. A file that
//! cannot be used is reported on its account's row; the report goes on. Nothing is changed,
//! so nothing is logged.

use super::print_out;
use crate::cli::ReportArgs;
use crate::error::CliError;
use crate::ffi::{self, PasswdEntry};
use crate::table;
use nix::unistd::{Gid, Uid, User};
use pam_totp_core::log_safe;
use pam_totp_core::secret_file::{datetime_from_unix, SecretFile};
use pam_totp_core::template::{expand, shared_directory, SharedDirectory};
use pam_totp_store::store::{Owner, SecretDir, StoreError};
use serde::Serialize;
use std::collections::HashSet;

/// One account's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// No secret file (as the module sees it: it would treat the user as not enrolled).
    NotEnrolled,
    /// A usable secret file.
    Enrolled {
        /// Number of tokens.
        tokens: u32,
        /// Unused recovery codes.
        recovery_codes_left: usize,
        /// When the last code was accepted (RFC 3339, UTC), if ever.
        last_success: Option<String>,
    },
    /// The file (or the way to it) cannot be used: why, with the fix.
    Refused(String),
}

/// One row of the report, as `--json` prints it: exactly these keys, `error` only when set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The user name.
    pub user: String,
    /// Enrolled or not; null when the file cannot be used (see `error`).
    pub enrolled: Option<bool>,
    /// Number of tokens; null unless enrolled.
    pub tokens: Option<u32>,
    /// Unused recovery codes; null unless enrolled.
    pub recovery_codes_left: Option<usize>,
    /// Time of the last accepted code (RFC 3339, UTC); null when never, or not enrolled.
    pub last_success: Option<String>,
    /// Why the file cannot be used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Row {
    fn new(user: String, state: State) -> Row {
        let blank = Row {
            user,
            enrolled: None,
            tokens: None,
            recovery_codes_left: None,
            last_success: None,
            error: None,
        };
        match state {
            State::NotEnrolled => Row {
                enrolled: Some(false),
                ..blank
            },
            State::Enrolled {
                tokens,
                recovery_codes_left,
                last_success,
            } => Row {
                enrolled: Some(true),
                tokens: Some(tokens),
                recovery_codes_left: Some(recovery_codes_left),
                last_success,
                ..blank
            },
            State::Refused(why) => Row {
                error: Some(why),
                ..blank
            },
        }
    }
}

/// The JSON document.
#[derive(Serialize)]
struct Report<'a> {
    users: &'a [Row],
}

/// Runs `report` with the secret file `template`. The caller checked that we run as root.
pub fn run(template: &str, args: &ReportArgs) -> Result<(), CliError> {
    let accounts = ffi::all_accounts().map_err(CliError::UserDatabase)?;
    let mut rows: Vec<Row> = accounts.iter().map(|a| row(a, template)).collect();
    if let Some(shared) = shared_directory(template) {
        rows.extend(unlisted(&shared, &accounts, template));
    }
    let refused = rows.iter().filter(|r| r.error.is_some()).count();
    let shown: Vec<Row> = rows
        .into_iter()
        .filter(|r| !args.not_enrolled || r.enrolled == Some(false))
        .collect();
    let mut text = if args.json {
        serde_json::to_string(&Report { users: &shown }).map_err(|e| CliError::Io {
            what: "cannot write the report as JSON",
            source: e.into(),
        })?
    } else {
        human(&shown)
    };
    if args.json {
        text.push('\n');
    }
    print_out(&text)?;
    if refused > 0 {
        let hint = match (args.not_enrolled, args.json) {
            (true, _) => "--not-enrolled leaves them out; run totp-enroll report to see why",
            (false, true) => "their \"error\" says why and how to fix it",
            (false, false) => "the PROBLEM column says why and how to fix it",
        };
        eprintln!(
            "totp-enroll: report: {refused} account(s) have a secret file, or a way to it, that is refused (as the module refuses their logins); {hint}"
        );
    }
    Ok(())
}

/// Rows for the files in the template's shared directory (`/var/lib/pam_totp/%u.toml`) whose
/// users the enumeration did not list: accounts that NSS resolves by name but does not
/// enumerate (LDAP/SSSD without enumeration), and files left behind by deleted accounts.
fn unlisted(shared: &SharedDirectory, accounts: &[PasswdEntry], template: &str) -> Vec<Row> {
    let entries = match std::fs::read_dir(shared.dir()) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            eprintln!(
                "totp-enroll: report: cannot list {} ({e}): only the accounts the user database enumerates are reported",
                shared.dir().display()
            );
            return Vec::new();
        }
    };
    let listed: HashSet<&[u8]> = accounts.iter().map(|a| a.name.as_slice()).collect();
    let mut users: Vec<String> = entries
        .filter_map(|e| shared.user_of(&e.ok()?.file_name()))
        .filter(|user| !listed.contains(user.as_bytes()))
        .collect();
    users.sort();
    users
        .into_iter()
        .map(|user| match User::from_name(&user) {
            Ok(Some(found)) => row(
                &PasswdEntry {
                    name: found.name.into_bytes(),
                    uid: found.uid.as_raw(),
                    gid: found.gid.as_raw(),
                    home: found.dir,
                },
                template,
            ),
            Ok(None) => Row::new(
                user,
                State::Refused(
                    "no account of this name in the user database: the file belongs to nobody (an account deleted?); remove the file, or restore the account".to_string(),
                ),
            ),
            Err(errno) => Row::new(
                user,
                State::Refused(format!("looking the user up failed ({errno}); check NSS (getent passwd NAME)")),
            ),
        })
        .collect()
}

/// The row of one account.
fn row(account: &PasswdEntry, template: &str) -> Row {
    let name = String::from_utf8_lossy(&account.name).into_owned();
    let state = match std::str::from_utf8(&account.name) {
        Ok(utf8) => state(account, utf8, template),
        Err(_) => State::Refused(
            "the user name is not UTF-8 text, so its secret file cannot be named".to_string(),
        ),
    };
    Row::new(name, state)
}

/// The state of `account` (named `name`) for the secret file `template`.
fn state(account: &PasswdEntry, name: &str, template: &str) -> State {
    let path = match expand(template, name, &account.home) {
        Ok(path) => path,
        Err(e) => return State::Refused(e.to_string()),
    };
    let owner = Owner {
        name: name.to_string(),
        uid: Uid::from_raw(account.uid),
        gid: Gid::from_raw(account.gid),
    };
    match SecretDir::open(&path, owner).and_then(SecretDir::load) {
        Ok(loaded) => enrolled(loaded.content()),
        Err(e) => not_enrolled_or_refused(e),
    }
}

/// What an enrollment tells the report.
fn enrolled(file: &SecretFile) -> State {
    State::Enrolled {
        tokens: u32::try_from(file.token_count()).unwrap_or(u32::MAX),
        recovery_codes_left: file.recovery.len(),
        last_success: last_success(file),
    }
}

/// The time a code was last accepted: the start of the last accepted time step of any TOTP
/// token, RFC 3339 UTC (HOTP codes carry no time).
pub fn last_success(file: &SecretFile) -> Option<String> {
    datetime_from_unix(file.last_totp_success()?).map(|t| t.to_string())
}

/// A store error: not enrolled where the module would say so, else the refusal.
fn not_enrolled_or_refused(e: StoreError) -> State {
    if e.is_not_enrolled() {
        State::NotEnrolled
    } else {
        State::Refused(e.to_string())
    }
}

/// The report as an aligned table; names and reasons are cleared of control characters, which
/// a terminal would act on.
fn human(rows: &[Row]) -> String {
    let dash = || "-".to_string();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let enrolled = match r.enrolled {
                Some(true) => "yes",
                Some(false) => "no",
                None => "refused",
            };
            let last = match (r.enrolled, &r.last_success) {
                (_, Some(t)) => t.clone(),
                (Some(true), None) => "never".to_string(),
                _ => dash(),
            };
            vec![
                log_safe::line(&r.user),
                enrolled.to_string(),
                r.tokens.map_or_else(dash, |t| t.to_string()),
                r.recovery_codes_left.map_or_else(dash, |n| n.to_string()),
                last,
                r.error.as_deref().map(log_safe::line).unwrap_or_default(),
            ]
        })
        .collect();
    table::render(
        &[
            "USER",
            "ENROLLED",
            "TOKENS",
            "RECOVERY CODES",
            "LAST SUCCESS (UTC)",
            "PROBLEM",
        ],
        &cells,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The latest start of an accepted step over the TOTP tokens; HOTP marks are counters.
    #[test]
    fn the_last_success_is_the_start_of_the_last_accepted_step() {
        use pam_totp_core::secret::TotpSecret;
        use pam_totp_core::secret_file::Algorithm;
        use pam_totp_core::token::Token;
        let key = |byte: u8| TotpSecret::from_bytes(vec![byte; 20]).unwrap();
        let mut file = SecretFile::new(key(1), Algorithm::SHA1, 6, 30);
        assert_eq!(last_success(&file), None);
        // 1736100000 s since the epoch (date -u -d @1736100000).
        file.set_mark(0, 57_870_000);
        assert_eq!(last_success(&file).as_deref(), Some("2025-01-05T18:00:00Z"));
        file.add_token(
            Token::totp("slow", key(2), Algorithm::SHA1, 6, 60),
            Some(28_935_001),
        )
        .unwrap();
        assert_eq!(last_success(&file).as_deref(), Some("2025-01-05T18:01:00Z"));
        file.add_token(
            Token::hotp("fob", key(3), Algorithm::SHA1, 6),
            Some(u64::MAX / 2),
        )
        .unwrap();
        assert_eq!(last_success(&file).as_deref(), Some("2025-01-05T18:01:00Z"));
        file.set_mark(0, u64::MAX);
        assert_eq!(last_success(&file).as_deref(), Some("2025-01-05T18:01:00Z"));
    }

    #[test]
    fn rows_have_null_fields_unless_enrolled() {
        let json = |state| serde_json::to_string(&Row::new("a".into(), state)).unwrap();
        assert_eq!(
            json(State::NotEnrolled),
            r#"{"user":"a","enrolled":false,"tokens":null,"recovery_codes_left":null,"last_success":null}"#
        );
        assert_eq!(
            json(State::Enrolled {
                tokens: 1,
                recovery_codes_left: 3,
                last_success: None
            }),
            r#"{"user":"a","enrolled":true,"tokens":1,"recovery_codes_left":3,"last_success":null}"#
        );
        assert_eq!(
            json(State::Refused("why".into())),
            r#"{"user":"a","enrolled":null,"tokens":null,"recovery_codes_left":null,"last_success":null,"error":"why"}"#
        );
    }

    #[test]
    fn the_table_shows_every_state_on_one_line_each() {
        let rows = [
            Row::new("root".into(), State::NotEnrolled),
            Row::new(
                "alice".into(),
                State::Enrolled {
                    tokens: 1,
                    recovery_codes_left: 10,
                    last_success: None,
                },
            ),
            Row::new("b\nob".into(), State::Refused("bad\nmode".into())),
        ];
        assert_eq!(
            human(&rows),
            "USER   ENROLLED  TOKENS  RECOVERY CODES  LAST SUCCESS (UTC)  PROBLEM\n\
             root   no        -       -               -\n\
             alice  yes       1       10              never\n\
             b?ob   refused   -       -               -                   bad?mode\n"
        );
    }
}
