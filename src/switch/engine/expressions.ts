/**
 * Compiler from BMv2 JSON expressions (and type/value objects) to JavaScript
 * source. BMv2 evaluates data expressions with infinite precision and only
 * truncates when a value is stored into a field; p4c inserts explicit masks
 * and two_comp_mod casts for P4's fixed-width arithmetic. We keep those
 * semantics by tracking, at compile time, an upper bound on the magnitude of
 * every intermediate value: while it stays below 2^53 the value is a plain
 * JS number, otherwise it becomes a bigint.
 */
import { NUM_FIELD_MAX, SAFE_BITS, bitLength, parseHex } from "./bits.js";
import type { Gen } from "./codegen.js";
import { malformed, unsupported } from "./errors.js";
import type { Expression, TypeValue } from "./bmv2-json.js";
import type { FieldInfo, HeaderInfo, HeaderTypeInfo, PhvLayout } from "./phv.js";

export type Kind = "n" | "b" | "bool" | "hdr" | "stack" | "union" | "ustack";

export interface CE {
  readonly code: string;
  readonly k: Kind;
  /** Magnitude bound: |value| < 2^bits (Infinity when unknown). */
  readonly bits: number;
  /** May be negative. */
  readonly neg: boolean;
  /** For hdr/stack/union/ustack: static index when known. */
  readonly stat?: number;
  /** For hdr: header type; for stack: element type. */
  readonly htype?: HeaderTypeInfo;
  /** Constant value when the expression is a literal. */
  readonly cst?: bigint;
}

/** A field lvalue: code to read it and to store a value into it. */
export interface LV {
  readonly read: CE;
  readonly field: FieldInfo;
  /** Header index code (static or dynamic). */
  readonly hcode: string;
  /** The storage slot expression (N[...] or B[...]). */
  readonly slot: string;
  readonly header?: HeaderInfo;
}

export interface ExprCtx {
  readonly layout: PhvLayout;
  readonly gen: Gen;
  /** Widths of the enclosing action's runtime data; undefined outside actions. */
  readonly params?: readonly number[];
  /** Resolves a register array name to its storage (for "register" values). */
  readonly register: (name: string) => { width: number; store: unknown; size: number };
  /** Where the expression is, for error messages. */
  readonly where: string;
}

const num = (code: string, bits: number, neg = false): CE => ({ code, k: "n", bits, neg });
const big = (code: string, bits: number, neg = false): CE => ({ code, k: "b", bits, neg });
const bool = (code: string): CE => ({ code, k: "bool", bits: 1, neg: false });

export function constant(v: bigint): CE {
  const bits = bitLength(v);
  if (bits <= SAFE_BITS) return { code: v < 0n ? `(${v.toString()})` : v.toString(), k: "n", bits, neg: v < 0n, cst: v };
  return { code: `(${v.toString()}n)`, k: "b", bits, neg: v < 0n, cst: v };
}

export function asBig(e: CE): string {
  if (e.k === "b") return e.code;
  if (e.k === "n") return e.cst !== undefined ? `${e.cst.toString()}n` : `BigInt(${e.code})`;
  if (e.k === "bool") return `(${e.code} ? 1n : 0n)`;
  throw malformed(`expected data, got ${e.k}`);
}

/** Data value as JS number code; only valid when bits <= SAFE_BITS or value is b (converted). */
export function asNum(e: CE): string {
  if (e.k === "n") return e.code;
  if (e.k === "b") return `Number(${e.code})`;
  if (e.k === "bool") return `(${e.code} ? 1 : 0)`;
  throw malformed(`expected data, got ${e.k}`);
}

export function asBool(e: CE): string {
  if (e.k === "bool") return e.code;
  if (e.k === "n") return `(${e.code} !== 0)`;
  if (e.k === "b") return `(${e.code} !== 0n)`;
  throw malformed(`expected boolean, got ${e.k}`);
}

function isData(e: CE): boolean {
  return e.k === "n" || e.k === "b";
}

