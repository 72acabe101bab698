//! Command line arguments (clap derive). Usage errors exit with status 2.

use clap::{Args, Parser, Subcommand, ValueEnum};
use pam_totp_core::params;
use pam_totp_core::remember;
use pam_totp_core::secret::{SecretError, TotpSecret};
use pam_totp_core::secret_file::{Algorithm, MAX_PERIOD};
use pam_totp_core::token;
use std::path::PathBuf;

/// Where `--ldap-config` points unless given: the module's configuration.
pub use pam_totp_directory::DEFAULT_CONFIG as DEFAULT_LDAP_CONFIG;

const AFTER_HELP: &str = "\
Without a command, totp-enroll runs `enroll`.

Examples:
  totp-enroll                          enroll yourself: scan the QR code, type a code
  totp-enroll enroll --force           replace your enrollment (new key, new recovery codes)
  oathtool --totp -b \"$S\" | totp-enroll enroll --secret \"$S\" --json
                                       enroll from a script with a given key
  totp-enroll status --json            is this account enrolled, how many recovery codes are left
  totp-enroll recovery-codes           new recovery codes (asks for a current code first)
  sudo totp-enroll --user alice remove root: turn the second factor off for a locked-out user
  totp-enroll import-google-authenticator
                                       keep the phone's existing google-authenticator entry
  sudo totp-enroll --user alice --secret-file '/var/lib/pam_totp/%u.toml' enroll
                                       files in a root-owned directory (match the pam.d secret=)
  sudo totp-enroll report --not-enrolled
                                       root: who has not enrolled yet
  sudo totp-enroll --user alice forget-hosts
                                       ask alice for a code again from every host (remember=)
  totp-enroll add-token --name spare-phone
                                       a second phone (or a hardware token: --hotp)
  totp-enroll tokens                   list the tokens (names and parameters, never keys)
  sudo totp-enroll --store ldap --ldap-config /etc/pam_totp/ldap-admin.toml --user alice enroll
                                       enroll a directory user (the config's bind_dn writes)

--store ldap acts on the user's OATH-LDAP entries (uid=NAME below base=) instead of a file,
bound as the LDAP configuration says (default /etc/pam_totp/ldap.toml, the module's, whose
bind_dn may only read keys and write login state): point --ldap-config at a root-only
configuration whose bind_dn may write users' entries. With --store ldap: enroll, status,
recovery-codes, remove, add-token (at most one TOTP and one HOTP token) and tokens.

Every change (enroll, recovery-codes, remove, import-google-authenticator,
import-oath-usersfile, import-pskc, forget-hosts, add-token, remove-token, resync) is logged
to syslog (authpriv, ident totp-enroll) with the user, the caller's uid and SUDO_USER.

Exit status: 0 success, 1 failure (one line on stderr naming the file and the fix),
2 usage error.";

/// `totp-enroll [--user NAME] [--secret-file TEMPLATE] <command>`.
#[derive(Debug, Parser)]
#[command(
    name = "totp-enroll",
    version,
    about = "Enroll users for the pam_totp second factor (TOTP codes from an authenticator app)",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Act for this user instead of yourself (needs root unless it is you).
    #[arg(long, value_name = "NAME", global = true)]
    pub user: Option<String>,

    /// Secret file location, the same template as the module's secret= option
    /// (~ or %h = the user's home, %u = the user name) [default: secret_file in
    /// /etc/totp-enroll.toml, else ~/.pam_totp.toml]
    #[arg(long, value_name = "TEMPLATE", global = true)]
    pub secret_file: Option<String>,

    /// Where the enrollment is kept: secret files, or the directory of the LDAP
    /// configuration (OATH-LDAP entries, as the module's store=ldap reads them).
    #[arg(long, value_enum, global = true, default_value_t = StoreArg::File)]
    pub store: StoreArg,

    /// The LDAP configuration for --store ldap: the directory, and whom to bind as (use one
    /// whose bind_dn may write users' entries, e.g. /etc/pam_totp/ldap-admin.toml)
    /// [default: /etc/pam_totp/ldap.toml]
    #[arg(long, value_name = "PATH", global = true)]
    pub ldap_config: Option<PathBuf>,

    /// What to do (`enroll` is inserted by [`with_default_command`] when none is given).
    #[command(subcommand)]
    pub command: Command,
}

