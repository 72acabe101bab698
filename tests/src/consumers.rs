//! Real consumers of the module: sshd with the ssh client, sudo, su and login. Everything that
//! needs the test users or a test PAM configuration runs as root in a private mount namespace
//! ([`namespace_command`], like [`crate::in_namespace`]), so the machine's /etc (and its login records) are never changed.
//!
//! Every client program runs in a session of its own (no controlling terminal: ssh then asks
//! its `SSH_ASKPASS` program) and is killed together with its process group when it overruns
//! its time limit, so no test can hang.

use crate::{tool, Env, FakeUsers};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long one client program (ssh, sudo, an expect dialogue) may take.
pub const CLIENT_LIMIT: Duration = Duration::from_secs(20);

/// Debian 12's /etc/pam.d/common-auth (without pam_cap), for services that include it.
pub const COMMON_AUTH: &str = "auth [success=1 default=ignore] pam_unix.so nullok\n\
auth requisite pam_deny.so\n\
auth required pam_permit.so\n";

/// A service as the README writes it for sudo, su and login: `@include common-auth`, then the
/// code (`@MODULE@` is replaced by [`crate::Env::service`]).
pub const PASSWORD_THEN_CODE_STACK: &str = "@include common-auth\n\
auth required @MODULE@\n\
account required pam_unix.so\n\
session required pam_permit.so\n";

/// Debian 12's /etc/pam.d/common-account.
pub const COMMON_ACCOUNT: &str =
    "account [success=1 new_authtok_reqd=done default=ignore] pam_unix.so\n\
account requisite pam_deny.so\n\
account required pam_permit.so\n";

/// Debian 12's /etc/pam.d/common-session, without pam_systemd (no logind in the test namespace).
pub const COMMON_SESSION: &str = "session [default=1] pam_permit.so\n\
session requisite pam_deny.so\n\
session required pam_permit.so\n\
session required pam_unix.so\n";

/// Debian 12's /etc/pam.d/common-password.
pub const COMMON_PASSWORD: &str =
    "password [success=1 default=ignore] pam_unix.so obscure yescrypt\n\
password requisite pam_deny.so\n\
password required pam_permit.so\n";

/// Writes Debian 12's common-auth, common-account, common-session and common-password (as
/// above) into `env`'s pam.d, for shipped stacks that `@include` them.
pub fn write_common_includes(env: &Env) {
    for (name, body) in [
        ("common-auth", COMMON_AUTH),
        ("common-account", COMMON_ACCOUNT),
        ("common-session", COMMON_SESSION),
        ("common-password", COMMON_PASSWORD),
    ] {
        env.service(name, body);
    }
}

/// The stack `packaging/pam.d/NAME` exactly as shipped, except that the module name
/// `pam_totp.so` on its non-comment lines becomes `@MODULE@` (the module under test, by absolute
/// path, once [`crate::Env::service`] writes it). Its `@include`s need
/// [`write_common_includes`].
pub fn shipped_stack(name: &str) -> String {
    let path = crate::workspace_root().join("packaging/pam.d").join(name);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut modules = 0;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if line.trim_start().starts_with('#') || !line.contains("pam_totp.so") {
                return line.to_string();
            }
            modules += 1;
            line.replace("pam_totp.so", "@MODULE@")
        })
        .collect();
    assert!(
        modules > 0,
        "{} has no pam_totp.so line:\n{text}",
        path.display()
    );
    lines.join("\n") + "\n"
}

/// What a bounded run of a program did.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The exit status; None when it was killed by a signal or for overrunning its time.
    pub status: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// True when the program overran its time limit and was killed.
    pub timed_out: bool,
}

impl Ran {
    /// True when the program exited with status 0.
    pub fn ok(&self) -> bool {
        self.status == Some(0)
    }
}

/// True once process `pid` (our child) has exited; the child is not reaped, so its process
/// group cannot be reused before we kill it.
pub fn has_exited(pid: i32) -> bool {
    use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT | WaitPidFlag::WNOHANG;
    let pid = nix::unistd::Pid::from_raw(pid);
    !matches!(
        waitid(Id::Pid(pid), flags),
        Ok(WaitStatus::StillAlive) | Err(_)
    )
}

/// Reads `from` to its end in a thread; the text arrives on the returned channel.
fn reader(mut from: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = from.read_to_end(&mut buf);
        let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
    });
    rx
}

