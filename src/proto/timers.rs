//! Time for the sans-IO core: a caller-supplied [`Instant`], the advert
//! interval in centiseconds, and the RFC timer arithmetic.
//!
//! Units are where VRRP implementations break (v3 carries centiseconds, v2
//! whole seconds), so every interval inside vrrpd is a [`Centis`] and only the
//! wire codec converts to and from the field encodings.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::types::{Priority, Version};

/// A point in time on the driver's monotonic clock, in microseconds since an
/// epoch the driver chooses. The core never reads a clock: every input comes
/// with `now`, which keeps it deterministic and lets tests use a manual clock.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Instant(u64);

impl Instant {
    pub const ZERO: Instant = Instant(0);

    pub const fn from_micros(micros: u64) -> Self {
        Instant(micros)
    }

    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis.saturating_mul(1000))
    }

    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Time elapsed since `earlier`, zero if `earlier` is in the future.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }

    /// Signed microseconds from `origin` to `self` (negative: before it).
    /// How a state record carries a time across processes whose clocks
    /// have different epochs.
    pub fn offset_from(self, origin: Instant) -> i64 {
        let diff = i128::from(self.0) - i128::from(origin.0);
        i64::try_from(diff).unwrap_or(if diff < 0 { i64::MIN } else { i64::MAX })
    }

    /// `self` moved by `micros` (negative: earlier), saturating at the
    /// clock's epoch and end: the inverse of [`Instant::offset_from`].
    pub fn offset(self, micros: i64) -> Instant {
        if micros >= 0 {
            Instant(self.0.saturating_add(micros.unsigned_abs()))
        } else {
            Instant(self.0.saturating_sub(micros.unsigned_abs()))
        }
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        let micros = u64::try_from(rhs.as_micros()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(micros))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_since(rhs)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

/// A duration in centiseconds: the unit of VRRPv3's Max Adver Int field
/// (RFC 9568 §5.2.7) and vrrpd's one unit for advert intervals.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Centis(pub u16);

/// Why an advert interval is not valid for a protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IntervalError {
    #[error("VRRPv2 advert interval must be whole seconds 1..=255, got {0}")]
    V2(Centis),
    #[error("VRRPv3 advert interval must be 0.01..=40.95 s (1..=4095 cs), got {0}")]
    V3(Centis),
}

impl Centis {
    /// The largest value VRRPv3's 12-bit field carries: 40.95 s.
    pub const V3_MAX: Centis = Centis(4095);
    /// keepalived's default `advert_int 1`.
    pub const ONE_SECOND: Centis = Centis(100);

    pub const fn from_secs(secs: u8) -> Centis {
        Centis(secs as u16 * 100)
    }

    pub const fn get(self) -> u16 {
        self.0
    }

    pub const fn as_duration(self) -> Duration {
        Duration::from_millis(self.0 as u64 * 10)
    }

    /// Checks the interval against what `version` can carry: VRRPv2 whole
    /// seconds 1..=255 (RFC 3768 §5.3.7), VRRPv3 1..=4095 cs (RFC 9568 §5.2.7).
    pub fn validate(self, version: Version) -> Result<Centis, IntervalError> {
        match version {
            Version::V2 if self.0 % 100 == 0 && (100..=25500).contains(&self.0) => Ok(self),
            Version::V2 => Err(IntervalError::V2(self)),
            Version::V3 if (1..=4095).contains(&self.0) => Ok(self),
            Version::V3 => Err(IntervalError::V3(self)),
        }
    }
}

impl fmt::Display for Centis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}s", self.0 / 100, self.0 % 100)
    }
}

/// keepalived's default `down_timer_adverts`: Master_Down_Interval is three
/// advert intervals plus the skew (RFC 9568 §6.1).
pub const DEFAULT_DOWN_TIMER_ADVERTS: u32 = 3;

/// Skew_Time for `priority` (RFC 3768 §6.1 for v2, RFC 9568 §6.1 for v3).
///
/// - v2: `(256 - Priority) / 256` seconds, independent of the interval.
/// - v3: `((256 - Priority) * Master_Adver_Interval) / 256`.
///
/// Computed in microseconds, as keepalived does (`VRRP_TIMER_SKEW_CALC`), so
/// short v3 intervals do not round the skew to zero.
pub fn skew_time(version: Version, priority: Priority, master_adver_interval: Centis) -> Duration {
    let factor = 256 - u64::from(priority.get());
    let micros = match version {
        Version::V2 => factor * 1_000_000 / 256,
        Version::V3 => factor * u64::from(master_adver_interval.get()) * 10_000 / 256,
    };
    Duration::from_micros(micros)
}

