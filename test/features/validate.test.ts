/**
 * validate (p4/controls/validate.p4): malformed packets (unknown shim
 * version, lengths beyond the frame) are dropped and counted under their
 * drop reasons before any table sees them; protocol 253 with IPv4 options is
 * plain IP. Harness and targets: ./support/dataplane.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { buildFrame, bytesToHex } from "../../src/packet/index.js";
import { dataplane, dataplaneKinds, DF, frame, hostMac, installForwarding, swMac, udp4 } from "./support/dataplane.js";

for (const kind of dataplaneKinds) {
  describe(`validate (malformed p4cast packets and drop reasons) on ${kind}`, () => {
    const h = dataplane(kind);
    const { hasPorts, exchange, only, drops } = h;
    beforeAll(() => installForwarding(h));

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
}
