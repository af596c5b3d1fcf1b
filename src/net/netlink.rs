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
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteNextHop,
    RouteNextHopFlags, RouteProtocol, RouteScope, RouteType,
};
use rtnetlink::packet_route::rule::{RuleAction, RuleAttribute, RuleFlags, RuleMessage};
use rtnetlink::packet_route::RouteNetlinkMessage;

use crate::config::{Route, Rule, RuleType as ConfigRuleType};
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
    #[error("{op} {what}: {source}")]
    Route {
        op: &'static str,
        what: String,
        #[source]
        source: rtnetlink::Error,
    },
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

const ENOENT: i32 = 2;
const ESRCH: i32 = 3;
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
        Netlink::open_with(&crate::config::NetlinkRcvBufs::default()).map(|(n, rx, _)| (n, rx))
    }

    /// [`Netlink::open`] with the receive buffers `bufs` asks for; also
    /// returns what the kernel reports for each socket then (SO_RCVBUF:
    /// twice the size asked, capped by `net.core.rmem_max` without force).
    pub fn open_with(
        bufs: &crate::config::NetlinkRcvBufs,
    ) -> Result<(Netlink, mpsc::Receiver<NetEvent>, RcvBufs), NetlinkError> {
        // netlink-sys panics when it registers outside a runtime: an error
        // instead, as for the VRRP sockets.
        tokio::runtime::Handle::try_current()
            .map_err(|e| NetlinkError::Open(std::io::Error::other(e.to_string())))?;
        let (mut conn, handle, _) = rtnetlink::new_connection().map_err(NetlinkError::Open)?;
        let cmd = set_rcvbuf(
            std::os::fd::AsRawFd::as_raw_fd(conn.socket_mut()),
            bufs.cmd,
            bufs.cmd_force,
        )?;
        tokio::spawn(conn);
        let (events_conn, _events_handle, mut messages) = rtnetlink::new_multicast_connection(&[
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ])
        .map_err(NetlinkError::Open)?;
        let mut events_conn = events_conn;
        let monitor = set_rcvbuf(
            std::os::fd::AsRawFd::as_raw_fd(events_conn.socket_mut()),
            bufs.monitor,
            bufs.monitor_force,
        )?;
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
        Ok((Netlink { handle }, rx, RcvBufs { cmd, monitor }))
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

/// A route or rule of keepalived's protocol (18) the kernel deleted: what
/// identifies it, to match against the ones vrrpd holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    Route {
        dst: IpAddr,
        dst_len: u8,
        table: u32,
        /// RTA_PRIORITY (IPv6 routes always have one: 1024 by default).
        metric: Option<u32>,
        tos: u8,
    },
    Rule {
        ipv6: bool,
        priority: u32,
    },
}

/// Room for deletion events: our own removals echo here too (a Master
/// stepping down with 100 routes); past the bound one is dropped and only
/// that deletion goes unnoticed.
pub const DELETED_EVENTS_MAX: usize = 256;

impl Netlink {
    /// Watches route and rule deletions (keepalived's monitoring of
    /// tracked routes and rules), on a socket of its own so a routing
    /// daemon's churn never delays link and address events; only
    /// deletions of protocol 18 come out. Open it only when a tracked
    /// route or rule is configured.
    pub fn open_deletions() -> Result<mpsc::Receiver<Deleted>, NetlinkError> {
        let (conn, _handle, mut messages) = rtnetlink::new_multicast_connection(&[
            MulticastGroup::Ipv4Route,
            MulticastGroup::Ipv6Route,
            MulticastGroup::Ipv4Rule,
            MulticastGroup::Ipv6Rule,
        ])
        .map_err(NetlinkError::Open)?;
        tokio::spawn(conn);
        let (tx, rx) = mpsc::channel(DELETED_EVENTS_MAX);
        tokio::spawn(async move {
            while let Some((msg, _)) = messages.next().await {
                if let Some(d) = decode_deleted(msg) {
                    match tx.try_send(d) {
                        Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => {}
                        Err(mpsc::error::TrySendError::Closed(_)) => break,
                    }
                }
            }
        });
        Ok(rx)
    }
}

