//! Appending to a decision-log file safely: one writer at a time, never after damage, and on
//! disk before we say so.
//!
//! The reference appends with a plain `open("a")`: no lock, no fsync, and it happily writes
//! after a torn or corrupted last line (ops.md §2, §10 item 11). [`LogFile::open`]:
//!
//! 1. creates the file (mode 0640, parent directories too) if needed;
//! 2. takes an exclusive advisory lock (`flock`), waiting up to a timeout for another writer;
//! 3. reads the last non-blank line and refuses to go on if the file does not end with a
//!    newline (a torn write) or the line is not a JSON object with sane chain members, or if
//!    the log is sealed;
//! 4. resumes the chain from that line (see `stage4_engine::decision_log::writer`).
//!
//! [`LogFile::append`] writes one line plus `\n`; [`LogFile::sync`] makes it durable
//! (`fdatasync`, plus an fsync of the directory when the log was just created).
//! [`append_entries`] is the one-call form the CLI and the scenario runner use. The lock is
//! released when the [`LogFile`] is dropped.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use stage4_engine::decision_log::{Algorithm, DecisionLogWriter, Json, ResumeError, SigningKey};
use stage4_engine::domain::SimTime;

/// Mode of a newly created log: the owner writes, the group (auditors) reads.
pub const LOG_MODE: u32 = 0o640;

/// How long [`LogFile::open`] waits for another writer's lock by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// An open, locked decision log ready for appends.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    file: File,
    writer: DecisionLogWriter,
    unsynced: bool,
    /// The file was created by this open: its directory entry must be made durable too.
    created: bool,
}

/// What [`append_entries`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The lines written (without newlines).
    pub lines: Vec<String>,
    /// Hash of the log's last entry after the append.
    pub head_hash: String,
    /// `seq` of the last entry, when the log is chained.
    pub head_seq: Option<u64>,
}

impl LogFile {
    /// Opens `path` for appending (see the module doc). `start_chain` starts a hash chain if the
    /// log is not chained yet; a chained log always stays chained.
    pub fn open(
        path: &Path,
        key: SigningKey,
        algorithm: Algorithm,
        start_chain: bool,
        lock_timeout: Duration,
    ) -> Result<LogFile> {
        if key.is_empty() {
            bail!("the signing key is empty");
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)
                .with_context(|| format!("cannot create directory {}", dir.display()))?;
        }
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(LOG_MODE)
            .open(path)
            .with_context(|| format!("cannot open {} for appending", path.display()))?;
        lock(&file, path, lock_timeout)?;
        let last = last_line(&mut file)
            .with_context(|| format!("cannot read the end of {}", path.display()))?;
        let last_text = match &last {
            Tail::Empty => None,
            Tail::Torn => bail!(
                "{}: the file does not end with a newline (a torn write?); repair it before appending",
                path.display()
            ),
            Tail::Line(text) => Some(text.as_str()),
        };
        let mut writer = DecisionLogWriter::resume(key, algorithm, last_text).map_err(|e| {
            let line = count_lines(path).map_or_else(|_| "?".to_owned(), |n| n.to_string());
            match e {
                ResumeError::Malformed(_) => {
                    anyhow::anyhow!("{}:{line}: {e}", path.display())
                }
                ResumeError::Sealed => anyhow::anyhow!("{}: {e}", path.display()),
            }
        })?;
        if start_chain {
            writer.start_chain();
        }
        Ok(LogFile {
            path: path.to_owned(),
            file,
            writer,
            unsynced: false,
            created: !existed,
        })
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The writer's state (chain head, last hash).
    pub fn writer(&self) -> &DecisionLogWriter {
        &self.writer
    }

    /// Signs (and chains) `entry` and writes it as one line. Not yet durable: call
    /// [`sync`](Self::sync).
    pub fn append(&mut self, entry: Json) -> Result<String> {
        let line = self.writer.append(entry);
        self.write_line(&line)?;
        Ok(line)
    }

    /// Writes the closing seal (chained logs only).
    pub fn seal(&mut self, at: SimTime) -> Result<String> {
        let line = self
            .writer
            .seal(at)
            .with_context(|| format!("cannot seal {}", self.path.display()))?;
        self.write_line(&line)?;
        Ok(line)
    }

