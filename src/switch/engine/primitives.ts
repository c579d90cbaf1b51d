/**
 * Compiler for action primitives (and parser "primitive" ops) to JavaScript
 * statements. Covers BMv2's core primitives and the ones simple_switch
 * registers for v1model; anything else is rejected at load time by name.
 */
import { NUM_FIELD_MAX, parseHex } from "./bits.js";
import { malformed, unsupported } from "./errors.js";
import { asBig, asBool, asNum, compile, compileLV, fieldRead, storeCode, type CE, type ExprCtx } from "./expressions.js";
import { vectorElements, type ExpressionValue, type Primitive, type TypeValue } from "./bmv2-json.js";

export interface PrimCtx extends ExprCtx {
  /** Resolves object names to generated-code references. */
  readonly counter: (name: string) => string;
  readonly meter: (name: string) => string;
  readonly calculation: (name: string) => { ref: string; numeric: boolean };
  /** Code of the standard_metadata egress_spec / mcast_grp slots (or undefined). */
  readonly egressSpecSlot: string | undefined;
  readonly mcastGrpSlot: string | undefined;
}

function hdrCode(ctx: PrimCtx, p: TypeValue, what: string): string {
  const c = compile(ctx, p);
  if (c.k !== "hdr") throw malformed(`${ctx.where}: ${what} expects a header, got ${c.k}`);
  return c.code;
}

function dataOf(ctx: PrimCtx, p: TypeValue): CE {
  const c = compile(ctx, p);
  if (c.k !== "n" && c.k !== "b" && c.k !== "bool") throw malformed(`${ctx.where}: expected a data operand, got ${c.k}`);
  return c;
}

function exprJson(op: "+" | "-" | "^" | "|" | "&" | "<<" | ">>", left: TypeValue, right: TypeValue): ExpressionValue {
  return { type: "expression", value: { op, left, right } };
}

/** The value of an operand, whatever its type (object names, jump offsets). */
function operandValue(p: TypeValue): unknown {
  return "value" in p ? p.value : undefined;
}

/** Width-typed constant-or-expression as a JS number (for indices, ids). */
function numOf(ctx: PrimCtx, p: TypeValue): string {
  return asNum(dataOf(ctx, p));
}

/** A tuple of N parameters. */
type Params<N extends number, T extends readonly TypeValue[] = readonly []> = T["length"] extends N
  ? T
  : Params<N, readonly [...T, TypeValue]>;

/**
 * Compiles one primitive call. `jumpTargets` is set when the action uses
 * _jump/_jump_if_zero and is compiled as a pc-driven switch.
 */
