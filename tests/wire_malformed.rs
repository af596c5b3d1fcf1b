//! Malformed adverts and IP headers: each gives its typed error, none panics.
//! The golden messages are keepalived 2.2.7's (tests/fixtures/README.md).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrpd::proto::timers::IntervalError;
use vrrpd::proto::wire::{
    self, AdvertRepr, Auth, ChecksumMode, Packet, WireError, MULTICAST_V4, MULTICAST_V6,
};
use vrrpd::proto::{Centis, Priority, Version, Vrid};

const PSEUDO: ChecksumMode = ChecksumMode::PseudoHeader;

/// v2-unicast-pass.pcap: VRID 101, prio 101, PASS "password", 192.0.2.30.
const V2_PASS: [u8; 20] = [
    0x21, 0x65, 0x65, 0x01, 0x01, 0x01, 0xe8, 0xd0, 0xc0, 0x00, 0x02, 0x1e, b'p', b'a', b's', b's',
    b'w', b'o', b'r', b'd',
];
/// v3-ipv4-multicast.pcap: VRID 33, prio 200, 10 cs, 192.0.2.130, .131.
const V3_V4: [u8; 16] = [
    0x31, 0x21, 0xc8, 0x02, 0x00, 0x0a, 0xdf, 0x36, 0xc0, 0x00, 0x02, 0x82, 0xc0, 0x00, 0x02, 0x83,
];
/// v3-ipv6-multicast.pcap: VRID 66, prio 180, 50 cs, fe80::66, 2001:db8::66.
const V3_V6: [u8; 40] = [
    0x31, 0x42, 0xb4, 0x02, 0x00, 0x32, 0xf0, 0x53, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0x66, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x66,
];
/// The IPv4 header in front of the first advert of v3-ipv4-multicast.pcap.
const V3_V4_IP: [u8; 20] = [
    0x45, 0xc0, 0x00, 0x24, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x18, 0x95, 0xc0, 0x00, 0x02, 0x01,
    0xe0, 0x00, 0x00, 0x12,
];

fn a4() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))
}
fn b4() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2))
}
fn m4() -> IpAddr {
    IpAddr::V4(MULTICAST_V4)
}
fn a6() -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 1))
}
fn m6() -> IpAddr {
    IpAddr::V6(MULTICAST_V6)
}

/// The three golden messages with the addresses they were sent between.
fn goldens() -> Vec<(&'static str, Vec<u8>, IpAddr, IpAddr)> {
    vec![
        ("v2 pass", V2_PASS.to_vec(), a4(), b4()),
        ("v3 ipv4", V3_V4.to_vec(), a4(), m4()),
        ("v3 ipv6", V3_V6.to_vec(), a6(), m6()),
    ]
}

fn parse(bytes: &[u8], src: IpAddr, dst: IpAddr) -> Result<AdvertRepr, WireError> {
    AdvertRepr::parse(&Packet::new_unchecked(bytes), src, dst, PSEUDO)
}

/// Applies `edit`, then fixes the checksum so only the edit is wrong.
fn edited(
    bytes: &[u8],
    src: IpAddr,
    dst: IpAddr,
    edit: impl Fn(&mut Packet<&mut [u8]>),
) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mut packet = Packet::new_unchecked(&mut out[..]);
    edit(&mut packet);
    packet.fill_checksum(src, dst, PSEUDO);
    out
}

