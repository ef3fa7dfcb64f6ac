//! Runs a [`ScenarioPlan`]: builds the simulated world and the engine, merges their timelines,
//! injects the faults, executes the operator actions through the same library code as the CLI,
//! and collects what happened.
//!
//! ## The loop
//! At each step the runner takes the earliest of: the simulator's next delivery, the engine's
//! next wake-up, the next action. It delivers every simulator event up to that time (market
//! data, execution reports), executes the actions due, polls the engine, and sends the
//! engine's orders to the simulated venues at that time. One thread, ordered collections, no
//! clock: the same plan and seed give the same bytes.
//!
//! ## What is digested
//! `digest = SHA-256(simulator trace digest ‖ "\n" ‖ decision log)`. The simulator digest
//! covers every delivered event and every order; the decision log covers every decision. The
//! training site's certificates are generated with fresh keys each run, so nothing derived from
//! them (fingerprints, serials) is allowed into the log or the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use stage4_engine::decision_log::entry::{
    self as log_entry, Entry, IncidentAction, IncidentSeverity, SupportLevel,
};
use stage4_engine::decision_log::incident::{IncidentBook, IncidentRequest};
use stage4_engine::decision_log::{Algorithm, DecisionLogWriter, SigningKey};
use stage4_engine::domain::{
    AccountId, Amount, InstrumentSpec, MarketEvent, SimDuration, SimTime, StrategyId, VenueId,
};
use stage4_engine::engine::{Engine, EngineSettings, VenueCommand};
use stage4_engine::execution::positions::PositionKey;
use stage4_engine::execution::router::ExecutionSettings;
use stage4_engine::scheduler::{
    AccessToken, Expiry, LimitRequest, Rbac, SCOPE_READ, SCOPE_WRITE, Scheduler, SchedulerSettings,
    SimulatedCompute, SuspendRequest, SuspensionScope,
};
use stage4_engine::telemetry::RangeBoundary;
use stage4_engine::telemetry::promtool::{RecordedRun, RuleTestBuilder};
use stage4_reports::compliance::ComplianceReport;
use stage4_sim::config::{AccountConfig, Units};
use stage4_sim::{Delivered, SimBuilder};

use super::observe::{ActionResult, Observations};
use super::plan::{
    Action, IncidentStep, PlannedAction, ScenarioPlan, baseline_args, compliance_args,
};
use crate::audit::{baseline, compliance, rotation};
use crate::escalation::AuditStatus;
use crate::rollback::{self, DisableRequest, Disabled};
use crate::secrets::{EnvFile, Secrets};
use crate::site::{self, MaterializedSite, SiteSpec, TEMPLATE_SECRETS_ENV};
use stage4_reports::rotation::RotationState;

/// The rules file name the promtool test refers to (written beside it).
pub const RULES_FILE: &str = "alert_rules.yml";
/// How often the simulated Prometheus scrapes the engine (the alert rules read the scrapes).
pub const SCRAPE_INTERVAL: SimDuration = SimDuration::from_secs(15);
/// Our account id on every simulated venue.
pub const ENGINE_ACCOUNT: AccountId = AccountId(1);
/// Token id of the control-API token actions use.
const CONTROL_TOKEN_ID: &str = "scheduler-local";
/// Key id written into decision-log signatures (the site's live-router log).
const LOG_KEY_ID: &str = "live-router";

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Seed override (`--seed`).
    pub seed: Option<u64>,
    /// Where the training site and overrides live (a temporary directory when `None`).
    pub work_dir: Option<PathBuf>,
}

/// Everything a finished run produced.
#[derive(Debug)]
pub struct RunOutcome {
    /// The plan that ran (with the seed actually used).
    pub plan: ScenarioPlan,
    /// SHA-256 over the simulator trace digest and the decision log.
    pub digest: String,
    /// The simulator's own trace digest.
    pub sim_digest: String,
    /// The signed decision log, one line per entry, newline-terminated.
    pub decision_log: String,
    /// The key that signed it (for verification).
    pub log_key: SigningKey,
    /// Typed observations.
    pub observations: Observations,
    /// Telemetry at the end (Prometheus text format).
    pub exposition: String,
    /// The engine's metrics store.
    pub metrics: stage4_engine::telemetry::MetricsStore,
    /// A `promtool test rules` file built from this run's series and the alerts our evaluator
    /// fired (checked against Prometheus itself in CI).
    pub promtool_tests: String,
    /// The last 30 s evaluation of the alert rules.
    pub last_alert_evaluation: Option<SimTime>,
    /// Final total PnL, quote units.
    pub final_pnl: f64,
    /// Final total equity.
    pub final_equity: f64,
    /// Daily loss limit of the strictest schedule profile, quote units (for escalation).
    pub daily_loss_limit: f64,
}

