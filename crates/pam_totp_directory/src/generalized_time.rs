//! LDAP GeneralizedTime (RFC 4517 section 3.3.13) for `oathLastFailure` and `oathSecretTime`:
//! written as `YYYYMMDDHHMMSSZ` (UTC, whole seconds), read in that form with optional
//! fractional seconds; offsets other than `Z` are refused.

/// `unix` seconds as `YYYYMMDDHHMMSSZ`.
pub fn format(unix: u64) -> String {
    let days = unix / 86_400;
    let rem = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Parses `YYYYMMDDHHMMSS[.fraction]Z` into Unix seconds (the fraction dropped); None for any
/// other form or a time before 1970.
pub fn parse(text: &str) -> Option<u64> {
    let body = text.strip_suffix('Z')?;
    let (whole, fraction) = match body.split_once(['.', ',']) {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (body, None),
    };
    if let Some(f) = fraction {
        if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |range: std::ops::Range<usize>| whole.get(range)?.parse::<u64>().ok();
    let (y, m, d) = (field(0..4)?, field(4..6)?, field(6..8)?);
    let (hh, mm, ss) = (field(8..10)?, field(10..12)?, field(12..14)?);
    if y < 1970 || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss.min(59))
}

fn is_leap(y: u64) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date from 1970 on (Howard Hinnant's algorithm, unsigned).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_times() {
        assert_eq!(format(0), "19700101000000Z");
        assert_eq!(format(1_111_111_109), "20050318015829Z");
        assert_eq!(format(951_782_400), "20000229000000Z");
        assert_eq!(parse("20050318015829Z"), Some(1_111_111_109));
        assert_eq!(parse("20050318015829.123Z"), Some(1_111_111_109));
        assert_eq!(parse("19700101000000Z"), Some(0));
    }

    #[test]
    fn round_trip() {
        for t in [
            0,
            59,
            86_399,
            86_400,
            951_782_399,
            1_796_119_433,
            4_102_444_800,
        ] {
            assert_eq!(parse(&format(t)), Some(t), "{t}");
        }
    }

    #[test]
    fn other_forms_are_refused() {
        for bad in [
            "",
            "Z",
            "20050318010829",
            "20050318010829+0100",
            "2005031801082Z",
            "20051318010829Z",
            "20050230010829Z",
            "20050318250829Z",
            "19691231235959Z",
            "2005-03-18T01:08:29Z",
            "20050318010829.Z",
            "+0050318010829Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
