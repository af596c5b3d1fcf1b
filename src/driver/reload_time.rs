//! keepalived's `reload_time_file` (reload_monitor.c `parse_datetime`): the
//! file holds when to reload, `HH:MM:SS`, `YY-MM-DD HH:MM:SS` or
//! `YYYY-MM-DD HH:MM:SS`, local time, or UTC with a trailing `Z`. A time
//! alone already past today means tomorrow; a past date is ignored. After
//! the reload the file is removed, unless `reload_repeat` and no date (then
//! the same time the next day). The calendar is passed in, so that all of
//! this is decided without the host's time zone in tests.

/// A wall-clock time as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// (year, month 1..=12, day 1..=31), if a date was given.
    pub date: Option<(i32, u32, u32)>,
    pub hms: (u32, u32, u32),
    pub utc: bool,
}

/// Why the file's time is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReloadTimeError {
    #[error("reload time '{0}' format is incorrect")]
    Format(String),
    #[error("reload time '{0}' is not a valid date and time")]
    Invalid(String),
    #[error("reload date/time '{0}' is in the past")]
    Past(String),
}

/// Epoch seconds of a broken-down time, and back (keepalived's mktime /
/// timegm): `to_epoch(y, mo, d, h, mi, s)` or None when the calendar
/// normalises it to another time (31 February, 25:00, a time skipped by a
/// DST change); `today(now)` is the (y, mo, d) of `now`.
pub trait Calendar {
    fn to_epoch(&self, ymd: (i32, u32, u32), hms: (u32, u32, u32)) -> Option<i64>;
    fn date_of(&self, epoch: i64) -> (i32, u32, u32);
    /// The day after (y, mo, d).
    fn next_day(&self, ymd: (i32, u32, u32)) -> (i32, u32, u32) {
        // Noon avoids DST edges; 86400 s later is the next date.
        let noon = self.to_epoch(ymd, (12, 0, 0)).unwrap_or(0);
        self.date_of(noon + 86_400)
    }
}

/// UTC: pure arithmetic (Howard Hinnant's days-from-civil).
pub struct Utc;

impl Calendar for Utc {
    fn to_epoch(&self, (y, m, d): (i32, u32, u32), (h, mi, s): (u32, u32, u32)) -> Option<i64> {
        if !(1..=12).contains(&m)
            || d == 0
            || d > days_in_month(y, m)
            || h > 23
            || mi > 59
            || s > 59
        {
            return None;
        }
        let y = i64::from(y) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (i64::from(m) + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        Some(days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s))
    }

