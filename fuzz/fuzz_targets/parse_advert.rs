//! Fuzzes the advert parser and the IP header checks: no input may panic,
//! and whatever parses must re-emit to something that parses the same.
//!
//! Input layout: a flags byte (bit 0: IPv6, bit 1: v3_checksum_as_v2,
//! bit 2: the rest is an IPv4 datagram), then for non-datagram inputs the
//! source and destination addresses, then the VRRP message.

#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use vrrpd::proto::wire::{self, AdvertRepr, ChecksumMode, Packet};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mode = if flags & 2 == 0 {
        ChecksumMode::PseudoHeader
    } else {
        ChecksumMode::V2Style
    };
    if flags & 4 != 0 {
        if let Ok(meta) = wire::parse_ipv4_header(rest) {
            check(meta.payload(rest), meta.src.into(), meta.dst.into(), mode);
        }
        if let Ok(meta) = wire::parse_ipv6_header(rest) {
            check(meta.payload(rest), meta.src.into(), meta.dst.into(), mode);
        }
        return;
    }
    let addr_len = if flags & 1 == 0 { 4 } else { 16 };
    if rest.len() < 2 * addr_len {
        return;
    }
    let (addrs, message) = rest.split_at(2 * addr_len);
    let (src, dst) = addrs.split_at(addr_len);
    check(message, ip(src), ip(dst), mode);
});

fn ip(bytes: &[u8]) -> IpAddr {
    match <[u8; 16]>::try_from(bytes) {
        Ok(v6) => IpAddr::from(v6),
        Err(_) => IpAddr::from([bytes[0], bytes[1], bytes[2], bytes[3]]),
    }
}

fn check(message: &[u8], src: IpAddr, dst: IpAddr, mode: ChecksumMode) {
    if let Ok(packet) = Packet::new_checked(message) {
        let _ = packet.verify_checksum(src, dst, mode);
        let _ = packet.addresses(vrrpd::proto::Family::of(&src));
        let _ = packet.auth_data();
    }
    let Ok(repr) = AdvertRepr::parse(&Packet::new_unchecked(message), src, dst, mode) else {
        return;
    };
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Packet::new_unchecked(&mut out[..]), src, dst, mode)
        .expect("a parsed advert re-emits");
    assert_eq!(
        AdvertRepr::parse(&Packet::new_unchecked(&out[..]), src, dst, mode),
        Ok(repr)
    );
}
