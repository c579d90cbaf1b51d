/**
 * Neighbour trust in the plan (src/controller/plan/trust.ts): the entries a
 * plan installs admit every path its own forwarding entries send p4cast
 * packets and heartbeats along -- found by walking the PRE groups, the
 * rewrite rules and the routes of the intents hop by hop, not from the
 * trees the trust entries were made from -- and nothing else: one tree
 * parent per session and tree member. Checked on mesh8 as deployed, after
 * every single link failure, with joins (IGMP, MLD through the translator)
 * and with standby overlays switched on.
 */
import { describe, expect, it } from "vitest";
import { planNetwork, type NetworkPlan, type PlanInput } from "../../src/controller/plan/network-plan.js";
import { OVERLAY_RID_BASE, T } from "../../src/controller/plan/intent.js";
import { NetworkGraph } from "../../src/controller/topology/graph.js";
import { loadTopology } from "../../src/controller/topology/load.js";
import { parseIPv4 } from "../../src/p4runtime/codec/values.js";
import type { TableEntryInput } from "../../src/client/entities/table-entry.js";
import { trustOf, withTrust } from "../../src/controller/plan/trust.js";

const ip = (v: unknown): bigint => (typeof v === "bigint" ? v : parseIPv4(String(v).split("/")[0]!));
const params = (e: TableEntryInput): Record<string, unknown> =>
  (typeof e.action === "object" && e.action && "params" in e.action ? (e.action.params as Record<string, unknown>) : {}) ?? {};

/** A hop-by-hop reading of a plan's intents. */
function reader(plan: NetworkPlan, g: NetworkGraph) {
  const entries = (sw: string, table: string) => plan.intents.get(sw)!.entries.filter((e) => e.table === table);
  const neighbour = (sw: string, port: number) => {
    const a = g.allAdjacencies(sw).find((x) => x.port === port);
    if (!a) throw new Error(`${sw}: port ${port} is not a link`);
    return a;
  };
  const isLocal = (sw: string, dst: bigint) => entries(sw, T.local).some((e) => ip(e.match!.dst_addr) === dst);
  const route = (sw: string, dst: bigint): number => {
    let best: { len: number; id: number } | undefined;
    for (const e of entries(sw, T.routeV4)) {
      const [addr, len] = String(e.match!.dst_addr).split("/");
      const n = Number(len);
      const mask = n === 0 ? 0n : ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - n)) - 1n);
      if ((ip(addr) & mask) === (dst & mask) && (!best || n > best.len)) best = { len: n, id: Number(params(e).nexthop_id) };
    }
    if (!best) throw new Error(`${sw}: no route to ${dst}`);
    const nh = entries(sw, T.nexthop).find((e) => Number(e.match!.nexthop_id) === best!.id)!;
    return Number(params(nh).port);
  };
  const has = (sw: string, table: string, match: Record<string, unknown>) =>
    entries(sw, table).some((e) => Object.entries(match).every(([k, v]) => String(e.match![k]) === String(v)));
  return { entries, neighbour, isLocal, route, has };
}

