//! Native probes: HTTP(S) GET (hyper + rustls) and TCP connect, with
//! interval, timeout and rise/fall like a `vrrp_script` but no fork.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::rustls;
use tracing::info;

use super::{send, Kind, Reading, RiseFall, Update};
use crate::config::{Probe, ProbeKind};

/// Bytes of body searched for `body_contains`.
pub const BODY_LIMIT: usize = 64 << 10;

/// Why a probe definition cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    #[error("bad url '{0}'")]
    Url(String),
    #[error("bad status '{0}'")]
    Status(String),
    #[error("bad connect address '{0}'")]
    Connect(String),
    #[error("TLS setup: {0}")]
    Tls(String),
}

#[derive(Clone)]
#[allow(clippy::large_enum_variant)] // one per probe, never moved in a hot path
enum Target {
    Http {
        uri: hyper::Uri,
        /// host and port to connect to
        authority: (String, u16),
        tls: Option<(
            tokio_rustls::TlsConnector,
            rustls::pki_types::ServerName<'static>,
        )>,
        host_header: String,
        status: Vec<(u16, u16)>,
        body: Option<String>,
    },
    Tcp {
        host: String,
        port: u16,
    },
}

/// A probe ready to run.
#[derive(Clone)]
pub struct ProbeSpec {
    pub name: String,
    target: Target,
    pub interval: Duration,
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    pub init_fail: bool,
}

impl std::fmt::Debug for ProbeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProbeSpec")
            .field("name", &self.name)
            .finish()
    }
}

fn split_host_port(s: &str) -> Option<(String, u16)> {
    let (h, p) = s.rsplit_once(':')?;
    let h = h.trim_start_matches('[').trim_end_matches(']');
    if h.is_empty() {
        return None;
    }
    Some((h.to_string(), p.parse().ok()?))
}

impl ProbeSpec {
    pub fn from_config(p: &Probe) -> Result<ProbeSpec, ProbeError> {
        let target = match p.kind {
            ProbeKind::Tcp => {
                let c = p.connect.clone().unwrap_or_default();
                let (host, port) =
                    split_host_port(&c).ok_or_else(|| ProbeError::Connect(c.clone()))?;
                Target::Tcp { host, port }
            }
            ProbeKind::Http => {
                let url = p.url.clone().unwrap_or_default();
                let uri: hyper::Uri = url.parse().map_err(|_| ProbeError::Url(url.clone()))?;
                let https = match uri.scheme_str() {
                    Some("http") => false,
                    Some("https") => true,
                    _ => return Err(ProbeError::Url(url)),
                };
                let host = uri
                    .host()
                    .ok_or_else(|| ProbeError::Url(url.clone()))?
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string();
                let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
                let host_header = p.host.clone().unwrap_or_else(|| match uri.port_u16() {
                    Some(port) => format!("{}:{port}", uri.host().unwrap_or_default()),
                    None => uri.host().unwrap_or_default().to_string(),
                });
                let tls = if https {
                    let name_text = p.host.clone().unwrap_or_else(|| host.clone());
                    let name = rustls::pki_types::ServerName::try_from(name_text.clone())
                        .map_err(|_| ProbeError::Tls(format!("bad server name '{name_text}'")))?;
                    Some((tls_connector(p.tls_verify)?, name))
                } else {
                    None
                };
                let status = p.status_ranges().map_err(ProbeError::Status)?;
                Target::Http {
                    uri,
                    authority: (host, port),
                    tls,
                    host_header,
                    status,
                    body: p.body_contains.clone(),
                }
            }
        };
        let interval = p.interval.as_duration().max(Duration::from_millis(1));
        Ok(ProbeSpec {
            name: p.name.clone(),
            target,
            interval,
            timeout: p.timeout.map(|t| t.as_duration()).unwrap_or(interval),
            rise: p.rise,
            fall: p.fall,
            init_fail: p.init_fail,
        })
    }

    /// One probe within the timeout; Err says why it failed.
    pub async fn check(&self) -> Result<(), String> {
        match tokio::time::timeout(self.timeout, self.check_inner()).await {
            Ok(r) => r,
            Err(_) => Err(format!("timed out after {:?}", self.timeout)),
        }
    }

