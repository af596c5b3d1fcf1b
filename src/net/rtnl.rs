//! The few rtnetlink messages vrrpd sends and reads (netlink(7),
//! rtnetlink(7)), built and parsed by hand: requests for a link, an address
//! dump, address add/delete, and the link and address notifications.
//!
//! Pure: bytes in, values out; the socket side is [`super::netlink`]. Netlink
//! is in host byte order. Parsing is total: a truncated or malformed message
//! ends the walk or yields `None`, never a panic. (A general crate,
//! netlink-packet-route, parses every attribute of every link kind: a third
//! of a megabyte of resident code for the handful of fields used here.)

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::netlink::{AddressSpec, LinkInfo, NetEvent};

pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;

const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_MULTI: u16 = 0x2;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;

/// RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR: what
/// `ip monitor link address` listens to.
pub const EVENT_GROUPS: u32 = 0x1 | 0x10 | 0x100;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_BROADCAST: u16 = 4;
const IFA_F_NODAD: u8 = 0x02;
const IFF_UP: u32 = 0x1;
const IFF_RUNNING: u32 = 0x40;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// sizeof(struct nlmsghdr), struct ifinfomsg, struct ifaddrmsg.
const NLMSG_HDR: usize = 16;
const IFINFOMSG: usize = 16;
const IFADDRMSG: usize = 8;

const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// A request under construction: header, fixed part, attributes.
struct Request(Vec<u8>);

impl Request {
    fn new(kind: u16, flags: u16, seq: u32) -> Request {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set by finish
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port: the kernel fills it in
        Request(buf)
    }

    fn ifinfomsg(mut self, index: u32) -> Request {
        self.0.extend_from_slice(&[0; 4]); // family, pad, type
        self.0.extend_from_slice(&index.to_ne_bytes());
        self.0.extend_from_slice(&[0; 8]); // flags, change
        self
    }

    fn ifaddrmsg(mut self, family: u8, prefix: u8, flags: u8, scope: u8, index: u32) -> Request {
        self.0.extend_from_slice(&[family, prefix, flags, scope]);
        self.0.extend_from_slice(&index.to_ne_bytes());
        self
    }

    fn attr(mut self, kind: u16, data: &[u8]) -> Request {
        let len = 4 + data.len();
        self.0.extend_from_slice(&(len as u16).to_ne_bytes());
        self.0.extend_from_slice(&kind.to_ne_bytes());
        self.0.extend_from_slice(data);
        self.0.resize(align4(self.0.len()), 0);
        self
    }

    /// A NUL-terminated string attribute.
    fn attr_str(self, kind: u16, s: &str) -> Request {
        let mut data = Vec::with_capacity(s.len() + 1);
        data.extend_from_slice(s.as_bytes());
        data.push(0);
        self.attr(kind, &data)
    }

    fn finish(mut self) -> Vec<u8> {
        let len = self.0.len() as u32;
        self.0[..4].copy_from_slice(&len.to_ne_bytes());
        self.0
    }
}

/// RTM_GETLINK for the interface called `name` (one reply, or ENODEV).
pub fn get_link_by_name(seq: u32, name: &str) -> Vec<u8> {
    Request::new(RTM_GETLINK, NLM_F_REQUEST, seq)
        .ifinfomsg(0)
        .attr_str(IFLA_IFNAME, name)
        .finish()
}

/// RTM_GETLINK for interface `index` (one reply, or ENODEV).
pub fn get_link_by_index(seq: u32, index: u32) -> Vec<u8> {
    Request::new(RTM_GETLINK, NLM_F_REQUEST, seq)
        .ifinfomsg(index)
        .finish()
}

/// A dump of every address of every interface, both families.
pub fn dump_addresses(seq: u32) -> Vec<u8> {
    Request::new(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq)
        .ifaddrmsg(0, 0, 0, 0, 0)
        .finish()
}

/// RTM_NEWADDR as `ip addr add` sends it: fails with EEXIST if present.
pub fn new_address(seq: u32, index: u32, spec: &AddressSpec) -> Vec<u8> {
    address_message(
        RTM_NEWADDR,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE,
        seq,
        index,
        spec,
    )
}

/// RTM_DELADDR: fails with EADDRNOTAVAIL if absent.
pub fn del_address(seq: u32, index: u32, spec: &AddressSpec) -> Vec<u8> {
    address_message(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, seq, index, spec)
}

