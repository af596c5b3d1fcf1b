#!/usr/bin/env python3
"""Helpers for scripts/keepalived-diff.sh.

rewrite IN OUT      copy a keepalived.conf with its IPv4 addresses moved into
                    the documentation ranges and the parts that would reach
                    outside a namespace (routes, rules, LVS, net_namespace) cut.
plan VRRPD_JSON     print "IFACE ADDR/PREFIX" lines: the links and addresses a
                    namespace needs for keepalived to start the instances.
compare NAME VRRPD_JSON KA_JSON KA_LOG
                    compare keepalived's JSON dump (signal 36) and its -d
                    configuration dump with `vrrpd check --format json`;
                    print what was compared; exit 1 on any difference.
"""

import ipaddress
import os
import json
import re
import sys

DOC24 = ["192.0.2", "198.51.100", "203.0.113"]
CUT_BLOCKS = {
    "static_routes", "static_rules", "static_ipaddress", "virtual_routes",
    "virtual_rules", "virtual_server", "virtual_server_group",
}
CUT_LINES = re.compile(r"^\s*(@\^?\S+\s+)?(net_namespace|net_namespace_ipvs)\b")
IPV4 = re.compile(r"(?<![\w.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\w.])")


def cut_blocks(text):
    out, depth, cutting = [], 0, 0
    for line in text.splitlines():
        code = re.split(r"[#!]", line, maxsplit=1)[0]
        words = code.split()
        if not cutting and words and words[0] in CUT_BLOCKS and "{" in code:
            cutting = 1
            depth = code.count("{") - code.count("}")
            if depth <= 0:
                cutting = 0
            continue
        if cutting:
            depth += code.count("{") - code.count("}")
            if depth <= 0:
                cutting = 0
            continue
        if CUT_LINES.match(line):
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def rewrite(src, dst):
    text = cut_blocks(open(src).read())
    slots = {}

    def sub(m):
        prefix = ".".join(m.group(i) for i in (1, 2, 3))
        if prefix in DOC24 or m.group(1) in ("224", "127", "0"):
            return m.group(0)
        if prefix not in slots:
            free = [d for d in DOC24 if d not in slots.values() and d not in text]
            if not free:
                raise SystemExit(f"{src}: more than three /24s to map")
            slots[prefix] = free[0]
        return f"{slots[prefix]}.{m.group(4)}"

    text = IPV4.sub(sub, text)
    with open(dst, "w") as f:
        f.write(text)
    for k, v in slots.items():
        print(f"  mapped {k}.0/24 -> {v}.0/24")


def plan(vrrpd_json):
    cfg = json.load(open(vrrpd_json))["config"]
    links, addrs = [], []

    def link(name):
        if name and name not in links:
            links.append(name)

    for inst in cfg.get("instance", []):
        iface = inst.get("interface")
        link(iface)
        for v in inst.get("vips", []) + inst.get("excluded_vips", []):
            link(v.get("dev"))
        for t in inst.get("track_interfaces", []):
            link(t["name"])
        if inst.get("unicast_src"):
            addrs.append((iface, inst["unicast_src"] + "/24"))
        elif inst.get("vips") and inst.get("family", "ipv4") == "ipv4":
            net = ipaddress.ip_network(inst["vips"][0]["addr"] + "/24", strict=False)
            addrs.append((iface, f"{net.network_address + 250}/24"))
    for g in cfg.get("sync_group", []):
        for t in g.get("track_interfaces", []):
            link(t["name"])
    for name in links:
        print(f"link {name}")
    seen = set()
    for iface, a in addrs:
        if iface and (iface, a) not in seen:
            seen.add((iface, a))
            print(f"addr {iface} {a}")


