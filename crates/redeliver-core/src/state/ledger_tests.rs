//! The ledger's tests: what survives reopening, migrations, pruning and the carried form. The
//! semantics are one suite run on both backends (`on_both!`: each case gets a `sqlite` and a
//! `postgres` test, the latter on the test server, docs/design.md); SQLite's file and schema
//! history have cases of their own.

use super::*;
use crate::state::postgres::testing;
use crate::state::{Ledger, StateLocation};

/// Each case is a function of a factory of fresh, empty state locations.
macro_rules! on_both {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[test]
            fn sqlite() {
                let dir = tempfile::tempdir().unwrap();
                let n = std::cell::Cell::new(0);
                super::$case(&|| {
                    n.set(n.get() + 1);
                    super::StateLocation::File(dir.path().join(format!("deep/state{}.db", n.get())))
                });
            }

            #[test]
            fn postgres() {
                super::$case(&|| super::StateLocation::Postgres(super::testing::fresh()));
            }
        }
    )*};
}

on_both!(
    remembers_watermarks_redeliveries_and_give_ups_across_opens,
    pending_events_round_trip_until_resolved_or_given_up,
    a_redelivery_github_never_acted_on_costs_no_rung,
    resolved_events_are_remembered_and_old_rows_pruned,
    a_carried_ledger_round_trips_through_a_fresh_runner,
    an_archived_record_round_trips_and_the_archive_stays_capped,
    an_empty_state_reads_as_none,
    an_owed_event_is_due_sent_once_retried_and_delivered,
    the_receiver_round_trips_and_is_carried,
    a_canary_is_charged_to_no_rung_and_a_refund_takes_a_rung_back,
    the_outage_tally_counts_what_resolved_and_what_was_given_up_since_it,
    every_request_is_read_back_with_its_kind_oldest_first,
);

type Fresh<'a> = &'a dyn Fn() -> StateLocation;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn remembers_watermarks_redeliveries_and_give_ups_across_opens(fresh: Fresh) {
    let path = fresh();
    {
        let l = Ledger::open(&path).unwrap();
        assert_eq!(l.watermark("app").unwrap(), None);
        l.set_watermark("app", t("2026-01-01T00:00:00Z"), t("2026-01-01T00:05:00Z")).unwrap();
        let row = l
            .begin_redelivery("app", "g1", "push", 1 << 40, t("2025-12-31T23:00:00Z"), t("2026-01-01T00:01:00Z"))
            .unwrap();
        l.complete(row, RedeliveryState::Accepted, None).unwrap();
        l.begin_redelivery("app", "g1", "push", 1 << 41, t("2025-12-31T22:00:00Z"), t("2026-01-01T00:02:00Z")).unwrap();
        l.give_up("app", "g2", "issues", GiveUpReason::Cap, t("2025-12-30T00:00:00Z"), t("2026-01-01T00:03:00Z"))
            .unwrap();
    }
    let l = Ledger::open_read_only(&path).unwrap().unwrap();
    assert_eq!(l.watermark("app").unwrap(), Some(t("2026-01-01T00:00:00Z")));
    assert_eq!(l.watermark("other").unwrap(), None);
    let m = l.memory("app", ["g1", "g2", "g3"]).unwrap();
    assert_eq!(m["g1"].sent, 2);
    assert_eq!(m["g1"].last_sent_at, Some(t("2026-01-01T00:02:00Z")));
    assert_eq!(m["g1"].first_seen_at, Some(t("2025-12-31T22:00:00Z")));
    assert!(!m["g1"].given_up);
    assert!(m["g2"].given_up);
    assert!(!m.contains_key("g3"));
    let h = l.history(Some("app"), None, 10).unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0].answer, RedeliveryState::Sending, "a redelivery whose answer never came stays visible");
    assert_eq!(h[1].answer, RedeliveryState::Accepted);
    assert_eq!(h[1].delivery_id, 1 << 40);
    assert!(l.set_watermark("app", t("2026-01-02T00:00:00Z"), t("2026-01-02T00:00:00Z")).is_err(), "read-only");
}

