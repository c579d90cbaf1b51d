/**
 * trust (p4/controls/trust.p4): p4cast copies and heartbeats are accepted
 * only from the installed neighbour on its port; forged ones are dropped and
 * counted and never touch the dedup window or the heartbeat registers. The
 * window's own out-of-window handling and resync are in overlay-dedup.test.ts.
 * Harness and targets: ./support/dataplane.ts.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { HeartbeatType, buildFrame } from "../../src/packet/index.js";
import {
  ADDR,
  dataplane,
  dataplaneKinds,
  DROP,
  hostMac,
  installForwarding,
  installHeartbeatNeighbour,
  installTrustedSessions,
  swMac,
  trusted,
} from "./support/dataplane.js";

for (const kind of dataplaneKinds) {
  describe(`trust (neighbour trust) on ${kind}`, () => {
    const h = dataplane(kind);
    const { hasPorts, exchange, register, drops } = h;
    beforeAll(async () => {
      await installForwarding(h);
      await installTrustedSessions(h);
      await installHeartbeatNeighbour(h);
    });

    const { INGRESS } = ADDR;
    const { payload, shim, tree, overlay, atClient } = trusted;

    const forgedTitle =
      "a forged shim packet from a client's access port is dropped and counted, and does not touch the window: " +
      "the next real packets all arrive";
    it(forgedTitle, async (ctx) => {
      if (h.loopback) ctx.skip("CPU-port loopback: every frame enters on the CPU port, ports cannot be told apart");
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
      if (!h.loopback) {
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
      const ME = ADDR.TRUSTED_LASTHOP;
      const hb = (from: number, src: string, type: number, sequence: number): Uint8Array =>
        buildFrame({
          ethernet: { dst: swMac(from), src: hostMac(from) },
          packet: {
            ip: { version: 4, src, dst: ME, ttl: 64 },
            l4: { kind: "heartbeat", heartbeat: { type, flags: 1, originId: 1, sequence, reflectTimestamp: 5n } },
          },
        });
      const untrusted = await drops(DROP.UNTRUSTED_HEARTBEAT);
      expect((await exchange(3, hb(3, "10.3.0.33", HeartbeatType.RESPONSE, 1))).out.size).toBe(0);
      expect(await register("ingress.heartbeat.hb_count", 6)).toBe(1n);
      let expected = untrusted;
      // Not a neighbour's address.
      expect((await exchange(3, hb(3, "10.3.0.34", HeartbeatType.RESPONSE, 2))).out.size).toBe(0);
      expect((await exchange(3, hb(3, "10.3.0.34", HeartbeatType.REQUEST, 3))).out.size).toBe(0);
      expected += 2n;
      if (!h.loopback) {
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

    it("random interleavings of legitimate and forged packets never lose (or repeat) a legitimate in-order packet", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      let next = Number(await register("ingress.dedup.dedup_highest", 12)) + 1;
      type Step =
        | { legit: true; viaTree: boolean; copy: boolean }
        | { legit: false; viaTree: boolean; port: number; wrongSender: boolean; seq: number; near: boolean };
      const legit = fc.record({ legit: fc.constant(true as const), viaTree: fc.boolean(), copy: fc.boolean() });
      const forged = fc.record({
        legit: fc.constant(false as const),
        viaTree: h.loopback ? fc.constant(false) : fc.boolean(),
        port: h.loopback ? fc.constant(1) : fc.constantFrom(2, 3, 4),
        wrongSender: h.loopback ? fc.constant(true) : fc.boolean(),
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
        { numRuns: h.loopback ? 6 : 25 },
      );
    }, 240_000);
  });
}
