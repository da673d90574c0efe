//! The next time a cron expression matches, walking the calendar of its
//! time zone day by day.
//!
//! Daylight saving time follows EventBridge Scheduler ("Daylight saving
//! time", <https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html>):
//! a local time that does not exist because clocks sprang forward is
//! skipped, and a local time that happens twice because clocks fell back
//! runs once, at its first occurrence.

use chrono::offset::LocalResult;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use super::cron::Cron;

/// The first matching instant strictly after `after`, or `None` when the
/// expression has no later time (its years are over, or the days it names
/// never occur).
pub(super) fn next_match(cron: &Cron, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let clock = Clock {
        hours: cron.hours.values(),
        minutes: cron.minutes.values(),
        seconds: cron.seconds.values(),
    };
    let start = after.with_timezone(&cron.zone).naive_local();
    let mut date = start.date();
    // Only the first day starts part-way; every later day starts at 00:00.
    let mut from = Some(start.time());

    loop {
        // Skip to the next allowed year, then to the next allowed month.
        let year = u32::try_from(date.year()).unwrap_or(0);
        let next_year = cron.year.first_at_or_after(year)?;
        if next_year != year {
            date = NaiveDate::from_ymd_opt(i32::try_from(next_year).ok()?, 1, 1)?;
            from = None;
            continue;
        }
        let Some(month) = cron.month.first_at_or_after(date.month()) else {
            date = NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)?;
            from = None;
            continue;
        };
        if month != date.month() {
            date = NaiveDate::from_ymd_opt(date.year(), month, 1)?;
            from = None;
            continue;
        }

        // An allowed day: its first matching time after `after`, if any.
        if cron.day_matches(date) {
            if let Some(found) = clock.first_on(cron.zone, date, from, after) {
                return Some(found);
            }
        }
        date = date.succ_opt()?;
        from = None;
    }
}

/// The allowed hours, minutes and seconds, in increasing order.
struct Clock {
    hours: Vec<u32>,
    minutes: Vec<u32>,
    seconds: Vec<u32>,
}

impl Clock {
    /// The earliest allowed time on `date`, not before `from` (local), whose
    /// instant is strictly after `after`.
    fn first_on(
        &self,
        zone: Tz,
        date: NaiveDate,
        from: Option<NaiveTime>,
        after: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let from = from.map(|t| (t.hour(), t.minute(), t.second()));
        for &h in &self.hours {
            if from.is_some_and(|(fh, _, _)| h < fh) {
                continue;
            }
            for &m in &self.minutes {
                if from.is_some_and(|(fh, fm, _)| (h, m) < (fh, fm)) {
                    continue;
                }
                for &s in &self.seconds {
                    if from.is_some_and(|f| (h, m, s) < f) {
                        continue;
                    }
                    let local = NaiveDateTime::new(date, NaiveTime::from_hms_opt(h, m, s)?);
                    let instant = match zone.from_local_datetime(&local) {
                        LocalResult::Single(t) => t,
                        // Clocks fell back: only the first occurrence runs.
                        LocalResult::Ambiguous(first, _) => first,
                        // Clocks sprang forward over it: skipped.
                        LocalResult::None => continue,
                    };
                    if instant > after {
                        return Some(instant.with_timezone(&Utc));
                    }
                }
            }
        }
        None
    }
}
