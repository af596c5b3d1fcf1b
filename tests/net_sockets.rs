//! Privileged tests of `net::socket` and `net::announce` on the real kernel.
//!
//! Each test builds its own lab: two network namespaces, A and B, joined by
//! a veth pair (`eth0` on both sides) with node A's addresses and MAC from
//! the keepalived captures (tests/fixtures/README.md): 192.0.2.1,
//! 2001:db8::1, fe80::ff:fe00:1, 02:00:00:00:00:01; B is .2 / ::2 / :02.
//! Nothing is created in the host namespace, and a guard deletes both
//! namespaces (and with them the veth pair) even when the test fails.
//! One thread per test switches between the namespaces with setns(2):
//! sockets stay in the namespace they were created in.
//!
//! Without root every test prints "skipped: needs root" and passes.

use std::fs::File;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use pcap_file::pcap::PcapReader;
use pnet_datalink::{Channel, Config, DataLinkReceiver};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use vrrpd::net::announce::{
    garp_frame, is_forwarding, unsolicited_na_frame, AnnounceError, Announcer,
};
use vrrpd::net::socket::{
    validate, DropReason, Inbound, Mode, RxPolicy, SocketError, SocketSpec, VrrpSocket,
};
use vrrpd::proto::wire::{
    self, AdvertRepr, Auth, ChecksumMode, Packet, MULTICAST_V4, MULTICAST_V6,
};
use vrrpd::proto::{Centis, Family, Priority, Version, Vrid};

#[path = "common/netns.rs"]
mod netns;

const IF: &str = "eth0";
const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 1];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 2];
const A4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const B4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const A6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const B6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
/// The EUI-64 link-local addresses the kernel derives from the MACs.
const A_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 1);
const B_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 2);
const WAIT: Duration = Duration::from_secs(3);
const QUIET: Duration = Duration::from_millis(300);
const ETH_IPV4: [u8; 2] = [0x08, 0x00];
const ETH_ARP: [u8; 2] = [0x08, 0x06];
const ETH_IPV6: [u8; 2] = [0x86, 0xdd];

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

static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// Two namespaces and a veth pair; deleted on drop.
struct Lab {
    a: String,
    b: String,
}

