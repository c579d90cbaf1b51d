/**
 * heartbeat (p4/controls/heartbeat.p4): requests reflected in the data
 * plane, responses consumed into registers and a counter or punted to the
 * controller. Harness and targets: ./support/dataplane.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { HeartbeatType, PuntReason, buildFrame, bytesToHex } from "../../src/packet/index.js";
import { ADDR, dataplane, dataplaneKinds, entry, hostMac, installForwarding, installHeartbeat, swMac } from "./support/dataplane.js";

for (const kind of dataplaneKinds) {
  describe(`heartbeat (heartbeats in the fast path) on ${kind}`, () => {
    const h = dataplane(kind);
    const { hasPorts, exchange, only, counter, register, insert, inPort } = h;
    beforeAll(async () => {
      await installForwarding(h);
      await installHeartbeat(h);
    });

    const ME = ADDR.HEARTBEAT;
    const hb = (
      from: number,
      src: string,
      dst: string,
      type: number,
      flags: number,
      sequence: number,
      reflectTimestamp = 0n,
      ttl = 5,
      macs?: { dst: string; src: string },
    ): Uint8Array =>
      buildFrame({
        ethernet: macs ?? { dst: swMac(from), src: hostMac(from) },
        packet: {
          ip: { version: 4, src, dst, ttl },
          l4: {
            kind: "heartbeat",
            heartbeat: { type, flags, originId: 0x1234, sequence, originTimestamp: 0x0102030405060708n, reflectTimestamp },
          },
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

    it("punts responses to the controller when heartbeat_mode_exact says so", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const modeTable = "ingress.heartbeat.heartbeat_mode_exact";
      const mode = entry(modeTable, { msg_type: HeartbeatType.RESPONSE }, "ingress.heartbeat.punt_heartbeat");
      await insert(mode);
      const sent = hb(2, "10.2.0.77", ME, HeartbeatType.RESPONSE, 0, 11);
      const { out, ins } = await exchange(2, sent);
      expect(out.size).toBe(0);
      expect(ins.length).toBe(1);
      expect(ins[0]!.metadata).toMatchObject({ ingress_port: inPort(2), reason: BigInt(PuntReason.HEARTBEAT), aux: 5n });
      expect(bytesToHex(ins[0]!.payload)).toBe(bytesToHex(sent));
      await h.c.delete({ kind: "tableEntry", table: modeTable, match: { msg_type: HeartbeatType.RESPONSE } });
      expect(await register("ingress.heartbeat.hb_count", 5)).toBe(2n);
    });
  });
}
