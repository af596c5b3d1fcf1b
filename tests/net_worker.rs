//! Privileged tests of the address worker (`daemon::worker`) against the
//! real kernel, in a namespace of their own holding a veth pair (`eth0`
//! where the worker acts, `eth1` where frames are captured): an address
//! that was there before is never removed, a refused one is retried and
//! reported, and gratuitous ARPs / unsolicited NAs leave at the configured
//! interval (`vrrp_garp_interval`, `vrrp_gna_interval`).
//!
//! Only documentation addresses (192.0.2.0/24, 2001:db8::/32); a guard
//! deletes the namespace even when a test fails. Without root every test
//! prints "skipped: needs root" and passes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use vrrpd::config::{GarpGroup, Secs};
use vrrpd::daemon::worker::{VipStatus, WorkHandle, Worker};
use vrrpd::driver::work::{AddressState, Op, Pacing};
use vrrpd::net::netlink::{AddressSpec, Netlink};

#[path = "common/netns.rs"]
mod netns;

const IF: &str = "eth0";
const PEER: &str = "eth1";
const OWNER: &str = "VI_1";

static NEXT: AtomicU32 = AtomicU32::new(0);

fn v4(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, n))
}

fn v6(n: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n))
}

/// A namespace with the veth pair up; deleted on drop.
struct Lab {
    ns: String,
}

