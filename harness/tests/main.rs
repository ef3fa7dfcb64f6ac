//! Integration tests of the stage4 harness (one binary; one module per area).

mod audit; // compliance, baseline, rotation reports on materialized sites; mTLS probe

mod decision_log; // `stage4 decision-log verify/append/incident/seal` exit codes and outputs
mod escalation; // `stage4 escalation template|validate` through the binary
mod governor; // engine.portfolio_governor: factors, limits, journal entries, determinism
mod load_test; // `stage4 scheduler load-test`: report, signal count, open vs closed loop, bad flags
mod promtool; // promtool accepts our rules and agrees with our alert evaluator
mod scenarios; // the scenario library: snapshots, determinism across processes, Chromium, promtool
mod sim_cli; // `stage4 sim run`: determinism across processes, replay, bad arguments, help
