//! Golden bytes for `auth_hmac` from a real keepalived master (2026)
//! capture (tests/fixtures/README.md, scripts/interop-auth-hmac.sh): the
//! adverts of keepalived (192.0.2.21 / fe80::ff:fe00:2) and of vrrpd
//! (192.0.2.20 / fe80::ff:fe00:1) in VRRPv3 IPv4 multicast, VRRPv2 IPv4
//! unicast and VRRPv3 IPv6 multicast, on key 1 and key 2. Every one parses
//! (checksum included: IPv4 sums the message, IPv6 the whole payload),
//! verifies, and is rebuilt byte for byte from its fields, its sequence and
//! the key: vrrpd signs exactly as keepalived does.

mod common;
use common::capture_frames;

use std::collections::BTreeMap;
use std::net::IpAddr;

use vrrpd::proto::auth_hmac::{
    self, AntiReplay, Binding, Keyring, Mode, Seq, Trailer, Verifier, TRAILER_LEN,
};
use vrrpd::proto::wire::{self, AdvertRepr, ChecksumMode, Packet};
use vrrpd::proto::{Family, Version};

const FILE: &str = "auth-hmac-keepalived-master.pcap";
const K1: [u8; 32] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
];
const K2: [u8; 32] = [
    0xf0, 0xe0, 0xd0, 0xc0, 0xb0, 0xa0, 0x90, 0x80, 0x70, 0x60, 0x50, 0x40, 0x30, 0x20, 0x10, 0x00,
    0xf1, 0xe1, 0xd1, 0xc1, 0xb1, 0xa1, 0x91, 0x81, 0x71, 0x61, 0x51, 0x41, 0x31, 0x21, 0x11, 0x01,
];

fn keys(active: u8) -> Keyring {
    Keyring::new([(1, &K1[..]), (2, &K2[..])], active)
}

/// One VRRP datagram of the capture.
struct Advert {
    src: IpAddr,
    dst: IpAddr,
    payload: Vec<u8>,
    /// IPv4: the header bytes and identification.
    ipv4: Option<(Vec<u8>, u16, u8)>,
}

fn adverts() -> Vec<Advert> {
    let mut out = Vec::new();
    for frame in capture_frames(FILE) {
        let ip = &frame[14..];
        match u16::from_be_bytes([frame[12], frame[13]]) {
            0x0800 => {
                let m = wire::parse_ipv4_header(ip).unwrap();
                out.push(Advert {
                    src: m.src.into(),
                    dst: m.dst.into(),
                    payload: m.payload(ip).to_vec(),
                    ipv4: Some((ip[..m.header_len].to_vec(), m.ident, m.ttl)),
                });
            }
            0x86dd => {
                let m = wire::parse_ipv6_header(ip).unwrap();
                out.push(Advert {
                    src: m.src.into(),
                    dst: m.dst.into(),
                    payload: m.payload(ip).to_vec(),
                    ipv4: None,
                });
            }
            other => panic!("unexpected ethertype {other:#x}"),
        }
    }
    out
}

fn message_len(payload: &[u8], family: Family) -> usize {
    Packet::new_checked(payload).unwrap().message_len(family)
}

fn who(src: IpAddr) -> &'static str {
    match src.to_string().as_str() {
        "192.0.2.20" | "fe80::ff:fe00:1" => "vrrpd",
        "192.0.2.21" | "fe80::ff:fe00:2" => "keepalived",
        other => panic!("unexpected source {other}"),
    }
}

#[test]
fn the_capture_holds_both_daemons_in_every_mode_on_both_keys() {
    let mut seen: BTreeMap<(&str, u8, u8, u8), usize> = BTreeMap::new();
    for a in adverts() {
        let len = message_len(&a.payload, Family::of(&a.src));
        assert_eq!(a.payload.len(), len + TRAILER_LEN, "every advert is signed");
        let t = Trailer::parse(a.payload[len..].try_into().unwrap());
        *seen
            .entry((who(a.src), a.payload[0] >> 4, a.payload[1], t.key_id))
            .or_default() += 1;
    }
    for daemon in ["vrrpd", "keepalived"] {
        for (version, vrid) in [(3, 52), (2, 101), (3, 66)] {
            for key in [1, 2] {
                assert!(
                    seen.contains_key(&(daemon, version, vrid, key)),
                    "no {daemon} v{version} VRID {vrid} key {key} advert: {seen:?}"
                );
            }
        }
    }
}

