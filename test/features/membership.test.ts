/**
 * membership (p4/controls/membership.p4, with p4/controls/packet_io.p4):
 * IGMP and MLD reports are punted to the controller, queries are not;
 * packet-outs leave DIRECT or are routed. Harness and targets: ./support/dataplane.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  CPU_PORT,
  IpProtocol,
  PuntReason,
  buildIgmpV2,
  buildIgmpV3Report,
  buildMldV1,
  buildMldV2Report,
  bytesToHex,
  routerAlertOptions,
  decodeFrame,
  ipv4MulticastMac,
} from "../../src/packet/index.js";
import { dataplane, dataplaneKinds, frame, installForwarding, isMarker, udp4 } from "./support/dataplane.js";

for (const kind of dataplaneKinds) {
  describe(`membership (IGMP / MLD reports and packet-out) on ${kind}`, () => {
    const h = dataplane(kind);
    const { hasPorts, exchange, inPort, barrier } = h;
    beforeAll(() => installForwarding(h));

    it("punts IGMPv2 (with Router Alert option) and IGMPv3 reports; queries are not punted", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const igmp = (type: number, group: string, dst: string): Uint8Array =>
        frame({
          from: 1,
          dst: ipv4MulticastMac(dst),
          packet: {
            ip: { version: 4, src: "10.1.0.1", dst, ttl: 1, options: Uint8Array.of(0x94, 0x04, 0, 0) },
            l4: { kind: "raw", protocol: IpProtocol.IGMP, bytes: buildIgmpV2({ type, group }) },
          },
        });
      for (const f of [
        igmp(0x16, "239.1.2.3", "239.1.2.3"),
        igmp(0x17, "239.1.2.3", "224.0.0.2"),
        frame({
          from: 1,
          dst: ipv4MulticastMac("224.0.0.22"),
          packet: {
            ip: { version: 4, src: "10.1.0.1", dst: "224.0.0.22", ttl: 1 },
            l4: {
              kind: "raw",
              protocol: IpProtocol.IGMP,
              bytes: buildIgmpV3Report({ records: [{ recordType: 4, group: "232.1.1.1", sources: [] }] }),
            },
          },
        }),
      ]) {
        const { out, ins } = await exchange(1, f);
        expect(out.size).toBe(0);
        expect(ins.length).toBe(1);
        expect(ins[0]!.metadata).toMatchObject({ ingress_port: inPort(1), reason: BigInt(PuntReason.IGMP) });
        expect(bytesToHex(ins[0]!.payload)).toBe(bytesToHex(f));
      }
      const { ins } = await exchange(1, igmp(0x11, "0.0.0.0", "224.0.0.1"));
      expect(ins.length).toBe(0);
    });

    it("punts MLD reports behind a Hop-by-Hop header, not without one", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const ctx6 = { version: 6 as const, src: "fe80::1", dst: "ff02::16" };
      const report = buildMldV2Report({ records: [{ recordType: 4, multicastAddress: "ff3e::8000:1", sources: [] }] }, ctx6);
      const withHbh = frame({
        from: 3,
        dst: "33:33:00:00:00:16",
        packet: {
          ip: { ...ctx6, hopLimit: 1, hopByHopOptions: routerAlertOptions() },
          l4: { kind: "raw", protocol: IpProtocol.ICMPV6, bytes: report },
        },
      });
      const { ins } = await exchange(3, withHbh);
      expect(ins.length).toBe(1);
      expect(ins[0]!.metadata).toMatchObject({ ingress_port: inPort(3), reason: BigInt(PuntReason.MLD) });
      const v1 = buildMldV1({ type: 131, multicastAddress: "ff3e::8000:1" }, ctx6);
      const v1f = frame({
        from: 3,
        dst: "33:33:00:00:00:16",
        packet: {
          ip: { ...ctx6, hopLimit: 1, hopByHopOptions: routerAlertOptions() },
          l4: { kind: "raw", protocol: IpProtocol.ICMPV6, bytes: v1 },
        },
      });
      expect((await exchange(3, v1f)).ins.length).toBe(1);
      const noHbh = frame({
        from: 3,
        dst: "33:33:00:00:00:16",
        packet: { ip: { ...ctx6, hopLimit: 1 }, l4: { kind: "raw", protocol: IpProtocol.ICMPV6, bytes: report } },
      });
      expect((await exchange(3, noHbh)).ins.length).toBe(0);
    });

    it("packet-out DIRECT leaves unchanged through the given port; without DIRECT it is routed", async (ctx) => {
      if (h.loopback) {
        // DIRECT to the CPU port comes straight back, unchanged, as a packet-in.
        const f = frame({ from: 1, packet: udp4("10.1.0.1", "10.2.0.5", 1) });
        const before = h.packetIns.length;
        h.c.sendPacket({ payload: f, metadata: { egress_port: CPU_PORT, flags: 1 } });
        await barrier();
        expect(
          h.packetIns
            .slice(before)
            .filter((p) => !isMarker(p))
            .map((p) => bytesToHex(p.payload)),
        ).toEqual([bytesToHex(f)]);
        return;
      }
      if (!hasPorts()) ctx.skip();
      const hosts = h.target.hosts!;
      const f = frame({ from: 1, packet: udp4("10.1.0.1", "10.2.0.5", 1) });
      let before = hosts.get(3)!.received.length;
      h.c.sendPacket({ payload: f, metadata: { egress_port: 3, flags: 1 } });
      await hosts.get(3)!.waitFor(before + 1, 1000);
      expect(bytesToHex(hosts.get(3)!.received[before]!)).toBe(bytesToHex(f));
      before = hosts.get(2)!.received.length;
      h.c.sendPacket({ payload: f, metadata: { egress_port: 0, flags: 0 } });
      await hosts.get(2)!.waitFor(before + 1, 1000);
      const d = decodeFrame(hosts.get(2)!.received[before]!);
      expect(d.ip?.header).toMatchObject({ dst: "10.2.0.5", ttl: 63 });
    });
  });
}
