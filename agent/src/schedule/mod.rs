//! Schedule expressions of State Manager associations (`rate(...)`,
//! `cron(...)`) and Rampart's `at-boot`: parsing, the next run time in UTC
//! or an IANA time zone, a stable per-instance jitter, and missed runs.
//!
//! The daemon asks three questions of a [`Schedule`]: when is the next run
//! ([`Schedule::next_after`]), was a run missed while the agent was down
//! ([`Schedule::missed_run`]), and how far this instance spreads its runs
//! ([`jitter_for`]). Nothing here reads a clock or the host.
//!
//! The evaluator is Rampart's own. Of the maintained crates, `croner` (4.x)
//! comes closest: Quartz weekday numbering, a year field, `L`, `W`, `LW`
//! and `#`. But it reads AWS cron differently in ways a translation layer
//! would have to patch one by one: `?` is just `*` to it, so the AWS rule
//! that exactly one day field is `?` must be checked before it; `L` alone
//! in day-of-week is Saturday to AWS and a last-weekday modifier to croner;
//! it accepts `3#1,6#3`, which AWS refuses; its years run 1-5000, AWS's
//! 1970-2199; and its errors cannot say which AWS field is wrong. `cron`
//! has no `L`, `W` or `#`; `saffron` has no year field and no time zones.
//! Rampart needs its own parser for AWS validation anyway, and once that
//! exists the calendar walk over its result is short (`next.rs`) and
//! tested against hand-worked AWS examples and a naive oracle.
//!
//! The reference agent evaluates cron with gorhill/cronexpr, which numbers
//! days of the week from 0 = Sunday, so it runs `cron(0 9 ? * 2 *)` on
//! Tuesdays where AWS means Mondays. Rampart follows AWS.

mod cron;
mod error;
mod field;
mod jitter;
mod next;
mod rate;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

pub use self::cron::Cron;
pub use self::error::{FieldProblem, ScheduleError};
pub use self::jitter::{
    jitter_for, JitterPolicy, DEFAULT_CRON_JITTER_MAX_SECS, DEFAULT_RATE_JITTER_MAX_SECS,
};
pub use self::rate::{Rate, RateUnit};

/// The expression that means "once, when the daemon starts".
pub const AT_BOOT: &str = "at-boot";

/// When an association runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// `rate(N unit)`: every N minutes, hours or days, anchored at the
    /// Unix epoch.
    Rate(Rate),
    /// `cron(...)`: the AWS cron form, in UTC unless given a time zone.
    /// (Boxed: its field sets are large next to the other variants.)
    Cron(Box<Cron>),
    /// `at-boot`: run once per boot (when the agent first starts after it), never on the clock.
    AtBoot,
}

impl Schedule {
    /// Parses `rate(...)`, `cron(...)` or `at-boot`. The keywords, units,
    /// month and day names and `L`/`W` are case-insensitive, as the
    /// reference agent reads them.
    pub fn parse(expression: &str) -> Result<Schedule, ScheduleError> {
        let text = expression.trim();
        if text.is_empty() {
            return Err(ScheduleError::Empty);
        }
        let lower = text.to_ascii_lowercase();
        if lower == AT_BOOT {
            return Ok(Schedule::AtBoot);
        }
        if lower.starts_with("rate(") {
            return Rate::parse(inside(text, "rate(")?).map(Schedule::Rate);
        }
        if lower.starts_with("cron(") {
            let cron = Cron::parse(inside(text, "cron(")?)?;
            return Ok(Schedule::Cron(Box::new(cron)));
        }
        if lower.starts_with("at(") {
            return Err(ScheduleError::OneTime(text.to_string()));
        }
        Err(ScheduleError::UnknownForm(text.to_string()))
    }

    /// The same schedule evaluated in `zone`. Only cron expressions read
    /// the wall clock; a rate is a fixed duration and at-boot has no time.
    pub fn in_zone(self, zone: Tz) -> Schedule {
        match self {
            Schedule::Cron(mut cron) => {
                cron.zone = zone;
                Schedule::Cron(cron)
            }
            other => other,
        }
    }

    /// The zone cron fields are read in (UTC unless [`Schedule::in_zone`]).
    pub fn zone(&self) -> Tz {
        match self {
            Schedule::Cron(cron) => cron.zone,
            _ => Tz::UTC,
        }
    }

    /// The first run strictly after `after`, with this instance's `jitter`
    /// added to every run time (see [`jitter_for`]). `None` for at-boot, and
    /// when the expression has no later time (its years are over).
    ///
    /// A run time is `t + jitter` for each time `t` the expression allows,
    /// so the answer is the expression's first time after `after - jitter`,
    /// plus `jitter`.
    pub fn next_after(&self, after: DateTime<Utc>, jitter: Duration) -> Option<DateTime<Utc>> {
        let jitter = TimeDelta::from_std(jitter).ok()?;
        let shifted = after.checked_sub_signed(jitter)?;
        let base = match self {
            Schedule::Rate(rate) => rate.next_after(shifted)?,
            Schedule::Cron(cron) => next::next_match(cron, shifted)?,
            Schedule::AtBoot => return None,
        };
        base.checked_add_signed(jitter)
    }

    /// The first run that came due after `last_run` and no later than
    /// `now`, if any: the daemon then runs once, however many runs the
    /// downtime covered, and asks [`Schedule::next_after`] from `now`. A
    /// clock that went backwards (`now` before `last_run`) misses nothing.
    /// At-boot never misses a run; the daemon runs it at start.
    pub fn missed_run(
        &self,
        last_run: DateTime<Utc>,
        now: DateTime<Utc>,
        jitter: Duration,
    ) -> Option<DateTime<Utc>> {
        let due = self.next_after(last_run, jitter)?;
        (due <= now).then_some(due)
    }

    /// True for `at-boot`.
    pub fn runs_at_boot(&self) -> bool {
        matches!(self, Schedule::AtBoot)
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Schedule::parse(s)
    }
}

impl fmt::Display for Schedule {
    /// The normalized expression: lowercase keywords and units, the AWS
    /// six-field cron form with `?` in the unused day field, month and day
    /// names in capitals. Parsing it gives the same schedule.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Rate(rate) => write!(f, "{rate}"),
            Schedule::Cron(cron) => write!(f, "{cron}"),
            Schedule::AtBoot => f.write_str(AT_BOOT),
        }
    }
}

/// Reads an IANA time zone name such as `Europe/Paris` or `UTC`.
pub fn parse_time_zone(name: &str) -> Result<Tz, ScheduleError> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| ScheduleError::TimeZone(name.to_string()))
}

/// The text between `keyword(` and the final `)`, which must be the only
/// parenthesis after the opening one.
fn inside<'a>(text: &'a str, keyword: &str) -> Result<&'a str, ScheduleError> {
    let body = text[keyword.len()..]
        .strip_suffix(')')
        .ok_or_else(|| ScheduleError::Parentheses(text.to_string()))?;
    if body.contains(['(', ')']) {
        return Err(ScheduleError::Parentheses(text.to_string()));
    }
    Ok(body)
}
