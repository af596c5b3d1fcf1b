//! Golden frames from real keepalived 2.2.7 (tests/fixtures/README.md):
//! every gratuitous ARP and unsolicited NA node A sent in every capture is
//! byte-identical to what `net::announce` builds, and each burst comes in
//! keepalived's order. Counted, so an empty or unreadable capture fails.

mod common;
use common::capture_frames as frames;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrpd::net::announce::{
    announce_frames, garp_frame, unsolicited_na_frame, GARP_FRAME_LEN, NA_FRAME_LEN,
};

/// Node A's MAC in every capture.
const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 1];
const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];
const ETHERTYPE_IPV6: [u8; 2] = [0x86, 0xdd];
const ICMPV6: u8 = 58;
const NEIGHBOR_ADVERT: u8 = 136;
/// keepalived's default `garp_master_repeat`.
const REPEAT: u32 = 5;

/// A's announcements: ARP requests with sender IP = target IP, and ICMPv6
/// neighbour advertisements. (The captures also hold ordinary ARP traffic
/// between A and B, which is not an announcement.)
fn announcements(frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    frames
        .iter()
        .filter(|f| f.len() >= 14 && f[6..12] == MAC_A)
        .filter(|f| match [f[12], f[13]] {
            ETHERTYPE_ARP => f.len() == GARP_FRAME_LEN && f[21] == 1 && f[28..32] == f[38..42],
            ETHERTYPE_IPV6 => f.len() > 54 && f[20] == ICMPV6 && f[54] == NEIGHBOR_ADVERT,
            _ => false,
        })
        .cloned()
        .collect()
}

fn v4(d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, d))
}

/// (capture, VIPs in configuration order, announcement frames expected).
fn cases() -> Vec<(&'static str, Vec<IpAddr>, usize)> {
    vec![
        // Three VIPs, one burst of 5 rounds before the capture ends.
        (
            "v2-multicast-3vips.pcap",
            vec![v4(100), v4(101), v4(102)],
            15,
        ),
        ("v2-unicast-pass.pcap", vec![v4(30)], 5),
        ("v3-ipv4-multicast.pcap", vec![v4(130), v4(131)], 10),
        ("v3-ipv4-unicast.pcap", vec![v4(140)], 5),
        (
            "v3-ipv6-multicast.pcap",
            vec![
                IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x66)),
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x66)),
            ],
            10,
        ),
        ("v3-owner-255.pcap", vec![v4(170)], 5),
    ]
}

#[test]
fn every_captured_announcement_is_rebuilt_byte_identical() {
    let mut garps = 0;
    let mut nas = 0;
    for (file, _, expected) in cases() {
        let seen = announcements(&frames(file));
        assert_eq!(seen.len(), expected, "{file}");
        for frame in &seen {
            if frame[12..14] == ETHERTYPE_ARP {
                let vip = Ipv4Addr::new(frame[28], frame[29], frame[30], frame[31]);
                assert_eq!(garp_frame(MAC_A, vip)[..], frame[..], "{file} {vip}");
                garps += 1;
            } else {
                let mut target = [0; 16];
                target.copy_from_slice(&frame[62..78]);
                let vip = Ipv6Addr::from(target);
                // Forwarding was off on node A: no Router flag.
                assert_eq!(
                    unsolicited_na_frame(MAC_A, vip, false),
                    *frame,
                    "{file} {vip}"
                );
                assert_eq!(frame.len(), NA_FRAME_LEN);
                nas += 1;
            }
        }
    }
    assert_eq!((garps, nas), (40, 10));
}

#[test]
fn bursts_follow_keepalived_order() {
    // 5 rounds, each one frame per VIP in configuration order:
    // .100 .101 .102 .100 .101 .102 ...
    let mut checked = 0;
    for (file, vips, expected) in cases() {
        let seen = announcements(&frames(file));
        let built = announce_frames(MAC_A, &vips, REPEAT, false);
        assert_eq!(built.len(), expected, "{file}");
        assert_eq!(built, seen, "{file}");
        checked += built.len();
    }
    assert_eq!(checked, 50);
}
