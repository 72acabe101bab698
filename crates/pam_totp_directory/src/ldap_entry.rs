//! A search result entry as raw values: every attribute's values as bytes, names compared
//! without case. Parsed without panicking (ldap3's own `SearchEntry::construct` panics on a
//! malformed entry, and splits values between text and binary maps depending on whether the
//! bytes happen to be UTF-8, which `oathSecret` keys sometimes are).

use ldap3::asn1::StructureTag;
use ldap3::ResultEntry;
use std::collections::HashMap;
use zeroize::Zeroize;

/// The tag of a SearchResultEntry (RFC 4511 section 4.5.2).
const SEARCH_RESULT_ENTRY: u64 = 4;

/// One entry of a search result. Its values are zeroized when it is dropped (a token entry's
/// hold the key).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// The entry's DN as the server sent it.
    pub dn: String,
    /// Attribute values by lower-case attribute name.
    attrs: HashMap<String, Vec<Vec<u8>>>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.attrs.keys().collect();
        names.sort();
        f.debug_struct("Entry")
            .field("dn", &self.dn)
            .field("attributes", &names)
            .finish()
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        for values in self.attrs.values_mut() {
            values.iter_mut().for_each(Zeroize::zeroize);
        }
    }
}

impl Entry {
    /// An entry with these attributes (for tests and for building expected entries).
    pub fn new(dn: &str, attrs: &[(&str, &[&[u8]])]) -> Entry {
        Entry {
            dn: dn.to_string(),
            attrs: attrs
                .iter()
                .map(|(name, values)| {
                    (
                        name.to_ascii_lowercase(),
                        values.iter().map(|v| v.to_vec()).collect(),
                    )
                })
                .collect(),
        }
    }

    /// The values of attribute `name` (any case); empty when the entry has none.
    pub fn values(&self, name: &str) -> &[Vec<u8>] {
        self.attrs
            .get(&name.to_ascii_lowercase())
            .map_or(&[], Vec::as_slice)
    }

    /// True when the entry has attribute `name` with at least one value.
    pub fn has(&self, name: &str) -> bool {
        !self.values(name).is_empty()
    }

    /// True when `objectClass` lists `class` (any case).
    pub fn has_class(&self, class: &str) -> bool {
        self.values("objectClass")
            .iter()
            .any(|v| v.eq_ignore_ascii_case(class.as_bytes()))
    }

    /// Parses a search result item: Some(entry) for an entry, None for a referral or a
    /// malformed item (the caller fails the search on both).
    pub fn parse(item: ResultEntry) -> Option<Entry> {
        if item.is_ref() {
            return None;
        }
        let mut parts = item
            .0
            .match_id(SEARCH_RESULT_ENTRY)?
            .expect_constructed()?
            .into_iter();
        let dn = String::from_utf8(parts.next()?.expect_primitive()?).ok()?;
        let mut attrs: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
        for attribute in parts.next()?.expect_constructed()? {
            let mut pair = attribute.expect_constructed()?.into_iter();
            let name = String::from_utf8(pair.next()?.expect_primitive()?).ok()?;
            let values = pair
                .next()?
                .expect_constructed()?
                .into_iter()
                .map(StructureTag::expect_primitive)
                .collect::<Option<Vec<Vec<u8>>>>()?;
            attrs
                .entry(name.to_ascii_lowercase())
                .or_default()
                .extend(values);
        }
        Some(Entry { dn, attrs })
    }
}

/// A constructed tag (for tests that build entries by hand).
#[cfg(test)]
fn constructed(id: u64, inner: Vec<StructureTag>) -> StructureTag {
    StructureTag {
        class: ldap3::asn1::TagClass::Universal,
        id,
        payload: ldap3::asn1::PL::C(inner),
    }
}

#[cfg(test)]
fn primitive(bytes: &[u8]) -> StructureTag {
    StructureTag {
        class: ldap3::asn1::TagClass::Universal,
        id: 4,
        payload: ldap3::asn1::PL::P(bytes.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_bytes_whatever_they_hold() {
        let tag = constructed(
            SEARCH_RESULT_ENTRY,
            vec![
                primitive(b"cn=t,ou=tokens"),
                constructed(
                    16,
                    vec![
                        constructed(
                            16,
                            vec![
                                primitive(b"oathSecret"),
                                constructed(17, vec![primitive(b"ascii key 1234")]),
                            ],
                        ),
                        constructed(
                            16,
                            vec![
                                primitive(b"objectClass"),
                                constructed(
                                    17,
                                    vec![primitive(b"device"), primitive(b"oathTOTPToken")],
                                ),
                            ],
                        ),
                    ],
                ),
            ],
        );
        let entry = Entry::parse(ResultEntry::new(tag)).unwrap();
        assert_eq!(entry.dn, "cn=t,ou=tokens");
        assert_eq!(entry.values("OATHSECRET"), &[b"ascii key 1234".to_vec()]);
        assert!(entry.has_class("oathtotptoken") && !entry.has_class("oathHOTPToken"));
        assert!(entry.values("none").is_empty());
        let shown = format!("{entry:?}");
        assert!(
            shown.contains("oathsecret") && !shown.contains("ascii key"),
            "{shown}"
        );
        // Malformed: a primitive where the attribute list should be.
        let bad = constructed(
            SEARCH_RESULT_ENTRY,
            vec![primitive(b"cn=t"), primitive(b"x")],
        );
        assert_eq!(Entry::parse(ResultEntry::new(bad)), None);
    }
}