fn decode_deleted(msg: NetlinkMessage<RouteNetlinkMessage>) -> Option<Deleted> {
    let NetlinkPayload::InnerMessage(inner) = msg.payload else {
        return None;
    };
    let keepalived = RouteProtocol::from(crate::config::RTPROT_KEEPALIVED);
    match inner {
        RouteNetlinkMessage::DelRoute(r) if r.header.protocol == keepalived => {
            let mut table = u32::from(r.header.table);
            let mut dst = None;
            let mut metric = None;
            for a in &r.attributes {
                match a {
                    RouteAttribute::Table(t) => table = *t,
                    RouteAttribute::Destination(RouteAddress::Inet(v4)) => {
                        dst = Some(IpAddr::V4(*v4))
                    }
                    RouteAttribute::Destination(RouteAddress::Inet6(v6)) => {
                        dst = Some(IpAddr::V6(*v6))
                    }
                    RouteAttribute::Priority(p) => metric = Some(*p),
                    _ => {}
                }
            }
            let ipv6 = r.header.address_family == rtnetlink::packet_route::AddressFamily::Inet6;
            let dst = dst.unwrap_or(if ipv6 {
                IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
            } else {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            });
            Some(Deleted::Route {
                dst,
                dst_len: r.header.destination_prefix_length,
                table,
                metric,
                tos: r.header.tos,
            })
        }
        RouteNetlinkMessage::DelRule(r) => {
            let mut ours = false;
            let mut priority = 0;
            for a in &r.attributes {
                match a {
                    RuleAttribute::Protocol(p) => ours = *p == keepalived,
                    RuleAttribute::Priority(p) => priority = *p,
                    _ => {}
                }
            }
            ours.then_some(Deleted::Rule {
                ipv6: r.header.family == rtnetlink::packet_route::AddressFamily::Inet6,
                priority,
            })
        }
        _ => None,
    }
}

impl Deleted {
    /// Whether this deletion is of `entry` (keepalived's `route_is_ours` /
    /// `rule_is_ours`, on the fields that identify one in the kernel).
    pub fn is(&self, entry: &crate::driver::routes::Entry) -> bool {
        use crate::driver::routes::Entry;
        match (self, entry) {
            (
                Deleted::Route {
                    dst,
                    dst_len,
                    table,
                    metric,
                    tos,
                },
                Entry::Route(r),
            ) => {
                r.to.addr == *dst
                    && r.to.len == *dst_len
                    && r.table == *table
                    && r.tos.unwrap_or(0) == *tos
                    && r.metric.is_none_or(|m| Some(m) == *metric)
            }
            (Deleted::Rule { ipv6, priority }, Entry::Rule(r)) => {
                r.priority == *priority && (r.family == crate::proto::Family::Ipv6) == *ipv6
            }
            _ => false,
        }
    }
}

/// A route resolved for the kernel: its interface names as indexes.
#[derive(Debug, Clone, Copy)]
pub struct RouteIfindexes<'a> {
    /// The route's `dev`.
    pub oif: Option<u32>,
    /// Each nexthop's `dev`, in order.
    pub hops: &'a [Option<u32>],
}

impl Netlink {
    /// Installs `route` (keepalived's `netlink_route(.., IPROUTE_ADD)`);
    /// `Ok(false)` if it was already there (EEXIST).
    pub async fn add_route(
        &self,
        route: &Route,
        ix: RouteIfindexes<'_>,
    ) -> Result<bool, NetlinkError> {
        let msg = route_message(route, ix, false);
        let mut flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;
        flags |= match route.mode {
            crate::config::RouteMode::Prepend => 0,
            crate::config::RouteMode::Add => NLM_F_EXCL,
            crate::config::RouteMode::Append => NLM_F_APPEND,
        };
        let what = || route.keepalived_text();
        self.change(
            RouteNetlinkMessage::NewRoute(msg),
            flags,
            &[EEXIST],
            "adding route",
            what,
        )
        .await
    }

    /// Deletes `route`; `Ok(false)` if it was not there (ESRCH).
    pub async fn remove_route(
        &self,
        route: &Route,
        ix: RouteIfindexes<'_>,
    ) -> Result<bool, NetlinkError> {
        let msg = RouteNetlinkMessage::DelRoute(route_message(route, ix, true));
        let what = || route.keepalived_text();
        self.change(
            msg,
            NLM_F_REQUEST | NLM_F_ACK,
            &[ESRCH, ENODEV],
            "removing route",
            what,
        )
        .await
    }

    /// Installs `rule` (NLM_F_EXCL as keepalived: the kernel would add a
    /// second copy otherwise); `Ok(false)` if it was already there.
    pub async fn add_rule(&self, rule: &Rule) -> Result<bool, NetlinkError> {
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        let msg = RouteNetlinkMessage::NewRule(rule_message(rule));
        self.change(msg, flags, &[EEXIST], "adding rule", || {
            rule.keepalived_text()
        })
        .await
    }

