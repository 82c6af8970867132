//! Histories from a seed: the same seed gives the same history, so a failing one can be replayed.
//!
//! The mix leans towards what breaks promises: failures arriving while passes run, a receiver
//! that goes down and comes back, filtered and incident passes, overlapping processes, a daemon
//! killed mid-poll (also in the pause between two redeliveries), GitHub answering 5xx, rate
//! limits and 422, lists with empty pages or repeated items, and GitHub's clock ahead or behind;
//! and mostly the tool's default, outage awareness, with probe intervals of seconds, so the
//! receiver is held down, canaries go out, and the outage ends inside a history. On the
//! PostgreSQL store, up to three `watch` replicas share the ledger and are killed, stopped and
//! frozen past their lease (issue 13).

use super::history::{
    FaultKind, FaultOn, Filter, HOLDER, History, Kind, Outage, REPLICAS, Receiver, Setup, Signal, Step, Store, Window,
};

/// The history of `seed`.
pub fn generate(seed: u64) -> History {
    let mut rng = fastrand::Rng::with_seed(seed);
    // What outage awareness adds is drawn from a generator of its own, so the rest of the
    // history is what it was before it existed (seeds found earlier replay the same steps).
    let mut aside = fastrand::Rng::with_seed(seed ^ 0x6f75_7461_6765); // "outage"
    // The PostgreSQL store's own draws (whether a ledger history is on it, and its replica steps)
    // come from a second generator, so that a seed's other draws are the ones they always were: a
    // PostgreSQL history is the seed's SQLite history, its `watch` as replica 0, with replicas
    // started, killed, stopped and frozen in between.
    let mut replica_rng = fastrand::Rng::with_seed(seed ^ POSTGRES_DRAW);
    let store = match rng.u8(0..10) < 6 {
        // Half the ledger histories: 30 % in all.
        true if replica_rng.bool() => Store::Postgres,
        true => Store::Sqlite,
        false => Store::Variable,
    };
    let ledger = matches!(store, Store::Sqlite | Store::Postgres);
    let mut ladder: Vec<u32> = (0..rng.u32(1..=3)).map(|_| rng.u32(1..=3)).collect();
    ladder.sort_unstable();
    let overlap: i32 = 2;
    let per_page = [3, 5, 10, 100][rng.usize(0..4)];
    // GitHub's clock off by several overlaps, either way, in half the histories: a tool that
    // mixed the machine's clock with GitHub's times would skip or repeat events (defect 4).
    let skew_s = match rng.u8(0..8) {
        0 => -300 * overlap,
        1 => -5 * overlap,
        2 => 5 * overlap,
        3 => 300 * overlap,
        _ => 0,
    };
    // A pause between redeliveries in a quarter of them, so a SIGKILL can land in it (defect 9);
    // short, since every pass pays it per redelivery.
    let pace_ms = if rng.u8(0..4) == 0 { 300 } else { 0 };
    let setup = Setup {
        store,
        max_attempts: rng.u32(3..=5),
        ladder,
        overlap: overlap.unsigned_abs(),
        per_page,
        skew_s,
        pace_ms,
        // Short, so a killed or frozen replica's targets fail over within the history; at least
        // twice the longest interval (600 ms), as `watch` requires.
        lease_s: if store == Store::Postgres { 2 } else { 0 },
        outage: outage(&mut aside),
    };
    // A backlog of failures before the first pass.
    let mut steps =
        vec![Step::Events { count: rng.u32(1..=4), kind: kind(&mut rng), failed: true, age_ms: rng.u32(0..1500) }];
    // Half the histories start with the receiver failing, so redeliveries fail too and events
    // climb the ladder to the cap.
    if rng.bool() {
        let failing = if rng.bool() { Receiver::Down } else { Receiver::Failing };
        steps.push(Step::Receiver(own_error(failing, &setup, &mut aside)));
    }
    let mut watching = false;
    let mut replicas = [false; REPLICAS as usize];
    for _ in 0..rng.usize(6..=14) {
        if store == Store::Postgres && replica_rng.u8(0..100) < 40 {
            steps.push(replica(&mut replica_rng, &mut replicas, &setup));
        }
        let step = match rng.u32(0..100) {
            0..=21 => Step::Events {
                count: rng.u32(1..=3),
                kind: kind(&mut rng),
                failed: rng.u8(0..4) > 0,
                age_ms: rng.u32(0..1000),
            },
            22..=45 => run(&mut rng, store),
            46..=56 => {
                let mode = [Receiver::Up, Receiver::Failing, Receiver::Down][rng.usize(0..3)];
                Step::Receiver(own_error(mode, &setup, &mut aside))
            }
            57..=72 => Step::Sleep { ms: rng.u32(500..=3000) },
            73..=82 => fault(&mut rng),
            83..=85 => Step::ManualFailedRedelivery { kind: kind(&mut rng), age_s: rng.u32(3..=8) },
            _ if ledger && !watching => {
                watching = true;
                let interval_ms = rng.u32(200..=600);
                if store == Store::Postgres {
                    replicas[0] = true;
                    Step::ReplicaStart { replica: 0, interval_ms }
                } else {
                    Step::WatchStart { interval_ms }
                }
            }
            _ if ledger => {
                watching = false;
                if store == Store::Postgres {
                    replicas[0] = false;
                    Step::ReplicaSignal { replica: 0, signal: Signal::Kill }
                } else {
                    Step::WatchKill
                }
            }
            _ => run(&mut rng, store),
        };
        steps.push(step);
    }
    History { seed, setup, steps }
}