impl Lab {
    fn new() -> Option<Lab> {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("skipped: needs root");
            return None;
        }
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let lab = Lab {
            ns: format!("vrrpd-twk{}-{n}", std::process::id()),
        };
        ip(&["netns", "add", &lab.ns]);
        lab.ip_ns(&["link", "add", IF, "type", "veth", "peer", "name", PEER]);
        for dev in [IF, PEER] {
            // No DAD or router solicitations: only our frames on the wire.
            lab.sysctl(&format!("net.ipv6.conf.{dev}.accept_dad=0"));
            lab.sysctl(&format!("net.ipv6.conf.{dev}.router_solicitations=0"));
            lab.ip_ns(&["link", "set", dev, "up"]);
        }
        Some(lab)
    }

    fn ip_ns(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", &self.ns];
        all.extend_from_slice(args);
        ip(&all)
    }

    fn sysctl(&self, setting: &str) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns, "sysctl", "-qw", setting])
            .output()
            .unwrap();
        assert!(out.status.success(), "{setting}: {out:?}");
    }

    fn addr_show(&self) -> String {
        self.ip_ns(&["addr", "show", "dev", IF])
    }

    fn run<'l, F, Fut>(&'l self, test: F)
    where
        F: FnOnce(&'l Lab) -> Fut + Send,
        Fut: std::future::Future<Output = ()>,
    {
        netns::run_on_fresh_thread(Some(&self.ns), || test(self));
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A worker in the current namespace: its handle, the index of `eth0`,
/// and its task.
async fn start() -> (WorkHandle, u32, tokio::task::JoinHandle<()>) {
    let (netlink, _events) = Netlink::open().unwrap();
    let ifindex = netlink.link(IF).await.unwrap().index;
    let (handle, worker) = Worker::new(netlink);
    (handle, ifindex, tokio::spawn(worker.run()))
}

async fn settle(handle: &WorkHandle) {
    tokio::time::timeout(Duration::from_secs(3), handle.barrier())
        .await
        .expect("barrier within 3 s")
        .expect("worker alive");
}

fn state_of(report: &[VipStatus], addr: IpAddr) -> AddressState {
    report
        .iter()
        .find(|v| v.addr == addr)
        .map(|v| v.state.clone())
        .unwrap_or(AddressState::Absent)
}

/// An announcement frame seen on the wire: when the kernel received it
/// (`SO_TIMESTAMPNS`, wall clock; only differences are used), and for
/// which address.
#[derive(Debug, Clone, Copy)]
struct Seen {
    at: Duration,
    addr: IpAddr,
}

/// Captures GARPs and unsolicited NAs arriving on `eth1` for `how_long`,
/// on a thread of its own. The socket is opened here, in the namespace,
/// before the thread starts, and each frame is stamped by the kernel on
/// arrival: a capture thread that runs late (a loaded CI machine) reads
/// frames late but does not compress their gaps.
fn capture(how_long: Duration) -> std::thread::JoinHandle<Vec<Seen>> {
    use nix::sys::socket::{
        recvmsg, setsockopt, socket, sockopt, AddressFamily, ControlMessageOwned, LinkAddr,
        MsgFlags, SockFlag, SockProtocol, SockType,
    };
    let peer_index = nix::net::if_::if_nametoindex(PEER).unwrap() as usize;
    let fd = socket(
        AddressFamily::Packet,
        SockType::Raw,
        SockFlag::empty(),
        SockProtocol::EthAll,
    )
    .unwrap();
    setsockopt(&fd, sockopt::ReceiveTimestampns, &true).unwrap();
    let tick = nix::sys::time::TimeVal::new(0, 20_000);
    setsockopt(&fd, sockopt::ReceiveTimeout, &tick).unwrap();
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        let end = Instant::now() + how_long;
        let mut seen = Vec::new();
        let mut frame = [0u8; 2048];
        let mut space = nix::cmsg_space!(nix::sys::time::TimeSpec);
        while Instant::now() < end {
            let mut iov = [std::io::IoSliceMut::new(&mut frame)];
            let Ok(msg) = recvmsg::<LinkAddr>(
                fd.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::empty(),
            ) else {
                continue;
            };
            // Every interface of the namespace is heard: keep eth1's.
            if msg.address.map(|a| a.ifindex()) != Some(peer_index) {
                continue;
            }
            let Some(at) = msg.cmsgs().unwrap().find_map(|c| match c {
                ControlMessageOwned::ScmTimestampns(t) => Some(Duration::from(t)),
                _ => None,
            }) else {
                continue;
            };
            let len = msg.bytes;
            let frame = &frame[..len];
            match frame.get(12..14) {
                // ARP request: sender IP at 28..32.
                Some([0x08, 0x06]) if frame.len() >= 42 => {
                    let a: [u8; 4] = frame[28..32].try_into().unwrap();
                    seen.push(Seen {
                        at,
                        addr: IpAddr::V4(a.into()),
                    });
                }
                // ICMPv6 neighbour advertisement (type 136): target at 62..78.
                Some([0x86, 0xdd]) if frame.len() >= 78 && frame[20] == 58 && frame[54] == 136 => {
                    let a: [u8; 16] = frame[62..78].try_into().unwrap();
                    seen.push(Seen {
                        at,
                        addr: IpAddr::V6(a.into()),
                    });
                }
                _ => {}
            }
        }
        seen
    })
}

fn gaps(seen: &[Seen]) -> Vec<Duration> {
    seen.windows(2).map(|w| w[1].at - w[0].at).collect()
}

#[test]
fn an_address_present_before_we_added_it_is_never_removed() {
    let Some(lab) = Lab::new() else { return };
    lab.ip_ns(&["addr", "add", "192.0.2.40/32", "dev", IF]);
    lab.run(|lab| async move {
        let (handle, ifindex, task) = start().await;
        handle.add(OWNER, ifindex, AddressSpec::host(v4(40)));
        handle.add(OWNER, ifindex, AddressSpec::host(v4(41)));
        settle(&handle).await;
        let report = handle.addresses();
        assert_eq!(state_of(&report, v4(40)), AddressState::PresentBefore);
        assert_eq!(state_of(&report, v4(41)), AddressState::Installed);
        handle.remove(OWNER, ifindex, AddressSpec::host(v4(40)));
        handle.remove(OWNER, ifindex, AddressSpec::host(v4(41)));
        settle(&handle).await;
        let shown = lab.addr_show();
        assert!(shown.contains("192.0.2.40/32"), "{shown}");
        assert!(!shown.contains("192.0.2.41"), "{shown}");
        assert_eq!(
            state_of(&handle.addresses(), v4(40)),
            AddressState::PresentBefore
        );
        // Dropping the handle stops the worker.
        drop(handle);
        tokio::time::timeout(Duration::from_secs(3), task)
            .await
            .expect("worker stops")
            .unwrap();
    });
}