/// `--store` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreArg {
    /// The secret file (`--secret-file`, `secret=`).
    File,
    /// The directory of the LDAP configuration (`--ldap-config`, `store=ldap`).
    Ldap,
}

/// Global options that take a value (skipped when looking for the command).
const VALUE_OPTIONS: &[&str] = &["--user", "--secret-file", "--store", "--ldap-config"];

/// Names that may follow the global options: the commands, and clap's help and version.
const COMMAND_WORDS: &[&str] = &[
    "enroll",
    "status",
    "recovery-codes",
    "remove",
    "import-google-authenticator",
    "import-oath-usersfile",
    "import-pskc",
    "report",
    "forget-hosts",
    "add-token",
    "tokens",
    "remove-token",
    "resync",
    "help",
    "-h",
    "--help",
    "-V",
    "--version",
];

/// Inserts `enroll` after the global options when only options follow them, so that
/// `totp-enroll`, `totp-enroll --no-qr` and `totp-enroll --user bob --force` run `enroll`.
pub fn with_default_command(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut i = 1;
    while let Some(arg) = args.get(i).and_then(|a| a.to_str()) {
        match arg {
            a if VALUE_OPTIONS.contains(&a) => i += 2,
            a if VALUE_OPTIONS
                .iter()
                .any(|o| a.strip_prefix(o).is_some_and(|v| v.starts_with('='))) =>
            {
                i += 1
            }
            _ => break,
        }
    }
    // A bare word that is no command is left for clap to report as an unknown command (with
    // a "did you mean" hint); only a command line of options gets the implicit `enroll`.
    let named = args.get(i).is_some_and(|a| {
        a.to_str()
            .is_none_or(|a| COMMAND_WORDS.contains(&a) || !a.starts_with('-'))
    });
    let mut args = args;
    if !named && i <= args.len() {
        args.insert(i, "enroll".into());
    }
    args
}

/// Parses a command line (program name first), with `enroll` as the default command.
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString>,
{
    let cli = Cli::try_parse_from(with_default_command(
        args.into_iter().map(Into::into).collect(),
    ))?;
    if matches!(cli.command, Command::Report(_)) && cli.user.is_some() {
        return Err(<Cli as clap::CommandFactory>::command().error(
            clap::error::ErrorKind::ArgumentConflict,
            "--user cannot be used with report: it lists every account of the user database",
        ));
    }
    let conflict = |message: &str| {
        <Cli as clap::CommandFactory>::command()
            .error(clap::error::ErrorKind::ArgumentConflict, message)
    };
    match cli.store {
        StoreArg::File if cli.ldap_config.is_some() => {
            return Err(conflict(
                "--ldap-config needs --store ldap (without it totp-enroll works on secret files)",
            ))
        }
        StoreArg::Ldap if cli.secret_file.is_some() => return Err(conflict(
            "--secret-file cannot be used with --store ldap: the enrollment is in the directory",
        )),
        _ => {}
    }
    Ok(cli)
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a new key, show it as a QR code, check a first code and write the secret file.
    #[command(after_help = "\
The code is read from the terminal, or from stdin when stdin is not a terminal (one line).
Only a correct code writes the file. The recovery codes are shown once, after the file is written.
--label sets the account name shown in the app (default user@host); the URI label is ISSUER:LABEL.
--secret on the command line is visible to other local users (ps); use it for provisioning only.

Examples:
  totp-enroll enroll
  totp-enroll enroll --issuer 'ACME VPN' --label alice --no-qr
  totp-enroll enroll --algorithm SHA256 --digits 8 --period 60
  oathtool --totp -b \"$S\" | totp-enroll enroll --secret \"$S\" --json")]
    Enroll(EnrollArgs),

    /// Show whether the user is enrolled, with which parameters and how many recovery codes are left.
    #[command(after_help = "\
