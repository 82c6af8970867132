//! Plays a history against a fresh simulator with the real `redeliver` binary, and records what
//! the checker needs to judge it: every pass's `--json` report, every given-up notification of
//! `watch`, and snapshots of the stored time next to GitHub's record after every step.
//!
//! The simulator runs on the wall clock, so a history runs in real time, made short by a policy
//! in seconds (`--ladder 1s,2s`, `--overlap 2s`). After the generated steps comes a drain: the
//! receiver up, faults cleared, the daemon stopped, and plain passes until nothing is owed (or a
//! bound of the longest rung plus a few seconds), so every promise has had its chance to be kept.
//!
//! On the PostgreSQL store the history gets a database of its own on the test server
//! (`REDELIVER_TEST_POSTGRES`), dropped after it; `run` passes and up to three `watch` replicas
//! share it, and the replicas are killed, stopped and frozen as the steps say.

use super::history::{
    FaultKind, FaultOn, Filter, HOLDER, History, REPLICAS, Receiver, Setup, Signal, Step, Store, Window,
};
use anyhow::Context as _;
use chrono::{DateTime, Duration as TimeDelta, Utc};
use redeliver_core::state::postgres::{PgLocation, testing};
use redeliver_core::state::{Ledger, RedeliveryKind, RedeliveryRecord, RedeliveryState};
use redeliver_sim::{Fault, FaultRule, HookId, NewAttempt, ReceiverMode, Sim, World, keys};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

pub const APP_ID: u64 = 5151;
const TOKEN: &str = "checker-variable-token";
const VARIABLE_OWNER: &str = "octo";
const VARIABLE_REPO: &str = "hooks";
const VARIABLE: &str = "LAST_REDELIVERY";
/// `--max-wait`: a `Retry-After` longer than this stops the pass (see defect 8).
pub const MAX_WAIT_SECS: u64 = 1;
/// `--horizon`: the histories last minutes, so no event may reach it (the `outage` and `horizon`
/// give-ups are judged by it).
pub const HORIZON_SECS: i64 = 3600;
/// No single process may take longer than this (a hung pass is a finding, not a hang).
const PROCESS_LIMIT: Duration = Duration::from_secs(60);

/// One `redeliver run` as the checker saw it.
#[derive(Debug, Clone)]
pub struct PassRecord {
    /// Which step ran it (`step 3` or `drain 2`) and its flags.
    pub label: String,
    pub exit_code: i32,
    /// The `redeliver.run/v1` report, when the pass printed one.
    pub report: Option<Value>,
    pub stderr: String,
}

/// The stored time next to GitHub's record, at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// After which step it was taken.
    pub after: String,
    /// The stored time: the ledger's watermark, or the Actions variable.
    pub stored: Option<DateTime<Utc>>,
    /// Events the SQLite ledger remembers as pending (empty in variable mode).
    pub pending: HashSet<String>,
    /// Events the SQLite ledger marks given up.
    pub ledger_given_up: HashSet<String>,
    /// Events reported given up so far (reports and notifications).
    pub reported_given_up: HashSet<String>,
    /// Events with no successful attempt in GitHub's record, with their oldest attempt.
    pub failed: Vec<(String, DateTime<Utc>)>,
}

