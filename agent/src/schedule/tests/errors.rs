//! Invalid expressions: each is refused with the specific problem, the
//! field it is in, and its position.

use super::{error, ScheduleError};
use crate::schedule::FieldProblem;

/// The problem in field `field` at `position` of `count`.
fn field_problem(expression: &str, field: &str, position: usize, count: usize) -> FieldProblem {
    match error(expression) {
        ScheduleError::Field {
            field: f,
            position: p,
            count: c,
            problem,
            ..
        } => {
            assert_eq!((f, p, c), (field, position, count), "{expression}");
            problem
        }
        other => panic!("{expression}: expected a field error, got {other:?}"),
    }
}

#[test]
fn empty_and_unknown_forms() {
    assert_eq!(error(""), ScheduleError::Empty);
    assert_eq!(error("   "), ScheduleError::Empty);
    assert_eq!(
        error("every 5 minutes"),
        ScheduleError::UnknownForm("every 5 minutes".into())
    );
    assert_eq!(error("boot"), ScheduleError::UnknownForm("boot".into()));
    assert_eq!(
        error("at(2024-07-07T15:55:00)"),
        ScheduleError::OneTime("at(2024-07-07T15:55:00)".into())
    );
    assert_eq!(
        error("cron(0 10 * * ? *"),
        ScheduleError::Parentheses("cron(0 10 * * ? *".into())
    );
    assert_eq!(
        error("rate(5 minutes))"),
        ScheduleError::Parentheses("rate(5 minutes))".into())
    );
}

#[test]
fn rate_units_agree_with_the_value() {
    // AWS: "rate(1 hours) and rate(5 hour) aren't valid".
    assert_eq!(
        error("rate(1 hours)"),
        ScheduleError::RateUnitNumber {
            value: 1,
            unit: "hours".into(),
            expected: "hour"
        }
    );
    assert_eq!(
        error("rate(5 hour)"),
        ScheduleError::RateUnitNumber {
            value: 5,
            unit: "hour".into(),
            expected: "hours"
        }
    );
    assert_eq!(
        error("rate(1 minutes)"),
        ScheduleError::RateUnitNumber {
            value: 1,
            unit: "minutes".into(),
            expected: "minute"
        }
    );
    assert!(error("rate(1 minutes)")
        .to_string()
        .contains("write rate(1 minute)"));
}

#[test]
fn rate_values_are_positive_whole_numbers() {
    assert_eq!(
        error("rate(0 minutes)"),
        ScheduleError::RateValue("0".into())
    );
    assert_eq!(
        error("rate(-1 minutes)"),
        ScheduleError::RateValue("-1".into())
    );
    assert_eq!(
        error("rate(1.5 hours)"),
        ScheduleError::RateValue("1.5".into())
    );
    assert_eq!(
        error("rate(+5 hours)"),
        ScheduleError::RateValue("+5".into())
    );
    assert_eq!(
        error("rate(5 weeks)"),
        ScheduleError::RateUnit("weeks".into())
    );
    assert_eq!(error("rate(5)"), ScheduleError::RateShape("5".into()));
    assert_eq!(
        error("rate(5 minutes now)"),
        ScheduleError::RateShape("5 minutes now".into())
    );
    assert_eq!(
        error("rate(3651 days)"),
        ScheduleError::RateTooLong("3651 days".into())
    );
    assert!(matches!(
        error("rate(99999999999999999999 minutes)"),
        ScheduleError::RateTooLong(_)
    ));
}

#[test]
fn cron_needs_five_six_or_seven_fields() {
    assert_eq!(error("cron(0 10 * *)"), ScheduleError::FieldCount(4));
    assert_eq!(
        error("cron(0 0 10 * * ? * *)"),
        ScheduleError::FieldCount(8)
    );
    assert_eq!(error("cron()"), ScheduleError::FieldCount(0));
}

#[test]
fn both_day_fields_set_is_refused() {
    let e = error("cron(0 10 1 * MON *)");
    assert!(
        matches!(&e, ScheduleError::BothDayFields { day_of_month, day_of_week, .. }
            if day_of_month == "1" && day_of_week == "MON"),
        "{e:?}"
    );
    assert!(e.to_string().contains("exactly one of them"), "{e}");
    // '*' in both is "both set" in the AWS forms too.
    assert!(matches!(
        error("cron(0 10 * * * *)"),
        ScheduleError::BothDayFields { .. }
    ));
    assert!(matches!(
        error("cron(0 0 10 * * * *)"),
        ScheduleError::BothDayFields { .. }
    ));
    // In the five-field form '*' gives way, but two real values do not.
    assert!(matches!(
        error("cron(0 10 1 * MON)"),
        ScheduleError::BothDayFields { .. }
    ));
}

