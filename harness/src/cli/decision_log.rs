//! `stage4 decision-log verify | append | incident | seal`: the Rust replacement of the
//! reference `verify_decision_log.py` (verify mode and the `summary` entry builder), plus the
//! incident logging the support playbook asks for and the hash chain the reference lacks.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use stage4_engine::decision_log::chain::is_hash;
use stage4_engine::decision_log::entry::{Entry, IncidentAction, IncidentSeverity, SupportLevel};
use stage4_engine::decision_log::{
    Algorithm, DecisionLogWriter, IncidentBook, IncidentRequest, Json, SigningKey, VerifyOptions,
};
use stage4_engine::domain::SimTime;

use crate::decision_log::file::DEFAULT_LOCK_TIMEOUT;
use crate::decision_log::keys::RECOMMENDED_KEY_LEN;
use crate::decision_log::{Checked, DEFAULT_KEY_ENV, KeySource, LogFile, check_path, resolve_key};
use crate::exit::Exit;
use crate::secrets::Secrets;

/// The long help of `stage4 decision-log` (the `Command` variant's doc would hide the doc of
/// [`DecisionLogArgs`], so the variant points here).
pub const LONG_ABOUT: &str = "\
Verify, append to and manage signed decision logs (the reference's verify_decision_log.py).

A decision log is JSONL: one JSON object per line, signed with HMAC over canonical JSON in \
the reference system's exact format (`signature: {algorithm, value, key_id?}`), so logs \
verify across both systems. Entries may also carry a hash chain (`seq`, `prev_hash`) that \
makes deleted, reordered, replayed and (with a seal or an anchor) cut-off lines detectable.

The key is never taken on the command line: it comes from an environment variable \
(--hmac-key-env, default LIVE_DECISION_LOG_HMAC, looked up in --env-file first) or a key \
file (--hmac-key-file, mode 0600). It is never printed.

Exit codes: 0 ok, 1 a check failed (bad lines), 2 usage or input error.";

/// Arguments of `stage4 decision-log` (see [`LONG_ABOUT`]).
#[derive(Debug, Args)]
pub struct DecisionLogArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: DecisionLogCommand,
}

/// `decision-log` subcommands.
#[derive(Debug, Subcommand)]
pub enum DecisionLogCommand {
    /// Check every line of a log: JSON, signature, key id, hash chain; report all problems.
    ///
    /// Prints one line per bad line (`line N: problem; problem`, physical line numbers; blank
    /// lines are skipped but counted), then a summary. Logs written by the reference system
    /// (unchained, `", "` separators, with or without `key_id`) verify as well as ours.
    ///
    /// Unsigned lines are bad unless --allow-unsigned; a signed line always needs the key.
    /// A chained log's tail can be cut without leaving a gap: use --require-seal for sealed
    /// logs, or the anchors --expect-head / --expect-entries recorded when the log was closed.
    ///
    /// Exit codes: 0 every line good, 1 any bad line or failed expectation, 2 bad input
    /// (missing file, key variable unset or empty, key file readable by others, both key
    /// sources given, malformed --expect-head).
    Verify(VerifyArgs),
    /// Append one signed entry built from flags (the reference `summary` builder).
    ///
    /// Writes `{kind, timestamp, stage, status, artefacts, runtime_flags, signatures,
    /// metadata?, tags?, category?, event?, ...}` like `verify_decision_log.py summary
    /// --append`, checked against the decision-log v2 rules before writing: non-empty
    /// --stage and --status, an RFC 3339 --timestamp, at least one artefact whose values are
    /// non-empty strings, numbers, booleans or null, `hmac:` signature entries.
    ///
    /// The entry is signed; it is chained when the log is chained (or with --chain, which
    /// starts a chain). The append holds an exclusive lock, refuses a log whose last line is
    /// malformed, torn or a seal, and is fsynced before the command reports success.
    ///
    /// Exit codes: 0 appended, 2 bad input or a log that cannot be appended to.
    Append(AppendArgs),
    /// Log an incident step (category `stage4_incident`): open, ack, escalate, resolve.
    ///
    /// Replaces the documented-but-missing `summary --incident`. The step is checked against
    /// the ticket's history in the same log: only an open ticket can be acknowledged,
    /// escalated (to a higher level: L1 → L2 → IM) or resolved, and a ticket cannot be opened
    /// twice. Level, severity and owner carry over from earlier steps.
    ///
    /// Exit codes: 0 logged, 2 bad input or a step the log does not allow.
    Incident(IncidentArgs),
    /// Close a chained log with a `seal` entry (number of entries and head hash).
    ///
    /// A sealed log accepts no more entries, and `verify --require-seal` detects any cut-off
    /// tail. Prints the head hash to record as an external anchor.
    ///
    /// Exit codes: 0 sealed, 2 bad input or an unchained, damaged or already sealed log.
    Seal(SealArgs),
}

