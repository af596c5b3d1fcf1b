//! A driver core on a manual clock, built from keepalived.conf text, with
//! helpers to look into its effects. Shared by the driver rule tests and
//! the driver simulation.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vrrpd::config::{self, Config};
use vrrpd::driver::params::{address_spec, checksum_mode, destinations};
use vrrpd::driver::{self, Driver, Effect, Event, Reload, Running, SocketKey};
use vrrpd::net::socket::Inbound;
use vrrpd::proto::fsm::{Action, State};
use vrrpd::proto::wire::{AdvertRepr, Packet};
use vrrpd::proto::{Family, Instant};

pub const IFINDEX: u32 = 2;
pub const IFNAME: &str = "eth0";

/// keepalived.conf text for a node with `priority` and VRRPv3 0.1 s
/// multicast instances `names` (VRIDs 51, 52, ...), each with a VIP
/// 192.0.2.(30 + n); in sync group G when `group`.
pub fn conf(priority: u8, names: &[&str], group: bool) -> String {
    let mut text = String::from("global_defs {\n vrrp_version 3\n}\n");
    if group {
        text += &format!(
            "vrrp_sync_group G {{\n group {{\n {}\n }}\n}}\n",
            names.join("\n ")
        );
    }
    for (n, name) in names.iter().enumerate() {
        text += &format!(
            "vrrp_instance {name} {{\n state BACKUP\n interface {IFNAME}\n virtual_router_id {}\n priority {priority}\n advert_int 0.1\n virtual_ipaddress {{\n  192.0.2.{}\n }}\n}}\n",
            51 + n,
            30 + n
        );
    }
    text
}

pub fn parse(text: &str) -> Config {
    let loaded = config::load_str("test.conf", text, &Default::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.config
}

pub fn key() -> SocketKey {
    SocketKey {
        ifindex: IFINDEX,
        family: Family::Ipv4,
        unicast_source: None,
    }
}

/// What the shell would have started for `cfg` on a healthy interface,
/// with `source` as our address.
pub fn started(cfg: &config::Instance, source: IpAddr) -> Running {
    let router = driver::new_router(cfg, source).expect("valid params");
    let addresses = cfg
        .vips
        .iter()
        .map(|v| (v.addr, (IFINDEX, address_spec(v))))
        .collect();
    let socket = SocketKey {
        unicast_source: cfg.is_unicast().then_some(source),
        ..key()
    };
    Running::new(cfg.clone(), router, IFINDEX, socket, addresses)
}

/// A reload of `config` where every instance new to `driver` is started.
pub fn reload(driver: &Driver, config: &Config, source: IpAddr) -> Event {
    let started = config
        .instances
        .iter()
        .filter(|c| !driver.runs(c))
        .map(|c| started(c, source))
        .collect();
    let addresses = config
        .instances
        .iter()
        .map(|c| {
            let map: vrrpd::driver::placements::Placements = c
                .vips
                .iter()
                .map(|v| (v.addr, (IFINDEX, address_spec(v))))
                .collect();
            (c.name.clone(), map)
        })
        .collect();
    Event::Reload(Box::new(Reload {
        config: config.clone(),
        started,
        addresses,
        tracking: Default::default(),
        // The shell's lookup: every `dev` is the test interface.
        static_addresses: config
            .static_addresses
            .iter()
            .map(|v| driver::StaticAddress {
                ifindex: IFINDEX,
                spec: address_spec(v),
                no_track: v.no_track,
            })
            .collect(),
    }))
}

pub fn ms(millis: u64) -> Instant {
    Instant::from_millis(millis)
}

pub fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

/// A node: a driver on a manual clock.
pub struct Node {
    pub driver: Driver,
    pub source: IpAddr,
    pub now: Instant,
    /// Every effect so far, with the time it was made.
    pub log: Vec<(Instant, Effect)>,
}

impl Node {
    /// A node running `text` from `source`, started at t=0.
    pub fn start(text: &str, source: IpAddr) -> Node {
        let mut node = Node {
            driver: Driver::new(),
            source,
            now: Instant::ZERO,
            log: Vec::new(),
        };
        let event = reload(&node.driver, &parse(text), source);
        node.handle(event);
        node
    }

    pub fn handle(&mut self, event: Event) -> Vec<usize> {
        let effects = self.driver.handle(self.now, event);
        let first = self.log.len();
        self.log.extend(effects.into_iter().map(|e| (self.now, e)));
        (first..self.log.len()).collect()
    }

    /// Runs the timers due up to `until`, in order; returns the effects'
    /// positions in the log.
    pub fn advance(&mut self, until: Instant) -> Vec<usize> {
        let mut made = Vec::new();
        while let Some(t) = self.driver.poll_at().filter(|t| *t <= until) {
            self.now = self.now.max(t);
            made.extend(self.handle(Event::Timer));
        }
        self.now = self.now.max(until);
        made
    }

    pub fn state(&self, name: &str) -> State {
        let i = self.driver.position(name).expect("instance runs");
        self.driver.instances()[i].router.state()
    }

    /// The transitions in the log since position `from`: (instance, to).
    pub fn transitions_since(&self, from: usize) -> Vec<(String, State)> {
        let mut out = Vec::new();
        for (_, e) in &self.log[from..] {
            if let Effect::Actions { instance, actions } = e {
                for a in actions {
                    if let Action::Transition { to, .. } = a {
                        let name = self.driver.instances()[*instance].name().to_string();
                        out.push((name, *to));
                    }
                }
            }
        }
        out
    }

    /// The adverts the log asks to send since position `from`, as
    /// (instance, repr).
    pub fn adverts_since(&self, from: usize) -> Vec<(usize, AdvertRepr)> {
        let mut out = Vec::new();
        for (_, e) in &self.log[from..] {
            if let Effect::Actions { instance, actions } = e {
                for a in actions {
                    if let Action::SendAdvert(repr) = a {
                        out.push((*instance, repr.clone()));
                    }
                }
            }
        }
        out
    }

    /// The datagram instance `i`'s advert `repr` is on the wire, as a peer
    /// receives it.
    pub fn datagram(&self, i: usize, repr: &AdvertRepr) -> Inbound {
        let r = &self.driver.instances()[i];
        let dst = destinations(&r.cfg).next().expect("a destination");
        datagram(repr, r.router.params().source, dst, checksum_mode(&r.cfg))
    }
}

/// The bytes of `repr` from `src` to `dst`, as received with TTL 255.
pub fn datagram(
    repr: &AdvertRepr,
    src: IpAddr,
    dst: IpAddr,
    mode: vrrpd::proto::wire::ChecksumMode,
) -> Inbound {
    let mut payload = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Packet::new_unchecked(&mut payload[..]), src, dst, mode)
        .expect("emit");
    Inbound {
        src,
        dst,
        ttl: 255,
        payload,
    }
}

pub fn after(t: Instant, d: Duration) -> Instant {
    t + d
}
