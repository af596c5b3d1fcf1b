//! VMACs in the kernel: the macvlan of an instance with `use_vmac`
//! created (rtnetlink), configured (sysctls), brought up, adopted as it is
//! (an upgrade) and deleted. What they are and which links are ours is
//! decided in `crate::driver::vmac`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::{info, warn};

use super::netlink::{AddressSpec, LinkFacts, Netlink, NetlinkError};
use super::sysctl::{Sysctl, SysctlError, Tree};
use crate::driver::vmac::{self, Existing, VmacLink, VmacSpec};

/// How [`Vmacs::ensure`] treats what it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnsureMode {
    /// Start or reload: reuse a VMAC that is as configured, replace one
    /// that is not, create a missing one; set it up.
    Ensure,
    /// Taking over from an upgraded daemon: the VMAC must be there as
    /// configured and is left exactly as it is.
    Adopt,
}

/// Why an instance's VMAC is not there.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VmacError {
    #[error("VMAC {0} conflicts with an existing interface that is not a macvlan")]
    Conflict(String),
    #[error("VMAC {0} is not there (or not as configured) to take over")]
    NotThere(String),
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
}

/// A VMAC as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmacUp {
    pub link: VmacLink,
    pub running: bool,
}

/// The base interfaces' [`vmac::BASE_SYSCTLS`] before vrrpd set them,
/// by interface name: put back at stop, as keepalived does.
pub type SavedBases = BTreeMap<String, [u32; vmac::BASE_SYSCTLS.len()]>;

/// Creates, adopts and deletes VMACs; remembers what it changed on base
/// interfaces. Cheap to clone (lookups run in tasks of their own).
#[derive(Clone)]
pub struct Vmacs {
    netlink: Netlink,
    sysctl: Sysctl,
    saved: Arc<Mutex<SavedBases>>,
}

impl Vmacs {
    pub fn new(netlink: Netlink) -> Vmacs {
        Vmacs {
            netlink,
            sysctl: Sysctl::default(),
            saved: Arc::default(),
        }
    }

