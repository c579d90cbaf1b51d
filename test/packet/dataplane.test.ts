/**
 * The p4cast data plane (p4/build/p4cast.json, compiled by p4c) end to end:
 * crafted frames in, exact frames (bytes and ports) out, for every feature
 * and for bad input. Targets: the embedded switch always, simple_switch_grpc
 * when it is on PATH (test/support/targets.ts).
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
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { P4RuntimeClient } from "../../src/client/client.js";
import { parseP4Info } from "../../src/p4runtime/p4info/load.js";
import type { DecodedOf, EntityInput } from "../../src/client/entities/entity.js";
import type { DecodedPacketIn } from "../../src/client/entities/packet-io.js";
import { registerAccess, type RegisterAccess } from "../../src/client/registers.js";
import { startTarget, targets, type TestTarget } from "../support/targets.js";
import { startVethBmv2, vethAvailable, type RawHostPort } from "./support/bmv2-veth.js";
import {
  CPU_PORT,
  DEDUP_RESYNC,
  DEDUP_SPAN,
  DedupWindow,
  HeartbeatFlags,
  HeartbeatType,
  IpProtocol,
  PuntReason,
  buildFrame,
  buildIgmpV2,
  buildIgmpV3Report,
  buildMldV1,
  buildMldV2Report,
  bytesToHex,
  routerAlertOptions,
  checksumProblems,
  decodeFrame,
  echoRest,
  ipv4MulticastMac,
  ipv6ToBigInt,
} from "../../src/packet/index.js";
import type { DecodedFrame, FrameSpec, PacketSpec } from "../../src/packet/index.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const p4info = parseP4Info(readFileSync(join(root, "p4/build/p4cast.p4info.txtpb"), "utf8"), "text", "p4cast.p4info.txtpb");
const deviceConfig = new Uint8Array(readFileSync(join(root, "p4/build/p4cast.json")));

const swMac = (p: number): string => `02:00:00:00:00:0${p}`;
/** Per-(session, client) delivered counters (direct counter lasthop_client_delivered_counter). */
const CLIENT_SESSION = "egress.lasthop.lasthop_client_session_exact";
const hostMac = (p: number): string => `02:00:00:00:0${p}:01`;
const PORTS = [1, 2, 3, 4] as const;

/** Frames seen per port during one `exchange`. */
type Outputs = Map<number, Uint8Array[]>;

/** The embedded switch, simple_switch_grpc (loopback), and with P4CAST_BMV2_VETH=1 simple_switch_grpc with veth data ports. */
const kinds: string[] = [...targets(), ...(vethAvailable() ? ["bmv2-veth"] : [])];

/** What the suite needs from a target. */
interface SuiteTarget {
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

for (const kind of kinds) {
  describe(`p4cast data plane on ${kind}`, () => {
    let target: SuiteTarget;
    let c: P4RuntimeClient;
    let regs: RegisterAccess;
    const packetIns: DecodedPacketIn[] = [];
    /** CPU-port loopback (no data ports on this target). */
    let loopback = false;

    beforeAll(async () => {
      target = await start(kind);
      // P4CAST_DATAPLANE_LOOPBACK=1 forces the loopback mode on the embedded switch too.
      loopback = target.hosts === undefined || process.env["P4CAST_DATAPLANE_LOOPBACK"] === "1";
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

    /** Every feature test runs on every target. */
    const hasPorts = (): boolean => true;
    /** The port to program for switch port p. */
    const P = (p: number): number => (loopback ? CPU_PORT : p);
    /** The ingress port a punt reports for a frame sent into port p. */
    const inPort = (p: number): bigint => BigInt(loopback ? CPU_PORT : p);
    /** Extra wait after the barrier (data ports of the embedded switch). */
    const settleMs = (): number => (loopback ? 0 : 20);

    async function insert(...entities: EntityInput[]): Promise<void> {
      await c.insert(...entities);
    }

    function entry(table: string, match: Record<string, unknown>, action: string, params: Record<string, unknown> = {}): EntityInput {
      return {
        kind: "tableEntry",
        table,
        match: match as never,
        action: { name: action, params: params as never },
      };
    }

    let markerSeq = 0;
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
      c.sendPacket({ payload: marker, metadata: { egress_port: CPU_PORT, flags: 1 } });
      const deadline = Date.now() + 10_000;
      while (!seen() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      if (!seen()) throw new Error("barrier packet did not come back");
      // simple_switch_grpc may hand packet-ins of one packet's replicas to the
      // stream out of order with later packets: also wait for quiet, for
      // longer when the machine is slow (twice the marker's round trip).
      if (loopback) {
        const quietMs = Math.max(40, 2 * (performance.now() - sentAt));
        for (let n = -1; n !== packetIns.length; ) {
          n = packetIns.length;
          await new Promise((r) => setTimeout(r, quietMs));
        }
      }
    }

    const isMarker = (p: DecodedPacketIn): boolean => p.payload.length >= 14 && p.payload[12] === 0x88 && p.payload[13] === 0xb5;

    /** Sends `frame` into port `port`; returns what came out of every port and the punts. */
    async function exchange(port: number, frame: Uint8Array): Promise<{ out: Outputs; ins: DecodedPacketIn[] }> {
      const insBefore = packetIns.length;
      const out: Outputs = new Map();
      if (loopback) {
        c.sendPacket({ payload: frame, metadata: { egress_port: 0, flags: 0 } });
        await barrier();
        const ins: DecodedPacketIn[] = [];
        for (const p of packetIns.slice(insBefore)) {
          if (isMarker(p)) continue;
          if (p.metadata["reason"] !== 0n) {
            ins.push(p);
            continue;
          }
          const src = decodeFrame(p.payload).ethernet.src;
          const q = PORTS.find((x) => swMac(x) === src) ?? 0;
          out.set(q, [...(out.get(q) ?? []), p.payload]);
        }
        return { out, ins };
      }
      const hosts = target.hosts!;
      const before = new Map(PORTS.map((p) => [p, hosts.get(p)!.received.length]));
      hosts.get(port)!.send(frame);
      await barrier();
      await new Promise((r) => setTimeout(r, settleMs()));
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

    const frame = (spec: Omit<FrameSpec, "ethernet"> & { from: number; dst?: string }): Uint8Array =>
      buildFrame({ ethernet: { dst: spec.dst ?? swMac(spec.from), src: hostMac(spec.from) }, ...spec });

    const text = (t: string): Uint8Array => new TextEncoder().encode(t);

    const udp4 = (src: string, dst: string, dport: number, extra: Partial<{ ttl: number; payload: Uint8Array }> = {}): PacketSpec => ({
      ip: { version: 4, src, dst, ttl: extra.ttl ?? 64, identification: 7 },
      l4: { kind: "udp", udp: { srcPort: 5000, dstPort: dport }, payload: extra.payload ?? new TextEncoder().encode("p4cast") },
    });

    it("loads the compiled program", () => {
      expect(c.index.tables.size).toBeGreaterThan(15);
    });

    describe("L2/L3 forwarding", () => {
      beforeAll(async () => {
        await insert(
          entry("ingress.l3.ipv4_lpm", { dst_addr: { value: "10.2.0.0", prefixLen: 16 } }, "ingress.l3.route_to_nexthop", { nexthop_id: 2 }),
          entry("ingress.l3.ipv6_lpm", { dst_addr: { value: ipv6ToBigInt("2001:db8:2::"), prefixLen: 48 } }, "ingress.l3.route_to_nexthop", { nexthop_id: 2 }),
          entry("ingress.l3.nexthop_exact", { nexthop_id: 2 }, "ingress.l3.forward_to_neighbor", { port: P(2), src_mac: swMac(2), dst_mac: hostMac(2) }),
        );
      });

      it("routes IPv4: port, MACs, TTL - 1, header checksum", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const { out } = await exchange(1, frame({ from: 1, packet: udp4("10.1.0.1", "10.2.0.9", 9999) }));
        const d = only(out, 2);
        expect(d.ethernet).toEqual({ dst: hostMac(2), src: swMac(2), etherType: 0x0800 });
        expect(d.ip?.header).toMatchObject({ ttl: 63, src: "10.1.0.1", dst: "10.2.0.9" });
        // Exactly the input with TTL 63 and the new checksum.
        const expected = buildFrame({ ethernet: { dst: hostMac(2), src: swMac(2) }, packet: udp4("10.1.0.1", "10.2.0.9", 9999, { ttl: 63 }) });
        expect(bytesToHex(out.get(2)![0]!)).toBe(bytesToHex(expected));
      });

      it("routes IPv6 with hop limit - 1", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const packet: PacketSpec = { ip: { version: 6, src: "2001:db8:1::1", dst: "2001:db8:2::5", hopLimit: 9 }, l4: { kind: "udp", udp: { srcPort: 1, dstPort: 2 } } };
        const { out } = await exchange(1, frame({ from: 1, packet }));
        const d = only(out, 2);
        expect(d.ip?.version === 6 && d.ip.header.hopLimit).toBe(8);
      });

      it("drops TTL 0 and TTL 1, forwards TTL 2 with TTL 1", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        for (const ttl of [0, 1]) {
          const { out } = await exchange(1, frame({ from: 1, packet: udp4("10.1.0.1", "10.2.0.9", 9999, { ttl }) }));
          expect(out.size, `TTL ${ttl}`).toBe(0);
        }
        const { out } = await exchange(1, frame({ from: 1, packet: udp4("10.1.0.1", "10.2.0.9", 9999, { ttl: 2 }) }));
        expect(only(out, 2).ip?.header).toMatchObject({ ttl: 1 });
      });

      it("drops no-route, bad IPv4 checksum, truncated and wrong-version packets", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        expect((await exchange(1, frame({ from: 1, packet: udp4("10.1.0.1", "10.3.0.1", 1) }))).out.size).toBe(0);
        const good = frame({ from: 1, packet: udp4("10.1.0.1", "10.2.0.9", 9999) });
        const badSum = Uint8Array.from(good);
        badSum[24] = (badSum[24] ?? 0) ^ 0xff;
        expect((await exchange(1, badSum)).out.size).toBe(0);
        expect((await exchange(1, good.subarray(0, 14 + 20 + 4))).out.size).toBe(0); // UDP header cut
        expect((await exchange(1, good.subarray(0, good.length - 2))).out.size).toBe(0); // total length > frame
        const v6in4 = Uint8Array.from(good);
        v6in4[14] = 0x65;
        expect((await exchange(1, v6in4)).out.size).toBe(0);
        const ihl4 = Uint8Array.from(good);
        ihl4[14] = 0x44;
        expect((await exchange(1, ihl4)).out.size).toBe(0);
      });

      it("IPv6: drops truncated and wrong-version packets, forwards a Hop-by-Hop header untouched", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const packet: PacketSpec = {
          ip: { version: 6, src: "2001:db8:1::1", dst: "2001:db8:2::5", hopLimit: 9, hopByHopOptions: Uint8Array.of(1, 4, 0, 0, 0, 0) },
          l4: { kind: "udp", udp: { srcPort: 1, dstPort: 2 }, payload: text("hbh") },
        };
        const good = frame({ from: 1, packet });
        expect((await exchange(1, good.subarray(0, good.length - 1))).out.size).toBe(0);
        const v4in6 = Uint8Array.from(good);
        v4in6[14] = 0x45;
        expect((await exchange(1, v4in6)).out.size).toBe(0);
        const { out } = await exchange(1, good);
        const expected = buildFrame({
          ethernet: { dst: hostMac(2), src: swMac(2) },
          packet: { ...packet, ip: { version: 6, src: "2001:db8:1::1", dst: "2001:db8:2::5", hopLimit: 8, hopByHopOptions: Uint8Array.of(1, 4, 0, 0, 0, 0) } },
        });
        expect(bytesToHex(only(out, 2) && out.get(2)![0]!)).toBe(bytesToHex(expected));
      });

      it("forwards IPv4 with options and an unknown protocol untouched except TTL", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const ip = { version: 4 as const, src: "10.1.0.1", dst: "10.2.0.9", options: Uint8Array.of(1, 1, 1, 0) };
        const l4 = { kind: "raw" as const, protocol: 200, bytes: Uint8Array.of(1, 2, 3, 4, 5) };
        const packet: PacketSpec = { ip: { ...ip, ttl: 5 }, l4 };
        const { out } = await exchange(1, frame({ from: 1, packet }));
        const d = only(out, 2);
        expect(d.ip?.version === 4 && d.ip.header.ihl).toBe(6);
        const expected = buildFrame({
          ethernet: { dst: hostMac(2), src: swMac(2) },
          packet: { ip: { ...ip, ttl: 4 }, l4 },
        });
        expect(bytesToHex(out.get(2)![0]!)).toBe(bytesToHex(expected));
      });
    });

