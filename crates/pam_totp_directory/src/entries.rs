//! OATH-LDAP entries as pam_totp sees them: a user entry (`oathTOTPUser`/`oathHOTPUser`) names
//! a TOTP and/or an HOTP token entry, each names its parameters entry; the login state
//! (watermarks, failure count, recovery codes) lives on the token entries. Reading them into a
//! [`pam_totp_core::secret_file::SecretFile`] and turning a changed one back into the one
//! compare-and-swap modify that saves it ([`UserTokens::changes`]).
//!
//! All login state is on the *state entry*: the TOTP token entry, or the HOTP one for a user
//! with only HOTP. The HOTP counter of a user with both stays on the HOTP entry.

use crate::connection::Connection;
use crate::error::{shown_dn, shown_value, DirectoryError};
use crate::generalized_time;
use crate::ldap_entry::Entry;
use ldap3::{Mod, Scope};
use pam_totp_core::params::Algorithm;
use pam_totp_core::recovery::RecoveryHash;
use pam_totp_core::secret::TotpSecret;
use pam_totp_core::secret_file::{datetime_from_unix, SecretFile, MAX_PERIOD, MAX_RECOVERY_CODES};
use pam_totp_core::token::{check_name, Token};
use std::collections::HashSet;
use std::path::Path;

/// The OATH-LDAP attribute and class names pam_totp reads and writes (slapo-otp's schema, and
/// pam_totp's own for recovery codes).
pub mod attr {
    /// The abstract class of every OATH user entry.
    pub const USER_CLASS: &str = "oathUser";
    /// The user class with a TOTP token.
    pub const TOTP_USER_CLASS: &str = "oathTOTPUser";
    /// The user class with an HOTP token.
    pub const HOTP_USER_CLASS: &str = "oathHOTPUser";
    /// On a user entry: the TOTP token entry's DN. Also the TOTP token entry's class.
    pub const TOTP_TOKEN: &str = "oathTOTPToken";
    /// On a user entry: the HOTP token entry's DN. Also the HOTP token entry's class.
    pub const HOTP_TOKEN: &str = "oathHOTPToken";
    /// The raw key.
    pub const SECRET: &str = "oathSecret";
    /// When the key was made.
    pub const SECRET_TIME: &str = "oathSecretTime";
    /// On a TOTP token: its parameters entry's DN. Also that entry's class.
    pub const TOTP_PARAMS: &str = "oathTOTPParams";
    /// On an HOTP token: its parameters entry's DN. Also that entry's class.
    pub const HOTP_PARAMS: &str = "oathHOTPParams";
    /// The last time step used (TOTP watermark).
    pub const TOTP_LAST_STEP: &str = "oathTOTPLastTimeStep";
    /// The last counter used (HOTP watermark).
    pub const HOTP_COUNTER: &str = "oathHOTPCounter";
    /// Code checks inside the rate-limit window.
    pub const FAILURE_COUNT: &str = "oathFailureCount";
    /// The newest of those checks (GeneralizedTime).
    pub const LAST_FAILURE: &str = "oathLastFailure";
    /// Digits of a code.
    pub const OTP_LENGTH: &str = "oathOTPLength";
    /// The HMAC algorithm's OID.
    pub const HMAC_ALGORITHM: &str = "oathHMACAlgorithm";
    /// Seconds per TOTP step.
    pub const TOTP_PERIOD: &str = "oathTOTPTimeStepPeriod";
    /// slapd's TOTP window (pam_totp's `window=` rules instead).
    pub const TOTP_WINDOW: &str = "oathTOTPTimeStepWindow";
    /// slapd's HOTP look-ahead (pam_totp's `hotp_window=` rules instead).
    pub const HOTP_LOOK_AHEAD: &str = "oathHOTPLookAhead";
    /// pam_totp's auxiliary class for recovery codes (packaging/ldap/pam_totp.schema).
    pub const RECOVERY_CLASS: &str = "pamTotpRecovery";
    /// One unused recovery code per value, `sha256$salt$hash`.
    pub const RECOVERY_CODE: &str = "pamTotpRecoveryCode";
}

/// The OIDs of the HMAC algorithms (RFC 8018), as `oathHMACAlgorithm` holds them.
pub mod oid {
    /// HMAC-SHA1.
    pub const SHA1: &str = "1.2.840.113549.2.7";
    /// HMAC-SHA256.
    pub const SHA256: &str = "1.2.840.113549.2.9";
    /// HMAC-SHA512.
    pub const SHA512: &str = "1.2.840.113549.2.11";
}

/// The algorithm of an `oathHMACAlgorithm` OID; None for one pam_totp lacks (SHA-224, -384).
pub fn algorithm_of_oid(text: &str) -> Option<Algorithm> {
    match text.trim() {
        oid::SHA1 => Some(Algorithm::SHA1),
        oid::SHA256 => Some(Algorithm::SHA256),
        oid::SHA512 => Some(Algorithm::SHA512),
        _ => None,
    }
}

/// The `oathHMACAlgorithm` OID of `algorithm`.
pub fn oid_of(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::SHA1 => oid::SHA1,
        Algorithm::SHA256 => oid::SHA256,
        Algorithm::SHA512 => oid::SHA512,
    }
}

/// Most checks rebuilt from `oathFailureCount` (the largest `rate_limit=` allows 1000).
const MAX_REBUILT_CHECKS: u64 = 1000;

/// How far `oathLastFailure` may be ahead of this host's clock (written by a host whose clock
/// is ahead) and still count here; a time further ahead is taken for a broken value: it
/// counts nothing and is replaced at the next check.
pub const MAX_FAILURE_AHEAD: u64 = 3600;

/// Which of a user's two token references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// `oathTOTPToken`.
    Totp,
    /// `oathHOTPToken`.
    Hotp,
}