    fn write_line(&mut self, line: &str) -> Result<()> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.file
            .write_all(&bytes)
            .with_context(|| format!("cannot write to {}", self.path.display()))?;
        self.unsynced = true;
        Ok(())
    }

    /// Flushes what was appended to disk (and, for a new log, its directory entry).
    pub fn sync(&mut self) -> Result<()> {
        if self.unsynced {
            self.file
                .sync_data()
                .with_context(|| format!("cannot fsync {}", self.path.display()))?;
            self.unsynced = false;
        }
        if self.created {
            let dir = match self.path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            File::open(dir)
                .and_then(|d| d.sync_all())
                .with_context(|| format!("cannot fsync directory {}", dir.display()))?;
            self.created = false;
        }
        Ok(())
    }

    /// Calls `visit(line_number, text)` for every line currently in the file (blank lines
    /// included), while holding the lock. Lines that are not UTF-8 are passed lossily.
    pub fn for_each_line(&self, mut visit: impl FnMut(usize, &str)) -> Result<()> {
        let mut reader = self
            .file
            .try_clone()
            .with_context(|| format!("cannot read {}", self.path.display()))?;
        reader.seek(SeekFrom::Start(0))?;
        let mut reader = BufReader::new(reader);
        let mut buf = Vec::new();
        let mut line = 0;
        loop {
            buf.clear();
            if reader
                .read_until(b'\n', &mut buf)
                .with_context(|| format!("cannot read {}", self.path.display()))?
                == 0
            {
                return Ok(());
            }
            line += 1;
            let text = String::from_utf8_lossy(&buf);
            visit(line, text.trim_end_matches(['\n', '\r']));
        }
    }
}

/// Opens `path`, appends `entries` (signed, chained when the log is or when `start_chain`),
/// fsyncs and releases the lock.
pub fn append_entries(
    path: &Path,
    key: SigningKey,
    algorithm: Algorithm,
    start_chain: bool,
    entries: impl IntoIterator<Item = Json>,
) -> Result<Appended> {
    let mut log = LogFile::open(path, key, algorithm, start_chain, DEFAULT_LOCK_TIMEOUT)?;
    let lines = entries
        .into_iter()
        .map(|e| log.append(e))
        .collect::<Result<Vec<_>>>()?;
    log.sync()?;
    Ok(Appended {
        lines,
        head_hash: log.writer.last_hash().unwrap_or_default().to_owned(),
        head_seq: log.writer.head().map(|h| h.entries()),
    })
}

fn lock(file: &File, path: &Path, timeout: Duration) -> Result<()> {
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => {
                if started.elapsed() >= timeout {
                    bail!(
                        "{} is locked by another writer (waited {:?}); try again when it is done",
                        path.display(),
                        timeout
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
    }
}

enum Tail {
    Empty,
    Torn,
    Line(String),
}

/// The last non-blank line, read backwards in growing chunks so a large log is not read whole.
fn last_line(file: &mut File) -> std::io::Result<Tail> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(Tail::Empty);
    }
    let mut chunk: u64 = 64 * 1024;
    loop {
        let start = len.saturating_sub(chunk);
        file.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::with_capacity((len - start) as usize);
        Read::by_ref(file).take(len - start).read_to_end(&mut buf)?;
        if buf.last() != Some(&b'\n') {
            return Ok(Tail::Torn);
        }
        let content_end = buf
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map(|i| i + 1);
        let Some(end) = content_end else {
            if start == 0 {
                return Ok(Tail::Empty); // only blank lines
            }
            chunk *= 2;
            continue;
        };
        match buf[..end].iter().rposition(|&b| b == b'\n') {
            Some(nl) => {
                return Ok(Tail::Line(
                    String::from_utf8_lossy(&buf[nl + 1..end]).into_owned(),
                ));
            }
            None if start == 0 => {
                return Ok(Tail::Line(
                    String::from_utf8_lossy(&buf[..end]).into_owned(),
                ));
            }
            None => chunk *= 2,
        }
    }
}

