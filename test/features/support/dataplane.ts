/**
 * The harness of the data-plane feature tests (test/features/<feature>.test.ts):
 * the p4cast data plane (p4/build/p4cast.json, compiled by p4c) end to end,
 * crafted frames in, exact frames (bytes and ports) out. Targets: the
 * embedded switch always, simple_switch_grpc when it is on PATH
 * (test/support/targets.ts). Each feature file loops over `dataplaneKinds`,
 * calls `dataplane(kind)` inside its per-target describe (a switch of its
 * own, started in beforeAll, stopped in afterAll) and installs what its
 * tests need with the `install*` functions below, in its own beforeAll.
 *
 * Switch ports 1..4 face hosts h1..h4. The switch's MAC on port p is
 * 02:00:00:00:00:0p; host hp's MAC is 02:00:00:00:0p:01.
 *
 * The embedded switch gives the test real data ports (virtual links). The
 * harness's simple_switch_grpc has none, so there the suite runs in
 * CPU-port loopback: every egress port in the entries is CPU_PORT, frames
 * are injected as packet-outs without the DIRECT flag (they run through the
 * pipeline as if received on port 255), and what the switch sends out comes
 * back as packet-ins with reason 0; the "port" of such an output is read
 * from its source MAC, which every test rewrites to the port's MAC. Punts
 * (reason != 0) are packet-ins as usual, with ingress port 255.
 */