fn pending_events_round_trip_until_resolved_or_given_up(fresh: Fresh) {
    let l = Ledger::open(&fresh()).unwrap();
    let h = |guid: &str, attempts| GuidHistory {
        guid: guid.into(),
        event: "push".into(),
        action: Some("x".into()),
        attempts,
        succeeded: false,
        newest_id: 1 << 40,
        newest_at: t("2026-01-01T01:00:00Z"),
        oldest_at: t("2026-01-01T00:00:00Z"),
        last_status_code: 0,
        last_status: "failed to connect".into(),
        original_seen: true,
    };
    l.remember_pending("app", &h("a", 2), t("2026-01-01T00:00:00Z")).unwrap();
    l.remember_pending("app", &h("b", 1), t("2025-12-31T00:00:00Z")).unwrap();
    l.remember_pending("other", &h("c", 1), t("2026-01-01T00:00:00Z")).unwrap();
    let pending = l.pending("app").unwrap();
    assert_eq!(pending.iter().map(|p| p.guid.as_str()).collect::<Vec<_>>(), ["b", "a"], "oldest first");
    assert_eq!(pending[1], h("a", 2));
    assert_eq!(pending[0].oldest_at, t("2025-12-31T00:00:00Z"));
    l.resolve("app", "a", t("2026-01-02T00:00:00Z")).unwrap();
    l.give_up("app", "b", "push", GiveUpReason::Cap, t("2025-12-31T00:00:00Z"), t("2026-01-02T00:00:00Z")).unwrap();
    assert!(l.pending("app").unwrap().is_empty());
    // A given-up event stays given up even if a later pass remembers it again.
    l.remember_pending("app", &h("b", 3), t("2025-12-31T00:00:00Z")).unwrap();
    assert!(l.pending("app").unwrap().is_empty());
    assert_eq!(l.pending("other").unwrap().len(), 1);
}

/// `history --json` names: the ledger key is `target`, the state is `answer`, as before
/// the Rust names changed.
#[test]
fn a_record_keeps_its_json_names() {
    let record = RedeliveryRecord {
        key: "app:1@https://api.github.com".into(),
        guid: "g".into(),
        delivery_id: 7,
        event: "push".into(),
        at: DateTime::from_timestamp(0, 0).unwrap(),
        answer: RedeliveryState::Sending,
        detail: None,
    };
    assert_eq!(
        serde_json::to_string(&record).unwrap(),
        r#"{"target":"app:1@https://api.github.com","guid":"g","delivery_id":7,"event":"push","at":"1970-01-01T00:00:00Z","answer":"sending","detail":null}"#
    );
    for state in [
        RedeliveryState::Sending,
        RedeliveryState::Accepted,
        RedeliveryState::Refused,
        RedeliveryState::Ambiguous,
        RedeliveryState::NotSent,
        RedeliveryState::Replayed,
    ] {
        assert_eq!(RedeliveryState::parse(state.as_str()), state);
        assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
    }
}

fn history(guid: &str) -> GuidHistory {
    GuidHistory {
        guid: guid.into(),
        event: "push".into(),
        action: None,
        attempts: 1,
        succeeded: false,
        newest_id: 5,
        newest_at: t("2026-01-01T00:00:00Z"),
        oldest_at: t("2026-01-01T00:00:00Z"),
        last_status_code: 503,
        last_status: "Invalid HTTP Response: 503".into(),
        original_seen: true,
    }
}

fn a_redelivery_github_never_acted_on_costs_no_rung(fresh: Fresh) {
    let l = Ledger::open(&fresh()).unwrap();
    let first = t("2026-01-01T00:00:00Z");
    let row = l.begin_redelivery("app", "g", "push", 5, first, t("2026-01-01T00:01:00Z")).unwrap();
    l.complete(row, RedeliveryState::Accepted, None).unwrap();
    let row = l.begin_redelivery("app", "g", "push", 6, first, t("2026-01-01T00:10:00Z")).unwrap();
    l.withdraw(row, Some("rate limited past --max-wait")).unwrap();
    let m = &l.memory("app", ["g"]).unwrap()["g"];
    assert_eq!((m.sent, m.last_sent_at), (1, Some(t("2026-01-01T00:01:00Z"))), "as if never begun");
    let h = l.history(Some("app"), Some("g"), 10).unwrap();
    assert_eq!(h[0].answer, RedeliveryState::NotSent, "kept in the audit history");
    assert_eq!(h[0].detail.as_deref(), Some("rate limited past --max-wait"));
    // Withdrawing twice (or a completed row) changes nothing.
    l.withdraw(row, None).unwrap();
    assert_eq!(l.memory("app", ["g"]).unwrap()["g"].sent, 1);
}

