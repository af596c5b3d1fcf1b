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
//! interval left together, [`spread`] moves all but the first few of them
//! to earlier next deadlines, in slots of [`MAX_TOGETHER`] evenly over the
//! second half of the interval.
//! Only earlier: no advert is ever later than its Adver_Timer, and each
//! instance's next gap is at least half an interval. Once spread the
//! phases stay spread (each Adver_Timer restarts from its own send); a
//! later round that bunches them again (a new failover) spreads them again.

use std::time::Duration;

use crate::proto::Instant;

/// Adverts of one interval that may leave in the same round unspread, and
/// the size of a slot: a `sendmmsg` of 25 takes ~0.1 ms (up to ~2 ms under
/// a 10 000 pps flood). Smaller slots cost CPU: each is a wake-up, and at
/// 1000 instances at 1 s, slots of 8 cost a Master 1.85 % of a core, 25
/// cost 1.40 %, no spreading 0.57 % (bench-failover idle1000, 2026-12-04).
pub const MAX_TOGETHER: usize = 25;

/// For adverts that just left together at `now`, as (instance, interval)
/// in the order they were sent, the earlier next deadlines to set: per
/// interval, the n adverts are cut into slots of [`MAX_TOGETHER`]; slot s
/// of S moves to `now + interval - s * (interval / 2) / S`, the first slot
/// keeps its deadline. Groups of at most [`MAX_TOGETHER`] are left alone.
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
        // Slots of MAX_TOGETHER: each wake-up sends a few adverts in one
        // `sendmmsg` rather than one each (1000 instances: 125 wake-ups a
        // second, not 1000; every wake-up costs the driver a pass over its
        // instances).
        let slots = n.div_ceil(MAX_TOGETHER);
        let half = interval / 2;
        for (k, &instance) in group.iter().enumerate().skip(MAX_TOGETHER) {
            // slot < slots, so the shift is below half an interval.
            let slot = k / MAX_TOGETHER;
            let shift = half.mul_f64(slot as f64 / slots as f64);
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
        assert_eq!(
            moved.len(),
            100 - MAX_TOGETHER,
            "all but the first slot move"
        );
        assert!(moved.iter().all(|(i, _)| *i >= MAX_TOGETHER));
        let mut per_deadline = std::collections::BTreeMap::new();
        for (_, t) in &moved {
            assert!(*t < now + SECOND, "never later than the Adver_Timer");
            assert!(*t > now + SECOND / 2, "a gap of at least half an interval");
            *per_deadline.entry(*t).or_insert(0) += 1;
        }
        // 4 slots of at most 25: the 3 moved ones 500/4 ms apart.
        assert_eq!(per_deadline.len(), 3);
        assert!(per_deadline.values().all(|n| *n <= MAX_TOGETHER));
        let times: Vec<_> = per_deadline.keys().collect();
        let gap = times[1].saturating_since(*times[0]);
        assert_eq!(gap, Duration::from_millis(125));
    }

    #[test]
    fn each_interval_is_spread_on_its_own() {
        let now = at(0);
        let tenth = Duration::from_millis(100);
        let mut sent: Vec<_> = (0..40).map(|i| (i, SECOND)).collect();
        sent.extend((40..45).map(|i| (i, tenth)));
        let moved = spread(now, &sent);
        assert_eq!(
            moved.len(),
            40 - MAX_TOGETHER,
            "the 5 at 0.1 s are few enough to stay"
        );
        assert!(moved.iter().all(|(i, _)| *i < 40));
    }
}