    async function counter(name: string, index: number): Promise<{ packets: bigint; bytes: bigint }> {
      const [e] = await c.readAll({ kind: "counterEntry", counter: name, index });
      if (!e || e.kind !== "counterEntry") throw new Error(`no counter ${name}[${index}]`);
      return e.data;
    }

    async function register(name: string, index: number): Promise<bigint> {
      return regs.read(name, index);
    }

    function mcastGroup(groupId: number, replicas: Array<[number, number]>): EntityInput {
      return { kind: "multicastGroup", groupId, replicas: replicas.map(([port, instance]) => ({ port: P(port), instance })) };
    }

    const DF = 0b010;

    /** Neighbour trust (p4/controls/trust.p4): what the controller installs for a tree parent, an overlay sender, a heartbeat neighbour. */
    const treeParent = (sessionId: number, port: number): EntityInput =>
      entry("ingress.trust.tree_parent_exact", { session_id: sessionId, ingress_port: P(port) }, "ingress.trust.admit");
    const overlaySender = (sessionId: number, sender: string, port: number): EntityInput =>
      entry("ingress.trust.overlay_sender_exact", { session_id: sessionId, sender_addr: sender, ingress_port: P(port) }, "ingress.trust.admit");
    const hbNeighbor = (port: number, peer: string): EntityInput =>
      entry("ingress.trust.heartbeat_neighbor_exact", { ingress_port: P(port), peer_addr: peer }, "ingress.trust.admit");
    /** Drop reasons (docs/packet-formats.md). */
    const DROP = { UNTRUSTED_TREE: 15, UNTRUSTED_OVERLAY: 16, UNTRUSTED_HEARTBEAT: 17, OUT_OF_WINDOW: 18 } as const;

    describe("encapsulation at the ingress router, tree and overlay replicas", () => {
      beforeAll(async () => {
        await insert(
          entry("ingress.session.session_v4_exact", { dst_addr: "10.9.0.1", l4_dst_port: 7000 }, "ingress.session.encap_session", {
            session_id: 5, group_addr: "232.1.1.5", src_addr: "192.0.2.1", mcast_grp: 10, yellow_dscp: 10,
          }),
          entry("ingress.session.session_v6_exact", { dst_addr: ipv6ToBigInt("2001:db8:9::1"), l4_dst_port: 7000 }, "ingress.session.encap_session", {
            session_id: 6, group_addr: "232.1.1.6", src_addr: "192.0.2.1", mcast_grp: 10, yellow_dscp: 10,
          }),
          mcastGroup(10, [[2, 101], [3, 102]]),
          entry("egress.tree.mcast_replica_rid_exact", { egress_rid: 101 }, "egress.tree.rewrite_replica_src_mac", { src_mac: swMac(2) }),
          entry("egress.overlay.overlay_peer_rid_exact", { egress_rid: 102 }, "egress.overlay.overlay_to_peer", {
            peer_addr: "198.51.100.9", src_mac: swMac(3), dst_mac: hostMac(3),
          }),
        );
      });

      it("wraps the packet (outer IPv4 proto 253 + shim with sequence) and replicates to the tree and the overlay", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        for (const seq of [0, 1]) {
          const inner = udp4("10.1.0.1", "10.9.0.1", 7000, { payload: text(`payload ${seq}`) });
          const { out } = await exchange(1, frame({ from: 1, packet: inner }));
          expect([...out.keys()].sort()).toEqual([2, 3]);
          const innerOut = udp4("10.1.0.1", "10.9.0.1", 7000, { payload: text(`payload ${seq}`), ttl: 63 });
          const tree = buildFrame({
            ethernet: { dst: ipv4MulticastMac("232.1.1.5"), src: swMac(2) },
            encap: { outer: { src: "192.0.2.1", dst: "232.1.1.5", ttl: 64, flags: DF }, shim: { sessionId: 5, sequence: seq } },
            packet: innerOut,
          });
          expect(bytesToHex(out.get(2)![0]!)).toBe(bytesToHex(tree));
          const overlay = buildFrame({
            ethernet: { dst: hostMac(3), src: swMac(3) },
            encap: { outer: { src: "192.0.2.1", dst: "198.51.100.9", ttl: 64, flags: DF }, shim: { sessionId: 5, sequence: seq, flags: 1 } },
            packet: innerOut,
          });
          expect(bytesToHex(out.get(3)![0]!)).toBe(bytesToHex(overlay));
        }
        expect(await register("ingress.encap.session_seq", 5)).toBe(2n);
      });

      it("wraps IPv6 sessions with next header 41", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const inner: PacketSpec = { ip: { version: 6, src: "2001:db8:1::1", dst: "2001:db8:9::1", hopLimit: 30 }, l4: { kind: "udp", udp: { srcPort: 1, dstPort: 7000 } } };
        const { out } = await exchange(1, frame({ from: 1, packet: inner }));
        const d = decodeFrame(out.get(2)![0]!);
        expect(d.outer?.shim).toMatchObject({ nextHeader: 41, sessionId: 6, sequence: 0 });
        expect(d.ip?.version === 6 && d.ip.header.hopLimit).toBe(29);
        expect(checksumProblems(d)).toEqual([]);
      });

