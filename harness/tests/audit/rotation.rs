//! `stage4 keys check-rotation` on materialized sites.

use stage4_harness::audit::rotation::{self, RotationError, RotationPlan};
use stage4_harness::site::MaterializedSite;
use stage4_reports::rotation::RotationState;

use super::{as_of, redact, site};

fn plan(site: &MaterializedSite, envs: &[&str]) -> RotationPlan {
    let mut p = RotationPlan::new(&site.config, as_of());
    p.environments = envs.iter().map(|s| (*s).to_owned()).collect();
    p
}

#[test]
fn fresh_due_soon_and_overdue_keys() {
    for (days, state, name) in [
        (5.0, RotationState::Ok, "rotation_keys_fresh"),
        (85.0, RotationState::DueSoon, "rotation_keys_85_days"),
        (95.0, RotationState::Overdue, "rotation_keys_95_days"),
    ] {
        let (_dir, site) = site(|s| s.keys_rotated_days_ago = days);
        let report = rotation::run(&plan(&site, &["live_binance"])).unwrap();
        assert_eq!(report.status, state, "{days} days");
        let text = redact(&rotation::render_text(&report), &site.root);
        insta::assert_snapshot!(name, text);
    }
}

#[test]
fn warn_days_and_interval_move_the_verdict_like_the_reference() {
    // 80 days old with 90/14 → due in 10 → warn; --warn-days 5 → ok; --interval-days 79 → overdue.
    let (_dir, site) = site(|s| s.keys_rotated_days_ago = 80.0);
    let mut p = plan(&site, &["live_binance"]);
    p.warn_days = 5.0;
    assert_eq!(rotation::run(&p).unwrap().status, RotationState::Ok);
    let mut p = plan(&site, &["live_binance"]);
    p.interval_days = 79.0;
    let report = rotation::run(&p).unwrap();
    assert_eq!(report.status, RotationState::Overdue);
    assert_eq!(report.environments[0].due_in_days, -1.0);
}

#[test]
fn json_report_covers_every_environment_by_default() {
    let (_dir, site) = site(|_| {});
    let report = rotation::run(&plan(&site, &[])).unwrap();
    let names: Vec<_> = report
        .environments
        .iter()
        .map(|e| e.environment.as_str())
        .collect();
    assert_eq!(names, ["live_binance", "binance_paper", "kraken_live"]);
    let text = redact(
        &stage4_reports::render::json::to_pretty_sorted(&report).unwrap(),
        &site.root,
    );
    insta::assert_snapshot!("rotation_json_all_environments", text);
}

#[test]
fn mark_rotated_touches_only_the_named_environment_and_keeps_the_old_verdict() {
    let (_dir, site) = site(|s| s.keys_rotated_days_ago = 95.0);
    let other_before = std::fs::read(&site.environment_registries["kraken_live"]).unwrap();
    let registry = &site.environment_registries["live_binance"];
    let mut text = std::fs::read_to_string(registry).unwrap();
    text = text.replace('}', ",\"unrelated::entry\":\"not a date\"}");
    std::fs::write(registry, &text).unwrap();
    let mut p = plan(&site, &["live_binance"]);
    p.mark_rotated = true;
    let report = rotation::run(&p).unwrap();
    assert_eq!(
        report.status,
        RotationState::Overdue,
        "exit reflects the state before"
    );
    assert_eq!(report.marked_rotated, ["live_binance"]);
    assert_eq!(
        std::fs::read_to_string(registry).unwrap(),
        "{\"live_binance_trading::trading\":\"2026-11-28T09:00:00Z\",\"unrelated::entry\":\"not a date\"}\n"
    );
    assert_eq!(
        std::fs::read(&site.environment_registries["kraken_live"]).unwrap(),
        other_before
    );
    let report = rotation::run(&plan(&site, &["live_binance"])).unwrap();
    assert_eq!(report.status, RotationState::Ok);
}

#[test]
fn bad_inputs_are_errors_and_bad_registries_are_findings() {
    let (_dir, site) = site(|_| {});
    let err = rotation::run(&plan(&site, &["binance_live"])).unwrap_err();
    assert!(matches!(err, RotationError::UnknownEnvironment { .. }));
    assert!(
        err.to_string()
            .contains("known: live_binance, binance_paper, kraken_live"),
        "{err}"
    );
    let mut p = plan(&site, &[]);
    p.mark_rotated = true;
    assert!(matches!(
        rotation::run(&p),
        Err(RotationError::MarkWithoutEnvironment)
    ));

    std::fs::write(
        &site.environment_registries["live_binance"],
        "{\"live_binance_trading::trading\": \"soon\"}",
    )
    .unwrap();
    let report = rotation::run(&plan(&site, &["live_binance"])).unwrap();
    assert_eq!(report.status, RotationState::Overdue);
    assert!(report.environments[0].notes[0].contains("unreadable timestamp `soon`"));
    std::fs::write(&site.environment_registries["live_binance"], "[]").unwrap();
    let report = rotation::run(&plan(&site, &["live_binance"])).unwrap();
    assert_eq!(report.status, RotationState::Overdue);
    assert!(
        report.environments[0].notes[0].contains("found a list"),
        "{:?}",
        report.environments[0].notes
    );
}
