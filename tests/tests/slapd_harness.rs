//! The slapd harness's own checks (`pam_totp_tests::slapd`), against the real Debian slapd with
//! slapo-otp: a password+TOTP bind succeeds once, its replay and a wrong code fail, the
//! watermark is the code's time step, a client trusting another CA is refused, the ACLs hold,
//! a paused slapd does not answer, and no slapd outlives its `Slapd` (also after a panic).

use pam_totp_tests::consumers::wrong_code;
use pam_totp_tests::slapd::{
    base32_decode, base64_encode, params_dn, port_free, token_dn, totp_params_ldif,
    totp_token_ldif, user_dn, user_ldif, Slapd, TotpParams, SERVICE_DN, SERVICE_PASSWORD,
};
use pam_totp_tests::{needs_root, needs_slapd, now, oathtool, wait_for_fresh_step, KEY};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Loads a TOTP user `alice` (password "alicepw", key [`KEY`], SHA1, 6 digits, 30 s, window 1).
fn with_alice(slapd: &Slapd) -> String {
    slapd.add_ldif(&totp_params_ldif("totp-sha1-6", &TotpParams::default()));
    slapd.add_ldif(&totp_token_ldif("alice-phone", "totp-sha1-6", KEY));
    slapd.add_ldif(&user_ldif("alice", "alicepw", Some("alice-phone")));
    user_dn("alice")
}

#[test]
fn otp_overlay_accepts_a_code_once_and_records_its_step() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    eprintln!("slapd answered {:?} after the start", slapd.startup());
    let alice = with_alice(&slapd);
    let token = token_dn("alice-phone");

    // The overlay is active: the password alone is refused (slapo-otp takes the last six
    // characters as the code), and nothing is recorded.
    let plain = slapd.bind(&alice, "alicepw");
    assert_eq!(plain.rc(), Some(49), "password alone: {plain:?}");
    assert_eq!(slapd.attribute(&token, "oathTOTPLastTimeStep"), None);

    wait_for_fresh_step(30);
    let t = now();
    let code = oathtool(KEY, &[], t);
    let first = slapd.bind(&alice, &format!("alicepw{code}"));
    assert!(first.ok(), "password+code refused: {first:?}");
    assert_eq!(first.whoami(), Some(alice.as_str()));
    let step = (t / 30).to_string();
    assert_eq!(
        slapd.attribute(&token, "oathTOTPLastTimeStep").as_deref(),
        Some(step.as_str()),
        "the watermark is the step of the code used"
    );

    let replay = slapd.bind(&alice, &format!("alicepw{code}"));
    assert_eq!(
        replay.rc(),
        Some(49),
        "a replayed code must fail: {replay:?}"
    );

    let wrong = wrong_code(KEY);
    let refused = slapd.bind(&alice, &format!("alicepw{wrong}"));
    assert_eq!(
        refused.rc(),
        Some(49),
        "a wrong code must fail: {refused:?}"
    );
    assert_eq!(
        slapd.attribute(&token, "oathTOTPLastTimeStep").as_deref(),
        Some(step.as_str()),
        "neither the replay nor the wrong code moved the watermark"
    );
}

#[test]
fn a_client_trusting_another_ca_is_refused() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    let alice = with_alice(&slapd);
    wait_for_fresh_step(30);
    let code = oathtool(KEY, &[], now());
    let password = format!("alicepw{code}");

    let wrong_ca = slapd.bind_with_ca(&alice, &password, &slapd.other_ca_cert());
    assert!(!wrong_ca.ok(), "the other CA must not verify: {wrong_ca:?}");
    assert_eq!(
        wrong_ca.rc(),
        Some(255),
        "a TLS failure, not a bind result: {wrong_ca:?}"
    );
    assert_eq!(
        slapd.attribute(&token_dn("alice-phone"), "oathTOTPLastTimeStep"),
        None,
        "the code never reached slapd"
    );
    // The same password and code with the right CA pass: the refusal was the certificate.
    let right_ca = slapd.bind(&alice, &password);
    assert!(right_ca.ok(), "with the test CA: {right_ca:?}");
}

