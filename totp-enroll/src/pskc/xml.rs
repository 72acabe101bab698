//! The walk over a PSKC document: `KeyContainer`, its `EncryptionKey` and `MACMethod`, and
//! each `KeyPackage`'s `Key`.

use crate::pskc::crypto::{aes128_cbc_decrypt, hmac_sha1_matches, DecryptError};
use crate::pskc::{
    PreSharedKey, PskcAlgorithm, PskcError, PskcFile, PskcKey, MAX_KEY_PACKAGES, MAX_SECRET_BYTES,
    MAX_XML_NODES,
};
use base64::Engine;
use pam_totp_core::algorithm::Algorithm;
use roxmltree::{Document, Node, ParsingOptions};
use zeroize::Zeroizing;

/// The PSKC namespace.
const PSKC_NS: &str = "urn:ietf:params:xml:ns:keyprov:pskc";
/// XML Encryption.
const XENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";
/// XML Signature.
const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// XML Encryption 1.1 (`DerivedKey`).
const XENC11_NS: &str = "http://www.w3.org/2009/xmlenc11#";
/// The one encryption algorithm supported.
const AES128_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
/// The one MAC algorithm supported.
const HMAC_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#hmac-sha1";
/// Key algorithms.
const ALGORITHM_HOTP: &str = "urn:ietf:params:xml:ns:keyprov:pskc:hotp";
/// See [`ALGORITHM_HOTP`].
const ALGORITHM_TOTP: &str = "urn:ietf:params:xml:ns:keyprov:pskc:totp";
/// See [`ALGORITHM_HOTP`].
const ALGORITHM_PIN: &str = "urn:ietf:params:xml:ns:keyprov:pskc:pin";
/// Characters of a file's text quoted in an error message.
const QUOTE_MAX_CHARS: usize = 64;

/// Reads the document `text`.
pub(super) fn read(text: &str, key: Option<&PreSharedKey>) -> Result<PskcFile, PskcError> {
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_XML_NODES,
        ..ParsingOptions::default()
    };
    let document =
        Document::parse_with_options(text, options).map_err(|e| PskcError::Xml(e.to_string()))?;
    let root = document.root_element();
    if !is(root, PSKC_NS, "KeyContainer") {
        return Err(PskcError::NotPskc);
    }
    if let Some(version) = root.attribute("Version").filter(|v| *v != "1.0") {
        return Err(PskcError::Version(quote(version)));
    }
    check_encryption_key(root)?;
    let mut secrets = Secrets {
        pre_shared: key,
        mac_method: child(root, PSKC_NS, "MACMethod"),
        mac_key: None,
    };
    let mut file = PskcFile {
        keys: Vec::new(),
        skipped_pin_keys: 0,
    };
    for (index, package) in children(root, PSKC_NS, "KeyPackage").enumerate() {
        if index == MAX_KEY_PACKAGES {
            return Err(PskcError::TooManyKeys);
        }
        match read_package(index + 1, package, &mut secrets)? {
            Some(key) => file.keys.push(key),
            None => file.skipped_pin_keys += 1,
        }
    }
    if file.keys.is_empty() {
        return Err(PskcError::NoKeys);
    }
    Ok(file)
}

/// Refuses what `EncryptionKey` may hold other than the name of a pre-shared key.
fn check_encryption_key(root: Node) -> Result<(), PskcError> {
    let Some(encryption_key) = child(root, PSKC_NS, "EncryptionKey") else {
        return Ok(());
    };
    for element in encryption_key.children().filter(Node::is_element) {
        if is(element, DS_NS, "KeyName") {
            continue;
        }
        let what = if is(element, XENC11_NS, "DerivedKey") {
            "passphrase-based encryption (xenc11:DerivedKey, PBKDF2)".to_string()
        } else if is(element, DS_NS, "X509Data") {
            "asymmetric encryption (ds:X509Data)".to_string()
        } else {
            format!("the encryption key {}", quote(element.tag_name().name()))
        };
        return Err(PskcError::Unsupported(what));
    }
    Ok(())
}

/// The pre-shared key and the file's MAC key, decrypted when first needed.
struct Secrets<'a, 'input> {
    /// `--key`.
    pre_shared: Option<&'a PreSharedKey>,
    /// The container's `MACMethod`.
    mac_method: Option<Node<'a, 'input>>,
    /// The decrypted `MACKey`.
    mac_key: Option<Zeroizing<Vec<u8>>>,
}