      it("does not encapsulate other ports, TTL-1 packets or non-first fragments", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        expect((await exchange(1, frame({ from: 1, packet: udp4("10.1.0.1", "10.9.0.1", 7001) }))).out.size).toBe(0); // no route to 10.9/16
        expect((await exchange(1, frame({ from: 1, packet: udp4("10.1.0.1", "10.9.0.1", 7000, { ttl: 1 }) }))).out.size).toBe(0);
        // A first fragment (MF) of a session's datagram is routed (here: no route), not encapsulated.
        const seqBefore = await register("ingress.encap.session_seq", 5);
        const mf: PacketSpec = { ip: { version: 4, src: "10.1.0.1", dst: "10.9.0.1", flags: 0b001 }, l4: { kind: "udp", udp: { srcPort: 1, dstPort: 7000 } } };
        expect((await exchange(1, frame({ from: 1, packet: mf }))).out.size).toBe(0);
        expect(await register("ingress.encap.session_seq", 5)).toBe(seqBefore);
      });
    });

    describe("tree replication and overlay transit", () => {
      beforeAll(async () => {
        await insert(
          entry("ingress.tree.ipv4_mcast_exact", { group_addr: "232.1.1.8" }, "ingress.tree.replicate_to_group", { mcast_grp: 11 }),
          mcastGroup(11, [[2, 111], [4, 112]]),
          entry("egress.tree.mcast_replica_rid_exact", { egress_rid: 111 }, "egress.tree.rewrite_replica_src_mac", { src_mac: swMac(2) }),
          entry("egress.tree.mcast_replica_rid_exact", { egress_rid: 112 }, "egress.tree.rewrite_replica_src_mac", { src_mac: swMac(4) }),
          // Session 8's tree parent and overlay copies come in on port 1.
          treeParent(8, 1),
          overlaySender(8, "192.0.2.1", 1),
        );
      });

      const encapFrame = (outerDst: string, seq: number, ttl = 64, flags = 0, sessionId = 8, innerDst = "10.9.0.1"): Uint8Array =>
        buildFrame({
          ethernet: { dst: swMac(1), src: hostMac(1) },
          encap: { outer: { src: "192.0.2.1", dst: outerDst, ttl, flags: DF }, shim: { sessionId, sequence: seq, flags } },
          packet: udp4("10.1.0.1", innerDst, 7000, { ttl: 63, payload: text(`seq ${seq}`) }),
        });

      it("replicates a group to its branches with outer TTL - 1, inner untouched", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const { out } = await exchange(1, encapFrame("232.1.1.8", 3, 10));
        expect([...out.keys()].sort()).toEqual([2, 4]);
        for (const p of [2, 4]) {
          const expected = buildFrame({
            ethernet: { dst: ipv4MulticastMac("232.1.1.8"), src: swMac(p) },
            encap: { outer: { src: "192.0.2.1", dst: "232.1.1.8", ttl: 9, flags: DF }, shim: { sessionId: 8, sequence: 3 } },
            packet: udp4("10.1.0.1", "10.9.0.1", 7000, { ttl: 63, payload: text("seq 3") }),
          });
          expect(bytesToHex(out.get(p)![0]!)).toBe(bytesToHex(expected));
        }
      });

      it("drops groups without an entry and outer TTL 1", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        expect((await exchange(1, encapFrame("232.1.1.99", 1))).out.size).toBe(0);
        expect((await exchange(1, encapFrame("232.1.1.8", 1, 1))).out.size).toBe(0);
      });

      it("routes an overlay copy for another router by its outer header only", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const { out } = await exchange(1, encapFrame("10.2.0.99", 4, 20, 1));
        const expected = buildFrame({
          ethernet: { dst: hostMac(2), src: swMac(2) },
          encap: { outer: { src: "192.0.2.1", dst: "10.2.0.99", ttl: 19, flags: DF }, shim: { sessionId: 8, sequence: 4, flags: 1 } },
          packet: udp4("10.1.0.1", "10.9.0.1", 7000, { ttl: 63, payload: text("seq 4") }),
        });
        expect(bytesToHex(only(out, 2) && out.get(2)![0]!)).toBe(bytesToHex(expected));
      });
    });

    describe("last-hop delivery with overlay dedup", () => {
      const LOOPBACK = "198.51.100.9";
      beforeAll(async () => {
        await insert(
          entry("ingress.l3_classify.ipv4_local_exact", { dst_addr: LOOPBACK }, "ingress.l3_classify.mark_local"),
          entry("ingress.dedup.lasthop_session_exact", { session_id: 7 }, "ingress.dedup.accept_session", { client_grp: 20 }),
          entry("ingress.dedup.lasthop_session_exact", { session_id: 9 }, "ingress.dedup.accept_session", { client_grp: 22 }),
          mcastGroup(20, [[3, 201], [4, 202]]),
          mcastGroup(22, [[4, 202]]),
          entry("ingress.dedup.lasthop_session_exact", { session_id: 10 }, "ingress.dedup.accept_session", { client_grp: 23 }),
          mcastGroup(23, [[4, 203]]),
          entry("egress.lasthop.lasthop_client_rid_exact", { egress_rid: 201 }, "egress.lasthop.deliver_to_client_v4", {
            client_addr: "10.3.0.3", src_mac: swMac(3), dst_mac: hostMac(3),
          }),
          entry("egress.lasthop.lasthop_client_rid_exact", { egress_rid: 202 }, "egress.lasthop.deliver_to_client_v4", {
            client_addr: "10.4.0.4", src_mac: swMac(4), dst_mac: hostMac(4),
          }),
          entry("egress.lasthop.lasthop_client_rid_exact", { egress_rid: 203 }, "egress.lasthop.deliver_to_client_v6", {
            client_addr: ipv6ToBigInt("2001:db8:4::4"), src_mac: swMac(4), dst_mac: hostMac(4),
          }),
          // Per-(session, client) delivered counters; (9, 202) has none: delivered all the same, not counted.
          ...[[7, 201], [7, 202], [10, 203]].map(([sid, rid]) => entry(CLIENT_SESSION, { session_id: sid, egress_rid: rid }, "egress.lasthop.count_client_copy")),
          // A tree group at this last hop: one branch (port 2) and the session's client on port 3.
          entry("ingress.tree.ipv4_mcast_exact", { group_addr: "232.1.1.7" }, "ingress.tree.replicate_to_group", { mcast_grp: 21 }),
          mcastGroup(21, [[2, 211], [3, 201]]),
          entry("egress.tree.mcast_replica_rid_exact", { egress_rid: 211 }, "egress.tree.rewrite_replica_src_mac", { src_mac: swMac(2) }),
          // Everything comes from the ingress router 192.0.2.1 through port 1 (77: a session this router does not serve).
          treeParent(7, 1),
          ...[7, 9, 10, 77].map((sid) => overlaySender(sid, "192.0.2.1", 1)),
        );
      });

      /** Copies the last hop sent client replica `rid` of session `sid` (the direct counter of its lasthop_client_session_exact entry). */
      const clientCount = async (sid: number, rid: number): Promise<bigint> => {
        const [e] = await c.readAll({ kind: "directCounterEntry", entry: { table: CLIENT_SESSION, match: { session_id: sid, egress_rid: rid } } });
        if (!e || e.kind !== "directCounterEntry") throw new Error(`no direct counter for (${sid}, ${rid})`);
        return e.data.packets;
      };

      const copy = (outerDst: string, sessionId: number, seq: number, overlay: boolean): Uint8Array =>
        buildFrame({
          ethernet: { dst: swMac(1), src: hostMac(1) },
          encap: { outer: { src: "192.0.2.1", dst: outerDst, ttl: 60, flags: DF }, shim: { sessionId, sequence: seq >>> 0, flags: overlay ? 1 : 0 } },
          packet: udp4("10.1.0.1", "10.9.0.1", 7000, { ttl: 63, payload: text(`s${sessionId} q${seq >>> 0}`) }),
        });

      const delivered = (client: string, port: number, sessionId: number, seq: number): string =>
        bytesToHex(
          buildFrame({
            ethernet: { dst: hostMac(port), src: swMac(port) },
            packet: udp4("10.1.0.1", client, 7000, { ttl: 62, payload: text(`s${sessionId} q${seq >>> 0}`) }),
          }),
        );

      it("delivers the first copy of each sequence to every client and drops the rest, like the reference window", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const model = new DedupWindow();
        const seqs = [100, 100, 102, 101, 101, 103, 170, 105, 106, 105, 171];
        for (const q of seqs) {
          const verdict = model.offer(q);
          const { out } = await exchange(1, copy(LOOPBACK, 7, q, true));
          if (verdict === "new") {
            expect([...out.keys()].sort(), `seq ${q}`).toEqual([3, 4]);
            expect(bytesToHex(out.get(3)![0]!)).toBe(delivered("10.3.0.3", 3, 7, q));
            expect(bytesToHex(out.get(4)![0]!)).toBe(delivered("10.4.0.4", 4, 7, q));
          } else {
            expect(out.size, `seq ${q} is ${verdict}`).toBe(0);
          }
        }
        expect((await counter("ingress.dedup.dedup_delivered_counter", 7)).packets).toBe(BigInt(model.counters.delivered));
        // Each client got exactly the new ones: its own counter.
        expect(await clientCount(7, 201)).toBe(BigInt(model.counters.delivered));
        expect(await clientCount(7, 202)).toBe(BigInt(model.counters.delivered));
        expect((await counter("ingress.dedup.dedup_duplicate_counter", 7)).packets).toBe(BigInt(model.counters.duplicate));
        expect((await counter("ingress.dedup.dedup_too_old_counter", 7)).packets).toBe(BigInt(model.counters.tooOld));
        expect(await register("ingress.dedup.dedup_gap", 7)).toBe(model.counters.gap);
        expect(await register("ingress.dedup.dedup_highest", 7)).toBe(model.registers().highest);
        expect(await register("ingress.dedup.dedup_history", 7)).toBe(model.registers().history);
      });

      it("tree copies: branches always get them, clients only the first copy", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        // 172 is new (tree copy first), then its overlay copy is a duplicate.
        let r = await exchange(1, copy("232.1.1.7", 7, 172, false));
        expect([...r.out.keys()].sort()).toEqual([2, 3]);
        expect(bytesToHex(r.out.get(3)![0]!)).toBe(delivered("10.3.0.3", 3, 7, 172));
        expect(decodeFrame(r.out.get(2)![0]!).outer?.ipv4.ttl).toBe(59);
        r = await exchange(1, copy(LOOPBACK, 7, 172, true));
        expect(r.out.size).toBe(0);
        // 173 arrives over the overlay first; the later tree copy only goes down the tree.
        r = await exchange(1, copy(LOOPBACK, 7, 173, true));
        expect([...r.out.keys()].sort()).toEqual([3, 4]);
        r = await exchange(1, copy("232.1.1.7", 7, 173, false));
        expect([...r.out.keys()]).toEqual([2]);
      });

      it("an overlay copy passing through to another last hop of the session leaves this router's window alone", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const before = await register("ingress.dedup.dedup_highest", 7);
        const q = Number(before) + 1;
        // On its way to 10.2.0.99 (another router): routed out of port 2, not delivered here, window unchanged.
        let r = await exchange(1, copy("10.2.0.99", 7, q, true));
        expect([...r.out.keys()]).toEqual([2]);
        expect(await register("ingress.dedup.dedup_highest", 7)).toBe(before);
        // This router's own copy of that sequence number is still new here.
        r = await exchange(1, copy(LOOPBACK, 7, q, true));
        expect([...r.out.keys()].sort()).toEqual([3, 4]);
        expect(bytesToHex(r.out.get(3)![0]!)).toBe(delivered("10.3.0.3", 3, 7, q));
      });

      it("handles sequence wrap-around at 2^32 and too-old copies", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const model = new DedupWindow();
        for (const q of [0xfffffffe, 0xffffffff, 0, 1, 0xffffffff, 0xfffffffd, 0xffffff00, 2]) {
          const verdict = model.offer(q);
          const { out } = await exchange(1, copy(LOOPBACK, 9, q, true));
          expect(out.size, `seq ${q >>> 0} (${verdict})`).toBe(verdict === "new" ? 1 : 0);
          if (verdict === "new") {
            const d = decodeFrame(out.get(4)![0]!);
            expect(d.ip?.version).toBe(4);
          }
        }
        expect(await register("ingress.dedup.dedup_highest", 9)).toBe(model.registers().highest);
        expect(await register("ingress.dedup.dedup_history", 9)).toBe(model.registers().history);
      });

      it("drops p4cast packets to this router for unknown sessions; IPv6 originals reach IPv6 clients", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        expect((await exchange(1, copy(LOOPBACK, 77, 1, true))).out.size).toBe(0);
        // Session 10's client is IPv6.
        const inner = (dst: string, hopLimit: number): PacketSpec => ({
          ip: { version: 6, src: "2001:db8:1::1", dst, hopLimit },
          l4: { kind: "udp", udp: { srcPort: 4000, dstPort: 7000 }, payload: text("v6 payload") },
        });
        const { out } = await exchange(
          1,
          buildFrame({
            ethernet: { dst: swMac(1), src: hostMac(1) },
            encap: { outer: { src: "192.0.2.1", dst: LOOPBACK, ttl: 60, flags: DF }, shim: { sessionId: 10, sequence: 1, flags: 1 } },
            packet: inner("2001:db8:9::1", 40),
          }),
        );
        const expected = buildFrame({ ethernet: { dst: hostMac(4), src: swMac(4) }, packet: inner("2001:db8:4::4", 39) });
        expect(bytesToHex(only(out, 4) && out.get(4)![0]!)).toBe(bytesToHex(expected));
        // An IPv4 original for an IPv6 client is not rewritten: dropped.
        expect((await exchange(1, copy(LOOPBACK, 10, 2, true))).out.size).toBe(0);
        expect((await counter("egress.egress_drop_counter", 14)).packets).toBeGreaterThanOrEqual(1n);
      });

      it("drops client copies whose original has TTL 1 (it cannot be routed once more)", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const before = [await clientCount(7, 201), await clientCount(7, 202)];
        const f = buildFrame({
          ethernet: { dst: swMac(1), src: hostMac(1) },
          encap: { outer: { src: "192.0.2.1", dst: LOOPBACK, ttl: 60, flags: DF }, shim: { sessionId: 7, sequence: 300, flags: 1 } },
          packet: udp4("10.1.0.1", "10.9.0.1", 7000, { ttl: 1 }),
        });
        expect((await exchange(1, f)).out.size).toBe(0);
        // Not delivered, not counted.
        expect([await clientCount(7, 201), await clientCount(7, 202)]).toEqual(before);
      });

      it("counts every copy a client got, per session and client: the clients' counters against what came out of their ports", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const sid7 = [await clientCount(7, 201), await clientCount(7, 202)];
        const sid10 = await clientCount(10, 203);
        // Session 10's one IPv6 delivery (above); the IPv4 original its IPv6 client could not take was not counted.
        expect(sid10).toBe(1n);
        const base = Number(await register("ingress.dedup.dedup_highest", 7)) + 1;
        // Session 7: three new sequence numbers (both clients), one duplicate; session 9's client on port 4 (no counter entry).
        let port3 = 0;
        let port4 = 0;
        for (const [sid, q] of [[7, base], [7, base + 1], [7, base + 1], [9, 3], [7, base + 2]] as const) {
          const { out } = await exchange(1, copy(LOOPBACK, sid, q, true));
          port3 += out.get(3)?.length ?? 0;
          if (sid === 7) port4 += out.get(4)?.length ?? 0;
        }
        expect([port3, port4]).toEqual([3, 3]);
        expect(await clientCount(7, 201)).toBe(sid7[0]! + BigInt(port3));
        expect(await clientCount(7, 202)).toBe(sid7[1]! + BigInt(port4));
        // The other session's client on the same port is not counted under session 7, nor is session 10's.
        expect(await clientCount(10, 203)).toBe(sid10);
        // One wildcard read gives every entry's cell (what the controller reads), the same values.
        const all = (await c.readAll({ kind: "directCounterEntry", entry: { table: CLIENT_SESSION } })) as DecodedOf<"directCounterEntry">[];
        const cells = new Map(all.map((e) => [`${e.entry.match["session_id"]?.kind === "exact" ? e.entry.match["session_id"].value : "?"}/${e.entry.match["egress_rid"]?.kind === "exact" ? e.entry.match["egress_rid"].value : "?"}`, e.data.packets]));
        expect(cells).toEqual(new Map([["7/201", await clientCount(7, 201)], ["7/202", await clientCount(7, 202)], ["10/203", sid10]]));
      });
    });

    describe("malformed p4cast packets and drop reasons", () => {
      const drops = async (reason: number): Promise<bigint> => (await counter("ingress.ingress_drop_counter", reason)).packets;
      const base = (): Uint8Array =>
        buildFrame({
          ethernet: { dst: swMac(1), src: hostMac(1) },
          encap: { outer: { src: "192.0.2.1", dst: "10.2.0.99", ttl: 20, flags: DF }, shim: { sessionId: 8, sequence: 1 } },
          packet: udp4("10.1.0.1", "10.9.0.1", 7000, { ttl: 63 }),
        });

      it("drops an unknown shim version (parser error) and counts it", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const before = await drops(1);
        const f = base();
        f[14 + 20] = 0x20; // version 2
        expect((await exchange(1, f)).out.size).toBe(0);
        expect(await drops(1)).toBe(before + 1n);
      });

      it("drops outer or inner lengths beyond the frame (truncated) and counts them", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const before = await drops(3);
        const f = base();
        expect((await exchange(1, f.subarray(0, f.length - 3))).out.size).toBe(0);
        const g = Uint8Array.from(f);
        // Inner IPv4 total length + 1: longer than the outer packet carries. Fix the inner header checksum.
        const inner = 14 + 28;
        g[inner + 3] = (g[inner + 3] ?? 0) + 1;
        g[inner + 10] = 0;
        g[inner + 11] = 0;
        let sum = 0;
        for (let i = 0; i < 20; i += 2) sum += ((g[inner + i] ?? 0) << 8) | (g[inner + i + 1] ?? 0);
        while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
        g[inner + 10] = (~sum >>> 8) & 0xff;
        g[inner + 11] = ~sum & 0xff;
        expect((await exchange(1, g)).out.size).toBe(0);
        expect(await drops(3)).toBe(before + 2n);
      });

      it("forwards protocol 253 with IPv4 options as plain IP, payload untouched", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const payload = Uint8Array.of(0x20, 0, 0, 8, 0, 0, 0, 1, 0xde, 0xad); // not a valid shim: never parsed
        const ip = { version: 4 as const, src: "10.1.0.1", dst: "10.2.0.42", options: Uint8Array.of(1, 1, 1, 0) };
        const l4 = { kind: "raw" as const, protocol: 253, bytes: payload };
        const { out } = await exchange(1, frame({ from: 1, packet: { ip: { ...ip, ttl: 9 }, l4 } }));
        const expected = buildFrame({ ethernet: { dst: hostMac(2), src: swMac(2) }, packet: { ip: { ...ip, ttl: 8 }, l4 } });
        expect(bytesToHex(only(out, 2) && out.get(2)![0]!)).toBe(bytesToHex(expected));
      });

      it("counts TTL and no-route drops under their reasons", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const ttl0 = await drops(4);
        const noRoute = await drops(5);
        await exchange(1, frame({ from: 1, packet: udp4("10.1.0.1", "10.2.0.9", 1, { ttl: 1 }) }));
        await exchange(1, frame({ from: 1, packet: udp4("10.1.0.1", "10.77.0.9", 1) }));
        expect(await drops(4)).toBe(ttl0 + 1n);
        expect(await drops(5)).toBe(noRoute + 1n);
      });
    });

    describe("heartbeats in the fast path", () => {
      const ME = "192.0.2.100";
      beforeAll(async () => {
        await insert(
          entry("ingress.l3_classify.ipv4_local_exact", { dst_addr: ME }, "ingress.l3_classify.mark_local"),
          entry("ingress.heartbeat.heartbeat_peer_exact", { peer_addr: "10.2.0.77" }, "ingress.heartbeat.set_peer", { peer_index: 5 }),
          // Heartbeat neighbours: 10.1.0.1 on port 1, 10.2.0.77 and 10.2.0.78 (no peer index: not watched from here) on port 2.
          hbNeighbor(1, "10.1.0.1"),
          hbNeighbor(2, "10.2.0.77"),
          hbNeighbor(2, "10.2.0.78"),
        );
      });

      const hb = (from: number, src: string, dst: string, type: number, flags: number, sequence: number, reflectTimestamp = 0n, ttl = 5, macs?: { dst: string; src: string }): Uint8Array =>
        buildFrame({
          ethernet: macs ?? { dst: swMac(from), src: hostMac(from) },
          packet: {
            ip: { version: 4, src, dst, ttl },
            l4: { kind: "heartbeat", heartbeat: { type, flags, originId: 0x1234, sequence, originTimestamp: 0x0102030405060708n, reflectTimestamp } },
          },
        });

      it("reflects a LINK request out of its ingress port, fully in the data plane", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const { out, ins } = await exchange(1, hb(1, "10.1.0.1", ME, HeartbeatType.REQUEST, 1, 42));
        expect(ins.length).toBe(0);
        const d = only(out, 1);
        const got = d.ip?.l4.kind === "udp" ? d.ip.l4.heartbeat : undefined;
        expect(got).toMatchObject({ type: HeartbeatType.RESPONSE, sequence: 42, originId: 0x1234, originTimestamp: 0x0102030405060708n });
        expect(got!.reflectTimestamp).toBeGreaterThan(0n);
        const expected = hb(1, ME, "10.1.0.1", HeartbeatType.RESPONSE, 1, 42, got!.reflectTimestamp, 64, { dst: hostMac(1), src: swMac(1) });
        expect(bytesToHex(out.get(1)![0]!)).toBe(bytesToHex(expected));
      });

      it("routes the response of a request without LINK", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const { out } = await exchange(2, hb(2, "10.2.0.77", ME, HeartbeatType.REQUEST, 0, 43));
        const d = only(out, 2);
        expect(d.ip?.header).toMatchObject({ src: ME, dst: "10.2.0.77", ttl: 63 });
      });

      it("consumes responses from known peers into registers and a counter; drops unknown peers", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        for (const seq of [7, 9]) {
          const { out, ins } = await exchange(2, hb(2, "10.2.0.77", ME, HeartbeatType.RESPONSE, 0, seq, 99n));
          expect(out.size + ins.length).toBe(0);
        }
        expect(await register("ingress.heartbeat.hb_count", 5)).toBe(2n);
        expect(await register("ingress.heartbeat.hb_last_seq", 5)).toBe(9n);
        expect(await register("ingress.heartbeat.hb_last_seen_ts", 5)).toBeGreaterThan(0n);
        expect((await counter("ingress.heartbeat.hb_peer_counter", 5)).packets).toBe(2n);
        const unknown = (await counter("ingress.ingress_drop_counter", 12)).packets;
        const { out } = await exchange(2, hb(2, "10.2.0.78", ME, HeartbeatType.RESPONSE, 0, 1));
        expect(out.size).toBe(0);
        expect(await register("ingress.heartbeat.hb_count", 5)).toBe(2n);
        expect((await counter("ingress.ingress_drop_counter", 12)).packets).toBe(unknown + 1n);
      });

      /** A DIRECT packet-out to switch port `port`: what leaves it (loopback: what comes back from the CPU port). */
      async function direct(port: number, f: Uint8Array): Promise<Uint8Array> {
        if (loopback) {
          const before = packetIns.length;
          c.sendPacket({ payload: f, metadata: { egress_port: CPU_PORT, flags: 1 } });
          await barrier();
          const got = packetIns.slice(before).filter((p) => !isMarker(p));
          expect(got.length).toBe(1);
          return got[0]!.payload;
        }
        const host = target.hosts!.get(port)!;
        const before = host.received.length;
        c.sendPacket({ payload: f, metadata: { egress_port: port, flags: 1 } });
        await host.waitFor(before + 1, 2000);
        return host.received[before]!;
      }

      const heartbeatOf = (b: Uint8Array) => {
        const d = decodeFrame(b);
        expect(checksumProblems(d)).toEqual([]);
        return d.ip?.l4.kind === "udp" ? d.ip.l4.heartbeat : undefined;
      };

      it("STAMP: a request sent as a DIRECT packet-out leaves with the switch's timestamp as origin timestamp, UDP checksum adjusted (0 stays 0)", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const macs = { dst: hostMac(2), src: swMac(2) };
        const request = (flags: number, checksum?: number) =>
          buildFrame({
            ethernet: macs,
            packet: {
              ip: { version: 4, src: ME, dst: "10.2.0.77", ttl: 64 },
              l4: { kind: "heartbeat", heartbeat: { type: HeartbeatType.REQUEST, flags, originId: 7, sequence: 1000, originTimestamp: 0x0102030405060708n }, ...(checksum !== undefined ? { udp: { checksum } } : {}) },
            },
          });
        for (const checksum of [undefined, 0]) {
          const out = await direct(2, request(HeartbeatFlags.LINK | HeartbeatFlags.STAMP, checksum));
          const got = heartbeatOf(out)!;
          expect(got).toMatchObject({ type: HeartbeatType.REQUEST, flags: 3, sequence: 1000, originId: 7, reflectTimestamp: 0n });
          // The switch's own ingress timestamp: 48 bits of microseconds since it started.
          expect(got.originTimestamp).toBeGreaterThan(0n);
          expect(got.originTimestamp).toBeLessThan(1n << 48n);
          const expected = buildFrame({
            ethernet: macs,
            packet: {
              ip: { version: 4, src: ME, dst: "10.2.0.77", ttl: 64 },
              l4: { kind: "heartbeat", heartbeat: { type: HeartbeatType.REQUEST, flags: 3, originId: 7, sequence: 1000, originTimestamp: got.originTimestamp }, ...(checksum !== undefined ? { udp: { checksum } } : {}) },
            },
          });
          expect(bytesToHex(out), `UDP checksum ${checksum ?? "computed"}`).toBe(bytesToHex(expected));
        }
        // Without STAMP (the slow path's requests: the controller's own timestamp) it leaves unchanged.
        const plain = request(HeartbeatFlags.LINK);
        expect(bytesToHex(await direct(2, plain))).toBe(bytesToHex(plain));
      });

      it("STAMP: a response's round trip in the switch's own clock goes to hb_rtt; without STAMP hb_rtt is left alone", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const t0 = performance.now();
        const stamped = heartbeatOf(
          await direct(2, buildFrame({ ethernet: { dst: hostMac(2), src: swMac(2) }, packet: { ip: { version: 4, src: ME, dst: "10.2.0.77", ttl: 64 }, l4: { kind: "heartbeat", heartbeat: { type: HeartbeatType.REQUEST, flags: 3, sequence: 2000 } } } })),
        )!;
        const count = await register("ingress.heartbeat.hb_count", 5);
        // The peer's response echoes the origin timestamp; it comes back a little later.
        await new Promise((r) => setTimeout(r, 30));
        const response = (flags: number, seq: number) =>
          buildFrame({
            ethernet: { dst: swMac(2), src: hostMac(2) },
            packet: { ip: { version: 4, src: "10.2.0.77", dst: ME, ttl: 64 }, l4: { kind: "heartbeat", heartbeat: { type: HeartbeatType.RESPONSE, flags, originId: 7, sequence: seq, originTimestamp: stamped.originTimestamp, reflectTimestamp: 5n } } },
          });
        const { out, ins } = await exchange(2, response(3, 2000));
        expect(out.size + ins.length).toBe(0);
        const elapsedUs = BigInt(Math.ceil((performance.now() - t0) * 1000));
        const rtt = await register("ingress.heartbeat.hb_rtt", 5);
        expect(rtt).toBeGreaterThanOrEqual(30_000n);
        expect(rtt).toBeLessThanOrEqual(elapsedUs + 5_000n);
        expect(await register("ingress.heartbeat.hb_count", 5)).toBe(count + 1n);
        // A response without STAMP counts, but its origin timestamp is not this switch's: no round trip from it.
        await exchange(2, response(1, 2001));
        expect(await register("ingress.heartbeat.hb_count", 5)).toBe(count + 2n);
        expect(await register("ingress.heartbeat.hb_rtt", 5)).toBe(rtt);
        console.log(`[dataplane ${kind}] hb_rtt after a 30 ms wait: ${rtt} us (wall clock ${elapsedUs} us)`);
      });

      it("punts responses to the controller when heartbeat_mode_exact says so", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const mode = entry("ingress.heartbeat.heartbeat_mode_exact", { msg_type: HeartbeatType.RESPONSE }, "ingress.heartbeat.punt_heartbeat");
        await insert(mode);
        const count = await register("ingress.heartbeat.hb_count", 5);
        const rtt = await register("ingress.heartbeat.hb_rtt", 5);
        // Even with STAMP: the slow path's round trip is the controller's to time.
        const sent = hb(2, "10.2.0.77", ME, HeartbeatType.RESPONSE, HeartbeatFlags.STAMP, 11);
        const { out, ins } = await exchange(2, sent);
        expect(out.size).toBe(0);
        expect(ins.length).toBe(1);
        expect(ins[0]!.metadata).toMatchObject({ ingress_port: inPort(2), reason: BigInt(PuntReason.HEARTBEAT), aux: 5n });
        expect(bytesToHex(ins[0]!.payload)).toBe(bytesToHex(sent));
        await c.delete({ kind: "tableEntry", table: "ingress.heartbeat.heartbeat_mode_exact", match: { msg_type: HeartbeatType.RESPONSE } });
        expect(await register("ingress.heartbeat.hb_count", 5)).toBe(count);
        expect(await register("ingress.heartbeat.hb_rtt", 5)).toBe(rtt);
      });
    });

    describe("burst meter", () => {
      beforeAll(async () => {
        await insert(
          entry("ingress.session.session_v4_exact", { dst_addr: "10.9.0.2", l4_dst_port: 7000 }, "ingress.session.encap_session", {
            session_id: 11, group_addr: "232.1.1.11", src_addr: "192.0.2.1", mcast_grp: 12, yellow_dscp: 10,
          }),
          entry("ingress.session.session_v4_exact", { dst_addr: "10.9.0.3", l4_dst_port: 7000 }, "ingress.session.encap_session", {
            session_id: 12, group_addr: "232.1.1.12", src_addr: "192.0.2.1", mcast_grp: 12, yellow_dscp: 12,
          }),
          mcastGroup(12, [[2, 121]]),
          entry("egress.tree.mcast_replica_rid_exact", { egress_rid: 121 }, "egress.tree.rewrite_replica_src_mac", { src_mac: swMac(2) }),
        );
        await c.modify(
          { kind: "meterEntry", meter: "ingress.burst.session_burst_meter", index: 11, config: { cir: 1, cburst: 250, pir: 1, pburst: 450 } },
          { kind: "meterEntry", meter: "ingress.burst.session_burst_meter", index: 12, config: { cir: 1, cburst: 1, pir: 1, pburst: 100000 } },
        );
      });

      /** 100-byte frames (14 + 20 + 8 + 58); 102 bytes with a packet_out header. Bursts: 250 / 450 bytes. */
      const burstFrame = (dst: string, ecn: number): Uint8Array =>
        buildFrame({
          ethernet: { dst: swMac(1), src: hostMac(1) },
          packet: { ip: { version: 4, src: "10.1.0.1", dst, ecn }, l4: { kind: "udp", udp: { srcPort: 1, dstPort: 7000 }, payload: new Uint8Array(58) } },
        });

      it("green, green, yellow (DSCP/ECN marked), yellow, red (dropped), with per-colour counters", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const colours: string[] = [];
        for (let i = 0; i < 5; i++) {
          const { out } = await exchange(1, burstFrame("10.9.0.2", 2));
          if (!out.size) {
            colours.push("red");
            continue;
          }
          const d = decodeFrame(out.get(2)![0]!);
          expect(checksumProblems(d)).toEqual([]);
          const inner = d.ip?.version === 4 ? d.ip.header : undefined;
          colours.push(inner?.dscp === 10 && inner.ecn === 3 ? "yellow" : inner?.dscp === 0 && inner.ecn === 2 ? "green" : "?");
          expect(d.outer?.ipv4).toMatchObject({ dscp: inner?.dscp, ecn: inner?.ecn });
        }
        expect(colours).toEqual(["green", "green", "yellow", "yellow", "red"]);
        expect((await counter("ingress.burst.burst_green_counter", 11)).packets).toBe(2n);
        expect((await counter("ingress.burst.burst_yellow_counter", 11)).packets).toBe(2n);
        expect((await counter("ingress.burst.burst_red_counter", 11)).packets).toBe(1n);
      });

      it("yellow marks DSCP but leaves a Not-ECT packet's ECN at 0", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const { out } = await exchange(1, burstFrame("10.9.0.3", 0));
        const d = decodeFrame(out.get(2)![0]!);
        expect(d.ip?.version === 4 && [d.ip.header.dscp, d.ip.header.ecn]).toEqual([12, 0]);
      });
    });

    describe("IPv6/IPv4 translation (RFC 7915, RFC 6052, explicit mappings)", () => {
      beforeAll(async () => {
        await insert(
          entry("ingress.nat64.xlate_v6_dst_lpm", { dst_addr: { value: ipv6ToBigInt("64:ff9b::"), prefixLen: 96 } }, "ingress.nat64.xlate_v6_dst_embedded"),
          entry("ingress.nat64.xlate_v6_src_lpm", { src_addr: { value: ipv6ToBigInt("2001:db8:1::5"), prefixLen: 128 } }, "ingress.nat64.xlate_v6_src_explicit", { addr: "192.0.2.5" }),
          entry("ingress.nat64.xlate_v4_dst_lpm", { dst_addr: { value: "198.18.0.0", prefixLen: 16 } }, "ingress.nat64.xlate_v4_dst_embedded", { prefix: ipv6ToBigInt("2001:db8:64::") }),
          entry("ingress.nat64.xlate_v4_src_lpm", { src_addr: { value: "10.1.0.0", prefixLen: 16 } }, "ingress.nat64.xlate_v4_src_embedded", { prefix: ipv6ToBigInt("64:ff9b::") }),
          entry("ingress.l3.ipv6_lpm", { dst_addr: { value: ipv6ToBigInt("2001:db8:64::"), prefixLen: 96 } }, "ingress.l3.route_to_nexthop", { nexthop_id: 2 }),
        );
      });

      const v6 = (src: string, dst: string, l4: PacketSpec["l4"], hopLimit = 20): PacketSpec => ({ ip: { version: 6, src, dst, hopLimit, dscp: 5, ecn: 1, flowLabel: 0x12345 }, l4 });
      const v4 = (src: string, dst: string, l4: PacketSpec["l4"], ttl = 19, extra: { identification?: number; flags?: number; options?: Uint8Array } = {}): PacketSpec => ({
        ip: { version: 4, src, dst, ttl, dscp: 5, ecn: 1, identification: extra.identification ?? 0, flags: extra.flags ?? DF, ...(extra.options ? { options: extra.options } : {}) },
        l4,
      });
      const udpL4 = (payload = "xlate"): PacketSpec["l4"] => ({ kind: "udp", udp: { srcPort: 3333, dstPort: 53 }, payload: text(payload) });
      const tcpL4: PacketSpec["l4"] = { kind: "tcp", tcp: { srcPort: 40000, dstPort: 80, seq: 1000, flags: 0x02, window: 5000 }, payload: text("GET") };
      const out2 = (packet: PacketSpec): string => bytesToHex(buildFrame({ ethernet: { dst: hostMac(2), src: swMac(2) }, packet }));

      it("IPv6 -> IPv4: UDP, TCP and ICMPv6 echo -> ICMP echo, byte-exact with recomputed checksums", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const cases: Array<[PacketSpec["l4"], PacketSpec["l4"]]> = [
          [udpL4(), udpL4()],
          [tcpL4, tcpL4],
          [
            { kind: "icmpv6", icmp: { type: 128, rest: echoRest(0x77, 3) }, body: text("ping") },
            { kind: "icmp", icmp: { type: 8, rest: echoRest(0x77, 3) }, body: text("ping") },
          ],
          [
            { kind: "icmpv6", icmp: { type: 129, rest: echoRest(0x78, 4) }, body: text("pong!") },
            { kind: "icmp", icmp: { type: 0, rest: echoRest(0x78, 4) }, body: text("pong!") },
          ],
        ];
        for (const [inL4, outL4] of cases) {
          const { out } = await exchange(1, frame({ from: 1, packet: v6("2001:db8:1::5", "64:ff9b::10.2.0.10", inL4) }));
          expect(bytesToHex(only(out, 2) && out.get(2)![0]!), inL4.kind).toBe(out2(v4("192.0.2.5", "10.2.0.10", outL4)));
        }
      });

      it("IPv4 -> IPv6: UDP, TCP, ICMP echo -> ICMPv6 echo (pseudo-header added), options dropped", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const src6 = "64:ff9b::a01:1";
        const dst6 = "2001:db8:64::c612:7";
        const cases: Array<[PacketSpec["l4"], PacketSpec["l4"], Uint8Array | undefined]> = [
          [udpL4(), udpL4(), undefined],
          [tcpL4, tcpL4, undefined],
          [
            { kind: "icmp", icmp: { type: 8, rest: echoRest(1, 2) }, body: text("ping") },
            { kind: "icmpv6", icmp: { type: 128, rest: echoRest(1, 2) }, body: text("ping") },
            undefined,
          ],
          [udpL4("with options"), udpL4("with options"), Uint8Array.of(1, 1, 1, 0)],
        ];
        for (const [inL4, outL4, options] of cases) {
          const input = v4("10.1.0.1", "198.18.0.7", inL4, 20, { identification: 99, flags: 0, ...(options ? { options } : {}) });
          const { out } = await exchange(1, frame({ from: 1, packet: input }));
          const expected: PacketSpec = { ip: { version: 6, src: src6, dst: dst6, hopLimit: 19, dscp: 5, ecn: 1 }, l4: outL4 };
          expect(bytesToHex(only(out, 2) && out.get(2)![0]!), inL4.kind).toBe(out2(expected));
        }
      });

      it("drops what cannot be translated", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const drops: PacketSpec[] = [
          v6("2001:db8:1::6", "64:ff9b::10.2.0.10", udpL4()), // source without mapping
          v6("2001:db8:1::5", "64:ff9b::10.2.0.10", { kind: "icmpv6", icmp: { type: 1, code: 4 }, body: new Uint8Array(8) }), // ICMPv6 error
          { ip: { version: 6, src: "2001:db8:1::5", dst: "64:ff9b::10.2.0.10", hopByHopOptions: Uint8Array.of(1, 4, 0, 0, 0, 0) }, l4: udpL4() },
          v4("10.1.0.1", "198.18.0.7", { kind: "udp", udp: { srcPort: 1, dstPort: 2, checksum: 0 }, payload: text("no csum") }, 20),
          v4("10.1.0.1", "198.18.0.7", udpL4(), 20, { flags: 0b001 }), // first fragment
          v4("10.5.0.1", "198.18.0.7", udpL4(), 20), // source without mapping
          v4("10.1.0.1", "198.18.0.7", { kind: "icmp", icmp: { type: 3, code: 1 }, body: new Uint8Array(28) }, 20),
        ];
        for (const packet of drops) {
          const { out } = await exchange(1, frame({ from: 1, packet }));
          expect(out.size, JSON.stringify(packet.ip)).toBe(0);
        }
        expect((await counter("ingress.ingress_drop_counter", 11)).packets).toBeGreaterThanOrEqual(BigInt(drops.length));
      });
    });

    describe("multicast address translation (RFC 8114 style)", () => {
      beforeAll(async () => {
        await insert(
          entry("ingress.mcast_xlate.mcast_xlate_v4_lpm", { group_addr: { value: "232.2.0.0", prefixLen: 16 } }, "ingress.mcast_xlate.mcast_xlate_4to6", {
            group_prefix: ipv6ToBigInt("ff3e::"), source_prefix: ipv6ToBigInt("64:ff9b::"),
          }),
          entry("ingress.tree.ipv6_mcast_exact", { group_addr: ipv6ToBigInt("ff3e::e802:1") }, "ingress.tree.replicate_to_group", { mcast_grp: 30 }),
          mcastGroup(30, [[2, 301], [3, 302]]),
          entry("egress.tree.mcast_replica_rid_exact", { egress_rid: 301 }, "egress.tree.rewrite_replica_src_mac", { src_mac: swMac(2) }),
          entry("egress.tree.mcast_replica_rid_exact", { egress_rid: 302 }, "egress.tree.rewrite_replica_src_mac", { src_mac: swMac(3) }),
          entry("ingress.mcast_xlate.mcast_xlate_v6_lpm", { group_addr: { value: ipv6ToBigInt("ff3e:0:0:0:0:1::"), prefixLen: 96 } }, "ingress.mcast_xlate.mcast_xlate_6to4", {
            source_prefix: ipv6ToBigInt("64:ff9b::"),
          }),
          entry("ingress.tree.ipv4_mcast_exact", { group_addr: "232.3.0.1" }, "ingress.tree.replicate_to_group", { mcast_grp: 31 }),
          mcastGroup(31, [[4, 311]]),
          entry("egress.tree.mcast_replica_rid_exact", { egress_rid: 311 }, "egress.tree.rewrite_replica_src_mac", { src_mac: swMac(4) }),
        );
      });

      const l4: PacketSpec["l4"] = { kind: "udp", udp: { srcPort: 5004, dstPort: 5004 }, payload: text("media") };

      it("IPv4 (S,G) -> IPv6: G6 = ff3e::/96 + G4, S6 = 64:ff9b::/96 + S4, replicated", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const { out } = await exchange(1, frame({ from: 1, dst: ipv4MulticastMac("232.2.0.1"), packet: { ip: { version: 4, src: "10.1.0.1", dst: "232.2.0.1", ttl: 10 }, l4 } }));
        expect([...out.keys()].sort()).toEqual([2, 3]);
        for (const p of [2, 3]) {
          const expected = buildFrame({
            ethernet: { dst: "33:33:e8:02:00:01", src: swMac(p) },
            packet: { ip: { version: 6, src: "64:ff9b::a01:1", dst: "ff3e::e802:1", hopLimit: 9 }, l4 },
          });
          expect(bytesToHex(out.get(p)![0]!)).toBe(bytesToHex(expected));
        }
      });

      it("IPv6 (S,G) -> IPv4, and drops sources outside the unicast prefix", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const f = (src: string): Uint8Array =>
          frame({ from: 1, dst: "33:33:e8:03:00:01", packet: { ip: { version: 6, src, dst: "ff3e::1:e803:1", hopLimit: 10 }, l4 } });
        const { out } = await exchange(1, f("64:ff9b::10.1.0.1"));
        const expected = buildFrame({
          ethernet: { dst: ipv4MulticastMac("232.3.0.1"), src: swMac(4) },
          packet: { ip: { version: 4, src: "10.1.0.1", dst: "232.3.0.1", ttl: 9, flags: DF }, l4 },
        });
        expect(bytesToHex(only(out, 4) && out.get(4)![0]!)).toBe(bytesToHex(expected));
        expect((await exchange(1, f("2001:db8::1"))).out.size).toBe(0);
      });
    });

    describe("IGMP / MLD reports and packet-out", () => {
      it("punts IGMPv2 (with Router Alert option) and IGMPv3 reports; queries are not punted", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const igmp = (type: number, group: string, dst: string): Uint8Array =>
          frame({
            from: 1,
            dst: ipv4MulticastMac(dst),
            packet: {
              ip: { version: 4, src: "10.1.0.1", dst, ttl: 1, options: Uint8Array.of(0x94, 0x04, 0, 0) },
              l4: { kind: "raw", protocol: IpProtocol.IGMP, bytes: buildIgmpV2({ type, group }) },
            },
          });
        for (const f of [
          igmp(0x16, "239.1.2.3", "239.1.2.3"),
          igmp(0x17, "239.1.2.3", "224.0.0.2"),
          frame({
            from: 1,
            dst: ipv4MulticastMac("224.0.0.22"),
            packet: {
              ip: { version: 4, src: "10.1.0.1", dst: "224.0.0.22", ttl: 1 },
              l4: { kind: "raw", protocol: IpProtocol.IGMP, bytes: buildIgmpV3Report({ records: [{ recordType: 4, group: "232.1.1.1", sources: [] }] }) },
            },
          }),
        ]) {
          const { out, ins } = await exchange(1, f);
          expect(out.size).toBe(0);
          expect(ins.length).toBe(1);
          expect(ins[0]!.metadata).toMatchObject({ ingress_port: inPort(1), reason: BigInt(PuntReason.IGMP) });
          expect(bytesToHex(ins[0]!.payload)).toBe(bytesToHex(f));
        }
        const { ins } = await exchange(1, igmp(0x11, "0.0.0.0", "224.0.0.1"));
        expect(ins.length).toBe(0);
      });

      it("punts MLD reports behind a Hop-by-Hop header, not without one", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const ctx6 = { version: 6 as const, src: "fe80::1", dst: "ff02::16" };
        const report = buildMldV2Report({ records: [{ recordType: 4, multicastAddress: "ff3e::8000:1", sources: [] }] }, ctx6);
        const withHbh = frame({
          from: 3,
          dst: "33:33:00:00:00:16",
          packet: { ip: { ...ctx6, hopLimit: 1, hopByHopOptions: routerAlertOptions() }, l4: { kind: "raw", protocol: IpProtocol.ICMPV6, bytes: report } },
        });
        const { ins } = await exchange(3, withHbh);
        expect(ins.length).toBe(1);
        expect(ins[0]!.metadata).toMatchObject({ ingress_port: inPort(3), reason: BigInt(PuntReason.MLD) });
        const v1 = buildMldV1({ type: 131, multicastAddress: "ff3e::8000:1" }, ctx6);
        const v1f = frame({ from: 3, dst: "33:33:00:00:00:16", packet: { ip: { ...ctx6, hopLimit: 1, hopByHopOptions: routerAlertOptions() }, l4: { kind: "raw", protocol: IpProtocol.ICMPV6, bytes: v1 } } });
        expect((await exchange(3, v1f)).ins.length).toBe(1);
        const noHbh = frame({ from: 3, dst: "33:33:00:00:00:16", packet: { ip: { ...ctx6, hopLimit: 1 }, l4: { kind: "raw", protocol: IpProtocol.ICMPV6, bytes: report } } });
        expect((await exchange(3, noHbh)).ins.length).toBe(0);
      });

      it("packet-out DIRECT leaves unchanged through the given port; without DIRECT it is routed", async (ctx) => {
        if (loopback) {
          // DIRECT to the CPU port comes straight back, unchanged, as a packet-in.
          const f = frame({ from: 1, packet: udp4("10.1.0.1", "10.2.0.5", 1) });
          const before = packetIns.length;
          c.sendPacket({ payload: f, metadata: { egress_port: CPU_PORT, flags: 1 } });
          await barrier();
          expect(packetIns.slice(before).filter((p) => !isMarker(p)).map((p) => bytesToHex(p.payload))).toEqual([bytesToHex(f)]);
          return;
        }
        if (!hasPorts()) ctx.skip();
        const hosts = target.hosts!;
        const f = frame({ from: 1, packet: udp4("10.1.0.1", "10.2.0.5", 1) });
        let before = hosts.get(3)!.received.length;
        c.sendPacket({ payload: f, metadata: { egress_port: 3, flags: 1 } });
        await hosts.get(3)!.waitFor(before + 1, 1000);
        expect(bytesToHex(hosts.get(3)!.received[before]!)).toBe(bytesToHex(f));
        before = hosts.get(2)!.received.length;
        c.sendPacket({ payload: f, metadata: { egress_port: 0, flags: 0 } });
        await hosts.get(2)!.waitFor(before + 1, 1000);
        const d = decodeFrame(hosts.get(2)!.received[before]!);
        expect(d.ip?.header).toMatchObject({ dst: "10.2.0.5", ttl: 63 });
      });
    });

    describe("neighbour trust and the dedup window's resync", () => {
      const LB = "198.51.100.12";
      const INGRESS = "192.0.2.1";
      beforeAll(async () => {
        await insert(
          entry("ingress.l3_classify.ipv4_local_exact", { dst_addr: LB }, "ingress.l3_classify.mark_local"),
          entry("ingress.dedup.lasthop_session_exact", { session_id: 12 }, "ingress.dedup.accept_session", { client_grp: 42 }),
          entry("ingress.dedup.lasthop_session_exact", { session_id: 13 }, "ingress.dedup.accept_session", { client_grp: 43 }),
          mcastGroup(42, [[4, 204]]),
          mcastGroup(43, [[4, 204]]),
          entry("egress.lasthop.lasthop_client_rid_exact", { egress_rid: 204 }, "egress.lasthop.deliver_to_client_v4", {
            client_addr: "10.4.0.4", src_mac: swMac(4), dst_mac: hostMac(4),
          }),
          // Session 12's tree at this last hop: a branch on port 2 and the client on port 4.
          entry("ingress.tree.ipv4_mcast_exact", { group_addr: "232.1.1.12" }, "ingress.tree.replicate_to_group", { mcast_grp: 44 }),
          mcastGroup(44, [[2, 211], [4, 204]]),
          // The tree parent and the overlay path both come in on port 1; h4 (port 4) is a client, h3 (port 3) a neighbour switch.
          treeParent(12, 1),
          overlaySender(12, INGRESS, 1),
          overlaySender(13, INGRESS, 1),
          // Session 14 only passes through this router (no last-hop entry: no dedup here).
          overlaySender(14, INGRESS, 1),
          entry("ingress.heartbeat.heartbeat_peer_exact", { peer_addr: "10.3.0.33" }, "ingress.heartbeat.set_peer", { peer_index: 6 }),
          hbNeighbor(3, "10.3.0.33"),
        );
      });

      const payload = (sid: number, seq: number): string => `s${sid} q${seq >>> 0}`;
      const shim = (from: number, o: { src?: string; dst: string; sid: number; seq: number; overlay?: boolean }): Uint8Array =>
        buildFrame({
          ethernet: { dst: swMac(from), src: hostMac(from) },
          encap: { outer: { src: o.src ?? INGRESS, dst: o.dst, ttl: 60, flags: DF }, shim: { sessionId: o.sid, sequence: o.seq >>> 0, flags: o.overlay ? 1 : 0 } },
          packet: udp4("10.1.0.1", "10.9.0.1", 7000, { ttl: 63, payload: text(payload(o.sid, o.seq)) }),
        });
      const tree = (from: number, seq: number, sid = 12): Uint8Array => shim(from, { dst: "232.1.1.12", sid, seq });
      const overlay = (from: number, seq: number, sid = 12, src = INGRESS): Uint8Array => shim(from, { src, dst: LB, sid, seq, overlay: true });
      /** What reached the client (port 4): the payloads. */
      const atClient = (out: Outputs): string[] =>
        (out.get(4) ?? []).map((f) => {
          const d = decodeFrame(f);
          expect(d.ip?.header.dst).toBe("10.4.0.4");
          return new TextDecoder().decode(d.ip?.l4.kind === "udp" ? d.ip.l4.payload : new Uint8Array());
        });
      const drops = async (reason: number): Promise<bigint> => (await counter("ingress.ingress_drop_counter", reason)).packets;

      it("a forged shim packet from a client's access port is dropped and counted, and does not touch the window: the next real packets all arrive", async (ctx) => {
        if (loopback) ctx.skip(); // every frame enters on the CPU port there: ports cannot be told apart
        for (let q = 1; q <= 5; q++) expect(atClient((await exchange(1, tree(1, q))).out)).toEqual([payload(12, q)]);
        const tree0 = await drops(DROP.UNTRUSTED_TREE);
        const overlay0 = await drops(DROP.UNTRUSTED_OVERLAY);
        // The attack: a copy about 2^31 ahead, sent by the client h4 on its own port, as a tree copy and as an overlay copy.
        const forgedTree = await exchange(4, tree(4, 5 + 0x80000000));
        const forgedOverlay = await exchange(4, overlay(4, 5 + 0x7fffff00));
        expect(forgedTree.out.size + forgedOverlay.out.size).toBe(0);
        expect(await drops(DROP.UNTRUSTED_TREE)).toBe(tree0 + 1n);
        expect(await drops(DROP.UNTRUSTED_OVERLAY)).toBe(overlay0 + 1n);
        expect(await register("ingress.dedup.dedup_highest", 12)).toBe(5n);
        // The next 50 real packets (tree and overlay copies of each) all reach the client, once.
        for (let q = 6; q <= 55; q++) {
          const first = q % 2 ? tree(1, q) : overlay(1, q);
          const second = q % 2 ? overlay(1, q) : tree(1, q);
          expect(atClient((await exchange(1, first)).out), `seq ${q}`).toEqual([payload(12, q)]);
          expect(atClient((await exchange(1, second)).out), `seq ${q} again`).toEqual([]);
        }
        expect(await register("ingress.dedup.dedup_highest", 12)).toBe(55n);
        // A neighbour switch's port is not the tree parent's either.
        expect((await exchange(3, tree(3, 56))).out.size).toBe(0);
        expect(await drops(DROP.UNTRUSTED_TREE)).toBe(tree0 + 2n);
      });

      it("overlay copies from a wrong sender or through a wrong port are dropped, at the last hop and in transit", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const before = await drops(DROP.UNTRUSTED_OVERLAY);
        // Wrong sender address on the right port.
        expect((await exchange(1, overlay(1, 1, 13, "192.0.2.66"))).out.size).toBe(0);
        // In transit (to another router's overlay address, routed through port 2): the same check.
        expect((await exchange(1, shim(1, { src: "192.0.2.66", dst: "10.2.0.99", sid: 14, seq: 1, overlay: true }))).out.size).toBe(0);
        expect([...(await exchange(1, shim(1, { dst: "10.2.0.99", sid: 14, seq: 1, overlay: true }))).out.keys()]).toEqual([2]);
        let expected = before + 2n;
        if (!loopback) {
          // Right sender, wrong port: a neighbour's port (3) and the client's (4).
          expect((await exchange(3, overlay(3, 1, 13))).out.size).toBe(0);
          expect((await exchange(4, shim(4, { dst: "10.2.0.99", sid: 14, seq: 2, overlay: true }))).out.size).toBe(0);
          expected += 2n;
        }
        expect(await drops(DROP.UNTRUSTED_OVERLAY)).toBe(expected);
        // None of it touched session 13's window: its first real copy is new.
        expect(atClient((await exchange(1, overlay(1, 1, 13))).out)).toEqual([payload(13, 1)]);
      });

      it("a heartbeat response from a non-neighbour does not count as liveness; requests from one are not reflected", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const ME = "198.51.100.12";
        const hb = (from: number, src: string, type: number, sequence: number): Uint8Array =>
          buildFrame({
            ethernet: { dst: swMac(from), src: hostMac(from) },
            packet: { ip: { version: 4, src, dst: ME, ttl: 64 }, l4: { kind: "heartbeat", heartbeat: { type, flags: 1, originId: 1, sequence, reflectTimestamp: 5n } } },
          });
        const untrusted = await drops(DROP.UNTRUSTED_HEARTBEAT);
        expect((await exchange(3, hb(3, "10.3.0.33", HeartbeatType.RESPONSE, 1))).out.size).toBe(0);
        expect(await register("ingress.heartbeat.hb_count", 6)).toBe(1n);
        let expected = untrusted;
        // Not a neighbour's address.
        expect((await exchange(3, hb(3, "10.3.0.34", HeartbeatType.RESPONSE, 2))).out.size).toBe(0);
        expect((await exchange(3, hb(3, "10.3.0.34", HeartbeatType.REQUEST, 3))).out.size).toBe(0);
        expected += 2n;
        if (!loopback) {
          // The neighbour's address on another port (a client's): no liveness, no reflection.
          expect((await exchange(4, hb(4, "10.3.0.33", HeartbeatType.RESPONSE, 4))).out.size).toBe(0);
          expect((await exchange(4, hb(4, "10.3.0.33", HeartbeatType.REQUEST, 5))).out.size).toBe(0);
          expected += 2n;
        }
        expect(await register("ingress.heartbeat.hb_count", 6)).toBe(1n);
        expect(await register("ingress.heartbeat.hb_last_seq", 6)).toBe(1n);
        expect(await drops(DROP.UNTRUSTED_HEARTBEAT)).toBe(expected);
        // The neighbour on its port still is.
        expect((await exchange(3, hb(3, "10.3.0.33", HeartbeatType.RESPONSE, 6))).out.size).toBe(0);
        expect(await register("ingress.heartbeat.hb_count", 6)).toBe(2n);
      });

      it(`an out-of-window sequence number does not move the window; ${DEDUP_RESYNC} agreeing ones resync it, like the reference window`, async (ctx) => {
        if (!hasPorts()) ctx.skip();
        const model = new DedupWindow();
        model.offer(1); // the first real copy of the previous test
        const far = 0x40000000;
        const seqs = [
          ...Array.from({ length: 10 }, (_, i) => 1000 + i), // 1000..1009 (a gap: within the span)
          1009 + 0x80000000, // about 2^31 ahead
          1009 + DEDUP_SPAN + 1, // just beyond the span, ahead and behind
          1009 - DEDUP_SPAN - 1,
          1010,
          1009 - DEDUP_SPAN + 5, // too old, within the span
          ...Array.from({ length: DEDUP_RESYNC + 2 }, (_, i) => far + i), // a run: the N-th resyncs
          far, // a late copy of the run's first: it was dropped, so now it is new
          1011, // the old stream: out of window now
        ];
        const ow0 = await drops(DROP.OUT_OF_WINDOW);
        let outOfWindow = 0;
        for (const q of seqs) {
          const verdict = model.offer(q);
          const got = atClient((await exchange(1, overlay(1, q, 13))).out);
          expect(got, `seq ${q >>> 0}: ${verdict}`).toEqual(verdict === "new" ? [payload(13, q)] : []);
          if (verdict === "out-of-window") outOfWindow++;
        }
        expect(outOfWindow).toBe(3 + (DEDUP_RESYNC - 1) + 1);
        expect(await drops(DROP.OUT_OF_WINDOW)).toBe(ow0 + BigInt(outOfWindow));
        expect((await counter("ingress.dedup.dedup_out_of_window_counter", 13)).packets).toBe(BigInt(model.counters.outOfWindow));
        const r = model.registers();
        expect(await register("ingress.dedup.dedup_highest", 13)).toBe(r.highest);
        expect(await register("ingress.dedup.dedup_history", 13)).toBe(r.history);
        expect(await register("ingress.dedup.dedup_resync_seq", 13)).toBe(r.resyncSeq);
        expect(await register("ingress.dedup.dedup_resync_count", 13)).toBe(r.resyncCount);
        expect(await register("ingress.dedup.dedup_gap", 13)).toBe(model.counters.gap);
      });

      it("a tree copy out of the window still goes down the tree, but not to the clients (egress drop, OUT_OF_WINDOW)", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        // Open the window if no earlier test did (loopback), then go far ahead of it.
        const h = (await register("ingress.dedup.dedup_highest", 12)) + 1n;
        await exchange(1, tree(1, Number(h)));
        expect(await register("ingress.dedup.dedup_highest", 12)).toBe(h);
        const before = (await counter("egress.egress_drop_counter", DROP.OUT_OF_WINDOW)).packets;
        const { out } = await exchange(1, tree(1, Number(h) + 0x10000));
        expect([...out.keys()]).toEqual([2]);
        expect((await counter("egress.egress_drop_counter", DROP.OUT_OF_WINDOW)).packets).toBe(before + 1n);
        expect(await register("ingress.dedup.dedup_highest", 12)).toBe(h);
      });

      it("random interleavings of legitimate and forged packets never lose (or repeat) a legitimate in-order packet", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        let next = Number(await register("ingress.dedup.dedup_highest", 12)) + 1;
        type Step = { legit: true; viaTree: boolean; copy: boolean } | { legit: false; viaTree: boolean; port: number; wrongSender: boolean; seq: number; near: boolean };
        const legit = fc.record({ legit: fc.constant(true as const), viaTree: fc.boolean(), copy: fc.boolean() });
        const forged = fc.record({
          legit: fc.constant(false as const),
          viaTree: loopback ? fc.constant(false) : fc.boolean(),
          port: loopback ? fc.constant(1) : fc.constantFrom(2, 3, 4),
          wrongSender: loopback ? fc.constant(true) : fc.boolean(),
          seq: fc.integer({ min: 0, max: 0xffffffff }),
          near: fc.boolean(), // a sequence number the legitimate stream is about to use, or anything
        });
        await fc.assert(
          fc.asyncProperty(fc.array(fc.oneof(legit, forged) as fc.Arbitrary<Step>, { minLength: 1, maxLength: 12 }), async (steps) => {
            for (const st of steps) {
              if (st.legit) {
                const q = next++;
                const a = st.viaTree ? tree(1, q) : overlay(1, q);
                const r = await exchange(1, a);
                expect(atClient(r.out), `legit ${q}`).toEqual([payload(12, q)]);
                if (st.copy) expect(atClient((await exchange(1, st.viaTree ? overlay(1, q) : tree(1, q))).out)).toEqual([]);
              } else {
                const q = st.near ? next + (st.seq % 3) : st.seq;
                const f = st.viaTree ? tree(st.port, q) : overlay(st.port, q, 12, st.wrongSender ? "192.0.2.66" : INGRESS);
                expect((await exchange(st.port, f)).out.size, `forged ${JSON.stringify(st)}`).toBe(0);
              }
            }
          }),
          { numRuns: loopback ? 6 : 25 },
        );
      }, 240_000);
    });

    describe("random traffic (runs last: it disturbs counters and windows)", () => {
      const v4dst = ["10.2.0.9", "10.9.0.1", "10.9.0.2", "198.18.0.7", "232.1.1.8", "232.2.0.1", "192.0.2.100", "10.77.0.1"];
      const v6dst = ["2001:db8:2::5", "2001:db8:9::1", "64:ff9b::a02:a", "ff3e::1:e803:1", "2001:db8:64::1"];
      const l4Arb: fc.Arbitrary<PacketSpec["l4"]> = fc.oneof(
        fc.record({
          kind: fc.constant("udp" as const),
          udp: fc.record({ srcPort: fc.integer({ min: 0, max: 0xffff }), dstPort: fc.constantFrom(7000, 53, 49374, 5004, 9) }),
          payload: fc.uint8Array({ maxLength: 40 }),
        }),
        fc.record({
          kind: fc.constant("tcp" as const),
          tcp: fc.record({ srcPort: fc.integer({ min: 0, max: 0xffff }), dstPort: fc.constantFrom(7000, 80), seq: fc.nat() }),
          payload: fc.uint8Array({ maxLength: 40 }),
        }),
      );
      const packetArb: fc.Arbitrary<{ packet: PacketSpec; icmpType: number }> = fc.oneof(
        fc.record({
          packet: fc.record({
            ip: fc.record({
              version: fc.constant(4 as const),
              src: fc.constantFrom("10.1.0.1", "10.5.0.1", "192.0.2.9"),
              dst: fc.constantFrom(...v4dst),
              ttl: fc.integer({ min: 0, max: 3 }),
              ecn: fc.integer({ min: 0, max: 3 }),
              flags: fc.constantFrom(0, 2, 1),
              options: fc.constantFrom(new Uint8Array(0), Uint8Array.of(1, 1, 1, 0)),
            }),
            l4: l4Arb,
          }),
          icmpType: fc.constant(8),
        }),
        fc.record({
          packet: fc.record({
            ip: fc.record({
              version: fc.constant(6 as const),
              src: fc.constantFrom("2001:db8:1::5", "2001:db8:1::6", "64:ff9b::a01:1"),
              dst: fc.constantFrom(...v6dst),
              hopLimit: fc.integer({ min: 0, max: 3 }),
            }),
            l4: l4Arb,
          }),
          icmpType: fc.constant(128),
        }),
      );

      it("everything that comes out decodes and carries correct checksums; truncated input never comes out", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        await fc.assert(
          fc.asyncProperty(packetArb, fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }), async ({ packet }, cut) => {
            const whole = frame({ from: 1, packet });
            const input = cut === undefined ? whole : whole.subarray(0, Math.max(14, whole.length - cut));
            const { out } = await exchange(1, input);
            let n = 0;
            const seen: string[] = [];
            for (const frames of out.values()) {
              for (const f of frames) {
                n++;
                seen.push(bytesToHex(f));
                const d = decodeFrame(f);
                expect(checksumProblems(d)).toEqual([]);
              }
            }
            if (cut !== undefined) expect(n, `in ${bytesToHex(input)} out ${seen.join(" ")}`).toBe(0);
            expect(n).toBeLessThanOrEqual(2);
          }),
          { numRuns: loopback ? 60 : 200 },
        );
      }, 120_000);

      it("a wrong L4 checksum is never repaired: every copy that comes out is still wrong", async (ctx) => {
        if (!hasPorts()) ctx.skip();
        await fc.assert(
          fc.asyncProperty(packetArb, async ({ packet }) => {
            const whole = frame({ from: 1, packet });
            const payloadLength = packet.l4.kind === "udp" || packet.l4.kind === "tcp" ? (packet.l4.payload?.length ?? 0) : 0;
            fc.pre(payloadLength > 0);
            const input = Uint8Array.from(whole);
            input[input.length - 1] = (input[input.length - 1] ?? 0) ^ 0x01; // last payload byte
            const { out } = await exchange(1, input);
            for (const frames of out.values()) {
              for (const f of frames) {
                const d = decodeFrame(f);
                const fragment = d.ip?.version === 4 && ((d.ip.header.flags & 1) !== 0 || d.ip.header.fragmentOffset !== 0);
                if (fragment) continue;
                expect(checksumProblems(d).some((p) => p === "UDP checksum" || p === "TCP checksum")).toBe(true);
              }
            }
          }),
          { numRuns: loopback ? 40 : 150 },
        );
      }, 120_000);
    });
  });
}

