//! `vrrpd resign`: what a dead daemon can no longer do for itself.
//!
//! systemd runs it as `ExecStopPost`, so after a SIGKILL, an OOM kill or a
//! panic the node still hands over within Skew_Time (the peer sees a
//! priority-0 advert) instead of Master_Down_Interval, and never keeps the
//! floating IP while the peer takes it too (keepalived does, when killed).
//!
//! It releases what the daemon's runtime record says it held
//! ([`crate::driver::record`]), whatever happened to the configuration file
//! since (edited, broken mid-edit, deleted). Only without a record, or with
//! one it cannot read (a version it does not know), does it fall back to
//! the configuration, and it says so. Idempotent: an instance none of whose
//! addresses is present any more was not Master (or was released already),
//! and is left alone.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use tracing::{info, warn};

use super::{instance, load_config, record, DaemonError, Options};
use crate::config::Instance;
use crate::driver::params;
use crate::driver::record::{HeldAddress, InstanceRecord, VmacRecord};
use crate::driver::routes::{virtual_entries, Entry, STATIC_OWNER};
use crate::net::netlink::Netlink;
use crate::net::socket::{Mode, SocketSpec, VrrpSocket};

/// What `resign` did for one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resigned {
    pub instance: String,
    pub adverts_sent: usize,
    pub addresses_removed: usize,
}

/// Sends priority 0 and removes the addresses of every instance that still
/// holds them: those of the runtime record, else of the configuration.
pub async fn resign(opts: &Options) -> Result<Vec<Resigned>, DaemonError> {
    let path = opts.record.display();
    let config = opts.config_file.display();
    match record::read(&opts.record) {
        Ok(Some(rec)) => {
            info!(
                "releasing what the runtime record {path} says daemon pid {} held ({} address(es)); the configuration only names keys and the firewall table",
                rec.pid,
                rec.held_count()
            );
            let (netlink, _events) = Netlink::open()?;
            // Read once, best effort: it may have been edited or broken
            // since the daemon started.
            let loaded =
                crate::config::load(&opts.config_file, &crate::config::FsSource, &opts.load);
            let config = (!loaded.has_errors()).then_some(&loaded.config);
            let keys = signing_instances(config);
            let mut report = release(&netlink, &rec.instances, &keys).await;
            // Static addresses (owner "") stay, as the static routes do.
            for orphan in rec.orphans.iter().filter(|o| o.owner != STATIC_OWNER) {
                let removed = remove_present(&netlink, &orphan.owner, [&orphan.address]).await;
                report.push(Resigned {
                    instance: orphan.owner.clone(),
                    adverts_sent: 0,
                    addresses_removed: removed,
                });
            }
            // An instance's routes and rules go with its mastership; the
            // static ones stay (they are the node's, not the Master's, and
            // a restarted daemon would add them again).
            let held: Vec<&Entry> = rec
                .routes
                .iter()
                .filter(|h| h.owner != STATIC_OWNER)
                .map(|h| &h.entry)
                .collect();
            remove_routes(&netlink, held).await;
            release_firewall(config).await;
            restore_vmac_bases(&rec.vmac_bases);
            return Ok(report);
        }
        // After a clean stop (the daemon removed its record): not a fault.
        Ok(None) => {
            info!("no runtime record at {path}: releasing what the configuration {config} lists")
        }
        Err(e) => warn!("{e}: refused; releasing what the configuration {config} lists instead"),
    }
    let config = load_config(opts)?;
    let (netlink, _events) = Netlink::open()?;
    let instances = configured(&netlink, &config).await?;
    let keys = signing_instances(Some(&config));
    let report = release(&netlink, &instances, &keys).await;
    // The released instances' routes and rules, as configured (those not
    // there are skipped).
    let released: Vec<Entry> = config
        .instances
        .iter()
        .filter(|i| {
            report
                .iter()
                .any(|r| r.instance == i.name && r.addresses_removed > 0)
        })
        .flat_map(|i| virtual_entries(i))
        .collect();
    remove_routes(&netlink, released.iter()).await;
    release_firewall(Some(&config)).await;
    Ok(report)
}

/// Removes each route and rule of `entries` that is there.
async fn remove_routes<'a>(netlink: &Netlink, entries: impl IntoIterator<Item = &'a Entry>) {
    for entry in entries {
        let removed = match entry {
            Entry::Route(route) => {
                let oif = match &route.dev {
                    Some(dev) => match netlink.link(dev).await {
                        Ok(link) => Some(link.index),
                        // Gone with its interface.
                        Err(_) => continue,
                    },
                    None => None,
                };
                let mut hops = Vec::new();
                for hop in &route.nexthops {
                    hops.push(match &hop.dev {
                        Some(dev) => netlink.link(dev).await.ok().map(|l| l.index),
                        None => None,
                    });
                }
                let ix = crate::net::netlink::RouteIfindexes { oif, hops: &hops };
                netlink.remove_route(route, ix).await
            }
            Entry::Rule(rule) => netlink.remove_rule(rule).await,
        };
        match removed {
            Ok(true) => info!("removed '{}'", entry.text()),
            Ok(false) => {}
            Err(e) => warn!("{e}"),
        }
    }
}

