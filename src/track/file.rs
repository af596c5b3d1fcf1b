//! `vrrp_track_file`: a file holding an integer, watched with inotify (its
//! directory, so replacing the file by rename is seen too).

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use inotify::{Inotify, WatchMask};
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::{send, Kind, Reading, Update};
use crate::config::TrackFile;

/// Polling period when inotify is unavailable.
const POLL: Duration = Duration::from_secs(1);

/// The value in a tracked file: its first whitespace-separated token as an
/// integer (keepalived's strtol); a missing or unreadable file or a
/// non-number counts as 0.
pub fn read_value(path: &Path) -> i64 {
    let Ok(text) = std::fs::read_to_string(path) else {
        return 0;
    };
    parse_value(&text)
}

/// The leading integer of `text`, 0 if none.
pub fn parse_value(text: &str) -> i64 {
    let t = text.trim_start();
    let end = t
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+'))))
        .map_or(t.len(), |(i, _)| i);
    t[..end].parse().unwrap_or(0)
}

/// Creates the file with its `init_file` value when asked to.
pub fn init(f: &TrackFile) {
    let Some(v) = f.init_file else { return };
    let path = Path::new(&f.file);
    if path.exists() && !f.init_overwrite {
        return;
    }
    if let Err(e) = std::fs::write(path, format!("{v}\n")) {
        warn!("track file {}: cannot initialise {}: {e}", f.name, f.file);
    }
}

/// Watches one file; reports the value at start and on every change.
pub async fn run(f: TrackFile, tx: mpsc::UnboundedSender<Update>) {
    init(&f);
    let path = PathBuf::from(&f.file);
    let mut value = read_value(&path);
    if !send(&tx, Kind::File, &f.name, Reading::Value(value)) {
        return;
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let stream = Inotify::init().and_then(|ino| {
        ino.watches().add(
            &dir,
            WatchMask::CLOSE_WRITE
                | WatchMask::MOVED_TO
                | WatchMask::MOVED_FROM
                | WatchMask::CREATE
                | WatchMask::DELETE
                | WatchMask::MODIFY,
        )?;
        ino.into_event_stream([0u8; 4096])
    });
    let mut stream = match stream {
        Ok(s) => Some(s),
        Err(e) => {
            warn!(
                "track file {}: inotify on {}: {e}; polling every {POLL:?}",
                f.name,
                dir.display()
            );
            None
        }
    };
    let file_name = path.file_name().map(|n| n.to_os_string());
    loop {
        match stream.as_mut() {
            Some(s) => match s.next().await {
                Some(Ok(ev)) => {
                    if ev.name.is_some() && ev.name != file_name {
                        continue;
                    }
                }
                Some(Err(e)) => {
                    warn!("track file {}: {e}", f.name);
                    tokio::time::sleep(POLL).await;
                }
                None => return,
            },
            None => tokio::time::sleep(POLL).await,
        }
        let now = read_value(&path);
        if now != value {
            info!("Track file {} now has value {now}", f.name);
            value = now;
            if !send(&tx, Kind::File, &f.name, Reading::Value(value)) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_like_strtol() {
        assert_eq!(parse_value("42\n"), 42);
        assert_eq!(parse_value("  -7 trailing"), -7);
        assert_eq!(parse_value("+3"), 3);
        assert_eq!(parse_value("abc"), 0);
        assert_eq!(parse_value(""), 0);
    }
}
