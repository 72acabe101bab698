//! The examples of RFC 6030 (tests/data/rfc6030/figureN.xml), and files made to fail.

use super::*;
use base64::Engine;

/// The secret of RFC 6030's HOTP examples: RFC 4226's key, "12345678901234567890".
const RFC_SECRET: &str = "3132333435363738393031323334353637383930";
/// The pre-shared key of RFC 6030 Figure 6.
const FIGURE6_KEY: &str = "12345678901234567890123456789012";

const FIGURE2: &str = include_str!("../../tests/data/rfc6030/figure2.xml");
const FIGURE3: &str = include_str!("../../tests/data/rfc6030/figure3.xml");
const FIGURE4: &str = include_str!("../../tests/data/rfc6030/figure4.xml");
const FIGURE5: &str = include_str!("../../tests/data/rfc6030/figure5.xml");
const FIGURE6: &str = include_str!("../../tests/data/rfc6030/figure6.xml");
const FIGURE7: &str = include_str!("../../tests/data/rfc6030/figure7.xml");

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn figure6_key() -> PreSharedKey {
    PreSharedKey::from_hex(FIGURE6_KEY).unwrap()
}

fn parse_str(text: &str, key: Option<&PreSharedKey>) -> Result<PskcFile, PskcError> {
    parse(text.as_bytes(), key)
}

/// A container with the given extra container children and one key package whose `Key` has
/// the given attributes and content.
fn container(head: &str, key_attributes: &str, key_content: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#"
    xmlns:xenc="http://www.w3.org/2001/04/xmlenc#">
  {head}
  <KeyPackage>
    <Key Id="k1" {key_attributes}>{key_content}</Key>
  </KeyPackage>
</KeyContainer>"#
    )
}

/// A plain secret "12345678901234567890".
const PLAIN_DATA: &str =
    "<Data><Secret><PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue></Secret></Data>";
const HOTP: &str = r#"Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp""#;
const TOTP: &str = r#"Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp""#;

#[test]
fn figure2_plain_secret() {
    let file = parse_str(FIGURE2, None).unwrap();
    assert_eq!(file.keys.len(), 1);
    let key = &file.keys[0];
    assert_eq!(key.id, "12345678");
    assert_eq!(key.algorithm, PskcAlgorithm::Hotp);
    // Figure 2's secret is "1234" (MTIzNA==).
    assert_eq!(key.key.as_slice(), b"1234");
    assert_eq!(key.serial, None);
    assert_eq!(key.digits, None);
    assert_eq!(key.counter, None);
}

#[test]
fn figure3_supplementary_data() {
    let file = parse_str(FIGURE3, None).unwrap();
    let key = &file.keys[0];
    assert_eq!(hex(&key.key), RFC_SECRET);
    assert_eq!(key.id, "12345678");
    assert_eq!(key.serial.as_deref(), Some("987654321"));
    assert_eq!(key.algorithm, PskcAlgorithm::Hotp);
    assert_eq!(key.digits, Some(8));
    assert_eq!(key.counter, Some(0));
    assert_eq!(key.time_interval, None);
    assert_eq!(key.time_drift, None);
    assert_eq!(file.skipped_pin_keys, 0);
}

#[test]
fn figure4_key_derivation_is_refused() {
    let err = parse_str(FIGURE4, None).unwrap_err();
    assert!(
        matches!(&err, PskcError::Unsupported(what) if what.contains("KeyReference")),
        "{err}"
    );
}

#[test]
fn figure5_skips_the_pin_key() {
    let file = parse_str(FIGURE5, None).unwrap();
    assert_eq!(file.keys.len(), 1);
    assert_eq!(hex(&file.keys[0].key), RFC_SECRET);
    assert_eq!(file.keys[0].digits, Some(8));
    assert_eq!(file.skipped_pin_keys, 1);
}