impl Lab {
    /// `None` (after printing why) when not root.
    fn new() -> Option<Lab> {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("skipped: needs root");
            return None;
        }
        let n = NEXT_LAB.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        // The guard exists before the first namespace: whatever was made
        // is deleted if a later step panics.
        let lab = Lab {
            a: format!("vrrpd-t{pid}-{n}-a"),
            b: format!("vrrpd-t{pid}-{n}-b"),
        };
        for ns in [&lab.a, &lab.b] {
            run("ip", &["netns", "add", ns]);
            // No DAD: addresses (the link-local included) usable at once.
            for key in ["all", "default"] {
                let setting = format!("net.ipv6.conf.{key}.accept_dad=0");
                run("ip", &["netns", "exec", ns, "sysctl", "-qw", &setting]);
            }
        }
        run(
            "ip",
            &[
                "-n",
                &lab.a,
                "link",
                "add",
                IF,
                "address",
                "02:00:00:00:00:01",
                "type",
                "veth",
                "peer",
                "name",
                IF,
                "address",
                "02:00:00:00:00:02",
                "netns",
                &lab.b,
            ],
        );
        for (ns, v4, v6) in [(&lab.a, A4, A6), (&lab.b, B4, B6)] {
            run(
                "ip",
                &["-n", ns, "addr", "add", &format!("{v4}/24"), "dev", IF],
            );
            run(
                "ip",
                &[
                    "-n",
                    ns,
                    "addr",
                    "add",
                    &format!("{v6}/64"),
                    "dev",
                    IF,
                    "nodad",
                ],
            );
            run("ip", &["-n", ns, "link", "set", "lo", "up"]);
            run("ip", &["-n", ns, "link", "set", IF, "up"]);
        }
        for (ns, ll) in [(&lab.a, A_LL), (&lab.b, B_LL)] {
            lab.wait_for_address(ns, ll);
        }
        Some(lab)
    }

    fn wait_for_address(&self, ns: &str, addr: Ipv6Addr) {
        let deadline = Instant::now() + WAIT;
        loop {
            let out = Command::new("ip")
                .args(["-n", ns, "-6", "addr", "show", "dev", IF])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            if text.contains(&format!("{addr}/64")) && !text.contains("tentative") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{addr} never appeared in {ns}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn enter_a(&self) {
        netns::enter(&self.a);
    }

    fn enter_b(&self) {
        netns::enter(&self.b);
    }

    /// Runs `test` on a fresh thread with a current-thread runtime, so the
    /// namespace switches never touch the test harness's threads.
    fn run<'l, F, Fut>(&'l self, test: F)
    where
        F: FnOnce(&'l Lab) -> Fut + Send,
        Fut: Future<Output = ()>,
    {
        netns::run_on_fresh_thread(None, || test(self));
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ifindex() -> u32 {
    nix::net::if_::if_nametoindex(IF).unwrap()
}

fn open(spec_of: impl FnOnce(u32) -> SocketSpec) -> VrrpSocket {
    VrrpSocket::open(&spec_of(ifindex())).unwrap()
}

fn multicast(family: Family) -> VrrpSocket {
    open(|i| SocketSpec::multicast(IF, i, family))
}

fn unicast(source: IpAddr) -> VrrpSocket {
    open(|i| SocketSpec::unicast(IF, i, source))
}

async fn recv(socket: &VrrpSocket) -> Inbound {
    tokio::time::timeout(WAIT, socket.recv())
        .await
        .expect("no VRRP packet arrived")
        .unwrap()
}

/// Nothing arrives on `socket` for a while.
async fn assert_silent(socket: &VrrpSocket, what: &str) {
    if let Ok(got) = tokio::time::timeout(QUIET, socket.recv()).await {
        panic!("{what}: unexpected packet {got:?}");
    }
}

/// A packet capture on `eth0` of the current namespace.
fn capture() -> Box<dyn DataLinkReceiver> {
    let iface = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == IF)
        .unwrap();
    let config = Config {
        read_timeout: Some(Duration::from_millis(50)),
        ..Config::default()
    };
    match pnet_datalink::channel(&iface, config).unwrap() {
        Channel::Ethernet(_, rx) => rx,
        _ => panic!("not an Ethernet channel"),
    }
}

/// The first `want` captured frames from node A that `keep` selects.
fn frames_from_a(
    rx: &mut dyn DataLinkReceiver,
    want: usize,
    keep: impl Fn(&[u8]) -> bool,
) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + WAIT;
    let mut got = Vec::new();
    while got.len() < want && Instant::now() < deadline {
        if let Ok(frame) = rx.next() {
            if frame.len() >= 14 && frame[6..12] == MAC_A && keep(frame) {
                got.push(frame.to_vec());
            }
        }
    }
    got
}

fn is_vrrp_v4(f: &[u8]) -> bool {
    f[12..14] == ETH_IPV4 && f.len() > 23 && f[23] == wire::PROTOCOL_VRRP
}

fn is_vrrp_v6(f: &[u8]) -> bool {
    f[12..14] == ETH_IPV6 && f.len() > 20 && f[20] == wire::PROTOCOL_VRRP
}

/// keepalived's frames of one kind from a capture file.
fn fixture_frames(file: &str, keep: impl Fn(&[u8]) -> bool) -> Vec<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(file);
    let mut reader = PcapReader::new(File::open(path).unwrap()).unwrap();
    let mut frames = Vec::new();
    while let Some(packet) = reader.next_packet() {
        let data = packet.unwrap().data.into_owned();
        if data[6..12] == MAC_A && keep(&data) {
            frames.push(data);
        }
    }
    assert!(!frames.is_empty(), "{file}");
    frames
}

fn advert(version: Version, addresses: Vec<IpAddr>, src: IpAddr, dst: IpAddr) -> Vec<u8> {
    advert_with_vrid(42, version, addresses, src, dst)
}

fn advert_with_vrid(
    vrid: u8,
    version: Version,
    addresses: Vec<IpAddr>,
    src: IpAddr,
    dst: IpAddr,
) -> Vec<u8> {
    let repr = AdvertRepr {
        version,
        vrid: Vrid::new(vrid).unwrap(),
        priority: Priority(100),
        max_advert_int: Centis(100),
        addresses: addresses.into(),
        auth: Auth::None,
    };
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

#[test]
fn multicast_v2_advert_arrives_with_ttl_255_and_keepalived_bytes() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        // keepalived's first advert of v2-multicast-3vips, replayed.
        let golden = fixture_frames("v2-multicast-3vips.pcap", is_vrrp_v4).remove(0);
        let msg = &golden[34..];
        lab.enter_b();
        let b = multicast(Family::Ipv4);
        let mut rx = capture();
        lab.enter_a();
        let a = multicast(Family::Ipv4);
        a.send(A4.into(), MULTICAST_V4.into(), msg).unwrap();

        let got = recv(&b).await;
        assert_eq!(got.src, IpAddr::V4(A4));
        assert_eq!(got.dst, IpAddr::V4(MULTICAST_V4));
        assert_eq!(got.ttl, 255);
        assert_eq!(got.payload, msg);
        let repr = validate(&got, &MCAST).unwrap();
        assert_eq!(repr.vrid.get(), 51);
        assert_eq!(repr.addresses.len(), 3);

        // Ethernet, IPv4 header (TOS 0xc0, id 1, DF clear, TTL 255) and
        // VRRP: the whole frame as keepalived sent it.
        let frames = frames_from_a(&mut *rx, 1, is_vrrp_v4);
        assert_eq!(frames, vec![golden]);
    });
}

