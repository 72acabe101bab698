//! `status`: whether the user is enrolled, and how; also how many hosts are remembered
//! (`remember=`; SPEC's `--json` keys stay as they are, `remembered_hosts` is one more).

use super::{print_out, Place};
use crate::error::CliError;
use crate::target::Target;
use pam_totp_core::secret_file::SecretFile;
use serde_json::json;

/// Runs `status`. Not enrolled is not an error (exit 0); an unusable file is.
pub fn run(target: &Target, as_json: bool) -> Result<(), CliError> {
    let loaded = target.load()?;
    let path = target.display_path();
    let text = render(
        &target.user.name,
        loaded.as_ref().map(|l| l.content()),
        &Place::File(&path),
        as_json,
    );
    print_out(&format!("{text}\n"))
}

/// The status of `user`'s enrollment `file` (None: not enrolled) kept at `place`, as text or
/// as the JSON object. Remembered hosts are counted where the place keeps them (files), else
/// `null`.
pub(super) fn render(
    user: &str,
    file: Option<&SecretFile>,
    place: &Place,
    as_json: bool,
) -> String {
    let remembered = |f: &SecretFile| place.keeps_hosts().then_some(f.state.remembered.len());
    match (file, as_json) {
        (None, true) => json!({
            "enrolled": false,
            "algorithm": null,
            "digits": null,
            "period": null,
            "recovery_codes_left": null,
            "created": null,
            "remembered_hosts": null,
        })
        .to_string(),
        (None, false) => format!("{user}: not enrolled ({})", place.nothing()),
        (Some(f), true) => {
            let first = f.first_token();
            json!({
                "enrolled": true,
                "algorithm": first.algorithm.name(),
                "digits": first.digits,
                "period": first.period(),
                "recovery_codes_left": f.recovery.len(),
                "created": f.created.map(|c| c.to_string()),
                "remembered_hosts": remembered(f),
            })
            .to_string()
        }
        (Some(f), false) => {
            let first = f.first_token();
            let period = first
                .period()
                .map_or_else(|| "none (HOTP)".to_string(), |p| format!("{p} s"));
            let mut text = format!(
                "{user}: enrolled\n  {}\n  tokens: {}\n  algorithm: {}\n  digits: {}\n  period: {}\n  recovery codes left: {}\n  created: {}",
                place.line(),
                f.token_count(),
                first.algorithm.name(),
                first.digits,
                period,
                f.recovery.len(),
                f.created.map_or_else(|| "unknown".to_string(), |c| c.to_string()),
            );
            if let Some(hosts) = remembered(f) {
                text.push_str(&format!("\n  remembered hosts: {hosts}"));
            }
            text
        }
    }
}
