//! Sliding-window throttle on code checks, applied before a code is looked at.

use crate::params::RateLimit;

/// Checks in `checks` that fall inside the window around `now`. Times in the future (a clock
/// that went back) count as recent, up to one window ahead.
fn recent(checks: &[u64], limit: RateLimit, now: u64) -> impl Iterator<Item = u64> + '_ {
    let start = now.saturating_sub(limit.seconds);
    let end = now.saturating_add(limit.seconds);
    checks
        .iter()
        .copied()
        .filter(move |t| *t > start && *t <= end)
}

/// `Err(seconds to wait)` when another check now would exceed the limit.
pub fn allowed(checks: &[u64], limit: RateLimit, now: u64) -> Result<(), u64> {
    let mut count = 0u32;
    let mut oldest = u64::MAX;
    for t in recent(checks, limit, now) {
        count += 1;
        oldest = oldest.min(t);
    }
    if count < limit.max_checks {
        Ok(())
    } else {
        Err(oldest
            .saturating_add(limit.seconds)
            .saturating_sub(now)
            .max(1))
    }
}

/// Records a check at `now`, dropping checks that no longer matter.
pub fn record(checks: &mut Vec<u64>, limit: RateLimit, now: u64) {
    let mut kept: Vec<u64> = recent(checks, limit, now).collect();
    kept.push(now);
    let max = usize::try_from(limit.max_checks).unwrap_or(usize::MAX);
    let excess = kept.len().saturating_sub(max);
    kept.drain(..excess);
    *checks = kept;
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: RateLimit = RateLimit {
        max_checks: 3,
        seconds: 30,
    };

    #[test]
    fn three_per_thirty_seconds() {
        let mut c = Vec::new();
        for t in [1000, 1001, 1002] {
            assert_eq!(allowed(&c, L, t), Ok(()));
            record(&mut c, L, t);
        }
        assert_eq!(allowed(&c, L, 1003), Err(27));
        assert_eq!(allowed(&c, L, 1029), Err(1));
        assert_eq!(
            allowed(&c, L, 1030),
            Ok(()),
            "the first check has left the window"
        );
        record(&mut c, L, 1030);
        assert_eq!(c, vec![1001, 1002, 1030]);
    }

    #[test]
    fn old_checks_are_pruned() {
        let mut c = vec![1, 2, 3];
        record(&mut c, L, 10_000);
        assert_eq!(c, vec![10_000]);
    }

    #[test]
    fn a_clock_that_went_back_does_not_free_checks() {
        let c = vec![2000, 2001, 2002];
        assert!(allowed(&c, L, 1990).is_err());
        // Far-future garbage does not lock the user out forever.
        assert_eq!(allowed(&[u64::MAX, u64::MAX, u64::MAX], L, 1990), Ok(()));
    }

    #[test]
    fn list_never_exceeds_the_limit() {
        let mut c = Vec::new();
        for t in 0..100 {
            record(&mut c, L, 5000 + t % 3);
        }
        assert_eq!(c.len(), 3);
    }
}
