//! Property tests: the parser is total, and emit∘parse is the identity.

use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;
use vrrpd::proto::wire::{self, AdvertRepr, Auth, ChecksumMode, Packet};
use vrrpd::proto::{Centis, Family, Priority, Version, Vrid};

fn ip_of(family: Family) -> BoxedStrategy<IpAddr> {
    match family {
        Family::Ipv4 => any::<[u8; 4]>().prop_map(IpAddr::from).boxed(),
        Family::Ipv6 => any::<[u8; 16]>().prop_map(IpAddr::from).boxed(),
    }
}

fn family() -> impl Strategy<Value = Family> {
    prop_oneof![Just(Family::Ipv4), Just(Family::Ipv6)]
}

fn any_ip() -> impl Strategy<Value = IpAddr> {
    family().prop_flat_map(ip_of)
}

fn mode() -> impl Strategy<Value = ChecksumMode> {
    prop_oneof![
        Just(ChecksumMode::PseudoHeader),
        Just(ChecksumMode::V2Style)
    ]
}

/// Reads every accessor of a checked packet: none may panic.
fn touch<T: AsRef<[u8]>>(p: &Packet<T>, src: IpAddr, dst: IpAddr, mode: ChecksumMode) {
    let _ = (p.version(), p.msg_type(), p.vrid(), p.priority());
    let _ = (p.count_ip_addrs(), p.auth_type(), p.advert_int());
    let _ = (p.max_advert_int(), p.reserved(), p.checksum());
    let _ = (
        p.addresses(Family::Ipv4),
        p.addresses(Family::Ipv6),
        p.auth_data(),
    );
    let _ = (p.message_len(Family::Ipv4), p.message_len(Family::Ipv6));
    let _ = p.verify_checksum(src, dst, mode);
}

/// A valid advert for `src`'s family: v2 (IPv4 only) with or without a
/// password, or v3 over either family.
fn repr_for(family: Family) -> impl Strategy<Value = AdvertRepr> {
    let version = match family {
        Family::Ipv4 => prop_oneof![Just(Version::V2), Just(Version::V3)].boxed(),
        Family::Ipv6 => Just(Version::V3).boxed(),
    };
    version.prop_flat_map(move |version| {
        let interval = match version {
            Version::V2 => (1u8..=255).prop_map(Centis::from_secs).boxed(),
            Version::V3 => (1u16..=4095).prop_map(Centis).boxed(),
        };
        let auth = match version {
            Version::V2 => prop_oneof![
                Just(Auth::None),
                any::<[u8; 8]>().prop_map(Auth::SimpleText)
            ]
            .boxed(),
            Version::V3 => Just(Auth::None).boxed(),
        };
        (
            1u8..=255,
            any::<u8>(),
            interval,
            prop::collection::vec(ip_of(family), 0..=20),
            auth,
        )
            .prop_map(move |(vrid, priority, max_advert_int, addresses, auth)| {
                AdvertRepr {
                    version,
                    vrid: Vrid::new(vrid).unwrap(),
                    priority: Priority(priority),
                    max_advert_int,
                    addresses: addresses.into(),
                    auth,
                }
            })
    })
}

