//! Checks of a model against the host it is meant to run on: interfaces
//! that do not exist, a unicast source that is not ours, a peer that is.
//! Pure: the caller collects the host's addresses.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::model::Config;
use super::{Diagnostic, Limits};
use super::{Diags, Spans};

/// The host's interfaces and their addresses.
#[derive(Debug, Clone, Default)]
pub struct HostAddrs {
    pub interfaces: BTreeMap<String, Vec<IpAddr>>,
    /// Whether `nft` (accept mode's firewall) is on PATH; `None`: not
    /// looked for.
    pub nft_found: Option<bool>,
}

impl HostAddrs {
    fn owner_of(&self, a: &IpAddr) -> Option<&str> {
        self.interfaces
            .iter()
            .find(|(_, addrs)| addrs.contains(a))
            .map(|(n, _)| n.as_str())
    }
}

/// Diagnostics for running `cfg` on `host` (keepalived refuses a missing
/// interface unless `dynamic_interfaces`; the rest are warnings).
pub fn host_checks(cfg: &Config, spans: &Spans, host: &HostAddrs) -> Vec<Diagnostic> {
    let mut d = Diags::new(Limits::default().max_diagnostics);
    for (i, inst) in cfg.instances.iter().enumerate() {
        let name = &inst.name;
        let mut ifaces: Vec<(&str, &str)> = Vec::new();
        if let Some(ifc) = &inst.interface {
            ifaces.push((ifc, "interface"));
        }
        for v in inst.vips.iter().chain(&inst.excluded_vips) {
            if let Some(dev) = &v.dev {
                ifaces.push((dev, "vips"));
            }
        }
        for t in &inst.track_interfaces {
            ifaces.push((&t.name, "name"));
        }
        for (ifc, field) in ifaces {
            if !host.interfaces.contains_key(ifc) {
                let msg = format!("({name}) interface '{ifc}' does not exist on this host");
                if cfg.global.dynamic_interfaces {
                    d.warning(&spans.instance(i, field), msg);
                } else {
                    d.error(
                        &spans.instance(i, field),
                        format!(
                            "{msg} (keepalived refuses to start unless dynamic_interfaces is set)"
                        ),
                    );
                }
            }
        }
        if let Some(src) = &inst.unicast_src {
            let at = spans.instance(i, "unicast_src");
            match (host.owner_of(src), inst.interface.as_deref()) {
                (None, _) => d.warning(
                    &at,
                    format!(
                        "({name}) unicast_src_ip {src} is not an address of this host: adverts would carry a foreign source and peers would not answer it (were the addresses of the other node copied without swapping?)"
                    ),
                ),
                (Some(owner), Some(ifc)) if owner != ifc => d.warning(
                    &at,
                    format!("({name}) unicast_src_ip {src} is on {owner}, not on the instance's interface {ifc}"),
                ),
                _ => {}
            }
        }
        for p in &inst.unicast_peers {
            if let Some(owner) = host.owner_of(&p.addr) {
                d.warning(
                    &spans.instance(i, "unicast_peers"),
                    format!(
                        "({name}) unicast peer {} is an address of this host ({owner}): the peer list should name the other node",
                        p.addr
                    ),
                );
            }
        }
        if let Some(src) = &inst.mcast_src_ip {
            if host.owner_of(src).is_none() {
                d.warning(
                    &spans.instance(i, "name"),
                    format!("({name}) mcast_src_ip {src} is not an address of this host"),
                );
            }
        }
    }
    // Accept mode needs `nft`; said once, at the first instance needing it.
    if host.nft_found == Some(false) {
        if let Some(i) = cfg.instances.iter().position(|i| i.drops_traffic()) {
            let name = &cfg.instances[i].name;
            d.warning(
                &spans.instance(i, "accept"),
                format!(
                    "({name}) drops traffic to its addresses while Master (no_accept, or strict mode), but `nft` is not on PATH: the drop rules cannot be installed until it is (Debian package nftables)"
                ),
            );
        }
    }
    let file = spans.file.file.to_string();
    d.finish(&file)
}