Not enrolled is not an error: the text output says \"not enrolled\", the JSON output has
\"enrolled\": false and null for the other fields, and the exit status is 0. A secret file
that cannot be used (wrong mode, owner, syntax) is an error (exit status 1).

Examples:
  totp-enroll status
  sudo totp-enroll --user alice status --json")]
    Status(JsonArgs),

    /// Make a new set of 10 recovery codes; the old ones stop working.
    #[command(after_help = "\
Run for yourself, it first asks for a current code from your app (or one of your recovery
codes). Root acting for another user with --user is not asked.

Examples:
  totp-enroll recovery-codes
  sudo totp-enroll --user alice recovery-codes --json")]
    RecoveryCodes(JsonArgs),

    /// Delete the secret file (under its lock): turns the second factor off for the user.
    #[command(after_help = "\
This is how root recovers a locked-out user; it also clears any lockout state. Removing an
enrollment that does not exist succeeds with a note on stderr.

Examples:
  totp-enroll remove
  sudo totp-enroll --user alice remove")]
    Remove,

    /// Convert a ~/.google_authenticator file (key, scratch codes, step size) into a pam_totp file.
    #[command(after_help = "\
The phone keeps working with the same key; the scratch codes become recovery codes.
WINDOW_SIZE and RATE_LIMIT belong on the pam.d line for pam_totp (window=, rate_limit=): the
equivalent values are printed as notes. Keys of 80 to 127 bits (older google-authenticator
versions made 80) are kept, with a note that a new enrollment gives a 160-bit key.
HOTP (counter-based) files and keys shorter than 80 bits are refused; enroll those users
afresh with `totp-enroll enroll`.
The google-authenticator file is left in place: remove it once pam.d uses pam_totp.

Examples:
  totp-enroll import-google-authenticator
  sudo totp-enroll --user alice import-google-authenticator
  sudo totp-enroll --user alice import-google-authenticator /root/ga/alice --force")]
    ImportGoogleAuthenticator(ImportArgs),

    /// Import the user's tokens (HOTP, TOTP) from a pam_oath usersfile.
    #[command(after_help = "\
Takes the lines of the user (yourself, or --user as root) from a pam_oath usersfile
(TYPE USER PIN HEXKEY [COUNTER [LASTOTP [TIME]]]; HOTP, HOTP/E/N, HOTP/T30[/N], HOTP/T60[/N]).
Each line becomes a token named oath-1, oath-2... (the next free numbers). An HOTP token goes on
from where pam_oath stopped: a code pam_oath already accepted stays refused. Lines with 7-digit
codes or keys under 80 bits are refused (nothing is imported). A PIN in the line is not
imported: pam_totp takes no PIN; the password module asks for the password.
Without an enrollment, a new one is made with these tokens and new recovery codes, shown once;
with one, the tokens are added to it. No first code is asked: the keys are the site's.

Examples:
  sudo totp-enroll --user alice import-oath-usersfile /etc/users.oath
  sudo totp-enroll --user alice import-oath-usersfile /etc/users.oath --json")]
    ImportOathUsersfile(ImportOathArgs),

    /// Import HOTP and TOTP keys from an RFC 6030 (PSKC) seed file, as shipped with hardware tokens.
    #[command(after_help = "\
