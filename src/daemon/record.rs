//! The runtime record's file: where it lives, how it is written (a fresh
//! temporary file next to it, fsync, rename) and read, and the writer that
//! keeps it off the advert path (a blocking-pool thread, one write at a
//! time, [`Writes`] deciding what and when). The format and every decision
//! are in [`crate::driver::record`].

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::driver::record::{ParseError, Record, Write, Writes};

/// Where the record goes without a pid file.
pub const DEFAULT_RECORD: &str = "/run/vrrpd/vrrpd.held.json";

/// The record next to the pid file (`x.pid` -> `x.held.json`), as the
/// control socket is, so daemons with their own pid files (one per network
/// namespace, say) keep their own records; else [`DEFAULT_RECORD`].
/// `resign` must be given the same `-p` as the daemon to find it.
pub fn path(pid_file: Option<&Path>) -> PathBuf {
    match pid_file {
        Some(pid) => pid.with_extension("held.json"),
        None => PathBuf::from(DEFAULT_RECORD),
    }
}

/// Why the record file could not be read, written or removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Format {
        path: String,
        #[source]
        source: ParseError,
    },
    #[error("encoding the record: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("the thread writing the record failed: {0}")]
    Task(String),
}

impl RecordError {
    fn io(what: &'static str, path: &Path, source: std::io::Error) -> RecordError {
        RecordError::Io {
            what,
            path: path.display().to_string(),
            source,
        }
    }
}

/// The record at `path`; `None` when there is none. Read without following
/// a symbolic link: the record decides which addresses are deleted.
pub fn read(path: &Path) -> Result<Option<Record>, RecordError> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path);
    let file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RecordError::io("reading", path, e)),
    };
    // A record is a few hundred bytes per instance; refuse anything absurd.
    let mut bytes = Vec::new();
    file.take(16 << 20)
        .read_to_end(&mut bytes)
        .map_err(|e| RecordError::io("reading", path, e))?;
    Record::parse(&bytes)
        .map(Some)
        .map_err(|source| RecordError::Format {
            path: path.display().to_string(),
            source,
        })
}

/// Writes `record` to `path` so that a reader sees the old record or the
/// new one, never half of one, and the new one survives a crash of the
/// writer: a fresh temporary file in the same directory (O_EXCL|O_NOFOLLOW,
/// mode 0600: the record holds the PASS password), fsync, rename, fsync of
/// the directory.
pub fn write(path: &Path, record: &Record) -> Result<(), RecordError> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let bytes = record.to_json()?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .map_err(|e| RecordError::io("creating the directory of", path, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "vrrpd.held.json".into());
    let mut last = None;
    // Someone may have planted the name we picked: try another.
    for attempt in 0..8u32 {
        let tmp = dir.join(format!(".{name}.{}.{attempt}", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp);
        let mut file = match file {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // Ours from an earlier, interrupted write of this process,
                // or planted: never written through, removed if a file.
                if std::fs::symlink_metadata(&tmp).is_ok_and(|m| m.file_type().is_file()) {
                    let _ = std::fs::remove_file(&tmp);
                }
                last = Some(e);
                continue;
            }
            Err(e) => return Err(RecordError::io("creating a temporary file for", path, e)),
        };
        let written = file
            .write_all(&bytes)
            .and_then(|()| file.sync_all())
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(RecordError::io("writing", path, e));
        }
        // The rename itself is durable once the directory is synced.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        return Ok(());
    }
    Err(RecordError::io(
        "creating a temporary file for",
        path,
        last.unwrap_or_else(|| std::io::Error::other("no free temporary name")),
    ))
}

/// Removes the record; one already gone is fine.
pub fn remove(path: &Path) -> Result<(), RecordError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(RecordError::io("removing", path, e)),
    }
}

/// The daemon's side: offers the current record, runs the writes
/// [`Writes`] asks for on the blocking pool, and hears how they went
/// through [`Writer::done`] (one slot: one write in flight).
pub struct Writer {
    path: PathBuf,
    writes: Writes,
    done_tx: mpsc::Sender<Result<(), RecordError>>,
    /// The last write failed (said once until one succeeds).
    failing: bool,
    /// A write ended with none to follow ([`Writer::take_trim_due`]).
    trim_due: bool,
}

/// Results of the writes, for the driver's `select!`.
pub type Done = mpsc::Receiver<Result<(), RecordError>>;

