//! Evaluator tests, one table per condition: the exact instant each rule fires, the events
//! that prevent it, and re-arming.
// Case tables are tuples read row by row; naming each tuple type would not make them clearer.
#![allow(clippy::type_complexity)]

use super::*;
use proptest::prelude::*;

const T0: &str = "2026-11-28T09:00:00Z";

fn t0() -> SimTime {
    SimTime::parse_rfc3339(T0).unwrap()
}

/// T0 + `secs` seconds.
fn at(secs: u64) -> SimTime {
    t0() + SimDuration::from_secs(secs)
}

fn m(mins: u64) -> u64 {
    mins * 60
}

/// A two-hour run from T0.
fn run() -> Observations {
    Observations::new(t0(), at(m(120)))
}

fn policy(lines: &str) -> Policy {
    Policy::parse(lines).unwrap()
}

fn alert(
    rule: &str,
    schedule: &str,
    severity: Severity,
    from: u64,
    to: Option<u64>,
) -> AlertPeriod {
    AlertPeriod {
        rule: rule.to_owned(),
        labels: BTreeMap::from([(SCHEDULE_LABEL.to_owned(), schedule.to_owned())]),
        severity,
        firing_from: at(from),
        resolved_at: to.map(at),
    }
}

fn latency(from: u64, to: Option<u64>) -> AlertPeriod {
    alert(
        "MultiStrategySchedulerLatencyHigh",
        "mr_btc",
        Severity::Warning,
        from,
        to,
    )
}

fn incident(secs: u64, action: IncidentAction) -> IncidentEvent {
    IncidentEvent {
        at: at(secs),
        ticket: "INC-713".to_owned(),
        action,
        level: Some(Level::L1),
    }
}

/// The instants (seconds after T0) at which rules fired.
fn fired(policy: &Policy, obs: &Observations) -> Vec<u64> {
    evaluate(policy, obs)
        .unwrap()
        .iter()
        .map(|e| e.at.saturating_since(t0()).as_secs())
        .collect()
}

const UNACK: &str = r#"{"id": "ack", "condition": "alert_unacknowledged", "duration": "5m", "level": "L2", "action": "L2 takes it"}"#;
const PERSISTS: &str = r#"{"id": "persists", "condition": "problem_persists", "duration": "5m", "level": "L2", "action": "escalate"}"#;

#[test]
fn alert_firing_fires_once_per_period_and_filters() {
    let warning_or_worse = policy(
        r#"{"condition": "alert_firing", "severity": "warning", "level": "L1", "action": "ack"}"#,
    );
    let by_name = policy(
        r#"{"condition": "alert_firing", "alert": "MultiStrategyPnlDrawdown", "level": "L1", "action": "ack"}"#,
    );
    let by_schedule = policy(
        r#"{"condition": "alert_firing", "schedule": "arb", "level": "L1", "action": "ack"}"#,
    );
    let mut obs = run();
    obs.alerts = vec![
        latency(m(10), Some(m(20))),
        latency(m(30), None),
        alert(
            "MultiStrategyPnlDrawdown",
            "arb",
            Severity::Critical,
            m(40),
            None,
        ),
        alert(
            "MultiStrategySecondaryDelay",
            "arb",
            Severity::Info,
            m(50),
            None,
        ),
    ];
    assert_eq!(fired(&warning_or_worse, &obs), [m(10), m(30), m(40)]);
    assert_eq!(fired(&by_name, &obs), [m(40)]);
    assert_eq!(fired(&by_schedule, &obs), [m(40), m(50)]);
}

