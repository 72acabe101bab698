//! A throwaway OpenLDAP server for the LDAP store's tests: Debian's slapd, extracted into
//! `target/slapd-root` by `tests/install-slapd.sh`, with the `otp` overlay (slapo-otp) on an
//! mdb database, TLS with a test CA, ldaps and ldap on free 127.0.0.1 ports, and ldapi in a
//! temporary directory. [`Slapd::start`] writes the configuration and waits (bounded) until the
//! server answers; dropping the [`Slapd`] kills its process group and removes the directory,
//! also when the test panics. The clients (`ldapadd`, `ldapsearch`, `ldapwhoami`) come from
//! the same extracted tree and never read the host's `/etc/ldap/ldap.conf`.
//!
//! Fixed names: suffix [`SUFFIX`], administrator (the database rootdn) [`ADMIN_DN`], the
//! service account pam_totp binds as [`SERVICE_DN`], users under [`PEOPLE`], tokens under
//! [`TOKENS`], parameter entries under [`PARAMS`]. The ACLs are the ones of
//! docs/design/ldap-store.md: anonymous may only authenticate (userPassword), the service
//! account reads everything (oathSecret included) and writes the login-state attributes
//! ([`STATE_ATTRS`], recovery codes included), nobody else reads anything except two
//! accounts for ACL faults: [`READER_DN`] reads everything and writes nothing, and
//! [`AUDITOR_DN`] reads everything but `oathSecret`. [`EXTERNAL_AS_SERVICE`] (for
//! [`Slapd::start_with`]) maps root's SASL EXTERNAL identity over ldapi to the service
//! account, as a host whose `ldap.toml` has no `bind_dn` needs. The configuration
//! includes pam_totp's own schema, `packaging/ldap/pam_totp.schema` ([`schema_file`]). slapo-otp writes its watermark as the
//! rootdn, so it needs no ACL.

use crate::consumers::{free_port, run_bounded, Ran};
use crate::{in_ci, openssl, tool};
use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The directory's suffix.
pub const SUFFIX: &str = "dc=example,dc=org";
/// The administrator: the database's rootdn.
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=org";
/// The administrator's password (test only).
pub const ADMIN_PASSWORD: &str = "admin-test-pw";
/// The service account pam_totp binds as (read everything, write [`STATE_ATTRS`]).
pub const SERVICE_DN: &str = "cn=pam_totp,dc=example,dc=org";
/// The service account's password (test only).
pub const SERVICE_PASSWORD: &str = "service-test-pw";
/// An account that reads everything, secrets included, and may write nothing (a service
/// account whose write ACL is missing).
pub const READER_DN: &str = "cn=reader,dc=example,dc=org";
/// An account that reads everything except `oathSecret` (a service account whose ACL
/// forgot the secrets).
pub const AUDITOR_DN: &str = "cn=auditor,dc=example,dc=org";
/// The password of [`READER_DN`] and [`AUDITOR_DN`] (test only).
pub const LIMITED_PASSWORD: &str = "limited-test-pw";
/// Where users live.
pub const PEOPLE: &str = "ou=people,dc=example,dc=org";
/// Where token entries live.
pub const TOKENS: &str = "ou=tokens,dc=example,dc=org";
/// Where parameter entries live.
pub const PARAMS: &str = "ou=params,dc=example,dc=org";
/// The login-state attributes the service account may write.
pub const STATE_ATTRS: &[&str] = &[
    "oathTOTPLastTimeStep",
    "oathHOTPCounter",
    "oathFailureCount",
    "oathLastFailure",
    RECOVERY_ATTR,
];
/// pam_totp's auxiliary class for recovery codes (packaging/ldap/pam_totp.schema), which goes
/// on the token entry.
pub const RECOVERY_CLASS: &str = "pamTotpRecovery";
/// The multi-valued attribute of [`RECOVERY_CLASS`]: one `sha256$salt$hash` value per unused
/// recovery code.
pub const RECOVERY_ATTR: &str = "pamTotpRecoveryCode";
/// The OID slapo-otp knows HMAC-SHA1 by (RFC 8018).
pub const HMAC_SHA1: &str = "1.2.840.113549.2.7";

/// The longest a slapd lives: `timeout` kills it then even when the test process was killed
/// before it could drop the [`Slapd`].
const LIFETIME: Duration = Duration::from_secs(900);
/// The longest a start may take before the test fails.
const START_LIMIT: Duration = Duration::from_secs(15);
/// The longest a client run may take.
const CLIENT_LIMIT: Duration = Duration::from_secs(15);

