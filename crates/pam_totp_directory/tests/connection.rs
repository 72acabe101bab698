//! Connection::open against the real slapd (tests/src/slapd.rs): ldaps, StartTLS and ldapi
//! connect and bind; a server certificate from another CA, a wrong bind password, a closed
//! port and a stopped (SIGSTOP) server are each refused with a message naming the cause and
//! the fix, the last within the timeout.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure is a panic

mod common;

use common::{config, config_with, Via};
use pam_totp_directory::{Connection, DirectoryError};
use pam_totp_tests::slapd::{Slapd, PEOPLE, SERVICE_DN, SERVICE_PASSWORD};
use pam_totp_tests::{needs_root, needs_slapd};
use std::time::{Duration, Instant};

fn whoami(conn: &mut Connection) -> String {
    let timeout = conn.timeout();
    let (exop, _) = conn
        .ldap()
        .with_timeout(timeout)
        .extended(ldap3::exop::WhoAmI)
        .unwrap()
        .success()
        .unwrap();
    let resp: ldap3::exop::WhoAmIResp = exop.parse();
    resp.authzid
}

#[test]
fn ldaps_starttls_and_ldapi_connect_and_bind() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    for via in [Via::Ldaps, Via::StartTls, Via::Ldapi] {
        let files = config(&slapd, via);
        let cfg = files.load();
        let mut conn = Connection::open(&cfg).unwrap_or_else(|e| panic!("{via:?}: {e}"));
        assert_eq!(whoami(&mut conn), format!("dn:{SERVICE_DN}"), "{via:?}");
        // The service account sees the people branch.
        let found = conn
            .search(PEOPLE, ldap3::Scope::Base, "(objectClass=*)", &["ou"])
            .unwrap()
            .expect("ou=people exists");
        assert_eq!(found.len(), 1, "{via:?}");
    }
    // StartTLS really happened before the bind (slapd logs the extended operation first).
    let log = slapd.log();
    assert!(
        log.contains("oid=1.3.6.1.4.1.1466.20037"),
        "no StartTLS in slapd's log"
    );
}

#[test]
fn ldapi_without_bind_dn_binds_with_sasl_external() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    let files = config(&slapd, Via::LdapiExternal);
    let cfg = files.load();
    assert_eq!(cfg.bind_dn, None);
    let mut conn = Connection::open(&cfg).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        whoami(&mut conn),
        "dn:gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth"
    );
    // That identity may read nothing here: the base is not there for it (rc 32), which is
    // not the same as "no such user" (a search that finds nothing).
    let found = conn
        .search(PEOPLE, ldap3::Scope::Subtree, "(uid=alice)", &["uid"])
        .unwrap();
    assert!(found.is_none(), "{found:?}");
}

#[test]
fn a_server_certificate_from_another_ca_is_refused() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    for via in [Via::Ldaps, Via::StartTls] {
        let files = config_with(&slapd, via, &slapd.other_ca_cert(), SERVICE_PASSWORD, 5);
        let cfg = files.load();
        let err = Connection::open(&cfg)
            .err()
            .expect("the other CA must not verify");
        let text = err.to_string();
        assert!(matches!(err, DirectoryError::Tls { .. }), "{via:?}: {text}");
        let ca = slapd.other_ca_cert().display().to_string();
        assert!(
            text.contains(&format!("ca_file={ca}"))
                && text.contains("not signed by a CA in ca_file"),
            "{text}"
        );
        assert!(text.contains("fix ca_file"), "{text}");
    }
    // No bind reached slapd (the password is never sent over an unverified connection).
    assert!(!slapd.log().contains(&format!("BIND dn=\"{SERVICE_DN}\"")));
}

#[test]
fn a_wrong_bind_password_is_refused() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    for via in [Via::Ldaps, Via::Ldapi] {
        let cfg = config_with(&slapd, via, &slapd.ca_cert(), "not-the-password", 5);
        let secret = cfg.dir.path().join("ldap.secret").display().to_string();
        let err = Connection::open(&cfg.load())
            .err()
            .expect("a wrong password binds");
        let text = err.to_string();
        assert!(matches!(err, DirectoryError::BindRefused { .. }), "{text}");
        assert!(
            text.contains("rc 49") && text.contains(&format!("bind_password_file={secret}")),
            "{text}"
        );
        assert!(!text.contains("not-the-password"), "{text}");
    }
}

#[test]
fn a_closed_port_is_unreachable_at_once() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    let cfg = config(&slapd, Via::Ldaps);
    let mut loaded = cfg.load();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    loaded.uri = format!("ldaps://127.0.0.1:{port}");
    loaded.endpoint = pam_totp_directory::config::Endpoint::Ldaps {
        host: "127.0.0.1".into(),
        port,
    };
    let began = Instant::now();
    let err = Connection::open(&loaded)
        .err()
        .expect("nothing listens there");
    assert!(
        began.elapsed() < Duration::from_secs(1),
        "{:?}",
        began.elapsed()
    );
    let text = err.to_string();
    assert!(matches!(err, DirectoryError::Unreachable { .. }), "{text}");
    assert!(
        text.contains(&format!(
            "ldaps://127.0.0.1:{port} unreachable: connection refused"
        )) && text.contains(&format!("fix uri in {}", cfg.path.display())),
        "{text}"
    );
    // ldapi: no socket.
    loaded.uri = "ldapi://%2Fnonexistent%2Fldapi".into();
    loaded.endpoint = pam_totp_directory::config::Endpoint::Ldapi {
        socket: "/nonexistent/ldapi".into(),
    };
    let text = Connection::open(&loaded)
        .err()
        .expect("no socket")
        .to_string();
    assert!(text.contains("no socket at /nonexistent/ldapi"), "{text}");
}

