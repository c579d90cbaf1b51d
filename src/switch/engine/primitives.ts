/**
 * Compiler for action primitives (and parser "primitive" ops) to JavaScript
 * statements. Covers BMv2's core primitives and the ones simple_switch
 * registers for v1model; anything else is rejected at load time by name.
 */
import { NUM_FIELD_MAX, parseHex } from "./bits.js";
import { malformed, unsupported } from "./errors.js";
import { asBig, asBool, asNum, compile, compileLV, fieldRead, storeCode, type CE, type ExprCtx } from "./expressions.js";
import type { Json } from "./phv.js";

export interface PrimCtx extends ExprCtx {
  /** Resolves object names to generated-code references. */
  readonly counter: (name: string) => string;
  readonly meter: (name: string) => string;
  readonly calculation: (name: string) => { ref: string; numeric: boolean };
  /** Code of the standard_metadata egress_spec / mcast_grp slots (or undefined). */
  readonly egressSpecSlot: string | undefined;
  readonly mcastGrpSlot: string | undefined;
}

function hdrCode(ctx: PrimCtx, p: Json, what: string): string {
  const c = compile(ctx, p);
  if (c.k !== "hdr") throw malformed(`${ctx.where}: ${what} expects a header, got ${c.k}`);
  return c.code;
}

function dataOf(ctx: PrimCtx, p: Json): CE {
  const c = compile(ctx, p);
  if (c.k !== "n" && c.k !== "b" && c.k !== "bool") throw malformed(`${ctx.where}: expected a data operand, got ${c.k}`);
  return c;
}

function exprJson(op: string, left: Json, right: Json): Json {
  return { type: "expression", value: { op, left, right } };
}

/** Width-typed constant-or-expression as a JS number (for indices, ids). */
function numOf(ctx: PrimCtx, p: Json): string {
  return asNum(dataOf(ctx, p));
}

/**
 * Compiles one primitive call. `jumpTargets` is set when the action uses
 * _jump/_jump_if_zero and is compiled as a pc-driven switch.
 */