import { afterAll, beforeAll, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { P4RuntimeClient } from "../../../src/client/client.js";
import { parseP4Info } from "../../../src/p4runtime/p4info/load.js";
import type { EntityInput } from "../../../src/client/entities/entity.js";
import type { DecodedPacketIn } from "../../../src/client/entities/packet-io.js";
import { registerAccess, type RegisterAccess } from "../../../src/client/registers.js";
import { startTarget, targets, type TestTarget } from "../../support/targets.js";
import { startVethBmv2, vethAvailable, type RawHostPort } from "./bmv2-veth.js";
import { CPU_PORT, buildFrame, bytesToHex, checksumProblems, decodeFrame, ipv6ToBigInt } from "../../../src/packet/index.js";
import type { DecodedFrame, FrameSpec, PacketSpec } from "../../../src/packet/index.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const p4info = parseP4Info(readFileSync(join(root, "p4/build/p4cast.p4info.txtpb"), "utf8"), "text", "p4cast.p4info.txtpb");
const deviceConfig = new Uint8Array(readFileSync(join(root, "p4/build/p4cast.json")));

export const swMac = (p: number): string => `02:00:00:00:00:0${p}`;
export const hostMac = (p: number): string => `02:00:00:00:0${p}:01`;
export const PORTS = [1, 2, 3, 4] as const;
/** IPv4 flags: Don't Fragment. */
export const DF = 0b010;
/** Drop reasons (docs/packet-formats.md). */
export { DropReason as DROP } from "../../../src/controller/drop-reasons.js";

/** Addresses the installed entries and the tests share. */
export const ADDR = {
  /** The ingress router of every session (outer source address). */
  INGRESS: "192.0.2.1",
  /** This router's overlay address as the last hop of sessions 7, 9, 10 (installLastHop). */
  LASTHOP: "198.51.100.9",
  /** Its overlay address as the last hop of sessions 12, 13 (installTrustedSessions). */
  TRUSTED_LASTHOP: "198.51.100.12",
  /** Its address for heartbeats (installHeartbeat). */
  HEARTBEAT: "192.0.2.100",
} as const;

/** Frames seen per port during one `exchange`. */
export type Outputs = Map<number, Uint8Array[]>;

/** The embedded switch, simple_switch_grpc (loopback), and with P4CAST_BMV2_VETH=1 simple_switch_grpc with veth data ports. */
export const dataplaneKinds: string[] = [...targets(), ...(vethAvailable() ? ["bmv2-veth"] : [])];

/** What the suite needs from a target. */
export interface SuiteTarget {
  readonly address: string;
  readonly deviceId: bigint;
  readonly thriftPort?: number;
  readonly hosts?: ReadonlyMap<number, RawHostPort>;
  stop(): Promise<void>;
}

async function start(kind: string): Promise<SuiteTarget> {
  if (kind === "bmv2-veth") return startVethBmv2([...PORTS]);
  const t: TestTarget = await startTarget(kind as "embedded" | "bmv2", { ports: [...PORTS] });
  return t;
}

export function entry(table: string, match: Record<string, unknown>, action: string, params: Record<string, unknown> = {}): EntityInput {
  return {
    kind: "tableEntry",
    table,
    match: match as never,
    action: { name: action, params: params as never },
  };
}

const v6 = ipv6ToBigInt;
const lpm4 = (value: string, prefixLen: number): { value: string; prefixLen: number } => ({ value, prefixLen });
const lpm6 = (addr: string, prefixLen: number): { value: bigint; prefixLen: number } => ({ value: v6(addr), prefixLen });
/** A tree replica's source MAC: the MAC of its port. */
const replicaSrcMac = (rid: number, port: number): EntityInput =>
  entry("egress.tree.mcast_replica_rid_exact", { egress_rid: rid }, "egress.tree.rewrite_replica_src_mac", { src_mac: swMac(port) });

export const isMarker = (p: DecodedPacketIn): boolean => p.payload.length >= 14 && p.payload[12] === 0x88 && p.payload[13] === 0xb5;

/** A frame from host `from` to the switch (or to `dst`). */
export const frame = (spec: Omit<FrameSpec, "ethernet"> & { from: number; dst?: string }): Uint8Array =>
  buildFrame({ ethernet: { dst: spec.dst ?? swMac(spec.from), src: hostMac(spec.from) }, ...spec });

export const text = (t: string): Uint8Array => new TextEncoder().encode(t);

export const udp4 = (src: string, dst: string, dport: number, extra: Partial<{ ttl: number; payload: Uint8Array }> = {}): PacketSpec => ({
  ip: { version: 4, src, dst, ttl: extra.ttl ?? 64, identification: 7 },
  l4: { kind: "udp", udp: { srcPort: 5000, dstPort: dport }, payload: extra.payload ?? new TextEncoder().encode("p4cast") },
});

/**
 * One target for one feature file. The switch, the client and the mode are
 * set in beforeAll: read them through this object (`h.c`, `h.loopback`)
 * inside tests and hooks, never at describe time. The functions may be
 * destructured.
 */
export interface Dataplane {
  readonly kind: string;
  readonly target: SuiteTarget;
  readonly c: P4RuntimeClient;
  readonly regs: RegisterAccess;
  /** CPU-port loopback (no data ports on this target). */
  readonly loopback: boolean;
  /** Every packet-in so far. */
  readonly packetIns: readonly DecodedPacketIn[];
  /** Every feature test runs on every target. */
  hasPorts(): boolean;
  /** The port to program for switch port p. */
  P(p: number): number;
  /** The ingress port a punt reports for a frame sent into port p. */
  inPort(p: number): bigint;
  insert(...entities: EntityInput[]): Promise<void>;
  /** Runs `install` once per switch under `name` (setups shared by several others). */
  once(name: string, install: () => Promise<void>): Promise<void>;
  /** Waits until everything the switch did with earlier packets has come out. */
  barrier(): Promise<void>;
  /**
   * Waits for what comes after a barrier by another way (data ports, digests): `minMs`, or three times the last
   * barrier's round trip when the machine is slower than that.
   */
  settle(minMs: number): Promise<void>;
  /** Sends `frame` into port `port`; returns what came out of every port and the punts. */
  exchange(port: number, frame: Uint8Array): Promise<{ out: Outputs; ins: DecodedPacketIn[] }>;
  /** The one frame that came out, out of `port` only, with correct checksums. */
  only(out: Outputs, port: number): DecodedFrame;
  counter(name: string, index: number): Promise<{ packets: bigint; bytes: bigint }>;
  register(name: string, index: number): Promise<bigint>;
  /** ingress_drop_counter[reason], packets. */
  drops(reason: number): Promise<bigint>;
  mcastGroup(groupId: number, replicas: Array<[number, number]>): EntityInput;
  /** Neighbour trust (p4/controls/trust.p4): what the controller installs for a tree parent, */
  treeParent(sessionId: number, port: number): EntityInput;
  /** an overlay sender, */
  overlaySender(sessionId: number, sender: string, port: number): EntityInput;
  /** a heartbeat neighbour. */
  hbNeighbor(port: number, peer: string): EntityInput;
}

/** Starts `kind` for the enclosing describe (beforeAll), loads the program, and stops it (afterAll). */
export function dataplane(kind: string): Dataplane {
  let target: SuiteTarget | undefined;
  let c: P4RuntimeClient | undefined;
  let regs: RegisterAccess | undefined;
  const packetIns: DecodedPacketIn[] = [];
  let loopback = false;
  const installed = new Map<string, Promise<void>>();

  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`${what} is set in beforeAll: read it inside a test or hook`);
    return v;
  };
  const client = (): P4RuntimeClient => need(c, "the client");

  beforeAll(async () => {
    target = await start(kind);
    // P4CAST_DATAPLANE_LOOPBACK=1 forces the loopback mode on the embedded switch too.
    loopback = target.hosts === undefined || process.env.P4CAST_DATAPLANE_LOOPBACK === "1";
    c = await P4RuntimeClient.connect({ address: target.address, deviceId: target.deviceId, electionId: 1n, reconnect: false });
    await c.setPipeline({ p4info, deviceConfig, cookie: 1n });
    c.on("packetIn", (p) => packetIns.push(p));
    regs = await registerAccess(c, { host: "127.0.0.1", ...(target.thriftPort ? { port: target.thriftPort } : {}) });
  }, 60_000);

  afterAll(async () => {
    regs?.close();
    c?.close();
    await target?.stop();
  });

  const P = (p: number): number => (loopback ? CPU_PORT : p);
  let markerSeq = 0;
  /** The last barrier's round trip (ms): how slow the machine is now. */
  let barrierMs = 0;
  const settle = (minMs: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(minMs, 3 * barrierMs)));
  /**
   * Waits until everything the switch did with earlier packets has come
   * out: a DIRECT packet-out to the CPU port (a frame of EtherType 0x88b5,
   * IEEE local experimental) passes the same ingress queue and the same
   * CPU-port egress queue after them and comes back as a packet-in.
   */
  async function barrier(): Promise<void> {
    const id = ++markerSeq;
    const marker = buildFrame({
      ethernet: { dst: "02:ff:ff:ff:ff:ff", src: "02:ff:ff:ff:ff:fe", etherType: 0x88b5 },
      packet: Uint8Array.of(0x00, 0x00, id >>> 8, id & 0xff),
    });
    const hex = bytesToHex(marker);
    const seen = (): boolean => packetIns.some((p) => bytesToHex(p.payload) === hex);
    const sentAt = performance.now();
    client().sendPacket({ payload: marker, metadata: { egress_port: CPU_PORT, flags: 1 } });
    const deadline = Date.now() + 10_000;
    while (!seen() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    if (!seen()) throw new Error("barrier packet did not come back");
    barrierMs = performance.now() - sentAt;
    // simple_switch_grpc may hand packet-ins of one packet's replicas to the
    // stream out of order with later packets: also wait for quiet, for
    // longer when the machine is slow (three times the marker's round trip;
    // twice was too short once on a heavily loaded machine).
    if (loopback) {
      const quietMs = Math.max(80, 3 * barrierMs);
      for (let n = -1; n !== packetIns.length; ) {
        n = packetIns.length;
        await new Promise((r) => setTimeout(r, quietMs));
      }
    }
  }

  async function exchange(port: number, frame: Uint8Array): Promise<{ out: Outputs; ins: DecodedPacketIn[] }> {
    const insBefore = packetIns.length;
    const out: Outputs = new Map();
    if (loopback) {
      client().sendPacket({ payload: frame, metadata: { egress_port: 0, flags: 0 } });
      await barrier();
      const ins: DecodedPacketIn[] = [];
      for (const p of packetIns.slice(insBefore)) {
        if (isMarker(p)) continue;
        if (p.metadata.reason !== 0n) {
          ins.push(p);
          continue;
        }
        const src = decodeFrame(p.payload).ethernet.src;
        const q = PORTS.find((x) => swMac(x) === src) ?? 0;
        out.set(q, [...(out.get(q) ?? []), p.payload]);
      }
      return { out, ins };
    }
    const hosts = need(target, "the target").hosts!;
    const before = new Map(PORTS.map((p) => [p, hosts.get(p)!.received.length]));
    hosts.get(port)!.send(frame);
    await barrier();
    // The data ports' frames come by another way than the barrier's packet-in.
    await settle(20);
    for (const p of PORTS) {
      const got = hosts.get(p)!.received.slice(before.get(p));
      if (got.length) out.set(p, got);
    }
    return { out, ins: packetIns.slice(insBefore).filter((p) => !isMarker(p)) };
  }

  function only(out: Outputs, port: number): DecodedFrame {
    expect([...out.keys()]).toEqual([port]);
    const frames = out.get(port)!;
    expect(frames.length).toBe(1);
    const d = decodeFrame(frames[0]!);
    expect(checksumProblems(d)).toEqual([]);
    return d;
  }

  async function counter(name: string, index: number): Promise<{ packets: bigint; bytes: bigint }> {
    const [e] = await client().readAll({ kind: "counterEntry", counter: name, index });
    if (e?.kind !== "counterEntry") throw new Error(`no counter ${name}[${index}]`);
    return e.data;
  }

  return {
    kind,
    get target() {
      return need(target, "the target");
    },
    get c() {
      return client();
    },
    get regs() {
      return need(regs, "register access");
    },
    get loopback() {
      return loopback;
    },
    packetIns,
    hasPorts: () => true,
    P,
    inPort: (p) => BigInt(loopback ? CPU_PORT : p),
    insert: async (...entities) => {
      await client().insert(...entities);
    },
    once: (name, install) => {
      let done = installed.get(name);
      if (!done) {
        done = install();
        installed.set(name, done);
      }
      return done;
    },
    barrier,
    settle,
    exchange,
    only,
    counter,
    register: (name, index) => need(regs, "register access").read(name, index),
    drops: async (reason) => (await counter("ingress.ingress_drop_counter", reason)).packets,
    mcastGroup: (groupId, replicas) => ({
      kind: "multicastGroup",
      groupId,
      replicas: replicas.map(([port, instance]) => ({ port: P(port), instance })),
    }),
    treeParent: (sessionId, port) =>
      entry("ingress.trust.tree_parent_exact", { session_id: sessionId, ingress_port: P(port) }, "ingress.trust.admit"),
    overlaySender: (sessionId, sender, port) =>
      entry(
        "ingress.trust.overlay_sender_exact",
        { session_id: sessionId, sender_addr: sender, ingress_port: P(port) },
        "ingress.trust.admit",
      ),
    hbNeighbor: (port, peer) =>
      entry("ingress.trust.heartbeat_neighbor_exact", { ingress_port: P(port), peer_addr: peer }, "ingress.trust.admit"),
  };
}