#[test]
fn alert_unacknowledged_fires_at_the_deadline_unless_acknowledged() {
    use IncidentAction::*;
    // (case, alert period, incident steps, expected firing instants)
    let cases: &[(&str, (u64, Option<u64>), &[(u64, IncidentAction)], &[u64])] = &[
        ("no acknowledgement", (m(10), None), &[], &[m(15)]),
        (
            "acknowledged at 4 min",
            (m(10), None),
            &[(m(14), Acknowledge)],
            &[],
        ),
        (
            "acknowledged at exactly 5 min",
            (m(10), None),
            &[(m(15), Acknowledge)],
            &[],
        ),
        (
            "acknowledged 1 s late",
            (m(10), None),
            &[(m(15) + 1, Acknowledge)],
            &[m(15)],
        ),
        (
            "acknowledged before the alert started",
            (m(10), None),
            &[(m(9), Acknowledge)],
            &[m(15)],
        ),
        (
            "opened and escalated, never acknowledged",
            (m(10), None),
            &[(m(11), Open), (m(12), Escalate)],
            &[m(15)],
        ),
        ("resolved at exactly 5 min", (m(10), Some(m(15))), &[], &[]),
        (
            "resolved 1 s after the deadline",
            (m(10), Some(m(15) + 1)),
            &[],
            &[m(15)],
        ),
        (
            "deadline after the end of the run",
            (m(117), None),
            &[],
            &[],
        ),
    ];
    let p = policy(UNACK);
    for (name, (from, to), steps, expected) in cases {
        let mut obs = run();
        obs.alerts = vec![latency(*from, *to)];
        obs.incidents = steps.iter().map(|(s, a)| incident(*s, *a)).collect();
        assert_eq!(fired(&p, &obs), *expected, "{name}");
    }
}

#[test]
fn alert_unacknowledged_rearms_with_each_alert_period() {
    let mut obs = run();
    obs.alerts = vec![latency(m(10), Some(m(20))), latency(m(40), None)];
    obs.incidents = vec![incident(m(12), IncidentAction::Acknowledge)];
    // The first period was acknowledged; the second starts a new clock.
    assert_eq!(fired(&policy(UNACK), &obs), [m(45)]);
}

#[test]
fn problem_persists_ignores_acknowledgements() {
    let cases: &[(&str, Option<u64>, &[u64])] = &[
        ("still firing", None, &[m(15)]),
        ("resolved 1 s before the deadline", Some(m(15) - 1), &[]),
        ("resolved at the deadline", Some(m(15)), &[]),
        ("resolved after the deadline", Some(m(30)), &[m(15)]),
    ];
    for (name, to, expected) in cases {
        let mut obs = run();
        obs.alerts = vec![latency(m(10), *to)];
        obs.incidents = vec![incident(m(11), IncidentAction::Acknowledge)];
        assert_eq!(fired(&policy(PERSISTS), &obs), *expected, "{name}");
    }
}

fn signals(schedule: &str, runs: &[(u64, u64)]) -> Vec<SignalCount> {
    runs.iter()
        .map(|&(secs, n)| SignalCount {
            at: at(secs),
            schedule: schedule.to_owned(),
            signals: n,
        })
        .collect()
}

#[test]
fn no_signals_counts_silence_from_the_last_productive_run() {
    let p = policy(
        r#"{"condition": "no_signals", "duration": "15m", "level": "incident_manager", "action": "page"}"#,
    );
    // (case, runs of one schedule (seconds, signals), expected)
    let cases: &[(&str, &[(u64, u64)], &[u64])] = &[
        (
            "signals until 10 min, empty runs after",
            &[(m(5), 2), (m(10), 1), (m(15), 0), (m(20), 0), (m(30), 0)],
            &[m(25)],
        ),
        (
            "productive run 1 s before the deadline",
            &[(m(10), 1), (m(25) - 1, 1)],
            &[m(40) - 1],
        ),
        (
            "productive run exactly at the deadline",
            &[(m(10), 1), (m(25), 1), (m(39), 1), (m(110), 1)],
            &[m(54)],
        ),
        (
            "re-armed by signals, silent again",
            &[(m(10), 1), (m(50), 3), (m(100), 1)],
            &[m(25), m(65), m(115)],
        ),
        (
            "never emits: silent since the run start",
            &[(m(5), 0), (m(10), 0)],
            &[m(15)],
        ),
        (
            "steady signals",
            &[
                (m(10), 1),
                (m(20), 1),
                (m(30), 1),
                (m(40), 1),
                (m(50), 1),
                (m(60), 1),
                (m(70), 1),
                (m(80), 1),
                (m(90), 1),
                (m(100), 1),
                (m(110), 1),
            ],
            &[],
        ),
    ];
    for (name, runs, expected) in cases {
        let mut obs = run();
        obs.signals = signals("mr_btc", runs);
        assert_eq!(fired(&p, &obs), *expected, "{name}");
    }
}