impl Slot {
    /// The user entry's attribute naming the token entry (also the token entry's class).
    pub fn token_attr(self) -> &'static str {
        match self {
            Slot::Totp => attr::TOTP_TOKEN,
            Slot::Hotp => attr::HOTP_TOKEN,
        }
    }

    /// The token entry's attribute naming the parameters entry (also that entry's class).
    pub fn params_attr(self) -> &'static str {
        match self {
            Slot::Totp => attr::TOTP_PARAMS,
            Slot::Hotp => attr::HOTP_PARAMS,
        }
    }

    /// The token entry's watermark attribute.
    pub fn watermark_attr(self) -> &'static str {
        match self {
            Slot::Totp => attr::TOTP_LAST_STEP,
            Slot::Hotp => attr::HOTP_COUNTER,
        }
    }

    /// The name a token gets when its entry's RDN is not a usable token name.
    pub fn fallback_name(self) -> &'static str {
        match self {
            Slot::Totp => "totp",
            Slot::Hotp => "hotp",
        }
    }
}

/// A user's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEntry {
    /// The user entry's DN.
    pub dn: String,
    /// The TOTP token entry's DN (`oathTOTPToken`), if any.
    pub totp_token: Option<String>,
    /// The HOTP token entry's DN (`oathHOTPToken`), if any.
    pub hotp_token: Option<String>,
    /// The entry as read (`objectClass`, `uid` and the two references).
    pub entry: Entry,
}

impl UserEntry {
    /// The token entry's DN in `slot`, if any.
    pub fn token(&self, slot: Slot) -> Option<&str> {
        match slot {
            Slot::Totp => self.totp_token.as_deref(),
            Slot::Hotp => self.hotp_token.as_deref(),
        }
    }

    /// True when the entry names at least one token entry.
    pub fn has_tokens(&self) -> bool {
        self.totp_token.is_some() || self.hotp_token.is_some()
    }
}

/// Finds the OATH user `name` below `config_base`: `(&(objectClass=oathUser)(uid=NAME))` in
/// the subtree. None when there is none; an error when there are several, when the base
/// cannot be searched, or when the entry's classes promise a token reference the search did
/// not return ([`check_references`]): none of these may pass for "not enrolled". `config`
/// names the configuration file for messages.
pub fn find_user(
    conn: &mut Connection,
    config_base: &str,
    name: &str,
    config: &Path,
) -> Result<Option<UserEntry>, DirectoryError> {
    let filter = format!(
        "(&(objectClass={})(uid={}))",
        attr::USER_CLASS,
        ldap3::ldap_escape(name)
    );
    let found = find_one(conn, config_base, name, &filter, config)?;
    if let Some(user) = &found {
        check_references(conn.identity(), user)?;
    }
    Ok(found)
}

/// Refuses an OATH user entry that may be hiding its tokens from `identity`: `oathTOTPUser`
/// without `oathTOTPToken` (which that class requires, so an ACL hides it), or an entry
/// without references whose classes cannot be seen. (`oathHOTPUser` does not require
/// `oathHOTPToken`: without it, the entry has no HOTP token.)
pub fn check_references(identity: &str, user: &UserEntry) -> Result<(), DirectoryError> {
    if user.entry.has_class(attr::TOTP_USER_CLASS) && user.totp_token.is_none() {
        return Err(DirectoryError::AccessDenied {
            identity: identity.to_string(),
            what: format!(
                "read {} of {} (its objectClass {} requires one)",
                attr::TOTP_TOKEN,
                shown_dn(&user.dn),
                attr::TOTP_USER_CLASS
            ),
        });
    }
    if !user.has_tokens() && !user.entry.has("objectClass") {
        return Err(DirectoryError::AccessDenied {
            identity: identity.to_string(),
            what: format!(
                "read objectClass of {} (without it a user without tokens cannot be told from one whose tokens are hidden)",
                shown_dn(&user.dn)
            ),
        });
    }
    Ok(())
}

/// Finds the entry with `uid=NAME` below `config_base` whatever its classes (for enrolling a
/// user whose entry has no OATH class yet); otherwise as [`find_user`].
pub fn find_person(
    conn: &mut Connection,
    config_base: &str,
    name: &str,
    config: &Path,
) -> Result<Option<UserEntry>, DirectoryError> {
    let filter = format!("(uid={})", ldap3::ldap_escape(name));
    find_one(conn, config_base, name, &filter, config)
}

fn find_one(
    conn: &mut Connection,
    base: &str,
    name: &str,
    filter: &str,
    config: &Path,
) -> Result<Option<UserEntry>, DirectoryError> {
    let attrs = ["objectClass", "uid", attr::TOTP_TOKEN, attr::HOTP_TOKEN];
    let found = conn
        .search(base, Scope::Subtree, filter, &attrs)?
        .ok_or_else(|| DirectoryError::AccessDenied {
            identity: conn.identity().to_string(),
            what: format!(
                "search base {} (it does not exist, or may not be seen; fix base in {} or the ACL)",
                pam_totp_core::log_safe::line(base),
                config.display()
            ),
        })?;
    let mut found = found.into_iter();
    let Some(entry) = found.next() else {
        return Ok(None);
    };
    let more = found.count();
    if more > 0 {
        return Err(DirectoryError::Ambiguous {
            user: pam_totp_core::log_safe::field(name),
            count: more + 1,
            base: pam_totp_core::log_safe::line(base),
            config: config.to_path_buf(),
        });
    }
    // uid matches ignoring case in the directory; a login name is exact. "Alice" must not be
    // checked against (or enrolled into) alice's entry.
    if !entry
        .values("uid")
        .iter()
        .any(|v| v.as_slice() == name.as_bytes())
    {
        return Err(DirectoryError::Malformed {
            attribute: "uid".into(),
            value: String::new(),
            dn: shown_dn(&entry.dn),
            problem: format!(
                "no value is exactly {} (the entry matched only ignoring case, or the bind identity cannot read uid): log in with the name as the directory spells it, or fix the ACL",
                pam_totp_core::log_safe::field(name)
            ),
        });
    }
    let totp_token = single_text(&entry, attr::TOTP_TOKEN)?;
    let hotp_token = single_text(&entry, attr::HOTP_TOKEN)?;
    Ok(Some(UserEntry {
        dn: entry.dn.clone(),
        totp_token,
        hotp_token,
        entry,
    }))
}