def topology(log):
    """Per instance from keepalived -d: peers and tracker weights."""
    out, cur, section = {}, None, None
    for raw in open(log, errors="replace"):
        line = raw.rstrip("\n")
        m = re.search(r"^\S.*?: (\s*)(.*)$", line)
        body = m.group(2) if m else line.strip()
        indent = len(m.group(1)) if m else 0
        if body.startswith("------<"):
            cur = None
            continue
        im = re.match(r"VRRP Instance = (\S+)", body)
        if im and indent == 1:
            fresh = {"peers": [], "track_ifp": {}, "track_script": {}, "track_file": {}}
            # The dump can appear twice in the log (timing); keep the first.
            cur = out.setdefault(im.group(1), fresh) if im.group(1) not in out else fresh
            section = None
            continue
        if cur is None:
            continue
        if indent == 3 and body == "Use VMAC for VIPs on other interfaces":
            cur["use_vmac_addr"] = True
            continue
        if indent == 3 and body.startswith("Notify priority changes = "):
            cur["npc"] = body.endswith("true")
            continue
        if indent == 3:
            kv = re.match(r"(Unicast TTL|Kernel rx buffer size|Unicast checksum compatibility"
                          r"|Gratuitous ARP for each secondary (?:i/f|VMAC)) = (\S+)", body)
            if kv:
                cur.setdefault("values", {})[kv.group(1)] = kv.group(2)
            section = {"Unicast Peer :": "peers", "Tracked interfaces :": "track_ifp",
                       "Tracked scripts :": "track_script", "Tracked files :": "track_file"}.get(body)
            continue
        if indent >= 5 and section:
            parts = body.split()
            if parts and section == "track_file":
                parts[0] = parts[0].rstrip(",")
            if section == "peers":
                ttl = dict(zip(parts[1::2], parts[2::2]))
                cur["peers"].append(f"{parts[0]} ttl {ttl.get('min_ttl', '0')}..{ttl.get('max_ttl', '255')}")
            elif section == "track_file" and len(parts) >= 3 and parts[1] == "weight":
                cur[section][parts[0].rstrip(",")] = parts[2]
            elif len(parts) >= 3 and parts[1] == "weight":
                rev = " reverse" if "reverse" in parts[3:] else ""
                cur[section][parts[0]] = parts[2] + rev
    return out


def t_values_keys(topo, iname):
    """What the -d dump said of instance INAME (empty when it was not dumped);
    use_vmac_addr is False when the dump is there without its line."""
    got = topo.get(iname)
    if got is None:
        return set()
    got.setdefault("use_vmac_addr", False)
    return set(got)


