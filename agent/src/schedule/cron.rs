//! AWS cron expressions: the field layouts (5, 6 or 7 fields), the rule
//! that ties day-of-month to day-of-week, their specials (`? L W #`), and
//! which calendar days an expression allows.
//!
//! Semantics follow the AWS references: Systems Manager "Reference: Cron and
//! rate expressions" and EventBridge "Cron expressions reference"
//! (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html>).

use std::fmt;

use chrono::{Datelike, NaiveDate, Weekday};
use chrono_tz::Tz;

use super::error::{FieldProblem, ScheduleError};
use super::field::{
    FieldKind, NumField, DAY_OF_MONTH, DAY_OF_WEEK, HOURS, MINUTES, MONTH, SECONDS, YEAR,
};

/// A parsed cron expression and the time zone it is evaluated in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    pub(super) seconds: NumField,
    pub(super) minutes: NumField,
    pub(super) hours: NumField,
    pub(super) day_of_month: DayOfMonth,
    pub(super) month: NumField,
    pub(super) day_of_week: DayOfWeek,
    pub(super) year: NumField,
    pub(super) zone: Tz,
}

/// The day-of-month field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DayOfMonth {
    /// `?`: the day-of-week field decides.
    Unspecified,
    Days(NumField),
    /// `L`: the last day of the month.
    Last,
    /// `LW`: the last weekday (Monday to Friday) of the month.
    LastWeekday,
    /// `15W`: the weekday nearest the 15th, never in another month.
    NearestWeekday(u32),
}

/// The day-of-week field, in AWS numbering (1 = Sunday ... 7 = Saturday).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DayOfWeek {
    /// `?`: the day-of-month field decides.
    Unspecified,
    Days(NumField),
    /// `6L`: the last Friday of the month.
    Last(u32),
    /// `TUE#3`: the third Tuesday of the month.
    Nth {
        day: u32,
        nth: u32,
    },
}

const AWS_DAY_HINT: &str = "AWS requires '?' in exactly one of them, \
                            as in cron(0 10 1 * ? *) or cron(0 10 ? * MON *)";
const FIVE_FIELD_DAY_HINT: &str = "at most one of them may name days; put '?' or '*' in the other";

impl Cron {
    /// Parses the text between `cron(` and `)`.
    ///
    /// Six fields are the AWS form (`minutes hours day-of-month month
    /// day-of-week year`). Seven put seconds first, as Systems Manager
    /// allows. Five leave out the year, as the reference agent allows; in
    /// that form a `*` day field gives way to the other one, so Unix-style
    /// `0 10 * * MON` still reads as Mondays.
    pub fn parse(body: &str) -> Result<Cron, ScheduleError> {
        let fields: Vec<&str> = body.split_whitespace().collect();
        let count = fields.len();
        let first = match count {
            5 | 6 => 0,
            7 => 1,
            n => return Err(ScheduleError::FieldCount(n)),
        };
        let text = |i: usize| fields[first + i];
        let place = |i: usize| first + i + 1;
        let wrap = |kind: &'static FieldKind, i: usize| {
            move |problem| ScheduleError::Field {
                field: kind.name,
                position: place(i),
                count,
                text: text(i).to_string(),
                problem,
            }
        };

        // Seconds: only in the seven-field form; otherwise on the minute.
        let seconds = if first == 1 {
            NumField::parse(&SECONDS, fields[0]).map_err(|problem| ScheduleError::Field {
                field: SECONDS.name,
                position: 1,
                count,
                text: fields[0].to_string(),
                problem,
            })?
        } else {
            NumField::single(&SECONDS, 0)
        };

        // The clock fields, then the calendar fields.
        let minutes = NumField::parse(&MINUTES, text(0)).map_err(wrap(&MINUTES, 0))?;
        let hours = NumField::parse(&HOURS, text(1)).map_err(wrap(&HOURS, 1))?;
        let day_of_month = parse_day_of_month(text(2)).map_err(wrap(&DAY_OF_MONTH, 2))?;
        let month = NumField::parse(&MONTH, text(3)).map_err(wrap(&MONTH, 3))?;
        let day_of_week = parse_day_of_week(text(4)).map_err(wrap(&DAY_OF_WEEK, 4))?;
        let year = if count - first == 6 {
            NumField::parse(&YEAR, text(5)).map_err(wrap(&YEAR, 5))?
        } else {
            NumField::all(&YEAR)
        };