/// A token entry with its parameters, parsed and checked, and the raw values of its login
/// state as read (what a compare-and-swap deletes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEntry {
    /// The token entry's DN.
    pub dn: String,
    /// TOTP or HOTP.
    pub slot: Slot,
    /// The token: name (the entry's `cn` RDN when usable), key, algorithm, digits, period.
    pub token: Token,
    /// The parameters entry's DN.
    pub params_dn: String,
    /// The watermark: the last time step or counter used; None when nothing was accepted.
    pub watermark: Option<u64>,
    /// `oathFailureCount` (0 when absent).
    pub failure_count: u64,
    /// `oathLastFailure` as Unix seconds.
    pub last_failure: Option<u64>,
    /// `pamTotpRecoveryCode`, parsed, in the order read.
    pub recovery: Vec<RecoveryHash>,
    /// `oathSecretTime` as Unix seconds (None when absent or not in the usual form).
    pub created: Option<u64>,
    /// True when the entry has the `pamTotpRecovery` class.
    pub has_recovery_class: bool,
    /// The raw values read.
    raw: RawState,
}

/// The login-state values as the directory holds them.
#[derive(Clone, Default, PartialEq, Eq)]
struct RawState {
    watermark: Option<String>,
    failure_count: Option<String>,
    last_failure: Option<String>,
    /// In the order of [`TokenEntry::recovery`].
    recovery: Vec<String>,
}

/// The recovery codes' hashes are left out, as [`RecoveryHash`]'s own Debug does: they can be
/// attacked offline.
impl std::fmt::Debug for RawState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawState")
            .field("watermark", &self.watermark)
            .field("failure_count", &self.failure_count)
            .field("last_failure", &self.last_failure)
            .field("recovery", &format_args!("{} values", self.recovery.len()))
            .finish()
    }
}

/// The attributes read from a token entry.
const TOKEN_ATTRS: &[&str] = &[
    "objectClass",
    attr::SECRET,
    attr::SECRET_TIME,
    attr::TOTP_PARAMS,
    attr::HOTP_PARAMS,
    attr::TOTP_LAST_STEP,
    attr::HOTP_COUNTER,
    attr::FAILURE_COUNT,
    attr::LAST_FAILURE,
    attr::RECOVERY_CODE,
];

/// The attributes read from a parameters entry.
const PARAMS_ATTRS: &[&str] = &[
    "objectClass",
    attr::OTP_LENGTH,
    attr::HMAC_ALGORITHM,
    attr::TOTP_PERIOD,
    attr::TOTP_WINDOW,
    attr::HOTP_LOOK_AHEAD,
];

/// Reads and checks the token entry in `slot` of `user` and its parameters entry: None when
/// the user has no token there.
pub fn read_token(
    conn: &mut Connection,
    user: &UserEntry,
    slot: Slot,
    seen: &mut ParamsSeen,
) -> Result<Option<TokenEntry>, DirectoryError> {
    let Some(token_dn) = user.token(slot) else {
        return Ok(None);
    };
    let entry = conn
        .read(token_dn, TOKEN_ATTRS)?
        .ok_or_else(|| DirectoryError::MissingEntry {
            dn: shown_dn(token_dn),
            attribute: slot.token_attr().to_string(),
            named_by: shown_dn(&user.dn),
        })?;
    let params_dn = single_text(&entry, slot.params_attr())?.ok_or_else(|| {
        malformed(
            &entry,
            slot.params_attr(),
            "",
            "missing: a token entry names its parameters entry",
        )
    })?;
    // A token enrolled again meanwhile (a new `oathSecretTime`) has its parameters read again.
    let stamp = entry.values(attr::SECRET_TIME).first().cloned();
    let params = match seen.get(&params_dn, stamp.as_deref()) {
        Some(params) => params.clone(),
        None => {
            let params = conn.read(&params_dn, PARAMS_ATTRS)?.ok_or_else(|| {
                DirectoryError::MissingEntry {
                    dn: shown_dn(&params_dn),
                    attribute: slot.params_attr().to_string(),
                    named_by: shown_dn(token_dn),
                }
            })?;
            seen.0.push(SeenParams {
                dn: params_dn,
                stamp,
                entry: params.clone(),
            });
            params
        }
    };
    parse_token(conn.identity(), &entry, &params, slot).map(Some)
}

/// The parameters entries (algorithm, digits, period) already read in one login, by the DN
/// the token entry names and the token's `oathSecretTime`: a login reads them when it opens
/// the user's entries, before the prompt, and not again when it reads the state to check the
/// code (only the state values must be fresh for the compare-and-swap).
#[derive(Debug, Clone, Default)]
pub struct ParamsSeen(Vec<SeenParams>);

#[derive(Debug, Clone)]
struct SeenParams {
    dn: String,
    stamp: Option<Vec<u8>>,
    entry: Entry,
}

impl ParamsSeen {
    fn get(&self, dn: &str, stamp: Option<&[u8]>) -> Option<&Entry> {
        self.0
            .iter()
            .find(|seen| seen.dn == dn && seen.stamp.as_deref() == stamp)
            .map(|seen| &seen.entry)
    }
}

