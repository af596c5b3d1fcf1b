//! Golden bytes from real keepalived 2.2.7 (tests/fixtures/README.md): every
//! VRRP packet in every capture parses to the expected advert, verifies its
//! checksum, and re-emits byte-identical, IPv4 header included.

mod common;
use common::capture_frames as frames;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use vrrpd::proto::wire::{
    self, AdvertRepr, Auth, ChecksumMode, Packet, WireError, MULTICAST_V4, MULTICAST_V6,
};
use vrrpd::proto::{Centis, Priority, Version, Vrid};

const ETHERNET_HEADER_LEN: usize = 14;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ICMPV6: u8 = 58;

const NODE_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const NODE_B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const NODE_A_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 1);

/// What one capture must contain.
struct Capture {
    file: &'static str,
    /// VRRP packets in the capture; the last is the priority-0 advert.
    adverts: usize,
    version: Version,
    vrid: u8,
    priority: u8,
    interval: Centis,
    addresses: Vec<IpAddr>,
    auth: Auth,
    dst: IpAddr,
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn captures() -> Vec<Capture> {
    vec![
        Capture {
            file: "v2-unicast-pass.pcap",
            adverts: 4,
            version: Version::V2,
            vrid: 101,
            priority: 101,
            interval: Centis(100),
            addresses: vec![v4(192, 0, 2, 30)],
            // auth_pass "passwordgoeshere", truncated to 8 bytes on the wire.
            auth: Auth::SimpleText(*b"password"),
            dst: IpAddr::V4(NODE_B),
        },
        Capture {
            file: "v2-multicast-3vips.pcap",
            adverts: 4,
            version: Version::V2,
            vrid: 51,
            priority: 150,
            interval: Centis(100),
            addresses: vec![v4(192, 0, 2, 100), v4(192, 0, 2, 101), v4(192, 0, 2, 102)],
            auth: Auth::None,
            dst: IpAddr::V4(MULTICAST_V4),
        },
        Capture {
            file: "v3-ipv4-multicast.pcap",
            adverts: 18,
            version: Version::V3,
            vrid: 33,
            priority: 200,
            interval: Centis(10),
            addresses: vec![v4(192, 0, 2, 130), v4(192, 0, 2, 131)],
            auth: Auth::None,
            dst: IpAddr::V4(MULTICAST_V4),
        },
        Capture {
            file: "v3-ipv4-unicast.pcap",
            adverts: 4,
            version: Version::V3,
            vrid: 44,
            priority: 120,
            interval: Centis(100),
            addresses: vec![v4(192, 0, 2, 140)],
            auth: Auth::None,
            dst: IpAddr::V4(NODE_B),
        },
        Capture {
            file: "v3-ipv6-multicast.pcap",
            adverts: 6,
            version: Version::V3,
            vrid: 66,
            priority: 180,
            interval: Centis(50),
            addresses: vec!["fe80::66".parse().unwrap(), "2001:db8::66".parse().unwrap()],
            auth: Auth::None,
            dst: IpAddr::V6(MULTICAST_V6),
        },
        Capture {
            file: "v3-owner-255.pcap",
            adverts: 4,
            version: Version::V3,
            vrid: 77,
            priority: 255,
            interval: Centis(100),
            addresses: vec![v4(192, 0, 2, 170)],
            auth: Auth::None,
            dst: IpAddr::V4(MULTICAST_V4),
        },
    ]
}

/// One VRRP packet found in a frame: IP addresses, TTL/hop limit, the VRRP
/// message, and for IPv4 the header and its identification.
struct Found<'a> {
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    message: &'a [u8],
    ipv4: Option<(&'a [u8], u16)>,
}

fn vrrp_in(frame: &[u8]) -> Option<Found<'_>> {
    let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    let ip = &frame[ETHERNET_HEADER_LEN..];
    match ethertype {
        ETHERTYPE_IPV4 => {
            let meta = wire::parse_ipv4_header(ip).unwrap();
            assert_eq!(meta.tos, wire::IPV4_TOS);
            Some(Found {
                src: meta.src.into(),
                dst: meta.dst.into(),
                ttl: meta.ttl,
                message: meta.payload(ip),
                ipv4: Some((&ip[..meta.header_len], meta.ident)),
            })
        }
        ETHERTYPE_IPV6 => match wire::parse_ipv6_header(ip) {
            Ok(meta) => Some(Found {
                src: meta.src.into(),
                dst: meta.dst.into(),
                ttl: meta.hop_limit,
                message: meta.payload(ip),
                ipv4: None,
            }),
            // The unsolicited neighbour advertisements.
            Err(WireError::NotVrrp(ICMPV6)) => None,
            Err(e) => panic!("bad IPv6 header: {e}"),
        },
        // Gratuitous ARP.
        _ => None,
    }
}

