/**
 * lasthop-delivery (p4/controls/lasthop_delivery.p4): at a last hop an
 * accepted copy reaches the session's clients without its outer header and
 * shim, addressed to each client (IPv6 originals to IPv6 clients), while
 * tree branches get every tree copy; copies of unknown sessions and
 * originals that cannot be routed once more are dropped. Which copies are
 * accepted (the dedup window) is tested in overlay-dedup.test.ts.
 * Harness and targets: ./support/dataplane.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { buildFrame, bytesToHex, decodeFrame } from "../../src/packet/index.js";
import type { PacketSpec } from "../../src/packet/index.js";
import type { DecodedOf } from "../../src/client/entities/entity.js";
import type { MatchSpec } from "../../src/p4runtime/codec/match.js";
import {
  ADDR,
  CLIENT_SESSION,
  clientCount,
  dataplane,
  dataplaneKinds,
  DF,
  hostMac,
  installLastHop,
  lastHopCopy,
  lastHopDelivered,
  swMac,
  text,
  udp4,
} from "./support/dataplane.js";

for (const kind of dataplaneKinds) {
  describe(`lasthop-delivery (last-hop delivery) on ${kind}`, () => {
    const h = dataplane(kind);
    const { hasPorts, exchange, only, counter } = h;
    beforeAll(() => installLastHop(h));

    const LOOPBACK = ADDR.LASTHOP;
    const copy = lastHopCopy;
    const delivered = lastHopDelivered;

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
      const before = [await clientCount(h, 7, 201), await clientCount(h, 7, 202)];
      const f = buildFrame({
        ethernet: { dst: swMac(1), src: hostMac(1) },
        encap: { outer: { src: "192.0.2.1", dst: LOOPBACK, ttl: 60, flags: DF }, shim: { sessionId: 7, sequence: 300, flags: 1 } },
        packet: udp4("10.1.0.1", "10.9.0.1", 7000, { ttl: 1 }),
      });
      expect((await exchange(1, f)).out.size).toBe(0);
      // Not delivered, not counted.
      expect([await clientCount(h, 7, 201), await clientCount(h, 7, 202)]).toEqual(before);
    });

    it("counts every copy a client got, per session and client: the counters against what came out of their ports", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const sid7 = [await clientCount(h, 7, 201), await clientCount(h, 7, 202)];
      const sid10 = await clientCount(h, 10, 203);
      // Session 10's one IPv6 delivery (above); the IPv4 original its IPv6 client could not take was not counted.
      expect(sid10).toBe(1n);
      const base = Number(await h.register("ingress.dedup.dedup_highest", 7)) + 1;
      // Session 7: three new sequence numbers (both clients), one duplicate; session 9's client on port 4 (no counter entry).
      let port3 = 0;
      let port4 = 0;
      for (const [sid, q] of [
        [7, base],
        [7, base + 1],
        [7, base + 1],
        [9, 3],
        [7, base + 2],
      ] as const) {
        const { out } = await exchange(1, copy(LOOPBACK, sid, q, true));
        port3 += out.get(3)?.length ?? 0;
        if (sid === 7) port4 += out.get(4)?.length ?? 0;
      }
      expect([port3, port4]).toEqual([3, 3]);
      expect(await clientCount(h, 7, 201)).toBe(sid7[0]! + BigInt(port3));
      expect(await clientCount(h, 7, 202)).toBe(sid7[1]! + BigInt(port4));
      // The other session's client on the same port is not counted under session 7, nor is session 10's.
      expect(await clientCount(h, 10, 203)).toBe(sid10);
      // One wildcard read gives every entry's cell (what the controller reads), the same values.
      const all = (await h.c.readAll({
        kind: "directCounterEntry",
        entry: { table: CLIENT_SESSION },
      })) as DecodedOf<"directCounterEntry">[];
      const exact = (m: MatchSpec | undefined) => (m?.kind === "exact" ? m.value : "?");
      const cells = new Map(all.map((e) => [`${exact(e.entry.match.session_id)}/${exact(e.entry.match.egress_rid)}`, e.data.packets]));
      expect(cells).toEqual(
        new Map([
          ["7/201", await clientCount(h, 7, 201)],
          ["7/202", await clientCount(h, 7, 202)],
          ["10/203", sid10],
        ]),
      );
    });
  });
}
