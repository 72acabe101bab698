//! OATH-LDAP entries as pam_totp sees them: a user entry (`oathTOTPUser`/`oathHOTPUser`) names
//! a TOTP and/or an HOTP token entry, each names its parameters entry; the login state
//! (watermarks, failure count, recovery codes) lives on the token entries. Reading them into a
//! [`pam_totp_core::secret_file::SecretFile`] and turning a changed one back into modifies.
