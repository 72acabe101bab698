//! Whether a key's `UserId` (RFC 6030 `Key/UserId`) names a given user.

/// Whether `user_id` names `user`: it is the user name itself, or a distinguished name whose
/// first RDN is `UID=<name>` (attribute name in any case, white space around the parts
/// ignored). A DN value with escapes, quotes or a multi-valued RDN never matches.
pub fn names_user(user_id: &str, user: &str) -> bool {
    let user_id = user_id.trim();
    if user.is_empty() || user_id.is_empty() {
        return false;
    }
    if user_id == user {
        return true;
    }
    let first_rdn = user_id.split([',', ';']).next().unwrap_or_default();
    let Some((attribute, value)) = first_rdn.split_once('=') else {
        return false;
    };
    let value = value.trim();
    attribute.trim().eq_ignore_ascii_case("uid")
        && !value.contains(['\\', '"', '+', '=', '<', '>', '#'])
        && value == user
}

#[cfg(test)]
mod tests {
    use super::names_user;

    #[test]
    fn the_name_or_a_dn_starting_with_its_uid() {
        for id in [
            "alice",
            " alice\n",
            "UID=alice,OU=people,DC=example,DC=com",
            "uid=alice,dc=example,dc=com",
            "Uid = alice , dc=example",
            "UID=alice",
            "uid=alice;dc=example",
        ] {
            assert!(names_user(id, "alice"), "{id}");
        }
        for id in [
            "",
            "bob",
            "Alice",
            "alice2",
            "UID=jsmith,DC=example-bank,DC=net",
            "DC=example-bank,DC=net",
            "CN=alice,DC=example",
            "OU=people,UID=alice,DC=example",
            "UID=alice+CN=Alice,DC=example",
            "UID=alice\\,DC=example",
            "UID=\"alice\"",
            "UID=Alice,DC=example",
            "UID=,DC=example",
            "alice,DC=example",
        ] {
            assert!(!names_user(id, "alice"), "{id}");
        }
        assert!(!names_user("", ""));
        assert!(!names_user("UID=", ""));
    }
}