/// pam_totp's schema in slapd.conf form (`packaging/ldap/pam_totp.schema`).
pub fn schema_file() -> PathBuf {
    crate::workspace_root().join("packaging/ldap/pam_totp.schema")
}

/// pam_totp's schema in cn=config form (`packaging/ldap/pam_totp.ldif`).
pub fn schema_ldif() -> PathBuf {
    crate::workspace_root().join("packaging/ldap/pam_totp.ldif")
}

/// Where `tests/install-slapd.sh` extracted slapd and the clients: `$PAM_TOTP_SLAPD_ROOT`, or
/// `slapd-root` in the target directory.
pub fn slapd_root() -> PathBuf {
    if let Ok(p) = std::env::var("PAM_TOTP_SLAPD_ROOT") {
        return PathBuf::from(p);
    }
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| crate::workspace_root().join("target"))
        .join("slapd-root")
}

/// True when the extracted slapd with the otp overlay is there.
pub fn slapd_available() -> bool {
    let root = slapd_root();
    root.join("usr/sbin/slapd").exists() && root.join("usr/lib/ldap/otp.la").exists()
}

/// Whether the test `test` can use slapd: true when it is extracted; otherwise it says
/// SKIPPED and returns false, except in CI ([`in_ci`]), where a missing slapd fails the test.
/// Tests call it through [`needs_slapd!`](crate::needs_slapd).
pub fn needs_slapd(test: &str) -> bool {
    if slapd_available() {
        return true;
    }
    let root = slapd_root();
    assert!(
        !in_ci(),
        "{test} needs slapd in {}: run tests/install-deps.sh (or tests/install-slapd.sh)",
        root.display()
    );
    eprintln!(
        "SKIPPED {test}: no slapd in {} (run tests/install-slapd.sh)",
        root.display()
    );
    false
}

/// Returns from the enclosing test when slapd is not extracted (see [`needs_slapd`]). Write
/// `needs_root!(); needs_slapd!();` as a test's first statements (slapd runs as root).
#[macro_export]
macro_rules! needs_slapd {
    () => {{
        fn here() {}
        if !$crate::slapd::needs_slapd($crate::enclosing_fn(::std::any::type_name_of_val(&here))) {
            return;
        }
    }};
}

/// The directory of the extracted tree's shared libraries (libslapi ships in the slapd package).
fn library_dir(root: &Path) -> PathBuf {
    let lib = root.join("usr/lib");
    fs::read_dir(&lib)
        .unwrap_or_else(|e| panic!("read {}: {e}", lib.display()))
        .flatten()
        .map(|e| e.path())
        .find(|p| has_slapi(p))
        .unwrap_or_else(|| {
            panic!(
                "no libslapi under {}: rerun tests/install-slapd.sh",
                lib.display()
            )
        })
}

fn has_slapi(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("libslapi-"))
    })
}

/// Percent-encodes a socket path for an `ldapi://` URL.
fn url_encode(path: &Path) -> String {
    path.to_string_lossy()
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Decodes base32 (RFC 4648; upper or lower case, padding and spaces ignored).
pub fn base32_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| *c != '=' && !c.is_whitespace()) {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u32 - 'A' as u32,
            c @ '2'..='7' => c as u32 - '2' as u32 + 26,
            other => panic!("{other:?} is not base32"),
        };
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Encodes base64 (RFC 4648, with padding), as LDIF's `attr:: value` wants.
pub fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The DN of user `uid`.
pub fn user_dn(uid: &str) -> String {
    format!("uid={uid},{PEOPLE}")
}

/// The DN of token entry `cn`.
pub fn token_dn(cn: &str) -> String {
    format!("cn={cn},{TOKENS}")
}

/// The DN of parameter entry `cn`.
pub fn params_dn(cn: &str) -> String {
    format!("cn={cn},{PARAMS}")
}

/// The TOTP parameters of an `oathTOTPParams` entry.
#[derive(Debug, Clone)]
pub struct TotpParams {
    /// oathOTPLength
    pub digits: u32,
    /// oathHMACAlgorithm (an OID, [`HMAC_SHA1`] by default)
    pub algorithm: String,
    /// oathTOTPTimeStepPeriod, seconds
    pub period: u64,
    /// oathTOTPTimeStepWindow, steps either side
    pub window: u32,
}

impl Default for TotpParams {
    fn default() -> Self {
        TotpParams {
            digits: 6,
            algorithm: HMAC_SHA1.into(),
            period: 30,
            window: 1,
        }
    }
}

