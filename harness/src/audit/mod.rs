//! The site audits operators run before go-live and during incidents, each a library function
//! over plain inputs so the scenario runner can call it at simulated time:
//!
//! - [`compliance`]: `stage4 audit compliance` (reference Tool A, fixed, with real X.509);
//! - [`baseline`]: `stage4 audit security-baseline` (reference Tool B: TLS and RBAC baseline);
//! - [`rotation`]: `stage4 keys check-rotation` (reference Tool C: per-environment API keys);
//!
//! and their building blocks: [`findings`] (the recorder), [`registry`] (rotation registries),
//! [`x509`] (certificate, chain, key and permission checks).

pub mod baseline;
pub mod compliance;
pub mod findings;
pub mod registry;
pub mod rotation;
pub mod x509;