/// Builds a [`TokenEntry`] from a token entry and its parameters entry as read.
pub fn parse_token(
    identity: &str,
    entry: &Entry,
    params: &Entry,
    slot: Slot,
) -> Result<TokenEntry, DirectoryError> {
    let secret = match entry.values(attr::SECRET) {
        [] => {
            return Err(DirectoryError::AccessDenied {
                identity: identity.to_string(),
                what: format!(
                    "read {} of {} (or the entry has none)",
                    attr::SECRET,
                    shown_dn(&entry.dn)
                ),
            })
        }
        [one] => TotpSecret::from_bytes(one.clone())
            .map_err(|e| malformed(entry, attr::SECRET, "", &format!("{e}")))?,
        _ => return Err(malformed(entry, attr::SECRET, "", "has several values")),
    };
    let digits = single_number(params, attr::OTP_LENGTH)?
        .ok_or_else(|| malformed(params, attr::OTP_LENGTH, "", "missing"))?;
    let digits = u8::try_from(digits)
        .ok()
        .filter(|d| pam_totp_core::params::digits_allowed(*d))
        .ok_or_else(|| {
            malformed(
                params,
                attr::OTP_LENGTH,
                &digits.to_string(),
                "pam_totp takes 6 or 8 digits",
            )
        })?;
    let oid_text = single_text(params, attr::HMAC_ALGORITHM)?
        .ok_or_else(|| malformed(params, attr::HMAC_ALGORITHM, "", "missing"))?;
    let algorithm = algorithm_of_oid(&oid_text).ok_or_else(|| {
        malformed(
            params,
            attr::HMAC_ALGORITHM,
            &oid_text,
            "pam_totp takes HMAC-SHA1 (1.2.840.113549.2.7), -SHA256 (.2.9) or -SHA512 (.2.11)",
        )
    })?;
    let name = token_name(&entry.dn, slot);
    let token = match slot {
        Slot::Totp => {
            let period = single_number(params, attr::TOTP_PERIOD)?
                .ok_or_else(|| malformed(params, attr::TOTP_PERIOD, "", "missing"))?;
            if !(1..=MAX_PERIOD).contains(&period) {
                return Err(malformed(
                    params,
                    attr::TOTP_PERIOD,
                    &period.to_string(),
                    &format!("must be from 1 to {MAX_PERIOD} seconds"),
                ));
            }
            Token::totp(&name, secret, algorithm, digits, period)
        }
        Slot::Hotp => Token::hotp(&name, secret, algorithm, digits),
    };
    token
        .check()
        .map_err(|e| malformed(entry, attr::SECRET, "", &e.to_string()))?;
    let watermark_raw = single_raw(entry, slot.watermark_attr())?;
    let watermark = watermark_raw
        .as_deref()
        .map(|raw| decimal(entry, slot.watermark_attr(), raw))
        .transpose()?;
    let failure_count_raw = single_raw(entry, attr::FAILURE_COUNT)?;
    let failure_count = failure_count_raw
        .as_deref()
        .map(|raw| decimal(entry, attr::FAILURE_COUNT, raw))
        .transpose()?
        .unwrap_or(0);
    let last_failure_raw = single_raw(entry, attr::LAST_FAILURE)?;
    let last_failure = last_failure_raw
        .as_deref()
        .map(|raw| {
            generalized_time::parse(raw).ok_or_else(|| {
                malformed(
                    entry,
                    attr::LAST_FAILURE,
                    raw,
                    "not a GeneralizedTime YYYYMMDDHHMMSSZ",
                )
            })
        })
        .transpose()?;
    let codes = entry.values(attr::RECOVERY_CODE);
    if codes.len() > MAX_RECOVERY_CODES {
        return Err(malformed(
            entry,
            attr::RECOVERY_CODE,
            "",
            &format!("more than {MAX_RECOVERY_CODES} values; make new codes with totp-enroll --store ldap recovery-codes"),
        ));
    }
    let mut recovery = Vec::with_capacity(codes.len());
    let mut recovery_raw = Vec::with_capacity(codes.len());
    for (i, code) in codes.iter().enumerate() {
        let parsed = std::str::from_utf8(code)
            .ok()
            .and_then(|text| RecoveryHash::parse(text).map(|h| (text.to_string(), h)));
        let (text, hash) = parsed.ok_or_else(|| {
            malformed(
                entry,
                attr::RECOVERY_CODE,
                "",
                &format!("value {} is not a sha256$salt$hash value; make new codes with totp-enroll --store ldap recovery-codes", i + 1),
            )
        })?;
        recovery.push(hash);
        recovery_raw.push(text);
    }
    let created = single_raw(entry, attr::SECRET_TIME)
        .ok()
        .flatten()
        .and_then(|raw| generalized_time::parse(&raw));
    Ok(TokenEntry {
        dn: entry.dn.clone(),
        slot,
        token,
        params_dn: params.dn.clone(),
        watermark,
        failure_count,
        last_failure,
        recovery,
        created,
        has_recovery_class: entry.has_class(attr::RECOVERY_CLASS),
        raw: RawState {
            watermark: watermark_raw,
            failure_count: failure_count_raw,
            last_failure: last_failure_raw,
            recovery: recovery_raw,
        },
    })
}

/// The token name of the entry `dn`: its RDN's value when the RDN is `cn=NAME` and NAME is a
/// usable token name, else [`Slot::fallback_name`].
pub fn token_name(dn: &str, slot: Slot) -> String {
    let rdn = dn.split(',').next().unwrap_or("");
    match rdn.split_once('=') {
        Some((kind, value))
            if kind.trim().eq_ignore_ascii_case("cn") && check_name(value.trim()).is_ok() =>
        {
            value.trim().to_string()
        }
        _ => slot.fallback_name().to_string(),
    }
}

/// A user's entry and token entries, as read for a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTokens {
    /// The user entry.
    pub user: UserEntry,
    /// The TOTP token, if the user has one.
    pub totp: Option<TokenEntry>,
    /// The HOTP token, if the user has one.
    pub hotp: Option<TokenEntry>,
}

/// One modify: the entry and its changes.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryChange {
    /// The entry to modify.
    pub dn: String,
    /// The changes, in order.
    pub mods: Vec<Mod<String>>,
}

/// Reads the token entries `user` names, and the parameters entries they name unless `seen`
/// has them (those read are added). An entry that names none is not enrolled.
pub fn read_user_tokens(
    conn: &mut Connection,
    user: &UserEntry,
    seen: &mut ParamsSeen,
) -> Result<UserTokens, DirectoryError> {
    if !user.has_tokens() {
        return Err(not_enrolled_without_tokens(&user.dn));
    }
    let totp = read_token(conn, user, Slot::Totp, seen)?;
    let hotp = read_token(conn, user, Slot::Hotp, seen)?;
    Ok(UserTokens {
        user: user.clone(),
        totp,
        hotp,
    })
}

/// The error for a user entry without token references.
pub fn not_enrolled_without_tokens(dn: &str) -> DirectoryError {
    DirectoryError::NotEnrolled(format!(
        "directory entry {} has neither {} nor {}",
        shown_dn(dn),
        attr::TOTP_TOKEN,
        attr::HOTP_TOKEN
    ))
}

