//! Raw IP-protocol-112 sockets carrying VRRP adverts.
//!
//! One [`VrrpSocket`] per (interface, family, multicast group | unicast
//! source), as keepalived's sockpool (`vrrp_create_sockpool()`), but one
//! descriptor for both directions instead of keepalived's fd_in/fd_out pair:
//! binding to the group (or the unicast source) already limits what the
//! socket receives, and with multicast loopback off it never hears itself.
//!
//! IPv4 adverts go out with a header we build ([`wire::emit_ipv4_header`]: TOS
//! 0xc0, TTL 255, incrementing IP id, DF clear, byte-identical to keepalived
//! 2.2.7's captures). IPv6 adverts carry hop limit 255 and traffic class
//! 0xc0; the kernel fills and verifies their checksum (`IPV6_CHECKSUM` 6).
//!
//! [`validate`] is the pure receive check between [`VrrpSocket::recv`] and
//! the state machine: TTL, codec checks, destination kind. What needs our
//! configuration (VRID dispatch, unicast peers, per-instance auth and
//! interval) is the driver's and the state machine's.

use std::io::{self, IoSlice, IoSliceMut, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::num::NonZeroU32;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU16, Ordering};

use nix::sys::socket::{
    recvmmsg, recvmsg, sendmmsg, sendmsg, sockopt, ControlMessage, ControlMessageOwned, MsgFlags,
    MultiHeaders, SockaddrIn, SockaddrIn6,
};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

use crate::proto::wire::{
    self, AdvertRepr, ChecksumMode, Packet, WireError, IPV4_HEADER_LEN, PROTOCOL_VRRP, TTL,
};
use crate::proto::Family;

/// Traffic class of IPv6 adverts: keepalived's capture shows 0xc0, the same
/// "internetwork control" precedence as the IPv4 TOS.
pub const IPV6_TCLASS: u8 = 0xc0;

/// Offset of the checksum in a VRRP message, for `IPV6_CHECKSUM`.
const CHECKSUM_OFFSET: libc::c_int = 6;

/// Receive slots: one datagram each. IPv4 (header included): the largest
/// valid advert is a 60-byte header + 8 + 255 × 4 + 8 bytes of v2 auth
/// (1096); IPv6 (payload only): 8 + 255 × 16 (4088). Anything longer
/// cannot be valid: it arrives cut at the slot and fails the codec's length
/// check.
const RX_SLOT_V4: usize = 1152;
const RX_SLOT_V6: usize = 4096;
/// Datagrams one `recvmmsg(2)` takes: a burst of 100 IPv4 adverts is 7
/// calls. Valid IPv6 adverts this long are rare: fewer, larger slots.
const RX_SLOTS_V4: usize = 16;
/// `MSG_TRUNC` makes `recvmmsg(2)` report a datagram's real length, so one
/// longer than its slot is recognised and dropped whole instead of being
/// parsed as a cut-off advert.
const RECV_FLAGS: MsgFlags = MsgFlags::MSG_DONTWAIT.union(MsgFlags::MSG_TRUNC);
/// The receive buffer asked for (the kernel doubles it for its overhead):
/// a burst of 1000 instances' adverts, each costing about 1 KB of skb
/// truesize on a veth or virtio NIC, fits with room for a flood's share.
pub const RECV_BUFFER: usize = 2 << 20;
const RX_SLOTS_V6: usize = 8;

/// How a socket sends and what it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Join `group` (224.0.0.18 / ff02::12, [`wire::MULTICAST_V4`] /
    /// [`wire::MULTICAST_V6`]) on the interface and receive what is sent to it.
    Multicast { group: IpAddr },
    /// Receive what is sent to `source` (`unicast_src_ip`). The address need
    /// not exist yet: the socket is bound with `IP_FREEBIND`.
    Unicast { source: IpAddr },
}

/// What [`VrrpSocket::open`] opens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SocketSpec {
    /// Interface name for `SO_BINDTODEVICE`.
    pub ifname: String,
    /// The same interface's index, for the multicast join and scope ids.
    pub ifindex: u32,
    pub family: Family,
    pub mode: Mode,
}

impl SocketSpec {
    /// The multicast spec for `family` with the standard VRRP group.
    pub fn multicast(ifname: &str, ifindex: u32, family: Family) -> SocketSpec {
        let group = match family {
            Family::Ipv4 => IpAddr::V4(wire::MULTICAST_V4),
            Family::Ipv6 => IpAddr::V6(wire::MULTICAST_V6),
        };
        SocketSpec {
            ifname: ifname.to_owned(),
            ifindex,
            family,
            mode: Mode::Multicast { group },
        }
    }

    /// The unicast spec receiving on `source`; the family is `source`'s.
    pub fn unicast(ifname: &str, ifindex: u32, source: IpAddr) -> SocketSpec {
        SocketSpec {
            ifname: ifname.to_owned(),
            ifindex,
            family: Family::of(&source),
            mode: Mode::Unicast { source },
        }
    }

    fn check(&self) -> Result<NonZeroU32, SocketError> {
        let invalid = |why: &'static str| SocketError::InvalidSpec {
            ifname: self.ifname.clone(),
            why,
        };
        let ifindex = NonZeroU32::new(self.ifindex).ok_or_else(|| invalid("interface index 0"))?;
        if self.ifname.is_empty() || self.ifname.len() >= libc::IFNAMSIZ {
            return Err(invalid("interface name empty or too long"));
        }
        let addr = match self.mode {
            Mode::Multicast { group } => {
                if !group.is_multicast() {
                    return Err(invalid("multicast group is not a multicast address"));
                }
                group
            }
            Mode::Unicast { source } => {
                if source.is_unspecified() || source.is_multicast() {
                    return Err(invalid("unicast source is not a unicast address"));
                }
                source
            }
        };
        if Family::of(&addr) != self.family {
            return Err(invalid("address family differs from the socket's"));
        }
        Ok(ifindex)
    }
}

/// A received VRRP message and what the IP layer said about it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Inbound {
    pub src: IpAddr,
    /// The IP destination: the group or our unicast address.
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit as received.
    pub ttl: u8,
    /// The VRRP message (the IP payload).
    pub payload: Vec<u8>,
}

/// The receive checks that do not depend on an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RxPolicy {
    /// Multicast mode: TTL must be 255 and the destination a multicast
    /// address. Unicast mode: the destination must be unicast.
    pub multicast: bool,
    /// Unicast only: keepalived's per-peer `min_ttl`/`max_ttl`, inclusive.
    /// `None` accepts any TTL (keepalived's default for unicast).
    pub ttl_range: Option<(u8, u8)>,
    /// How a VRRPv3-over-IPv4 checksum is summed.
    pub checksum: ChecksumMode,
}

