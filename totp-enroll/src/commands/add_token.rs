//! `add-token`: a second phone or a hardware HOTP token beside the existing ones. The new
//! token's first code is checked before the file is changed, and stored as used.

use super::enroll::{confirm_first_code, issuer_and_account, new_secret, show_key};
use super::{audit_token_change, print_out};
use crate::audit::Action;
use crate::cli::AddTokenArgs;
use crate::error::CliError;
use crate::input::PROMPT;
use crate::json;
use crate::target::Target;
use pam_totp_core::enrollment::FIRST_CODE_POLICY;
use pam_totp_core::hex;
use pam_totp_core::otpauth::{grouped_key, otpauth_hotp_uri, otpauth_uri, UriParams};
use pam_totp_core::secret_file::{Algorithm, SecretFile};
use pam_totp_core::token::{Token, TokenError, TokenKind, MAX_TOKENS};
use pam_totp_core::verify::{Matched, Policy};
use zeroize::Zeroizing;

/// Runs `add-token`; `issuer` is the site's default issuer (the app shows it, as for
/// `enroll`).
pub fn run(target: &Target, args: &AddTokenArgs, issuer: Option<String>) -> Result<(), CliError> {
    let path = target.display_path();
    let loaded = target
        .load()?
        .ok_or_else(|| CliError::NotEnrolled(path.clone()))?;
    // Refuse before showing anything, so that no one sets up a key that will not be stored.
    refuse_early(loaded.content(), &args.name).map_err(|source| CliError::Token {
        path: path.clone(),
        source,
    })?;

    let (token, uri) = new_token(args, &target.user.name, issuer)?;
    let mark = first_code_mark(&token, args.counter, || {
        CliError::WrongCode(target.display_path())
    })?;
    let mut locked = loaded.lock().map_err(|e| target.store_error(e))?;
    locked
        .content_mut()
        .add_token(token.clone(), Some(mark))
        .map_err(|source| CliError::Token {
            path: path.clone(),
            source,
        })?;
    locked.save().map_err(|e| target.store_error(e))?;
    audit_token_change(target, Action::AddToken, &token.name);
    print_added(
        &token,
        &uri,
        mark,
        args.json,
        &format!("{}; secret file: {}", target.user.name, path.display()),
    )
}

/// The new token `args` describe (with a new random key unless `--secret` gives one) for
/// `user`, shown as a QR code with its details; returns it with its otpauth URI.
pub(super) fn new_token(
    args: &AddTokenArgs,
    user: &str,
    issuer: Option<String>,
) -> Result<(Token, Zeroizing<String>), CliError> {
    let secret = match &args.secret {
        Some(s) => s.clone(),
        None => new_secret()?,
    };
    let algorithm = Algorithm::from(args.algorithm);
    let token = if args.hotp {
        Token::hotp(&args.name, secret, algorithm, args.digits)
    } else {
        Token::totp(&args.name, secret, algorithm, args.digits, args.period)
    };
    let (issuer, account) = issuer_and_account(user, issuer, None);
    let uri_params = UriParams {
        secret: &token.secret,
        issuer: &issuer,
        account: &account,
        algorithm,
        digits: args.digits,
        period: args.period,
    };
    let uri = match token.kind {
        TokenKind::Totp { .. } => otpauth_uri(&uri_params),
        TokenKind::Hotp => otpauth_hotp_uri(&uri_params, args.counter),
    };
    show_key(
        &uri,
        &details(&token, &uri, args.counter),
        args.json,
        args.secret.is_some(),
        args.no_qr,
    )?;
    Ok((token, uri))
}

/// Prints what `add-token` added: the JSON object, or a line naming the user and the place
/// (`owner_and_place`).
pub(super) fn print_added(
    token: &Token,
    uri: &str,
    mark: u64,
    json: bool,
    owner_and_place: &str,
) -> Result<(), CliError> {
    if json {
        let b32 = token.secret.to_base32();
        let mut out = json::Object::new()
            .string("name", &token.name)
            .string("type", token.kind.as_str());
        out = match token.kind {
            TokenKind::Totp { .. } => out.string("otpauth_uri", uri).string("secret", &b32),
            TokenKind::Hotp => out
                .string("secret", &b32)
                .number("counter", mark.saturating_add(1)),
        };
        let mut text = out.finish();
        text.push('\n');
        print_out(&text)
    } else {
        print_out(&format!(
            "Code accepted. Token \"{}\" ({}) added for {owner_and_place}\n",
            token.name,
            token.kind.as_str().to_uppercase(),
        ))
    }
}

/// The name rule, a duplicate name and a ninth token, as [`SecretFile::add_token`] checks
/// them again under the lock.
pub(super) fn refuse_early(file: &SecretFile, name: &str) -> Result<(), TokenError> {
    pam_totp_core::token::check_name(name)?;
    if file.token_index(name).is_some() {
        return Err(TokenError::Duplicate(name.to_string()));
    }
    if file.token_count() >= MAX_TOKENS {
        return Err(TokenError::TooMany);
    }
    Ok(())
}

/// The lines under the QR code: the URI and the key (base32; for HOTP also in hex, as
/// hardware token tools take it, and the counter).
pub(super) fn details(token: &Token, uri: &str, counter: u64) -> Zeroizing<String> {
    let key = grouped_key(&token.secret);
    let mut text = Zeroizing::new(format!("  URI: {uri}\n  Key: {}", key.as_str()));
    if token.kind == TokenKind::Hotp {
        let hex = Zeroizing::new(hex::encode(token.secret.as_bytes()));
        text.push_str("\n  Key (hex): ");
        text.push_str(&hex);
    }
    text.push_str(&format!(
        "\n  Token: {} ({}, {}, {} digits",
        token.name,
        token.kind.as_str().to_uppercase(),
        token.algorithm.name(),
        token.digits
    ));
    match token.kind {
        TokenKind::Totp { period } => text.push_str(&format!(", a new code every {period} s)")),
        TokenKind::Hotp => text.push_str(&format!(", first code: counter {counter})")),
    }
    text
}

/// Asks for the new token's first code and returns its mark: the accepted time step (TOTP) or
/// counter (HOTP), so that the next login needs a later code. An HOTP token's code must be
/// the one at `counter` exactly.
pub(super) fn first_code_mark(
    token: &Token,
    counter: u64,
    wrong: impl FnOnce() -> CliError,
) -> Result<u64, CliError> {
    // A file holding the new token alone, checked as a login would check it.
    let mut alone = SecretFile::with_token(token.clone());
    let (policy, prompt) = match token.kind {
        TokenKind::Totp { .. } => (FIRST_CODE_POLICY, PROMPT.to_string()),
        TokenKind::Hotp => {
            if let Some(used) = counter.checked_sub(1) {
                alone.set_mark(0, used);
            }
            (
                Policy {
                    hotp_window: 1,
                    ..FIRST_CODE_POLICY
                },
                format!("Enter the token's code for counter {counter}: "),
            )
        }
    };
    match confirm_first_code(&mut alone, policy, &prompt, wrong)? {
        Matched::Step { step, .. } => Ok(step),
        Matched::Counter(c) => Ok(c),
    }
}
