//! A stable per-instance delay added to every run time of a schedule, so a
//! fleet that shares one association does not start it all in the same
//! second.
//!
//! The delay is SHA-256 of (instance id, association name), reduced to a
//! whole number of seconds below a bound. It is the same on every start of
//! the agent, on every host that computes it, and across Rust releases
//! (unlike `DefaultHasher`). Changing the derivation moves the run time of
//! every instance in a fleet, so the input carries a version tag.

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::Schedule;

/// Tag hashed before the inputs; bump it only to reshuffle every fleet.
const JITTER_TAG: &[u8] = b"rampart.schedule.jitter.v1";

/// Default bound for cron schedules.
pub const DEFAULT_CRON_JITTER_MAX_SECS: u64 = 5 * 60;
/// Default cap for rate schedules, which are also bounded by a tenth of
/// their interval.
pub const DEFAULT_RATE_JITTER_MAX_SECS: u64 = 10 * 60;

/// How far run times may be spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterPolicy {
    /// Upper bound (exclusive) for cron schedules.
    pub cron_max: Duration,
    /// Upper bound (exclusive) for rate schedules, before the interval/10
    /// bound is applied.
    pub rate_max: Duration,
}

impl Default for JitterPolicy {
    fn default() -> Self {
        JitterPolicy {
            cron_max: Duration::from_secs(DEFAULT_CRON_JITTER_MAX_SECS),
            rate_max: Duration::from_secs(DEFAULT_RATE_JITTER_MAX_SECS),
        }
    }
}

impl JitterPolicy {
    /// The bound (exclusive) for this schedule: `cron_max` for cron,
    /// `min(interval / 10, rate_max)` for a rate (so a frequent rate moves
    /// by at most a tenth of its interval), zero for at-boot.
    pub fn bound(&self, schedule: &Schedule) -> Duration {
        match schedule {
            Schedule::Cron(_) => self.cron_max,
            Schedule::Rate(rate) => {
                Duration::from_secs(rate.interval_secs() / 10).min(self.rate_max)
            }
            Schedule::AtBoot => Duration::ZERO,
        }
    }

    /// The delay for one association on one instance: whole seconds in
    /// `[0, bound)`.
    pub fn jitter_for(&self, instance_id: &str, name: &str, schedule: &Schedule) -> Duration {
        let bound_secs = self.bound(schedule).as_secs();
        if bound_secs == 0 {
            return Duration::ZERO;
        }
        Duration::from_secs(hash(instance_id, name) % bound_secs)
    }
}

/// The delay for one association on one instance under the default policy.
pub fn jitter_for(instance_id: &str, name: &str, schedule: &Schedule) -> Duration {
    JitterPolicy::default().jitter_for(instance_id, name, schedule)
}

/// The first eight bytes (big-endian) of SHA-256 over the tag and the two
/// strings, each preceded by its length as a big-endian u32 so that
/// ("ab", "c") and ("a", "bc") differ.
fn hash(instance_id: &str, name: &str) -> u64 {
    let mut sha = Sha256::new();
    sha.update(JITTER_TAG);
    for part in [instance_id, name] {
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        sha.update(len.to_be_bytes());
        sha.update(part.as_bytes());
    }
    let digest = sha.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}
