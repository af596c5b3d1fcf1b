//! The address worker: installs and removes virtual addresses and sends
//! announcements, strictly in the order the driver queued them (an
//! announcement must follow the address it announces), off the advert path.

use std::collections::HashMap;
use std::net::IpAddr;

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use crate::net::announce::Announcer;
use crate::net::netlink::{AddressSpec, Netlink};

/// One queued job.
pub enum Work {
    Add {
        ifindex: u32,
        spec: AddressSpec,
    },
    Remove {
        ifindex: u32,
        spec: AddressSpec,
    },
    Announce {
        ifindex: u32,
        addresses: Vec<IpAddr>,
        repeat: u32,
    },
    /// Answered once everything queued before it is done.
    Barrier(oneshot::Sender<()>),
}

pub struct Worker {
    netlink: Netlink,
    announcers: HashMap<u32, Announcer>,
}

impl Worker {
    pub fn new(netlink: Netlink) -> Worker {
        Worker {
            netlink,
            announcers: HashMap::new(),
        }
    }

    pub async fn run(mut self, mut queue: mpsc::UnboundedReceiver<Work>) {
        while let Some(work) = queue.recv().await {
            match work {
                Work::Add { ifindex, spec } => {
                    match self.netlink.add_address(ifindex, &spec).await {
                        Ok(true) => debug!("added {}/{}", spec.addr, spec.prefix),
                        Ok(false) => debug!("{} was already present", spec.addr),
                        Err(e) => warn!("{e}"),
                    }
                }
                Work::Remove { ifindex, spec } => {
                    match self.netlink.remove_address(ifindex, &spec).await {
                        Ok(_) => {}
                        Err(e) => warn!("{e}"),
                    }
                }
                Work::Announce {
                    ifindex,
                    addresses,
                    repeat,
                } => self.announce(ifindex, &addresses, repeat).await,
                Work::Barrier(done) => {
                    let _ = done.send(());
                }
            }
        }
    }

    async fn announce(&mut self, ifindex: u32, addresses: &[IpAddr], repeat: u32) {
        if !self.announcers.contains_key(&ifindex) {
            let name = match self.netlink.link_by_index(ifindex).await {
                Ok(link) => link.name,
                Err(e) => {
                    warn!("announcing on ifindex {ifindex}: {e}");
                    return;
                }
            };
            match Announcer::open(&name) {
                Ok(a) => {
                    self.announcers.insert(ifindex, a);
                }
                Err(e) => {
                    warn!("announcing on {name}: {e}");
                    return;
                }
            }
        }
        if let Some(announcer) = self.announcers.get_mut(&ifindex) {
            if let Err(e) = announcer.announce(addresses, repeat) {
                warn!("announcing {addresses:?}: {e}");
                // The interface may have been recreated: reopen next time.
                self.announcers.remove(&ifindex);
            }
        }
    }
}
