//! Cron run times in UTC: the AWS documentation's own examples, every
//! special character, month ends, leap years and years.

use super::{parse, runs};

// --- The examples in the AWS tables -------------------------------------

#[test]
fn aws_example_every_day_at_ten() {
    // "0 10 * * ? *: Run at 10:00 am (UTC) every day". From noon on the
    // 15th, today's run is past: the 16th and 17th at 10:00.
    assert_eq!(
        runs("cron(0 10 * * ? *)", "2024-03-15T12:00:00Z", 2),
        ["2024-03-16T10:00:00Z", "2024-03-17T10:00:00Z"]
    );
}

#[test]
fn a_run_time_itself_is_not_after_itself() {
    // "15 12 * * ? *: 12:15 PM every day". Asked at exactly 12:15 the next
    // run is strictly later: tomorrow.
    assert_eq!(
        runs("cron(15 12 * * ? *)", "2024-03-15T12:15:00Z", 1),
        ["2024-03-16T12:15:00Z"]
    );
}

#[test]
fn aws_example_weekdays_at_six_pm() {
    // "0 18 ? * MON-FRI *". 2024-03-15 is a Friday (Mar 1 Fri + 14 days);
    // after 18:30 on it the next weekday is Monday the 18th, then Tuesday.
    assert_eq!(
        runs("cron(0 18 ? * MON-FRI *)", "2024-03-15T18:30:00Z", 2),
        ["2024-03-18T18:00:00Z", "2024-03-19T18:00:00Z"]
    );
}

#[test]
fn aws_example_first_of_the_month() {
    // "0 8 1 * ? *: 8:00 AM every 1st day of the month".
    assert_eq!(
        runs("cron(0 8 1 * ? *)", "2024-01-31T09:00:00Z", 2),
        ["2024-02-01T08:00:00Z", "2024-03-01T08:00:00Z"]
    );
}

#[test]
fn aws_example_every_fifteen_minutes() {
    // "0/15 * * * ? *": minutes 0, 15, 30, 45.
    assert_eq!(
        runs("cron(0/15 * * * ? *)", "2024-03-15T10:07:00Z", 4),
        [
            "2024-03-15T10:15:00Z",
            "2024-03-15T10:30:00Z",
            "2024-03-15T10:45:00Z",
            "2024-03-15T11:00:00Z"
        ]
    );
}

#[test]
fn aws_example_step_from_the_first_minute() {
    // EventBridge: "1/10 ... every tenth minute, starting from the first
    // minute of the hour (for example, the 11th, 21st, and 31st minute)".
    assert_eq!(
        runs("cron(1/10 * * * ? *)", "2024-03-15T10:00:00Z", 7),
        [
            "2024-03-15T10:01:00Z",
            "2024-03-15T10:11:00Z",
            "2024-03-15T10:21:00Z",
            "2024-03-15T10:31:00Z",
            "2024-03-15T10:41:00Z",
            "2024-03-15T10:51:00Z",
            "2024-03-15T11:01:00Z"
        ]
    );
}

#[test]
fn aws_example_every_ten_minutes_on_weekdays() {
    // "0/10 * ? * MON-FRI *". Late on Friday the 15th, 23:50 is past; the
    // weekend is skipped; Monday the 18th starts at 00:00.
    assert_eq!(
        runs("cron(0/10 * ? * MON-FRI *)", "2024-03-15T23:55:00Z", 2),
        ["2024-03-18T00:00:00Z", "2024-03-18T00:10:00Z"]
    );
}

#[test]
fn aws_example_business_hours_every_five_minutes() {
    // "0/5 8-17 ? * MON-FRI *: every 5 minutes Monday through Friday
    // between 8:00 AM and 5:55 PM". The last run on Friday the 15th is at
    // 17:55, the next at 08:00 on Monday the 18th.
    assert_eq!(
        runs("cron(0/5 8-17 ? * MON-FRI *)", "2024-03-15T17:50:00Z", 3),
        [
            "2024-03-15T17:55:00Z",
            "2024-03-18T08:00:00Z",
            "2024-03-18T08:05:00Z"
        ]
    );
}