#[test]
fn ip_id_increments_per_packet() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        lab.enter_b();
        let mut rx = capture();
        lab.enter_a();
        let a = multicast(Family::Ipv4);
        let msg = advert(Version::V3, vec![A4.into()], A4.into(), MULTICAST_V4.into());
        for _ in 0..3 {
            a.send(A4.into(), MULTICAST_V4.into(), &msg).unwrap();
        }
        let ids: Vec<u16> = frames_from_a(&mut *rx, 3, is_vrrp_v4)
            .iter()
            .map(|f| u16::from_be_bytes([f[18], f[19]]))
            .collect();
        assert_eq!(ids, [1, 2, 3]);
    });
}

#[test]
fn own_multicast_is_not_looped_back() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        lab.enter_b();
        let b = multicast(Family::Ipv4);
        let b6 = multicast(Family::Ipv6);
        lab.enter_a();
        let a = multicast(Family::Ipv4);
        // A second listener on the sending host: loopback off means no
        // local copy for anyone.
        let a_listener = multicast(Family::Ipv4);
        let a6 = multicast(Family::Ipv6);
        let msg = advert(Version::V3, vec![A4.into()], A4.into(), MULTICAST_V4.into());
        a.send(A4.into(), MULTICAST_V4.into(), &msg).unwrap();
        let msg6 = advert(
            Version::V3,
            vec![A6.into()],
            A_LL.into(),
            MULTICAST_V6.into(),
        );
        a6.send(A_LL.into(), MULTICAST_V6.into(), &msg6).unwrap();

        assert_eq!(recv(&b).await.payload, msg);
        assert_eq!(recv(&b6).await.payload, msg6);
        assert_silent(&a, "sender, IPv4").await;
        assert_silent(&a_listener, "other socket on the sender").await;
        assert_silent(&a6, "sender, IPv6").await;
    });
}

#[test]
fn ipv6_v3_advert_round_trips_with_kernel_checksum() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        // keepalived's first IPv6 advert (fe80::ff:fe00:1 -> ff02::12).
        let golden = fixture_frames("v3-ipv6-multicast.pcap", is_vrrp_v6).remove(0);
        let msg = golden[54..].to_vec();
        lab.enter_b();
        let b = multicast(Family::Ipv6);
        let mut rx = capture();
        lab.enter_a();
        let a = multicast(Family::Ipv6);
        // Checksum zeroed: the kernel must fill it (IPV6_CHECKSUM).
        let mut unsummed = msg.clone();
        unsummed[6..8].copy_from_slice(&[0, 0]);
        a.send(A_LL.into(), MULTICAST_V6.into(), &unsummed).unwrap();

        let got = recv(&b).await;
        assert_eq!(got.src, IpAddr::V6(A_LL));
        assert_eq!(got.dst, IpAddr::V6(MULTICAST_V6));
        assert_eq!(got.ttl, 255);
        assert_eq!(got.payload, msg, "kernel checksum equals keepalived's");
        let repr = validate(&got, &MCAST).unwrap();
        assert_eq!((repr.version, repr.vrid.get()), (Version::V3, 66));

        // The frame as keepalived sent it, traffic class 0xc0 included; the
        // flow label is the kernel's own choice per socket.
        let frame = frames_from_a(&mut *rx, 1, is_vrrp_v6).remove(0);
        assert_eq!(frame.len(), golden.len());
        assert_eq!(frame[..15], golden[..15]);
        assert_eq!(frame[15] & 0xf0, golden[15] & 0xf0);
        assert_eq!(frame[18..], golden[18..]);
    });
}

/// A v3 advert for `vrid` carrying `src`, the bytes as sent.
fn advert_for(vrid: u8, src: IpAddr, dst: IpAddr) -> Vec<u8> {
    advert_with_vrid(vrid, Version::V3, vec![src], src, dst)
}

