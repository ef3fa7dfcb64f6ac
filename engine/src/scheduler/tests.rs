//! Scheduler behaviour, table by table: run order, limits, drift, suspensions, failover,
//! abort, rollback override, RBAC, windows, warm-up.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::domain::{SimDuration, SimTime, Symbol, VenueId};
use crate::strategy::{
    Intent, MarketSnapshot, Signal, SignalMetadata, SignalSide, Strategy, StrategyError,
};

const OPS: &str = "ops-secret";
const READER: &str = "reader-secret";

fn t(secs: u64) -> SimTime {
    SimTime::from_unix_secs(1_764_320_400 + secs) // 2025-11-28T09:00:00Z
}

/// Emits `confidences.len()` buy signals per snapshot; fails when told to.
#[derive(Debug)]
struct Scripted {
    confidences: Vec<f64>,
    fail: bool,
    warmed: usize,
}

impl Strategy for Scripted {
    fn kind(&self) -> &'static str {
        "scripted"
    }
    fn warm_up(&mut self, history: &[MarketSnapshot]) {
        self.warmed += history.len();
    }
    fn on_data(&mut self, s: &MarketSnapshot, out: &mut Vec<Signal>) -> Result<(), StrategyError> {
        if self.fail {
            return Err(StrategyError("boom".into()));
        }
        for &c in &self.confidences {
            out.push(Signal {
                symbol: s.symbol,
                side: SignalSide::Buy,
                confidence: c,
                quantity: None,
                intent: Intent::Single,
                legs: Vec::new(),
                metadata: SignalMetadata::default().with_zscore(-2.0),
            });
        }
        Ok(())
    }
}

#[derive(Default)]
struct Feed {
    fail_for: Vec<String>,
    fetches: BTreeMap<String, usize>,
}

impl SnapshotFeed for Feed {
    fn load_history(
        &mut self,
        spec: &ScheduleSpec,
        bars: usize,
    ) -> Result<Vec<MarketSnapshot>, FeedError> {
        Ok((0..bars)
            .map(|i| snap(spec.market.symbols[0], t(i as u64)))
            .collect())
    }
    fn fetch_latest(
        &mut self,
        spec: &ScheduleSpec,
        now: SimTime,
        out: &mut Vec<MarketSnapshot>,
    ) -> Result<(), FeedError> {
        *self.fetches.entry(spec.name.clone()).or_default() += 1;
        if self.fail_for.contains(&spec.name) {
            return Err(FeedError("venue unreachable".into()));
        }
        out.extend(spec.market.symbols.iter().map(|s| snap(*s, now)));
        Ok(())
    }
}

fn snap(symbol: Symbol, at: SimTime) -> MarketSnapshot {
    MarketSnapshot {
        symbol,
        at,
        open: 100.0,
        high: 101.0,
        low: 99.0,
        close: 100.5,
        volume: 1_000.0,
        cross: None,
    }
}

fn spec(name: &str, symbols: &[&str]) -> ScheduleSpec {
    let mut s = ScheduleSpec::new(
        name,
        ScheduleMarket {
            venue: VenueId::new("binance").unwrap(),
            secondary_venue: None,
            symbols: symbols.iter().map(|s| Symbol::new(s).unwrap()).collect(),
            interval: SimDuration::from_mins(1),
        },
    );
    s.cadence = SimDuration::from_secs(60);
    s.max_drift = SimDuration::from_secs(5);
    s
}

fn scripted(confidences: &[f64]) -> Box<dyn Strategy> {
    Box::new(Scripted {
        confidences: confidences.to_vec(),
        fail: false,
        warmed: 0,
    })
}

fn rbac() -> Rbac {
    Rbac::new(vec![
        AccessToken::from_secret("scheduler-local", OPS, &[SCOPE_READ, SCOPE_WRITE]),
        AccessToken::from_secret("viewer", READER, &[SCOPE_READ]),
    ])
}

fn equal_weight() -> SchedulerSettings {
    SchedulerSettings {
        capital: PolicyConfig {
            policy: CapitalPolicy::EqualWeight,
            rebalance_seconds: None,
        },
        ..SchedulerSettings::default()
    }
}

fn req(scope: SuspensionScope, name: &str, reason: &str, expiry: Expiry) -> SuspendRequest {
    SuspendRequest {
        scope,
        name: name.to_owned(),
        reason: reason.to_owned(),
        expiry,
    }
}

/// An operator suspends `schedule` at t(0) until it is resumed.
fn suspend_schedule(s: &mut Scheduler, schedule: &str, reason: &str) {
    let request = req(SuspensionScope::Schedule, schedule, reason, Expiry::Never);
    s.suspend(OPS, t(0), &request).unwrap();
}