fn count_lines(path: &Path) -> std::io::Result<usize> {
    let mut count = 0;
    for line in BufReader::new(File::open(path)?).split(b'\n') {
        line?;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stage4_engine::decision_log::{VerifyOptions, verify_log};
    use std::os::unix::fs::PermissionsExt;

    fn key() -> SigningKey {
        SigningKey::new("file-test-key-0123456789abcdef", None)
    }

    fn entry(n: i64) -> Json {
        let mut e = Json::object();
        e.insert("event", Json::str("operator_action"))
            .insert("n", Json::int(n));
        e
    }

    fn verify(path: &Path) -> bool {
        let text = fs::read_to_string(path).unwrap();
        let (_, summary) = verify_log(
            &text,
            VerifyOptions {
                key: Some(key()),
                ..VerifyOptions::default()
            },
        );
        summary.is_ok()
    }

    #[test]
    fn appends_continue_the_chain_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit/decision_logs/runtime.jsonl");
        let first = append_entries(&path, key(), Algorithm::HmacSha256, true, [entry(1)]).unwrap();
        assert_eq!(first.head_seq, Some(1));
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, LOG_MODE);
        // No --chain this time: the log is chained, so it stays chained.
        let second = append_entries(
            &path,
            key(),
            Algorithm::HmacSha256,
            false,
            [entry(2), entry(3)],
        )
        .unwrap();
        assert_eq!(second.head_seq, Some(3));
        assert!(verify(&path));
        let mut log = LogFile::open(
            &path,
            key(),
            Algorithm::HmacSha256,
            false,
            DEFAULT_LOCK_TIMEOUT,
        )
        .unwrap();
        log.seal(SimTime::EPOCH).unwrap();
        log.sync().unwrap();
        let mut lines = 0;
        log.for_each_line(|_, _| lines += 1).unwrap();
        assert_eq!(lines, 4);
        drop(log);
        let err =
            append_entries(&path, key(), Algorithm::HmacSha256, false, [entry(4)]).unwrap_err();
        assert!(format!("{err:#}").contains("sealed"), "{err:#}");
        assert!(verify(&path));
    }

    #[test]
    fn damaged_tails_are_refused_with_the_line_number() {
        let dir = tempfile::tempdir().unwrap();
        let torn = dir.path().join("torn.jsonl");
        fs::write(&torn, "{\"a\":1}\n{\"b\":").unwrap();
        let err =
            append_entries(&torn, key(), Algorithm::HmacSha256, false, [entry(1)]).unwrap_err();
        assert!(format!("{err:#}").contains("torn write"), "{err:#}");

        let bad = dir.path().join("bad.jsonl");
        fs::write(&bad, "{\"a\":1}\nnot json\n\n").unwrap();
        let err =
            append_entries(&bad, key(), Algorithm::HmacSha256, false, [entry(1)]).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("bad.jsonl:3: the last line is malformed"),
            "{msg}"
        );
        // Nothing was written.
        assert_eq!(fs::read_to_string(&bad).unwrap(), "{\"a\":1}\nnot json\n\n");
    }

    #[test]
    fn long_last_lines_and_blank_tails_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.jsonl");
        let mut w = DecisionLogWriter::new_chained(key(), Algorithm::HmacSha256);
        let mut big = entry(1);
        big.insert("blob", Json::Str("x".repeat(200_000)));
        let line = w.append(big);
        fs::write(&path, format!("{line}\n\n\n")).unwrap();
        let appended =
            append_entries(&path, key(), Algorithm::HmacSha256, false, [entry(2)]).unwrap();
        assert_eq!(appended.head_seq, Some(2));
        assert!(verify(&path));
    }

    #[test]
    fn a_second_writer_waits_for_the_lock_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locked.jsonl");
        let holder = LogFile::open(
            &path,
            key(),
            Algorithm::HmacSha256,
            true,
            DEFAULT_LOCK_TIMEOUT,
        )
        .unwrap();
        let err = LogFile::open(
            &path,
            key(),
            Algorithm::HmacSha256,
            true,
            Duration::from_millis(100),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("locked by another writer"));
        drop(holder);
        assert!(
            LogFile::open(
                &path,
                key(),
                Algorithm::HmacSha256,
                true,
                Duration::from_millis(100)
            )
            .is_ok()
        );
    }
}
