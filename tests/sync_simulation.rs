//! Sync groups on a simulated LAN: two nodes, each running two instances
//! (VRIDs 1 and 2) in one `vrrp_sync_group`, coordinated after every input
//! by `proto::sync::decide` as the driver does. Seeded faults and priority
//! changes on single members or whole nodes, with or without fast handover.
//!
//! Properties checked on every seed:
//! - after every coordinated step, a node's members agree: all Master or
//!   none, all Fault or none (the group never splits its VIPs);
//! - once the events stop, within a bound: exactly one Master per VRID,
//!   both on the same node, and it stays.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vrrpd::proto::fsm::{Action, Input, Params, State, VirtualRouter};
use vrrpd::proto::sync::{decide, Member};
use vrrpd::proto::wire::AdvertRepr;
use vrrpd::proto::{Centis, Instant, Priority, Version, Vrid};

const SEEDS: u64 = 300;
const MEMBERS: usize = 2;
const DELAY: Duration = Duration::from_millis(1);

struct Node {
    members: Vec<VirtualRouter>,
    group: State,
}

struct Sim {
    nodes: Vec<Node>,
    /// (at, to node, member, advert)
    in_flight: Vec<(Instant, usize, usize, AdvertRepr, IpAddr)>,
    now: Instant,
    log: Vec<String>,
}

fn address(node: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, u8::try_from(node + 1).unwrap()))
}

impl Sim {
    fn new(rng: &mut fastrand::Rng) -> Sim {
        let fast = rng.bool();
        let nodes = (0..2)
            .map(|n| {
                let members = (0..MEMBERS)
                    .map(|m| {
                        let vrid = Vrid::new(u8::try_from(m + 1).unwrap()).unwrap();
                        let vip = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10 + m as u8));
                        let mut p = Params::new(Version::V3, vrid, address(n), vec![vip]);
                        p.advert_interval = Centis(10);
                        p.priority = Priority(if n == 0 { 150 } else { 100 });
                        p.fast_handover = fast;
                        p.sync_group = true;
                        VirtualRouter::new(p).unwrap()
                    })
                    .collect();
                Node {
                    members,
                    group: State::Initialize,
                }
            })
            .collect();
        Sim {
            nodes,
            in_flight: Vec::new(),
            now: Instant::from_millis(0),
            log: Vec::new(),
        }
    }

    /// Feeds one member, executes its adverts, then lets the group decide.
    fn feed(&mut self, n: usize, m: usize, input: Input) {
        let actions = self.nodes[n].members[m].handle(self.now, input);
        let left_master = actions.iter().any(|a| {
            matches!(
                a,
                Action::Transition {
                    from: State::Master,
                    to: State::Backup,
                    ..
                }
            )
        });
        self.execute(n, m, &actions);
        let view: Vec<Member> = self.nodes[n]
            .members
            .iter()
            .map(|r| Member {
                state: r.state(),
                own_fault: r.own_fault(),
                wants_master: r.wants_master(),
                held: r.sync_held(),
            })
            .collect();
        let d = decide(self.nodes[n].group, &view, m, left_master);
        for (j, to) in d.moves {
            let actions = self.nodes[n].members[j].handle(self.now, Input::Sync(to));
            self.execute(n, j, &actions);
        }
        if let Some(g) = d.group {
            self.log
                .push(format!("{:?} node {n} group -> {g:?}", self.now));
            self.nodes[n].group = g;
        }
        self.check_consistent(n);
    }

    fn execute(&mut self, n: usize, m: usize, actions: &[Action]) {
        for a in actions {
            match a {
                Action::SendAdvert(repr) => {
                    let to = 1 - n;
                    self.in_flight
                        .push((self.now + DELAY, to, m, repr.clone(), address(n)));
                }
                Action::Transition { from, to, reason } => self.log.push(format!(
                    "{:?} node {n} member {m}: {from:?} -> {to:?} ({reason:?})",
                    self.now
                )),
                _ => {}
            }
        }
    }

    fn check_consistent(&self, n: usize) {
        let states: Vec<State> = self.nodes[n].members.iter().map(|r| r.state()).collect();
        for s in [State::Master, State::Fault] {
            let count = states.iter().filter(|x| **x == s).count();
            assert!(
                count == 0 || count == states.len(),
                "node {n} split: {states:?}\n{}",
                self.log.join("\n")
            );
        }
    }

    /// Runs until `until`, handling deliveries and timers in time order.
    fn run_until(&mut self, until: Instant) {
        let mut steps = 0u32;
        loop {
            steps += 1;
            assert!(
                steps < 200_000,
                "no progress at {:?}\n{}",
                self.now,
                self.log[self.log.len().saturating_sub(40)..].join("\n")
            );
            let timer = self
                .nodes
                .iter()
                .enumerate()
                .flat_map(|(n, node)| {
                    node.members
                        .iter()
                        .enumerate()
                        .filter_map(move |(m, r)| r.poll_at().map(|t| (t, n, m)))
                })
                .min_by_key(|(t, _, _)| *t);
            let delivery = self
                .in_flight
                .iter()
                .enumerate()
                .min_by_key(|(_, d)| d.0)
                .map(|(i, d)| (d.0, i));
            let next = match (timer, delivery) {
                (Some(t), Some(d)) => t.0.min(d.0),
                (Some(t), None) => t.0,
                (None, Some(d)) => d.0,
                (None, None) => Instant::from_micros(u64::MAX),
            };
            if next > until {
                self.now = until;
                return;
            }
            self.now = next;
            if let Some((at, i)) = delivery.filter(|d| d.0 == next) {
                let (_, to, m, repr, src) = self.in_flight.swap_remove(i);
                debug_assert_eq!(at, next);
                self.feed(to, m, Input::Advert { src, repr });
            } else if let Some((_, n, m)) = timer {
                self.feed(n, m, Input::Timeout);
            }
        }
    }
}