def compare(name, vrrpd_json, ka_json, ka_log):
    cfg = json.load(open(vrrpd_json))["config"]
    # "-": keepalived found no VRRP instance and started no VRRP process.
    dump = [] if ka_json == "-" else json.load(open(ka_json))
    if isinstance(dump, dict):
        dump = dump.get("vrrp", [])
    ka = {i["data"]["iname"]: i["data"] for i in dump}
    topo = topology(ka_log)
    scripts = {s["name"]: s for s in cfg.get("script", [])}
    ours = {i["name"]: i for i in cfg.get("instance", [])}
    diffs, fields, notes = [], 0, []
    log_text = open(ka_log, errors="replace").read()
    missing = {n for n, s in scripts.items()
               if re.search(r"Disabling track script " + re.escape(n) + r"\b", log_text)
               or (s["script"]["cmd"].split() and f"Cannot find script {s['script']['cmd'].split()[0]}" in log_text)}

    def check(inst, what, mine, theirs):
        nonlocal fields
        fields += 1
        if mine != theirs:
            diffs.append(f"{inst}.{what}: vrrpd {mine!r} keepalived {theirs!r}")

    check("*", "instances", sorted(ours), sorted(ka))
    for iname in sorted(set(ours) & set(ka)):
        o, k = ours[iname], ka[iname]
        check(iname, "vrid", o["vrid"], k["vrid"])
        check(iname, "priority", o["priority"], k["base_priority"])
        check(iname, "state", o["state"], {1: "BACKUP", 2: "MASTER"}.get(k["wantstate"], k["wantstate"]))
        check(iname, "advert_int", float(o["advert_int"]), float(k["adver_int"]))
        check(iname, "version", o["version"], k["version"])
        auth = o.get("auth_pass")
        check(iname, "auth_type", 1 if auth is not None else 0, k.get("auth_type", 0))
        if auth is not None:
            check(iname, "auth_pass", auth, k.get("auth_data"))
        vips = []
        for v in o.get("vips", []):
            full = 32 if ":" not in v["addr"] else 128
            s = v["addr"] + ("" if v["prefix"] == full else f"/{v['prefix']}")
            vips.append(s)
        check(iname, "vips", vips, [x.split()[0] for x in k.get("vips", [])])
        # With use_vmac the addresses live on the macvlan ("vrrp.1@eth0");
        # an address with a VMAC of its own on that one ("vrrp.1@eth1").
        def dev_of(v):
            if v.get("vmac"):
                return v["vmac"]
            if v.get("dev"):
                return v["dev"]
            same = (":" in v["addr"]) == (o.get("family", "ipv4") == "ipv6")
            return (o.get("use_vmac") if same else None) or o.get("interface")

        def ka_devs(entries):
            return [x.split()[x.split().index("dev") + 1].split("@")[0] if "dev" in x.split() else None
                    for x in entries]

        check(iname, "vip_devs", [dev_of(v) for v in o.get("vips", [])], ka_devs(k.get("vips", [])))
        check(iname, "excluded_vip_devs", [dev_of(v) for v in o.get("excluded_vips", [])],
              ka_devs(k.get("evips", [])))
        # keepalived keeps an address's use_vmac only where it decides.
        for what, mine, theirs in (("vips", o.get("vips", []), k.get("vips", [])),
                                   ("excluded_vips", o.get("excluded_vips", []), k.get("evips", []))):
            check(iname, f"{what}_use_vmac", [bool(v.get("use_vmac")) for v in mine],
                  ["use_vmac" in x.split() for x in theirs])
        labels = [v.get("label") for v in o.get("vips", [])]
        kl = [x.split()[x.split().index("label") + 1] if "label" in x.split() else None for x in k.get("vips", [])]
        check(iname, "vip_labels", labels, kl)
        check(iname, "excluded_vips", [v["addr"] for v in o.get("excluded_vips", [])],
              [x.split()[0].split("/")[0] for x in k.get("evips", [])])
        check(iname, "nopreempt", o.get("nopreempt", False), k["nopreempt"])
        check(iname, "preempt_delay", float(o.get("preempt_delay", 0)), float(k["preempt_delay"]))
        check(iname, "accept", o["accept"], bool(k["accept"]))
        check(iname, "strict", o.get("strict", False), bool(k["strict_mode"]))
        check(iname, "skip_check_adv_addr", o.get("skip_check_adv_addr", False), bool(k["skip_check_adv_addr"]))
        check(iname, "dont_track_primary", o.get("dont_track_primary", False), bool(k["dont_track_primary"]))
        g = o.get("garp", {})
        check(iname, "garp_master_delay", float(g.get("master_delay", 5)), float(k["garp_delay"]))
        check(iname, "garp_master_repeat", g.get("master_repeat", 5), k["garp_rep"])
        check(iname, "garp_master_refresh", float(g.get("master_refresh", 0)), float(k["garp_refresh"]))
        check(iname, "garp_refresh_repeat", g.get("master_refresh_repeat", 1), k["garp_refresh_rep"])
        check(iname, "garp_lower_prio_delay", float(g.get("lower_prio_delay", 5)), float(k["garp_lower_prio_delay"]))
        check(iname, "garp_lower_prio_repeat", g.get("lower_prio_repeat", 5), k["garp_lower_prio_rep"])
        check(iname, "lower_prio_no_advert", o.get("lower_prio_no_advert", False), bool(k["lower_prio_no_advert"]))
        check(iname, "higher_prio_send_advert", o.get("higher_prio_send_advert", False), bool(k["higher_prio_send_advert"]))
        check(iname, "smtp_alert", o.get("smtp_alert", False), bool(k["smtp_alert"]))
        # notify_priority_changes: the instance's, else its sync group's,
        # else the global (keepalived prints the result in its -d dump).
        npc = o.get("notify_priority_changes")
        if npc is None:
            groups = [g for g in cfg.get("sync_group", []) if iname in g.get("members", [])]
            npc = groups[0].get("notify_priority_changes") if groups else None
        if npc is None:
            npc = cfg.get("global", {}).get("notify_priority_changes", False)
        if "npc" in topo.get(iname, {}):
            check(iname, "notify_priority_changes", npc, topo[iname]["npc"])
        check(iname, "vmac", o.get("use_vmac") or "", k.get("vmac_ifname", ""))
        if "use_vmac_addr" in t_values_keys(topo, iname):
            check(iname, "use_vmac_addr", o.get("use_vmac_addr", False), topo[iname]["use_vmac_addr"])
        check(iname, "promote_secondaries", o.get("promote_secondaries", False), bool(k.get("promote_secondaries", False)))
        t = topo.get(iname, {"peers": [], "track_ifp": {}, "track_script": {}, "track_file": {}})
        # Issue 15 wire keywords, from keepalived's -d dump.
        kvals = t.get("values", {})
        unicast = bool(o.get("unicast_peers"))
        v4 = ":" not in (o.get("vips") or [{"addr": ""}])[0]["addr"]
        if unicast:
            ttl = o.get("unicast_ttl", 255 if v4 else None)
            check(iname, "unicast_ttl", None if ttl is None else str(ttl), kvals.get("Unicast TTL"))
            compat = {"auto": "no", "never": "never", "always": "config"}[o.get("old_unicast_checksum", "auto")]
            check(iname, "old_unicast_checksum", compat, kvals.get("Unicast checksum compatibility"))
        rx = o.get("kernel_rx_buf_size")
        check(iname, "kernel_rx_buf_size", None if rx is None else str(rx), kvals.get("Kernel rx buffer size"))
        gx = o.get("garp_extra_if")
        own = None if o.get("use_vmac") else o.get("interface")
        addrs = o.get("vips", []) + o.get("excluded_vips", [])
        other = any(v.get("dev") and v.get("dev") != own for v in addrs)
        # Addresses' VMACs keep it on without `all` (keepalived's use_extra_vmac).
        extra_vmac = any(v.get("vmac") for v in addrs)
        on = gx and gx.get("interval", 0) > 0 and (extra_vmac or (gx.get("all") and other))
        eff = str(gx["interval"]) if on else None
        kind = "i/f" if gx and gx.get("all") else "VMAC"
        check(iname, "garp_extra_if", eff, kvals.get(f"Gratuitous ARP for each secondary {kind}"))
        peers = [f"{p['addr']} ttl {p.get('min_ttl', 0)}..{p.get('max_ttl', 255)}" for p in o.get("unicast_peers", [])]
        check(iname, "unicast_peers", peers, t["peers"])
        ti = {x["name"]: str(x.get("weight", 0)) + (" reverse" if x.get("reverse") else "")
              for x in o.get("track_interfaces", [])}
        check(iname, "track_interface_weights", ti, t["track_ifp"])
        ts = {}
        for x in o.get("track_scripts", []):
            if x["name"] in missing:
                notes.append(f"{iname}: track_script {x['name']} not compared: its script file is absent on this host, so keepalived disabled it")
                continue
            s = scripts.get(x["name"], {})
            w = x.get("weight", s.get("weight", 0))
            rev = x.get("reverse", s.get("reverse", False))
            ts[x["name"]] = str(w) + (" reverse" if rev else "")
        check(iname, "track_script_weights", ts, t["track_script"])
        files = {f["name"]: f for f in cfg.get("track_file", [])}
        tf = {}
        for x in o.get("track_files", []):
            f = files.get(x["name"], {})
            w = x.get("weight", f.get("weight", 1))
            rev = x.get("reverse", f.get("reverse", False))
            tf[x["name"]] = str(-w if rev else w)
        check(iname, "track_file_weights", tf, t["track_file"])
    totals = os.environ.get("KEEPALIVED_DIFF_TOTALS")
    if totals:
        with open(totals, "a") as f:
            f.write(f"{len(ours)} {fields} {len(diffs)}\n")
    status = "OK  " if not diffs else "DIFF"
    print(f"  {status} {name}: {len(ours)} instances, {fields} fields compared, {len(diffs)} differences")
    for d in diffs:
        print(f"       {d}")
    for n in notes:
        print(f"       note: {n}")
    return 1 if diffs else 0


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "rewrite" and len(sys.argv) == 4:
        rewrite(sys.argv[2], sys.argv[3])
    elif cmd == "plan" and len(sys.argv) == 3:
        plan(sys.argv[2])
    elif cmd == "compare" and len(sys.argv) == 6:
        sys.exit(compare(*sys.argv[2:6]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