/// Receives with `recv_batch` until `want` datagrams arrived (a malformed
/// one is an `Err` in its place).
async fn recv_results(socket: &VrrpSocket, want: usize) -> Vec<Result<Inbound, SocketError>> {
    let mut got = Vec::new();
    while got.len() < want {
        let batch = tokio::time::timeout(WAIT, socket.recv_batch(64))
            .await
            .unwrap_or_else(|_| panic!("only {} of {want} datagrams arrived", got.len()));
        got.extend(batch);
    }
    got
}

async fn recv_batches(socket: &VrrpSocket, want: usize) -> Vec<Inbound> {
    let got = recv_results(socket, want).await;
    got.into_iter().map(Result::unwrap).collect()
}

#[test]
fn the_receive_buffer_holds_a_burst_of_1000_adverts_unread() {
    // 1000 instances' adverts arrive while the driver is busy elsewhere:
    // the kernel must keep them all until it reads (the default 208 KB
    // buffer holds a few hundred).
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        lab.enter_b();
        let b = multicast(Family::Ipv4);
        lab.enter_a();
        let a = multicast(Family::Ipv4);
        for i in 0..1000u32 {
            let vrid = u8::try_from(i % 255 + 1).unwrap();
            let msg = advert_for(vrid, A4.into(), MULTICAST_V4.into());
            a.send(A4.into(), MULTICAST_V4.into(), &msg).unwrap();
        }
        let got = recv_results(&b, 1000).await;
        let ok = got.iter().filter(|g| g.is_ok()).count();
        assert_eq!((got.len(), ok), (1000, 1000));
        assert_silent(&b, "nothing more").await;
    });
}

#[test]
fn queued_adverts_wait_for_flush_then_leave_in_order() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        lab.enter_b();
        let b = multicast(Family::Ipv4);
        lab.enter_a();
        let a = multicast(Family::Ipv4);
        // 150: three sendmmsg batches (64 + 64 + 22).
        let sent: Vec<Vec<u8>> = (1..=150)
            .map(|vrid| advert_for(vrid, A4.into(), MULTICAST_V4.into()))
            .collect();
        for (vrid, msg) in (1..=150).zip(&sent) {
            a.queue(vrid, A4.into(), MULTICAST_V4.into(), msg).unwrap();
        }
        assert_silent(&b, "queued, not flushed").await;
        let failed = a.flush();
        assert!(failed.is_empty(), "{failed:?}");
        let got = recv_batches(&b, 150).await;
        let payloads: Vec<&[u8]> = got.iter().map(|g| &g.payload[..]).collect();
        let want: Vec<&[u8]> = sent.iter().map(|m| &m[..]).collect();
        assert_eq!(payloads, want, "every advert, in queue order");
        for g in &got {
            assert!(validate(g, &MCAST).is_ok());
        }
        // Nothing is sent twice.
        assert!(a.flush().is_empty());
        assert_silent(&b, "second flush").await;
    });
}

#[test]
fn a_failed_advert_in_a_flush_is_reported_and_the_rest_leave() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        lab.enter_b();
        let b = unicast(B4.into());
        lab.enter_a();
        let a = unicast(A4.into());
        let first = advert_for(1, A4.into(), B4.into());
        let broadcast = Ipv4Addr::new(192, 0, 2, 255);
        let refused = advert_for(2, A4.into(), broadcast.into());
        let last = advert_for(3, A4.into(), B4.into());
        a.queue(1, A4.into(), B4.into(), &first).unwrap();
        // No SO_BROADCAST: the kernel refuses this one (EACCES).
        a.queue(2, A4.into(), broadcast.into(), &refused).unwrap();
        a.queue(3, A4.into(), B4.into(), &last).unwrap();
        let failed = a.flush();
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!((failed[0].vrid, failed[0].dst), (2, IpAddr::V4(broadcast)));
        assert!(matches!(failed[0].error, SocketError::Send { .. }));
        let got = recv_batches(&b, 2).await;
        assert_eq!(got[0].payload, first);
        assert_eq!(got[1].payload, last);
    });
}

