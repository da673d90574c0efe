//! Drift: which paths the agent watches, and when a resource that keeps
//! changing back is left alone for a while.
//!
//! The watch is on each resource's parent directory, not the file: an atomic
//! replace (Rampart's own, or an editor's) swaps the inode, and a watch on
//! the old inode would go quiet. Events are matched to resources by path.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Repairs of one resource within [`FIGHT_WINDOW`] that mean another tool is
/// changing it back.
pub const FIGHT_REPAIRS: usize = 5;
pub const FIGHT_WINDOW: Duration = Duration::from_secs(60);
/// First and longest pause of a fought-over resource.
pub const FIGHT_BACKOFF_MIN: Duration = Duration::from_secs(60);
pub const FIGHT_BACKOFF_MAX: Duration = Duration::from_secs(3600);

/// A step of an association whose resource lives at a watched path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    pub association: String,
    pub step: usize,
}

/// Host path of a resource -> the steps that manage it.
#[derive(Debug, Default)]
pub struct WatchMap {
    pub by_path: HashMap<PathBuf, Vec<Target>>,
}

impl WatchMap {
    pub fn add(&mut self, path: PathBuf, target: Target) {
        self.by_path.entry(path).or_default().push(target);
    }

    /// Directories to watch.
    pub fn dirs(&self) -> Vec<PathBuf> {
        let mut d: Vec<PathBuf> = self
            .by_path
            .keys()
            .filter_map(|p| p.parent().map(|p| p.to_path_buf()))
            .collect();
        d.sort();
        d.dedup();
        d
    }

    pub fn targets(&self, path: &std::path::Path) -> &[Target] {
        self.by_path.get(path).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// Repair history of one resource.
#[derive(Debug, Default)]
struct History {
    repairs: VecDeque<Instant>,
    backoff: Duration,
    paused_until: Option<Instant>,
}

/// Tracks repairs and decides when a resource is being fought over.
#[derive(Debug, Default)]
pub struct FightGuard {
    history: HashMap<Target, History>,
}

/// What the guard says after a repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Too many repairs: leave it alone for this long.
    Pause(Duration),
}

impl FightGuard {
    pub fn is_paused(&self, t: &Target, now: Instant) -> bool {
        self.history
            .get(t)
            .and_then(|h| h.paused_until)
            .is_some_and(|u| now < u)
    }

    /// Records a repair that changed something.
    pub fn repaired(&mut self, t: &Target, now: Instant) -> Verdict {
        let h = self.history.entry(t.clone()).or_default();
        h.repairs.push_back(now);
        while h
            .repairs
            .front()
            .is_some_and(|f| now.duration_since(*f) > FIGHT_WINDOW)
        {
            h.repairs.pop_front();
        }
        if h.repairs.len() < FIGHT_REPAIRS {
            return Verdict::Ok;
        }
        h.backoff = if h.backoff.is_zero() {
            FIGHT_BACKOFF_MIN
        } else {
            (h.backoff * 2).min(FIGHT_BACKOFF_MAX)
        };
        h.paused_until = Some(now + h.backoff);
        h.repairs.clear();
        Verdict::Pause(h.backoff)
    }

    /// A scheduled run of `association` left everything compliant: forget
    /// its repair history, except for resources still paused (a run does
    /// not prove the other tool stopped; the pause runs out by itself).
    pub fn reset(&mut self, association: &str, now: Instant) {
        self.history
            .retain(|t, h| t.association != association || h.paused_until.is_some_and(|u| now < u));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fight_pauses_with_growing_backoff() {
        let mut g = FightGuard::default();
        let t = Target {
            association: "a".into(),
            step: 0,
        };
        let start = Instant::now();
        for i in 0..FIGHT_REPAIRS - 1 {
            assert_eq!(
                g.repaired(&t, start + Duration::from_secs(i as u64)),
                Verdict::Ok
            );
        }
        assert_eq!(
            g.repaired(&t, start + Duration::from_secs(5)),
            Verdict::Pause(FIGHT_BACKOFF_MIN)
        );
        assert!(g.is_paused(&t, start + Duration::from_secs(6)));
        assert!(!g.is_paused(&t, start + Duration::from_secs(5) + FIGHT_BACKOFF_MIN));
        let later = start + Duration::from_secs(200);
        for i in 0..FIGHT_REPAIRS - 1 {
            g.repaired(&t, later + Duration::from_secs(i as u64));
        }
        assert_eq!(
            g.repaired(&t, later + Duration::from_secs(9)),
            Verdict::Pause(FIGHT_BACKOFF_MIN * 2)
        );
    }

    #[test]
    fn a_clean_run_forgets_history_but_not_an_active_pause() {
        let mut g = FightGuard::default();
        let paused = Target {
            association: "a".into(),
            step: 0,
        };
        let calm = Target {
            association: "a".into(),
            step: 1,
        };
        let start = Instant::now();
        for i in 0..FIGHT_REPAIRS {
            g.repaired(&paused, start + Duration::from_secs(i as u64));
        }
        for i in 0..FIGHT_REPAIRS - 1 {
            g.repaired(&calm, start + Duration::from_secs(i as u64));
        }
        let now = start + Duration::from_secs(10);
        g.reset("a", now);
        assert!(g.is_paused(&paused, now), "a run must not lift a pause");
        // The calm step's count started over: one more repair is no fight.
        assert_eq!(g.repaired(&calm, now), Verdict::Ok);
    }

    #[test]
    fn repairs_spread_over_time_are_not_a_fight() {
        let mut g = FightGuard::default();
        let t = Target {
            association: "a".into(),
            step: 1,
        };
        let start = Instant::now();
        for i in 0..20u64 {
            assert_eq!(
                g.repaired(&t, start + Duration::from_secs(i * 30)),
                Verdict::Ok
            );
        }
    }
}
