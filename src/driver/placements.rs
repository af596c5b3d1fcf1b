//! Where each virtual address of one instance is installed: the interface
//! and the exact spec it was added with (the kernel deletes an address only
//! with its own prefix).
//!
//! A handful of entries per instance, looked up by address: a vector holds
//! them in configuration order in one allocation of exactly their size,
//! where a hash map took 48 bytes inline and four buckets for one address
//! (0.36 MB at 1000 instances, issue 16).

use std::net::IpAddr;

use crate::net::netlink::AddressSpec;

/// The interface index and spec of one virtual address.
pub type Placement = (u32, AddressSpec);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placements {
    entries: Vec<(IpAddr, Placement)>,
}

impl Placements {
    pub fn get(&self, addr: &IpAddr) -> Option<&Placement> {
        self.entries.iter().find(|(a, _)| a == addr).map(|(_, p)| p)
    }

    /// Sets where `addr` goes; returns where it went before.
    pub fn insert(&mut self, addr: IpAddr, placement: Placement) -> Option<Placement> {
        match self.entries.iter_mut().find(|(a, _)| *a == addr) {
            Some((_, p)) => Some(std::mem::replace(p, placement)),
            None => {
                self.push(addr, placement);
                None
            }
        }
    }

    /// Adds `addr` unless it is already placed (then the first stays).
    pub fn insert_if_absent(&mut self, addr: IpAddr, placement: Placement) {
        if self.get(&addr).is_none() {
            self.push(addr, placement);
        }
    }

    /// Grows by exactly one: a vector's first push reserves four entries
    /// (344 KB at 1000 one-address instances, where one is 84 KB).
    fn push(&mut self, addr: IpAddr, placement: Placement) {
        self.entries.reserve_exact(1);
        self.entries.push((addr, placement));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&IpAddr, &Placement)> {
        self.entries.iter().map(|(a, p)| (a, p))
    }

    pub fn values(&self) -> impl Iterator<Item = &Placement> {
        self.entries.iter().map(|(_, p)| p)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Placement> {
        self.entries.iter_mut().map(|(_, p)| p)
    }

    /// Takes every entry out, in order.
    pub fn drain(&mut self) -> impl Iterator<Item = (IpAddr, Placement)> + '_ {
        self.entries.drain(..)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl FromIterator<(IpAddr, Placement)> for Placements {
    /// A repeated address keeps its last placement, as a map's `collect`.
    fn from_iter<I: IntoIterator<Item = (IpAddr, Placement)>>(iter: I) -> Self {
        let mut placements = Placements::default();
        for (addr, placement) in iter {
            placements.insert(addr, placement);
        }
        placements
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(a: &str) -> Placement {
        (2, AddressSpec::host(a.parse().unwrap()))
    }

    #[test]
    fn lookups_replacement_and_configuration_order() {
        let a: IpAddr = "192.0.2.30".parse().unwrap();
        let b: IpAddr = "2001:db8::30".parse().unwrap();
        let mut p: Placements = [(b, host("2001:db8::30")), (a, host("192.0.2.30"))]
            .into_iter()
            .collect();
        assert_eq!(p.iter().map(|(x, _)| *x).collect::<Vec<_>>(), [b, a]);
        assert_eq!(p.get(&a).map(|x| x.0), Some(2));
        assert_eq!(p.insert(a, (7, AddressSpec::host(a))).map(|x| x.0), Some(2));
        assert_eq!(p.get(&a).map(|x| x.0), Some(7));
        p.insert_if_absent(a, (9, AddressSpec::host(a)));
        assert_eq!(p.get(&a).map(|x| x.0), Some(7), "the first placement stays");
        assert_eq!(p.len(), 2);
        for (ix, _) in p.values_mut() {
            *ix = 3;
        }
        assert!(p.iter().all(|(_, (ix, _))| *ix == 3));
        assert_eq!(p.drain().count(), 2);
        assert!(p.is_empty() && p.get(&a).is_none());
        let mut one = Placements::default();
        one.insert(a, host("192.0.2.30"));
        assert_eq!(
            one.entries.capacity(),
            1,
            "one address, one entry allocated"
        );
    }

    #[test]
    fn a_repeated_address_keeps_its_last_placement() {
        let a: IpAddr = "192.0.2.30".parse().unwrap();
        let p: Placements = [
            (a, (1, AddressSpec::host(a))),
            (a, (4, AddressSpec::host(a))),
        ]
        .into_iter()
        .collect();
        assert_eq!((p.len(), p.get(&a).map(|x| x.0)), (1, Some(4)));
    }
}