    /// What the base interfaces held before vrrpd changed them.
    pub fn saved_bases(&self) -> SavedBases {
        self.saved
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes over a predecessor's saved values (an upgrade).
    pub fn adopt_saved_bases(&self, saved: SavedBases) {
        self.saved
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(saved);
    }

    /// Deletes the VMACs an earlier run left (a SIGKILL, a crash): at
    /// start, so that every VMAC is created fresh, without the addresses
    /// a dead Master left on it. Returns the names deleted.
    pub async fn remove_leftovers(&self, configured: &[VmacSpec]) -> Vec<String> {
        let links = match self.netlink.link_facts().await {
            Ok(links) => links,
            Err(e) => {
                warn!("listing links for VMACs left by an earlier run: {e}");
                return Vec::new();
            }
        };
        let mut removed = Vec::new();
        for link in links.iter().filter(|l| vmac::is_leftover(l, configured)) {
            match self.netlink.delete_link(link.index, &link.name).await {
                Ok(_) => {
                    info!(
                        "Removed VMAC interface {} left by an earlier run",
                        link.name
                    );
                    removed.push(link.name.clone());
                }
                Err(e) => warn!("VMAC interface {} left by an earlier run: {e}", link.name),
            }
        }
        removed
    }

    /// Makes `spec`'s VMAC exist on base `base_ifindex` and be up; an IPv6
    /// instance's advert `source` (the base's link-local address) is added
    /// to it, so adverts can leave from it (keepalived's
    /// `set_link_local_address()`).
    pub async fn ensure(
        &self,
        spec: &VmacSpec,
        base_ifindex: u32,
        mode: EnsureMode,
        source: Option<IpAddr>,
    ) -> Result<VmacUp, VmacError> {
        let existing = self.netlink.link_facts_of(&spec.name).await?;
        let reuse = match (&existing, mode) {
            (Some(link), _) => match vmac::judge_existing(spec, base_ifindex, link) {
                Existing::Reuse => true,
                Existing::Conflict => return Err(VmacError::Conflict(spec.name.clone())),
                Existing::Replace if mode == EnsureMode::Adopt => {
                    return Err(VmacError::NotThere(spec.name.clone()))
                }
                Existing::Replace => {
                    info!(
                        "Removing old VMAC interface {} due to conflicting interface",
                        spec.name
                    );
                    self.netlink.delete_link(link.index, &link.name).await?;
                    false
                }
            },
            (None, EnsureMode::Adopt) => return Err(VmacError::NotThere(spec.name.clone())),
            (None, EnsureMode::Ensure) => false,
        };
        if mode == EnsureMode::Adopt {
            let link = existing.ok_or_else(|| VmacError::NotThere(spec.name.clone()))?;
            return Ok(up(spec, base_ifindex, &link));
        }
        if !reuse {
            // keepalived copies the base's group so that firewall rules on
            // interface groups keep matching (netlink_link_add_vmac).
            let named = match &spec.group {
                Some(g) => {
                    let n = group_number(g);
                    if n.is_none() {
                        warn!(
                            "VMAC {}: interface group '{g}' is in no iproute2 group file; using {}'s",
                            spec.name, spec.base
                        );
                    }
                    n
                }
                None => None,
            };
            let group = match named {
                Some(g) => g,
                None => self.netlink.link_group(base_ifindex).await.unwrap_or(0),
            };
            self.netlink
                .add_macvlan(&spec.name, base_ifindex, spec.mac, group)
                .await?;
            info!(
                "Created VMAC interface {} on {} ({})",
                spec.name,
                spec.base,
                vmac::format_mac(&spec.mac)
            );
            self.configure(spec).await;
        }
        let link = self
            .netlink
            .link_facts_of(&spec.name)
            .await?
            .ok_or_else(|| VmacError::NotThere(spec.name.clone()))?;
        self.netlink.set_up(link.index, &spec.name).await?;
        if let (Some(src @ IpAddr::V6(_)), false) = (source, spec.xmit_base) {
            let mut ll = AddressSpec::host(src);
            ll.prefix = 64;
            ll.scope = 253;
            if let Err(e) = self.netlink.add_address(link.index, &ll).await {
                warn!("adding link-local address {src} to {}: {e}", spec.name);
            }
        }
        let link = self
            .netlink
            .link_facts_of(&spec.name)
            .await?
            .unwrap_or(link);
        Ok(up(spec, base_ifindex, &link))
    }

    /// Sets what keepalived sets on a new VMAC and its base, off the
    /// driver (file writes under /proc/sys). A sysctl that cannot be set
    /// is said, not fatal: keepalived goes on too.
    async fn configure(&self, spec: &VmacSpec) {
        let writes = vmac::vmac_sysctls(spec);
        let base = vmac::sets_base_sysctls(spec).then(|| spec.base.clone());
        let sysctl = self.sysctl.clone();
        let saved = self.saved.clone();
        let v4 = spec.family == crate::proto::Family::Ipv4;
        let result = tokio::task::spawn_blocking(move || {
            let mut failed: Vec<(String, SysctlError)> = Vec::new();
            for w in writes {
                if let Err(e) = sysctl.set(w.tree, &w.ifname, w.key, w.value) {
                    failed.push((w.key.to_string(), e));
                }
            }
            // keepalived lowers all.rp_filter to 0 (clear_rp_filter); vrrpd
            // does not touch other interfaces, and says when strict reverse
            // path filtering will drop the adverts arriving on the VMAC.
            let strict_rp = v4
                && sysctl
                    .get(Tree::Ipv4, "all", "rp_filter")
                    .is_ok_and(|v| v == 1);
            if let Some(base) = base {
                let mut saved = saved.lock().unwrap_or_else(PoisonError::into_inner);
                let mut now = [0u32; vmac::BASE_SYSCTLS.len()];
                let mut ok = true;
                for (k, (key, _)) in vmac::BASE_SYSCTLS.iter().enumerate() {
                    match sysctl.get(Tree::Ipv4, &base, key) {
                        Ok(v) => now[k] = v,
                        Err(e) => {
                            failed.push((key.to_string(), e));
                            ok = false;
                        }
                    }
                }
                // Values other than ours are the interface's own (a new
                // interface under that name has the defaults again):
                // those are put back. Ours already there mean another
                // VMAC on this base saved the originals (or a killed
                // daemon left them: nothing better is known then).
                let ours = vmac::BASE_SYSCTLS
                    .iter()
                    .zip(now)
                    .all(|((_, want), v)| *want == v);
                if ok && (!ours || !saved.contains_key(&base)) {
                    saved.insert(base.clone(), now);
                }
                for (key, value) in vmac::BASE_SYSCTLS {
                    if let Err(e) = sysctl.set(Tree::Ipv4, &base, key, value) {
                        failed.push((key.to_string(), e));
                    }
                }
            }
            (failed, strict_rp)
        })
        .await;
        let (failed, strict_rp) = result.unwrap_or_default();
        if strict_rp {
            warn!(
                "VMAC {}: net.ipv4.conf.all.rp_filter is 1 (strict): the kernel drops adverts arriving on the VMAC; set it to 0 or 2 (keepalived lowers it to 0 itself)",
                spec.name
            );
        }
        for (key, e) in failed {
            warn!(
                "VMAC {}: {key} not set: {e} (under systemd, ProtectKernelTunables= makes /proc/sys read-only)",
                spec.name
            );
        }
    }

    /// Deletes the VMAC called `name` if it is still ours (a macvlan with
    /// `mac`); `Ok(false)` if it is gone or no longer ours.
    pub async fn delete(&self, name: &str, mac: vmac::Mac) -> Result<bool, NetlinkError> {
        let Some(link) = self.netlink.link_facts_of(name).await? else {
            return Ok(false);
        };
        if link.macvlan_mode.is_none() || link.mac != Some(mac) {
            return Ok(false);
        }
        self.netlink.delete_link(link.index, &link.name).await
    }

    /// Puts the base interfaces' sysctls back (at stop, after the VMACs
    /// are gone).
    pub async fn restore_bases(&self) {
        let saved = std::mem::take(&mut *self.saved.lock().unwrap_or_else(PoisonError::into_inner));
        self.restore(saved).await;
    }

    /// Puts `base`'s sysctls back, once its last VMAC is gone (keepalived's
    /// `reset_interface_parameters()` counts the VMACs per base).
    pub async fn restore_base(&self, base: &str) {
        let saved: SavedBases = self
            .saved
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove_entry(base)
            .into_iter()
            .collect();
        self.restore(saved).await;
    }

    async fn restore(&self, saved: SavedBases) {
        if saved.is_empty() {
            return;
        }
        let sysctl = self.sysctl.clone();
        let result = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            for (base, old) in saved {
                for (k, (key, _)) in vmac::BASE_SYSCTLS.iter().enumerate() {
                    let r = sysctl.set(Tree::Ipv4, &base, key, old[k]);
                    out.push((base.clone(), *key, old[k], r));
                }
            }
            out
        })
        .await;
        for (base, key, value, r) in result.unwrap_or_default() {
            match r {
                Ok(()) => info!("{base}: {key} reset to {value}"),
                Err(e) => warn!("{base}: {key} not reset: {e}"),
            }
        }
    }
}

/// Group `group` by number or by iproute2's `group` file (where Debian's
/// iproute2 and keepalived read it).
fn group_number(group: &str) -> Option<u32> {
    ["/etc/iproute2/group", "/usr/share/iproute2/group"]
        .iter()
        .find_map(|path| {
            let table = std::fs::read_to_string(path).unwrap_or_default();
            vmac::group_number(group, &table)
        })
        .or_else(|| vmac::group_number(group, ""))
}

fn up(spec: &VmacSpec, base_ifindex: u32, link: &LinkFacts) -> VmacUp {
    VmacUp {
        link: VmacLink {
            name: spec.name.clone(),
            ifindex: link.index,
            mac: spec.mac,
            base_ifindex,
        },
        running: link.running,
    }
}