/// Master_Down_Interval: `down_timer_adverts * Master_Adver_Interval + Skew_Time`
/// (RFC 9568 §6.1 with keepalived's `down_timer_adverts`, 3 by default).
pub fn master_down_interval(
    version: Version,
    priority: Priority,
    master_adver_interval: Centis,
    down_timer_adverts: u32,
) -> Duration {
    master_adver_interval.as_duration() * down_timer_adverts
        + skew_time(version, priority, master_adver_interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centis_convert_to_duration_in_hundredths() {
        assert_eq!(Centis(10).as_duration(), Duration::from_millis(100));
        assert_eq!(Centis(4095).as_duration(), Duration::from_millis(40_950));
        assert_eq!(Centis::from_secs(1), Centis(100));
        assert_eq!(Centis::from_secs(255), Centis(25500));
        assert_eq!(Centis(50).to_string(), "0.50s");
    }

    #[test]
    fn v2_interval_is_whole_seconds_1_to_255() {
        assert!(Centis(100).validate(Version::V2).is_ok());
        assert!(Centis(25500).validate(Version::V2).is_ok());
        assert!(Centis(0).validate(Version::V2).is_err());
        assert!(Centis(50).validate(Version::V2).is_err());
        assert!(Centis(150).validate(Version::V2).is_err());
        assert!(Centis(25600).validate(Version::V2).is_err());
    }

    #[test]
    fn v3_interval_is_1_to_4095_centiseconds() {
        assert!(Centis(1).validate(Version::V3).is_ok());
        assert!(Centis(4095).validate(Version::V3).is_ok());
        assert!(Centis(0).validate(Version::V3).is_err());
        assert!(Centis(4096).validate(Version::V3).is_err());
    }

    #[test]
    fn v2_skew_is_fraction_of_a_second() {
        // RFC 3768 §6.1; keepalived lab: prio 100 took over 0.61 s after a priority-0 advert.
        assert_eq!(
            skew_time(Version::V2, Priority(100), Centis(100)),
            Duration::from_micros(609_375)
        );
        // The interval does not enter the v2 skew.
        assert_eq!(
            skew_time(Version::V2, Priority(100), Centis(500)),
            Duration::from_micros(609_375)
        );
        assert_eq!(
            skew_time(Version::V2, Priority(255), Centis(100)),
            Duration::from_micros(3906)
        );
    }

    #[test]
    fn v3_skew_scales_with_master_interval() {
        // (256-200)*10cs/256 = 2.1875 cs
        assert_eq!(
            skew_time(Version::V3, Priority(200), Centis(10)),
            Duration::from_micros(21_875)
        );
        assert_eq!(
            skew_time(Version::V3, Priority(100), Centis(100)),
            Duration::from_micros(609_375)
        );
    }

    #[test]
    fn master_down_interval_is_three_intervals_plus_skew() {
        // keepalived lab: prio 150 at 1 s became master 3.4 s after start.
        assert_eq!(
            master_down_interval(Version::V2, Priority(150), Centis(100), 3),
            Duration::from_micros(3_414_062)
        );
        // The brief's figure: v3 at 0.1 s fails over in about 0.36 s.
        let v3 = master_down_interval(Version::V3, Priority(100), Centis(10), 3);
        assert_eq!(v3, Duration::from_micros(360_937));
        assert_eq!(
            master_down_interval(Version::V3, Priority(100), Centis(10), 1),
            Duration::from_micros(160_937)
        );
    }

    #[test]
    fn instant_arithmetic_saturates() {
        let t = Instant::from_millis(5);
        assert_eq!(t + Duration::from_millis(1), Instant::from_micros(6000));
        assert_eq!(Instant::ZERO - t, Duration::ZERO);
        assert_eq!(t - Instant::ZERO, Duration::from_millis(5));
        assert_eq!(
            Instant::from_micros(u64::MAX) + Duration::from_secs(1),
            Instant::from_micros(u64::MAX)
        );
    }
}
