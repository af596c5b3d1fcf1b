//! `vrrpd resign`: what a dead daemon can no longer do for itself.
//!
//! systemd runs it as `ExecStopPost`, so after a SIGKILL, an OOM kill or a
//! panic the node still hands over within Skew_Time (the peer sees a
//! priority-0 advert) instead of Master_Down_Interval, and never keeps the
//! floating IP while the peer takes it too (keepalived does, when killed).
//! Idempotent: an instance whose addresses are not present was not Master,
//! and is left alone.

use std::net::IpAddr;

use tracing::{info, warn};

use super::{instance, load_config, DaemonError, Options};
use crate::net::netlink::Netlink;
use crate::net::socket::{Mode, SocketSpec, VrrpSocket};
use crate::proto::fsm::VirtualRouter;
use crate::proto::Priority;

/// What `resign` did for one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resigned {
    pub instance: String,
    pub adverts_sent: usize,
    pub addresses_removed: usize,
}

/// Sends priority 0 and removes the addresses of every configured instance
/// that still holds them.
pub async fn resign(opts: &Options) -> Result<Vec<Resigned>, DaemonError> {
    let config = load_config(opts)?;
    let (netlink, _events) = Netlink::open()?;
    let mut report = Vec::new();
    for inst in &config.instances {
        let ifname = inst.interface.clone().unwrap_or_default();
        let link = match netlink.link(&ifname).await {
            Ok(link) => link,
            Err(e) => {
                warn!("({}) {e}", inst.name);
                continue;
            }
        };
        let present = netlink.addresses(link.index).await?;
        let held: Vec<&crate::config::Vip> = inst
            .vips
            .iter()
            .chain(&inst.excluded_vips)
            .filter(|v| present.iter().any(|(a, _)| *a == v.addr))
            .collect();
        if held.is_empty() {
            info!(
                "({}) holds no virtual address: nothing to resign",
                inst.name
            );
            report.push(Resigned {
                instance: inst.name.clone(),
                adverts_sent: 0,
                addresses_removed: 0,
            });
            continue;
        }
        let source = crate::driver::params::source_address(inst, &present);
        let mut adverts_sent = 0;
        match source {
            Some(source) => match send_priority_zero(inst, link.index, &ifname, source) {
                Ok(n) => adverts_sent = n,
                Err(e) => warn!("({}) sending priority 0: {e}", inst.name),
            },
            None => warn!(
                "({}) no source address on {ifname}: no priority 0 sent",
                inst.name
            ),
        }
        let mut addresses_removed = 0;
        for vip in held {
            let spec = crate::driver::params::address_spec(vip);
            match netlink.remove_address(link.index, &spec).await {
                Ok(true) => addresses_removed += 1,
                Ok(false) => {}
                Err(e) => warn!("({}) {e}", inst.name),
            }
        }
        info!(
            "({}) resigned: {adverts_sent} priority-0 advert(s), {addresses_removed} address(es) removed",
            inst.name
        );
        report.push(Resigned {
            instance: inst.name.clone(),
            adverts_sent,
            addresses_removed,
        });
    }
    Ok(report)
}

fn send_priority_zero(
    inst: &crate::config::Instance,
    ifindex: u32,
    ifname: &str,
    source: IpAddr,
) -> Result<usize, DaemonError> {
    let mode = if inst.is_unicast() {
        Mode::Unicast { source }
    } else {
        Mode::Multicast {
            group: crate::driver::params::multicast_group(inst),
        }
    };
    let sock = VrrpSocket::open(&SocketSpec {
        ifname: ifname.to_string(),
        ifindex,
        family: inst.family,
        mode,
    })?;
    let router = VirtualRouter::new(crate::driver::params::params(inst, source)).map_err(|_| {
        DaemonError::Config {
            file: inst.name.clone(),
        }
    })?;
    let repr = router.advert(Priority::RESIGN);
    let results = instance::send_advert(&sock, inst, source, &repr, instance::Delivery::Now);
    for (dst, sent) in &results {
        if let Err(e) = sent {
            warn!("({}) priority 0 to {dst}: {e}", inst.name);
        }
    }
    Ok(results.iter().filter(|(_, sent)| sent.is_ok()).count())
}
