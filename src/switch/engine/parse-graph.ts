/**
 * Compiler for BMv2 parsers: every parse state becomes a case of one
 * generated function that walks the packet bytes. Parser exceptions are
 * thrown as error-code numbers; the packet keeps the bytes parsed so far and
 * the error code, like BMv2's Parser::parse.
 */
import { NUM_FIELD_MAX, maskOf, parseHex } from "./bits.js";
import { malformed, unsupported } from "./errors.js";
import { asBool, asNum, compile, compileLV, storeCode, type CE } from "./expressions.js";
import { compilePrimitive, type PrimCtx } from "./primitives.js";
import { arr, str, type HeaderInfo, type Json } from "./phv.js";

export interface ErrorCodes {
  readonly byName: Map<string, number>;
  readonly PacketTooShort: number;
  readonly StackOutOfBounds: number;
  readonly HeaderTooShort: number;
  readonly ParserInvalidArgument: number;
  readonly NoError: number;
}

const CORE_ERRORS = ["NoError", "PacketTooShort", "NoMatch", "StackOutOfBounds", "HeaderTooShort", "ParserTimeout", "ParserInvalidArgument"];

export function errorCodes(json: Json): ErrorCodes {
  const byName = new Map<string, number>();
  for (const e of arr(json.errors ?? [], "errors")) {
    if (!Array.isArray(e) || e.length !== 2) throw malformed("errors entry");
    byName.set(String(e[0]), Number(e[1]));
  }
  // core errors the JSON does not declare get fresh values
  let next = Math.max(-1, ...byName.values()) + 1;
  for (const c of CORE_ERRORS) if (!byName.has(c)) byName.set(c, next++);
  return {
    byName,
    PacketTooShort: byName.get("PacketTooShort")!,
    StackOutOfBounds: byName.get("StackOutOfBounds")!,
    HeaderTooShort: byName.get("HeaderTooShort")!,
    ParserInvalidArgument: byName.get("ParserInvalidArgument")!,
    NoError: byName.get("NoError")!,
  };
}

export interface ParserDeps {
  readonly ctx: PrimCtx;
  readonly errors: ErrorCodes;
  /** Name of the generated extractor function for a fixed header type. */
  readonly extractor: (t: HeaderInfo["type"]) => string;
  /** Generated-code reference of a parse value set. */
  readonly valueSet: (name: string) => { ref: string; widths: number[] | undefined; setWidths: (w: number[]) => void };
}