fn address_message(kind: u16, flags: u16, seq: u32, index: u32, spec: &AddressSpec) -> Vec<u8> {
    let (family, bytes) = match spec.addr {
        IpAddr::V4(a) => (AF_INET, a.octets().to_vec()),
        IpAddr::V6(a) => (AF_INET6, a.octets().to_vec()),
    };
    let ifa_flags = if spec.nodad { IFA_F_NODAD } else { 0 };
    let mut req = Request::new(kind, flags, seq)
        .ifaddrmsg(family, spec.prefix, ifa_flags, spec.scope, index)
        .attr(IFA_LOCAL, &bytes)
        .attr(IFA_ADDRESS, &bytes);
    if let Some(brd) = spec.broadcast {
        req = req.attr(IFA_BROADCAST, &brd.octets());
    }
    if let Some(label) = &spec.label {
        req = req.attr_str(IFA_LABEL, label);
    }
    req.finish()
}

/// One message of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    /// After the header, up to the message's own length.
    pub payload: &'a [u8],
}

/// The messages of a datagram, in order; stops at the first malformed one.
pub fn messages(datagram: &[u8]) -> impl Iterator<Item = Message<'_>> {
    let mut rest = datagram;
    std::iter::from_fn(move || {
        let len = u32::from_ne_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        if len < NLMSG_HDR || len > rest.len() {
            rest = &[];
            return None;
        }
        let msg = Message {
            kind: u16::from_ne_bytes([rest[4], rest[5]]),
            flags: u16::from_ne_bytes([rest[6], rest[7]]),
            seq: u32::from_ne_bytes([rest[8], rest[9], rest[10], rest[11]]),
            payload: &rest[NLMSG_HDR..len],
        };
        rest = rest.get(align4(len)..).unwrap_or(&[]);
        Some(msg)
    })
}

/// NLMSG_ERROR's code: 0 for an acknowledgement, else a positive errno.
/// NLMSG_DONE may carry one too (0 when the dump ended well).
pub fn error_code(payload: &[u8]) -> Option<i32> {
    let code = i32::from_ne_bytes(payload.get(..4)?.try_into().ok()?);
    Some(code.checked_neg().unwrap_or(i32::MAX))
}

/// The attributes after a fixed part, as (type, data); stops at a bad one.
fn attrs(buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        let len = u16::from_ne_bytes(rest.get(..2)?.try_into().ok()?) as usize;
        if len < 4 || len > rest.len() {
            rest = &[];
            return None;
        }
        // The top two bits are NLA_F_NESTED and NLA_F_NET_BYTEORDER.
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & 0x3fff;
        let data = &rest[4..len];
        rest = rest.get(align4(len)..).unwrap_or(&[]);
        Some((kind, data))
    })
}

/// An RTM_NEWLINK / RTM_DELLINK payload.
pub fn parse_link(payload: &[u8]) -> Option<LinkInfo> {
    let fixed = payload.get(..IFINFOMSG)?;
    let index = u32::from_ne_bytes(fixed[4..8].try_into().ok()?);
    let flags = u32::from_ne_bytes(fixed[8..12].try_into().ok()?);
    let mut name = String::new();
    let mut mac = None;
    for (kind, data) in attrs(&payload[IFINFOMSG..]) {
        match kind {
            IFLA_IFNAME => {
                let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                name = String::from_utf8_lossy(&data[..end]).into_owned();
            }
            IFLA_ADDRESS => mac = <[u8; 6]>::try_from(data).ok(),
            _ => {}
        }
    }
    Some(LinkInfo {
        index,
        name,
        running: flags & IFF_UP != 0 && flags & IFF_RUNNING != 0,
        mac,
    })
}

/// An RTM_NEWADDR / RTM_DELADDR payload: (ifindex, address, prefix length).
/// IFA_LOCAL is the interface's own address on point-to-point links,
/// IFA_ADDRESS otherwise (rtnetlink(7)); `None` without either.
pub fn parse_address(payload: &[u8]) -> Option<(u32, IpAddr, u8)> {
    let fixed = payload.get(..IFADDRMSG)?;
    let prefix = fixed[1];
    let index = u32::from_ne_bytes(fixed[4..8].try_into().ok()?);
    let mut local = None;
    let mut address = None;
    for (kind, data) in attrs(&payload[IFADDRMSG..]) {
        let slot = match kind {
            IFA_LOCAL => &mut local,
            IFA_ADDRESS => &mut address,
            _ => continue,
        };
        *slot = match data.len() {
            4 => <[u8; 4]>::try_from(data)
                .ok()
                .map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            16 => <[u8; 16]>::try_from(data)
                .ok()
                .map(|a| IpAddr::V6(Ipv6Addr::from(a))),
            _ => None,
        };
    }
    Some((index, local.or(address)?, prefix))
}