#[test]
fn a_stopped_server_times_out_within_the_timeout() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    for via in [Via::Ldaps, Via::StartTls, Via::Ldapi] {
        let files = config_with(&slapd, via, &slapd.ca_cert(), SERVICE_PASSWORD, 2);
        let cfg = files.load();
        slapd.pause();
        let began = Instant::now();
        let result = Connection::open(&cfg);
        let took = began.elapsed();
        slapd.resume();
        let err = result.err().expect("a stopped slapd answers nothing");
        let text = err.to_string();
        assert!(
            matches!(err, DirectoryError::Timeout { .. }),
            "{via:?}: {text}"
        );
        assert!(
            took >= Duration::from_millis(1900) && took < Duration::from_millis(3000),
            "{via:?}: {took:?}"
        );
        assert!(
            text.contains("no answer within 2 s") && text.contains("timeout="),
            "{text}"
        );
        // Continued, it answers again.
        assert!(Connection::open(&cfg).is_ok(), "{via:?} after SIGCONT");
    }
}

#[test]
fn an_operation_on_a_stopped_server_times_out() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    let files = config_with(&slapd, Via::Ldaps, &slapd.ca_cert(), SERVICE_PASSWORD, 2);
    let cfg = files.load();
    let mut conn = Connection::open(&cfg).unwrap();
    slapd.pause();
    let began = Instant::now();
    let result = conn.search(PEOPLE, ldap3::Scope::Subtree, "(uid=alice)", &["uid"]);
    let took = began.elapsed();
    slapd.resume();
    let text = result.expect_err("no answer").to_string();
    assert!(text.contains("no answer within 2 s (search of"), "{text}");
    assert!(took < Duration::from_millis(3000), "{took:?}");
}

/// A fake server on ldap://: answers the first request (StartTLS) with `result_code`, then
/// records everything the client sends until it closes or 2 s pass.
fn fake_starttls_server(result_code: u8) -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        // The StartTLS request: SEQUENCE (short length) { INTEGER messageID, [APPLICATION 23] }.
        let mut head = [0u8; 2];
        stream.read_exact(&mut head).unwrap();
        assert_eq!(head[0], 0x30, "an LDAP message first");
        let mut request = vec![0u8; usize::from(head[1])];
        stream.read_exact(&mut request).unwrap();
        assert_eq!(&request[..2], &[0x02, 0x01], "a one-byte message id");
        let id = request[2];
        assert_eq!(request[3], 0x77, "an extended request (StartTLS) first");
        // ExtendedResponse { resultCode, matchedDN "", diagnosticMessage "" }.
        let response = [
            0x30,
            0x0c,
            0x02,
            0x01,
            id,
            0x78,
            0x07,
            0x0a,
            0x01,
            result_code,
            0x04,
            0x00,
            0x04,
            0x00,
        ];
        stream.write_all(&response).unwrap();
        let mut rest = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            rest.extend_from_slice(&buf[..n]);
        }
        rest
    });
    (port, handle)
}

/// ldap:// never binds without TLS: a server that refuses StartTLS gets no bind, and one that
/// accepts it but does not speak TLS gets a TLS handshake and nothing else; the password never
/// crosses the wire.
#[test]
fn no_bind_is_sent_unless_starttls_succeeded() {
    needs_root!();
    needs_slapd!();
    let slapd = Slapd::start();
    let files = config(&slapd, Via::StartTls);
    for result_code in [2u8, 0u8] {
        let (port, server) = fake_starttls_server(result_code);
        let mut cfg = files.load();
        cfg.uri = format!("ldap://127.0.0.1:{port}");
        cfg.endpoint = pam_totp_directory::config::Endpoint::StartTls {
            host: "127.0.0.1".into(),
            port,
        };
        let err = Connection::open(&cfg).err().expect("no TLS, no connection");
        let text = err.to_string();
        let sent = server.join().unwrap();
        assert!(
            !sent
                .windows(SERVICE_PASSWORD.len())
                .any(|w| w == SERVICE_PASSWORD.as_bytes()),
            "the bind password was sent ({result_code}): {text}"
        );
        if result_code == 0 {
            // Only a TLS handshake record (ClientHello) followed, if anything.
            assert!(sent.is_empty() || sent[0] == 0x16, "{sent:02x?}");
        } else {
            assert!(
                sent.is_empty(),
                "sent after a refused StartTLS: {sent:02x?}"
            );
            assert!(text.contains("StartTLS") && text.contains("rc 2"), "{text}");
        }
    }
}
