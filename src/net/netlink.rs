//! rtnetlink: virtual addresses in and out, link and address events.
//!
//! Two netlink sockets: one for requests, one subscribed to the link and
//! address multicast groups (as `ip monitor link address`), so events never
//! queue behind our own requests. The messages are [`super::rtnl`]'s.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use nix::errno::Errno;
use nix::sys::socket::{
    bind, recv, recvfrom, sendto, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag,
    SockProtocol, SockType,
};
use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, Mutex};
use tracing::warn;

use super::rtnl::{self, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_MULTI};

/// A netlink failure, with the operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetlinkError {
    #[error("cannot open a netlink socket: {0}")]
    Open(#[source] io::Error),
    #[error("interface {0} does not exist")]
    NoSuchInterface(String),
    #[error("{op} {addr} on ifindex {index}: {source}")]
    Address {
        op: &'static str,
        addr: IpAddr,
        index: u32,
        #[source]
        source: io::Error,
    },
    #[error("netlink request failed: {0}")]
    Request(#[source] io::Error),
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
}

/// An address as vrrpd installs it (keepalived's `virtual_ipaddress` grammar).
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

const EEXIST: i32 = Errno::EEXIST as i32;
const EADDRNOTAVAIL: i32 = Errno::EADDRNOTAVAIL as i32;
const ENODEV: i32 = Errno::ENODEV as i32;

/// The request side of rtnetlink.
#[derive(Clone)]
pub struct Netlink {
    requests: Arc<Mutex<Requester>>,
}

/// The request socket and the last sequence number used on it.
struct Requester {
    fd: AsyncFd<OwnedFd>,
    seq: u32,
}

impl Netlink {
    /// Opens the request socket and the event socket; events arrive on the
    /// returned channel until it is dropped. Must run inside a tokio runtime.
    pub fn open() -> Result<(Netlink, mpsc::UnboundedReceiver<NetEvent>), NetlinkError> {
        let requests = Requester {
            fd: open_socket(0).map_err(NetlinkError::Open)?,
            seq: 0,
        };
        let events = open_socket(rtnl::EVENT_GROUPS).map_err(NetlinkError::Open)?;
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                match recv_datagram(&events).await {
                    Ok(datagram) => {
                        for event in rtnl::messages(&datagram).filter_map(|m| rtnl::event(&m)) {
                            if tx.send(event).is_err() {
                                return;
                            }
                        }
                    }
                    // The kernel dropped notifications because the socket's
                    // buffer was full; the next ones still arrive.
                    Err(e) if e.raw_os_error() == Some(Errno::ENOBUFS as i32) => {
                        warn!("netlink event socket overrun: link or address events were lost");
                    }
                    Err(e) => {
                        warn!("netlink event socket failed, no more link or address events: {e}");
                        return;
                    }
                }
            }
        });
        let netlink = Netlink {
            requests: Arc::new(Mutex::new(requests)),
        };
        Ok((netlink, rx))
    }

    /// The interface called `name`.
    pub async fn link(&self, name: &str) -> Result<LinkInfo, NetlinkError> {
        self.get_link(|seq| rtnl::get_link_by_name(seq, name), || name.to_string())
            .await
    }

    /// The interface with index `index`.
    pub async fn link_by_index(&self, index: u32) -> Result<LinkInfo, NetlinkError> {
        self.get_link(
            |seq| rtnl::get_link_by_index(seq, index),
            || format!("#{index}"),
        )
        .await
    }

    async fn get_link(
        &self,
        request: impl FnOnce(u32) -> Vec<u8>,
        what: impl FnOnce() -> String,
    ) -> Result<LinkInfo, NetlinkError> {
        let mut found = None;
        let result = self
            .transact(request, |m| {
                found = found.take().or_else(|| rtnl::parse_link(m.payload))
            })
            .await;
        match (result, found) {
            (Ok(()), Some(link)) => Ok(link),
            (Ok(()), None) => Err(NetlinkError::NoSuchInterface(what())),
            (Err(e), _) if e.raw_os_error() == Some(ENODEV) => {
                Err(NetlinkError::NoSuchInterface(what()))
            }
            (Err(e), _) => Err(NetlinkError::Request(e)),
        }
    }

    /// Every address on interface `index`.
    pub async fn addresses(&self, index: u32) -> Result<Vec<(IpAddr, u8)>, NetlinkError> {
        let mut out = Vec::new();
        self.transact(rtnl::dump_addresses, |m| {
            if let Some((i, addr, prefix)) = rtnl::parse_address(m.payload) {
                if i == index {
                    out.push((addr, prefix));
                }
            }
        })
        .await
        .map_err(NetlinkError::Request)?;
        Ok(out)
    }

    /// Adds `spec` to interface `index`; `Ok(false)` if it was already there.
    pub async fn add_address(&self, index: u32, spec: &AddressSpec) -> Result<bool, NetlinkError> {
        match self
            .transact(|seq| rtnl::new_address(seq, index, spec), |_| {})
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if e.raw_os_error() == Some(EEXIST) => Ok(false),
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
            .transact(|seq| rtnl::del_address(seq, index, spec), |_| {})
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if matches!(e.raw_os_error(), Some(EADDRNOTAVAIL) | Some(ENODEV)) => Ok(false),
            Err(source) => Err(NetlinkError::Address {
                op: "removing",
                addr: spec.addr,
                index,
                source,
            }),
        }
    }

    /// Sends one request and feeds its data messages to `on_data` until the
    /// kernel's answer is complete: a single message, the end of a dump
    /// (NLMSG_DONE), or an acknowledgement. A kernel error is the errno.
    ///
    /// One request at a time on the socket. If a caller gives up half way
    /// (its future dropped), the rest of that answer is still queued: it is
    /// recognised by its old sequence number and skipped.
    async fn transact(
        &self,
        request: impl FnOnce(u32) -> Vec<u8>,
        mut on_data: impl FnMut(&rtnl::Message<'_>),
    ) -> io::Result<()> {
        let mut req = self.requests.lock().await;
        req.seq = req.seq.wrapping_add(1);
        let seq = req.seq;
        send_datagram(&req.fd, &request(seq)).await?;
        loop {
            let datagram = recv_datagram(&req.fd).await?;
            for msg in rtnl::messages(&datagram) {
                if msg.seq != seq {
                    continue;
                }
                match msg.kind {
                    NLMSG_NOOP | NLMSG_OVERRUN => {}
                    NLMSG_ERROR | NLMSG_DONE => {
                        return match rtnl::error_code(msg.payload) {
                            Some(0) => Ok(()),
                            Some(errno) => Err(io::Error::from_raw_os_error(errno)),
                            // DONE without a code is the older kernels' end of dump.
                            None if msg.kind == NLMSG_DONE => Ok(()),
                            None => Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                "truncated netlink error message",
                            )),
                        };
                    }
                    _ => {
                        on_data(&msg);
                        if msg.flags & NLM_F_MULTI == 0 {
                            return Ok(());
                        }
                    }
                }
            }
        }
    }
}

