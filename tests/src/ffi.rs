//! The raw calls of the test crate, and all of its `unsafe`: libpam client calls used by the
//! `pam-driver` binary (one PAM transaction through `pam_start_confdir`, with a scripted
//! conversation), and starting a child in its own session.

use std::collections::VecDeque;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::io::Write;

const PAM_PROMPT_ECHO_OFF: c_int = 1;
const PAM_PROMPT_ECHO_ON: c_int = 2;
const PAM_ERROR_MSG: c_int = 3;
const PAM_TEXT_INFO: c_int = 4;
const PAM_SUCCESS: c_int = 0;
const PAM_BUF_ERR: c_int = 5;
const PAM_CONV_ERR: c_int = 19;
const PAM_RHOST: c_int = 4;
const PAM_FAIL_DELAY: c_int = 10;
/// `PAM_SILENT` flag.
pub const PAM_SILENT: c_int = 0x8000;
const PAM_ESTABLISH_CRED: c_int = 0x0002;

#[repr(C)]
struct PamMessage {
    msg_style: c_int,
    msg: *const c_char,
}

#[repr(C)]
struct PamResponse {
    resp: *mut c_char,
    resp_retcode: c_int,
}

type ConvFn =
    extern "C" fn(c_int, *mut *const PamMessage, *mut *mut PamResponse, *mut c_void) -> c_int;
type DelayFn = extern "C" fn(c_int, c_uint, *mut c_void);

#[repr(C)]
struct PamConv {
    conv: Option<ConvFn>,
    appdata_ptr: *mut c_void,
}

#[link(name = "pam")]
extern "C" {
    fn pam_start_confdir(
        service: *const c_char,
        user: *const c_char,
        conv: *const PamConv,
        confdir: *const c_char,
        pamh: *mut *mut c_void,
    ) -> c_int;
    fn pam_authenticate(pamh: *mut c_void, flags: c_int) -> c_int;
    fn pam_setcred(pamh: *mut c_void, flags: c_int) -> c_int;
    fn pam_acct_mgmt(pamh: *mut c_void, flags: c_int) -> c_int;
    fn pam_set_item(pamh: *mut c_void, item_type: c_int, item: *const c_void) -> c_int;
    fn pam_end(pamh: *mut c_void, status: c_int) -> c_int;
}

/// One scripted reply to a prompt.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Reply with this text.
    Text(String),
    /// Reply with a NULL response string.
    Null,
    /// Make the conversation function fail.
    Fail,
}

/// What a transaction should do.
#[derive(Debug, Clone)]
pub struct Transaction {
    /// Directory holding the service file.
    pub confdir: String,
    /// Service file name.
    pub service: String,
    /// User to authenticate.
    pub user: String,
    /// PAM_RHOST to set, if any.
    pub rhost: Option<String>,
    /// Replies, one per prompt; when they run out the conversation fails.
    pub answers: Vec<Answer>,
    /// Flags for pam_authenticate.
    pub flags: c_int,
    /// Also call pam_setcred after a successful authentication.
    pub setcred: bool,
    /// Also call pam_acct_mgmt after a successful authentication (as OpenVPN's plugin does);
    /// its result is then the status pam_end gets.
    pub acct: bool,
    /// How long the "user" thinks before answering each prompt (a slow typist).
    pub think: std::time::Duration,
}

struct Script {
    answers: VecDeque<Answer>,
    think: std::time::Duration,
}

fn say(line: String) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", line.replace('\n', "\\n"));
    let _ = out.flush();
}

extern "C" fn conversation(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata: *mut c_void,
) -> c_int {
    let Ok(count) = usize::try_from(num_msg) else {
        return PAM_CONV_ERR;
    };
    // SAFETY: appdata is the `Script` that `run` placed in the pam_conv structure; it lives
    // until pam_end, and libpam calls the conversation on this thread only.
    let script = unsafe { &mut *appdata.cast::<Script>() };
    // SAFETY: calloc returns zeroed memory for `count` responses or NULL; libpam frees it.
    let replies = unsafe { libc::calloc(count.max(1), std::mem::size_of::<PamResponse>()) }
        .cast::<PamResponse>();
    if replies.is_null() {
        return PAM_BUF_ERR;
    }
    for i in 0..count {
        // SAFETY: Linux-PAM passes `msg` as an array of `num_msg` message pointers.
        let m = unsafe { &**msg.add(i) };
        // SAFETY: every message text is a NUL-terminated string owned by the module.
        let text = unsafe { CStr::from_ptr(m.msg) }
            .to_string_lossy()
            .into_owned();
        match m.msg_style {
            PAM_PROMPT_ECHO_OFF | PAM_PROMPT_ECHO_ON => {
                let tag = if m.msg_style == PAM_PROMPT_ECHO_OFF {
                    "PROMPT_OFF"
                } else {
                    "PROMPT_ON"
                };
                say(format!("{tag} {text}"));
                std::thread::sleep(script.think);
                match script.answers.pop_front() {
                    Some(Answer::Text(t)) => {
                        let c = CString::new(t).unwrap_or_default();
                        // SAFETY: strdup copies the NUL-terminated answer into malloc'd memory that
                        // libpam frees; `replies` has room for `count` entries.
                        unsafe { (*replies.add(i)).resp = libc::strdup(c.as_ptr()) };
                    }
                    Some(Answer::Null) => {}
                    Some(Answer::Fail) | None => {
                        say("CONV_FAIL".to_string());
                        // SAFETY: releases the array allocated above; no response strings were
                        // given to libpam yet for this call except those we free here.
                        unsafe { free_replies(replies, i) };
                        return PAM_CONV_ERR;
                    }
                }
            }
            PAM_ERROR_MSG => say(format!("ERROR {text}")),
            PAM_TEXT_INFO => say(format!("INFO {text}")),
            other => say(format!("STYLE{other} {text}")),
        }
    }
    // SAFETY: libpam expects `*resp` to receive the array it will free.
    unsafe { *resp = replies };
    PAM_SUCCESS
}