export function compilePrimitive(ctx: PrimCtx, prim: Primitive, inSwitch: boolean): string {
  const op = prim.op;
  const ps = prim.parameters ?? [];
  /** The parameters, when there are exactly n of them. */
  const need = <N extends number>(n: N): Params<N> => {
    if (ps.length !== n) throw malformed(`${ctx.where}: primitive ${op} expects ${n} parameters, got ${ps.length}`);
    return ps as Params<N>;
  };
  switch (op) {
    case "assign":
    case "modify_field": {
      const [p0, p1] = need(2);
      const dst = compileLV(ctx, p0);
      return storeCode(dst, dataOf(ctx, p1));
    }
    case "assign_VL": {
      const [p0, p1] = need(2);
      const dst = compileLV(ctx, p0);
      const src = compileLV(ctx, p1);
      if (!dst.field.varbit || !src.field.varbit) throw malformed(`${ctx.where}: assign_VL on non-varbit fields`);
      return `${dst.slot} = ${src.slot}; VL[${dst.hcode}] = VL[${src.hcode}];`;
    }
    case "add_to_field":
    case "subtract_from_field": {
      const [p0, p1] = need(2);
      const dst = compileLV(ctx, p0);
      return storeCode(dst, dataOf(ctx, exprJson(op === "add_to_field" ? "+" : "-", p0, p1)));
    }
    case "add":
    case "subtract":
    case "bit_xor":
    case "bit_or":
    case "bit_and":
    case "shift_left":
    case "shift_right": {
      const [p0, p1, p2] = need(3);
      const sym = ({ add: "+", subtract: "-", bit_xor: "^", bit_or: "|", bit_and: "&", shift_left: "<<", shift_right: ">>" } as const)[op];
      const dst = compileLV(ctx, p0);
      return storeCode(dst, dataOf(ctx, exprJson(sym, p1, p2)));
    }
    case "assign_header":
    case "copy_header": {
      const [p0, p1] = need(2);
      return `AH(${hdrCode(ctx, p0, op)}, ${hdrCode(ctx, p1, op)});`;
    }
    case "assign_union": {
      const [p0, p1] = need(2);
      const d = compile(ctx, p0);
      const s = compile(ctx, p1);
      if (d.k !== "union" || s.k !== "union") throw malformed(`${ctx.where}: assign_union on non-unions`);
      return `AU(${d.code}, ${s.code});`;
    }
    case "assign_header_stack":
    case "assign_union_stack": {
      const [p0, p1] = need(2);
      const d = compile(ctx, p0);
      const s = compile(ctx, p1);
      if (d.k === "stack" && s.k === "stack") return `AS(${d.code}, ${s.code});`;
      if (d.k === "ustack" && s.k === "ustack") return `AUS(${d.code}, ${s.code});`;
      throw malformed(`${ctx.where}: ${op} on ${d.k}/${s.k}`);
    }
    case "push":
    case "pop": {
      const [p0, p1] = need(2);
      const s = compile(ctx, p0);
      const n = numOf(ctx, p1);
      if (s.k === "stack") return `${op === "push" ? "PUSH" : "POP"}(${s.code}, ${n});`;
      if (s.k === "ustack") return `${op === "push" ? "UPUSH" : "UPOP"}(${s.code}, ${n});`;
      throw malformed(`${ctx.where}: ${op} on ${s.k}`);
    }
    case "add_header": {
      const [p0] = need(1);
      return `ADDH(${hdrCode(ctx, p0, op)});`;
    }
    case "add_header_fast": {
      const [p0] = need(1);
      return `SETV(${hdrCode(ctx, p0, op)});`;
    }
    case "remove_header": {
      const [p0] = need(1);
      return `REMH(${hdrCode(ctx, p0, op)});`;
    }
    case "mark_to_drop": {
      // BMv2 writes the egress_spec and mcast_grp fields of the header it is given,
      // which p4c may make a copy of standard_metadata (copied back afterwards)
      const [p0] = need(1);
      const h = compile(ctx, p0);
      if (h.k !== "hdr" || !h.htype) throw malformed(`${ctx.where}: mark_to_drop expects a header`);
      const es = h.htype.byName.get("egress_spec");
      if (es === undefined) throw unsupported(`mark_to_drop on header type ${h.htype.name} without an egress_spec field`);
      const mg = h.htype.byName.get("mcast_grp");
      const esLv = fieldRead(ctx, h, h.htype.fields[es]!);
      let code = storeCode(esLv, { code: "S.dropPort", k: "n", bits: 32, neg: false });
      if (mg !== undefined) code += ` ${storeCode(fieldRead(ctx, h, h.htype.fields[mg]!), { code: "0", k: "n", bits: 0, neg: false })}`;
      return code;
    }
    case "drop": {
      need(0);
      if (!ctx.egressSpecSlot) throw unsupported(`${op} without standard_metadata.egress_spec`);
      return `${ctx.egressSpecSlot} = S.dropPort;${ctx.mcastGrpSlot ? ` ${ctx.mcastGrpSlot} = 0;` : ""}`;
    }
    case "register_read": {
      const [p0, p1, p2] = need(3);
      const dst = compileLV(ctx, p0);
      const r = ctx.register(String(operandValue(p1)));
      const store = ctx.gen.ref(r.store, `reg_${String(operandValue(p1))}`);
      const i = ctx.gen.tmp("i");
      const v: CE =
        r.width <= NUM_FIELD_MAX
          ? { code: `${store}[${i}]`, k: "n", bits: r.width, neg: false }
          : { code: `${store}[${i}]`, k: "b", bits: r.width, neg: false };
      return (
        `{ const ${i} = ${numOf(ctx, p2)}; ` +
        `if (${i} >= 0 && ${i} < ${r.size}) { ${storeCode(dst, v)} } else LOGE("register_read out of range"); }`
      );
    }
    case "register_write": {
      const [p0, p1, p2] = need(3);
      const r = ctx.register(String(operandValue(p0)));
      const store = ctx.gen.ref(r.store, `reg_${String(operandValue(p0))}`);
      const i = ctx.gen.tmp("i");
      const val = dataOf(ctx, p2);
      const w = r.width;
      let stored: string;
      if (w <= NUM_FIELD_MAX) {
        stored =
          val.k === "n"
            ? val.bits <= w && !val.neg
              ? val.code
              : `wrapU(${val.code}, ${w})`
            : `Number(BigInt.asUintN(${w}, ${asBig(val)}))`;
      } else stored = `BigInt.asUintN(${w}, ${asBig(val)})`;
      return (
        `{ const ${i} = ${numOf(ctx, p1)}; ` +
        `if (${i} >= 0 && ${i} < ${r.size}) ${store}[${i}] = ${stored}; else LOGE("register_write out of range"); }`
      );
    }
    case "count": {
      const [p0, p1] = need(2);
      return `${ctx.counter(String(operandValue(p0)))}.count(${numOf(ctx, p1)}, S.ingressLen);`;
    }
    case "execute_meter": {
      const [p0, p1, p2] = need(3);
      const m = ctx.meter(String(operandValue(p0)));
      const dst = compileLV(ctx, p2);
      const c = ctx.gen.tmp("c");
      const color: CE = { code: c, k: "n", bits: 2, neg: false };
      return `{ const ${c} = METER(${m}, ${numOf(ctx, p1)}); if (${c} >= 0) { ${storeCode(dst, color)} } }`;
    }
    case "modify_field_with_hash_based_offset": {
      const [p0, p1, p2, p3] = need(4);
      const dst = compileLV(ctx, p0);
      const base = dataOf(ctx, p1);
      const calc = ctx.calculation(String(operandValue(p2)));
      const size = dataOf(ctx, p3);
      const t = ctx.gen.tmp("h");
      if (calc.numeric && base.k === "n" && size.k === "n" && base.bits < 52 && size.bits <= 53) {
        const offset: CE = { code: `(${calc.ref}() % ${t} + ${base.code})`, k: "n", bits: Math.max(base.bits, size.bits) + 1, neg: false };
        return `{ let ${t} = ${size.code}; if (${t} === 0) ${t} = 1; ${storeCode(dst, offset)} }`;
      }
      const offset: CE = { code: `(BigInt(${calc.ref}()) % ${t} + ${asBig(base)})`, k: "b", bits: Infinity, neg: false };
      return `{ let ${t} = ${asBig(size)}; if (${t} === 0n) ${t} = 1n; ${storeCode(dst, offset)} }`;
    }
    case "modify_field_rng_uniform": {
      const [p0, p1, p2] = need(3);
      const dst = compileLV(ctx, p0);
      const lo = dataOf(ctx, p1);
      const hi = dataOf(ctx, p2);
      const r: CE = { code: "r", k: "b", bits: Infinity, neg: false };
      return `{ const r = RNG(${asBig(lo)}, ${asBig(hi)}); if (r !== undefined) { ${storeCode(dst, r)} } }`;
    }
    case "clone_ingress_pkt_to_egress":
    case "clone_egress_pkt_to_egress": {
      const [p0, p1] = need(2);
      return `S.cloneValid = true; S.cloneSession = ${numOf(ctx, p0)} & 0xffff; S.cloneFl = ${numOf(ctx, p1)} & 0xffff;`;
    }
    case "resubmit": {
      const [p0] = need(1);
      return `S.resubmitFl = ${numOf(ctx, p0)} & 0xffff;`;
    }
    case "recirculate": {
      const [p0] = need(1);
      return `S.recircFl = ${numOf(ctx, p0)} & 0xffff;`;
    }
    case "generate_digest": {
      const [, p1] = need(2);
      return `S.learnId = ${numOf(ctx, p1)} & 0xffff;`;
    }
    case "truncate": {
      const [p0] = need(1);
      return `S.truncLen = Math.min(S.truncLen, ${numOf(ctx, p0)});`;
    }
    case "exit":
      need(0);
      return "S.exit = true;";
    case "no_op":
      return "";
    case "log_msg": {
      const [p0, p1] = need(2);
      if (p0.type !== "string") throw malformed(`${ctx.where}: log_msg format must be a string`);
      const vec = p1.type === "parameters_vector" ? vectorElements(p1) : [];
      const vals = vec.map((v) => {
        const c = dataOf(ctx, v);
        return c.k === "bool" ? `(${c.code} ? 1 : 0)` : c.code;
      });
      return `LOGMSG(${JSON.stringify(p0.value)}, [${vals.join(", ")}]);`;
    }
    case "assert":
    case "assume": {
      const [p0] = need(1);
      const c = dataOf(ctx, p0);
      return `if (!${asBool(c)}) FAIL(${JSON.stringify(`${op === "assert" ? "Assert" : "Assume"} error in ${ctx.where}`)});`;
    }
    case "_jump": {
      const [p0] = need(1);
      if (!inSwitch) throw malformed("_jump outside a jump-compiled action");
      return `pc = ${Number(parseHex(operandValue(p0)))}; continue;`;
    }
    case "_jump_if_zero": {
      const [p0, p1] = need(2);
      if (!inSwitch) throw malformed("_jump_if_zero outside a jump-compiled action");
      const c = dataOf(ctx, p0);
      const zero = c.k === "bool" ? `!${c.code}` : c.k === "n" ? `${c.code} === 0` : `${c.code} === 0n`;
      return `if (${zero}) { pc = ${Number(parseHex(operandValue(p1)))}; continue; }`;
    }
    default:
      throw unsupported(`primitive '${op}' in ${ctx.where}`);
  }
}

/** Compiles a list of primitives into a function body. */
export function compilePrimitiveList(ctx: PrimCtx, prims: readonly Primitive[]): string {
  const jumps = prims.some((p) => p.op === "_jump" || p.op === "_jump_if_zero");
  if (!jumps) return prims.map((p) => compilePrimitive(ctx, p, false)).join("\n");
  const cases = prims.map((p, i) => `case ${i}: ${compilePrimitive(ctx, p, true)}`);
  return `let pc = 0; for (;;) { switch (pc) {\n${cases.join("\n")}\n} break; }`;
}
