//! Gratuitous ARP and unsolicited NA frames over AF_PACKET.
//!
//! The frames are keepalived's (`vrrp_arp.c`, `vrrp_ndisc.c`), byte for
//! byte as captured from 2.2.7 (tests/fixtures):
//! - GARP: an ARP *request* to ff:ff:ff:ff:ff:ff from the interface MAC,
//!   sender IP = target IP = the VIP, target MAC ff:ff:ff:ff:ff:ff.
//! - Unsolicited NA (RFC 4861 §7.2.6): from the VIP to ff02::1
//!   (33:33:00:00:00:01), hop limit 255, Override set, Solicited clear,
//!   Router iff IPv6 forwarding is on for the interface, Target link-layer
//!   address option.
//!
//! [`Announcer`] sends them on one interface through a packet socket of
//! protocol 0, which receives nothing.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use pnet_datalink::MacAddr;
use pnet_packet::arp::{ArpHardwareTypes, ArpOperations, MutableArpPacket};
use pnet_packet::ethernet::{EtherType, EtherTypes, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{
    Icmpv6Codes, MutableNeighborAdvertPacket, NdpOptionTypes, NeighborAdvertFlags,
};
use pnet_packet::icmpv6::{self, Icmpv6Packet, Icmpv6Types};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::MutableIpv6Packet;
use socket2::{Domain, SockAddr, SockAddrStorage, Socket, Type};

/// Length of a gratuitous ARP frame (Ethernet + ARP, no padding: the NIC
/// pads to 60 bytes).
pub const GARP_FRAME_LEN: usize = 42;
/// Length of an unsolicited NA frame: Ethernet, IPv6, NA with one option.
pub const NA_FRAME_LEN: usize = ETHERNET_LEN + IPV6_LEN + NA_LEN;

const ETHERNET_LEN: usize = 14;
const IPV6_LEN: usize = 40;
/// NA header with target (24) and the Target link-layer option (8).
const NA_LEN: usize = 32;
const BROADCAST: [u8; 6] = [0xff; 6];
/// ff02::1, all nodes.
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// 33:33 + the low 32 bits of ff02::1 (RFC 2464 §7).
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
/// RFC 4861 §7.1.2: NAs must arrive with hop limit 255.
const ND_HOP_LIMIT: u8 = 255;

/// The gratuitous ARP keepalived sends for `vip` from `mac`.
pub fn garp_frame(mac: [u8; 6], vip: Ipv4Addr) -> [u8; GARP_FRAME_LEN] {
    let mut frame = [0; GARP_FRAME_LEN];
    let own = MacAddr::from(mac);
    // The buffer is exactly Ethernet + ARP long, so both views exist.
    if let Some(mut eth) = MutableEthernetPacket::new(&mut frame[..]) {
        eth.set_destination(MacAddr::from(BROADCAST));
        eth.set_source(own);
        eth.set_ethertype(EtherTypes::Arp);
    }
    if let Some(mut arp) = MutableArpPacket::new(&mut frame[ETHERNET_LEN..]) {
        arp.set_hardware_type(ArpHardwareTypes::Ethernet);
        arp.set_protocol_type(EtherTypes::Ipv4);
        arp.set_hw_addr_len(6);
        arp.set_proto_addr_len(4);
        // keepalived sends a request, not a reply: some hosts only update
        // their cache from requests.
        arp.set_operation(ArpOperations::Request);
        arp.set_sender_hw_addr(own);
        arp.set_sender_proto_addr(vip);
        // ff:ff:ff:ff:ff:ff rather than RFC 5227's zeros: keepalived's choice
        // (vrrp_arp.c), kept for identical behaviour on the wire.
        arp.set_target_hw_addr(MacAddr::from(BROADCAST));
        arp.set_target_proto_addr(vip);
    }
    frame
}

/// The unsolicited neighbour advertisement keepalived sends for `vip` from
/// `mac`; `router` sets the Router flag (see [`is_forwarding`]).
pub fn unsolicited_na_frame(mac: [u8; 6], vip: Ipv6Addr, router: bool) -> Vec<u8> {
    let mut frame = vec![0; NA_FRAME_LEN];
    let own = MacAddr::from(mac);
    if let Some(mut eth) = MutableEthernetPacket::new(&mut frame[..]) {
        eth.set_destination(MacAddr::from(ALL_NODES_MAC));
        eth.set_source(own);
        eth.set_ethertype(EtherTypes::Ipv6);
    }
    if let Some(mut ip) = MutableIpv6Packet::new(&mut frame[ETHERNET_LEN..]) {
        ip.set_version(6);
        ip.set_payload_length(NA_LEN as u16);
        ip.set_next_header(IpNextHeaderProtocols::Icmpv6);
        ip.set_hop_limit(ND_HOP_LIMIT);
        ip.set_source(vip);
        ip.set_destination(ALL_NODES);
    }
    let icmp = &mut frame[ETHERNET_LEN + IPV6_LEN..];
    if let Some(mut na) = MutableNeighborAdvertPacket::new(&mut *icmp) {
        na.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
        na.set_icmpv6_code(Icmpv6Codes::NoCode);
        // RFC 4861 §7.2.6: unsolicited, so Solicited clear; Override set so
        // neighbours replace the old master's MAC.
        let mut flags = NeighborAdvertFlags::Override;
        if router {
            flags |= NeighborAdvertFlags::Router;
        }
        na.set_flags(flags);
        na.set_target_addr(vip);
    }
    // Target link-layer address option: type 2, length 1 (× 8 bytes), MAC.
    icmp[24] = NdpOptionTypes::TargetLLAddr.0;
    icmp[25] = 1;
    icmp[26..32].copy_from_slice(&mac);
    let checksum = Icmpv6Packet::new(&*icmp).map(|p| icmpv6::checksum(&p, &vip, &ALL_NODES));
    if let (Some(checksum), Some(mut na)) = (checksum, MutableNeighborAdvertPacket::new(icmp)) {
        na.set_checksum(checksum);
    }
    frame
}

/// The frames for `repeat` rounds over `addrs`, in keepalived's order: each
/// round has one frame per address (captures: .100 .101 .102 .100 ...).
pub fn announce_frames(mac: [u8; 6], addrs: &[IpAddr], repeat: u32, router: bool) -> Vec<Vec<u8>> {
    let round: Vec<Vec<u8>> = addrs
        .iter()
        .map(|addr| match addr {
            IpAddr::V4(a) => garp_frame(mac, *a).to_vec(),
            IpAddr::V6(a) => unsolicited_na_frame(mac, *a, router),
        })
        .collect();
    (0..repeat).flat_map(|_| round.iter().cloned()).collect()
}

/// Whether IPv6 forwarding is on for `ifname`, which sets the NA Router
/// flag (keepalived rechecks it every 5 s; we check at each announcement).
/// Reads `/proc/sys/net/ipv6/conf/IF/forwarding` of the caller's network
/// namespace; false when unreadable.
pub fn is_forwarding(ifname: &str) -> bool {
    if ifname.is_empty() || ifname.contains('/') || ifname == "." || ifname == ".." {
        return false;
    }
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{ifname}/forwarding"))
        .map(|s| s.trim() != "0")
        .unwrap_or(false)
}

/// Announcement failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnnounceError {
    #[error("no interface {0}")]
    NoInterface(String),
    /// The interface has no MAC address (e.g. a tun device).
    #[error("interface {0} has no MAC address")]
    NoMac(String),
    #[error("cannot open a packet socket for {ifname}: {source}")]
    Open {
        ifname: String,
        #[source]
        source: io::Error,
    },
    /// `sent` frames left before this one failed.
    #[error("sending an announcement for {addr} on {ifname} ({sent} sent): {source}")]
    Send {
        ifname: String,
        addr: IpAddr,
        sent: usize,
        #[source]
        source: io::Error,
    },
}

