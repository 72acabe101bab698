//! "Hosts" for the store=ldap tests: each [`LdapHost`] is what one server of a fleet has, a
//! private pam.d directory with a `store=ldap` service, its own `ldap.toml` and bind password
//! file (root-owned, mode 0600, as the module demands), and its own captured log. Two hosts
//! pointed at one [`Slapd`] share the directory's watermark and nothing else.
//!
//! Also the directory content the login tests need beyond [`crate::slapd`]'s TOTP helpers:
//! HOTP parameter and token entries, users with either or both token kinds, recovery codes
//! (hashed by the core's own [`RecoveryHash`]) on a token entry.

use crate::slapd::{
    base32_decode, base64_encode, params_dn, token_dn, user_dn, Slapd, HMAC_SHA1, PEOPLE,
    RECOVERY_ATTR, RECOVERY_CLASS, SERVICE_DN, SERVICE_PASSWORD,
};
use crate::{driver_path, module_path, write_private, Env, Login, Run};
use pam_totp_core::recovery::RecoveryHash;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How a host reaches the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `ldaps://127.0.0.1:PORT`, trusting the test CA, simple bind as [`SERVICE_DN`].
    Ldaps,
    /// `ldap://127.0.0.1:PORT` (StartTLS before the bind), test CA, simple bind.
    StartTls,
    /// `ldapi://SOCKET`, simple bind as [`SERVICE_DN`] (no TLS, no CA).
    Ldapi,
    /// `ldapi://SOCKET` without `bind_dn`: SASL EXTERNAL as root, which a slapd started
    /// with [`crate::slapd::EXTERNAL_AS_SERVICE`] maps to [`SERVICE_DN`].
    LdapiExternal,
}

/// The settings of one `ldap.toml`.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// `uri =`
    pub uri: String,
    /// `base =`
    pub base: String,
    /// `bind_dn =` and the password written to `bind_password_file`.
    pub bind: Option<(String, String)>,
    /// `ca_file =`
    pub ca_file: Option<PathBuf>,
    /// `timeout =` (seconds); None leaves the default.
    pub timeout: Option<u64>,
}

impl HostConfig {
    /// The configuration of a host that reaches `slapd` over `transport`.
    pub fn new(slapd: &Slapd, transport: Transport) -> HostConfig {
        let service = Some((SERVICE_DN.to_string(), SERVICE_PASSWORD.to_string()));
        let (uri, bind, ca_file) = match transport {
            Transport::Ldaps => (slapd.ldaps_url(), service, Some(slapd.ca_cert())),
            Transport::StartTls => (slapd.ldap_url(), service, Some(slapd.ca_cert())),
            Transport::Ldapi => (slapd.ldapi_url(), service, None),
            Transport::LdapiExternal => (slapd.ldapi_url(), None, None),
        };
        HostConfig {
            uri,
            base: PEOPLE.to_string(),
            bind,
            ca_file,
            timeout: None,
        }
    }

    /// The same with `timeout = seconds`.
    pub fn timeout(mut self, seconds: u64) -> HostConfig {
        self.timeout = Some(seconds);
        self
    }

    /// The text of `ldap.toml`, with `password_file` as `bind_password_file`.
    pub fn toml(&self, password_file: &Path) -> String {
        let mut text = format!("uri = {:?}\nbase = {:?}\n", self.uri, self.base);
        if let Some((dn, _)) = &self.bind {
            text.push_str(&format!(
                "bind_dn = {dn:?}\nbind_password_file = {:?}\n",
                password_file.display().to_string()
            ));
        }
        if let Some(ca) = &self.ca_file {
            text.push_str(&format!("ca_file = {:?}\n", ca.display().to_string()));
        }
        if let Some(t) = self.timeout {
            text.push_str(&format!("timeout = {t}\n"));
        }
        text
    }
}

/// One "host": an [`Env`] (pam.d directory and log) with its own `ldap.toml`.
pub struct LdapHost {
    /// The host's pam.d directory, log and temporary files.
    pub env: Env,
    /// What its `ldap.toml` says now.
    pub config: HostConfig,
}