#[test]
fn no_signals_watches_each_schedule_or_the_named_one() {
    let every = policy(
        r#"{"condition": "no_signals", "duration": "15m", "level": "tech_lead", "action": "page"}"#,
    );
    let named = policy(
        r#"{"condition": "no_signals", "schedule": "arb", "duration": "15m", "level": "tech_lead", "action": "page"}"#,
    );
    let mut obs = run();
    obs.end = at(m(30));
    obs.schedules = vec!["vol".into(), "mr_btc".into()];
    obs.signals = signals("mr_btc", &[(m(1), 1), (m(10), 1), (m(20), 1)]);
    obs.signals.extend(signals("arb", &[(m(8), 1)]));
    // arb: silent from 8 min; vol: declared, never ran; mr_btc: fine.
    let got = evaluate(&every, &obs).unwrap();
    let summary: Vec<_> = got
        .iter()
        .map(|e| (e.at.saturating_since(t0()).as_secs(), e.detail.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                m(15),
                "schedule vol: no signals since the run started at 2026-11-28T09:00:00Z (15m)"
            ),
            (
                m(23),
                "schedule arb: no signals since 2026-11-28T09:08:00Z (15m)"
            ),
        ]
    );
    assert_eq!(fired(&named, &obs), [m(23)]);
}

#[test]
fn pnl_loss_fires_when_the_loss_exceeds_the_multiple_and_rearms() {
    let p = policy(
        r#"{"id": "im-pnl", "condition": "pnl_loss_vs_daily_limit", "threshold": 3, "level": "incident_manager", "action": "page"}"#,
    );
    let mut obs = run();
    obs.daily_loss_limit = Some(1_000.0);
    let pnl = [
        (m(1), 500.0),
        (m(2), -2_000.0),
        (m(3), -3_000.0), // exactly 3x: not exceeding
        (m(4), -3_000.01),
        (m(5), -3_500.0), // still over: no second escalation
        (m(6), -100.0),   // back under: re-armed
        (m(7), -4_000.0),
    ];
    obs.pnl = pnl
        .iter()
        .map(|&(s, v)| PnlSample {
            at: at(s),
            pnl_of_day: v,
        })
        .collect();
    let got = evaluate(&p, &obs).unwrap();
    assert_eq!(
        got.iter().map(|e| e.at).collect::<Vec<_>>(),
        [at(m(4)), at(m(7))]
    );
    assert_eq!(
        got[0].detail,
        "loss of the day 3000.01 exceeds 3 x the daily loss limit 1000.00 (3000.00)"
    );

    obs.daily_loss_limit = None;
    let err = evaluate(&p, &obs).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rule im-pnl (pnl_loss_vs_daily_limit) needs the daily loss limit (daily_loss_limit), but the observations have none"
    );
    // Without samples there is nothing to compare, so no limit is needed.
    obs.pnl.clear();
    assert_eq!(fired(&p, &obs), Vec::<u64>::new());
}

fn cpu(samples: &[(u64, f64)]) -> Vec<CpuSample> {
    samples
        .iter()
        .map(|&(s, v)| CpuSample {
            at: at(s),
            cpu_percent: v,
        })
        .collect()
}

