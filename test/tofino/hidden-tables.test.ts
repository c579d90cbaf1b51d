/**
 * The TNA port's @hidden decision tables (docs/tofino.md, "How it fits in
 * twelve stages") against the conditions they replace: each table's
 * constant entries, read from the P4 source and matched as a ternary table
 * matches them, give the action the v1model chain of conditions takes, for
 * every combination of the keys' validity bits and flags and of the values
 * where a condition changes (TTL 0, 1, 2, 255; group 0 or not; ...). No
 * packet reaches these tables here (there is no TNA simulator), so this is
 * what says their entries are the v1model decisions.
 */
import { describe, expect, it } from "vitest";
import { constEntries, lookup } from "../support/p4-const-entries.js";

/** Every combination of the given values, one array per key. */
function* product(domains: readonly (readonly number[])[]): Generator<number[]> {
  const idx = domains.map(() => 0);
  for (;;) {
    yield idx.map((i, k) => domains[k]![i]!);
    let k = domains.length - 1;
    while (k >= 0 && ++idx[k]! === domains[k]!.length) idx[k--] = 0;
    if (k < 0) return;
  }
}

const BOOL = [0, 1];
const TTL = [0, 1, 2, 64, 255];

/**
 * Checks a table over the product of `domains` (less the combinations
 * `possible` rules out): the first few mismatches, none expected. Returns
 * the number of combinations checked.
 */
function check(
  file: string,
  table: string,
  defaultAction: string,
  domains: readonly (readonly number[])[],
  reference: (k: number[]) => string,
  possible: (k: number[]) => boolean = () => true,
): number {
  const entries = constEntries(file, table);
  const wrong: string[] = [];
  let n = 0;
  for (const k of product(domains)) {
    if (!possible(k)) continue;
    n++;
    const got = lookup(entries, k, defaultAction);
    const want = reference(k);
    if (got !== want && wrong.length < 5) wrong.push(`keys ${k.join(", ")}: ${got}, v1model ${want}`);
  }
  expect(wrong, `${table}`).toEqual([]);
  return n;
}

const ttlExpired = (ttl: number) => ttl <= 1;