/// Why a received packet was dropped before the state machine saw it.
/// Stable names ([`DropReason::as_str`]) for counters and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DropReason {
    /// TTL / hop limit outside what the mode allows (RFC 9568 §7.1).
    Ttl,
    /// Shorter than the VRRP header.
    Truncated,
    /// Not version 2 or 3, or version 2 over IPv6.
    Version,
    /// Not an ADVERTISEMENT.
    Type,
    /// Length does not match the address count.
    Length,
    Checksum,
    /// VRID 0.
    Vrid,
    /// VRRPv2 auth type other than 0 or 1 (AH is not supported).
    AuthType,
    /// Advert interval 0.
    Interval,
    /// IP addresses of mixed families.
    Family,
    /// Multicast received in unicast mode or the other way round
    /// (keepalived: "Expected unicast packet but received multicast packet").
    Destination,
    /// A malformed IP header (the kernel normally never delivers one).
    IpHeader,
    /// Any other codec error.
    Malformed,
    /// Longer than a receive slot (no valid advert is): discarded whole.
    Oversized,
}

impl DropReason {
    /// Every reason, for registering counters up front.
    pub const ALL: [DropReason; 14] = [
        DropReason::Ttl,
        DropReason::Truncated,
        DropReason::Version,
        DropReason::Type,
        DropReason::Length,
        DropReason::Checksum,
        DropReason::Vrid,
        DropReason::AuthType,
        DropReason::Interval,
        DropReason::Family,
        DropReason::Destination,
        DropReason::IpHeader,
        DropReason::Malformed,
        DropReason::Oversized,
    ];

    /// Stable counter / log label.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::Ttl => "ttl",
            DropReason::Truncated => "truncated",
            DropReason::Version => "version",
            DropReason::Type => "type",
            DropReason::Length => "length",
            DropReason::Checksum => "checksum",
            DropReason::Vrid => "vrid",
            DropReason::AuthType => "auth_type",
            DropReason::Interval => "interval",
            DropReason::Family => "family",
            DropReason::Destination => "destination",
            DropReason::IpHeader => "ip_header",
            DropReason::Malformed => "malformed",
            DropReason::Oversized => "oversized",
        }
    }
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<WireError> for DropReason {
    fn from(error: WireError) -> DropReason {
        match error {
            WireError::Truncated => DropReason::Truncated,
            WireError::BadVersion(_) | WireError::V2OverIpv6 => DropReason::Version,
            WireError::BadType(_) => DropReason::Type,
            WireError::LengthMismatch { .. } => DropReason::Length,
            WireError::BadChecksum { .. } => DropReason::Checksum,
            WireError::BadVrid => DropReason::Vrid,
            WireError::BadAuthType(_) | WireError::AuthAhUnsupported => DropReason::AuthType,
            WireError::ZeroInterval => DropReason::Interval,
            WireError::FamilyMismatch => DropReason::Family,
            WireError::BadTtl { .. } => DropReason::Ttl,
            WireError::BadIpVersion(_)
            | WireError::BadIpHeaderLen(_)
            | WireError::IpLengthMismatch { .. }
            | WireError::BadIpChecksum
            | WireError::NotVrrp(_) => DropReason::IpHeader,
            _ => DropReason::Malformed,
        }
    }
}

/// Checks a received message against the instance-independent rules and
/// decodes it: TTL first (RFC 9568 §7.1), then the codec's checks in its
/// order (version, type, length, checksum, VRID, auth type, interval), then
/// the multicast-vs-unicast destination (keepalived `vrrp_check_packet()`
/// step 10). The first failure names the drop.
pub fn validate(inbound: &Inbound, policy: &RxPolicy) -> Result<AdvertRepr, DropReason> {
    validate_signed(inbound, policy, 0)
}

/// [`validate`] for a payload ending in a `trailer`-byte `auth_hmac`
/// trailer (0: none), which the caller verifies.
pub fn validate_signed(
    inbound: &Inbound,
    policy: &RxPolicy,
    trailer: usize,
) -> Result<AdvertRepr, DropReason> {
    let range = policy.ttl_range.map(|(min, max)| min..=max);
    wire::check_ttl(inbound.ttl, policy.multicast, range)?;
    let packet = Packet::new_checked(inbound.payload.as_slice())?;
    let repr =
        AdvertRepr::parse_trailed(&packet, inbound.src, inbound.dst, policy.checksum, trailer)?;
    if inbound.dst.is_multicast() != policy.multicast {
        return Err(DropReason::Destination);
    }
    Ok(repr)
}

/// Socket failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SocketError {
    /// The spec cannot describe a socket.
    #[error("invalid VRRP socket spec for {ifname}: {why}")]
    InvalidSpec { ifname: String, why: &'static str },
    /// A step of opening the socket failed; `op` names it.
    #[error("cannot {op} for VRRP on {ifname}: {source}")]
    Open {
        ifname: String,
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("receiving VRRP on {ifname}: {source}")]
    Recv {
        ifname: String,
        #[source]
        source: io::Error,
    },
    #[error("sending VRRP from {src} to {dst} on {ifname}: {source}")]
    Send {
        ifname: String,
        src: IpAddr,
        dst: IpAddr,
        #[source]
        source: io::Error,
    },
    /// `src` or `dst` is not of the socket's family.
    #[error("cannot send {src} -> {dst} on an {family:?} VRRP socket")]
    FamilyMismatch {
        src: IpAddr,
        dst: IpAddr,
        family: Family,
    },
    /// The message cannot be framed (too long for an IPv4 datagram).
    #[error("cannot frame a VRRP message: {0}")]
    Frame(WireError),
    /// A received datagram with a malformed IP header: a packet drop, not a
    /// socket failure (see [`SocketError::drop_reason`]).
    #[error("received a malformed IP header: {0}")]
    BadIpHeader(WireError),
    /// A received datagram longer than any advert: a packet drop.
    #[error("received a {len}-byte datagram, longer than any VRRP advert")]
    Oversized { len: usize },
}

impl SocketError {
    /// `Some` when the error is about one received packet (count it and
    /// keep receiving), `None` for a socket failure.
    pub fn drop_reason(&self) -> Option<DropReason> {
        match self {
            SocketError::BadIpHeader(e) => Some(DropReason::from(*e)),
            SocketError::Oversized { .. } => Some(DropReason::Oversized),
            _ => None,
        }
    }
}

/// A raw VRRP socket registered with the tokio reactor.
#[derive(Debug)]
pub struct VrrpSocket {
    fd: AsyncFd<Socket>,
    spec: SocketSpec,
    /// IPv4 identification: keepalived increments it per packet from 1.
    ip_id: AtomicU16,
    /// The receive slots, reused: a fresh zeroed buffer per datagram
    /// showed in profiles at 100 instances.
    rx_buf: std::sync::Mutex<Vec<u8>>,
    /// IPv4 adverts waiting for [`VrrpSocket::flush`].
    pending: std::sync::Mutex<Pending>,
}