#[test]
fn aws_example_third_thursday() {
    // "cron(0 2 ? * THU#3 *): 02:00 AM the third Thursday of every month".
    // Jan 2024 (1st a Monday): Thursdays 4, 11, 18. Feb (1st a Thursday):
    // 1, 8, 15. Mar (1st a Friday): 7, 14, 21.
    assert_eq!(
        runs("cron(0 2 ? * THU#3 *)", "2024-01-01T00:00:00Z", 3),
        [
            "2024-01-18T02:00:00Z",
            "2024-02-15T02:00:00Z",
            "2024-03-21T02:00:00Z"
        ]
    );
}

#[test]
fn aws_example_last_day_of_the_month() {
    // "cron(0 2 L * ? *): 02:00 AM on the last day of every month";
    // February 2024 has 29 days.
    assert_eq!(
        runs("cron(0 2 L * ? *)", "2024-01-15T00:00:00Z", 4),
        [
            "2024-01-31T02:00:00Z",
            "2024-02-29T02:00:00Z",
            "2024-03-31T02:00:00Z",
            "2024-04-30T02:00:00Z"
        ]
    );
}

#[test]
fn aws_example_last_friday() {
    // "cron(15 10 ? * 6L *): 10:15 AM on the last Friday of every month";
    // 6 is Friday in AWS numbering (1 = Sunday). Fridays: Jan 5..26,
    // Feb 2..23, Mar 1..29, Apr 5..26.
    assert_eq!(
        runs("cron(15 10 ? * 6L *)", "2024-01-15T00:00:00Z", 4),
        [
            "2024-01-26T10:15:00Z",
            "2024-02-23T10:15:00Z",
            "2024-03-29T10:15:00Z",
            "2024-04-26T10:15:00Z"
        ]
    );
}

#[test]
fn aws_association_example_every_four_hours() {
    // "cron(0 0/4 * * ? *): Every 4 hours": hours 0, 4, 8, 12, 16, 20.
    assert_eq!(
        runs("cron(0 0/4 * * ? *)", "2024-03-15T05:00:00Z", 2),
        ["2024-03-15T08:00:00Z", "2024-03-15T12:00:00Z"]
    );
}

#[test]
fn aws_association_example_every_monday() {
    // "cron(15 13 ? * MON *): Every Monday at 1:15 PM". From Friday the
    // 15th: Mondays the 18th and 25th.
    assert_eq!(
        runs("cron(15 13 ? * MON *)", "2024-03-15T00:00:00Z", 2),
        ["2024-03-18T13:15:00Z", "2024-03-25T13:15:00Z"]
    );
}

// --- Seven fields (seconds first) and five fields (no year) -------------

#[test]
fn seven_fields_with_zero_seconds() {
    // The association example "cron(0 */30 * * * ? *)": second 0 of
    // minutes 0 and 30.
    assert_eq!(
        runs("cron(0 */30 * * * ? *)", "2024-03-15T10:07:00Z", 2),
        ["2024-03-15T10:30:00Z", "2024-03-15T11:00:00Z"]
    );
}

#[test]
fn seven_fields_with_seconds() {
    // "cron(24 30 09 ? * * *) runs a maintenance window at 9:30:24 AM
    // every day".
    assert_eq!(
        runs("cron(24 30 09 ? * * *)", "2024-03-15T10:00:00Z", 1),
        ["2024-03-16T09:30:24Z"]
    );
}

#[test]
fn seven_field_association_example() {
    // "cron(0 0 2 ? * SUN *)": 02:00:00 every Sunday; the first Sunday
    // after Friday 2024-03-15 is the 17th.
    assert_eq!(
        runs("cron(0 0 2 ? * SUN *)", "2024-03-15T00:00:00Z", 1),
        ["2024-03-17T02:00:00Z"]
    );
}

#[test]
fn five_fields_read_like_six_with_any_year() {
    // Five fields leave out the year; a '*' day field gives way to the
    // other. Mondays at 10:00: 2024-01-01 is a Monday, already past 10:00.
    assert_eq!(
        runs("cron(0 10 * * MON)", "2024-01-01T11:00:00Z", 2),
        ["2024-01-08T10:00:00Z", "2024-01-15T10:00:00Z"]
    );
    assert_eq!(parse("cron(0 10 * * MON)"), parse("cron(0 10 ? * MON *)"));
    assert_eq!(parse("cron(0 10 15 * *)"), parse("cron(0 10 15 * ? *)"));
    assert_eq!(parse("cron(0 10 * * *)"), parse("cron(0 10 * * ? *)"));
}