fn limit(strategy: &str, limit: u32, reason: Option<&str>, expiry: Expiry) -> LimitRequest {
    LimitRequest {
        strategy: strategy.to_owned(),
        profile: "balanced".to_owned(),
        limit,
        reason: reason.map(str::to_owned),
        expiry,
    }
}

fn signals(records: &[RunRecord]) -> usize {
    records.iter().map(|r| r.signals().count()).sum()
}

#[test]
fn run_once_runs_in_priority_order_with_per_snapshot_limits() {
    let mut low = spec("low", &["BTC_USDT"]);
    low.max_signals = 2;
    let mut high = spec("high", &["BTC_USDT", "ETH_USDT"]);
    high.priority = 5;
    high.max_signals = 2;
    let mut s = Scheduler::new(
        equal_weight(),
        vec![
            (low, scripted(&[0.2, 0.9, 0.5])),
            (high, scripted(&[0.2, 0.9, 0.5])),
        ],
        rbac(),
    )
    .unwrap();
    let mut timer = SimulatedCompute::default();
    let records = s.run_once(t(0), &mut Feed::default(), &mut timer);
    let order: Vec<&str> = records.iter().map(|r| r.schedule()).collect();
    assert_eq!(order, ["high", "low"]);
    // The limit is per snapshot: 2 symbols × 2 = 4 signals for `high`.
    assert_eq!(records[0].signals().count(), 4);
    let best: Vec<f64> = records[1].signals().map(|s| s.confidence).collect();
    assert_eq!(best, [0.9, 0.5], "top-k by confidence");
    // Runs are sequential on one worker: the second starts when the first finished.
    assert_eq!(records[1].started_at, records[0].finished_at);
    assert_eq!(records[1].drift, records[0].latency);
    let tel = records[0].telemetry.as_ref().unwrap();
    assert_eq!(tel["signals"], 4.0);
    assert_eq!(tel["avg_abs_zscore"], 2.0, "no name-prefix gate");
    assert!(tel["latency_ms"] > 0.0);
    assert_eq!(tel["allocator_weight"], 0.5);
}

/// Replaces whatever `out` holds with one signal.
#[derive(Debug)]
struct Clearing;

impl Strategy for Clearing {
    fn kind(&self) -> &'static str {
        "clearing"
    }
    fn warm_up(&mut self, _history: &[MarketSnapshot]) {}
    fn on_data(&mut self, s: &MarketSnapshot, out: &mut Vec<Signal>) -> Result<(), StrategyError> {
        out.clear();
        out.push(Signal {
            symbol: s.symbol,
            side: SignalSide::Buy,
            confidence: 1.0,
            quantity: None,
            intent: Intent::Single,
            legs: Vec::new(),
            metadata: SignalMetadata::default(),
        });
        Ok(())
    }
}

/// The runs of one call share a signal vector, but a strategy only ever sees an empty buffer
/// of its own: one that clears it touches nobody else's signals.
#[test]
fn a_strategy_that_clears_its_output_touches_no_other_signals() {
    let first = spec("first", &["BTC_USDT", "ETH_USDT"]);
    let second = spec("second", &["BTC_USDT", "ETH_USDT"]);
    let mut s = Scheduler::new(
        equal_weight(),
        vec![(first, Box::new(Clearing)), (second, Box::new(Clearing))],
        rbac(),
    )
    .unwrap();
    let records = s.run_once(t(0), &mut Feed::default(), &mut SimulatedCompute::default());
    for r in &records {
        let symbols: Vec<&str> = r.signals().map(|sig| sig.symbol.as_str()).collect();
        assert_eq!(symbols, ["BTC_USDT", "ETH_USDT"], "{}", r.schedule());
    }
}