/// Sends gratuitous ARPs and unsolicited NAs on one interface.
#[derive(Debug)]
pub struct Announcer {
    socket: Socket,
    ifname: String,
    ifindex: u32,
    mac: [u8; 6],
    noarp: bool,
}

impl Announcer {
    /// Opens a nonblocking packet socket for `ifname` and learns its index
    /// and MAC. Call in the interface's network namespace.
    pub fn open(ifname: &str) -> Result<Announcer, AnnounceError> {
        let (ifindex, mac, noarp) = lookup(ifname)?;
        let open_err = |source| AnnounceError::Open {
            ifname: ifname.to_owned(),
            source,
        };
        // Protocol 0: the socket sends only and never queues received frames.
        let socket = Socket::new(Domain::PACKET, Type::RAW.cloexec(), None).map_err(open_err)?;
        socket.set_nonblocking(true).map_err(open_err)?;
        Ok(Announcer {
            socket,
            ifname: ifname.to_owned(),
            ifindex,
            mac,
            noarp,
        })
    }

    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The MAC the frames are sent from, as learnt by `open`/`refresh`.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Learns the interface index, MAC and NOARP flag again (after the link
    /// was recreated or its MAC changed).
    pub fn refresh(&mut self) -> Result<(), AnnounceError> {
        let (ifindex, mac, noarp) = lookup(&self.ifname)?;
        self.ifindex = ifindex;
        self.mac = mac;
        self.noarp = noarp;
        Ok(())
    }

    /// Sends `repeat` rounds of one frame per address, back to back,
    /// without waiting; returns the number of frames sent. IPv4 addresses
    /// are skipped on a NOARP interface, as keepalived does. Stops at the
    /// first failure.
    pub fn announce(&self, addrs: &[IpAddr], repeat: u32) -> Result<usize, AnnounceError> {
        let rounds: Vec<IpAddr> = (0..repeat).flat_map(|_| addrs.iter().copied()).collect();
        self.announce_each(&rounds)
    }

    /// Sends one frame per element of `frames` (an address may come back),
    /// in that order, back to back; returns the number sent. The caller
    /// paces and repeats (`driver::work`). IPv4 addresses are skipped on a
    /// NOARP interface. Stops at the first failure.
    pub fn announce_each(&self, frames: &[IpAddr]) -> Result<usize, AnnounceError> {
        let router = frames.iter().any(IpAddr::is_ipv6) && is_forwarding(&self.ifname);
        let mut sent = 0;
        for addr in frames {
            let frame = match addr {
                IpAddr::V4(_) if self.noarp => continue,
                IpAddr::V4(a) => garp_frame(self.mac, *a).to_vec(),
                IpAddr::V6(a) => unsolicited_na_frame(self.mac, *a, router),
            };
            self.send_frame(&frame)
                .map_err(|source| AnnounceError::Send {
                    ifname: self.ifname.clone(),
                    addr: *addr,
                    sent,
                    source,
                })?;
            sent += 1;
        }
        Ok(sent)
    }

    /// Sends one complete Ethernet frame on the interface.
    pub fn send_frame(&self, frame: &[u8]) -> io::Result<()> {
        let ethertype = match frame.get(12..14) {
            Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
            _ => return Err(io::Error::from(io::ErrorKind::InvalidInput)),
        };
        let mut dst = [0; 6];
        dst.copy_from_slice(&frame[..6]);
        let to = link_addr(self.ifindex, EtherType(ethertype), dst)?;
        self.socket.send_to(frame, &to)?;
        Ok(())
    }
}

/// Index, MAC and IFF_NOARP of `ifname` in the caller's network namespace.
fn lookup(ifname: &str) -> Result<(u32, [u8; 6], bool), AnnounceError> {
    let iface = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == ifname)
        .ok_or_else(|| AnnounceError::NoInterface(ifname.to_owned()))?;
    let mac = iface
        .mac
        .filter(|m| !m.is_zero())
        .ok_or_else(|| AnnounceError::NoMac(ifname.to_owned()))?;
    let noarp = iface.flags & libc::IFF_NOARP as u32 != 0;
    Ok((iface.index, mac.octets(), noarp))
}

