//! Rate run times, jitter, missed runs and at-boot.

use std::time::Duration;

use super::{at, parse, runs, runs_with};

// --- Rates ---------------------------------------------------------------

#[test]
fn rates_are_anchored_at_the_epoch() {
    // Multiples of 30 minutes since 1970-01-01T00:00Z fall on :00 and :30.
    assert_eq!(
        runs("rate(30 minutes)", "2024-03-15T10:07:00Z", 2),
        ["2024-03-15T10:30:00Z", "2024-03-15T11:00:00Z"]
    );
    assert_eq!(
        runs("rate(30 minutes)", "2024-03-15T10:30:00Z", 1),
        ["2024-03-15T11:00:00Z"]
    );
    // Whole days since the epoch fall on midnight UTC.
    assert_eq!(
        runs("rate(1 day)", "2024-03-15T10:00:00Z", 1),
        ["2024-03-16T00:00:00Z"]
    );
}

#[test]
fn a_weekly_rate_runs_on_the_epochs_weekday() {
    // The epoch was a Thursday, so multiples of 7 days fall on Thursdays.
    // After Friday 2024-03-15: Thursday the 21st (Thursdays 7, 14, 21).
    assert_eq!(
        runs("rate(7 days)", "2024-03-15T00:00:00Z", 1),
        ["2024-03-21T00:00:00Z"]
    );
}

#[test]
fn a_rate_that_does_not_divide_a_day() {
    // 2024-01-01T00:00Z is Unix time 1704067200 = 19723 days. Mar 15 is 74
    // days later (31 + 29 + 14): day 19797, hour 475128 = 5 * 95025 + 3.
    // So the last 5-hour mark before it was 21:00 on the 14th and the next
    // are 02:00, 07:00 and 12:00 on the 15th.
    assert_eq!(
        runs("rate(5 hours)", "2024-03-15T00:00:00Z", 3),
        [
            "2024-03-15T02:00:00Z",
            "2024-03-15T07:00:00Z",
            "2024-03-15T12:00:00Z"
        ]
    );
}

#[test]
fn rates_before_the_epoch_still_fall_on_the_grid() {
    assert_eq!(
        runs("rate(1 hour)", "1969-12-31T22:30:00Z", 2),
        ["1969-12-31T23:00:00Z", "1970-01-01T00:00:00Z"]
    );
}

#[test]
fn a_rate_ignores_the_time_zone() {
    // A day is 86,400 seconds; rate(1 day) stays at midnight UTC in Paris.
    assert_eq!(
        runs_with("rate(1 day)", "Europe/Paris", "2024-03-15T10:00:00Z", 1, 0),
        ["2024-03-16T00:00:00Z"]
    );
}

// --- Jitter shifts every run time by the same amount ---------------------

#[test]
fn jitter_shifts_rate_runs() {
    // 90 s after each :00 and :30. From 10:30:45 the 10:30 run (at
    // 10:31:30) has not happened yet.
    assert_eq!(
        runs_with("rate(30 minutes)", "UTC", "2024-03-15T10:07:00Z", 2, 90),
        ["2024-03-15T10:31:30Z", "2024-03-15T11:01:30Z"]
    );
    assert_eq!(
        runs_with("rate(30 minutes)", "UTC", "2024-03-15T10:30:45Z", 1, 90),
        ["2024-03-15T10:31:30Z"]
    );
}

#[test]
fn jitter_shifts_cron_runs() {
    // The 10:00 run moves to 10:02; at 10:01 it is still ahead.
    assert_eq!(
        runs_with("cron(0 10 * * ? *)", "UTC", "2024-03-15T10:01:00Z", 2, 120),
        ["2024-03-15T10:02:00Z", "2024-03-16T10:02:00Z"]
    );
}

// --- Missed runs and at-boot --------------------------------------------

#[test]
fn a_long_downtime_misses_one_run_not_five() {
    // Hourly, last run 10:00, back at 15:20: the 11:00 run was missed (and
    // 12-15 with it); the daemon runs once, then goes on at 16:00.
    let rate = parse("rate(1 hour)");
    let (last, now) = (at("2024-03-15T10:00:00Z"), at("2024-03-15T15:20:00Z"));
    assert_eq!(
        rate.missed_run(last, now, Duration::ZERO),
        Some(at("2024-03-15T11:00:00Z"))
    );
    assert_eq!(
        rate.next_after(now, Duration::ZERO),
        Some(at("2024-03-15T16:00:00Z"))
    );
}

#[test]
fn no_missed_run_before_the_next_is_due() {
    let rate = parse("rate(1 hour)");
    let last = at("2024-03-15T10:00:00Z");
    assert_eq!(
        rate.missed_run(last, at("2024-03-15T10:59:59Z"), Duration::ZERO),
        None
    );
    // Due exactly now counts.
    assert_eq!(
        rate.missed_run(last, at("2024-03-15T11:00:00Z"), Duration::ZERO),
        Some(at("2024-03-15T11:00:00Z"))
    );
    // A clock set back misses nothing.
    assert_eq!(
        rate.missed_run(last, at("2024-03-15T09:00:00Z"), Duration::ZERO),
        None
    );
}

#[test]
fn missed_runs_respect_jitter() {
    // With 5 minutes of jitter an hourly run is due at :05.
    let rate = parse("rate(1 hour)");
    let last = at("2024-03-15T10:05:00Z");
    let jitter = Duration::from_secs(300);
    assert_eq!(
        rate.missed_run(last, at("2024-03-15T11:04:00Z"), jitter),
        None
    );
    assert_eq!(
        rate.missed_run(last, at("2024-03-15T11:05:00Z"), jitter),
        Some(at("2024-03-15T11:05:00Z"))
    );
}

#[test]
fn a_weekly_cron_missed_during_downtime() {
    // Sundays at 02:00; last run Sunday 2024-03-03 (Mar 1 Fri + 2). Down
    // until Wednesday the 20th: the 10th and 17th were missed; the first
    // missed is reported once.
    let weekly = parse("cron(0 2 ? * SUN *)");
    assert_eq!(
        weekly.missed_run(
            at("2024-03-03T02:00:00Z"),
            at("2024-03-20T12:00:00Z"),
            Duration::ZERO
        ),
        Some(at("2024-03-10T02:00:00Z"))
    );
}

#[test]
fn at_boot_has_no_clock_times() {
    let boot = parse("at-boot");
    assert!(boot.runs_at_boot());
    assert_eq!(
        boot.next_after(at("2024-03-15T00:00:00Z"), Duration::ZERO),
        None
    );
    assert_eq!(
        boot.missed_run(
            at("2024-03-01T00:00:00Z"),
            at("2024-03-15T00:00:00Z"),
            Duration::ZERO
        ),
        None
    );
}