/// Everything a history produced, for the invariants.
#[derive(Debug, Default)]
pub struct Observed {
    pub passes: Vec<PassRecord>,
    pub snapshots: Vec<Snapshot>,
    /// Given-up notifications `watch` sent, by GUID.
    pub notified: HashMap<String, u32>,
    /// Events `watch` notified as given up at the cap.
    pub notified_cap: HashSet<String>,
    /// Events `watch` notified as given up at the horizon or in an outage (reason `horizon` or
    /// `outage`).
    pub notified_horizon: HashSet<String>,
    /// Whether a `watch` (or a replica) was SIGKILLed (a give-up written just before the kill may
    /// go unreported).
    pub watch_killed: bool,
    /// When each SIGKILL of a `watch` landed, on GitHub's clock: a daemon killed after a canary
    /// and before it stored the canary schedule sends the next one early, by no fault of its own.
    pub watch_kills: Vec<DateTime<Utc>>,
    /// Every redelivery request the tool wrote down in its ledger, with its kind (a rung of the
    /// ladder, a canary, a rung refunded by an outage), oldest first: read after the drain.
    pub ledger_requests: Vec<(RedeliveryRecord, RedeliveryKind)>,
    /// Every event the history created, in order.
    pub events: Vec<String>,
    /// When (GitHub's clock) the checker recorded each event's attempts: an attempt recorded
    /// late, in the past, is listed only from then on.
    pub recorded_at: HashMap<String, DateTime<Utc>>,
    /// Longest `Retry-After` injected, which a pass may wait out between listing and POSTing.
    pub longest_retry_after: u64,
    /// Whether the drain ended with nothing owed.
    pub drained: bool,
    /// PostgreSQL store: per event, redeliveries written down whose fate the tool could not know
    /// when it next planned: rows left `sending` by a replica that died, or withdrawn by one that
    /// found its lease gone after a rate-limit wait (the new owner had counted them).
    pub unknown_fate: HashMap<String, usize>,
    pub wall: Duration,
}

/// The world a history ran in, kept for the invariants to read GitHub's record.
pub struct Played {
    pub world: World,
    pub hook: HookId,
    pub observed: Observed,
}

struct Ctx<'a> {
    exe: &'a Path,
    setup: &'a Setup,
    sim: Sim,
    world: World,
    hook: HookId,
    receiver: redeliver_sim::Receiver,
    sink: redeliver_sim::Receiver,
    dir: tempfile::TempDir,
    background: Vec<tokio::task::JoinHandle<anyhow::Result<PassRecord>>>,
    watch: Option<tokio::process::Child>,
    watches: u32,
    /// The PostgreSQL store's database, and its `watch` replicas by index.
    database: Option<String>,
    replicas: [Option<Replica>; REPLICAS as usize],
    passes: u32,
    observed: Observed,
}

/// Plays `history` with the binary `exe`.
pub async fn play(exe: &Path, history: &History) -> anyhow::Result<Played> {
    let started = Instant::now();
    let sim = Sim::start().await?;
    let world = sim.world();
    let receiver = redeliver_sim::Receiver::start(None).await?;
    let sink = redeliver_sim::Receiver::start(None).await?;
    let hook = world.add_app(APP_ID, "Iv23checker", keys::TEST_APP_PUBLIC_KEY, &receiver.url(), None);
    world.add_token(TOKEN);
    world.set_per_page_max(history.setup.per_page);
    // Defect 4: GitHub's clock ahead of or behind the machine's. The invariants need no change,
    // since they compare the stored time with GitHub's times, never with this machine's.
    world.set_clock_skew(TimeDelta::seconds(i64::from(history.setup.skew_s)));
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("key.pem"), keys::TEST_APP_KEY_PKCS1)?;
    // Declared before the context, so dropped after it: the replicas are gone before the database.
    let database = match history.setup.store {
        Store::Postgres => Some(Database::create()?),
        _ => None,
    };
    let mut ctx = Ctx {
        exe,
        setup: &history.setup,
        sim,
        world,
        hook,
        receiver,
        sink,
        dir,
        background: Vec::new(),
        watch: None,
        watches: 0,
        database: database.as_ref().map(|d| d.url.clone()),
        replicas: Default::default(),
        passes: 0,
        observed: Observed::default(),
    };
    for (i, step) in history.steps.iter().enumerate() {
        ctx.step(i, step).await?;
        ctx.world.settle().await;
        ctx.snapshot(format!("step {i} ({step})"));
    }
    ctx.drain().await?;
    ctx.observed.unknown_fate = ctx.unknown_fate();
    ctx.observed.ledger_requests = ctx.ledger_requests()?;
    for r in ctx.sink.received() {
        if let Some(guid) = r.payload.get("guid").and_then(Value::as_str) {
            *ctx.observed.notified.entry(guid.to_string()).or_default() += 1;
            match r.payload.get("reason").and_then(Value::as_str) {
                Some("cap") => ctx.observed.notified_cap.insert(guid.to_string()),
                Some("horizon" | "outage") => ctx.observed.notified_horizon.insert(guid.to_string()),
                _ => false,
            };
        }
    }
    ctx.observed.wall = started.elapsed();
    let Ctx { sim, world, hook, observed, .. } = ctx;
    sim.shutdown().await;
    Ok(Played { world, hook, observed })
}

