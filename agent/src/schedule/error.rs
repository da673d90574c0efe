//! What can be wrong with a schedule expression, worded for the person who
//! wrote it: what is wrong, in which field, and what to write instead.

use thiserror::Error;

/// A schedule expression that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScheduleError {
    #[error(
        "the schedule expression is empty; write rate(30 minutes), cron(0 2 ? * SUN *) or at-boot"
    )]
    Empty,

    #[error("'{0}' is not a schedule expression; write rate(N unit), cron(fields) or at-boot")]
    UnknownForm(String),

    #[error("one-time schedules such as '{0}' are not supported; use cron(...) with a year")]
    OneTime(String),

    #[error("'{0}' must end with a single closing parenthesis")]
    Parentheses(String),

    #[error("rate({0}) must be a value and a unit, as in rate(30 minutes)")]
    RateShape(String),

    #[error("rate value '{0}' must be a whole number greater than 0")]
    RateValue(String),

    #[error("rate unit '{0}' must be one of minute, minutes, hour, hours, day, days")]
    RateUnit(String),

    /// AWS requires `rate(1 hour)` and `rate(5 hours)`, never `rate(1 hours)`.
    #[error("rate({value} {unit}) must use the {expected} unit: write rate({value} {expected})")]
    RateUnitNumber {
        value: u64,
        unit: String,
        expected: &'static str,
    },

    #[error("rate({0}) is longer than the longest supported interval of 3650 days")]
    RateTooLong(String),

    #[error(
        "cron expression has {0} fields; expected 6 (minutes hours day-of-month month \
         day-of-week year), 5 (no year) or 7 (seconds first)"
    )]
    FieldCount(usize),

    /// One field is malformed; `position` counts fields from 1 as written.
    #[error("{field} (field {position} of {count}) '{text}': {problem}")]
    Field {
        field: &'static str,
        position: usize,
        count: usize,
        text: String,
        problem: FieldProblem,
    },

    /// Both day fields restrict the day, which AWS does not support.
    #[error("day-of-month '{day_of_month}' and day-of-week '{day_of_week}' are both set: {hint}")]
    BothDayFields {
        day_of_month: String,
        day_of_week: String,
        hint: &'static str,
    },

    #[error(
        "day-of-month and day-of-week are both '?': exactly one of them must be '?', \
         as in cron(0 10 * * ? *)"
    )]
    NoDayField,

    #[error(
        "unknown time zone '{0}': use an IANA name such as Europe/Paris, America/New_York or UTC"
    )]
    TimeZone(String),
}

/// What is wrong inside one cron field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FieldProblem {
    #[error("a list has an empty item (two commas in a row, or a comma at an end)")]
    EmptyItem,

    #[error("'{0}' is not a number")]
    NotANumber(String),

    #[error("{value} is outside {min}-{max}{hint}")]
    OutOfRange {
        value: String,
        min: u32,
        max: u32,
        hint: &'static str,
    },

    #[error("day of week 0 does not exist: AWS numbers days 1-7 with 1 = Sunday (SUN) and 7 = Saturday (SAT)")]
    DayOfWeekZero,

    #[error("unknown name '{name}'; expected {expected}")]
    UnknownName {
        name: String,
        expected: &'static str,
    },

    #[error("step '{0}' must be a whole number, as in 0/15")]
    BadStep(String),

    #[error("step 0 never advances; use a step of 1 or more")]
    ZeroStep,

    #[error("step {step} is larger than the field's range {min}-{max}")]
    StepTooLarge { step: u32, min: u32, max: u32 },

    #[error("range {start}-{end} runs backwards; write the smaller value first")]
    ReversedRange { start: u32, end: u32 },

    #[error("'{special}' is only allowed in {allowed}")]
    NotAllowedHere {
        special: char,
        allowed: &'static str,
    },

    #[error("'{0}' must be the only item of the field (no lists, ranges or steps with it)")]
    NotAlone(&'static str),

    #[error("'#{0}' is not an occurrence in a month; use #1 to #5")]
    NthOutOfRange(String),

    #[error("'L-N' (N days before the last) is not part of AWS cron; use L or LW")]
    LastOffset,
}
