//! The scenario library: `scenarios/*.toml` (files named `err_*.toml` are invalid on purpose
//! and are not listed).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The source tree's scenario directory, for running from anywhere inside a checkout.
const SOURCE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios");

/// One library entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Name (file stem).
    pub name: String,
    /// First line of the description.
    pub summary: String,
    /// The file.
    pub path: PathBuf,
}

/// The library directory: `given`, else `./scenarios`, else the source tree's.
pub fn resolve_dir(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = given {
        if !dir.is_dir() {
            bail!("--scenarios-dir {}: not a directory", dir.display());
        }
        return Ok(dir.to_owned());
    }
    for candidate in [Path::new("scenarios"), Path::new(SOURCE_DIR)] {
        if candidate.is_dir() {
            return Ok(candidate.to_owned());
        }
    }
    bail!("no scenarios directory here; pass --scenarios-dir or a path to a .toml file")
}

/// Every valid-by-name scenario file in `dir`, sorted by name.
pub fn list(dir: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().is_none_or(|e| e != "toml") || stem.starts_with("err_") {
            continue;
        }
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let summary = toml::from_str::<toml::Table>(&text)
            .ok()
            .and_then(|t| {
                t.get("description")
                    .and_then(|d| d.as_str())
                    .map(str::to_owned)
            })
            .and_then(|d| d.trim().lines().next().map(str::to_owned))
            .unwrap_or_default();
        out.push(Entry {
            name: stem.to_owned(),
            summary,
            path,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// A scenario argument: an existing file path, or a library name.
pub fn locate(arg: &str, dir: Option<&Path>) -> Result<PathBuf> {
    let as_path = Path::new(arg);
    if as_path.is_file() {
        return Ok(as_path.to_owned());
    }
    if arg.ends_with(".toml") || arg.contains('/') {
        bail!("{arg}: no such file");
    }
    let dir = dir.context("no scenarios directory to look the name up in")?;
    let candidate = dir.join(format!("{arg}.toml"));
    if candidate.is_file() {
        return Ok(candidate);
    }
    let names: Vec<String> = list(dir)?.into_iter().map(|e| e.name).collect();
    bail!(
        "no scenario named `{arg}` (the library has: {})",
        names.join(", ")
    )
}
