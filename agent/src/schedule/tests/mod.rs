//! Tests of schedule expressions. Expected run times are worked out by hand
//! from AWS's documented meaning, with the calendar reasoning written next
//! to each case; none is produced by the code under test.
//!
//! Calendar facts used throughout (each follows from the one before by
//! adding the month's length modulo 7):
//! - 2024 is a leap year (divisible by 4, not by 100); 2024-01-01 is a Monday.
//! - 2024 month starts: Feb 1 Thu, Mar 1 Fri, Apr 1 Mon, May 1 Wed, Jun 1 Sat,
//!   Jul 1 Mon, Aug 1 Thu, Sep 1 Sun, Oct 1 Tue, Nov 1 Fri, Dec 1 Sun;
//!   2025-01-01 is a Wednesday.
//! - 2023-01-01 is a Sunday; 2023-02-01 and 2023-03-01 are Wednesdays.
//! - 1970-01-01 (the Unix epoch) is a Thursday.

mod display;
mod errors;
mod jitter;
mod properties;
mod rates;
mod run_times;
mod zones;

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{parse_time_zone, Schedule, ScheduleError};

/// An RFC 3339 time.
fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("bad test time {text}: {e}"))
        .with_timezone(&Utc)
}

fn parse(expression: &str) -> Schedule {
    Schedule::parse(expression).unwrap_or_else(|e| panic!("{expression}: {e}"))
}

/// The first `n` run times after `from`, with `jitter` seconds, in `zone`.
fn runs_with(expression: &str, zone: &str, from: &str, n: usize, jitter: u64) -> Vec<String> {
    let schedule = parse(expression).in_zone(parse_time_zone(zone).unwrap());
    let mut after = at(from);
    let mut out = Vec::new();
    for _ in 0..n {
        match schedule.next_after(after, Duration::from_secs(jitter)) {
            Some(t) => {
                out.push(t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
                after = t;
            }
            None => break,
        }
    }
    out
}

/// The first `n` run times after `from`, in UTC, without jitter.
fn runs(expression: &str, from: &str, n: usize) -> Vec<String> {
    runs_with(expression, "UTC", from, n, 0)
}

fn error(expression: &str) -> ScheduleError {
    match Schedule::parse(expression) {
        Ok(s) => panic!("{expression} parsed as {s}"),
        Err(e) => e,
    }
}
