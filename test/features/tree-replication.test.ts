/**
 * tree-replication (p4/controls/tree_replication.p4): a p4cast tree copy is
 * replicated to the group's branches (outer TTL - 1, inner untouched); an
 * overlay copy for another router is routed by its outer header only.
 * Harness and targets: ./support/dataplane.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { buildFrame, bytesToHex, ipv4MulticastMac } from "../../src/packet/index.js";
import {
  dataplane,
  dataplaneKinds,
  DF,
  hostMac,
  installForwarding,
  installTreeReplication,
  swMac,
  text,
  udp4,
} from "./support/dataplane.js";

for (const kind of dataplaneKinds) {
  describe(`tree-replication (tree replication and overlay transit) on ${kind}`, () => {
    const h = dataplane(kind);
    const { hasPorts, exchange, only } = h;
    beforeAll(async () => {
      await installForwarding(h);
      await installTreeReplication(h);
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
}