impl Secrets<'_, '_> {
    /// The secret in `encrypted` (an `EncryptedValue`), its `value_mac` checked first.
    fn decrypt(
        &mut self,
        place: &str,
        encrypted: Node,
        value_mac: Option<Node>,
    ) -> Result<Zeroizing<Vec<u8>>, PskcError> {
        let ciphertext = cipher_value(place, encrypted)?;
        let pre_shared = self.pre_shared.ok_or(PskcError::NeedsKey)?;
        let value_mac = value_mac.ok_or_else(|| PskcError::NoMac(place.to_string()))?;
        let value_mac = base64(place, value_mac, "ValueMAC")?;
        let mac_key = self.mac_key(place, pre_shared)?;
        if !hmac_sha1_matches(mac_key, &ciphertext, &value_mac) {
            return Err(PskcError::MacMismatch(place.to_string()));
        }
        aes128_cbc_decrypt(pre_shared.bytes(), &ciphertext)
            .map_err(|_| PskcError::Corrupt(place.to_string()))
    }

    /// The decrypted `MACKey` of the container's `MACMethod`.
    fn mac_key(&mut self, place: &str, pre_shared: &PreSharedKey) -> Result<&[u8], PskcError> {
        if self.mac_key.is_none() {
            let method = self
                .mac_method
                .ok_or_else(|| PskcError::NoMac(place.to_string()))?;
            let algorithm = method.attribute("Algorithm").unwrap_or_default();
            if algorithm != HMAC_SHA1 {
                return Err(PskcError::Unsupported(format!(
                    "the MAC algorithm {}",
                    quote(algorithm)
                )));
            }
            if child(method, PSKC_NS, "MACKeyReference").is_some() {
                return Err(PskcError::Unsupported(
                    "a MAC key given by reference (MACKeyReference)".to_string(),
                ));
            }
            let encrypted = child(method, PSKC_NS, "MACKey")
                .ok_or_else(|| PskcError::NoMac(place.to_string()))?;
            let ciphertext = cipher_value("MACMethod", encrypted)?;
            let mac_key =
                aes128_cbc_decrypt(pre_shared.bytes(), &ciphertext).map_err(|e| match e {
                    DecryptError::Padding => PskcError::WrongKey,
                    DecryptError::Length => PskcError::Invalid {
                        place: "MACMethod".to_string(),
                        what: "the length of MACKey's CipherValue",
                    },
                })?;
            self.mac_key = Some(mac_key);
        }
        Ok(self
            .mac_key
            .as_deref()
            .map(Vec::as_slice)
            .unwrap_or_default())
    }
}

/// The IV and ciphertext of an `EncryptedValue` or `MACKey` (AES-128-CBC only).
fn cipher_value(place: &str, encrypted: Node) -> Result<Vec<u8>, PskcError> {
    let method = child(encrypted, XENC_NS, "EncryptionMethod").ok_or(PskcError::Missing {
        place: place.to_string(),
        what: "xenc:EncryptionMethod",
    })?;
    let algorithm = method.attribute("Algorithm").unwrap_or_default();
    if algorithm != AES128_CBC {
        return Err(PskcError::Unsupported(format!(
            "the encryption algorithm {}",
            quote(algorithm)
        )));
    }
    let value = child(encrypted, XENC_NS, "CipherData")
        .and_then(|data| child(data, XENC_NS, "CipherValue"))
        .ok_or(PskcError::Missing {
            place: place.to_string(),
            what: "xenc:CipherData/xenc:CipherValue",
        })?;
    Ok(base64(place, value, "CipherValue")?.to_vec())
}

