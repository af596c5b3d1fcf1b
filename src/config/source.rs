//! Where configuration bytes come from. The parser only sees this trait, so
//! tests feed it in-memory files; [`FsSource`] is the one that reads the disk.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Reads configuration files and expands include patterns.
pub trait FileSource {
    /// Reads up to `max + 1` bytes of `path`, so the caller can tell "too big"
    /// without the whole file ever being in memory.
    fn read(&self, path: &Path, max: u64) -> io::Result<Vec<u8>>;

    /// Files matching a glob pattern (already absolute or relative to the
    /// process), sorted; stops after `max + 1` matches.
    fn glob(&self, pattern: &str, max: usize) -> Result<Vec<PathBuf>, String>;

    /// Whether the pattern contains glob metacharacters.
    fn is_pattern(&self, pattern: &str) -> bool {
        pattern.contains(['*', '?', '['])
    }

    /// The permission bits of `path`, when the source knows them (a file
    /// holding a secret is checked for group and other access).
    fn mode(&self, path: &Path) -> Option<u32> {
        let _ = path;
        None
    }
}

/// The real filesystem.
#[derive(Debug, Default, Clone, Copy)]
pub struct FsSource;

impl FileSource for FsSource {
    fn mode(&self, path: &Path) -> Option<u32> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    }

    fn read(&self, path: &Path, max: u64) -> io::Result<Vec<u8>> {
        let file = std::fs::File::open(path)?;
        if file.metadata()?.is_dir() {
            return Err(io::Error::other("is a directory"));
        }
        let mut buf = Vec::new();
        file.take(max.saturating_add(1)).read_to_end(&mut buf)?;
        Ok(buf)
    }

    fn glob(&self, pattern: &str, max: usize) -> Result<Vec<PathBuf>, String> {
        let paths = glob::glob(pattern).map_err(|e| format!("bad pattern: {e}"))?;
        let mut out = Vec::new();
        for entry in paths {
            match entry {
                Ok(p) if p.is_file() => out.push(p),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
            if out.len() > max {
                break;
            }
        }
        out.sort();
        Ok(out)
    }
}

/// In-memory files for tests and fuzzing.
#[derive(Debug, Default, Clone)]
pub struct MemSource {
    files: BTreeMap<PathBuf, Vec<u8>>,
    modes: BTreeMap<PathBuf, u32>,
}

impl MemSource {
    pub fn new() -> MemSource {
        MemSource::default()
    }

    /// Adds (or replaces) a file.
    pub fn with(mut self, path: impl Into<PathBuf>, contents: impl Into<Vec<u8>>) -> MemSource {
        self.files.insert(path.into(), contents.into());
        self
    }

    pub fn insert(&mut self, path: impl Into<PathBuf>, contents: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), contents.into());
    }

    /// Gives a file permission bits (none known otherwise).
    pub fn with_mode(mut self, path: impl Into<PathBuf>, mode: u32) -> MemSource {
        self.modes.insert(path.into(), mode);
        self
    }
}

impl FileSource for MemSource {
    fn mode(&self, path: &Path) -> Option<u32> {
        self.modes.get(path).copied()
    }

    fn read(&self, path: &Path, max: u64) -> io::Result<Vec<u8>> {
        let data = self
            .files
            .get(path)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        let n = usize::try_from(max.saturating_add(1)).unwrap_or(usize::MAX);
        Ok(data[..data.len().min(n)].to_vec())
    }

    fn glob(&self, pattern: &str, max: usize) -> Result<Vec<PathBuf>, String> {
        let pat = glob::Pattern::new(pattern).map_err(|e| format!("bad pattern: {e}"))?;
        let opts = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: true,
        };
        Ok(self
            .files
            .keys()
            .filter(|p| pat.matches_path_with(p, opts))
            .take(max.saturating_add(1))
            .cloned()
            .collect())
    }
}
