/**
 * Our own v1model program (p4/features.p4) compiled by the real p4c-bm2-ss:
 * hashes, counters, registers, meters, direct meters, selectors, clone,
 * multicast, resubmit/recirculate with field lists, digests, varbit, stacks.
 * Skipped when p4c-bm2-ss is not installed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { loadEngine, type DigestMessage, type Engine } from "../../src/switch/engine/index.js";
import { csum16, hashAlgo } from "../../src/switch/engine/hashes.js";
import { NEED_P4C, compileP4 } from "./toolchain.js";
import { describeWith } from "../support/skips.js";

const SRC = readFileSync(join(import.meta.dirname, "p4", "features.p4"), "utf8");

const REP_LEN = 2 + 4 + 2 + 2 + 4 + 1 + 1 + 4 + 1 + 1 + 2 + 2 + 1 + 1 + 2;
function rep(d: Uint8Array) {
  const dv = new DataView(d.buffer, d.byteOffset, d.length);
  return {
    crc16: dv.getUint16(0),
    crc32: dv.getUint32(2),
    csum: dv.getUint16(6),
    xor16: dv.getUint16(8),
    ident: dv.getUint32(10),
    color: d[14],
    dcolor: d[15],
    reg: dv.getUint32(16),
    sel: d[20],
    itype: d[21],
    rid: dv.getUint16(22),
    plen: dv.getUint16(24),
    optlen: d[26],
    perr: d[27],
    iport: dv.getUint16(28),
  };
}

function frame(etype: number, extra: number[] = [], src = 0x0000aabbccddn): Uint8Array {
  const p = [0x02, 0, 0, 0, 0, 1];
  for (let i = 5; i >= 0; i--) p.push(Number((src >> BigInt(8 * i)) & 0xffn));
  p.push(etype >> 8, etype & 0xff, ...extra);
  while (p.length < 40) p.push(p.length);
  return Uint8Array.from(p);
}

const act = (action: string, ...args: number[]) => ({ kind: "action" as const, call: { action, args: args.map(BigInt) } });

describeWith("features.p4 compiled by p4c-bm2-ss", [NEED_P4C], () => {
  const json = compileP4(SRC, "features");
  const now = 1_000_000n;
  const mk = (): Engine => {
    const e = loadEngine(json, { clock: () => now });
    const add = (etype: number, a: ReturnType<typeof act>) =>
      e.addEntry("I.fwd", { key: [{ kind: "exact", value: BigInt(etype) }], priority: 0, action: a });
    add(0x0800, act("I.set_port", 2));
    add(0x0801, act("I.do_mcast", 9));
    add(0x0802, act("I.do_clone", 4, 3));
    add(0x0803, act("I.do_resubmit"));
    add(0x0804, act("I.do_recirc", 2));
    add(0x0805, act("I.do_digest", 1));
    add(0x88b5, act("I.set_port", 2));
    add(0x88b6, act("I.set_port", 2));
    return e;
  };

  it("unicast: hashes over the field list, registers, counters, standard metadata", () => {
    const e = mk();
    const pkt = frame(0x0800);
    const out = e.process(7, pkt);
    expect(out.map((o) => o.port)).toEqual([2]);
    const r = rep(out[0]!.data);
    const input = Uint8Array.from([0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
    expect(r.crc16).toBe(hashAlgo("crc16").compute(input, 8));
    expect(r.crc32).toBe(hashAlgo("crc32").compute(input, 8));
    expect(r.csum).toBe(csum16(input, 8));
    expect(r.xor16).toBe(hashAlgo("xor16").compute(input, 8));
    expect(r.ident).toBe(0x0800);
    expect(r).toMatchObject({ color: 0, dcolor: 0, reg: 0, itype: 0, rid: 0, plen: pkt.length, optlen: 255, perr: 0, iport: 7 });
    expect([...out[0]!.data.subarray(REP_LEN)]).toEqual([...pkt]);
    expect(rep(e.process(7, pkt)[0]!.data).reg).toBe(1);
    expect(e.readCounter("I.c", 7)).toEqual({ packets: 2n, bytes: BigInt(2 * pkt.length) });
    expect(e.readRegister("I.r", 7)).toBe(2n);
  });

  it("multicast, clone, resubmit and recirculate", () => {
    const e = mk();
    e.setMulticastGroup(9, [
      { port: 3, rid: 1 },
      { port: 1, rid: 1 },
      { port: 2, rid: 7 },
    ]);
    const m = e.process(0, frame(0x0801));
    expect(m.map((o) => [o.port, rep(o.data).rid, rep(o.data).itype])).toEqual([
      [1, 1, 5],
      [3, 1, 5],
      [2, 7, 5],
    ]);
    e.setCloneSession(4, { replicas: [{ port: 8, rid: 0 }], truncateBytes: 0 });
    const c = e.process(5, frame(0x0802));
    expect(c.map((o) => [o.port, rep(o.data).itype, rep(o.data).iport])).toEqual([
      [8, 1, 0],
      [3, 0, 5],
    ]);
    const rs = e.process(5, frame(0x0803));
    expect(rs.map((o) => [o.port, rep(o.data).itype])).toEqual([[5, 0]]);
    const rc = e.process(5, frame(0x0804));
    expect(rc.map((o) => [o.port, rep(o.data).itype])).toEqual([[6, 0]]);
  });

  it("digests carry the learn list", () => {
    const e = mk();
    const got: DigestMessage[] = [];
    e.onDigest((d) => got.push(d));
    e.process(3, frame(0x0805, [], 0x0000deadbeefn));
    expect(got).toHaveLength(1);
    expect(got[0]!.values).toEqual([0xdeadbeefn, 3n]);
  });

  it("varbit extraction with lookahead, HeaderTooShort, header stacks with pop_front", () => {
    const e = mk();
    const ok = e.process(0, frame(0x88b5, [3, 0xa, 0xb, 0xc]));
    expect(rep(ok[0]!.data)).toMatchObject({ optlen: 3, perr: 0 });
    expect([...ok[0]!.data.subarray(REP_LEN + 14, REP_LEN + 18)]).toEqual([3, 0xa, 0xb, 0xc]);
    const bad = e.process(0, frame(0x88b5, [10, 1, 2]));
    expect(rep(bad[0]!.data)).toMatchObject({ optlen: 255, perr: 1 });
    const t = e.process(0, frame(0x88b6, [5, 7, 0, 0xee]));
    expect([...t[0]!.data.subarray(REP_LEN + 14, REP_LEN + 17)]).toEqual([7, 0, 0xee]);
  });

  it("a packet's arrival time, when given, is its time for meters; time never runs back", () => {
    const e = mk();
    // 1,000 packets/s committed (one token per ms), a one-packet burst; the peak never limits.
    e.setMeter("I.mt", 0, { cir: 1000n, cburst: 1n, pir: 1_000_000n, pburst: 1000n });
    const colour = (arrivedUs?: number) => rep(e.process(0, frame(0x0800), arrivedUs)[0]!.data).color;
    const t = Number(now);
    // The clock stands still at t: a packet that arrived 1 ms later finds a token; one stamped earlier
    // than that, and one with no stamp (the clock, t), are metered at t + 1 ms, not before.
    expect([colour(t), colour(t), colour(t + 1000), colour(t + 500), colour()]).toEqual([0, 1, 0, 1, 1]);
    expect([colour(t + 2999), colour(t + 3000)]).toEqual([0, 0]);
  });

  it("meters and direct meters colour packets; selectors pick by hash", () => {
    const e = mk();
    e.setMeter("I.mt", 0, { cir: 0n, cburst: 1n, pir: 0n, pburst: 2n });
    const h = e.findEntry("I.fwd", [{ kind: "exact", value: 0x0800n }], 0)!;
    e.setDirectMeter("I.fwd", h, { cir: 0n, cburst: 0n, pir: 0n, pburst: 1n });
    const cols = [0, 1, 2].map(() => rep(e.process(0, frame(0x0800))[0]!.data));
    expect(cols.map((r) => [r.color, r.dcolor])).toEqual([
      [0, 1],
      [1, 2],
      [2, 2],
    ]);
    for (let i = 1; i <= 4; i++) e.addMember("I.as", i, { action: "I.pick", args: [BigInt(10 * i)] });
    e.setGroup(
      "I.as",
      1,
      [1, 2, 3, 4].map((member) => ({ member, weight: 1 })),
    );
    e.addEntry("I.sel_t", { key: [{ kind: "exact", value: 0x0800n }], priority: 0, action: { kind: "group", group: 1 } });
    for (let s = 0; s < 8; s++) {
      const src = 0x000011110000n + BigInt(s);
      const r = rep(e.process(0, frame(0x0800, [], src))[0]!.data);
      const b = new Uint8Array(6);
      for (let i = 0; i < 6; i++) b[i] = Number((src >> BigInt(8 * (5 - i))) & 0xffn);
      expect(r.sel).toBe(10 * (((hashAlgo("crc16").compute(b, 6) as number) % 4) + 1));
    }
  });
});
