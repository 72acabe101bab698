//! What the module tells the user through the conversation besides its prompts: the
//! enrollment grace period and the recovery codes left. One place for the wording.

use crate::date::Day;

/// At or below this many recovery codes left, the user is warned to make new ones.
pub const FEW_RECOVERY_CODES: usize = 2;

/// How a notice is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Information (PAM_TEXT_INFO).
    Info,
    /// A warning (PAM_ERROR_MSG).
    Warning,
}

/// The notice for a user without a file during the grace period of `nullok_until=UNTIL`. The
/// date shown is the option's own (SPEC.md words both with the same `YYYY-MM-DD`): the last
/// day a user may log in without a code, so "required from" errs a day early, never late.
pub fn grace_period(until: Day) -> String {
    format!("Two-factor authentication is required from {until}: run totp-enroll")
}

/// The notice after a recovery code was accepted, with `left` codes remaining: information,
/// or a warning that says how to make new ones when [`FEW_RECOVERY_CODES`] or fewer are left.
pub fn recovery_codes_left(left: usize) -> (Style, String) {
    let count = match left {
        0 => "no recovery codes".to_string(),
        1 => "1 recovery code".to_string(),
        n => format!("{n} recovery codes"),
    };
    if left > FEW_RECOVERY_CODES {
        return (
            Style::Info,
            format!("Recovery code accepted; {count} left."),
        );
    }
    (
        Style::Warning,
        format!(
            "Recovery code accepted; only {count} left. Make a new set with: totp-enroll recovery-codes"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grace_notice_names_the_date_and_the_command() {
        let until = Day::parse("2027-01-31").unwrap();
        assert_eq!(
            grace_period(until),
            "Two-factor authentication is required from 2027-01-31: run totp-enroll"
        );
    }

    #[test]
    fn few_recovery_codes_are_a_warning_with_the_command() {
        assert_eq!(
            recovery_codes_left(9),
            (
                Style::Info,
                "Recovery code accepted; 9 recovery codes left.".into()
            )
        );
        assert_eq!(recovery_codes_left(3).0, Style::Info);
        for (left, count) in [
            (2, "2 recovery codes"),
            (1, "1 recovery code"),
            (0, "no recovery codes"),
        ] {
            assert_eq!(
                recovery_codes_left(left),
                (
                    Style::Warning,
                    format!("Recovery code accepted; only {count} left. Make a new set with: totp-enroll recovery-codes")
                )
            );
        }
    }
}
