//! `rampart agent`: the long-running service that keeps an instance
//! hardened between commands.
//!
//! It owns time: associations run on their schedules (anchored, jittered
//! per instance, a missed run made up once after downtime, one run of an
//! association at a time), and every path-based resource an association
//! enforces is watched so that a change is repaired at once, by re-running
//! that one step. It owns no socket; `rampart status` reads its state file.
//! Runs and repairs execute on blocking threads; the event loop itself only
//! waits, so an idle agent costs no CPU.

mod associations;
pub mod drift;
pub mod state;
mod state_manager;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, Utc};
use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecursiveMode, Watcher};
use thiserror::Error;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use crate::actions::Mode;
use crate::config::Settings;
use crate::engine::{self, RunContext};
use crate::invocation::{self, Filing, Ready};
use crate::output::{Compliance, Outbox, ResourceResult};
use crate::platform::identity::{self, Identity};
use crate::platform::{process, Root};
use associations::Association;
use drift::{FightGuard, Verdict, WatchMap};
use state::{AgentState, DriftEvent};

pub use associations::DROPIN_DIR;

/// How long change notifications are gathered before repairing: enough to
/// see an editor's write-then-rename as one change, short enough to keep
/// repair in the tens of milliseconds.
const DEBOUNCE: Duration = Duration::from_millis(10);
/// Pause before reloading after the drop-in folder changes.
const RELOAD_DEBOUNCE: Duration = Duration::from_millis(200);
/// How often watches that could not be set (a folder that does not exist
/// yet, or was deleted) are tried again.
const REWATCH_EVERY: Duration = Duration::from_secs(5);
/// Bytes of each stream kept per step in agent runs.
const OUTPUT_LIMIT_BYTES: u64 = 10 * 1024 * 1024;

#[derive(Debug, Error)]
pub enum AgentError {
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Runtime(String),
}

pub struct AgentOptions {
    pub config_dir: PathBuf,
    pub state_dir: PathBuf,
    pub root: PathBuf,
    pub config: Option<PathBuf>,
}

/// Runs the agent until SIGTERM or SIGINT.
pub fn run(opts: AgentOptions) -> Result<(), AgentError> {
    // An explicit --config / RAMPART_CONFIG must exist; <config-dir>/rampart.toml
    // may be absent (defaults), and nothing outside --config-dir is read.
    let settings = match &opts.config {
        Some(path) => Settings::load(Some(path)),
        None => {
            let path = opts.config_dir.join("rampart.toml");
            if path.exists() {
                Settings::load(Some(&path))
            } else {
                Ok(Settings::default())
            }
        }
    }
    .map_err(|e| AgentError::Config(e.to_string()))?;
    let root = Root::new(&opts.root)
        .map_err(|e| AgentError::Config(format!("--root {}: {e}", opts.root.display())))?;
    std::fs::create_dir_all(&opts.state_dir).map_err(|e| {
        AgentError::Runtime(format!(
            "cannot create state directory {}: {e}",
            opts.state_dir.display()
        ))
    })?;
    let _single = lock_state_dir(&opts.state_dir)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AgentError::Runtime(format!("failed to start the async runtime: {e}")))?;
    rt.block_on(async move {
        let identity = identity::resolve().await;
        let agent = Agent::new(opts, settings, root, identity)?;
        agent.run().await
    })
}

/// File, under the agent's own state folder (which `prepare-image` clears
/// with the rest of its state), that one agent holds locked while it runs.
const AGENT_LOCK: &str = "agent/agent.lock";

/// Makes this the only agent on `state_dir`: two would run every
/// association twice, repair each other's repairs and overwrite one state
/// file. The lock (flock) goes with the process, however it ends; the pid in
/// the file is only for the message.
fn lock_state_dir(state_dir: &Path) -> Result<nix::fcntl::Flock<std::fs::File>, AgentError> {
    use std::io::{Read, Seek, Write};

    use nix::fcntl::{Flock, FlockArg};

    let path = state_dir.join(AGENT_LOCK);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| AgentError::Runtime(format!("cannot create {}: {e}", dir.display())))?;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| AgentError::Runtime(format!("cannot open {}: {e}", path.display())))?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(mut held) => {
            let _ = held.set_len(0);
            let _ = held.rewind();
            let _ = write!(held, "{}", std::process::id());
            Ok(held)
        }
        Err((mut file, _)) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            Err(AgentError::Runtime(format!(
                "another rampart agent (pid {}) is running on state directory {}; stop it, \
                 or give this one its own --state-dir",
                pid.trim(),
                state_dir.display()
            )))
        }
    }
}