#[test]
fn the_service_account_reads_secrets_and_moves_the_watermark_by_compare_and_swap() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    let alice = with_alice(&slapd);
    let token = token_dn("alice-phone");

    let secret = slapd
        .values_as(SERVICE_DN, SERVICE_PASSWORD, &token, "oathSecret")
        .expect("the service account searches the token");
    let key = format!(":: {}", base64_encode(&base32_decode(KEY)));
    assert_eq!(secret, [key], "the service account reads oathSecret");
    // A user without a token binds with his password alone and sees nothing, neither
    // alice's token entry nor his own entry (slapd says noSuchObject, 32).
    slapd.add_ldif(&user_ldif("bob", "bobpw", None));
    let bob = user_dn("bob");
    let whoami = slapd.bind(&bob, "bobpw");
    assert_eq!(whoami.whoami(), Some(bob.as_str()), "{whoami:?}");
    let theirs = slapd.values_as(&bob, "bobpw", &token, "oathSecret");
    assert_eq!(
        theirs.err().and_then(|r| r.rc()),
        Some(32),
        "bob sees alice's token"
    );
    let own = slapd.values_as(&bob, "bobpw", &bob, "uid");
    assert_eq!(
        own.err().and_then(|r| r.rc()),
        Some(32),
        "bob sees his entry"
    );
    let uid = slapd.values_as(SERVICE_DN, SERVICE_PASSWORD, &alice, "uid");
    assert_eq!(uid.expect("the service account searches alice"), ["alice"]);

    let first = slapd.modify_as(
        SERVICE_DN,
        SERVICE_PASSWORD,
        &format!("dn: {token}\nchangetype: modify\nadd: oathTOTPLastTimeStep\noathTOTPLastTimeStep: 100\n"),
    );
    assert!(first.ok(), "first watermark: {first:?}");
    let cas = format!(
        "dn: {token}\nchangetype: modify\ndelete: oathTOTPLastTimeStep\noathTOTPLastTimeStep: 100\n-\n\
         add: oathTOTPLastTimeStep\noathTOTPLastTimeStep: 101\n"
    );
    let moved = slapd.modify_as(SERVICE_DN, SERVICE_PASSWORD, &cas);
    assert!(moved.ok(), "compare-and-swap 100 -> 101: {moved:?}");
    let stale = slapd.modify_as(SERVICE_DN, SERVICE_PASSWORD, &cas);
    assert_eq!(
        stale.rc(),
        Some(16),
        "a stale delete fails with noSuchAttribute: {stale:?}"
    );
    assert_eq!(
        slapd.attribute(&token, "oathTOTPLastTimeStep").as_deref(),
        Some("101")
    );

    // Nobody but the administrator writes the parameters or the secret.
    let denied = slapd.modify_as(
        SERVICE_DN,
        SERVICE_PASSWORD,
        &format!(
            "dn: {}\nchangetype: modify\nreplace: oathTOTPTimeStepWindow\noathTOTPTimeStepWindow: 9\n",
            params_dn("totp-sha1-6")
        ),
    );
    assert_eq!(denied.rc(), Some(50), "insufficient access: {denied:?}");
}

#[test]
fn a_paused_slapd_does_not_answer_until_continued() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    slapd.pause();
    let began = Instant::now();
    assert!(
        !slapd.ping(Duration::from_secs(2)),
        "a stopped slapd answered"
    );
    assert!(began.elapsed() >= Duration::from_secs(2));
    slapd.resume();
    assert!(
        slapd.ping(Duration::from_secs(5)),
        "slapd answers again after SIGCONT"
    );
}

/// The pids of processes whose command line mentions `config` (slapd and its `timeout`).
fn processes_using(config: &Path) -> Vec<String> {
    let needle = config.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .expect("read /proc")
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&needle))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// What a check after the drop needs: the config path, the ldaps port, the directory.
fn traces(slapd: &Slapd) -> (PathBuf, u16, PathBuf) {
    (
        slapd.config_path(),
        slapd.ldaps_port(),
        slapd.dir().to_path_buf(),
    )
}

fn assert_gone((config, port, dir): &(PathBuf, u16, PathBuf)) {
    assert_eq!(
        processes_using(config),
        Vec::<String>::new(),
        "slapd outlived its Slapd"
    );
    assert!(port_free(*port), "port {port} still taken");
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[test]
fn no_slapd_outlives_its_harness_even_after_a_panic() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    let seen = traces(&slapd);
    assert_eq!(processes_using(&seen.0).len(), 2, "timeout and slapd run");
    assert!(!port_free(seen.1), "slapd holds its port");
    drop(slapd);
    assert_gone(&seen);

    // A test that panics with slapd paused: the unwinding drop still stops it.
    let (tx, rx) = std::sync::mpsc::channel();
    let failing = std::thread::spawn(move || {
        let slapd = Slapd::start();
        tx.send(traces(&slapd)).expect("send the traces");
        slapd.pause();
        panic!("a test panics while slapd is paused");
    });
    assert!(failing.join().is_err(), "the thread panicked");
    let seen = rx.recv().expect("the thread started slapd");
    assert_gone(&seen);
}