/// The outage settings of a history. Three in four play the tool's default, outage awareness,
/// with settings in seconds: a failed event's attempts are outage signs (503, or no answer), so
/// most of them see an outage start, canaries go out, and the outage end.
fn outage(rng: &mut fastrand::Rng) -> Option<Outage> {
    if rng.u8(0..4) == 0 {
        return None;
    }
    let probe_s = rng.u32(2..=3);
    Some(Outage {
        down_after: rng.u32(1..=3),
        probe_s,
        max_probe_s: probe_s * rng.u32(1..=2),
        drain_rate: [0, 0, 5, 20][rng.usize(0..4)],
    })
}

/// With outage awareness, half the receiver's failing spells answer 500 (its own error) instead
/// of 503 (a gateway's): that is no sign of an outage, so a receiver not already held down
/// counts as up, events climb their ladders to the cap, and the attempts of earlier canaries
/// must not count against it.
fn own_error(mode: Receiver, setup: &Setup, aside: &mut fastrand::Rng) -> Receiver {
    match mode {
        Receiver::Failing if setup.outage.is_some() && aside.bool() => Receiver::Erroring,
        other => other,
    }
}

fn kind(rng: &mut fastrand::Rng) -> Kind {
    Kind::ALL[rng.usize(0..Kind::ALL.len())]
}

fn run(rng: &mut fastrand::Rng, store: Store) -> Step {
    let filter = match rng.u8(0..100) {
        0..=69 => Filter::All,
        70..=84 => Filter::Only(kind(rng)),
        _ => Filter::Except(kind(rng)),
    };
    let window = match rng.u8(0..100) {
        0..=74 => Window::Stored,
        75..=84 => Window::Since(rng.u32(5..=30)),
        _ => Window::Until(rng.u32(1..=3)),
    };
    // Overlapping processes share one state file (or database); on a runner each job has its own.
    let background = matches!(store, Store::Sqlite | Store::Postgres) && rng.u8(0..100) < 15;
    Step::Run { filter, window, background }
}

/// The seed is xor-ed with this for the draw that puts a ledger history on PostgreSQL.
const POSTGRES_DRAW: u64 = 0x5047_5f48_4953_5431;