/// One `KeyPackage`; `None` for a PIN key.
fn read_package(
    number: usize,
    package: Node,
    secrets: &mut Secrets,
) -> Result<Option<PskcKey>, PskcError> {
    let key = child(package, PSKC_NS, "Key").ok_or_else(|| PskcError::Missing {
        place: format!("key package {number}"),
        what: "Key",
    })?;
    let id = key.attribute("Id").unwrap_or_default();
    let place = format!("key package {number} (Id {})", quote(id));
    let algorithm = match key.attribute("Algorithm") {
        Some(ALGORITHM_HOTP) => PskcAlgorithm::Hotp,
        Some(ALGORITHM_TOTP) => PskcAlgorithm::Totp,
        Some(ALGORITHM_PIN) => return Ok(None),
        Some(other) => {
            return Err(PskcError::Unsupported(format!(
                "{place}: the key algorithm {}",
                quote(other)
            )))
        }
        None => {
            return Err(PskcError::Missing {
                place,
                what: "the Key's Algorithm attribute",
            })
        }
    };
    let data = child(key, PSKC_NS, "Data");
    let secret = read_secret(&place, key, data, secrets)?;
    let serial = child(package, PSKC_NS, "DeviceInfo")
        .and_then(|info| child(info, PSKC_NS, "SerialNo"))
        .map(|serial| value_text(&place, serial, "SerialNo"))
        .transpose()?
        .map(|serial| serial.trim().to_string())
        .filter(|serial| !serial.is_empty());
    let user_id = child(key, PSKC_NS, "UserId")
        .map(|user_id| value_text(&place, user_id, "UserId"))
        .transpose()?
        .map(|user_id| user_id.trim().to_string())
        .filter(|user_id| !user_id.is_empty());
    let number_in = |name: &'static str| -> Result<Option<&str>, PskcError> {
        let Some(element) = data.and_then(|data| child(data, PSKC_NS, name)) else {
            return Ok(None);
        };
        if child(element, PSKC_NS, "EncryptedValue").is_some() {
            return Err(PskcError::Unsupported(format!(
                "{place}: an encrypted {name}"
            )));
        }
        let plain = child(element, PSKC_NS, "PlainValue").ok_or(PskcError::Missing {
            place: place.clone(),
            what: "a PlainValue",
        })?;
        Ok(Some(value_text(&place, plain, name)?.trim()))
    };
    let invalid = |what| PskcError::Invalid {
        place: place.clone(),
        what,
    };
    let counter = number_in("Counter")?
        .map(|text| text.parse::<u64>().map_err(|_| invalid("Counter")))
        .transpose()?;
    let time = number_in("Time")?
        .map(|text| text.parse::<u64>().map_err(|_| invalid("Time")))
        .transpose()?;
    let time_interval = number_in("TimeInterval")?
        .map(|text| {
            text.parse::<u64>()
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| invalid("TimeInterval"))
        })
        .transpose()?;
    let time_drift = number_in("TimeDrift")?
        .map(|text| text.parse::<i64>().map_err(|_| invalid("TimeDrift")))
        .transpose()?;
    Ok(Some(PskcKey {
        id: id.to_string(),
        serial,
        algorithm,
        key: secret,
        digits: read_digits(&place, key)?,
        counter,
        time,
        time_interval,
        time_drift,
        hash: read_suite(&place, key)?,
        user_id,
    }))
}

/// `Data/Secret`, plain or decrypted.
fn read_secret(
    place: &str,
    key: Node,
    data: Option<Node>,
    secrets: &mut Secrets,
) -> Result<Zeroizing<Vec<u8>>, PskcError> {
    let Some(secret) = data.and_then(|data| child(data, PSKC_NS, "Secret")) else {
        if child(key, PSKC_NS, "KeyReference").is_some() {
            return Err(PskcError::Unsupported(format!(
                "{place}: a key derived from a master key (KeyReference)"
            )));
        }
        return Err(PskcError::Missing {
            place: place.to_string(),
            what: "the secret (Data/Secret)",
        });
    };
    let plain = child(secret, PSKC_NS, "PlainValue");
    let encrypted = child(secret, PSKC_NS, "EncryptedValue");
    let value = match (plain, encrypted) {
        (Some(plain), None) => base64(place, plain, "the secret's PlainValue")?,
        (None, Some(encrypted)) => {
            secrets.decrypt(place, encrypted, child(secret, PSKC_NS, "ValueMAC"))?
        }
        (Some(_), Some(_)) => {
            return Err(PskcError::Invalid {
                place: place.to_string(),
                what: "the secret (both PlainValue and EncryptedValue)",
            })
        }
        (None, None) => {
            return Err(PskcError::Missing {
                place: place.to_string(),
                what: "the secret's PlainValue or EncryptedValue",
            })
        }
    };
    if value.is_empty() || value.len() > MAX_SECRET_BYTES {
        return Err(PskcError::Invalid {
            place: place.to_string(),
            what: "the secret's length",
        });
    }
    Ok(value)
}