/// An IPv4 header checksum, for headers edited by the tests.
fn fix_ip_checksum(header: &mut [u8]) {
    header[10] = 0;
    header[11] = 0;
    let mut sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    header[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}

#[test]
fn goldens_parse() {
    for (name, bytes, src, dst) in goldens() {
        assert!(parse(&bytes, src, dst).is_ok(), "{name}");
    }
}

#[test]
fn truncated_at_every_length() {
    for (name, bytes, src, dst) in goldens() {
        for len in 0..bytes.len() {
            let cut = &bytes[..len];
            let expected = if len < wire::HEADER_LEN {
                WireError::Truncated
            } else {
                WireError::LengthMismatch {
                    expected: bytes.len(),
                    actual: len,
                }
            };
            assert_eq!(parse(cut, src, dst), Err(expected), "{name} cut at {len}");
            assert_eq!(
                Packet::new_checked(cut).is_ok(),
                len >= wire::HEADER_LEN,
                "{name} cut at {len}"
            );
        }
    }
}

#[test]
fn trailing_bytes_are_a_length_mismatch() {
    for (name, bytes, src, dst) in goldens() {
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(
            parse(&long, src, dst),
            Err(WireError::LengthMismatch {
                expected: bytes.len(),
                actual: bytes.len() + 1
            }),
            "{name}"
        );
    }
}

#[test]
fn bad_version() {
    for (name, bytes, src, dst) in goldens() {
        for version in (0..16).filter(|v| ![2, 3].contains(v)) {
            let bad = edited(&bytes, src, dst, |p| p.set_version(version));
            assert_eq!(
                parse(&bad, src, dst),
                Err(WireError::BadVersion(version)),
                "{name}"
            );
        }
    }
}

#[test]
fn v2_message_read_as_v3_and_back_fails_on_length() {
    // Flipping the version changes what the count implies (v2 carries auth data).
    let bad = edited(&V2_PASS, a4(), b4(), |p| p.set_version(3));
    assert_eq!(
        parse(&bad, a4(), b4()),
        Err(WireError::LengthMismatch {
            expected: 12,
            actual: 20
        })
    );
    let bad = edited(&V3_V4, a4(), m4(), |p| p.set_version(2));
    assert_eq!(
        parse(&bad, a4(), m4()),
        Err(WireError::LengthMismatch {
            expected: 24,
            actual: 16
        })
    );
}

#[test]
fn bad_type() {
    for (name, bytes, src, dst) in goldens() {
        for msg_type in (0..16).filter(|&t| t != wire::TYPE_ADVERTISEMENT) {
            let bad = edited(&bytes, src, dst, |p| p.set_msg_type(msg_type));
            assert_eq!(
                parse(&bad, src, dst),
                Err(WireError::BadType(msg_type)),
                "{name}"
            );
        }
    }
}

#[test]
fn count_does_not_match_length() {
    for (name, bytes, src, dst) in goldens() {
        let count = bytes[3];
        for wrong in [0, count - 1, count + 1, 255] {
            let bad = edited(&bytes, src, dst, |p| p.set_count_ip_addrs(wrong));
            let expected = Packet::new_unchecked(&bad[..]).message_len(wire_family(src));
            assert_eq!(
                parse(&bad, src, dst),
                Err(WireError::LengthMismatch {
                    expected,
                    actual: bytes.len()
                }),
                "{name} count {wrong}"
            );
        }
    }
}

fn wire_family(addr: IpAddr) -> vrrpd::proto::Family {
    vrrpd::proto::Family::of(&addr)
}

#[test]
fn zero_addresses_are_accepted() {
    // keepalived's no_virtual_ipaddress sends count 0.
    let repr = AdvertRepr {
        version: Version::V3,
        vrid: Vrid::new(9).unwrap(),
        priority: Priority(100),
        max_advert_int: Centis(100),
        addresses: vec![].into(),
        auth: Auth::None,
    };
    let mut out = vec![0; repr.buffer_len()];
    repr.emit(&mut Packet::new_unchecked(&mut out[..]), a6(), m6(), PSEUDO)
        .unwrap();
    assert_eq!(out.len(), 8);
    assert_eq!(parse(&out, a6(), m6()), Ok(repr));
}

#[test]
fn every_single_bit_flip_is_rejected() {
    for (name, bytes, src, dst) in goldens() {
        for byte in 0..bytes.len() {
            for bit in 0..8 {
                let mut bad = bytes.clone();
                bad[byte] ^= 1 << bit;
                let result = parse(&bad, src, dst);
                assert!(result.is_err(), "{name} byte {byte} bit {bit}");
                // Past the fields checked before it, the checksum catches the flip.
                if byte >= 4 {
                    assert!(
                        matches!(result, Err(WireError::BadChecksum { .. })),
                        "{name} byte {byte} bit {bit}: {result:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn checksum_error_reports_both_values() {
    let mut bad = V3_V4;
    bad[7] ^= 0xff;
    assert_eq!(
        parse(&bad, a4(), m4()),
        Err(WireError::BadChecksum {
            expected: 0xdf36,
            got: 0xdfc9
        })
    );
}

#[test]
fn pseudo_header_binds_the_addresses() {
    // v3 sums src and dst: the same bytes from another source fail; v2 does not care.
    assert!(matches!(
        parse(&V3_V4, b4(), m4()),
        Err(WireError::BadChecksum { .. })
    ));
    assert!(matches!(
        parse(&V3_V6, IpAddr::V6(Ipv6Addr::LOCALHOST), m6()),
        Err(WireError::BadChecksum { .. })
    ));
    assert!(parse(&V2_PASS, b4(), m4()).is_ok());
}

#[test]
fn ah_auth_type_is_recognised_and_refused() {
    let bad = edited(&V2_PASS, a4(), b4(), |p| p.set_auth_type(2));
    assert_eq!(parse(&bad, a4(), b4()), Err(WireError::AuthAhUnsupported));
    for auth_type in 3..=255 {
        let bad = edited(&V2_PASS, a4(), b4(), |p| p.set_auth_type(auth_type));
        assert_eq!(
            parse(&bad, a4(), b4()),
            Err(WireError::BadAuthType(auth_type))
        );
    }
    // An AH header between IPv4 and VRRP (protocol 51).
    let mut ip = V3_V4_IP;
    ip[9] = wire::PROTOCOL_AH;
    fix_ip_checksum(&mut ip);
    let mut datagram = ip.to_vec();
    datagram.extend_from_slice(&V3_V4);
    assert_eq!(
        wire::parse_ipv4_header(&datagram),
        Err(WireError::AuthAhUnsupported)
    );
}

#[test]
fn auth_type_0_ignores_auth_data() {
    let none = edited(&V2_PASS, a4(), b4(), |p| p.set_auth_type(0));
    assert_eq!(parse(&none, a4(), b4()).map(|r| r.auth), Ok(Auth::None));
}

#[test]
fn zero_interval() {
    let bad = edited(&V2_PASS, a4(), b4(), |p| p.set_advert_int(0));
    assert_eq!(parse(&bad, a4(), b4()), Err(WireError::ZeroInterval));
    for (name, bytes, src, dst) in goldens().into_iter().skip(1) {
        let bad = edited(&bytes, src, dst, |p| p.set_max_advert_int(0));
        assert_eq!(
            parse(&bad, src, dst),
            Err(WireError::ZeroInterval),
            "{name}"
        );
        // Reserved bits do not make a zero interval valid.
        let bad = edited(&bytes, src, dst, |p| {
            p.set_max_advert_int(0);
            p.set_reserved(0xf);
        });
        assert_eq!(
            parse(&bad, src, dst),
            Err(WireError::ZeroInterval),
            "{name}"
        );
    }
}

#[test]
fn v3_reserved_bits_are_ignored_and_v2_seconds_scale_to_centis() {
    let odd = edited(&V3_V4, a4(), m4(), |p| p.set_reserved(0xf));
    assert_eq!(
        parse(&odd, a4(), m4()).map(|r| r.max_advert_int),
        Ok(Centis(10))
    );
    let slow = edited(&V2_PASS, a4(), b4(), |p| p.set_advert_int(255));
    assert_eq!(
        parse(&slow, a4(), b4()).map(|r| r.max_advert_int),
        Ok(Centis(25500))
    );
    let max = edited(&V3_V4, a4(), m4(), |p| p.set_max_advert_int(4095));
    assert_eq!(
        parse(&max, a4(), m4()).map(|r| r.max_advert_int),
        Ok(Centis::V3_MAX)
    );
}

#[test]
fn vrid_zero() {
    for (name, bytes, src, dst) in goldens() {
        let bad = edited(&bytes, src, dst, |p| p.set_vrid(0));
        assert_eq!(parse(&bad, src, dst), Err(WireError::BadVrid), "{name}");
    }
}

#[test]
fn v2_over_ipv6() {
    // A v2 message sized for IPv6 addresses still fails on the family.
    let mut bytes = V3_V6.to_vec();
    bytes.extend_from_slice(&[0; 8]);
    let bad = edited(&bytes, a6(), m6(), |p| p.set_version(2));
    assert_eq!(parse(&bad, a6(), m6()), Err(WireError::V2OverIpv6));
    assert_eq!(parse(&V2_PASS, a6(), m6()), Err(WireError::V2OverIpv6));
}

#[test]
fn source_and_destination_families_must_agree() {
    assert_eq!(parse(&V3_V4, a4(), m6()), Err(WireError::FamilyMismatch));
    assert_eq!(parse(&V3_V6, a6(), m4()), Err(WireError::FamilyMismatch));
}

#[test]
fn ipv4_header_of_a_golden_advert() {
    let mut datagram = V3_V4_IP.to_vec();
    datagram.extend_from_slice(&V3_V4);
    let meta = wire::parse_ipv4_header(&datagram).unwrap();
    assert_eq!(meta.src, Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(meta.dst, MULTICAST_V4);
    assert_eq!((meta.tos, meta.ident, meta.ttl), (0xc0, 1, 255));
    assert_eq!(
        (meta.protocol, meta.header_len, meta.total_len),
        (112, 20, 36)
    );
    assert_eq!(meta.payload(&datagram), &V3_V4[..]);

    // Ethernet padding after Total Length is ignored.
    datagram.extend_from_slice(&[0; 10]);
    let meta = wire::parse_ipv4_header(&datagram).unwrap();
    assert_eq!(meta.payload(&datagram), &V3_V4[..]);
}

#[test]
fn wrong_ttl() {
    assert_eq!(
        wire::check_ttl(254, true, None),
        Err(WireError::BadTtl {
            ttl: 254,
            min: 255,
            max: 255
        })
    );
    assert_eq!(
        wire::check_ttl(0, true, None),
        Err(WireError::BadTtl {
            ttl: 0,
            min: 255,
            max: 255
        })
    );
    // Unicast: only the optional per-peer min_ttl/max_ttl range.
    assert!(wire::check_ttl(64, false, None).is_ok());
    assert!(wire::check_ttl(64, false, Some(60..=64)).is_ok());
    assert_eq!(
        wire::check_ttl(65, false, Some(60..=64)),
        Err(WireError::BadTtl {
            ttl: 65,
            min: 60,
            max: 64
        })
    );
}

#[test]
fn wrong_protocol() {
    for protocol in [0u8, 1, 6, 17, 111, 113, 255] {
        let mut datagram = V3_V4_IP.to_vec();
        datagram[9] = protocol;
        fix_ip_checksum(&mut datagram[..20]);
        datagram.extend_from_slice(&V3_V4);
        assert_eq!(
            wire::parse_ipv4_header(&datagram),
            Err(WireError::NotVrrp(protocol))
        );
    }
}

#[test]
fn ipv4_total_length_lies() {
    let with = |total: u16| {
        let mut datagram = V3_V4_IP.to_vec();
        datagram[2..4].copy_from_slice(&total.to_be_bytes());
        fix_ip_checksum(&mut datagram[..20]);
        datagram.extend_from_slice(&V3_V4);
        wire::parse_ipv4_header(&datagram)
    };
    assert_eq!(
        with(37),
        Err(WireError::IpLengthMismatch {
            claimed: 37,
            actual: 36
        })
    );
    assert_eq!(
        with(0xffff),
        Err(WireError::IpLengthMismatch {
            claimed: 0xffff,
            actual: 36
        })
    );
    assert_eq!(
        with(19),
        Err(WireError::IpLengthMismatch {
            claimed: 19,
            actual: 36
        })
    );
    // Shorter than the datagram: the VRRP payload shrinks and parse rejects it.
    let meta = with(30).unwrap();
    let mut datagram = V3_V4_IP.to_vec();
    datagram.extend_from_slice(&V3_V4);
    let payload = meta.payload(&datagram);
    assert_eq!(payload.len(), 10);
    assert!(matches!(
        parse(payload, a4(), m4()),
        Err(WireError::LengthMismatch { .. })
    ));
}

#[test]
fn ipv4_header_fields_are_validated() {
    let mut datagram = V3_V4_IP.to_vec();
    datagram.extend_from_slice(&V3_V4);
    for len in 0..20 {
        assert_eq!(
            wire::parse_ipv4_header(&datagram[..len]),
            Err(WireError::Truncated)
        );
    }
    let edit = |f: &dyn Fn(&mut [u8])| {
        let mut d = datagram.clone();
        f(&mut d[..20]);
        fix_ip_checksum(&mut d[..20]);
        wire::parse_ipv4_header(&d)
    };
    assert_eq!(edit(&|h| h[0] = 0x65), Err(WireError::BadIpVersion(6)));
    assert_eq!(edit(&|h| h[0] = 0x44), Err(WireError::BadIpHeaderLen(16)));
    // IHL 15 = 60 bytes: more than the 36 received.
    assert_eq!(edit(&|h| h[0] = 0x4f), Err(WireError::Truncated));
    let mut bad = datagram.clone();
    bad[10] ^= 1;
    assert_eq!(wire::parse_ipv4_header(&bad), Err(WireError::BadIpChecksum));
}

#[test]
fn ipv6_header_checks() {
    let mut header = [0u8; 40];
    header[0] = 0x6c;
    header[4..6].copy_from_slice(&40u16.to_be_bytes());
    header[6] = 112;
    header[7] = 255;
    header[8..24].copy_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 0, 1]);
    header[24..40].copy_from_slice(&MULTICAST_V6.octets());
    let mut datagram = header.to_vec();
    datagram.extend_from_slice(&V3_V6);
    let meta = wire::parse_ipv6_header(&datagram).unwrap();
    assert_eq!(IpAddr::V6(meta.src), a6());
    assert_eq!(meta.dst, MULTICAST_V6);
    assert_eq!(
        (meta.hop_limit, meta.next_header, meta.payload_len),
        (255, 112, 40)
    );
    assert_eq!(meta.payload(&datagram), &V3_V6[..]);

    let edit = |f: &dyn Fn(&mut [u8])| {
        let mut d = datagram.clone();
        f(&mut d);
        wire::parse_ipv6_header(&d)
    };
    assert_eq!(edit(&|d| d[0] = 0x4c), Err(WireError::BadIpVersion(4)));
    assert_eq!(edit(&|d| d[6] = 58), Err(WireError::NotVrrp(58)));
    assert_eq!(edit(&|d| d[6] = 51), Err(WireError::AuthAhUnsupported));
    assert_eq!(
        edit(&|d| d[5] = 41),
        Err(WireError::IpLengthMismatch {
            claimed: 41,
            actual: 40
        })
    );
    for len in 0..40 {
        assert_eq!(
            wire::parse_ipv6_header(&datagram[..len]),
            Err(WireError::Truncated)
        );
    }
}

fn repr(version: Version, interval: u16, addresses: Vec<IpAddr>, auth: Auth) -> AdvertRepr {
    AdvertRepr {
        version,
        vrid: Vrid::new(1).unwrap(),
        priority: Priority(100),
        max_advert_int: Centis(interval),
        addresses: addresses.into(),
        auth,
    }
}

fn emit(repr: &AdvertRepr, src: IpAddr, dst: IpAddr) -> Result<Vec<u8>, WireError> {
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Packet::new_unchecked(&mut out[..]), src, dst, PSEUDO)?;
    Ok(out)
}

#[test]
fn emit_refuses_what_the_wire_cannot_carry() {
    let one = vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 30))];
    // v2 intervals are whole seconds 1..=255.
    for bad in [0, 50, 150, 25600, u16::MAX] {
        let r = repr(Version::V2, bad, one.clone(), Auth::None);
        assert_eq!(
            emit(&r, a4(), b4()),
            Err(WireError::Interval(IntervalError::V2(Centis(bad))))
        );
    }
    for bad in [0, 4096, u16::MAX] {
        let r = repr(Version::V3, bad, one.clone(), Auth::None);
        assert_eq!(
            emit(&r, a4(), b4()),
            Err(WireError::Interval(IntervalError::V3(Centis(bad))))
        );
    }
    let r = repr(Version::V3, 100, one.clone(), Auth::simple_text(b"secret"));
    assert_eq!(emit(&r, a4(), b4()), Err(WireError::AuthOnV3));
    let r = repr(Version::V2, 100, vec![a6()], Auth::None);
    assert_eq!(emit(&r, a6(), m6()), Err(WireError::V2OverIpv6));
    let r = repr(Version::V3, 100, vec![a4(), a6()], Auth::None);
    assert_eq!(emit(&r, a4(), m4()), Err(WireError::FamilyMismatch));
    let r = repr(Version::V3, 100, one.clone(), Auth::None);
    assert_eq!(emit(&r, a6(), m6()), Err(WireError::FamilyMismatch));
    assert_eq!(emit(&r, a4(), m6()), Err(WireError::FamilyMismatch));
    let r = repr(Version::V3, 100, vec![a4(); 256], Auth::None);
    assert_eq!(emit(&r, a4(), m4()), Err(WireError::TooManyAddresses(256)));

    // The buffer must be exactly buffer_len() bytes.
    let r = repr(Version::V2, 100, one, Auth::None);
    for len in [0, 7, 19, 21] {
        let mut out = vec![0u8; len];
        assert_eq!(
            r.emit(&mut Packet::new_unchecked(&mut out[..]), a4(), b4(), PSEUDO),
            Err(WireError::BufferLength {
                expected: 20,
                actual: len
            })
        );
    }
}

#[test]
fn emit_ipv4_header_refuses_small_buffers_and_huge_payloads() {
    let (src, dst) = (Ipv4Addr::new(192, 0, 2, 1), MULTICAST_V4);
    let mut small = [0u8; 19];
    assert_eq!(
        wire::emit_ipv4_header(&mut small, src, dst, 1, 255, 16),
        Err(WireError::BufferLength {
            expected: 20,
            actual: 19
        })
    );
    let mut out = [0u8; 20];
    assert!(wire::emit_ipv4_header(&mut out, src, dst, 1, 255, 65_516).is_err());
    assert!(wire::emit_ipv4_header(&mut out, src, dst, 1, 255, 65_515).is_ok());
    assert!(wire::emit_ipv4_header(&mut out, src, dst, 1, 255, 16).is_ok());
    assert_eq!(out, V3_V4_IP);
}
