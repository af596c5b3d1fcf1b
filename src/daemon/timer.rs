//! A microsecond-precise deadline for the advert path.
//!
//! tokio's timer wheel has a 1 ms tick, so `sleep_until` fires up to a
//! millisecond late: at 0.1 s adverts that is 1% of the interval, and it
//! shows in every failover time. A timerfd on CLOCK_MONOTONIC (the clock
//! behind `std::time::Instant`) wakes the driver within microseconds.

use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::Duration;

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::unix::AsyncFd;

struct Fd(TimerFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// A one-shot timer the driver re-arms for its next deadline.
pub struct DeadlineTimer {
    fd: AsyncFd<Fd>,
}

impl DeadlineTimer {
    /// Needs a tokio runtime with I/O enabled.
    pub fn new() -> io::Result<DeadlineTimer> {
        let timer = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        // SAFETY: the TimerFd is owned by the AsyncFd and stays open and
        // unchanged until it (and the registration) is dropped.
        let fd = unsafe { AsyncFd::register(Fd(timer)) }?;
        Ok(DeadlineTimer { fd })
    }

    /// Fires once, `after` from now (at once for zero); replaces any earlier arming.
    pub fn arm(&self, after: Duration) -> io::Result<()> {
        // A zero expiration would disarm the timer.
        let after = after.max(Duration::from_nanos(1));
        self.fd.get_ref().0.set(
            Expiration::OneShot(TimeSpec::from_duration(after)),
            TimerSetTimeFlags::empty(),
        )?;
        Ok(())
    }

    /// Completes when the armed deadline passes. Cancel safe.
    pub async fn expired(&self) -> io::Result<()> {
        loop {
            let mut guard = self.fd.readable().await?;
            let mut count = [0u8; 8];
            match nix::unistd::read(self.fd.get_ref().0.as_fd(), &mut count) {
                Ok(_) => return Ok(()),
                Err(nix::errno::Errno::EAGAIN) => guard.clear_ready(),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fires_within_a_fraction_of_a_millisecond() {
        let timer = DeadlineTimer::new().unwrap();
        let mut worst = Duration::ZERO;
        for _ in 0..20 {
            let start = std::time::Instant::now();
            timer.arm(Duration::from_micros(2500)).unwrap();
            timer.expired().await.unwrap();
            let late = start.elapsed().saturating_sub(Duration::from_micros(2500));
            assert!(
                start.elapsed() >= Duration::from_micros(2500),
                "never early"
            );
            worst = worst.max(late);
        }
        // Loose bound for loaded CI machines; tokio's wheel alone is ~1 ms.
        assert!(
            worst < Duration::from_millis(50),
            "worst lateness {worst:?}"
        );
    }

    #[tokio::test]
    async fn re_arming_replaces_the_deadline() {
        let timer = DeadlineTimer::new().unwrap();
        timer.arm(Duration::from_secs(60)).unwrap();
        timer.arm(Duration::from_millis(1)).unwrap();
        let start = std::time::Instant::now();
        timer.expired().await.unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