impl UserTokens {
    /// The token entries in pam_totp's token order: TOTP first, then HOTP.
    pub fn tokens(&self) -> impl Iterator<Item = &TokenEntry> + '_ {
        self.totp.iter().chain(self.hotp.iter())
    }

    /// The entry that holds the login state: the TOTP token's, else the HOTP token's.
    pub fn state_entry(&self) -> Option<&TokenEntry> {
        self.totp.as_ref().or(self.hotp.as_ref())
    }

    /// The tokens and login state as a [`SecretFile`]: token 0 the TOTP token (if any), then
    /// the HOTP token; one mark per token from its watermark; recovery codes, the failure
    /// count (as that many checks at the last failure's time) and `created` from the state
    /// entry.
    pub fn to_secret_file(&self) -> Result<SecretFile, DirectoryError> {
        let mut entries = self.tokens();
        let (Some(first), second) = (entries.next(), entries.next()) else {
            return Err(not_enrolled_without_tokens(&self.user.dn));
        };
        let mut file = SecretFile::with_token(first.token.clone());
        if let Some(second) = second {
            let mut token = second.token.clone();
            if token.name == first.token.name {
                token.name = Slot::Hotp.fallback_name().to_string();
                if token.name == first.token.name {
                    file.first_token_mut().name = Slot::Totp.fallback_name().to_string();
                }
            }
            file.add_token(token, second.watermark)
                .map_err(|e| DirectoryError::Malformed {
                    attribute: attr::SECRET.to_string(),
                    value: String::new(),
                    dn: shown_dn(&second.dn),
                    problem: format!(
                        "{e} (the TOTP and HOTP token entries of {} must have different keys)",
                        shown_dn(&self.user.dn)
                    ),
                })?;
        }
        file.state.marks = self.tokens().map(|t| t.watermark).collect();
        let state = first;
        file.recovery = state.recovery.clone();
        file.created = state.created.and_then(datetime_from_unix);
        file.state.checks = rebuilt_checks(state, state.last_failure);
        Ok(file)
    }

    /// The checks the state entry's failure count stands for, judged at `now`:
    /// `oathFailureCount` copies of `oathLastFailure`. A time ahead of `now` (another host's
    /// clock is ahead) counts as `now`, so that this host counts those checks as that host
    /// does; one more than [`MAX_FAILURE_AHEAD`] ahead counts nothing.
    pub fn checks_at(&self, now: u64) -> Vec<u64> {
        let Some(state) = self.state_entry() else {
            return Vec::new();
        };
        let at = state
            .last_failure
            .filter(|t| *t <= now.saturating_add(MAX_FAILURE_AHEAD))
            .map(|t| t.min(now));
        rebuilt_checks(state, at)
    }

    /// The modifies that save `new` (this record after a login changed it): first one modify
    /// of the state entry, a compare-and-swap of each changed watermark (delete the value
    /// read, add the new one; only add when there was none), of `oathFailureCount` and
    /// `oathLastFailure` (always: every check writes them, so that of two concurrent checks
    /// only one can succeed), and a delete of each recovery code used; then, for a user with
    /// both tokens whose HOTP counter moved, the compare-and-swap of that counter on the HOTP
    /// entry. Changes other than login state are refused.
    pub fn changes(&self, new: &SecretFile) -> Result<Vec<EntryChange>, DirectoryError> {
        let old = self.to_secret_file()?;
        let unsupported = |what: &str| {
            DirectoryError::Unsupported(format!(
                "store=ldap saves only login state, not {what}; change tokens and recovery codes with totp-enroll --store ldap"
            ))
        };
        if !old.tokens().eq(new.tokens()) {
            return Err(unsupported("changed tokens"));
        }
        if !new.state.remembered.is_empty() {
            return Err(unsupported("remembered hosts (remember=)"));
        }
        if new.recovery.iter().any(|code| !old.recovery.contains(code)) {
            return Err(unsupported("new recovery codes"));
        }
        let entries: Vec<&TokenEntry> = self.tokens().collect();
        let Some(state) = entries.first() else {
            return Err(not_enrolled_without_tokens(&self.user.dn));
        };
        let mut changes = Vec::new();
        let mut mods = Vec::new();
        let mut later = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let before = entry.watermark;
            let after = new.state.marks.get(index).copied().flatten();
            if after == before {
                continue;
            }
            let Some(after) = after else {
                return Err(unsupported("a cleared watermark"));
            };
            let cas = compare_and_swap(
                entry.slot.watermark_attr(),
                entry.raw.watermark.as_deref(),
                after.to_string(),
            );
            if index == 0 {
                mods.extend(cas);
            } else {
                later.push(EntryChange {
                    dn: entry.dn.clone(),
                    mods: cas,
                });
            }
        }
        let count = new.state.checks.len();
        mods.extend(compare_and_swap(
            attr::FAILURE_COUNT,
            state.raw.failure_count.as_deref(),
            count.to_string(),
        ));
        if let Some(&newest) = new.state.checks.iter().max() {
            // Never moved back: a time written by a host whose clock is ahead stays, so that
            // that host still counts these checks (unless it is too far ahead to be real).
            let kept = state
                .last_failure
                .filter(|old| *old > newest && *old <= newest.saturating_add(MAX_FAILURE_AHEAD));
            mods.extend(compare_and_swap(
                attr::LAST_FAILURE,
                state.raw.last_failure.as_deref(),
                generalized_time::format(kept.unwrap_or(newest)),
            ));
        }
        for (raw, code) in state.raw.recovery.iter().zip(&state.recovery) {
            if !new.recovery.contains(code) {
                mods.push(Mod::Delete(
                    attr::RECOVERY_CODE.to_string(),
                    HashSet::from([raw.clone()]),
                ));
            }
        }
        changes.push(EntryChange {
            dn: state.dn.clone(),
            mods,
        });
        changes.extend(later);
        Ok(changes)
    }
}

/// `oathFailureCount` copies of `at` (none without a time or a count).
fn rebuilt_checks(state: &TokenEntry, at: Option<u64>) -> Vec<u64> {
    match at {
        Some(at) if state.failure_count > 0 => {
            let n = state.failure_count.min(MAX_REBUILT_CHECKS);
            vec![at; usize::try_from(n).unwrap_or(0)]
        }
        _ => Vec::new(),
    }
}

