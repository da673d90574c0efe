//! AWS rate expressions, `rate(N unit)`, and their anchored run times.
//!
//! Syntax and the singular/plural rule are AWS's ("Rate expressions
//! reference", <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html>).
//! Run times are not: the reference agent runs a rate at "last run +
//! interval", which drifts by the length of every run and every restart.
//! Rampart anchors a rate at the Unix epoch, so `rate(30 minutes)` runs at
//! :00 and :30 past every hour (plus the instance's jitter) whenever the
//! agent started.

use std::fmt;

use chrono::{DateTime, Utc};

use super::error::ScheduleError;

/// The longest interval accepted: ten years of days.
const MAX_RATE_SECS: u64 = 3650 * 86_400;

/// The unit of a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    Minute,
    Hour,
    Day,
}

impl RateUnit {
    fn secs(self) -> u64 {
        match self {
            RateUnit::Minute => 60,
            RateUnit::Hour => 3_600,
            RateUnit::Day => 86_400,
        }
    }

    fn word(self, plural: bool) -> &'static str {
        match (self, plural) {
            (RateUnit::Minute, false) => "minute",
            (RateUnit::Minute, true) => "minutes",
            (RateUnit::Hour, false) => "hour",
            (RateUnit::Hour, true) => "hours",
            (RateUnit::Day, false) => "day",
            (RateUnit::Day, true) => "days",
        }
    }
}

/// `rate(N unit)`: every N minutes, hours or days, in fixed durations (a
/// day is 86,400 seconds whatever the time zone does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    value: u64,
    unit: RateUnit,
}

impl Rate {
    /// Parses the text between `rate(` and `)`.
    pub fn parse(body: &str) -> Result<Rate, ScheduleError> {
        let parts: Vec<&str> = body.split_whitespace().collect();
        let [value_text, unit_text] = parts[..] else {
            return Err(ScheduleError::RateShape(body.trim().to_string()));
        };

        // A positive whole number (no sign, no fraction).
        if !value_text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ScheduleError::RateValue(value_text.to_string()));
        }
        let value: u64 = match value_text.parse() {
            Ok(0) => return Err(ScheduleError::RateValue(value_text.to_string())),
            Ok(v) => v,
            Err(_) => return Err(ScheduleError::RateTooLong(body.trim().to_string())),
        };

        // AWS: "If the value is equal to 1, then the unit must be singular.
        // If the value is greater than 1, the unit must be plural."
        let (unit, plural) = match unit_text.to_ascii_lowercase().as_str() {
            "minute" => (RateUnit::Minute, false),
            "minutes" => (RateUnit::Minute, true),
            "hour" => (RateUnit::Hour, false),
            "hours" => (RateUnit::Hour, true),
            "day" => (RateUnit::Day, false),
            "days" => (RateUnit::Day, true),
            _ => return Err(ScheduleError::RateUnit(unit_text.to_string())),
        };
        if plural != (value > 1) {
            return Err(ScheduleError::RateUnitNumber {
                value,
                unit: unit_text.to_string(),
                expected: unit.word(value > 1),
            });
        }

        let rate = Rate { value, unit };
        match value.checked_mul(unit.secs()) {
            Some(secs) if secs <= MAX_RATE_SECS => Ok(rate),
            _ => Err(ScheduleError::RateTooLong(rate.to_string_inner())),
        }
    }

    /// The interval between runs, in seconds.
    pub fn interval_secs(&self) -> u64 {
        self.value * self.unit.secs()
    }

    /// The smallest `epoch + k * interval` strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let interval = i64::try_from(self.interval_secs()).ok()?;
        // Whole intervals since the epoch that are at or before `after`
        // (floor division, so this holds before 1970 too), then one more.
        let k = after.timestamp().div_euclid(interval) + 1;
        DateTime::from_timestamp(k.checked_mul(interval)?, 0)
    }

    fn to_string_inner(self) -> String {
        format!("{} {}", self.value, self.unit.word(self.value > 1))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rate({})", self.to_string_inner())
    }
}
