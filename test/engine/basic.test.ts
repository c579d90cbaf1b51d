import { describe, expect, it } from "vitest";
import { loadEngine } from "../../src/switch/engine/index.js";
import { basicProgram, ipChecksum, ipv4Packet } from "./fixtures.js";

describe("basic IPv4 forwarding (hand-written p4c-shaped JSON)", () => {
  it("forwards by longest prefix, rewrites MACs, decrements TTL, fixes the checksum", () => {
    const e = loadEngine(basicProgram(), { clock: () => 1000n });
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
    const e = loadEngine(basicProgram());
    const arp = new Uint8Array(42);
    arp[12] = 0x08;
    arp[13] = 0x06;
    const out = e.process(2, arp);
    expect(out).toEqual([{ port: 0, data: arp }]);
  });
});

describe("bigger program (bench): ACL, QoS, UDP checksum over the payload", () => {
  it("updates the UDP checksum with the pseudo-header and payload", async () => {
    const { biggerWorkload } = await import("../../bench/switch.js");
    const w = biggerWorkload();
    const e = loadEngine(w.json);
    w.setup(e);
    const pkt = ipv4Packet({ dst: 0x0a000301, src: 0x01020304, payload: 27, proto: 17 });
    // UDP header inside the payload: ports 1000 -> 2000, length 27
    const dv = new DataView(pkt.buffer);
    dv.setUint16(34, 1000);
    dv.setUint16(36, 2000);
    dv.setUint16(38, 27);
    dv.setUint16(40, 0);
    const out = e.process(1, pkt);
    expect(out.map((o) => o.port)).toEqual([4]);
    const o = out[0]!.data;
    expect(o[15]).toBe(0x20); // QoS set_dscp
    expect(Buffer.from(o.subarray(6, 12)).toString("hex")).toBe("00000000aa04"); // egress rewrite
    // reference UDP checksum
    let s = 0;
    const add16 = (v: number) => (s += v);
    add16(0x0102);
    add16(0x0304);
    add16(0x0a00);
    add16(0x0301);
    add16(17);
    add16(27);
    for (let i = 34; i < 34 + 27; i += 2) add16(i === 40 ? 0 : (o[i]! << 8) | (i + 1 < 34 + 27 ? o[i + 1]! : 0));
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    expect((o[40]! << 8) | o[41]!).toBe(~s & 0xffff);
  });
});
