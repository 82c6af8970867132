//! What a history is: the policy one run of the checker gives the tool, and the steps that happen
//! to the world and to the tool, in order. Plain values, printable, so a failing history can be
//! read, replayed and shrunk.

use std::fmt;

/// Where the tool keeps its stored time between passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// The SQLite ledger, one file for the whole history (a server running cron or `watch`).
    Sqlite,
    /// The docs script's Actions variable, with the runner's ledger lost between passes: every
    /// pass gets a fresh `--state`, as on a GitHub-hosted runner.
    Variable,
    /// A PostgreSQL database of the history's own on the test server (issue 13): `run` passes
    /// and up to [`REPLICAS`] `watch` replicas share it through leases, and replicas are
    /// killed, stopped on SIGTERM and frozen past their lease.
    Postgres,
}

/// How many `watch` replicas a PostgreSQL history runs at most at once.
pub const REPLICAS: u8 = 3;

/// In a replica step, not a replica by index but the one that holds the target's lease when the
/// step runs, signalled just after one of its redeliveries reached GitHub: a freeze that lands in
/// the middle of its drain (most often in the `--pace` between two redeliveries), which is where a
/// replica that wakes without its lease could send what the new owner sends too.
pub const HOLDER: u8 = u8::MAX;

/// SIGKILL, SIGTERM or a freeze (SIGSTOP, then SIGCONT) for one replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Dies without a word: its leases run out.
    Kill,
    /// Stops cleanly: finishes the request in flight and hands its leases back.
    Term,
    /// Stopped for this many milliseconds (longer than the lease), then resumed: its targets went
    /// to another replica meanwhile, and its fenced writes must be refused.
    Freeze(u32),
}

/// The policy the tool runs with, in seconds so a history fits in seconds of wall time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    pub store: Store,
    /// `--max-attempts`.
    pub max_attempts: u32,
    /// `--ladder`, whole seconds, non-decreasing (the rung check relies on it).
    pub ladder: Vec<u32>,
    /// `--overlap`, whole seconds.
    pub overlap: u32,
    /// The simulator's largest `per_page`: small pages make every pass page.
    pub per_page: usize,
    /// GitHub's clock ahead of the machine's by this many seconds (negative: behind), set once
    /// for the whole history (defect 4).
    pub skew_s: i32,
    /// `--pace` in milliseconds: the pause between two redeliveries, where a SIGKILL can land
    /// (defect 9).
    pub pace_ms: u32,
    /// `--lease` in whole seconds on the PostgreSQL store (short, so a replica's targets fail
    /// over within the history); 0 on the others.
    pub lease_s: u32,
    /// Outage awareness (issue 11), the tool's default, with settings short enough for an
    /// outage to start and end inside a history; `None` plays `--no-outage-awareness`.
    pub outage: Option<Outage>,
}

/// The outage settings of a history (issue 11; `crates/redeliver/src/config/outage.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    /// `--down-after`: distinct events whose newest attempts are outage signs before the
    /// receiver counts as down.
    pub down_after: u32,
    /// `--probe-interval`, whole seconds: the wait after an outage's first canary.
    pub probe_s: u32,
    /// `--max-probe-interval`, whole seconds: the wait doubles after each canary up to this.
    pub max_probe_s: u32,
    /// `--drain-rate` in redelivery requests a second; 0 for no limit.
    pub drain_rate: u32,
}

impl Outage {
    /// The wait the tool keeps after the `n`-th canary of one outage (1-based), as
    /// `redeliver_core::health::HookHealth::probed` schedules it: the probe interval after the
    /// first, doubling after each further one, never more than the longest.
    pub fn wait_after_canary(&self, n: u32) -> u32 {
        let doublings = n.saturating_sub(1).min(16);
        self.probe_s.saturating_mul(1 << doublings).min(self.max_probe_s.max(self.probe_s))
    }

    /// The flags that give the tool these settings.
    pub fn flags(&self) -> Vec<String> {
        let mut out = vec![
            "--down-after".to_string(),
            self.down_after.to_string(),
            "--probe-interval".to_string(),
            format!("{}s", self.probe_s),
            "--max-probe-interval".to_string(),
            format!("{}s", self.max_probe_s),
        ];
        if self.drain_rate > 0 {
            out.extend(["--drain-rate".to_string(), format!("{}/s", self.drain_rate)]);
        }
        out
    }
}

impl Setup {
    /// The wait after an event's `attempts`-th attempt, as `redeliver_core::policy` defines it.
    pub fn wait_after(&self, attempts: u32) -> u32 {
        let rung = attempts.saturating_sub(1) as usize;
        self.ladder.get(rung).or(self.ladder.last()).copied().unwrap_or(0)
    }

    pub fn ladder_flag(&self) -> String {
        self.ladder.iter().map(|s| format!("{s}s")).collect::<Vec<_>>().join(",")
    }
}

/// The kinds of event a history fires; filters name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Push,
    Issues,
    PullRequest,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Push, Kind::Issues, Kind::PullRequest];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Push => "push",
            Kind::Issues => "issues",
            Kind::PullRequest => "pull_request",
        }
    }
}

/// `--event` / `--exclude-event` of one pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    All,
    Only(Kind),
    Except(Kind),
}

/// The window of one pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// From the stored time (a scheduled pass).
    Stored,
    /// `--since` this many seconds ago (incident recovery; the stored time must stay).
    Since(u32),
    /// `--until` this many seconds ago (incident recovery; the stored time must stay).
    Until(u32),
}

