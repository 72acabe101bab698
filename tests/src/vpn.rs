//! OpenVPN end to end: a throwaway PKI, an OpenVPN server with the auth-pam plugin and
//! OpenVPN clients, all on 127.0.0.1 inside one private network and mount namespace. The
//! server's namespace gets the caller's bind mounts (a test pam.d over /etc/pam.d, fake users),
//! so nothing on the machine changes. Every wait is bounded; both processes are killed on drop.
//! Needs root.

use crate::{in_namespace, tool, write_private};
use std::fs::{self, File};
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to come up.
const SERVER_START: Duration = Duration::from_secs(15);
/// How long a client may take to connect or to be refused.
const CLIENT_RESULT: Duration = Duration::from_secs(20);
/// Hard limit on every OpenVPN process (coreutils `timeout -s KILL`), so that nothing outlives
/// a test process that was itself killed.
const HARD_LIMIT_SECS: &str = "90";

/// Logged by the server when it is ready, and by a client when its tunnel is up.
const CONNECTED: &str = "Initialization Sequence Completed";
/// Logged by a client whose credentials the server refused.
const AUTH_FAILED: &str = "AUTH_FAILED";

/// The auth-pam plugin shipped by Debian's openvpn package.
pub fn auth_pam_plugin() -> PathBuf {
    let multiarch =
        Path::new("/usr/lib/x86_64-linux-gnu/openvpn/plugins/openvpn-plugin-auth-pam.so");
    if multiarch.exists() {
        return multiarch.to_path_buf();
    }
    if let Ok(dirs) = fs::read_dir("/usr/lib") {
        for dir in dirs.flatten() {
            let p = dir
                .path()
                .join("openvpn/plugins/openvpn-plugin-auth-pam.so");
            if p.exists() {
                return p;
            }
        }
    }
    panic!("openvpn-plugin-auth-pam.so not found: apt-get install openvpn");
}

/// Makes a throwaway PKI in `dir` with openssl: a CA (`ca.crt`) and a server certificate
/// (`server.crt`, `server.key`, extended key usage serverAuth for `remote-cert-tls server`).
/// EC P-256 keys, valid for two days; no DH parameters (the server uses `dh none`, ECDHE).
pub fn make_pki(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    let run = |args: &[&str]| crate::openssl(dir, args);
    let mut ca = vec!["req", "-x509", "-nodes", "-days", "2"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-subj",
        "/CN=pam_totp test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&ca);
    let mut server = vec!["req", "-x509", "-nodes", "-days", "2"];
    server.extend(ec);
    server.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.crt",
        "-subj",
        "/CN=server",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-addext",
        "basicConstraints=CA:FALSE",
        "-addext",
        "keyUsage=critical,digitalSignature",
        "-addext",
        "extendedKeyUsage=serverAuth",
    ]);
    run(&server);
}

/// A spawned process group (the process made itself a session and group leader), killed as a
/// whole on drop.
struct Group(Child, bool);

impl Group {
    fn spawn(mut cmd: Command) -> Group {
        // A new session: no controlling terminal (OpenVPN cannot read the developer's tty), and
        // the pid is the process group id, so the group (with the plugin's helper) can be killed.
        crate::ffi::new_session_on_exec(&mut cmd);
        Group(cmd.spawn().expect("spawn openvpn"), false)
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn exited(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(Some(_)))
    }