#[test]
fn cpu_over_budget_fires_after_the_duration_above_the_multiple() {
    let p = policy(
        r#"{"condition": "cpu_over_budget", "threshold": 1.2, "duration": "10m", "level": "tech_lead", "action": "page"}"#,
    );
    // Budget 65 %: the bound is 78 %.
    let every_minute = |from: u64, to: u64, v: f64| -> Vec<(u64, f64)> {
        (from..=to).map(|i| (m(i), v)).collect()
    };
    let over_then_under_at = |under: u64| {
        let mut s = every_minute(0, 0, 70.0);
        s.extend(every_minute(1, under - 1, 80.0));
        s.push((m(under), 60.0));
        s
    };
    let gap = vec![(m(0), 70.0), (m(1), 80.0), (m(30), 70.0)];
    let at_bound = every_minute(0, 30, 78.0);
    let twice = {
        let mut s = every_minute(1, 12, 80.0);
        s.extend(every_minute(13, 20, 50.0));
        s.extend(every_minute(21, 40, 90.0));
        s
    };
    let cases: Vec<(&str, Vec<(u64, f64)>, Vec<u64>)> = vec![
        ("above for 20 min", every_minute(0, 20, 80.0), vec![m(10)]),
        (
            "under again 1 min before the deadline",
            over_then_under_at(10),
            vec![],
        ),
        (
            "under again exactly at the deadline",
            over_then_under_at(11),
            vec![],
        ),
        (
            "under again just after",
            over_then_under_at(12),
            vec![m(11)],
        ),
        ("a sample holds until the next one", gap, vec![m(11)]),
        ("exactly at the bound is not above", at_bound, vec![]),
        ("two episodes", twice, vec![m(11), m(31)]),
    ];
    for (name, samples, expected) in cases {
        let mut obs = run();
        obs.cpu_budget_percent = Some(65.0);
        obs.cpu = cpu(&samples);
        assert_eq!(fired(&p, &obs), expected, "{name}");
    }
}

#[test]
fn cpu_breach_with_zero_duration_fires_on_the_first_sample_over() {
    let p = policy(
        r#"{"condition": "cpu_over_budget", "threshold": 1.0, "duration": "0s", "level": "L2", "action": "escalate"}"#,
    );
    let mut obs = run();
    obs.cpu_budget_percent = Some(65.0);
    obs.cpu = cpu(&[
        (m(1), 60.0),
        (m(2), 66.0),
        (m(3), 70.0),
        (m(4), 65.0),
        (m(5), 90.0),
    ]);
    assert_eq!(fired(&p, &obs), [m(2), m(5)]);
    obs.cpu_budget_percent = Some(0.0);
    assert_eq!(
        evaluate(&p, &obs).unwrap_err().to_string(),
        "the CPU budget is 0, expected a finite number greater than 0"
    );
}

fn audit(secs: u64, tool: &str, status: AuditStatus) -> AuditOutcome {
    AuditOutcome {
        at: at(secs),
        tool: tool.to_owned(),
        status,
    }
}

#[test]
fn audit_status_fires_per_tool_and_rearms_on_a_better_result() {
    use AuditStatus::*;
    let fail = policy(
        r#"{"condition": "audit_status", "threshold": "fail", "level": "incident_manager", "action": "page"}"#,
    );
    let warn_compliance = policy(
        r#"{"condition": "audit_status", "threshold": "warn", "tool": "audit compliance", "level": "L2", "action": "look"}"#,
    );
    let mut obs = run();
    obs.audits = vec![
        audit(m(1), "audit compliance", Warn),
        audit(m(2), "audit compliance", Fail),
        audit(m(3), "audit compliance", Fail),
        audit(m(4), "audit security-baseline", Fail),
        audit(m(5), "audit compliance", Ok),
        audit(m(6), "audit compliance", Fail),
    ];
    assert_eq!(fired(&fail, &obs), [m(2), m(4), m(6)]);
    assert_eq!(fired(&warn_compliance, &obs), [m(1), m(6)]);
    let first = &evaluate(&fail, &obs).unwrap()[0];
    assert_eq!(
        first.detail,
        "audit `audit compliance` returned fail (fires on fail or worse)"
    );
}