/// Delete `old` (when there is one) and add `new`: a compare-and-swap of a single-valued
/// attribute within one modify.
fn compare_and_swap(name: &str, old: Option<&str>, new: String) -> Vec<Mod<String>> {
    let mut mods = Vec::with_capacity(2);
    if let Some(old) = old {
        mods.push(Mod::Delete(
            name.to_string(),
            HashSet::from([old.to_string()]),
        ));
    }
    mods.push(Mod::Add(name.to_string(), HashSet::from([new])));
    mods
}

fn malformed(entry: &Entry, attribute: &str, value: &str, problem: &str) -> DirectoryError {
    DirectoryError::Malformed {
        attribute: attribute.to_string(),
        value: if value.is_empty() {
            String::new()
        } else {
            format!("={}", shown_value(value.as_bytes()))
        },
        dn: shown_dn(&entry.dn),
        problem: problem.to_string(),
    }
}

/// The one value of a single-valued attribute as raw text; None when absent.
fn single_raw(entry: &Entry, name: &str) -> Result<Option<String>, DirectoryError> {
    match entry.values(name) {
        [] => Ok(None),
        [one] => std::str::from_utf8(one)
            .map(|t| Some(t.to_string()))
            .map_err(|_| malformed(entry, name, "", "is not text")),
        _ => Err(malformed(entry, name, "", "has several values")),
    }
}

/// As [`single_raw`], trimmed and not empty.
fn single_text(entry: &Entry, name: &str) -> Result<Option<String>, DirectoryError> {
    match single_raw(entry, name)? {
        Some(text) if text.trim().is_empty() => Err(malformed(entry, name, "", "is empty")),
        Some(text) => Ok(Some(text.trim().to_string())),
        None => Ok(None),
    }
}

/// The one value of a single-valued number attribute; None when absent.
fn single_number(entry: &Entry, name: &str) -> Result<Option<u64>, DirectoryError> {
    single_raw(entry, name)?
        .map(|raw| decimal(entry, name, &raw))
        .transpose()
}

