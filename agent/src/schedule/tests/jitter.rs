//! The per-instance jitter: bounds, stability, and a pinned value.

use std::time::Duration;

use super::parse;
use crate::schedule::{jitter_for, JitterPolicy};

#[test]
fn bounds_follow_the_schedule_kind() {
    let policy = JitterPolicy::default();
    // Cron: the cron cap, 5 minutes by default.
    assert_eq!(
        policy.bound(&parse("cron(0 2 ? * SUN *)")),
        Duration::from_secs(300)
    );
    // Rates: a tenth of the interval, capped at 10 minutes.
    assert_eq!(
        policy.bound(&parse("rate(30 minutes)")),
        Duration::from_secs(180)
    );
    assert_eq!(
        policy.bound(&parse("rate(1 minute)")),
        Duration::from_secs(6)
    );
    assert_eq!(
        policy.bound(&parse("rate(1 day)")),
        Duration::from_secs(600)
    );
    assert_eq!(policy.bound(&parse("at-boot")), Duration::ZERO);

    // The caps are settings.
    let tight = JitterPolicy {
        cron_max: Duration::from_secs(60),
        rate_max: Duration::from_secs(30),
    };
    assert_eq!(
        tight.bound(&parse("cron(0 2 ? * SUN *)")),
        Duration::from_secs(60)
    );
    assert_eq!(tight.bound(&parse("rate(1 day)")), Duration::from_secs(30));
    let none = JitterPolicy {
        cron_max: Duration::ZERO,
        rate_max: Duration::ZERO,
    };
    assert_eq!(
        none.jitter_for("i-0abc", "nightly", &parse("rate(1 day)")),
        Duration::ZERO
    );
}

#[test]
fn jitter_is_stable_and_below_its_bound() {
    let cron = parse("cron(0 2 ? * SUN *)");
    for i in 0..200 {
        let instance = format!("i-{i:017x}");
        let j = jitter_for(&instance, "nightly", &cron);
        assert!(j < Duration::from_secs(300), "{instance}: {j:?}");
        assert_eq!(j, jitter_for(&instance, "nightly", &cron));
        assert_eq!(j.subsec_nanos(), 0);
    }
}

#[test]
fn jitter_spreads_a_fleet() {
    // 200 instances over 300 possible seconds: far more than a handful of
    // distinct values (a constant or a broken hash would give one).
    let cron = parse("cron(0 2 ? * SUN *)");
    let mut seen: Vec<u64> = (0..200)
        .map(|i| jitter_for(&format!("i-{i:017x}"), "nightly", &cron).as_secs())
        .collect();
    seen.sort_unstable();
    seen.dedup();
    assert!(seen.len() > 100, "only {} distinct offsets", seen.len());
}

#[test]
fn instance_and_name_are_not_concatenated() {
    // Length prefixes keep ("ab", "c") apart from ("a", "bc"). Checked on
    // a large bound so that a collision by chance is unlikely.
    let weekly = parse("rate(7 days)");
    let policy = JitterPolicy {
        cron_max: Duration::from_secs(1 << 40),
        rate_max: Duration::from_secs(1 << 40),
    };
    let weekly_bound = policy.bound(&weekly);
    assert_eq!(weekly_bound, Duration::from_secs(7 * 86_400 / 10));
    assert_ne!(
        policy.jitter_for("i-ab", "c", &weekly),
        policy.jitter_for("i-a", "bc", &weekly)
    );
}

#[test]
fn jitter_value_is_pinned() {
    // Regression: the derivation must never change silently, or every
    // instance of a fleet moves its run times at upgrade. Computed outside
    // Rampart with coreutils:
    //   printf 'rampart.schedule.jitter.v1\x00\x00\x00\x13i-0123456789abcdef0\x00\x00\x00\x10nightly-baseline' \
    //     | sha256sum | cut -c1-16            # 882734457c7f8d7a
    // 0x882734457c7f8d7a = 9810867786296036730; mod 300 = 30, mod 180 = 150,
    // mod 600 = 330.
    let (instance, name) = ("i-0123456789abcdef0", "nightly-baseline");
    assert_eq!(
        jitter_for(instance, name, &parse("cron(0 2 ? * SUN *)")),
        Duration::from_secs(30)
    );
    assert_eq!(
        jitter_for(instance, name, &parse("rate(30 minutes)")),
        Duration::from_secs(150)
    );
    assert_eq!(
        jitter_for(instance, name, &parse("rate(1 day)")),
        Duration::from_secs(330)
    );
}