    /// Stops the group: SIGTERM (OpenVPN exits cleanly, `timeout` and OpenVPN reap their
    /// children), then SIGKILL if the child has not exited within 3 s.
    fn stop(&mut self) {
        if self.1 {
            return;
        }
        self.1 = true;
        if let Ok(Some(_)) = self.0.try_wait() {
            // Exited and reaped: the group id may no longer be ours; signal nothing.
            return;
        }
        let pgid = self.0.id() as libc::pid_t;
        // The group is ours: its id is the pid of the child started above, not yet reaped.
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pgid),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Still running, so not reaped: the group id is still ours.
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.0.wait();
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until `path` contains one of `needles` (returns its index), `group` exits, or
/// `limit` passes.
fn wait_for(path: &Path, needles: &[&str], group: &mut Group, limit: Duration) -> Option<usize> {
    let deadline = Instant::now() + limit;
    loop {
        let text = fs::read_to_string(path).unwrap_or_default();
        if let Some(i) = needles.iter().position(|n| text.contains(n)) {
            return Some(i);
        }
        if group.exited() {
            // One last look: the process may have written the line just before exiting.
            let text = fs::read_to_string(path).unwrap_or_default();
            return needles.iter().position(|n| text.contains(n));
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How a client's connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// "Initialization Sequence Completed": authenticated, tunnel up.
    Connected,
    /// The server refused the credentials: "AUTH_FAILED".
    AuthFailed,
}

/// The result of one client run.
#[derive(Debug)]
pub struct Connection {
    /// How it ended.
    pub outcome: Outcome,
    /// The client's log.
    pub log: String,
}

/// An OpenVPN server (`dev tun`, UDP on 127.0.0.1:1194) in its own network and mount
/// namespace, authenticating users through the auth-pam plugin. Killed on drop.
pub struct Server {
    dir: PathBuf,
    log: PathBuf,
    group: Group,
    clients: std::cell::Cell<u32>,
}

impl Server {
    /// Starts the server in a new directory `dir/vpn` (PKI, configuration, logs) and waits until
    /// it is ready. `binds` are bind-mounted in its mount namespace (at least a pam.d directory
    /// over /etc/pam.d: the plugin reads its PAM service from there). `plugin_args` follow the
    /// plugin path on the `plugin` line: the PAM service, optionally with the name/value list.
    /// The server runs with the syslog capture shim, so that pam_totp's lines land in `syslog`.
    pub fn start(dir: &Path, binds: &[(&Path, &str)], plugin_args: &str, syslog: &Path) -> Server {
        Server::start_with(dir, binds, plugin_args, syslog, "")
    }

    /// [`Server::start`] with `extra` appended to the server configuration (whole lines, e.g.
    /// `"reneg-sec 5\nauth-gen-token\n"`).
    pub fn start_with(
        dir: &Path,
        binds: &[(&Path, &str)],
        plugin_args: &str,
        syslog: &Path,
        extra: &str,
    ) -> Server {
        let dir = dir.join("vpn");
        fs::create_dir_all(&dir).expect("create the vpn directory");
        make_pki(&dir);
        let conf = dir.join("server.conf");
        fs::write(
            &conf,
            format!(
                "local 127.0.0.1\nport 1194\nproto udp\ndev tun\ntopology subnet\n\
                 server 10.89.0.0 255.255.255.0\n\
                 ca ca.crt\ncert server.crt\nkey server.key\ndh none\n\
                 verify-client-cert none\nusername-as-common-name\n\
                 plugin {} \"{plugin_args}\"\n\
                 disable-dco\nhand-window 15\nverb 4\n{extra}",
                auth_pam_plugin().display()
            ),
        )
        .expect("write server.conf");
        // Standard output, not --log: the plugin's helper process closes every descriptor
        // above 2, so its messages reach only stdout/stderr.
        let log = dir.join("server.log");
        let out = File::create(&log).expect("create server.log");
        let err = out.try_clone().expect("dup server.log");
        // In the new network namespace: bring up loopback; hide systemd (if the machine runs
        // it) so that a client's console prompt (static-challenge) reads stdin instead of
        // calling systemd-ask-password; then run OpenVPN under a hard time limit.
        let script = "ip link set lo up || exit 96; \
                      if [ -d /run/systemd/system ]; then mount -t tmpfs tmpfs /run/systemd || exit 95; fi; \
                      exec \"$@\"";
        let mut cmd = in_namespace(binds, &tool("unshare", "util-linux"));
        cmd.args(["-n", "sh", "-c", script, "sh"])
            .arg(tool("timeout", "coreutils"))
            .args(["-s", "KILL", HARD_LIMIT_SECS])
            .arg(tool("openvpn", "openvpn"))
            .arg("--config")
            .arg(&conf)
            .current_dir(&dir)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LD_PRELOAD", env!("SYSLOG_CAPTURE_SO"))
            .env("PAM_TOTP_TEST_SYSLOG", syslog)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        // `ip` must exist before the namespace is made: fail with the package name.
        tool("ip", "iproute2");
        tool("nsenter", "util-linux");
        assert!(
            Path::new("/dev/net/tun").exists(),
            "/dev/net/tun is missing: OpenVPN needs the tun driver (in a container: \
             --device /dev/net/tun --cap-add NET_ADMIN)"
        );
        let mut group = Group::spawn(cmd);
        let ready = wait_for(&log, &[CONNECTED], &mut group, SERVER_START);
        let server = Server {
            dir,
            log,
            group,
            clients: std::cell::Cell::new(0),
        };
        assert!(
            ready.is_some(),
            "the OpenVPN server did not start:\n{}",
            server.log()
        );
        server
    }

    /// Waits until the server's log contains one of `needles` (returns its index), the server
    /// exits, or `limit` passes.
    pub fn wait_for(&mut self, needles: &[&str], limit: Duration) -> Option<usize> {
        wait_for(&self.log, needles, &mut self.group, limit)
    }

    /// The server's log so far (with `verb 4`, the plugin's PAM conversation).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Connects a client with `auth-user-pass` (`user`, `password`) and waits until it is
    /// connected or refused; then stops it. With `challenge`, the client has
    /// `static-challenge "Verification code" 1` and types `challenge` at its console prompt, so
    /// it sends `SCRV1:<base64 password>:<base64 challenge>`. Panics with both logs when the
    /// client ends any other way or takes too long.
    pub fn connect(&self, user: &str, password: &str, challenge: Option<&str>) -> Connection {
        let mut client = self.client(user, password, challenge);
        let found = client.wait_for(&[CONNECTED, AUTH_FAILED], CLIENT_RESULT);
        client.stop();
        let log = client.log();
        let outcome = match found {
            Some(0) => Outcome::Connected,
            Some(_) => Outcome::AuthFailed,
            None => panic!(
                "the OpenVPN client neither connected nor got AUTH_FAILED within {CLIENT_RESULT:?}\n\
                 client log:\n{log}\nserver log:\n{}",
                self.log()
            ),
        };
        Connection { outcome, log }
    }

    /// Starts a client as [`Server::connect`] does, without waiting for anything; it runs until
    /// it exits or is dropped.
    pub fn client(&self, user: &str, password: &str, challenge: Option<&str>) -> Client {
        let n = self.clients.get() + 1;
        self.clients.set(n);
        let creds = self.dir.join(format!("client{n}.auth"));
        write_private(&creds, &format!("{user}\n{password}\n"));
        let log = self.dir.join(format!("client{n}.log"));
        let conf = self.dir.join(format!("client{n}.conf"));
        let static_challenge = if challenge.is_some() {
            "static-challenge \"Verification code\" 1\n"
        } else {
            ""
        };
        // nsenter -m starts in the namespace's root directory: absolute paths only.
        fs::write(
            &conf,
            format!(
                "client\ndev tun\nproto udp\nremote 127.0.0.1 1194\nnobind\n\
                 ca {}\nremote-cert-tls server\n\
                 auth-user-pass {}\n{static_challenge}auth-retry none\n\
                 connect-retry-max 1\nserver-poll-timeout 10\nhand-window 15\n\
                 disable-dco\nverb 3\nlog {}\n",
                self.dir.join("ca.crt").display(),
                creds.display(),
                log.display()
            ),
        )
        .expect("write client.conf");

        let mut cmd = Command::new(tool("nsenter", "util-linux"));
        cmd.arg("-t")
            .arg(self.group.pid().to_string())
            .args(["-m", "-n", "--"])
            .arg(tool("timeout", "coreutils"))
            .args(["-s", "KILL", HARD_LIMIT_SECS])
            .arg(tool("openvpn", "openvpn"))
            .arg("--config")
            .arg(&conf)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // The static-challenge response is read from the console. Without a controlling
        // terminal (setsid), OpenVPN reads it from stdin, but only when stdin or stderr is a
        // terminal (`log` takes stderr): stdin is a pseudo-terminal, and the response is
        // typed on its master side.
        let mut pty = None;
        if challenge.is_some() {
            let (master, slave) = openpty();
            pty = Some(File::from(master));
            cmd.stdin(Stdio::from(slave));
        } else {
            cmd.stdin(Stdio::null());
        }
        let group = Group::spawn(cmd);
        if let (Some(master), Some(response)) = (pty.as_mut(), challenge) {
            master
                .write_all(format!("{response}\n").as_bytes())
                .expect("type the static-challenge response");
        }
        Client {
            log: log.clone(),
            group,
            _pty: pty,
        }
    }
}

/// A running OpenVPN client (see [`Server::client`]). Killed on drop.
pub struct Client {
    log: PathBuf,
    group: Group,
    _pty: Option<File>,
}

impl Client {
    /// Waits until the client's log contains one of `needles` (returns its index), the client
    /// exits, or `limit` passes.
    pub fn wait_for(&mut self, needles: &[&str], limit: Duration) -> Option<usize> {
        wait_for(&self.log, needles, &mut self.group, limit)
    }

    /// True when the client has exited.
    pub fn exited(&mut self) -> bool {
        self.group.exited()
    }

    /// The client's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the client.
    pub fn stop(&mut self) {
        self.group.stop();
    }
}

/// A pseudo-terminal pair (master, slave).
fn openpty() -> (OwnedFd, OwnedFd) {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    (pty.master, pty.slave)
}
