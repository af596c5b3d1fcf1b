//! `auth_hmac`: keepalived's HMAC-SHA256 advert authentication
//! ([`crate::proto::auth_hmac`]), the same model from both front ends.
//!
//! Key material never leaves this module in readable form: [`Secret`]'s
//! Debug and serde forms are a fingerprint (the first 8 bytes of the key's
//! SHA-256), so `vrrpd convert`, dumps and reload diffs never show it, yet
//! a changed key still reads as a changed instance.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::proto::auth_hmac::{
    default_window, AntiReplay, Keyring, Mode, KEY_MAX, KEY_MIN, WINDOW_MAX, WINDOW_MIN,
};
use crate::proto::wire::Auth;
use crate::proto::Centis;

use super::source::FileSource;
use super::{Diags, Loc};

/// An instance's `auth_hmac { ... }` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthHmac {
    /// The keys accepted, by id 1..=255 (`key ID VALUE`); several during a rotation.
    pub keys: Vec<HmacKey>,
    /// The key id that signs (`active_key`).
    pub active_key: u8,
    /// `"time"` (a freshness window: clocks in sync) or `"monotonic"` (`anti_replay`).
    #[serde(default, with = "anti_replay_name")]
    pub anti_replay: AntiReplayKind,
    /// Freshness window in seconds 1..=300 (`time_window`); default max(3 × advert_int, 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_window: Option<u32>,
    /// `"enforce"`, `"permissive"` or `"receive-only"` (`mode`).
    #[serde(default = "enforce", with = "mode_name")]
    pub mode: Mode,
}

fn enforce() -> Mode {
    Mode::Enforce
}

/// `anti_replay` as configured (the window is resolved with the interval).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AntiReplayKind {
    #[default]
    Time,
    Monotonic,
}

/// One `key ID VALUE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HmacKey {
    pub id: u8,
    /// `"hex:..."` raw bytes, `"file:PATH"` (read when the configuration
    /// is loaded; holds what an inline value would), or an ASCII string.
    pub value: Secret,
}

/// Key bytes, or where to read them. Shown and serialized as a fingerprint.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    /// `file:` path, kept so a converted configuration still names it.
    file: Option<String>,
    /// The bytes (empty until a `file:` is read).
    bytes: Arc<[u8]>,
    /// Already reported as bad where it was written: no second message.
    reported: bool,
}

impl Secret {
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A stand-in for a value that did not parse (already reported).
    pub fn reported() -> Secret {
        Secret {
            file: None,
            bytes: Arc::from(&[][..]),
            reported: true,
        }
    }

    pub fn is_reported(&self) -> bool {
        self.reported
    }

    /// Marks a value whose problem was already reported at its location.
    pub fn mark_reported(&mut self) {
        self.reported = true;
    }

    /// What is shown instead of the key: `sha256:` and 16 hex digits, with
    /// the `file:` path in front when the key came from one.
    pub fn fingerprint(&self) -> String {
        let d = ring::digest::digest(&ring::digest::SHA256, &self.bytes);
        let hex: String = d.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect();
        match &self.file {
            Some(p) => format!("file:{p} (sha256:{hex})"),
            None => format!("<redacted sha256:{hex}>"),
        }
    }

    /// Decodes a configured value; `file:` values are read later by
    /// [`read_key_files`]. Errors say what was expected.
    pub fn parse(text: &str) -> Result<Secret, String> {
        if let Some(path) = text.strip_prefix("file:") {
            if path.is_empty() {
                return Err("'file:' needs a path".into());
            }
            return Ok(Secret {
                file: Some(path.to_string()),
                bytes: Arc::from(&[][..]),
                reported: false,
            });
        }
        if text.starts_with("<redacted") {
            return Err(
                "this key was redacted when the configuration was written out; give it as hex:, file: or text".into(),
            );
        }
        Ok(Secret {
            file: None,
            bytes: decode(text)?.into(),
            reported: false,
        })
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.fingerprint())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.file {
            // The path is no secret and converts back as written.
            Some(p) => s.serialize_str(&format!("file:{p}")),
            None => s.serialize_str(&self.fingerprint()),
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        let text = String::deserialize(d)?;
        Secret::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A value as keepalived reads it: `hex:` then hex digits, else the bytes
/// of the text itself.
fn decode(text: &str) -> Result<Vec<u8>, String> {
    let Some(hex) = text.strip_prefix("hex:") else {
        return Ok(text.as_bytes().to_vec());
    };
    if hex.len() % 2 != 0 {
        return Err("'hex:' needs an even number of hex digits".into());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("'hex:' value has a non-hex digit near position {}", i + 5))
        })
        .collect()
}