#[test]
fn neither_day_field_set_is_refused() {
    assert_eq!(error("cron(0 10 ? * ? *)"), ScheduleError::NoDayField);
    assert_eq!(error("cron(0 10 ? * ?)"), ScheduleError::NoDayField);
}

#[test]
fn day_of_week_zero_and_eight() {
    // AWS numbers days 1-7; 0 (Sunday in Unix cron) does not exist.
    assert_eq!(
        field_problem("cron(0 10 ? * 0 *)", "day-of-week", 5, 6),
        FieldProblem::DayOfWeekZero
    );
    assert_eq!(
        field_problem("cron(0 10 ? * 0-4 *)", "day-of-week", 5, 6),
        FieldProblem::DayOfWeekZero
    );
    assert!(matches!(
        field_problem("cron(0 10 ? * 8 *)", "day-of-week", 5, 6),
        FieldProblem::OutOfRange { value, min: 1, max: 7, .. } if value == "8"
    ));
    let message = error("cron(0 10 ? * 8 *)").to_string();
    assert!(message.contains("1 = Sunday"), "{message}");
}

#[test]
fn unknown_names() {
    assert!(matches!(
        field_problem("cron(0 10 ? * FUNDAY *)", "day-of-week", 5, 6),
        FieldProblem::UnknownName { name, .. } if name == "FUNDAY"
    ));
    assert!(matches!(
        field_problem("cron(0 10 1 JANUARY ? *)", "month", 4, 6),
        FieldProblem::UnknownName { name, .. } if name == "JANUARY"
    ));
    assert!(matches!(
        field_problem("cron(0 10 ? * MON-FUN *)", "day-of-week", 5, 6),
        FieldProblem::UnknownName { name, .. } if name == "FUN"
    ));
    // Names belong to months and days of the week only.
    assert!(matches!(
        field_problem("cron(0 MON ? * * *)", "hours", 2, 6),
        FieldProblem::NotANumber(text) if text == "MON"
    ));
}

#[test]
fn bad_steps() {
    assert_eq!(
        field_problem("cron(0/0 * * * ? *)", "minutes", 1, 6),
        FieldProblem::ZeroStep
    );
    assert_eq!(
        field_problem("cron(*/x * * * ? *)", "minutes", 1, 6),
        FieldProblem::BadStep("x".into())
    );
    assert_eq!(
        field_problem("cron(0/ * * * ? *)", "minutes", 1, 6),
        FieldProblem::BadStep("".into())
    );
    assert_eq!(
        field_problem("cron(0/60 * * * ? *)", "minutes", 1, 6),
        FieldProblem::StepTooLarge {
            step: 60,
            min: 0,
            max: 59
        }
    );
    assert_eq!(
        field_problem("cron(0 0/24 * * ? *)", "hours", 2, 6),
        FieldProblem::StepTooLarge {
            step: 24,
            min: 0,
            max: 23
        }
    );
}

#[test]
fn empty_list_items() {
    for expression in [
        "cron(0,,30 * * * ? *)",
        "cron(0, * * * ? *)",
        "cron(,0 * * * ? *)",
    ] {
        assert_eq!(
            field_problem(expression, "minutes", 1, 6),
            FieldProblem::EmptyItem,
            "{expression}"
        );
    }
    assert_eq!(
        field_problem("cron(0 10 ? * MON,,FRI *)", "day-of-week", 5, 6),
        FieldProblem::EmptyItem
    );
}