/// Where the HMAC key comes from.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Environment variable holding the HMAC key, looked up in --env-file first, then in the
    /// environment [default: LIVE_DECISION_LOG_HMAC].
    #[arg(long, value_name = "NAME", conflicts_with = "hmac_key_file")]
    pub hmac_key_env: Option<String>,
    /// File holding the HMAC key (surrounding whitespace stripped; must not be readable by
    /// group or others).
    #[arg(long, value_name = "PATH")]
    pub hmac_key_file: Option<PathBuf>,
    /// KEY=VALUE file to look the key variable up in before the environment (mode 0600).
    #[arg(long, value_name = "PATH")]
    pub env_file: Option<PathBuf>,
    /// Key id: written into signatures; when verifying, lines signed under another key id are
    /// bad (a line without `key_id` is accepted, as in the reference, unless
    /// --require-key-id).
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,
}

impl KeyArgs {
    fn source(&self) -> KeySource {
        match (&self.hmac_key_file, &self.hmac_key_env) {
            (Some(path), _) => KeySource::File(path.clone()),
            (None, Some(name)) => KeySource::Env {
                name: name.clone(),
                explicit: true,
            },
            (None, None) => KeySource::Env {
                name: DEFAULT_KEY_ENV.to_owned(),
                explicit: false,
            },
        }
    }

    /// The key, or `None` when it is optional and the default variable is unset.
    fn resolve(&self, required: bool) -> Result<Option<(SigningKey, String)>> {
        if let Some(name) = &self.hmac_key_env
            && name.trim().is_empty()
        {
            bail!("--hmac-key-env is empty: name the variable holding the key");
        }
        let secrets = Secrets::with_env_file(self.env_file.as_deref())?;
        resolve_key(&self.source(), &secrets, self.key_id.clone(), required)
    }

    /// The key for writing; warns (stderr) about short keys.
    fn resolve_for_writing(&self) -> Result<SigningKey> {
        let (key, _) = self.resolve(true)?.expect("required keys resolve or fail");
        if key.len() < RECOMMENDED_KEY_LEN {
            warn(&format!(
                "the decision-log key from {} is {} bytes; OEM acceptance requires at least {RECOMMENDED_KEY_LEN}",
                self.source().describe(),
                key.len()
            ));
        }
        Ok(key)
    }
}

/// Flags of `decision-log verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The log (JSONL); `-` reads stdin.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// The key.
    #[command(flatten)]
    pub key: KeyArgs,
    /// Print a JSON result (counts, bad lines with their problems) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Accept lines without a `signature` member (lines with a broken signature stay bad;
    /// signed lines still need the key). Without a key, only unsigned logs can pass.
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Signed lines must name --key-id in `signature.key_id`.
    #[arg(long, requires = "key_id")]
    pub require_key_id: bool,
    /// The hash the last entry must have (`sha256:<64 hex>`, as printed by `seal` or a
    /// previous verify): detects a cut-off or rewritten tail.
    #[arg(long, value_name = "HASH")]
    pub expect_head: Option<String>,
    /// The number of entries (non-blank lines) the log must hold.
    #[arg(long, value_name = "N")]
    pub expect_entries: Option<u64>,
    /// The last entry must be a seal.
    #[arg(long)]
    pub require_seal: bool,
}

