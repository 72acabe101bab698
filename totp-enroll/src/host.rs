//! This machine's host name, for the default issuer and label of the otpauth URI (which
//! `pam_totp_core::otpauth` builds).

use pam_totp_core::otpauth::{usable_host, FALLBACK_ISSUER};

/// This machine's host name, for the default issuer and label.
pub fn hostname() -> String {
    for file in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        if let Ok(text) = std::fs::read_to_string(file) {
            if let Some(name) = usable_host(&text) {
                return name.to_string();
            }
        }
    }
    FALLBACK_ISSUER.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_is_usable() {
        let h = hostname();
        assert!(!h.is_empty() && !h.contains(':'));
    }
}