/// The result of one [`LdapHost::burst`]: the `AUTH` code of every transaction.
#[derive(Debug, Clone)]
pub struct Burst {
    /// pam_authenticate's return code of each transaction, in the order they finished.
    pub rcs: Vec<i32>,
    /// The driver's whole output.
    pub stdout: String,
    /// The driver's error output.
    pub stderr: String,
}

impl Burst {
    fn from_output(out: &Output) -> Burst {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let rcs = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("AUTH ")?.parse().ok())
            .collect();
        Burst {
            rcs,
            stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// How many transactions returned `rc`.
    pub fn count(&self, rc: i32) -> usize {
        self.rcs.iter().filter(|r| **r == rc).count()
    }
}

impl LdapHost {
    /// A host reaching `slapd` over `transport` with the module's default timeout.
    pub fn new(slapd: &Slapd, transport: Transport) -> LdapHost {
        LdapHost::with_config(HostConfig::new(slapd, transport))
    }

    /// A host with the given configuration (written at once, root-owned, mode 0600).
    pub fn with_config(config: HostConfig) -> LdapHost {
        let host = LdapHost {
            env: Env::new(),
            config,
        };
        host.write_config();
        host
    }

    /// The host's `ldap.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.env.dir.path().join("ldap.toml")
    }

    /// The host's bind password file.
    pub fn password_path(&self) -> PathBuf {
        self.env.dir.path().join("ldap.secret")
    }

    /// (Re)writes `ldap.toml` and the password file from [`LdapHost::config`], both
    /// root-owned (the tests run as root) with mode 0600.
    pub fn write_config(&self) {
        write_private(
            &self.config_path(),
            &self.config.toml(&self.password_path()),
        );
        match &self.config.bind {
            Some((_, password)) => write_private(&self.password_path(), &format!("{password}\n")),
            None => {
                let _ = fs::remove_file(self.password_path());
            }
        }
    }

    /// Changes the configuration and writes it.
    pub fn reconfigure(&mut self, change: impl FnOnce(&mut HostConfig)) {
        change(&mut self.config);
        self.write_config();
    }

    /// Sets the mode of `ldap.toml`.
    pub fn chmod_config(&self, mode: u32) {
        fs::set_permissions(self.config_path(), fs::Permissions::from_mode(mode))
            .expect("chmod ldap.toml");
    }

    /// The pam.d line's options for this host: `store=ldap ldap_config=PATH`.
    pub fn store_options(&self) -> String {
        format!("store=ldap ldap_config={}", self.config_path().display())
    }

    /// Writes service `name`: `auth required pam_totp.so store=ldap ldap_config=... OPTIONS`,
    /// then the lines of `rest` (e.g. `auth required pam_permit.so\n` after `nullok`).
    pub fn service(&self, name: &str, options: &str, rest: &str) {
        self.env.service(
            name,
            &format!(
                "auth required {} {} {options}\n{rest}",
                module_path().display(),
                self.store_options()
            ),
        );
    }

    /// Authenticates the current user against `service` (one driver process).
    pub fn login(&self, service: &str, answers: &[&str]) -> Login {
        self.env.login(service, answers)
    }

    /// [`LdapHost::login`] by a user who thinks `think` before answering each prompt.
    pub fn login_thinking(&self, service: &str, answers: &[&str], think: Duration) -> Login {
        let ms = think.as_millis().to_string();
        self.env.run(&Run {
            service,
            answers,
            extra: &["--think", &ms],
            ..Run::default()
        })
    }

    /// [`LdapHost::login`], and how long the driver took.
    pub fn timed_login(&self, service: &str, answers: &[&str]) -> (Login, Duration) {
        let began = Instant::now();
        let login = self.login(service, answers);
        (login, began.elapsed())
    }

    /// Authenticates test user `user` (who exists in the mount namespace of `users`' files).
    pub fn login_as(
        &self,
        users: &crate::FakeUsers,
        user: &str,
        service: &str,
        answers: &[&str],
    ) -> Login {
        let binds = users.binds();
        self.env.run(&Run {
            service,
            answers,
            user: Some(user),
            passwd: Some(&users.passwd),
            binds: &binds[1..],
            ..Run::default()
        })
    }