/// Flags of `decision-log append`.
#[derive(Debug, Args)]
pub struct AppendArgs {
    /// The log to append to (created if missing); `-` prints the signed line instead.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Stage, e.g. `stage4` (required, non-empty).
    #[arg(long)]
    pub stage: String,
    /// Status, e.g. `rollback_completed` (required, non-empty).
    #[arg(long)]
    pub status: String,
    /// Entry kind.
    #[arg(long, default_value = "snapshot")]
    pub kind: String,
    /// Optional `event` member (e.g. `operator_action`), the discriminator stage4's own
    /// entries use.
    #[arg(long)]
    pub event: Option<String>,
    /// RFC 3339 time written verbatim as `timestamp` [default: now, UTC, microseconds].
    #[arg(long, value_name = "RFC3339")]
    pub timestamp: Option<String>,
    /// Artefact K=V (repeatable); V is parsed as JSON when it is JSON (5, true, null, "x"),
    /// else taken as a string. At least one artefact is required.
    #[arg(long, value_name = "K=V")]
    pub artefact: Vec<String>,
    /// Artefact K=PATH (repeatable): the `sha256:<hex>` digest of the file's bytes.
    #[arg(long, value_name = "K=PATH")]
    pub artefact_from_file: Vec<String>,
    /// Runtime flag F or F=BOOL (repeatable; 1/true/yes/on, 0/false/no/off).
    /// `verify_decision_log.summary=true` is always set, as by the reference builder.
    #[arg(long, value_name = "F[=BOOL]")]
    pub runtime_flag: Vec<String>,
    /// Signature entry K=V (repeatable; V must match `hmac:[A-Za-z0-9+/=:_-]+`)
    /// [default: decision_log.entry=hmac:pending, the reference's placeholder that keeps
    /// entries valid under the v2 schema; the real signature is `signature`].
    #[arg(long, value_name = "K=V")]
    pub signature_entry: Vec<String>,
    /// Metadata K=V (repeatable), parsed like --artefact.
    #[arg(long, value_name = "K=V")]
    pub metadata: Vec<String>,
    /// Tag (repeatable); stripped, empty ones dropped, duplicates removed.
    #[arg(long)]
    pub tag: Vec<String>,
    /// Category, e.g. `stage4_incident`.
    #[arg(long)]
    pub category: Option<String>,
    /// Extra top-level member K=V (repeatable), parsed like --artefact. Cannot replace a
    /// member another flag sets, nor `signature`, `seq` or `prev_hash`.
    #[arg(long, value_name = "K=V")]
    pub field: Vec<String>,
    /// Start a hash chain if the log is not chained yet (a chained log always stays chained).
    #[arg(long)]
    pub chain: bool,
    /// MAC algorithm: HMAC-SHA256 (the only one the reference verifier accepts) or
    /// HMAC-SHA384.
    #[arg(long, default_value = "HMAC-SHA256", value_parser = parse_algorithm)]
    pub algorithm: Algorithm,
    /// The key.
    #[command(flatten)]
    pub key: KeyArgs,
}

/// `decision-log incident` steps.
#[derive(Debug, Args)]
pub struct IncidentArgs {
    /// The step.
    #[command(subcommand)]
    pub step: IncidentCommand,
}

/// Incident lifecycle steps.
#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Open an incident: needs --ticket and --severity; --level defaults to L1.
    ///
    /// Refused when the ticket is already open in the log. Exit codes: 0 logged, 2 bad input.
    Open(IncidentStepArgs),
    /// Acknowledge an open incident (usually with --owner).
    ///
    /// Keeps the current level. Exit codes: 0 logged, 2 bad input or a ticket not open.
    Ack(IncidentStepArgs),
    /// Escalate an open incident to --level (default: one level up: L1 → L2 → IM).
    ///
    /// Exit codes: 0 logged, 2 bad input, a ticket not open, or a level not higher.
    Escalate(IncidentStepArgs),
    /// Resolve an open incident (usually with --note).
    ///
    /// Exit codes: 0 logged, 2 bad input or a ticket not open.
    Resolve(IncidentStepArgs),
}

/// Flags shared by the incident steps.
#[derive(Debug, Args)]
pub struct IncidentStepArgs {
    /// The decision log, e.g. audit/decision_logs/runtime.jsonl (created if missing).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Ticket id, e.g. INC-2042.
    #[arg(long)]
    pub ticket: String,
    /// Severity: info, warning or critical (required to open; later steps keep it).
    #[arg(long, value_parser = parse_severity)]
    pub severity: Option<IncidentSeverity>,
    /// Level: L1, L2 or IM (where an incident opens, or where it escalates to).
    #[arg(long, value_parser = parse_level)]
    pub level: Option<SupportLevel>,
    /// Who owns it from now on (later steps keep it).
    #[arg(long)]
    pub owner: Option<String>,
    /// Free text.
    #[arg(long)]
    pub note: Option<String>,
    /// The alert rule that triggered it, e.g. MultiStrategySchedulerLatencyHigh.
    #[arg(long)]
    pub alert: Option<String>,
    /// RFC 3339 time of the step [default: now].
    #[arg(long, value_name = "RFC3339")]
    pub timestamp: Option<String>,
    /// Start a hash chain if the log is not chained yet.
    #[arg(long)]
    pub chain: bool,
    /// MAC algorithm: HMAC-SHA256 or HMAC-SHA384.
    #[arg(long, default_value = "HMAC-SHA256", value_parser = parse_algorithm)]
    pub algorithm: Algorithm,
    /// The key.
    #[command(flatten)]
    pub key: KeyArgs,
}

