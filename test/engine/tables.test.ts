/** Match units against brute-force references, and the table runtime API. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EngineError, loadEngine, type MatchValue } from "../../src/switch/engine/index.js";
import { type J, f, headerType, prim, program, table } from "./fixtures.js";

/** Program: key fields k0..k(n-1) from header "in" (extracted), action writes param to out.v. */
function tableProgram(keys: { kind: string; width: number }[]): J {
  const inFields: J[] = keys.map((k, i) => [`k${i}`, k.width, false]);
  const bits = keys.reduce((a, k) => a + k.width, 0);
  if (bits % 8) inFields.push(["pad", 8 - (bits % 8), false]);
  return program({
    headerTypes: [headerType("in_t", 2, inFields), headerType("out_t", 3, [["v", 16, false]])],
    headers: [
      { name: "in", id: 2, header_type: "in_t", metadata: false },
      { name: "out", id: 3, header_type: "out_t", metadata: false },
    ],
    parser: {
      name: "parser",
      id: 0,
      init_state: "start",
      parse_states: [
        {
          name: "start",
          id: 0,
          parser_ops: [{ op: "extract", parameters: [{ type: "regular", value: "in" }] }],
          transitions: [{ type: "default", value: null, mask: null, next_state: null }],
          transition_key: [],
        },
      ],
    },
    deparserOrder: ["out"],
    actions: [
      {
        name: "hit",
        id: 0,
        runtime_data: [{ name: "v", bitwidth: 16 }],
        primitives: [
          prim("add_header", { type: "header", value: "out" }),
          prim("assign", f("out", "v"), { type: "runtime_data", value: 0 }),
        ],
      },
      { name: "miss", id: 1, runtime_data: [], primitives: [] },
    ],
    ingress: {
      name: "ingress",
      id: 0,
      init_table: "t",
      tables: [
        table(
          "t",
          0,
          keys.map((k, i) => ({ match_type: k.kind, name: `k${i}`, target: ["in", `k${i}`], mask: null })),
          [
            ["hit", 0],
            ["miss", 1],
          ],
          [1, []],
          null,
        ),
      ],
      action_profiles: [],
      conditionals: [],
    },
  });
}

function packKey(keys: { width: number }[], vals: bigint[]): Uint8Array {
  let v = 0n;
  let bits = 0;
  keys.forEach((k, i) => {
    v = (v << BigInt(k.width)) | vals[i]!;
    bits += k.width;
  });
  const pad = (8 - (bits % 8)) % 8;
  v <<= BigInt(pad);
  const n = (bits + pad) / 8;
  const out = new Uint8Array(n);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function matches(k: MatchValue, v: bigint, w: number): boolean {
  switch (k.kind) {
    case "exact":
      return v === k.value;
    case "lpm": {
      const m = ((1n << BigInt(w)) - 1n) ^ ((1n << BigInt(w - k.prefixLength)) - 1n);
      return (v & m) === (k.value & m);
    }
    case "ternary":
      return (v & k.mask) === (k.value & k.mask);
    case "range":
      return k.low <= v && v <= k.high;
    case "optional":
      return k.wildcard || v === k.value;
  }
}

const WIDTHS = [3, 8, 16, 32, 40, 48, 64, 72];

describe("match units vs brute force", () => {
  for (const kinds of [
    ["exact"],
    ["exact", "exact"],
    ["lpm"],
    ["exact", "lpm"],
    ["ternary"],
    ["ternary", "range"],
    ["range", "exact", "optional"],
    ["lpm", "ternary"],
  ]) {
    it(`${kinds.join("+")}`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.constantFrom(...WIDTHS), { minLength: kinds.length, maxLength: kinds.length }),
          fc.integer(),
          (widths, seed) => {
            const keys = kinds.map((kind, i) => ({ kind, width: widths[i]! }));
            const e = loadEngine(tableProgram(keys));
            let x = seed >>> 0 || 1;
            const rnd = (w: number): bigint => {
              let v = 0n;
              for (let i = 0; i < w; i += 16) {
                x = (Math.imul(x, 1103515245) + 12345) >>> 0;
                v = (v << 16n) | BigInt(x >>> 16);
              }
              // bias towards few distinct values so that entries overlap
              return BigInt.asUintN(w, v) % (w > 4 ? 5n : 8n);
            };
            const entries: { key: MatchValue[]; priority: number; v: number }[] = [];
            const scan =
              kinds.some((k) => k === "ternary" || k === "range" || k === "optional") || kinds.filter((k) => k === "lpm").length > 1;
            for (let n = 0; n < 25; n++) {
              const key: MatchValue[] = keys.map((k) => {
                const w = k.width;
                const a = rnd(w);
                switch (k.kind) {
                  case "exact":
                    return { kind: "exact", value: a };
                  case "lpm": {
                    const p = Number(rnd(8)) % (w + 1);
                    const m = ((1n << BigInt(w)) - 1n) ^ ((1n << BigInt(w - p)) - 1n);
                    return { kind: "lpm", value: a & m, prefixLength: p };
                  }
                  case "ternary": {
                    const m = rnd(w);
                    return { kind: "ternary", value: a & m, mask: m };
                  }
                  case "range": {
                    const b = rnd(w);
                    const [low, high]: [bigint, bigint] = a < b ? [a, b] : [b, a];
                    return { kind: "range", low, high };
                  }
                  default:
                    return { kind: "optional", value: a, wildcard: rnd(2) === 0n };
                }
              });
              const priority = scan ? Number(rnd(8)) : 0;
              try {
                e.addEntry("t", { key, priority, action: { kind: "action", call: { action: "hit", args: [BigInt(n)] } } });
                entries.push({ key, priority, v: n });
              } catch (err) {
                expect(err).toBeInstanceOf(EngineError);
                expect((err as EngineError).code).toBe("DUPLICATE_ENTRY");
              }
            }
            for (let q = 0; q < 30; q++) {
              const vals = keys.map((k) => rnd(k.width));
              const cands = entries.filter((en) => en.key.every((k, i) => matches(k, vals[i]!, keys[i]!.width)));
              let want: number | undefined;
              if (cands.length) {
                if (scan) {
                  // larger priority wins; ties: first inserted
                  want = cands.reduce((best, c) => (c.priority > best.priority ? c : best)).v;
                } else {
                  const lpmI = kinds.indexOf("lpm");
                  want = cands.reduce((best, c) =>
                    lpmI >= 0 &&
                    (c.key[lpmI] as { prefixLength: number }).prefixLength > (best.key[lpmI] as { prefixLength: number }).prefixLength
                      ? c
                      : best,
                  ).v;
                }
              }
              const out = e.process(0, packKey(keys, vals));
              const got = out[0]!.data.length >= 2 ? (out[0]!.data[0]! << 8) | out[0]!.data[1]! : undefined;
              expect(out[0]!.data.length).toBe(want === undefined ? 0 : 2);
              if (want !== undefined) expect(got).toBe(want);
            }
          },
        ),
        { numRuns: 40 },
      );
    });
  }
});