fn escalation(secs: u64, level: Level) -> Escalation {
    Escalation {
        at: at(secs),
        rule: "r".into(),
        condition: Condition::AlertFiring,
        level,
        action: "a".into(),
        detail: "d".into(),
    }
}

#[test]
fn highest_level_by_a_time() {
    let log = [
        escalation(m(10), Level::L1),
        escalation(m(15), Level::IncidentManager),
        escalation(m(15), Level::L2),
        escalation(m(20), Level::TechLead),
    ];
    let cases = [
        (m(9), None),
        (m(10), Some(Level::L1)),
        (m(15) - 1, Some(Level::L1)),
        (m(15), Some(Level::IncidentManager)),
        (m(60), Some(Level::IncidentManager)),
    ];
    for (by, expected) in cases {
        assert_eq!(highest_level_by(&log, at(by)), expected, "by +{by}s");
    }
    assert_eq!(highest_level_by(&[], at(0)), None);
}

#[test]
fn the_reference_checklist_on_a_latency_alert() {
    let policy = Policy::reference();
    // (case, alert period, acknowledged at, highest level at 14:59 / 15:00 after the start)
    let cases: &[(&str, Option<u64>, Option<u64>, Option<Level>, Option<Level>)] = &[
        (
            "nobody reacts",
            None,
            None,
            Some(Level::L1),
            Some(Level::L2),
        ),
        (
            "acknowledged, still firing",
            None,
            Some(m(12)),
            Some(Level::L1),
            Some(Level::L2),
        ),
        (
            "resolved in 4 min",
            Some(m(14)),
            None,
            Some(Level::L1),
            Some(Level::L1),
        ),
    ];
    for (name, resolved, ack, before, at_deadline) in cases {
        let mut obs = run();
        // The portfolio keeps signalling, so only the alert rules are in play.
        obs.signals = (0..24)
            .map(|i| SignalCount {
                at: at(m(5 * i)),
                schedule: "mr".to_owned(),
                signals: 1,
            })
            .collect();
        obs.alerts = vec![latency(m(10), *resolved)];
        obs.incidents = ack
            .iter()
            .map(|&s| incident(s, IncidentAction::Acknowledge))
            .collect();
        let got = evaluate(&policy, &obs).unwrap();
        assert_eq!(highest_level_by(&got, at(m(15) - 1)), *before, "{name}");
        assert_eq!(highest_level_by(&got, at(m(15))), *at_deadline, "{name}");
        assert_eq!(highest_level_by(&got, at(m(10) - 1)), None, "{name}");
    }
}

#[test]
fn portfolio_silence_ignores_one_quiet_schedule() {
    let policy = policy(
        r#"{"condition": "no_signals", "schedule": "*", "duration": "15m", "level": "incident_manager", "action": "x"}"#,
    );
    let mut obs = run();
    obs.schedules = vec!["quiet".to_owned(), "busy".to_owned()];
    // `busy` signals every 10 min until 60m; `quiet` never does.
    obs.signals = (1..=6)
        .map(|i| SignalCount {
            at: at(m(10 * i)),
            schedule: "busy".to_owned(),
            signals: 2,
        })
        .collect();
    let got = evaluate(&policy, &obs).unwrap();
    let times: Vec<SimTime> = got.iter().map(|e| e.at).collect();
    assert_eq!(
        times,
        [at(m(75))],
        "one portfolio silence, from the last signal at 60m"
    );
    assert!(
        got[0].detail.starts_with("no schedule emitted a signal"),
        "{}",
        got[0].detail
    );
}