/// One framed IPv4 advert waiting to leave, tagged with its VRID so a
/// failure can be charged to its instance.
#[derive(Debug)]
struct Queued {
    vrid: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    /// Where its datagram ends in [`Pending::bytes`].
    end: usize,
}

/// IPv4 adverts waiting for [`VrrpSocket::flush`]: their datagrams back to
/// back in one buffer, kept (cleared, not freed) between flushes. A Master
/// of 1000 instances queues 1000 a second; a buffer each was most of its
/// allocations.
#[derive(Debug, Default)]
struct Pending {
    bytes: Vec<u8>,
    queued: Vec<Queued>,
}

/// Adverts per `sendmmsg(2)`: a batch's iovecs and addresses live on the
/// stack, so a larger flush takes several calls.
const FLUSH_BATCH: usize = 64;

thread_local! {
    /// `sendmmsg`'s message headers, allocated once per thread (the
    /// driver's) instead of per flush. nix's `MultiHeaders` holds raw
    /// pointers, so it cannot live in the socket, which threads share.
    static SEND_HEADERS: std::cell::RefCell<MultiHeaders<SockaddrIn>> =
        std::cell::RefCell::new(MultiHeaders::preallocate(FLUSH_BATCH, None));
}

/// An advert [`VrrpSocket::flush`] could not send.
#[derive(Debug)]
pub struct FlushError {
    pub vrid: u8,
    pub dst: IpAddr,
    pub error: SocketError,
}

