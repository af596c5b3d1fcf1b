//! Privileged tests of `net::netlink` against the real kernel: interface
//! lookups, virtual addresses in and out (what `ip addr` then shows), and the
//! link and address events.
//!
//! Each test makes its own network namespace holding a veth pair (`eth0`,
//! 02:00:00:00:00:01, and its peer `eth1`); nothing is created in the host
//! namespace, and a guard deletes the namespace even when the test fails.
//! The test runs on a thread of its own that setns(2)-es into the namespace.
//!
//! Without root every test prints "skipped: needs root" and passes.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::mpsc::Receiver;
use vrrpd::net::netlink::{AddressSpec, NetEvent, Netlink, NetlinkError};

#[path = "common/netns.rs"]
mod netns;

const IF: &str = "eth0";
const PEER: &str = "eth1";
const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const VIP4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 30);
const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x30);
const WAIT: Duration = Duration::from_secs(3);

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A namespace with the veth pair up; deleted on drop.
struct Lab {
    ns: String,
}

impl Lab {
    /// `None` (after printing why) when not root.
    fn new() -> Option<Lab> {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("skipped: needs root");
            return None;
        }
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let lab = Lab {
            ns: format!("vrrpd-tnl{}-{n}", std::process::id()),
        };
        lab.ip(&["netns", "add", &lab.ns]);
        lab.ip_ns(&[
            "link",
            "add",
            IF,
            "address",
            "02:00:00:00:00:01",
            "type",
            "veth",
            "peer",
            "name",
            PEER,
        ]);
        for dev in [IF, PEER] {
            lab.ip_ns(&["link", "set", dev, "up"]);
        }
        Some(lab)
    }

    fn ip(&self, args: &[&str]) -> String {
        let out = Command::new("ip").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn ip_ns(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", &self.ns];
        all.extend_from_slice(args);
        self.ip(&all)
    }

    fn addr_show(&self) -> String {
        self.ip_ns(&["addr", "show", "dev", IF])
    }

    /// Runs `test` in the namespace on a fresh thread with a current-thread
    /// runtime, so the test harness's threads never change namespace.
    fn run<'l, F, Fut>(&'l self, test: F)
    where
        F: FnOnce(&'l Lab) -> Fut + Send,
        Fut: Future<Output = ()>,
    {
        netns::run_on_fresh_thread(Some(&self.ns), || test(self));
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

/// The next event that `want` accepts, skipping the others.
async fn event(rx: &mut Receiver<NetEvent>, want: impl Fn(&NetEvent) -> bool) -> NetEvent {
    tokio::time::timeout(WAIT, async {
        loop {
            let ev = rx.recv().await.expect("event channel closed");
            if want(&ev) {
                return ev;
            }
        }
    })
    .await
    .expect("no such event within 3 s")
}

#[test]
fn interfaces_are_found_by_name_and_by_index() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|_| async {
        let (nl, _events) = Netlink::open().unwrap();
        let link = nl.link(IF).await.unwrap();
        assert_eq!(link.index, nix::net::if_::if_nametoindex(IF).unwrap());
        assert_eq!(link.name, IF);
        assert_eq!(link.mac, Some(MAC));
        assert!(link.running, "{link:?}");
        assert_eq!(nl.link_by_index(link.index).await.unwrap(), link);
        let lo = nl.link("lo").await.unwrap();
        assert!(!lo.running, "lo is down in a fresh namespace: {lo:?}");
        assert!(matches!(
            nl.link("vrrpd-none0").await,
            Err(NetlinkError::NoSuchInterface(n)) if n == "vrrpd-none0"
        ));
        assert!(matches!(
            nl.link_by_index(999_999).await,
            Err(NetlinkError::NoSuchInterface(_))
        ));
    });
}

#[test]
fn ipv4_vip_with_label_broadcast_and_scope_goes_in_and_out() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        let (nl, _events) = Netlink::open().unwrap();
        let index = nl.link(IF).await.unwrap().index;
        let spec = AddressSpec {
            addr: IpAddr::V4(VIP4),
            prefix: 24,
            broadcast: Some(Ipv4Addr::new(192, 0, 2, 255)),
            label: Some("eth0:vip".into()),
            scope: 253,
            nodad: false,
        };
        assert!(nl.add_address(index, &spec).await.unwrap());
        let shown = lab.addr_show();
        assert!(
            shown.contains("inet 192.0.2.30/24 brd 192.0.2.255 scope link eth0:vip"),
            "{shown}"
        );
        assert!(!nl.add_address(index, &spec).await.unwrap(), "second add");
        assert!(nl
            .addresses(index)
            .await
            .unwrap()
            .contains(&(IpAddr::V4(VIP4), 24)));
        assert!(nl.remove_address(index, &spec).await.unwrap());
        assert!(!lab.addr_show().contains("192.0.2.30"));
        assert!(
            !nl.remove_address(index, &spec).await.unwrap(),
            "second remove"
        );
        assert!(!nl
            .addresses(index)
            .await
            .unwrap()
            .iter()
            .any(|(a, _)| *a == IpAddr::V4(VIP4)));
    });
}

#[test]
fn ipv6_host_vip_is_added_without_dad() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        let (nl, _events) = Netlink::open().unwrap();
        let index = nl.link(IF).await.unwrap().index;
        let spec = AddressSpec::host(IpAddr::V6(VIP6));
        assert!(nl.add_address(index, &spec).await.unwrap());
        let shown = lab.addr_show();
        let line = shown
            .lines()
            .find(|l| l.contains("2001:db8::30/128"))
            .unwrap_or_else(|| panic!("{shown}"));
        assert!(
            line.contains("nodad") && !line.contains("tentative"),
            "{line}"
        );
        let present = nl.addresses(index).await.unwrap();
        assert!(present.contains(&(IpAddr::V6(VIP6), 128)), "{present:?}");
        assert!(nl.remove_address(index, &spec).await.unwrap());
        assert!(!lab.addr_show().contains("2001:db8::30"));
    });
}

