//! The cloud address backend's settings (issue 17): per instance, which
//! provider moves the floating address, and the vrrpd-only side file that
//! gives them to an instance of a keepalived.conf (which keepalived itself
//! must still accept, so the settings cannot live in it).
//!
//! Side file: `vrrpd-cloud.toml` in the directory of the main keepalived.conf,
//! one table per instance name:
//!
//! ```toml
//! [VI_1]
//! provider = "aws"
//! address = "10.0.0.100"
//! allocation_id = "eipalloc-0123456789abcdef0"
//! ```

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::units::Secs;
use super::{line_col, Diags, Loc};

/// The side file's name, looked for next to a keepalived.conf.
pub const SIDE_FILE: &str = "vrrpd-cloud.toml";

/// Which provider's API moves the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// AWS EC2: `AssignPrivateIpAddresses` + `AssociateAddress`.
    Aws,
}

/// Where the daemon's AWS credentials come from, as far as `vrrpd check`
/// can tell without the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Credentials {
    /// The standard chain's static sources: `AWS_ACCESS_KEY_ID` /
    /// `AWS_SECRET_ACCESS_KEY`, a web identity token file, or the shared
    /// `credentials` / `config` files with the profile. `check` fails when
    /// none is there.
    #[default]
    Environment,
    /// The instance profile through IMDS: `check` cannot see it without
    /// the network and trusts this declaration; the daemon reports a
    /// failure to get them in status, metrics and the log.
    InstanceProfile,
}

fn auto() -> String {
    "auto".to_string()
}

fn default_reconcile() -> Secs {
    Secs::from_secs(10)
}

fn is_auto(s: &str) -> bool {
    s == "auto"
}

fn is_default_reconcile(s: &Secs) -> bool {
    *s == default_reconcile()
}

/// One instance's cloud backend (`cloud` table of an instance, or a table
/// of the side file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cloud {
    /// The provider: `"aws"`.
    pub provider: Provider,
    /// The network interface (ENI id, `eni-...`) to put the address on, or
    /// `"auto"`: the ENI of the instance's VRRP interface (by its MAC), else
    /// the instance's primary ENI, from the instance metadata service.
    #[serde(default = "auto", skip_serializing_if = "is_auto")]
    pub interface: String,
    /// The private address to move: a secondary private IPv4 address of the
    /// ENI. Default: the instance's first IPv4 virtual address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Ipv4Addr>,
    /// An Elastic IP's allocation id (`eipalloc-...`) to associate with
    /// the private address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_id: Option<String>,
    /// The region, or `"auto"`: `AWS_REGION` / `AWS_DEFAULT_REGION`, the
    /// shared config's profile, then the instance metadata service.
    #[serde(default = "auto", skip_serializing_if = "is_auto")]
    pub region: String,
    /// The EC2 API endpoint (another partition's, a VPC endpoint, an
    /// emulator); default the region's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Where credentials come from (see [`Credentials`]).
    #[serde(default)]
    pub credentials: Credentials,
    /// How often a Master re-reads the cloud's mapping (it also does after
    /// every advert from a peer): decimal seconds, 1..3600.
    #[serde(
        default = "default_reconcile",
        skip_serializing_if = "is_default_reconcile"
    )]
    pub reconcile_interval: Secs,
}

impl Cloud {
    /// The private address this instance moves: `address`, else the
    /// first IPv4 virtual address of `vips`.
    pub fn private_address(&self, vips: &[super::model::Vip]) -> Option<Ipv4Addr> {
        self.address.or_else(|| {
            vips.iter().find_map(|v| match v.addr {
                std::net::IpAddr::V4(a) => Some(a),
                _ => None,
            })
        })
    }
}

/// Checks one instance's cloud settings; `at` is where they were written.
pub(super) fn validate(
    name: &str,
    cloud: &Cloud,
    vips: &[super::model::Vip],
    excluded: &[super::model::Vip],
    at: &Loc,
    d: &mut Diags,
) {
    if !cfg!(feature = "aws") && cloud.provider == Provider::Aws {
        d.error(
            at,
            format!(
                "({name}) cloud provider \"aws\": this vrrpd was built without the `aws` feature"
            ),
        );
    }
    match cloud.private_address(vips) {
        None => d.error(
            at,
            format!("({name}) cloud: no private IPv4 address to move (set `address`, or give the instance an IPv4 virtual address)"),
        ),
        Some(a) => {
            let held = vips.iter().chain(excluded).any(|v| v.addr == std::net::IpAddr::V4(a));
            if !held {
                d.error(
                    at,
                    format!("({name}) cloud address {a} is not one of the instance's virtual addresses: the cloud would route it to a node that does not hold it"),
                );
            }
        }
    }
    if cloud.interface != "auto" && !cloud.interface.starts_with("eni-") {
        d.error(
            at,
            format!(
                "({name}) cloud interface '{}': expected \"auto\" or an ENI id (eni-...)",
                cloud.interface
            ),
        );
    }
    if let Some(id) = &cloud.allocation_id {
        if !id.starts_with("eipalloc-") {
            d.error(
                at,
                format!("({name}) cloud allocation_id '{id}': expected an Elastic IP allocation id (eipalloc-...)"),
            );
        }
    }
    if let Some(e) = &cloud.endpoint {
        if !(e.starts_with("http://") || e.starts_with("https://")) {
            d.error(
                at,
                format!("({name}) cloud endpoint '{e}': expected an http:// or https:// URL"),
            );
        }
    }
    let r = cloud.reconcile_interval.as_micros();
    if !(1_000_000..=3_600_000_000).contains(&r) {
        d.error(
            at,
            format!("({name}) cloud reconcile_interval must be 1..3600 seconds"),
        );
    }
}

/// The side file of the keepalived.conf at `main`.
pub fn side_file(main: &Path) -> PathBuf {
    main.parent()
        .unwrap_or_else(|| Path::new("."))
        .join(SIDE_FILE)
}

/// A parsed side file: settings by instance name, and where each table
/// starts (for messages about instances the main file lacks).
#[derive(Debug, Default)]
pub(super) struct Side {
    pub by_name: BTreeMap<String, Cloud>,
    pub at: BTreeMap<String, Loc>,
}

/// Parses side-file `text` named `file`; errors go to `d` with the line and
/// column they are at.
pub(super) fn parse_side(file: &str, text: &str, d: &mut Diags) -> Side {
    let name: Arc<str> = Arc::from(file);
    let mut side = Side::default();
    match ::toml::from_str::<BTreeMap<String, Cloud>>(text) {
        Ok(map) => side.by_name = map,
        Err(e) => {
            let (line, col) = e
                .span()
                .map(|s| line_col(text.as_bytes(), s.start))
                .unwrap_or((1, 1));
            d.error(
                &Loc::new(name, line, col),
                e.message().trim().replace('\n', " "),
            );
            return side;
        }
    }
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if let Some(inst) = l
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .map(|s| s.trim().trim_matches('"'))
        {
            let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
            side.at
                .insert(inst.to_string(), Loc::new(name.clone(), line, 1));
        }
    }
    side
}