fn run_seed(seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut sim = Sim::new(&mut rng);
    for n in 0..2 {
        for m in 0..MEMBERS {
            sim.feed(n, m, Input::Startup);
        }
    }
    let mut t = 0u64;
    let mut faults = [[false; MEMBERS]; 2];
    let mut adjust = [[0i32; MEMBERS]; 2];
    for _ in 0..rng.usize(3..12) {
        t += rng.u64(50..1500);
        sim.run_until(Instant::from_millis(t));
        let n = rng.usize(0..2);
        let whole_node = rng.bool();
        let members: Vec<usize> = if whole_node {
            (0..MEMBERS).collect()
        } else {
            vec![rng.usize(0..MEMBERS)]
        };
        let fault = rng.u8(0..3) == 0;
        let weight = [-80, -20, 0, 20][rng.usize(0..4)];
        for m in members {
            if fault {
                faults[n][m] = !faults[n][m];
                sim.feed(n, m, Input::Fault(faults[n][m]));
            } else {
                adjust[n][m] = weight;
                sim.feed(n, m, Input::PriorityChanged { adjustment: weight });
            }
        }
        sim.log.push(format!(
            "{t} ms: node {n} faults {faults:?} adjust {adjust:?}"
        ));
    }
    // Quiet: every fault cleared, then the bound (3 intervals + skew +
    // room for one more round of waiting members).
    t += 100;
    sim.run_until(Instant::from_millis(t));
    for (n, node) in faults.iter().enumerate() {
        for (m, faulted) in node.iter().enumerate() {
            if *faulted {
                sim.feed(n, m, Input::Fault(false));
            }
        }
    }
    t += 2000;
    sim.run_until(Instant::from_millis(t));
    let masters = |sim: &Sim| -> Vec<(usize, usize)> {
        (0..2)
            .flat_map(|n| (0..MEMBERS).map(move |m| (n, m)))
            .filter(|(n, m)| sim.nodes[*n].members[*m].state() == State::Master)
            .collect()
    };
    let settled = masters(&sim);
    assert_eq!(
        settled.len(),
        MEMBERS,
        "seed {seed}: one master per VRID: {settled:?}\n{}",
        sim.log.join("\n")
    );
    assert!(
        settled.iter().all(|(n, _)| *n == settled[0].0),
        "seed {seed}: masters on one node: {settled:?}\n{}",
        sim.log.join("\n")
    );
    sim.run_until(Instant::from_millis(t + 3000));
    assert_eq!(masters(&sim), settled, "seed {seed}: stays");
}

#[test]
fn sync_groups_move_together_and_converge_over_many_seeds() {
    for seed in 0..SEEDS {
        run_seed(seed);
    }
}
