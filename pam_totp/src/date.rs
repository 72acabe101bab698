//! Calendar days in UTC for `nullok_until=`: written strictly as `YYYY-MM-DD`, compared with the
//! clock as Unix seconds. No time zones and no clock here: the flow passes `now` in.

use std::fmt;
use thiserror::Error;

/// Seconds in a day (Unix time has no leap seconds).
const SECONDS_PER_DAY: u64 = 86_400;
/// First and last year a date may name.
const YEARS: std::ops::RangeInclusive<u16> = 1970..=9999;

/// A calendar day (UTC), between 1970-01-01 and 9999-12-31.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day {
    year: u16,
    month: u8,
    day: u8,
}

/// Why a text is not a date.
#[derive(Debug, Clone, Copy, Error, PartialEq, Eq)]
#[error("expected a date written YYYY-MM-DD (UTC), from 1970-01-01 to 9999-12-31, e.g. 2027-01-31")]
pub struct DayError;

impl Day {
    /// Parses `YYYY-MM-DD`: four, two and two ASCII digits, a month from 01 to 12 and a day
    /// that exists in that month (leap years counted).
    pub fn parse(text: &str) -> Result<Day, DayError> {
        let mut parts = text.split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(DayError);
        };
        let year: u16 = digits(y, 4)?;
        let month: u8 = digits(m, 2)?;
        let day: u8 = digits(d, 2)?;
        if !YEARS.contains(&year) || !(1..=12).contains(&month) {
            return Err(DayError);
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(DayError);
        }
        Ok(Day { year, month, day })
    }

    /// Days from 1970-01-01 to this day.
    pub fn days_since_epoch(self) -> u64 {
        // Howard Hinnant's days_from_civil, with the year starting in March so that the leap
        // day is the last day of a year. Years are 1970 or later: no negative numbers.
        let month = u64::from(self.month);
        let year = u64::from(self.year) - u64::from(month <= 2);
        let era = year / 400;
        let year_of_era = year % 400;
        let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + u64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        // 719468: days from 0000-03-01 to 1970-01-01.
        era * 146_097 + day_of_era - 719_468
    }

    /// The first second (Unix time) after this day ends, UTC.
    pub fn end(self) -> u64 {
        (self.days_since_epoch() + 1) * SECONDS_PER_DAY
    }

    /// True while Unix time `now` is on or before this day (UTC).
    pub fn is_not_over(self, now: u64) -> bool {
        now < self.end()
    }
}

/// As the option writes it: `YYYY-MM-DD`.
impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// `text` as a number written with exactly `len` ASCII digits.
fn digits<T: std::str::FromStr>(text: &str, len: usize) -> Result<T, DayError> {
    if text.len() != len || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DayError);
    }
    text.parse().map_err(|_| DayError)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        Day::parse(text).unwrap()
    }

    #[test]
    fn days_count_from_the_epoch() {
        // Values from `date -u -d DATE +%s` / 86400.
        for (text, days) in [
            ("1970-01-01", 0),
            ("1970-03-01", 59),
            ("2000-02-29", 11_016),
            ("2000-03-01", 11_017),
            ("2005-03-18", 12_860),
            ("2024-12-31", 20_088),
            ("2100-03-01", 47_541),
            ("9999-12-31", 2_932_896),
        ] {
            assert_eq!(day(text).days_since_epoch(), days, "{text}");
        }
    }

    #[test]
    fn a_day_ends_at_the_next_utc_midnight() {
        // 2005-03-18 01:58:29 UTC is RFC 6238's test time 1111111109.
        let d = day("2005-03-18");
        assert_eq!(d.end(), 1_111_190_400);
        assert!(d.is_not_over(1_111_111_109));
        assert!(d.is_not_over(1_111_190_399));
        assert!(!d.is_not_over(1_111_190_400));
        assert!(!day("2005-03-17").is_not_over(1_111_111_109));
    }

    #[test]
    fn it_prints_as_written() {
        for text in ["1970-01-01", "2027-01-31", "2028-02-29", "9999-12-31"] {
            assert_eq!(day(text).to_string(), text);
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for text in [
            "",
            "2027-1-31",
            "27-01-31",
            "2027-01-31T00:00",
            "2027/01/31",
            "2027-00-10",
            "2027-13-01",
            "2027-01-00",
            "2027-01-32",
            "2027-02-29",
            "2100-02-29",
            "2027-04-31",
            "1969-12-31",
            "+027-01-31",
            "2027-01-3١",
            "2027-01--31",
            "2027-01-31-",
            " 2027-01-31",
        ] {
            assert_eq!(Day::parse(text), Err(DayError), "{text:?}");
        }
        assert!(Day::parse("2028-02-29").is_ok());
        assert!(Day::parse("2000-02-29").is_ok());
    }
}
