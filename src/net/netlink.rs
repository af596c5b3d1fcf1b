//! rtnetlink: virtual addresses in and out, link and address events.
//!
//! Two netlink sockets: one for requests, one subscribed to the link and
//! address multicast groups (as `ip monitor link address`), so events never
//! queue behind our own requests.

use std::net::{IpAddr, Ipv4Addr};

use futures_util::stream::TryStreamExt;
use futures_util::StreamExt;
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressHeaderFlags, AddressMessage, AddressScope,
};
use rtnetlink::packet_route::link::{
    InfoData, InfoKind, InfoMacVlan, LinkAttribute, LinkFlags, LinkInfo as InfoNla, LinkMessage,
    MacVlanMode,
};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::{Handle, LinkMacVlan, LinkUnspec, MulticastGroup};
use tokio::sync::mpsc;

/// A netlink failure, with the operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetlinkError {
    #[error("cannot open a netlink socket: {0}")]
    Open(#[source] std::io::Error),
    #[error("interface {0} does not exist")]
    NoSuchInterface(String),
    #[error("{op} {addr} on ifindex {index}: {source}")]
    Address {
        op: &'static str,
        addr: IpAddr,
        index: u32,
        #[source]
        source: rtnetlink::Error,
    },
    #[error("{op} interface {name}: {source}")]
    Link {
        op: &'static str,
        name: String,
        #[source]
        source: rtnetlink::Error,
    },
    #[error("netlink request failed: {0}")]
    Request(#[from] rtnetlink::Error),
}

/// What the kernel reported about an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    /// Administratively up and with carrier (IFF_UP and IFF_RUNNING), the
    /// test keepalived uses to decide FAULT.
    pub running: bool,
    pub mac: Option<[u8; 6]>,
}

/// What a VMAC decision needs to know of a link (`crate::driver::vmac`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFacts {
    pub name: String,
    pub index: u32,
    pub running: bool,
    pub mac: Option<[u8; 6]>,
    /// For a macvlan, its mode (`MACVLAN_MODE_*`); `None` for any other kind.
    pub macvlan_mode: Option<u32>,
    /// The lower device (`IFLA_LINK`), for stacked links.
    pub base_ifindex: Option<u32>,
}

/// A change reported by the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    Link(LinkInfo),
    LinkRemoved {
        index: u32,
    },
    AddressAdded {
        index: u32,
        addr: IpAddr,
        prefix: u8,
    },
    AddressRemoved {
        index: u32,
        addr: IpAddr,
        prefix: u8,
    },
    /// The event socket overran (ENOBUFS): events were lost, and whoever
    /// keeps state from them must re-read it.
    Overrun,
}

/// An address as vrrpd installs it (keepalived's `virtual_ipaddress` grammar).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AddressSpec {
    pub addr: IpAddr,
    pub prefix: u8,
    /// IPv4 broadcast; `None` lets the kernel derive nothing, as `ip addr add` without `brd`.
    pub broadcast: Option<Ipv4Addr>,
    pub label: Option<String>,
    /// rtnetlink scope (0 global, 200 site, 253 link, 254 host, 255 nowhere).
    pub scope: u8,
    /// IPv6 without duplicate address detection: keepalived adds VIPs with
    /// IFA_F_NODAD so a VIP moving between nodes is usable at once.
    pub nodad: bool,
}

impl AddressSpec {
    /// A host address (/32 or /128), global scope, NODAD for IPv6.
    pub fn host(addr: IpAddr) -> AddressSpec {
        AddressSpec {
            addr,
            prefix: if addr.is_ipv4() { 32 } else { 128 },
            broadcast: None,
            label: None,
            scope: 0,
            nodad: addr.is_ipv6(),
        }
    }

    fn message(&self, index: u32) -> AddressMessage {
        let mut msg = AddressMessage::default();
        msg.header.family = match self.addr {
            IpAddr::V4(_) => rtnetlink::packet_route::AddressFamily::Inet,
            IpAddr::V6(_) => rtnetlink::packet_route::AddressFamily::Inet6,
        };
        msg.header.prefix_len = self.prefix;
        msg.header.index = index;
        msg.header.scope = AddressScope::from(self.scope);
        if self.nodad {
            msg.header.flags = AddressHeaderFlags::Nodad;
        }
        msg.attributes.push(AddressAttribute::Local(self.addr));
        msg.attributes.push(AddressAttribute::Address(self.addr));
        if let Some(brd) = self.broadcast {
            msg.attributes.push(AddressAttribute::Broadcast(brd));
        }
        if let Some(label) = &self.label {
            msg.attributes.push(AddressAttribute::Label(label.clone()));
        }
        msg
    }
}