/// src, dst of one family, and an advert for it.
fn addressed_repr() -> impl Strategy<Value = (IpAddr, IpAddr, AdvertRepr)> {
    family().prop_flat_map(|f| (ip_of(f), ip_of(f), repr_for(f)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn random_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        src in any_ip(),
        dst in any_ip(),
        mode in mode(),
    ) {
        if let Ok(packet) = Packet::new_checked(&bytes[..]) {
            touch(&packet, src, dst, mode);
            let _ = AdvertRepr::parse(&packet, src, dst, mode);
        }
        // parse checks the header itself, even on an unchecked packet.
        let _ = AdvertRepr::parse(&Packet::new_unchecked(&bytes[..]), src, dst, mode);
        let _ = wire::parse_ipv4_header(&bytes);
        let _ = wire::parse_ipv6_header(&bytes);
    }

    /// Random fields behind a plausible first byte and a correct checksum,
    /// so the checks after the checksum are reached too.
    #[test]
    fn checksummed_random_messages_never_panic(
        first in prop_oneof![Just(0x21u8), Just(0x31u8), any::<u8>()],
        mut bytes in prop::collection::vec(any::<u8>(), 8..120),
        (src, dst) in family().prop_flat_map(|f| (ip_of(f), ip_of(f))),
        mode in mode(),
        fit_count in any::<bool>(),
    ) {
        bytes[0] = first;
        if fit_count {
            // Make the count agree with the length, so later checks are reached.
            let addr_len = Family::of(&src).addr_len();
            let auth = if first >> 4 == 2 { wire::AUTH_DATA_LEN } else { 0 };
            let room = bytes.len().saturating_sub(wire::HEADER_LEN + auth) / addr_len;
            let count = room.min(255);
            bytes.truncate(wire::HEADER_LEN + auth + count * addr_len);
            bytes.resize(wire::HEADER_LEN + auth + count * addr_len, 0);
            bytes[3] = count as u8;
        }
        let mut packet = Packet::new_checked(&mut bytes[..]).unwrap();
        packet.fill_checksum(src, dst, mode);
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        touch(&packet, src, dst, mode);
        if let Ok(repr) = AdvertRepr::parse(&packet, src, dst, mode) {
            // Whatever parses re-emits to the same length.
            prop_assert_eq!(repr.buffer_len(), bytes.len());
        }
    }

    #[test]
    fn emit_then_parse_is_identity((src, dst, repr) in addressed_repr(), mode in mode()) {
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut out[..]), src, dst, mode).unwrap();
        let packet = Packet::new_checked(&out[..]).unwrap();
        prop_assert!(packet.verify_checksum(src, dst, mode));
        let parsed = AdvertRepr::parse(&packet, src, dst, mode).unwrap();
        prop_assert_eq!(&parsed, &repr);

        // And parse∘emit gives the same bytes back.
        let mut again = vec![0u8; parsed.buffer_len()];
        parsed.emit(&mut Packet::new_unchecked(&mut again[..]), src, dst, mode).unwrap();
        prop_assert_eq!(again, out);
    }

    #[test]
    fn emit_never_panics_on_arbitrary_reprs(
        version in prop_oneof![Just(Version::V2), Just(Version::V3)],
        vrid in 1u8..=255,
        interval in any::<u16>(),
        addresses in prop::collection::vec(any_ip(), 0..4),
        auth in prop_oneof![Just(Auth::None), any::<[u8; 8]>().prop_map(Auth::SimpleText)],
        src in any_ip(),
        dst in any_ip(),
        mode in mode(),
        slack in 0usize..3,
    ) {
        let repr = AdvertRepr {
            version,
            vrid: Vrid::new(vrid).unwrap(),
            priority: Priority(1),
            max_advert_int: Centis(interval),
            addresses: addresses.into(),
            auth,
        };
        let mut out = vec![0u8; repr.buffer_len() + slack];
        let result = repr.emit(&mut Packet::new_unchecked(&mut out[..]), src, dst, mode);
        if slack > 0 {
            prop_assert!(result.is_err());
        } else if result.is_ok() {
            let parsed = AdvertRepr::parse(&Packet::new_checked(&out[..]).unwrap(), src, dst, mode);
            prop_assert_eq!(parsed, Ok(repr));
        }
    }

    #[test]
    fn ipv4_header_emit_then_parse(
        src in any::<[u8; 4]>(),
        dst in any::<[u8; 4]>(),
        ident in any::<u16>(),
        ttl in any::<u8>(),
        payload in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let (src, dst) = (Ipv4Addr::from(src), Ipv4Addr::from(dst));
        let mut datagram = vec![0u8; wire::IPV4_HEADER_LEN];
        wire::emit_ipv4_header(&mut datagram, src, dst, ident, ttl, payload.len()).unwrap();
        datagram.extend_from_slice(&payload);
        let meta = wire::parse_ipv4_header(&datagram).unwrap();
        prop_assert_eq!((meta.src, meta.dst, meta.ident, meta.ttl), (src, dst, ident, ttl));
        prop_assert_eq!((meta.tos, meta.protocol), (wire::IPV4_TOS, wire::PROTOCOL_VRRP));
        prop_assert_eq!(meta.payload(&datagram), &payload[..]);
    }
}