#[test]
fn figure6_encrypted_with_the_pre_shared_key() {
    let file = parse_str(FIGURE6, Some(&figure6_key())).unwrap();
    assert_eq!(file.keys.len(), 1);
    let key = &file.keys[0];
    assert_eq!(hex(&key.key), RFC_SECRET);
    assert_eq!(key.id, "12345678");
    assert_eq!(key.serial.as_deref(), Some("987654321"));
    assert_eq!(key.digits, Some(8));
    assert_eq!(key.counter, Some(0));
    // The key may be written in upper case and with white space around it.
    let upper = PreSharedKey::from_hex(" 12345678901234567890123456789012\n").unwrap();
    assert_eq!(parse_str(FIGURE6, Some(&upper)).unwrap(), file);
}

#[test]
fn figure6_needs_the_key() {
    assert_eq!(parse_str(FIGURE6, None).unwrap_err(), PskcError::NeedsKey);
}

#[test]
fn figure6_with_a_wrong_key_fails() {
    for wrong in [
        "12345678901234567890123456789013",
        "00000000000000000000000000000000",
        "ffffffffffffffffffffffffffffffff",
    ] {
        let key = PreSharedKey::from_hex(wrong).unwrap();
        let err = parse_str(FIGURE6, Some(&key)).unwrap_err();
        assert!(
            matches!(err, PskcError::WrongKey | PskcError::MacMismatch(_)),
            "{wrong}: {err:?}"
        );
        assert!(err.to_string().contains("wrong"), "{err}");
    }
}

/// The base64 text of the secret's CipherValue in Figure 6, as printed.
const FIGURE6_SECRET_CIPHER: &str =
    "AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGv";

/// Figure 6 with the secret's ciphertext (IV and blocks) changed by `change`.
fn figure6_with_ciphertext(change: impl Fn(&mut Vec<u8>)) -> String {
    assert!(FIGURE6.contains(FIGURE6_SECRET_CIPHER));
    let engine = base64::engine::general_purpose::STANDARD;
    let mut bytes = engine.decode(FIGURE6_SECRET_CIPHER).unwrap();
    change(&mut bytes);
    FIGURE6.replace(FIGURE6_SECRET_CIPHER, &engine.encode(&bytes))
}

#[test]
fn a_flipped_ciphertext_byte_fails_the_mac() {
    // Every byte: the IV (first 16) as well as both ciphertext blocks are covered by the MAC.
    let sealed_len = 48;
    for index in 0..sealed_len {
        let text = figure6_with_ciphertext(|bytes| bytes[index] ^= 0x01);
        assert_eq!(
            parse_str(&text, Some(&figure6_key())).unwrap_err(),
            PskcError::MacMismatch("key package 1 (Id \"12345678\")".to_string()),
            "byte {index}"
        );
    }
    let shortened = figure6_with_ciphertext(|bytes| bytes.truncate(32));
    assert!(matches!(
        parse_str(&shortened, Some(&figure6_key())).unwrap_err(),
        PskcError::MacMismatch(_)
    ));
}

#[test]
fn a_changed_value_mac_fails() {
    let text = FIGURE6.replace(
        "Su+NvtQfmvfJzF6bmQiJqoLRExc=",
        "Tu+NvtQfmvfJzF6bmQiJqoLRExc=",
    );
    assert_ne!(text, FIGURE6);
    assert!(matches!(
        parse_str(&text, Some(&figure6_key())).unwrap_err(),
        PskcError::MacMismatch(_)
    ));
    let start = FIGURE6.find("<ValueMAC>").unwrap();
    let end = FIGURE6.find("</ValueMAC>").unwrap() + "</ValueMAC>".len();
    let without = format!("{}{}", &FIGURE6[..start], &FIGURE6[end..]);
    assert!(matches!(
        parse_str(&without, Some(&figure6_key())).unwrap_err(),
        PskcError::NoMac(_)
    ));
}