impl VrrpSocket {
    /// Opens the socket for `spec`: raw protocol 112, `SO_BINDTODEVICE`,
    /// nonblocking, bound to the group or unicast source, multicast joined
    /// with loopback off. Must be called inside a tokio runtime, in the
    /// network namespace the interface lives in.
    pub fn open(spec: &SocketSpec) -> Result<VrrpSocket, SocketError> {
        let ifindex = spec.check()?;
        let open_err = |op: &'static str| {
            let ifname = spec.ifname.clone();
            move |source: io::Error| SocketError::Open { ifname, op, source }
        };
        let domain = match spec.family {
            Family::Ipv4 => Domain::IPV4,
            Family::Ipv6 => Domain::IPV6,
        };
        let proto = Protocol::from(i32::from(PROTOCOL_VRRP));
        let socket = Socket::new(domain, Type::RAW.cloexec(), Some(proto))
            .map_err(open_err("open a raw socket"))?;
        socket
            .set_nonblocking(true)
            .map_err(open_err("set nonblocking"))?;
        // SO_BINDTODEVICE as keepalived: the socket sees only this
        // interface (also what makes VRF setups work).
        socket
            .bind_device(Some(spec.ifname.as_bytes()))
            .map_err(open_err("bind to the device"))?;
        set_recv_buffer(&socket, RECV_BUFFER).map_err(open_err("size the receive buffer"))?;
        match spec.family {
            Family::Ipv4 => open_v4(&socket, spec, ifindex)?,
            Family::Ipv6 => open_v6(&socket, spec, ifindex)?,
        }
        // AsyncFd::register panics outside a runtime: make that an error.
        tokio::runtime::Handle::try_current()
            .map_err(|e| open_err("register with the reactor")(io::Error::other(e.to_string())))?;
        // SAFETY: the socket2 Socket owns its descriptor, which stays open
        // and unchanged until the AsyncFd (and with it the Socket) drops.
        let fd = unsafe { AsyncFd::register(socket) }
            .map_err(|e| open_err("register with the reactor")(e.into_parts().1))?;
        Ok(VrrpSocket {
            fd,
            spec: spec.clone(),
            ip_id: AtomicU16::new(1),
            rx_buf: std::sync::Mutex::new(vec![0; slot_len(spec.family) * slots(spec.family)]),
            pending: std::sync::Mutex::new(Pending::default()),
        })
    }

    /// Takes over a socket a predecessor process opened for `spec` and
    /// passed as descriptor `fd` (an in-place upgrade): checked to be a
    /// raw VRRP socket of the spec's family, made close-on-exec and
    /// nonblocking again, and registered with the reactor. Its group
    /// membership, binding and options are the predecessor's, untouched:
    /// no datagram queued on it is lost.
    pub fn adopt(spec: &SocketSpec, fd: std::os::fd::OwnedFd) -> Result<VrrpSocket, SocketError> {
        spec.check()?;
        let adopt_err = |op: &'static str| {
            let ifname = spec.ifname.clone();
            move |source: io::Error| SocketError::Open { ifname, op, source }
        };
        let socket = Socket::from(fd);
        let domain = match spec.family {
            Family::Ipv4 => Domain::IPV4,
            Family::Ipv6 => Domain::IPV6,
        };
        let kind_ok = socket
            .domain()
            .map_err(adopt_err("read the inherited socket's domain"))?
            == domain
            && socket
                .r#type()
                .map_err(adopt_err("read the inherited socket's type"))?
                == Type::RAW
            && socket
                .protocol()
                .map_err(adopt_err("read the inherited socket's protocol"))?
                == Some(Protocol::from(i32::from(PROTOCOL_VRRP)));
        if !kind_ok {
            return Err(SocketError::InvalidSpec {
                ifname: spec.ifname.clone(),
                why: "the inherited descriptor is not a raw VRRP socket of this family",
            });
        }
        socket
            .set_cloexec(true)
            .map_err(adopt_err("set close-on-exec"))?;
        socket
            .set_nonblocking(true)
            .map_err(adopt_err("set nonblocking"))?;
        tokio::runtime::Handle::try_current()
            .map_err(|e| adopt_err("register with the reactor")(io::Error::other(e.to_string())))?;
        // SAFETY: as in `open`: the Socket owns the descriptor until the
        // AsyncFd drops.
        let fd = unsafe { AsyncFd::register(socket) }
            .map_err(|e| adopt_err("register with the reactor")(e.into_parts().1))?;
        Ok(VrrpSocket {
            fd,
            spec: spec.clone(),
            ip_id: AtomicU16::new(1),
            rx_buf: std::sync::Mutex::new(vec![0; slot_len(spec.family) * slots(spec.family)]),
            pending: std::sync::Mutex::new(Pending::default()),
        })
    }

    /// The descriptor, to hand to a successor process (`vrrpd upgrade`).
    pub fn as_raw_fd(&self) -> RawFd {
        self.raw_fd()
    }

    /// What this socket was opened with.
    /// Sizes the receive buffer (`SO_RCVBUFFORCE`, else `SO_RCVBUF`): the
    /// configuration's (`kernel_rx_buf_size`, `vrrp_rx_bufs_policy`) or
    /// [`RECV_BUFFER`]; the kernel doubles the value for its bookkeeping.
    pub fn set_recv_buffer(&self, bytes: usize) -> Result<(), SocketError> {
        set_recv_buffer(self.fd.get_ref(), bytes).map_err(|source| SocketError::Open {
            ifname: self.spec.ifname.clone(),
            op: "size the receive buffer",
            source,
        })
    }

    pub fn spec(&self) -> &SocketSpec {
        &self.spec
    }

    /// Waits for the next datagram. Cancel safe: a dropped future loses no
    /// packet, so it can sit in a `select!`.
    pub async fn recv(&self) -> Result<Inbound, SocketError> {
        loop {
            let mut guard = self.fd.readable().await.map_err(|e| self.recv_err(e))?;
            match guard.try_io(|fd| self.recv_now(fd.get_ref())) {
                Ok(result) => return result.map_err(|e| self.recv_err(e))?,
                Err(_would_block) => continue,
            }
        }
    }

    /// Waits for a datagram, then takes whatever else is already queued, up
    /// to `max`: a burst of adverts (100 instances whose timers fire
    /// together) costs the driver one wake-up instead of one each, and the
    /// kernel one `recvmmsg(2)` per 16 datagrams instead of a
    /// `recvfrom` each. A socket error ends the batch. Cancel safe like
    /// [`VrrpSocket::recv`].
    pub async fn recv_batch(&self, max: usize) -> Vec<Result<Inbound, SocketError>> {
        let mut batch = Vec::new();
        loop {
            let mut guard = match self.fd.readable().await {
                Ok(guard) => guard,
                Err(e) => {
                    batch.push(Err(self.recv_err(e)));
                    return batch;
                }
            };
            while batch.len() < max.max(1) {
                let room = (max.max(1) - batch.len()).min(slots(self.spec.family));
                match self.recv_many(room, &mut batch) {
                    // A short read means the queue is empty: saves the
                    // EAGAIN call (the reactor wakes us for the next one).
                    Ok(n) if n < room => {
                        guard.clear_ready();
                        break;
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        guard.clear_ready();
                        break;
                    }
                    Err(e) => {
                        batch.push(Err(self.recv_err(e)));
                        return batch;
                    }
                }
            }
            if !batch.is_empty() {
                return batch;
            }
        }
    }

    /// One nonblocking `recvmmsg(2)` of up to `max` (at most the socket's
    /// slots) datagrams, appended to `out`; returns how many were received.
    fn recv_many(
        &self,
        max: usize,
        out: &mut Vec<Result<Inbound, SocketError>>,
    ) -> io::Result<usize> {
        let slot = slot_len(self.spec.family);
        let mut buf = self.rx_buf.lock().unwrap_or_else(|e| e.into_inner());
        let slots = max.clamp(1, buf.len() / slot);
        let fd = self.raw_fd();
        match self.spec.family {
            Family::Ipv4 => {
                // The source is in the header we receive: no address (the
                // kernel skips copying it out), no ancillary data.
                let lengths: Vec<usize> = {
                    let mut iovs = slot_iovs(&mut buf, slot, slots);
                    let mut headers = MultiHeaders::<()>::preallocate(slots, None);
                    recvmmsg(fd, &mut headers, iovs.iter_mut(), RECV_FLAGS, None)?
                        .map(|m| m.bytes)
                        .collect()
                };
                for (chunk, &len) in buf.chunks(slot).zip(&lengths) {
                    out.push(match chunk.get(..len) {
                        Some(datagram) => inbound_v4(datagram),
                        None => Err(SocketError::Oversized { len }),
                    });
                }
                Ok(lengths.len())
            }
            Family::Ipv6 => {
                let metas: Vec<(usize, Ipv6Addr, Ipv6Addr, u8)> = {
                    let mut iovs = slot_iovs(&mut buf, slot, slots);
                    let cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int);
                    let mut headers = MultiHeaders::<SockaddrIn6>::preallocate(slots, Some(cmsg));
                    let received = recvmmsg(fd, &mut headers, iovs.iter_mut(), RECV_FLAGS, None)?;
                    let mut metas = Vec::new();
                    for msg in received {
                        let src = msg.address.map_or(Ipv6Addr::UNSPECIFIED, |a| a.ip());
                        let (dst, ttl) = v6_ancillary(msg.cmsgs()?);
                        metas.push((msg.bytes, src, dst, ttl));
                    }
                    metas
                };
                for (chunk, &(len, src, dst, ttl)) in buf.chunks(slot).zip(&metas) {
                    out.push(match chunk.get(..len) {
                        Some(payload) => Ok(Inbound {
                            src: IpAddr::V6(src),
                            dst: IpAddr::V6(dst),
                            ttl,
                            payload: payload.to_vec(),
                        }),
                        None => Err(SocketError::Oversized { len }),
                    });
                }
                Ok(metas.len())
            }
        }
    }

    /// Receives one datagram if one is queued, without waiting.
    pub fn try_recv(&self) -> Result<Option<Inbound>, SocketError> {
        match self.recv_now(self.fd.get_ref()) {
            Ok(result) => result.map(Some),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(self.recv_err(e)),
        }
    }

    /// Sends `vrrp_msg` (checksum already filled by [`AdvertRepr::emit`]
    /// for `src` → `dst`) without waiting; call once per unicast peer. IPv4
    /// gets keepalived's header; IPv6 leaves from `src` via `IPV6_PKTINFO`
    /// (an unspecified `src` lets the kernel choose).
    pub fn send(&self, src: IpAddr, dst: IpAddr, vrrp_msg: &[u8]) -> Result<(), SocketError> {
        self.send_ttl(src, dst, TTL, vrrp_msg)
    }

    /// [`VrrpSocket::send`] with IPv4 TTL / IPv6 hop limit `ttl` (255 but
    /// for a unicast instance's `unicast_ttl`).
    pub fn send_ttl(
        &self,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        vrrp_msg: &[u8],
    ) -> Result<(), SocketError> {
        let send_err = |source: io::Error| SocketError::Send {
            ifname: self.spec.ifname.clone(),
            src,
            dst,
            source,
        };
        match (src, dst, self.spec.family) {
            (IpAddr::V4(src), IpAddr::V4(dst), Family::Ipv4) => {
                let datagram = self.frame_v4(src, dst, ttl, vrrp_msg)?;
                let to = SockAddr::from(SocketAddrV4::new(dst, 0));
                self.fd
                    .get_ref()
                    .send_to(&datagram, &to)
                    .map_err(send_err)?;
                Ok(())
            }
            (IpAddr::V6(src), IpAddr::V6(dst), Family::Ipv6) => {
                send_v6(self.raw_fd(), self.spec.ifindex, src, dst, ttl, vrrp_msg).map_err(send_err)
            }
            _ => Err(SocketError::FamilyMismatch {
                src,
                dst,
                family: self.spec.family,
            }),
        }
    }

    /// Like [`VrrpSocket::send`], but an IPv4 advert waits for
    /// [`VrrpSocket::flush`], which sends every queued one with one
    /// `sendmmsg(2)`: 100 instances whose timers fire together cost one
    /// system call instead of 100. IPv6 (its source rides in per-message
    /// ancillary data) is sent at once.
    pub fn queue(
        &self,
        vrid: u8,
        src: IpAddr,
        dst: IpAddr,
        vrrp_msg: &[u8],
    ) -> Result<(), SocketError> {
        self.queue_ttl(vrid, src, dst, TTL, vrrp_msg)
    }

    /// [`VrrpSocket::queue`] with TTL / hop limit `ttl`.
    pub fn queue_ttl(
        &self,
        vrid: u8,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        vrrp_msg: &[u8],
    ) -> Result<(), SocketError> {
        match (src, dst, self.spec.family) {
            (IpAddr::V4(src4), IpAddr::V4(dst4), Family::Ipv4) => {
                let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                let Pending { bytes, queued } = &mut *pending;
                let start = bytes.len();
                bytes.resize(start + IPV4_HEADER_LEN + vrrp_msg.len(), 0);
                let framed = match bytes.get_mut(start..) {
                    Some(datagram) => self.frame_v4_into(datagram, src4, dst4, ttl, vrrp_msg),
                    None => Ok(()),
                };
                if let Err(e) = framed {
                    bytes.truncate(start);
                    return Err(e);
                }
                queued.push(Queued {
                    vrid,
                    src: src4,
                    dst: dst4,
                    end: bytes.len(),
                });
                Ok(())
            }
            _ => self.send_ttl(src, dst, ttl, vrrp_msg),
        }
    }

    /// Sends what [`VrrpSocket::queue`] holds, in queue order; returns the
    /// adverts that could not leave (each is tried once, as `send` would).
    pub fn flush(&self) -> Vec<FlushError> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let Pending { bytes, queued } = &mut *pending;
        let mut failed = Vec::new();
        SEND_HEADERS.with(|headers| {
            // Only a flush borrows it, and a flush does not flush.
            let Ok(mut headers) = headers.try_borrow_mut() else {
                return;
            };
            let mut next = 0;
            while next < queued.len() {
                let rest = queued.get(next..).unwrap_or_default();
                let batch = rest.get(..FLUSH_BATCH).unwrap_or(rest);
                let mut iovs = [[IoSlice::new(&[])]; FLUSH_BATCH];
                let mut addrs: [Option<SockaddrIn>; FLUSH_BATCH] = [None; FLUSH_BATCH];
                let mut start = next
                    .checked_sub(1)
                    .and_then(|i| queued.get(i))
                    .map_or(0, |q| q.end);
                for ((iov, addr), q) in iovs.iter_mut().zip(addrs.iter_mut()).zip(batch) {
                    *iov = [IoSlice::new(bytes.get(start..q.end).unwrap_or_default())];
                    *addr = Some(SockaddrIn::from(SocketAddrV4::new(q.dst, 0)));
                    start = q.end;
                }
                let n = batch.len();
                let no_cmsgs: [ControlMessage; 0] = [];
                match sendmmsg(
                    self.raw_fd(),
                    &mut headers,
                    iovs.get(..n).unwrap_or_default(),
                    addrs.get(..n).unwrap_or_default(),
                    no_cmsgs,
                    MsgFlags::MSG_DONTWAIT,
                ) {
                    // sendmmsg(2) stops at the first message that fails and
                    // reports that failure on the next call.
                    Ok(sent) => next += sent.count().max(1),
                    Err(errno) => {
                        if let Some(q) = batch.first() {
                            failed.push(FlushError {
                                vrid: q.vrid,
                                dst: IpAddr::V4(q.dst),
                                error: SocketError::Send {
                                    ifname: self.spec.ifname.clone(),
                                    src: IpAddr::V4(q.src),
                                    dst: IpAddr::V4(q.dst),
                                    source: io::Error::from(errno),
                                },
                            });
                        }
                        next += 1;
                    }
                }
            }
        });
        bytes.clear();
        queued.clear();
        failed
    }

    /// The IPv4 datagram keepalived would send, IP id taken from the counter.
    fn frame_v4(
        &self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
        msg: &[u8],
    ) -> Result<Vec<u8>, SocketError> {
        let mut datagram = vec![0; IPV4_HEADER_LEN + msg.len()];
        self.frame_v4_into(&mut datagram, src, dst, ttl, msg)?;
        Ok(datagram)
    }

    /// [`VrrpSocket::frame_v4`] into `datagram`, which is exactly as long
    /// as the header and `msg`.
    fn frame_v4_into(
        &self,
        datagram: &mut [u8],
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
        msg: &[u8],
    ) -> Result<(), SocketError> {
        let id = self.ip_id.fetch_add(1, Ordering::Relaxed);
        let header = wire::emit_ipv4_header(datagram, src, dst, id, ttl, msg.len())
            .map_err(SocketError::Frame)?;
        if let Some(body) = datagram.get_mut(header..) {
            body.copy_from_slice(msg);
        }
        Ok(())
    }

    fn raw_fd(&self) -> RawFd {
        self.fd.get_ref().as_raw_fd()
    }

    fn recv_err(&self, source: io::Error) -> SocketError {
        SocketError::Recv {
            ifname: self.spec.ifname.clone(),
            source,
        }
    }

    /// One nonblocking receive. The outer error is the socket's
    /// (`WouldBlock` included), the inner one the packet's.
    fn recv_now(&self, socket: &Socket) -> io::Result<Result<Inbound, SocketError>> {
        match self.spec.family {
            Family::Ipv4 => {
                let mut buf = self.rx_buf.lock().unwrap_or_else(|e| e.into_inner());
                let slot = buf.get_mut(..RX_SLOT_V4).unwrap_or_default();
                let n = (&*socket).read(slot)?;
                Ok(inbound_v4(slot.get(..n).unwrap_or(&[])))
            }
            Family::Ipv6 => {
                let mut buf = self.rx_buf.lock().unwrap_or_else(|e| e.into_inner());
                let slot = buf.get_mut(..RX_SLOT_V6).unwrap_or_default();
                recv_v6(socket.as_raw_fd(), slot).map(Ok)
            }
        }
    }
}