#[test]
fn records_are_ordered_by_time_then_rule_position() {
    let policy = policy(
        r#"{"id": "b", "condition": "problem_persists", "duration": "5m", "level": "L2", "action": "x"}
{"id": "a", "condition": "alert_firing", "level": "L1", "action": "y"}
{"condition": "alert_unacknowledged", "duration": "5m", "level": "L2", "action": "z"}"#,
    );
    let mut obs = run();
    obs.alerts = vec![latency(m(20), None), latency(m(10), None)];
    let got = evaluate(&policy, &obs).unwrap();
    let order: Vec<_> = got
        .iter()
        .map(|e| (e.at.saturating_since(t0()).as_secs() / 60, e.rule.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            (10, "a"),
            (15, "b"),
            (15, "#3"),
            (20, "a"),
            (25, "b"),
            (25, "#3"),
        ]
    );
}

#[test]
fn jsonl_is_compact_sorted_and_reads_back() {
    let mut obs = run();
    obs.alerts = vec![latency(m(10), None)];
    let got = evaluate(&policy(UNACK), &obs).unwrap();
    let text = to_jsonl(&got);
    assert_eq!(
        text,
        "{\"action\":\"L2 takes it\",\"at\":\"2026-11-28T09:15:00Z\",\"condition\":\"alert_unacknowledged\",\
         \"detail\":\"alert MultiStrategySchedulerLatencyHigh{schedule=mr_btc} (warning) firing since 2026-11-28T09:10:00Z, no incident acknowledged within 5m\",\
         \"level\":\"L2\",\"rule\":\"ack\"}\n"
    );
    let back: Escalation = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(back, got[0]);
    assert_eq!(to_jsonl(&[]), "");
}

#[test]
fn broken_observations_are_errors_naming_what_is_wrong() {
    let p = Policy::reference();
    let cases: Vec<(&str, Box<dyn Fn(&mut Observations)>, &str)> = vec![
        (
            "end before start",
            Box::new(|o| o.end = at(0) - SimDuration::from_secs(1)),
            "the run ends (2026-11-28T08:59:59Z) before it starts",
        ),
        (
            "alert before the start",
            Box::new(|o| {
                o.alerts = vec![alert("A", "s", Severity::Info, 0, None)]
                    .into_iter()
                    .map(|mut a| {
                        a.firing_from = t0() - SimDuration::from_secs(60);
                        a
                    })
                    .collect()
            }),
            "alert A firing_from at 2026-11-28T08:59:00Z is outside the run",
        ),
        (
            "resolved before firing",
            Box::new(|o| o.alerts = vec![latency(m(10), Some(m(10)))]),
            "alert MultiStrategySchedulerLatencyHigh resolves at 2026-11-28T09:10:00Z, not after it starts firing",
        ),
        (
            "incident after the end",
            Box::new(|o| o.incidents = vec![incident(m(121), IncidentAction::Open)]),
            "incident INC-713 open at 2026-11-28T11:01:00Z is outside the run",
        ),
        (
            "NaN PnL",
            Box::new(|o| {
                o.pnl = vec![PnlSample {
                    at: at(1),
                    pnl_of_day: f64::NAN,
                }]
            }),
            "PnL of the day at 2026-11-28T09:00:01Z is NaN, expected a finite number",
        ),
        (
            "negative CPU",
            Box::new(|o| o.cpu = cpu(&[(1, -5.0)])),
            "CPU percent at 2026-11-28T09:00:01Z is -5, expected a finite number and not negative",
        ),
        (
            "CPU without a budget",
            Box::new(|o| o.cpu = cpu(&[(1, 50.0)])),
            "rule l2-resource-breach (cpu_over_budget) needs the CPU budget (cpu_budget_percent)",
        ),
        (
            "negative loss limit",
            Box::new(|o| {
                o.pnl = vec![PnlSample {
                    at: at(1),
                    pnl_of_day: -1.0,
                }];
                o.daily_loss_limit = Some(-10.0);
            }),
            "the daily loss limit is -10, expected a finite number greater than 0",
        ),
    ];
    for (name, tweak, expected) in cases {
        let mut obs = run();
        tweak(&mut obs);
        let err = evaluate(&p, &obs).unwrap_err().to_string();
        assert!(err.starts_with(expected), "{name}: {err}");
    }
}