/// Flags of `decision-log seal`.
#[derive(Debug, Args)]
pub struct SealArgs {
    /// The chained log to close.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// RFC 3339 time of the seal [default: now].
    #[arg(long, value_name = "RFC3339")]
    pub timestamp: Option<String>,
    /// MAC algorithm: HMAC-SHA256 or HMAC-SHA384.
    #[arg(long, default_value = "HMAC-SHA256", value_parser = parse_algorithm)]
    pub algorithm: Algorithm,
    /// The key.
    #[command(flatten)]
    pub key: KeyArgs,
}

fn parse_algorithm(text: &str) -> Result<Algorithm, String> {
    Algorithm::from_name(&text.to_ascii_uppercase())
        .ok_or_else(|| format!("`{text}` is not HMAC-SHA256 or HMAC-SHA384"))
}

fn parse_severity(text: &str) -> Result<IncidentSeverity, String> {
    IncidentSeverity::from_name(text)
        .ok_or_else(|| format!("`{text}` is not info, warning or critical"))
}

fn parse_level(text: &str) -> Result<SupportLevel, String> {
    SupportLevel::from_name(text).ok_or_else(|| format!("`{text}` is not L1, L2 or IM"))
}

/// Runs a `decision-log` command.
pub fn run(args: DecisionLogArgs) -> Result<Exit> {
    match args.command {
        DecisionLogCommand::Verify(a) => verify(a),
        DecisionLogCommand::Append(a) => append(a),
        DecisionLogCommand::Incident(a) => incident(a),
        DecisionLogCommand::Seal(a) => seal(a),
    }
}

fn out(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}

fn warn(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "warning: {text}");
}

/// Now, truncated to microseconds like the reference's timestamps.
fn now() -> SimTime {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    SimTime::from_nanos(u64::try_from(nanos / 1000 * 1000).unwrap_or(u64::MAX))
}

fn parse_time(flag: &str, text: Option<&str>) -> Result<SimTime> {
    match text {
        None => Ok(now()),
        Some(t) => SimTime::parse_rfc3339(t).with_context(|| format!("--{flag}")),
    }
}

// ---------------------------------------------------------------------------------------------
// verify

/// The `--json` result of `verify`.
#[derive(Debug, Serialize)]
struct VerifyReport<'a> {
    schema_version: u32,
    path: String,
    status: &'static str,
    lines: usize,
    entries: u64,
    verified: u64,
    unsigned: u64,
    chained: u64,
    bad_lines: u64,
    sealed: bool,
    head_hash: Option<&'a str>,
    head_seq: Option<u64>,
    key_source: Option<String>,
    key_fingerprint: Option<String>,
    key_id: Option<&'a str>,
    allow_unsigned: bool,
    bad: Vec<BadLine>,
    log_problems: Vec<Coded>,
}

#[derive(Debug, Serialize)]
struct BadLine {
    line: usize,
    seq: Option<u64>,
    problems: Vec<Coded>,
}

#[derive(Debug, Serialize)]
struct Coded {
    code: &'static str,
    message: String,
}