/// A non-blocking NETLINK_ROUTE socket bound to `groups` (0: none).
fn open_socket(groups: u32) -> io::Result<AsyncFd<OwnedFd>> {
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        SockProtocol::NetlinkRoute,
    )?;
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, groups))?;
    // AsyncFd::register panics outside a runtime: make that an error.
    tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
    // SAFETY: the OwnedFd owns its descriptor, which stays open and
    // unchanged until the AsyncFd (and with it the OwnedFd) drops.
    unsafe { AsyncFd::register(fd) }.map_err(|e| e.into_parts().1)
}

async fn send_datagram(fd: &AsyncFd<OwnedFd>, datagram: &[u8]) -> io::Result<()> {
    let kernel = NetlinkAddr::new(0, 0);
    loop {
        let mut guard = fd.writable().await?;
        match guard.try_io(|fd| {
            sendto(fd.as_raw_fd(), datagram, &kernel, MsgFlags::empty())
                .map(drop)
                .map_err(io::Error::from)
        }) {
            Ok(result) => return result,
            Err(_would_block) => continue,
        }
    }
}

/// The next datagram from the kernel, whatever its size (the length is
/// peeked first: a link with many VFs does not fit a page). Datagrams from
/// anything but the kernel (port 0) are dropped.
async fn recv_datagram(fd: &AsyncFd<OwnedFd>) -> io::Result<Vec<u8>> {
    loop {
        let mut guard = fd.readable().await?;
        let got = guard.try_io(|fd| {
            let raw = fd.as_raw_fd();
            let len = recv(raw, &mut [], MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC)?;
            let mut buf = vec![0; len];
            let (n, from) = recvfrom::<NetlinkAddr>(raw, &mut buf)?;
            buf.truncate(n);
            Ok((buf, from.map_or(0, |a| a.pid())))
        });
        match got {
            Ok(Ok((buf, 0))) => return Ok(buf),
            Ok(Ok(_)) => continue,
            Ok(Err(e)) => return Err(e),
            Err(_would_block) => continue,
        }
    }
}
