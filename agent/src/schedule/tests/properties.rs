//! Property tests. Expressions are generated together with what they mean,
//! worked out here by a separate, deliberately naive oracle (day-by-day and
//! minute-by-minute, from the AWS definitions), which the evaluator's
//! answers must agree with.

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Offset, TimeDelta, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use proptest::prelude::*;

use crate::schedule::{JitterPolicy, Schedule};

/// A numeric field as text, with the values it allows.
#[derive(Debug, Clone)]
struct Field {
    text: String,
    values: BTreeSet<u32>,
}

fn field(min: u32, max: u32) -> impl Strategy<Value = Field> {
    prop_oneof![
        Just(Field {
            text: "*".into(),
            values: (min..=max).collect(),
        }),
        (min..=max).prop_map(|v| Field {
            text: v.to_string(),
            values: [v].into(),
        }),
        (min..=max, 1..=max - min).prop_map(move |(start, step)| Field {
            text: format!("{start}/{step}"),
            values: (start..=max).step_by(step as usize).collect(),
        }),
        (min..=max, min..=max, 1..=max - min).prop_map(|(a, b, step)| {
            let (a, b) = (a.min(b), a.max(b));
            Field {
                text: format!("{a}-{b}/{step}"),
                values: (a..=b).step_by(step as usize).collect(),
            }
        }),
        proptest::collection::btree_set(min..=max, 1..4).prop_map(|values| Field {
            text: values
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(","),
            values,
        }),
    ]
}

/// Which days run: one day field set, the other '?'.
#[derive(Debug, Clone)]
enum Days {
    OfMonth(Field),
    Last,
    LastWeekday,
    Nearest(u32),
    OfWeek(Field),
    LastOf(u32),
    Nth(u32, u32),
}

fn days() -> impl Strategy<Value = Days> {
    prop_oneof![
        field(1, 31).prop_map(Days::OfMonth),
        Just(Days::Last),
        Just(Days::LastWeekday),
        (1u32..=31).prop_map(Days::Nearest),
        field(1, 7).prop_map(Days::OfWeek),
        (1u32..=7).prop_map(Days::LastOf),
        (1u32..=7, 1u32..=5).prop_map(|(d, n)| Days::Nth(d, n)),
    ]
}

#[derive(Debug, Clone)]
struct Expr {
    minutes: Field,
    hours: Field,
    days: Days,
    months: Field,
}

impl Expr {
    fn text(&self) -> String {
        let (dom, dow) = match &self.days {
            Days::OfMonth(f) => (f.text.clone(), "?".to_string()),
            Days::Last => ("L".into(), "?".into()),
            Days::LastWeekday => ("LW".into(), "?".into()),
            Days::Nearest(n) => (format!("{n}W"), "?".into()),
            Days::OfWeek(f) => ("?".into(), f.text.clone()),
            Days::LastOf(d) => ("?".into(), format!("{d}L")),
            Days::Nth(d, n) => ("?".into(), format!("{d}#{n}")),
        };
        format!(
            "cron({} {} {dom} {} {dow} *)",
            self.minutes.text, self.hours.text, self.months.text
        )
    }

    /// The oracle: does this calendar day run?
    fn day_runs(&self, date: NaiveDate) -> bool {
        if !self.months.values.contains(&date.month()) {
            return false;
        }
        let last = last_day(date);
        let weekday = |d: u32| date.with_day(d).unwrap().weekday();
        let is_weekday = |d: u32| !matches!(weekday(d), Weekday::Sat | Weekday::Sun);
        match &self.days {
            Days::OfMonth(f) => f.values.contains(&date.day()),
            Days::Last => date.day() == last,
            Days::LastWeekday => Some(date.day()) == (1..=last).rev().find(|d| is_weekday(*d)),
            // The weekday of the same month at the smallest distance.
            Days::Nearest(n) => {
                *n <= last
                    && Some(date.day())
                        == (1..=last)
                            .filter(|d| is_weekday(*d))
                            .min_by_key(|d| d.abs_diff(*n))
            }
            Days::OfWeek(f) => f.values.contains(&aws_weekday(date)),
            Days::LastOf(d) => {
                aws_weekday(date) == *d && (date + TimeDelta::days(7)).month() != date.month()
            }
            Days::Nth(d, n) => {
                let same = (1..=date.day())
                    .filter(|k| weekday(*k) == date.weekday())
                    .count();
                aws_weekday(date) == *d && same == *n as usize
            }
        }
    }

    /// The oracle: the first run in UTC strictly after `t` and strictly
    /// before `before`, if any, scanning day by day.
    fn run_between(&self, t: DateTime<Utc>, before: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut date = t.date_naive();
        while date <= before.date_naive() {
            if self.day_runs(date) {
                for h in &self.hours.values {
                    for m in &self.minutes.values {
                        let run = Utc.from_utc_datetime(&date.and_hms_opt(*h, *m, 0).unwrap());
                        if run > t && run < before {
                            return Some(run);
                        }
                    }
                }
            }
            date = date.succ_opt().unwrap();
        }
        None
    }
}