/// A replica step on the PostgreSQL store: a start while fewer than [`REPLICAS`] run, else a
/// SIGKILL (most often while the history paces its redeliveries, so it lands mid-drain), a SIGTERM
/// or a freeze past the lease of a running one. `running` tracks which run.
fn replica(rng: &mut fastrand::Rng, running: &mut [bool; REPLICAS as usize], setup: &Setup) -> Step {
    let (pace_ms, lease_s) = (setup.pace_ms, setup.lease_s);
    let up: Vec<u8> = (0..REPLICAS).filter(|&k| running[k as usize]).collect();
    let free: Vec<u8> = (0..REPLICAS).filter(|&k| !running[k as usize]).collect();
    let start = match (up.is_empty(), free.is_empty()) {
        (true, _) => true,
        (_, true) => false,
        _ => rng.u8(0..100) < 35,
    };
    if start {
        let replica = free[rng.usize(0..free.len())];
        running[replica as usize] = true;
        return Step::ReplicaStart { replica, interval_ms: rng.u32(200..=600) };
    }
    let replica = up[rng.usize(0..up.len())];
    let kill_share = if pace_ms > 0 { 50 } else { 35 };
    let signal = match rng.u8(0..100) {
        n if n < kill_share => Signal::Kill,
        n if n < kill_share + 25 => Signal::Term,
        // Past the lease by half a second to two seconds.
        _ => Signal::Freeze(lease_s * 1000 + rng.u32(500..=2000)),
    };
    if !matches!(signal, Signal::Freeze(_)) {
        running[replica as usize] = false;
    } else if rng.u8(0..100) < if pace_ms > 0 { 70 } else { 40 } {
        // Most freezes of a paced history, and many of the others, go to the lease holder right
        // after a redelivery: a replica idle between polls wakes to a claim that finds its lease
        // gone, and only one frozen mid-drain tests the fence.
        return Step::ReplicaSignal { replica: HOLDER, signal };
    }
    Step::ReplicaSignal { replica, signal }
}