#[test]
fn a_failure_in_a_later_batch_of_a_flush_costs_only_that_advert() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        lab.enter_b();
        let b = unicast(B4.into());
        lab.enter_a();
        let a = unicast(A4.into());
        let broadcast = Ipv4Addr::new(192, 0, 2, 255);
        let mut good = Vec::new();
        for vrid in 1..=100u8 {
            // The 70th sits in the second sendmmsg batch.
            if vrid == 70 {
                let refused = advert_for(vrid, A4.into(), broadcast.into());
                a.queue(vrid, A4.into(), broadcast.into(), &refused)
                    .unwrap();
            } else {
                let msg = advert_for(vrid, A4.into(), B4.into());
                a.queue(vrid, A4.into(), B4.into(), &msg).unwrap();
                good.push(msg);
            }
        }
        let failed = a.flush();
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!((failed[0].vrid, failed[0].dst), (70, IpAddr::V4(broadcast)));
        let got = recv_batches(&b, 99).await;
        let payloads: Vec<&[u8]> = got.iter().map(|g| &g.payload[..]).collect();
        let want: Vec<&[u8]> = good.iter().map(|m| &m[..]).collect();
        assert_eq!(payloads, want, "the other 99, in queue order");
    });
}

#[test]
fn a_burst_is_received_whole_with_bad_datagrams_kept_in_place() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        lab.enter_b();
        let b = multicast(Family::Ipv4);
        let b6 = multicast(Family::Ipv6);
        // Jumbo frames: the oversized datagrams go out unfragmented.
        for ns in [&lab.a, &lab.b] {
            run("ip", &["-n", ns, "link", "set", IF, "mtu", "9000"]);
        }
        lab.enter_a();
        let raw = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).unwrap();
        raw.set_header_included_v4(true).unwrap();
        raw.bind_device(Some(IF.as_bytes())).unwrap();
        let to4 = SockAddr::from(SocketAddrV4::new(MULTICAST_V4, 0));
        // The kernel fills the IPv6 checksum (the receiver's kernel drops
        // a wrong one before we see it), whatever the length.
        let a6 = multicast(Family::Ipv6);
        // 50 datagrams each way (more than one recvmmsg takes): good
        // adverts, with one longer than any valid advert (dropped whole as
        // oversized, never parsed) and one with TTL 64 among them.
        let mut want4 = Vec::new();
        let mut want6 = Vec::new();
        for i in 0..50u8 {
            let (payload, ttl) = match i {
                10 => (vec![0x31; 2000], 255),
                20 => (advert_for(i + 1, A4.into(), MULTICAST_V4.into()), 64),
                _ => (advert_for(i + 1, A4.into(), MULTICAST_V4.into()), 255),
            };
            let mut datagram = vec![0; 20 + payload.len()];
            wire::emit_ipv4_header(&mut datagram, A4, MULTICAST_V4, 7, ttl, payload.len()).unwrap();
            datagram[20..].copy_from_slice(&payload);
            raw.send_to(&datagram, &to4).unwrap();
            want4.push(payload);
            let payload6 = if i == 10 {
                vec![0x31; 5000]
            } else {
                advert_for(i + 1, A_LL.into(), MULTICAST_V6.into())
            };
            a6.send(A_LL.into(), MULTICAST_V6.into(), &payload6)
                .unwrap();
            want6.push(payload6);
        }
        let got4 = recv_results(&b, 50).await;
        let got6 = recv_results(&b6, 50).await;
        for (i, (got, want)) in got4.iter().zip(&want4).enumerate() {
            if i == 10 {
                let err = got.as_ref().unwrap_err();
                assert!(matches!(err, SocketError::Oversized { len: 2020 }), "{err}");
                assert_eq!(err.drop_reason(), Some(DropReason::Oversized), "{err}");
                continue;
            }
            let got = got.as_ref().unwrap();
            match i {
                20 => assert_eq!(validate(got, &MCAST), Err(DropReason::Ttl)),
                _ => {
                    assert_eq!(&got.payload, want, "IPv4 datagram {i}");
                    assert!(validate(got, &MCAST).is_ok(), "IPv4 datagram {i}");
                }
            }
        }
        for (i, (got, want)) in got6.iter().zip(&want6).enumerate() {
            if i == 10 {
                let err = got.as_ref().unwrap_err();
                assert!(matches!(err, SocketError::Oversized { len: 5000 }), "{err}");
            } else {
                let got = got.as_ref().unwrap();
                assert_eq!((&got.payload, got.ttl), (want, 255), "IPv6 datagram {i}");
                assert_eq!(got.dst, IpAddr::V6(MULTICAST_V6));
                assert_eq!(got.src, IpAddr::V6(A_LL));
                assert!(validate(got, &MCAST).is_ok(), "IPv6 datagram {i}");
            }
        }
    });
}

