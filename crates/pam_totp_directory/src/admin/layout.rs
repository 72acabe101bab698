//! Where `totp-enroll --store ldap` puts a user's entries and what they hold: the token entry
//! `cn=<token name>,<user DN>` (`device` + `oathTOTPToken`/`oathHOTPToken`, with pam_totp's
//! `pamTotpRecovery` on the entry that keeps the login state) and below it the parameters entry
//! `cn=params,cn=<token name>,<user DN>` (`device` + `oathTOTPParams`/`oathHOTPParams`), so
//! that everything of one enrollment lives under the user's entry and goes with it. Names of
//! attributes and classes are [`crate::entries::attr`]'s.

use crate::entries::{attr, oid_of, Slot};
use crate::generalized_time;
use pam_totp_core::params::{DEFAULT_HOTP_WINDOW, DEFAULT_WINDOW};
use pam_totp_core::recovery::RecoveryHash;
use pam_totp_core::token::{Token, TokenKind};
use std::collections::HashSet;
use zeroize::Zeroizing;

/// The RDN value of every parameters entry (below its token entry).
pub const PARAMS_CN: &str = "params";

/// The slot a token of `kind` goes in.
pub fn slot_of(kind: TokenKind) -> Slot {
    match kind {
        TokenKind::Totp { .. } => Slot::Totp,
        TokenKind::Hotp => Slot::Hotp,
    }
}

/// The user entry's auxiliary class for a token in `slot` (`oathTOTPUser`).
pub fn user_class(slot: Slot) -> &'static str {
    match slot {
        Slot::Totp => attr::TOTP_USER_CLASS,
        Slot::Hotp => attr::HOTP_USER_CLASS,
    }
}

/// "TOTP" or "HOTP", for messages.
pub fn label(slot: Slot) -> &'static str {
    match slot {
        Slot::Totp => "TOTP",
        Slot::Hotp => "HOTP",
    }
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

/// Attribute values as bytes, for an entry to add or a modify.
pub(super) fn values<I: IntoIterator<Item = S>, S: AsRef<[u8]>>(items: I) -> HashSet<Vec<u8>> {
    items.into_iter().map(|s| s.as_ref().to_vec()).collect()
}

fn one(value: &str) -> HashSet<Vec<u8>> {
    values([value])
}

/// An attribute name as bytes.
pub(super) fn name(attr: &str) -> Vec<u8> {
    attr.as_bytes().to_vec()
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

/// The token entry of `token` named `cn=<token.name>`, with parameters entry `params_dn`:
/// its key, `mark` as the watermark (the first code's step or counter, so that it cannot be
/// used again), `created` (Unix time) as `oathSecretTime`, and, when `recovery` is given (the
/// entry that keeps the login state), pam_totp's recovery class and the codes' hashes.
pub fn token_entry(
    token: &Token,
    params_dn: &str,
    mark: Option<u64>,
    created: u64,
    recovery: Option<&[RecoveryHash]>,
) -> Zeroizing<AttributesBox> {
    let slot = slot_of(token.kind);
    let mut classes = vec![name("device"), name(slot.token_attr())];
    if recovery.is_some() {
        classes.push(name(attr::RECOVERY_CLASS));
    }
    let mut attrs: Attributes = vec![
        (name("objectClass"), values(classes)),
        (name("cn"), one(&token.name)),
        (name(slot.params_attr()), one(params_dn)),
        (name(attr::SECRET), values([token.secret.as_bytes()])),
        (
            name(attr::SECRET_TIME),
            one(&generalized_time::format(created)),
        ),
    ];
    if let Some(mark) = mark {
        attrs.push((name(slot.watermark_attr()), one(&mark.to_string())));
    }
    if let Some(hashes) = recovery.filter(|h| !h.is_empty()) {
        attrs.push((
            name(attr::RECOVERY_CODE),
            values(hashes.iter().map(RecoveryHash::encode)),
        ));
    }
    Zeroizing::new(AttributesBox(attrs))
}

/// The parameters entry of `token`: digits, algorithm (OID), and for TOTP the period and
/// pam_totp's default window, for HOTP the look-ahead that matches pam_totp's default
/// `hotp_window=` (slapo-otp tries look-ahead + 1 counters). pam_totp's own `window=` and
/// `hotp_window=` rule its logins; these values are what slapd's binds use.
pub fn params_entry(token: &Token) -> Attributes {
    let slot = slot_of(token.kind);
    let mut attrs: Attributes = vec![
        (
            name("objectClass"),
            values([name("device"), name(slot.params_attr())]),
        ),
        (name("cn"), one(PARAMS_CN)),
        (name(attr::OTP_LENGTH), one(&token.digits.to_string())),
        (name(attr::HMAC_ALGORITHM), one(oid_of(token.algorithm))),
    ];
    match token.kind {
        TokenKind::Totp { period } => {
            attrs.push((name(attr::TOTP_PERIOD), one(&period.to_string())));
            attrs.push((name(attr::TOTP_WINDOW), one(&DEFAULT_WINDOW.to_string())));
        }
        TokenKind::Hotp => attrs.push((
            name(attr::HOTP_LOOK_AHEAD),
            one(&DEFAULT_HOTP_WINDOW.saturating_sub(1).to_string()),
        )),
    }
    attrs
}

#[cfg(test)]
mod tests {
    use super::*;
    use pam_totp_core::params::Algorithm;
    use pam_totp_core::secret::TotpSecret;

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

    fn value(attrs: &Attributes, name: &str) -> Vec<String> {
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
    }

    #[test]
    fn entries_hold_what_slapo_otp_needs() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
        let totp = Token::totp("default", secret.clone(), Algorithm::SHA256, 8, 60);
        let params = params_entry(&totp);
        assert_eq!(value(&params, "objectClass"), ["device", "oathTOTPParams"]);
        assert_eq!(value(&params, "oathOTPLength"), ["8"]);
        assert_eq!(value(&params, "oathHMACAlgorithm"), ["1.2.840.113549.2.9"]);
        assert_eq!(value(&params, "oathTOTPTimeStepPeriod"), ["60"]);
        assert_eq!(value(&params, "oathTOTPTimeStepWindow"), ["1"]);
        let entry = token_entry(&totp, "cn=p", Some(7), 0, Some(&[]));
        assert_eq!(
            value(&entry.0, "objectClass"),
            ["device", "oathTOTPToken", "pamTotpRecovery"]
        );
        assert_eq!(value(&entry.0, "oathSecret"), ["12345678901234567890"]);
        assert_eq!(value(&entry.0, "oathTOTPParams"), ["cn=p"]);
        assert_eq!(value(&entry.0, "oathTOTPLastTimeStep"), ["7"]);
        assert_eq!(value(&entry.0, "oathSecretTime"), ["19700101000000Z"]);
        assert!(value(&entry.0, "pamTotpRecoveryCode").is_empty());
        let hotp = Token::hotp("fob", secret, Algorithm::SHA1, 6);
        let params = params_entry(&hotp);
        assert_eq!(value(&params, "objectClass"), ["device", "oathHOTPParams"]);
        assert_eq!(value(&params, "oathHMACAlgorithm"), ["1.2.840.113549.2.7"]);
        assert_eq!(value(&params, "oathHOTPLookAhead"), ["9"]);
        let entry = token_entry(&hotp, "cn=p", None, 0, None);
        assert_eq!(value(&entry.0, "objectClass"), ["device", "oathHOTPToken"]);
        assert!(value(&entry.0, "oathHOTPCounter").is_empty());
    }
}