    fn date_of(&self, epoch: i64) -> (i32, u32, u32) {
        let z = epoch.div_euclid(86_400) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
        (y, m, d)
    }
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Parses the file's first line.
pub fn parse(text: &str) -> Result<Written, ReloadTimeError> {
    let bad = || ReloadTimeError::Format(text.to_string());
    let (body, utc) = match text.strip_suffix('Z') {
        Some(b) => (b, true),
        None => (text, false),
    };
    let num = |s: &str| -> Result<u32, ReloadTimeError> {
        if s.len() == 2 || s.len() == 4 {
            s.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    let (date, time) = match body.len() {
        8 => (None, body),
        17 | 19 => {
            let (d, t) = body.split_once(' ').ok_or_else(bad)?;
            let parts: Vec<&str> = d.split('-').collect();
            let [y, mo, dd] = parts[..] else {
                return Err(bad());
            };
            let year = match y.len() {
                // strptime's %y: 69..99 is 19xx, 00..68 is 20xx.
                2 => {
                    let v = i32::try_from(num(y)?).map_err(|_| bad())?;
                    if v >= 69 {
                        1900 + v
                    } else {
                        2000 + v
                    }
                }
                4 => i32::try_from(num(y)?).map_err(|_| bad())?,
                _ => return Err(bad()),
            };
            if mo.len() != 2 || dd.len() != 2 {
                return Err(bad());
            }
            (Some((year, num(mo)?, num(dd)?)), t)
        }
        _ => return Err(bad()),
    };
    let parts: Vec<&str> = time.split(':').collect();
    let [h, m, s] = parts[..] else {
        return Err(bad());
    };
    if h.len() != 2 || m.len() != 2 || s.len() != 2 {
        return Err(bad());
    }
    Ok(Written {
        date,
        hms: (num(h)?, num(m)?, num(s)?),
        utc,
    })
}

/// When to reload (epoch seconds), given `now` and the calendar of the
/// written time (UTC or local).
pub fn resolve(
    text: &str,
    w: &Written,
    now: i64,
    cal: &dyn Calendar,
) -> Result<i64, ReloadTimeError> {
    let date = w.date.unwrap_or_else(|| cal.date_of(now));
    let t = cal
        .to_epoch(date, w.hms)
        .ok_or_else(|| ReloadTimeError::Invalid(text.to_string()))?;
    if t > now {
        return Ok(t);
    }
    if w.date.is_some() {
        return Err(ReloadTimeError::Past(text.to_string()));
    }
    cal.to_epoch(cal.next_day(date), w.hms)
        .ok_or_else(|| ReloadTimeError::Invalid(text.to_string()))
}

/// Whether the file goes after its reload: always, except with
/// `reload_repeat` and a time without a date.
pub fn remove_after(w: &Written, repeat: bool) -> bool {
    !repeat || w.date.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-12-04 18:00:00 UTC
    const NOW: i64 = 1_796_407_200;

    #[test]
    fn utc_calendar_round_trips() {
        assert_eq!(Utc.to_epoch((2026, 12, 4), (18, 0, 0)), Some(NOW));
        assert_eq!(Utc.date_of(NOW), (2026, 12, 4));
        assert_eq!(Utc.to_epoch((1970, 1, 1), (0, 0, 0)), Some(0));
        assert_eq!(
            Utc.to_epoch((2028, 2, 29), (0, 0, 0))
                .map(|t| Utc.date_of(t)),
            Some((2028, 2, 29))
        );
        assert_eq!(Utc.to_epoch((2026, 2, 29), (0, 0, 0)), None);
        assert_eq!(Utc.next_day((2026, 12, 31)), (2027, 1, 1));
    }

    #[test]
    fn the_three_formats_and_utc() {
        let at = |s: &str| parse(s).and_then(|w| resolve(s, &w, NOW, &Utc));
        assert_eq!(at("18:00:05Z"), Ok(NOW + 5));
        // Past today: tomorrow.
        assert_eq!(at("17:59:59Z"), Ok(NOW - 1 + 86_400));
        assert_eq!(at("18:00:00Z"), Ok(NOW + 86_400));
        assert_eq!(at("2026-12-05 18:00:00Z"), Ok(NOW + 86_400));
        assert_eq!(at("26-12-05 18:00:00Z"), Ok(NOW + 86_400));
        assert!(matches!(
            at("2026-12-04 17:00:00Z"),
            Err(ReloadTimeError::Past(_))
        ));
        assert!(matches!(
            at("2026-02-30 10:00:00Z"),
            Err(ReloadTimeError::Invalid(_))
        ));
        assert!(matches!(at("25:00:00Z"), Err(ReloadTimeError::Invalid(_))));
        for bad in [
            "",
            "18:00",
            "18:00:00:00",
            "2026/12/05 18:00:00",
            "1a:00:00",
            "2026-12-05T18:00:00",
        ] {
            assert!(matches!(at(bad), Err(ReloadTimeError::Format(_))), "{bad}");
        }
    }

    #[test]
    fn repeat_keeps_a_daily_time_only() {
        let daily = parse("03:00:00").unwrap();
        let dated = parse("2027-01-01 03:00:00").unwrap();
        assert!(!remove_after(&daily, true));
        assert!(remove_after(&daily, false));
        assert!(remove_after(&dated, true));
    }
}