/// The text of a [`reader`], waiting at most 5 s (a process that left the process group
/// could keep the pipe open).
fn collect(rx: &mpsc::Receiver<String>) -> String {
    rx.recv_timeout(Duration::from_secs(5))
        .unwrap_or_else(|_| "<output still open after the program ended>".into())
}

/// Runs `cmd` in a new session with `input` on its standard input and waits at most `limit`.
/// When the program ends (or overruns), whatever is left of its process group is killed.
pub fn run_bounded(mut cmd: Command, input: &str, limit: Duration) -> Ran {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    crate::ffi::new_session_on_exec(&mut cmd);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let pid = child.id() as i32;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_owned();
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = reader(child.stdout.take().expect("piped stdout"));
    let err = reader(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + limit;
    let mut timed_out = false;
    while !has_exited(pid) {
        if Instant::now() >= deadline {
            timed_out = true;
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    // The session leader is ours and not yet reaped: its group id still names our processes.
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    let status = child.wait().expect("wait for the child");
    drop(writer);
    Ran {
        status: if timed_out { None } else { status.code() },
        stdout: collect(&out),
        stderr: collect(&err),
        timed_out,
    }
}

/// Bind mounts that keep login records private: empty files in `dir` over the system's wtmp,
/// btmp, lastlog and utmp (those that exist), so that sshd, su and login write there instead.
pub fn record_binds(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let mut binds = Vec::new();
    for target in [
        "/var/log/wtmp",
        "/var/log/btmp",
        "/var/log/lastlog",
        "/run/utmp",
    ] {
        if Path::new(target).exists() {
            let name = target.trim_start_matches('/').replace('/', "_");
            let file = dir.join(name);
            write_mode(&file, "", 0o600);
            binds.push((file, target));
        }
    }
    binds
}

/// Bind mounts for [`namespace_command`]: the test users, the test pam.d directory of `env`
/// over /etc/pam.d, private login records, and `extra`.
pub fn namespace_binds(
    env: &Env,
    users: &FakeUsers,
    extra: &[(PathBuf, &'static str)],
) -> Vec<(PathBuf, &'static str)> {
    let mut binds: Vec<(PathBuf, &'static str)> = users
        .binds()
        .into_iter()
        .map(|(p, t)| (p.to_path_buf(), t))
        .collect();
    binds.push((env.dir.path().join("pam.d"), "/etc/pam.d"));
    let records = env.dir.path().join("records");
    fs::create_dir_all(&records).expect("records dir");
    binds.extend(record_binds(&records));
    binds.extend(extra.iter().cloned());
    binds
}

/// Like the harness's `in_namespace` (each `(source, target)` bound over `target` in a private
/// mount namespace; nothing changes outside it), and with `devlog` the namespace gets a private
/// /dev (tmpfs with the usual device nodes bound in) whose /dev/log is `devlog`'s socket. Needs
/// root.
pub fn namespace_command(
    binds: &[(PathBuf, &'static str)],
    devlog: Option<&SyslogListener>,
    program: &Path,
) -> Command {
    let binds: Vec<(&Path, &str)> = binds.iter().map(|(p, t)| (p.as_path(), *t)).collect();
    match devlog {
        Some(d) => crate::in_namespace_with_devlog(&binds, &d.host_dev, &d.socket, program),
        None => crate::in_namespace(&binds, program),
    }
}

/// [`namespace_command`] running `program` as user `uid` (gid = uid, no supplementary
/// groups, through setpriv); arguments are added by the caller.
pub fn namespace_command_as(
    binds: &[(PathBuf, &'static str)],
    devlog: Option<&SyslogListener>,
    uid: u32,
    program: &Path,
) -> Command {
    let mut cmd = namespace_command(binds, devlog, &tool("setpriv", "util-linux"));
    let id = uid.to_string();
    cmd.args(["--reuid", &id, "--regid", &id, "--clear-groups", "--"])
        .arg(program);
    cmd
}

/// A syslog daemon for one test: a unix datagram socket that a namespace from
/// [`namespace_command`] sees as /dev/log. Every datagram (`<PRI>TIMESTAMP TAG: MESSAGE`) is
/// appended as one line to the environment's log file, so `env.log()` and the suite-wide scan
/// of target/test-logs see it.
///
/// The LD_PRELOAD shim of `Env::command` cannot serve the real consumers: sshd clears the
/// environment of its PAM process (so the shim loses its output path) and the dynamic linker
/// ignores LD_PRELOAD for set-user-ID programs (sudo, su).
pub struct SyslogListener {
    socket: PathBuf,
    host_dev: PathBuf,
    log: PathBuf,
    sock: Arc<UnixDatagram>,
    lock: Arc<Mutex<()>>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl SyslogListener {
    /// Listens on `env.dir/NAME.sock`.
    pub fn start(env: &Env, name: &str) -> SyslogListener {
        let socket = env.dir.path().join(format!("{name}.sock"));
        let host_dev = env.dir.path().join(format!("{name}-hostdev"));
        fs::create_dir_all(&host_dev).expect("host dev mount point");
        let sock = UnixDatagram::bind(&socket).expect("bind the log socket");
        // Processes of any user log (su and sudo keep the caller's uid as real uid).
        fs::set_permissions(&socket, fs::Permissions::from_mode(0o666)).expect("chmod socket");
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("socket timeout");
        let sock = Arc::new(sock);
        let lock = Arc::new(Mutex::new(()));
        let stop = Arc::new(AtomicBool::new(false));
        let log = env.dir.path().join("syslog.log");
        let thread = {
            let (sock, lock, stop, log) = (sock.clone(), lock.clone(), stop.clone(), log.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
                    receive(&sock, &log);
                }
            })
        };
        SyslogListener {
            socket,
            host_dev,
            log,
            sock,
            lock,
            stop,
            thread: Some(thread),
        }
    }

    /// Everything logged so far (in the environment's log file, with any other lines there).
    pub fn log(&self) -> String {
        {
            let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            receive(&self.sock, &self.log);
        }
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Receives datagrams into `log` until none has arrived for the read timeout.
fn receive(sock: &UnixDatagram, log: &Path) {
    let mut buf = vec![0u8; 16384];
    while let Ok(n) = sock.recv(&mut buf) {
        let mut line = String::from_utf8_lossy(&buf[..n]).into_owned();
        line.push('\n');
        if let Ok(mut f) = fs::File::options().create(true).append(true).open(log) {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

impl Drop for SyslogListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = self.log();
    }
}

/// Writes `text` to `path` with `mode`.
pub fn write_mode(path: &Path, text: &str, mode: u32) {
    fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A six-digit code that is none of the codes of `secret` from 3 steps before to 3 steps
/// after now, so it must be refused.
pub fn wrong_code(secret: &str) -> String {
    let now = crate::now();
    let valid: Vec<String> = (0..7)
        .map(|i| crate::oathtool(secret, &[], now + i * 30 - 90))
        .collect();
    (0..)
        .map(|n: u32| format!("{:06}", (123_457 + n * 7919) % 1_000_000))
        .find(|c| !valid.contains(c))
        .expect("some code is wrong")
}

/// Free TCP port on 127.0.0.1 (the listener is closed again at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

static SSH_RUNS: AtomicUsize = AtomicUsize::new(0);

/// An sshd in the foreground on a loopback port, in a private mount namespace with the test
/// users and the test pam.d. Its PAM service is the name of the symlink it is started through.
/// Killed on drop.
pub struct Sshd {
    child: Child,
    syslog: SyslogListener,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    dir: PathBuf,
    log: PathBuf,
}

impl Sshd {
    /// Starts sshd with PAM service `service` (a file in `env`'s pam.d) and
    /// `AuthenticationMethods methods`. Its syslog lines (the module's among them) are in
    /// [`Sshd::syslog`].
    pub fn start(env: &Env, users: &FakeUsers, service: &str, methods: &str) -> Sshd {
        Sshd::start_configured(env, users, service, methods, "", &[])
    }

    /// [`Sshd::start`] with more sshd_config lines and more files bound into its namespace
    /// (e.g. `UseDNS yes` with a test /etc/hosts, so that PAM_RHOST is a name).
    pub fn start_configured(
        env: &Env,
        users: &FakeUsers,
        service: &str,
        methods: &str,
        extra_config: &str,
        extra_binds: &[(PathBuf, &'static str)],
    ) -> Sshd {
        let dir = env.dir.path().join(format!("sshd-{service}"));
        fs::create_dir_all(&dir).expect("sshd dir");
        let host_key = dir.join("ssh_host_ed25519_key");
        let keygen = Command::new(tool("ssh-keygen", "openssh-client"))
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&host_key)
            .output()
            .expect("run ssh-keygen");
        assert!(keygen.status.success(), "ssh-keygen: {keygen:?}");
        let config = dir.join("sshd_config");
        write_mode(
            &config,
            &format!(
                "ListenAddress 127.0.0.1\nHostKey {}\nPidFile none\nUsePAM yes\n\
                 KbdInteractiveAuthentication yes\nPasswordAuthentication no\n\
                 PubkeyAuthentication yes\nAuthenticationMethods {methods}\nPermitRootLogin no\n\
                 PrintMotd no\nPrintLastLog no\nX11Forwarding no\nLogLevel VERBOSE\n{extra_config}",
                host_key.display()
            ),
            0o644,
        );
        // sshd names its PAM service after the basename of argv[0].
        let link = dir.join(service);
        symlink(tool("sshd", "openssh-server"), &link).expect("symlink to sshd");
        // The privilege separation directory (created by the Debian package's service unit).
        fs::create_dir_all("/run/sshd").expect("mkdir /run/sshd");
        let binds = namespace_binds(env, users, extra_binds);
        let log = dir.join("sshd.log");
        let mut syslog = Some(SyslogListener::start(env, &format!("{service}-devlog")));
        for attempt in 0..3 {
            let port = free_port();
            let mut cmd = namespace_command(&binds, syslog.as_ref(), &link);
            cmd.args(["-D", "-e", "-f"])
                .arg(&config)
                .args(["-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(fs::File::create(&log).expect("sshd log"))
                .stderr(fs::File::options().append(true).open(&log).expect("log"));
            let child = cmd.spawn().expect("start sshd");
            let mut sshd = Sshd {
                child,
                syslog: syslog.take().expect("one listener per attempt"),
                port,
                dir: dir.clone(),
                log: log.clone(),
            };
            let listening = format!("Server listening on 127.0.0.1 port {port}");
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if sshd.log().contains(&listening) {
                    return sshd;
                }
                if let Ok(Some(_)) = sshd.child.try_wait() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "sshd did not start listening within 10 s:\n{}",
                    sshd.log()
                );
                thread::sleep(Duration::from_millis(20));
            }
            // It exited: the port may have been taken meanwhile; anything else is fatal.
            assert!(
                sshd.log().contains("Address already in use"),
                "sshd exited:\n{}",
                sshd.log()
            );
            syslog = Some(std::mem::replace(
                &mut sshd.syslog,
                SyslogListener::start(env, &format!("{service}-devlog-{attempt}")),
            ));
        }
        panic!(
            "sshd found no free port:\n{}",
            fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// The syslog lines of sshd's processes so far: libpam's and the modules' (sshd itself
    /// logs to stderr, see [`Sshd::log`]).
    pub fn syslog(&self) -> String {
        self.syslog.log()
    }

    /// What sshd wrote to its standard error (`-e`, LogLevel VERBOSE).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Logs in with the real ssh client and runs `id -un`. Keyboard-interactive prompts are
    /// answered by an SSH_ASKPASS script: prompts containing "assword" get `login.password`,
    /// all others `login.code` (an unset answer makes the script fail, i.e. cancel).
    pub fn ssh(&self, login: &SshLogin) -> SshOutcome {
        let n = SSH_RUNS.fetch_add(1, Ordering::SeqCst);
        let askpass = self.dir.join("askpass");
        if !askpass.exists() {
            write_mode(
                &askpass,
                "#!/bin/sh\nprintf '%s\\036' \"$1\" >> \"$ASKPASS_LOG\"\n\
                 case \"$1\" in\n\
                 *assword*) [ -n \"${ASKPASS_PASSWORD+x}\" ] || exit 1; printf '%s\\n' \"$ASKPASS_PASSWORD\" ;;\n\
                 *) [ -n \"${ASKPASS_CODE+x}\" ] || exit 1; printf '%s\\n' \"$ASKPASS_CODE\" ;;\n\
                 esac\n",
                0o755,
            );
        }
        let prompts_file = self.dir.join(format!("askpass-{n}.log"));
        let mut cmd = Command::new(tool("ssh", "openssh-client"));
        cmd.args(["-F", "/dev/null", "-p", &self.port.to_string()])
            .args(["-o", "StrictHostKeyChecking=no"])
            .args(["-o", "UserKnownHostsFile=/dev/null"])
            .args(["-o", "GlobalKnownHostsFile=/dev/null"])
            .args(["-o", "LogLevel=ERROR"])
            .args(["-o", "BatchMode=no"])
            .args(["-o", "NumberOfPasswordPrompts=1"])
            .args(["-o", "ConnectTimeout=5"])
            .args(["-o", &format!("PreferredAuthentications={}", login.methods)]);
        match login.key {
            Some(key) => {
                cmd.args(["-o", "IdentitiesOnly=yes", "-i"]).arg(key);
            }
            None => {
                cmd.args(["-o", "IdentityFile=none", "-o", "IdentitiesOnly=yes"]);
            }
        }
        cmd.arg(format!("{}@127.0.0.1", login.user))
            .arg("id -un")
            .env("SSH_ASKPASS", &askpass)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env("ASKPASS_LOG", &prompts_file)
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("DISPLAY")
            .env_remove("ASKPASS_PASSWORD")
            .env_remove("ASKPASS_CODE");
        if let Some(p) = login.password {
            cmd.env("ASKPASS_PASSWORD", p);
        }
        if let Some(c) = login.code {
            cmd.env("ASKPASS_CODE", c);
        }
        let ran = run_bounded(cmd, "", CLIENT_LIMIT);
        let prompts = fs::read_to_string(&prompts_file)
            .unwrap_or_default()
            .split('\x1e')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        SshOutcome { ran, prompts }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // Our own child, not yet reaped, so its pid is still ours.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One ssh login attempt.
#[derive(Debug, Clone)]
pub struct SshLogin<'a> {
    /// The remote user.
    pub user: &'a str,
    /// The answer to password prompts (None: cancel them).
    pub password: Option<&'a str>,
    /// The answer to every other prompt (None: cancel them).
    pub code: Option<&'a str>,
    /// The client's PreferredAuthentications.
    pub methods: &'a str,
    /// A private key for publickey authentication.
    pub key: Option<&'a Path>,
}

/// What an ssh login did.
#[derive(Debug, Clone)]
pub struct SshOutcome {
    /// The ssh client's run (stdout holds the remote `id -un`).
    pub ran: Ran,
    /// Every prompt the client passed to SSH_ASKPASS, in order.
    pub prompts: Vec<String>,
}

impl SshOutcome {
    /// True when the login succeeded and the remote command ran as `user`.
    pub fn logged_in_as(&self, user: &str) -> bool {
        self.ran.ok() && self.ran.stdout.trim() == user
    }
}

/// The expect(1) program behind [`dialogue`] (support/dialogue.exp).
const DIALOGUE_EXP: &str = include_str!("../support/dialogue.exp");

/// How a [`dialogue`] ends after its last prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogueEnd {
    /// Wait for the program to end and exit with its status.
    Exit,
    /// Stop at once (exit 0), e.g. when the program would prompt again.
    Stop,
}

/// Runs `command` (a program and its arguments, run as root) on a pseudo-terminal from expect(1)
/// inside a private mount namespace with `binds`, waiting for each prompt of `steps` in turn
/// and answering it (None: no answer). The transcript is in stdout; with [`DialogueEnd::Exit`]
/// the status is the program's. With `devlog`, syslog lines go to that listener.
pub fn dialogue(
    env: &Env,
    binds: &[(PathBuf, &'static str)],
    devlog: Option<&SyslogListener>,
    command: &[&str],
    steps: &[(&str, Option<&str>)],
    end: DialogueEnd,
) -> Ran {
    let script = env.dir.path().join("dialogue.exp");
    if !script.exists() {
        write_mode(&script, DIALOGUE_EXP, 0o644);
    }
    let mut cmd = namespace_command(binds, devlog, &tool("expect", "expect"));
    cmd.arg(&script)
        .arg(match end {
            DialogueEnd::Exit => "exit",
            DialogueEnd::Stop => "stop",
        })
        .arg(steps.len().to_string());
    for (prompt, _) in steps {
        cmd.arg(prompt);
    }
    cmd.args(command);
    for (i, (_, answer)) in steps.iter().enumerate() {
        match answer {
            Some(a) => cmd.env(format!("ANSWER_{i}"), a),
            None => cmd.env_remove(format!("ANSWER_{i}")),
        };
    }
    run_bounded(cmd, "", CLIENT_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_bounded_kills_an_overrunning_process_group() {
        let started = Instant::now();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & echo started; sleep 30"]);
        let ran = run_bounded(cmd, "", Duration::from_secs(1));
        assert!(ran.timed_out && ran.status.is_none(), "{ran:?}");
        assert_eq!(ran.stdout, "started\n");
        assert!(started.elapsed() < Duration::from_secs(4));
    }

    #[test]
    fn run_bounded_passes_input_and_status() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "read a; read b; echo \"$b$a\"; exit 3"]);
        let ran = run_bounded(cmd, "x\ny\n", CLIENT_LIMIT);
        assert_eq!((ran.status, ran.stdout.as_str()), (Some(3), "yx\n"));
        assert!(!ran.timed_out);
    }
}
