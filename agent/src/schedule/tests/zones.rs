//! Cron in IANA time zones, across daylight saving changes.
//!
//! Facts used: Paris is UTC+1 (CET) in winter and UTC+2 (CEST) in summer,
//! changing on the last Sundays of March and October at 01:00 UTC (in 2024:
//! March 31 and October 27). New York is UTC-5 (EST) and UTC-4 (EDT),
//! changing on the second Sunday of March at 02:00 local and the first
//! Sunday of November at 02:00 local (in 2024: March 10 and November 3).
//! EventBridge Scheduler: a time that does not exist when clocks spring
//! forward is skipped; a time that repeats when they fall back runs once.

use super::{parse_time_zone, runs_with, ScheduleError};

#[test]
fn weekday_mornings_in_paris_winter_and_summer() {
    // Monday 2024-01-15 09:00 CET is 08:00 UTC.
    assert_eq!(
        runs_with(
            "cron(0 9 ? * MON-FRI *)",
            "Europe/Paris",
            "2024-01-15T00:00:00Z",
            1,
            0
        ),
        ["2024-01-15T08:00:00Z"]
    );
    // Monday 2024-07-01 09:00 CEST is 07:00 UTC.
    assert_eq!(
        runs_with(
            "cron(0 9 ? * MON-FRI *)",
            "Europe/Paris",
            "2024-07-01T00:00:00Z",
            1,
            0
        ),
        ["2024-07-01T07:00:00Z"]
    );
}

#[test]
fn the_day_boundary_is_the_zones() {
    // 23:30 in New York on Friday 2024-03-15 (EDT) is 03:30 UTC on
    // Saturday; the expression names Friday, the zone's day.
    assert_eq!(
        runs_with(
            "cron(30 23 ? * FRI *)",
            "America/New_York",
            "2024-03-15T00:00:00Z",
            1,
            0
        ),
        ["2024-03-16T03:30:00Z"]
    );
}

#[test]
fn a_time_skipped_by_spring_forward_does_not_run() {
    // 02:30 on Saturday March 9 (EST) was 07:30 UTC, before the start. On
    // Sunday March 10 clocks jump from 02:00 EST to 03:00 EDT: 02:30 does
    // not exist and is skipped. Monday 02:30 EDT is 06:30 UTC.
    assert_eq!(
        runs_with(
            "cron(30 2 * * ? *)",
            "America/New_York",
            "2024-03-09T08:00:00Z",
            1,
            0
        ),
        ["2024-03-11T06:30:00Z"]
    );
    // Paris on March 31 2024: 02:00 CET jumps to 03:00 CEST. From 03:00 CET
    // on the 30th: the 31st at 02:30 is skipped; April 1st 02:30 CEST is
    // 00:30 UTC.
    assert_eq!(
        runs_with(
            "cron(30 2 * * ? *)",
            "Europe/Paris",
            "2024-03-30T02:00:00Z",
            1,
            0
        ),
        ["2024-04-01T00:30:00Z"]
    );
}

#[test]
fn a_skipped_time_does_not_skip_the_rest_of_the_day() {
    // On March 10 2024 in New York, 02:30 does not exist but 04:30 EDT
    // (08:30 UTC) does, and runs. From 00:00 EST (05:00 UTC).
    assert_eq!(
        runs_with(
            "cron(30 2,4 * * ? *)",
            "America/New_York",
            "2024-03-10T05:00:00Z",
            2,
            0
        ),
        ["2024-03-10T08:30:00Z", "2024-03-11T06:30:00Z"]
    );
}

#[test]
fn times_beside_the_gap_are_untouched() {
    // On March 10 in New York, 01:30 EST (06:30 UTC) and 03:30 EDT
    // (07:30 UTC) both exist.
    assert_eq!(
        runs_with(
            "cron(30 1,3 * * ? *)",
            "America/New_York",
            "2024-03-10T05:00:00Z",
            2,
            0
        ),
        ["2024-03-10T06:30:00Z", "2024-03-10T07:30:00Z"]
    );
}

#[test]
fn a_time_repeated_by_fall_back_runs_once() {
    // November 3 2024 in New York: 01:00-01:59 happens in EDT (05:xx UTC)
    // and again in EST (06:xx UTC). 01:30 runs at its first occurrence,
    // 05:30 UTC, and not at 06:30; the next run is November 4 01:30 EST,
    // 06:30 UTC.
    assert_eq!(
        runs_with(
            "cron(30 1 * * ? *)",
            "America/New_York",
            "2024-11-03T04:00:00Z",
            2,
            0
        ),
        ["2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z"]
    );
}

#[test]
fn asked_during_the_repeated_hour_the_run_already_happened() {
    // At 06:10 UTC (01:10 EST, the second pass) the 01:45 run already
    // happened at its first occurrence, 05:45 UTC. Next: Nov 4 01:45 EST.
    assert_eq!(
        runs_with(
            "cron(45 1 * * ? *)",
            "America/New_York",
            "2024-11-03T06:10:00Z",
            1,
            0
        ),
        ["2024-11-04T06:45:00Z"]
    );
}

#[test]
fn an_hourly_cron_pauses_through_the_repeated_hour() {
    // 01:00 EDT (05:00 UTC) runs; 01:00 EST (06:00 UTC) is the same local
    // time again and does not; 02:00 EST is 07:00 UTC, 03:00 EST 08:00.
    assert_eq!(
        runs_with(
            "cron(0 * * * ? *)",
            "America/New_York",
            "2024-11-03T04:30:00Z",
            3,
            0
        ),
        [
            "2024-11-03T05:00:00Z",
            "2024-11-03T07:00:00Z",
            "2024-11-03T08:00:00Z"
        ]
    );
}

#[test]
fn unknown_zones_are_refused() {
    assert_eq!(
        parse_time_zone("Mars/Olympus_Mons").unwrap_err(),
        ScheduleError::TimeZone("Mars/Olympus_Mons".to_string())
    );
    assert!(parse_time_zone("Europe/Paris").is_ok());
    assert!(parse_time_zone("UTC").is_ok());
}