/// Reads every `file:` key through `src` (at most a hex line's worth, as
/// keepalived; one trailing line end dropped). Errors go to `at`.
pub fn read_key_files(a: &mut AuthHmac, src: &dyn FileSource, name: &str, at: &Loc, d: &mut Diags) {
    const MAX: u64 = 4 + 2 * KEY_MAX as u64 + 8;
    for k in &mut a.keys {
        let Some(path) = k.value.file.clone() else {
            continue;
        };
        let data = match src.read(Path::new(&path), MAX) {
            Ok(data) => data,
            Err(e) => {
                d.error(
                    at,
                    format!(
                        "({name}) auth_hmac key {} file '{path}' cannot be read: {e}",
                        k.id
                    ),
                );
                k.value.reported = true;
                continue;
            }
        };
        // A secret others can read (keepalived's CONFIG_SECURITY_ERROR).
        if src
            .mode(Path::new(&path))
            .is_some_and(|mode| mode & 0o077 != 0)
        {
            d.warning(
                at,
                format!("({name}) auth_hmac key file '{path}' is readable by group or others"),
            );
        }
        if data.len() as u64 > MAX {
            d.error(
                at,
                format!("({name}) auth_hmac key {} file '{path}' is too large", k.id),
            );
            k.value.reported = true;
            continue;
        }
        let mut text = data.as_slice();
        while let Some(rest) = text
            .strip_suffix(b"\n")
            .or_else(|| text.strip_suffix(b"\r"))
        {
            text = rest;
        }
        let decoded = match std::str::from_utf8(text) {
            Ok(t) if t.starts_with("hex:") => decode(t),
            _ => Ok(text.to_vec()),
        };
        match decoded {
            Ok(bytes) => k.value.bytes = bytes.into(),
            Err(e) => {
                d.error(
                    at,
                    format!("({name}) auth_hmac key {} file '{path}': {e}", k.id),
                );
                k.value.reported = true;
            }
        }
    }
}

/// The checks shared by both front ends, once key files are read.
pub fn validate(name: &str, a: &AuthHmac, auth: &Auth, at: &Loc, d: &mut Diags) {
    if a.keys.is_empty() {
        d.error(
            at,
            format!("({name}) auth_hmac needs at least one 'key ID VALUE'"),
        );
    }
    let mut seen = Vec::new();
    for k in &a.keys {
        if k.id == 0 {
            d.error(
                at,
                format!("({name}) auth_hmac key id 0: must be between 1 and 255"),
            );
        }
        if seen.contains(&k.id) {
            d.error(at, format!("({name}) duplicate auth_hmac key id {}", k.id));
        }
        seen.push(k.id);
        let len = k.value.bytes.len();
        if !(KEY_MIN..=KEY_MAX).contains(&len) && !k.value.reported {
            d.error(
                at,
                format!(
                    "({name}) auth_hmac key {} length {len} not in range [{KEY_MIN}, {KEY_MAX}]",
                    k.id
                ),
            );
        }
    }
    if !seen.contains(&a.active_key) {
        // keepalived disables the extension here, which would run the
        // instance unauthenticated: refused instead.
        d.error(
            at,
            format!(
                "({name}) auth_hmac active_key {} is not defined",
                a.active_key
            ),
        );
    }
    if let Some(w) = a.time_window {
        if !(WINDOW_MIN..=WINDOW_MAX).contains(&w) {
            d.error(
                at,
                format!("({name}) auth_hmac time_window {w} must be between {WINDOW_MIN} and {WINDOW_MAX} seconds"),
            );
        }
    }
    if !matches!(auth, Auth::None) {
        d.error(
            at,
            format!("({name}) auth_hmac cannot be combined with authentication"),
        );
    }
}

impl AuthHmac {
    /// The receive/send policy for an instance advertising every `advert_int`.
    pub fn anti_replay(&self, advert_int: Centis) -> AntiReplay {
        match self.anti_replay {
            AntiReplayKind::Monotonic => AntiReplay::Monotonic,
            AntiReplayKind::Time => AntiReplay::Time {
                window: self
                    .time_window
                    .unwrap_or_else(|| default_window(advert_int.get())),
            },
        }
    }

    /// The keys, ready to sign and verify with.
    pub fn keyring(&self) -> Keyring {
        Keyring::new(
            self.keys.iter().map(|k| (k.id, k.value.bytes())),
            self.active_key,
        )
    }
}

mod anti_replay_name {
    use super::AntiReplayKind;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &AntiReplayKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match v {
            AntiReplayKind::Time => "time",
            AntiReplayKind::Monotonic => "monotonic",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<AntiReplayKind, D::Error> {
        match String::deserialize(d)?.as_str() {
            "time" => Ok(AntiReplayKind::Time),
            "monotonic" => Ok(AntiReplayKind::Monotonic),
            other => Err(serde::de::Error::custom(format!(
                "anti_replay '{other}' must be time or monotonic"
            ))),
        }
    }
}

mod mode_name {
    use crate::proto::auth_hmac::Mode;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Mode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Mode, D::Error> {
        super::parse_mode(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A `mode` value.
pub fn parse_mode(text: &str) -> Result<Mode, String> {
    match text {
        "enforce" => Ok(Mode::Enforce),
        "permissive" => Ok(Mode::Permissive),
        "receive-only" => Ok(Mode::ReceiveOnly),
        other => Err(format!(
            "auth_hmac mode '{other}' must be enforce, permissive or receive-only"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_text_values_decode_like_keepalived() {
        assert_eq!(decode("hex:00ff10").unwrap(), vec![0, 255, 16]);
        assert_eq!(decode("abc").unwrap(), b"abc".to_vec());
        assert!(decode("hex:0").is_err());
        assert!(decode("hex:zz").is_err());
    }

    #[test]
    fn secret_never_shows_its_bytes() {
        let s =
            Secret::parse("hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
                .unwrap();
        let shown = format!("{s:?} {}", serde_json::to_string(&s).unwrap());
        assert!(!shown.contains("0001020304"), "{shown}");
        assert!(shown.contains("sha256:"));
        let t = Secret::parse("a passphrase of thirty-two bytes!").unwrap();
        assert!(!format!("{t:?}").contains("passphrase"));
        assert_ne!(s.fingerprint(), t.fingerprint());
    }

    #[test]
    fn redacted_value_does_not_read_back() {
        assert!(Secret::parse("<redacted sha256:0011>").is_err());
    }
}