        // Exactly one day field decides which days run.
        let (day_of_month, day_of_week) =
            resolve_days(day_of_month, day_of_week, text(2), text(4), count == 5)?;

        Ok(Cron {
            seconds,
            minutes,
            hours,
            day_of_month,
            month,
            day_of_week,
            year,
            zone: Tz::UTC,
        })
    }

    /// True when the expression allows this calendar day (in its zone).
    pub(super) fn day_matches(&self, date: NaiveDate) -> bool {
        let (Ok(year), month, day) = (u32::try_from(date.year()), date.month(), date.day()) else {
            return false;
        };
        if !self.year.contains(year) || !self.month.contains(month) {
            return false;
        }
        let last = days_in_month(date.year(), month);
        let weekday = |d: u32| {
            NaiveDate::from_ymd_opt(date.year(), month, d)
                .map(|x| x.weekday())
                .unwrap_or(Weekday::Mon)
        };

        let day_of_month = match &self.day_of_month {
            DayOfMonth::Unspecified => true,
            DayOfMonth::Days(days) => days.contains(day),
            DayOfMonth::Last => day == last,
            DayOfMonth::LastWeekday => {
                // Step back over a weekend at the end of the month.
                let shift = match weekday(last) {
                    Weekday::Sat => 1,
                    Weekday::Sun => 2,
                    _ => 0,
                };
                day == last - shift
            }
            DayOfMonth::NearestWeekday(n) => {
                // A day the month does not have (31W in April) never runs.
                // Otherwise a Saturday moves to Friday and a Sunday to
                // Monday, unless that would leave the month: then the other
                // way (1W on a Saturday is Monday the 3rd).
                *n <= last
                    && day
                        == match weekday(*n) {
                            Weekday::Sat if *n == 1 => 3,
                            Weekday::Sat => n - 1,
                            Weekday::Sun if *n == last => n - 2,
                            Weekday::Sun => n + 1,
                            _ => *n,
                        }
            }
        };

        // chrono's number_from_sunday is AWS's numbering: 1 = Sunday.
        let today = date.weekday().number_from_sunday();
        let day_of_week = match &self.day_of_week {
            DayOfWeek::Unspecified => true,
            DayOfWeek::Days(days) => days.contains(today),
            DayOfWeek::Last(wanted) => today == *wanted && day + 7 > last,
            DayOfWeek::Nth { day: wanted, nth } => today == *wanted && (day - 1) / 7 + 1 == *nth,
        };

        day_of_month && day_of_week
    }
}

impl fmt::Display for Cron {
    /// The AWS six-field form (seven when seconds are not just 0), with
    /// names for months and days of the week and `?` in the unused day
    /// field.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cron(")?;
        if !self.seconds.is_single(0) {
            write!(f, "{} ", self.seconds)?;
        }
        write!(f, "{} {} ", self.minutes, self.hours)?;
        match &self.day_of_month {
            DayOfMonth::Unspecified => f.write_str("?")?,
            DayOfMonth::Days(days) => write!(f, "{days}")?,
            DayOfMonth::Last => f.write_str("L")?,
            DayOfMonth::LastWeekday => f.write_str("LW")?,
            DayOfMonth::NearestWeekday(n) => write!(f, "{n}W")?,
        }
        write!(f, " {} ", self.month)?;
        match &self.day_of_week {
            DayOfWeek::Unspecified => f.write_str("?")?,
            DayOfWeek::Days(days) => write!(f, "{days}")?,
            // AWS writes the last Friday as 6L, with the number.
            DayOfWeek::Last(day) => write!(f, "{day}L")?,
            DayOfWeek::Nth { day, nth } => write!(f, "{}#{nth}", DAY_OF_WEEK.spell(*day))?,
        }
        write!(f, " {})", self.year)
    }
}

/// Number of days in a month of the proleptic Gregorian calendar.
pub(super) fn days_in_month(year: i32, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 31,
    }
}