fn resolved_events_are_remembered_and_old_rows_pruned(fresh: Fresh) {
    let l = Ledger::open(&fresh()).unwrap();
    let day = chrono::Duration::days(1);
    let mut recent = history("pending");
    recent.oldest_at = t("2026-01-05T00:00:00Z");
    l.remember_pending("app", &recent, t("2026-01-05T00:00:00Z")).unwrap();
    // Filtered out by every run: pending for ever, were it not pruned past its horizon.
    l.remember_pending("app", &history("filtered"), t("2026-01-01T00:00:00Z")).unwrap();
    l.remember_resolved("app", &history("ok"), t("2026-01-01T00:05:00Z")).unwrap();
    l.give_up("app", "gone", "push", GiveUpReason::Cap, t("2026-01-01T00:00:00Z"), t("2026-01-01T01:00:00Z")).unwrap();
    l.give_up("other", "kept", "push", GiveUpReason::Cap, t("2026-01-01T00:00:00Z"), t("2026-01-01T01:00:00Z"))
        .unwrap();
    let row = l.begin_redelivery("app", "pending", "push", 5, t("2026-01-05T00:00:00Z"), t("2026-01-05T00:02:00Z"));
    l.complete(row.unwrap(), RedeliveryState::Refused, None).unwrap();
    let m = l.memory("app", ["ok", "pending"]).unwrap();
    assert!(m["ok"].resolved && !m["pending"].resolved);
    // Inside the horizon twice over plus a day: nothing goes.
    assert_eq!(l.prune("app", t("2026-01-07T00:00:00Z"), day * 3, day * 30).unwrap(), (0, 0));
    // Past it: resolved, given-up and stale pending events go, a recent pending one stays; audit
    // rows past their keep go; another target's rows wait for that target's own prune.
    assert_eq!(l.prune("app", t("2026-01-08T00:00:01Z"), day * 3, day * 2).unwrap(), (3, 1));
    assert_eq!(l.pending("app").unwrap().iter().map(|h| h.guid.as_str()).collect::<Vec<_>>(), ["pending"]);
    assert!(l.memory("app", ["ok", "gone", "filtered"]).unwrap().is_empty());
    assert!(l.history(None, None, 10).unwrap().is_empty());
    assert!(l.memory("other", ["kept"]).unwrap()["kept"].given_up);
}

#[test]
fn a_schema_1_file_keeps_its_stored_time_when_read_and_when_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        // The schema the first release wrote, with a watermark and an event in it.
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE watermarks (target TEXT PRIMARY KEY, at_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);
             CREATE TABLE events (target TEXT NOT NULL, guid TEXT NOT NULL, event TEXT NOT NULL,
                 first_seen_ms INTEGER NOT NULL, sent INTEGER NOT NULL DEFAULT 0, last_sent_ms INTEGER,
                 given_up_ms INTEGER, given_up_reason TEXT, PRIMARY KEY (target, guid));
             CREATE TABLE redeliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL,
                 guid TEXT NOT NULL, delivery_id INTEGER NOT NULL, event TEXT NOT NULL, at_ms INTEGER NOT NULL,
                 answer TEXT NOT NULL, detail TEXT);
             INSERT INTO watermarks VALUES ('app', 1767225600000, 1767225600000);
             INSERT INTO events (target, guid, event, first_seen_ms, sent, last_sent_ms)
                 VALUES ('app', 'g', 'push', 1767225600000, 2, 1767225660000);
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let read = Ledger::open_read_only(&path).unwrap().expect("an older schema is still state");
    assert_eq!(read.watermark("app").unwrap(), Some(t("2026-01-01T00:00:00Z")));
    assert_eq!(read.memory("app", ["g"]).unwrap()["g"].sent, 2);
    assert!(read.pending("app").unwrap().is_empty());
    drop(read);
    let l = Ledger::open(&path).unwrap();
    assert_eq!(l.watermark("app").unwrap(), Some(t("2026-01-01T00:00:00Z")), "migration keeps the data");
    assert_eq!(l.memory("app", ["g"]).unwrap()["g"].sent, 2);
    l.remember_pending("app", &history("g"), t("2026-01-01T00:00:00Z")).unwrap();
    assert_eq!(l.pending("app").unwrap().len(), 1);
}

