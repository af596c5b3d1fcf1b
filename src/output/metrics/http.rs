//! The HTTP endpoint: hyper's HTTP/1 server on a thread and runtime of its
//! own, at a lower CPU priority, so a scrape (or an abusive client) never
//! competes with the driver's thread.
//!
//! hyper rather than a hand-written handler: it is already a dependency (the
//! HTTP probes use it) and gets keep-alive, pipelining, HEAD and request
//! bodies right. Abuse is bounded: headers must arrive within
//! [`HEADER_TIMEOUT`] (slowloris), a connection lives at most
//! [`CONNECTION_LIFETIME`], at most [`MAX_CONNECTIONS`] are open at once,
//! and requests are small. When all slots are taken, the oldest connection
//! is closed to make room: idle or slow clients cannot lock a scraper out.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{header, Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::oneshot;
use tracing::{debug, error, warn};

use super::Board;

/// Time a client gets to send its request headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest life of one connection (keep-alive included).
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(30);
/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 16;

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    #[error("cannot listen on {addr} (metrics_listen): {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("starting the metrics thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// The running endpoint; dropping it stops the thread.
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Binds `addr` now (so a port in use is reported to the caller) and
    /// serves `board` from a new thread.
    pub fn start(addr: SocketAddr, board: Arc<Board>) -> Result<Server, ServerError> {
        let bind = |source| ServerError::Bind { addr, source };
        let listener = std::net::TcpListener::bind(addr).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let bound = listener.local_addr().map_err(bind)?;
        let (stop_tx, stop_rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("vrrpd-metrics".into())
            .spawn(move || serve_thread(listener, board, stop_rx))
            .map_err(ServerError::Thread)?;
        Ok(Server {
            addr: bound,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The address actually bound (port 0 resolved).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_thread(listener: std::net::TcpListener, board: Arc<Board>, stop: oneshot::Receiver<()>) {
    crate::track::set_thread_nice(crate::track::TRACKER_NICE);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the metrics runtime: {e}");
            return;
        }
    };
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                error!("metrics listener: {e}");
                return;
            }
        };
        tokio::select! {
            _ = stop => {}
            _ = accept_loop(listener, board) => {}
        }
    });
    // Open connections are dropped with the runtime.
    rt.shutdown_timeout(Duration::from_millis(100));
}

async fn accept_loop(listener: tokio::net::TcpListener, board: Arc<Board>) {
    let mut open: std::collections::VecDeque<tokio::task::AbortHandle> =
        std::collections::VecDeque::new();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // EMFILE and the like: do not spin.
                warn!("metrics accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        open.retain(|h| !h.is_finished());
        if open.len() >= MAX_CONNECTIONS {
            if let Some(oldest) = open.pop_front() {
                debug!(
                    "metrics: {MAX_CONNECTIONS} connections open, closing the oldest for {peer}"
                );
                oldest.abort();
            }
        }
        let board = board.clone();
        let task = tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let board = board.clone();
                async move { Ok::<_, Infallible>(respond(&board, &req)) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(16 * 1024)
                .serve_connection(TokioIo::new(stream), service);
            match tokio::time::timeout(CONNECTION_LIFETIME, conn).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => debug!("metrics connection from {peer}: {e}"),
                Err(_) => {
                    debug!("metrics connection from {peer} closed after {CONNECTION_LIFETIME:?}")
                }
            }
        });
        open.push_back(task.abort_handle());
    }
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// The answer to one request: `/metrics` (GET or HEAD), else 404/405.
pub fn respond(board: &Arc<Board>, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    respond_to(board, req.method(), req.uri().path(), req.headers())
}