function data(e: CE, where: string): CE {
  if (e.k === "bool") return num(`(${e.code} ? 1 : 0)`, 1);
  if (!isData(e)) throw malformed(`${where}: expected a data value, got ${e.k}`);
  return e;
}

/** Reads a field of a header (static or dynamic) as a CE. */
export function fieldRead(ctx: ExprCtx, hdr: CE, f: FieldInfo): LV {
  const L = ctx.layout;
  let slot: string;
  let header: HeaderInfo | undefined;
  if (hdr.stat !== undefined) {
    header = L.headers[hdr.stat]!;
    slot = L.slotCode(header, f);
  } else {
    slot = f.wide ? `B[BB[${hdr.code}] + ${f.local}]` : `N[NB[${hdr.code}] + ${f.local}]`;
  }
  const read = f.wide ? big(slot, f.width, f.signed) : num(slot, f.width, f.signed);
  return { read, field: f, hcode: hdr.code, slot, ...(header ? { header } : {}) };
}

function headerCE(h: HeaderInfo): CE {
  return { code: String(h.idx), k: "hdr", bits: 0, neg: false, stat: h.idx, htype: h.type };
}

/** Compiles a type/value object (checked by readTypeValue()) into a CE. */
export function compile(ctx: ExprCtx, j: TypeValue): CE {
  const L = ctx.layout;
  switch (j.type) {
    case "expression": {
      const v = j.value;
      if ("op" in v) return compileOp(ctx, v);
      return compile(ctx, v);
    }
    case "hexstr":
      return constant(parseHex(j.value));
    case "bool":
      return bool(j.value ? "true" : "false");
    case "field": {
      const [hname, fname] = j.value;
      if (typeof hname !== "string") {
        // [<header expression>, field]: a header chosen at run time
        const h = compile(ctx, hname);
        if (h.k !== "hdr" || !h.htype) throw malformed(`${ctx.where}: field of a non-header expression`);
        if (fname === "$valid$") return num(`V[${h.code}]`, 1);
        const fi = h.htype.byName.get(fname);
        if (fi === undefined) throw malformed(`${ctx.where}: unknown field ${fname}`);
        return fieldRead(ctx, h, h.htype.fields[fi]!).read;
      }
      if (fname === "$valid$") {
        const h = L.header(hname);
        return num(`V[${h.idx}]`, 1);
      }
      const aliased = L.headerByName.has(hname) ? undefined : L.findField(`${hname}.${fname}`);
      const ref = aliased ?? L.field(hname, fname);
      return fieldRead(ctx, headerCE(ref.header), ref.field).read;
    }
    case "local":
    case "runtime_data": {
      const i = j.value;
      const w = ctx.params?.[i];
      if (w === undefined) throw malformed(`${ctx.where}: runtime data index ${i} out of range`);
      return w <= NUM_FIELD_MAX ? num(`P[${i}]`, w) : big(`P[${i}]`, w);
    }
    case "header":
      // p4c sometimes wraps a run-time header selection in a "header" object
      if (typeof j.value !== "string") return compile(ctx, j.value);
      return headerCE(L.header(j.value));
    case "header_stack": {
      const s = L.stack(j.value);
      return { code: String(s.idx), k: "stack", bits: 0, neg: false, stat: s.idx, htype: s.type };
    }
    case "header_union": {
      const u = L.union(j.value);
      return { code: String(u.idx), k: "union", bits: 0, neg: false, stat: u.idx };
    }
    case "header_union_stack": {
      const u = L.unionStack(j.value);
      return { code: String(u.idx), k: "ustack", bits: 0, neg: false, stat: u.idx };
    }
    case "stack_field": {
      const [sname, fname] = j.value;
      const s = L.stack(sname);
      const fi = s.type.byName.get(fname);
      if (fi === undefined) throw malformed(`${ctx.where}: unknown field ${fname} of stack ${sname}`);
      const hc = `SL(${s.idx})`;
      return fieldRead(ctx, { code: hc, k: "hdr", bits: 0, neg: false, htype: s.type }, s.type.fields[fi]!).read;
    }
    case "register": {
      const [rname, idx] = j.value;
      const r = ctx.register(rname);
      const store = ctx.gen.ref(r.store, `reg_${rname}`);
      const ic = asNum(data(compile(ctx, idx), ctx.where));
      return r.width <= NUM_FIELD_MAX ? num(`(${store}[${ic}] ?? 0)`, r.width) : big(`(${store}[${ic}] ?? 0n)`, r.width);
    }
    default:
      throw unsupported(`operand type '${String(j.type)}' in ${ctx.where}`);
  }
}

