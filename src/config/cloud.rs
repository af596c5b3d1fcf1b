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

/// What `vrrpd check` can see of the AWS credential and region chain
/// without the network: the environment and whether files exist.
pub struct AwsEnv<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub exists: &'a dyn Fn(&Path) -> bool,
}

impl AwsEnv<'_> {
    fn set(&self, name: &str) -> bool {
        (self.var)(name).is_some_and(|v| !v.is_empty())
    }

    fn shared_file(&self, var: &str, default: &str) -> bool {
        let path = match (self.var)(var).filter(|v| !v.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => match (self.var)("HOME").filter(|v| !v.is_empty()) {
                Some(home) => Path::new(&home).join(".aws").join(default),
                None => return false,
            },
        };
        (self.exists)(&path)
    }

    /// Credentials the daemon's chain would find before IMDS.
    fn static_credentials(&self) -> bool {
        (self.set("AWS_ACCESS_KEY_ID") && self.set("AWS_SECRET_ACCESS_KEY"))
            || self.set("AWS_WEB_IDENTITY_TOKEN_FILE")
            || self.set("AWS_CONTAINER_CREDENTIALS_FULL_URI")
            || self.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
            || self.shared_file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
            || self.shared_file("AWS_CONFIG_FILE", "config")
    }

    /// A region the chain would find before IMDS.
    fn static_region(&self) -> bool {
        self.set("AWS_REGION")
            || self.set("AWS_DEFAULT_REGION")
            || self.shared_file("AWS_CONFIG_FILE", "config")
    }
}

/// What is missing for `c` in `env` (empty: nothing check can see).
pub fn env_problems(c: &Cloud, env: &AwsEnv<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let imds = c.credentials == Credentials::InstanceProfile
        || env.set("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if c.credentials == Credentials::Environment && !env.static_credentials() {
        out.push("no AWS credentials in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_WEB_IDENTITY_TOKEN_FILE) nor a shared credentials/config file; on EC2 with an instance profile say credentials = \"instance-profile\"".to_string());
    }
    if c.region == "auto" && !env.static_region() && !imds {
        out.push("no region: set region = \"...\", AWS_REGION, or a shared config file's region; on EC2 say credentials = \"instance-profile\" to take it from the instance metadata service".to_string());
    }
    out
}