fn respond_to(
    board: &Arc<Board>,
    method: &Method,
    path: &str,
    headers: &header::HeaderMap,
) -> Response<Full<Bytes>> {
    match path {
        "/metrics" => {}
        "/" => return text(StatusCode::OK, "vrrpd: metrics are at /metrics\n"),
        _ => {
            return text(
                StatusCode::NOT_FOUND,
                "not found: metrics are at /metrics\n",
            )
        }
    }
    if method != Method::GET && method != Method::HEAD {
        let mut resp = text(StatusCode::METHOD_NOT_ALLOWED, "GET or HEAD only\n");
        resp.headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    // Prometheus asks for OpenMetrics first; curl and the rest get 0.0.4.
    let openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    match board.render(openmetrics) {
        Ok(body) => {
            let content_type = if openmetrics {
                "application/openmetrics-text; version=1.0.0; charset=utf-8"
            } else {
                prometheus_client::encoding::prometheus_text::CONTENT_TYPE
            };
            let mut resp = Response::new(Full::new(Bytes::from(body)));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static(content_type),
            );
            resp
        }
        Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "encoding failed\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(request).await.unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test]
    async fn paths_methods_and_formats() {
        let server = Server::start("127.0.0.1:0".parse().unwrap(), Arc::default()).unwrap();
        let addr = server.addr();
        let get = exchange(
            addr,
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(get.starts_with("HTTP/1.1 200 OK"), "{get}");
        assert!(get.contains("text/plain; version=0.0.4"), "{get}");
        assert!(get.contains("# TYPE vrrpd_build_info gauge"), "{get}");
        assert!(!get.contains("# EOF"), "{get}");
        let om = exchange(
            addr,
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text;version=1.0.0\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(om.contains("application/openmetrics-text"), "{om}");
        assert!(om.trim_end().ends_with("# EOF"), "{om}");
        let missing = exchange(
            addr,
            b"GET /admin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
        let post = exchange(
            addr,
            b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(post.starts_with("HTTP/1.1 405"), "{post}");
        assert!(
            post.to_ascii_lowercase().contains("allow: get, head"),
            "{post}"
        );
        let junk = exchange(addr, b"\x00\x01garbage\r\n\r\n").await;
        assert!(
            junk.is_empty() || junk.starts_with("HTTP/1.1 400"),
            "{junk}"
        );
        // Still serving after all that.
        let again = exchange(addr, b"GET /metrics HTTP/1.0\r\n\r\n").await;
        assert!(again.contains(" 200 OK"), "{again}");
    }

    /// Reads until EOF; how long that took.
    async fn closed_within(s: &mut tokio::net::TcpStream, limit: Duration) -> Option<Duration> {
        let started = std::time::Instant::now();
        let mut buf = [0u8; 1024];
        loop {
            match tokio::time::timeout(limit, s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
                Ok(Ok(_)) => continue,
                Err(_) => return None,
            }
        }
    }

    #[tokio::test]
    async fn slow_clients_are_cut_off_and_cannot_lock_scrapers_out() {
        let server = Server::start("127.0.0.1:0".parse().unwrap(), Arc::default()).unwrap();
        let addr = server.addr();
        // Slowloris: headers started, never finished, on every slot.
        let mut slow = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .await
                .unwrap();
            slow.push(s);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        // A scrape still gets through: the oldest slow client makes room.
        let ok = exchange(addr, b"GET /metrics HTTP/1.0\r\n\r\n").await;
        assert!(ok.contains(" 200 OK"), "{ok}");
        let t = closed_within(&mut slow[0], Duration::from_secs(1)).await;
        assert!(t.is_some(), "the oldest connection was kept");
        // The rest are closed after the header timeout.
        for s in &mut slow[1..] {
            let t = closed_within(s, HEADER_TIMEOUT + Duration::from_secs(2)).await;
            assert!(t.is_some(), "slow client kept beyond the header timeout");
        }
        let ok = exchange(addr, b"GET /metrics HTTP/1.0\r\n\r\n").await;
        assert!(ok.contains(" 200 OK"), "{ok}");
    }

    #[tokio::test]
    async fn a_port_in_use_is_a_clear_error() {
        let first = Server::start("127.0.0.1:0".parse().unwrap(), Arc::default()).unwrap();
        let err = match Server::start(first.addr(), Arc::default()) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("bound twice"),
        };
        assert!(err.contains("cannot listen on 127.0.0.1:"), "{err}");
        assert!(err.contains("metrics_listen"), "{err}");
        assert!(err.to_lowercase().contains("in use"), "{err}");
    }
}
