/**
 * heartbeat (p4/controls/heartbeat.p4): requests reflected in the data
 * plane, responses consumed into registers and a counter or punted to the
 * controller. Harness and targets: ./support/dataplane.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  CPU_PORT,
  HeartbeatFlags,
  HeartbeatType,
  PuntReason,
  buildFrame,
  bytesToHex,
  checksumProblems,
  decodeFrame,
} from "../../src/packet/index.js";
import {
  ADDR,
  dataplane,
  dataplaneKinds,
  entry,
  hostMac,
  installForwarding,
  installHeartbeat,
  isMarker,
  swMac,
} from "./support/dataplane.js";

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

    /** A DIRECT packet-out to switch port `port`: what leaves it (loopback: what comes back from the CPU port). */
    async function direct(port: number, f: Uint8Array): Promise<Uint8Array> {
      if (h.loopback) {
        const before = h.packetIns.length;
        h.c.sendPacket({ payload: f, metadata: { egress_port: CPU_PORT, flags: 1 } });
        await h.barrier();
        const got = h.packetIns.slice(before).filter((p) => !isMarker(p));
        expect(got.length).toBe(1);
        return got[0]!.payload;
      }
      const host = h.target.hosts!.get(port)!;
      const before = host.received.length;
      h.c.sendPacket({ payload: f, metadata: { egress_port: port, flags: 1 } });
      await host.waitFor(before + 1, 2000);
      return host.received[before]!;
    }

    const heartbeatOf = (b: Uint8Array) => {
      const d = decodeFrame(b);
      expect(checksumProblems(d)).toEqual([]);
      return d.ip?.l4.kind === "udp" ? d.ip.l4.heartbeat : undefined;
    };

    it("STAMP: a DIRECT packet-out request leaves with the switch's time as origin, UDP checksum adjusted (0 stays 0)", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const macs = { dst: hostMac(2), src: swMac(2) };
      const request = (flags: number, originTimestamp: bigint, checksum?: number) =>
        buildFrame({
          ethernet: macs,
          packet: {
            ip: { version: 4, src: ME, dst: "10.2.0.77", ttl: 64 },
            l4: {
              kind: "heartbeat",
              heartbeat: { type: HeartbeatType.REQUEST, flags, originId: 7, sequence: 1000, originTimestamp },
              ...(checksum !== undefined ? { udp: { checksum } } : {}),
            },
          },
        });
      for (const checksum of [undefined, 0]) {
        const out = await direct(2, request(HeartbeatFlags.LINK | HeartbeatFlags.STAMP, 0x0102030405060708n, checksum));
        const got = heartbeatOf(out)!;
        expect(got).toMatchObject({ type: HeartbeatType.REQUEST, flags: 3, sequence: 1000, originId: 7, reflectTimestamp: 0n });
        // The switch's own ingress timestamp: 48 bits of microseconds since it started.
        expect(got.originTimestamp).toBeGreaterThan(0n);
        expect(got.originTimestamp).toBeLessThan(1n << 48n);
        expect(bytesToHex(out), `UDP checksum ${checksum ?? "computed"}`).toBe(bytesToHex(request(3, got.originTimestamp, checksum)));
      }
      // Without STAMP (the slow path's requests: the controller's own timestamp) it leaves unchanged.
      const plain = request(HeartbeatFlags.LINK, 0x0102030405060708n);
      expect(bytesToHex(await direct(2, plain))).toBe(bytesToHex(plain));
    });

    it("STAMP: a response's round trip in the switch's own clock goes to hb_rtt; without STAMP hb_rtt is left alone", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const t0 = performance.now();
      const stampedRequest = buildFrame({
        ethernet: { dst: hostMac(2), src: swMac(2) },
        packet: {
          ip: { version: 4, src: ME, dst: "10.2.0.77", ttl: 64 },
          l4: { kind: "heartbeat", heartbeat: { type: HeartbeatType.REQUEST, flags: 3, sequence: 2000 } },
        },
      });
      const stamped = heartbeatOf(await direct(2, stampedRequest))!;
      const count = await register("ingress.heartbeat.hb_count", 5);
      // The peer's response echoes the origin timestamp; it comes back a little later.
      await new Promise((r) => setTimeout(r, 30));
      const response = (flags: number, seq: number) =>
        buildFrame({
          ethernet: { dst: swMac(2), src: hostMac(2) },
          packet: {
            ip: { version: 4, src: "10.2.0.77", dst: ME, ttl: 64 },
            l4: {
              kind: "heartbeat",
              heartbeat: {
                type: HeartbeatType.RESPONSE,
                flags,
                originId: 7,
                sequence: seq,
                originTimestamp: stamped.originTimestamp,
                reflectTimestamp: 5n,
              },
            },
          },
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
      console.log(`[heartbeat ${kind}] hb_rtt after a 30 ms wait: ${rtt} us (wall clock ${elapsedUs} us)`);
    });

    it("punts responses to the controller when heartbeat_mode_exact says so", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const modeTable = "ingress.heartbeat.heartbeat_mode_exact";
      const mode = entry(modeTable, { msg_type: HeartbeatType.RESPONSE }, "ingress.heartbeat.punt_heartbeat");
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
      await h.c.delete({ kind: "tableEntry", table: modeTable, match: { msg_type: HeartbeatType.RESPONSE } });
      expect(await register("ingress.heartbeat.hb_count", 5)).toBe(count);
      expect(await register("ingress.heartbeat.hb_rtt", 5)).toBe(rtt);
    });
  });
}