function compileOp(ctx: ExprCtx, e: Expression): CE {
  const op = e.op;
  const w = ctx.where;
  const L = ctx.layout;
  const sub = (x: TypeValue): CE => compile(ctx, x);
  switch (e.op) {
    case "+":
    case "-": {
      const l = e.left == null ? constant(0n) : data(sub(e.left), w);
      const r = data(sub(e.right), w);
      const bits = Math.max(l.bits, r.bits) + 1;
      const neg = op === "-" || l.neg || r.neg;
      if (l.k === "n" && r.k === "n" && bits <= SAFE_BITS) return num(`(${l.code} ${op} ${r.code})`, bits, neg);
      return big(`(${asBig(l)} ${op} ${asBig(r)})`, bits, neg);
    }
    case "*": {
      const l = data(sub(e.left), w);
      const r = data(sub(e.right), w);
      const bits = l.bits + r.bits;
      if (l.k === "n" && r.k === "n" && bits <= SAFE_BITS) return num(`(${l.code} * ${r.code})`, bits, l.neg || r.neg);
      return big(`(${asBig(l)} * ${asBig(r)})`, bits, l.neg || r.neg);
    }
    case "/":
    case "%": {
      // BMv2 requires non-negative operands and a positive divisor
      const l = data(sub(e.left), w);
      const r = data(sub(e.right), w);
      if (l.k === "n" && r.k === "n") {
        const c = op === "/" ? `Math.floor(${l.code} / ${r.code})` : `(${l.code} % ${r.code})`;
        return num(`(${r.code} === 0 ? 0 : ${c})`, l.bits, l.neg);
      }
      return big(`DIVMOD(${asBig(l)}, ${asBig(r)}, ${op === "/" ? 0 : 1})`, l.bits, l.neg);
    }
    case "<<": {
      const l = data(sub(e.left), w);
      const r = data(sub(e.right), w);
      if (r.cst !== undefined) {
        const s = Number(r.cst);
        if (s < 0) throw malformed(`${w}: negative shift`);
        const bits = l.bits + s;
        if (l.k === "n" && bits <= SAFE_BITS) return num(`(${l.code} * ${2 ** s})`, bits, l.neg);
        return big(`(${asBig(l)} << ${s}n)`, bits, l.neg);
      }
      return big(`(${asBig(l)} << ${asBig(r)})`, Infinity, l.neg);
    }
    case ">>": {
      const l = data(sub(e.left), w);
      const r = data(sub(e.right), w);
      if (r.cst !== undefined) {
        const s = Number(r.cst);
        const bits = Math.max(0, l.bits - s);
        if (l.k === "n") {
          if (!l.neg && l.bits <= 32) return num(s >= 32 ? "0" : `(${l.code} >>> ${s})`, bits);
          return num(`Math.floor(${l.code} / ${2 ** s})`, bits, l.neg);
        }
        if (bits <= SAFE_BITS) return num(`Number(${l.code} >> ${s}n)`, bits, l.neg);
        return big(`(${l.code} >> ${s}n)`, bits, l.neg);
      }
      if (l.k === "n") return num(`Math.floor(${l.code} / 2 ** ${asNum(r)})`, l.bits, l.neg);
      return big(`(${l.code} >> ${asBig(r)})`, l.bits, l.neg);
    }
    case "&": {
      const l = data(sub(e.left), w);
      const r = data(sub(e.right), w);
      // the result is bounded by any non-negative operand
      const bound = Math.min(l.neg ? Infinity : l.bits, r.neg ? Infinity : r.bits);
      const neg = l.neg && r.neg;
      if (l.k === "n" && r.k === "n") {
        if (bound <= 32) return num(`((${l.code} & ${r.code}) >>> 0)`, bound);
        if (!l.neg && !r.neg) return num(`and53(${l.code}, ${r.code})`, bound);
      }
      if (!neg && bound <= SAFE_BITS) return num(`Number(${asBig(l)} & ${asBig(r)})`, bound);
      return big(`(${asBig(l)} & ${asBig(r)})`, bound === Infinity ? Math.max(l.bits, r.bits) : bound, neg);
    }
    case "|":
    case "^": {
      const l = data(sub(e.left), w);
      const r = data(sub(e.right), w);
      const bits = Math.max(l.bits, r.bits);
      const neg = l.neg || r.neg;
      if (l.k === "n" && r.k === "n" && !neg) {
        if (bits <= 32) return num(`((${l.code} ${op} ${r.code}) >>> 0)`, bits);
        return num(`${op === "|" ? "or53" : "xor53"}(${l.code}, ${r.code})`, bits);
      }
      return big(`(${asBig(l)} ${op} ${asBig(r)})`, bits, neg);
    }
    case "~": {
      const r = data(sub(e.right), w);
      if (r.k === "n" && r.bits < SAFE_BITS) return num(`(-1 - ${r.code})`, r.bits + 1, true);
      return big(`(~${asBig(r)})`, r.bits + 1, true);
    }
    case "==":
    case "!=": {
      const l = sub(e.left);
      const r = sub(e.right);
      const eq = op === "==";
      if (l.k === "hdr" && r.k === "hdr") return bool(`${eq ? "" : "!"}HEQ(${l.code}, ${r.code})`);
      if (l.k === "union" && r.k === "union") return bool(`${eq ? "" : "!"}UEQ(${l.code}, ${r.code})`);
      if (l.k === "bool" && r.k === "bool") return bool(`(${l.code} ${eq ? "===" : "!=="} ${r.code})`);
      const ld = data(l, w);
      const rd = data(r, w);
      if (ld.k === "n" && rd.k === "n") return bool(`(${ld.code} ${eq ? "===" : "!=="} ${rd.code})`);
      return bool(`(${asBig(ld)} ${eq ? "===" : "!=="} ${asBig(rd)})`);
    }
    case "<":
    case ">":
    case "<=":
    case ">=": {
      const l = data(sub(e.left), w);
      const r = data(sub(e.right), w);
      if (l.k === "n" && r.k === "n") return bool(`(${l.code} ${op} ${r.code})`);
      return bool(`(${asBig(l)} ${op} ${asBig(r)})`);
    }
    case "and":
      return bool(`(${asBool(sub(e.left))} && ${asBool(sub(e.right))})`);
    case "or":
      return bool(`(${asBool(sub(e.left))} || ${asBool(sub(e.right))})`);
    case "not":
      return bool(`(!${asBool(sub(e.right))})`);
    case "d2b":
      return bool(asBool(data(sub(e.right), w)));
    case "b2d":
      return num(`(${asBool(sub(e.right))} ? 1 : 0)`, 1);
    case "valid": {
      const h = sub(e.right);
      if (h.k === "hdr") return bool(`(V[${h.code}] === 1)`);
      if (h.k === "union") return bool(`UV(${h.code})`);
      throw malformed(`${w}: valid() of ${h.k}`);
    }
    case "valid_union": {
      const u = sub(e.right);
      if (u.k !== "union") throw malformed(`${w}: valid_union of ${u.k}`);
      return bool(`UV(${u.code})`);
    }
    case "?": {
      const c = asBool(sub(e.cond));
      const l = sub(e.left);
      const r = sub(e.right);
      if (l.k === "bool" && r.k === "bool") return bool(`(${c} ? ${l.code} : ${r.code})`);
      if (l.k === "hdr" && r.k === "hdr")
        return { code: `(${c} ? ${l.code} : ${r.code})`, k: "hdr", bits: 0, neg: false, ...(l.htype ? { htype: l.htype } : {}) };
      const ld = data(l, w);
      const rd = data(r, w);
      const bits = Math.max(ld.bits, rd.bits);
      const neg = ld.neg || rd.neg;
      if (ld.k === "n" && rd.k === "n") return num(`(${c} ? ${ld.code} : ${rd.code})`, bits, neg);
      return big(`(${c} ? ${asBig(ld)} : ${asBig(rd)})`, bits, neg);
    }
    case "two_comp_mod": {
      const l = data(sub(e.left), w);
      const r = data(sub(e.right), w);
      if (r.cst === undefined) return big(`TCM(${asBig(l)}, ${asNum(r)})`, Infinity, true);
      const width = Number(r.cst);
      if (width <= 32 && l.k === "n")
        return num(width === 32 ? `(${l.code} | 0)` : `((${l.code} << ${32 - width}) >> ${32 - width})`, width, true);
      if (width <= NUM_FIELD_MAX && l.k === "n") return num(`wrapS(${l.code}, ${width})`, width, true);
      if (width <= NUM_FIELD_MAX) return num(`Number(BigInt.asIntN(${width}, ${l.code}))`, width, true);
      return big(`BigInt.asIntN(${width}, ${asBig(l)})`, width, true);
    }
    case "sat_cast":
    case "usat_cast": {
      const l = data(sub(e.left), w);
      const r = data(sub(e.right), w);
      const fn = op === "sat_cast" ? "SAT" : "USAT";
      const width = r.cst !== undefined ? Number(r.cst) : Infinity;
      if (l.k === "n" && width <= SAFE_BITS - 1) return num(`${fn}N(${l.code}, ${width})`, width, op === "sat_cast");
      return big(`${fn}B(${asBig(l)}, ${asNum(r)})`, width, op === "sat_cast");
    }
    case "dereference_header_stack":
    case "dereference_stack": {
      const s = sub(e.left);
      if (s.k !== "stack" || s.stat === undefined) throw malformed(`${w}: dereference of ${s.k}`);
      const st = L.stacks[s.stat]!;
      const idx = data(sub(e.right), w);
      if (idx.cst !== undefined) {
        const i = Number(idx.cst);
        const h = st.headers[i] ?? st.dummy;
        return headerCE(L.headers[h]!);
      }
      return { code: `SD(${st.idx}, ${asNum(idx)})`, k: "hdr", bits: 0, neg: false, htype: st.type };
    }
    case "dereference_union_stack": {
      const s = sub(e.left);
      if (s.k !== "ustack" || s.stat === undefined) throw malformed(`${w}: dereference of ${s.k}`);
      const us = L.unionStacks[s.stat]!;
      const idx = data(sub(e.right), w);
      if (idx.cst !== undefined) {
        const u = us.unions[Number(idx.cst)] ?? us.dummy;
        return { code: String(u), k: "union", bits: 0, neg: false, stat: u };
      }
      return { code: `USD(${us.idx}, ${asNum(idx)})`, k: "union", bits: 0, neg: false };
    }
    case "last_stack_index": {
      const s = sub(e.right);
      if (s.k === "stack") return num(`(NX[${s.code}] - 1)`, 32, true);
      if (s.k === "ustack") return num(`(UNX[${s.code}] - 1)`, 32, true);
      throw malformed(`${w}: last_stack_index of ${s.k}`);
    }
    case "size_stack": {
      const s = sub(e.right);
      if (s.k === "stack") return num(`NX[${s.code}]`, 32);
      if (s.k === "ustack") return num(`UNX[${s.code}]`, 32);
      throw malformed(`${w}: size_stack of ${s.k}`);
    }
    case "access_field": {
      const h = sub(e.left);
      if (h.k !== "hdr" || !h.htype) throw malformed(`${w}: access_field on ${h.k}`);
      const f = h.htype.fields[e.right];
      if (!f) throw malformed(`${w}: access_field offset ${e.right} out of range`);
      return fieldRead(ctx, h, f).read;
    }
    case "access_union_header": {
      const u = sub(e.left);
      if (u.k !== "union") throw malformed(`${w}: access_union_header on ${u.k}`);
      const k = e.right;
      if (u.stat !== undefined) {
        const h = L.unions[u.stat]!.headers[k];
        if (h === undefined) throw malformed(`${w}: union member ${k} out of range`);
        return headerCE(L.headers[h]!);
      }
      // dynamic union (from a union stack): all unions of the stack share member types
      const anyUnion = L.unions.find((x) => x.headers.length > k);
      const htype = anyUnion ? L.headers[anyUnion.headers[k]!]!.type : undefined;
      return { code: `UH[${u.code}][${k}]`, k: "hdr", bits: 0, neg: false, ...(htype ? { htype } : {}) };
    }
  }
}

