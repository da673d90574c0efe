//! `rampart schedule` through the real binary: run times for good
//! expressions (worked out by hand from AWS's documented meaning), exit 2
//! and a message naming the problem for bad ones.
//!
//! Calendar facts: 2024 is a leap year; 2024-01-01 is a Monday, Feb 1 a
//! Thursday, Mar 1 a Friday.

use std::process::{Command, Output};

fn rampart_schedule(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .arg("schedule")
        .args(args)
        .env("RAMPART_LOG", "warn")
        .output()
        .expect("run rampart")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs a bad expression: exit 2, nothing on stdout; returns stderr.
fn refused(expression: &str) -> String {
    let out = rampart_schedule(&[expression, "--from", "2024-01-01T00:00:00Z"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{expression}: {err}");
    assert!(
        stdout(&out).is_empty(),
        "{expression}: printed {}",
        stdout(&out)
    );
    assert!(err.contains("invalid schedule expression"), "{err}");
    err
}

#[test]
fn last_day_of_the_month_through_a_leap_february() {
    // cron(0 2 L * ? *): 02:00 on the last day of each month; February
    // 2024 has 29 days.
    let out = rampart_schedule(&[
        "cron(0 2 L * ? *)",
        "--from",
        "2024-01-15T00:00:00Z",
        "--count",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "2024-01-31T02:00:00Z\n2024-02-29T02:00:00Z\n2024-03-31T02:00:00Z\n"
    );
}

#[test]
fn five_run_times_by_default() {
    // rate(30 minutes) is anchored at the epoch: :00 and :30.
    let out = rampart_schedule(&["rate(30 minutes)", "--from", "2024-03-15T10:07:00Z"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "2024-03-15T10:30:00Z\n2024-03-15T11:00:00Z\n2024-03-15T11:30:00Z\n\
         2024-03-15T12:00:00Z\n2024-03-15T12:30:00Z\n"
    );
}

#[test]
fn time_zone_reads_fields_locally_and_prints_offsets() {
    // Third Tuesday at 23:30 in Paris. January 2024 Tuesdays: 2, 9, 16;
    // February (1st a Thursday): 6, 13, 20. CET is UTC+1.
    let out = rampart_schedule(&[
        "cron(30 23 ? * TUE#3 *)",
        "--tz",
        "Europe/Paris",
        "--from",
        "2024-01-01T00:00:00Z",
        "--count",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "2024-01-16T23:30:00+01:00\n2024-02-20T23:30:00+01:00\n"
    );
}

#[test]
fn jitter_moves_every_time_by_the_same_stable_amount() {
    let args = [
        "rate(1 hour)",
        "--from",
        "2024-03-15T10:30:00Z",
        "--count",
        "3",
        "--jitter",
        "i-0123456789abcdef0:nightly-baseline",
    ];
    let first = rampart_schedule(&args);
    let second = rampart_schedule(&args);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(stdout(&first), stdout(&second), "jitter is not stable");
    assert!(stderr(&first).contains("jitter for instance 'i-0123456789abcdef0'"));

    // Hourly runs at 11:00, 12:00, 13:00 plus one offset below 6 minutes
    // (a tenth of the hour).
    let times: Vec<String> = stdout(&first).lines().map(str::to_string).collect();
    assert_eq!(times.len(), 3);
    let offsets: Vec<(u32, u32)> = times
        .iter()
        .enumerate()
        .map(|(i, t)| {
            assert!(t.starts_with(&format!("2024-03-15T{}:0", 11 + i)), "{t}");
            let minute: u32 = t[14..16].parse().unwrap();
            let second: u32 = t[17..19].parse().unwrap();
            (minute, second)
        })
        .collect();
    assert!(offsets.iter().all(|o| *o == offsets[0]), "{times:?}");
    assert!(offsets[0].0 < 6, "{times:?}");

    // And it is the documented derivation: the first 8 bytes of SHA-256
    // over the tagged, length-prefixed inputs (computed with sha256sum, see
    // the unit test jitter_value_is_pinned) are 9810867786296036730, which
    // is 330 modulo the 360 s bound: 5 min 30 s.
    assert_eq!(offsets[0], (5, 30), "{times:?}");
}

#[test]
fn at_boot_has_no_times_and_succeeds() {
    let out = rampart_schedule(&["at-boot"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("once when the daemon starts"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_expression_whose_years_are_over_prints_what_is_left() {
    let out = rampart_schedule(&["cron(0 0 1 1 ? 2025)", "--from", "2024-06-01T00:00:00Z"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "2025-01-01T00:00:00Z\n");
    assert!(
        stderr(&out).contains("has no run time after"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn day_of_week_zero_is_refused_with_the_numbering() {
    let err = refused("cron(0 10 ? * 0 *)");
    assert!(err.contains("day-of-week (field 5 of 6) '0'"), "{err}");
    assert!(err.contains("1 = Sunday"), "{err}");
}

#[test]
fn both_day_fields_are_refused() {
    let err = refused("cron(0 10 1 * MON *)");
    assert!(err.contains("both set"), "{err}");
    assert!(err.contains("'?' in exactly one"), "{err}");
}

#[test]
fn rate_unit_number_is_refused_with_the_fix() {
    let err = refused("rate(1 hours)");
    assert!(err.contains("write rate(1 hour)"), "{err}");
    let err = refused("rate(5 minute)");
    assert!(err.contains("write rate(5 minutes)"), "{err}");
}

#[test]
fn other_bad_expressions_are_refused() {
    for (expression, says) in [
        ("cron(0 10 ? * FUNDAY *)", "unknown name 'FUNDAY'"),
        ("cron(0/0 * * * ? *)", "step 0"),
        ("cron(0,,30 * * * ? *)", "empty item"),
        ("cron(0 10 ? * 3#1,6#3 *)", "only item"),
        ("cron(0 10 * *)", "has 4 fields"),
        ("every day", "not a schedule expression"),
        ("", "empty"),
    ] {
        let err = refused(expression);
        assert!(err.contains(says), "{expression}: {err}");
    }
}

#[test]
fn bad_options_exit_2() {
    for args in [
        vec!["rate(1 hour)", "--from", "yesterday"],
        vec!["rate(1 hour)", "--tz", "Mars/Olympus_Mons"],
        vec!["rate(1 hour)", "--jitter", "no-colon"],
        vec!["rate(1 hour)", "--count", "0"],
    ] {
        let out = rampart_schedule(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
    let out = rampart_schedule(&["rate(1 hour)", "--tz", "Mars/Olympus_Mons"]);
    assert!(
        stderr(&out).contains("unknown time zone"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn help_teaches_the_syntax() {
    let out = rampart_schedule(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    for needle in [
        "rate(N unit)",
        "1 = SUN",
        "TUE#3",
        "Examples:",
        "Exit codes:",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}