/*
 * Entries. Each feature file installs what its tests need, in its own
 * beforeAll; random-traffic installs them all. Every function installs at
 * most once per switch, so a file may name a prerequisite again.
 */

/** l3-forward: 10.2.0.0/16 and 2001:db8:2::/48 routed to next hop 2 (host h2 on port 2). */
export function installForwarding(h: Dataplane): Promise<void> {
  return h.once("forwarding", () =>
    h.insert(
      entry("ingress.l3.ipv4_lpm", { dst_addr: lpm4("10.2.0.0", 16) }, "ingress.l3.route_to_nexthop", { nexthop_id: 2 }),
      entry("ingress.l3.ipv6_lpm", { dst_addr: lpm6("2001:db8:2::", 48) }, "ingress.l3.route_to_nexthop", { nexthop_id: 2 }),
      entry("ingress.l3.nexthop_exact", { nexthop_id: 2 }, "ingress.l3.forward_to_neighbor", {
        port: h.P(2),
        src_mac: swMac(2),
        dst_mac: hostMac(2),
      }),
    ),
  );
}

/**
 * session-encap: this router is the ingress router of session 5 (IPv4,
 * 10.9.0.1 port 7000) and 6 (IPv6, 2001:db8:9::1 port 7000): group 10 sends
 * a tree copy out of port 2 (rid 101) and an overlay copy to 198.51.100.9
 * out of port 3 (rid 102).
 */