Plain secrets, or secrets encrypted with a pre-shared AES-128 key (--key, 32 hex digits from the
token vendor; the file's MAC is checked first, so a wrong key is refused). Each key becomes a
token named after the token's serial number (made unique: SERIAL-2...). HOTP tokens start at
the file's Counter, TOTP tokens use its TimeInterval (default 30 s). Keys with a Time origin
other than 0, unsupported digits or keys under 80 bits are refused (nothing is imported).
Without an enrollment, a new one is made with these tokens and new recovery codes, shown once;
with one, the tokens are added to it.
--key on the command line is visible to other local users (ps): give --key - to type it, or
to pipe it on stdin, instead.

Examples:
  sudo totp-enroll --user alice import-pskc tokens.pskc.xml
  sudo totp-enroll --user alice import-pskc tokens.pskc.xml --key 12345678901234567890123456789012")]
    ImportPskc(ImportPskcArgs),

    /// List every account of the user database with its state (root only).
    #[command(after_help = "\
One row per account, in the order the user database (passwd through NSS) gives them, system
accounts included: enrolled or not, tokens, recovery codes left, and the time of the last
accepted code (UTC; \"never\" when none was accepted yet). --secret-file (or secret_file in
/etc/totp-enroll.toml) says where the files are, as for the other commands. A file that
cannot be used (wrong mode or owner, a symbolic link, a damaged file) is reported on that
account's row with the reason and the fix (JSON: \"enrolled\": null and \"error\"); the
other accounts are still listed, and the exit status is 0. Accounts that NSS does not
enumerate (often SSSD or LDAP users) are not listed. Nothing is changed or logged.

Examples:
  sudo totp-enroll report
  sudo totp-enroll report --not-enrolled --json
  sudo totp-enroll --secret-file '/var/lib/pam_totp/%u.toml' report")]
    Report(ReportArgs),

    /// Drop the user's remembered hosts (remember=): all of them, or HOST only.
    #[command(after_help = "\
The next login from a forgotten host asks for a code again. HOST is compared as the module
compares PAM_RHOST: surrounding spaces ignored, letters in any case. Forgetting a host that is
not remembered, or forgetting when none is, is not an error: it is said on stdout and the exit
status is 0. A user who is not enrolled (no secret file) is an error (exit status 1).
The module's log lines name each host (rhost=); `totp-enroll status` shows how many are
stored, counting those past the module's remember= duration (the module drops them later).

Examples:
  totp-enroll forget-hosts
  sudo totp-enroll --user alice forget-hosts 203.0.113.7
  sudo totp-enroll --user alice forget-hosts --json")]
    ForgetHosts(ForgetHostsArgs),

    /// Add a named token (a spare phone, a hardware HOTP token) to an existing enrollment.
    #[command(after_help = "\
A code from any of the user's tokens is accepted at login. The new token's first code is
checked before anything is saved (TOTP: a current code; HOTP: the code at --counter, default 0),
and that code cannot be used again. The first token added turns the file into format version 3.
Names: 1 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit; at most 8
tokens per user (each token adds to a guesser's odds per check; the rate limit counts checks).
--secret on the command line is visible to other local users (ps); use it for provisioning only.

Examples:
  totp-enroll add-token --name spare-phone
  oathtool --hotp -b -c 0 \"$S\" | sudo totp-enroll --user alice add-token --name fob --hotp --secret \"$S\"
  sudo totp-enroll --user alice add-token --name safe --hotp --counter 12 --secret \"$S\" --json")]
    AddToken(AddTokenArgs),

    /// List the user's tokens: names, types and parameters, never keys.
    #[command(after_help = "\
A file written before tokens existed lists one TOTP token named default. For HOTP tokens the
counter shown is the next one the module expects.

Examples:
  totp-enroll tokens
  sudo totp-enroll --user alice tokens --json")]
    Tokens(JsonArgs),

    /// Remove one token; the last one stays (`remove` turns the second factor off).
    #[command(after_help = "\
Removing every token but a lone TOTP token named default writes the file in the format of
before tokens (version 2) again.

Examples:
  totp-enroll remove-token --name old-phone
  sudo totp-enroll --user alice remove-token --name fob")]
    RemoveToken(TokenNameArgs),

    /// Move an HOTP token's counter to where the token is: asks for two consecutive codes.
    #[command(after_help = "\
For a hardware token whose button was pressed many times away from the login prompt (more
than hotp_window= codes ahead). Press the button twice and type both codes, one per line
(terminal or stdin). They are looked for up to 1000 counter values ahead; the counter then
moves past the second. TOTP tokens have no counter: for them resync is an error.