/// LDIF for the parameter entry `cn` (`device` + `oathTOTPParams`) under [`PARAMS`].
pub fn totp_params_ldif(cn: &str, params: &TotpParams) -> String {
    format!(
        "dn: {}\nobjectClass: device\nobjectClass: oathTOTPParams\ncn: {cn}\n\
         oathOTPLength: {}\noathHMACAlgorithm: {}\noathTOTPTimeStepPeriod: {}\n\
         oathTOTPTimeStepWindow: {}\n",
        params_dn(cn),
        params.digits,
        params.algorithm,
        params.period,
        params.window
    )
}

/// LDIF for the TOTP token entry `cn` (`device` + `oathTOTPToken`) under [`TOKENS`], with the
/// raw key of the base32 `secret` in `oathSecret` and the parameters of entry `params_cn`.
pub fn totp_token_ldif(cn: &str, params_cn: &str, secret: &str) -> String {
    format!(
        "dn: {}\nobjectClass: device\nobjectClass: oathTOTPToken\ncn: {cn}\n\
         oathTOTPParams: {}\noathSecret:: {}\n",
        token_dn(cn),
        params_dn(params_cn),
        base64_encode(&base32_decode(secret))
    )
}

/// LDIF for user `uid` (`inetOrgPerson`) under [`PEOPLE`] with `userPassword: password`; with
/// a token, also `oathTOTPUser` naming token entry `token_cn`.
pub fn user_ldif(uid: &str, password: &str, token_cn: Option<&str>) -> String {
    let mut ldif = format!(
        "dn: {}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\n\
         userPassword: {password}\n",
        user_dn(uid)
    );
    if let Some(token) = token_cn {
        ldif.push_str(&format!(
            "objectClass: oathTOTPUser\noathTOTPToken: {}\n",
            token_dn(token)
        ));
    }
    ldif
}

/// The entries every server starts with: the suffix, the three organizational units and the
/// service account.
fn base_ldif() -> String {
    let ou =
        |dn: &str, name: &str| format!("dn: {dn}\nobjectClass: organizationalUnit\nou: {name}\n");
    [
        format!("dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: example\n"),
        ou(PEOPLE, "people"),
        ou(TOKENS, "tokens"),
        ou(PARAMS, "params"),
        format!(
            "dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
             cn: pam_totp\nuserPassword: {SERVICE_PASSWORD}\n"
        ),
        format!(
            "dn: {READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
             cn: reader\nuserPassword: {LIMITED_PASSWORD}\n"
        ),
        format!(
            "dn: {AUDITOR_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
             cn: auditor\nuserPassword: {LIMITED_PASSWORD}\n"
        ),
    ]
    .join("\n")
}

/// A test CA (`ca.crt`), a server certificate it signed for 127.0.0.1 and localhost
/// (`server.crt`, `server.key`), and an unrelated CA (`other-ca.crt`) for "wrong certificate"
/// tests. EC P-256, valid for two days.
fn make_certificates(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    for (name, subject) in [("ca", "pam_totp test CA"), ("other-ca", "other test CA")] {
        let (key, crt, subj) = (
            format!("{name}.key"),
            format!("{name}.crt"),
            format!("/CN={subject}"),
        );
        let mut args = vec!["req", "-x509", "-nodes", "-days", "2"];
        args.extend(ec);
        args.extend([
            "-keyout",
            &key,
            "-out",
            &crt,
            "-subj",
            &subj,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir, &args);
    }
    let mut server = vec!["req", "-x509", "-nodes", "-days", "2"];
    server.extend(ec);
    server.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.crt",
        "-subj",
        "/CN=localhost",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-addext",
        "basicConstraints=CA:FALSE",
        "-addext",
        "keyUsage=critical,digitalSignature",
        "-addext",
        "extendedKeyUsage=serverAuth",
    ]);
    openssl(dir, &server);
}

/// The outcome of a client run (`ldapwhoami`, `ldapmodify`, ...).
#[derive(Debug, Clone)]
pub struct LdapRun {
    /// The bounded run: status, stdout, stderr.
    pub ran: Ran,
}

impl LdapRun {
    /// True when the client exited with 0 (the operation succeeded).
    pub fn ok(&self) -> bool {
        self.ran.ok()
    }

    /// The client's exit status: the LDAP result code (49 invalid credentials, 50
    /// insufficient access, ...), 255 when it could not connect (TLS failures included);
    /// None when it was killed or overran its time.
    pub fn rc(&self) -> Option<i32> {
        self.ran.status
    }

    /// The DN `ldapwhoami` printed (`dn:<DN>`), if any.
    pub fn whoami(&self) -> Option<&str> {
        self.ran.stdout.trim().strip_prefix("dn:")
    }
}