fn verify(args: VerifyArgs) -> Result<Exit> {
    let expect_head = match &args.expect_head {
        None => None,
        Some(h) => {
            let h = h.trim().to_ascii_lowercase();
            if !is_hash(&h) {
                bail!("--expect-head `{h}` is not `sha256:` followed by 64 hex digits");
            }
            Some(h)
        }
    };
    let resolved = args.key.resolve(!args.allow_unsigned)?;
    let (key, fingerprint) = resolved.map_or((None, None), |(k, f)| (Some(k), Some(f)));
    let key_source = key.as_ref().map(|_| args.key.source().describe());
    let options = VerifyOptions {
        key,
        allow_unsigned: args.allow_unsigned,
        require_key_id: args.require_key_id,
        expect_head,
        expect_entries: args.expect_entries,
        require_seal: args.require_seal,
    };
    let checked = check_path(&args.path, options)?;
    let path = args.path.display().to_string();
    if args.json {
        out(&render_json(
            &path,
            &checked,
            &args,
            key_source,
            fingerprint,
        )?)?;
    } else {
        out(&render_text(&path, &checked))?;
    }
    Ok(if checked.is_ok() {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

fn render_text(path: &str, checked: &Checked) -> String {
    let mut text = String::new();
    for report in &checked.bad {
        text.push_str(&format!(
            "line {}: {}\n",
            report.line,
            report.problems_text()
        ));
    }
    let s = &checked.summary;
    for problem in &s.log_problems {
        text.push_str(&format!("log: {problem}\n"));
    }
    let chain = if s.chained == 0 {
        "unchained".to_owned()
    } else {
        format!(
            "{} chained{}",
            s.chained,
            if s.sealed { ", sealed" } else { ", open" }
        )
    };
    text.push_str(&format!(
        "{path}: {}, {} bad; {} verified, {} unsigned; {chain}\n",
        count(s.entries, "entry", "entries"),
        s.bad_lines,
        count(s.verified, "signature", "signatures"),
        s.unsigned
    ));
    if let Some(head) = &s.head_hash {
        match s.head_seq {
            Some(seq) => text.push_str(&format!("head: {head} (seq {seq})\n")),
            None => text.push_str(&format!("head: {head}\n")),
        }
    }
    text.push_str(if checked.is_ok() {
        "result: ok\n"
    } else {
        "result: failed\n"
    });
    text
}

fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn render_json(
    path: &str,
    checked: &Checked,
    args: &VerifyArgs,
    key_source: Option<String>,
    key_fingerprint: Option<String>,
) -> Result<String> {
    let s = &checked.summary;
    let report = VerifyReport {
        schema_version: 1,
        path: path.to_owned(),
        status: if checked.is_ok() { "ok" } else { "failed" },
        lines: s.lines,
        entries: s.entries,
        verified: s.verified,
        unsigned: s.unsigned,
        chained: s.chained,
        bad_lines: s.bad_lines,
        sealed: s.sealed,
        head_hash: s.head_hash.as_deref(),
        head_seq: s.head_seq,
        key_source,
        key_fingerprint,
        key_id: args.key.key_id.as_deref(),
        allow_unsigned: args.allow_unsigned,
        bad: checked
            .bad
            .iter()
            .map(|r| BadLine {
                line: r.line,
                seq: r.seq,
                problems: r
                    .problems
                    .iter()
                    .map(|p| Coded {
                        code: p.code(),
                        message: p.to_string(),
                    })
                    .collect(),
            })
            .collect(),
        log_problems: s
            .log_problems
            .iter()
            .map(|p| Coded {
                code: p.code(),
                message: p.to_string(),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&report)?;
    text.push('\n');
    Ok(text)
}

// ---------------------------------------------------------------------------------------------
// append

/// Members the dedicated flags of `append` set; `--field` may not replace them.
const RESERVED_MEMBERS: [&str; 14] = [
    "kind",
    "event",
    "timestamp",
    "stage",
    "status",
    "artefacts",
    "runtime_flags",
    "signatures",
    "metadata",
    "tags",
    "category",
    "signature",
    "seq",
    "prev_hash",
];

fn split_pair<'a>(flag: &str, pair: &'a str) -> Result<(&'a str, &'a str)> {
    match pair.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim(), v)),
        _ => bail!("--{flag} `{pair}`: expected KEY=VALUE with a non-empty KEY"),
    }
}

/// The reference's value rule: JSON when the text is JSON, else the raw string.
fn flag_value(text: &str) -> Json {
    Json::parse(text).unwrap_or_else(|_| Json::str(text))
}

fn parse_bool(flag: &str, name: &str, text: &str) -> Result<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => bail!("--{flag} {name}={text}: expected 1/true/yes/on or 0/false/no/off"),
    }
}

fn is_signature_entry(value: &str) -> bool {
    value.strip_prefix("hmac:").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=:_-".contains(&b))
    })
}

