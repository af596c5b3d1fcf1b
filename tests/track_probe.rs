//! Native probes against small in-process servers: status codes, body
//! substring, Host header, timeouts, refused connections; rise/fall loop.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use vrrpd::config::{Probe, ProbeKind, Secs};
use vrrpd::track::probe::{self, ProbeSpec};
use vrrpd::track::{Kind, Reading};

/// Serves `status` and `body` to every request; records the Host header.
async fn server(status: u16, body: &'static str) -> (u16, mpsc::UnboundedReceiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                if let Some(h) = req
                    .lines()
                    .find(|l| l.to_ascii_lowercase().starts_with("host:"))
                {
                    let _ = tx.send(h[5..].trim().to_string());
                }
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    (port, rx)
}

fn http(url: String) -> Probe {
    let mut p = Probe::new("web", ProbeKind::Http);
    p.url = Some(url);
    p.timeout = Some(Secs::from_micros(500_000));
    p
}

#[tokio::test]
async fn http_status_body_and_host() {
    let (port, mut hosts) = server(200, "all OK here").await;
    let mut p = http(format!("http://127.0.0.1:{port}/health?x=1"));
    p.body_contains = Some("OK".into());
    p.host = Some("lb.example.com".into());
    let spec = ProbeSpec::from_config(&p).unwrap();
    assert_eq!(spec.check().await, Ok(()));
    assert_eq!(hosts.recv().await.as_deref(), Some("lb.example.com"));
    p.body_contains = Some("MISSING".into());
    let err = ProbeSpec::from_config(&p)
        .unwrap()
        .check()
        .await
        .unwrap_err();
    assert!(err.contains("body lacks"), "{err}");
}

#[tokio::test]
async fn http_500_fails_unless_accepted() {
    let (port, _h) = server(500, "oops").await;
    let mut p = http(format!("http://127.0.0.1:{port}/"));
    let err = ProbeSpec::from_config(&p)
        .unwrap()
        .check()
        .await
        .unwrap_err();
    assert!(err.contains("HTTP status 500"), "{err}");
    p.status = vec!["200".into(), "500-503".into()];
    assert_eq!(ProbeSpec::from_config(&p).unwrap().check().await, Ok(()));
}

#[tokio::test]
async fn silent_server_times_out_and_refused_tcp_fails() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    // Accepts (kernel backlog) but never answers.
    let p = http(format!("http://127.0.0.1:{port}/"));
    let started = std::time::Instant::now();
    let err = ProbeSpec::from_config(&p)
        .unwrap()
        .check()
        .await
        .unwrap_err();
    assert!(err.contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));

    let mut tcp = Probe::new("port", ProbeKind::Tcp);
    tcp.connect = Some(format!("127.0.0.1:{port}"));
    assert_eq!(ProbeSpec::from_config(&tcp).unwrap().check().await, Ok(()));
    drop(l);
    let err = ProbeSpec::from_config(&tcp)
        .unwrap()
        .check()
        .await
        .unwrap_err();
    assert!(err.contains("refused"), "{err}");
}

#[tokio::test]
async fn probe_loop_reports_after_fall_failures() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let mut p = Probe::new("port", ProbeKind::Tcp);
    p.connect = Some(format!("127.0.0.1:{port}"));
    p.interval = Secs::from_micros(50_000);
    p.fall = 3;
    // Carried over a reload as OK: needs `fall` failures.
    let (tx, mut rx) = mpsc::unbounded_channel();
    let started = std::time::Instant::now();
    let task = tokio::spawn(probe::run(
        ProbeSpec::from_config(&p).unwrap(),
        Some(true),
        tx,
        None,
    ));
    let first = rx.recv().await.unwrap();
    assert_eq!((first.key.kind, first.reading), (Kind::Probe, Reading::Ok));
    let second = rx.recv().await.unwrap();
    assert_eq!(second.reading, Reading::Failed);
    // Three probes at 0 ms, 50 ms, 100 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(95),
        "{:?}",
        started.elapsed()
    );
    task.abort();
}