Examples:
  totp-enroll resync --name fob
  printf '%s\\n%s\\n' 123456 654321 | sudo totp-enroll --user alice resync --name fob")]
    Resync(TokenNameArgs),
}

/// Options of `enroll`.
#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// Issuer shown in the app [default: issuer in /etc/totp-enroll.toml, else this host's name]
    #[arg(long, value_name = "TEXT", value_parser = parse_uri_text)]
    pub issuer: Option<String>,

    /// Account name shown in the app (default: user@host).
    #[arg(long, value_name = "TEXT", value_parser = parse_uri_text)]
    pub label: Option<String>,

    /// HMAC algorithm; SHA1 is what every app supports.
    #[arg(long, value_enum, ignore_case = true, default_value_t = params::DEFAULT_ALGORITHM.into())]
    pub algorithm: AlgorithmArg,

    /// Digits per code.
    #[arg(long, value_name = "6|8", default_value_t = params::DEFAULT_DIGITS, value_parser = parse_digits)]
    pub digits: u8,

    /// Seconds per code.
    #[arg(long, value_name = "SECONDS", default_value_t = params::DEFAULT_PERIOD, value_parser = clap::value_parser!(u64).range(1..=MAX_PERIOD))]
    pub period: u64,

    /// Enroll this base32 key (at least 128 bits) instead of a new random one (provisioning,
    /// migration).
    #[arg(long, value_name = "BASE32", value_parser = parse_secret)]
    pub secret: Option<TotpSecret>,

    /// Replace an existing enrollment.
    #[arg(long)]
    pub force: bool,

    /// Do not print the QR code.
    #[arg(long)]
    pub no_qr: bool,

    /// Print one JSON object (otpauth_uri, secret, recovery_codes) on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Options of `add-token`.
#[derive(Debug, Args)]
pub struct AddTokenArgs {
    /// The token's name (1 to 32 letters, digits, '.', '_' or '-').
    #[arg(long, value_name = "NAME", value_parser = parse_token_name)]
    pub name: String,

    /// A counter-based (HOTP, RFC 4226) token, as hardware key fobs are; default: TOTP.
    #[arg(long)]
    pub hotp: bool,

    /// The HOTP token's counter: the first code asked for is this counter's.
    #[arg(long, value_name = "N", requires = "hotp", default_value_t = 0)]
    pub counter: u64,

    /// This base32 key (at least 128 bits) instead of a new random one (hardware tokens,
    /// provisioning).
    #[arg(long, value_name = "BASE32", value_parser = parse_secret)]
    pub secret: Option<TotpSecret>,

    /// HMAC algorithm; SHA1 is what every app and hardware token supports.
    #[arg(long, value_enum, ignore_case = true, default_value_t = params::DEFAULT_ALGORITHM.into())]
    pub algorithm: AlgorithmArg,

    /// Digits per code.
    #[arg(long, value_name = "6|8", default_value_t = params::DEFAULT_DIGITS, value_parser = parse_digits)]
    pub digits: u8,

    /// Seconds per code (TOTP only).
    #[arg(long, value_name = "SECONDS", conflicts_with = "hotp", default_value_t = params::DEFAULT_PERIOD, value_parser = clap::value_parser!(u64).range(1..=MAX_PERIOD))]
    pub period: u64,

    /// Do not print the QR code.
    #[arg(long)]
    pub no_qr: bool,

    /// Print one JSON object on stdout: name, type, and otpauth_uri and secret (TOTP) or
    /// secret and counter, the next one (HOTP).
    #[arg(long)]
    pub json: bool,
}

/// `--name NAME` of the command that works on one token.
#[derive(Debug, Args)]
pub struct TokenNameArgs {
    /// The token's name (`totp-enroll tokens` lists them).
    #[arg(long, value_name = "NAME")]
    pub name: String,
}