// --- Days of the week: AWS numbering, L, # -------------------------------

#[test]
fn day_of_week_one_is_sunday() {
    // AWS: 1-7 from Sunday. After Monday 2024-01-01 10:00: 1 -> Sunday the
    // 7th, 2 -> Monday the 8th, 7 -> Saturday the 6th.
    assert_eq!(
        runs("cron(0 9 ? * 1 *)", "2024-01-01T10:00:00Z", 1),
        ["2024-01-07T09:00:00Z"]
    );
    assert_eq!(
        runs("cron(0 9 ? * 2 *)", "2024-01-01T10:00:00Z", 1),
        ["2024-01-08T09:00:00Z"]
    );
    assert_eq!(
        runs("cron(0 9 ? * 7 *)", "2024-01-01T10:00:00Z", 1),
        ["2024-01-06T09:00:00Z"]
    );
}

#[test]
fn l_alone_in_day_of_week_is_saturday() {
    // "L ... in the Day-of-week field specifies the last day of the week":
    // day 7, Saturday. The first Saturday of 2024 is the 6th.
    assert_eq!(
        runs("cron(0 12 ? * L *)", "2024-01-01T00:00:00Z", 2),
        ["2024-01-06T12:00:00Z", "2024-01-13T12:00:00Z"]
    );
}

#[test]
fn day_of_week_lists_and_steps() {
    // MON,WED,FRI after Monday 2024-01-01 10:00: Wed 3rd, Fri 5th, Mon 8th.
    assert_eq!(
        runs("cron(0 9 ? * MON,WED,FRI *)", "2024-01-01T10:00:00Z", 3),
        [
            "2024-01-03T09:00:00Z",
            "2024-01-05T09:00:00Z",
            "2024-01-08T09:00:00Z"
        ]
    );
    // */2 is 1, 3, 5, 7: Sunday, Tuesday, Thursday, Saturday. From Monday
    // the 1st: Tue 2nd, Thu 4th, Sat 6th, Sun 7th.
    assert_eq!(
        runs("cron(0 0 ? * */2 *)", "2024-01-01T00:00:00Z", 4),
        [
            "2024-01-02T00:00:00Z",
            "2024-01-04T00:00:00Z",
            "2024-01-06T00:00:00Z",
            "2024-01-07T00:00:00Z"
        ]
    );
}

#[test]
fn fifth_friday_skips_months_without_one() {
    // 6#5 is the fifth Friday (6 = Friday). 2024 Fridays: Jan 5-26 (four),
    // Feb 2-23 (four), Mar 1-29 (five: the 29th), Apr 5-26, May 3-31 (the
    // 31st), Jun 7-28, Jul 5-26, Aug 2-30 (the 30th), Sep 6-27, Oct 4-25,
    // Nov 1-29 (the 29th).
    assert_eq!(
        runs("cron(0 9 ? * 6#5 *)", "2024-01-01T00:00:00Z", 4),
        [
            "2024-03-29T09:00:00Z",
            "2024-05-31T09:00:00Z",
            "2024-08-30T09:00:00Z",
            "2024-11-29T09:00:00Z"
        ]
    );
}

#[test]
fn fifth_thursday_on_a_leap_day() {
    // 5#5 is the fifth Thursday (5 = Thursday in AWS numbering). February
    // 2024 starts on a Thursday and has 29 days: Thursdays 1, 8, 15, 22, 29.
    // Then Mar (7-28), Apr (4-25) have four; May (2-30) has five; Jun
    // (6-27), Jul (4-25) four; Aug (1-29) five; Sep (5-26) four; Oct (3-31)
    // five.
    assert_eq!(
        runs("cron(0 9 ? * 5#5 *)", "2024-01-01T00:00:00Z", 4),
        [
            "2024-02-29T09:00:00Z",
            "2024-05-30T09:00:00Z",
            "2024-08-29T09:00:00Z",
            "2024-10-31T09:00:00Z"
        ]
    );
    // February 2023 starts on a Wednesday with 28 days: Thursdays 2-23,
    // no fifth. March 2023 (1st a Wednesday) has Thursdays 2-30.
    assert_eq!(
        runs("cron(0 9 ? * 5#5 *)", "2023-02-01T00:00:00Z", 1),
        ["2023-03-30T09:00:00Z"]
    );
}