#[test]
fn encrypted_without_a_mac_method_is_refused() {
    let start = FIGURE6.find("<MACMethod").unwrap();
    let end = FIGURE6.find("</MACMethod>").unwrap() + "</MACMethod>".len();
    let without = format!("{}{}", &FIGURE6[..start], &FIGURE6[end..]);
    assert!(matches!(
        parse_str(&without, Some(&figure6_key())).unwrap_err(),
        PskcError::NoMac(_)
    ));
}

#[test]
fn figure7_passphrase_encryption_is_refused() {
    let err = parse_str(FIGURE7, Some(&figure6_key())).unwrap_err();
    assert!(
        matches!(&err, PskcError::Unsupported(what) if what.contains("PBKDF2")),
        "{err}"
    );
}

#[test]
fn unsupported_algorithms_are_named() {
    let unsupported = |text: String, key: Option<&PreSharedKey>, name: &str| {
        let err = parse_str(&text, key).unwrap_err();
        assert!(
            matches!(&err, PskcError::Unsupported(what) if what.contains(name)),
            "{name}: {err:?}"
        );
        assert!(err.to_string().contains("not supported"), "{err}");
    };
    let key = figure6_key();
    unsupported(
        FIGURE6.replace(
            "xmlenc#aes128-cbc\"/>\n                        <xenc:CipherData>",
            "xmlenc#aes256-cbc\"/>\n                        <xenc:CipherData>",
        ),
        Some(&key),
        "aes256-cbc",
    );
    unsupported(
        FIGURE6.replace("xmldsig#hmac-sha1", "xmldsig-more#hmac-sha256"),
        Some(&key),
        "hmac-sha256",
    );
    unsupported(
        container(
            "<EncryptionKey><ds:X509Data><ds:X509Certificate>AA==</ds:X509Certificate></ds:X509Data></EncryptionKey>",
            HOTP,
            PLAIN_DATA,
        ),
        None,
        "asymmetric",
    );
    unsupported(
        container(
            "",
            r#"Algorithm="urn:ietf:params:xml:ns:keyprov:pskc#OCRA-1:HOTP-SHA512-8:C-QN08""#,
            PLAIN_DATA,
        ),
        None,
        "OCRA",
    );
    unsupported(
        container(
            "",
            HOTP,
            &format!(
                r#"<AlgorithmParameters><ResponseFormat Length="8" Encoding="HEXADECIMAL"/></AlgorithmParameters>{PLAIN_DATA}"#
            ),
        ),
        None,
        "HEXADECIMAL",
    );
    unsupported(
        container(
            "",
            HOTP,
            &format!(
                r#"<AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL" Checksum="true"/></AlgorithmParameters>{PLAIN_DATA}"#
            ),
        ),
        None,
        "Checksum",
    );
}

#[test]
fn the_figure6_mac_key_must_decrypt() {
    // The MAC key's ciphertext cut to one block after the IV: it still decrypts to something,
    // but the padding byte is then almost surely wrong, or the MAC fails.
    let text = FIGURE6.replace(
        "ESIzRFVmd4iZABEiM0RVZgKn6WjLaTC1sbeBMSvIhRejN9vJa2BOlSaMrR7I5wSX",
        "ESIzRFVmd4iZABEiM0RVZgKn6WjLaTC1sbeBMSvIhRej",
    );
    assert_ne!(text, FIGURE6);
    assert!(matches!(
        parse_str(&text, Some(&figure6_key())).unwrap_err(),
        PskcError::WrongKey | PskcError::MacMismatch(_) | PskcError::Invalid { .. }
    ));
}