/// Messages from blocking work back to the event loop.
enum Msg {
    /// The drop-in folder was (re)read.
    DropinsLoaded {
        associations: Vec<Association>,
        problems: Vec<String>,
    },
    /// State Manager answered (`Some`), or could not be reached (`None`: the
    /// associations it gave last time stay).
    StateManagerPolled {
        associations: Option<Vec<Association>>,
        problems: Vec<String>,
    },
    Prepared {
        name: String,
        fingerprint: u64,
        ready: Option<Arc<Ready>>,
    },
    RunDone {
        name: String,
        fingerprint: u64,
        summary: Result<RunSummary, String>,
        ready: Option<Arc<Ready>>,
    },
    Repaired {
        target: drift::Target,
        resources: Vec<ResourceResult>,
        first_event: Instant,
    },
    Drained {
        kept: usize,
    },
}

struct RunSummary {
    status: String,
    non_compliant: usize,
}

struct Agent {
    opts: AgentOptions,
    settings: Arc<Settings>,
    root: Root,
    identity: Identity,
    state: AgentState,
    associations: BTreeMap<String, Association>,
    /// The last set from each source; `associations` is their merge.
    dropins: (Vec<Association>, Vec<String>),
    from_state_manager: (Vec<Association>, Vec<String>),
    ready: HashMap<String, Arc<Ready>>,
    next_due: HashMap<String, DateTime<Utc>>,
    running: HashSet<String>,
    watch: WatchMap,
    watched_dirs: HashSet<PathBuf>,
    /// Folders of watched resources that could not be watched (missing).
    unwatched_dirs: HashSet<PathBuf>,
    watcher: notify::RecommendedWatcher,
    fs_rx: mpsc::UnboundedReceiver<notify::Event>,
    tx: mpsc::UnboundedSender<Msg>,
    rx: mpsc::UnboundedReceiver<Msg>,
    /// Steps with a change waiting for the debounce, and when it was first seen.
    pending: BTreeMap<drift::Target, Instant>,
    flush_at: Option<Instant>,
    repairing: HashSet<drift::Target>,
    /// Changes seen while a repair of the same step was running.
    dirty: HashMap<drift::Target, Instant>,
    fights: FightGuard,
    reload_at: Option<Instant>,
    drain_at: Option<Instant>,
    drain_backoff: Option<backon::ExponentialBackoff>,
    in_flight: usize,
}

fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(365 * 24 * 3600)
}

fn at(i: Option<Instant>) -> tokio::time::Instant {
    i.map(tokio::time::Instant::from_std)
        .unwrap_or_else(far_future)
}

