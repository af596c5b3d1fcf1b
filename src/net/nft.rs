//! nftables for accept mode: keepalived 2.2.7's layout (`vrrp_nftables.c`)
//! as the JSON document `nft -j -f -` applies in one transaction
//! (libnftables-json(5)), built with the `nftables` crate's typed schema,
//! and the run of `nft` on it with a deadline.
//!
//! The layout, per family (`ip` for IPv4, `ip6` for IPv6), table TABLE
//! (`nftables TABLE`, default `keepalived`):
//!
//! ```text
//! table ip TABLE {
//!     set vips { type ipv4_addr }
//!     chain in  { type filter hook input  priority P; policy accept; ip daddr @vips [counter] drop }
//!     chain out { type filter hook output priority P; policy accept; ip saddr @vips [counter] drop }
//! }
//! table ip6 TABLE {
//!     set vips { type ipv6_addr }
//!     set neighbor-discovery { type icmpv6_type; flags constant; elements = { nd-neighbor-solicit, nd-neighbor-advert } }
//!     set vips_link_local { type ipv6_addr . iface_index }        (when needed)
//!     set vips_link_local_name { type ipv6_addr . ifname }        (when needed)
//!     chain in  { ...input...;  icmpv6 type @neighbor-discovery accept; ip6 daddr fe80::/10 goto in_link_local;  ip6 daddr @vips drop }
//!     chain out { ...output...; icmpv6 type @neighbor-discovery accept; ip6 saddr fe80::/10 goto out_link_local; ip6 saddr @vips drop }
//!     chain in_link_local  { ip6 daddr . iif @vips_link_local drop; ip6 daddr . iifname @vips_link_local_name drop }
//!     chain out_link_local { ip6 saddr . oif @vips_link_local drop; ip6 saddr . oifname @vips_link_local_name drop }
//! }
//! ```
//!
//! Pure except [`apply`].

use std::borrow::Cow;
use std::time::Duration;

use nftables::expr::{Expression, Meta, MetaKey, NamedExpression, Payload, PayloadField, Prefix};
use nftables::schema::{Chain, NfCmd, NfListObject, Rule, Set, SetType, SetTypeValue, Table};
use nftables::stmt::{Counter, JumpTarget, Match, Operator, Statement};
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};
use serde_json::{json, Value};

use crate::config::Nftables as Settings;
use crate::driver::firewall::{Built, Element, Job};

/// The document for `job`: `{"nftables": [commands]}`, one transaction.
pub fn batch(settings: &Settings, job: &Job) -> Value {
    let mut doc = Doc::new(settings);
    match job {
        Job::Sync {
            rebuild,
            create,
            add,
            remove,
        } => {
            if *rebuild {
                // keepalived's check_and_delete_tables, made idempotent:
                // `add table` first, so a missing table is no error.
                doc.drop_table(NfFamily::IP);
                doc.drop_table(NfFamily::IP6);
            }
            doc.create(*create);
            doc.elements(add, true);
            doc.elements(remove, false);
        }
        Job::Teardown { tables } => {
            if tables.v4 {
                doc.drop_table(NfFamily::IP);
            }
            if tables.v6 {
                doc.drop_table(NfFamily::IP6);
            }
        }
    }
    doc.finish()
}

/// Deletes both families' tables if present (`vrrpd resign`).
pub fn teardown(settings: &Settings) -> Value {
    batch(
        settings,
        &Job::Teardown {
            tables: Built {
                v4: true,
                v6: true,
                ..Built::default()
            },
        },
    )
}

/// A document being built.
struct Doc<'s> {
    s: &'s Settings,
    cmds: Vec<Value>,
}

fn family_name(f: NfFamily) -> &'static str {
    match f {
        NfFamily::IP6 => "ip6",
        _ => "ip",
    }
}

impl<'s> Doc<'s> {
    fn new(s: &'s Settings) -> Self {
        Doc {
            s,
            cmds: Vec::new(),
        }
    }

    fn finish(self) -> Value {
        json!({ "nftables": self.cmds })
    }