export function installSessionEncap(h: Dataplane): Promise<void> {
  return h.once("session-encap", () =>
    h.insert(
      entry("ingress.session.session_v4_exact", { dst_addr: "10.9.0.1", l4_dst_port: 7000 }, "ingress.session.encap_session", {
        session_id: 5,
        group_addr: "232.1.1.5",
        src_addr: ADDR.INGRESS,
        mcast_grp: 10,
        yellow_dscp: 10,
      }),
      entry("ingress.session.session_v6_exact", { dst_addr: v6("2001:db8:9::1"), l4_dst_port: 7000 }, "ingress.session.encap_session", {
        session_id: 6,
        group_addr: "232.1.1.6",
        src_addr: ADDR.INGRESS,
        mcast_grp: 10,
        yellow_dscp: 10,
      }),
      h.mcastGroup(10, [
        [2, 101],
        [3, 102],
      ]),
      replicaSrcMac(101, 2),
      entry("egress.overlay.overlay_peer_rid_exact", { egress_rid: 102 }, "egress.overlay.overlay_to_peer", {
        peer_addr: "198.51.100.9",
        src_mac: swMac(3),
        dst_mac: hostMac(3),
      }),
    ),
  );
}

/** tree-replication: group 232.1.1.8 (session 8) branches to ports 2 and 4; its tree parent and overlay copies come in on port 1. */
export function installTreeReplication(h: Dataplane): Promise<void> {
  return h.once("tree-replication", () =>
    h.insert(
      entry("ingress.tree.ipv4_mcast_exact", { group_addr: "232.1.1.8" }, "ingress.tree.replicate_to_group", { mcast_grp: 11 }),
      h.mcastGroup(11, [
        [2, 111],
        [4, 112],
      ]),
      replicaSrcMac(111, 2),
      replicaSrcMac(112, 4),
      // Session 8's tree parent and overlay copies come in on port 1.
      h.treeParent(8, 1),
      h.overlaySender(8, ADDR.INGRESS, 1),
    ),
  );
}