impl Writer {
    pub fn new(path: PathBuf) -> (Writer, Done) {
        let (done_tx, done) = mpsc::channel(1);
        let writer = Writer {
            path,
            writes: Writes::new(),
            done_tx,
            failing: false,
            trim_due: false,
        };
        (writer, done)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The daemon holds `current` now: written unless the file says so
    /// already (or after the write in flight).
    pub fn offer(&mut self, current: Record) {
        if let Some(write) = self.writes.offer(current) {
            self.start(write);
        }
    }

    /// A write ended (from [`Done`]).
    pub fn finished(&mut self, result: Result<(), RecordError>) {
        match &result {
            Ok(()) => {
                if std::mem::take(&mut self.failing) {
                    info!("runtime record {} written again", self.path.display());
                }
            }
            Err(e) if !self.failing => {
                self.failing = true;
                warn!("{e}; `vrrpd resign` would fall back to the configuration until a write succeeds");
            }
            Err(e) => debug!("{e}"),
        }
        match self.writes.finished(result.is_ok()) {
            Some(write) => self.start(write),
            None => self.trim_due = true,
        }
    }

    /// Whether the writer went idle since the last call: a burst of changes
    /// (a start, a failover, a reload) is over, a good moment to give its
    /// freed pages back (2-4 MB at 1000 instances), off the advert thread.
    /// Once per burst: a trim holds each arena's lock for 0.05-0.3 ms.
    pub fn take_trim_due(&mut self) -> bool {
        !self.busy() && std::mem::take(&mut self.trim_due)
    }

    pub fn busy(&self) -> bool {
        self.writes.busy()
    }

    fn start(&self, write: Write) {
        let Write { record, after } = write;
        let path = self.path.clone();
        let done = self.done_tx.clone();
        tokio::spawn(async move {
            if !after.is_zero() {
                tokio::time::sleep(after).await;
            }
            let result = tokio::task::spawn_blocking(move || {
                let result = self::write(&path, &record);
                drop(record);
                result
            })
            .await
            .unwrap_or_else(|e| Err(RecordError::Task(e.to_string())));
            // One slot, one write in flight: never waits.
            let _ = done.send(result).await;
        });
    }

    /// At a clean stop, after the addresses were released: waits for the
    /// write in flight (its rename must not bring the file back), then
    /// removes the record if `last` holds nothing, else writes `last` and
    /// keeps it for `resign`.
    pub async fn close(&mut self, done: &mut Done, last: Record, wait: Duration) {
        if self.busy() {
            match tokio::time::timeout(wait, done.recv()).await {
                Ok(Some(_)) => {}
                _ => warn!(
                    "runtime record {}: a write still running after {} ms",
                    self.path.display(),
                    wait.as_millis()
                ),
            }
            self.writes = Writes::new();
        }
        let path = self.path.clone();
        let held = last.held_count();
        let result = tokio::task::spawn_blocking(move || {
            if last.holds_nothing() {
                remove(&path)
            } else {
                self::write(&path, &last)
            }
        })
        .await;
        match result {
            Ok(Ok(())) if held == 0 => {
                debug!("runtime record {} removed", self.path.display())
            }
            Ok(Ok(())) => warn!(
                "{held} address(es) still held at exit: runtime record {} kept for `vrrpd resign`",
                self.path.display()
            ),
            Ok(Err(e)) => warn!("{e}"),
            Err(e) => warn!("runtime record {}: {e}", self.path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            version: crate::driver::record::VERSION,
            pid: 1,
            instances: Vec::new(),
            orphans: Vec::new(),
            routes: Vec::new(),
            vmac_bases: Default::default(),
        }
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "vrrpd-record-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn path_follows_the_pid_file() {
        assert_eq!(
            path(Some(Path::new("/run/lb/vrrpd.pid"))),
            PathBuf::from("/run/lb/vrrpd.held.json")
        );
        assert_eq!(path(None), PathBuf::from(DEFAULT_RECORD));
    }

    #[test]
    fn written_0600_read_back_and_removed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempdir();
        let target = dir.join("sub/vrrpd.held.json");
        assert!(read(&target).unwrap().is_none(), "none yet");
        write(&target, &record()).unwrap();
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(read(&target).unwrap(), Some(record()));
        let mut newer = record();
        newer.pid = 2;
        write(&target, &newer).unwrap();
        assert_eq!(read(&target).unwrap(), Some(newer));
        let leftovers: Vec<_> = std::fs::read_dir(dir.join("sub")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
        remove(&target).unwrap();
        remove(&target).unwrap();
        assert!(read(&target).unwrap().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_symbolic_link_is_neither_read_nor_written_through() {
        let dir = tempdir();
        let elsewhere = dir.join("elsewhere");
        std::fs::write(&elsewhere, "keep").unwrap();
        let target = dir.join("vrrpd.held.json");
        std::os::unix::fs::symlink(&elsewhere, &target).unwrap();
        assert!(matches!(read(&target), Err(RecordError::Io { .. })));
        write(&target, &record()).unwrap();
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "keep");
        assert_eq!(
            read(&target).unwrap(),
            Some(record()),
            "replaced by the rename"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