    async fn check_inner(&self) -> Result<(), String> {
        match &self.target {
            Target::Tcp { host, port } => {
                let s = connect(host, *port).await?;
                drop(s);
                Ok(())
            }
            Target::Http {
                uri,
                authority,
                tls,
                host_header,
                status,
                body,
            } => {
                let tcp = connect(&authority.0, authority.1).await?;
                let path = uri.path_and_query().map_or("/", |p| p.as_str());
                let req = hyper::Request::get(path)
                    .header(hyper::header::HOST, host_header.as_str())
                    .header(hyper::header::USER_AGENT, "vrrpd-probe")
                    .header(hyper::header::CONNECTION, "close")
                    .body(Empty::<Bytes>::new())
                    .map_err(|e| e.to_string())?;
                let (code, text) = match tls {
                    Some((connector, name)) => {
                        let s = connector
                            .connect(name.clone(), tcp)
                            .await
                            .map_err(|e| format!("TLS: {e}"))?;
                        exchange(s, req, body.is_some()).await?
                    }
                    None => exchange(tcp, req, body.is_some()).await?,
                };
                if !status.iter().any(|(lo, hi)| (*lo..=*hi).contains(&code)) {
                    return Err(format!("HTTP status {code}"));
                }
                if let Some(needle) = body {
                    if !text.contains(needle.as_str()) {
                        return Err(format!("HTTP {code} body lacks '{needle}'"));
                    }
                }
                Ok(())
            }
        }
    }
}

async fn connect(host: &str, port: u16) -> Result<TcpStream, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("resolving {host}: {e}"))?
        .collect();
    let mut last = format!("no address for {host}");
    for a in addrs {
        match TcpStream::connect(a).await {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("connect {a}: {e}"),
        }
    }
    Err(last)
}

async fn exchange<S>(
    io: S,
    req: hyper::Request<Empty<Bytes>>,
    want_body: bool,
) -> Result<(u16, String), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let conn = tokio::spawn(conn);
    let result = async {
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        let code = resp.status().as_u16();
        let mut text = Vec::new();
        if want_body {
            let mut body = resp.into_body();
            while text.len() < BODY_LIMIT {
                match body.frame().await {
                    Some(Ok(frame)) => {
                        if let Some(d) = frame.data_ref() {
                            let room = BODY_LIMIT - text.len();
                            text.extend_from_slice(&d[..d.len().min(room)]);
                        }
                    }
                    Some(Err(e)) => return Err(format!("HTTP body: {e}")),
                    None => break,
                }
            }
        }
        Ok((code, String::from_utf8_lossy(&text).into_owned()))
    }
    .await;
    conn.abort();
    result
}

fn tls_connector(verify: bool) -> Result<tokio_rustls::TlsConnector, ProbeError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ProbeError::Tls(e.to_string()))?;
    let config = if verify {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth()
    };
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// `tls_verify off`: a local balancer with a self-signed certificate.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The probe loop: reports the initial state, then every change.
pub async fn run(
    spec: ProbeSpec,
    initial: Option<bool>,
    tx: mpsc::UnboundedSender<Update>,
    observer: super::Observer,
) {
    let key = super::TrackerKey::new(Kind::Probe, &spec.name);
    let mut rf = RiseFall::new(spec.rise, spec.fall, spec.init_fail, initial);
    let reading = |ok| if ok { Reading::Ok } else { Reading::Failed };
    if !send(&tx, Kind::Probe, &spec.name, reading(rf.ok())) {
        return;
    }
    let mut ticker = tokio::time::interval(spec.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_err: Option<String> = None;
    loop {
        ticker.tick().await;
        let started = tokio::time::Instant::now();
        let result = spec.check().await;
        if let Some(o) = &observer {
            o.observe(&key, result.is_ok(), started.elapsed());
        }
        if let Err(e) = &result {
            if last_err.as_ref() != Some(e) {
                info!("Probe({}) check failed: {e}", spec.name);
            }
        }
        let change = rf.record(result.is_ok());
        last_err = result.err();
        if let Some(ok) = change {
            if ok {
                info!("Probe({}) succeeded", spec.name);
            } else {
                info!(
                    "Probe({}) failed ({})",
                    spec.name,
                    last_err.as_deref().unwrap_or("")
                );
            }
            if !send(&tx, Kind::Probe, &spec.name, reading(ok)) {
                return;
            }
        }
    }
}
