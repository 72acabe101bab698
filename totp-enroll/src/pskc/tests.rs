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