fn a_carried_ledger_round_trips_through_a_fresh_runner(fresh: Fresh) {
    let first = t("2026-01-01T00:00:00Z");
    let carried = {
        // The job before: a refused redelivery, a give-up and a success.
        let l = Ledger::open(&fresh()).unwrap();
        let row = l.begin_redelivery("app", "refused", "push", 5, first, t("2026-01-01T00:01:00Z")).unwrap();
        l.complete(row, RedeliveryState::Refused, Some("422")).unwrap();
        l.give_up("app", "capped", "push", GiveUpReason::Cap, first, t("2026-01-01T02:00:00Z")).unwrap();
        l.remember_resolved("app", &history("ok"), t("2026-01-01T00:05:00Z")).unwrap();
        l.remember_pending("other", &history("elsewhere"), first).unwrap();
        l.export_carried("app").unwrap()
    };
    assert_eq!(carried.events.len(), 3, "only this target's events");
    let (text, _) = carried.encode(crate::state::carry::VARIABLE_LIMIT);
    // The next job starts with an empty ledger on a new runner.
    let l = Ledger::open(&fresh()).unwrap();
    l.import_carried("app", &Carried::parse(&text).unwrap()).unwrap();
    let m = l.memory("app", ["refused", "capped", "ok"]).unwrap();
    assert_eq!((m["refused"].sent, m["refused"].last_sent_at), (1, Some(t("2026-01-01T00:01:00Z"))));
    assert!(m["capped"].given_up && m["ok"].resolved);
    assert!(l.pending("app").unwrap().is_empty(), "carried events are listed again, not replayed from memory");
    // Importing again (or over a runner that kept its ledger) never lowers what is known.
    l.begin_redelivery("app", "refused", "push", 6, first, t("2026-01-01T01:00:00Z")).unwrap();
    l.import_carried("app", &Carried::parse(&text).unwrap()).unwrap();
    assert_eq!(l.memory("app", ["refused"]).unwrap()["refused"].sent, 2);
    // A carried entry has no event name; a runner that keeps its ledger learns it from the listing,
    // so a later pass's filters see the real one.
    l.remember_pending("app", &history("refused"), first).unwrap();
    assert_eq!(l.pending("app").unwrap()[0].event, "push");
}

#[test]
fn a_missing_file_is_no_state_and_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    assert!(Ledger::open_read_only(&path).unwrap().is_none());
    assert!(!path.exists(), "read-only open creates nothing");
    Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let err = Ledger::open(&path).unwrap_err();
    assert!(err.to_string().contains("newer redeliver"), "{err}");
}

#[cfg(unix)]
#[test]
fn the_state_folder_and_files_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new/state.db");
    let l = Ledger::open(&path).unwrap();
    l.set_watermark("app", t("2026-01-01T00:00:00Z"), t("2026-01-01T00:00:00Z")).unwrap();
    let _lock = crate::state::StateLock::acquire(&path).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join("new")), 0o700);
    for file in ["state.db", "state.db-wal", "state.db.lock"] {
        assert_eq!(mode(&dir.path().join("new").join(file)), 0o600, "{file}");
    }
}

fn an_archived_record_round_trips_and_the_archive_stays_capped(fresh: Fresh) {
    use crate::state::{ArchiveLimits, Archived, ArchivedRecord};
    let l = Ledger::open(&fresh()).unwrap();
    let mut rng = fastrand::Rng::with_seed(5);
    let record = |guid: &str, rng: &mut fastrand::Rng| ArchivedRecord {
        guid: guid.into(),
        event: "push".into(),
        action: None,
        delivery_id: 7,
        target: "app".into(),
        hook_url: None,
        content_type: None,
        headers: [("X-GitHub-Delivery".to_string(), guid.to_string())].into(),
        payload: serde_json::json!({ "noise": (0..1000).map(|_| rng.alphanumeric()).collect::<String>() }),
        archived_at: t("2026-01-01T00:00:00Z"),
        delivered_at: Some(t("2026-01-01T00:00:00Z")),
    };
    let limits = ArchiveLimits { max_payload: 4096, max_total: 4 * 1024 };
    let first = record("first", &mut rng);
    assert_eq!(l.archive("app", &first, limits, t("2026-01-01T00:01:00Z")).unwrap(), Archived::Stored);
    let config = crate::state::HookConfigRecord {
        url: Some("https://hooks.example/in".into()),
        content_type: Some("form".into()),
        insecure_ssl: None,
    };
    l.set_hook_config("app", &config, t("2026-01-01T00:01:00Z")).unwrap();
    let back = l.archived(None).unwrap();
    assert_eq!((back[0].payload.clone(), back[0].headers.clone()), (first.payload, first.headers));
    assert_eq!(back[0].hook_url.as_deref(), Some("https://hooks.example/in"), "the configuration's URL fills in");
    assert!(l.is_archived("app", "first").unwrap() && !l.is_archived("other", "first").unwrap());
    for i in 0..20 {
        let r = record(&format!("g{i}"), &mut rng);
        l.archive("app", &r, limits, t("2026-01-01T00:02:00Z") + chrono::Duration::minutes(i)).unwrap();
        assert!(l.archive_size().unwrap() <= limits.max_total);
    }
    assert!(l.is_archived("app", "g19").unwrap() && !l.is_archived("app", "first").unwrap(), "oldest first");
    let row = l.begin_replay("app", "g19", "push", 7, t("2026-01-02T00:00:00Z")).unwrap();
    l.complete(row, RedeliveryState::Replayed, Some("HTTP 200 in 3 ms")).unwrap();
    assert_eq!(l.history(None, Some("g19"), 5).unwrap()[0].answer, RedeliveryState::Replayed);
    assert_eq!(l.memory("app", ["g19"]).unwrap().get("g19").map(|m| m.sent), None, "a replay costs no rung");
}