/// `SO_RCVBUFFORCE` (CAP_NET_ADMIN, which a VRRP daemon has) past
/// `net.core.rmem_max`, else `SO_RCVBUF` up to it. The default (208 KB) is
/// a few hundred adverts: a burst from many instances plus a flood's share
/// would be dropped by the kernel before the driver could read it.
fn set_recv_buffer(socket: &Socket, bytes: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: a valid descriptor and a c_int option value of the right size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            std::ptr::addr_of!(value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    socket.set_recv_buffer_size(bytes)
}

fn open_v4(socket: &Socket, spec: &SocketSpec, ifindex: NonZeroU32) -> Result<(), SocketError> {
    let open_err = |op: &'static str| {
        let ifname = spec.ifname.clone();
        move |source: io::Error| SocketError::Open { ifname, op, source }
    };
    // keepalived builds the IPv4 header itself (vrrp_build_ip4()): TOS, TTL,
    // id and DF exactly as it sends them.
    socket
        .set_header_included_v4(true)
        .map_err(open_err("set IP_HDRINCL"))?;
    match spec.mode {
        Mode::Multicast {
            group: IpAddr::V4(group),
        } => {
            socket
                .join_multicast_v4_n(&group, &InterfaceIndexOrAddress::Index(ifindex.get()))
                .map_err(open_err("join the multicast group"))?;
            set_multicast_if_v4(socket, ifindex.get()).map_err(open_err("set IP_MULTICAST_IF"))?;
            socket
                .set_multicast_loop_v4(false)
                .map_err(open_err("turn multicast loopback off"))?;
            socket
                .set_multicast_all_v4(false)
                .map_err(open_err("turn IP_MULTICAST_ALL off"))?;
            socket
                .bind(&SockAddr::from(SocketAddrV4::new(group, 0)))
                .map_err(open_err("bind to the multicast group"))?;
        }
        Mode::Unicast {
            source: IpAddr::V4(source),
        } => {
            // keepalived ≥ 2.3.3: IP_FREEBIND, so a unicast_src_ip not (yet)
            // on the interface does not stop start-up.
            socket
                .set_freebind_v4(true)
                .map_err(open_err("set IP_FREEBIND"))?;
            socket
                .bind(&SockAddr::from(SocketAddrV4::new(source, 0)))
                .map_err(open_err("bind to the unicast source"))?;
        }
        // check() guarantees the mode's address is IPv4.
        _ => {
            return Err(SocketError::InvalidSpec {
                ifname: spec.ifname.clone(),
                why: "address family differs from the socket's",
            })
        }
    }
    Ok(())
}

