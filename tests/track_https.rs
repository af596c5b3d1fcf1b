//! HTTPS probe against an in-process rustls server with a self-signed
//! certificate (made by the openssl CLI): `tls_verify off` accepts it, the
//! default (web PKI roots) refuses it.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use vrrpd::config::{Probe, ProbeKind, Secs};
use vrrpd::track::probe::ProbeSpec;

fn self_signed() -> Option<(Vec<u8>, Vec<u8>)> {
    let d = std::env::temp_dir().join(format!("vrrpd-tls-{}", std::process::id()));
    std::fs::create_dir_all(&d).ok()?;
    let (k, c) = (d.join("k.pem"), d.join("c.pem"));
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-subj", "/CN=localhost", "-days", "1", "-keyout"])
        .arg(&k)
        .arg("-out")
        .arg(&c)
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?
        .success();
    if !ok {
        return None;
    }
    Some((std::fs::read(&c).ok()?, std::fs::read(&k).ok()?))
}

#[tokio::test]
async fn https_probe_with_and_without_verification() {
    let Some((cert, key)) = self_signed() else {
        eprintln!("openssl not available: skipped");
        return;
    };
    let certs = vec![CertificateDer::from_pem_slice(&cert).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(&key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(s).await else {
                    return;
                };
                let mut buf = [0u8; 2048];
                let _ = tls.read(&mut buf).await;
                let body = "secure OK";
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(resp.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    let mut p = Probe::new("tls", ProbeKind::Http);
    p.url = Some(format!("https://127.0.0.1:{port}/"));
    p.host = Some("localhost".into());
    p.body_contains = Some("secure".into());
    p.timeout = Some(Secs::from_secs(2));
    p.tls_verify = false;
    assert_eq!(ProbeSpec::from_config(&p).unwrap().check().await, Ok(()));
    p.tls_verify = true;
    let err = ProbeSpec::from_config(&p)
        .unwrap()
        .check()
        .await
        .unwrap_err();
    assert!(err.contains("TLS"), "{err}");
}