/** Marks `addr` as one of this router's own addresses (several setups share one). */
function installLocal(h: Dataplane, addr: string): Promise<void> {
  return h.once(`local ${addr}`, () =>
    h.insert(entry("ingress.l3_classify.ipv4_local_exact", { dst_addr: addr }, "ingress.l3_classify.mark_local")),
  );
}

/** The tree branch (port 2, rid 211) of the last hop's tree groups: installLastHop's 21 and installTrustedSessions' 44. */
function installLastHopBranch(h: Dataplane): Promise<void> {
  return h.once("lasthop-branch", () => h.insert(replicaSrcMac(211, 2)));
}

/**
 * lasthop-delivery, overlay-dedup: this router (ADDR.LASTHOP) is a last hop
 * of session 7 (clients 10.3.0.3 on port 3 and 10.4.0.4 on port 4, rids
 * 201, 202), 9 (10.4.0.4) and 10 (IPv6 client 2001:db8:4::4, rid 203), and a
 * member of session 7's tree 232.1.1.7 (group 21: a branch on port 2 and the
 * client on port 3). Everything comes from the ingress router through port 1
 * (77: a session this router does not serve).
 */
export async function installLastHop(h: Dataplane): Promise<void> {
  await installLastHopBranch(h);
  await installLocal(h, ADDR.LASTHOP);
  return h.once("lasthop", () =>
    h.insert(
      entry("ingress.dedup.lasthop_session_exact", { session_id: 7 }, "ingress.dedup.accept_session", { client_grp: 20 }),
      entry("ingress.dedup.lasthop_session_exact", { session_id: 9 }, "ingress.dedup.accept_session", { client_grp: 22 }),
      h.mcastGroup(20, [
        [3, 201],
        [4, 202],
      ]),
      h.mcastGroup(22, [[4, 202]]),
      entry("ingress.dedup.lasthop_session_exact", { session_id: 10 }, "ingress.dedup.accept_session", { client_grp: 23 }),
      h.mcastGroup(23, [[4, 203]]),
      entry("egress.lasthop.lasthop_client_rid_exact", { egress_rid: 201 }, "egress.lasthop.deliver_to_client_v4", {
        client_addr: "10.3.0.3",
        src_mac: swMac(3),
        dst_mac: hostMac(3),
      }),
      entry("egress.lasthop.lasthop_client_rid_exact", { egress_rid: 202 }, "egress.lasthop.deliver_to_client_v4", {
        client_addr: "10.4.0.4",
        src_mac: swMac(4),
        dst_mac: hostMac(4),
      }),
      entry("egress.lasthop.lasthop_client_rid_exact", { egress_rid: 203 }, "egress.lasthop.deliver_to_client_v6", {
        client_addr: v6("2001:db8:4::4"),
        src_mac: swMac(4),
        dst_mac: hostMac(4),
      }),
      // Per-(session, client) delivered counters; (9, 202) has none: delivered all the same, not counted.
      ...[
        [7, 201],
        [7, 202],
        [10, 203],
      ].map(([sid, rid]) => entry(CLIENT_SESSION, { session_id: sid, egress_rid: rid }, "egress.lasthop.count_client_copy")),
      // A tree group at this last hop: one branch (port 2, installLastHopBranch) and the session's client on port 3.
      entry("ingress.tree.ipv4_mcast_exact", { group_addr: "232.1.1.7" }, "ingress.tree.replicate_to_group", { mcast_grp: 21 }),
      h.mcastGroup(21, [
        [2, 211],
        [3, 201],
      ]),
      // Everything comes from the ingress router 192.0.2.1 through port 1 (77: a session this router does not serve).
      h.treeParent(7, 1),
      ...[7, 9, 10, 77].map((sid) => h.overlaySender(sid, ADDR.INGRESS, 1)),
    ),
  );
}