/// A notification from the link and address groups, if it is one.
pub fn event(msg: &Message<'_>) -> Option<NetEvent> {
    match msg.kind {
        RTM_NEWLINK => parse_link(msg.payload).map(NetEvent::Link),
        RTM_DELLINK => parse_link(msg.payload).map(|l| NetEvent::LinkRemoved { index: l.index }),
        RTM_NEWADDR => {
            parse_address(msg.payload).map(|(index, addr, prefix)| NetEvent::AddressAdded {
                index,
                addr,
                prefix,
            })
        }
        RTM_DELADDR => {
            parse_address(msg.payload).map(|(index, addr, prefix)| NetEvent::AddressRemoved {
                index,
                addr,
                prefix,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn vip4() -> AddressSpec {
        AddressSpec {
            addr: "192.0.2.30".parse().unwrap(),
            prefix: 24,
            broadcast: Some(Ipv4Addr::new(192, 0, 2, 255)),
            label: Some("eth0:vip".into()),
            scope: 253,
            nodad: false,
        }
    }

    // The requests are byte for byte what vrrpd sent through rtnetlink 0.24
    // (netlink-packet-route 0.34) before this module replaced it; the
    // privileged tests (tests/net_netlink.rs) show the kernel's answers.
    #[test]
    fn requests_are_golden() {
        assert_eq!(
            get_link_by_name(1, "eth0"),
            hex(
                "2c000000120001000100000000000000000000000000000000000000000000000900030065746830\
                 00000000"
            )
        );
        assert_eq!(
            get_link_by_index(2, 7),
            hex("2000000012000100020000000000000000000000070000000000000000000000")
        );
        assert_eq!(
            dump_addresses(3),
            hex("180000001600010303000000000000000000000000000000")
        );
        assert_eq!(
            new_address(4, 3, &vip4()),
            hex(
                "40000000140005060400000000000000021800fd0300000008000200c000021e08000100c000021e\
                 08000400c00002ff0d000300657468303a76697000000000"
            )
        );
        assert_eq!(
            del_address(5, 3, &vip4()),
            hex(
                "40000000150005000500000000000000021800fd0300000008000200c000021e08000100c000021e\
                 08000400c00002ff0d000300657468303a76697000000000"
            )
        );
        let v6 = AddressSpec::host("2001:db8::30".parse().unwrap());
        assert_eq!(
            new_address(6, 3, &v6),
            hex("400000001400050606000000000000000a800200030000001400020020010db8000000000000000000\
                 0000301400010020010db8000000000000000000000030")
        );
        assert_eq!(
            del_address(7, 3, &v6),
            hex("400000001500050007000000000000000a800200030000001400020020010db8000000000000000000\
                 0000301400010020010db8000000000000000000000030")
        );
    }

    // Kernel replies and notifications captured in a namespace (6.18):
    // veth eth0 (index 3, 02:00:00:00:00:01) with peer eth1 (index 2),
    // 192.0.2.20/24 and 2001:db8::20/64 on eth0.
    const GETLINK_REPLY: &[u8] = include_bytes!("../../tests/fixtures/rtnetlink/getlink-reply.bin");
    const GETLINK_ENODEV: &[u8] =
        include_bytes!("../../tests/fixtures/rtnetlink/getlink-enodev.bin");
    const GETADDR_DUMP: &[u8] = include_bytes!("../../tests/fixtures/rtnetlink/getaddr-dump.bin");
    const GETADDR_DONE: &[u8] = include_bytes!("../../tests/fixtures/rtnetlink/getaddr-done.bin");
    const NEWADDR: &[u8] = include_bytes!("../../tests/fixtures/rtnetlink/event-newaddr.bin");
    const DELADDR: &[u8] = include_bytes!("../../tests/fixtures/rtnetlink/event-deladdr.bin");
    const NEWLINK_NO_CARRIER: &[u8] =
        include_bytes!("../../tests/fixtures/rtnetlink/event-newlink-no-carrier.bin");

    fn only(datagram: &[u8]) -> Message<'_> {
        let all: Vec<_> = messages(datagram).collect();
        assert_eq!(all.len(), 1, "{all:?}");
        all[0]
    }

    #[test]
    fn kernel_link_reply_parses() {
        let msg = only(GETLINK_REPLY);
        assert_eq!(
            (msg.kind, msg.seq, msg.flags & NLM_F_MULTI),
            (RTM_NEWLINK, 1, 0)
        );
        let link = parse_link(msg.payload).unwrap();
        assert_eq!(
            link,
            LinkInfo {
                index: 3,
                name: "eth0".into(),
                running: true,
                mac: Some([2, 0, 0, 0, 0, 1]),
            }
        );
        assert_eq!(event(&msg), Some(NetEvent::Link(link)));
    }

    #[test]
    fn kernel_error_reply_carries_the_errno() {
        let msg = only(GETLINK_ENODEV);
        assert_eq!((msg.kind, msg.seq), (NLMSG_ERROR, 2));
        assert_eq!(error_code(msg.payload), Some(19)); // ENODEV
        assert_eq!(event(&msg), None);
    }

    #[test]
    fn kernel_address_dump_parses() {
        let got: Vec<_> = messages(GETADDR_DUMP)
            .inspect(|m| {
                assert_eq!(
                    (m.kind, m.seq, m.flags & NLM_F_MULTI),
                    (RTM_NEWADDR, 3, NLM_F_MULTI)
                )
            })
            .filter_map(|m| parse_address(m.payload))
            .collect();
        assert_eq!(
            got,
            [
                (3, "192.0.2.20".parse().unwrap(), 24),
                (2, "fe80::4c76:59ff:fed1:e355".parse().unwrap(), 64),
                (3, "2001:db8::20".parse().unwrap(), 64),
                (3, "fe80::ff:fe00:1".parse().unwrap(), 64),
            ]
        );
        let done = only(GETADDR_DONE);
        assert_eq!((done.kind, error_code(done.payload)), (NLMSG_DONE, Some(0)));
    }

    #[test]
    fn kernel_notifications_become_events() {
        let vip = "192.0.2.30".parse().unwrap();
        assert_eq!(
            event(&only(NEWADDR)),
            Some(NetEvent::AddressAdded {
                index: 3,
                addr: vip,
                prefix: 32
            })
        );
        assert_eq!(
            event(&only(DELADDR)),
            Some(NetEvent::AddressRemoved {
                index: 3,
                addr: vip,
                prefix: 32
            })
        );
        let Some(NetEvent::Link(link)) = event(&only(NEWLINK_NO_CARRIER)) else {
            panic!("not a link event");
        };
        assert_eq!(
            (link.index, link.name.as_str(), link.running),
            (3, "eth0", false)
        );
        // The same message as a deletion.
        let mut del = NEWLINK_NO_CARRIER.to_vec();
        del[4..6].copy_from_slice(&RTM_DELLINK.to_ne_bytes());
        assert_eq!(event(&only(&del)), Some(NetEvent::LinkRemoved { index: 3 }));
    }

    #[test]
    fn messages_of_one_datagram_are_walked_in_order() {
        let mut two = GETLINK_ENODEV.to_vec();
        two.extend_from_slice(NEWADDR);
        let kinds: Vec<u16> = messages(&two).map(|m| m.kind).collect();
        assert_eq!(kinds, [NLMSG_ERROR, RTM_NEWADDR]);
    }

    #[test]
    fn truncated_and_malformed_input_never_panics() {
        for src in [GETLINK_REPLY, GETADDR_DUMP, NEWADDR, GETLINK_ENODEV] {
            for cut in 0..src.len() {
                for m in messages(&src[..cut]) {
                    let _ = (event(&m), error_code(m.payload), parse_address(m.payload));
                }
            }
        }
        // A length below the header, beyond the datagram, or zero ends the walk.
        for len in [0u32, 15, 10_000] {
            let mut bad = NEWADDR.to_vec();
            bad[..4].copy_from_slice(&len.to_ne_bytes());
            assert_eq!(messages(&bad).count(), 0, "length {len}");
        }
        // A bad attribute length ends the attribute walk: no address.
        let mut bad = NEWADDR.to_vec();
        bad[NLMSG_HDR + IFADDRMSG..][..2].copy_from_slice(&2u16.to_ne_bytes());
        assert_eq!(parse_address(only(&bad).payload), None);
        // An address of neither length is no address.
        let mut odd = NEWADDR.to_vec();
        let at = NLMSG_HDR + IFADDRMSG;
        odd[at..at + 2].copy_from_slice(&7u16.to_ne_bytes());
        odd[at + 8..at + 10].copy_from_slice(&7u16.to_ne_bytes());
        assert_eq!(parse_address(only(&odd).payload), None);
    }
}