/** Every path of every session and heartbeat is admitted where it arrives; returns what was walked. */
function checkPlan(plan: NetworkPlan, g: NetworkGraph, exact = true): { tree: number; overlay: number; heartbeat: number } {
  const r = reader(plan, g);
  let tree = 0;
  let overlay = 0;
  let heartbeat = 0;
  for (const [sid, sp] of plan.sessions) {
    const group = sp.session.group;
    // Tree copies: the ingress router's session group, then each member's tree group.
    const reached = new Set<string>();
    const down = (sw: string, replicas: readonly { port: number; instance?: number }[]) => {
      for (const rep of replicas) {
        if ((rep.instance ?? 0) >= OVERLAY_RID_BASE) continue; // overlay copies and clients
        const a = r.neighbour(sw, rep.port);
        expect(
          r.has(a.to, T.treeParent, { session_id: sid, ingress_port: a.peerPort }),
          `session ${sid}: ${a.to} admits tree copies from ${sw} (port ${a.peerPort})`,
        ).toBe(true);
        tree++;
        reached.add(a.to);
        const m = r.entries(a.to, T.mcastV4).find((e) => ip(e.match!.group_addr) === ip(group));
        expect(m, `${a.to} replicates ${group}`).toBeDefined();
        down(a.to, plan.intents.get(a.to)!.groups.get(Number(params(m!).mcast_grp)) ?? []);
      }
    };
    down(sp.ingress, plan.intents.get(sp.ingress)!.groups.get(sid) ?? []);
    expect(reached).toEqual(new Set([...sp.tree.members].filter((m) => m !== sp.ingress)));
    // Exactly one tree parent per member, none elsewhere.
    for (const sw of exact ? plan.intents.keys() : []) {
      const n = r.entries(sw, T.treeParent).filter((e) => Number(e.match!.session_id) === sid).length;
      expect(n, `session ${sid}: tree parents at ${sw}`).toBe(reached.has(sw) ? 1 : 0);
    }
    // Overlay copies (active and standby): first hop from the PRE replica, then the routes to the overlay address.
    const sender = ip(g.switches.get(sp.ingress)!.loopback.ipv4);
    for (const [lh, ov] of [...sp.overlays, ...sp.standby]) {
      const rid = OVERLAY_RID_BASE + (g.switches.get(lh)!.deviceId & 0xfff);
      const rewrite = r.entries(sp.ingress, T.overlayRid).find((e) => Number(e.match!.egress_rid) === rid)!;
      const dst = ip(params(rewrite).peer_addr);
      if (sp.overlays.has(lh))
        expect(
          plan.intents
            .get(sp.ingress)!
            .groups.get(sid)!
            .some((x) => x.instance === rid && x.port === ov.path[0]!.port),
        ).toBe(true);
      let sw = sp.ingress;
      let port = ov.path[0]!.port;
      for (let hops = 0; ; hops++) {
        expect(hops).toBeLessThan(16);
        const a = r.neighbour(sw, port);
        expect(
          r.has(a.to, T.overlaySender, { session_id: sid, sender_addr: sender, ingress_port: a.peerPort }),
          `session ${sid} overlay to ${lh}: ${a.to} admits it on port ${a.peerPort}`,
        ).toBe(true);
        overlay++;
        if (r.isLocal(a.to, dst)) {
          expect(a.to).toBe(lh);
          break;
        }
        sw = a.to;
        port = r.route(sw, dst);
      }
    }
  }
  // Heartbeats: each end's requests at the other end, the responses back at the sender.
  // Both ends of a link watch it, so the same (switch, port, neighbour) is needed by both watches: counted once.
  const needed = new Set<string>();
  for (const [sw, list] of plan.peers) {
    const me = ip(g.switches.get(sw)!.loopback.ipv4);
    for (const p of list) {
      const a = r.neighbour(sw, p.port);
      expect(a.to).toBe(p.peer);
      expect(r.has(sw, T.hbNeighbor, { ingress_port: p.port, peer_addr: p.peerAddress })).toBe(true);
      expect(r.has(p.peer, T.hbNeighbor, { ingress_port: a.peerPort, peer_addr: me })).toBe(true);
      needed.add(`${sw}/${p.port}/${p.peerAddress}`);
      needed.add(`${p.peer}/${a.peerPort}/${me}`);
    }
  }
  heartbeat = needed.size;
  const hbEntries = [...plan.intents.keys()].reduce((n, sw) => n + r.entries(sw, T.hbNeighbor).length, 0);
  if (exact) expect(hbEntries).toBe(heartbeat);
  return { tree, overlay, heartbeat };
}

describe("neighbour trust in the plan (mesh8)", () => {
  const t = loadTopology("examples/mesh8.yaml");
  const plan = (g: NetworkGraph, extra: Omit<PlanInput, "graph"> = {}) => planNetwork({ graph: g, ...extra });

  it("admits every tree branch, overlay hop and heartbeat as deployed, and only those", () => {
    const g = new NetworkGraph(t);
    const walked = checkPlan(plan(g), g);
    expect(walked.tree).toBeGreaterThan(4);
    expect(walked.overlay).toBeGreaterThan(4);
    expect(walked.heartbeat).toBe(2 * t.links.length);
  });

  it("after any single link failure (trees and overlays move, the new parents are admitted)", () => {
    for (let link = 0; link < t.links.length; link++) {
      const g = new NetworkGraph(t);
      const before = plan(g);
      g.setLinkUp(link, false);
      const after = plan(g, { overlayActivated: new Map([...before.sessions].map(([sid, sp]) => [sid, new Set(sp.tree.branch.keys())])) });
      checkPlan(after, g);
    }
  });

  it("during a repair (old and new trust entries together) both the old and the new paths are admitted", () => {
    // What controller.ts holds between its repair steps: every switch admits
    // the union of the old and the new plan's neighbours while forwarding
    // moves from the old plan to the new one, switch by switch.
    for (let link = 0; link < t.links.length; link++) {
      const g = new NetworkGraph(t);
      const before = plan(g);
      g.setLinkUp(link, false);
      const after = plan(g);
      const union = (p: NetworkPlan, other: NetworkPlan): NetworkPlan => ({
        ...p,
        intents: new Map([...p.intents].map(([sw, it]) => [sw, withTrust(it, trustOf(other.intents.get(sw)!))])),
      });
      checkPlan(union(after, before), g, false);
      g.setLinkUp(link, true); // the old paths are walked over the old links
      checkPlan(union(before, after), g, false);
    }
  });

  it("with joins: an IGMP receiver on another router and an MLD receiver through the translator", () => {
    const g = new NetworkGraph(t);
    const s2 = t.sessions.find((s) => s.id === 2)!;
    const others = t.hosts.filter((h) => h.name !== s2.source && !s2.clients.includes(h.name) && h.ipv4).map((h) => h.name);
    const v6 = t.hosts.filter((h) => h.ipv6 && !h.ipv4).map((h) => h.name);
    const p = plan(g, { extraClients: new Map([[2, others.slice(0, 2)]]), ipv6Joins: new Map([[2, v6]]) });
    expect(p.sessions.get(2)!.translated.length).toBeGreaterThan(0); // delivered as IPv4 at a last hop, translated further on
    checkPlan(p, g);
  });
});