/// How the receiver answers redeliveries from now on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receiver {
    Up,
    /// Answers 503.
    Failing,
    /// Answers 500: the receiver's own error, not a sign of an outage, so with outage awareness
    /// a receiver not already held down counts as up and events climb their ladders.
    Erroring,
    /// Accepts connections and closes them (GitHub records status 0).
    Down,
}

/// Which API requests a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultOn {
    /// `GET /app/hook/deliveries`.
    List,
    /// `POST /app/hook/deliveries/{id}/attempts`.
    Post,
}

/// What a fault answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// A 502 from GitHub's front end.
    ServerError,
    /// 403 secondary rate limit with `Retry-After` in seconds (over `--max-wait` stops the pass).
    SecondaryLimit(u64),
    /// 422, as GitHub answers a redelivery it will not make (it leaves no trace in the record).
    Refused,
    /// An empty list page whose `next` link still asks for the items (lists only).
    EmptyPageWithNext,
    /// A list page whose `next` link starts this many items back, so ids repeat (lists only).
    RepeatItems(usize),
}

/// One thing that happens in a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `count` new events of `kind` whose original attempt succeeded or failed, recorded
    /// `age_ms` ago (always less than the overlap: GitHub records attempts that late at most).
    Events {
        count: u32,
        kind: Kind,
        failed: bool,
        age_ms: u32,
    },
    /// An event whose original attempt succeeded `age_s` ago and which someone redelivered by
    /// hand just now, and that redelivery failed: GitHub still lists the success.
    ManualFailedRedelivery {
        kind: Kind,
        age_s: u32,
    },
    Receiver(Receiver),
    /// One `redeliver run`; `background` lets it overlap the next steps (same state file).
    Run {
        filter: Filter,
        window: Window,
        background: bool,
    },
    /// Starts `redeliver watch` on the state (SQLite only), polling every `interval_ms`.
    WatchStart {
        interval_ms: u32,
    },
    /// SIGKILL to the running `watch`, if any.
    WatchKill,
    /// Starts `watch` replica `replica` (PostgreSQL only; nothing if it runs), polling every
    /// `interval_ms`.
    ReplicaStart {
        replica: u8,
        interval_ms: u32,
    },
    /// A signal to replica `replica`, if it runs.
    ReplicaSignal {
        replica: u8,
        signal: Signal,
    },
    Fault {
        on: FaultOn,
        kind: FaultKind,
        times: u32,
    },
    Sleep {
        ms: u32,
    },
}

/// A whole history: the setup, the steps, and the seed it came from (0 for hand-written ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    pub seed: u64,
    pub setup: Setup,
    pub steps: Vec<Step>,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Events { count, kind, failed, age_ms } => {
                let outcome = if *failed { "failed" } else { "succeeded" };
                write!(f, "{count} {} event(s) {outcome}, recorded {age_ms} ms ago", kind.name())
            }
            Step::ManualFailedRedelivery { kind, age_s } => {
                write!(f, "a {} event that succeeded {age_s} s ago gets a failed manual redelivery", kind.name())
            }
            Step::Receiver(r) => write!(f, "receiver {r:?}"),
            Step::Run { filter, window, background } => {
                write!(f, "run")?;
                match filter {
                    Filter::All => {}
                    Filter::Only(k) => write!(f, " --event {}", k.name())?,
                    Filter::Except(k) => write!(f, " --exclude-event {}", k.name())?,
                }
                match window {
                    Window::Stored => {}
                    Window::Since(s) => write!(f, " --since {s}s")?,
                    Window::Until(s) => write!(f, " --until {s}s")?,
                }
                if *background {
                    write!(f, " (in the background)")?;
                }
                Ok(())
            }
            Step::WatchStart { interval_ms } => write!(f, "watch --interval {interval_ms}ms"),
            Step::WatchKill => write!(f, "SIGKILL the watch"),
            Step::ReplicaStart { replica, interval_ms } => {
                write!(f, "replica {replica}: watch --interval {interval_ms}ms")
            }
            Step::ReplicaSignal { replica, signal } => {
                match *replica {
                    HOLDER => write!(f, "the lease holder, after its next redelivery: ")?,
                    k => write!(f, "replica {k}: ")?,
                }
                match signal {
                    Signal::Kill => write!(f, "SIGKILL"),
                    Signal::Term => write!(f, "SIGTERM"),
                    Signal::Freeze(ms) => write!(f, "SIGSTOP, {ms} ms, SIGCONT"),
                }
            }
            Step::Fault { on, kind, times } => write!(f, "fault {kind:?} on the next {times} {on:?} request(s)"),
            Step::Sleep { ms } => write!(f, "sleep {ms} ms"),
        }
    }
}

impl fmt::Display for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.setup;
        write!(
            f,
            "seed {}: store {:?}, --max-attempts {}, --ladder {}, --overlap {}s, --pace {}ms, per_page {}, \
             GitHub's clock {:+}s, {}",
            self.seed,
            s.store,
            s.max_attempts,
            s.ladder_flag(),
            s.overlap,
            s.pace_ms,
            s.per_page,
            s.skew_s,
            match &s.outage {
                Some(o) => o.flags().join(" "),
                None => "--no-outage-awareness".to_string(),
            }
        )?;
        if s.store == Store::Postgres {
            write!(f, ", --lease {}s", s.lease_s)?;
        }
        writeln!(f)?;
        for (i, step) in self.steps.iter().enumerate() {
            writeln!(f, "  {i:>2}. {step}")?;
        }
        write!(f, "  then: receiver up, faults cleared, plain passes until nothing is owed")
    }
}