/// Events waiting for the driver. Any local process can fill the event
/// socket (a loop adding and removing addresses); past this bound events
/// are dropped and one [`NetEvent::Overrun`] takes their place, so the
/// driver re-dumps links and addresses as after a kernel-side overrun
/// (ENOBUFS). 4096 holds a full add of 1000 instances' VIPs twice over.
pub const NET_EVENTS_MAX: usize = 4096;

/// The sending side of the bounded event queue: never waits, never grows.
struct EventQueue {
    tx: mpsc::Sender<NetEvent>,
    /// Events were dropped and no `Overrun` has been queued since.
    lost: bool,
}

/// The driver is gone.
#[derive(Debug)]
struct Closed;

impl EventQueue {
    fn new(tx: mpsc::Sender<NetEvent>) -> EventQueue {
        EventQueue { tx, lost: false }
    }

    fn offer(&mut self, event: NetEvent) -> Result<(), Closed> {
        if self.lost {
            // The re-dump this asks for covers `event` too.
            return match self.tx.try_send(NetEvent::Overrun) {
                Ok(()) => {
                    self.lost = false;
                    Ok(())
                }
                Err(mpsc::error::TrySendError::Full(_)) => Ok(()),
                Err(mpsc::error::TrySendError::Closed(_)) => Err(Closed),
            };
        }
        match self.tx.try_send(event) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.lost = true;
                Ok(())
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Closed),
        }
    }
}

const EEXIST: i32 = 17;
const EADDRNOTAVAIL: i32 = 99;
const ENODEV: i32 = 19;

fn errno(err: &rtnetlink::Error) -> Option<i32> {
    match err {
        rtnetlink::Error::NetlinkError(msg) => Some(msg.raw_code().abs()),
        _ => None,
    }
}

/// The request side of rtnetlink.
#[derive(Clone)]
pub struct Netlink {
    handle: Handle,
}

impl Netlink {
    /// Opens the request socket and the event socket; events arrive on the
    /// returned channel until it is dropped. Must run inside a tokio runtime.
    pub fn open() -> Result<(Netlink, mpsc::Receiver<NetEvent>), NetlinkError> {
        // netlink-sys panics when it registers outside a runtime: an error
        // instead, as for the VRRP sockets.
        tokio::runtime::Handle::try_current()
            .map_err(|e| NetlinkError::Open(std::io::Error::other(e.to_string())))?;
        let (conn, handle, _) = rtnetlink::new_connection().map_err(NetlinkError::Open)?;
        tokio::spawn(conn);
        let (events_conn, _events_handle, mut messages) = rtnetlink::new_multicast_connection(&[
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ])
        .map_err(NetlinkError::Open)?;
        tokio::spawn(events_conn);
        let (tx, rx) = mpsc::channel(NET_EVENTS_MAX);
        tokio::spawn(async move {
            let mut queue = EventQueue::new(tx);
            while let Some((msg, _)) = messages.next().await {
                if let Some(event) = decode_event(msg) {
                    if queue.offer(event).is_err() {
                        break;
                    }
                }
            }
        });
        Ok((Netlink { handle }, rx))
    }

