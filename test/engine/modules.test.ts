/** Unit tests of the engine's building blocks. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadEngine } from "../../src/switch/engine/index.js";
import {
  readBitsBig,
  readBitsNum,
  writeBitsBig,
  writeBitsNum,
  wrapS,
  wrapU,
  and53,
  or53,
  xor53,
  parseHex,
} from "../../src/switch/engine/bits.js";
import { Meter, MeterArray } from "../../src/switch/engine/meters.js";
import { Pre } from "../../src/switch/engine/pre.js";
import { ValueSet } from "../../src/switch/engine/value-sets.js";
import { CounterArray } from "../../src/switch/engine/counters.js";
import { RegisterArray } from "../../src/switch/engine/registers.js";
import { ActionProfile } from "../../src/switch/engine/action-profiles.js";
import { PortStatus } from "../../src/switch/engine/port-status.js";
import { formatLog } from "../../src/switch/engine/program.js";
import { type J, headerType, program } from "./fixtures.js";

describe("bits", () => {
  it("reads back what it writes, at any offset and width", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 100 }),
        fc.bigInt({ min: 0n, max: (1n << 100n) - 1n }),
        (off, w, v0) => {
          const v = BigInt.asUintN(w, v0);
          const buf = new Uint8Array(32);
          writeBitsBig(buf, off, w, v);
          expect(readBitsBig(buf, off, w)).toBe(v);
          if (w <= 48) {
            const b2 = new Uint8Array(32);
            writeBitsNum(b2, off, w, Number(v));
            expect([...b2]).toEqual([...buf]);
            expect(readBitsNum(buf, off, w)).toBe(Number(v));
          }
        },
      ),
    );
  });
  it("two's complement and 53-bit bitwise helpers", () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 52), max: 2 ** 52 }), fc.integer({ min: 2, max: 48 }), (v, w) => {
        expect(wrapU(v, w)).toBe(Number(BigInt.asUintN(w, BigInt(v))));
        expect(wrapS(v, w)).toBe(Number(BigInt.asIntN(w, BigInt(v))));
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 53 - 1 }), fc.integer({ min: 0, max: 2 ** 53 - 1 }), (a, b) => {
        expect(and53(a, b)).toBe(Number(BigInt(a) & BigInt(b)));
        expect(or53(a, b)).toBe(Number(BigInt(a) | BigInt(b)));
        expect(xor53(a, b)).toBe(Number(BigInt(a) ^ BigInt(b)));
      }),
    );
    expect(parseHex("-0x10")).toBe(-16n);
    expect(parseHex("0xABcd")).toBe(0xabcdn);
    expect(() => parseHex("0xg")).toThrow(/hexstr/);
  });
});

describe("header extract/emit", () => {
  it("deparse(parse(bytes)) is the identity for random header layouts", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ w: fc.integer({ min: 1, max: 80 }), signed: fc.boolean() }), { minLength: 1, maxLength: 8 }),
        fc.uint8Array({ minLength: 0, maxLength: 40 }),
        (fields, tail) => {
          const fs: J[] = fields.map((x, i) => [`f${i}`, Math.max(x.w, x.signed ? 2 : 1), x.signed]);
          const bits = fs.reduce((a, f) => a + (f[1] as number), 0);
          if (bits % 8) fs.push(["pad", 8 - (bits % 8), false]);
          const nbytes = fs.reduce((a, f) => a + (f[1] as number), 0) / 8;
          const j = program({
            headerTypes: [headerType("h_t", 2, fs)],
            headers: [{ name: "h", id: 2, header_type: "h_t", metadata: false }],
            parser: {
              name: "parser",
              id: 0,
              init_state: "s",
              parse_states: [
                {
                  name: "s",
                  id: 0,
                  parser_ops: [{ op: "extract", parameters: [{ type: "regular", value: "h" }] }],
                  transition_key: [],
                  transitions: [{ type: "default", value: null, mask: null, next_state: null }],
                },
              ],
            },
            deparserOrder: ["h"],
          });
          const e = loadEngine(j);
          const pkt = new Uint8Array(nbytes + tail.length);
          for (let i = 0; i < pkt.length; i++) pkt[i] = (i * 37 + 11 + (tail[i % Math.max(1, tail.length)] ?? 0)) & 0xff;
          const out = e.process(0, pkt);
          expect([...out[0]!.data]).toEqual([...pkt]);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("meters", () => {
  it("BMv2 token buckets: rates per microsecond, peak first, buckets start full", () => {
    const m = new Meter();
    expect(m.execute(0, 1)).toBe(0); // unconfigured: green
    m.set({ cir: 1000n, cburst: 1500n, pir: 2000n, pburst: 3000n }); // bytes/s
    expect(m.execute(0, 1000)).toBe(0);
    expect(m.execute(0, 1000)).toBe(1); // committed has 500 left
    expect(m.execute(0, 1000)).toBe(1); // peak 1000 -> 0, committed still short
    expect(m.execute(0, 1000)).toBe(2); // peak empty
  });
  it("refills at the configured rate", () => {
    const m = new Meter();
    m.set({ cir: 1_000_000n, cburst: 10n, pir: 2_000_000n, pburst: 10n }); // 1 and 2 units per µs
    for (let i = 0; i < 10; i++) expect(m.execute(0, 1)).toBe(0);
    expect(m.execute(0, 1)).toBe(2);
    expect(m.execute(3, 1)).toBe(0); // +3 committed, +6 peak tokens
    expect(() => new Meter().set({ cir: 2n, cburst: 1n, pir: 1n, pburst: 1n })).toThrow(/committed rate/);
    const arr = new MeterArray("m", 2, true);
    expect(() => arr.check(2)).toThrow(/out of range/);
  });
});

describe("PRE", () => {
  it("orders replicas by replication id node, ports ascending", () => {
    const p = new Pre();
    p.setGroup(1, [
      { port: 5, rid: 2 },
      { port: 3, rid: 1 },
      { port: 1, rid: 2 },
      { port: 3, rid: 1 },
    ]);
    expect(p.groups.get(1)!.order).toEqual([
      { port: 1, rid: 2 },
      { port: 5, rid: 2 },
      { port: 3, rid: 1 },
    ]);
    expect(() => p.setGroup(0, [])).toThrow(/out of range/);
    expect(() => p.deleteGroup(7)).toThrow(/no multicast group/);
  });
});

describe("value sets, counters, registers, action profiles, log formatting", () => {
  it("value sets match under member and transition masks", () => {
    const vs = new ValueSet("v", 16, 2);
    vs.setWidths([16]);
    vs.set([[{ value: 0x1200n, mask: 0xff00n }]]);
    expect(vs.match([0x12ab], undefined)).toBe(true);
    expect(vs.match([0x13ab], undefined)).toBe(false);
    expect(vs.match([0x13ab], [0x0e00n])).toBe(true);
    expect(() => vs.set([[{ value: 1n << 16n, mask: 0n }]])).toThrow(/wider/);
    expect(() => vs.set([[], [], []])).toThrow(/at most/);
  });
  it("counters count ingress bytes; registers hold their width", () => {
    const c = new CounterArray("c", 2);
    c.count(1, 100);
    c.count(5, 100); // ignored like BMv2
    expect(c.read(1)).toEqual({ packets: 1n, bytes: 100n });
    const r = new RegisterArray("r", 2, 64);
    r.write(1, (1n << 64n) - 1n);
    expect(r.read(1)).toBe((1n << 64n) - 1n);
    expect(() => r.write(0, 1n << 64n)).toThrow(/wider/);
  });
  it("action profile members get BMv2-style handles; groups are ordered by handle", () => {
    const p = new ActionProfile("p", 8, true, new PortStatus());
    const a = { idx: 0, id: 0, name: "a", info: { name: "a", params: [{ name: "x", bitwidth: 8 }] }, fn: () => {} };
    p.actions.set("a", a);
    p.addMember(10, { action: "a", args: [1n] });
    p.addMember(20, { action: "a", args: [2n] });
    p.deleteMember(10);
    p.addMember(30, { action: "a", args: [3n] }); // reuses handle 0
    p.setGroup(1, [
      { member: 20, weight: 1 },
      { member: 30, weight: 2 },
    ]);
    let h = 0;
    p.selector = () => h;
    const pick = () => p.select({ kind: "group", group: 1 })!.args[0];
    const pickWith = (x: number) => {
      h = x;
      return pick();
    };
    expect([0, 1, 2].map(pickWith)).toEqual([3, 3, 2]);
    expect(() => p.addMember(20, { action: "a", args: [1n] })).toThrow(/exists/);
    expect(() => p.addMember(40, { action: "a", args: [256n] })).toThrow(/does not fit/);
  });
  it("selectors leave out members whose watch port is down and hash over the rest, in handle order", () => {
    const ports = new PortStatus();
    const p = new ActionProfile("p", 8, true, ports);
    p.actions.set("a", { idx: 0, id: 0, name: "a", info: { name: "a", params: [{ name: "x", bitwidth: 8 }] }, fn: () => {} });
    for (const m of [1, 2, 3]) p.addMember(m, { action: "a", args: [BigInt(m)] });
    p.setGroup(7, [
      { member: 3, weight: 1, watchPort: 13 },
      { member: 1, weight: 2, watchPort: 11 },
      { member: 2, weight: 1 },
    ]);
    let h = 0;
    p.selector = () => h;
    const picks = (n: number) =>
      Array.from({ length: n }, (_, i) => {
        h = i;
        return p.select({ kind: "group", group: 7 })?.args[0];
      });
    expect(picks(4)).toEqual([1, 1, 2, 3]);
    ports.set(11, false);
    expect(picks(4)).toEqual([2, 3, 2, 3]);
    ports.set(13, false);
    expect(picks(2)).toEqual([2, 2]);
    p.setGroup(7, [{ member: 3, weight: 1, watchPort: 13 }]);
    expect(picks(2)).toEqual([undefined, undefined]); // every member left out: no action, like an empty group
    ports.set(13, true);
    expect(picks(1)).toEqual([3]);
    expect(p.getGroup(7)).toEqual([{ member: 3, weight: 1, watchPort: 13 }]);
    expect(() => p.setGroup(8, [{ member: 1, weight: 1, watchPort: -1 }])).toThrow(/bad watch port/);
  });
  it("formats log_msg like BMv2", () => {
    expect(formatLog("a={} b={}", [1, 2n])).toBe("a=1 b=2");
    expect(formatLog("x \\{} {}", [7])).toBe("x {} 7");
  });
});

describe("calculations", () => {
  it("pack their inputs bit by bit like BMv2's BufBuilder (fast and generic paths)", async () => {
    const { hashAlgo } = await import("../../src/switch/engine/hashes.js");
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 70 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 20 }),
        fc.bigInt({ min: 0n, max: (1n << 20n) - 1n }),
        fc.boolean(),
        fc.constantFrom("crc32", "csum16", "crc16"),
        (widths, cw, cv0, valid, algo) => {
          const fs: J[] = widths.map((w, i) => [`f${i}`, w, false]);
          const bits = widths.reduce((a, b) => a + b, 0);
          if (bits % 8) fs.push(["pad", 8 - (bits % 8), false]);
          const cv = BigInt.asUintN(cw, cv0);
          const inputs: J[] = [
            ...widths.map((_, i) => ({ type: "field", value: ["h", `f${i}`] })),
            { type: "hexstr", value: `0x${cv.toString(16)}`, bitwidth: cw },
          ];
          const j = program({
            headerTypes: [headerType("h_t", 2, fs), headerType("o_t", 3, [["v", 32, false]])],
            headers: [
              { name: "h", id: 2, header_type: "h_t", metadata: false },
              { name: "o", id: 3, header_type: "o_t", metadata: false },
            ],
            parser: {
              name: "parser",
              id: 0,
              init_state: "s",
              parse_states: [
                {
                  name: "s",
                  id: 0,
                  parser_ops: valid ? [{ op: "extract", parameters: [{ type: "regular", value: "h" }] }] : [],
                  transition_key: [],
                  transitions: [{ type: "default", value: null, mask: null, next_state: null }],
                },
              ],
            },
            deparserOrder: ["o"],
            calculations: [{ name: "c", id: 0, algo, input: inputs }],
            actions: [
              {
                name: "a",
                id: 0,
                runtime_data: [],
                primitives: [
                  { op: "add_header", parameters: [{ type: "header", value: "o" }] },
                  {
                    op: "modify_field_with_hash_based_offset",
                    parameters: [
                      { type: "field", value: ["o", "v"] },
                      { type: "hexstr", value: "0x0" },
                      { type: "calculation", value: "c" },
                      { type: "hexstr", value: "0x100000000" },
                    ],
                  },
                ],
              },
            ],
            ingress: {
              name: "ingress",
              id: 0,
              init_table: "t",
              tables: [
                {
                  name: "t",
                  id: 0,
                  key: [],
                  match_type: "exact",
                  type: "simple",
                  max_size: 1,
                  with_counters: false,
                  support_timeout: false,
                  direct_meters: null,
                  action_ids: [0],
                  actions: ["a"],
                  base_default_next: null,
                  next_tables: { a: null },
                  default_entry: { action_id: 0, action_const: true, action_data: [], action_entry_const: true },
                },
              ],
              action_profiles: [],
              conditionals: [],
            },
          });
          const nbytes = (bits + ((8 - (bits % 8)) % 8)) / 8;
          const pkt = new Uint8Array(nbytes);
          for (let i = 0; i < nbytes; i++) pkt[i] = (i * 91 + widths.length * 7 + cw) & 0xff;
          const out = loadEngine(j).process(0, pkt)[0]!.data;
          const got = ((out[0]! << 24) | (out[1]! << 16) | (out[2]! << 8) | out[3]!) >>> 0;
          // reference: the fields' bits (the packet's leading bits) then the constant, zero-padded
          let acc = 0n;
          let n = 0;
          if (valid) {
            let all = 0n;
            for (const b of pkt) all = (all << 8n) | BigInt(b);
            acc = all >> BigInt(nbytes * 8 - bits);
            n = bits;
          }
          acc = (acc << BigInt(cw)) | cv;
          n += cw;
          const len = Math.ceil(n / 8);
          acc <<= BigInt(len * 8 - n);
          const buf = new Uint8Array(len);
          for (let i = len - 1; i >= 0; i--) {
            buf[i] = Number(acc & 0xffn);
            acc >>= 8n;
          }
          expect(got).toBe(hashAlgo(algo).compute(buf, len));
        },
      ),
      { numRuns: 300 },
    );
  });
});
