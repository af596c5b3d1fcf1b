//! Sending one instance's advert through its socket: the bytes for each
//! destination (the group or every unicast peer), now or batched.

use std::net::IpAddr;

use crate::config::Instance;
use crate::driver::auth::AuthState;
use crate::driver::params::{destinations, send_ttl};
use crate::net::socket::{SocketError, VrrpSocket};
use crate::proto::auth_hmac::{Binding, Seq, TRAILER_LEN};
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
///
/// With `signer` (`auth_hmac`, not receive-only, and the wall clock now)
/// the advert is signed once and every copy carries the same trailer, as
/// keepalived: the HMAC covers neither destination nor checksum.
#[allow(clippy::too_many_arguments)]
pub fn send_advert(
    sock: &VrrpSocket,
    inst: &Instance,
    mode: ChecksumMode,
    src: IpAddr,
    repr: &AdvertRepr,
    delivery: Delivery,
    signer: Option<(&mut AuthState, Seq)>,
    mut on_result: impl FnMut(IpAddr, Result<(), SendError>),
) {
    let trailer = match signer {
        Some((auth, clock)) => match sign(auth, clock, inst, src, repr) {
            Ok(t) => Some(t),
            Err(e) => {
                for dst in destinations(inst) {
                    on_result(dst, Err(SendError::Build(e)));
                }
                return;
            }
        },
        None => None,
    };
    let framing = Framing {
        checksum: mode,
        ttl: send_ttl(inst),
        trailer,
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

/// The trailer for `repr` sent from `src`: the message is built once (for
/// the first destination; the checksum it gets is not covered).
pub(super) fn sign(
    auth: &mut AuthState,
    clock: Seq,
    inst: &Instance,
    src: IpAddr,
    repr: &AdvertRepr,
) -> Result<[u8; TRAILER_LEN], WireError> {
    let mut stack = [0u8; STACK_ADVERT];
    let mut heap = Vec::new();
    let buf = advert_buf(&mut stack, &mut heap, repr.buffer_len());
    let dst = destinations(inst).next().unwrap_or(src);
    repr.emit(
        &mut Packet::new_unchecked(&mut *buf),
        src,
        dst,
        ChecksumMode::PseudoHeader,
    )?;
    let binding = Binding {
        version: inst.version,
        vrid: repr.vrid,
        src,
    };
    Ok(auth.sign(clock, &binding, buf))
}

/// An advert this long or shorter is built on the stack (a v2 advert with
/// 250 IPv4 addresses, a v3 one with 63 IPv6 ones): a Master of 1000
/// instances builds 1000 a second, and each heap buffer showed in profiles.
const STACK_ADVERT: usize = 1024;

/// `len` zeroed bytes for one advert: from `stack` when they fit, else
/// from `heap`.
fn advert_buf<'a>(
    stack: &'a mut [u8; STACK_ADVERT],
    heap: &'a mut Vec<u8>,
    len: usize,
) -> &'a mut [u8] {
    if len <= STACK_ADVERT {
        &mut stack[..len]
    } else {
        heap.resize(len, 0);
        heap
    }
}

/// How an advert goes on the wire beyond its bytes: its checksum's mode
/// and its IPv4 TTL / IPv6 hop limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing {
    pub checksum: ChecksumMode,
    pub ttl: u8,
    /// `auth_hmac`: the trailer every copy carries after the message.
    pub trailer: Option<[u8; TRAILER_LEN]>,
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
    let msg_len = repr.buffer_len();
    let trailer = framing.trailer;
    let len = msg_len + trailer.map_or(0, |t| t.len());
    let mut stack = [0u8; STACK_ADVERT];
    let mut heap = Vec::new();
    let buf = advert_buf(&mut stack, &mut heap, len);
    let Framing { checksum, ttl, .. } = framing;
    for dst in dsts {
        let (msg, tail) = buf.split_at_mut(msg_len);
        if let Some(t) = &trailer {
            tail.copy_from_slice(t);
        }
        let sent = repr
            .emit(&mut Packet::new_unchecked(msg), src, dst, checksum)
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