/// `AlgorithmParameters/ResponseFormat`: decimal codes, their length.
fn read_digits(place: &str, key: Node) -> Result<Option<u8>, PskcError> {
    let Some(format) = child(key, PSKC_NS, "AlgorithmParameters")
        .and_then(|parameters| child(parameters, PSKC_NS, "ResponseFormat"))
    else {
        return Ok(None);
    };
    if let Some(encoding) = format.attribute("Encoding").filter(|e| *e != "DECIMAL") {
        return Err(PskcError::Unsupported(format!(
            "{place}: the response encoding {}",
            quote(encoding)
        )));
    }
    if matches!(format.attribute("Checksum"), Some("true" | "1")) {
        return Err(PskcError::Unsupported(format!(
            "{place}: codes with a check digit (Checksum=\"true\")"
        )));
    }
    let Some(length) = format.attribute("Length") else {
        return Err(PskcError::Missing {
            place: place.to_string(),
            what: "ResponseFormat's Length",
        });
    };
    let digits = length
        .trim()
        .parse::<u8>()
        .ok()
        .filter(|d| (1..=10).contains(d))
        .ok_or(PskcError::Invalid {
            place: place.to_string(),
            what: "ResponseFormat's Length",
        })?;
    Ok(Some(digits))
}

/// `AlgorithmParameters/Suite`: the HMAC hash (RFC 6030 4.3.4 names them "SHA1, SHA256";
/// "HMAC-SHA1" and "SHA-1" spellings are accepted too, in any case). SHA1 when absent.
fn read_suite(place: &str, key: Node) -> Result<Algorithm, PskcError> {
    let Some(suite) = child(key, PSKC_NS, "AlgorithmParameters")
        .and_then(|parameters| child(parameters, PSKC_NS, "Suite"))
    else {
        return Ok(Algorithm::SHA1);
    };
    let text = value_text(place, suite, "Suite")?.trim();
    let upper = text.to_ascii_uppercase();
    let hash = upper.strip_prefix("HMAC-").unwrap_or(&upper);
    match hash {
        "SHA1" | "SHA-1" => Ok(Algorithm::SHA1),
        "SHA256" | "SHA-256" => Ok(Algorithm::SHA256),
        "SHA512" | "SHA-512" => Ok(Algorithm::SHA512),
        _ => Err(PskcError::Unsupported(format!(
            "{place}: the algorithm suite {} (only HMAC-SHA1, HMAC-SHA256 and HMAC-SHA512)",
            quote(text)
        ))),
    }
}

/// The base64 content of `element` (XML Schema base64Binary: white space allowed).
fn base64(place: &str, element: Node, what: &'static str) -> Result<Zeroizing<Vec<u8>>, PskcError> {
    let text = without_white_space(value_text(place, element, what)?);
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| PskcError::Invalid {
            place: place.to_string(),
            what,
        })
}

/// `text` without ASCII white space, in one allocation made up front so that no partial copy
/// of a secret is left behind by a growing buffer.
fn without_white_space(text: &str) -> Zeroizing<String> {
    let mut kept = Zeroizing::new(String::with_capacity(text.len()));
    kept.extend(text.chars().filter(|c| !c.is_ascii_whitespace()));
    kept
}

/// [`without_white_space`], for the unit tests.
#[cfg(test)]
pub(super) fn without_white_space_for_tests(text: &str) -> Zeroizing<String> {
    without_white_space(text)
}

/// The text of the value element `element` (empty if none), refused when it holds anything but
/// text: a comment, element or processing instruction would otherwise cut the value short.
fn value_text<'a>(
    place: &str,
    element: Node<'a, '_>,
    what: &'static str,
) -> Result<&'a str, PskcError> {
    let mut children = element.children();
    let first = children.next();
    if first.is_some_and(|node| !node.is_text()) || children.next().is_some() {
        return Err(PskcError::MixedContent {
            place: place.to_string(),
            what,
        });
    }
    Ok(first.and_then(|node| node.text()).unwrap_or_default())
}

/// Whether `node` is the element `name` in namespace `namespace`.
fn is(node: Node, namespace: &str, name: &str) -> bool {
    node.is_element()
        && node.tag_name().namespace() == Some(namespace)
        && node.tag_name().name() == name
}

/// The first child element `name` in `namespace`.
fn child<'a, 'input>(
    node: Node<'a, 'input>,
    namespace: &str,
    name: &str,
) -> Option<Node<'a, 'input>> {
    children(node, namespace, name).next()
}

/// The child elements `name` in `namespace`.
fn children<'a, 'input, 'q>(
    node: Node<'a, 'input>,
    namespace: &'q str,
    name: &'q str,
) -> impl Iterator<Item = Node<'a, 'input>> + 'q
where
    'a: 'q,
    'input: 'q,
{
    node.children().filter(move |n| is(*n, namespace, name))
}

/// `text` from the file made safe for an error message: printable ASCII, at most
/// [`QUOTE_MAX_CHARS`] characters, in quotes.
pub(super) fn quote(text: &str) -> String {
    let safe: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(QUOTE_MAX_CHARS)
        .collect();
    format!("{safe:?}")
}