    /// Deletes `rule`; `Ok(false)` if it was not there (ENOENT).
    pub async fn remove_rule(&self, rule: &Rule) -> Result<bool, NetlinkError> {
        let msg = RouteNetlinkMessage::DelRule(rule_message(rule));
        let flags = NLM_F_REQUEST | NLM_F_ACK;
        self.change(msg, flags, &[ENOENT, ESRCH], "removing rule", || {
            rule.keepalived_text()
        })
        .await
    }

    /// Sends one route or rule change: `Ok(true)` when the kernel did it,
    /// `Ok(false)` when it answered one of `already` (already there, or
    /// already gone), else the error naming the entry as keepalived writes it.
    async fn change(
        &self,
        msg: RouteNetlinkMessage,
        flags: u16,
        already: &[i32],
        op: &'static str,
        what: impl FnOnce() -> String,
    ) -> Result<bool, NetlinkError> {
        match self.talk(msg, flags).await {
            Ok(()) => Ok(true),
            Err(e) if errno(&e).is_some_and(|n| already.contains(&n)) => Ok(false),
            Err(source) => Err(NetlinkError::Route {
                op,
                what: what(),
                source,
            }),
        }
    }

    async fn talk(&self, msg: RouteNetlinkMessage, flags: u16) -> Result<(), rtnetlink::Error> {
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = flags;
        let mut handle = self.handle.clone();
        let mut response = handle.request(req)?;
        while let Some(msg) = response.next().await {
            if let NetlinkPayload::Error(e) = msg.payload {
                return Err(rtnetlink::Error::NetlinkError(e));
            }
        }
        Ok(())
    }
}

const NLM_F_REQUEST: u16 = 0x01;
const NLM_F_ACK: u16 = 0x04;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_APPEND: u16 = 0x800;

fn family_of(addr: &IpAddr) -> rtnetlink::packet_route::AddressFamily {
    match addr {
        IpAddr::V4(_) => rtnetlink::packet_route::AddressFamily::Inet,
        IpAddr::V6(_) => rtnetlink::packet_route::AddressFamily::Inet6,
    }
}

/// The RTM_NEWROUTE / RTM_DELROUTE message for `route`, as keepalived's
/// `netlink_route()` builds it: protocol 18 unless given, scope universe
/// unless given (nowhere on delete, so any scope matches), the type on
/// delete only when it is not unicast, a table above 255 as RTA_TABLE.
pub fn route_message(route: &Route, ix: RouteIfindexes<'_>, delete: bool) -> RouteMessage {
    let mut msg = RouteMessage::default();
    let mut h = RouteHeader {
        address_family: family_of(&route.to.addr),
        destination_prefix_length: route.to.len,
        ..RouteHeader::default()
    };
    match u8::try_from(route.table) {
        Ok(t) => h.table = t,
        Err(_) => {
            h.table = RouteHeader::RT_TABLE_UNSPEC;
            msg.attributes.push(RouteAttribute::Table(route.table));
        }
    }
    h.protocol = RouteProtocol::from(route.effective_protocol());
    h.scope = match (route.scope, delete) {
        (Some(s), _) => RouteScope::from(crate::config::scope_code(s)),
        (None, true) => RouteScope::NoWhere,
        (None, false) => RouteScope::Universe,
    };
    h.kind = if delete && route.kind == crate::config::RouteType::Unicast {
        RouteType::Unspec
    } else {
        RouteType::from(route.kind.code())
    };
    h.tos = route.tos.unwrap_or(0);
    if route.onlink {
        h.flags = RouteFlags::Onlink;
    }
    msg.attributes
        .push(RouteAttribute::Destination(RouteAddress::from(
            route.to.addr,
        )));
    if let Some(from) = &route.from {
        h.source_prefix_length = from.len;
        msg.attributes
            .push(RouteAttribute::Source(RouteAddress::from(from.addr)));
    }
    if let Some(src) = route.src {
        msg.attributes
            .push(RouteAttribute::PrefSource(RouteAddress::from(src)));
    }
    if let Some(via) = route.via {
        msg.attributes
            .push(RouteAttribute::Gateway(RouteAddress::from(via)));
    }
    if let Some(oif) = ix.oif {
        msg.attributes.push(RouteAttribute::Oif(oif));
    }
    if let Some(metric) = route.metric {
        msg.attributes.push(RouteAttribute::Priority(metric));
    }
    if !route.nexthops.is_empty() {
        let hops = route
            .nexthops
            .iter()
            .enumerate()
            .map(|(i, hop)| {
                let mut nh = RouteNextHop::default();
                nh.interface_index = ix.hops.get(i).copied().flatten().unwrap_or(0);
                // rtnh_hops is the weight minus one (`ip route` weight 1..256).
                nh.hops = hop
                    .weight
                    .map_or(0, |w| u8::try_from(w.saturating_sub(1)).unwrap_or(u8::MAX));
                if hop.onlink {
                    nh.flags = RouteNextHopFlags::Onlink;
                }
                if let Some(via) = hop.via {
                    nh.attributes
                        .push(RouteAttribute::Gateway(RouteAddress::from(via)));
                }
                nh
            })
            .collect();
        msg.attributes.push(RouteAttribute::MultiPath(hops));
    }
    msg.header = h;
    msg
}