/** Compiles an lvalue (a field, or an expression resolving to one). */
export function compileLV(ctx: ExprCtx, j: TypeValue): LV {
  const L = ctx.layout;
  if (j.type === "field") {
    const [hname, fname] = j.value;
    if (typeof hname !== "string") {
      const h = compile(ctx, hname);
      if (h.k !== "hdr" || !h.htype) throw malformed(`${ctx.where}: field of a non-header expression`);
      const fi = h.htype.byName.get(fname);
      if (fi === undefined) throw malformed(`${ctx.where}: unknown field ${fname}`);
      return fieldRead(ctx, h, h.htype.fields[fi]!);
    }
    const aliased = L.headerByName.has(hname) ? undefined : L.findField(`${hname}.${fname}`);
    const ref = aliased ?? L.field(hname, fname);
    return fieldRead(ctx, headerCE(ref.header), ref.field);
  }
  if (j.type === "stack_field") {
    const [sname, fname] = j.value;
    const s = L.stack(sname);
    const fi = s.type.byName.get(fname);
    if (fi === undefined) throw malformed(`${ctx.where}: unknown field ${fname} of stack ${sname}`);
    return fieldRead(ctx, { code: `SL(${s.idx})`, k: "hdr", bits: 0, neg: false, htype: s.type }, s.type.fields[fi]!);
  }
  if (j.type === "expression") {
    const v = "type" in j.value && j.value.type === "expression" ? j.value.value : j.value;
    if ("op" in v && v.op === "access_field") {
      const h = compile(ctx, v.left);
      if (h.k !== "hdr" || !h.htype) throw malformed(`${ctx.where}: access_field on ${h.k}`);
      const f = h.htype.fields[v.right];
      if (!f) throw malformed(`${ctx.where}: access_field offset out of range`);
      return fieldRead(ctx, h, f);
    }
    if ("type" in v) return compileLV(ctx, v);
  }
  throw malformed(`${ctx.where}: not an assignable field: ${JSON.stringify(j)}`);
}