/// AWS numbering, written out: 1 = Sunday.
fn aws_weekday(date: NaiveDate) -> u32 {
    match date.weekday() {
        Weekday::Sun => 1,
        Weekday::Mon => 2,
        Weekday::Tue => 3,
        Weekday::Wed => 4,
        Weekday::Thu => 5,
        Weekday::Fri => 6,
        Weekday::Sat => 7,
    }
}

/// The day before the first of next month.
fn last_day(date: NaiveDate) -> u32 {
    let (y, m) = (date.year(), date.month());
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    next.unwrap().pred_opt().unwrap().day()
}

fn expr() -> impl Strategy<Value = Expr> {
    (field(0, 59), field(0, 23), days(), field(1, 12)).prop_map(|(minutes, hours, days, months)| {
        Expr {
            minutes,
            hours,
            days,
            months,
        }
    })
}

/// An instant between 2000 and 2060, to the second.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (946_684_800i64..2_840_140_800).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
}

/// Every month from 2000 to 2040 and every day special: the days the
/// evaluator runs on are exactly the oracle's. Month ends and weekends
/// meet in few enough months that random sampling would rarely see them.
#[test]
fn day_specials_agree_with_the_oracle_in_every_month() {
    let mut specials: Vec<Days> = vec![Days::Last, Days::LastWeekday];
    specials.extend((1..=31).map(Days::Nearest));
    specials.extend((1..=7).map(Days::LastOf));
    specials.extend((1..=7).flat_map(|d| (1..=5).map(move |n| Days::Nth(d, n))));
    let every = |min: u32, max: u32| Field {
        text: "*".into(),
        values: (min..=max).collect(),
    };
    for days in specials {
        let e = Expr {
            minutes: Field {
                text: "0".into(),
                values: [0].into(),
            },
            hours: Field {
                text: "0".into(),
                values: [0].into(),
            },
            days,
            months: every(1, 12),
        };
        let schedule = Schedule::parse(&e.text()).unwrap();
        let start = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
        let end = Utc.with_ymd_and_hms(2040, 1, 1, 0, 0, 0).unwrap();

        // The evaluator's run days, walking forward.
        let mut got = BTreeSet::new();
        let mut after = start - TimeDelta::seconds(1);
        while let Some(next) = schedule.next_after(after, Duration::ZERO) {
            if next >= end {
                break;
            }
            got.insert(next.date_naive());
            after = next;
        }

        // The oracle's, day by day.
        let mut want = BTreeSet::new();
        let mut date = start.date_naive();
        while date < end.date_naive() {
            if e.day_runs(date) {
                want.insert(date);
            }
            date = date.succ_opt().unwrap();
        }
        assert_eq!(got, want, "{}", e.text());
    }
}

/// Instants at which clocks change in a zone, 2020-2030, found by
/// comparing offsets an hour apart (then narrowed to the minute).
fn transitions(tz: Tz) -> Vec<DateTime<Utc>> {
    let offset = |t: DateTime<Utc>| t.with_timezone(&tz).offset().fix().local_minus_utc();
    let mut found = Vec::new();
    let mut t = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(2031, 1, 1, 0, 0, 0).unwrap();
    while t < end {
        let next = t + TimeDelta::hours(1);
        if offset(t) != offset(next) {
            let mut m = t;
            while offset(m) == offset(t) {
                m += TimeDelta::minutes(1);
            }
            found.push(m);
        }
        t = next;
    }
    found
}

const DST_ZONES: [&str; 4] = [
    "America/New_York",
    "Europe/Paris",
    "Australia/Lord_Howe",
    "America/Santiago",
];