#[test]
fn totp_parameters() {
    let text = container(
        "<KeyPackage><Key Id=\"pin\" Algorithm=\"urn:ietf:params:xml:ns:keyprov:pskc:pin\"><Data><Secret><PlainValue>MTIzNA==</PlainValue></Secret></Data></Key></KeyPackage>",
        TOTP,
        r#"<AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
           <Data><Secret><PlainValue>
             MTIzNDU2Nzg5MDEy
             MzQ1Njc4OTA=
           </PlainValue></Secret>
           <Time><PlainValue>0</PlainValue></Time>
           <TimeInterval><PlainValue> 60 </PlainValue></TimeInterval>
           <TimeDrift><PlainValue>-2</PlainValue></TimeDrift></Data>"#,
    );
    let file = parse_str(&text, None).unwrap();
    assert_eq!(file.skipped_pin_keys, 1);
    let key = &file.keys[0];
    assert_eq!(key.algorithm, PskcAlgorithm::Totp);
    assert_eq!(hex(&key.key), RFC_SECRET);
    assert_eq!(key.digits, Some(6));
    assert_eq!(key.time, Some(0));
    assert_eq!(key.time_interval, Some(60));
    assert_eq!(key.time_drift, Some(-2));
    assert_eq!(key.counter, None);
}