/// Deletes accept mode's nftables tables (`ip TABLE`, `ip6 TABLE`), as
/// keepalived deletes them at stop; a no-op when they are not there. The
/// table name is the configuration's when it loads (`config`; its nftables
/// settings are not in the runtime record), else keepalived's default
/// `keepalived`.
async fn release_firewall(config: Option<&crate::config::Config>) {
    let settings = match config {
        None => crate::config::Nftables::default(),
        Some(c) if c.instances.iter().any(|i| i.drops_traffic()) => c.global.nftables.clone(),
        // No instance drops traffic: no table was made (and `nft` may
        // not even be installed).
        Some(_) => return,
    };
    let batch = crate::net::nft::teardown(&settings);
    match crate::net::nft::apply(&batch, super::firewall::NFT_TIMEOUT).await {
        Ok(()) => info!(
            "nftables tables ip/ip6 {} deleted (if present)",
            settings.table
        ),
        Err(e) => warn!("nftables tables ip/ip6 {}: {e}", settings.table),
    }
}

/// The configured instances, each holding those of its addresses present
/// on its interface (what a daemon of this configuration would hold).
async fn configured(
    netlink: &Netlink,
    config: &crate::config::Config,
) -> Result<Vec<InstanceRecord>, DaemonError> {
    let mut out = Vec::new();
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
        let source = params::source_address(inst, &present);
        let unspecified = match inst.family {
            crate::proto::Family::Ipv4 => IpAddr::from([0u8; 4]),
            crate::proto::Family::Ipv6 => IpAddr::from([0u8; 16]),
        };
        // A VMAC instance's addresses (and, without vmac_xmit_base, its
        // adverts) are on its VMAC, if it is still there and ours.
        let vmac = match crate::driver::vmac::spec(inst) {
            Some(spec) => netlink
                .link_facts_of(&spec.name)
                .await?
                .filter(|l| l.macvlan_mode.is_some() && l.mac == Some(spec.mac))
                .map(|l| (spec, l)),
            None => None,
        };
        let vip_index = vmac.as_ref().map_or(link.index, |(_, l)| l.index);
        let (sock_ifname, sock_index) = match &vmac {
            Some((spec, l)) if !spec.xmit_base => (l.name.clone(), l.index),
            _ => (ifname.clone(), link.index),
        };
        let on_vips = if vip_index == link.index {
            present.clone()
        } else {
            netlink.addresses(vip_index).await?
        };
        let mut rec = InstanceRecord::new(
            inst,
            &params::params(inst, source.unwrap_or(unspecified)),
            &sock_ifname,
            sock_index,
        );
        rec.vmac = vmac.map(|(spec, _)| VmacRecord {
            name: spec.name,
            mac: spec.mac,
        });
        rec.held = inst
            .vips
            .iter()
            .chain(&inst.excluded_vips)
            .filter(|v| on_vips.iter().any(|(a, _)| *a == v.addr))
            .map(|v| HeldAddress::new(vip_index, &params::address_spec(v)))
            .collect();
        out.push(rec);
    }
    Ok(out)
}

/// The configured instances with `auth_hmac`, whose keys sign the
/// priority-0 adverts: the runtime record holds no key material, and an
/// enforcing peer ignores an unsigned advert (it would take over only after
/// Master_Down_Interval). A configuration that does not load gives none.
fn signing_instances(config: Option<&crate::config::Config>) -> Vec<Arc<Instance>> {
    config.map_or_else(Vec::new, |c| {
        c.instances
            .iter()
            .filter(|i| i.auth_hmac.is_some())
            .cloned()
            .collect()
    })
}

