//! The escalation checklist: the team's escalation rules as JSONL, validated, and evaluated
//! over a simulated run.
//!
//! The reference workshop asks each team for "its own escalation checklist in JSONL" but gives
//! no format (ops.md §8). This is that format. [`policy`] holds the typed model,
//! [`checklist`] the parser that reports every bad line, [`evaluate`](mod@evaluate) the evaluator. All of it
//! is pure: the `stage4 escalation` commands (`cli::escalation`) do the I/O.
//!
//! # The file
//!
//! One rule per line, a JSON object. Blank lines and lines starting with `#` are ignored.
//!
//! ```text
//! {"id": "l1-ack-missed", "condition": "alert_unacknowledged", "threshold": null, "duration": "5m", "level": "L2", "action": "L2 takes the alert"}
//! ```
//!
//! | key | required | value |
//! |---|---|---|
//! | `condition` | yes | one of the seven conditions below |
//! | `level` | yes | `L1`, `L2`, `tech_lead` or `incident_manager` (exactly; ordered lowest first) |
//! | `action` | yes | what that level does (text) |
//! | `duration` | timed conditions | `"5m"`, `"15m"`, `"1h30m"`, … ([`SimDuration::parse`]); the other conditions take it absent, `null` or `"0s"` |
//! | `threshold` | `pnl_loss_vs_daily_limit`, `cpu_over_budget`, `audit_status` | a number > 0, or an audit status; the other conditions take it absent or `null` |
//! | `id` | no | a name for the rule, unique in the file: letters, digits, `.`, `_`, `-` |
//! | `description` | no | text for people |
//! | `severity` | no | alert conditions: only alerts of this severity **or worse** (`info` < `warning` < `critical`) |
//! | `alert` | no | alert conditions: only this alert rule (`alertname`) |
//! | `schedule` | no | alert conditions: only alerts labelled with this schedule; `no_signals`: only this schedule |
//! | `tool` | no | `audit_status`: only audits by this tool (e.g. `audit compliance`) |
//!
//! Any other key is an error, and so is a filter on a condition it cannot narrow: a typo must
//! not quietly widen a rule. `null` means "absent" for every optional key.
//!
//! # The conditions
//!
//! "Fires at" is the instant the escalation is recorded. Durations are read as "once the
//! duration is complete": the playbooks' "more than 5 min" fires at start + 5 min, and an
//! event that clears the condition at exactly that instant (the alert resolves, a schedule
//! emits, CPU drops back) wins over the deadline.
//!
//! - `alert_firing`: an alert period matching the filters starts. Fires at `firing_from`,
//!   once per alert period. The level is engaged (in the reference, L1 acknowledges).
//! - `alert_unacknowledged` (`duration` D): a matching alert is still firing D after it
//!   started and no incident was acknowledged (an `acknowledge` step on any ticket) between
//!   its start and that deadline, both inclusive. Fires at `firing_from + D`, once per alert
//!   period. Opening or escalating an incident is not an acknowledgement. Reference: L1
//!   acknowledges within 5 min, else L2.
//! - `problem_persists` (D): a matching alert is still firing D after it started,
//!   acknowledged or not. Fires at `firing_from + D`, once per alert period. Reference: L1
//!   escalates to L2 when the problem lasts more than 5 min.
//! - `no_signals` (D): a schedule emitted no signal for D. Its silence starts at the run start
//!   or at its last run with at least one signal; runs with zero signals do not break it.
//!   Fires at `silent since + D`, once per silence. Without `schedule` every schedule is
//!   watched separately: those the observations declare and those that ran; with
//!   `"schedule": "*"` the portfolio is watched as one (no schedule emitted anything), which
//!   is what the default checklist does. Reference: 15 min → tech lead and Incident Manager.
//! - `pnl_loss_vs_daily_limit` (`threshold` k): a PnL sample whose loss of the day
//!   (`-pnl_of_day`) is strictly greater than k × the daily loss limit. Fires at that
//!   sample; re-armed by a sample at or under the bound. Reference: 3× → tech lead and
//!   Incident Manager.
//! - `cpu_over_budget` (k, D): CPU strictly above k × the budget (k = 1.2 is 120 %) for D,
//!   each sample's value holding until the next. Fires at the first over-budget sample + D;
//!   re-armed by a sample at or under the bound. `0s` fires on the first sample over.
//!   Reference: 120 % for 10 min → tech lead and Incident Manager; a breach (100 %) → L2, and
//!   a breach lasting 10 min → roll back.
//! - `audit_status` (`threshold` `fail`, `warn` or `ok`): an audit returned that status or
//!   worse (`ok` < `warn` < `fail`). Fires at the audit, once per tool until that tool's audit
//!   comes back better. Reference: `fail` → L2 and Incident Manager.
//!
//! Nothing fires after the end of the run, so a deadline past it is not an escalation.
//!
//! # Use
//!
//! ```
//! use stage4_engine::domain::{SimDuration, SimTime};
//! use stage4_engine::telemetry::rules::Severity;
//! use stage4_harness::escalation::{
//!     AlertPeriod, Level, Observations, Policy, SignalCount, evaluate, highest_level_by,
//!     to_jsonl,
//! };
//!
//! let start = SimTime::parse_rfc3339("2026-11-28T09:00:00Z").unwrap();
//! let mins = SimDuration::from_mins;
//! let mut obs = Observations::new(start, start + mins(60));
//! // The portfolio signals every minute, so `no_signals` stays quiet.
//! for m in 0..60 {
//!     obs.signals.push(SignalCount { at: start + mins(m), schedule: "mr_btc".into(), signals: 1 });
//! }
//! obs.alerts.push(AlertPeriod {
//!     rule: "MultiStrategySchedulerLatencyHigh".into(),
//!     labels: [("schedule".into(), "mr_btc".into())].into(),
//!     severity: Severity::Warning,
//!     firing_from: start + mins(10),
//!     resolved_at: None,
//! });
//! // Nobody acknowledges: L1 at 09:10, L2 at 09:15.
//! let escalations = evaluate(&Policy::reference(), &obs).unwrap();
//! assert_eq!(highest_level_by(&escalations, start + mins(14)), Some(Level::L1));
//! assert_eq!(highest_level_by(&escalations, start + mins(15)), Some(Level::L2));
//! assert!(to_jsonl(&escalations).starts_with("{\"action\":"));
//! ```
//!
//! [`SimDuration::parse`]: stage4_engine::domain::SimDuration::parse

pub mod checklist;
pub mod evaluate;
pub mod policy;

pub use checklist::{ChecklistError, KNOWN_KEYS, LineProblem, Problem};
pub use evaluate::{
    AlertPeriod, AuditOutcome, CpuSample, Escalation, IncidentEvent, ObservationError,
    Observations, PnlSample, SignalCount, evaluate, highest_level_by, to_jsonl,
};
pub use policy::{AuditStatus, Condition, DEFAULT_CHECKLIST, Filter, Level, Policy, Rule, Trigger};