/// The names and batches a record shares or holds compactly serialise as the plain fields
/// and `Vec<SignalBatch>` they replace.
#[test]
fn a_run_record_serialises_its_names_and_batches_as_plain_fields() {
    let mut high = spec("high", &["BTC_USDT", "ETH_USDT"]);
    high.max_signals = 2;
    let mut s = Scheduler::new(
        equal_weight(),
        vec![(high, scripted(&[0.2, 0.9, 0.5]))],
        rbac(),
    )
    .unwrap();
    let records = s.run_once(t(0), &mut Feed::default(), &mut SimulatedCompute::default());
    let r = &records[0];
    let json = serde_json::to_string(r).unwrap();
    let names = format!(
        r#"{{"run_seq":{},"schedule":"high","strategy":"{}","risk_profile":"{}","due_at":"#,
        r.run_seq,
        r.strategy(),
        r.risk_profile()
    );
    assert!(json.starts_with(&names), "{json}");
    let RunOutcome::Completed { batches } = &r.outcome else {
        panic!("completed: {r:?}");
    };
    assert_eq!(batches.batches().count(), 2, "one batch per symbol");
    let owned = serde_json::to_string(&batches.to_batches()).unwrap();
    assert!(
        json.contains(&format!(r#""outcome":"completed","batches":{owned}"#)),
        "{json}"
    );
}

#[test]
fn drift_is_lateness_behind_a_slow_run() {
    let slow = spec("slow", &["BTC_USDT"]);
    let mut fast = spec("fast", &["BTC_USDT"]);
    fast.max_drift = SimDuration::from_secs(1);
    let mut s = Scheduler::new(
        equal_weight(),
        vec![(slow, scripted(&[0.5])), (fast, scripted(&[0.5]))],
        rbac(),
    )
    .unwrap();
    let mut timer = SimulatedCompute::default();
    timer.add_spike(ComputeSpike {
        schedule: "slow".into(),
        from: t(0),
        until: t(120),
        extra: SimDuration::from_secs(3),
    });
    let mut feed = Feed::default();
    s.start(t(0));
    let mut all = Vec::new();
    while let Some(wake) = s.next_wakeup() {
        if wake > t(200) {
            break;
        }
        all.extend(s.run_due(wake, &mut feed, &mut timer));
    }
    let fast_runs: Vec<&RunRecord> = all.iter().filter(|r| r.schedule() == "fast").collect();
    // Blocked for 3.002 s behind `slow` while the spike lasts; on time afterwards.
    assert!(fast_runs[0].drift > SimDuration::from_secs(3));
    assert!(fast_runs[0].drift_exceeded);
    assert_eq!(
        fast_runs.last().unwrap().drift,
        SimDuration::from_millis(2) + SimDuration::from_micros(50)
    );
    let tel = fast_runs[0].telemetry.as_ref().unwrap();
    assert!(tel["drift_seconds"] > 3.0);
    let drift_alerts = s
        .alerts_snapshot(false)
        .into_iter()
        .filter(|a| a.code == "schedule-drift")
        .count();
    assert_eq!(drift_alerts, 2, "runs at t=0 and t=60 started late");
    // Fixed-rate grid: due times stay on the minute.
    assert!(
        all.iter()
            .all(|r| r.due_at.unix_secs() % 60 == t(0).unix_secs() % 60)
    );
}

#[test]
fn suspensions_zero_the_run_and_expire_by_themselves() {
    let mut a = spec("arb", &["BTC_USDT"]);
    a.tags = vec!["arbitrage".into()];
    let mut s = Scheduler::new(equal_weight(), vec![(a, scripted(&[0.7]))], rbac()).unwrap();
    s.suspend(
        OPS,
        t(0),
        &req(
            SuspensionScope::Tag,
            "arbitrage",
            "venue outage",
            Expiry::After(SimDuration::from_secs(90)),
        ),
    )
    .unwrap();
    let mut feed = Feed::default();
    let mut timer = SimulatedCompute::default();
    let r = s.run_once(t(10), &mut feed, &mut timer);
    assert!(
        matches!(&r[0].outcome, RunOutcome::Suspended { suspension } if suspension.tag.as_deref() == Some("arbitrage"))
    );
    let tel = r[0].telemetry.as_ref().unwrap();
    assert_eq!(
        (
            tel["signals"],
            tel["suspended"],
            tel["suspension_tag_indicator"]
        ),
        (0.0, 1.0, 1.0)
    );
    assert_eq!(tel["suspension_remaining_seconds"], 80.0);
    assert_eq!(feed.fetches.get("arb"), None, "no fetch while suspended");
    let r = s.run_once(t(90), &mut feed, &mut timer);
    assert_eq!(signals(&r), 1);
    let events = s.drain_events();
    assert!(events.iter().any(|e| matches!(e, SchedulerEvent::Suspension { change: runtime::SuspensionChange::AutoResumed { .. }, name, .. } if name == "arbitrage")));
}

#[test]
fn failures_fail_over_and_three_in_a_row_abort_continuous_mode() {
    let mut primary = spec("primary", &["BTC_USDT"]);
    primary.fallbacks = vec!["backup".into()];
    let backup = spec("backup", &["BTC_USDT"]);
    let mut s = Scheduler::new(
        equal_weight(),
        vec![(primary, scripted(&[0.5])), (backup, scripted(&[0.5]))],
        rbac(),
    )
    .unwrap();
    suspend_schedule(&mut s, "backup", "standby");
    let mut feed = Feed {
        fail_for: vec!["primary".into()],
        ..Feed::default()
    };
    let mut timer = SimulatedCompute::default();
    let r = s.run_once(t(1), &mut feed, &mut timer);
    assert!(matches!(
        r[0].outcome,
        RunOutcome::Failed {
            reason: FailureReason::Feed,
            ..
        }
    ));
    assert!(r[0].telemetry.is_none(), "no telemetry for a failed run");
    let codes: Vec<&str> = s.alerts_snapshot(true).iter().map(|a| a.code).collect();
    assert_eq!(codes, ["strategy-failure", "strategy-failover"]);
    // Backup was resumed and ran in the same pass; primary is suspended for 900 s.
    assert_eq!(r[1].signals().count(), 1);
    let r = s.run_once(t(899), &mut feed, &mut timer);
    assert!(
        matches!(&r[0].outcome, RunOutcome::Suspended { suspension } if suspension.reason == "failover:feed")
    );

    // Without a fallback, continuous mode stops after three consecutive failures.
    let mut s = Scheduler::new(
        equal_weight(),
        vec![(spec("primary", &["BTC_USDT"]), scripted(&[0.5]))],
        rbac(),
    )
    .unwrap();
    s.start(t(0));
    let mut runs = 0;
    while let Some(wake) = s.next_wakeup() {
        runs += s.run_due(wake, &mut feed, &mut timer).len();
        assert!(runs <= 3, "must abort after the third failure");
    }
    assert!(s.is_aborted());
    assert!(
        s.drain_events()
            .iter()
            .any(|e| matches!(e, SchedulerEvent::Aborted { failures: 3, .. }))
    );
}

#[test]
fn strategy_errors_are_failures_too() {
    let bad: Box<dyn Strategy> = Box::new(Scripted {
        confidences: vec![],
        fail: true,
        warmed: 0,
    });
    let mut s = Scheduler::new(
        equal_weight(),
        vec![(spec("mr", &["BTC_USDT"]), bad)],
        rbac(),
    )
    .unwrap();
    let r = s.run_once(t(0), &mut Feed::default(), &mut SimulatedCompute::default());
    assert!(
        matches!(&r[0].outcome, RunOutcome::Failed { reason: FailureReason::Strategy, error } if error == "boom")
    );
}

#[test]
fn rollback_override_stops_signals_and_expiry_resumes_trading() {
    let mut s = Scheduler::new(
        equal_weight(),
        vec![(spec("mr", &["BTC_USDT"]), scripted(&[0.5]))],
        rbac(),
    )
    .unwrap();
    let mut feed = Feed::default();
    let mut timer = SimulatedCompute::default();
    let o = RollbackOverride::new(
        t(0),
        "latency above 250 ms",
        Some("l2-ops"),
        Some("INC-713"),
        Some(SimDuration::from_mins(30)),
    )
    .unwrap();
    assert!(s.observe_rollback(t(0), Some(o.clone())));
    assert!(
        !s.observe_rollback(t(0), Some(o.clone())) || s.is_disabled(),
        "idempotent"
    );
    let r = s.run_once(t(60), &mut feed, &mut timer);
    assert_eq!(r[0].outcome, RunOutcome::Disabled);
    assert_eq!(r[0].telemetry.as_ref().unwrap()["rollback_active"], 1.0);
    // The file is still there, but expires_at passed: trading resumes by itself.
    let r = s.run_once(t(30 * 60), &mut feed, &mut timer);
    assert_eq!(signals(&r), 1);
    let states: Vec<&str> = s
        .drain_events()
        .iter()
        .filter_map(|e| match e {
            SchedulerEvent::Rollback { state, .. } => Some(*state),
            _ => None,
        })
        .collect();
    assert_eq!(states, ["activated", "expired"]);
    // Re-reading the same expired file changes nothing; removing an active one is logged.
    assert!(!s.observe_rollback(t(31 * 60), Some(o)));
    let open = RollbackOverride::new(t(40 * 60), "manual", None, None, None).unwrap();
    s.observe_rollback(t(40 * 60), Some(open));
    s.observe_rollback(t(41 * 60), None);
    let states: Vec<&str> = s
        .drain_events()
        .iter()
        .filter_map(|e| match e {
            SchedulerEvent::Rollback { state, .. } => Some(*state),
            _ => None,
        })
        .collect();
    assert_eq!(states, ["activated", "removed"]);
}

#[test]
fn rbac_guards_the_control_api() {
    let mut s = Scheduler::new(
        equal_weight(),
        vec![(spec("mr", &["BTC_USDT"]), scripted(&[0.5]))],
        rbac(),
    )
    .unwrap();
    let denied = |r: Result<(), ControlError>| {
        matches!(
            r,
            Err(ControlError::Denied(AccessDenied::MissingScope {
                required: SCOPE_WRITE,
                ..
            }))
        )
    };
    assert!(denied(s.suspend(
        READER,
        t(0),
        &req(SuspensionScope::Schedule, "mr", "x", Expiry::Never)
    )));
    assert!(denied(s.set_signal_limit(
        READER,
        t(0),
        &limit("mr", 1, None, Expiry::Never)
    )));
    let o = RollbackOverride::new(t(0), "x", None, None, None).unwrap();
    assert!(denied(s.disable(READER, t(0), o.clone())));
    assert!(!s.is_disabled());
    assert!(s.describe(READER, t(0)).is_ok());
    assert!(matches!(
        s.describe("nope", t(0)),
        Err(ControlError::Denied(AccessDenied::UnknownToken))
    ));
    assert!(matches!(
        s.suspend(
            OPS,
            t(0),
            &req(SuspensionScope::Schedule, "ghost", "x", Expiry::Never)
        ),
        Err(ControlError::UnknownSchedule(_))
    ));
    s.disable(OPS, t(0), o).unwrap();
    assert!(s.is_disabled());
    s.restore(OPS, t(1)).unwrap();
    assert!(!s.is_disabled());
}

#[test]
fn signal_limit_overrides_apply_and_expire() {
    let mut s = Scheduler::new(
        equal_weight(),
        vec![(spec("mr", &["BTC_USDT"]), scripted(&[0.1, 0.2, 0.3]))],
        rbac(),
    )
    .unwrap();
    s.set_signal_limit(
        OPS,
        t(0),
        &limit(
            "mr",
            1,
            Some("incident"),
            Expiry::After(SimDuration::from_mins(10)),
        ),
    )
    .unwrap();
    let mut feed = Feed::default();
    let mut timer = SimulatedCompute::default();
    let r = s.run_once(t(1), &mut feed, &mut timer);
    assert_eq!(signals(&r), 1);
    let tel = r[0].telemetry.as_ref().unwrap();
    assert_eq!(
        (tel["signal_limit_override"], tel["signal_limit_reason"]),
        (1.0, 1.0)
    );
    let r = s.run_once(t(600), &mut feed, &mut timer);
    assert_eq!(signals(&r), 3);
    assert!(s.drain_events().iter().any(|e| matches!(
        e,
        SchedulerEvent::SignalLimit {
            change: runtime::LimitChange::Expired,
            ..
        }
    )));
}

#[test]
fn closed_windows_skip_fetch_and_telemetry() {
    let mut w = spec("night", &["BTC_USDT"]);
    w.windows = vec![TradingWindow::parse("22:00-06:00").unwrap()];
    let mut s = Scheduler::new(equal_weight(), vec![(w, scripted(&[0.5]))], rbac()).unwrap();
    let mut feed = Feed::default();
    let r = s.run_once(t(0), &mut feed, &mut SimulatedCompute::default()); // 09:00Z
    assert_eq!(r[0].outcome, RunOutcome::WindowClosed);
    assert!(r[0].telemetry.is_none());
    assert!(feed.fetches.is_empty());
    let alert = &s.alerts_snapshot(false)[0];
    assert_eq!(
        (alert.code, alert.severity),
        ("schedule-window-closed", runtime::AlertSeverity::Info)
    );
}

#[test]
fn warm_up_runs_once_and_zero_weight_silences() {
    let mut w = spec("vt", &["BTC_USDT"]);
    w.warmup_bars = 30;
    let fixed = SchedulerSettings {
        capital: CapitalPolicy::from_config(
            &serde_json::json!({"name": "fixed", "weights": {"vt": 0.0, "mr": 1.0}}),
        )
        .unwrap(),
        ..SchedulerSettings::default()
    };
    let mut s = Scheduler::new(
        fixed,
        vec![
            (w, scripted(&[0.5])),
            (spec("mr", &["BTC_USDT"]), scripted(&[0.5])),
        ],
        rbac(),
    )
    .unwrap();
    let mut feed = Feed::default();
    let mut timer = SimulatedCompute::default();
    for i in 0..3 {
        let r = s.run_once(t(60 * i), &mut feed, &mut timer);
        assert_eq!(r[0].signals().count(), 0, "weight 0 → active_max_signals 0");
        assert_eq!(r[1].signals().count(), 1);
    }
    let views = s.describe(OPS, t(200)).unwrap();
    assert!(views[0].warmed_up);
    assert_eq!(views[0].active_max_signals, 0);
}

#[test]
fn configuration_is_validated_together() {
    let mut a = spec("a", &["BTC_USDT"]);
    a.fallbacks = vec!["missing".into()];
    let err = Scheduler::new(equal_weight(), vec![(a, scripted(&[]))], rbac()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "schedule `a`: fallback `missing` is not a schedule"
    );
    let dup = Scheduler::new(
        equal_weight(),
        vec![
            (spec("a", &["BTC_USDT"]), scripted(&[])),
            (spec("a", &["BTC_USDT"]), scripted(&[])),
        ],
        rbac(),
    );
    assert!(matches!(dup, Err(ScheduleError::Duplicate(_))));
    let mut fast = spec("f", &["BTC_USDT"]);
    fast.cadence = SimDuration::from_millis(500);
    assert!(matches!(
        Scheduler::new(equal_weight(), vec![(fast, scripted(&[]))], rbac()),
        Err(ScheduleError::CadenceTooShort(_))
    ));
}

proptest! {
    /// No schedule emits a signal at any run that starts while an override is active,
    /// whatever the override windows and cadences.
    #[test]
    fn no_signal_while_the_override_is_active(
        windows in proptest::collection::vec((0u64..7_200, 1u64..3_600, any::<bool>()), 1..6),
        cadence in 1u64..600,
    ) {
        let mut sp = spec("mr", &["BTC_USDT", "ETH_USDT"]);
        sp.cadence = SimDuration::from_secs(cadence);
        let mut s = Scheduler::new(equal_weight(), vec![(sp, scripted(&[0.5, 0.6]))], rbac()).unwrap();
        let mut feed = Feed::default();
        let mut timer = SimulatedCompute::default();
        let mut overrides: Vec<(SimTime, RollbackOverride)> = windows
            .iter()
            .map(|(at, len, expires)| {
                let o = RollbackOverride::new(t(*at), "drill", None, None,
                    expires.then(|| SimDuration::from_secs(*len))).unwrap();
                (t(*at), o)
            })
            .collect();
        overrides.sort_by_key(|(at, _)| *at);
        s.start(t(0));
        let mut current: Option<RollbackOverride> = None;
        let mut next = 0;
        while let Some(wake) = s.next_wakeup() {
            if wake > t(10_800) { break; }
            while next < overrides.len() && overrides[next].0 <= wake {
                current = Some(overrides[next].1.clone());
                next += 1;
            }
            let active = current.as_ref().is_some_and(|o| o.is_active(wake));
            s.observe_rollback(wake, current.clone());
            for r in s.run_due(wake, &mut feed, &mut timer) {
                let active_at_start = current.as_ref().is_some_and(|o| o.is_active(r.started_at));
                if active_at_start || active {
                    prop_assert_eq!(r.signals().count(), 0);
                }
            }
        }
    }
}

/// `run_due` as it picked schedules before the heap: a scan for the earliest due time, ties
/// by execution order. Replays `records` (taking each run's latency from it) and checks each
/// was the run the scan would have made; returns how many it checked.
fn replay_scan(
    order: &[String],
    cadences: &[SimDuration],
    next_due: &mut [SimTime],
    worker_free_at: &mut SimTime,
    now: SimTime,
    records: &[RunRecord],
) -> Result<usize, TestCaseError> {
    let mut k = 0;
    while let Some(idx) = (0..next_due.len())
        .filter(|&i| next_due[i] <= now)
        .min_by_key(|&i| (next_due[i], i))
    {
        let due = next_due[idx];
        let start = due.max(*worker_free_at);
        if start > now {
            break;
        }
        let Some(r) = records.get(k) else {
            return Err(TestCaseError::fail(format!(
                "the scan runs {} at {start:?}, run_due stopped",
                order[idx]
            )));
        };
        prop_assert_eq!(r.schedule(), order[idx].as_str(), "run {}", k);
        prop_assert_eq!(r.due_at, due);
        prop_assert_eq!(r.started_at, start);
        *worker_free_at = r.finished_at;
        let mut next = due + cadences[idx];
        while next <= start {
            next += cadences[idx];
        }
        next_due[idx] = next;
        k += 1;
    }
    Ok(k)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Continuous mode runs the same schedules in the same order at the same times as the
    /// scan it replaced, including wake-ups with many schedules due and schedules due again
    /// within one wake-up (slow runs, short cadences, wake-ups far apart).
    #[test]
    fn run_due_picks_runs_like_the_scan(
        schedules in proptest::collection::vec((1u64..30, -2i32..3), 1..12),
        base_ms in prop_oneof![Just(2u64), 500u64..4_000],
        gaps in proptest::collection::vec(0u64..90, 1..25),
    ) {
        let list: Vec<(ScheduleSpec, Box<dyn Strategy>)> = schedules
            .iter()
            .enumerate()
            .map(|(i, (cadence, priority))| {
                let mut sp = spec(&format!("s{i}"), &["BTC_USDT"]);
                sp.cadence = SimDuration::from_secs(*cadence);
                sp.priority = *priority;
                (sp, scripted(&[]))
            })
            .collect();
        let mut s = Scheduler::new(equal_weight(), list, rbac()).unwrap();
        let order: Vec<String> = s.specs().map(|sp| sp.name.clone()).collect();
        let cadences: Vec<SimDuration> = s.specs().map(|sp| sp.cadence).collect();
        let mut next_due = vec![t(0); order.len()];
        let mut free = t(0);
        let mut timer = SimulatedCompute::new(SimDuration::from_millis(base_ms), SimDuration::ZERO);
        let mut feed = Feed::default();
        s.start(t(0));
        let mut now = t(0);
        for gap in gaps {
            now += SimDuration::from_secs(gap);
            let records = s.run_due(now, &mut feed, &mut timer);
            let checked = replay_scan(&order, &cadences, &mut next_due, &mut free, now, &records)?;
            prop_assert_eq!(checked, records.len(), "run_due made runs the scan would not");
        }
    }
}

// ---------------------------------------------------------------- portfolio governor

/// Two schedules whose strategies the governor knows: `mr` (max_signals 4, hint 5) and `vt`
/// (hint 3). With the default cost every score is 0, so a decision gives the baseline
/// distribution: mins 0.1 + 0.4, the remaining 0.5 split by baselines 0.5 / 0.5 → mr 0.35,
/// vt 0.65; factors 0.35 / 0.5 = 0.7 and 0.65 / 0.5 = 1.3.
fn governed() -> SchedulerSettings {
    let allocation = |baseline, min, hint| StrategyAllocation {
        baseline_weight: Some(baseline),
        min_weight: Some(min),
        max_weight: Some(0.9),
        baseline_max_signals: Some(hint),
        max_signal_factor: 1.5,
        risk_profile: None,
        tags: Vec::new(),
    };
    SchedulerSettings {
        governor: Some(GovernorConfig {
            strategies: BTreeMap::from([
                ("mr".to_owned(), allocation(0.5, 0.1, 5)),
                ("vt".to_owned(), allocation(0.5, 0.4, 3)),
            ]),
            ..GovernorConfig::default()
        }),
        ..equal_weight()
    }
}

fn decisions(events: &[SchedulerEvent]) -> Vec<&GovernorDecision> {
    events
        .iter()
        .filter_map(|e| match e {
            SchedulerEvent::PortfolioDecision { decision, .. } => Some(&**decision),
            _ => None,
        })
        .collect()
}

#[test]
fn the_governor_sets_base_factor_and_limit() {
    let mut mr = spec("mr", &["BTC_USDT"]);
    mr.max_signals = 4;
    let six = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    let mut s = Scheduler::new(
        governed(),
        vec![
            (mr, scripted(&six)),
            (spec("vt", &["BTC_USDT"]), scripted(&six)),
        ],
        rbac(),
    )
    .unwrap();
    let mut feed = Feed::default();
    let mut timer = SimulatedCompute::default();

    // First pass: no decision before mr runs, so its weight is its baseline (factor 1) and
    // the hint alone sets its limit: 5, not 4.
    let first = s.run_once(t(0), &mut feed, &mut timer);
    let mr1 = first[0].telemetry.unwrap();
    assert_eq!(mr1["base_max_signals"], 5.0);
    assert_eq!(mr1["governor_signal_factor"], 1.0);
    assert_eq!(mr1["portfolio_weight"], 0.5);
    assert_eq!(mr1["portfolio_weight_target"], 0.5);
    assert_eq!(mr1["active_max_signals"], 5.0);
    assert_eq!(first[0].signals().count(), 5);
    // vt's run completes the metrics: the governor decides at once.
    let events = s.drain_events();
    let d = decisions(&events);
    assert_eq!(d.len(), 1, "{events:?}");
    assert!(d[0].rebalance_required);
    assert!((d[0].weights["mr"] - 0.35).abs() < 1e-12);
    assert!((d[0].weights["vt"] - 0.65).abs() < 1e-12);
    // The decision recomputed every limit: mr round_half_even(5 × 0.7 = 3.5) = 4,
    // vt round_half_even(3 × 1.3 = 3.9) = 4.
    let view = s.describe(OPS, t(1)).unwrap();
    let limits: Vec<(&str, u32)> = view
        .iter()
        .map(|v| (v.name.as_str(), v.active_max_signals))
        .collect();
    assert_eq!(limits, [("mr", 4), ("vt", 4)]);

    // Second pass, within the 20-minute interval: the new factors apply, no new decision.
    let second = s.run_once(t(60), &mut feed, &mut timer);
    let mr2 = second[0].telemetry.unwrap();
    assert!((mr2["governor_signal_factor"] - 0.7).abs() < 1e-12);
    assert!((mr2["portfolio_weight"] - 0.35).abs() < 1e-12);
    assert!((mr2["governor_max_signals"] - 3.5).abs() < 1e-12);
    assert_eq!(mr2["active_max_signals"], 4.0);
    assert_eq!(second[0].signals().count(), 4);
    assert_eq!(second[1].signals().count(), 4);
    assert!(decisions(&s.drain_events()).is_empty());

    // Twenty minutes after the first decision (taken when vt started, a little after t0): a
    // review that moves nothing.
    s.run_once(t(1260), &mut feed, &mut timer);
    let events = s.drain_events();
    let d = decisions(&events);
    assert_eq!(d.len(), 1);
    assert!(!d[0].rebalance_required && d[0].adjustments.is_empty());
}

/// §3.5: a suspended schedule's zeroed metrics still reach the governor, which may decide.
#[test]
fn a_suspended_schedule_still_feeds_the_governor() {
    let mut s = Scheduler::new(
        governed(),
        vec![
            (spec("mr", &["BTC_USDT"]), scripted(&[0.5])),
            (spec("vt", &["BTC_USDT"]), scripted(&[0.5])),
        ],
        rbac(),
    )
    .unwrap();
    suspend_schedule(&mut s, "vt", "maintenance");
    let records = s.run_once(t(0), &mut Feed::default(), &mut SimulatedCompute::default());
    let vt = records[1].telemetry.unwrap();
    assert_eq!(vt["suspended"], 1.0);
    // Emitted before the governor saw it (as the reference): vt never ran, so its base is
    // still its own max_signals and its weight the baseline it was never told.
    assert_eq!(vt["base_max_signals"], 10.0);
    assert_eq!(vt["portfolio_weight"], 0.0);
    assert_eq!(vt["portfolio_weight_target"], vt["portfolio_weight"]);
    assert_eq!(
        decisions(&s.drain_events()).len(),
        1,
        "vt's suspended run completed the metrics"
    );
    // The decision gave vt its hint and weight.
    let view = s.describe(OPS, t(1)).unwrap();
    assert_eq!(view[1].base_max_signals, 3);
    assert!((view[1].metrics["portfolio_weight"] - 0.65).abs() < 1e-12);
}

/// `enabled: false` attaches no governor: runs are exactly those without one.
#[test]
fn a_disabled_governor_is_no_governor() {
    let run = |settings: SchedulerSettings| {
        let mut s = Scheduler::new(
            settings,
            vec![
                (spec("mr", &["BTC_USDT"]), scripted(&[0.5, 0.7])),
                (spec("vt", &["BTC_USDT"]), scripted(&[0.5])),
            ],
            rbac(),
        )
        .unwrap();
        let mut feed = Feed::default();
        let mut timer = SimulatedCompute::default();
        let mut records = s.run_once(t(0), &mut feed, &mut timer);
        records.extend(s.run_once(t(1800), &mut feed, &mut timer));
        assert!(s.governor().is_none());
        (records, s.drain_events())
    };
    let mut disabled = governed();
    disabled.governor.as_mut().unwrap().enabled = false;
    let (a, ea) = run(disabled);
    let (b, eb) = run(equal_weight());
    assert_eq!(a, b);
    assert_eq!(ea, eb);
    let tel = b[0].telemetry.unwrap();
    assert_eq!(tel["governor_signal_factor"], 1.0);
    assert_eq!(tel["portfolio_weight"], 0.0);
    assert_eq!(tel["base_max_signals"], 10.0);
}

#[test]
fn an_invalid_governor_is_refused_with_its_key() {
    let mut bad = governed();
    bad.governor.as_mut().unwrap().smoothing = 2.0;
    let err = Scheduler::new(bad, vec![], rbac()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "portfolio_governor.smoothing: expected a factor in [0, 1], got 2"
    );
}