    /// Starts one driver process (this host) that runs `logins` transactions for the current
    /// user at once, each answering `answer`, released together at `start_at_ms` (Unix
    /// milliseconds). Wait for it with [`finish_burst`].
    pub fn spawn_burst(
        &self,
        service: &str,
        answer: &str,
        logins: usize,
        start_at_ms: u128,
    ) -> std::process::Child {
        let mut cmd = Command::new(driver_path());
        cmd.arg("--confdir")
            .arg(self.env.dir.path().join("pam.d"))
            .args(["--service", service, "--user", &self.env.user])
            .args(["--answer", answer])
            .args(["--logins", &logins.to_string()])
            .args(["--start-at", &start_at_ms.to_string()]);
        self.env
            .capture_syslog(&mut cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn().expect("spawn pam-driver --logins")
    }

    /// The captured log of this host.
    pub fn log(&self) -> String {
        self.env.log()
    }
}

/// Waits for a driver started by [`LdapHost::spawn_burst`].
pub fn finish_burst(child: std::process::Child) -> Burst {
    let out = child.wait_with_output().expect("wait for pam-driver");
    assert!(
        out.status.success(),
        "pam-driver --logins did not exit normally: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Burst::from_output(&out)
}

/// The HOTP parameters of an `oathHOTPParams` entry.
#[derive(Debug, Clone)]
pub struct HotpParams {
    /// oathOTPLength
    pub digits: u32,
    /// oathHMACAlgorithm (an OID)
    pub algorithm: String,
    /// oathHOTPLookAhead
    pub look_ahead: u32,
}

impl Default for HotpParams {
    fn default() -> Self {
        HotpParams {
            digits: 6,
            algorithm: HMAC_SHA1.into(),
            look_ahead: 3,
        }
    }
}

/// LDIF for the HOTP parameter entry `cn` (`device` + `oathHOTPParams`) under
/// [`crate::slapd::PARAMS`].
pub fn hotp_params_ldif(cn: &str, params: &HotpParams) -> String {
    format!(
        "dn: {}\nobjectClass: device\nobjectClass: oathHOTPParams\ncn: {cn}\n\
         oathOTPLength: {}\noathHMACAlgorithm: {}\noathHOTPLookAhead: {}\n",
        params_dn(cn),
        params.digits,
        params.algorithm,
        params.look_ahead
    )
}

/// LDIF for the HOTP token entry `cn` (`device` + `oathHOTPToken`) under
/// [`crate::slapd::TOKENS`], with the raw key of the base32 `secret` and, when given, the
/// last used counter.
pub fn hotp_token_ldif(cn: &str, params_cn: &str, secret: &str, counter: Option<u64>) -> String {
    let mut ldif = format!(
        "dn: {}\nobjectClass: device\nobjectClass: oathHOTPToken\ncn: {cn}\n\
         oathHOTPParams: {}\noathSecret:: {}\n",
        token_dn(cn),
        params_dn(params_cn),
        base64_encode(&base32_decode(secret))
    );
    if let Some(c) = counter {
        ldif.push_str(&format!("oathHOTPCounter: {c}\n"));
    }
    ldif
}

/// LDIF for user `uid` (`inetOrgPerson`, `userPassword: password`) with a TOTP token entry
/// `totp` (class `oathTOTPUser`) and/or an HOTP token entry `hotp` (class `oathHOTPUser`).
/// `hotp_class_only`: class `oathHOTPUser` without any `oathHOTPToken` (an OATH user who has
/// no token: not enrolled).
pub fn oath_user_ldif(
    uid: &str,
    password: &str,
    totp: Option<&str>,
    hotp: Option<&str>,
    hotp_class_only: bool,
) -> String {
    let mut ldif = format!(
        "dn: {}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\n\
         userPassword: {password}\n",
        user_dn(uid)
    );
    if let Some(t) = totp {
        ldif.push_str(&format!(
            "objectClass: oathTOTPUser\noathTOTPToken: {}\n",
            token_dn(t)
        ));
    }
    if hotp.is_some() || hotp_class_only {
        ldif.push_str("objectClass: oathHOTPUser\n");
    }
    if let Some(h) = hotp {
        ldif.push_str(&format!("oathHOTPToken: {}\n", token_dn(h)));
    }
    ldif
}

/// The stored form of recovery code `code` (`sha256$salt$hash`), made by the core's own
/// [`RecoveryHash`] with a salt derived from `n`.
pub fn recovery_value(code: &str, n: u8) -> String {
    RecoveryHash::new([n.wrapping_add(0x40); 16], code)
        .expect("a recovery code the core accepts")
        .encode()
}

/// Adds class [`RECOVERY_CLASS`] and one [`RECOVERY_ATTR`] value per code to token entry
/// `token_cn` (as the administrator). Returns the stored values, in order.
pub fn add_recovery_codes(slapd: &Slapd, token_cn: &str, codes: &[&str]) -> Vec<String> {
    let values: Vec<String> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| recovery_value(c, i as u8))
        .collect();
    let mut ldif = format!(
        "dn: {}\nchangetype: modify\nadd: objectClass\nobjectClass: {RECOVERY_CLASS}\n-\n\
         add: {RECOVERY_ATTR}\n",
        token_dn(token_cn)
    );
    for v in &values {
        ldif.push_str(&format!("{RECOVERY_ATTR}: {v}\n"));
    }
    slapd.modify_ldif(&ldif);
    values
}

/// All values of `attr` of entry `dn`, read by the service account (which reads everything).
pub fn values(slapd: &Slapd, dn: &str, attr: &str) -> Vec<String> {
    slapd
        .values_as(SERVICE_DN, SERVICE_PASSWORD, dn, attr)
        .unwrap_or_else(|run| panic!("search {dn} {attr}: {run:?}"))
}

/// Asserts that `log` contains at least one of `any` (case-insensitive): for log lines whose
/// exact wording belongs to the module, the test names the words that must be there.
pub fn assert_log_mentions(log: &str, any: &[&str], what: &str) {
    let lower = log.to_lowercase();
    assert!(
        any.iter().any(|w| lower.contains(&w.to_lowercase())),
        "{what}: the log should mention one of {any:?}:\n{log}"
    );
}

/// The TOTP parameter entry [`load_totp_user`] uses (SHA1, 6 digits, 30 s, window 1).
pub const TOTP_PARAMS: &str = "totp-sha1-6";
/// The HOTP parameter entry [`load_hotp_user`] uses (SHA1, 6 digits, look-ahead 3).
pub const HOTP_PARAMS: &str = "hotp-sha1-6";

/// Loads both parameter entries ([`TOTP_PARAMS`], [`HOTP_PARAMS`]).
pub fn load_params(slapd: &Slapd) {
    slapd.add_ldif(&crate::slapd::totp_params_ldif(
        TOTP_PARAMS,
        &crate::slapd::TotpParams::default(),
    ));
    slapd.add_ldif(&hotp_params_ldif(HOTP_PARAMS, &HotpParams::default()));
}

/// Loads a TOTP token entry `<uid>-phone` (key `secret`, [`TOTP_PARAMS`]) and user `uid`
/// (password `<uid>pw`) naming it; returns the token's DN. [`load_params`] first.
pub fn load_totp_user(slapd: &Slapd, uid: &str, secret: &str) -> String {
    let token = format!("{uid}-phone");
    slapd.add_ldif(&crate::slapd::totp_token_ldif(&token, TOTP_PARAMS, secret));
    slapd.add_ldif(&oath_user_ldif(
        uid,
        &format!("{uid}pw"),
        Some(&token),
        None,
        false,
    ));
    token_dn(&token)
}

/// Loads an HOTP token entry `<uid>-fob` (key `secret`, [`HOTP_PARAMS`], no counter used)
/// and user `uid` naming it; returns the token's DN. [`load_params`] first.
pub fn load_hotp_user(slapd: &Slapd, uid: &str, secret: &str) -> String {
    let token = format!("{uid}-fob");
    slapd.add_ldif(&hotp_token_ldif(&token, HOTP_PARAMS, secret, None));
    slapd.add_ldif(&oath_user_ldif(
        uid,
        &format!("{uid}pw"),
        None,
        Some(&token),
        false,
    ));
    token_dn(&token)
}