/// `?`, `L`, `LW`, `15W`, or an ordinary list of days.
fn parse_day_of_month(text: &str) -> Result<DayOfMonth, FieldProblem> {
    let upper = text.to_ascii_uppercase();
    match upper.as_str() {
        "?" => return Ok(DayOfMonth::Unspecified),
        "L" => return Ok(DayOfMonth::Last),
        "LW" => return Ok(DayOfMonth::LastWeekday),
        _ => {}
    }
    if upper.starts_with("L-") {
        return Err(FieldProblem::LastOffset);
    }
    let listed = |s: &str| s.contains([',', '-', '/', '*']);
    for special in ["?", "L", "W"] {
        if upper.contains(special) && listed(&upper) {
            return Err(FieldProblem::NotAlone(special));
        }
    }
    if let Some(day) = upper.strip_suffix('W') {
        if day.is_empty() {
            return Err(FieldProblem::NotANumber(text.to_string()));
        }
        return Ok(DayOfMonth::NearestWeekday(DAY_OF_MONTH.value(day)?));
    }
    Ok(DayOfMonth::Days(NumField::parse(&DAY_OF_MONTH, text)?))
}

/// `?`, `L`, `6L`, `TUE#3`, or an ordinary list of days of the week.
fn parse_day_of_week(text: &str) -> Result<DayOfWeek, FieldProblem> {
    let upper = text.to_ascii_uppercase();
    match upper.as_str() {
        "?" => return Ok(DayOfWeek::Unspecified),
        // Alone, L is the last day of the week: Saturday.
        "L" => return Ok(DayOfWeek::Days(NumField::single(&DAY_OF_WEEK, 7))),
        _ => {}
    }
    // No day name contains L or #, so either one here is a special. AWS
    // allows one '#' expression only ("3#1,6#3" is invalid).
    let listed = |s: &str| s.contains([',', '-', '/', '*']);
    for special in ["?", "L", "#"] {
        if upper.contains(special) && listed(&upper) {
            return Err(FieldProblem::NotAlone(special));
        }
    }
    if let Some((day, nth)) = upper.split_once('#') {
        let day = day_value(day, text)?;
        // Digits only: u32's parser would also take "+3".
        return match nth.parse::<u32>() {
            Ok(n @ 1..=5) if nth.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(DayOfWeek::Nth { day, nth: n })
            }
            _ => Err(FieldProblem::NthOutOfRange(nth.to_string())),
        };
    }
    if let Some(day) = upper.strip_suffix('L') {
        return Ok(DayOfWeek::Last(day_value(day, text)?));
    }
    Ok(DayOfWeek::Days(NumField::parse(&DAY_OF_WEEK, text)?))
}

/// The day before `L` or `#`, which must be there.
fn day_value(day: &str, text: &str) -> Result<u32, FieldProblem> {
    if day.is_empty() {
        return Err(FieldProblem::NotANumber(text.to_string()));
    }
    DAY_OF_WEEK.value(day)
}

/// Applies the rule that exactly one day field decides.
fn resolve_days(
    day_of_month: DayOfMonth,
    day_of_week: DayOfWeek,
    dom_text: &str,
    dow_text: &str,
    five_fields: bool,
) -> Result<(DayOfMonth, DayOfWeek), ScheduleError> {
    let both_set = |hint| ScheduleError::BothDayFields {
        day_of_month: dom_text.to_string(),
        day_of_week: dow_text.to_string(),
        hint,
    };
    match (day_of_month, day_of_week) {
        (DayOfMonth::Unspecified, DayOfWeek::Unspecified) => Err(ScheduleError::NoDayField),
        (DayOfMonth::Unspecified, dow) => Ok((DayOfMonth::Unspecified, dow)),
        (dom, DayOfWeek::Unspecified) => Ok((dom, DayOfWeek::Unspecified)),
        (dom, _) if five_fields && dow_text == "*" => Ok((dom, DayOfWeek::Unspecified)),
        (_, dow) if five_fields && dom_text == "*" => Ok((DayOfMonth::Unspecified, dow)),
        _ if five_fields => Err(both_set(FIVE_FIELD_DAY_HINT)),
        _ => Err(both_set(AWS_DAY_HINT)),
    }
}