fn an_empty_state_reads_as_none(fresh: Fresh) {
    let at = fresh();
    assert!(Ledger::open_read_only(&at).unwrap().is_none(), "nothing written yet: no state");
    Ledger::open(&at).unwrap().set_watermark("app", t("2026-01-01T00:00:00Z"), t("2026-01-01T00:00:00Z")).unwrap();
    assert!(Ledger::open_read_only(&at).unwrap().is_some());
}

/// A database written by a newer build is refused, as a newer file is, and a migration is
/// applied once however many replicas open the database together.
#[test]
fn postgres_migrates_once_and_refuses_a_newer_schema() {
    let at = StateLocation::Postgres(testing::fresh());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| Ledger::open(&at).unwrap());
        }
    });
    let l = Ledger::open(&at).unwrap();
    let pg = l.postgres().unwrap();
    pg.run(|c, _| Ok(c.execute("INSERT INTO redeliver_schema VALUES (99)", &[]).unwrap())).unwrap();
    let err = Ledger::open(&at).unwrap_err();
    assert!(err.to_string().contains("newer redeliver"), "{err}");
    assert!(!err.to_string().contains("password"), "{err}");
}

fn an_owed_event_is_due_sent_once_retried_and_delivered(fresh: Fresh) {
    let l = Ledger::open(&fresh()).unwrap();
    let at = |m: i64| t("2026-01-01T00:00:00Z") + chrono::Duration::minutes(m);
    assert!(l.owe("app", "g1", "push", 7, "horizon", at(0)).unwrap());
    assert!(!l.owe("app", "g1", "push", 7, "pull", at(1)).unwrap(), "owed once");
    assert!(l.is_owed("app", "g1").unwrap() && !l.is_owed("app", "g2").unwrap());
    let due = l.owed_due("app", at(0), 10).unwrap();
    assert_eq!((due.len(), due[0].reason.as_str(), due[0].tries, due[0].delivery_id), (1, "horizon", 0, 7));
    l.owed_sending("app", "g1").unwrap();
    assert!(l.owed_due("app", at(100), 10).unwrap().is_empty(), "never sent twice at once");
    l.owed_retry("app", "g1", at(10), "HTTP 503").unwrap();
    assert!(l.owed_due("app", at(5), 10).unwrap().is_empty(), "not before its next try");
    assert_eq!(l.owed_due("app", at(10), 10).unwrap()[0].tries, 1);
    l.owed_delivered("app", "g1", at(11)).unwrap();
    let counts = l.owed_counts("app").unwrap();
    assert_eq!((counts.owed, counts.sending, counts.delivered), (0, 0, 1));
    assert_eq!(l.prune_owed("app", at(12)).unwrap(), 1);
    l.give_up("app", "g3", "push", GiveUpReason::Horizon, at(0), at(1)).unwrap();
    assert_eq!(l.given_up_reason("app", "g3").unwrap().as_deref(), Some("horizon"));
    l.resolve_delivered("app", "g3", "push", at(0), at(2)).unwrap();
    assert!(l.memory("app", ["g3"]).unwrap()["g3"].resolved);
    assert!(!l.has_hook_config("app").unwrap() && l.archived_one("app", "g3").unwrap().is_none());
}