#[test]
fn ipv6_bad_checksum_is_dropped_by_the_kernel() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        lab.enter_b();
        let b = multicast(Family::Ipv6);
        lab.enter_a();
        let index = ifindex();
        // A plain raw socket: no IPV6_CHECKSUM, sends the bytes as given.
        let raw = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::from(112))).unwrap();
        raw.bind_device(Some(IF.as_bytes())).unwrap();
        raw.set_multicast_if_v6(index).unwrap();
        raw.set_multicast_hops_v6(255).unwrap();
        let to = SockAddr::from(SocketAddrV6::new(MULTICAST_V6, 0, 0, index));
        let good = advert(
            Version::V3,
            vec![A6.into()],
            A_LL.into(),
            MULTICAST_V6.into(),
        );
        let mut bad = good.clone();
        bad[7] ^= 0x55;
        raw.send_to(&bad, &to).unwrap();
        assert_silent(&b, "bad checksum").await;
        raw.send_to(&good, &to).unwrap();
        assert_eq!(recv(&b).await.payload, good);
    });
}

#[test]
fn received_ttl_and_hop_limit_are_reported_and_checked() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        lab.enter_b();
        let b = multicast(Family::Ipv4);
        let b6 = multicast(Family::Ipv6);
        lab.enter_a();
        let index = ifindex();
        // A forged TTL 64 IPv4 advert through a header-including socket.
        let raw = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).unwrap();
        raw.set_header_included_v4(true).unwrap();
        raw.bind_device(Some(IF.as_bytes())).unwrap();
        let msg = advert(Version::V2, vec![A4.into()], A4.into(), MULTICAST_V4.into());
        let mut datagram = vec![0; 20 + msg.len()];
        wire::emit_ipv4_header(&mut datagram, A4, MULTICAST_V4, 9, 64, msg.len()).unwrap();
        datagram[20..].copy_from_slice(&msg);
        raw.send_to(
            &datagram,
            &SockAddr::from(SocketAddrV4::new(MULTICAST_V4, 0)),
        )
        .unwrap();
        // And an IPv6 one with hop limit 64.
        let raw6 = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::from(112))).unwrap();
        raw6.bind_device(Some(IF.as_bytes())).unwrap();
        raw6.set_multicast_if_v6(index).unwrap();
        raw6.set_multicast_hops_v6(64).unwrap();
        let msg6 = advert(
            Version::V3,
            vec![A6.into()],
            A_LL.into(),
            MULTICAST_V6.into(),
        );
        raw6.send_to(
            &msg6,
            &SockAddr::from(SocketAddrV6::new(MULTICAST_V6, 0, 0, index)),
        )
        .unwrap();

        for (got, msg) in [(recv(&b).await, msg), (recv(&b6).await, msg6)] {
            assert_eq!(got.ttl, 64);
            assert_eq!(got.payload, msg);
            assert_eq!(validate(&got, &MCAST), Err(DropReason::Ttl));
            // keepalived's unicast default: no TTL check.
            let unicast_policy = RxPolicy { ..UCAST };
            assert_eq!(
                validate(&got, &unicast_policy),
                Err(DropReason::Destination)
            );
        }
    });
}

#[test]
fn unicast_v2_reaches_the_peer_byte_identical_and_only_the_peer() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        // keepalived's first advert of v2-unicast-pass (auth PASS) replayed.
        let golden = fixture_frames("v2-unicast-pass.pcap", is_vrrp_v4).remove(0);
        assert_eq!(golden[..6], MAC_B, "sent to B's MAC, which the lab reuses");
        let msg = &golden[34..];
        lab.enter_b();
        let b = unicast(B4.into());
        let b_multicast = multicast(Family::Ipv4);
        let mut rx = capture();
        lab.enter_a();
        let a = unicast(A4.into());
        let a_multicast = multicast(Family::Ipv4);
        a.send(A4.into(), B4.into(), msg).unwrap();

        let got = recv(&b).await;
        assert_eq!(
            (got.src, got.dst, got.ttl),
            (IpAddr::V4(A4), IpAddr::V4(B4), 255)
        );
        let repr = validate(&got, &UCAST).unwrap();
        assert_eq!(repr.auth, Auth::SimpleText(*b"password"));
        assert_eq!(
            validate(&got, &MCAST),
            Err(DropReason::Destination),
            "multicast policy rejects unicast"
        );
        assert_eq!(frames_from_a(&mut *rx, 1, is_vrrp_v4), vec![golden.clone()]);
        assert_silent(&b_multicast, "multicast socket of the peer").await;
        assert_silent(&a, "sender").await;
        assert_silent(&a_multicast, "sender's multicast socket").await;
    });
}