#[test]
fn the_workers_own_removals_are_told_apart_from_someone_elses() {
    // A reload that removes an address makes the kernel report it gone;
    // that report must not read as "deleted by someone else" (which makes
    // a Master resign), however soon the next reload adds it back.
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        let (handle, ifindex, _task) = start().await;
        handle.add(OWNER, ifindex, AddressSpec::host(v4(42)));
        settle(&handle).await;
        handle.remove(OWNER, ifindex, AddressSpec::host(v4(42)));
        settle(&handle).await;
        handle.add(OWNER, ifindex, AddressSpec::host(v4(42)));
        settle(&handle).await;
        assert!(
            handle.own_removal(ifindex, v4(42)),
            "the echo of our removal"
        );
        assert!(!handle.own_removal(ifindex, v4(42)), "consumed once");
        // Someone else deletes it now: not ours.
        lab.ip_ns(&["addr", "del", "192.0.2.42/32", "dev", IF]);
        assert!(!handle.own_removal(ifindex, v4(42)));
        // A removal of an address that is not there expects no echo.
        handle.remove(OWNER, ifindex, AddressSpec::host(v4(42)));
        settle(&handle).await;
        assert!(!handle.own_removal(ifindex, v4(42)));
    });
}

#[test]
fn held_follows_what_the_kernel_confirmed_and_says_when_it_moved() {
    // The runtime record `vrrpd resign` releases is rebuilt on this
    // notification, from `held`.
    let Some(lab) = Lab::new() else { return };
    lab.ip_ns(&["addr", "add", "192.0.2.43/32", "dev", IF]);
    lab.run(|_| async move {
        let (handle, ifindex, _task) = start().await;
        let moved = handle.held_changed();
        let mut spec = AddressSpec::host(v4(44));
        spec.prefix = 24;
        handle.add(OWNER, ifindex, spec.clone());
        handle.add(OWNER, ifindex, AddressSpec::host(v4(43)));
        tokio::time::timeout(Duration::from_secs(3), moved.notified())
            .await
            .expect("told within 3 s");
        settle(&handle).await;
        let held = handle.held();
        assert_eq!(held.len(), 1, "not the address present before: {held:?}");
        assert_eq!((held[0].owner.as_str(), held[0].ifindex), (OWNER, ifindex));
        assert_eq!(held[0].spec, spec, "with the prefix it was added with");
        handle.remove(OWNER, ifindex, spec);
        tokio::time::timeout(Duration::from_secs(3), moved.notified())
            .await
            .expect("told within 3 s");
        settle(&handle).await;
        assert!(handle.held().is_empty());
    });
}

#[test]
fn a_refused_address_is_reported_and_retried_with_backoff() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|_| async move {
        let (handle, _, _task) = start().await;
        // No such interface: the kernel refuses (ENODEV).
        handle.add(OWNER, 999_999, AddressSpec::host(v4(50)));
        settle(&handle).await;
        tokio::time::sleep(Duration::from_millis(350)).await;
        let report = handle.addresses();
        let AddressState::Failed {
            op,
            attempts,
            error,
            ..
        } = state_of(&report, v4(50))
        else {
            panic!("{report:?}");
        };
        assert_eq!(op, Op::Add);
        // Tried at 0, 0.1 and 0.3 s; next at 0.7 s.
        assert!((2..=4).contains(&attempts), "{attempts}");
        assert!(error.contains("192.0.2.50"), "{error}");
        assert!(report[0].retry_in.is_some());
        // No longer wanted: the retries stop.
        handle.remove(OWNER, 999_999, AddressSpec::host(v4(50)));
        settle(&handle).await;
        assert!(!matches!(
            state_of(&handle.addresses(), v4(50)),
            AddressState::Failed { op: Op::Add, .. }
        ));
    });
}

