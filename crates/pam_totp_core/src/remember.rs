//! Remembered hosts (`remember=DURATION`): after a successful code from a remote host, the same
//! user from the same host is not asked again for a while. The list lives in the user's login
//! state, bounded (the oldest entry is dropped), and every entry expires. Pure logic: the
//! caller gives the time and saves the state.

use serde::{Deserialize, Serialize};

/// Most hosts remembered per user; a new one beyond this drops the oldest.
pub const MAX_REMEMBERED_HOSTS: usize = 16;
/// Longest `remember=` duration: 90 days.
pub const MAX_REMEMBER_SECONDS: u64 = 90 * 86_400;
/// Longest host name kept (DNS names are at most 253 characters).
pub const MAX_HOST_BYTES: usize = 255;

/// One host a code was given from, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RememberedHost {
    /// PAM_RHOST as the application set it, ASCII letters in lower case.
    pub host: String,
    /// Unix time of the last successful code from it.
    pub at: u64,
}

/// The form a host is compared and stored in: ASCII letters in lower case (DNS names are not
/// case-sensitive); None for an empty or overlong host, which is never remembered.
pub fn normalise(host: &str) -> Option<String> {
    let host = host.trim();
    (!host.is_empty() && host.len() <= MAX_HOST_BYTES).then(|| host.to_ascii_lowercase())
}

/// True for a host that is this machine: a loopback address (127.0.0.0/8, ::1, and 127.x
/// mapped into IPv6), `localhost` and names under it, or `hostname` (the machine's own name).
/// Such hosts are never remembered: a login through a port forward, a web terminal or a
/// local screen locker comes "from" them, so remembering one would let every local user who
/// knows a password in without a code.
pub fn is_local(host: &str, hostname: Option<&str>) -> bool {
    let host = host.trim().trim_end_matches('.');
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return match ip {
            std::net::IpAddr::V4(v4) => v4.is_loopback() || v4.is_unspecified(),
            std::net::IpAddr::V6(v6) => {
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        };
    }
    let lower = host.to_ascii_lowercase();
    lower == "localhost"
        || lower.ends_with(".localhost")
        || lower == "localhost.localdomain"
        || hostname.is_some_and(|name| {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            !name.is_empty() && (lower == name || lower.split('.').next() == Some(name.as_str()))
        })
}

/// Parses a `remember=` value: a number followed by `m`, `h` or `d`, from one minute to
/// [`MAX_REMEMBER_SECONDS`]; returns seconds.
pub fn parse_duration(value: &str) -> Option<u64> {
    let unit = value.chars().last()?;
    let number = value.get(..value.len() - unit.len_utf8())?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let scale = match unit {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    let seconds = number.parse::<u64>().ok()?.checked_mul(scale)?;
    (60..=MAX_REMEMBER_SECONDS)
        .contains(&seconds)
        .then_some(seconds)
}

/// How many seconds ago `host` gave a code, if that was less than `duration` seconds before
/// `now` (a time in the future, from a clock that went back, does not count).
pub fn remembered(list: &[RememberedHost], host: &str, now: u64, duration: u64) -> Option<u64> {
    let host = normalise(host)?;
    list.iter()
        .filter(|r| r.host == host && r.at <= now)
        .map(|r| now - r.at)
        .find(|age| *age < duration)
}

/// Records a successful code from `host` at `now`: refreshes its entry or adds one, drops
/// entries older than [`MAX_REMEMBER_SECONDS`], and keeps at most [`MAX_REMEMBERED_HOSTS`]
/// (the most recent). Returns false when the host cannot be remembered (empty, overlong).
pub fn record(list: &mut Vec<RememberedHost>, host: &str, now: u64) -> bool {
    let Some(host) = normalise(host) else {
        return false;
    };
    list.retain(|r| r.host != host && now.saturating_sub(r.at) < MAX_REMEMBER_SECONDS);
    list.push(RememberedHost { host, at: now });
    list.sort_by_key(|r| std::cmp::Reverse(r.at));
    list.truncate(MAX_REMEMBERED_HOSTS);
    true
}

/// Drops `host` from the list (all hosts with None); returns how many entries were dropped.
pub fn forget(list: &mut Vec<RememberedHost>, host: Option<&str>) -> usize {
    let before = list.len();
    match host.and_then(normalise) {
        Some(host) => list.retain(|r| r.host != host),
        None if host.is_none() => list.clear(),
        None => {}
    }
    before - list.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m"), Some(1800));
        assert_eq!(parse_duration("12h"), Some(43_200));
        assert_eq!(parse_duration("50d"), Some(50 * 86_400));
        assert_eq!(parse_duration("90d"), Some(MAX_REMEMBER_SECONDS));
        for bad in [
            "91d",
            "0m",
            "",
            "m",
            "10",
            "10s",
            "1w",
            "-1d",
            "1.5h",
            "١d",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_host_is_remembered_for_the_duration_only() {
        let mut list = Vec::new();
        assert!(record(&mut list, "Host.Example", 1000));
        assert_eq!(remembered(&list, "host.example", 1000 + 59, 60), Some(59));
        assert_eq!(remembered(&list, "HOST.EXAMPLE", 1000 + 60, 60), None);
        assert_eq!(remembered(&list, "other.example", 1001, 60), None);
        // A clock that went back does not make an entry count.
        assert_eq!(remembered(&list, "host.example", 999, 60), None);
        assert!(!record(&mut list, "", 1000));
        assert!(!record(&mut list, &"a".repeat(MAX_HOST_BYTES + 1), 1000));
        assert_eq!(remembered(&list, "", 1000, 60), None);
    }

    #[test]
    fn the_list_is_bounded_and_refreshed() {
        let mut list = Vec::new();
        for i in 0..(MAX_REMEMBERED_HOSTS as u64 + 5) {
            record(&mut list, &format!("10.0.0.{i}"), 1000 + i);
        }
        assert_eq!(list.len(), MAX_REMEMBERED_HOSTS);
        assert_eq!(
            remembered(&list, "10.0.0.0", 2000, 86_400),
            None,
            "oldest dropped"
        );
        assert!(remembered(&list, "10.0.0.20", 2000, 86_400).is_some());
        record(&mut list, "10.0.0.20", 3000);
        assert_eq!(list.iter().filter(|r| r.host == "10.0.0.20").count(), 1);
        assert_eq!(list[0].at, 3000);
        // Entries older than the longest duration go at the next record.
        record(&mut list, "new", 2999 + MAX_REMEMBER_SECONDS);
        assert_eq!(list.len(), 2);
    }

    #[test]
    fn this_machine_is_local() {
        for host in [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            "localhost",
            "LocalHost.",
            "x.localhost",
            "localhost.localdomain",
            "box",
            "BOX.example.org",
        ] {
            assert!(is_local(host, Some("box")), "{host}");
        }
        for host in [
            "198.51.100.7",
            "::ffff:198.51.100.7",
            "2001:db8::1",
            "example.org",
            "boxer",
        ] {
            assert!(!is_local(host, Some("box")), "{host}");
        }
        assert!(!is_local("box", None));
    }

    #[test]
    fn forgetting() {
        let mut list = Vec::new();
        record(&mut list, "a", 1);
        record(&mut list, "b", 2);
        assert_eq!(forget(&mut list, Some("A")), 1);
        assert_eq!(forget(&mut list, Some("a")), 0);
        assert_eq!(forget(&mut list, None), 1);
        assert!(list.is_empty());
    }
}