describe("the TNA @hidden decision tables take the v1model decisions", () => {
  /*
   * v1model (L3Forward, TreeReplicationIngress): outer_ipv4 else ipv4 (v4)
   * else ipv6; neither -> the control's "no route / no group" drop; TTL <= 1
   * -> TTL_EXPIRED; else the decrement (and for the tree the multicast MAC)
   * and the lookup of that family. Keys: the three validity bits, the three TTLs.
   */
  const ttlStep =
    (prefix: string, neither: string) =>
    ([o, v4, v6, ot, t4, hl]: number[]) => {
      if (o) return ttlExpired(ot!) ? `${prefix}_expired()` : `${prefix}_outer4()`;
      if (v4) return ttlExpired(t4!) ? `${prefix}_expired()` : `${prefix}_ipv4()`;
      if (v6) return ttlExpired(hl!) ? `${prefix}_expired()` : `${prefix}_ipv6()`;
      return neither;
    };
  const ttlKeys = [BOOL, BOOL, BOOL, TTL, TTL, TTL];

  it("route_ttl_step (L3Forward): the header that carries the TTL, its test and decrement, else no route", () => {
    const n = check("controls/l3_forward.p4", "route_ttl_step", "drop_no_route()", ttlKeys, ttlStep("route", "drop_no_route()"));
    expect(n).toBe(8 * 125);
  });

  it("tree_ttl_step (TreeReplicationIngress): the same choice, with the multicast rewrite, else no group", () => {
    check("controls/tree_replication.p4", "tree_ttl_step", "drop_no_group()", ttlKeys, ttlStep("tree", "drop_no_group()"));
  });

  it("encap_step (SessionEncap): TTL, then group 0, then the encapsulation of the packet's family", () => {
    // v1model: ttl_ok from ipv4 else ipv6 (neither: not ok); !ttl_ok -> TTL_EXPIRED;
    // group 0 -> NO_ROUTE (no replicas); else encapsulate.
    check("controls/session_encap.p4", "encap_step", "encap_expired()", [BOOL, TTL, BOOL, TTL, [0, 1, 0x3fff]], ([v4, t4, v6, hl, grp]) => {
      if (v4) return ttlExpired(t4!) ? "encap_expired()" : grp === 0 ? "encap_no_group()" : "encap_ipv4()";
      if (v6) return ttlExpired(hl!) ? "encap_expired()" : grp === 0 ? "encap_no_group()" : "encap_ipv6()";
      return "encap_expired()";
    });
  });

  it("yellow_dscp_step / yellow_ecn_step (BurstMeter): a yellow packet's DSCP, and CE only if ECN-capable", () => {
    const colours = [0, 1, 3]; // green, yellow, red (p4/tna/arch.p4)
    check("controls/burst_meter.p4", "yellow_dscp_step", "NoAction()", [colours, BOOL, BOOL], ([c, v4, v6]) =>
      c !== 1 ? "NoAction()" : v4 ? "yellow_dscp4()" : v6 ? "yellow_dscp6()" : "NoAction()",
    );
    const ecn = [0, 1, 2, 3];
    check("controls/burst_meter.p4", "yellow_ecn_step", "NoAction()", [colours, BOOL, ecn, BOOL, ecn], ([c, v4, e4, v6, e6]) => {
      if (c !== 1) return "NoAction()";
      if (v4) return e4 !== 0 ? "yellow_ce4()" : "NoAction()";
      if (v6) return e6 !== 0 ? "yellow_ce6()" : "NoAction()";
      return "NoAction()";
    });
  });

  it("packet_out_step (PacketIoIngress): DIRECT (stamped if a STAMP heartbeat request), FANOUT, or the pipeline", () => {
    const flags = Array.from({ length: 128 }, (_, i) => i);
    check(
      "tna/ingress.p4",
      "packet_out_step",
      "NoAction()",
      [BOOL, flags, BOOL, BOOL, [0, 1, 2, 15], [0, 1, 2, 3, 4, 0xff]],
      ([po, f, hb, udp, type, hf]) => {
        if (!po) return "NoAction()";
        if ((f! & 0x01) !== 0) return hb && udp && type === 1 && (hf! & 0x02) !== 0 ? "pktout_direct_stamp()" : "pktout_direct()";
        if ((f! & 0x02) !== 0) return "pktout_fanout()";
        return "pktout_pipeline()";
      },
    );
  });

  it("lasthop_verdict: not a last hop, duplicate, too old, out of window, no clients, else deliver", () => {
    // The dedup verdict (p4/tna/overlay_dedup.p4's last step) from the
    // window's results, then the shared last-hop decision on that verdict.
    check(
      "tna/ingress.p4",
      "lasthop_verdict",
      "lh_deliver()",
      [BOOL, BOOL, [0, 1], BOOL, BOOL, [0, 1, 0x3fff]],
      ([lh, mark, seen, ahead, old, grp]) => {
        if (!lh) return "lh_drop(DROP_UNKNOWN_SESSION)";
        const verdict = mark ? (seen === 1 && !ahead ? "duplicate" : "new") : old ? "too-old" : "out-of-window";
        if (verdict === "duplicate") return "lh_drop(DROP_DUPLICATE)";
        if (verdict === "too-old") return "lh_drop(DROP_TOO_OLD)";
        if (verdict === "out-of-window") return "lh_drop(DROP_OUT_OF_WINDOW)";
        if (grp === 0) return "lh_drop(DROP_UNKNOWN_SESSION)";
        return "lh_deliver()";
      },
    );
  });

  it("tm_decision (the TNA ingress wrapper): drop, undecided, tree hit on group 0 -> drop; a group; else the port", () => {
    check("tna/arch.p4", "tm_decision", "tm_group()", [BOOL, BOOL, BOOL, [0, 1, 0x3fff]], ([drop, done, hit, grp]) =>
      drop || !done || (hit && grp === 0) ? "tm_drop()" : grp !== 0 ? "tm_group()" : "tm_port()",
    );
  });

  it("csum_step (the TNA ingress wrapper): the one deparser checksum update a packet takes, as the three if-chains it replaces", () => {
    // Keys: reflected, udp, udp csum, tcp, icmp, icmpv6, to_v4, ipv4, to_v6, ipv6, shim, accept, hbh, hbh len.
    const chains = ([reflected, udp, csum, tcp, icmp, icmpv6, toV4, v4, toV6, v6, shim, accept, hbh, len]: number[]) => {
      const actions: string[] = [];
      if (reflected && udp && csum !== 0) actions.push("csum_hb()");
      if (toV4 && v4 && icmp) actions.push("csum_to_icmp()");
      else if (toV6 && v6 && icmpv6) actions.push("csum_to_icmpv6()");
      const translated = (toV4 && v4) || (toV6 && v6);
      const deliverable = shim && accept && (!hbh || len! >> 1 === 0);
      if (udp && csum !== 0 && (translated || deliverable)) actions.push("csum_fix_udp()");
      else if (tcp && (translated || deliverable)) actions.push("csum_fix_tcp()");
      else if (icmpv6 && deliverable) actions.push("csum_fix_icmpv6()");
      return actions;
    };
    // What the pipeline can hand the wrapper: one L4 header; a heartbeat is
    // reflected only when addressed to this switch (no shim, no
    // translation); a translation (one direction) only of a plain packet.
    const possible = ([reflected, udp, , tcp, icmp, icmpv6, toV4, , toV6, , shim]: number[]) =>
      udp! + tcp! + icmp! + icmpv6! <= 1 && !(toV4 && toV6) && !(reflected && (shim || toV4 || toV6 || !udp)) && !(shim && (toV4 || toV6));
    const domains = [BOOL, BOOL, [0, 1, 0xffff], BOOL, BOOL, BOOL, BOOL, BOOL, BOOL, BOOL, BOOL, BOOL, BOOL, [0, 1, 2, 3, 255]];
    // The cases exclude each other there, as the table's comment says: at most one update.
    for (const k of product(domains)) if (possible(k)) expect(chains(k).length, `keys ${k.join(", ")}`).toBeLessThanOrEqual(1);
    const n = check("tna/arch.p4", "csum_step", "csum_none()", domains, (k) => chains(k)[0] ?? "csum_none()", possible);
    expect(n).toBe(5040);
  });
});