/// Frees the first `filled` response strings and the array itself.
///
/// # Safety
/// `replies` must come from the calloc in `conversation` with at least `filled` entries.
unsafe fn free_replies(replies: *mut PamResponse, filled: usize) {
    for j in 0..filled {
        // SAFETY: entries below `filled` were set by strdup or left NULL (free(NULL) is a no-op).
        unsafe { libc::free((*replies.add(j)).resp.cast()) };
    }
    // SAFETY: allocated by calloc in `conversation`.
    unsafe { libc::free(replies.cast()) };
}

extern "C" fn record_fail_delay(retval: c_int, usec: c_uint, _appdata: *mut c_void) {
    say(format!("FAIL_DELAY {usec} {retval}"));
}

/// Runs pam_start_confdir, pam_authenticate (and pam_setcred, pam_acct_mgmt), printing one
/// line per event.
/// Returns the pam_authenticate code.
pub fn run(t: &Transaction) -> c_int {
    let mut script = Box::new(Script {
        answers: t.answers.iter().cloned().collect(),
        think: t.think,
    });
    let conv = PamConv {
        conv: Some(conversation),
        appdata_ptr: (&mut *script as *mut Script).cast(),
    };
    let service = CString::new(t.service.as_str()).unwrap_or_default();
    let user = CString::new(t.user.as_str()).unwrap_or_default();
    let confdir = CString::new(t.confdir.as_str()).unwrap_or_default();
    let mut pamh: *mut c_void = std::ptr::null_mut();
    // SAFETY: all strings are NUL-terminated and outlive the call; `conv` and `script` live
    // until pam_end below; `pamh` receives the new handle.
    let rc = unsafe {
        pam_start_confdir(
            service.as_ptr(),
            user.as_ptr(),
            &conv,
            confdir.as_ptr(),
            &mut pamh,
        )
    };
    if rc != PAM_SUCCESS {
        say(format!("START {rc}"));
        return rc;
    }
    let delay: DelayFn = record_fail_delay;
    // SAFETY: PAM_FAIL_DELAY takes a function pointer of this signature; libpam stores it.
    unsafe { pam_set_item(pamh, PAM_FAIL_DELAY, delay as *const c_void) };
    if let Some(host) = &t.rhost {
        let host = CString::new(host.as_str()).unwrap_or_default();
        // SAFETY: libpam copies the string item.
        unsafe { pam_set_item(pamh, PAM_RHOST, host.as_ptr().cast()) };
    }
    // SAFETY: `pamh` is the live handle from pam_start_confdir.
    let auth = unsafe { pam_authenticate(pamh, t.flags) };
    say(format!("AUTH {auth}"));
    if t.setcred && auth == PAM_SUCCESS {
        // SAFETY: as above.
        let cred = unsafe { pam_setcred(pamh, PAM_ESTABLISH_CRED) };
        say(format!("SETCRED {cred}"));
    }
    let mut status = auth;
    if t.acct && auth == PAM_SUCCESS {
        // SAFETY: as above.
        status = unsafe { pam_acct_mgmt(pamh, t.flags) };
        say(format!("ACCT {status}"));
    }
    // SAFETY: ends the transaction started above; the handle is not used afterwards.
    unsafe { pam_end(pamh, status) };
    drop(script);
    auth
}

/// Makes `cmd`'s child start a new session (setsid): it has no controlling terminal (so ssh
/// uses SSH_ASKPASS and openvpn cannot read a developer's tty), and its pid is its process
/// group id, so the whole group can be killed.
pub fn new_session_on_exec(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs between fork and exec; it only calls setsid, which is
    // async-signal-safe, and allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