/// The training secrets every scenario uses (the committed fixture; see `fixtures/oem/README.md`).
pub fn training_secrets() -> Result<EnvFile> {
    EnvFile::parse(TEMPLATE_SECRETS_ENV).context("fixtures/oem/secrets.env")
}

struct Site {
    materialized: MaterializedSite,
    secrets: Secrets,
}

/// Runs a scenario to its end.
pub fn run(plan: &ScenarioPlan, options: &RunOptions) -> Result<RunOutcome> {
    let mut plan = plan.clone();
    if let Some(seed) = options.seed {
        plan.seed = seed;
        plan.sim.seed = seed;
    }
    let temp;
    let work: PathBuf = match &options.work_dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir().context("cannot create a work directory")?;
            temp.path().to_owned()
        }
    };
    let secrets_file = training_secrets()?;
    let key_text = secrets_file
        .get(&plan.engine.key_env)
        .with_context(|| format!("the training secrets do not set {}", plan.engine.key_env))?
        .to_owned();
    let control_token = secrets_file
        .get("CORE_SCHEDULER_TOKEN")
        .context("the training secrets do not set CORE_SCHEDULER_TOKEN")?
        .to_owned();
    let log_key = SigningKey::new(key_text.into_bytes(), Some(LOG_KEY_ID.to_owned()));

    // ---- the world
    let mut sim_config = plan.sim.clone();
    let capital = plan.engine.capital;
    let builder_probe = SimBuilder::new(sim_config.clone()).context("simulator configuration")?;
    let market = builder_probe.market_plan().clone();
    let quote = market
        .symbols
        .first()
        .map(|s| s.spec.quote)
        .context("no symbols")?;
    for venue in &sim_config.venues {
        let mut balances = BTreeMap::new();
        balances.insert(
            quote,
            Units(Amount::from_units_f64(capital).context("capital")?),
        );
        for s in &market.symbols {
            let inventory =
                plan.engine.inventory * capital / market.symbols.len() as f64 / s.start_price;
            let amount = Amount::from_units_f64(inventory).context("inventory")?;
            let entry = balances.entry(s.spec.base).or_insert(Units(Amount::ZERO));
            entry.0 += amount;
        }
        sim_config.accounts.push(AccountConfig {
            account: ENGINE_ACCOUNT,
            venue: venue.name,
            balances,
        });
    }
    let builder = SimBuilder::new(sim_config).context("simulator configuration")?;
    let mut sim = builder.build();
    let venues: Vec<VenueId> = builder
        .market_plan()
        .venues
        .iter()
        .map(|v| v.name)
        .collect();
    let instruments: Vec<(VenueId, InstrumentSpec)> = venues
        .iter()
        .flat_map(|v| {
            builder
                .market_plan()
                .symbols
                .iter()
                .map(move |s| (*v, s.spec.clone()))
        })
        .collect();

    // ---- the engine
    let mut schedules = Vec::new();
    for s in &plan.schedules {
        let strategy = s
            .strategy
            .build()
            .with_context(|| format!("schedule {}", s.spec.name))?;
        schedules.push((s.spec.clone(), strategy));
    }
    let rbac = Rbac::new(vec![AccessToken::from_secret(
        CONTROL_TOKEN_ID,
        &control_token,
        &[SCOPE_READ, SCOPE_WRITE],
    )]);
    let scheduler = Scheduler::new(
        SchedulerSettings {
            environment: plan.environment.clone(),
            portfolio: "core".to_owned(),
            capital: plan.engine.policy.clone(),
            governor: plan.engine.governor.clone(),
        },
        schedules,
        rbac,
    )
    .context("scheduler configuration")?;
    let longest_warmup = plan
        .schedules
        .iter()
        .map(|s| {
            let ratio =
                (s.spec.market.interval.as_nanos() / plan.sim.bar_intervals[0].as_nanos()).max(1);
            (u64::from(s.spec.warmup_bars) + 30) * ratio
        })
        .max()
        .unwrap_or(64);
    let settings = EngineSettings {
        environment: plan.environment.clone(),
        portfolio: "core".to_owned(),
        valuation: quote,
        capital: Amount::from_units_f64(capital).context("capital")?,
        accounts: venues.iter().map(|v| (*v, ENGINE_ACCOUNT)).collect(),
        execution: ExecutionSettings {
            position_size: plan.engine.position_size,
            ..ExecutionSettings::default()
        },
        alert_boundary: RangeBoundary::Closed,
        data_feed: "stage4-sim".to_owned(),
        bar_capacity: usize::try_from(longest_warmup).unwrap_or(1024).max(64),
        scrape_interval: SCRAPE_INTERVAL,
    };
    let log = DecisionLogWriter::new_chained(log_key.clone(), Algorithm::HmacSha256);
    let mut engine = Engine::new(
        settings,
        instruments,
        scheduler,
        vec![],
        Some(log),
        plan.start,
    )
    .context("engine configuration")?;
    let mut compute = SimulatedCompute::default();
    for spike in &plan.compute_spikes {
        compute.add_spike(spike.clone());
    }

    // ---- the loop
    let overrides = work.join("var/runtime/overrides");
    let mut site: Option<Site> = None;
    let mut incidents = IncidentBook::new();
    let mut obs = Observations::default();
    let mut log_lines: Vec<String> = Vec::new();
    let cross: Vec<(String, StrategyId, [VenueId; 2])> = plan
        .schedules
        .iter()
        .filter_map(|s| {
            Some((
                s.spec.name.clone(),
                StrategyId::new(&s.spec.name).expect("validated name"),
                [s.spec.market.venue, s.spec.market.secondary_venue?],
            ))
        })
        .collect();
    let mut next_action = 0;
    loop {
        let candidates = [
            sim.next_time(),
            engine.next_wakeup(),
            plan.actions.get(next_action).map(|a| a.at),
        ];
        let Some(now) = candidates.into_iter().flatten().min() else {
            break;
        };
        if now > plan.end {
            break;
        }
        // step_until also runs the simulator's internal events (order arrivals, book
        // refreshes) up to `now`, and stops before anything later.
        while let Some(delivery) = sim.step_until(now) {
            match delivery.item {
                Delivered::Market(event) => {
                    if let MarketEvent::Bar(bar) = &event
                        && delivery.at >= plan.start
                        && let Some(spec) = builder
                            .market_plan()
                            .symbols
                            .iter()
                            .find(|s| s.symbol == bar.symbol)
                    {
                        obs.prices
                            .entry((bar.venue, bar.symbol))
                            .or_default()
                            .points
                            .push((bar.close_at(), spec.spec.price_to_f64(bar.close)));
                    }
                    engine.on_market(delivery.at, &event);
                    if delivery.at >= plan.start
                        && matches!(event, MarketEvent::Bar(b) if b.venue == venues[0] && b.symbol == builder.market_plan().symbols[0].symbol)
                    {
                        let ledger = engine.ledger();
                        obs.equity
                            .points
                            .push((delivery.at, ledger.total_equity().to_units_f64()));
                        obs.drawdown
                            .points
                            .push((delivery.at, ledger.total_pnl_drawdown_pct()));
                    }
                }
                Delivered::Report(report) => engine.on_exec(delivery.at, &report),
                Delivered::Timer(_) => {}
            }
        }
        while let Some(action) = plan.actions.get(next_action) {
            if action.at > now {
                break;
            }
            let result = execute(
                &plan,
                action,
                &work,
                &overrides,
                &mut site,
                &mut incidents,
                &mut engine,
                &control_token,
            )?;
            obs.actions.push(result);
            next_action += 1;
        }
        if engine.next_wakeup().is_some_and(|w| w <= now) {
            engine.poll(now, &mut compute);
        }
        for command in engine.drain_commands() {
            match command {
                VenueCommand::Submit(order) => sim.submit_order(now, &order),
            }
        }
        obs.ingest(engine.drain_events());
        log_lines.extend(engine.drain_log_lines());
        for (name, schedule, pair) in &cross {
            let ledger = engine.ledger();
            let unhedged = builder.market_plan().symbols.iter().any(|s| {
                let qty = |venue: VenueId| {
                    ledger
                        .position(&PositionKey {
                            strategy: *schedule,
                            venue,
                            symbol: s.symbol,
                        })
                        .map_or(0, |p| p.qty.get())
                };
                // A pair is hedged when both legs are flat or they point opposite ways; the
                // strategy sizes each leg at its own price, so lot counts may differ by a lot.
                let (a, b) = (qty(pair[0]).signum(), qty(pair[1]).signum());
                !(a == 0 && b == 0 || a * b == -1)
            });
            obs.observe_hedge(name, now, unhedged);
        }
    }
    for (name, _, _) in &cross {
        obs.observe_hedge(name, plan.end, false);
    }
    engine.seal_log(plan.end);
    obs.ingest(engine.drain_events());
    log_lines.extend(engine.drain_log_lines());

    let mut decision_log = String::new();
    for line in &log_lines {
        decision_log.push_str(line);
        decision_log.push('\n');
    }
    let sim_digest = sim.digest_hex();
    let mut hasher = Sha256::new();
    hasher.update(sim_digest.as_bytes());
    hasher.update(b"\n");
    hasher.update(decision_log.as_bytes());
    let digest = crate::audit::x509::hex(&hasher.finalize());
    let final_equity = engine.ledger().total_equity().to_units_f64();
    let daily_loss_limit = plan
        .schedules
        .iter()
        .filter_map(|s| engine.risk().profile(&s.spec.risk_profile))
        .map(|p| p.limits.daily_loss_limit)
        .filter(|l| *l > 0.0)
        .fold(f64::INFINITY, f64::min);
    let mut tests = RuleTestBuilder::new(RULES_FILE, engine.alerts().group());
    let mut recorded =
        RecordedRun::from_evaluator(&plan.name, engine.scraped_metrics(), engine.alerts())
            .context("building the promtool test")?;
    recorded.scrape_interval = Some(SCRAPE_INTERVAL);
    tests
        .add_run(recorded)
        .context("building the promtool test")?;
    let promtool_tests = tests.to_yaml();
    Ok(RunOutcome {
        last_alert_evaluation: engine.alerts().last_evaluation(),
        promtool_tests,
        digest,
        sim_digest,
        decision_log,
        log_key,
        exposition: stage4_engine::telemetry::render_exposition(engine.metrics()),
        metrics: engine.metrics().clone(),
        final_pnl: final_equity - capital,
        final_equity,
        daily_loss_limit: if daily_loss_limit.is_finite() {
            daily_loss_limit * capital
        } else {
            0.0
        },
        observations: obs,
        plan,
    })
}