/** Per-(session, client) delivered counters (direct counter lasthop_client_delivered_counter). */
export const CLIENT_SESSION = "egress.lasthop.lasthop_client_session_exact";

/** Copies the last hop sent client replica `rid` of session `sid` (the direct counter of its lasthop_client_session_exact entry). */
export async function clientCount(h: Dataplane, sid: number, rid: number): Promise<bigint> {
  const [e] = await h.c.readAll({
    kind: "directCounterEntry",
    entry: { table: CLIENT_SESSION, match: { session_id: sid, egress_rid: rid } },
  });
  if (e?.kind !== "directCounterEntry") throw new Error(`no direct counter for (${sid}, ${rid})`);
  return e.data.packets;
}

/** A copy of session `sessionId` for installLastHop's router, from the ingress router on port 1. */
export const lastHopCopy = (outerDst: string, sessionId: number, seq: number, overlay: boolean): Uint8Array =>
  buildFrame({
    ethernet: { dst: swMac(1), src: hostMac(1) },
    encap: {
      outer: { src: ADDR.INGRESS, dst: outerDst, ttl: 60, flags: DF },
      shim: { sessionId, sequence: seq >>> 0, flags: overlay ? 1 : 0 },
    },
    packet: udp4("10.1.0.1", "10.9.0.1", 7000, { ttl: 63, payload: text(`s${sessionId} q${seq >>> 0}`) }),
  });

/** The frame `lastHopCopy` delivers to `client` on `port`, as hex. */
export const lastHopDelivered = (client: string, port: number, sessionId: number, seq: number): string =>
  bytesToHex(
    buildFrame({
      ethernet: { dst: hostMac(port), src: swMac(port) },
      packet: udp4("10.1.0.1", client, 7000, { ttl: 62, payload: text(`s${sessionId} q${seq >>> 0}`) }),
    }),
  );

/**
 * trust, overlay-dedup: this router (ADDR.TRUSTED_LASTHOP) is a last hop of
 * sessions 12 and 13 (client 10.4.0.4, h4 on port 4, rid 204) and a member
 * of session 12's tree 232.1.1.12 (a branch on port 2 and the client). The
 * tree parent and the overlay path both come in on port 1; h4 (port 4) is a
 * client, h3 (port 3) a neighbour switch. Session 14 only passes through.
 */
export async function installTrustedSessions(h: Dataplane): Promise<void> {
  await installLastHopBranch(h);
  await installLocal(h, ADDR.TRUSTED_LASTHOP);
  return h.once("trusted-sessions", () =>
    h.insert(
      entry("ingress.dedup.lasthop_session_exact", { session_id: 12 }, "ingress.dedup.accept_session", { client_grp: 42 }),
      entry("ingress.dedup.lasthop_session_exact", { session_id: 13 }, "ingress.dedup.accept_session", { client_grp: 43 }),
      h.mcastGroup(42, [[4, 204]]),
      h.mcastGroup(43, [[4, 204]]),
      entry("egress.lasthop.lasthop_client_rid_exact", { egress_rid: 204 }, "egress.lasthop.deliver_to_client_v4", {
        client_addr: "10.4.0.4",
        src_mac: swMac(4),
        dst_mac: hostMac(4),
      }),
      // Session 12's tree at this last hop: a branch on port 2 and the client on port 4.
      entry("ingress.tree.ipv4_mcast_exact", { group_addr: "232.1.1.12" }, "ingress.tree.replicate_to_group", { mcast_grp: 44 }),
      h.mcastGroup(44, [
        [2, 211],
        [4, 204],
      ]),
      // The tree parent and the overlay path both come in on port 1; h4 (port 4) is a client, h3 (port 3) a neighbour switch.
      h.treeParent(12, 1),
      h.overlaySender(12, ADDR.INGRESS, 1),
      h.overlaySender(13, ADDR.INGRESS, 1),
      // Session 14 only passes through this router (no last-hop entry: no dedup here).
      h.overlaySender(14, ADDR.INGRESS, 1),
    ),
  );
}