/// The RTM_NEWRULE / RTM_DELRULE message for `rule`, as keepalived's
/// `netlink_rule()` builds it.
pub fn rule_message(rule: &Rule) -> RuleMessage {
    let mut msg = RuleMessage::default();
    msg.header.family = match rule.family {
        crate::proto::Family::Ipv4 => rtnetlink::packet_route::AddressFamily::Inet,
        crate::proto::Family::Ipv6 => rtnetlink::packet_route::AddressFamily::Inet6,
    };
    msg.header.tos = rule.tos.unwrap_or(0);
    if rule.not {
        msg.header.flags = RuleFlags::Invert;
    }
    msg.header.action = match (rule.table, rule.goto, rule.kind) {
        (Some(_), _, _) => RuleAction::ToTable,
        (_, Some(_), _) => RuleAction::Goto,
        (_, _, Some(ConfigRuleType::Blackhole)) => RuleAction::Blackhole,
        (_, _, Some(ConfigRuleType::Unreachable)) => RuleAction::Unreachable,
        (_, _, Some(ConfigRuleType::Prohibit)) => RuleAction::Prohibit,
        (_, _, Some(ConfigRuleType::Nop)) => RuleAction::Nop,
        _ => RuleAction::Unspec,
    };
    let attrs = &mut msg.attributes;
    attrs.push(RuleAttribute::Priority(rule.priority));
    if let Some(table) = rule.table {
        match u8::try_from(table) {
            Ok(t) => msg.header.table = t,
            Err(_) => attrs.push(RuleAttribute::Table(table)),
        }
    }
    if let Some(target) = rule.goto {
        attrs.push(RuleAttribute::Goto(target));
    }
    if let Some(from) = &rule.from {
        msg.header.src_len = from.len;
        attrs.push(RuleAttribute::Source(from.addr));
    }
    if let Some(to) = &rule.to {
        msg.header.dst_len = to.len;
        attrs.push(RuleAttribute::Destination(to.addr));
    }
    if let Some(mark) = rule.fwmark {
        attrs.push(RuleAttribute::FwMark(mark));
        if let Some(mask) = rule.fwmask {
            attrs.push(RuleAttribute::FwMask(mask));
        }
    }
    if let Some(iif) = &rule.iif {
        attrs.push(RuleAttribute::Iifname(iif.clone()));
    }
    if let Some(oif) = &rule.oif {
        attrs.push(RuleAttribute::Oifname(oif.clone()));
    }
    if let Some(n) = rule.suppress_prefixlength {
        attrs.push(RuleAttribute::SuppressPrefixLen(n));
    }
    if let Some(p) = rule.protocol {
        attrs.push(RuleAttribute::Protocol(RouteProtocol::from(p)));
    }
    msg
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

/// SO_RCVBUF of the two netlink sockets after [`Netlink::open_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RcvBufs {
    pub cmd: u32,
    pub monitor: u32,
}

/// keepalived's `netlink_set_rx_buf_size`: SO_RCVBUF, or SO_RCVBUFFORCE
/// with `force`, when `size` is set; returns the size in force. A refused
/// setting is an error: the operator asked for it.
fn set_rcvbuf(fd: std::os::fd::RawFd, size: u32, force: bool) -> Result<u32, NetlinkError> {
    let opt = |name| -> std::io::Result<()> {
        let v = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
        // SAFETY: `fd` is the live netlink socket; `v` outlives the call.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                name,
                (&v as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    };
    if size > 0 {
        let name = if force {
            libc::SO_RCVBUFFORCE
        } else {
            libc::SO_RCVBUF
        };
        opt(name).map_err(NetlinkError::Open)?;
    }
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: as above, `v` and `len` are live for the call.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(NetlinkError::Open(std::io::Error::last_os_error()));
    }
    Ok(u32::try_from(v).unwrap_or(0))
}
