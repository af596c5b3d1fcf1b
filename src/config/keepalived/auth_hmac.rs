//! The `auth_hmac { ... }` block of a `vrrp_instance` (keepalived master,
//! 2026). Bad values are located errors: keepalived drops them with a
//! config error, which can leave an instance unauthenticated, so vrrpd
//! refuses the configuration instead.

use super::super::auth_hmac::{
    parse_mode, read_key_files, AntiReplayKind, AuthHmac, HmacKey, Secret,
};
use super::super::lexer::Node;
use super::Parser;
use crate::proto::auth_hmac::{Mode, KEY_MAX, KEY_MIN, WINDOW_MAX, WINDOW_MIN};

impl Parser<'_> {
    /// Parses one block into `into` (a second block adds to the first, as
    /// keepalived's handlers do), reading `file:` keys.
    pub(super) fn auth_hmac(&mut self, n: &Node, name: &str, into: &mut Option<AuthHmac>) {
        let a = into.get_or_insert_with(|| AuthHmac {
            keys: Vec::new(),
            active_key: 0,
            anti_replay: AntiReplayKind::Time,
            time_window: None,
            mode: Mode::Enforce,
        });
        for c in self.block(n) {
            let kw = c.kw.text.as_str();
            match kw {
                "key" => {
                    self.no_block(c);
                    let (Some(id), Some(value)) = (c.args.first(), c.args.get(1)) else {
                        self.err(
                            &c.kw.loc,
                            format!("({name}) auth_hmac key needs an id and a value"),
                        );
                        continue;
                    };
                    let Some(id_num) = id.text.parse::<u8>().ok().filter(|v| *v >= 1) else {
                        self.err(
                            &id.loc,
                            format!(
                                "({name}) auth_hmac key id '{}' must be between 1 and 255",
                                id.text
                            ),
                        );
                        continue;
                    };
                    if a.keys.iter().any(|k| k.id == id_num) {
                        self.err(
                            &id.loc,
                            format!("({name}) duplicate auth_hmac key id {id_num}"),
                        );
                        continue;
                    }
                    let secret = match Secret::parse(&value.text) {
                        Ok(s) => s,
                        Err(e) => {
                            self.err(&value.loc, format!("({name}) auth_hmac key {id_num}: {e}"));
                            a.keys.push(HmacKey {
                                id: id_num,
                                value: Secret::reported(),
                            });
                            continue;
                        }
                    };
                    let mut one = AuthHmac {
                        keys: vec![HmacKey {
                            id: id_num,
                            value: secret,
                        }],
                        ..a.clone()
                    };
                    read_key_files(&mut one, self.src, name, &value.loc, self.d);
                    let Some(mut key) = one.keys.pop() else {
                        continue;
                    };
                    let len = key.value.bytes().len();
                    // Kept even when bad, so the checks after do not also
                    // report "no key" or "active_key not defined".
                    if !(KEY_MIN..=KEY_MAX).contains(&len) && !key.value.is_reported() {
                        key.value.mark_reported();
                        self.err(
                            &value.loc,
                            format!(
                                "({name}) auth_hmac key {id_num} length {len} not in range [{KEY_MIN}, {KEY_MAX}]"
                            ),
                        );
                    }
                    a.keys.push(key);
                }
                "active_key" => {
                    if let Some(t) = self.arg(c) {
                        match t.text.parse::<u8>().ok().filter(|v| *v >= 1) {
                            Some(v) => a.active_key = v,
                            None => self.err(
                                &t.loc,
                                format!(
                                    "({name}) auth_hmac active_key '{}' must be between 1 and 255",
                                    t.text
                                ),
                            ),
                        }
                    }
                }
                "time_window" => {
                    if let Some(t) = self.arg(c) {
                        match t.text.parse::<u32>().ok().filter(|v| (WINDOW_MIN..=WINDOW_MAX).contains(v)) {
                            Some(v) => a.time_window = Some(v),
                            None => self.err(
                                &t.loc,
                                format!(
                                    "({name}) auth_hmac time_window '{}' must be between {WINDOW_MIN} and {WINDOW_MAX} seconds",
                                    t.text
                                ),
                            ),
                        }
                    }
                }
                "anti_replay" => {
                    if let Some(t) = self.arg(c) {
                        match t.text.as_str() {
                            "time" => a.anti_replay = AntiReplayKind::Time,
                            "monotonic" => a.anti_replay = AntiReplayKind::Monotonic,
                            other => self.err(
                                &t.loc,
                                format!("({name}) auth_hmac anti_replay '{other}' must be time or monotonic"),
                            ),
                        }
                    }
                }
                "mode" => {
                    if let Some(t) = self.arg(c) {
                        match parse_mode(&t.text) {
                            Ok(m) => a.mode = m,
                            Err(e) => self.err(&t.loc, format!("({name}) {e}")),
                        }
                    }
                }
                _ => self.unknown(c, "auth_hmac"),
            }
        }
    }
}