    fn table_name(&self) -> Cow<'s, str> {
        Cow::Borrowed(self.s.table.as_str())
    }

    fn push(&mut self, cmd: NfCmd<'_>) {
        // Typed data always serializes.
        self.cmds
            .push(serde_json::to_value(&cmd).unwrap_or(Value::Null));
    }

    fn add(&mut self, obj: NfListObject<'_>) {
        self.push(NfCmd::Add(obj));
    }

    fn table(&self, family: NfFamily) -> Table<'s> {
        Table {
            family,
            name: self.table_name(),
            handle: None,
        }
    }

    fn drop_table(&mut self, family: NfFamily) {
        let t = self.table(family);
        self.add(NfListObject::Table(t.clone()));
        self.push(NfCmd::Delete(NfListObject::Table(t)));
    }

    /// `type filter hook HOOK priority P; policy accept;`, or a regular
    /// chain without `hook`.
    fn chain(&mut self, family: NfFamily, name: &'static str, hook: Option<NfHook>) {
        let base = hook.is_some();
        self.add(NfListObject::Chain(Chain {
            family,
            table: self.table_name(),
            name: name.into(),
            newname: None,
            handle: None,
            _type: base.then_some(NfChainType::Filter),
            hook,
            prio: base.then_some(self.s.priority),
            dev: None,
            policy: base.then_some(NfChainPolicy::Accept),
        }));
    }

    fn set(&mut self, family: NfFamily, name: &'static str, set_type: SetTypeValue<'static>) {
        self.add(NfListObject::Set(Box::new(Set {
            family,
            table: self.table_name(),
            name: name.into(),
            handle: None,
            set_type,
            policy: None,
            flags: None,
            elem: None,
            timeout: None,
            gc_interval: None,
            size: None,
            comment: None,
        })));
    }

    /// A set whose key type the crate's `SetType` does not list
    /// (`icmpv6_type`, `iface_index`): written as libnftables-json(5)
    /// spells it.
    fn raw_set(&mut self, family: NfFamily, name: &str, set_type: Value, extra: Value) {
        let mut set = json!({
            "family": family_name(family),
            "table": self.s.table,
            "name": name,
            "type": set_type,
        });
        if let (Some(set), Some(extra)) = (set.as_object_mut(), extra.as_object()) {
            set.extend(extra.clone());
        }
        self.cmds.push(json!({ "add": { "set": set } }));
    }

    /// `MATCH... [counter] VERDICT` appended to `chain`.
    fn rule(
        &mut self,
        family: NfFamily,
        chain: &'static str,
        matches: Vec<Match<'static>>,
        verdict: Statement<'static>,
    ) {
        let mut expr: Vec<Statement> = matches.into_iter().map(Statement::Match).collect();
        if self.s.counters {
            expr.push(Statement::Counter(Counter::Anonymous(None)));
        }
        expr.push(verdict);
        self.add(NfListObject::Rule(Rule {
            family,
            table: self.table_name(),
            chain: chain.into(),
            expr: expr.into(),
            handle: None,
            index: None,
            comment: None,
        }));
    }

    /// keepalived's `setup_*` in its order: what `b` lists.
    fn create(&mut self, b: Built) {
        use NfFamily::{IP, IP6};
        if b.v4 {
            // nft_setup_ipv4 + nft_setup_ipv4_vips.
            self.add(NfListObject::Table(self.table(IP)));
            self.chain(IP, "out", Some(NfHook::Output));
            self.chain(IP, "in", Some(NfHook::Input));
            self.set(IP, "vips", SetTypeValue::Single(SetType::Ipv4Addr));
            self.rule(IP, "in", vec![in_set(field("ip", "daddr"), "vips")], drop());
            self.rule(
                IP,
                "out",
                vec![in_set(field("ip", "saddr"), "vips")],
                drop(),
            );
        }
        if b.v6 {
            // nft_setup_ipv6 + nft_setup_ipv6_vips.
            self.add(NfListObject::Table(self.table(IP6)));
            self.chain(IP6, "out", Some(NfHook::Output));
            self.chain(IP6, "in", Some(NfHook::Input));
            self.chain(IP6, "in_link_local", None);
            self.chain(IP6, "out_link_local", None);
            self.set(IP6, "vips", SetTypeValue::Single(SetType::Ipv6Addr));
            self.raw_set(
                IP6,
                "neighbor-discovery",
                json!("icmpv6_type"),
                json!({
                    "flags": ["constant"],
                    "elem": ["nd-neighbor-solicit", "nd-neighbor-advert"],
                }),
            );
            let nd = || {
                vec![
                    // The dependency keepalived writes (`ip6 nexthdr`);
                    // nft lists the rule as `icmpv6 type @...` either way.
                    eq(
                        field("ip6", "nexthdr"),
                        Expression::String("ipv6-icmp".into()),
                    ),
                    in_set(field("icmpv6", "type"), "neighbor-discovery"),
                ]
            };
            let link_local = || {
                Expression::Named(NamedExpression::Prefix(Prefix {
                    addr: Box::new(Expression::String("fe80::".into())),
                    len: 10,
                }))
            };
            self.rule(IP6, "in", nd(), Statement::Accept(None));
            self.rule(
                IP6,
                "in",
                vec![eq(field("ip6", "daddr"), link_local())],
                Statement::Goto(JumpTarget {
                    target: "in_link_local".into(),
                }),
            );
            self.rule(IP6, "out", nd(), Statement::Accept(None));
            self.rule(
                IP6,
                "out",
                vec![eq(field("ip6", "saddr"), link_local())],
                Statement::Goto(JumpTarget {
                    target: "out_link_local".into(),
                }),
            );
            self.rule(
                IP6,
                "in",
                vec![in_set(field("ip6", "daddr"), "vips")],
                drop(),
            );
            self.rule(
                IP6,
                "out",
                vec![in_set(field("ip6", "saddr"), "vips")],
                drop(),
            );
        }
        // setup_link_local_checks.
        if b.link_local {
            self.raw_set(
                IP6,
                "vips_link_local",
                json!(["ipv6_addr", "iface_index"]),
                json!({}),
            );
            self.link_local_rules("vips_link_local", MetaKey::Iif, MetaKey::Oif);
        }
        if b.link_local_name {
            self.set(
                IP6,
                "vips_link_local_name",
                SetTypeValue::Concatenated(Cow::Borrowed(&[SetType::Ipv6Addr, SetType::Ifname])),
            );
            self.link_local_rules("vips_link_local_name", MetaKey::Iifname, MetaKey::Oifname);
        }
    }

    fn link_local_rules(&mut self, set: &'static str, iif: MetaKey, oif: MetaKey) {
        let concat = |addr: &'static str, key: MetaKey| {
            Expression::Named(NamedExpression::Concat(vec![
                field("ip6", addr),
                Expression::Named(NamedExpression::Meta(Meta { key })),
            ]))
        };
        self.rule(
            NfFamily::IP6,
            "in_link_local",
            vec![in_set(concat("daddr", iif), set)],
            drop(),
        );
        self.rule(
            NfFamily::IP6,
            "out_link_local",
            vec![in_set(concat("saddr", oif), set)],
            drop(),
        );
    }

    /// `add element` / `delete element`, one command per set.
    fn elements(&mut self, elements: &[Element], add: bool) {
        let sets: [(NfFamily, &'static str); 4] = [
            (NfFamily::IP, "vips"),
            (NfFamily::IP6, "vips"),
            (NfFamily::IP6, "vips_link_local"),
            (NfFamily::IP6, "vips_link_local_name"),
        ];
        for (family, name) in sets {
            let elem: Vec<Expression> = elements
                .iter()
                .filter(|e| set_of(e) == (family, name))
                .map(element)
                .collect();
            if elem.is_empty() {
                continue;
            }
            let obj = NfListObject::Element(nftables::schema::Element {
                family,
                table: self.table_name(),
                name: name.into(),
                elem: elem.into(),
            });
            self.push(if add {
                NfCmd::Add(obj)
            } else {
                NfCmd::Delete(obj)
            });
        }
    }
}