#[test]
fn first_sunday_and_last_monday() {
    // 1#1: first Sunday. Jan 2024 (1st Monday) -> 7th; Feb (1st Thursday)
    // -> 4th; Mar (1st Friday) -> 3rd.
    assert_eq!(
        runs("cron(0 0 ? * 1#1 *)", "2024-01-01T00:00:00Z", 3),
        [
            "2024-01-07T00:00:00Z",
            "2024-02-04T00:00:00Z",
            "2024-03-03T00:00:00Z"
        ]
    );
    // 2L: last Monday. February 2024 Mondays are 5, 12, 19, 26.
    assert_eq!(
        runs("cron(0 0 ? FEB 2L *)", "2024-01-01T00:00:00Z", 1),
        ["2024-02-26T00:00:00Z"]
    );
}

// --- Days of the month: L, LW, W, month ends, leap years -----------------

#[test]
fn last_day_of_february_in_leap_and_common_years() {
    // L in February: 28 in 2023 and 2025, 29 in 2024.
    assert_eq!(
        runs("cron(0 0 L 2 ? *)", "2023-01-01T00:00:00Z", 3),
        [
            "2023-02-28T00:00:00Z",
            "2024-02-29T00:00:00Z",
            "2025-02-28T00:00:00Z"
        ]
    );
    // 2100 is divisible by 100 and not by 400: not a leap year.
    assert_eq!(
        runs("cron(0 0 L 2 ? *)", "2100-01-01T00:00:00Z", 1),
        ["2100-02-28T00:00:00Z"]
    );
}

#[test]
fn february_29th_waits_for_a_leap_year() {
    // After 2024-02-29 the next 29th of February is in 2028, then 2032.
    assert_eq!(
        runs("cron(0 0 29 2 ? *)", "2024-03-01T00:00:00Z", 2),
        ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]
    );
    // 2100 is not a leap year, so after 2096 comes 2104.
    assert_eq!(
        runs("cron(0 0 29 2 ? *)", "2096-03-01T00:00:00Z", 1),
        ["2104-02-29T00:00:00Z"]
    );
}

#[test]
fn the_31st_skips_shorter_months() {
    // Months with 31 days after January: March, May, July, August, October.
    assert_eq!(
        runs("cron(0 0 31 * ? *)", "2024-01-31T00:00:00Z", 5),
        [
            "2024-03-31T00:00:00Z",
            "2024-05-31T00:00:00Z",
            "2024-07-31T00:00:00Z",
            "2024-08-31T00:00:00Z",
            "2024-10-31T00:00:00Z"
        ]
    );
}

#[test]
fn day_of_month_range_with_step() {
    // 1-15/7 is days 1, 8 and 15.
    assert_eq!(
        runs("cron(0 0 1-15/7 * ? *)", "2024-01-01T00:00:00Z", 3),
        [
            "2024-01-08T00:00:00Z",
            "2024-01-15T00:00:00Z",
            "2024-02-01T00:00:00Z"
        ]
    );
}

#[test]
fn last_weekday_of_the_month() {
    // LW: Mar 31 2024 is a Sunday (Mar 1 Fri + 30 days) -> Friday 29th.
    // Apr 30 is a Tuesday -> 30th. May 31 is a Friday -> 31st. Jun 30 is a
    // Sunday (Jun 1 Sat + 29) -> Friday 28th. Aug 31 is a Saturday
    // (Aug 1 Thu + 30) -> Friday 30th.
    assert_eq!(
        runs("cron(0 9 LW * ? *)", "2024-03-01T00:00:00Z", 4),
        [
            "2024-03-29T09:00:00Z",
            "2024-04-30T09:00:00Z",
            "2024-05-31T09:00:00Z",
            "2024-06-28T09:00:00Z"
        ]
    );
    assert_eq!(
        runs("cron(0 9 LW AUG ? *)", "2024-01-01T00:00:00Z", 1),
        ["2024-08-30T09:00:00Z"]
    );
}