fn sha256_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let digest = hasher.finalize();
    Ok(format!(
        "sha256:{}",
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ))
}

/// Builds the entry `append` writes (unsigned), validating every flag.
fn build_append_entry(args: &AppendArgs) -> Result<Json> {
    if args.stage.trim().is_empty() {
        bail!("--stage is empty");
    }
    if args.status.trim().is_empty() {
        bail!("--status is empty");
    }
    if args.kind.trim().is_empty() {
        bail!("--kind is empty");
    }
    let timestamp = match &args.timestamp {
        Some(t) => {
            SimTime::parse_rfc3339(t).with_context(|| "--timestamp".to_owned())?;
            t.clone()
        }
        None => now().to_rfc3339(),
    };

    let mut artefacts = Json::object();
    for pair in &args.artefact {
        let (k, v) = split_pair("artefact", pair)?;
        let value = flag_value(v);
        match &value {
            Json::Str(s) if s.is_empty() => {
                bail!("--artefact {k}: the value is empty (artefacts need a value)")
            }
            Json::Array(_) | Json::Object(_) => bail!(
                "--artefact {k}: artefact values must be a string, number, boolean or null, not {v}"
            ),
            _ => {}
        }
        artefacts.insert(k, value);
    }
    // After --artefact, like the reference: a file digest replaces a same-named artefact.
    for pair in &args.artefact_from_file {
        let (k, v) = split_pair("artefact-from-file", pair)?;
        artefacts.insert(k, Json::Str(sha256_file(Path::new(v))?));
    }
    if artefacts.as_object().is_some_and(|m| m.is_empty()) {
        bail!("no artefact: give at least one --artefact K=V or --artefact-from-file K=PATH");
    }

    let mut flags = Json::object();
    flags.insert("verify_decision_log.summary", Json::Bool(true));
    for spec in &args.runtime_flag {
        let (name, value) = match spec.split_once('=') {
            Some((n, v)) => (n.trim(), parse_bool("runtime-flag", n, v)?),
            None => (spec.trim(), true),
        };
        if name.is_empty() {
            bail!("--runtime-flag `{spec}`: the flag name is empty");
        }
        flags.insert(name, Json::Bool(value));
    }

    let mut signatures = Json::object();
    for pair in &args.signature_entry {
        let (k, v) = split_pair("signature-entry", pair)?;
        if !is_signature_entry(v) {
            bail!("--signature-entry {k}={v}: the value must match hmac:[A-Za-z0-9+/=:_-]+");
        }
        signatures.insert(k, Json::str(v));
    }
    if signatures.as_object().is_some_and(|m| m.is_empty()) {
        signatures.insert("decision_log.entry", Json::str("hmac:pending"));
    }

    let mut entry = Json::object();
    entry
        .insert("kind", Json::str(args.kind.as_str()))
        .insert("timestamp", Json::Str(timestamp))
        .insert("stage", Json::str(args.stage.as_str()))
        .insert("status", Json::str(args.status.as_str()))
        .insert("artefacts", artefacts)
        .insert("runtime_flags", flags)
        .insert("signatures", signatures);

    let mut metadata = Json::object();
    for pair in &args.metadata {
        let (k, v) = split_pair("metadata", pair)?;
        metadata.insert(k, flag_value(v));
    }
    if metadata.as_object().is_some_and(|m| !m.is_empty()) {
        entry.insert("metadata", metadata);
    }
    let mut tags: Vec<Json> = Vec::new();
    for tag in &args.tag {
        let tag = Json::str(tag.trim());
        if tag.as_str() != Some("") && !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if !tags.is_empty() {
        entry.insert("tags", Json::Array(tags));
    }
    if let Some(category) = &args.category {
        if category.trim().is_empty() {
            bail!("--category is empty");
        }
        entry.insert("category", Json::str(category.as_str()));
    }
    if let Some(event) = &args.event {
        if event.trim().is_empty() {
            bail!("--event is empty");
        }
        entry.insert("event", Json::str(event.as_str()));
    }
    for pair in &args.field {
        let (k, v) = split_pair("field", pair)?;
        if RESERVED_MEMBERS.contains(&k) {
            bail!("--field {k}: `{k}` is set by its own flag or by the signer");
        }
        entry.insert(k, flag_value(v));
    }
    Ok(entry)
}

fn append(args: AppendArgs) -> Result<Exit> {
    let entry = build_append_entry(&args)?;
    let key = args.key.resolve_for_writing()?;
    if args.path.as_os_str() == "-" {
        let mut writer = if args.chain {
            DecisionLogWriter::new_chained(key, args.algorithm)
        } else {
            DecisionLogWriter::new(key, args.algorithm)
        };
        out(&format!("{}\n", writer.append(entry)))?;
        return Ok(Exit::Ok);
    }
    let mut log = LogFile::open(
        &args.path,
        key,
        args.algorithm,
        args.chain,
        DEFAULT_LOCK_TIMEOUT,
    )?;
    log.append(entry)?;
    log.sync()?;
    out(&format!(
        "entry {} appended to {}\n{}",
        args.status,
        args.path.display(),
        head_text(&log)
    ))?;
    Ok(Exit::Ok)
}

fn head_text(log: &LogFile) -> String {
    let hash = log.writer().last_hash().unwrap_or_default();
    match log.writer().head() {
        Some(head) => format!("head: {hash} (seq {})\n", head.entries()),
        None => format!("head: {hash} (unchained)\n"),
    }
}

// ---------------------------------------------------------------------------------------------
// incident

fn incident(args: IncidentArgs) -> Result<Exit> {
    let (action, a) = match args.step {
        IncidentCommand::Open(a) => (IncidentAction::Open, a),
        IncidentCommand::Ack(a) => (IncidentAction::Acknowledge, a),
        IncidentCommand::Escalate(a) => (IncidentAction::Escalate, a),
        IncidentCommand::Resolve(a) => (IncidentAction::Resolve, a),
    };
    let ticket = a.ticket.trim().to_owned();
    if ticket.is_empty() {
        bail!("--ticket is empty");
    }
    for (flag, value) in [("owner", &a.owner), ("note", &a.note), ("alert", &a.alert)] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            bail!("--{flag} is empty");
        }
    }
    let at = parse_time("timestamp", a.timestamp.as_deref())?;
    let key = a.key.resolve_for_writing()?;
    let mut log = LogFile::open(&a.path, key, a.algorithm, a.chain, DEFAULT_LOCK_TIMEOUT)?;
    let mut book = IncidentBook::new();
    log.for_each_line(|_, text| {
        if let Ok(entry) = Json::parse(text) {
            book.observe(&entry);
        }
    })?;
    let step = book
        .step(IncidentRequest {
            at,
            action,
            ticket,
            severity: a.severity,
            level: a.level,
            owner: a.owner,
            note: a.note,
            alert: a.alert,
        })
        .with_context(|| format!("{}", a.path.display()))?;
    log.append(step.to_json())?;
    log.sync()?;
    out(&format!(
        "incident {} {} ({}{}) logged to {}\n{}",
        step.ticket,
        action.status(),
        step.level.as_str(),
        step.severity
            .map(|s| format!(", {}", s.as_str()))
            .unwrap_or_default(),
        a.path.display(),
        head_text(&log)
    ))?;
    Ok(Exit::Ok)
}

