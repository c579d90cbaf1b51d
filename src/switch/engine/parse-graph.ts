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
import { arr, readError, type Bmv2Document, type Expression, type Parser, type TypeValue } from "./bmv2-json.js";
import type { HeaderInfo } from "./phv.js";

export interface ErrorCodes {
  readonly byName: Map<string, number>;
  readonly PacketTooShort: number;
  readonly StackOutOfBounds: number;
  readonly HeaderTooShort: number;
  readonly ParserInvalidArgument: number;
  readonly NoError: number;
}

const CORE_ERRORS = [
  "NoError",
  "PacketTooShort",
  "NoMatch",
  "StackOutOfBounds",
  "HeaderTooShort",
  "ParserTimeout",
  "ParserInvalidArgument",
];

export function errorCodes(doc: Bmv2Document): ErrorCodes {
  const byName = new Map<string, number>();
  for (const e of arr(doc.errors ?? [], "errors")) {
    const [name, value] = readError(e);
    byName.set(name, value);
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
export function compileParser(p: Parser, deps: ParserDeps, fname: string): string {
  const { ctx, errors } = deps;
  const L = ctx.layout;
  const states = p.parse_states;
  const index = new Map<string, number>();
  for (const [i, s] of states.entries()) index.set(s.name, i);
  const stateIdx = (n: string | null | undefined): number => {
    if (n === null || n === undefined) return -1;
    const i = index.get(n);
    if (i === undefined) throw malformed(`parser ${p.name}: unknown state ${n}`);
    return i;
  };
  const PTS = errors.PacketTooShort;
  const cases: string[] = [];

  type HeaderType = HeaderInfo["type"];
  type LengthExpr = TypeValue | undefined;
  const extractInto = (hcode: string, h: HeaderInfo | undefined, type: HeaderType, lenExpr: LengthExpr, where: string): string => {
    if (type.varbitIndex >= 0) {
      const le: TypeValue | Expression | null = lenExpr ?? type.lengthExp;
      if (!le) throw unsupported(`extract of varbit header ${h?.name ?? type.name} without a length expression`);
      const c = compile({ ...ctx, where }, "type" in le ? le : { type: "expression", value: le });
      const fixed = type.fixedBits >> 3;
      return (
        `{ const nbits = ${asNum(c)}; if (nbits % 8 !== 0) throw ${errors.ParserInvalidArgument}; ` +
        `const nbytes = ${fixed} + nbits / 8; if (len - off < nbytes) throw ${PTS}; ` +
        `if (${type.maxLengthBytes} < nbytes) throw ${errors.HeaderTooShort}; ` +
        `EXVL(${hcode}, d, off, nbits); SETV(${hcode}); off += nbytes; }`
      );
    }
    const nbytes = type.fixedBits >> 3;
    const ex = deps.extractor(type);
    return `if (len - off < ${nbytes}) throw ${PTS}; ${ex}(${hcode}, d, off); SETV(${hcode}); off += ${nbytes};`;
  };

  for (let si = 0; si < states.length; si++) {
    const s = states[si]!;
    const where = `parser state ${s.name}`;
    const sctx: PrimCtx = { ...ctx, where };
    const body: string[] = [];
    for (const op of s.parser_ops) {
      switch (op.op) {
        case "extract":
        case "extract_VL": {
          const t = op.parameters[0];
          const lenExpr = op.op === "extract_VL" ? op.parameters[1] : undefined;
          if (t.type === "regular" && typeof t.value !== "string") {
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
              `{ if (NX[${st.idx}] >= ${st.headers.length}) throw ${errors.StackOutOfBounds}; const h = SH[${st.idx}][NX[${st.idx}]]; ` +
                `${extractInto("h", undefined, st.type, lenExpr, where)} NX[${st.idx}]++; }`,
            );
          } else {
            const [usName, member] = t.value;
            const us = L.unionStack(usName);
            const k = us.memberNames.indexOf(member);
            if (k < 0) throw malformed(`${where}: unknown union member ${member}`);
            const mtype = L.headers[L.unions[us.unions[0]!]!.headers[k]!]!.type;
            body.push(
              `{ if (UNX[${us.idx}] >= ${us.unions.length}) throw ${errors.StackOutOfBounds}; ` +
                `const h = UH[US[${us.idx}][UNX[${us.idx}]]][${k}]; ` +
                `${extractInto("h", undefined, mtype, lenExpr, where)} UNX[${us.idx}]++; }`,
            );
          }
          break;
        }
        case "set": {
          const [dstJ, src] = op.parameters;
          const dst = compileLV(sctx, dstJ);
          if (src.type === "lookahead") {
            const [bo, bw] = src.value;
            const need = Math.ceil((bo + bw) / 8);
            const v: CE =
              bw <= NUM_FIELD_MAX
                ? { code: `LAN(d, off, ${bo}, ${bw})`, k: "n", bits: bw, neg: false }
                : { code: `LAB(d, off, ${bo}, ${bw})`, k: "b", bits: bw, neg: false };
            body.push(`if (len - off < ${need}) throw ${PTS}; ${storeCode(dst, v)}`);
          } else {
            body.push(storeCode(dst, compile(sctx, src)));
          }
          break;
        }
        case "verify": {
          const cond = asBool(compile(sctx, op.parameters[0]));
          const err = asNum(compile(sctx, op.parameters[1]));
          body.push(`if (!${cond}) throw ${err};`);
          break;
        }
        case "shift": {
          const n = Number(parseHex(op.parameters[0].value));
          body.push(`if (len - off < ${n}) throw ${PTS}; off += ${n};`);
          break;
        }
        case "advance": {
          const c = compile(sctx, op.parameters[0]);
          body.push(
            `{ const nb = ${asNum(c)}; if (nb % 8 !== 0) throw ${errors.ParserInvalidArgument}; ` +
              `if (len - off < nb / 8) throw ${PTS}; off += nb / 8; }`,
          );
          break;
        }
        case "primitive":
          body.push(compilePrimitive(sctx, op.parameters[0], false));
          break;
      }
    }
    // transition key
    const keyParts: { code: string; width: number }[] = [];
    for (const k of s.transition_key) {
      if (k.type === "lookahead") {
        const [bo, bw] = k.value;
        keyParts.push({ code: bw <= NUM_FIELD_MAX ? `LAN(d, off, ${bo}, ${bw})` : `LAB(d, off, ${bo}, ${bw})`, width: bw });
      } else if (k.type === "union_stack_field") {
        const [usName, member, fname] = k.value;
        const us = L.unionStack(usName);
        const m = us.memberNames.indexOf(member);
        const mt = L.headers[L.unions[us.unions[0]!]!.headers[m]!]!.type;
        const fi = mt.byName.get(fname);
        if (m < 0 || fi === undefined) throw malformed(`${where}: bad union_stack_field`);
        const f = mt.fields[fi]!;
        const slot = f.wide
          ? `B[BB[UH[US[${us.idx}][Math.max(0, UNX[${us.idx}] - 1)]][${m}]] + ${f.local}]`
          : `N[NB[UH[US[${us.idx}][Math.max(0, UNX[${us.idx}] - 1)]][${m}]] + ${f.local}]`;
        keyParts.push({
          code: f.signed ? (f.wide ? `BigInt.asUintN(${f.width}, ${slot})` : `wrapU(${slot}, ${f.width})`) : slot,
          width: f.width,
        });
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
    for (const t of s.transitions) {
      const next = stateIdx(t.next_state);
      if (t.type === "default") {
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
            // A zero mask matches every value of this part: no condition.
          } else if (isNum && kw <= 32) {
            conds.push(`((${kv[i]} & ${mpart}) >>> 0) === ${part & mpart}`);
          } else if (isNum) {
            conds.push(`and53(${kv[i]}, ${mpart}) === ${part & mpart}`);
          } else {
            conds.push(`(${kv[i]} & ${mpart}n) === ${part & mpart}n`);
          }
        }
        trans.push(`if (${conds.length ? conds.join(" && ") : "true"}) { st = ${next}; continue; }`);
      } else {
        const vs = deps.valueSet(t.value);
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
      }
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