#[test]
fn malformed_files() {
    let err = |text: &str| parse_str(text, None).unwrap_err();
    assert!(matches!(err("<KeyContainer"), PskcError::Xml(_)));
    assert_eq!(err(r#"<KeyContainer Version="1.0"/>"#), PskcError::NotPskc);
    assert_eq!(
        err(&FIGURE3.replace("Version=\"1.0\"", "Version=\"2.0\"")),
        PskcError::Version("\"2.0\"".to_string())
    );
    assert_eq!(
        err(r#"<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"/>"#),
        PskcError::NoKeys
    );
    assert!(matches!(
        err(&container(
            "",
            HOTP,
            "<Data><Secret><PlainValue>not base64!</PlainValue></Secret></Data>"
        )),
        PskcError::Invalid {
            what: "the secret's PlainValue",
            ..
        }
    ));
    assert!(matches!(
        err(&container(
            "",
            HOTP,
            "<Data><Secret><PlainValue></PlainValue></Secret></Data>"
        )),
        PskcError::Invalid {
            what: "the secret's length",
            ..
        }
    ));
    assert!(matches!(
        err(&container(
            "",
            HOTP,
            "<Data><Counter><PlainValue>0</PlainValue></Counter></Data>"
        )),
        PskcError::Missing { .. }
    ));
    assert!(matches!(
        err(&container("", "", PLAIN_DATA)),
        PskcError::Missing { .. }
    ));
    assert!(matches!(
        err(&FIGURE3.replace("<PlainValue>0</PlainValue>", "<PlainValue>-1</PlainValue>")),
        PskcError::Invalid {
            what: "Counter",
            ..
        }
    ));
    assert!(matches!(
        err(&FIGURE3.replace("Length=\"8\"", "Length=\"eight\"")),
        PskcError::Invalid {
            what: "ResponseFormat's Length",
            ..
        }
    ));
    assert!(matches!(err("\u{feff}\u{0}"), PskcError::Xml(_)));
    assert_eq!(
        parse(&[0xff, 0xfe, 0x3c], None).unwrap_err(),
        PskcError::NotText
    );
}

#[test]
fn no_dtd_and_no_entities() {
    let text = FIGURE3.replace(
        "<KeyContainer",
        "<!DOCTYPE KeyContainer [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>\n<KeyContainer",
    );
    assert!(matches!(
        parse_str(&text, None).unwrap_err(),
        PskcError::Xml(_)
    ));
    let external = FIGURE3.replace(
        "<KeyContainer",
        "<!DOCTYPE KeyContainer SYSTEM \"file:///etc/passwd\">\n<KeyContainer",
    );
    assert!(matches!(
        parse_str(&external, None).unwrap_err(),
        PskcError::Xml(_)
    ));
}

#[test]
fn limits() {
    let mut huge = FIGURE3.as_bytes().to_vec();
    huge.resize(MAX_PSKC_BYTES + 1, b' ');
    assert_eq!(parse(&huge, None).unwrap_err(), PskcError::TooLarge);

    let package = format!("<KeyPackage><Key Id=\"k\" {HOTP}>{PLAIN_DATA}</Key></KeyPackage>\n");
    let many = |count: usize| {
        format!(
            "<KeyContainer Version=\"1.0\" xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\">{}</KeyContainer>",
            package.repeat(count)
        )
    };
    assert_eq!(
        parse_str(&many(MAX_KEY_PACKAGES), None).unwrap().keys.len(),
        MAX_KEY_PACKAGES
    );
    assert_eq!(
        parse_str(&many(MAX_KEY_PACKAGES + 1), None).unwrap_err(),
        PskcError::TooManyKeys
    );

    // Many small elements within the size limit hit the node limit.
    let nodes = format!(
        "<KeyContainer Version=\"1.0\" xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\">{}</KeyContainer>",
        "<a/>".repeat(MAX_XML_NODES as usize + 1)
    );
    assert!(nodes.len() <= MAX_PSKC_BYTES);
    assert!(matches!(
        parse_str(&nodes, None).unwrap_err(),
        PskcError::Xml(_)
    ));
}

#[test]
fn pre_shared_key_syntax() {
    for bad in [
        "",
        "1234",
        "1234567890123456789012345678901",
        "123456789012345678901234567890123",
        "1234567890123456789012345678901g",
    ] {
        assert_eq!(
            PreSharedKey::from_hex(bad).unwrap_err(),
            PskcError::BadPreSharedKey,
            "{bad}"
        );
    }
    assert_eq!(format!("{:?}", figure6_key()), "PreSharedKey(<redacted>)");
}

#[test]
fn secrets_stay_out_of_debug_and_errors() {
    let file = parse_str(FIGURE6, Some(&figure6_key())).unwrap();
    let debug = format!("{file:?}");
    assert!(
        !debug.contains("3132") && !debug.contains("[49, 50"),
        "{debug}"
    );
    assert!(debug.contains("<20 bytes>"), "{debug}");
    let key = PreSharedKey::from_hex("00000000000000000000000000000000").unwrap();
    let message = parse_str(FIGURE6, Some(&key)).unwrap_err().to_string();
    assert!(
        !message.contains(FIGURE6_KEY) && !message.contains("3132"),
        "{message}"
    );
}

/// A container of key packages, each a `Key` with `HOTP`, [`PLAIN_DATA`] (with the secret
/// made unique by `index`) and the given `UserId` (none for `None`).
fn with_users(users: &[Option<&str>]) -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    let packages: String = users
        .iter()
        .enumerate()
        .map(|(index, user)| {
            let secret = engine.encode(format!("{index:020}"));
            let user = user.map_or(String::new(), |u| format!("<UserId>{u}</UserId>"));
            format!(
                "<KeyPackage><Key Id=\"k{index}\" {HOTP}><Data><Secret><PlainValue>{secret}</PlainValue></Secret></Data>{user}</Key></KeyPackage>"
            )
        })
        .collect();
    format!(
        "<KeyContainer Version=\"1.0\" xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\">{packages}</KeyContainer>"
    )
}

fn ids(keys: &UserKeys) -> Vec<&str> {
    keys.keys.iter().map(|k| k.id.as_str()).collect()
}

#[test]
fn figure3_user_id_is_read_and_names_jsmith_only() {
    let file = parse_str(FIGURE3, None).unwrap();
    assert_eq!(
        file.keys[0].user_id.as_deref(),
        Some("UID=jsmith,DC=example-bank,DC=net")
    );
    // The only key of the file, but marked for someone else: never taken.
    let err = keys_for_user(file.clone(), "alice").unwrap_err();
    assert_eq!(
        err,
        PskcError::NotForUser {
            user: "\"alice\"".to_string(),
            keys: 1,
            others: 1,
            unmarked: 0
        }
    );
    let message = err.to_string();
    for word in [
        "1 HOTP/TOTP key",
        "each user needs a file with only their keys",
    ] {
        assert!(message.contains(word), "{word}: {message}");
    }
    let mine = keys_for_user(file, "jsmith").unwrap();
    assert_eq!(ids(&mine), ["12345678"]);
    assert_eq!((mine.others, mine.unmarked), (0, 0));
}

#[test]
fn keys_for_user_takes_only_the_users_keys() {
    let file = |users: &[Option<&str>]| parse_str(&with_users(users), None).unwrap();
    // Marked keys: the user's are taken, the others left out and counted.
    let chosen = keys_for_user(
        file(&[
            Some("UID=bob,DC=example"),
            Some("uid=alice,ou=people,dc=example"),
            None,
            Some("alice"),
            Some("carol"),
        ]),
        "alice",
    )
    .unwrap();
    assert_eq!(ids(&chosen), ["k1", "k3"]);
    assert_eq!((chosen.others, chosen.unmarked), (2, 1));
    // One key without UserId: taken. Two: neither.
    assert_eq!(ids(&keys_for_user(file(&[None]), "alice").unwrap()), ["k0"]);
    assert_eq!(
        keys_for_user(file(&[None, None]), "alice").unwrap_err(),
        PskcError::NotForUser {
            user: "\"alice\"".to_string(),
            keys: 2,
            others: 0,
            unmarked: 2
        }
    );
    // PIN keys do not count: the HOTP key is still the only one (figure 5).
    let figure5 = parse_str(FIGURE5, None).unwrap();
    assert_eq!(ids(&keys_for_user(figure5, "alice").unwrap()), ["12345678"]);
    // An empty UserId is no UserId.
    let chosen = keys_for_user(file(&[Some("  ")]), "alice").unwrap();
    assert_eq!(chosen.keys[0].user_id, None);
}

#[test]
fn a_value_with_anything_but_text_is_refused() {
    for (value, what) in [
        (
            "MTIzNDU2Nzg5MDEy<!-- -->MzQ1Njc4OTA=",
            "the secret's PlainValue",
        ),
        (
            "MTIzNDU2Nzg5MDEy<b/>MzQ1Njc4OTA=",
            "the secret's PlainValue",
        ),
        (
            "MTIzNDU2Nzg5MDEy<?pi x?>MzQ1Njc4OTA=",
            "the secret's PlainValue",
        ),
        (
            "<!-- -->MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=",
            "the secret's PlainValue",
        ),
    ] {
        let text = container(
            "",
            HOTP,
            &format!("<Data><Secret><PlainValue>{value}</PlainValue></Secret></Data>"),
        );
        let err = parse_str(&text, None).unwrap_err();
        assert!(
            matches!(&err, PskcError::MixedContent { what: w, .. } if *w == what),
            "{value}: {err:?}"
        );
    }
    let counter = FIGURE3.replace(
        "<PlainValue>0</PlainValue>",
        "<PlainValue>1<!---->0</PlainValue>",
    );
    assert!(matches!(
        parse_str(&counter, None).unwrap_err(),
        PskcError::MixedContent {
            what: "Counter",
            ..
        }
    ));
    let user = FIGURE3.replace("<UserId>UID=jsmith", "<UserId>UID=alice<!-- -->UID=jsmith");
    assert!(matches!(
        parse_str(&user, None).unwrap_err(),
        PskcError::MixedContent { what: "UserId", .. }
    ));
    // CDATA and character references are text.
    let text = container(
        "",
        HOTP,
        "<Data><Secret><PlainValue>MTIzNDU2Nzg5MDEy<![CDATA[MzQ1Njc4]]>OTA&#x3d;</PlainValue></Secret></Data>",
    );
    assert_eq!(
        hex(&parse_str(&text, None).unwrap().keys[0].key),
        RFC_SECRET
    );
}

#[test]
fn the_suite_names_the_hash() {
    use pam_totp_core::algorithm::Algorithm;
    let with_suite = |suite: &str| {
        container(
            "",
            TOTP,
            &format!(
                r#"<AlgorithmParameters><Suite>{suite}</Suite><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>{PLAIN_DATA}"#
            ),
        )
    };
    for (suite, hash) in [
        ("HMAC-SHA1", Algorithm::SHA1),
        ("SHA1", Algorithm::SHA1),
        (" hmac-sha256 ", Algorithm::SHA256),
        ("SHA256", Algorithm::SHA256),
        ("HMAC-SHA512", Algorithm::SHA512),
        ("SHA-512", Algorithm::SHA512),
    ] {
        let file = parse_str(&with_suite(suite), None).unwrap();
        assert_eq!(file.keys[0].hash, hash, "{suite}");
    }
    assert_eq!(
        parse_str(&container("", TOTP, PLAIN_DATA), None)
            .unwrap()
            .keys[0]
            .hash,
        Algorithm::SHA1
    );
    for suite in ["HMAC-MD5", "SHA384", "HMAC-SHA3-256", ""] {
        let err = parse_str(&with_suite(suite), None).unwrap_err();
        assert!(
            matches!(&err, PskcError::Unsupported(what) if what.contains(&format!("{suite:?}"))),
            "{suite}: {err:?}"
        );
    }
}

#[test]
fn nested_namespace_declarations_are_refused_quickly() {
    let depth = 3000;
    let open: String = (0..depth)
        .map(|i| format!("<p{i}:e xmlns:p{i}=\"urn:x:{i}\">"))
        .collect();
    let close: String = (0..depth).rev().map(|i| format!("</p{i}:e>")).collect();
    let text = format!(
        "<KeyContainer Version=\"1.0\" xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\">{open}{close}</KeyContainer>"
    );
    let started = std::time::Instant::now();
    let err = parse_str(&text, None).unwrap_err();
    assert!(matches!(err, PskcError::TooComplex(_)), "{err:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // Declarations side by side, and attributes, are bounded too.
    let flat: String = (0..100)
        .map(|i| format!("<e xmlns:p{i}=\"urn:x\"/>"))
        .collect();
    let text = FIGURE3.replace("<KeyPackage>", &format!("{flat}<KeyPackage>"));
    assert!(err_is_too_complex(&text), "flat declarations");
    let attributes: String = (0..40).map(|i| format!(" a{i}=\"\"")).collect();
    let text = FIGURE3.replace("<KeyPackage>", &format!("<KeyPackage{attributes}>"));
    assert!(err_is_too_complex(&text), "attributes");
    let deep = FIGURE3.replace("<KeyPackage>", &format!("{}<KeyPackage>", "<x>".repeat(40)));
    assert!(err_is_too_complex(&deep), "depth");
    // Every RFC example passes the scan.
    for figure in [FIGURE2, FIGURE3, FIGURE4, FIGURE5, FIGURE6, FIGURE7] {
        assert!(!err_is_too_complex(figure));
    }
}

fn err_is_too_complex(text: &str) -> bool {
    matches!(parse_str(text, None), Err(PskcError::TooComplex(_)))
}

#[test]
fn the_white_space_free_copy_is_allocated_once() {
    let text = " MTIzNDU2Nzg5MDEy\n     MzQ1Njc4OTA=\n ";
    let kept = super::xml::without_white_space_for_tests(text);
    assert_eq!(kept.as_str(), "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=");
    // Its buffer was sized up front (a buffer grown step by step would have a capacity of a
    // power of two, leaving the smaller ones freed without being wiped).
    assert_eq!(kept.capacity(), text.len());
}

#[test]
fn quote_is_bounded_and_escaped() {
    let long = format!("a\"b\\c\n\u{1b}[31m{}", "x".repeat(1000));
    let quoted = quote(&long);
    assert!(quoted.len() < 80, "{quoted}");
    assert!(quoted.starts_with("\"a\\\"b\\\\c??[31m"), "{quoted}");
}
