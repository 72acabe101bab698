//! Where `totp-enroll --store ldap` puts a user's entries and what they hold: the token entry
//! `cn=<token name>,<user DN>` (`device` + `oathTOTPToken`/`oathHOTPToken`, with pam_totp's
//! `pamTotpRecovery` on the entry that keeps the login state) and below it the parameters entry
//! `cn=params,cn=<token name>,<user DN>` (`device` + `oathTOTPParams`/`oathHOTPParams`), so
//! that everything of one enrollment lives under the user's entry and goes with it.

use pam_totp_core::params::{Algorithm, DEFAULT_HOTP_WINDOW, DEFAULT_WINDOW};
use pam_totp_core::recovery::RecoveryHash;
use pam_totp_core::token::{Token, TokenKind};
use std::collections::HashSet;
use toml::value::Datetime;
use zeroize::Zeroizing;

/// The RDN value of every parameters entry (below its token entry).
pub const PARAMS_CN: &str = "params";
/// pam_totp's auxiliary class for recovery codes (packaging/ldap/pam_totp.schema).
pub const RECOVERY_CLASS: &str = "pamTotpRecovery";
/// Its multi-valued attribute: one `sha256$salt$hash` per unused recovery code.
pub const RECOVERY_ATTR: &str = "pamTotpRecoveryCode";

/// The OATH-LDAP names that differ between the two kinds of token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindNames {
    /// "TOTP" or "HOTP", for messages.
    pub label: &'static str,
    /// The user entry's auxiliary class (`oathTOTPUser`).
    pub user_class: &'static str,
    /// The user entry's reference to the token entry (`oathTOTPToken`).
    pub user_ref: &'static str,
    /// The token entry's class (`oathTOTPToken`).
    pub token_class: &'static str,
    /// The token entry's reference to its parameters entry (`oathTOTPParams`).
    pub params_ref: &'static str,
    /// The parameters entry's class (`oathTOTPParams`).
    pub params_class: &'static str,
    /// The token entry's watermark (`oathTOTPLastTimeStep`).
    pub watermark: &'static str,
}

/// TOTP's names.
pub const TOTP: KindNames = KindNames {
    label: "TOTP",
    user_class: "oathTOTPUser",
    user_ref: "oathTOTPToken",
    token_class: "oathTOTPToken",
    params_ref: "oathTOTPParams",
    params_class: "oathTOTPParams",
    watermark: "oathTOTPLastTimeStep",
};

/// HOTP's names.
pub const HOTP: KindNames = KindNames {
    label: "HOTP",
    user_class: "oathHOTPUser",
    user_ref: "oathHOTPToken",
    token_class: "oathHOTPToken",
    params_ref: "oathHOTPParams",
    params_class: "oathHOTPParams",
    watermark: "oathHOTPCounter",
};

/// The names of `kind`.
pub fn names(kind: TokenKind) -> KindNames {
    match kind {
        TokenKind::Totp { .. } => TOTP,
        TokenKind::Hotp => HOTP,
    }
}

/// The OID slapo-otp knows `algorithm` by (RFC 8018's HMAC identifiers).
pub fn algorithm_oid(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::SHA1 => "1.2.840.113549.2.7",
        Algorithm::SHA256 => "1.2.840.113549.2.9",
        Algorithm::SHA512 => "1.2.840.113549.2.11",
    }
}

/// The algorithm of an OID pam_totp supports (SHA-224 and SHA-384 it does not).
pub fn algorithm_of_oid(oid: &str) -> Option<Algorithm> {
    [Algorithm::SHA1, Algorithm::SHA256, Algorithm::SHA512]
        .into_iter()
        .find(|a| algorithm_oid(*a) == oid.trim())
}

/// The DN of token `name`'s entry below the user's entry.
pub fn token_dn(name: &str, user_dn: &str) -> String {
    format!("cn={},{user_dn}", ldap3::dn_escape(name))
}

/// The DN of the parameters entry below token entry `token_dn`.
pub fn params_dn(token_dn: &str) -> String {
    format!("cn={PARAMS_CN},{token_dn}")
}

/// True when `dn` lies below `parent` (compared without regard to case or spaces after
/// commas: DNs the directory returns may be written differently from ours).
pub fn is_below(dn: &str, parent: &str) -> bool {
    let (dn, parent) = (normal_dn(dn), normal_dn(parent));
    dn.len() > parent.len() && dn.ends_with(&format!(",{parent}"))
}

/// Same DN, in the same loose sense as [`is_below`].
pub fn same_dn(a: &str, b: &str) -> bool {
    normal_dn(a) == normal_dn(b)
}

fn normal_dn(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| rdn.trim().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(",")
}