// The receiver's health (issue 11, state/health.rs and postgres/health.rs).

fn receiver_down_at(since: DateTime<Utc>) -> crate::health::Receiver {
    use crate::health::{Drain, Health, HealthPolicy, Receiver};
    let p = HealthPolicy::default();
    let mut r = Receiver::up(&p);
    r.health.health = Health::Down { since };
    r.health = r.health.probed(since + chrono::Duration::seconds(1), &p);
    r.drain = Some(Drain { since: t("2025-12-31T00:00:00Z"), ended: t("2025-12-31T02:00:00Z") });
    r
}

fn the_receiver_round_trips_and_is_carried(fresh: Fresh) {
    let l = Ledger::open(&fresh()).unwrap();
    assert_eq!(l.receiver("app").unwrap(), None);
    let r = receiver_down_at(t("2026-01-01T01:00:00Z"));
    l.set_receiver("app", &r, t("2026-01-01T01:00:02Z")).unwrap();
    assert_eq!(l.receiver("app").unwrap(), Some(r));
    assert_eq!(l.receiver("other").unwrap(), None);
    // Up again: the row is replaced, not added to.
    let up = crate::health::Receiver::up(&crate::health::HealthPolicy::default());
    l.set_receiver("app", &up, t("2026-01-01T02:00:00Z")).unwrap();
    assert_eq!(l.receiver("app").unwrap(), Some(up));
    // A fresh runner learns the receiver and the uncharged canary from the carried value.
    l.set_receiver("app", &r, t("2026-01-01T02:00:01Z")).unwrap();
    let row = l.begin_probe("app", "g", "push", 1, t("2026-01-01T00:00:00Z"), t("2026-01-01T01:30:00Z")).unwrap();
    l.complete(row, RedeliveryState::Accepted, None).unwrap();
    let carried = l.export_carried("app").unwrap();
    assert_eq!(carried.receiver, Some(r));
    let (text, _) = carried.encode(crate::state::carry::VARIABLE_LIMIT);
    let next = Ledger::open(&fresh()).unwrap();
    next.import_carried("app", &Carried::parse(&text).unwrap()).unwrap();
    assert_eq!(next.receiver("app").unwrap(), Some(r));
    let m = &next.memory("app", ["g"]).unwrap()["g"];
    assert_eq!((m.sent, m.uncharged), (0, 1));
}

fn a_canary_is_charged_to_no_rung_and_a_refund_takes_a_rung_back(fresh: Fresh) {
    let l = Ledger::open(&fresh()).unwrap();
    let first = t("2026-01-01T00:00:00Z");
    let at = |s: i64| first + chrono::Duration::seconds(s);
    let row = l.begin_probe("k", "g", "push", 1, first, at(10)).unwrap();
    l.complete(row, RedeliveryState::Accepted, None).unwrap();
    let m = &l.memory("k", ["g"]).unwrap()["g"];
    assert_eq!((m.sent, m.uncharged), (0, 1));
    let refused = l.begin_probe("k", "g", "push", 1, first, at(11)).unwrap();
    l.withdraw_probe(refused, "refused", Some("422")).unwrap();
    assert_eq!(l.memory("k", ["g"]).unwrap()["g"].uncharged, 1, "a refused canary left no attempt");
    l.withdraw_probe(refused, "refused", Some("422")).unwrap();
    assert_eq!(l.memory("k", ["g"]).unwrap()["g"].uncharged, 1, "withdrawn once");
    // The refused canary was still a request at 11 s: the event's rung counts from it.
    assert_eq!(l.memory("k", ["g"]).unwrap()["g"].last_sent_at, Some(at(11)));
    let unsent = l.begin_probe("k", "g", "push", 1, first, at(12)).unwrap();
    l.withdraw_probe(unsent, "not_sent", None).unwrap();
    assert_eq!(l.memory("k", ["g"]).unwrap()["g"].last_sent_at, Some(at(11)), "one never sent is no request");
    let audit = l.history(Some("k"), Some("g"), 10).unwrap();
    assert_eq!(audit.len(), 3, "every canary stays in the audit history");
    assert_eq!((audit[1].answer, audit[1].detail.as_deref()), (RedeliveryState::Refused, Some("422")));

    let before = l.begin_redelivery("k", "h", "push", 2, first, at(20)).unwrap();
    l.complete(before, RedeliveryState::Accepted, None).unwrap();
    let during = l.begin_redelivery("k", "h", "push", 3, first, at(40)).unwrap();
    l.complete(during, RedeliveryState::Ambiguous, Some("502")).unwrap();
    let refused = l.begin_redelivery("k", "h", "push", 4, first, at(41)).unwrap();
    l.complete(refused, RedeliveryState::Refused, Some("422")).unwrap();
    assert_eq!(l.refund_outage("k", at(30)).unwrap(), 1, "only what GitHub carried out, or may have");
    assert_eq!(l.refund_outage("k", at(30)).unwrap(), 0, "once");
    assert_eq!(l.refund_outage("k", at(0)).unwrap(), 1, "an earlier start refunds the rest, canaries never");
    let m = &l.memory("k", ["h"]).unwrap()["h"];
    assert_eq!((m.sent, m.uncharged), (1, 2), "the refused rung is not refunded: GitHub did not carry it out");
}