fn site_for<'a>(plan: &ScenarioPlan, work: &Path, site: &'a mut Option<Site>) -> Result<&'a Site> {
    if site.is_none() {
        let mut spec = SiteSpec::new(work.join("site"), plan.start);
        spec.force = true;
        spec.rotated_days_ago = plan.site.rotated_days_ago;
        spec.cert_valid_days = plan.site.cert_valid_days;
        if let Some(role) = plan.site.expired {
            spec.expired.insert(role);
        }
        let materialized = site::materialize(&spec).context("materializing the training site")?;
        let env = EnvFile::load(&materialized.env_file)?;
        *site = Some(Site {
            materialized,
            secrets: Secrets::isolated(env),
        });
    }
    Ok(site.as_ref().expect("just set"))
}

fn status_word<T: serde::Serialize>(status: &T) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

#[allow(clippy::too_many_arguments)]
fn execute(
    plan: &ScenarioPlan,
    planned: &PlannedAction,
    work: &Path,
    overrides: &Path,
    site: &mut Option<Site>,
    incidents: &mut IncidentBook,
    engine: &mut Engine,
    control_token: &str,
) -> Result<ActionResult> {
    let at = planned.at;
    let mut result = ActionResult {
        index: planned.index,
        at,
        name: planned.name.clone(),
        status: "done".to_owned(),
        audit_status: None,
        warnings: Vec::new(),
        issues: Vec::new(),
        detail: String::new(),
    };
    // The decision-log line for an audit-like action, from the result it filled in.
    let audit_entry = |tool: &str, result: &ActionResult| log_entry::AuditResult {
        at,
        tool: tool.to_owned(),
        status: result.status.clone(),
        issues: result.issues.len() as u64,
        warnings: result.warnings.len() as u64,
        report_digest: None,
        report_path: None,
    };
    match &planned.action {
        Action::AuditCompliance { flags } => {
            let site = site_for(plan, work, site)?;
            let args = compliance_args(flags).map_err(anyhow::Error::msg)?;
            let mut cplan = crate::cli::audit::compliance_plan(&args)?;
            cplan.config_path = site.materialized.config.clone();
            cplan.as_of = at;
            let report: ComplianceReport = compliance::run(&cplan, &site.secrets)?;
            result.status = status_word(&report.status);
            result.audit_status = Some(report.status.into());
            result.issues = report.issues.iter().map(|f| f.check.clone()).collect();
            result.warnings = report.warnings.iter().map(|f| f.check.clone()).collect();
            result.detail = format!(
                "{} issue(s), {} warning(s)",
                result.issues.len(),
                result.warnings.len()
            );
            engine.log_entry(audit_entry("audit_compliance", &result).to_json());
        }
        Action::AuditBaseline { flags } => {
            let site = site_for(plan, work, site)?;
            let args = baseline_args(flags).map_err(anyhow::Error::msg)?;
            let mut bplan = crate::cli::audit::baseline_plan(&args, &site.secrets)?;
            bplan.config_path = site.materialized.config.clone();
            bplan.as_of = at;
            let report = baseline::run(&bplan, &site.secrets)?;
            result.status = status_word(&report.status);
            result.audit_status = Some(report.status.into());
            result.issues = report.errors;
            result.warnings = report.warnings;
            result.detail = format!(
                "{} error(s), {} warning(s)",
                result.issues.len(),
                result.warnings.len()
            );
            engine.log_entry(audit_entry("audit_security_baseline", &result).to_json());
        }
        Action::CheckKeyRotation { environment } | Action::RotateKey { environment } => {
            let site = site_for(plan, work, site)?;
            let mut rplan = rotation::RotationPlan::new(&site.materialized.config, at);
            rplan.environments = vec![environment.clone()];
            rplan.mark_rotated = matches!(planned.action, Action::RotateKey { .. });
            let report = rotation::run(&rplan)?;
            result.status = status_word(&report.status);
            result.audit_status = Some(match report.status {
                RotationState::Ok => AuditStatus::Ok,
                RotationState::DueSoon => AuditStatus::Warn,
                RotationState::Overdue => AuditStatus::Fail,
            });
            result.detail = format!("{environment}: {}", result.status);
            if rplan.mark_rotated {
                result.detail.push_str(", rotation recorded");
            }
            // A rotation check has no issue or warning list: the entry counts 0 and 0.
            engine.log_entry(audit_entry("check_key_rotation", &result).to_json());
        }
        Action::Disable {
            reason,
            ticket,
            requested_by,
            duration,
        } => {
            let request = DisableRequest {
                dir: overrides.to_owned(),
                reason: reason.clone(),
                requested_by: requested_by.clone(),
                ticket: ticket.clone(),
                duration: *duration,
                now: at,
                replace: false,
            };
            match rollback::disable(&request)? {
                Disabled::Written(o) => {
                    result.detail = format!(
                        "override written, {}",
                        o.expires_at
                            .map_or("until restored".to_owned(), |t| format!("expires at {t}"))
                    );
                }
                Disabled::AlreadyDisabled(_) => {
                    result.status = "refused".to_owned();
                    result.detail = "an override already exists".to_owned();
                }
            }
            engine.observe_rollback(at, rollback::read_override(overrides)?);
            log_operator(
                engine,
                at,
                "disable_multi_strategy",
                requested_by.as_deref(),
                ticket.as_deref(),
                &result.detail,
            );
        }
        Action::Restore { ticket } => {
            let removed = rollback::restore(overrides)?;
            result.detail = if removed.is_some() {
                "override removed".to_owned()
            } else {
                "no override to remove".to_owned()
            };
            engine.observe_rollback(at, rollback::read_override(overrides)?);
            log_operator(
                engine,
                at,
                "restore_multi_strategy",
                None,
                ticket.as_deref(),
                &result.detail,
            );
        }
        Action::Incident {
            step,
            ticket,
            severity,
            level,
            note,
            actor,
        } => {
            let request = IncidentRequest {
                at,
                action: match step {
                    IncidentStep::Open => IncidentAction::Open,
                    IncidentStep::Acknowledge => IncidentAction::Acknowledge,
                    IncidentStep::Escalate => IncidentAction::Escalate,
                    IncidentStep::Resolve => IncidentAction::Resolve,
                },
                ticket: ticket.clone(),
                severity: severity.as_deref().and_then(IncidentSeverity::from_name),
                level: level.as_deref().and_then(SupportLevel::from_name),
                owner: actor.clone(),
                note: note.clone(),
                alert: None,
            };
            match incidents.step(request) {
                Ok(entry) => {
                    let json = entry.to_json();
                    incidents.observe(&json);
                    engine.log_entry(json);
                    result.detail =
                        format!("{ticket}: {}", planned.name.trim_start_matches("incident_"));
                }
                Err(e) => {
                    result.status = "refused".to_owned();
                    result.detail = e.to_string();
                }
            }
        }
        Action::LoadTest {
            iterations,
            schedules,
            signals,
            latency_ms,
        } => {
            let set = crate::load_test::schedules::synthetic(*schedules, *signals);
            let per_call = SimDuration::from_millis_f64(*latency_ms);
            let measured = crate::load_test::simulated::run(&set, plan.seed, *iterations, per_call)
                .with_context(|| format!("action {} (`load_test`)", planned.index))?;
            result.status = if measured.passed() { "pass" } else { "fail" }.to_owned();
            result.detail = format!(
                "{iterations} iterations × {schedules} schedules in simulated time: p99 {:.3} ms \
                 (criterion < 250 ms), {} signals, {} failed runs; CPU and memory are not \
                 measured in a scenario (`stage4 scheduler load-test` measures them)",
                measured.percentile_ms(0.99),
                measured.signals_emitted,
                measured.failed_runs,
            );
            engine.log_entry(
                log_entry::LoadTestResult {
                    at,
                    iterations: u64::from(measured.iterations),
                    schedules: u64::from(measured.schedules),
                    signals_emitted: measured.signals_emitted,
                    avg_latency_ms: measured.avg_latency_ms(),
                    p95_latency_ms: Some(measured.percentile_ms(0.95)),
                    max_latency_ms: measured.max_latency_ms(),
                    jitter_ms: measured.jitter_ms(),
                    resource_status: "not_measured".to_owned(),
                    report_digest: None,
                    report_path: None,
                }
                .to_json(),
            );
        }
        Action::Suspend {
            schedule,
            tag,
            reason,
            duration,
        } => {
            let request = SuspendRequest {
                scope: if schedule.is_some() {
                    SuspensionScope::Schedule
                } else {
                    SuspensionScope::Tag
                },
                name: schedule.clone().or_else(|| tag.clone()).expect("validated"),
                reason: reason.clone(),
                expiry: duration.map_or(Expiry::Never, Expiry::After),
            };
            match engine.scheduler().suspend(control_token, at, &request) {
                Ok(()) => result.detail = format!("suspended {}", request.name),
                Err(e) => {
                    result.status = "refused".to_owned();
                    result.detail = e.to_string();
                }
            }
        }
        Action::Resume { schedule, tag } => {
            let scope = if schedule.is_some() {
                SuspensionScope::Schedule
            } else {
                SuspensionScope::Tag
            };
            let name = schedule.clone().or_else(|| tag.clone()).expect("validated");
            match engine.scheduler().resume(control_token, at, scope, &name) {
                Ok(existed) => {
                    result.detail = if existed {
                        format!("resumed {name}")
                    } else {
                        format!("{name} was not suspended")
                    }
                }
                Err(e) => {
                    result.status = "refused".to_owned();
                    result.detail = e.to_string();
                }
            }
        }
        Action::SetSignalLimit {
            strategy,
            profile,
            limit,
            reason,
            duration,
        } => {
            let request = LimitRequest {
                strategy: strategy.clone(),
                profile: profile.clone(),
                limit: *limit,
                reason: reason.clone(),
                expiry: duration.map_or(Expiry::Never, Expiry::After),
            };
            match engine
                .scheduler()
                .set_signal_limit(control_token, at, &request)
            {
                Ok(()) => result.detail = format!("{strategy}/{profile} limited to {limit}"),
                Err(e) => {
                    result.status = "refused".to_owned();
                    result.detail = e.to_string();
                }
            }
        }
    }
    Ok(result)
}

fn log_operator(
    engine: &mut Engine,
    at: SimTime,
    action: &str,
    actor: Option<&str>,
    ticket: Option<&str>,
    detail: &str,
) {
    engine.log_entry(
        log_entry::OperatorAction {
            at,
            action: action.to_owned(),
            actor: actor.map(str::to_owned),
            ticket: ticket.map(str::to_owned),
            details: [(
                "result".to_owned(),
                stage4_engine::decision_log::Json::str(detail),
            )]
            .into_iter()
            .collect(),
        }
        .to_json(),
    );
}