#[test]
fn requests_on_a_missing_interface_are_typed_errors() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|_| async {
        let (nl, _events) = Netlink::open().unwrap();
        let spec = AddressSpec::host(IpAddr::V4(VIP4));
        let err = nl.add_address(999_999, &spec).await.unwrap_err();
        assert!(
            matches!(
                err,
                NetlinkError::Address {
                    op: "adding",
                    index: 999_999,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("adding 192.0.2.30 on ifindex 999999: "),
            "{err}"
        );
        // Removing from a missing interface is "not there", as for keepalived.
        assert!(!nl.remove_address(999_999, &spec).await.unwrap());
    });
}

#[test]
fn link_and_address_events_arrive() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        let (nl, mut events) = Netlink::open().unwrap();
        let index = nl.link(IF).await.unwrap().index;
        let spec = AddressSpec::host(IpAddr::V4(VIP4));
        // Someone else (`ip`) adds and removes: vrrpd must hear both.
        lab.ip_ns(&["addr", "add", "192.0.2.30/32", "dev", IF]);
        let ev = event(&mut events, |e| matches!(e, NetEvent::AddressAdded { .. })).await;
        assert_eq!(
            ev,
            NetEvent::AddressAdded {
                index,
                addr: IpAddr::V4(VIP4),
                prefix: 32
            }
        );
        assert!(nl.remove_address(index, &spec).await.unwrap());
        let ev = event(&mut events, |e| {
            matches!(e, NetEvent::AddressRemoved { .. })
        })
        .await;
        assert_eq!(
            ev,
            NetEvent::AddressRemoved {
                index,
                addr: IpAddr::V4(VIP4),
                prefix: 32
            }
        );
        // The peer going down takes the carrier (IFF_RUNNING) away.
        lab.ip_ns(&["link", "set", PEER, "down"]);
        let ev = event(
            &mut events,
            |e| matches!(e, NetEvent::Link(l) if l.index == index && !l.running),
        )
        .await;
        let NetEvent::Link(link) = ev else {
            unreachable!()
        };
        assert_eq!((link.name.as_str(), link.mac), (IF, Some(MAC)));
        lab.ip_ns(&["link", "set", PEER, "up"]);
        event(
            &mut events,
            |e| matches!(e, NetEvent::Link(l) if l.index == index && l.running),
        )
        .await;
        lab.ip_ns(&["link", "del", IF]);
        event(&mut events, |e| *e == NetEvent::LinkRemoved { index }).await;
    });
}

#[test]
fn many_concurrent_requests_each_get_their_own_answer() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|lab| async move {
        let (nl, _events) = Netlink::open().unwrap();
        let index = nl.link(IF).await.unwrap().index;
        let specs: Vec<AddressSpec> = (1..=40)
            .map(|i| AddressSpec::host(IpAddr::V4(Ipv4Addr::new(198, 51, 100, i))))
            .collect();
        // Adds, lookups and dumps interleaved on clones of one handle.
        let adds = specs.iter().map(|s| {
            let nl = nl.clone();
            async move { nl.add_address(index, s).await.unwrap() }
        });
        let lookups = (0..20).map(|_| {
            let nl = nl.clone();
            async move { nl.link(IF).await.unwrap().index }
        });
        let (added, indexes) = tokio::join!(
            futures_util::future::join_all(adds),
            futures_util::future::join_all(lookups)
        );
        assert!(added.iter().all(|a| *a));
        assert!(indexes.iter().all(|i| *i == index));
        let present = nl.addresses(index).await.unwrap();
        for s in &specs {
            assert!(present.contains(&(s.addr, 32)), "{} missing", s.addr);
        }
        assert_eq!(lab.addr_show().matches("198.51.100.").count(), 40);
    });
}

#[test]
fn open_outside_a_runtime_is_an_error_not_a_panic() {
    // Opening the sockets needs no privilege; registering them needs a runtime.
    assert!(matches!(Netlink::open(), Err(NetlinkError::Open(_))));
}

/// keepalived's `vrrp_netlink_*_rcv_bufs` and `_force`: SO_RCVBUF is
/// capped by net.core.rmem_max, SO_RCVBUFFORCE (root) is not; the kernel
/// reports twice the size set. Unset, the kernel's default stays.
#[test]
fn netlink_receive_buffers_as_configured() {
    let Some(lab) = Lab::new() else { return };
    lab.run(|_| async {
        let rmem_max: u32 = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let big = rmem_max.saturating_mul(2).min(64 << 20);
        let bufs = vrrpd::config::NetlinkRcvBufs {
            cmd: big,
            cmd_force: true,
            monitor: big,
            monitor_force: false,
        };
        let (_nl, _events, got) = Netlink::open_with(&bufs).unwrap();
        assert_eq!(got.cmd, big * 2, "forced past rmem_max {rmem_max}");
        assert_eq!(got.monitor, rmem_max * 2, "capped at rmem_max");
        let small = vrrpd::config::NetlinkRcvBufs {
            cmd: 65536,
            ..Default::default()
        };
        let (_nl, _events, got) = Netlink::open_with(&small).unwrap();
        assert_eq!(got.cmd, 131072);
    });
}
