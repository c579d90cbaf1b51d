/**
 * The backups of a plan, followed through its entries (src/controller/plan/tree-backup.ts):
 * for every tree link of random topologies and sessions, a copy the link's upper end sends
 * to the link's backup is walked through the planned entries the way the data plane would
 * treat it (egress rewrite, trust, local address or route, the session's client group at a
 * window, relays). It must reach every client below the link exactly once, be admitted at
 * every router it enters, and never cross the cut link.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { TableEntryInput } from "../../src/client/entities/table-entry.js";
import { planNetwork, type NetworkPlan } from "../../src/controller/plan/network-plan.js";
import { T } from "../../src/controller/plan/intent.js";
import { NetworkGraph, type Adjacency } from "../../src/controller/topology/graph.js";
import type { Topology } from "../../src/controller/topology/schema.js";
import { parseIPv4 } from "../../src/p4runtime/codec/values.js";
import { randomTopology } from "../support/random-topology.js";

interface Shape {
  n: number;
  /** Each switch i > 0 hangs off parent[i - 1] < i (connected), plus extra links. */
  parents: number[];
  extra: { a: number; b: number; cost: number }[];
  clients: boolean[];
  redundancy: "tree-only" | "overlay-on-failure";
}

const arbShape: fc.Arbitrary<Shape> = fc.integer({ min: 3, max: 8 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    parents: fc.tuple(...[...Array(n - 1).keys()].map((i) => fc.integer({ min: 0, max: i }))),
    extra: fc.array(fc.record({ a: fc.nat(n - 1), b: fc.nat(n - 1), cost: fc.integer({ min: 1, max: 3 }) }), { maxLength: n + 2 }),
    clients: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
    redundancy: fc.constantFrom("tree-only" as const, "overlay-on-failure" as const),
  }),
);

/** Switch i has host h{i} on port 1 (h1, on s1, is the source); links take ports from 2 on. */
function topology(s: Shape): Topology | undefined {
  const links = [...s.parents.map((p, i) => ({ a: p, b: i + 1, cost: 1 + ((i * 7) % 3) })), ...s.extra.filter((l) => l.a !== l.b)];
  const clients = s.clients.map((c, i) => (c && i > 0 ? `h${i + 1}` : undefined)).filter((c) => c !== undefined);
  if (clients.length === 0) return undefined;
  return randomTopology(s.n, links, {
    hosts: [...Array(s.n).keys()].map(
      (i) => `  - { name: h${i + 1}, mac: "00:00:00:00:0${i + 1}:01", ipv4: 10.0.${i + 1}.1/24, attach: { switch: s${i + 1}, port: 1 } }`,
    ),
    sessions: [
      "  - id: 1",
      "    source: h1",
      "    service: { address: 10.0.100.1, port: 5000 }",
      "    group: 232.1.1.1",
      `    clients: [${clients.join(", ")}]`,
      `    redundancy: ${s.redundancy}`,
    ],
  });
}

const addr = (v: unknown): bigint => (typeof v === "bigint" ? v : parseIPv4(String(v)));
const entries = (plan: NetworkPlan, sw: string, table: string): TableEntryInput[] =>
  plan.intents.get(sw)!.entries.filter((e) => e.table === table);
/** An entry's action parameter (direct actions only: the plan uses no profiles). */
function param(e: TableEntryInput, name: string): unknown {
  const a = e.action;
  if (a === undefined || typeof a === "string" || !("name" in a)) throw new Error(`${e.table}: no direct action`);
  return a.params?.[name];
}