/// An entry to add: attribute names and values (bytes: `oathSecret` is binary).
pub type Attributes = Vec<(Vec<u8>, HashSet<Vec<u8>>)>;

fn set<I: IntoIterator<Item = Vec<u8>>>(values: I) -> HashSet<Vec<u8>> {
    values.into_iter().collect()
}

fn one(value: &str) -> HashSet<Vec<u8>> {
    set([value.as_bytes().to_vec()])
}

/// The token entry of `token` named `cn=<token.name>`, with parameters entry `params_dn`:
/// its key, `mark` as the watermark (the first code's step or counter, so it cannot be used
/// again), `created` as `oathSecretTime`, and, when `recovery` is given (the entry that keeps
/// the login state), the recovery codes' hashes as stored (see [`encode_recovery`]). The key bytes are wiped when the returned
/// attributes are dropped.
pub fn token_entry(
    token: &Token,
    params_dn: &str,
    mark: Option<u64>,
    created: Option<&Datetime>,
    recovery: Option<&[String]>,
) -> Zeroizing<AttributesBox> {
    let kind = names(token.kind);
    let mut classes = vec![b"device".to_vec(), kind.token_class.as_bytes().to_vec()];
    if recovery.is_some() {
        classes.push(RECOVERY_CLASS.as_bytes().to_vec());
    }
    let mut attrs: Attributes = vec![
        (b"objectClass".to_vec(), set(classes)),
        (b"cn".to_vec(), one(&token.name)),
        (kind.params_ref.as_bytes().to_vec(), one(params_dn)),
        (
            b"oathSecret".to_vec(),
            set([token.secret.as_bytes().to_vec()]),
        ),
    ];
    if let Some(mark) = mark {
        attrs.push((kind.watermark.as_bytes().to_vec(), one(&mark.to_string())));
    }
    if let Some(created) = created.and_then(generalized_time) {
        attrs.push((b"oathSecretTime".to_vec(), one(&created)));
    }
    if let Some(hashes) = recovery.filter(|h| !h.is_empty()) {
        attrs.push((
            RECOVERY_ATTR.as_bytes().to_vec(),
            set(hashes.iter().map(|h| h.as_bytes().to_vec())),
        ));
    }
    Zeroizing::new(AttributesBox(attrs))
}

/// Recovery code hashes as `pamTotpRecoveryCode` values.
pub fn encode_recovery(hashes: &[RecoveryHash]) -> Vec<String> {
    hashes.iter().map(RecoveryHash::encode).collect()
}

/// [`Attributes`] that wipe every value (the key among them) when dropped.
#[derive(Debug, Default)]
pub struct AttributesBox(pub Attributes);

impl zeroize::Zeroize for AttributesBox {
    fn zeroize(&mut self) {
        for (_, values) in self.0.drain(..) {
            for mut value in values {
                value.zeroize();
            }
        }
    }
}

/// The parameters entry of `token`: digits, algorithm (OID), and for TOTP the period and
/// pam_totp's default window, for HOTP the look-ahead that matches pam_totp's default
/// `hotp_window=` (slapo-otp tries look-ahead + 1 counters). pam_totp's own `window=` and
/// `hotp_window=` rule its logins; these values are what slapd's binds use.
pub fn params_entry(token: &Token) -> Attributes {
    let kind = names(token.kind);
    let mut attrs: Attributes = vec![
        (
            b"objectClass".to_vec(),
            set([b"device".to_vec(), kind.params_class.as_bytes().to_vec()]),
        ),
        (b"cn".to_vec(), one(PARAMS_CN)),
        (b"oathOTPLength".to_vec(), one(&token.digits.to_string())),
        (
            b"oathHMACAlgorithm".to_vec(),
            one(algorithm_oid(token.algorithm)),
        ),
    ];
    match token.kind {
        TokenKind::Totp { period } => {
            attrs.push((b"oathTOTPTimeStepPeriod".to_vec(), one(&period.to_string())));
            attrs.push((
                b"oathTOTPTimeStepWindow".to_vec(),
                one(&DEFAULT_WINDOW.to_string()),
            ));
        }
        TokenKind::Hotp => attrs.push((
            b"oathHOTPLookAhead".to_vec(),
            one(&DEFAULT_HOTP_WINDOW.saturating_sub(1).to_string()),
        )),
    }
    attrs
}

/// A TOML datetime (UTC) as LDAP GeneralizedTime, `YYYYMMDDHHMMSSZ`.
pub fn generalized_time(datetime: &Datetime) -> Option<String> {
    let text = datetime.to_string();
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    (text.ends_with('Z') && digits.len() == 14).then(|| format!("{digits}Z"))
}