/// The `sockaddr_ll` for sending a frame of `ethertype` to `dst` on `ifindex`.
fn link_addr(ifindex: u32, ethertype: EtherType, dst: [u8; 6]) -> io::Result<SockAddr> {
    let invalid = || io::Error::from(io::ErrorKind::InvalidInput);
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: sockaddr_storage is larger than, and aligned for, sockaddr_ll;
    // the zeroed storage is a valid sockaddr_ll.
    let ll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    ll.sll_family = u16::try_from(libc::AF_PACKET).map_err(|_| invalid())?;
    ll.sll_protocol = ethertype.0.to_be();
    ll.sll_ifindex = i32::try_from(ifindex).map_err(|_| invalid())?;
    ll.sll_halen = 6;
    ll.sll_addr[..6].copy_from_slice(&dst);
    let len = libc::socklen_t::try_from(std::mem::size_of::<libc::sockaddr_ll>())
        .map_err(|_| invalid())?;
    // SAFETY: the storage holds an initialised sockaddr_ll of `len` bytes.
    Ok(unsafe { SockAddr::new(storage, len) })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn garp_matches_keepalived() {
        // v3-ipv4-multicast.pcap, first GARP (192.0.2.130).
        let golden = hex("ffffffffffff020000000001080600010800060400010200000000\
             01c0000282ffffffffffffc0000282");
        assert_eq!(
            garp_frame(MAC, Ipv4Addr::new(192, 0, 2, 130))[..],
            golden[..]
        );
    }

    #[test]
    fn na_matches_keepalived() {
        // v3-ipv6-multicast.pcap, first NA (fe80::66), forwarding off.
        let golden = hex("33330000000102000000000186dd6000000000203afffe8000000000\
             00000000000000000066ff0200000000000000000000000000018800\
             56d120000000fe800000000000000000000000000066020102000000\
             0001");
        let vip = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x66);
        assert_eq!(unsolicited_na_frame(MAC, vip, false), golden);
    }

    #[test]
    fn router_flag_changes_flags_and_checksum_only() {
        let vip = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x66);
        let plain = unsolicited_na_frame(MAC, vip, false);
        let router = unsolicited_na_frame(MAC, vip, true);
        assert_eq!(plain[58], 0x20);
        assert_eq!(router[58], 0xa0);
        let differing: Vec<usize> = (0..NA_FRAME_LEN)
            .filter(|&i| plain[i] != router[i])
            .collect();
        assert!(
            differing.iter().all(|i| [56, 57, 58].contains(i)),
            "{differing:?}"
        );
        let icmp = Icmpv6Packet::new(&router[54..]).unwrap();
        assert_eq!(
            icmpv6::checksum(&icmp, &vip, &ALL_NODES),
            icmp.get_checksum()
        );
    }

    #[test]
    fn rounds_cycle_through_the_addresses() {
        let addrs: Vec<IpAddr> = vec![
            Ipv4Addr::new(192, 0, 2, 100).into(),
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).into(),
        ];
        let frames = announce_frames(MAC, &addrs, 3, false);
        assert_eq!(frames.len(), 6);
        for (i, frame) in frames.iter().enumerate() {
            let expected_len = if i % 2 == 0 {
                GARP_FRAME_LEN
            } else {
                NA_FRAME_LEN
            };
            assert_eq!(frame.len(), expected_len);
        }
        assert!(announce_frames(MAC, &addrs, 0, false).is_empty());
        assert!(announce_frames(MAC, &[], 5, false).is_empty());
    }

    #[test]
    fn forwarding_of_odd_names_is_false() {
        assert!(!is_forwarding(""));
        assert!(!is_forwarding(".."));
        assert!(!is_forwarding("../../../../etc"));
        assert!(!is_forwarding("no-such-interface-x"));
    }

    #[test]
    fn link_addr_carries_index_protocol_and_destination() {
        let addr = link_addr(7, EtherTypes::Arp, BROADCAST).unwrap();
        assert_eq!(i32::from(addr.family()), libc::AF_PACKET);
        assert_eq!(
            addr.len() as usize,
            std::mem::size_of::<libc::sockaddr_ll>()
        );
    }
}
