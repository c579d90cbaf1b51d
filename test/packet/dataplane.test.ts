/**
 * The p4cast data plane (p4/build/p4cast.json, compiled by p4c) end to end:
 * crafted frames in, exact frames (bytes and ports) out, for every feature
 * and for bad input. Targets: the embedded switch always (data ports are
 * virtual links to host ports); simple_switch_grpc has no data ports in the
 * shared harness, so its runs are reported as skipped here.
 *
 * Switch ports 1..4 face hosts h1..h4. The switch's MAC on port p is
 * 02:00:00:00:00:0p; host hp's MAC is 02:00:00:00:0p:01.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { P4RuntimeClient } from "../../src/client/client.js";
import { parseP4Info } from "../../src/client/p4info/load.js";
import type { EntityInput } from "../../src/client/entities/entity.js";
import type { DecodedPacketIn } from "../../src/client/entities/packet-io.js";
import { startTarget, targets, type TestTarget } from "../support/targets.js";
import {
  CPU_PORT,
  DedupWindow,
  HeartbeatType,
  IpProtocol,
  PuntReason,
  buildFrame,
  bytesToHex,
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
const hostMac = (p: number): string => `02:00:00:00:0${p}:01`;
const PORTS = [1, 2, 3, 4] as const;

/** Frames seen per port during one `exchange`. */
type Outputs = Map<number, Uint8Array[]>;

for (const kind of targets()) {
  describe(`p4cast data plane on ${kind}`, () => {
    let target: TestTarget;
    let c: P4RuntimeClient;
    const packetIns: DecodedPacketIn[] = [];

    beforeAll(async () => {
      target = await startTarget(kind, { ports: [...PORTS] });
      c = await P4RuntimeClient.connect({ address: target.address, deviceId: target.deviceId, electionId: 1n, reconnect: false });
      await c.setPipeline({ p4info, deviceConfig, cookie: 1n });
      c.on("packetIn", (p) => packetIns.push(p));
    });

    afterAll(async () => {
      c?.close();
      await target?.stop();
    });

    const hasPorts = (): boolean => target.hosts !== undefined;

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

    /** Sends `frame` into port `port`; returns what came out of every port and the packet-ins. */
    async function exchange(port: number, frame: Uint8Array, settleMs = 60): Promise<{ out: Outputs; ins: DecodedPacketIn[] }> {
      const hosts = target.hosts!;
      const before = new Map(PORTS.map((p) => [p, hosts.get(p)!.received.length]));
      const insBefore = packetIns.length;
      hosts.get(port)!.send(frame);
      await new Promise((r) => setTimeout(r, settleMs));
      const out: Outputs = new Map();
      for (const p of PORTS) {
        const got = hosts.get(p)!.received.slice(before.get(p));
        if (got.length) out.set(p, got);
      }
      return { out, ins: packetIns.slice(insBefore) };
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
          entry("ingress.l3.nexthop_exact", { nexthop_id: 2 }, "ingress.l3.forward_to_neighbor", { port: 2, src_mac: swMac(2), dst_mac: hostMac(2) }),
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
      const [e] = await c.readAll({ kind: "registerEntry", register: name, index });
      if (!e || e.kind !== "registerEntry") throw new Error(`no register ${name}[${index}]`);
      return e.value;
    }

    function mcastGroup(groupId: number, replicas: Array<[number, number]>): EntityInput {
      return { kind: "multicastGroup", groupId, replicas: replicas.map(([port, instance]) => ({ port, instance })) };
    }

    const DF = 0b010;
    const text = (s: string): Uint8Array => new TextEncoder().encode(s);

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
      });
    });

    describe("tree replication and overlay transit", () => {
      beforeAll(async () => {
        await insert(
          entry("ingress.tree.ipv4_mcast_exact", { group_addr: "232.1.1.8" }, "ingress.tree.replicate_to_group", { mcast_grp: 11 }),
          mcastGroup(11, [[2, 111], [4, 112]]),
          entry("egress.tree.mcast_replica_rid_exact", { egress_rid: 111 }, "egress.tree.rewrite_replica_src_mac", { src_mac: swMac(2) }),
          entry("egress.tree.mcast_replica_rid_exact", { egress_rid: 112 }, "egress.tree.rewrite_replica_src_mac", { src_mac: swMac(4) }),
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
          // A tree group at this last hop: one branch (port 2) and the session's client on port 3.
          entry("ingress.tree.ipv4_mcast_exact", { group_addr: "232.1.1.7" }, "ingress.tree.replicate_to_group", { mcast_grp: 21 }),
          mcastGroup(21, [[2, 211], [3, 201]]),
          entry("egress.tree.mcast_replica_rid_exact", { egress_rid: 211 }, "egress.tree.rewrite_replica_src_mac", { src_mac: swMac(2) }),
        );
      });

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
        const f = buildFrame({
          ethernet: { dst: swMac(1), src: hostMac(1) },
          encap: { outer: { src: "192.0.2.1", dst: LOOPBACK, ttl: 60, flags: DF }, shim: { sessionId: 7, sequence: 300, flags: 1 } },
          packet: udp4("10.1.0.1", "10.9.0.1", 7000, { ttl: 1 }),
        });
        expect((await exchange(1, f)).out.size).toBe(0);
      });
    });
  });
}

// Silence unused-import checks for helpers used by later sections.
void [DedupWindow, HeartbeatType, IpProtocol, PuntReason, echoRest, ipv4MulticastMac, CPU_PORT];