#[test]
fn garps_and_nas_leave_at_their_configured_intervals() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|_| async move {
        let (handle, ifindex, _task) = start().await;
        let garp = Duration::from_millis(100);
        let gna = Duration::from_millis(60);
        handle.set_pacing(Pacing { garp, gna }, vec![]);
        for a in [v4(41), v4(42), v6(0x41)] {
            handle.add(OWNER, ifindex, AddressSpec::host(a));
        }
        settle(&handle).await;
        let seen = capture(Duration::from_millis(1200));
        tokio::time::sleep(Duration::from_millis(50)).await;
        handle.announce(OWNER, ifindex, &[v4(41), v4(42), v6(0x41)], 3);
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let seen = seen.join().unwrap();
        let arps: Vec<Seen> = seen.iter().copied().filter(|s| s.addr.is_ipv4()).collect();
        let nas: Vec<Seen> = seen.iter().copied().filter(|s| s.addr.is_ipv6()).collect();
        let order: Vec<IpAddr> = arps.iter().map(|s| s.addr).collect();
        assert_eq!(
            order,
            vec![v4(41), v4(42), v4(41), v4(42), v4(41), v4(42)],
            "{seen:?}"
        );
        assert_eq!(nas.len(), 3, "{seen:?}");
        // The sender spaces them; allow the capture thread a little jitter.
        let slack = Duration::from_millis(5);
        for gap in gaps(&arps) {
            assert!(gap + slack >= garp, "GARP gap {gap:?}: {:?}", gaps(&arps));
            assert!(gap < garp * 3, "GARP gap {gap:?}: {:?}", gaps(&arps));
        }
        for gap in gaps(&nas) {
            assert!(gap + slack >= gna, "NA gap {gap:?}: {:?}", gaps(&nas));
            assert!(gap < gna * 3, "NA gap {gap:?}: {:?}", gaps(&nas));
        }
    });
}

#[test]
fn without_pacing_a_burst_leaves_at_once() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|_| async move {
        let (handle, ifindex, _task) = start().await;
        for a in [v4(41), v4(42)] {
            handle.add(OWNER, ifindex, AddressSpec::host(a));
        }
        settle(&handle).await;
        let seen = capture(Duration::from_millis(500));
        tokio::time::sleep(Duration::from_millis(50)).await;
        // A flood of bursts for one instance merges into one.
        for _ in 0..1000 {
            handle.announce(OWNER, ifindex, &[v4(41), v4(42)], 3);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let seen = seen.join().unwrap();
        assert_eq!(seen.len(), 6, "{seen:?}");
        let span = seen[5].at - seen[0].at;
        assert!(span < Duration::from_millis(50), "{span:?}");
    });
}

#[test]
fn a_garp_group_paces_its_interfaces_from_the_configuration() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|_| async move {
        let (handle, ifindex, _task) = start().await;
        let config = vrrpd::config::Config {
            garp_groups: vec![GarpGroup {
                garp_interval: Secs::from_micros(80_000),
                gna_interval: Secs::ZERO,
                interfaces: vec![IF.into(), "no-such-if0".into()],
            }],
            ..vrrpd::config::Config::default()
        };
        handle.configure(&config);
        handle.add(OWNER, ifindex, AddressSpec::host(v4(43)));
        settle(&handle).await;
        let seen = capture(Duration::from_millis(700));
        tokio::time::sleep(Duration::from_millis(50)).await;
        handle.announce(OWNER, ifindex, &[v4(43)], 4);
        tokio::time::sleep(Duration::from_millis(700)).await;
        let seen = seen.join().unwrap();
        assert_eq!(seen.len(), 4, "{seen:?}");
        for gap in gaps(&seen) {
            assert!(
                gap + Duration::from_millis(5) >= Duration::from_millis(80),
                "{:?}",
                gaps(&seen)
            );
        }
    });
}
