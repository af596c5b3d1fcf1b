//! AWS EC2 through the official SDK: a claim is `AssignPrivateIpAddresses`
//! (`AllowReassignment`) of the private address to this node's ENI, then,
//! with an Elastic IP, `AssociateAddress` (`AllowReassociation`) of it to
//! that address; a read is `DescribeNetworkInterfaces` of our ENI and
//! `DescribeAddresses` of the allocation, concurrently.
//!
//! Region, instance and ENI come from IMDSv2 (session token) unless
//! configured; credentials from the standard chain (environment, shared
//! files, the instance profile through IMDS). The SDK's own retries are
//! off: `driver::cloud` retries with its backoff, and needs to see every
//! failure to report it. `AWS_EC2_METADATA_SERVICE_ENDPOINT` moves IMDS
//! (the tests' fixture); `endpoint` or `AWS_ENDPOINT_URL_EC2` the API.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use aws_config::imds;
use aws_config::provider_config::ProviderConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::Client;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use tokio::sync::Mutex;

use crate::config::cloud::Cloud;
use crate::driver::cloud::{ApiError, ErrorKind, Job, Observed, Op, Outcome};

use super::{Adapter, JobFuture};

/// One attempt of one call; a dead endpoint fails fast so the backoff and
/// the status see it.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// What discovery found (kept once found).
#[derive(Clone)]
struct Ready {
    client: Client,
    eni: String,
}

pub struct Aws {
    settings: Cloud,
    address: Ipv4Addr,
    ifname: String,
    /// Held across discovery, so two jobs never discover at once (there is
    /// one job per instance anyway).
    ready: Arc<Mutex<Option<Ready>>>,
    eni: Arc<std::sync::Mutex<Option<String>>>,
}

impl Aws {
    pub fn new(settings: Cloud, address: Ipv4Addr, ifname: String) -> Aws {
        let eni = (settings.interface != "auto").then(|| settings.interface.clone());
        Aws {
            settings,
            address,
            ifname,
            ready: Arc::new(Mutex::new(None)),
            eni: Arc::new(std::sync::Mutex::new(eni)),
        }
    }
}

fn err(kind: ErrorKind, message: impl Into<String>) -> ApiError {
    ApiError {
        kind,
        message: message.into(),
    }
}

/// Sorts an SDK error into the backoff's kinds.
fn classify<E, R>(what: &str, e: &SdkError<E, R>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let kind = match e {
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => ErrorKind::Unreachable,
        SdkError::TimeoutError(_) => ErrorKind::Unreachable,
        // Failures before the request left: above all, no credentials.
        SdkError::DispatchFailure(_) => ErrorKind::Denied,
        SdkError::ServiceError(s) => match s.err().code() {
            Some("RequestLimitExceeded" | "Throttling" | "ThrottlingException") => {
                ErrorKind::Throttled
            }
            Some(
                "UnauthorizedOperation"
                | "AuthFailure"
                | "InvalidClientTokenId"
                | "SignatureDoesNotMatch",
            ) => ErrorKind::Denied,
            _ => ErrorKind::Other,
        },
        // Construction failures are mostly credentials that could not be
        // found.
        SdkError::ConstructionFailure(_) => ErrorKind::Denied,
        _ => ErrorKind::Other,
    };
    let message = match e.code() {
        Some(code) => format!("{what}: {code}: {}", e.message().unwrap_or("")),
        None => format!("{what}: {}", DisplayErrorContext(e)),
    };
    err(kind, message)
}

/// The ENI to use: configured, else the one IMDS gives for the VRRP
/// interface's MAC, else the primary one's.
async fn discover_eni(imds: &imds::Client, ifname: &str) -> Result<String, ApiError> {
    let local = std::fs::read_to_string(format!("/sys/class/net/{ifname}/address"))
        .ok()
        .map(|m| m.trim().to_ascii_lowercase());
    let imds_err = |what: &str, e: imds::client::error::ImdsError| {
        err(
            ErrorKind::Unreachable,
            format!("instance metadata ({what}): {}", DisplayErrorContext(e)),
        )
    };
    if let Some(mac) = local.filter(|m| !m.is_empty()) {
        let path = format!("/latest/meta-data/network/interfaces/macs/{mac}/interface-id");
        if let Ok(id) = imds.get(path).await {
            return Ok(id.as_ref().trim().to_string());
        }
    }
    let mac = imds
        .get("/latest/meta-data/mac")
        .await
        .map_err(|e| imds_err("mac", e))?;
    let path = format!(
        "/latest/meta-data/network/interfaces/macs/{}/interface-id",
        mac.as_ref().trim()
    );
    let id = imds
        .get(path)
        .await
        .map_err(|e| imds_err("interface-id", e))?;
    Ok(id.as_ref().trim().to_string())
}