/** Code storing `v` into field lvalue `lv`, truncated/wrapped to the field's width. */
export function storeCode(lv: LV, v: CE): string {
  const f = lv.field;
  const w = f.width;
  if (f.varbit) throw malformed("plain assignment to a varbit field (use assign_VL)");
  let e: string;
  if (!f.wide) {
    if (f.signed) {
      if (v.k === "n") e = v.bits < w || (v.bits === w && v.neg) ? v.code : `wrapS(${v.code}, ${w})`;
      else e = `Number(BigInt.asIntN(${w}, ${asBig(v)}))`;
    } else if (v.k === "n") {
      e =
        v.bits <= w && !v.neg
          ? v.code
          : w <= 31
            ? `(${v.code} & ${2 ** w - 1})`
            : w === 32
              ? `(${v.code} >>> 0)`
              : `wrapU(${v.code}, ${w})`;
    } else if (v.k === "bool") {
      e = `(${v.code} ? 1 : 0)`;
    } else {
      e = `Number(BigInt.asUintN(${w}, ${v.code}))`;
    }
  } else {
    const b = asBig(v);
    if (f.signed) e = v.bits < w ? b : `BigInt.asIntN(${w}, ${b})`;
    else e = v.bits <= w && !v.neg ? b : `BigInt.asUintN(${w}, ${b})`;
  }
  return `${lv.slot} = ${e};`;
}
