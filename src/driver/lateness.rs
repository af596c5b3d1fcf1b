//! How late adverts leave against their deadline: a small fixed-bucket
//! histogram for status and metrics.

use std::fmt;
use std::time::Duration;

/// Upper bounds of the buckets, in microseconds; the last bucket is open.
const BOUNDS_US: [u64; 12] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
];

/// Advert lateness histogram.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Lateness {
    counts: [u64; BOUNDS_US.len() + 1],
    total: u64,
    max_us: u64,
    sum_us: u64,
}

impl Lateness {
    pub fn record(&mut self, late: Duration) {
        let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        let bucket = BOUNDS_US
            .iter()
            .position(|b| us <= *b)
            .unwrap_or(BOUNDS_US.len());
        self.counts[bucket] += 1;
        self.total += 1;
        self.max_us = self.max_us.max(us);
        self.sum_us = self.sum_us.saturating_add(us);
    }

    /// All lateness added up (a histogram's `_sum`).
    pub fn sum(&self) -> Duration {
        Duration::from_micros(self.sum_us)
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> Duration {
        Duration::from_micros(self.max_us)
    }

    /// The bucket bound at or below which `q` (0..=1) of the adverts fall;
    /// `max()` for the open bucket.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let rank = ((self.total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let bound = BOUNDS_US.get(i).copied().unwrap_or(self.max_us);
                return Duration::from_micros(bound.min(self.max_us));
            }
        }
        self.max()
    }

    /// (upper bound in µs or None for the open bucket, count) pairs.
    pub fn buckets(&self) -> impl Iterator<Item = (Option<u64>, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .map(|(i, c)| (BOUNDS_US.get(i).copied(), *c))
    }
}

impl fmt::Display for Lateness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(
            f,
            "n={} p50<={:.3}ms p99<={:.3}ms max={:.3}ms",
            self.total,
            ms(self.quantile(0.5)),
            ms(self.quantile(0.99)),
            ms(self.max())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_follow_the_buckets() {
        let mut h = Lateness::default();
        for _ in 0..98 {
            h.record(Duration::from_micros(30));
        }
        h.record(Duration::from_millis(3));
        h.record(Duration::from_millis(400));
        assert_eq!(h.count(), 100);
        assert_eq!(h.quantile(0.5), Duration::from_micros(50));
        assert_eq!(h.quantile(0.99), Duration::from_micros(5_000));
        assert_eq!(h.max(), Duration::from_millis(400));
        assert_eq!(h.quantile(1.0), Duration::from_millis(400));
        assert_eq!(h.buckets().map(|(_, c)| c).sum::<u64>(), 100);
        assert_eq!(h.sum(), Duration::from_micros(98 * 30 + 3_000 + 400_000));
    }

    #[test]
    fn empty_histogram_reports_zero() {
        let h = Lateness::default();
        assert_eq!(h.quantile(0.99), Duration::ZERO);
        assert_eq!(h.to_string(), "n=0 p50<=0.000ms p99<=0.000ms max=0.000ms");
    }
}
