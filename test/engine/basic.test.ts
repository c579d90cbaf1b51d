import { describe, expect, it } from "vitest";
import { loadPipeline } from "../../src/switch/engine/index.js";
import { basicProgram, ipChecksum, ipv4Packet } from "./fixtures.js";

describe("basic IPv4 forwarding (hand-written p4c-shaped JSON)", () => {
  it("forwards by longest prefix, rewrites MACs, decrements TTL, fixes the checksum", () => {
    const e = loadPipeline(basicProgram(), { clock: () => 1000n });
    e.addEntry("MyIngress.ipv4_lpm", {
      key: [{ kind: "lpm", value: 0x0a000100n, prefixLength: 24 }],
      priority: 0,
      action: { kind: "action", call: { action: "MyIngress.ipv4_forward", args: [0x0000000001ffn, 3n] } },
    });
    e.addEntry("MyIngress.ipv4_lpm", {
      key: [{ kind: "lpm", value: 0x0a000000n, prefixLength: 8 }],
      priority: 0,
      action: { kind: "action", call: { action: "MyIngress.ipv4_forward", args: [0x0000000002ffn, 4n] } },
    });
    const pkt = ipv4Packet({ dst: 0x0a000102, ttl: 64 });
    const out = e.process(1, pkt);
    expect(out).toHaveLength(1);
    expect(out[0]!.port).toBe(3);
    const o = out[0]!.data;
    expect(o.length).toBe(pkt.length);
    expect(Buffer.from(o.subarray(0, 6)).toString("hex")).toBe("0000000001ff");
    expect(Buffer.from(o.subarray(6, 12)).toString("hex")).toBe("001122334455");
    expect(o[22]).toBe(63);
    expect((o[24]! << 8) | o[25]!).toBe(ipChecksum(o.subarray(14, 34)));
    expect(Buffer.from(o.subarray(34))).toEqual(Buffer.from(pkt.subarray(34)));

    const out2 = e.process(1, ipv4Packet({ dst: 0x0a050505 }));
    expect(out2.map((x) => x.port)).toEqual([4]);
    // miss: default action drop
    expect(e.process(1, ipv4Packet({ dst: 0x0b000001 }))).toEqual([]);
  });

  it("passes non-IPv4 frames through the (miss-free) path: egress_spec 0", () => {
    const e = loadPipeline(basicProgram());
    const arp = new Uint8Array(42);
    arp[12] = 0x08;
    arp[13] = 0x06;
    const out = e.process(2, arp);
    expect(out).toEqual([{ port: 0, data: arp }]);
  });
});