/// A running slapd; see the module documentation. Dropping it stops it and removes its files.
pub struct Slapd {
    dir: tempfile::TempDir,
    child: Child,
    root: PathBuf,
    ldaps_port: u16,
    ldap_port: u16,
    startup: Duration,
}

impl Slapd {
    /// Starts a fresh slapd with the base entries loaded (retrying with other ports when one
    /// was taken meanwhile); panics with slapd's log when it does not answer within 15 s.
    pub fn start() -> Slapd {
        Slapd::start_with("")
    }

    /// [`Slapd::start`] with more global slapd.conf directives (lines ending in a newline,
    /// e.g. `idletimeout 1\n`), put before the database section.
    pub fn start_with(global: &str) -> Slapd {
        let root = slapd_root();
        assert!(
            slapd_available(),
            "no slapd in {}: run tests/install-slapd.sh",
            root.display()
        );
        let began = Instant::now();
        for attempt in 1..=3 {
            match Slapd::try_start(&root, began, global) {
                Ok(slapd) => {
                    slapd.add_ldif(&base_ldif());
                    return slapd;
                }
                Err(log) if attempt < 3 && log.contains("Address already in use") => continue,
                Err(log) => panic!("slapd did not start:\n{log}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// One start: configuration, certificates, spawn, wait until ldapi and ldaps answer.
    /// Err(slapd's log) when it exited or overran [`START_LIMIT`].
    fn try_start(root: &Path, began: Instant, global: &str) -> Result<Slapd, String> {
        let dir = tempfile::Builder::new()
            .prefix("pam_totp-slapd-")
            .tempdir()
            .expect("create a temporary directory for slapd");
        let d = dir.path();
        for sub in ["db", "run", "tls"] {
            fs::create_dir(d.join(sub)).expect("create slapd's directories");
        }
        make_certificates(&d.join("tls"));
        // The clients read this instead of the host's /etc/ldap/ldap.conf.
        fs::write(d.join("ldap.conf"), "").expect("write ldap.conf");
        let (ldaps_port, ldap_port) = (free_port(), free_port());
        let schema = root.join("etc/ldap/schema");
        let mut includes: String = ["core", "cosine", "inetorgperson", "nis"]
            .iter()
            .map(|s| format!("include {}\n", schema.join(format!("{s}.schema")).display()))
            .collect();
        includes.push_str(&format!("include {}\n", schema_file().display()));
        let svc = format!("dn.exact=\"{SERVICE_DN}\"");
        let (reader, auditor) = (
            format!("dn.exact=\"{READER_DN}\""),
            format!("dn.exact=\"{AUDITOR_DN}\""),
        );
        let conf = format!(
            "{includes}pidfile {d}/run/slapd.pid\nargsfile {d}/run/slapd.args\n\
             modulepath {modules}\nmoduleload back_mdb\nmoduleload otp\n\
             TLSCACertificateFile {d}/tls/ca.crt\nTLSCertificateFile {d}/tls/server.crt\n\
             TLSCertificateKeyFile {d}/tls/server.key\n\
             {global}\
             database mdb\nmaxsize 16777216\nsuffix \"{SUFFIX}\"\nrootdn \"{ADMIN_DN}\"\n\
             rootpw {ADMIN_PASSWORD}\ndirectory {d}/db\noverlay otp\n\
             access to attrs=userPassword by anonymous auth by * none\n\
             access to attrs=oathSecret by {svc} read by {reader} read by * none\n\
             access to attrs={state} by {svc} write by {reader} read by {auditor} read by * none\n\
             access to * by {svc} read by {reader} read by {auditor} read by * none\n",
            d = d.display(),
            modules = root.join("usr/lib/ldap").display(),
            state = STATE_ATTRS.join(","),
        );
        fs::write(d.join("slapd.conf"), conf).expect("write slapd.conf");
        let log = fs::File::create(d.join("slapd.log")).expect("create slapd.log");
        let urls = format!(
            "ldaps://127.0.0.1:{ldaps_port}/ ldap://127.0.0.1:{ldap_port}/ ldapi://{}/",
            url_encode(&d.join("ldapi"))
        );
        let mut cmd = Command::new(tool("timeout", "coreutils"));
        // timeout kills slapd after LIFETIME even if this process dies without dropping it.
        cmd.args(["-k", "5", &LIFETIME.as_secs().to_string()])
            .arg(root.join("usr/sbin/slapd"))
            .arg("-f")
            .arg(d.join("slapd.conf"))
            .args(["-d", "stats", "-h", &urls])
            .env("LD_LIBRARY_PATH", library_dir(root))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log file"))
            .stderr(log);
        // A new session: the pid is the group id, so the group (timeout and slapd) can be
        // stopped, continued and killed as a whole.
        crate::ffi::new_session_on_exec(&mut cmd);
        let child = cmd.spawn().expect("spawn slapd");
        let mut slapd = Slapd {
            dir,
            child,
            root: root.to_path_buf(),
            ldaps_port,
            ldap_port,
            startup: Duration::ZERO,
        };
        let deadline = Instant::now() + START_LIMIT;
        loop {
            if let Ok(Some(status)) = slapd.child.try_wait() {
                return Err(format!("slapd exited ({status}):\n{}", slapd.log()));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no answer within {START_LIMIT:?}:\n{}",
                    slapd.log()
                ));
            }
            if slapd.ldapi_socket().exists()
                && slapd.port_open()
                && slapd.ping(Duration::from_secs(2))
            {
                slapd.startup = began.elapsed();
                return Ok(slapd);
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn port_open(&self) -> bool {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.ldaps_port));
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    }

    /// How long [`Slapd::start`] took, from the first temporary file to the first answer.
    pub fn startup(&self) -> Duration {
        self.startup
    }

    /// The temporary directory (configuration, database, certificates, socket, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The slapd.conf in use.
    pub fn config_path(&self) -> PathBuf {
        self.dir().join("slapd.conf")
    }

    /// `slaptest -u` on the configuration in use (schema, ACLs, modules; the database is not
    /// opened): the run, which says "config file testing succeeded" on success.
    pub fn slaptest(&self) -> LdapRun {
        let mut cmd = Command::new(self.root.join("usr/sbin/slaptest"));
        cmd.env("LD_LIBRARY_PATH", library_dir(&self.root))
            .arg("-f")
            .arg(self.config_path())
            .arg("-u");
        LdapRun {
            ran: run_bounded(cmd, "", CLIENT_LIMIT),
        }
    }

    /// slapd's log (`-d stats`) so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir().join("slapd.log")).unwrap_or_default()
    }

    /// slapd's own pid (from its pidfile; the process group's leader is `timeout`).
    pub fn slapd_pid(&self) -> i32 {
        let path = self.dir().join("run/slapd.pid");
        fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
            .trim()
            .parse()
            .expect("a pid in slapd.pid")
    }

    /// The ldaps port on 127.0.0.1.
    pub fn ldaps_port(&self) -> u16 {
        self.ldaps_port
    }

    /// `ldaps://127.0.0.1:<port>`: the server certificate is valid for 127.0.0.1 (IP SAN).
    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }

    /// `ldap://127.0.0.1:<port>` (for StartTLS).
    pub fn ldap_url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.ldap_port)
    }

    /// The ldapi socket.
    pub fn ldapi_socket(&self) -> PathBuf {
        self.dir().join("ldapi")
    }

    /// `ldapi://<percent-encoded socket path>`.
    pub fn ldapi_url(&self) -> String {
        format!("ldapi://{}", url_encode(&self.ldapi_socket()))
    }

    /// The test CA that signed the server certificate.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir().join("tls/ca.crt")
    }

    /// A CA that did not sign the server certificate.
    pub fn other_ca_cert(&self) -> PathBuf {
        self.dir().join("tls/other-ca.crt")
    }

    /// An OpenLDAP client from the extracted tree, isolated from the host's and the user's
    /// configuration, trusting `ca`, with a 5 s network timeout.
    fn client(&self, name: &str, ca: &Path) -> Command {
        let mut cmd = Command::new(self.root.join("usr/bin").join(name));
        cmd.env("LD_LIBRARY_PATH", library_dir(&self.root))
            .env("LDAPCONF", self.dir().join("ldap.conf"))
            .env("LDAPRC", "pam_totp-test-no-ldaprc")
            .env_remove("LDAPNOINIT")
            .env("LDAPTLS_CACERT", ca)
            .env("LDAPTLS_REQCERT", "demand")
            .args(["-o", "nettimeout=5"]);
        cmd
    }

    /// Runs an admin client (`ldapadd`, `ldapmodify`, ...) over ldapi with `ldif` on stdin.
    fn admin_ldif(&self, client: &str, ldif: &str) -> LdapRun {
        let mut cmd = self.client(client, &self.ca_cert());
        cmd.args([
            "-x",
            "-H",
            &self.ldapi_url(),
            "-D",
            ADMIN_DN,
            "-w",
            ADMIN_PASSWORD,
        ]);
        LdapRun {
            ran: run_bounded(cmd, ldif, CLIENT_LIMIT),
        }
    }

    /// Adds the entries of `ldif` as the administrator over ldapi; panics when that fails.
    pub fn add_ldif(&self, ldif: &str) {
        let run = self.admin_ldif("ldapadd", ldif);
        assert!(
            run.ok(),
            "ldapadd failed ({:?}): {}\n{ldif}",
            run.rc(),
            run.ran.stderr
        );
    }

    /// Applies the changes of `ldif` as the administrator over ldapi; panics when that fails.
    pub fn modify_ldif(&self, ldif: &str) {
        let run = self.admin_ldif("ldapmodify", ldif);
        assert!(
            run.ok(),
            "ldapmodify failed ({:?}): {}\n{ldif}",
            run.rc(),
            run.ran.stderr
        );
    }

    /// Applies the changes of `ldif` bound as `dn` over ldaps (test CA); the outcome says
    /// whether the directory allowed them (e.g. rc 16 for a stale compare-and-swap delete).
    pub fn modify_as(&self, dn: &str, password: &str, ldif: &str) -> LdapRun {
        let mut cmd = self.client("ldapmodify", &self.ca_cert());
        cmd.args(["-x", "-H", &self.ldaps_url(), "-D", dn, "-w", password]);
        LdapRun {
            ran: run_bounded(cmd, ldif, CLIENT_LIMIT),
        }
    }

    /// Searches entry `dn` for `attr` bound as `bind_dn` at `url`: the values (a value LDIF
    /// gives in base64, `attr:: ...`, comes back as `:: <base64>`), or the failed run.
    fn search(
        &self,
        url: &str,
        bind_dn: &str,
        password: &str,
        dn: &str,
        attr: &str,
    ) -> Result<Vec<String>, LdapRun> {
        let mut cmd = self.client("ldapsearch", &self.ca_cert());
        cmd.args(["-x", "-LLL", "-o", "ldif-wrap=no", "-H", url])
            .args(["-D", bind_dn, "-w", password, "-s", "base", "-b", dn])
            .args(["(objectClass=*)", attr]);
        let ran = run_bounded(cmd, "", CLIENT_LIMIT);
        if !ran.ok() {
            return Err(LdapRun { ran });
        }
        Ok(ran
            .stdout
            .lines()
            .filter_map(|line| {
                let (name, value) = line.split_once(':')?;
                if !name.eq_ignore_ascii_case(attr) {
                    return None;
                }
                Some(match value.strip_prefix(':') {
                    Some(b64) => format!(":: {}", b64.trim_start()),
                    None => value.trim_start().to_string(),
                })
            })
            .collect())
    }

    /// The values of `attr` of entry `dn` as `bind_dn` sees them over ldaps (test CA): empty
    /// when it may read the entry but not the attribute; Err(the run) when the search fails,
    /// e.g. rc 32 (noSuchObject) when it may not see the entry at all.
    pub fn values_as(
        &self,
        bind_dn: &str,
        password: &str,
        dn: &str,
        attr: &str,
    ) -> Result<Vec<String>, LdapRun> {
        self.search(&self.ldaps_url(), bind_dn, password, dn, attr)
    }

    /// The value of single-valued `attr` of `dn` (e.g. `oathTOTPLastTimeStep`), read by the
    /// administrator over ldapi; None when the entry has none. Panics when the search fails.
    pub fn attribute(&self, dn: &str, attr: &str) -> Option<String> {
        let values = self
            .search(&self.ldapi_url(), ADMIN_DN, ADMIN_PASSWORD, dn, attr)
            .unwrap_or_else(|run| panic!("ldapsearch {dn} {attr} failed: {run:?}"));
        assert!(
            values.len() <= 1,
            "{attr} of {dn} has several values: {values:?}"
        );
        values.into_iter().next()
    }

    /// A simple bind as `dn` with `password` (for slapo-otp users: password followed by the
    /// code) over ldaps, trusting the test CA, then "who am I".
    pub fn bind(&self, dn: &str, password: &str) -> LdapRun {
        self.bind_with_ca(dn, password, &self.ca_cert())
    }

    /// [`Slapd::bind`] trusting `ca` instead ([`Slapd::other_ca_cert`] for a wrong certificate).
    pub fn bind_with_ca(&self, dn: &str, password: &str, ca: &Path) -> LdapRun {
        let mut cmd = self.client("ldapwhoami", ca);
        cmd.args(["-x", "-H", &self.ldaps_url(), "-D", dn, "-w", password]);
        LdapRun {
            ran: run_bounded(cmd, "", CLIENT_LIMIT),
        }
    }

    /// "Who am I" over ldapi with SASL EXTERNAL (the caller's uid and gid, root here): the
    /// harness maps root to [`SERVICE_DN`].
    pub fn whoami_external(&self) -> LdapRun {
        let mut cmd = self.client("ldapwhoami", &self.ca_cert());
        cmd.args(["-Q", "-Y", "EXTERNAL", "-H", &self.ldapi_url()]);
        LdapRun {
            ran: run_bounded(cmd, "", CLIENT_LIMIT),
        }
    }

    /// True when an anonymous "who am I" over ldapi answers within `limit`.
    pub fn ping(&self, limit: Duration) -> bool {
        let mut cmd = self.client("ldapwhoami", &self.ca_cert());
        cmd.args(["-x", "-H", &self.ldapi_url()]);
        run_bounded(cmd, "", limit).ok()
    }

    fn signal_group(&self, signal: nix::sys::signal::Signal) {
        // Our child, not reaped while this Slapd lives (only drop waits for it): the group id
        // still names timeout and slapd.
        nix::sys::signal::killpg(nix::unistd::Pid::from_raw(self.child.id() as i32), signal)
            .unwrap_or_else(|e| panic!("send {signal} to slapd's group: {e}"));
    }

    /// Stops slapd (SIGSTOP): connections are still accepted by the kernel, nothing answers.
    pub fn pause(&self) {
        self.signal_group(nix::sys::signal::Signal::SIGSTOP);
        // SIGSTOP takes effect asynchronously: wait (bounded) until every thread of slapd
        // shows as stopped, so that what the test does next meets a stopped server.
        let tasks = PathBuf::from(format!("/proc/{}/task", self.slapd_pid()));
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let all_stopped = fs::read_dir(&tasks)
                .map(|dir| {
                    dir.flatten().all(|task| {
                        fs::read_to_string(task.path().join("stat"))
                            .ok()
                            .and_then(|stat| {
                                let after = stat.rsplit_once(')')?.1.trim_start().to_string();
                                after.chars().next()
                            })
                            .is_some_and(|state| state == 'T' || state == 't')
                    })
                })
                .unwrap_or(false);
            if all_stopped {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "slapd did not stop within 5 s of SIGSTOP"
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops slapd for good (SIGTERM to its group, then waits, bounded) but keeps its
    /// directory: the certificates stay where hosts' `ca_file` points, and connecting is
    /// refused.
    pub fn stop(&mut self) {
        use nix::sys::signal::{killpg, Signal};
        let group = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = killpg(group, Signal::SIGTERM);
        let _ = killpg(group, Signal::SIGCONT);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.child.wait();
    }

    /// Continues a paused slapd (SIGCONT).
    pub fn resume(&self) {
        self.signal_group(nix::sys::signal::Signal::SIGCONT);
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        use nix::sys::signal::{killpg, Signal};
        if let Ok(Some(_)) = self.child.try_wait() {
            // timeout exited (and reaped slapd): the group may no longer be ours.
            return;
        }
        let group = nix::unistd::Pid::from_raw(self.child.id() as i32);
        // The child is not reaped yet, so the group id is still ours. SIGCONT after SIGTERM:
        // a paused slapd gets the SIGTERM when it continues.
        let _ = killpg(group, Signal::SIGTERM);
        let _ = killpg(group, Signal::SIGCONT);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// slapd.conf lines for [`Slapd::start_with`] that make root's SASL EXTERNAL identity over
/// ldapi ([`ROOT_PEERCRED`]) the service account [`SERVICE_DN`].
pub const EXTERNAL_AS_SERVICE: &str = "authz-regexp \"gidNumber=0\\\\+uidNumber=0,cn=peercred,cn=external,cn=auth\" \"cn=pam_totp,dc=example,dc=org\"\n";

/// The identity `ldapadd -Y EXTERNAL -H ldapi:///` has when run as root.
const ROOT_PEERCRED: &str = "gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth";

/// A process group started in a new session, killed (TERM, then KILL) when dropped.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        use nix::sys::signal::{killpg, Signal};
        if let Ok(Some(_)) = self.0.try_wait() {
            return;
        }
        let group = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

/// Loads `ldif` (a cn=config schema entry, e.g. [`schema_ldif`]) the way an administrator of a
/// cn=config slapd does, `ldapadd -Y EXTERNAL -H ldapi:///`, into a throwaway slapd started
/// with `-F` on a configuration directory that holds only core.schema and an ACL giving root
/// (over ldapi) manage access to cn=config. Returns the schema entries slapd then has under
/// cn=schema,cn=config (`ldapsearch -LLL` output), or Err(what failed, with slapd's log).
pub fn load_into_cn_config(ldif: &Path) -> Result<String, String> {
    let root = slapd_root();
    let libs = library_dir(&root);
    let dir = tempfile::Builder::new()
        .prefix("pam_totp-slapd-config-")
        .tempdir()
        .expect("create a temporary directory for slapd");
    let d = dir.path();
    fs::create_dir(d.join("cfg")).expect("create the configuration directory");
    fs::write(d.join("ldap.conf"), "").expect("write ldap.conf");
    let core = root.join("etc/ldap/schema/core.ldif");
    let core = fs::read_to_string(&core).unwrap_or_else(|e| panic!("read {}: {e}", core.display()));
    let init = format!(
        "dn: cn=config\nobjectClass: olcGlobal\ncn: config\nolcPidFile: {d}/slapd.pid\n\n\
         dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n\n{core}\n\
         dn: olcDatabase={{0}}config,cn=config\nobjectClass: olcDatabaseConfig\n\
         olcDatabase: {{0}}config\nolcAccess: {{0}}to * by dn.exact={ROOT_PEERCRED} manage \
         by * none\n",
        d = d.display()
    );
    fs::write(d.join("init.ldif"), init).expect("write init.ldif");
    let mut slapadd = Command::new(root.join("usr/sbin/slapadd"));
    slapadd
        .env("LD_LIBRARY_PATH", &libs)
        .args(["-n0", "-F"])
        .arg(d.join("cfg"))
        .arg("-l")
        .arg(d.join("init.ldif"));
    let added = run_bounded(slapadd, "", CLIENT_LIMIT);
    if !added.ok() {
        return Err(format!("slapadd -n0 of the base configuration: {added:?}"));
    }
    let url = format!("ldapi://{}/", url_encode(&d.join("ldapi")));
    let log = fs::File::create(d.join("slapd.log")).expect("create slapd.log");
    let mut cmd = Command::new(tool("timeout", "coreutils"));
    cmd.args(["-k", "5", "120"])
        .arg(root.join("usr/sbin/slapd"))
        .arg("-F")
        .arg(d.join("cfg"))
        .args(["-d", "stats", "-h", &url])
        .env("LD_LIBRARY_PATH", &libs)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("clone the log file"))
        .stderr(log);
    crate::ffi::new_session_on_exec(&mut cmd);
    let mut slapd = Group(cmd.spawn().expect("spawn slapd -F"));
    let slapd_log = || fs::read_to_string(d.join("slapd.log")).unwrap_or_default();
    let client = |name: &str| {
        let mut c = Command::new(root.join("usr/bin").join(name));
        c.env("LD_LIBRARY_PATH", &libs)
            .env("LDAPCONF", d.join("ldap.conf"))
            .env("LDAPRC", "pam_totp-test-no-ldaprc")
            .args(["-o", "nettimeout=5", "-Q", "-Y", "EXTERNAL", "-H", &url]);
        c
    };
    let deadline = Instant::now() + START_LIMIT;
    loop {
        if let Ok(Some(status)) = slapd.0.try_wait() {
            return Err(format!("slapd -F exited ({status}):\n{}", slapd_log()));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "slapd -F: no answer within {START_LIMIT:?}:\n{}",
                slapd_log()
            ));
        }
        if d.join("ldapi").exists() && run_bounded(client("ldapwhoami"), "", CLIENT_LIMIT).ok() {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let mut add = client("ldapadd");
    add.arg("-f").arg(ldif);
    let loaded = run_bounded(add, "", CLIENT_LIMIT);
    if !loaded.ok() {
        return Err(format!(
            "ldapadd -Y EXTERNAL -f {}: {loaded:?}\n{}",
            ldif.display(),
            slapd_log()
        ));
    }
    let mut search = client("ldapsearch");
    search.args([
        "-LLL",
        "-o",
        "ldif-wrap=no",
        "-b",
        "cn=schema,cn=config",
        "(objectClass=olcSchemaConfig)",
    ]);
    let found = run_bounded(search, "", CLIENT_LIMIT);
    if !found.ok() {
        return Err(format!("ldapsearch cn=schema,cn=config: {found:?}"));
    }
    Ok(found.stdout)
}

/// True when a TCP listener can bind 127.0.0.1:`port` (nothing holds it).
pub fn port_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_and_base64_match_known_values() {
        assert_eq!(
            base32_decode(crate::RFC_SHA1_KEY),
            b"12345678901234567890".to_vec()
        );
        assert_eq!(base32_decode("mzxw6yq="), b"foob".to_vec());
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn socket_paths_are_percent_encoded() {
        assert_eq!(
            url_encode(Path::new("/tmp/a b/ldapi")),
            "%2Ftmp%2Fa%20b%2Fldapi"
        );
    }
}