#[test]
fn values_out_of_range() {
    let out = |expression, field, position, value: &str, min, max| {
        assert!(
            matches!(
                field_problem(expression, field, position, 6),
                FieldProblem::OutOfRange { value: v, min: a, max: b, .. }
                    if v == value && a == min && b == max
            ),
            "{expression}"
        );
    };
    out("cron(60 * * * ? *)", "minutes", 1, "60", 0, 59);
    out("cron(0 24 * * ? *)", "hours", 2, "24", 0, 23);
    out("cron(0 0 32 * ? *)", "day-of-month", 3, "32", 1, 31);
    out("cron(0 0 0 * ? *)", "day-of-month", 3, "0", 1, 31);
    out("cron(0 0 1 13 ? *)", "month", 4, "13", 1, 12);
    out("cron(0 0 1 1 ? 1969)", "year", 6, "1969", 1970, 2199);
    out("cron(0 0 1 1 ? 2200)", "year", 6, "2200", 1970, 2199);
    out("cron(0 0 32W * ? *)", "day-of-month", 3, "32", 1, 31);
}

#[test]
fn ranges_run_forwards() {
    // FRI is 6 and MON is 2 in AWS numbering.
    assert_eq!(
        field_problem("cron(0 10 ? * FRI-MON *)", "day-of-week", 5, 6),
        FieldProblem::ReversedRange { start: 6, end: 2 }
    );
    assert_eq!(
        field_problem("cron(50-10 * * * ? *)", "minutes", 1, 6),
        FieldProblem::ReversedRange { start: 50, end: 10 }
    );
    assert_eq!(
        field_problem("cron(-5 * * * ? *)", "minutes", 1, 6),
        FieldProblem::NotANumber("-5".into())
    );
}

#[test]
fn hash_is_one_expression_from_one_to_five() {
    // EventBridge: "3#1,6#3" is invalid, being two expressions.
    assert_eq!(
        field_problem("cron(0 10 ? * 3#1,6#3 *)", "day-of-week", 5, 6),
        FieldProblem::NotAlone("#")
    );
    assert_eq!(
        field_problem("cron(0 10 ? * 3#6 *)", "day-of-week", 5, 6),
        FieldProblem::NthOutOfRange("6".into())
    );
    assert_eq!(
        field_problem("cron(0 10 ? * 3#0 *)", "day-of-week", 5, 6),
        FieldProblem::NthOutOfRange("0".into())
    );
    assert_eq!(
        field_problem("cron(0 10 ? * #3 *)", "day-of-week", 5, 6),
        FieldProblem::NotANumber("#3".into())
    );
}

#[test]
fn day_of_month_specials_stand_alone() {
    assert_eq!(
        field_problem("cron(0 10 1W,15W * ? *)", "day-of-month", 3, 6),
        FieldProblem::NotAlone("W")
    );
    assert_eq!(
        field_problem("cron(0 10 L,15 * ? *)", "day-of-month", 3, 6),
        FieldProblem::NotAlone("L")
    );
    assert_eq!(
        field_problem("cron(0 10 L-3 * ? *)", "day-of-month", 3, 6),
        FieldProblem::LastOffset
    );
    assert_eq!(
        field_problem("cron(0 10 ?,1 * * *)", "day-of-month", 3, 6),
        FieldProblem::NotAlone("?")
    );
}

#[test]
fn specials_outside_their_fields() {
    let not_here = |expression, field, position, special| {
        assert!(
            matches!(
                field_problem(expression, field, position, 6),
                FieldProblem::NotAllowedHere { special: s, .. } if s == special
            ),
            "{expression}"
        );
    };
    not_here("cron(? 10 * * ? *)", "minutes", 1, '?');
    not_here("cron(0 10 1 L ? *)", "month", 4, 'L');
    not_here("cron(0 10 3#2 * ? *)", "day-of-month", 3, '#');
    not_here("cron(0 10 ? * 15W *)", "day-of-week", 5, 'W');
    not_here("cron(0 10 ? 1 * L)", "year", 6, 'L');
}

#[test]
fn positions_count_the_seconds_field() {
    // In the seven-field form minutes are field 2.
    assert!(matches!(
        field_problem("cron(0 60 10 * * ? *)", "minutes", 2, 7),
        FieldProblem::OutOfRange { .. }
    ));
    assert!(matches!(
        field_problem("cron(60 0 10 * * ? *)", "seconds", 1, 7),
        FieldProblem::OutOfRange { .. }
    ));
    // And the message says where.
    let message = error("cron(0 60 10 * * ? *)").to_string();
    assert!(
        message.starts_with("minutes (field 2 of 7) '60': 60 is outside 0-59"),
        "{message}"
    );
}