fn open_v6(socket: &Socket, spec: &SocketSpec, ifindex: NonZeroU32) -> Result<(), SocketError> {
    let open_err = |op: &'static str| {
        let ifname = spec.ifname.clone();
        move |source: io::Error| SocketError::Open { ifname, op, source }
    };
    let fd = socket.as_raw_fd();
    // RFC 9568 §5.2.8: the checksum covers the IPv6 pseudo-header; with the
    // offset set the kernel fills it on send and drops bad ones on receive,
    // as keepalived does.
    setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_CHECKSUM, CHECKSUM_OFFSET)
        .map_err(open_err("set IPV6_CHECKSUM"))?;
    socket
        .set_unicast_hops_v6(u32::from(TTL))
        .map_err(open_err("set IPV6_UNICAST_HOPS"))?;
    socket
        .set_multicast_hops_v6(u32::from(TTL))
        .map_err(open_err("set IPV6_MULTICAST_HOPS"))?;
    socket
        .set_tclass_v6(u32::from(IPV6_TCLASS))
        .map_err(open_err("set IPV6_TCLASS"))?;
    nix::sys::socket::setsockopt(socket, sockopt::Ipv6RecvHopLimit, &true)
        .map_err(|e| open_err("set IPV6_RECVHOPLIMIT")(e.into()))?;
    nix::sys::socket::setsockopt(socket, sockopt::Ipv6RecvPacketInfo, &true)
        .map_err(|e| open_err("set IPV6_RECVPKTINFO")(e.into()))?;
    // Sending from a still-tentative link-local (just after link up) or a
    // unicast source not yet configured must not fail (IPV6_PKTINFO checks
    // the source unless the socket may bind non-local addresses).
    socket
        .set_freebind_v6(true)
        .map_err(open_err("set IPV6_FREEBIND"))?;
    let bind_to = |addr: Ipv6Addr| {
        let scope = if needs_scope(&addr) { ifindex.get() } else { 0 };
        SockAddr::from(SocketAddrV6::new(addr, 0, 0, scope))
    };
    match spec.mode {
        Mode::Multicast {
            group: IpAddr::V6(group),
        } => {
            socket
                .join_multicast_v6(&group, ifindex.get())
                .map_err(open_err("join the multicast group"))?;
            socket
                .set_multicast_if_v6(ifindex.get())
                .map_err(open_err("set IPV6_MULTICAST_IF"))?;
            socket
                .set_multicast_loop_v6(false)
                .map_err(open_err("turn multicast loopback off"))?;
            socket
                .set_multicast_all_v6(false)
                .map_err(open_err("turn IPV6_MULTICAST_ALL off"))?;
            socket
                .bind(&bind_to(group))
                .map_err(open_err("bind to the multicast group"))?;
        }
        Mode::Unicast {
            source: IpAddr::V6(source),
        } => {
            socket
                .bind(&bind_to(source))
                .map_err(open_err("bind to the unicast source"))?;
        }
        _ => {
            return Err(SocketError::InvalidSpec {
                ifname: spec.ifname.clone(),
                why: "address family differs from the socket's",
            })
        }
    }
    Ok(())
}

/// One single-buffer iovec per receive slot, for `recvmmsg(2)`.
fn slot_iovs(buf: &mut [u8], slot: usize, slots: usize) -> Vec<[IoSliceMut<'_>; 1]> {
    buf.chunks_mut(slot)
        .take(slots)
        .map(|c| [IoSliceMut::new(c)])
        .collect()
}

fn slot_len(family: Family) -> usize {
    match family {
        Family::Ipv4 => RX_SLOT_V4,
        Family::Ipv6 => RX_SLOT_V6,
    }
}

fn slots(family: Family) -> usize {
    match family {
        Family::Ipv4 => RX_SLOTS_V4,
        Family::Ipv6 => RX_SLOTS_V6,
    }
}

/// Link-local unicast and link/interface-scope multicast need a scope id.
fn needs_scope(addr: &Ipv6Addr) -> bool {
    let first = addr.segments()[0];
    (first & 0xffc0) == 0xfe80 || (addr.is_multicast() && (first & 0x000f) <= 2)
}

fn inbound_v4(datagram: &[u8]) -> Result<Inbound, SocketError> {
    let meta = wire::parse_ipv4_header(datagram).map_err(SocketError::BadIpHeader)?;
    Ok(Inbound {
        src: IpAddr::V4(meta.src),
        dst: IpAddr::V4(meta.dst),
        ttl: meta.ttl,
        payload: meta.payload(datagram).to_vec(),
    })
}

