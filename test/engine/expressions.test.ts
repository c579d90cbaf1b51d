/**
 * Property test of the expression compiler against a reference evaluator
 * with BMv2's semantics: infinite-precision integers, truncation only when a
 * value is stored into a field.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadEngine } from "../../src/switch/engine/index.js";
import { type J, expr, f, headerType, local, prim, program, table } from "./fixtures.js";

const PARAM_WIDTHS = [8, 16, 32, 48, 64, 100];
const META_FIELDS: [string, number, boolean][] = [
  ["a", 8, false],
  ["b", 16, false],
  ["c", 32, false],
  ["d", 48, false],
  ["e", 64, false],
  ["g", 100, false],
  ["s", 12, true],
  ["t", 40, true],
];
const OUT_WIDTHS = [1, 7, 8, 31, 32, 33, 48, 53, 64, 128];

type Node = { j: J; ev: (p: bigint[]) => bigint; bool?: false } | { j: J; ev: (p: bigint[]) => boolean; bool: true };

const u = (w: number, v: bigint) => BigInt.asUintN(w, v);
const s = (w: number, v: bigint) => BigInt.asIntN(w, v);

function metaValue(i: number, p: bigint[]): bigint {
  const [, w, signed] = META_FIELDS[i]!;
  const src = p[i % PARAM_WIDTHS.length]!;
  return signed ? s(w, src) : u(w, src);
}

class Rng {
  constructor(private x: number) {}
  next(n: number): number {
    this.x = (Math.imul(this.x ^ (this.x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0;
    this.x ^= this.x >>> 13;
    return (this.x >>> 0) % n;
  }
}

function data(r: Rng, depth: number): Node {
  const leaf = depth <= 0 || r.next(4) === 0;
  if (leaf) {
    const k = r.next(3);
    if (k === 0) {
      const i = r.next(PARAM_WIDTHS.length);
      return { j: local(i), ev: (p) => p[i]! };
    }
    if (k === 1) {
      const i = r.next(META_FIELDS.length);
      return { j: f("m", META_FIELDS[i]![0]), ev: (p) => metaValue(i, p) };
    }
    const bits = 1 + r.next(80);
    let v = 0n;
    for (let i = 0; i < bits; i += 16) v = (v << 16n) | BigInt(r.next(65536));
    v = u(bits, v);
    const neg = r.next(8) === 0;
    const val = neg ? -v : v;
    return { j: { type: "hexstr", value: (neg ? "-0x" : "0x") + v.toString(16) }, ev: () => val };
  }
  const ops = ["+", "-", "*", "&", "|", "^", "~", "<<", ">>", "?", "two_comp_mod", "sat_cast", "usat_cast", "b2d", "/", "%", "mask", "neg"];
  const op = ops[r.next(ops.length)]!;
  const a = data(r, depth - 1);
  switch (op) {
    case "~":
      return { j: expr("~", null, a.j), ev: (p) => ~(a.ev(p) as bigint) };
    case "neg":
      return { j: expr("-", null, a.j), ev: (p) => -(a.ev(p) as bigint) };
    case "mask": {
      const w = 1 + r.next(70);
      const m = (1n << BigInt(w)) - 1n;
      return { j: expr("&", a.j, { type: "hexstr", value: `0x${m.toString(16)}` }), ev: (p) => (a.ev(p) as bigint) & m };
    }
    case "<<":
    case ">>": {
      const sh = r.next(70);
      const x = op === "<<" ? (v: bigint) => v << BigInt(sh) : (v: bigint) => v >> BigInt(sh);
      return { j: expr(op, a.j, { type: "hexstr", value: `0x${sh.toString(16)}` }), ev: (p) => x(a.ev(p) as bigint) };
    }
    case "two_comp_mod":
    case "sat_cast":
    case "usat_cast": {
      const w = 2 + r.next(70);
      const fn =
        op === "two_comp_mod"
          ? (v: bigint) => s(w, v)
          : op === "sat_cast"
            ? (v: bigint) => {
                const max = (1n << BigInt(w - 1)) - 1n;
                const min = -(1n << BigInt(w - 1));
                return v > max ? max : v < min ? min : v;
              }
            : (v: bigint) => {
                const max = (1n << BigInt(w)) - 1n;
                return v > max ? max : v < 0n ? 0n : v;
              };
      return { j: expr(op, a.j, { type: "hexstr", value: `0x${w.toString(16)}` }), ev: (p) => fn(a.ev(p) as bigint) };
    }
    case "b2d": {
      const c = cond(r, depth - 1);
      return { j: expr("b2d", null, c.j), ev: (p) => ((c.ev(p) as boolean) ? 1n : 0n) };
    }
    case "?": {
      const c = cond(r, depth - 1);
      const b = data(r, depth - 1);
      return {
        j: { type: "expression", value: { op: "?", left: a.j, right: b.j, cond: c.j } },
        ev: (p) => ((c.ev(p) as boolean) ? (a.ev(p) as bigint) : (b.ev(p) as bigint)),
      };
    }
    case "/":
    case "%": {
      // BMv2 requires a non-negative dividend and a positive divisor
      const b = data(r, depth - 1);
      const m = (1n << 40n) - 1n;
      const l = expr("&", a.j, { type: "hexstr", value: `0x${m.toString(16)}` });
      const rr = expr("|", expr("&", b.j, { type: "hexstr", value: "0xffff" }), { type: "hexstr", value: "0x1" });
      return {
        j: expr(op, l, rr),
        ev: (p) => {
          const x = (a.ev(p) as bigint) & m;
          const y = ((b.ev(p) as bigint) & 0xffffn) | 1n;
          return op === "/" ? x / y : x % y;
        },
      };
    }
    default: {
      const b = data(r, depth - 1);
      const fns: Record<string, (x: bigint, y: bigint) => bigint> = {
        "+": (x, y) => x + y,
        "-": (x, y) => x - y,
        "*": (x, y) => x * y,
        "&": (x, y) => x & y,
        "|": (x, y) => x | y,
        "^": (x, y) => x ^ y,
      };
      const fn = fns[op]!;
      return { j: expr(op, a.j, b.j), ev: (p) => fn(a.ev(p) as bigint, b.ev(p) as bigint) };
    }
  }
}

function cond(r: Rng, depth: number): Node {
  const k = r.next(6);
  if (k === 0 && depth > 0) {
    const a = cond(r, depth - 1);
    const b = cond(r, depth - 1);
    const and = r.next(2) === 0;
    return {
      j: expr(and ? "and" : "or", a.j, b.j),
      ev: (p) => (and ? (a.ev(p) as boolean) && (b.ev(p) as boolean) : (a.ev(p) as boolean) || (b.ev(p) as boolean)),
      bool: true,
    };
  }
  if (k === 1 && depth > 0) {
    const a = cond(r, depth - 1);
    return { j: expr("not", null, a.j), ev: (p) => !(a.ev(p) as boolean), bool: true };
  }
  if (k === 2) {
    const a = data(r, depth - 1);
    return { j: expr("d2b", null, a.j), ev: (p) => (a.ev(p) as bigint) !== 0n, bool: true };
  }
  const a = data(r, depth - 1);
  const b = data(r, depth - 1);
  const ops = ["==", "!=", "<", ">", "<=", ">="];
  const op = ops[r.next(ops.length)]!;
  const cmp: Record<string, (x: bigint, y: bigint) => boolean> = {
    "==": (x, y) => x === y,
    "!=": (x, y) => x !== y,
    "<": (x, y) => x < y,
    ">": (x, y) => x > y,
    "<=": (x, y) => x <= y,
    ">=": (x, y) => x >= y,
  };
  return { j: expr(op, a.j, b.j), ev: (p) => cmp[op]!(a.ev(p) as bigint, b.ev(p) as bigint), bool: true };
}

function buildProgram(e: Node): J {
  const outFields = OUT_WIDTHS.map((w, i) => [`r${i}`, w, false]);
  const pad = OUT_WIDTHS.reduce((a, b) => a + b, 0) % 8;
  if (pad) outFields.push(["pad", 8 - pad, false]);
  const prims: J[] = META_FIELDS.map(([n], i) => prim("assign", f("m", n), { type: "runtime_data", value: i % PARAM_WIDTHS.length }));
  prims.push(prim("add_header", { type: "header", value: "out" }));
  for (let i = 0; i < OUT_WIDTHS.length; i++) prims.push(prim("assign", f("out", `r${i}`), e.j));
  return program({
    headerTypes: [headerType("m_t", 2, META_FIELDS), headerType("out_t", 3, outFields)],
    headers: [
      { name: "m", id: 2, header_type: "m_t", metadata: true },
      { name: "out", id: 3, header_type: "out_t", metadata: false },
    ],
    deparserOrder: ["out"],
    actions: [{ name: "compute", id: 0, runtime_data: PARAM_WIDTHS.map((w, i) => ({ name: `p${i}`, bitwidth: w })), primitives: prims }],
    ingress: {
      name: "ingress",
      id: 0,
      init_table: "t",
      tables: [table("t", 0, [], [["compute", 0]], [0, PARAM_WIDTHS.map(() => "0x00")], null)],
      action_profiles: [],
      conditionals: [],
    },
  });
}

function readOut(d: Uint8Array): bigint[] {
  let v = 0n;
  for (const b of d) v = (v << 8n) | BigInt(b);
  const total = d.length * 8;
  const res: bigint[] = [];
  let pos = 0;
  for (const w of OUT_WIDTHS) {
    res.push((v >> BigInt(total - pos - w)) & ((1n << BigInt(w)) - 1n));
    pos += w;
  }
  return res;
}

describe("expression compiler", () => {
  it("matches a bigint reference on random expression trees", () => {
    fc.assert(
      fc.property(fc.integer(), fc.array(fc.bigInt({ min: 0n, max: (1n << 100n) - 1n }), { minLength: 6, maxLength: 6 }), (seed, raw) => {
        const r = new Rng(seed);
        const e = data(r, 4);
        const params = raw.map((v, i) => BigInt.asUintN(PARAM_WIDTHS[i]!, v));
        const eng = loadEngine(buildProgram(e));
        eng.setDefaultAction("t", { kind: "action", call: { action: "compute", args: params } });
        const out = eng.process(0, new Uint8Array(0));
        expect(out).toHaveLength(1);
        const got = readOut(out[0]!.data);
        const want = OUT_WIDTHS.map((w) => u(w, e.ev(params) as bigint));
        expect(got).toEqual(want);
      }),
      { numRuns: 500 },
    );
  });
});
