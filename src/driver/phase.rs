//! Spreading the phases of adverts that fall due together.
//!
//! Instances that became Master at the same moment (a start, a failover of
//! every instance, a reload) advertise at the same moment forever after:
//! with 100 instances at 1 s, every second one `sendmmsg` of 100 frames.
//! The kernel pushes those one after the other, and under load (a flood
//! being received, a veth peer processed inline) the last frame of such a
//! burst left up to 8 ms after the first, measured on A's interface
//! (bench-flood, 100 instances, 10 000 pps): lateness that no timer
//! precision can remove, because it is the burst's own length.
//!
//! After a round in which more than [`MAX_TOGETHER`] adverts of one
//! interval left together, [`spread`] moves all but the first of them to
//! earlier next deadlines, evenly over the second half of the interval.
//! Only earlier: no advert is ever later than its Adver_Timer, and each
//! instance's next gap is at least half an interval. Once spread the
//! phases stay spread (each Adver_Timer restarts from its own send); a
//! later round that bunches them again (a new failover) spreads them again.

use std::time::Duration;

use crate::proto::Instant;

/// Adverts of one interval that may leave in the same round unspread: a
/// `sendmmsg` of this many takes well under 0.1 ms.
pub const MAX_TOGETHER: usize = 8;

/// For adverts that just left together at `now`, as (instance, interval)
/// in the order they were sent, the earlier next deadlines to set:
/// per interval, the k-th of n (k from 0) moves to
/// `now + interval - k * (interval / 2) / n`; the first keeps its own.
/// Groups of at most [`MAX_TOGETHER`] are left alone.
pub fn spread(now: Instant, sent: &[(usize, Duration)]) -> Vec<(usize, Instant)> {
    let mut intervals: Vec<Duration> = sent.iter().map(|(_, iv)| *iv).collect();
    intervals.sort();
    intervals.dedup();
    let mut out = Vec::new();
    for interval in intervals {
        let group: Vec<usize> = sent
            .iter()
            .filter(|(_, iv)| *iv == interval)
            .map(|(i, _)| *i)
            .collect();
        let n = group.len();
        if n <= MAX_TOGETHER {
            continue;
        }
        let half = interval / 2;
        for (k, &instance) in group.iter().enumerate().skip(1) {
            // k < n, so the shift is below half an interval.
            let shift = half.mul_f64(k as f64 / n as f64);
            out.push((instance, now + (interval - shift)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn at(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    #[test]
    fn a_small_round_is_left_alone() {
        let sent: Vec<_> = (0..MAX_TOGETHER).map(|i| (i, SECOND)).collect();
        assert!(spread(at(5000), &sent).is_empty());
    }

    #[test]
    fn a_large_round_spreads_over_the_second_half_of_the_interval_and_only_earlier() {
        let now = at(5000);
        let sent: Vec<_> = (0..100).map(|i| (i, SECOND)).collect();
        let moved = spread(now, &sent);
        assert_eq!(moved.len(), 99, "all but the first move");
        assert!(moved.iter().all(|(i, _)| *i != 0));
        let mut deadlines: Vec<Instant> = moved.iter().map(|(_, t)| *t).collect();
        for t in &deadlines {
            assert!(*t < now + SECOND, "never later than the Adver_Timer");
            assert!(*t > now + SECOND / 2, "a gap of at least half an interval");
        }
        deadlines.sort();
        deadlines.dedup();
        assert_eq!(deadlines.len(), 99, "every instance gets its own slot");
        // Evenly: 5 ms apart for 100 over 500 ms.
        let gap = deadlines[1].saturating_since(deadlines[0]);
        assert_eq!(gap, Duration::from_millis(5));
    }

    #[test]
    fn each_interval_is_spread_on_its_own() {
        let now = at(0);
        let tenth = Duration::from_millis(100);
        let mut sent: Vec<_> = (0..20).map(|i| (i, SECOND)).collect();
        sent.extend((20..25).map(|i| (i, tenth)));
        let moved = spread(now, &sent);
        assert_eq!(moved.len(), 19, "the 5 at 0.1 s are few enough to stay");
        assert!(moved.iter().all(|(i, _)| *i < 20));
    }
}
