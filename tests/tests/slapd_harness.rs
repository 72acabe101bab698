//! The slapd harness's own checks (`pam_totp_tests::slapd`), against the real Debian slapd with
//! slapo-otp: a password+TOTP bind succeeds once, its replay and a wrong code fail, the
//! watermark is the code's time step, a client trusting another CA is refused, the ACLs hold,
//! a paused slapd does not answer, and no slapd outlives its `Slapd` (also after a panic).
//! pam_totp's own schema (packaging/ldap): slapd loads it, recovery codes on a token entry are
//! burnt once by an exact-value delete, and only the service account reads them.

use pam_totp_tests::consumers::wrong_code;
use pam_totp_tests::slapd::{
    base32_decode, base64_encode, load_into_cn_config, params_dn, port_free, schema_ldif, token_dn,
    totp_params_ldif, totp_token_ldif, user_dn, user_ldif, Slapd, TotpParams, RECOVERY_ATTR,
    RECOVERY_CLASS, SERVICE_DN, SERVICE_PASSWORD,
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

/// A stored recovery code in the secret file's form, `sha256$<salt hex>$<digest hex>`.
fn recovery_hash(salt: u8, digest: u8) -> String {
    format!(
        "sha256${}${}",
        format!("{salt:02x}").repeat(16),
        format!("{digest:02x}").repeat(32)
    )
}

#[test]
fn recovery_codes_on_the_token_entry_are_burnt_once_by_an_exact_delete() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    let check = slapd.slaptest();
    assert!(
        check.ok() && check.ran.stderr.contains("config file testing succeeded"),
        "slaptest on the generated slapd.conf (with pam_totp.schema): {check:?}"
    );
    with_alice(&slapd);
    let token = token_dn("alice-phone");
    let (first, second) = (recovery_hash(0x11, 0xaa), recovery_hash(0x22, 0xbb));
    // The administrator (totp-enroll --store ldap, later) puts the auxiliary class on the
    // token entry with two hashes, next to the failure counter slapo-otp's schema allows there.
    slapd.modify_ldif(&format!(
        "dn: {token}\nchangetype: modify\nadd: objectClass\nobjectClass: {RECOVERY_CLASS}\n-\n\
         add: {RECOVERY_ATTR}\n{RECOVERY_ATTR}: {first}\n{RECOVERY_ATTR}: {second}\n-\n\
         add: oathFailureCount\noathFailureCount: 0\n"
    ));
    let mut stored = slapd
        .values_as(SERVICE_DN, SERVICE_PASSWORD, &token, RECOVERY_ATTR)
        .expect("the service account reads the recovery codes");
    stored.sort();
    assert_eq!(stored, [first.clone(), second.clone()]);

    // Using a code: one modify that counts the attempt and deletes that exact value.
    let burn = format!(
        "dn: {token}\nchangetype: modify\ndelete: {RECOVERY_ATTR}\n{RECOVERY_ATTR}: {first}\n-\n\
         replace: oathFailureCount\noathFailureCount: 1\n"
    );
    let used = slapd.modify_as(SERVICE_DN, SERVICE_PASSWORD, &burn);
    assert!(used.ok(), "the service account burns a code: {used:?}");
    let again = slapd.modify_as(SERVICE_DN, SERVICE_PASSWORD, &burn);
    assert_eq!(
        again.rc(),
        Some(16),
        "the same code again fails with noSuchAttribute: {again:?}"
    );
    // Matching is exact: the same hash in upper case is another value, and nothing else goes.
    let upper = slapd.modify_as(
        SERVICE_DN,
        SERVICE_PASSWORD,
        &format!(
            "dn: {token}\nchangetype: modify\ndelete: {RECOVERY_ATTR}\n{RECOVERY_ATTR}: {}\n",
            second.to_uppercase()
        ),
    );
    assert_eq!(upper.rc(), Some(16), "case-exact match: {upper:?}");
    let left = slapd
        .values_as(SERVICE_DN, SERVICE_PASSWORD, &token, RECOVERY_ATTR)
        .expect("the service account reads the recovery codes");
    assert_eq!(
        left,
        std::slice::from_ref(&second),
        "only the used code is gone"
    );
    assert_eq!(
        slapd.attribute(&token, "oathFailureCount").as_deref(),
        Some("1"),
        "the failed modify changed nothing"
    );
    // IA5String: a value that is not ASCII is refused (invalidAttributeSyntax, 21).
    let bad = slapd.modify_as(
        SERVICE_DN,
        SERVICE_PASSWORD,
        &format!(
            "dn: {token}\nchangetype: modify\nadd: {RECOVERY_ATTR}\n{RECOVERY_ATTR}:: {}\n",
            base64_encode("sha256$\u{e9}".as_bytes())
        ),
    );
    assert_eq!(bad.rc(), Some(21), "non-ASCII value: {bad:?}");

    // Another user reads nothing of alice's token, and cannot burn her codes.
    slapd.add_ldif(&user_ldif("bob", "bobpw", None));
    let bob = user_dn("bob");
    let theirs = slapd.values_as(&bob, "bobpw", &token, RECOVERY_ATTR);
    assert_eq!(
        theirs.err().and_then(|r| r.rc()),
        Some(32),
        "bob sees alice's token"
    );
    let steal = slapd.modify_as(&bob, "bobpw", &burn.replace(&first, &second));
    assert_eq!(steal.rc(), Some(50), "bob burns alice's code: {steal:?}");
    assert_eq!(
        slapd
            .values_as(SERVICE_DN, SERVICE_PASSWORD, &token, RECOVERY_ATTR)
            .expect("the service account reads the recovery codes"),
        [second],
        "bob's modify changed nothing"
    );
}

#[test]
fn the_cn_config_form_of_the_schema_loads_with_ldapadd_external() {
    needs_root!();
    needs_slapd!();
    let schema = load_into_cn_config(&schema_ldif()).unwrap_or_else(|e| panic!("{e}"));
    let arc = "2.25.97586117698783090254642117797414963255";
    assert!(
        schema.contains("dn: cn={1}pam_totp,cn=schema,cn=config"),
        "pam_totp's schema entry after core's: {schema}"
    );
    for element in [
        format!("olcAttributeTypes: {{0}}( {arc}.1.1 NAME '{RECOVERY_ATTR}'"),
        format!("olcObjectClasses: {{0}}( {arc}.2.1 NAME '{RECOVERY_CLASS}'"),
    ] {
        assert!(schema.contains(&element), "{element} missing: {schema}");
    }
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

#[test]
fn root_over_ldapi_with_sasl_external_is_the_service_account() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    let unmapped = slapd.whoami_external();
    assert_eq!(
        unmapped.whoami(),
        Some("gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth"),
        "{unmapped:?}"
    );
    let slapd = Slapd::start_with(pam_totp_tests::slapd::EXTERNAL_AS_SERVICE);
    let run = slapd.whoami_external();
    assert!(run.ok(), "{run:?}\n{}", slapd.log());
    assert_eq!(
        run.whoami().map(str::to_ascii_lowercase),
        Some(SERVICE_DN.to_ascii_lowercase()),
        "{run:?}"
    );
}