/** Returns the source of `function PARSE(d, len)`; it returns bytes parsed. */
export function compileParser(p: Json, deps: ParserDeps, fname: string): string {
  const { ctx, errors } = deps;
  const L = ctx.layout;
  const states = arr(p.parse_states, "parse_states");
  const index = new Map<string, number>();
  states.forEach((s, i) => index.set(str(s.name, "parse state name"), i));
  const stateIdx = (n: unknown): number => {
    if (n === null || n === undefined) return -1;
    const i = index.get(String(n));
    if (i === undefined) throw malformed(`parser ${String(p.name)}: unknown state ${String(n)}`);
    return i;
  };
  const PTS = errors.PacketTooShort;
  const cases: string[] = [];

  const extractInto = (hcode: string, h: HeaderInfo | undefined, type: HeaderInfo["type"], lenExpr: Json | undefined, where: string): string => {
    if (type.varbitIndex >= 0) {
      const le = lenExpr ?? type.lengthExp;
      if (!le) throw unsupported(`extract of varbit header ${h?.name ?? type.name} without a length expression`);
      const c = compile({ ...ctx, where }, le.type ? le : { type: "expression", value: le });
      const fixed = type.fixedBits >> 3;
      return `{ const nbits = ${asNum(c)}; if (nbits % 8 !== 0) throw ${errors.ParserInvalidArgument}; const nbytes = ${fixed} + nbits / 8; if (len - off < nbytes) throw ${PTS}; if (${type.maxLengthBytes} < nbytes) throw ${errors.HeaderTooShort}; EXVL(${hcode}, d, off, nbits); SETV(${hcode}); off += nbytes; }`;
    }
    const nbytes = type.fixedBits >> 3;
    const ex = deps.extractor(type);
    return `if (len - off < ${nbytes}) throw ${PTS}; ${ex}(${hcode}, d, off); SETV(${hcode}); off += ${nbytes};`;
  };

  for (let si = 0; si < states.length; si++) {
    const s = states[si]!;
    const where = `parser state ${String(s.name)}`;
    const sctx: PrimCtx = { ...ctx, where };
    const body: string[] = [];
    for (const op of arr(s.parser_ops ?? [], "parser_ops")) {
      const ps: Json[] = arr(op.parameters ?? [], "parser op parameters");
      switch (op.op) {
        case "extract":
        case "extract_VL": {
          const t = ps[0];
          const lenExpr = op.op === "extract_VL" ? ps[1] : undefined;
          if (t.type === "regular" && t.value !== null && typeof t.value === "object") {
            // a header chosen at run time (e.g. stack[index])
            const hc = compile(sctx, t.value);
            if (hc.k !== "hdr" || !hc.htype) throw unsupported(`extract target expression of kind ${hc.k} in ${where}`);
            body.push(`{ const h = ${hc.code}; ${extractInto("h", undefined, hc.htype, lenExpr, where)} }`);
          } else if (t.type === "regular") {
            const h = L.header(t.value);
            body.push(extractInto(String(h.idx), h, h.type, lenExpr, where));
          } else if (t.type === "stack") {
            const st = L.stack(t.value);
            body.push(
              `{ if (NX[${st.idx}] >= ${st.headers.length}) throw ${errors.StackOutOfBounds}; const h = SH[${st.idx}][NX[${st.idx}]]; ${extractInto("h", undefined, st.type, lenExpr, where)} NX[${st.idx}]++; }`,
            );
          } else if (t.type === "union_stack") {
            const [usName, member] = t.value as [string, string];
            const us = L.unionStack(usName);
            const k = us.memberNames.indexOf(member);
            if (k < 0) throw malformed(`${where}: unknown union member ${member}`);
            const mtype = L.headers[L.unions[us.unions[0]!]!.headers[k]!]!.type;
            body.push(
              `{ if (UNX[${us.idx}] >= ${us.unions.length}) throw ${errors.StackOutOfBounds}; const h = UH[US[${us.idx}][UNX[${us.idx}]]][${k}]; ${extractInto("h", undefined, mtype, lenExpr, where)} UNX[${us.idx}]++; }`,
            );
          } else throw unsupported(`extract target type '${String(t.type)}' in ${where}`);
          break;
        }
        case "set": {
          if (ps.length !== 2) throw malformed(`${where}: set expects 2 parameters`);
          const dst = compileLV(sctx, ps[0]);
          if (ps[1].type === "lookahead") {
            const [bo, bw] = ps[1].value as [number, number];
            const need = Math.ceil((bo + bw) / 8);
            const v: CE = bw <= NUM_FIELD_MAX ? { code: `LAN(d, off, ${bo}, ${bw})`, k: "n", bits: bw, neg: false } : { code: `LAB(d, off, ${bo}, ${bw})`, k: "b", bits: bw, neg: false };
            body.push(`if (len - off < ${need}) throw ${PTS}; ${storeCode(dst, v)}`);
          } else {
            body.push(storeCode(dst, compile(sctx, ps[1])));
          }
          break;
        }
        case "verify": {
          if (ps.length !== 2) throw malformed(`${where}: verify expects 2 parameters`);
          const cond = asBool(compile(sctx, ps[0]));
          const err = asNum(compile(sctx, ps[1]));
          body.push(`if (!${cond}) throw ${err};`);
          break;
        }
        case "shift": {
          const n = Number(parseHex(ps[0].value));
          body.push(`if (len - off < ${n}) throw ${PTS}; off += ${n};`);
          break;
        }
        case "advance": {
          const c = compile(sctx, ps[0]);
          body.push(`{ const nb = ${asNum(c)}; if (nb % 8 !== 0) throw ${errors.ParserInvalidArgument}; if (len - off < nb / 8) throw ${PTS}; off += nb / 8; }`);
          break;
        }
        case "primitive": {
          const prim = ps[0];
          body.push(compilePrimitive(sctx, prim, false));
          break;
        }
        default:
          throw unsupported(`parser op '${String(op.op)}' in ${where}`);
      }
    }
    // transition key
    const keyParts: { code: string; width: number }[] = [];
    for (const k of arr(s.transition_key ?? [], "transition_key")) {
      if (k.type === "lookahead") {
        const [bo, bw] = k.value as [number, number];
        keyParts.push({ code: bw <= NUM_FIELD_MAX ? `LAN(d, off, ${bo}, ${bw})` : `LAB(d, off, ${bo}, ${bw})`, width: bw });
      } else if (k.type === "union_stack_field") {
        const [usName, member, fname] = k.value as [string, string, string];
        const us = L.unionStack(usName);
        const m = us.memberNames.indexOf(member);
        const mt = L.headers[L.unions[us.unions[0]!]!.headers[m]!]!.type;
        const fi = mt.byName.get(fname);
        if (m < 0 || fi === undefined) throw malformed(`${where}: bad union_stack_field`);
        const f = mt.fields[fi]!;
        const slot = f.wide ? `B[BB[UH[US[${us.idx}][Math.max(0, UNX[${us.idx}] - 1)]][${m}]] + ${f.local}]` : `N[NB[UH[US[${us.idx}][Math.max(0, UNX[${us.idx}] - 1)]][${m}]] + ${f.local}]`;
        keyParts.push({ code: f.signed ? (f.wide ? `BigInt.asUintN(${f.width}, ${slot})` : `wrapU(${slot}, ${f.width})`) : slot, width: f.width });
      } else {
        const c = compile(sctx, k);
        if (c.k !== "n" && c.k !== "b") throw malformed(`${where}: transition key of kind ${c.k}`);
        // key value of a signed field is its two's complement bit pattern
        const width = Number.isFinite(c.bits) ? c.bits : 64;
        const code = c.neg ? (c.k === "n" ? `wrapU(${c.code}, ${width})` : `BigInt.asUintN(${width}, ${c.code})`) : c.code;
        keyParts.push({ code, width });
      }
    }
    const kv = keyParts.map((_, i) => `k${i}`);
    const decl = keyParts.map((kp, i) => `const k${i} = ${kp.code};`).join(" ");
    const trans: string[] = [];
    let hasDefault = false;
    for (const t of arr(s.transitions ?? [], "transitions")) {
      const next = stateIdx(t.next_state);
      if (t.type === "default" || t.value === "default") {
        trans.push(`st = ${next}; continue;`);
        hasDefault = true;
        break;
      }
      if (t.type === "hexstr") {
        const v = parseHex(t.value);
        const m = t.mask == null ? undefined : parseHex(t.mask);
        const conds: string[] = [];
        let shift = 0n;
        for (let i = keyParts.length - 1; i >= 0; i--) {
          const bytes = Math.ceil(keyParts[i]!.width / 8);
          const part = (v >> shift) & maskOf(bytes * 8);
          const mpart = m === undefined ? undefined : (m >> shift) & maskOf(bytes * 8);
          shift += BigInt(bytes * 8);
          const kw = keyParts[i]!.width;
          const isNum = kw <= NUM_FIELD_MAX;
          const lit = (x: bigint): string => (isNum ? x.toString() : `${x.toString()}n`);
          if (mpart === undefined || (mpart & maskOf(kw)) === maskOf(kw)) {
            if (mpart !== undefined && (part & mpart) !== part) conds.push(`(${kv[i]} & ${lit(mpart)}) === ${lit(part & mpart)}`);
            else conds.push(`${kv[i]} === ${lit(part)}`);
          } else if (mpart === 0n) {
            continue;
          } else if (isNum && kw <= 32) {
            conds.push(`((${kv[i]} & ${mpart}) >>> 0) === ${part & mpart}`);
          } else if (isNum) {
            conds.push(`and53(${kv[i]}, ${mpart}) === ${part & mpart}`);
          } else {
            conds.push(`(${kv[i]} & ${mpart}n) === ${part & mpart}n`);
          }
        }
        trans.push(`if (${conds.length ? conds.join(" && ") : "true"}) { st = ${next}; continue; }`);
      } else if (t.type === "parse_vset") {
        const vs = deps.valueSet(String(t.value));
        const widths = keyParts.map((k) => k.width);
        vs.setWidths(widths);
        let maskArr = "undefined";
        if (t.mask != null) {
          const m = parseHex(t.mask);
          const parts: string[] = [];
          let shift = 0n;
          for (let i = keyParts.length - 1; i >= 0; i--) {
            const bytes = Math.ceil(keyParts[i]!.width / 8);
            parts.unshift(`${((m >> shift) & maskOf(bytes * 8)).toString()}n`);
            shift += BigInt(bytes * 8);
          }
          maskArr = `[${parts.join(", ")}]`;
        }
        trans.push(`if (${vs.ref}.match([${kv.join(", ")}], ${maskArr})) { st = ${next}; continue; }`);
      } else throw unsupported(`transition type '${String(t.type)}' in ${where}`);
    }
    if (!hasDefault) trans.push("st = -1; continue;");
    cases.push(`case ${si}: {\n${body.join("\n")}\n${decl}\n${trans.join("\n")}\n}`);
  }
  const init = stateIdx(p.init_state);
  return `function ${fname}(d, len) {
let off = 0, st = ${init};
try {
  while (st >= 0) {
    switch (st) {
${cases.join("\n")}
      default: st = -1;
    }
  }
} catch (e) {
  if (typeof e !== "number") throw e;
  S.err = e;
}
return off;
}`;
}
