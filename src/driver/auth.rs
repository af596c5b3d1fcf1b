//! An instance's `auth_hmac` state in the core: its keys, the receive
//! policy with each sender's replay mark, and the send sequence. The
//! decisions are [`crate::proto::auth_hmac`]'s; this keeps them across
//! reloads and says which bytes they apply to.

use std::net::IpAddr;

use crate::config::Instance;
use crate::proto::auth_hmac::{
    split, AntiReplay, AuthDrop, Binding, Keyring, Sender, Seq, Verifier, TRAILER_LEN,
};
use crate::proto::wire::Packet;
use crate::proto::Family;

/// Keys, verifier and sender of one instance with `auth_hmac`.
#[derive(Debug)]
pub struct AuthState {
    keys: Keyring,
    verifier: Verifier,
    sender: Sender,
    anti_replay: AntiReplay,
}

fn peers(cfg: &Instance) -> Vec<IpAddr> {
    cfg.unicast_peers.iter().map(|p| p.addr).collect()
}

impl AuthState {
    /// The state for `cfg`, `None` without `auth_hmac`. Boxed: few
    /// instances have it, and every instance would pay for it inline.
    pub fn new(cfg: &Instance) -> Option<Box<AuthState>> {
        let a = cfg.auth_hmac.as_ref()?;
        let anti_replay = a.anti_replay(cfg.advert_int);
        Some(Box::new(AuthState {
            keys: a.keyring(),
            verifier: Verifier::new(a.mode, anti_replay, cfg.is_unicast(), &peers(cfg)),
            sender: Sender::default(),
            anti_replay,
        }))
    }

    /// The state after a reload to `cfg`: new keys and policy, the send
    /// sequence and the replay marks of kept senders carried over.
    pub fn reload(old: Option<Box<AuthState>>, cfg: &Instance) -> Option<Box<AuthState>> {
        let mut new = AuthState::new(cfg)?;
        if let Some(old) = old {
            new.sender = old.sender;
            let mut verifier = old.verifier;
            verifier.reconfigure(
                new.verifier.mode,
                new.anti_replay,
                cfg.is_unicast(),
                &peers(cfg),
            );
            new.verifier = verifier;
        }
        Some(new)
    }

    /// Whether adverts carry a trailer (not in `receive-only`).
    pub fn signs(&self) -> bool {
        self.verifier.mode.signs()
    }

    pub fn anti_replay(&self) -> AntiReplay {
        self.anti_replay
    }

    /// The trailer for one advert `msg` (its bytes for any destination:
    /// neither the destination nor the checksum is covered), sequenced
    /// from `clock`, the wall clock now.
    pub fn sign(&mut self, clock: Seq, b: &Binding, msg: &[u8]) -> [u8; TRAILER_LEN] {
        let seq = self.sender.next(clock, self.anti_replay);
        let mut out = [0; TRAILER_LEN];
        crate::proto::auth_hmac::sign(&self.keys, b, seq, msg, &mut out);
        out
    }

    /// How long the trailer of a received `payload` from a sender of
    /// `family` is: [`TRAILER_LEN`] when the payload is exactly that much
    /// longer than its address count says, else 0.
    pub fn trailer_len(payload: &[u8], family: Family) -> usize {
        match Packet::new_checked(payload) {
            Ok(p) if payload.len() == p.message_len(family) + TRAILER_LEN => TRAILER_LEN,
            _ => 0,
        }
    }

    /// Verifies a received advert whose wire checks passed: `payload` is
    /// the whole VRRP payload, `trailer` what [`AuthState::trailer_len`]
    /// said, `utc` our wall clock in seconds.
    pub fn check(
        &mut self,
        utc: u64,
        b: &Binding,
        payload: &[u8],
        trailer: usize,
    ) -> Result<crate::proto::auth_hmac::Accepted, AuthDrop> {
        let (msg, tail) = split(payload, payload.len().saturating_sub(trailer));
        self.verifier.check(&self.keys, utc, b, msg, tail)
    }
}
