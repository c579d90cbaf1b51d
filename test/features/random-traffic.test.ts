/**
 * Random traffic through the whole program, with every feature's entries
 * installed: whatever comes out decodes and carries correct checksums,
 * truncated input never comes out, wrong L4 checksums are never repaired.
 * Harness and targets: ./support/dataplane.ts.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { bytesToHex, checksumProblems, decodeFrame } from "../../src/packet/index.js";
import type { PacketSpec } from "../../src/packet/index.js";
import {
  dataplane,
  dataplaneKinds,
  frame,
  installBurstMeter,
  installForwarding,
  installHeartbeat,
  installHeartbeatNeighbour,
  installLastHop,
  installMcastXlate,
  installNat64,
  installSessionEncap,
  installTreeReplication,
  installTrustedSessions,
} from "./support/dataplane.js";

for (const kind of dataplaneKinds) {
  describe(`random-traffic on ${kind}`, () => {
    const h = dataplane(kind);
    const { hasPorts, exchange } = h;
    beforeAll(async () => {
      await installForwarding(h);
      await installSessionEncap(h);
      await installTreeReplication(h);
      await installLastHop(h);
      await installTrustedSessions(h);
      await installHeartbeat(h);
      await installHeartbeatNeighbour(h);
      await installBurstMeter(h);
      await installNat64(h);
      await installMcastXlate(h);
    });

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
        { numRuns: h.loopback ? 60 : 200 },
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
        { numRuns: h.loopback ? 40 : 150 },
      );
    }, 120_000);
  });
}