#[test]
fn every_advert_parses_with_its_trailer_and_verifies() {
    let mut n = 0;
    for a in adverts() {
        let family = Family::of(&a.src);
        let packet = Packet::new_checked(a.payload.as_slice()).unwrap();
        let repr = AdvertRepr::parse_trailed(
            &packet,
            a.src,
            a.dst,
            ChecksumMode::PseudoHeader,
            TRAILER_LEN,
        )
        .unwrap_or_else(|e| panic!("{} advert #{n}: {e}", who(a.src)));
        let len = message_len(&a.payload, family);
        let (msg, tail) = auth_hmac::split(&a.payload, len);
        let tail = tail.unwrap();
        let t = Trailer::parse(tail);
        let b = Binding {
            version: repr.version,
            vrid: repr.vrid,
            src: a.src,
        };
        // Time mode at the sender's own second, and monotonic.
        let now = u64::from(t.seq.secs());
        for anti_replay in [AntiReplay::Time { window: 5 }, AntiReplay::Monotonic] {
            let mut v = Verifier::new(Mode::Enforce, anti_replay, false, &[]);
            assert!(
                v.check(&keys(1), now, &b, msg, Some(tail)).is_ok(),
                "{} #{n}",
                who(a.src)
            );
        }
        n += 1;
    }
    assert!(n > 100, "{n} adverts");
}

#[test]
fn a_changed_byte_in_a_captured_advert_fails() {
    let a = adverts()
        .into_iter()
        .find(|a| who(a.src) == "keepalived")
        .unwrap();
    let family = Family::of(&a.src);
    let len = message_len(&a.payload, family);
    let mut payload = a.payload.clone();
    payload[2] ^= 0x80; // the priority
    let (msg, tail) = auth_hmac::split(&payload, len);
    let b = Binding {
        version: if payload[0] >> 4 == 2 {
            Version::V2
        } else {
            Version::V3
        },
        vrid: vrrpd::proto::Vrid::new(payload[1]).unwrap(),
        src: a.src,
    };
    let mut v = Verifier::new(Mode::Enforce, AntiReplay::Monotonic, false, &[]);
    assert_eq!(
        v.check(&keys(1), 0, &b, msg, tail),
        Err(auth_hmac::AuthDrop::BadHmac)
    );
}

#[test]
fn vrrpd_rebuilds_every_advert_byte_for_byte() {
    for (n, a) in adverts().into_iter().enumerate() {
        let family = Family::of(&a.src);
        let packet = Packet::new_checked(a.payload.as_slice()).unwrap();
        let repr = AdvertRepr::parse_trailed(
            &packet,
            a.src,
            a.dst,
            ChecksumMode::PseudoHeader,
            TRAILER_LEN,
        )
        .unwrap();
        let len = repr.buffer_len();
        let t = Trailer::parse(a.payload[len..].try_into().unwrap());
        let mut out = vec![0u8; len + TRAILER_LEN];
        let (msg, tail) = out.split_at_mut(len);
        repr.emit(
            &mut Packet::new_unchecked(&mut *msg),
            a.src,
            a.dst,
            ChecksumMode::PseudoHeader,
        )
        .unwrap();
        let b = Binding {
            version: repr.version,
            vrid: repr.vrid,
            src: a.src,
        };
        let mut trailer = [0u8; TRAILER_LEN];
        auth_hmac::sign(&keys(t.key_id), &b, Seq(t.seq.0), msg, &mut trailer);
        tail.copy_from_slice(&trailer);
        if family == Family::Ipv6 {
            // The kernel sums the whole payload, trailer included.
            Packet::new_unchecked(&mut out[..]).fill_checksum(
                a.src,
                a.dst,
                ChecksumMode::PseudoHeader,
            );
        }
        assert_eq!(out, a.payload, "{} advert #{n}", who(a.src));
        if let (Some((header, ident, ttl)), IpAddr::V4(src), IpAddr::V4(dst)) =
            (&a.ipv4, a.src, a.dst)
        {
            let mut h = [0u8; wire::IPV4_HEADER_LEN];
            wire::emit_ipv4_header(&mut h, src, dst, *ident, *ttl, out.len()).unwrap();
            assert_eq!(
                &h[..],
                &header[..],
                "{} advert #{n}: IPv4 header",
                who(a.src)
            );
        }
    }
}