/// Random observations over a 2-hour run: alert periods, acks, signal runs, PnL, CPU, audits,
/// all on whole seconds.
fn observations() -> impl Strategy<Value = Observations> {
    let secs = 0..=m(120);
    let alerts = prop::collection::vec(
        (
            secs.clone(),
            prop::option::of(1..=m(30)),
            0..3usize,
            0..2usize,
        ),
        0..6,
    );
    let acks = prop::collection::vec(secs.clone(), 0..4);
    let runs = prop::collection::vec((secs.clone(), 0..2usize, 0..3u64), 0..40);
    let pnl = prop::collection::vec((secs.clone(), -5_000.0..1_000.0f64), 0..20);
    let cpus = prop::collection::vec((secs.clone(), 0.0..120.0f64), 0..30);
    let audits = prop::collection::vec((secs, 0..2usize, 0..3usize), 0..6);
    (alerts, acks, runs, pnl, cpus, audits).prop_map(|(alerts, acks, runs, pnl, cpus, audits)| {
        let mut obs = run();
        obs.schedules = vec!["mr_btc".into(), "vol".into()];
        obs.daily_loss_limit = Some(1_000.0);
        obs.cpu_budget_percent = Some(65.0);
        let severities = [Severity::Info, Severity::Warning, Severity::Critical];
        let schedules = ["mr_btc", "vol"];
        obs.alerts = alerts
            .into_iter()
            .map(|(from, len, sev, sch)| {
                let to = len.map(|l| (from + l).min(m(120))).filter(|&to| to > from);
                alert("A", schedules[sch], severities[sev], from, to)
            })
            .collect();
        obs.incidents = acks
            .into_iter()
            .map(|s| incident(s, IncidentAction::Acknowledge))
            .collect();
        obs.signals = runs
            .into_iter()
            .map(|(s, sch, n)| SignalCount {
                at: at(s),
                schedule: schedules[sch].into(),
                signals: n,
            })
            .collect();
        obs.pnl = pnl
            .into_iter()
            .map(|(s, v)| PnlSample {
                at: at(s),
                pnl_of_day: v,
            })
            .collect();
        obs.cpu = cpu(&cpus);
        let statuses = [AuditStatus::Ok, AuditStatus::Warn, AuditStatus::Fail];
        obs.audits = audits
            .into_iter()
            .map(|(s, tool, st)| {
                audit(
                    s,
                    ["audit compliance", "audit security-baseline"][tool],
                    statuses[st],
                )
            })
            .collect();
        obs
    })
}

proptest! {
    /// Records are in time order, inside the run, and the highest level never goes down.
    #[test]
    fn records_are_ordered_inside_the_run_and_levels_only_rise(obs in observations()) {
        let got = evaluate(&Policy::reference(), &obs).unwrap();
        prop_assert!(got.windows(2).all(|w| w[0].at <= w[1].at));
        prop_assert!(got.iter().all(|e| e.at >= obs.start && e.at <= obs.end));
        let mut last = None;
        for e in &got {
            let level = highest_level_by(&got, e.at);
            prop_assert!(level >= last);
            last = level;
        }
    }

    /// The order of the input lists does not matter (beyond ties, which keep list order).
    #[test]
    fn list_order_does_not_change_the_result(obs in observations()) {
        let mut reversed = obs.clone();
        reversed.pnl.reverse();
        reversed.cpu.reverse();
        reversed.signals.reverse();
        reversed.audits.reverse();
        reversed.incidents.reverse();
        let distinct = |times: Vec<SimTime>| {
            let n = times.len();
            times.into_iter().collect::<BTreeSet<_>>().len() == n
        };
        prop_assume!(distinct(obs.pnl.iter().map(|s| s.at).collect()));
        prop_assume!(distinct(obs.cpu.iter().map(|s| s.at).collect()));
        prop_assume!(distinct(obs.audits.iter().map(|s| s.at).collect()));
        let policy = Policy::reference();
        prop_assert_eq!(evaluate(&policy, &obs).unwrap(), evaluate(&policy, &reversed).unwrap());
    }

    /// Edge triggering: between two PnL escalations of one rule there is a sample at or
    /// under the bound, and an ack inside [start, deadline] always prevents the
    /// unacknowledged escalation of that period.
    #[test]
    fn pnl_rearms_only_after_clearing_and_acks_prevent_escalation(obs in observations()) {
        let got = evaluate(&Policy::reference(), &obs).unwrap();
        let mut pnl = obs.pnl.clone();
        pnl.sort_by_key(|s| s.at);
        let fires: Vec<SimTime> = got.iter().filter(|e| e.rule == "im-pnl").map(|e| e.at).collect();
        for w in fires.windows(2) {
            prop_assert!(pnl.iter().any(|s| s.at >= w[0] && s.at <= w[1] && -s.pnl_of_day <= 3_000.0));
        }
        for e in got.iter().filter(|e| e.rule == "l1-ack-missed") {
            let start = e.at - SimDuration::from_mins(5);
            prop_assert!(!obs.incidents.iter().any(|i| i.at >= start && i.at <= e.at));
        }
    }
}