async fn prepare(settings: &Cloud, ifname: &str) -> Result<Ready, ApiError> {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let provider = ProviderConfig::without_region().with_http_client(http.clone());
    let imds = imds::Client::builder()
        .configure(&provider)
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(ATTEMPT_TIMEOUT)
        .max_attempts(1)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        );
    if settings.region != "auto" {
        loader = loader.region(Region::new(settings.region.clone()));
    }
    if let Some(url) = &settings.endpoint {
        loader = loader.endpoint_url(url.clone());
    }
    let sdk = loader.load().await;
    if sdk.region().is_none() {
        return Err(err(
            ErrorKind::Denied,
            "no region: not configured, not in the environment nor the shared config, and the instance metadata service did not answer",
        ));
    }
    let eni = if settings.interface == "auto" {
        discover_eni(&imds, ifname).await?
    } else {
        settings.interface.clone()
    };
    Ok(Ready {
        client: Client::new(&sdk),
        eni,
    })
}

async fn claim(r: &Ready, address: Ipv4Addr, allocation: Option<&str>) -> Result<(), ApiError> {
    r.client
        .assign_private_ip_addresses()
        .network_interface_id(&r.eni)
        .private_ip_addresses(address.to_string())
        .allow_reassignment(true)
        .send()
        .await
        .map_err(|e| classify("AssignPrivateIpAddresses", &e))?;
    if let Some(id) = allocation {
        r.client
            .associate_address()
            .allocation_id(id)
            .network_interface_id(&r.eni)
            .private_ip_address(address.to_string())
            .allow_reassociation(true)
            .send()
            .await
            .map_err(|e| classify("AssociateAddress", &e))?;
    }
    Ok(())
}

async fn read(
    r: &Ready,
    address: Ipv4Addr,
    allocation: Option<&str>,
) -> Result<Observed, ApiError> {
    let want = address.to_string();
    let eni = r
        .client
        .describe_network_interfaces()
        .network_interface_ids(&r.eni)
        .send();
    let eip = async {
        match allocation {
            Some(id) => r
                .client
                .describe_addresses()
                .allocation_ids(id)
                .send()
                .await
                .map(Some),
            None => Ok(None),
        }
    };
    let (eni, eip) = tokio::join!(eni, eip);
    let eni = eni.map_err(|e| classify("DescribeNetworkInterfaces", &e))?;
    let eip = eip.map_err(|e| classify("DescribeAddresses", &e))?;
    let address_here = eni.network_interfaces().iter().any(|i| {
        i.private_ip_addresses()
            .iter()
            .any(|p| p.private_ip_address() == Some(want.as_str()))
    });
    let eip_on = eip.as_ref().and_then(|a| {
        a.addresses()
            .first()
            .and_then(|x| x.network_interface_id())
            .map(str::to_string)
    });
    Ok(Observed {
        ours: r.eni.clone(),
        address_here,
        eip_on,
        eip_wanted: allocation.is_some(),
    })
}

impl Adapter for Aws {
    fn run(&self, job: &Job) -> JobFuture {
        let settings = self.settings.clone();
        let address = self.address;
        let ifname = self.ifname.clone();
        let ready = self.ready.clone();
        let eni_slot = self.eni.clone();
        let op = job.op;
        Box::pin(async move {
            let r = {
                let mut guard = ready.lock().await;
                match &*guard {
                    Some(r) => r.clone(),
                    None => match prepare(&settings, &ifname).await {
                        Ok(r) => {
                            if let Ok(mut e) = eni_slot.lock() {
                                *e = Some(r.eni.clone());
                            }
                            *guard = Some(r.clone());
                            r
                        }
                        Err(e) => return Outcome::Failed(e),
                    },
                }
            };
            let allocation = settings.allocation_id.as_deref();
            match op {
                Op::Claim => match claim(&r, address, allocation).await {
                    Ok(()) => Outcome::Claimed,
                    Err(e) => Outcome::Failed(e),
                },
                Op::Read => match read(&r, address, allocation).await {
                    Ok(o) => Outcome::Read(o),
                    Err(e) => Outcome::Failed(e),
                },
            }
        })
    }

    fn describe(&self) -> String {
        match &self.settings.allocation_id {
            Some(id) => format!("{} (Elastic IP {id})", self.address),
            None => self.address.to_string(),
        }
    }

    fn interface(&self) -> Option<String> {
        self.eni.lock().ok().and_then(|e| e.clone())
    }
}