impl Ctx<'_> {
    async fn step(&mut self, i: usize, step: &Step) -> anyhow::Result<()> {
        match *step {
            Step::Events { count, kind, failed, age_ms } => {
                // GitHub's time, not the machine's: the record is GitHub's (skewed) clock.
                let now = self.world.now();
                let at = now - TimeDelta::milliseconds(i64::from(age_ms));
                for n in 0..count {
                    let attempt = match (failed, n % 2) {
                        (true, 0) => NewAttempt::new(kind.name(), 503, at),
                        (true, _) => NewAttempt::new(kind.name(), 0, at).status("failed to connect to host"),
                        (false, _) => NewAttempt::new(kind.name(), 200, at),
                    };
                    let record = self.world.record_attempt(self.hook, attempt.action("opened"));
                    self.observed.recorded_at.insert(record.guid.clone(), now);
                    self.observed.events.push(record.guid);
                }
            }
            Step::ManualFailedRedelivery { kind, age_s } => {
                let now = self.world.now();
                let original = NewAttempt::new(kind.name(), 200, now - TimeDelta::seconds(i64::from(age_s)));
                let record = self.world.record_attempt(self.hook, original.action("opened"));
                let manual = NewAttempt::new(kind.name(), 502, now).guid(&record.guid).redelivery(true);
                self.world.record_attempt(self.hook, manual.action("opened"));
                self.observed.recorded_at.insert(record.guid.clone(), now);
                self.observed.events.push(record.guid);
            }
            Step::Receiver(r) => self.receiver.set_mode(match r {
                Receiver::Up => ReceiverMode::Up,
                Receiver::Failing => ReceiverMode::Status(503),
                Receiver::Erroring => ReceiverMode::Status(500),
                Receiver::Down => ReceiverMode::Down,
            }),
            Step::Run { filter, window, background } => {
                let label = format!("step {i}");
                if background {
                    let command = self.run_command(filter, window);
                    self.background.push(tokio::spawn(run_pass(command, label)));
                } else {
                    self.join_background().await?;
                    let record = run_pass(self.run_command(filter, window), label).await?;
                    self.observed.passes.push(record);
                }
            }
            Step::WatchStart { interval_ms } => {
                if self.watch.is_none() {
                    self.start_watch(interval_ms)?;
                }
            }
            Step::WatchKill => self.kill_watch().await,
            Step::ReplicaStart { replica, interval_ms } => {
                if self.replica_running(replica) {
                    return Ok(());
                }
                self.start_replica(replica, interval_ms)?;
            }
            Step::ReplicaSignal { replica: HOLDER, signal } => {
                if let Some(k) = self.holder_after_a_redelivery().await {
                    self.signal_replica(k, signal).await?;
                }
            }
            Step::ReplicaSignal { replica, signal } => self.signal_replica(replica, signal).await?,
            Step::Fault { on, kind, times } => {
                let path = "/app/hook/deliveries";
                let fault = match kind {
                    FaultKind::ServerError => Fault::Status(502),
                    FaultKind::SecondaryLimit(after) => {
                        self.observed.longest_retry_after = self.observed.longest_retry_after.max(after);
                        Fault::SecondaryRateLimit { retry_after: Some(after) }
                    }
                    FaultKind::Refused => Fault::Status(422),
                    FaultKind::EmptyPageWithNext => Fault::EmptyPageWithNext,
                    FaultKind::RepeatItems(overlap) => Fault::RepeatItems { overlap },
                };
                let rule = FaultRule::new(path, fault).times(times as usize);
                self.world.inject(match on {
                    FaultOn::List => rule.method("GET"),
                    FaultOn::Post => rule.method("POST"),
                });
            }
            Step::Sleep { ms } => tokio::time::sleep(Duration::from_millis(u64::from(ms))).await,
        }
        Ok(())
    }

    /// Receiver up, faults gone, daemon stopped, then plain passes until nothing is owed.
    async fn drain(&mut self) -> anyhow::Result<()> {
        self.receiver.set_mode(ReceiverMode::Up);
        self.world.clear_faults();
        self.kill_watch().await;
        // Replicas stop as a Deployment's do (the notifications they owe go out); the leases of
        // one killed a moment ago run out within the lease, added to the bound.
        for k in 0..REPLICAS {
            self.signal_replica(k, Signal::Term).await?;
        }
        self.join_background().await?;
        let longest_rung = self.setup.ladder.iter().copied().max().unwrap_or(0);
        let mut bound = Duration::from_secs(u64::from(longest_rung) + 4 + u64::from(self.setup.lease_s));
        if let Some(o) = self.setup.outage {
            // A receiver the tool still holds down gets its next canary up to the longest probe
            // interval from now, and once it is up, the backlog drains at the drain rate.
            bound += Duration::from_secs(u64::from(o.max_probe_s));
            if o.drain_rate > 0 {
                bound += Duration::from_secs_f64(self.observed.events.len() as f64 / f64::from(o.drain_rate));
            }
        }
        let deadline = Instant::now() + bound;
        for n in 0.. {
            let record = run_pass(self.run_command(Filter::All, Window::Stored), format!("drain {n}")).await?;
            self.observed.passes.push(record);
            self.world.settle().await;
            let snapshot = self.snapshot(format!("drain pass {n}"));
            let owed = snapshot
                .failed
                .iter()
                .any(|(g, _)| !snapshot.reported_given_up.contains(g) && !snapshot.ledger_given_up.contains(g));
            if !owed {
                self.observed.drained = true;
                break;
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
        Ok(())
    }

    async fn join_background(&mut self) -> anyhow::Result<()> {
        for handle in std::mem::take(&mut self.background) {
            let record = handle.await.context("a background pass panicked")??;
            self.observed.passes.push(record);
        }
        Ok(())
    }

    fn base_args(&self, command: &mut tokio::process::Command) {
        let s = self.setup;
        // Outage awareness is the tool's default; the invariants know its canaries and refunds
        // from the ledger (`Observed::ledger_requests`).
        match &s.outage {
            Some(o) => command.args(o.flags()),
            None => command.arg("--no-outage-awareness"),
        };
        command
            .arg("--api-url")
            .arg(self.sim.base_url())
            .args(["--app-id", &APP_ID.to_string()])
            .arg("--private-key-file")
            .arg(self.dir.path().join("key.pem"))
            .args([
                "--pace",
                &format!("{}ms", s.pace_ms),
                "--lookback",
                "10m",
                "--horizon",
                &format!("{HORIZON_SECS}s"),
            ])
            .args(["--overlap", &format!("{}s", s.overlap), "--ladder", &s.ladder_flag()])
            .args(["--max-attempts", &s.max_attempts.to_string(), "--max-wait", &format!("{MAX_WAIT_SECS}s")])
            .env_clear()
            .env("HOME", self.dir.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .kill_on_drop(true);
    }

    fn run_command(&mut self, filter: Filter, window: Window) -> tokio::process::Command {
        self.passes += 1;
        let mut command = tokio::process::Command::new(self.exe);
        command.args(["run", "--json"]);
        self.base_args(&mut command);
        match self.setup.store {
            Store::Sqlite | Store::Postgres => command.arg("--state").arg(self.state()).args(self.lease_args()),
            // A fresh runner: the ledger of the last job is gone.
            Store::Variable => command
                .arg("--state")
                .arg(self.runner_path(self.passes))
                .args(["--variable", VARIABLE, "--variable-repo", &format!("{VARIABLE_OWNER}/{VARIABLE_REPO}")])
                .env("TOKEN", TOKEN),
        };
        match filter {
            Filter::All => {}
            Filter::Only(k) => {
                command.args(["--event", k.name()]);
            }
            Filter::Except(k) => {
                command.args(["--exclude-event", k.name()]);
            }
        }
        match window {
            Window::Stored => {}
            Window::Since(s) => {
                command.args(["--since", &format!("{s}s")]);
            }
            Window::Until(s) => {
                command.args(["--until", &format!("{s}s")]);
            }
        }
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        command
    }

    fn state_path(&self) -> PathBuf {
        self.dir.path().join("state.db")
    }

    /// `--state`: the SQLite file, or the PostgreSQL database's URL.
    fn state(&self) -> OsString {
        match &self.database {
            Some(url) => url.into(),
            None => self.state_path().into(),
        }
    }

    /// `--lease` on the PostgreSQL store: short, so a replica's targets fail over within the history.
    fn lease_args(&self) -> Vec<String> {
        match self.setup.store {
            Store::Postgres => vec!["--lease".into(), format!("{}s", self.setup.lease_s)],
            _ => Vec::new(),
        }
    }

    fn replica_running(&self, k: u8) -> bool {
        self.replicas[usize::from(k)].is_some()
    }

    fn start_replica(&mut self, k: u8, interval_ms: u32) -> anyhow::Result<()> {
        self.watches += 1;
        let log_path = self.dir.path().join(format!("replica-{k}-{}.log", self.watches));
        let log = std::fs::File::create(&log_path)?;
        let mut command = tokio::process::Command::new(self.exe);
        command.args(["watch", "--interval", &format!("{interval_ms}ms"), "--listen", "off"]);
        self.base_args(&mut command);
        command
            .arg("--state")
            .arg(self.state())
            .args(self.lease_args())
            .args(["--notify-url", &self.sink.url()])
            .stdout(Stdio::null())
            .stderr(log);
        let child = command.spawn().with_context(|| format!("starting replica {k}"))?;
        self.replicas[usize::from(k)] = Some(Replica { child, log: log_path });
        Ok(())
    }

    /// The replica that holds the target's lease, once a redelivery reached GitHub (or after
    /// [`HOLDER_WAIT`], when none came): `None` when no replica holds it (a `run` does, or nobody).
    async fn holder_after_a_redelivery(&self) -> Option<u8> {
        let posts = |world: &World| {
            world.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/attempts")).count()
        };
        let before = posts(&self.world);
        let deadline = Instant::now() + HOLDER_WAIT;
        while posts(&self.world) == before && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.holder()
    }

    /// The replica whose process holds the target's lease on the database (owners are named
    /// `host:pid:tag`).
    fn holder(&self) -> Option<u8> {
        let url = self.database.as_ref()?;
        let ledger = Ledger::open_read_only(Path::new(url)).ok()??;
        let lease = ledger.postgres()?.fleet(&[]).ok()?.into_iter().find(|l| l.expires_in_seconds > 0.0)?;
        let pid: u32 = lease.owner?.rsplit(':').nth(1)?.parse().ok()?;
        (0..REPLICAS).find(|&k| self.replicas[usize::from(k)].as_ref().and_then(|r| r.child.id()) == Some(pid))
    }

    /// SIGKILL, SIGTERM (waited for, SIGKILL past [`TERM_GRACE`]) or a freeze past the lease.
    async fn signal_replica(&mut self, k: u8, signal: Signal) -> anyhow::Result<()> {
        let slot = usize::from(k);
        let Some(replica) = self.replicas[slot].as_mut() else { return Ok(()) };
        // A replica that died on its own (a panic, a refused flag) is a finding, not a no-op.
        if let Some(status) = replica.child.try_wait()? {
            anyhow::bail!("replica {k} exited by itself ({status}): {}", replica.log_tail());
        }
        let Some(pid) = replica.child.id() else { return Ok(()) };
        match signal {
            Signal::Kill => {
                if let Some(mut replica) = self.replicas[slot].take() {
                    let _ = replica.child.kill().await;
                    self.observed.watch_killed = true;
                    self.observed.watch_kills.push(self.world.now());
                }
            }
            Signal::Term => {
                send(pid, "TERM")?;
                let Some(mut replica) = self.replicas[slot].take() else { return Ok(()) };
                match tokio::time::timeout(TERM_GRACE, replica.child.wait()).await {
                    Ok(status) => {
                        let status = status?;
                        // Killed by the SIGTERM itself: it came before the replica set its
                        // handler, at its very start, when it had done nothing yet.
                        use std::os::unix::process::ExitStatusExt as _;
                        anyhow::ensure!(
                            status.success() || status.signal() == Some(SIGTERM),
                            "replica {k} exited {status} on SIGTERM: {}",
                            replica.log_tail()
                        );
                    }
                    Err(_) => {
                        let _ = replica.child.kill().await;
                        self.observed.watch_killed = true;
                        self.observed.watch_kills.push(self.world.now());
                    }
                }
            }
            Signal::Freeze(ms) => {
                send(pid, "STOP")?;
                tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
                send(pid, "CONT")?;
            }
        }
        Ok(())
    }

    /// The fresh ledger of the `n`-th pass on the Actions-variable store (kept after the pass).
    fn runner_path(&self, n: u32) -> PathBuf {
        self.dir.path().join(format!("runner-{n}.db"))
    }

    /// The target's ledger key.
    fn key(&self) -> String {
        format!("app:{APP_ID}@{}", self.sim.base_url())
    }

    /// Every redelivery request the tool wrote down, with its kind, through the ledger front
    /// (so every store reads alike): the one state, or on the Actions-variable store every
    /// pass's runner ledger, each holding the requests of its own pass.
    fn ledger_requests(&self) -> anyhow::Result<Vec<(RedeliveryRecord, RedeliveryKind)>> {
        let key = self.key();
        let ledgers: Vec<PathBuf> = match self.setup.store {
            Store::Sqlite => vec![self.state_path()],
            // The URL: `Ledger::open_read_only` takes a PostgreSQL location as a path.
            Store::Postgres => vec![PathBuf::from(self.state())],
            Store::Variable => (1..=self.passes).map(|n| self.runner_path(n)).collect(),
        };
        let mut out = Vec::new();
        for at in ledgers {
            if let Some(ledger) = Ledger::open_read_only(&at).with_context(|| format!("reading {}", at.display()))? {
                out.extend(ledger.redelivery_kinds(&key)?);
            }
        }
        out.sort_by_key(|(r, _)| r.at);
        Ok(out)
    }

    fn start_watch(&mut self, interval_ms: u32) -> anyhow::Result<()> {
        self.watches += 1;
        let log = std::fs::File::create(self.dir.path().join(format!("watch-{}.log", self.watches)))?;
        let mut command = tokio::process::Command::new(self.exe);
        command.args(["watch", "--interval", &format!("{interval_ms}ms"), "--listen", "off"]);
        self.base_args(&mut command);
        command
            .arg("--state")
            .arg(self.state_path())
            .args(["--notify-url", &self.sink.url()])
            .stdout(Stdio::null())
            .stderr(log);
        self.watch = Some(command.spawn().context("starting redeliver watch")?);
        Ok(())
    }

    async fn kill_watch(&mut self) {
        if let Some(mut child) = self.watch.take() {
            // `kill` is SIGKILL: no chance to finish the request in flight or save anything.
            let _ = child.kill().await;
            self.observed.watch_killed = true;
            self.observed.watch_kills.push(self.world.now());
        }
    }

    /// Rows of the PostgreSQL ledger whose fate another replica could not know when it planned
    /// (see [`Observed::unknown_fate`]): a cap reached with them counted is not "unearned".
    fn unknown_fate(&self) -> HashMap<String, usize> {
        let mut out = HashMap::new();
        let Some(url) = &self.database else { return out };
        let Ok(Some(ledger)) = Ledger::open_read_only(Path::new(url)) else { return out };
        for r in ledger.history(None, None, 100_000).unwrap_or_default() {
            let lost_lease = r.answer == RedeliveryState::NotSent
                && r.detail.as_deref().is_some_and(|d| d.contains("no longer held the lease"));
            if r.answer == RedeliveryState::Sending || lost_lease {
                *out.entry(r.guid).or_default() += 1;
            }
        }
        out
    }

    /// The stored time, read before GitHub's record so a pass finishing in between can only make
    /// the snapshot more lenient, never report a loss that did not happen.
    fn snapshot(&mut self, after: String) -> Snapshot {
        let key = self.key();
        let mut snapshot = Snapshot {
            after,
            stored: None,
            pending: HashSet::new(),
            ledger_given_up: HashSet::new(),
            reported_given_up: HashSet::new(),
            failed: Vec::new(),
        };
        match self.setup.store {
            Store::Sqlite | Store::Postgres => {
                if let Ok(Some(ledger)) = Ledger::open_read_only(Path::new(&self.state())) {
                    snapshot.stored = ledger.watermark(&key).ok().flatten();
                    snapshot.pending =
                        ledger.pending(&key).map(|p| p.into_iter().map(|h| h.guid).collect()).unwrap_or_default();
                    let guids = self.observed.events.iter().map(String::as_str);
                    if let Ok(memory) = ledger.memory(&key, guids) {
                        snapshot.ledger_given_up =
                            memory.into_iter().filter(|(_, m)| m.given_up).map(|(g, _)| g).collect();
                    }
                }
            }
            Store::Variable => {
                snapshot.stored = self
                    .world
                    .variable(VARIABLE_OWNER, VARIABLE_REPO, VARIABLE)
                    .and_then(|v| v.trim().parse().ok())
                    .and_then(DateTime::from_timestamp_millis);
            }
        }
        snapshot.reported_given_up = given_up_counts(&self.observed.passes).into_keys().collect();
        for r in self.sink.received() {
            if let Some(guid) = r.payload.get("guid").and_then(Value::as_str) {
                snapshot.reported_given_up.insert(guid.to_string());
            }
        }
        for guid in &self.observed.events {
            let attempts = self.world.attempts_for(guid);
            if attempts.iter().any(|a| (200..300).contains(&a.status_code)) {
                continue;
            }
            if let Some(oldest) = attempts.iter().map(|a| a.delivered_at).min() {
                snapshot.failed.push((guid.clone(), oldest));
            }
        }
        self.observed.snapshots.push(snapshot.clone());
        snapshot
    }
}

/// A `watch` replica of the PostgreSQL store, and where its log goes.
struct Replica {
    child: tokio::process::Child,
    log: PathBuf,
}

impl Replica {
    /// The last lines of its log, for a replica that exited when it should not have.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(8)..].join("\n")
    }
}

/// How long a replica may take to stop on SIGTERM: the request in flight (the simulator answers
/// at once), the leases handed back, and the notifications' grace (3 s).
const TERM_GRACE: Duration = Duration::from_secs(10);

/// How long a step aimed at the lease holder waits for one of its redeliveries.
const HOLDER_WAIT: Duration = Duration::from_secs(2);

/// SIGTERM's number (POSIX).
const SIGTERM: i32 = 15;

/// Sends `signal` (`TERM`, `STOP`, `CONT`) to the process `pid`.
fn send(pid: u32, signal: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .with_context(|| format!("kill -{signal} {pid}"))?;
    anyhow::ensure!(status.success(), "kill -{signal} {pid} failed: {status}");
    Ok(())
}

/// The PostgreSQL store's database: created on the test server for one history, dropped after
/// it (and the connections of replicas still on it).
struct Database {
    name: String,
    url: String,
}

impl Database {
    fn create() -> anyhow::Result<Database> {
        let (url, name) = testing::create_database("redeliver_check").map_err(|e| unreachable_server(&e))?;
        Ok(Database { name, url })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Err(e) = testing::drop_database(&self.name) {
            warn_left_behind(&self.name, &e);
        }
    }
}

/// A database that could not be dropped is left behind, and says so (it holds nothing but a
/// history's ledger).
#[allow(clippy::print_stderr)] // the checker is a command-line tool; no logger in this crate
fn warn_left_behind(name: &str, e: &dyn std::fmt::Display) {
    eprintln!("warning: could not drop the checker's database {name}: {e}");
}

/// The PostgreSQL store needs the test server: say which URL failed and how to start it.
pub fn unreachable_server(e: &dyn std::fmt::Display) -> anyhow::Error {
    let url = testing::url();
    let shown = PgLocation::parse(&url, None)
        .map_or_else(|_| "REDELIVER_TEST_POSTGRES".to_string(), |at| at.shown().to_string());
    anyhow::anyhow!(
        "the PostgreSQL store needs the test server {shown}, which cannot be reached ({e}): start it with \
         `bash .ci/postgres-test-server`, or point REDELIVER_TEST_POSTGRES at one"
    )
}

/// Fails with [`unreachable_server`]'s words unless the test server answers (a database made
/// and dropped), so a run of PostgreSQL histories stops before the first one.
pub fn require_postgres() -> anyhow::Result<()> {
    drop(Database::create()?);
    Ok(())
}

/// Given-up reports per GUID across the passes' `--json` reports.
pub fn given_up_counts(passes: &[PassRecord]) -> HashMap<String, u32> {
    let mut counts = HashMap::new();
    for p in passes {
        let events = p.report.as_ref().and_then(|r| r.get("events")).and_then(Value::as_array);
        for e in events.into_iter().flatten() {
            if e.get("outcome").and_then(Value::as_str) == Some("given_up")
                && let Some(guid) = e.get("guid").and_then(Value::as_str)
            {
                *counts.entry(guid.to_string()).or_default() += 1;
            }
        }
    }
    counts
}

async fn run_pass(mut command: tokio::process::Command, label: String) -> anyhow::Result<PassRecord> {
    let label = format!("{label}: {}", describe(&command));
    let output = tokio::time::timeout(PROCESS_LIMIT, command.output())
        .await
        .with_context(|| format!("{label} ran longer than {PROCESS_LIMIT:?}"))?
        .with_context(|| format!("starting {label}"))?;
    let exit_code = output.status.code().unwrap_or(-1);
    let report = serde_json::from_slice(&output.stdout).ok();
    Ok(PassRecord { label, exit_code, report, stderr: String::from_utf8_lossy(&output.stderr).into_owned() })
}

/// The flags that tell passes apart (`--event`, `--since`, ...), for labels.
fn describe(command: &tokio::process::Command) -> String {
    let args: Vec<String> = command.as_std().get_args().map(|a| a.to_string_lossy().into_owned()).collect();
    let mut out = vec!["run".to_string()];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if matches!(a.as_str(), "--event" | "--exclude-event" | "--since" | "--until")
            && let Some(v) = it.next()
        {
            out.push(format!("{a} {v}"));
        }
    }
    out.join(" ")
}