/// `vrrpd check`'s verdict on where each cloud instance's credentials and
/// region come from (errors: the daemon would only fail at the first
/// claim). `credentials = "instance-profile"` and an explicit
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT` say IMDS answers there, which check
/// cannot verify offline.
pub fn env_checks(
    cfg: &super::model::Config,
    spans: &super::Spans,
    env: &AwsEnv<'_>,
) -> Vec<super::Diagnostic> {
    let mut d = Diags::new(super::Limits::default().max_diagnostics);
    for (i, inst) in cfg.instances.iter().enumerate() {
        let Some(c) = &inst.cloud else { continue };
        let at = spans.instance(i, "cloud");
        for problem in env_problems(c, env) {
            d.error(&at, format!("({}) cloud: {problem}", inst.name));
        }
    }
    d.finish(&spans.file.file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, LoadOptions, MemSource};

    const KA: &str = "vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 101\n    virtual_ipaddress {\n        10.0.0.100\n    }\n}\n";

    fn load_with_side(side: &str) -> crate::config::Loaded {
        let src = MemSource::new()
            .with("/etc/keepalived/keepalived.conf", KA.as_bytes())
            .with("/etc/keepalived/vrrpd-cloud.toml", side.as_bytes());
        crate::config::load(
            Path::new("/etc/keepalived/keepalived.conf"),
            &src,
            &LoadOptions::default(),
        )
    }

    #[test]
    fn side_file_gives_a_keepalived_instance_its_cloud_settings() {
        let l = load_with_side("[VI_1]\nprovider = \"aws\"\nallocation_id = \"eipalloc-1\"\n");
        let errors: Vec<_> = l
            .diagnostics
            .iter()
            .filter(|d| d.severity == crate::config::Severity::Error)
            .collect();
        if cfg!(feature = "aws") {
            assert!(errors.is_empty(), "{errors:?}");
        }
        let c = l.config.instances[0].cloud.as_ref().unwrap();
        assert_eq!(c.provider, Provider::Aws);
        assert_eq!(c.allocation_id.as_deref(), Some("eipalloc-1"));
        assert_eq!(
            c.private_address(&l.config.instances[0].vips),
            Some(Ipv4Addr::new(10, 0, 0, 100))
        );
    }

    #[test]
    fn side_file_naming_an_unknown_instance_is_an_error_at_its_line() {
        let l = load_with_side("# cloud\n\n[VI_9]\nprovider = \"aws\"\n");
        let d = l
            .diagnostics
            .iter()
            .find(|d| d.message.contains("no vrrp_instance VI_9"))
            .expect("error");
        assert_eq!(d.file, "/etc/keepalived/vrrpd-cloud.toml");
        assert_eq!(d.line, 3);
    }

    #[test]
    fn side_file_unknown_key_names_line_and_column() {
        let l = load_with_side("[VI_1]\nprovider = \"aws\"\n  regoin = \"x\"\n");
        let d = l
            .diagnostics
            .iter()
            .find(|d| d.message.contains("regoin"))
            .expect("error");
        assert_eq!((d.line, d.col), (3, 3));
    }

    #[test]
    fn cloud_address_must_be_a_virtual_address() {
        let l = load_with_side("[VI_1]\nprovider = \"aws\"\naddress = \"10.0.0.7\"\n");
        assert!(l.diagnostics.iter().any(|d| d
            .message
            .contains("not one of the instance's virtual addresses")));
    }

    #[test]
    fn toml_cloud_table() {
        let text = "[[instance]]\nname = \"VI_1\"\nvrid = 51\ninterface = \"eth0\"\nvips = [{ addr = \"10.0.0.100\", prefix = 32 }]\n[instance.cloud]\nprovider = \"aws\"\ninterface = \"eni-0a\"\nregion = \"eu-west-1\"\nreconcile_interval = 0.5\n";
        let l = load_str("vrrpd.toml", text, &LoadOptions::default());
        let d = l
            .diagnostics
            .iter()
            .find(|d| d.message.contains("reconcile_interval"))
            .unwrap_or_else(|| panic!("{:?}", l.diagnostics));
        assert_eq!(d.line, 6);
        let c = l.config.instances[0].cloud.as_ref().unwrap();
        assert_eq!(c.interface, "eni-0a");
    }

    fn env_of(vars: &[(&str, &str)], files: &[&str]) -> Vec<super::super::Diagnostic> {
        let l = load_with_side("[VI_1]\nprovider = \"aws\"\n");
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
        let var = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let exists = |p: &Path| files.iter().any(|f| f == p);
        env_checks(
            &l.config,
            &l.spans,
            &AwsEnv {
                var: &var,
                exists: &exists,
            },
        )
    }

    #[test]
    fn missing_credentials_and_region_are_errors() {
        let d = env_of(&[("HOME", "/root")], &[]);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            d[0].message.contains("no AWS credentials")
                || d[1].message.contains("no AWS credentials")
        );
        assert!(d
            .iter()
            .all(|d| d.file == "/etc/keepalived/vrrpd-cloud.toml" && d.line == 1));
    }

    #[test]
    fn environment_or_shared_files_satisfy_the_check() {
        let d = env_of(
            &[
                ("AWS_ACCESS_KEY_ID", "AKID"),
                ("AWS_SECRET_ACCESS_KEY", "s"),
                ("AWS_REGION", "eu-west-1"),
            ],
            &[],
        );
        assert!(d.is_empty(), "{d:?}");
        let d = env_of(&[("HOME", "/root")], &["/root/.aws/config"]);
        assert!(d.is_empty(), "{d:?}");
    }
}
