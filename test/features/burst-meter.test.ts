/**
 * burst-meter (p4/controls/burst_meter.p4): a session's packets are metered;
 * yellow ones are marked (DSCP, ECN when ECT), red ones dropped.
 * Harness and targets: ./support/dataplane.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { buildFrame, checksumProblems, decodeFrame } from "../../src/packet/index.js";
import { dataplane, dataplaneKinds, hostMac, installBurstMeter, swMac } from "./support/dataplane.js";

for (const kind of dataplaneKinds) {
  describe(`burst-meter on ${kind}`, () => {
    const h = dataplane(kind);
    const { hasPorts, exchange, counter } = h;
    beforeAll(() => installBurstMeter(h));

    /** 100-byte frames (14 + 20 + 8 + 58); 102 bytes with a packet_out header. Bursts: 250 / 450 bytes. */
    const burstFrame = (dst: string, ecn: number): Uint8Array =>
      buildFrame({
        ethernet: { dst: swMac(1), src: hostMac(1) },
        packet: {
          ip: { version: 4, src: "10.1.0.1", dst, ecn },
          l4: { kind: "udp", udp: { srcPort: 1, dstPort: 7000 }, payload: new Uint8Array(58) },
        },
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
}