#[test]
fn every_keepalived_advert_parses_verifies_and_reemits_identically() {
    for capture in captures() {
        let file = capture.file;
        let mut checked = 0;
        for frame in frames(file) {
            let Some(found) = vrrp_in(&frame) else {
                continue;
            };
            checked += 1;
            let src_expected = match found.src {
                IpAddr::V4(_) => IpAddr::V4(NODE_A),
                IpAddr::V6(_) => IpAddr::V6(NODE_A_LL),
            };
            assert_eq!(found.src, src_expected, "{file} #{checked}");
            assert_eq!(found.dst, capture.dst, "{file} #{checked}");
            assert_eq!(found.ttl, wire::TTL, "{file} #{checked}");
            let multicast = found.dst.is_multicast();
            assert!(wire::check_ttl(found.ttl, multicast, None).is_ok());

            let packet = Packet::new_checked(found.message).unwrap();
            let mode = ChecksumMode::PseudoHeader;
            assert!(
                packet.verify_checksum(found.src, found.dst, mode),
                "{file} #{checked}"
            );
            let repr = AdvertRepr::parse(&packet, found.src, found.dst, mode).unwrap();

            // keepalived sends priority 0 on SIGTERM: the last advert.
            let priority = if checked == capture.adverts {
                0
            } else {
                capture.priority
            };
            let expected = AdvertRepr {
                version: capture.version,
                vrid: Vrid::new(capture.vrid).unwrap(),
                priority: Priority(priority),
                max_advert_int: capture.interval,
                addresses: capture.addresses.as_slice().into(),
                auth: capture.auth,
            };
            assert_eq!(repr, expected, "{file} #{checked}");

            // Re-emit the VRRP message.
            assert_eq!(repr.buffer_len(), found.message.len());
            let mut out = vec![0u8; repr.buffer_len()];
            repr.emit(
                &mut Packet::new_unchecked(&mut out[..]),
                found.src,
                found.dst,
                mode,
            )
            .unwrap();
            assert_eq!(out, found.message, "{file} #{checked}");

            // Re-emit the IPv4 header keepalived built; its ID counts from 1.
            if let Some((header, ident)) = found.ipv4 {
                assert_eq!(usize::from(ident), checked, "{file} #{checked}");
                let (IpAddr::V4(src), IpAddr::V4(dst)) = (found.src, found.dst) else {
                    unreachable!()
                };
                let mut out = [0u8; wire::IPV4_HEADER_LEN];
                let len =
                    wire::emit_ipv4_header(&mut out, src, dst, ident, wire::TTL, repr.buffer_len())
                        .unwrap();
                assert_eq!(len, wire::IPV4_HEADER_LEN);
                assert_eq!(&out[..], header, "{file} #{checked}");
            }

            // v2 sums the message alone, so the mode does not matter; a v3
            // IPv4 advert fails without its pseudo-header (v3_checksum_as_v2).
            let as_v2 = AdvertRepr::parse(&packet, found.src, found.dst, ChecksumMode::V2Style);
            match (capture.version, found.src) {
                (Version::V3, IpAddr::V4(_)) => {
                    assert!(matches!(as_v2, Err(WireError::BadChecksum { .. })))
                }
                _ => assert_eq!(as_v2, Ok(expected)),
            }
        }
        assert_eq!(checked, capture.adverts, "VRRP packets in {file}");
    }
}

#[test]
fn every_fixture_capture_is_covered() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".pcap"))
        .collect();
    on_disk.sort();
    let mut covered: Vec<String> = captures().iter().map(|c| c.file.to_string()).collect();
    // keepalived master's auth_hmac capture: tests/wire_auth_hmac.rs.
    covered.push("auth-hmac-keepalived-master.pcap".to_string());
    covered.sort();
    assert_eq!(on_disk, covered);
}

#[test]
fn v3_checksum_as_v2_round_trips_in_its_own_mode() {
    // A v3 IPv4 advert emitted the v3_checksum_as_v2 way verifies only that way.
    let repr = AdvertRepr {
        version: Version::V3,
        vrid: Vrid::new(33).unwrap(),
        priority: Priority(200),
        max_advert_int: Centis(10),
        addresses: vec![v4(192, 0, 2, 130), v4(192, 0, 2, 131)].into(),
        auth: Auth::None,
    };
    let (src, dst) = (IpAddr::V4(NODE_A), IpAddr::V4(MULTICAST_V4));
    let mut out = vec![0u8; repr.buffer_len()];
    let mut packet = Packet::new_unchecked(&mut out[..]);
    repr.emit(&mut packet, src, dst, ChecksumMode::V2Style)
        .unwrap();
    assert!(packet.verify_checksum(src, dst, ChecksumMode::V2Style));
    assert!(!packet.verify_checksum(src, dst, ChecksumMode::PseudoHeader));
    let packet = Packet::new_checked(&out[..]).unwrap();
    assert_eq!(
        AdvertRepr::parse(&packet, src, dst, ChecksumMode::V2Style),
        Ok(repr)
    );
}