impl Agent {
    fn new(
        opts: AgentOptions,
        settings: Settings,
        root: Root,
        identity: Identity,
    ) -> Result<Agent, AgentError> {
        let (fs_tx, fs_rx) = mpsc::unbounded_channel();
        let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if let Ok(ev) = res {
                let _ = fs_tx.send(ev);
            }
        })
        .map_err(|e| AgentError::Runtime(format!("cannot watch files (inotify): {e}")))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let mut state = AgentState::load(&opts.state_dir);
        state.pid = Some(std::process::id());
        Ok(Agent {
            opts,
            settings: Arc::new(settings),
            root,
            identity,
            state,
            associations: BTreeMap::new(),
            dropins: Default::default(),
            from_state_manager: Default::default(),
            ready: HashMap::new(),
            next_due: HashMap::new(),
            running: HashSet::new(),
            watch: WatchMap::default(),
            watched_dirs: HashSet::new(),
            unwatched_dirs: HashSet::new(),
            watcher,
            fs_rx,
            tx,
            rx,
            pending: BTreeMap::new(),
            flush_at: None,
            repairing: HashSet::new(),
            dirty: HashMap::new(),
            fights: FightGuard::default(),
            reload_at: None,
            drain_at: Some(Instant::now()),
            drain_backoff: None,
            in_flight: 0,
        })
    }

    async fn run(mut self) -> Result<(), AgentError> {
        let sig =
            |k| signal(k).map_err(|e| AgentError::Runtime(format!("cannot handle signals: {e}")));
        let (mut term, mut int, mut hup) = (
            sig(SignalKind::terminate())?,
            sig(SignalKind::interrupt())?,
            sig(SignalKind::hangup())?,
        );
        let dropins = self.opts.config_dir.join(DROPIN_DIR);
        if dropins.is_dir() {
            if let Err(e) = self.watcher.watch(&dropins, RecursiveMode::NonRecursive) {
                warn!(dir = %dropins.display(), error = %e, "cannot watch the drop-in folder; reload with SIGHUP");
            }
        }
        // Pet the watchdog at half its period, when systemd set one.
        let watchdog = sd_notify::watchdog_enabled().map(|period| period / 2);
        let mut watchdog_tick =
            tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
        let mut sm_tick = tokio::time::interval(Duration::from_secs(
            self.settings.agent.poll_minutes.max(1) * 60,
        ));
        let mut rewatch_tick = tokio::time::interval(REWATCH_EVERY);
        self.load();
        let mut ready_sent = false;
        info!(event = "agent_started", instance_id = %self.identity.instance_id, "agent started");

        loop {
            let next = self
                .next_due
                .iter()
                .filter(|(n, _)| !self.running.contains(*n))
                .map(|(_, t)| *t)
                .min();
            let next_at = next.map(|t| {
                let wait = (t - Utc::now()).to_std().unwrap_or_default();
                tokio::time::Instant::now() + wait
            });
            tokio::select! {
                _ = tokio::time::sleep_until(next_at.unwrap_or_else(far_future)) => self.start_due(),
                Some(ev) = self.fs_rx.recv() => self.on_fs(ev),
                _ = tokio::time::sleep_until(at(self.flush_at)) => self.flush_repairs(),
                _ = tokio::time::sleep_until(at(self.reload_at)) => { self.reload_at = None; self.load(); }
                _ = tokio::time::sleep_until(at(self.drain_at)) => self.drain(),
                Some(msg) = self.rx.recv() => {
                    let loaded = matches!(msg, Msg::DropinsLoaded { .. });
                    self.on_msg(msg);
                    if loaded && !ready_sent {
                        ready_sent = true;
                        let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
                    }
                    self.status_to_systemd();
                }
                _ = watchdog_tick.tick(), if watchdog.is_some() => {
                    let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
                }
                _ = sm_tick.tick(), if self.settings.agent.state_manager => self.poll_state_manager(),
                _ = rewatch_tick.tick(), if !self.unwatched_dirs.is_empty() => self.rebuild_watches(),
                _ = hup.recv() => {
                    info!("SIGHUP: reloading associations");
                    self.load();
                    if self.settings.agent.state_manager {
                        self.poll_state_manager();
                    }
                }
                _ = term.recv() => break,
                _ = int.recv() => break,
            }
        }
        self.shutdown().await;
        Ok(())
    }

    /// Loads (or reloads) associations on a blocking thread.
    fn load(&mut self) {
        let (tx, settings, config_dir, instance) = (
            self.tx.clone(),
            self.settings.clone(),
            self.opts.config_dir.clone(),
            self.identity.instance_id.clone(),
        );
        tokio::task::spawn_blocking(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            let (associations, problems) =
                associations::load_dropins(&config_dir, &settings, &instance, &rt);
            let _ = tx.send(Msg::DropinsLoaded {
                associations,
                problems,
            });
        });
    }

    fn poll_state_manager(&mut self) {
        let (tx, settings, instance) = (
            self.tx.clone(),
            self.settings.clone(),
            self.identity.instance_id.clone(),
        );
        tokio::task::spawn_blocking(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            let msg = match rt.block_on(state_manager::describe(&settings, &instance)) {
                Ok(described) => {
                    let (sm, problems) =
                        associations::from_state_manager(described, &settings, &instance);
                    Msg::StateManagerPolled {
                        associations: Some(sm),
                        problems,
                    }
                }
                Err(e) => {
                    warn!(error = %e, "State Manager unavailable; keeping the associations it gave last");
                    Msg::StateManagerPolled {
                        associations: None,
                        problems: Vec::new(),
                    }
                }
            };
            let _ = tx.send(msg);
        });
    }

    fn on_msg(&mut self, msg: Msg) {
        match msg {
            Msg::DropinsLoaded {
                associations,
                problems,
            } => {
                self.dropins = (associations, problems);
                self.merge_sources();
            }
            Msg::StateManagerPolled {
                associations,
                problems,
            } => {
                if let Some(sm) = associations {
                    self.from_state_manager = (sm, problems);
                    self.merge_sources();
                }
            }
            Msg::Prepared {
                name,
                fingerprint,
                ready,
            } => {
                if let Some(r) = ready.filter(|_| self.is_current(&name, fingerprint)) {
                    self.ready.insert(name, r);
                    self.rebuild_watches();
                }
            }
            Msg::RunDone {
                name,
                fingerprint,
                summary,
                ready,
            } => {
                self.in_flight -= 1;
                self.running.remove(&name);
                let now = Utc::now();
                let entry = self.state.associations.entry(name.clone()).or_default();
                entry.last_run = Some(now);
                let clean =
                    matches!(&summary, Ok(s) if s.status == "Success" && s.non_compliant == 0);
                match summary {
                    Ok(s) => {
                        info!(event = "association_run", association = %name, status = %s.status, non_compliant = s.non_compliant, "association ran");
                        entry.last_status = Some(s.status);
                        entry.last_non_compliant = s.non_compliant;
                    }
                    Err(e) => {
                        error!(event = "association_failed", association = %name, error = %e, "association could not run");
                        entry.last_status = Some(format!("Error: {e}"));
                    }
                }
                if let Some(a) = self.associations.get(&name) {
                    if a.schedule.runs_at_boot() {
                        entry.last_boot_run = Some(self.state.boot_id.clone());
                    }
                    match a.schedule.next_after(now, a.jitter) {
                        Some(t) => {
                            self.next_due.insert(name.clone(), t);
                            entry.next_run = Some(t);
                        }
                        None => {
                            self.next_due.remove(&name);
                            entry.next_run = None;
                        }
                    }
                }
                if clean {
                    self.fights.reset(&name, Instant::now());
                }
                // Changes seen while the run was going: the run may already
                // have passed those steps, so check them again now.
                let seen: Vec<_> = self
                    .dirty
                    .keys()
                    .filter(|t| t.association == name)
                    .cloned()
                    .collect();
                for t in seen {
                    if let Some(first) = self.dirty.remove(&t) {
                        self.pending.entry(t).or_insert(first);
                        self.flush_at.get_or_insert(Instant::now() + DEBOUNCE);
                    }
                }
                if let Some(r) = ready.filter(|_| self.is_current(&name, fingerprint)) {
                    self.ready.insert(name, r);
                    self.rebuild_watches();
                }
                self.drain_at = Some(Instant::now());
                self.save();
            }
            Msg::Repaired {
                target,
                resources,
                first_event,
            } => {
                self.in_flight -= 1;
                self.repairing.remove(&target);
                let latency = first_event.elapsed();
                for r in resources
                    .iter()
                    .filter(|r| r.changed || r.compliance == Compliance::Failed)
                {
                    let detail = if r.compliance == Compliance::Failed {
                        format!("repair failed: {}", r.detail)
                    } else {
                        r.detail.clone()
                    };
                    warn!(
                        event = "drift_repaired",
                        association = %target.association,
                        step = %r.step,
                        resource = %r.id,
                        detail = %detail,
                        latency_ms = latency.as_millis() as u64,
                        "drift detected and repaired"
                    );
                    self.state.record_drift(DriftEvent {
                        time: Utc::now(),
                        association: target.association.clone(),
                        step: r.step.clone(),
                        resource: r.id.clone(),
                        detail,
                        latency_ms: latency.as_millis() as u64,
                    });
                    if r.changed {
                        if let Verdict::Pause(d) = self.fights.repaired(&target, Instant::now()) {
                            warn!(
                                event = "drift_fight",
                                association = %target.association,
                                resource = %r.id,
                                pause_secs = d.as_secs(),
                                "resource keeps being changed back by something else; leaving it alone for a while"
                            );
                            self.state.record_drift(DriftEvent {
                                time: Utc::now(),
                                association: target.association.clone(),
                                step: r.step.clone(),
                                resource: r.id.clone(),
                                detail: format!(
                                    "changed back {} times in a minute; repairs paused for {}s",
                                    drift::FIGHT_REPAIRS,
                                    d.as_secs()
                                ),
                                latency_ms: 0,
                            });
                        }
                    }
                }
                if resources
                    .iter()
                    .any(|r| r.changed || r.compliance == Compliance::Failed)
                {
                    self.save();
                }
                if let Some(first) = self.dirty.remove(&target) {
                    self.pending.entry(target).or_insert(first);
                    self.flush_at.get_or_insert(Instant::now() + DEBOUNCE);
                }
                // A repair may have recreated a deleted folder.
                if !self.unwatched_dirs.is_empty() {
                    self.rebuild_watches();
                }
            }
            Msg::Drained { kept } => {
                self.in_flight -= 1;
                if kept == 0 {
                    self.drain_backoff = None;
                    self.drain_at = None;
                } else {
                    let backoff = self.drain_backoff.get_or_insert_with(|| {
                        ExponentialBuilder::default()
                            .with_min_delay(Duration::from_secs(
                                self.settings.agent.drain_seconds.max(1),
                            ))
                            .with_max_delay(Duration::from_secs(1800))
                            .with_jitter()
                            .without_max_times()
                            .build()
                    });
                    let wait = backoff.next().unwrap_or(Duration::from_secs(1800));
                    debug!(
                        kept,
                        retry_in_secs = wait.as_secs(),
                        "results still waiting for S3"
                    );
                    self.drain_at = Some(Instant::now() + wait);
                }
            }
        }
    }

    /// Merges drop-ins and State Manager associations. A name used twice
    /// is an error for the later one: drop-ins first, then State Manager in
    /// the order it lists them.
    fn merge_sources(&mut self) {
        let mut problems = self.dropins.1.clone();
        problems.extend(self.from_state_manager.1.iter().cloned());
        let mut merged: Vec<Association> = Vec::new();
        let mut names: HashMap<String, String> = HashMap::new();
        for a in self.dropins.0.iter().chain(&self.from_state_manager.0) {
            let source = origin_text(&a.origin);
            if let Some(first) = names.get(&a.name) {
                problems.push(format!(
                    "{source}: association name '{}' is already used by {first}; skipped",
                    a.name
                ));
                continue;
            }
            names.insert(a.name.clone(), source);
            merged.push(a.clone());
        }
        self.install(merged, problems);
    }

    /// Replaces the association set; keeps schedule state of unchanged ones.
    fn install(&mut self, associations: Vec<Association>, problems: Vec<String>) {
        self.state.invalid = problems;
        let boot = state::boot_id();
        self.state.boot_id = boot.clone();
        let now = Utc::now();
        let names: HashSet<String> = associations.iter().map(|a| a.name.clone()).collect();
        self.associations.retain(|n, _| names.contains(n));
        self.ready.retain(|n, _| names.contains(n));
        self.next_due.retain(|n, _| names.contains(n));
        self.state.associations.retain(|n, _| names.contains(n));
        for a in associations {
            let entry = self.state.associations.entry(a.name.clone()).or_default();
            entry.schedule = a.schedule.to_string();
            entry.mode = a.mode.as_str().to_string();
            entry.document = a.document_name.clone();
            entry.source = origin_text(&a.origin);
            let due = if a.schedule.runs_at_boot() {
                (entry.last_boot_run.as_deref() != Some(boot.as_str())).then_some(now)
            } else {
                match entry.last_run {
                    // Never ran here: run now, as State Manager applies a new association.
                    None => Some(now),
                    // Missed during downtime: once, however many were missed.
                    Some(last) => a
                        .schedule
                        .missed_run(last, now, a.jitter)
                        .map(|_| now)
                        .or_else(|| a.schedule.next_after(now, a.jitter)),
                }
            };
            entry.next_run = due;
            match due {
                Some(t) => {
                    self.next_due.insert(a.name.clone(), t);
                }
                None => {
                    self.next_due.remove(&a.name);
                }
            }
            // An edited association is planned again: drift repair must
            // enforce what the association says now.
            let changed = self
                .associations
                .get(&a.name)
                .is_some_and(|old| old.fingerprint != a.fingerprint);
            if changed {
                self.ready.remove(&a.name);
            }
            if a.mode == Mode::Apply && !self.ready.contains_key(&a.name) {
                self.prepare(&a);
            }
            self.associations.insert(a.name.clone(), a);
        }
        info!(
            event = "associations_loaded",
            count = self.associations.len(),
            invalid = self.state.invalid.len(),
            "associations loaded"
        );
        self.rebuild_watches();
        self.save();
    }

    /// True if `name` is loaded and still means what `fingerprint` says: a
    /// plan made before an edit is not used for repairs after it.
    fn is_current(&self, name: &str, fingerprint: u64) -> bool {
        self.associations
            .get(name)
            .is_some_and(|a| a.fingerprint == fingerprint)
    }

    /// Plans an apply-mode association (resolving its secrets) so its
    /// resources are watched from the start, not only after its first run.
    fn prepare(&self, a: &Association) {
        let (tx, settings, a) = (self.tx.clone(), self.settings.clone(), a.clone());
        tokio::task::spawn_blocking(move || {
            let ready = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()
                .and_then(|rt| {
                    let p =
                        invocation::prepare(a.document_name.clone(), a.document.clone(), &a.raw)
                            .ok()?;
                    invocation::ready(p, &settings, &rt).ok()
                })
                .map(Arc::new);
            let _ = tx.send(Msg::Prepared {
                name: a.name,
                fingerprint: a.fingerprint,
                ready,
            });
        });
    }

    fn start_due(&mut self) {
        let now = Utc::now();
        let due: Vec<String> = self
            .next_due
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for name in due {
            if self.running.contains(&name) {
                info!(event = "run_coalesced", association = %name, "association still running; this trigger is coalesced into it");
                continue;
            }
            let Some(a) = self.associations.get(&name).cloned() else {
                continue;
            };
            self.next_due.remove(&name);
            self.running.insert(name.clone());
            self.in_flight += 1;
            let (tx, settings, root, identity, state_dir) = (
                self.tx.clone(),
                self.settings.clone(),
                self.root.clone(),
                self.identity.clone(),
                self.opts.state_dir.clone(),
            );
            tokio::task::spawn_blocking(move || {
                let (summary, ready) = run_association(&a, &settings, &root, &identity, &state_dir);
                let _ = tx.send(Msg::RunDone {
                    name: a.name,
                    fingerprint: a.fingerprint,
                    summary,
                    ready,
                });
            });
        }
    }

    /// Watches the parent folder of every resource of every apply-mode
    /// association that has a plan. Steps whose precondition skips them on
    /// this host are not watched: a run would not enforce them either.
    fn rebuild_watches(&mut self) {
        let mut map = WatchMap::default();
        for (name, ready) in &self.ready {
            if self.associations.get(name).map(|a| a.mode) != Some(Mode::Apply) {
                continue;
            }
            for (i, step) in ready.plan.steps.iter().enumerate() {
                if engine::evaluate(step.precondition.as_ref()) != engine::Gate::Run {
                    continue;
                }
                for p in step.action.watched_paths() {
                    if let Ok(host) = self.root.resolve(&p) {
                        map.add(
                            host,
                            drift::Target {
                                association: name.clone(),
                                step: i,
                            },
                        );
                    }
                }
            }
        }
        let wanted: HashSet<PathBuf> = map.dirs().into_iter().collect();
        for gone in self
            .watched_dirs
            .difference(&wanted)
            .cloned()
            .collect::<Vec<_>>()
        {
            let _ = self.watcher.unwatch(&gone);
            self.watched_dirs.remove(&gone);
        }
        let was_unwatched = std::mem::take(&mut self.unwatched_dirs);
        self.watch = map;
        for dir in wanted {
            if self.watched_dirs.contains(&dir) {
                continue;
            }
            match self.watcher.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    // A folder that appeared since the last try: whatever is
                    // in it now was never checked against the plan.
                    if was_unwatched.contains(&dir) {
                        self.pend_dir(&dir, Instant::now());
                    }
                    self.watched_dirs.insert(dir);
                }
                Err(e) => {
                    if !was_unwatched.contains(&dir) {
                        warn!(dir = %dir.display(), error = %e, retry_secs = REWATCH_EVERY.as_secs(), "cannot watch; trying again periodically, and drift there is repaired at the next scheduled run");
                    }
                    self.unwatched_dirs.insert(dir);
                }
            }
        }
        debug!(
            paths = self.watch.by_path.len(),
            dirs = self.watched_dirs.len(),
            unwatched = self.unwatched_dirs.len(),
            "watches rebuilt"
        );
    }

    /// Queues a check of every watched resource in `dir`.
    fn pend_dir(&mut self, dir: &Path, now: Instant) {
        let targets: Vec<drift::Target> = self
            .watch
            .by_path
            .iter()
            .filter(|(p, _)| p.parent() == Some(dir))
            .flat_map(|(_, ts)| ts.iter().cloned())
            .collect();
        for t in targets {
            self.queue(t, now);
        }
    }

    /// Queues a re-check of one step, unless it is paused or already being
    /// repaired (then it is checked again when that repair is done).
    fn queue(&mut self, t: drift::Target, now: Instant) {
        if self.fights.is_paused(&t, now) {
            debug!(association = %t.association, step = t.step, "change ignored: repairs paused after a fight");
            return;
        }
        if self.repairing.contains(&t) {
            self.dirty.entry(t).or_insert(now);
            return;
        }
        self.pending.entry(t).or_insert(now);
        self.flush_at.get_or_insert(now + DEBOUNCE);
    }

    fn on_fs(&mut self, ev: notify::Event) {
        let now = Instant::now();
        // The kernel's queue overflowed: events were lost, so check everything.
        if ev.need_rescan() {
            warn!("file change notifications were lost; re-checking every watched resource");
            let all: Vec<drift::Target> = self.watch.by_path.values().flatten().cloned().collect();
            for t in all {
                self.queue(t, now);
            }
            return;
        }
        if !is_change(&ev.kind) {
            return;
        }
        let dropins = self.opts.config_dir.join(DROPIN_DIR);
        for path in &ev.paths {
            if path.parent() == Some(dropins.as_path()) {
                self.reload_at = Some(now + RELOAD_DEBOUNCE);
                continue;
            }
            // A watched folder itself was deleted or moved away: its watch
            // is gone with it. Check what was in it, and watch it again when
            // it exists again.
            if self.watched_dirs.contains(path)
                && matches!(
                    ev.kind,
                    EventKind::Remove(_) | EventKind::Modify(notify::event::ModifyKind::Name(_))
                )
            {
                let _ = self.watcher.unwatch(path);
                self.watched_dirs.remove(path);
                self.unwatched_dirs.insert(path.clone());
                self.pend_dir(&path.clone(), now);
                continue;
            }
            for t in self.watch.targets(path).to_vec() {
                self.queue(t, now);
            }
        }
    }

    fn flush_repairs(&mut self) {
        self.flush_at = None;
        for (target, first_event) in std::mem::take(&mut self.pending) {
            // A running association enforces this step itself, unless it
            // is already past it: look again when the run is done.
            if self.running.contains(&target.association) {
                self.dirty.entry(target).or_insert(first_event);
                continue;
            }
            let Some(ready) = self.ready.get(&target.association).cloned() else {
                continue;
            };
            debug!(association = %target.association, step = target.step, "re-checking after a change");
            self.repairing.insert(target.clone());
            self.in_flight += 1;
            let (tx, settings, root, identity, state_dir) = (
                self.tx.clone(),
                self.settings.clone(),
                self.root.clone(),
                self.identity.clone(),
                self.opts.state_dir.clone(),
            );
            tokio::task::spawn_blocking(move || {
                let resources =
                    repair(&ready, target.step, &settings, &root, &identity, &state_dir);
                let _ = tx.send(Msg::Repaired {
                    target,
                    resources,
                    first_event,
                });
            });
        }
    }

    fn drain(&mut self) {
        self.drain_at = None;
        let Ok(outbox) = Outbox::open(&self.opts.state_dir, self.settings.spool) else {
            return;
        };
        let waiting = outbox
            .items()
            .unwrap_or_default()
            .iter()
            .any(|i| i.destination().ok().flatten().is_some());
        if !waiting {
            return;
        }
        self.in_flight += 1;
        let (tx, settings) = (self.tx.clone(), self.settings.clone());
        tokio::task::spawn_blocking(move || {
            let kept = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => invocation::upload(&settings, &rt, &outbox).items_kept,
                Err(_) => 1,
            };
            let _ = tx.send(Msg::Drained { kept });
        });
    }

    fn save(&self) {
        if let Err(e) = self.state.save(&self.opts.state_dir) {
            warn!(error = %e, "cannot save agent state");
        }
    }

    fn status_to_systemd(&self) {
        let next = self
            .next_due
            .values()
            .min()
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| "none".into());
        let status = format!(
            "{} associations, {} watched paths, next run {next}",
            self.associations.len(),
            self.watch.by_path.len()
        );
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Status(&status)]);
    }

    /// Stops scheduling, lets running work finish within the grace period,
    /// then ends whatever its steps left running.
    async fn shutdown(mut self) {
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
        let grace = Duration::from_secs(self.settings.agent.stop_grace_seconds);
        info!(
            event = "agent_stopping",
            in_flight = self.in_flight,
            grace_secs = grace.as_secs(),
            "stopping"
        );
        let deadline = tokio::time::Instant::now() + grace;
        while self.in_flight > 0 {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(msg)) => self.on_msg(msg),
                _ => break,
            }
        }
        if self.in_flight > 0 {
            let ended =
                tokio::task::spawn_blocking(|| process::end_all_children(Duration::from_secs(2)))
                    .await
                    .unwrap_or(0);
            warn!(
                event = "agent_stop_forced",
                ended, "running steps did not finish in time; their processes were ended"
            );
        }
        self.state.pid = None;
        self.save();
        info!(event = "agent_stopped", "agent stopped");
    }
}