describe("table runtime API", () => {
  const keys = [{ kind: "ternary", width: 16 }];
  it("validates keys, actions and handles; default actions", () => {
    const e = loadEngine(tableProgram(keys));
    const hit = (v: bigint) => ({ kind: "action" as const, call: { action: "hit", args: [v] } });
    expect(() => e.addEntry("t", { key: [{ kind: "exact", value: 1n }], priority: 1, action: hit(1n) })).toThrow(/ternary/);
    expect(() => e.addEntry("t", { key: [{ kind: "ternary", value: 1n << 16n, mask: 1n }], priority: 1, action: hit(1n) })).toThrow(
      EngineError,
    );
    expect(() => e.addEntry("t", { key: [{ kind: "ternary", value: 1n, mask: 1n }], priority: 1, action: hit(1n << 16n) })).toThrow(
      /does not fit/,
    );
    expect(() =>
      e.addEntry("t", {
        key: [{ kind: "ternary", value: 1n, mask: 1n }],
        priority: 1,
        action: { kind: "action", call: { action: "nope", args: [] } },
      }),
    ).toThrow(/not an action/);
    expect(() => e.addEntry("nope", { key: [], priority: 1, action: hit(1n) })).toThrow(/no table/);
    const h = e.addEntry("t", { key: [{ kind: "ternary", value: 1n, mask: 0xffn }], priority: 5, action: hit(7n) });
    expect(e.findEntry("t", [{ kind: "ternary", value: 1n, mask: 0xffn }], 5)).toBe(h);
    expect(e.findEntry("t", [{ kind: "ternary", value: 1n, mask: 0xffn }], 4)).toBeUndefined();
    expect(e.getEntry("t", h)).toEqual({ key: [{ kind: "ternary", value: 1n, mask: 0xffn }], priority: 5, action: hit(7n) });
    e.modifyEntry("t", h, hit(9n));
    expect(e.getEntry("t", h).action).toEqual(hit(9n));
    expect(e.entries("t")).toEqual([h]);
    expect(e.getDefaultAction("t")).toEqual({ kind: "action", call: { action: "miss", args: [] } });
    e.setDefaultAction("t", hit(3n));
    const out = e.process(0, new Uint8Array([0, 2]));
    expect([...out[0]!.data]).toEqual([0, 3]); // "in" is parsed but not deparsed
    e.resetDefaultAction("t");
    expect(e.getDefaultAction("t")).toEqual({ kind: "action", call: { action: "miss", args: [] } });
    e.deleteEntry("t", h);
    expect(() => e.deleteEntry("t", h)).toThrow(/no entry/);
    expect(e.table("t")).toMatchObject({ name: "t", keys: [{ name: "k0", matchType: "ternary", bitwidth: 16 }], maxSize: 1024 });
    expect(e.action("hit").params).toEqual([{ name: "v", bitwidth: 16 }]);
  });
});
