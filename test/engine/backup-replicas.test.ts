/**
 * The engine's packet replication engine with backup replicas and port
 * status, on test/fixtures/p4/replication_test.p4 (egress writes
 * instance_type and egress_rid into the source MAC): every copy made must be
 * the one a plain reading of the rules gives — for each replica in PRE order,
 * the first of it and its backups whose port is up, or none; a replica
 * without backups goes to its port whatever its status.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadEngine, PortStatus, type Engine, type Replica } from "../../src/switch/engine/index.js";
import { liveDestination } from "../../src/switch/engine/pre.js";
import { fixture } from "../support/fixtures.js";

const prog = fixture("replication_test");
const TO_GROUP = 0x0000000000aan;
const TO_PORT_WITH_CLONE = 0x0000000000bbn;
const INGRESS = 30;

function engineWithGroup(replicas: readonly Replica[], ports = new PortStatus()): Engine {
  const e = loadEngine(prog.json, { portStatus: ports });
  e.addEntry("RepIngress.l2", {
    key: [{ kind: "exact", value: TO_GROUP }],
    priority: 0,
    action: { kind: "action", call: { action: "RepIngress.set_mcast", args: [1n] } },
  });
  e.setMulticastGroup(1, replicas);
  return e;
}

function frame(dst: bigint): Uint8Array {
  const f = new Uint8Array(60);
  for (let i = 0; i < 6; i++) f[i] = Number((dst >> BigInt(8 * (5 - i))) & 0xffn);
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
}

/** Each copy as (port, rid, instance_type), from the source MAC egress wrote. */
function copies(e: Engine, dst: bigint): { port: number; rid: number; instanceType: number }[] {
  return e.process(INGRESS, frame(dst)).map((o) => ({
    port: o.port,
    instanceType: (o.data[8]! << 8) | o.data[9]!,
    rid: (o.data[10]! << 8) | o.data[11]!,
  }));
}

/** The oracle: PRE order (one node per rid in order of first appearance, ports ascending), then the first live destination. */
function expected(replicas: readonly Replica[], down: ReadonlySet<number>): { port: number; rid: number }[] {
  const nodes = new Map<number, Replica[]>();
  for (const r of replicas) {
    const node = nodes.get(r.rid) ?? [];
    nodes.set(r.rid, node);
    if (!node.some((x) => x.port === r.port)) node.push(r);
  }
  const out: { port: number; rid: number }[] = [];
  for (const node of nodes.values())
    for (const r of [...node].sort((a, b) => a.port - b.port)) {
      if (!r.backups?.length) {
        out.push({ port: r.port, rid: r.rid });
        continue;
      }
      const d = [r, ...r.backups].find((x) => !down.has(x.port));
      if (d) out.push({ port: d.port, rid: d.rid });
    }
  return out;
}

describe("backup replicas in the engine's PRE", () => {
  it("a copy fails over to the first live backup, with its rid, comes back, and is not made when every port is down", () => {
    const ports = new PortStatus();
    const e = engineWithGroup(
      [
        {
          port: 1,
          rid: 1,
          backups: [
            { port: 2, rid: 7 },
            { port: 3, rid: 8 },
          ],
        },
        { port: 4, rid: 2 },
      ],
      ports,
    );
    const REPLICATION = 5;
    expect(copies(e, TO_GROUP)).toEqual([
      { port: 1, rid: 1, instanceType: REPLICATION },
      { port: 4, rid: 2, instanceType: REPLICATION },
    ]);
    e.setPortStatus(1, false);
    expect(copies(e, TO_GROUP).map((c) => [c.port, c.rid])).toEqual([
      [2, 7],
      [4, 2],
    ]);
    ports.set(2, false);
    expect(copies(e, TO_GROUP).map((c) => [c.port, c.rid])).toEqual([
      [3, 8],
      [4, 2],
    ]);
    e.setPortStatus(1, true);
    expect(copies(e, TO_GROUP).map((c) => [c.port, c.rid])).toEqual([
      [1, 1],
      [4, 2],
    ]);
    for (const p of [1, 3, 4]) ports.set(p, false);
    // the replica without backups still goes to its (down) port, as on simple_switch
    expect(copies(e, TO_GROUP).map((c) => [c.port, c.rid])).toEqual([[4, 2]]);
    expect(e.isPortUp(4)).toBe(false);
    expect(e.getMulticastGroup(1)).toEqual([
      {
        port: 1,
        rid: 1,
        backups: [
          { port: 2, rid: 7 },
          { port: 3, rid: 8 },
        ],
      },
      { port: 4, rid: 2 },
    ]);
  });

  it("clone sessions fail over the same way", () => {
    const e = loadEngine(prog.json);
    e.addEntry("RepIngress.l2", {
      key: [{ kind: "exact", value: TO_PORT_WITH_CLONE }],
      priority: 0,
      action: { kind: "action", call: { action: "RepIngress.set_port_and_clone", args: [1n, 5n] } },
    });
    e.setCloneSession(5, { replicas: [{ port: 3, rid: 9, backups: [{ port: 4, rid: 10 }] }], truncateBytes: 0 });
    const INGRESS_CLONE = 1;
    const NORMAL = 0;
    const sorted = () => copies(e, TO_PORT_WITH_CLONE).sort((a, b) => a.port - b.port);
    expect(sorted()).toEqual([
      { port: 1, rid: 0, instanceType: NORMAL },
      { port: 3, rid: 9, instanceType: INGRESS_CLONE },
    ]);
    e.setPortStatus(3, false);
    expect(sorted()).toEqual([
      { port: 1, rid: 0, instanceType: NORMAL },
      { port: 4, rid: 10, instanceType: INGRESS_CLONE },
    ]);
    e.setPortStatus(4, false);
    expect(sorted()).toEqual([{ port: 1, rid: 0, instanceType: NORMAL }]);
  });

  it("every copy made is the one the rules give (property)", () => {
    const destination = fc.record({ port: fc.integer({ min: 0, max: 7 }), rid: fc.integer({ min: 0, max: 5 }) });
    const replica = fc.record({
      port: fc.integer({ min: 0, max: 7 }),
      rid: fc.integer({ min: 0, max: 5 }),
      backups: fc.array(destination, { maxLength: 3 }),
    });
    fc.assert(
      fc.property(
        fc.array(replica, { maxLength: 6 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { maxLength: 8 }),
        (raw, downList) => {
          // What the P4Runtime layer lets through: (port, rid) pairs once, no backup on its replica's port.
          const seen = new Set<string>();
          const fresh = (d: { port: number; rid: number }) => !seen.has(`${d.port}/${d.rid}`) && seen.add(`${d.port}/${d.rid}`);
          const replicas: Replica[] = [];
          for (const r of raw) {
            if (!fresh(r)) continue;
            const backups = r.backups.filter((b) => b.port !== r.port && fresh(b));
            replicas.push(backups.length > 0 ? { port: r.port, rid: r.rid, backups } : { port: r.port, rid: r.rid });
          }
          const ports = new PortStatus();
          for (const p of downList) ports.set(p, false);
          const e = engineWithGroup(replicas, ports);
          const got = copies(e, TO_GROUP).map(({ port, rid }) => ({ port, rid }));
          expect(got).toEqual(expected(replicas, new Set(downList)));
          for (const r of replicas) {
            const d = liveDestination(r, ports);
            const candidates = r.backups?.length ? [r, ...r.backups] : [r];
            expect(d).toEqual(r.backups?.length ? candidates.find((c) => ports.isUp(c.port)) : r);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
