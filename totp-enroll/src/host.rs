//! This machine's host name, for the default issuer and label of the otpauth URI (which
//! `pam_totp_core::otpauth` builds).

/// This machine's host name, for the default issuer and label.
pub fn hostname() -> String {
    for file in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        if let Ok(text) = std::fs::read_to_string(file) {
            let name = text.trim();
            if !name.is_empty()
                && name.len() <= 255
                && !name.contains(':')
                && !name.chars().any(char::is_control)
            {
                return name.to_string();
            }
        }
    }
    "localhost".to_string()
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