/// `--json` alone.
#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Options of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Only the accounts without a secret file (who must still enroll).
    #[arg(long)]
    pub not_enrolled: bool,

    /// Print one JSON object on stdout: {"users": [{"user", "enrolled", "tokens",
    /// "recovery_codes_left", "last_success"}]}, with "error" where a file is refused.
    #[arg(long)]
    pub json: bool,
}

/// Options of `forget-hosts`.
#[derive(Debug, Args)]
pub struct ForgetHostsArgs {
    /// The host to forget, as the module saw it (PAM_RHOST: an address or a name); without
    /// it, every remembered host.
    #[arg(value_name = "HOST", value_parser = parse_host)]
    pub host: Option<String>,

    /// Print one JSON object on stdout: {"forgotten": N}.
    #[arg(long)]
    pub json: bool,
}

/// Options of `import-google-authenticator`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The google-authenticator file (default: ~/.google_authenticator of the user).
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,

    /// Replace an existing pam_totp enrollment.
    #[arg(long)]
    pub force: bool,
}

/// Options of `import-oath-usersfile`.
#[derive(Debug, Args)]
pub struct ImportOathArgs {
    /// The pam_oath usersfile (e.g. /etc/users.oath).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,

    /// Print one JSON object on stdout: {"tokens": [names added], "recovery_codes": [...]}
    /// (empty when the tokens were added to an existing enrollment).
    #[arg(long)]
    pub json: bool,
}

/// Options of `import-pskc`.
#[derive(Debug, Args)]
pub struct ImportPskcArgs {
    /// The PSKC (RFC 6030) file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The pre-shared AES-128 key of an encrypted file, 32 hex digits; `-` reads it from
    /// stdin (typed at a prompt, or piped), out of sight of ps.
    #[arg(long, value_name = "HEX")]
    pub key: Option<String>,

    /// Print one JSON object on stdout: {"tokens": [names added], "recovery_codes": [...]}
    /// (empty when the tokens were added to an existing enrollment).
    #[arg(long)]
    pub json: bool,
}

/// `--algorithm` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(clippy::upper_case_acronyms)]
pub enum AlgorithmArg {
    /// HMAC-SHA1.
    #[value(name = "SHA1")]
    SHA1,
    /// HMAC-SHA256.
    #[value(name = "SHA256")]
    SHA256,
    /// HMAC-SHA512.
    #[value(name = "SHA512")]
    SHA512,
}

impl From<Algorithm> for AlgorithmArg {
    fn from(a: Algorithm) -> Self {
        match a {
            Algorithm::SHA1 => AlgorithmArg::SHA1,
            Algorithm::SHA256 => AlgorithmArg::SHA256,
            Algorithm::SHA512 => AlgorithmArg::SHA512,
        }
    }
}

impl From<AlgorithmArg> for Algorithm {
    fn from(a: AlgorithmArg) -> Self {
        match a {
            AlgorithmArg::SHA1 => Algorithm::SHA1,
            AlgorithmArg::SHA256 => Algorithm::SHA256,
            AlgorithmArg::SHA512 => Algorithm::SHA512,
        }
    }
}

fn parse_digits(s: &str) -> Result<u8, String> {
    s.parse::<u8>()
        .ok()
        .filter(|d| params::digits_allowed(*d) && s == d.to_string())
        .ok_or_else(|| {
            let allowed: Vec<String> = params::ALLOWED_DIGITS.iter().map(u8::to_string).collect();
            format!("must be {}", allowed.join(" or "))
        })
}

/// `--secret` makes a new enrollment: RFC 4226's 128 bits at least. Shorter keys that already
/// exist (80 bits from older google-authenticator versions) come in through
/// `import-google-authenticator` only.
fn parse_secret(s: &str) -> Result<TotpSecret, String> {
    TotpSecret::from_base32_for_new(s).map_err(|e| match e {
        SecretError::TooShortForNew(_) => format!("{e}; or omit --secret for a new 160-bit key"),
        e => e.to_string(),
    })
}