/// GeneralizedTime `YYYYMMDDHHMMSS[.fraction]Z` as a TOML datetime (UTC, whole seconds); None
/// for any other form (an offset, no seconds).
pub fn datetime_of_generalized(text: &str) -> Option<Datetime> {
    let body = text.trim().strip_suffix('Z')?;
    let whole = body.split(['.', ',']).next()?;
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let p = |a: usize, b: usize| whole.get(a..b);
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        p(0, 4)?,
        p(4, 6)?,
        p(6, 8)?,
        p(8, 10)?,
        p(10, 12)?,
        p(12, 14)?
    )
    .parse()
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pam_totp_core::secret::TotpSecret;
    use pam_totp_core::secret_file::datetime_from_unix;

    #[test]
    fn oids_round_trip_and_unknown_ones_are_refused() {
        for a in [Algorithm::SHA1, Algorithm::SHA256, Algorithm::SHA512] {
            assert_eq!(algorithm_of_oid(algorithm_oid(a)), Some(a));
        }
        assert_eq!(algorithm_oid(Algorithm::SHA1), "1.2.840.113549.2.7");
        assert_eq!(algorithm_of_oid("1.2.840.113549.2.8"), None);
        assert_eq!(algorithm_of_oid("1.2.840.113549.2.10"), None);
    }

    #[test]
    fn generalized_time_round_trips() {
        let t = datetime_from_unix(1_796_119_433).unwrap();
        assert_eq!(generalized_time(&t).as_deref(), Some("20261201100353Z"));
        assert_eq!(datetime_of_generalized("20261201100353Z"), Some(t));
        assert_eq!(datetime_of_generalized("20261201100353.5Z"), Some(t));
        assert_eq!(datetime_of_generalized("20261201100353+0100"), None);
        assert_eq!(datetime_of_generalized("202612020823Z"), None);
    }

    #[test]
    fn dns_below_the_user() {
        let user = "uid=alice,ou=people,dc=example,dc=org";
        let token = token_dn("default", user);
        assert_eq!(token, "cn=default,uid=alice,ou=people,dc=example,dc=org");
        assert_eq!(
            params_dn(&token),
            "cn=params,cn=default,uid=alice,ou=people,dc=example,dc=org"
        );
        assert!(is_below(&params_dn(&token), user));
        assert!(is_below(
            "CN=x, UID=Alice,ou=People,dc=example,dc=org",
            user
        ));
        assert!(!is_below(user, user));
        assert!(!is_below(
            "cn=x,uid=alice2,ou=people,dc=example,dc=org",
            user
        ));
        assert!(same_dn("UID=alice, ou=people,dc=example,dc=org", user));
    }

    #[test]
    fn entries_hold_what_slapo_otp_needs() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
        let totp = Token::totp("default", secret.clone(), Algorithm::SHA256, 8, 60);
        let value = |attrs: &Attributes, name: &str| -> Vec<String> {
            let mut v: Vec<String> = attrs
                .iter()
                .find(|(n, _)| n == name.as_bytes())
                .map(|(_, v)| {
                    v.iter()
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .collect()
                })
                .unwrap_or_default();
            v.sort();
            v
        };
        let params = params_entry(&totp);
        assert_eq!(value(&params, "objectClass"), ["device", "oathTOTPParams"]);
        assert_eq!(value(&params, "oathOTPLength"), ["8"]);
        assert_eq!(value(&params, "oathHMACAlgorithm"), ["1.2.840.113549.2.9"]);
        assert_eq!(value(&params, "oathTOTPTimeStepPeriod"), ["60"]);
        assert_eq!(value(&params, "oathTOTPTimeStepWindow"), ["1"]);
        let created = datetime_from_unix(0).unwrap();
        let entry = token_entry(&totp, "cn=p", Some(7), Some(&created), Some(&[]));
        assert_eq!(
            value(&entry.0, "objectClass"),
            ["device", "oathTOTPToken", "pamTotpRecovery"]
        );
        assert_eq!(value(&entry.0, "oathSecret"), ["12345678901234567890"]);
        assert_eq!(value(&entry.0, "oathTOTPLastTimeStep"), ["7"]);
        assert_eq!(value(&entry.0, "oathSecretTime"), ["19700101000000Z"]);
        assert!(value(&entry.0, RECOVERY_ATTR).is_empty());
        let hotp = Token::hotp("fob", secret, Algorithm::SHA1, 6);
        let params = params_entry(&hotp);
        assert_eq!(value(&params, "objectClass"), ["device", "oathHOTPParams"]);
        assert_eq!(value(&params, "oathHOTPLookAhead"), ["9"]);
        let entry = token_entry(&hotp, "cn=p", None, None, None);
        assert_eq!(value(&entry.0, "objectClass"), ["device", "oathHOTPToken"]);
        assert!(value(&entry.0, "oathHOTPCounter").is_empty());
    }
}
