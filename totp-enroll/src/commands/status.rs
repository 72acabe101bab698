//! `status`: whether the user is enrolled, and how; also how many hosts are remembered
//! (`remember=`; SPEC's `--json` keys stay as they are, `remembered_hosts` is one more).

use super::print_out;
use crate::error::CliError;
use crate::target::Target;
use serde_json::json;

/// Runs `status`. Not enrolled is not an error (exit 0); an unusable file is.
pub fn run(target: &Target, as_json: bool) -> Result<(), CliError> {
    let loaded = target.load()?;
    let path = target.display_path();
    let text = match (&loaded, as_json) {
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
        (None, false) => format!(
            "{}: not enrolled (no secret file at {})",
            target.user.name,
            path.display()
        ),
        (Some(l), true) => {
            let f = l.content();
            let first = f.first_token();
            json!({
                "enrolled": true,
                "algorithm": first.algorithm.name(),
                "digits": first.digits,
                "period": first.period(),
                "recovery_codes_left": f.recovery.len(),
                "created": f.created.map(|c| c.to_string()),
                "remembered_hosts": f.state.remembered.len(),
            })
            .to_string()
        }
        (Some(l), false) => {
            let f = l.content();
            let first = f.first_token();
            let period = first
                .period()
                .map_or_else(|| "none (HOTP)".to_string(), |p| format!("{p} s"));
            format!(
                "{}: enrolled\n  secret file: {}\n  tokens: {}\n  algorithm: {}\n  digits: {}\n  period: {}\n  recovery codes left: {}\n  created: {}\n  remembered hosts: {}",
                target.user.name,
                path.display(),
                f.token_count(),
                first.algorithm.name(),
                first.digits,
                period,
                f.recovery.len(),
                f.created.map_or_else(|| "unknown".to_string(), |c| c.to_string()),
                f.state.remembered.len(),
            )
        }
    };
    print_out(&format!("{text}\n"))
}