/// A raw IPv6 socket delivers the payload alone: the source comes from the
/// address, destination and hop limit from ancillary data.
fn recv_v6(fd: RawFd, buf: &mut [u8]) -> io::Result<Inbound> {
    let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int);
    let (len, src, dst, ttl) = {
        let mut iov = [IoSliceMut::new(buf)];
        let msg = recvmsg::<SockaddrIn6>(fd, &mut iov, Some(&mut cmsg), MsgFlags::empty())?;
        let src = msg.address.map_or(Ipv6Addr::UNSPECIFIED, |a| a.ip());
        let (dst, ttl) = v6_ancillary(msg.cmsgs()?);
        (msg.bytes, src, dst, ttl)
    };
    Ok(Inbound {
        src: IpAddr::V6(src),
        dst: IpAddr::V6(dst),
        ttl,
        payload: buf.get(..len).unwrap_or(&[]).to_vec(),
    })
}

/// Destination and hop limit from a raw IPv6 socket's ancillary data.
/// Without it (never seen on Linux) the unspecified destination and TTL 0
/// make validate() drop the packet.
fn v6_ancillary(cmsgs: impl Iterator<Item = ControlMessageOwned>) -> (Ipv6Addr, u8) {
    let mut dst = Ipv6Addr::UNSPECIFIED;
    let mut ttl = 0;
    for c in cmsgs {
        match c {
            ControlMessageOwned::Ipv6PacketInfo(info) => {
                dst = Ipv6Addr::from(info.ipi6_addr.s6_addr);
            }
            ControlMessageOwned::Ipv6HopLimit(limit) => {
                ttl = u8::try_from(limit).unwrap_or(0);
            }
            _ => {}
        }
    }
    (dst, ttl)
}

fn send_v6(
    fd: RawFd,
    ifindex: u32,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    ttl: u8,
    msg: &[u8],
) -> io::Result<()> {
    let scope = if needs_scope(&dst) { ifindex } else { 0 };
    let to = SockaddrIn6::from(SocketAddrV6::new(dst, 0, 0, scope));
    let info = libc::in6_pktinfo {
        ipi6_addr: libc::in6_addr {
            s6_addr: src.octets(),
        },
        ipi6_ifindex: ifindex,
    };
    // Per message, as keepalived's IPV6_HOPLIMIT (the socket's own hop
    // limits are 255: a shared socket may carry another instance's TTL).
    let hops = libc::c_int::from(ttl);
    let cmsgs = [
        ControlMessage::Ipv6PacketInfo(&info),
        ControlMessage::Ipv6HopLimit(&hops),
    ];
    sendmsg(
        fd,
        &[IoSlice::new(msg)],
        &cmsgs,
        MsgFlags::empty(),
        Some(&to),
    )?;
    Ok(())
}

/// `IP_MULTICAST_IF` by interface index (`struct ip_mreqn`); socket2 only
/// takes an interface address.
fn set_multicast_if_v4(socket: &Socket, ifindex: u32) -> io::Result<()> {
    let mreqn = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: 0 },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: libc::c_int::try_from(ifindex)
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
    };
    setsockopt_raw(
        socket.as_raw_fd(),
        libc::IPPROTO_IP,
        libc::IP_MULTICAST_IF,
        &mreqn,
    )
}

fn setsockopt_int(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    setsockopt_raw(fd, level, name, &value)
}