#[test]
fn unicast_v3_over_ipv6_reaches_the_peer() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        lab.enter_b();
        let b = unicast(B6.into());
        let b_ll = unicast(B_LL.into());
        lab.enter_a();
        let a = unicast(A6.into());
        let msg = advert(Version::V3, vec![A6.into()], A6.into(), B6.into());
        a.send(A6.into(), B6.into(), &msg).unwrap();
        let got = recv(&b).await;
        assert_eq!(
            (got.src, got.dst, got.ttl),
            (IpAddr::V6(A6), IpAddr::V6(B6), 255)
        );
        assert_eq!(*validate(&got, &UCAST).unwrap().addresses, [IpAddr::V6(A6)]);
        // A socket bound to another of B's addresses does not see it.
        assert_silent(&b_ll, "socket bound to the link-local").await;

        // Link-local unicast needs the scope: the socket supplies it.
        let a_ll = unicast(A_LL.into());
        let msg = advert(Version::V3, vec![A6.into()], A_LL.into(), B_LL.into());
        a_ll.send(A_LL.into(), B_LL.into(), &msg).unwrap();
        let got = recv(&b_ll).await;
        assert_eq!((got.src, got.dst), (IpAddr::V6(A_LL), IpAddr::V6(B_LL)));
        assert!(validate(&got, &UCAST).is_ok());
        assert_silent(&a, "sender").await;
    });
}

#[test]
fn unicast_source_not_configured_yet_still_opens() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        lab.enter_a();
        // IP_FREEBIND: keepalived ≥ 2.3.3 starts without the address.
        let v4 = unicast(Ipv4Addr::new(192, 0, 2, 77).into());
        let v6 = unicast(Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 7).into());
        assert_eq!(v4.spec().family, Family::Ipv4);
        assert_eq!(v6.spec().family, Family::Ipv6);
        // And it can send from it: the peer receives.
        lab.enter_b();
        let b = unicast(B4.into());
        let src = Ipv4Addr::new(192, 0, 2, 77);
        let msg = advert(Version::V2, vec![A4.into()], src.into(), B4.into());
        v4.send(src.into(), B4.into(), &msg).unwrap();
        assert_eq!(recv(&b).await.src, IpAddr::V4(src));
    });
}

#[test]
fn open_and_send_errors_are_typed() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        lab.enter_a();
        let spec = SocketSpec::multicast("nosuch0", 999, Family::Ipv4);
        match VrrpSocket::open(&spec) {
            Err(SocketError::Open { ifname, op, .. }) => {
                assert_eq!(ifname, "nosuch0");
                assert_eq!(op, "bind to the device");
            }
            other => panic!("{other:?}"),
        }
        let bad = SocketSpec {
            mode: Mode::Unicast { source: A6.into() },
            ..SocketSpec::multicast(IF, ifindex(), Family::Ipv4)
        };
        assert!(matches!(
            VrrpSocket::open(&bad),
            Err(SocketError::InvalidSpec { .. })
        ));
        let a = multicast(Family::Ipv4);
        assert!(matches!(
            a.send(A6.into(), MULTICAST_V6.into(), &[0; 8]),
            Err(SocketError::FamilyMismatch { .. })
        ));
        assert!(matches!(
            Announcer::open("nosuch0"),
            Err(AnnounceError::NoInterface(_))
        ));
    });
}

#[test]
fn open_outside_a_runtime_is_an_error_not_a_panic() {
    let Some(lab) = Lab::new() else { return };
    std::thread::scope(|s| {
        s.spawn(|| {
            lab.enter_a();
            let spec = SocketSpec::multicast(IF, ifindex(), Family::Ipv4);
            assert!(matches!(
                VrrpSocket::open(&spec),
                Err(SocketError::Open { .. })
            ));
        });
    });
}

#[test]
fn garp_burst_is_captured_byte_identical_to_keepalived() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        let is_garp = |f: &[u8]| f[12..14] == ETH_ARP && f[21] == 1 && f[28..32] == f[38..42];
        let golden = fixture_frames("v2-multicast-3vips.pcap", is_garp);
        assert_eq!(golden.len(), 15);
        let vips: Vec<IpAddr> = [100, 101, 102]
            .iter()
            .map(|d| IpAddr::V4(Ipv4Addr::new(192, 0, 2, *d)))
            .collect();
        lab.enter_b();
        let mut rx = capture();
        lab.enter_a();
        let announcer = Announcer::open(IF).unwrap();
        assert_eq!(announcer.mac(), MAC_A);
        assert_eq!(announcer.ifindex(), ifindex());
        assert_eq!(announcer.announce(&vips, 5).unwrap(), 15);

        let got = frames_from_a(&mut *rx, 15, is_garp);
        assert_eq!(got, golden);
        assert_eq!(
            got[0][..],
            garp_frame(MAC_A, Ipv4Addr::new(192, 0, 2, 100))[..]
        );
    });
}

