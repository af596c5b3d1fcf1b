//! Sending one instance's advert through its socket: the bytes for each
//! destination (the group or every unicast peer), now or batched.

use std::net::IpAddr;

use crate::config::Instance;
use crate::driver::params::{destinations, send_ttl};
use crate::net::socket::{SocketError, VrrpSocket};
use crate::proto::wire::{AdvertRepr, ChecksumMode, Packet, WireError};

/// Why one advert to one destination did not leave.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("cannot build the advert: {0}")]
    Build(#[from] WireError),
    #[error(transparent)]
    Send(#[from] SocketError),
}

/// When [`send_advert`] hands an advert to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Now,
    /// IPv4 adverts wait for [`VrrpSocket::flush`], which reports their
    /// send failures.
    Batched,
}

/// Sends `repr` from `src` to every destination of `inst` (the group, or
/// each unicast peer: the v3 checksum covers the destination, so each gets
/// its own bytes); `on_result` hears one result per destination.
pub fn send_advert(
    sock: &VrrpSocket,
    inst: &Instance,
    mode: ChecksumMode,
    src: IpAddr,
    repr: &AdvertRepr,
    delivery: Delivery,
    on_result: impl FnMut(IpAddr, Result<(), SendError>),
) {
    let framing = Framing {
        checksum: mode,
        ttl: send_ttl(inst),
    };
    send_to(
        sock,
        destinations(inst),
        framing,
        src,
        repr,
        delivery,
        on_result,
    );
}

/// An advert this long or shorter is built on the stack (a v2 advert with
/// 250 IPv4 addresses, a v3 one with 63 IPv6 ones): a Master of 1000
/// instances builds 1000 a second, and each heap buffer showed in profiles.
const STACK_ADVERT: usize = 1024;

/// How an advert goes on the wire beyond its bytes: its checksum's mode
/// and its IPv4 TTL / IPv6 hop limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing {
    pub checksum: ChecksumMode,
    pub ttl: u8,
}

/// Sends `repr` from `src` to each of `dsts`, framed as `framing` says;
/// `on_result` hears one result per destination.
pub fn send_to(
    sock: &VrrpSocket,
    dsts: impl IntoIterator<Item = IpAddr>,
    framing: Framing,
    src: IpAddr,
    repr: &AdvertRepr,
    delivery: Delivery,
    mut on_result: impl FnMut(IpAddr, Result<(), SendError>),
) {
    let len = repr.buffer_len();
    let mut stack = [0u8; STACK_ADVERT];
    let mut heap = Vec::new();
    let buf: &mut [u8] = match stack.get_mut(..len) {
        Some(buf) => buf,
        None => {
            heap.resize(len, 0);
            &mut heap
        }
    };
    let Framing { checksum, ttl } = framing;
    for dst in dsts {
        let sent = repr
            .emit(&mut Packet::new_unchecked(&mut *buf), src, dst, checksum)
            .map_err(SendError::from)
            .and_then(|()| {
                match delivery {
                    Delivery::Now => sock.send_ttl(src, dst, ttl, buf),
                    Delivery::Batched => sock.queue_ttl(repr.vrid.get(), src, dst, ttl, buf),
                }
                .map_err(SendError::from)
            });
        on_result(dst, sent);
    }
}
