//! track_process: a process appearing is reported only after `delay`, a
//! disappearing one likewise (real clock: /proc is scanned every 250 ms).

use std::time::Duration;

use tokio::sync::mpsc;
use vrrpd::config::{Secs, TrackProcess};
use vrrpd::track::{process, Reading};

#[tokio::test]
async fn changes_are_reported_after_delay() {
    // A binary with a name of its own, so /proc/PID/comm is unique.
    let d = std::env::temp_dir().join(format!("vrrpd-proc-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let name = format!("vtp{}", std::process::id() % 100_000);
    let bin = d.join(&name);
    std::fs::copy("/bin/sleep", &bin).unwrap();
    let t = TrackProcess {
        name: "p".into(),
        process: vec![name.clone()],
        param_match: None,
        weight: 0,
        reverse: false,
        quorum: 1,
        quorum_max: None,
        delay: Some(Secs::from_micros(600_000)),
        full_command: false,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(process::run(vec![t], tx));
    let first = rx.recv().await.unwrap();
    assert_eq!(first.reading, Reading::Failed, "not running yet");
    let mut child = std::process::Command::new(&bin).arg("600").spawn().unwrap();
    let started = tokio::time::Instant::now();
    let up = rx.recv().await.unwrap();
    let waited = started.elapsed();
    assert_eq!(up.reading, Reading::Ok);
    assert!(
        waited >= Duration::from_millis(600) && waited <= Duration::from_millis(1500),
        "reported after {waited:?}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let gone = tokio::time::Instant::now();
    let down = rx.recv().await.unwrap();
    assert_eq!(down.reading, Reading::Failed);
    assert!(
        gone.elapsed() >= Duration::from_millis(600),
        "{:?}",
        gone.elapsed()
    );
    task.abort();
    let _ = std::fs::remove_dir_all(&d);
}