// ---------------------------------------------------------------------------------------------
// seal

fn seal(args: SealArgs) -> Result<Exit> {
    let at = parse_time("timestamp", args.timestamp.as_deref())?;
    let key = args.key.resolve_for_writing()?;
    let mut log = LogFile::open(&args.path, key, args.algorithm, false, DEFAULT_LOCK_TIMEOUT)?;
    log.seal(at)?;
    log.sync()?;
    out(&format!(
        "sealed {}\n{}",
        args.path.display(),
        head_text(&log)
    ))?;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_entries_follow_the_v2_pattern() {
        for (v, ok) in [
            ("hmac:pending", true),
            ("hmac:ab+/=:_-9", true),
            ("hmac:", false),
            ("sha:x", false),
            ("hmac:a b", false),
        ] {
            assert_eq!(is_signature_entry(v), ok, "{v}");
        }
    }

    #[test]
    fn flag_values_are_json_when_they_are_json() {
        assert_eq!(flag_value("5"), Json::int(5));
        assert_eq!(flag_value("1e16"), Json::Float(1e16));
        assert_eq!(flag_value("true"), Json::Bool(true));
        assert_eq!(flag_value("Zażółć"), Json::str("Zażółć"));
        assert_eq!(flag_value(""), Json::str(""));
        assert_eq!(flag_value("\"q\""), Json::str("q"));
    }
}