/** Where a backup copy of `a` (cut) ends up: clients reached (with counts) and every fault on the way. */
function walkBackup(t: Topology, g: NetworkGraph, plan: NetworkPlan, a: Adjacency) {
  const sp = plan.sessions.get(1)!;
  const sender = parseIPv4(t.switches.find((s) => s.name === sp.ingress)!.loopback.ipv4);
  const delivered = new Map<string, number>();
  const faults: string[] = [];
  let steps = 0;
  const hostAt = (sw: string, port: number) => t.hosts.find((h) => h.attach.switch === sw && h.attach.port === port);

  const emit = (sw: string, port: number, rid: number): void => {
    const host = hostAt(sw, port);
    if (host) {
      if (!entries(plan, sw, T.clientRid).some((e) => e.match?.egress_rid === rid)) faults.push(`${sw}: client replica ${rid} unknown`);
      delivered.set(host.name, (delivered.get(host.name) ?? 0) + 1);
      return;
    }
    const rw = entries(plan, sw, T.overlayRid).find((e) => e.match?.egress_rid === rid);
    if (!rw) return void faults.push(`${sw}: replica ${rid} out of port ${port} has no rewrite`);
    travel(sw, port, addr(param(rw, "peer_addr")));
  };
  const travel = (sw: string, port: number, dst: bigint): void => {
    const adj = g.allAdjacencies(sw).find((x) => x.port === port);
    if (!adj) return void faults.push(`${sw}: port ${port} leads nowhere`);
    if (adj.link === a.link) return void faults.push(`${sw}: the copy crosses the cut link`);
    arrive(adj.to, adj.peerPort, dst);
  };
  const arrive = (sw: string, inPort: number, dst: bigint): void => {
    if (++steps > 200) return void faults.push("the copy loops");
    const trusted = entries(plan, sw, T.overlaySender).some(
      (e) => e.match?.session_id === 1 && addr(e.match?.sender_addr) === sender && e.match?.ingress_port === inPort,
    );
    if (!trusted) return void faults.push(`${sw}: port ${inPort} does not admit the session's overlay copies`);
    if (entries(plan, sw, T.local).some((e) => addr(e.match?.dst_addr) === dst)) {
      const acc = entries(plan, sw, T.lastHopSession).find((e) => e.match?.session_id === 1);
      if (!acc) return void faults.push(`${sw}: a local copy of a session it has no window for`);
      const grp = Number(param(acc, "client_grp"));
      for (const r of plan.intents.get(sw)!.groups.get(grp) ?? []) emit(sw, r.port, r.instance ?? 0);
      return;
    }
    let best: { len: number; port: number } | undefined;
    for (const e of entries(plan, sw, T.routeV4)) {
      const [net, len] = String(e.match?.dst_addr).split("/");
      const bits = Number(len);
      const mask = bits === 0 ? 0n : ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - bits)) - 1n);
      if ((dst & mask) !== (parseIPv4(net!) & mask) || (best && best.len >= bits)) continue;
      best = { len: bits, port: Number(param(e, "nexthop_id")) };
    }
    if (!best) return void faults.push(`${sw}: no route`);
    travel(sw, best.port, dst);
  };

  const replica = plan.intents
    .get(a.from)!
    .groups.get(1)
    ?.find((r) => r.port === a.port);
  const backup = replica?.backups?.[0];
  if (!backup) faults.push(`${a.from}: no backup towards ${a.to}`);
  else emit(a.from, backup.port, backup.instance ?? 0);
  return { delivered, faults };
}

/** Whether the link's ends are connected without it. */
function connectedWithout(g: NetworkGraph, a: Adjacency): boolean {
  const seen = new Set([a.from]);
  const todo = [a.from];
  while (todo.length > 0) {
    for (const x of g.neighbours(todo.pop()!)) {
      if (x.link === a.link || seen.has(x.to)) continue;
      seen.add(x.to);
      todo.push(x.to);
    }
  }
  return seen.has(a.to);
}

/** The clients of the session whose last hop is `top` or below it on the tree. */
function clientsBelow(plan: NetworkPlan, top: string): string[] {
  const sp = plan.sessions.get(1)!;
  const below: string[] = [];
  const visit = (m: string) => {
    below.push(...(sp.lastHops.get(m) ?? []).map((h) => h.name));
    for (const c of sp.tree.children.get(m) ?? []) visit(c.to);
  };
  visit(top);
  return below.sort();
}

describe("backup replicas, walked through the plan's entries", () => {
  it("every tree link's backup reaches each client below the link once, admitted all the way, never over the cut link", () => {
    let links = 0;
    let transit = 0;
    fc.assert(
      fc.property(arbShape, (shape) => {
        const t = topology(shape);
        if (!t) return;
        const g = new NetworkGraph(t);
        const plan = planNetwork({ graph: g });
        const sp = plan.sessions.get(1)!;
        for (const adjs of sp.tree.children.values()) {
          for (const a of adjs) {
            if (!sp.detours.has(a.to)) {
              expect(connectedWithout(g, a), `${a.from}→${a.to} has no detour: a bridge`).toBe(false);
              continue;
            }
            links++;
            if (sp.tree.children.has(a.to)) transit++;
            const { delivered, faults } = walkBackup(t, g, plan, a);
            expect(faults, `${a.from}→${a.to}`).toEqual([]);
            expect([...delivered.keys()].sort(), `${a.from}→${a.to}: clients reached`).toEqual(clientsBelow(plan, a.to));
            for (const [h, n] of delivered) expect(n, `${h} reached once`).toBe(1);
          }
        }
      }),
      { numRuns: 200 },
    );
    // The generator reaches both kinds of link (guards against a property that checks nothing).
    expect(links).toBeGreaterThan(50);
    expect(transit).toBeGreaterThan(10);
  });
});