fn transition(secs: u64, kind: TransitionKind, schedule: &str, severity: &str) -> AlertTransition {
    let labels = LabelSet::from_pairs([
        (ALERTNAME_LABEL, "MultiStrategySchedulerLatencyHigh"),
        (SCHEDULE_LABEL, schedule),
        (SEVERITY_LABEL, severity),
        ("team", "trading-ops"),
    ])
    .unwrap();
    AlertTransition {
        at: at(secs),
        kind,
        rule: "MultiStrategySchedulerLatencyHigh".to_owned(),
        labels,
        annotations: LabelSet::new(),
        value: Some(400.0),
        active_at: at(secs),
    }
}

#[test]
fn alert_periods_from_the_alert_evaluators_transitions() {
    use TransitionKind::*;
    let transitions = [
        transition(m(9), Pending, "mr_btc", "warning"),
        transition(m(10), Firing, "mr_btc", "warning"),
        transition(m(11), Pending, "vol", "warning"),
        transition(m(11) + 30, Cleared, "vol", "warning"),
        transition(m(12), Firing, "arb", "critical"),
        transition(m(20), Resolved, "mr_btc", "warning"),
        transition(m(40), Firing, "mr_btc", "warning"),
    ];
    let periods = AlertPeriod::from_transitions(&transitions).unwrap();
    let summary: Vec<_> = periods
        .iter()
        .map(|p| {
            (
                p.labels[SCHEDULE_LABEL].as_str(),
                p.severity,
                p.firing_from,
                p.resolved_at,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("mr_btc", Severity::Warning, at(m(10)), Some(at(m(20)))),
            ("arb", Severity::Critical, at(m(12)), None),
            ("mr_btc", Severity::Warning, at(m(40)), None),
        ]
    );
    assert_eq!(
        periods[0].labels.keys().collect::<Vec<_>>(),
        ["schedule", "team"]
    );

    let cases: &[(&str, Vec<AlertTransition>, &str)] = &[
        (
            "resolved without firing",
            vec![transition(m(5), Resolved, "mr_btc", "warning")],
            "resolves without firing",
        ),
        (
            "fires twice",
            vec![
                transition(m(5), Firing, "mr_btc", "warning"),
                transition(m(6), Firing, "mr_btc", "warning"),
            ],
            "fires again before resolving",
        ),
        (
            "no severity",
            vec![transition(m(5), Firing, "mr_btc", "page")],
            "has no `severity` label",
        ),
    ];
    for (name, transitions, expected) in cases {
        let err = AlertPeriod::from_transitions(transitions)
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{name}: {err}");
        assert!(
            err.starts_with(
                "alert transition MultiStrategySchedulerLatencyHigh at 2026-11-28T09:0"
            ),
            "{name}: {err}"
        );
    }
}
