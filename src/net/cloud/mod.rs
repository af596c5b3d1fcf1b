//! Cloud address adapters: the provider API calls behind the cloud backend
//! (`driver::cloud` decides, `daemon::cloud` runs the jobs). One adapter
//! per instance; a job is one claim or one read.

#[cfg(feature = "aws")]
pub mod aws;

use std::future::Future;
use std::pin::Pin;

use crate::driver::cloud::{Job, Outcome};

/// A job's future: owns everything it needs, so the task can run several
/// instances' jobs at once.
pub type JobFuture = Pin<Box<dyn Future<Output = Outcome> + Send + 'static>>;

/// One instance's provider adapter.
pub trait Adapter: Send + Sync {
    /// Runs `job`; the outcome says what the API answered. Never panics on
    /// the API's answers.
    fn run(&self, job: &Job) -> JobFuture;
    /// What it moves, for logs: "10.0.0.100 (Elastic IP eipalloc-...)".
    fn describe(&self) -> String;
    /// The interface it puts the address on, once known.
    fn interface(&self) -> Option<String>;
}

/// The adapter for an instance's settings; `ifname` is its VRRP interface
/// (whose MAC names its ENI when the interface is `auto`).
pub fn adapter(
    settings: &crate::config::cloud::Cloud,
    address: std::net::Ipv4Addr,
    ifname: &str,
) -> Option<std::sync::Arc<dyn Adapter>> {
    match settings.provider {
        #[cfg(feature = "aws")]
        crate::config::cloud::Provider::Aws => Some(std::sync::Arc::new(aws::Aws::new(
            settings.clone(),
            address,
            ifname.to_string(),
        ))),
        #[cfg(not(feature = "aws"))]
        crate::config::cloud::Provider::Aws => {
            let _ = (address, ifname);
            None
        }
    }
}