/// A decimal number without sign (at most 19 digits, so it fits an i64 as LDAP integers do).
fn decimal(entry: &Entry, name: &str, raw: &str) -> Result<u64, DirectoryError> {
    let ok = !raw.is_empty() && raw.len() <= 19 && raw.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| raw.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| malformed(entry, name, raw, "not a decimal number from 0"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pam_totp_core::rate_limit;

    const KEY: &[u8] = b"12345678901234567890";
    const SALT: [u8; 16] = [7; 16];

    fn code(n: u8) -> RecoveryHash {
        RecoveryHash::new([n; 16], &format!("abcde-fghj{n}")).unwrap()
    }

    fn token_entry(dn: &str, state: &[(&str, &[&[u8]])]) -> Entry {
        let mut attrs: Vec<(&str, &[&[u8]])> = vec![
            ("objectClass", &[b"device", b"oathTOTPToken"]),
            ("oathSecret", &[KEY]),
            ("oathTOTPParams", &[b"cn=p,ou=params"]),
        ];
        attrs.extend_from_slice(state);
        Entry::new(dn, &attrs)
    }

    fn params(digits: &[u8], oid: &[u8], period: &[u8]) -> Entry {
        Entry::new(
            "cn=p,ou=params",
            &[
                ("objectClass", &[b"device", b"oathTOTPParams"]),
                ("oathOTPLength", &[digits]),
                ("oathHMACAlgorithm", &[oid]),
                ("oathTOTPTimeStepPeriod", &[period]),
            ],
        )
    }

    fn user() -> UserEntry {
        UserEntry {
            dn: "uid=alice,ou=people".into(),
            totp_token: Some("cn=phone,ou=tokens".into()),
            hotp_token: None,
            entry: Entry::default(),
        }
    }

    #[test]
    fn a_token_entry_is_read() {
        let salt_code = RecoveryHash::new(SALT, "abcde-fghjk").unwrap().encode();
        let entry = token_entry(
            "cn=phone,ou=tokens",
            &[
                ("oathTOTPLastTimeStep", &[b"59870647"]),
                ("oathFailureCount", &[b"2"]),
                ("oathLastFailure", &[b"20261201120000Z"]),
                ("pamTotpRecoveryCode", &[salt_code.as_bytes()]),
            ],
        );
        let t = parse_token(
            "id",
            &entry,
            &params(b"6", oid::SHA1.as_bytes(), b"30"),
            Slot::Totp,
        )
        .unwrap();
        assert_eq!(t.token.name, "phone");
        assert_eq!(t.token.period(), Some(30));
        assert_eq!(t.token.secret.as_bytes(), KEY);
        assert_eq!(t.watermark, Some(59_870_647));
        assert_eq!(t.failure_count, 2);
        assert_eq!(t.last_failure, generalized_time::parse("20261201120000Z"));
        assert_eq!(t.recovery.len(), 1);
        // Neither the key nor the recovery code's hash in Debug.
        let shown = format!("{t:?}");
        assert!(
            !shown.contains(&salt_code)
                && !shown.contains("sha256$")
                && !shown.contains("1234567890"),
            "{shown}"
        );
        let tokens = UserTokens {
            user: user(),
            totp: Some(t),
            hotp: None,
        };
        let file = tokens.to_secret_file().unwrap();
        assert_eq!(file.state.marks, vec![Some(59_870_647)]);
        assert_eq!(file.state.checks, vec![t_of("20261201120000Z"); 2]);
        assert_eq!(file.first_token().name, "phone");
    }

    fn t_of(text: &str) -> u64 {
        generalized_time::parse(text).unwrap()
    }

    #[test]
    fn malformed_values_are_refused_with_the_attribute_and_dn() {
        let entry = token_entry("cn=phone,ou=tokens", &[]);
        let cases: Vec<(Entry, Entry, &str)> = vec![
            (
                entry.clone(),
                params(b"7", oid::SHA1.as_bytes(), b"30"),
                "oathOTPLength=7",
            ),
            (
                entry.clone(),
                params(b"6", b"1.2.840.113549.2.8", b"30"),
                "oathHMACAlgorithm=1.2.840.113549.2.8",
            ),
            (
                entry.clone(),
                params(b"6", oid::SHA1.as_bytes(), b"0"),
                "oathTOTPTimeStepPeriod=0",
            ),
            (
                entry.clone(),
                params(b"6", oid::SHA1.as_bytes(), b"86401"),
                "oathTOTPTimeStepPeriod=86401",
            ),
            (
                token_entry("cn=x", &[("oathTOTPLastTimeStep", &[b"-1"])]),
                params(b"6", oid::SHA1.as_bytes(), b"30"),
                "oathTOTPLastTimeStep=-1",
            ),
            (
                token_entry("cn=x", &[("oathTOTPLastTimeStep", &[b"12a"])]),
                params(b"6", oid::SHA1.as_bytes(), b"30"),
                "oathTOTPLastTimeStep=12a",
            ),
            (
                token_entry("cn=x", &[("oathFailureCount", &[b"1", b"2"])]),
                params(b"6", oid::SHA1.as_bytes(), b"30"),
                "oathFailureCount of",
            ),
            (
                token_entry("cn=x", &[("oathLastFailure", &[b"2026"])]),
                params(b"6", oid::SHA1.as_bytes(), b"30"),
                "oathLastFailure=2026",
            ),
            (
                token_entry("cn=x", &[("pamTotpRecoveryCode", &[b"plain"])]),
                params(b"6", oid::SHA1.as_bytes(), b"30"),
                "value 1 is not",
            ),
        ];
        for (entry, params, wanted) in cases {
            let err = parse_token("id", &entry, &params, Slot::Totp).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, DirectoryError::Malformed { .. }), "{text}");
            assert!(
                text.contains(wanted) && text.contains("is not usable"),
                "{wanted}: {text}"
            );
        }
        // A short key: the message says so, never shows the key.
        let short = Entry::new(
            "cn=x",
            &[("oathSecret", &[b"short"]), ("oathTOTPParams", &[b"cn=p"])],
        );
        let text = parse_token(
            "id",
            &short,
            &params(b"6", oid::SHA1.as_bytes(), b"30"),
            Slot::Totp,
        )
        .unwrap_err()
        .to_string();
        assert!(
            text.contains("oathSecret of") && !text.contains("short"),
            "{text}"
        );
        // No key in the result: an ACL that hides it.
        let hidden = Entry::new("cn=x", &[("oathTOTPParams", &[b"cn=p"])]);
        let err = parse_token(
            "bind_dn=cn=svc",
            &hidden,
            &params(b"6", oid::SHA1.as_bytes(), b"30"),
            Slot::Totp,
        )
        .unwrap_err();
        assert!(matches!(err, DirectoryError::AccessDenied { .. }), "{err}");
        assert!(err.to_string().contains("fix the directory's ACL"), "{err}");
    }

    #[test]
    fn names_come_from_the_rdn() {
        assert_eq!(
            token_name("cn=default,uid=alice,ou=people", Slot::Totp),
            "default"
        );
        assert_eq!(token_name("CN = yubi-5 ,ou=tokens", Slot::Hotp), "yubi-5");
        assert_eq!(token_name("cn=a b,ou=tokens", Slot::Totp), "totp");
        assert_eq!(
            token_name("oathTokenIdentifier=x,ou=tokens", Slot::Hotp),
            "hotp"
        );
        assert_eq!(token_name("cn=a+sn=b,ou=t", Slot::Hotp), "hotp");
    }

    fn both(totp_watermark: Option<&[u8]>, hotp_counter: Option<&[u8]>) -> UserTokens {
        let mut totp_state: Vec<(&str, &[&[u8]])> = vec![
            ("oathFailureCount", &[b"1"]),
            ("oathLastFailure", &[b"20261201120000Z"]),
        ];
        let tw;
        if let Some(w) = totp_watermark {
            tw = [w];
            totp_state.push(("oathTOTPLastTimeStep", &tw));
        }
        let code1 = code(1).encode();
        let code2 = code(2).encode();
        let codes: [&[u8]; 2] = [code1.as_bytes(), code2.as_bytes()];
        totp_state.push(("pamTotpRecoveryCode", &codes));
        let totp = parse_token(
            "id",
            &token_entry("cn=default,ou=tokens", &totp_state),
            &params(b"6", oid::SHA1.as_bytes(), b"30"),
            Slot::Totp,
        )
        .unwrap();
        let hc;
        let mut hotp_attrs: Vec<(&str, &[&[u8]])> = vec![
            ("oathSecret", &[b"abcdefghijklmnopqrst"]),
            ("oathHOTPParams", &[b"cn=h,ou=params"]),
        ];
        if let Some(c) = hotp_counter {
            hc = [c];
            hotp_attrs.push(("oathHOTPCounter", &hc));
        }
        let hotp_params = Entry::new(
            "cn=h,ou=params",
            &[
                ("oathOTPLength", &[b"8"]),
                ("oathHMACAlgorithm", &[oid::SHA256.as_bytes()]),
                ("oathHOTPLookAhead", &[b"5"]),
            ],
        );
        let hotp = parse_token(
            "id",
            &Entry::new("cn=default,ou=hotp", &hotp_attrs),
            &hotp_params,
            Slot::Hotp,
        )
        .unwrap();
        UserTokens {
            user: UserEntry {
                hotp_token: Some("cn=default,ou=hotp".into()),
                ..user()
            },
            totp: Some(totp),
            hotp: Some(hotp),
        }
    }

    fn set(value: &str) -> HashSet<String> {
        HashSet::from([value.to_string()])
    }

    #[test]
    fn a_save_is_one_compare_and_swap_on_the_state_entry() {
        let tokens = both(Some(b"100"), None);
        let old = tokens.to_secret_file().unwrap();
        // Same names on both entries: the HOTP token is renamed.
        let names: Vec<&str> = old.tokens().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["default", "hotp"]);
        let mut new = old.clone();
        let limit = pam_totp_core::params::DEFAULT_RATE_LIMIT;
        let now = t_of("20261201120010Z");
        rate_limit::record(&mut new.state.checks, limit, now);
        new.set_mark(0, 105);
        new.recovery.retain(|c| *c != code(2));
        let changes = tokens.changes(&new).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].dn, "cn=default,ou=tokens");
        assert_eq!(
            changes[0].mods,
            vec![
                Mod::Delete("oathTOTPLastTimeStep".into(), set("100")),
                Mod::Add("oathTOTPLastTimeStep".into(), set("105")),
                Mod::Delete("oathFailureCount".into(), set("1")),
                Mod::Add("oathFailureCount".into(), set("2")),
                Mod::Delete("oathLastFailure".into(), set("20261201120000Z")),
                Mod::Add("oathLastFailure".into(), set("20261201120010Z")),
                Mod::Delete("pamTotpRecoveryCode".into(), set(&code(2).encode())),
            ]
        );
    }

    #[test]
    fn the_hotp_counter_of_a_user_with_both_is_a_second_change() {
        let tokens = both(None, None);
        let mut new = tokens.to_secret_file().unwrap();
        new.state.checks = vec![1000];
        new.set_mark(1, 7);
        let changes = tokens.changes(&new).unwrap();
        assert_eq!(changes.len(), 2);
        assert_eq!(
            changes[0].mods,
            vec![
                Mod::Delete("oathFailureCount".into(), set("1")),
                Mod::Add("oathFailureCount".into(), set("1")),
                Mod::Delete("oathLastFailure".into(), set("20261201120000Z")),
                Mod::Add(
                    "oathLastFailure".into(),
                    set(&generalized_time::format(1000))
                ),
            ]
        );
        assert_eq!(changes[1].dn, "cn=default,ou=hotp");
        assert_eq!(
            changes[1].mods,
            vec![Mod::Add("oathHOTPCounter".into(), set("7"))]
        );
    }

    #[test]
    fn a_failure_time_ahead_of_this_clock_counts_and_stays() {
        let tokens = both(Some(b"100"), None);
        let at = t_of("20261201120000Z");
        assert_eq!(tokens.checks_at(at + 5), vec![at]);
        // Another host's clock is 100 s ahead: its failure counts here, at this clock's time.
        assert_eq!(tokens.checks_at(at - 100), vec![at - 100]);
        // Too far ahead to be real: counts nothing.
        assert_eq!(
            tokens.checks_at(at - MAX_FAILURE_AHEAD - 1),
            Vec::<u64>::new()
        );
        // The check saved by the host behind keeps the time written by the host ahead.
        let mut new = tokens.to_secret_file().unwrap();
        new.state.checks = tokens.checks_at(at - 100);
        rate_limit::record(
            &mut new.state.checks,
            pam_totp_core::params::DEFAULT_RATE_LIMIT,
            at - 100,
        );
        let changes = tokens.changes(&new).unwrap();
        assert!(changes[0]
            .mods
            .contains(&Mod::Add("oathLastFailure".into(), set("20261201120000Z"))));
        assert!(changes[0]
            .mods
            .contains(&Mod::Add("oathFailureCount".into(), set("2"))));
    }

    #[test]
    fn only_login_state_is_saved() {
        let tokens = both(Some(b"100"), Some(b"3"));
        let old = tokens.to_secret_file().unwrap();
        let mut added = old.clone();
        added.recovery.push(code(9));
        let mut renamed = old.clone();
        renamed.first_token_mut().name = "other".into();
        let mut cleared = old.clone();
        cleared.state.marks[1] = None;
        for (new, what) in [
            (added, "new recovery codes"),
            (renamed, "changed tokens"),
            (cleared, "cleared"),
        ] {
            let err = tokens.changes(&new).unwrap_err().to_string();
            assert!(
                err.contains(what) && err.contains("totp-enroll --store ldap"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_hidden_totp_reference_is_not_a_user_without_tokens() {
        let user = |attrs: &[(&str, &[&[u8]])], totp: Option<&str>, hotp: Option<&str>| UserEntry {
            dn: "uid=alice,ou=people".into(),
            totp_token: totp.map(str::to_string),
            hotp_token: hotp.map(str::to_string),
            entry: Entry::new("uid=alice,ou=people", attrs),
        };
        let totp_class: &[&[u8]] = &[b"inetOrgPerson", b"oathTOTPUser"];
        let both_classes: &[&[u8]] = &[b"inetOrgPerson", b"oathTOTPUser", b"oathHOTPUser"];
        let other_class: &[&[u8]] = &[b"inetOrgPerson", b"someOtherOathUser"];
        // oathTOTPToken is a MUST of oathTOTPUser: missing from the result, an ACL hides it.
        let hidden = user(&[("objectClass", totp_class)], None, None);
        let err = check_references("bind_dn=cn=svc", &hidden).unwrap_err();
        assert!(matches!(err, DirectoryError::AccessDenied { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("read oathTOTPToken of uid=alice,ou=people")
                && text.contains("fix the directory's ACL"),
            "{text}"
        );
        // TOTP visible: a TOTP user; oathHOTPUser without its (optional) reference.
        let half = user(&[("objectClass", both_classes)], Some("cn=t"), None);
        assert!(check_references("id", &half).is_ok());
        let hotp_only_class: &[&[u8]] = &[b"inetOrgPerson", b"oathHOTPUser"];
        assert!(
            check_references("id", &user(&[("objectClass", hotp_only_class)], None, None)).is_ok()
        );
        // Classes not visible and no reference: cannot be told apart.
        let blind = user(&[], None, None);
        assert!(check_references("id", &blind)
            .unwrap_err()
            .to_string()
            .contains("read objectClass"));
        // Visibly without a user class and without references: without tokens.
        assert!(check_references("id", &user(&[("objectClass", other_class)], None, None)).is_ok());
        assert!(check_references(
            "id",
            &user(&[("objectClass", both_classes)], Some("a"), Some("b"))
        )
        .is_ok());
        assert!(check_references("id", &user(&[], Some("a"), None)).is_ok());
    }

    #[test]
    fn oids() {
        for a in [Algorithm::SHA1, Algorithm::SHA256, Algorithm::SHA512] {
            assert_eq!(algorithm_of_oid(oid_of(a)), Some(a));
        }
        assert_eq!(algorithm_of_oid("1.2.840.113549.2.10"), None);
    }
}
