//! Integration tests of the `stage4` binary, one test binary.

/// `stage4 sim run`: determinism across processes, replay, bad arguments, help.
mod sim_cli;