    /// The interface called `name`.
    pub async fn link(&self, name: &str) -> Result<LinkInfo, NetlinkError> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match links.try_next().await {
            Ok(Some(msg)) => Ok(link_info(&msg)),
            Ok(None) => Err(NetlinkError::NoSuchInterface(name.to_string())),
            Err(e) if errno(&e) == Some(ENODEV) => {
                Err(NetlinkError::NoSuchInterface(name.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The interface with index `index`.
    pub async fn link_by_index(&self, index: u32) -> Result<LinkInfo, NetlinkError> {
        let mut links = self.handle.link().get().match_index(index).execute();
        match links.try_next().await {
            Ok(Some(msg)) => Ok(link_info(&msg)),
            Ok(None) => Err(NetlinkError::NoSuchInterface(format!("#{index}"))),
            Err(e) if errno(&e) == Some(ENODEV) => {
                Err(NetlinkError::NoSuchInterface(format!("#{index}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every link, with what VMAC decisions need to know.
    pub async fn link_facts(&self) -> Result<Vec<LinkFacts>, NetlinkError> {
        let mut links = self.handle.link().get().execute();
        let mut out = Vec::new();
        while let Some(msg) = links.try_next().await? {
            out.push(link_facts(&msg));
        }
        Ok(out)
    }

    /// The link called `name`, if there is one.
    pub async fn link_facts_of(&self, name: &str) -> Result<Option<LinkFacts>, NetlinkError> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match links.try_next().await {
            Ok(msg) => Ok(msg.map(|m| link_facts(&m))),
            Err(e) if errno(&e) == Some(ENODEV) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The interface group of link `index` (`IFLA_GROUP`), 0 if unsaid.
    pub async fn link_group(&self, index: u32) -> Result<u32, NetlinkError> {
        let mut links = self.handle.link().get().match_index(index).execute();
        let msg = links
            .try_next()
            .await?
            .ok_or_else(|| NetlinkError::NoSuchInterface(format!("#{index}")))?;
        Ok(msg
            .attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::Group(g) => Some(*g),
                _ => None,
            })
            .unwrap_or(0))
    }

    /// Creates macvlan `name` on link `base` in private mode with `mac`
    /// and interface group `group`, down (keepalived's
    /// `netlink_link_add_vmac()`: sysctls are set before it comes up).
    pub async fn add_macvlan(
        &self,
        name: &str,
        base: u32,
        mac: [u8; 6],
        group: u32,
    ) -> Result<(), NetlinkError> {
        let msg = LinkMacVlan::new(name, base, MacVlanMode::Private)
            .address(mac.to_vec())
            .link_group(group)
            .build();
        self.handle
            .link()
            .add(msg)
            .execute()
            .await
            .map_err(|source| NetlinkError::Link {
                op: "creating",
                name: name.to_string(),
                source,
            })
    }

    /// Sets link `index` administratively up.
    pub async fn set_up(&self, index: u32, name: &str) -> Result<(), NetlinkError> {
        let msg = LinkUnspec::new_with_index(index).up().build();
        self.handle
            .link()
            .set(msg)
            .execute()
            .await
            .map_err(|source| NetlinkError::Link {
                op: "setting up",
                name: name.to_string(),
                source,
            })
    }

    /// Deletes link `index`; `Ok(false)` if it was already gone.
    pub async fn delete_link(&self, index: u32, name: &str) -> Result<bool, NetlinkError> {
        match self.handle.link().del(index).execute().await {
            Ok(()) => Ok(true),
            Err(e) if errno(&e) == Some(ENODEV) => Ok(false),
            Err(source) => Err(NetlinkError::Link {
                op: "deleting",
                name: name.to_string(),
                source,
            }),
        }
    }

    /// Every address on interface `index`.
    pub async fn addresses(&self, index: u32) -> Result<Vec<(IpAddr, u8)>, NetlinkError> {
        let mut stream = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        let mut out = Vec::new();
        while let Some(msg) = stream.try_next().await? {
            if msg.header.index != index {
                continue;
            }
            if let Some(addr) = address_of(&msg) {
                out.push((addr, msg.header.prefix_len));
            }
        }
        Ok(out)
    }

    /// Adds `spec` to interface `index`; `Ok(false)` if it was already there.
    pub async fn add_address(&self, index: u32, spec: &AddressSpec) -> Result<bool, NetlinkError> {
        let mut req = self.handle.address().add(index, spec.addr, spec.prefix);
        *req.message_mut() = spec.message(index);
        match req.execute().await {
            Ok(()) => Ok(true),
            Err(e) if errno(&e) == Some(EEXIST) => Ok(false),
            Err(source) => Err(NetlinkError::Address {
                op: "adding",
                addr: spec.addr,
                index,
                source,
            }),
        }
    }

    /// Removes `spec` from interface `index`; `Ok(false)` if it was not there.
    pub async fn remove_address(
        &self,
        index: u32,
        spec: &AddressSpec,
    ) -> Result<bool, NetlinkError> {
        match self
            .handle
            .address()
            .del(spec.message(index))
            .execute()
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if matches!(errno(&e), Some(EADDRNOTAVAIL) | Some(ENODEV)) => Ok(false),
            Err(source) => Err(NetlinkError::Address {
                op: "removing",
                addr: spec.addr,
                index,
                source,
            }),
        }
    }
}

fn link_info(msg: &LinkMessage) -> LinkInfo {
    let mut name = String::new();
    let mut mac = None;
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => name.clone_from(n),
            LinkAttribute::Address(bytes) => mac = <[u8; 6]>::try_from(bytes.as_slice()).ok(),
            _ => {}
        }
    }
    let flags = msg.header.flags;
    LinkInfo {
        index: msg.header.index,
        name,
        running: flags.contains(LinkFlags::Up) && flags.contains(LinkFlags::Running),
        mac,
    }
}

fn link_facts(msg: &LinkMessage) -> LinkFacts {
    let info = link_info(msg);
    let mut macvlan_mode = None;
    let mut base_ifindex = None;
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::Link(base) => base_ifindex = Some(*base),
            LinkAttribute::LinkInfo(infos) => {
                let macvlan = infos
                    .iter()
                    .any(|i| matches!(i, InfoNla::Kind(InfoKind::MacVlan)));
                if macvlan {
                    // A macvlan without a mode attribute is in vepa mode,
                    // the kernel's default; never private.
                    macvlan_mode = Some(
                        infos
                            .iter()
                            .find_map(|i| match i {
                                InfoNla::Data(InfoData::MacVlan(data)) => {
                                    data.iter().find_map(|d| match d {
                                        InfoMacVlan::Mode(m) => Some(u32::from(*m)),
                                        _ => None,
                                    })
                                }
                                _ => None,
                            })
                            .unwrap_or(0),
                    );
                }
            }
            _ => {}
        }
    }
    LinkFacts {
        name: info.name,
        index: info.index,
        running: info.running,
        mac: info.mac,
        macvlan_mode,
        base_ifindex,
    }
}

fn address_of(msg: &AddressMessage) -> Option<IpAddr> {
    // IFA_LOCAL is the interface's own address on point-to-point links;
    // IFA_ADDRESS otherwise (rtnetlink(7)).
    let mut address = None;
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Local(a) => return Some(*a),
            AddressAttribute::Address(a) => address = Some(*a),
            _ => {}
        }
    }
    address
}

fn decode_event(msg: NetlinkMessage<RouteNetlinkMessage>) -> Option<NetEvent> {
    let inner = match msg.payload {
        NetlinkPayload::InnerMessage(inner) => inner,
        NetlinkPayload::Overrun(_) => return Some(NetEvent::Overrun),
        _ => return None,
    };
    match inner {
        RouteNetlinkMessage::NewLink(link) => Some(NetEvent::Link(link_info(&link))),
        RouteNetlinkMessage::DelLink(link) => Some(NetEvent::LinkRemoved {
            index: link.header.index,
        }),
        RouteNetlinkMessage::NewAddress(a) => Some(NetEvent::AddressAdded {
            index: a.header.index,
            addr: address_of(&a)?,
            prefix: a.header.prefix_len,
        }),
        RouteNetlinkMessage::DelAddress(a) => Some(NetEvent::AddressRemoved {
            index: a.header.index,
            addr: address_of(&a)?,
            prefix: a.header.prefix_len,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removed(index: u32) -> NetEvent {
        NetEvent::LinkRemoved { index }
    }

    fn drain(rx: &mut mpsc::Receiver<NetEvent>) -> Vec<NetEvent> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    #[test]
    fn events_queue_until_the_bound() {
        let (tx, mut rx) = mpsc::channel(3);
        let mut queue = EventQueue::new(tx);
        for i in 1..=3 {
            queue.offer(removed(i)).expect("open");
        }
        assert_eq!(drain(&mut rx), vec![removed(1), removed(2), removed(3)]);
    }

    #[test]
    fn a_full_queue_drops_events_for_one_overrun() {
        let (tx, mut rx) = mpsc::channel(2);
        let mut queue = EventQueue::new(tx);
        for i in 1..=10 {
            queue.offer(removed(i)).expect("open");
        }
        // Full: 3..=10 dropped, and no room for the Overrun yet.
        assert_eq!(drain(&mut rx), vec![removed(1), removed(2)]);
        queue.offer(removed(11)).expect("open");
        queue.offer(removed(12)).expect("open");
        queue.offer(removed(13)).expect("open");
        // The Overrun takes 11's place (its re-dump covers 11), then events
        // flow again until the queue is full.
        assert_eq!(
            drain(&mut rx),
            vec![NetEvent::Overrun, removed(12)],
            "13 found the queue full again"
        );
        queue.offer(removed(14)).expect("open");
        assert_eq!(drain(&mut rx), vec![NetEvent::Overrun]);
    }

    #[test]
    fn a_closed_queue_ends_the_forwarder() {
        let (tx, rx) = mpsc::channel(2);
        let mut queue = EventQueue::new(tx);
        drop(rx);
        assert!(queue.offer(removed(1)).is_err());
    }
}