/// A new token's name: see [`token::check_name`].
fn parse_token_name(s: &str) -> Result<String, String> {
    token::check_name(s).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}

/// A host for `forget-hosts`, in the form the module stores (see [`remember::normalise`]); an
/// empty or overlong host is never remembered, so naming one is a usage error.
fn parse_host(s: &str) -> Result<String, String> {
    remember::normalise(s).ok_or_else(|| {
        if s.trim().is_empty() {
            "must not be empty (omit HOST to forget every remembered host)".to_string()
        } else {
            format!(
                "is longer than {} bytes: no such host is ever remembered",
                remember::MAX_HOST_BYTES
            )
        }
    })
}

/// Issuer and account name: the Key URI Format forbids a colon in either.
pub fn parse_uri_text(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        return Err("must not be empty".to_string());
    }
    if s.contains(':') {
        return Err(
            "must not contain ':' (it separates issuer and account in the otpauth URI)".to_string(),
        );
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters".to_string());
    }
    if s.len() > 200 {
        return Err("is longer than 200 bytes".to_string());
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_command_means_enroll_with_its_flags() {
        let cli = parse_from(["totp-enroll", "--no-qr", "--digits", "8"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Enroll(EnrollArgs {
                no_qr: true,
                digits: 8,
                ..
            })
        ));
        let cli = parse_from(["totp-enroll"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Enroll(EnrollArgs {
                no_qr: false,
                digits: 6,
                period: 30,
                ..
            })
        ));
        let cli = parse_from([
            "totp-enroll",
            "--user",
            "bob",
            "--secret-file=/x/%u",
            "--force",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Enroll(EnrollArgs { force: true, .. })
        ));
        assert_eq!(cli.secret_file.as_deref(), Some("/x/%u"));
        let cli = parse_from(["totp-enroll", "--user", "bob", "status", "--json"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Status(JsonArgs { json: true })
        ));
        assert_eq!(cli.user.as_deref(), Some("bob"));
        let cli = parse_from([
            "totp-enroll",
            "status",
            "--json",
            "--user",
            "bob",
            "--secret-file",
            "/y",
        ])
        .unwrap();
        assert_eq!(
            (cli.user.as_deref(), cli.secret_file.as_deref().unwrap()),
            (Some("bob"), "/y")
        );
        assert_eq!(cli.secret_file.as_deref(), Some("/y"));
        assert!(parse_from(["totp-enroll", "--user"]).is_err());
    }

    #[test]
    fn forget_hosts_takes_one_host_in_the_compared_form() {
        let cli = parse_from([
            "totp-enroll",
            "--user",
            "bob",
            "forget-hosts",
            " Host.Example ",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::ForgetHosts(ForgetHostsArgs { host: Some(ref h), json: false }) if h == "host.example"
        ));
        let cli = parse_from(["totp-enroll", "forget-hosts", "--json"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::ForgetHosts(ForgetHostsArgs {
                host: None,
                json: true
            })
        ));
        for args in [
            &["totp-enroll", "forget-hosts", ""][..],
            &["totp-enroll", "forget-hosts", "a", "b"],
        ] {
            assert_eq!(parse_from(args).unwrap_err().exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn token_commands_and_their_usage_errors() {
        let cli = parse_from([
            "totp-enroll",
            "add-token",
            "--name",
            "fob",
            "--hotp",
            "--counter",
            "7",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::AddToken(AddTokenArgs { hotp: true, counter: 7, ref name, .. }) if name == "fob"
        ));
        let cli = parse_from(["totp-enroll", "--user", "bob", "resync", "--name", "fob"]).unwrap();
        assert!(
            matches!(cli.command, Command::Resync(TokenNameArgs { ref name }) if name == "fob")
        );
        for args in [
            &["totp-enroll", "add-token"][..],
            &["totp-enroll", "add-token", "--name", "a b"],
            &["totp-enroll", "add-token", "--name", "-x"],
            &["totp-enroll", "add-token", "--name", "x", "--counter", "3"],
            &[
                "totp-enroll",
                "add-token",
                "--name",
                "x",
                "--hotp",
                "--period",
                "60",
            ],
            &["totp-enroll", "remove-token"],
            &["totp-enroll", "resync"],
            &["totp-enroll", "tokens", "--name", "x"],
        ] {
            assert_eq!(parse_from(args).unwrap_err().exit_code(), 2, "{args:?}");
        }
        let err = parse_from(["totp-enroll", "add-token", "--name", "a/b"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("letters, digits"), "{err}");
    }

    #[test]
    fn a_misspelt_command_is_named_as_such() {
        for (args, word) in [
            (&["totp-enroll", "stauts"][..], "stauts"),
            (&["totp-enroll", "--user", "bob", "frob"], "frob"),
        ] {
            let err = parse_from(args).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::InvalidSubcommand);
            assert!(err.to_string().contains(word), "{err}");
        }
        let err = parse_from(["totp-enroll", "stauts"]).unwrap_err();
        assert!(err.to_string().contains("'status'"), "{err}");
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for args in [
            &["totp-enroll", "enroll", "--digits", "7"][..],
            &["totp-enroll", "--bogus"],
            &["totp-enroll", "remove", "--force"],
            &["totp-enroll", "enroll", "--period", "0"],
            &["totp-enroll", "enroll", "--algorithm", "MD5"],
            &["totp-enroll", "enroll", "--secret", "2SH3V3GDW7ZNMGYE"],
            &["totp-enroll", "enroll", "--issuer", "a:b"],
            &["totp-enroll", "frobnicate"],
            &["totp-enroll", "--no-qr", "status"],
        ] {
            let err = parse_from(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
        // A new enrollment's key has at least 128 bits; the message names the way for older
        // 80-bit keys.
        let err = parse_from(["totp-enroll", "enroll", "--secret", "2SH3V3GDW7ZNMGYE"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("80 bits")
                && err.contains("at least 128")
                && err.contains("import-google-authenticator")
                && err.contains("omit --secret for a new 160-bit key"),
            "{err}"
        );
        let cli = parse_from([
            "totp-enroll",
            "enroll",
            "--secret",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Enroll(EnrollArgs {
                secret: Some(_),
                ..
            })
        ));
        let cli = parse_from(["totp-enroll", "enroll", "--algorithm", "sha256"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Enroll(EnrollArgs {
                algorithm: AlgorithmArg::SHA256,
                ..
            })
        ));
        assert_eq!(
            parse_from(["totp-enroll", "--help"])
                .unwrap_err()
                .exit_code(),
            0
        );
    }

    #[test]
    fn store_options_are_global_and_checked() {
        let cli = parse_from([
            "totp-enroll",
            "--store",
            "ldap",
            "--ldap-config=/etc/pam_totp/ldap-admin.toml",
            "--user",
            "alice",
            "--force",
        ])
        .unwrap();
        assert_eq!(cli.store, StoreArg::Ldap);
        assert_eq!(
            cli.ldap_config.as_deref(),
            Some(std::path::Path::new("/etc/pam_totp/ldap-admin.toml"))
        );
        assert!(matches!(
            cli.command,
            Command::Enroll(EnrollArgs { force: true, .. })
        ));
        let cli = parse_from(["totp-enroll", "status", "--store=ldap", "--json"]).unwrap();
        assert_eq!((cli.store, cli.ldap_config), (StoreArg::Ldap, None));
        assert_eq!(parse_from(["totp-enroll"]).unwrap().store, StoreArg::File);
        for args in [
            &["totp-enroll", "--ldap-config", "/x", "status"][..],
            &[
                "totp-enroll",
                "--store",
                "ldap",
                "--secret-file",
                "/x",
                "status",
            ],
            &["totp-enroll", "--store", "nis", "status"],
            &["totp-enroll", "--store"],
        ] {
            assert_eq!(parse_from(args).unwrap_err().exit_code(), 2, "{args:?}");
        }
    }
}