/// A zone, an instant up to two days before one of its clock changes, and
/// a wall-clock time near the change (or anywhere).
fn near_a_transition() -> impl Strategy<Value = (Tz, DateTime<Utc>, u32, u32)> {
    (0..DST_ZONES.len())
        .prop_flat_map(|z| {
            static CHANGES: OnceLock<Vec<Vec<DateTime<Utc>>>> = OnceLock::new();
            let tz: Tz = DST_ZONES[z].parse().unwrap();
            let changes = CHANGES.get_or_init(|| {
                DST_ZONES
                    .iter()
                    .map(|name| transitions(name.parse().unwrap()))
                    .collect()
            })[z]
                .clone();
            (
                Just(tz),
                prop::sample::select(changes),
                0i64..2 * 86_400,
                prop_oneof![0u32..24, 0u32..3],
                (0u32..4).prop_map(|q| q * 15),
            )
        })
        .prop_map(|(tz, change, before, hour, minute)| {
            let t = change - TimeDelta::seconds(before);
            // Half the time, the local hour just before the change or
            // either side of it, where gaps and repeats are.
            let hour = if hour < 3 {
                let local = (change - TimeDelta::minutes(1)).with_timezone(&tz).hour();
                (local + 23 + hour) % 24
            } else {
                hour
            };
            (tz, t, hour, minute)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn next_run_is_the_first_time_the_oracle_allows(e in expr(), t in instant()) {
        let schedule = Schedule::parse(&e.text()).unwrap();
        match schedule.next_after(t, Duration::ZERO) {
            Some(next) => {
                prop_assert!(next > t);
                prop_assert_eq!(next.second(), 0);
                prop_assert!(e.day_runs(next.date_naive()), "{} on a day that does not run", next);
                prop_assert!(e.hours.values.contains(&next.hour()));
                prop_assert!(e.minutes.values.contains(&next.minute()));
                prop_assert_eq!(e.run_between(t, next), None);
            }
            None => {
                // Day and date patterns repeat every 28 years (between
                // century years); none of them runs.
                let horizon = t + TimeDelta::days(28 * 366);
                prop_assert_eq!(e.run_between(t, horizon), None);
            }
        }
    }

    #[test]
    fn run_times_strictly_increase(e in expr(), t in instant()) {
        let schedule = Schedule::parse(&e.text()).unwrap();
        let mut after = t;
        for _ in 0..20 {
            let Some(next) = schedule.next_after(after, Duration::ZERO) else { break };
            prop_assert!(next > after);
            after = next;
        }
    }

    #[test]
    fn display_round_trips(e in expr()) {
        let schedule = Schedule::parse(&e.text()).unwrap();
        let shown = schedule.to_string();
        let again = Schedule::parse(&shown).unwrap();
        prop_assert_eq!(&again, &schedule);
        prop_assert_eq!(again.to_string(), shown);
    }

    #[test]
    fn jitter_shifts_every_cron_run(e in expr(), t in instant(), j in 0u64..300) {
        let schedule = Schedule::parse(&e.text()).unwrap();
        let jitter = Duration::from_secs(j);
        let delta = TimeDelta::seconds(j as i64);
        let shifted = schedule.next_after(t, jitter);
        let base = schedule.next_after(t - delta, Duration::ZERO);
        prop_assert_eq!(shifted, base.map(|b| b + delta));
        if let Some(s) = shifted {
            prop_assert!(s > t);
        }
    }

    #[test]
    fn rates_land_on_the_anchored_grid(
        value in 1u64..200,
        unit in 0usize..3,
        t in instant(),
        instance in "i-[0-9a-f]{17}",
    ) {
        let unit_word = ["minute", "hour", "day"][unit];
        let plural = if value > 1 { "s" } else { "" };
        let schedule = Schedule::parse(&format!("rate({value} {unit_word}{plural})")).unwrap();
        let interval = value as i64 * [60, 3_600, 86_400][unit];
        let jitter = JitterPolicy::default().jitter_for(&instance, "assoc", &schedule);
        prop_assert!(jitter.as_secs() as i64 * 10 <= interval);

        let next = schedule.next_after(t, jitter).unwrap();
        let unjittered = next.timestamp() - jitter.as_secs() as i64;
        prop_assert!(next > t);
        prop_assert_eq!(unjittered.rem_euclid(interval), 0);
        prop_assert!(next - TimeDelta::seconds(interval) <= t);
    }

    #[test]
    fn zoned_runs_keep_their_wall_clock_time((tz, t, hour, minute) in near_a_transition()) {
        // Two times a day, so that a skipped one is followed by another.
        let later = (hour + 2) % 24;
        let schedule = Schedule::parse(&format!("cron({minute} {hour},{later} * * ? *)"))
            .unwrap()
            .in_zone(tz);
        let next = schedule.next_after(t, Duration::ZERO).unwrap();
        prop_assert!(next > t);
        let asked = |h: u32, m: u32| (h == hour || h == later) && m == minute;

        // It is at a wall-clock time asked for (a skipped time is never
        // moved), and at its first occurrence.
        let local = next.with_timezone(&tz);
        prop_assert!(asked(local.hour(), local.minute()) && local.second() == 0);
        let first = tz.from_local_datetime(&local.naive_local()).earliest().unwrap();
        prop_assert_eq!(first.with_timezone(&Utc), next);

        // No earlier quarter-hour in between shows that time for the first
        // time (these zones' offsets are whole quarter-hours, so local and
        // UTC quarter-hours line up).
        let mut u = DateTime::from_timestamp((t.timestamp() / 900 + 1) * 900, 0).unwrap();
        while u < next {
            let l = u.with_timezone(&tz);
            if asked(l.hour(), l.minute()) {
                let first = tz.from_local_datetime(&l.naive_local()).earliest().unwrap();
                prop_assert!(first.with_timezone(&Utc) < u, "missed a run at {}", u);
            }
            u += TimeDelta::minutes(15);
        }
    }
}