fn set_of(e: &Element) -> (NfFamily, &'static str) {
    match e {
        Element::V4(_) => (NfFamily::IP, "vips"),
        Element::V6(_) => (NfFamily::IP6, "vips"),
        Element::LinkLocal { .. } => (NfFamily::IP6, "vips_link_local"),
        Element::LinkLocalName { .. } => (NfFamily::IP6, "vips_link_local_name"),
    }
}

fn element(e: &Element) -> Expression<'static> {
    match e {
        Element::V4(a) => Expression::String(a.to_string().into()),
        Element::V6(a) => Expression::String(a.to_string().into()),
        Element::LinkLocal { addr, ifindex } => Expression::Named(NamedExpression::Concat(vec![
            Expression::String(addr.to_string().into()),
            Expression::Number(*ifindex),
        ])),
        Element::LinkLocalName { addr, ifname } => {
            Expression::Named(NamedExpression::Concat(vec![
                Expression::String(addr.to_string().into()),
                Expression::String(ifname.clone().into()),
            ]))
        }
    }
}

fn field(protocol: &'static str, name: &'static str) -> Expression<'static> {
    Expression::Named(NamedExpression::Payload(Payload::PayloadField(
        PayloadField {
            protocol: protocol.into(),
            field: name.into(),
        },
    )))
}