/// For each instance with an address still present: priority 0 to its
/// peers, then its addresses removed.
async fn release(
    netlink: &Netlink,
    instances: &[InstanceRecord],
    keys: &[Arc<Instance>],
) -> Vec<Resigned> {
    let mut report = Vec::new();
    for inst in instances {
        let held = present(netlink, &inst.name, &inst.held).await;
        if held.is_empty() {
            info!(
                "({}) holds no virtual address: nothing to resign",
                inst.name
            );
            remove_vmac(netlink, inst).await;
            report.push(Resigned {
                instance: inst.name.clone(),
                adverts_sent: 0,
                addresses_removed: 0,
            });
            continue;
        }
        let adverts_sent = match inst.source {
            Some(source) => match send_priority_zero(
                netlink,
                inst,
                source,
                keys.iter().find(|k| k.name == inst.name),
            )
            .await
            {
                Ok(n) => n,
                Err(e) => {
                    warn!("({}) sending priority 0: {e}", inst.name);
                    0
                }
            },
            None => {
                warn!(
                    "({}) no source address on {}: no priority 0 sent",
                    inst.name, inst.interface
                );
                0
            }
        };
        let addresses_removed = remove_present(netlink, &inst.name, held).await;
        remove_vmac(netlink, inst).await;
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
    report
}

/// Puts the VMACs' base interfaces' sysctls back as the record says they
/// were, as the daemon's clean stop would have.
fn restore_vmac_bases(bases: &std::collections::BTreeMap<String, Vec<u32>>) {
    let sysctl = crate::net::sysctl::Sysctl::default();
    for (base, values) in bases {
        for ((key, _), value) in crate::driver::vmac::BASE_SYSCTLS.iter().zip(values) {
            match sysctl.set(crate::net::sysctl::Tree::Ipv4, base, key, *value) {
                Ok(()) => info!("{base}: {key} reset to {value}"),
                Err(e) => warn!("{base}: {key} not reset: {e}"),
            }
        }
    }
}

/// Deletes the instance's VMAC and its addresses' VMACs, those the record
/// names whose link of that name is still a macvlan with its MAC (a dead
/// daemon cannot).
async fn remove_vmac(netlink: &Netlink, inst: &InstanceRecord) {
    for v in inst.vmac.iter().chain(&inst.address_vmacs) {
        remove_one_vmac(netlink, &inst.name, v).await;
    }
}

async fn remove_one_vmac(netlink: &Netlink, iname: &str, v: &VmacRecord) {
    let link = match netlink.link_facts_of(&v.name).await {
        Ok(Some(link)) => link,
        Ok(None) => return,
        Err(e) => {
            warn!("({}) VMAC {}: {e}", iname, v.name);
            return;
        }
    };
    if link.macvlan_mode.is_none() || link.mac != Some(v.mac) {
        warn!(
            "({}) {} is no longer the VMAC vrrpd created: left alone",
            iname, v.name
        );
        return;
    }
    match netlink.delete_link(link.index, &link.name).await {
        Ok(_) => info!("({}) VMAC interface {} removed", iname, v.name),
        Err(e) => warn!("({}) {e}", iname),
    }
}

/// Those of `held` still on their interfaces.
async fn present<'a>(
    netlink: &Netlink,
    owner: &str,
    held: &'a [HeldAddress],
) -> Vec<&'a HeldAddress> {
    let mut on: HashMap<u32, Vec<IpAddr>> = HashMap::new();
    let mut out = Vec::new();
    for h in held {
        if let std::collections::hash_map::Entry::Vacant(slot) = on.entry(h.ifindex) {
            let list = match netlink.addresses(h.ifindex).await {
                Ok(list) => list.into_iter().map(|(a, _)| a).collect(),
                Err(e) => {
                    warn!("({owner}) addresses of interface #{}: {e}", h.ifindex);
                    Vec::new()
                }
            };
            slot.insert(list);
        }
        if on.get(&h.ifindex).is_some_and(|l| l.contains(&h.addr)) {
            out.push(h);
        }
    }
    out
}

/// Removes each of `held` that is there; returns how many went.
async fn remove_present<'a>(
    netlink: &Netlink,
    owner: &str,
    held: impl IntoIterator<Item = &'a HeldAddress>,
) -> usize {
    let mut removed = 0;
    for h in held {
        match netlink.remove_address(h.ifindex, &h.spec()).await {
            Ok(true) => removed += 1,
            Ok(false) => {}
            Err(e) => warn!("({owner}) removing {}: {e}", h.addr),
        }
    }
    removed
}

async fn send_priority_zero(
    netlink: &Netlink,
    inst: &InstanceRecord,
    source: IpAddr,
    signing: Option<&Arc<Instance>>,
) -> Result<usize, DaemonError> {
    // The interface as it is now: re-created since, it has another index.
    let ifindex = match netlink.link(&inst.interface).await {
        Ok(link) => link.index,
        Err(_) => inst.ifindex,
    };
    let dsts = inst.destinations.addresses();
    let mode = match &inst.destinations {
        crate::driver::record::Destinations::Unicast { .. } => Mode::Unicast { source },
        crate::driver::record::Destinations::Multicast { group } => {
            Mode::Multicast { group: *group }
        }
    };
    let sock = VrrpSocket::open(&SocketSpec {
        ifname: inst.interface.clone(),
        ifindex,
        family: inst.family,
        mode,
    })?;
    let repr = inst.resign_advert();
    // Signed as the daemon would (a fresh sender: its sequence is the UTC
    // clock, past what the dead daemon sent unless the clock went back).
    let trailer = signing.and_then(|cfg| {
        let mut auth = crate::driver::auth::AuthState::new(cfg)?;
        if !auth.signs() {
            return None;
        }
        match instance::sign(&mut auth, super::utc_seq(), cfg, source, &repr) {
            Ok(t) => Some(t),
            Err(e) => {
                warn!("({}) signing priority 0: {e}", inst.name);
                None
            }
        }
    });
    let mut sent_ok = 0;
    instance::send_to(
        &sock,
        dsts.iter().copied(),
        instance::Framing {
            checksum: inst.checksum,
            // The record predates unicast_ttl: 255, which a peer accepts
            // unless its min_ttl/max_ttl say otherwise.
            ttl: crate::proto::wire::TTL,
            trailer,
        },
        source,
        &repr,
        instance::Delivery::Now,
        |dst, sent| match sent {
            Ok(()) => sent_ok += 1,
            Err(e) => warn!("({}) priority 0 to {dst}: {e}", inst.name),
        },
    );
    Ok(sent_ok)
}