/** Traffic of installTrustedSessions' sessions, and what reached their client. */
export const trusted = {
  payload: (sid: number, seq: number): string => `s${sid} q${seq >>> 0}`,
  shim: (from: number, o: { src?: string; dst: string; sid: number; seq: number; overlay?: boolean }): Uint8Array =>
    buildFrame({
      ethernet: { dst: swMac(from), src: hostMac(from) },
      encap: {
        outer: { src: o.src ?? ADDR.INGRESS, dst: o.dst, ttl: 60, flags: DF },
        shim: { sessionId: o.sid, sequence: o.seq >>> 0, flags: o.overlay ? 1 : 0 },
      },
      packet: udp4("10.1.0.1", "10.9.0.1", 7000, { ttl: 63, payload: text(trusted.payload(o.sid, o.seq)) }),
    }),
  /** A tree copy of session `sid` sent into port `from`. */
  tree: (from: number, seq: number, sid = 12): Uint8Array => trusted.shim(from, { dst: "232.1.1.12", sid, seq }),
  /** An overlay copy of session `sid` (from `src`) sent into port `from`. */
  overlay: (from: number, seq: number, sid = 12, src: string = ADDR.INGRESS): Uint8Array =>
    trusted.shim(from, { src, dst: ADDR.TRUSTED_LASTHOP, sid, seq, overlay: true }),
  /** What reached the client (port 4): the payloads. */
  atClient: (out: Outputs): string[] =>
    (out.get(4) ?? []).map((f) => {
      const d = decodeFrame(f);
      expect(d.ip?.header.dst).toBe("10.4.0.4");
      return new TextDecoder().decode(d.ip?.l4.kind === "udp" ? d.ip.l4.payload : new Uint8Array());
    }),
};

/**
 * heartbeat: this router answers heartbeats to ADDR.HEARTBEAT and watches
 * 10.2.0.77 (peer index 5). Heartbeat neighbours: 10.1.0.1 on port 1,
 * 10.2.0.77 and 10.2.0.78 (no peer index: not watched from here) on port 2.
 */
export async function installHeartbeat(h: Dataplane): Promise<void> {
  await installLocal(h, ADDR.HEARTBEAT);
  return h.once("heartbeat", () =>
    h.insert(
      entry("ingress.heartbeat.heartbeat_peer_exact", { peer_addr: "10.2.0.77" }, "ingress.heartbeat.set_peer", { peer_index: 5 }),
      // Heartbeat neighbours: 10.1.0.1 on port 1, 10.2.0.77 and 10.2.0.78 (no peer index: not watched from here) on port 2.
      h.hbNeighbor(1, "10.1.0.1"),
      h.hbNeighbor(2, "10.2.0.77"),
      h.hbNeighbor(2, "10.2.0.78"),
    ),
  );
}

/** trust: the heartbeat neighbour 10.3.0.33 on port 3 (peer index 6), heartbeats addressed to ADDR.TRUSTED_LASTHOP. */
export async function installHeartbeatNeighbour(h: Dataplane): Promise<void> {
  await installLocal(h, ADDR.TRUSTED_LASTHOP);
  return h.once("heartbeat-neighbour", () =>
    h.insert(
      entry("ingress.heartbeat.heartbeat_peer_exact", { peer_addr: "10.3.0.33" }, "ingress.heartbeat.set_peer", { peer_index: 6 }),
      h.hbNeighbor(3, "10.3.0.33"),
    ),
  );
}

/**
 * burst-meter: sessions 11 (10.9.0.2, bursts 250 / 450 bytes, yellow DSCP
 * 10) and 12 (10.9.0.3, committed burst 1 byte, yellow DSCP 12), their tree
 * copies out of port 2 (group 12, rid 121).
 */