#[test]
fn nearest_weekday_moves_off_weekends() {
    // 15W: Jun 15 2024 is a Saturday -> Friday 14th; Jul 15 a Monday ->
    // 15th; Aug 15 a Thursday -> 15th; Sep 15 a Sunday -> Monday 16th.
    assert_eq!(
        runs("cron(0 9 15W * ? *)", "2024-06-01T00:00:00Z", 4),
        [
            "2024-06-14T09:00:00Z",
            "2024-07-15T09:00:00Z",
            "2024-08-15T09:00:00Z",
            "2024-09-16T09:00:00Z"
        ]
    );
}

#[test]
fn nearest_weekday_never_leaves_the_month_at_its_start() {
    // 1W: Jun 1 2024 is a Saturday. The nearest weekday would be Friday
    // May 31, in another month, so it is Monday June 3rd. Jul 1 is a
    // Monday, Aug 1 a Thursday; Sep 1 a Sunday -> Monday 2nd.
    assert_eq!(
        runs("cron(0 9 1W * ? *)", "2024-05-15T00:00:00Z", 4),
        [
            "2024-06-03T09:00:00Z",
            "2024-07-01T09:00:00Z",
            "2024-08-01T09:00:00Z",
            "2024-09-02T09:00:00Z"
        ]
    );
}

#[test]
fn nearest_weekday_never_leaves_the_month_at_its_end() {
    // 31W: Mar 31 2024 is a Sunday; Monday would be April 1st, so it is
    // Friday the 29th. April and June have no 31st and are skipped. May 31
    // is a Friday; Jul 31 a Wednesday; Aug 31 a Saturday -> Friday 30th.
    assert_eq!(
        runs("cron(0 9 31W * ? *)", "2024-03-01T00:00:00Z", 4),
        [
            "2024-03-29T09:00:00Z",
            "2024-05-31T09:00:00Z",
            "2024-07-31T09:00:00Z",
            "2024-08-30T09:00:00Z"
        ]
    );
    // 30W has no 30th in February; Mar 30 2024 is a Saturday -> 29th.
    assert_eq!(
        runs("cron(0 9 30W * ? *)", "2024-02-01T00:00:00Z", 1),
        ["2024-03-29T09:00:00Z"]
    );
}

// --- Months and years ----------------------------------------------------

#[test]
fn month_names_lists_and_steps() {
    assert_eq!(
        runs("cron(0 0 1 JAN,JUL ? *)", "2024-02-01T00:00:00Z", 2),
        ["2024-07-01T00:00:00Z", "2025-01-01T00:00:00Z"]
    );
    // */3 from January: months 1, 4, 7, 10.
    assert_eq!(
        runs("cron(0 0 1 */3 ? *)", "2024-01-01T00:00:00Z", 3),
        [
            "2024-04-01T00:00:00Z",
            "2024-07-01T00:00:00Z",
            "2024-10-01T00:00:00Z"
        ]
    );
    // Names are case-insensitive.
    assert_eq!(parse("cron(0 0 1 jan ? *)"), parse("cron(0 0 1 JAN ? *)"));
}

#[test]
fn a_single_year_runs_then_ends() {
    assert_eq!(
        runs("cron(0 0 1 1 ? 2030)", "2024-03-15T00:00:00Z", 2),
        ["2030-01-01T00:00:00Z"]
    );
}

#[test]
fn year_steps_and_the_last_year() {
    // 2025/5: 2025, 2030, 2035.
    assert_eq!(
        runs("cron(0 0 1 1 ? 2025/5)", "2024-01-01T00:00:00Z", 3),
        [
            "2025-01-01T00:00:00Z",
            "2030-01-01T00:00:00Z",
            "2035-01-01T00:00:00Z"
        ]
    );
    // AWS years end at 2199.
    assert_eq!(
        runs("cron(0 0 1 JAN ? 2198-2199)", "2198-06-01T00:00:00Z", 2),
        ["2199-01-01T00:00:00Z"]
    );
    assert!(runs("cron(0 0 * * ? *)", "2199-12-31T00:00:00Z", 1).is_empty());
}

#[test]
fn years_begin_in_1970() {
    assert_eq!(
        runs("cron(0 0 1 1 ? *)", "1960-06-01T00:00:00Z", 1),
        ["1970-01-01T00:00:00Z"]
    );
}