fn fault(rng: &mut fastrand::Rng) -> Step {
    let on = if rng.bool() { FaultOn::List } else { FaultOn::Post };
    let kind = match (on, rng.u8(0..4)) {
        (_, 0) => FaultKind::ServerError,
        (_, 1) => FaultKind::SecondaryLimit([1, 3][rng.usize(0..2)]),
        (FaultOn::Post, _) => FaultKind::Refused,
        (FaultOn::List, 2) => FaultKind::EmptyPageWithNext,
        (FaultOn::List, _) => FaultKind::RepeatItems(rng.usize(1..=2)),
    };
    Step::Fault { on, kind, times: rng.u32(1..=2) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_always_gives_the_same_history() {
        for seed in [0, 1, 42, u64::MAX] {
            assert_eq!(generate(seed), generate(seed));
        }
        assert_ne!(generate(1), generate(2));
    }

    #[test]
    fn ladders_never_decrease_and_watch_only_runs_on_the_ledger() {
        for seed in 0..500 {
            let h = generate(seed);
            assert!(h.setup.ladder.windows(2).all(|w| w[0] <= w[1]), "{h}");
            if h.setup.store == Store::Variable {
                assert!(!h.steps.iter().any(|s| matches!(s, Step::WatchStart { .. } | Step::WatchKill)), "{h}");
                assert!(!h.steps.iter().any(|s| matches!(s, Step::Run { background: true, .. })), "{h}");
            }
        }
    }

    #[test]
    fn most_histories_play_outage_awareness_and_some_the_plain_ladder() {
        let histories: Vec<History> = (0..200).map(generate).collect();
        let aware = histories.iter().filter(|h| h.setup.outage.is_some()).count();
        assert!((120..=180).contains(&aware), "{aware} of 200");
        for o in histories.iter().filter_map(|h| h.setup.outage) {
            assert!(o.down_after >= 1 && o.probe_s >= 1 && o.max_probe_s >= o.probe_s, "{o:?}");
        }
        assert!(histories.iter().any(|h| h.setup.outage.is_some_and(|o| o.drain_rate > 0)));
        assert!(histories.iter().any(|h| h.setup.outage.is_some_and(|o| o.max_probe_s > o.probe_s)));
        assert!(histories.iter().any(|h| h.steps.contains(&Step::Receiver(Receiver::Erroring))));
        let plain = histories.iter().filter(|h| h.setup.outage.is_none());
        assert!(plain.flat_map(|h| &h.steps).all(|s| *s != Step::Receiver(Receiver::Erroring)));
    }

    #[test]
    fn skew_both_ways_pacing_and_the_list_faults_all_occur() {
        let histories: Vec<History> = (0..200).map(generate).collect();
        assert!(histories.iter().any(|h| h.setup.skew_s > 0) && histories.iter().any(|h| h.setup.skew_s < 0));
        assert!(histories.iter().any(|h| h.setup.skew_s.unsigned_abs() > 10 * h.setup.overlap));
        assert!(histories.iter().any(|h| h.setup.pace_ms > 0 && h.steps.contains(&Step::WatchKill)));
        let faults: Vec<FaultKind> = histories
            .iter()
            .flat_map(|h| &h.steps)
            .filter_map(|s| match s {
                Step::Fault { on: FaultOn::List, kind, .. } => Some(*kind),
                _ => None,
            })
            .collect();
        assert!(faults.contains(&FaultKind::EmptyPageWithNext), "{faults:?}");
        assert!(faults.iter().any(|k| matches!(k, FaultKind::RepeatItems(_))), "{faults:?}");
    }

    #[test]
    fn replica_kills_stops_and_freezes_occur_and_only_on_postgres() {
        let histories: Vec<History> = (0..300).map(generate).collect();
        let on_postgres = histories.iter().filter(|h| h.setup.store == Store::Postgres).count();
        assert!((60..=120).contains(&on_postgres), "about 30 % on PostgreSQL: {on_postgres} of 300");
        let is_replica = |s: &Step| matches!(s, Step::ReplicaStart { .. } | Step::ReplicaSignal { .. });
        for h in &histories {
            if h.setup.store != Store::Postgres {
                assert!(!h.steps.iter().any(is_replica), "{h}");
                assert_eq!(h.setup.lease_s, 0, "{h}");
                continue;
            }
            assert!(!h.steps.iter().any(|s| matches!(s, Step::WatchStart { .. } | Step::WatchKill)), "{h}");
            for s in &h.steps {
                match *s {
                    // `watch` refuses a lease shorter than two intervals.
                    Step::ReplicaStart { replica, interval_ms } => {
                        assert!(replica < REPLICAS && 2 * interval_ms <= h.setup.lease_s * 1000, "{h}")
                    }
                    Step::ReplicaSignal { replica, signal: Signal::Freeze(ms) } => {
                        assert!(replica < REPLICAS || replica == HOLDER, "{h}");
                        assert!(ms > h.setup.lease_s * 1000, "frozen past the lease: {h}")
                    }
                    Step::ReplicaSignal { replica, .. } => assert!(replica < REPLICAS, "{h}"),
                    _ => {}
                }
            }
        }
        let signals: Vec<(u32, Signal)> = histories
            .iter()
            .flat_map(|h| h.steps.iter().map(move |s| (h.setup.pace_ms, s)))
            .filter_map(|(pace, s)| match s {
                Step::ReplicaSignal { signal, .. } => Some((pace, *signal)),
                _ => None,
            })
            .collect();
        assert!(signals.iter().any(|(pace, s)| *pace > 0 && *s == Signal::Kill), "a SIGKILL between redeliveries");
        assert!(signals.iter().any(|(_, s)| *s == Signal::Term), "{signals:?}");
        assert!(signals.iter().any(|(_, s)| matches!(s, Signal::Freeze(_))), "{signals:?}");
        // The holder frozen mid-drain, in the pause between two redeliveries.
        assert!(histories.iter().any(|h| {
            h.setup.pace_ms > 0
                && h.steps
                    .iter()
                    .any(|s| matches!(s, Step::ReplicaSignal { replica: HOLDER, signal: Signal::Freeze(_) }))
        }));
        // Several replicas at once: some history starts a second one while the first runs.
        assert!(histories.iter().any(|h| {
            let started: std::collections::BTreeSet<u8> = h
                .steps
                .iter()
                .filter_map(|s| match s {
                    Step::ReplicaStart { replica, .. } => Some(*replica),
                    _ => None,
                })
                .collect();
            started.len() >= 2
        }));
    }
}