fn eq(left: Expression<'static>, right: Expression<'static>) -> Match<'static> {
    Match {
        left,
        right,
        op: Operator::EQ,
    }
}

/// `LEFT @SET`.
fn in_set(left: Expression<'static>, set: &'static str) -> Match<'static> {
    eq(left, Expression::String(format!("@{set}").into()))
}

fn drop() -> Statement<'static> {
    Statement::Drop(None)
}

/// Why `nft` did not apply a document.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NftError {
    /// `nft` could not be started (not installed, not on PATH).
    #[error("running {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// Writing the document or reading the answer failed.
    #[error("talking to {program}: {source}")]
    Io {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// `nft` refused the document (the transaction changed nothing).
    #[error("{program} refused the batch ({status}): {stderr}")]
    Refused {
        program: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
    /// `nft` did not finish in time; it was killed.
    #[error("{program} did not answer within {} ms; killed", .timeout.as_millis())]
    Timeout { program: String, timeout: Duration },
}

/// The program run: `nft`, looked up on PATH.
pub const NFT: &str = "nft";

/// Runs `nft -j -f -` on `doc`, killing it after `timeout`.
pub async fn apply(doc: &Value, timeout: Duration) -> Result<(), NftError> {
    use std::process::Stdio;
    use tokio::io::AsyncWriteExt;

    let program = NFT.to_string();
    let payload = doc.to_string().into_bytes();
    let mut child = tokio::process::Command::new(NFT)
        .args(["-j", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| NftError::Spawn {
            program: program.clone(),
            source,
        })?;
    let run = async {
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(&payload)
                .await
                .map_err(|source| NftError::Io {
                    program: program.clone(),
                    source,
                })?;
            // Dropped: nft sees the end of the document.
        }
        child
            .wait_with_output()
            .await
            .map_err(|source| NftError::Io {
                program: program.clone(),
                source,
            })
    };
    // On the timeout the future, and with it the child (kill_on_drop), is
    // dropped.
    let output = match tokio::time::timeout(timeout, run).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(NftError::Timeout {
                program: program.clone(),
                timeout,
            })
        }
    };
    if output.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        // nft's first line says what; the rest repeats the document.
        let first = stderr.lines().next().unwrap_or("").trim().to_string();
        Err(NftError::Refused {
            program,
            status: output.status,
            stderr: first,
        })
    }
}