fn the_outage_tally_counts_what_resolved_and_what_was_given_up_since_it(fresh: Fresh) {
    let l = Ledger::open(&fresh()).unwrap();
    let zero = t("2026-01-01T00:00:00Z");
    let at = |s: i64| zero + chrono::Duration::seconds(s);
    l.begin_probe("k", "a", "push", 1, at(0), at(10)).unwrap();
    l.resolve("k", "a", at(95)).unwrap();
    l.begin_probe("k", "early", "push", 1, at(0), at(10)).unwrap();
    l.resolve("k", "early", at(30)).unwrap(); // resolved during the outage: not its drain's
    l.give_up("k", "b", "push", GiveUpReason::Outage, at(1), at(60)).unwrap();
    l.give_up("k", "c", "push", GiveUpReason::Cap, at(1), at(5)).unwrap();
    l.give_up("k", "late", "push", GiveUpReason::Cap, at(100), at(110)).unwrap();
    l.give_up("other", "d", "push", GiveUpReason::Outage, at(1), at(60)).unwrap();
    assert_eq!(l.outage_tally("k", at(20), at(90)).unwrap(), (1, 1));
    assert_eq!(l.outage_tally("none", at(20), at(90)).unwrap(), (0, 0));
}

fn every_request_is_read_back_with_its_kind_oldest_first(fresh: Fresh) {
    use crate::state::RedeliveryKind::{Canary, Ladder, Refunded};
    let location = fresh();
    let l = Ledger::open(&location).unwrap();
    let first = t("2026-01-01T00:00:00Z");
    let at = |s: i64| first + chrono::Duration::seconds(s);
    assert!(l.redelivery_kinds("k").unwrap().is_empty());
    let rung = l.begin_redelivery("k", "g", "push", 1, first, at(10)).unwrap();
    l.complete(rung, RedeliveryState::Accepted, None).unwrap();
    let canary = l.begin_probe("k", "h", "push", 2, first, at(20)).unwrap();
    l.complete(canary, RedeliveryState::Ambiguous, Some("502")).unwrap();
    let refused = l.begin_probe("k", "g", "push", 3, first, at(25)).unwrap();
    l.withdraw_probe(refused, "refused", Some("422")).unwrap();
    let into_outage = l.begin_redelivery("k", "g", "push", 4, first, at(30)).unwrap();
    l.complete(into_outage, RedeliveryState::Accepted, None).unwrap();
    l.begin_redelivery("other", "x", "push", 5, first, at(5)).unwrap();
    assert_eq!(l.refund_outage("k", at(28)).unwrap(), 1);
    drop(l);
    let l = Ledger::open_read_only(&location).unwrap().expect("the state exists");
    let read: Vec<_> = l
        .redelivery_kinds("k")
        .unwrap()
        .into_iter()
        .map(|(r, kind)| (r.guid, r.delivery_id, r.at, r.answer, kind))
        .collect();
    assert_eq!(
        read,
        [
            ("g".to_string(), 1, at(10), RedeliveryState::Accepted, Ladder),
            ("h".to_string(), 2, at(20), RedeliveryState::Ambiguous, Canary),
            ("g".to_string(), 3, at(25), RedeliveryState::Refused, Canary),
            ("g".to_string(), 4, at(30), RedeliveryState::Accepted, Refunded),
        ]
    );
}