/// True for notifications that mean a resource may have changed: not the
/// opens, reads and read-only closes that every reader of a file causes
/// (the agent's own checks among them).
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) | EventKind::Any => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Other => false,
    }
}

fn origin_text(origin: &associations::Origin) -> String {
    match origin {
        associations::Origin::DropIn(p) => format!("drop-in {}", p.display()),
        associations::Origin::StateManager { association_id } => {
            format!("state-manager {association_id}")
        }
    }
}

fn target<'a>(
    a_mode: Mode,
    filing: Filing,
    settings: &'a Settings,
    root: &'a Root,
    identity: &'a Identity,
    state_dir: &'a Path,
    destination: Option<&'a crate::output::S3Destination>,
) -> invocation::Target<'a> {
    invocation::Target {
        root,
        mode: a_mode,
        state_dir,
        identity,
        filing,
        destination,
        output_limit: OUTPUT_LIMIT_BYTES,
        settings,
    }
}

/// One scheduled run of an association, filed in State Manager's layout.
fn run_association(
    a: &Association,
    settings: &Settings,
    root: &Root,
    identity: &Identity,
    state_dir: &Path,
) -> (Result<RunSummary, String>, Option<Arc<Ready>>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return (Err(e.to_string()), None),
    };
    let ready = match invocation::prepare(a.document_name.clone(), a.document.clone(), &a.raw)
        .and_then(|p| invocation::ready(p, settings, &rt))
    {
        Ok(r) => Arc::new(r),
        Err(e) => return (Err(e.to_string()), None),
    };
    // SSM's run id: the UTC start time, with '-' for ':'.
    let run_id = Utc::now().format("%Y-%m-%dT%H-%M-%S%.3fZ").to_string();
    let filing = Filing::Association {
        association_id: a.id.clone(),
        run_id,
    };
    let t = target(
        a.mode,
        filing,
        settings,
        root,
        identity,
        state_dir,
        a.destination.as_ref(),
    );
    match invocation::execute(&ready, &t) {
        Ok(done) => {
            if a.destination.is_some() {
                invocation::upload(settings, &rt, &done.outbox);
            }
            let summary = RunSummary {
                status: done.record.status.as_str().to_string(),
                non_compliant: done.record.summary.non_compliant + done.record.summary.failed,
            };
            (Ok(summary), Some(ready))
        }
        Err(e) => (Err(format!("{e:#}")), Some(ready)),
    }
}

/// Re-runs one step in apply mode after a change to its resource.
fn repair(
    ready: &Ready,
    step: usize,
    settings: &Settings,
    root: &Root,
    identity: &Identity,
    state_dir: &Path,
) -> Vec<ResourceResult> {
    let Some(planned) = ready.plan.steps.get(step) else {
        return Vec::new();
    };
    let scratch = match tempfile::Builder::new()
        .prefix("drift-")
        .tempdir_in(state_dir)
    {
        Ok(d) => d,
        Err(e) => {
            warn!(error = %e, "cannot create a scratch folder for a repair");
            return Vec::new();
        }
    };
    let filing = Filing::Command {
        command_id: "drift-repair".into(),
    };
    let t = target(
        Mode::Apply,
        filing,
        settings,
        root,
        identity,
        state_dir,
        None,
    );
    let exec = invocation::exec_env(ready, &t, "drift-repair", scratch.path().join("scripts"));
    let ctx = RunContext {
        root,
        mode: Mode::Apply,
        exec: &exec,
        document: ready.prepared.name.clone(),
        parameters: serde_json::Value::Null,
        secrets: &ready.resolved.secure,
    };
    engine::run_step_alone(planned, &ctx, scratch.path()).resources
}