/// One line for the debug log.
pub fn describe(job: &Job) -> String {
    match job {
        Job::Sync {
            rebuild,
            create,
            add,
            remove,
        } => format!(
            "{}{}{} element(s) added, {} removed",
            if *rebuild { "rebuilt; " } else { "" },
            if create.any() {
                format!("created {create:?}; ")
            } else {
                String::new()
            },
            add.len(),
            remove.len()
        ),
        Job::Teardown { tables } => format!(
            "deleted table(s) {}{}",
            if tables.v4 { "ip " } else { "" },
            if tables.v6 { "ip6" } else { "" }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// keepalived 2.2.7's `nft -j list ruleset` for netns-tests/70's
    /// configuration (A Master of 192.0.2.30 and fe80::30, 2001:db8::30).
    const KEEPALIVED: &str = include_str!("../../tests/fixtures/nft-keepalived-2.2.7.json");

    fn everything() -> Job {
        Job::Sync {
            rebuild: false,
            create: Built {
                v4: true,
                v6: true,
                link_local: true,
                link_local_name: false,
            },
            add: vec![
                Element::V4("192.0.2.30".parse().unwrap()),
                Element::V6("2001:db8::30".parse().unwrap()),
                Element::LinkLocal {
                    addr: "fe80::30".parse().unwrap(),
                    ifindex: 2,
                },
            ],
            remove: vec![],
        }
    }

    fn cmds(doc: &Value) -> Vec<(String, String, Value)> {
        doc["nftables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let (verb, obj) = c.as_object().unwrap().iter().next().unwrap();
                let (kind, body) = obj.as_object().unwrap().iter().next().unwrap();
                (verb.clone(), kind.clone(), body.clone())
            })
            .collect()
    }

    fn canonical(kind: &str, mut body: Value) -> String {
        let o = body.as_object_mut().unwrap();
        o.remove("handle");
        if let Some(Value::Array(expr)) = o.get_mut("expr") {
            for st in expr {
                if let Some(c) = st.get_mut("counter") {
                    *c = json!({});
                }
            }
        }
        if let Some(Value::Array(elem)) = o.get_mut("elem") {
            elem.sort_by_key(|e| e.to_string());
        }
        format!("{kind} {body}")
    }

    /// What `nft list` would show after applying `doc` on an empty
    /// ruleset, as far as keepalived's fixture can tell: elements folded
    /// into their sets, the `ip6 nexthdr` dependency hidden, interface
    /// index 2 shown by name.
    fn listed(doc: &Value) -> BTreeSet<String> {
        let mut objects: Vec<(String, Value)> = Vec::new();
        for (verb, kind, mut body) in cmds(doc) {
            assert_eq!(verb, "add");
            if kind == "element" {
                let set = objects
                    .iter_mut()
                    .find(|(k, b)| {
                        k == "set" && b["name"] == body["name"] && b["family"] == body["family"]
                    })
                    .map(|(_, b)| b)
                    .expect("the set is created first");
                let mut elems: Vec<Value> = body["elem"].as_array().unwrap().clone();
                for e in &mut elems {
                    if let Some(c) = e.pointer_mut("/concat/1") {
                        if *c == json!(2) {
                            *c = json!("eth0");
                        }
                    }
                }
                set.as_object_mut()
                    .unwrap()
                    .insert("elem".into(), elems.into());
                continue;
            }
            if kind == "rule" {
                let expr = body["expr"].as_array_mut().unwrap();
                expr.retain(|s| s.pointer("/match/left/payload/field") != Some(&json!("nexthdr")));
            }
            objects.push((kind, body));
        }
        objects.into_iter().map(|(k, b)| canonical(&k, b)).collect()
    }

    fn keepalived() -> BTreeSet<String> {
        listing(KEEPALIVED)
    }

    fn listing(text: &str) -> BTreeSet<String> {
        let doc: Value = serde_json::from_str(text).unwrap();
        doc["nftables"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|o| {
                let (kind, body) = o.as_object().unwrap().iter().next().unwrap();
                (kind != "metainfo").then(|| canonical(kind, body.clone()))
            })
            .collect()
    }

    #[test]
    fn the_layout_is_keepalived_2_2_7s() {
        let ours = listed(&batch(&Settings::default(), &everything()));
        let theirs = keepalived();
        let missing: Vec<_> = theirs.difference(&ours).collect();
        let extra: Vec<_> = ours.difference(&theirs).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "missing {missing:#?}\nextra {extra:#?}"
        );
    }

    #[test]
    fn the_settings_layout_is_keepalived_2_2_7s() {
        // nftables vrrp_fw; nftables_priority -7; nftables_counters;
        // dont_track_primary (the link-local VIP keyed by name).
        let settings = Settings {
            table: "vrrp_fw".into(),
            priority: -7,
            counters: true,
            ifindex: false,
        };
        let job = Job::Sync {
            rebuild: false,
            create: Built {
                v4: true,
                v6: true,
                link_local: false,
                link_local_name: true,
            },
            add: vec![
                Element::V4("192.0.2.30".parse().unwrap()),
                Element::V6("2001:db8::30".parse().unwrap()),
                Element::LinkLocalName {
                    addr: "fe80::30".parse().unwrap(),
                    ifname: "eth0".into(),
                },
            ],
            remove: vec![],
        };
        let ours = listed(&batch(&settings, &job));
        let theirs = listing(include_str!(
            "../../tests/fixtures/nft-keepalived-2.2.7-settings.json"
        ));
        let missing: Vec<_> = theirs.difference(&ours).collect();
        let extra: Vec<_> = ours.difference(&theirs).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "missing {missing:#?}\nextra {extra:#?}"
        );
    }

    #[test]
    fn the_icmpv6_rule_carries_keepalived_s_nexthdr_dependency() {
        let doc = batch(&Settings::default(), &everything());
        let nd: Vec<_> = cmds(&doc)
            .into_iter()
            .filter(|(_, k, b)| k == "rule" && b.to_string().contains("@neighbor-discovery"))
            .collect();
        assert_eq!(nd.len(), 2);
        for (_, _, rule) in nd {
            assert_eq!(
                rule["expr"][0]["match"]["left"]["payload"]["field"],
                "nexthdr"
            );
        }
    }

    #[test]
    fn settings_name_the_table_set_the_priority_and_add_counters() {
        let settings = Settings {
            table: "fw".into(),
            priority: -7,
            counters: true,
            ifindex: false,
        };
        let doc = batch(&settings, &everything());
        for (_, kind, body) in cmds(&doc) {
            if kind != "table" {
                assert_eq!(body["table"], "fw", "{body}");
            } else {
                assert_eq!(body["name"], "fw");
            }
            if kind == "chain" && body.get("hook").is_some() {
                assert_eq!(body["prio"], -7);
            }
            if kind == "rule" {
                let expr = body["expr"].as_array().unwrap();
                let n = expr.len();
                assert!(expr[n - 2].get("counter").is_some(), "{body}");
            }
        }
    }

    #[test]
    fn a_rebuild_deletes_both_tables_first_in_the_same_transaction() {
        let job = Job::Sync {
            rebuild: true,
            create: Built {
                v4: true,
                ..Built::default()
            },
            add: vec![Element::V4("192.0.2.30".parse().unwrap())],
            remove: vec![],
        };
        let c = cmds(&batch(&Settings::default(), &job));
        let head: Vec<(String, String, Value)> = c[..4].to_vec();
        assert_eq!(
            head.iter()
                .map(|(v, k, b)| format!("{v} {k} {}", b["family"]))
                .collect::<Vec<_>>(),
            [
                "add table \"ip\"",
                "delete table \"ip\"",
                "add table \"ip6\"",
                "delete table \"ip6\""
            ]
        );
        assert_eq!(c.last().unwrap().1, "element");
    }

    #[test]
    fn removals_delete_elements_and_create_nothing() {
        let job = Job::Sync {
            rebuild: false,
            create: Built::default(),
            add: vec![],
            remove: vec![
                Element::V4("192.0.2.30".parse().unwrap()),
                Element::LinkLocalName {
                    addr: "fe80::30".parse().unwrap(),
                    ifname: "eth0".into(),
                },
            ],
        };
        let c = cmds(&batch(&Settings::default(), &job));
        assert_eq!(c.len(), 2);
        assert_eq!(
            (c[0].0.as_str(), c[0].2["name"].as_str()),
            ("delete", Some("vips"))
        );
        assert_eq!(c[1].2["elem"], json!([{ "concat": ["fe80::30", "eth0"] }]));
        assert_eq!(c[1].2["name"], "vips_link_local_name");
    }

    #[test]
    fn the_name_keyed_link_local_set_uses_ifname() {
        let job = Job::Sync {
            rebuild: false,
            create: Built {
                v6: true,
                link_local_name: true,
                ..Built::default()
            },
            add: vec![],
            remove: vec![],
        };
        let c = cmds(&batch(&Settings::default(), &job));
        let set = c
            .iter()
            .find(|(_, k, b)| k == "set" && b["name"] == "vips_link_local_name")
            .unwrap();
        assert_eq!(set.2["type"], json!(["ipv6_addr", "ifname"]));
        assert!(c.iter().any(|(_, k, b)| k == "rule"
            && b["chain"] == "in_link_local"
            && b.to_string().contains("iifname")));
    }

    #[test]
    fn teardown_deletes_both_families_idempotently() {
        let c = cmds(&teardown(&Settings::default()));
        assert_eq!(
            c.iter()
                .map(|(v, k, _)| format!("{v} {k}"))
                .collect::<Vec<_>>(),
            ["add table", "delete table", "add table", "delete table"]
        );
    }
}

#[cfg(test)]
mod print {
    /// `cargo test --lib nft::print -- --ignored --nocapture` prints the
    /// full document with counters and both link-local sets, to feed a
    /// scratch namespace's `nft -j -f -` by hand.
    #[test]
    #[ignore]
    fn print_everything() {
        use super::*;
        let settings = Settings {
            counters: true,
            ..Settings::default()
        };
        let job = Job::Sync {
            rebuild: true,
            create: Built {
                v4: true,
                v6: true,
                link_local: true,
                link_local_name: true,
            },
            add: vec![
                Element::V4("192.0.2.30".parse().unwrap()),
                Element::LinkLocal {
                    addr: "fe80::30".parse().unwrap(),
                    ifindex: 1,
                },
                Element::LinkLocalName {
                    addr: "fe80::31".parse().unwrap(),
                    ifname: "lo".into(),
                },
            ],
            remove: vec![],
        };
        println!("DOC {}", batch(&settings, &job));
    }
}