fn setsockopt_raw<T>(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(std::mem::size_of::<T>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `value` points to a live, initialised `T` of `len` bytes for
    // the duration of the call; the kernel only reads it.
    let rc = unsafe { libc::setsockopt(fd, level, name, (value as *const T).cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::wire::{Auth, MULTICAST_V4, MULTICAST_V6};
    use crate::proto::{Centis, Priority, Version, Vrid};

    const A4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const B4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
    const A6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

    fn repr(version: Version, addresses: Vec<IpAddr>) -> AdvertRepr {
        AdvertRepr {
            version,
            vrid: Vrid::new(51).unwrap(),
            priority: Priority(150),
            max_advert_int: Centis(100),
            addresses: addresses.into(),
            auth: Auth::None,
        }
    }

    fn emit(repr: &AdvertRepr, src: IpAddr, dst: IpAddr) -> Vec<u8> {
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(
            &mut Packet::new_unchecked(&mut buf[..]),
            src,
            dst,
            ChecksumMode::PseudoHeader,
        )
        .unwrap();
        buf
    }

    fn v2_multicast() -> (AdvertRepr, Inbound) {
        let r = repr(Version::V2, vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))]);
        let payload = emit(&r, A4.into(), MULTICAST_V4.into());
        let inbound = Inbound {
            src: A4.into(),
            dst: MULTICAST_V4.into(),
            ttl: 255,
            payload,
        };
        (r, inbound)
    }

    const MCAST: RxPolicy = RxPolicy {
        multicast: true,
        ttl_range: None,
        checksum: ChecksumMode::PseudoHeader,
    };
    const UCAST: RxPolicy = RxPolicy {
        multicast: false,
        ttl_range: None,
        checksum: ChecksumMode::PseudoHeader,
    };

    /// Re-fills the checksum after a field was changed, so only the change
    /// is wrong.
    fn refill(inbound: &mut Inbound) {
        let mut p = Packet::new_unchecked(&mut inbound.payload[..]);
        p.fill_checksum(inbound.src, inbound.dst, ChecksumMode::PseudoHeader);
    }

    #[test]
    fn valid_multicast_advert_decodes() {
        let (r, inbound) = v2_multicast();
        assert_eq!(validate(&inbound, &MCAST), Ok(r));
    }

    #[test]
    fn valid_ipv6_advert_decodes() {
        let r = repr(
            Version::V3,
            vec![IpAddr::V6(Ipv6Addr::new(
                0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x66,
            ))],
        );
        let inbound = Inbound {
            src: A6.into(),
            dst: MULTICAST_V6.into(),
            ttl: 255,
            payload: emit(&r, A6.into(), MULTICAST_V6.into()),
        };
        assert_eq!(validate(&inbound, &MCAST), Ok(r));
    }

    #[test]
    fn multicast_ttl_must_be_255() {
        let (_, mut inbound) = v2_multicast();
        for ttl in [0, 1, 64, 254] {
            inbound.ttl = ttl;
            assert_eq!(
                validate(&inbound, &MCAST),
                Err(DropReason::Ttl),
                "ttl {ttl}"
            );
        }
    }

    #[test]
    fn unicast_ttl_is_free_unless_a_range_is_set() {
        let r = repr(Version::V3, vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 140))]);
        let mut inbound = Inbound {
            src: A4.into(),
            dst: B4.into(),
            ttl: 1,
            payload: emit(&r, A4.into(), B4.into()),
        };
        assert_eq!(validate(&inbound, &UCAST), Ok(r.clone()));
        let ranged = RxPolicy {
            ttl_range: Some((250, 255)),
            ..UCAST
        };
        assert_eq!(validate(&inbound, &ranged), Err(DropReason::Ttl));
        inbound.ttl = 250;
        assert_eq!(validate(&inbound, &ranged), Ok(r));
    }

    #[test]
    fn each_malformed_field_has_its_reason() {
        let (_, good) = v2_multicast();
        type Mutation = fn(&mut Inbound);
        let cases: Vec<(DropReason, Mutation)> = vec![
            (
                DropReason::Truncated,
                (|i: &mut Inbound| i.payload.truncate(7)),
            ),
            (
                DropReason::Version,
                (|i: &mut Inbound| {
                    i.payload[0] = 0x41;
                    refill(i);
                }),
            ),
            (
                DropReason::Type,
                (|i: &mut Inbound| {
                    i.payload[0] = 0x22;
                    refill(i);
                }),
            ),
            (
                DropReason::Length,
                (|i: &mut Inbound| {
                    i.payload.push(0);
                    refill(i);
                }),
            ),
            (DropReason::Checksum, (|i: &mut Inbound| i.payload[7] ^= 1)),
            (
                DropReason::Vrid,
                (|i: &mut Inbound| {
                    i.payload[1] = 0;
                    refill(i);
                }),
            ),
            (
                DropReason::AuthType,
                (|i: &mut Inbound| {
                    i.payload[4] = 2;
                    refill(i);
                }),
            ),
            (
                DropReason::AuthType,
                (|i: &mut Inbound| {
                    i.payload[4] = 7;
                    refill(i);
                }),
            ),
            (
                DropReason::Interval,
                (|i: &mut Inbound| {
                    i.payload[5] = 0;
                    refill(i);
                }),
            ),
            (
                DropReason::Family,
                (|i: &mut Inbound| i.dst = MULTICAST_V6.into()),
            ),
            (DropReason::Ttl, (|i: &mut Inbound| i.ttl = 254)),
        ];
        let mut seen = Vec::new();
        for (reason, mutate) in &cases {
            let mut inbound = good.clone();
            mutate(&mut inbound);
            assert_eq!(validate(&inbound, &MCAST), Err(*reason), "{reason}");
            seen.push(*reason);
        }
        assert_eq!(seen.len(), 11);
    }

    #[test]
    fn v2_over_ipv6_is_a_version_drop() {
        let r = repr(Version::V3, vec![IpAddr::V6(A6)]);
        let mut inbound = Inbound {
            src: A6.into(),
            dst: MULTICAST_V6.into(),
            ttl: 255,
            payload: emit(&r, A6.into(), MULTICAST_V6.into()),
        };
        inbound.payload[0] = 0x21;
        assert_eq!(validate(&inbound, &MCAST), Err(DropReason::Version));
    }

    #[test]
    fn destination_must_match_the_mode() {
        // keepalived: "Expected unicast packet but received multicast packet".
        let (_, inbound) = v2_multicast();
        let unicast_any_ttl = RxPolicy { ..UCAST };
        assert_eq!(
            validate(&inbound, &unicast_any_ttl),
            Err(DropReason::Destination)
        );
        let r = repr(Version::V2, vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 30))]);
        let unicast = Inbound {
            src: A4.into(),
            dst: B4.into(),
            ttl: 255,
            payload: emit(&r, A4.into(), B4.into()),
        };
        assert_eq!(validate(&unicast, &MCAST), Err(DropReason::Destination));
    }

    #[test]
    fn v3_checksum_mode_is_honoured() {
        let r = repr(Version::V3, vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 130))]);
        let mut payload = vec![0; r.buffer_len()];
        r.emit(
            &mut Packet::new_unchecked(&mut payload[..]),
            A4.into(),
            MULTICAST_V4.into(),
            ChecksumMode::V2Style,
        )
        .unwrap();
        let inbound = Inbound {
            src: A4.into(),
            dst: MULTICAST_V4.into(),
            ttl: 255,
            payload,
        };
        assert_eq!(validate(&inbound, &MCAST), Err(DropReason::Checksum));
        let v2_style = RxPolicy {
            checksum: ChecksumMode::V2Style,
            ..MCAST
        };
        assert_eq!(validate(&inbound, &v2_style), Ok(r));
    }

    #[test]
    fn drop_reason_names_are_stable_and_distinct() {
        let names: Vec<&str> = DropReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            [
                "ttl",
                "truncated",
                "version",
                "type",
                "length",
                "checksum",
                "vrid",
                "auth_type",
                "interval",
                "family",
                "destination",
                "ip_header",
                "malformed",
                "oversized"
            ]
        );
    }

    #[test]
    fn ip_header_errors_are_packet_drops() {
        let err = inbound_v4(&[0x45; 10]).unwrap_err();
        assert_eq!(err.drop_reason(), Some(DropReason::Truncated));
        let mut datagram = vec![0; 20];
        wire::emit_ipv4_header(&mut datagram, A4, B4, 1, 255, 0).unwrap();
        datagram[9] = 17;
        let err = inbound_v4(&datagram).unwrap_err();
        assert_eq!(err.drop_reason(), Some(DropReason::IpHeader));
    }

    #[test]
    fn ipv4_inbound_takes_addresses_and_ttl_from_the_header() {
        let (r, expected) = v2_multicast();
        let mut datagram = vec![0; 20 + r.buffer_len()];
        wire::emit_ipv4_header(&mut datagram, A4, MULTICAST_V4, 7, 255, r.buffer_len()).unwrap();
        datagram[20..].copy_from_slice(&expected.payload);
        // Ethernet padding past Total Length is not part of the message.
        datagram.extend_from_slice(&[0; 6]);
        assert_eq!(inbound_v4(&datagram).unwrap(), expected);
    }

    #[test]
    fn spec_checks() {
        let ok = SocketSpec::multicast("eth0", 2, Family::Ipv4);
        assert!(ok.check().is_ok());
        let zero = SocketSpec {
            ifindex: 0,
            ..ok.clone()
        };
        assert!(matches!(zero.check(), Err(SocketError::InvalidSpec { .. })));
        let wrong_family = SocketSpec {
            family: Family::Ipv6,
            ..ok.clone()
        };
        assert!(wrong_family.check().is_err());
        let not_group = SocketSpec {
            mode: Mode::Multicast { group: A4.into() },
            ..ok.clone()
        };
        assert!(not_group.check().is_err());
        assert!(SocketSpec::unicast("eth0", 2, A6.into()).check().is_ok());
        assert!(SocketSpec::unicast("eth0", 2, MULTICAST_V4.into())
            .check()
            .is_err());
        let long = SocketSpec::multicast("an-interface-name-too-long", 2, Family::Ipv4);
        assert!(long.check().is_err());
    }

    #[test]
    fn scope_ids_for_link_local_and_link_scope_multicast() {
        assert!(needs_scope(&A6));
        assert!(needs_scope(&MULTICAST_V6));
        assert!(!needs_scope(&Ipv6Addr::new(
            0x2001, 0xdb8, 0, 0, 0, 0, 0, 1
        )));
        assert!(!needs_scope(&Ipv6Addr::new(0xff05, 0, 0, 0, 0, 0, 0, 0x12)));
    }
}