export function installBurstMeter(h: Dataplane): Promise<void> {
  return h.once("burst-meter", async () => {
    await h.insert(
      entry("ingress.session.session_v4_exact", { dst_addr: "10.9.0.2", l4_dst_port: 7000 }, "ingress.session.encap_session", {
        session_id: 11,
        group_addr: "232.1.1.11",
        src_addr: ADDR.INGRESS,
        mcast_grp: 12,
        yellow_dscp: 10,
      }),
      entry("ingress.session.session_v4_exact", { dst_addr: "10.9.0.3", l4_dst_port: 7000 }, "ingress.session.encap_session", {
        session_id: 12,
        group_addr: "232.1.1.12",
        src_addr: ADDR.INGRESS,
        mcast_grp: 12,
        yellow_dscp: 12,
      }),
      h.mcastGroup(12, [[2, 121]]),
      replicaSrcMac(121, 2),
    );
    await h.c.modify(
      { kind: "meterEntry", meter: "ingress.burst.session_burst_meter", index: 11, config: { cir: 1, cburst: 250, pir: 1, pburst: 450 } },
      { kind: "meterEntry", meter: "ingress.burst.session_burst_meter", index: 12, config: { cir: 1, cburst: 1, pir: 1, pburst: 100000 } },
    );
  });
}

/**
 * nat64: 64:ff9b::/96 embeds IPv4 destinations, 2001:db8:1::5 maps to
 * 192.0.2.5; 198.18.0.0/16 maps into 2001:db8:64::/96 (routed to next hop
 * 2: needs installForwarding), 10.1.0.0/16 sources into 64:ff9b::/96.
 */
export function installNat64(h: Dataplane): Promise<void> {
  return h.once("nat64", () =>
    h.insert(
      entry("ingress.nat64.xlate_v6_dst_lpm", { dst_addr: lpm6("64:ff9b::", 96) }, "ingress.nat64.xlate_v6_dst_embedded"),
      entry("ingress.nat64.xlate_v6_src_lpm", { src_addr: lpm6("2001:db8:1::5", 128) }, "ingress.nat64.xlate_v6_src_explicit", {
        addr: "192.0.2.5",
      }),
      entry("ingress.nat64.xlate_v4_dst_lpm", { dst_addr: lpm4("198.18.0.0", 16) }, "ingress.nat64.xlate_v4_dst_embedded", {
        prefix: v6("2001:db8:64::"),
      }),
      entry("ingress.nat64.xlate_v4_src_lpm", { src_addr: lpm4("10.1.0.0", 16) }, "ingress.nat64.xlate_v4_src_embedded", {
        prefix: v6("64:ff9b::"),
      }),
      entry("ingress.l3.ipv6_lpm", { dst_addr: lpm6("2001:db8:64::", 96) }, "ingress.l3.route_to_nexthop", { nexthop_id: 2 }),
    ),
  );
}

/** mcast-xlate: 232.2.0.0/16 -> ff3e::/96 (group ff3e::e802:1 to ports 2, 3), ff3e::1:0:0/96 -> IPv4 (232.3.0.1 to port 4). */
export function installMcastXlate(h: Dataplane): Promise<void> {
  return h.once("mcast-xlate", () =>
    h.insert(
      entry("ingress.mcast_xlate.mcast_xlate_v4_lpm", { group_addr: lpm4("232.2.0.0", 16) }, "ingress.mcast_xlate.mcast_xlate_4to6", {
        group_prefix: v6("ff3e::"),
        source_prefix: v6("64:ff9b::"),
      }),
      entry("ingress.tree.ipv6_mcast_exact", { group_addr: v6("ff3e::e802:1") }, "ingress.tree.replicate_to_group", { mcast_grp: 30 }),
      h.mcastGroup(30, [
        [2, 301],
        [3, 302],
      ]),
      replicaSrcMac(301, 2),
      replicaSrcMac(302, 3),
      entry(
        "ingress.mcast_xlate.mcast_xlate_v6_lpm",
        { group_addr: lpm6("ff3e:0:0:0:0:1::", 96) },
        "ingress.mcast_xlate.mcast_xlate_6to4",
        { source_prefix: v6("64:ff9b::") },
      ),
      entry("ingress.tree.ipv4_mcast_exact", { group_addr: "232.3.0.1" }, "ingress.tree.replicate_to_group", { mcast_grp: 31 }),
      h.mcastGroup(31, [[4, 311]]),
      replicaSrcMac(311, 4),
    ),
  );
}