#[test]
fn na_burst_is_captured_byte_identical_and_router_flag_follows_forwarding() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        let is_na = |f: &[u8]| f[12..14] == ETH_IPV6 && f[20] == 58 && f[54] == 136;
        let golden = fixture_frames("v3-ipv6-multicast.pcap", is_na);
        assert_eq!(golden.len(), 10);
        let vips: Vec<IpAddr> = vec![
            Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x66).into(),
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x66).into(),
        ];
        lab.enter_b();
        let mut rx = capture();
        lab.enter_a();
        assert!(!is_forwarding(IF));
        let announcer = Announcer::open(IF).unwrap();
        assert_eq!(announcer.announce(&vips, 5).unwrap(), 10);
        assert_eq!(frames_from_a(&mut *rx, 10, is_na), golden);

        // With forwarding on, the Router flag is set.
        std::fs::write(format!("/proc/sys/net/ipv6/conf/{IF}/forwarding"), "1").unwrap();
        assert!(is_forwarding(IF));
        assert_eq!(announcer.announce(&vips[1..], 1).unwrap(), 1);
        let got = frames_from_a(&mut *rx, 1, is_na);
        let IpAddr::V6(vip) = vips[1] else {
            unreachable!()
        };
        assert_eq!(got, vec![unsolicited_na_frame(MAC_A, vip, true)]);
        assert_eq!(got[0][58], 0xa0, "Router and Override");
    });
}

#[test]
fn noarp_interface_gets_no_garp_but_still_nas() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        let vips: Vec<IpAddr> = vec![
            Ipv4Addr::new(192, 0, 2, 100).into(),
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x66).into(),
        ];
        lab.enter_a();
        let mut announcer = Announcer::open(IF).unwrap();
        assert_eq!(announcer.announce(&vips, 2).unwrap(), 4);
        // keepalived sends no GARP on an IFF_NOARP interface.
        run("ip", &["-n", &lab.a, "link", "set", IF, "arp", "off"]);
        announcer.refresh().unwrap();
        assert_eq!(announcer.announce(&vips, 2).unwrap(), 2);
        assert_eq!(announcer.announce(&vips[..1], 5).unwrap(), 0);
    });
}

#[test]
fn sockets_keep_working_across_a_link_flap() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        // The driver keeps its sockets through FAULT: memberships and the
        // device binding must survive the interface going down and up.
        lab.enter_b();
        let b = multicast(Family::Ipv4);
        let b6 = multicast(Family::Ipv6);
        lab.enter_a();
        let a = multicast(Family::Ipv4);
        let a6 = multicast(Family::Ipv6);
        let msg = advert(Version::V3, vec![A4.into()], A4.into(), MULTICAST_V4.into());
        let msg6 = advert(
            Version::V3,
            vec![A6.into()],
            A_LL.into(),
            MULTICAST_V6.into(),
        );

        run("ip", &["-n", &lab.a, "link", "set", IF, "down"]);
        // Down: sending may fail or vanish, but must not panic or block.
        let _ = a.send(A4.into(), MULTICAST_V4.into(), &msg);
        let _ = a6.send(A_LL.into(), MULTICAST_V6.into(), &msg6);
        assert_silent(&b, "link down").await;
        run("ip", &["-n", &lab.a, "link", "set", IF, "up"]);
        lab.wait_for_address(&lab.a, A_LL);
        lab.wait_for_address(&lab.b, B_LL);

        // Different bodies from the ones sent while down, so nothing queued
        // then can pass for them.
        let msg = advert(Version::V3, vec![B4.into()], A4.into(), MULTICAST_V4.into());
        let msg6 = advert(
            Version::V3,
            vec![B6.into()],
            A_LL.into(),
            MULTICAST_V6.into(),
        );
        a.send(A4.into(), MULTICAST_V4.into(), &msg).unwrap();
        a6.send(A_LL.into(), MULTICAST_V6.into(), &msg6).unwrap();
        assert_eq!(recv(&b).await.payload, msg);
        assert_eq!(recv(&b6).await.payload, msg6);
    });
}