export function compilePrimitive(ctx: PrimCtx, prim: Json, inSwitch: boolean): string {
  const op = String(prim.op);
  const ps: Json[] = Array.isArray(prim.parameters) ? prim.parameters : [];
  const need = (n: number): void => {
    if (ps.length !== n) throw malformed(`${ctx.where}: primitive ${op} expects ${n} parameters, got ${ps.length}`);
  };
  switch (op) {
    case "assign":
    case "modify_field": {
      need(2);
      const dst = compileLV(ctx, ps[0]);
      return storeCode(dst, dataOf(ctx, ps[1]));
    }
    case "assign_VL": {
      need(2);
      const dst = compileLV(ctx, ps[0]);
      const src = compileLV(ctx, ps[1]);
      if (!dst.field.varbit || !src.field.varbit) throw malformed(`${ctx.where}: assign_VL on non-varbit fields`);
      return `${dst.slot} = ${src.slot}; VL[${dst.hcode}] = VL[${src.hcode}];`;
    }
    case "add_to_field":
    case "subtract_from_field": {
      need(2);
      const dst = compileLV(ctx, ps[0]);
      return storeCode(dst, dataOf(ctx, exprJson(op === "add_to_field" ? "+" : "-", ps[0], ps[1])));
    }
    case "add":
    case "subtract":
    case "bit_xor":
    case "bit_or":
    case "bit_and":
    case "shift_left":
    case "shift_right": {
      need(3);
      const sym = { add: "+", subtract: "-", bit_xor: "^", bit_or: "|", bit_and: "&", shift_left: "<<", shift_right: ">>" }[op];
      const dst = compileLV(ctx, ps[0]);
      return storeCode(dst, dataOf(ctx, exprJson(sym, ps[1], ps[2])));
    }
    case "assign_header":
    case "copy_header":
      need(2);
      return `AH(${hdrCode(ctx, ps[0], op)}, ${hdrCode(ctx, ps[1], op)});`;
    case "assign_union": {
      need(2);
      const d = compile(ctx, ps[0]);
      const s = compile(ctx, ps[1]);
      if (d.k !== "union" || s.k !== "union") throw malformed(`${ctx.where}: assign_union on non-unions`);
      return `AU(${d.code}, ${s.code});`;
    }
    case "assign_header_stack":
    case "assign_union_stack": {
      need(2);
      const d = compile(ctx, ps[0]);
      const s = compile(ctx, ps[1]);
      if (d.k === "stack" && s.k === "stack") return `AS(${d.code}, ${s.code});`;
      if (d.k === "ustack" && s.k === "ustack") return `AUS(${d.code}, ${s.code});`;
      throw malformed(`${ctx.where}: ${op} on ${d.k}/${s.k}`);
    }
    case "push":
    case "pop": {
      need(2);
      const s = compile(ctx, ps[0]);
      const n = numOf(ctx, ps[1]);
      if (s.k === "stack") return `${op === "push" ? "PUSH" : "POP"}(${s.code}, ${n});`;
      if (s.k === "ustack") return `${op === "push" ? "UPUSH" : "UPOP"}(${s.code}, ${n});`;
      throw malformed(`${ctx.where}: ${op} on ${s.k}`);
    }
    case "add_header":
      need(1);
      return `ADDH(${hdrCode(ctx, ps[0], op)});`;
    case "add_header_fast":
      need(1);
      return `SETV(${hdrCode(ctx, ps[0], op)});`;
    case "remove_header":
      need(1);
      return `REMH(${hdrCode(ctx, ps[0], op)});`;
    case "mark_to_drop": {
      // BMv2 writes the egress_spec and mcast_grp fields of the header it is given,
      // which p4c may make a copy of standard_metadata (copied back afterwards)
      need(1);
      const h = compile(ctx, ps[0]);
      if (h.k !== "hdr" || !h.htype) throw malformed(`${ctx.where}: mark_to_drop expects a header`);
      const es = h.htype.byName.get("egress_spec");
      if (es === undefined) throw unsupported(`mark_to_drop on header type ${h.htype.name} without an egress_spec field`);
      const mg = h.htype.byName.get("mcast_grp");
      const esLv = fieldRead(ctx, h, h.htype.fields[es]!);
      let code = storeCode(esLv, { code: "S.dropPort", k: "n", bits: 32, neg: false });
      if (mg !== undefined) code += " " + storeCode(fieldRead(ctx, h, h.htype.fields[mg]!), { code: "0", k: "n", bits: 0, neg: false });
      return code;
    }
    case "drop": {
      need(0);
      if (!ctx.egressSpecSlot) throw unsupported(`${op} without standard_metadata.egress_spec`);
      return `${ctx.egressSpecSlot} = S.dropPort;${ctx.mcastGrpSlot ? ` ${ctx.mcastGrpSlot} = 0;` : ""}`;
    }
    case "register_read": {
      need(3);
      const dst = compileLV(ctx, ps[0]);
      const r = ctx.register(String(ps[1].value));
      const store = ctx.gen.ref(r.store, `reg_${String(ps[1].value)}`);
      const i = ctx.gen.tmp("i");
      const v: CE = r.width <= NUM_FIELD_MAX ? { code: `${store}[${i}]`, k: "n", bits: r.width, neg: false } : { code: `${store}[${i}]`, k: "b", bits: r.width, neg: false };
      return `{ const ${i} = ${numOf(ctx, ps[2])}; if (${i} >= 0 && ${i} < ${r.size}) { ${storeCode(dst, v)} } else LOGE("register_read out of range"); }`;
    }
    case "register_write": {
      need(3);
      const r = ctx.register(String(ps[0].value));
      const store = ctx.gen.ref(r.store, `reg_${String(ps[0].value)}`);
      const i = ctx.gen.tmp("i");
      const val = dataOf(ctx, ps[2]);
      const w = r.width;
      let stored: string;
      if (w <= NUM_FIELD_MAX) {
        stored = val.k === "n" ? (val.bits <= w && !val.neg ? val.code : `wrapU(${val.code}, ${w})`) : `Number(BigInt.asUintN(${w}, ${asBig(val)}))`;
      } else stored = `BigInt.asUintN(${w}, ${asBig(val)})`;
      return `{ const ${i} = ${numOf(ctx, ps[1])}; if (${i} >= 0 && ${i} < ${r.size}) ${store}[${i}] = ${stored}; else LOGE("register_write out of range"); }`;
    }
    case "count": {
      need(2);
      return `${ctx.counter(String(ps[0].value))}.count(${numOf(ctx, ps[1])}, S.ingressLen);`;
    }
    case "execute_meter": {
      need(3);
      const m = ctx.meter(String(ps[0].value));
      const dst = compileLV(ctx, ps[2]);
      const c = ctx.gen.tmp("c");
      return `{ const ${c} = METER(${m}, ${numOf(ctx, ps[1])}); if (${c} >= 0) { ${storeCode(dst, { code: c, k: "n", bits: 2, neg: false })} } }`;
    }
    case "modify_field_with_hash_based_offset": {
      need(4);
      const dst = compileLV(ctx, ps[0]);
      const base = dataOf(ctx, ps[1]);
      const calc = ctx.calculation(String(ps[2].value));
      const size = dataOf(ctx, ps[3]);
      const t = ctx.gen.tmp("h");
      if (calc.numeric && base.k === "n" && size.k === "n" && base.bits < 52 && size.bits <= 53) {
        return `{ let ${t} = ${size.code}; if (${t} === 0) ${t} = 1; ${storeCode(dst, { code: `(${calc.ref}() % ${t} + ${base.code})`, k: "n", bits: Math.max(base.bits, size.bits) + 1, neg: false })} }`;
      }
      return `{ let ${t} = ${asBig(size)}; if (${t} === 0n) ${t} = 1n; ${storeCode(dst, { code: `(BigInt(${calc.ref}()) % ${t} + ${asBig(base)})`, k: "b", bits: Infinity, neg: false })} }`;
    }
    case "modify_field_rng_uniform": {
      need(3);
      const dst = compileLV(ctx, ps[0]);
      const lo = dataOf(ctx, ps[1]);
      const hi = dataOf(ctx, ps[2]);
      return `{ const r = RNG(${asBig(lo)}, ${asBig(hi)}); if (r !== undefined) { ${storeCode(dst, { code: "r", k: "b", bits: Infinity, neg: false })} } }`;
    }
    case "clone_ingress_pkt_to_egress":
    case "clone_egress_pkt_to_egress":
      need(2);
      return `S.cloneValid = true; S.cloneSession = ${numOf(ctx, ps[0])} & 0xffff; S.cloneFl = ${numOf(ctx, ps[1])} & 0xffff;`;
    case "resubmit":
      need(1);
      return `S.resubmitFl = ${numOf(ctx, ps[0])} & 0xffff;`;
    case "recirculate":
      need(1);
      return `S.recircFl = ${numOf(ctx, ps[0])} & 0xffff;`;
    case "generate_digest":
      need(2);
      return `S.learnId = ${numOf(ctx, ps[1])} & 0xffff;`;
    case "truncate":
      need(1);
      return `S.truncLen = Math.min(S.truncLen, ${numOf(ctx, ps[0])});`;
    case "exit":
      need(0);
      return "S.exit = true;";
    case "no_op":
      return "";
    case "log_msg": {
      need(2);
      if (ps[0].type !== "string") throw malformed(`${ctx.where}: log_msg format must be a string`);
      const vec: Json[] = ps[1].type === "parameters_vector" && Array.isArray(ps[1].value) ? ps[1].value : [];
      const vals = vec.map((v) => {
        const c = dataOf(ctx, v);
        return c.k === "bool" ? `(${c.code} ? 1 : 0)` : c.code;
      });
      return `LOGMSG(${JSON.stringify(String(ps[0].value))}, [${vals.join(", ")}]);`;
    }
    case "assert":
    case "assume": {
      need(1);
      const c = dataOf(ctx, ps[0]);
      return `if (!${asBool(c)}) FAIL(${JSON.stringify(`${op === "assert" ? "Assert" : "Assume"} error in ${ctx.where}`)});`;
    }
    case "_jump":
      need(1);
      if (!inSwitch) throw malformed("_jump outside a jump-compiled action");
      return `pc = ${Number(parseHex(ps[0].value))}; continue;`;
    case "_jump_if_zero": {
      need(2);
      if (!inSwitch) throw malformed("_jump_if_zero outside a jump-compiled action");
      const c = dataOf(ctx, ps[0]);
      const zero = c.k === "bool" ? `!${c.code}` : c.k === "n" ? `${c.code} === 0` : `${c.code} === 0n`;
      return `if (${zero}) { pc = ${Number(parseHex(ps[1].value))}; continue; }`;
    }
    default:
      throw unsupported(`primitive '${op}' in ${ctx.where}`);
  }
}

/** Compiles a list of primitives into a function body. */
export function compilePrimitiveList(ctx: PrimCtx, prims: Json[]): string {
  const jumps = prims.some((p) => p?.op === "_jump" || p?.op === "_jump_if_zero");
  if (!jumps) return prims.map((p) => compilePrimitive(ctx, p, false)).join("\n");
  const cases = prims.map((p, i) => `case ${i}: ${compilePrimitive(ctx, p, true)}`);
  return `let pc = 0; for (;;) { switch (pc) {\n${cases.join("\n")}\n} break; }`;
}
