/**
 * Named calculations (hashes and checksums): the inputs (fields of valid
 * headers, sized constants, whole headers, the payload) are packed bit by bit
 * into a byte buffer as BMv2's BufBuilder does, then hashed. When every input
 * header is valid the layout is static and the packing is straight-line code.
 */
import { NUM_FIELD_MAX, parseHex } from "./bits.js";
import type { Gen } from "./codegen.js";
import { unsupported } from "./errors.js";
import { compile, type ExprCtx } from "./expressions.js";
import { writeFieldCode } from "./headers.js";
import { hashAlgo } from "./hashes.js";
import type { CalculationInput, FieldName } from "./bmv2-json.js";
import type { FieldRef, PhvLayout } from "./phv.js";

/** Generates `function CALC<i>()` into `calcs`; returns i. */
export function compileCalculation(
  L: PhvLayout,
  gen: Gen,
  fieldRef: (v: FieldName) => FieldRef,
  algo: string,
  inputs: readonly CalculationInput[],
  where: string,
  calcs: string[],
  numeric: boolean[],
): number {
  const h = hashAlgo(algo);
  const href = gen.ref(h, `hash_${algo}`);
  const lines: string[] = [];
  let maxBits = 0;
  let payload = false;
  // static layout, usable when every input header is valid (the common case)
  let fast = true;
  const fastLines: string[] = [];
  const fastValid = new Set<number>();
  const touched = new Set<number>();
  const fastField = (bo: number, width: number, signed: boolean, valueCode: string, wide: boolean): void => {
    if (wide) {
      const first = bo >> 3;
      const last = (bo + width - 1) >> 3;
      for (let b = first; b <= last; b++) {
        if (!touched.has(b)) fastLines.push(`buf[${b}] = 0;`);
        touched.add(b);
      }
      fastLines.push(`writeBitsBig(buf, ${bo}, ${width}, BigInt.asUintN(${width}, ${valueCode}));`);
    } else {
      const fi = { name: "", width, signed, varbit: false, wide: false, local: 0, bitOffset: bo };
      fastLines.push(writeFieldCode("buf", "0", bo, fi, valueCode, touched));
    }
  };
  const ctx: ExprCtx = {
    layout: L,
    gen,
    where,
    register: () => {
      throw unsupported(`register in ${where}`);
    },
  };
  for (const inp of inputs) {
    switch (inp.type) {
      case "field": {
        const r = fieldRef(inp.value);
        const f = r.field;
        const valid = r.header.metadata ? "true" : `V[${r.header.idx}] === 1`;
        const slot = f.wide ? `B[${r.header.bBase + f.local}]` : `N[${r.header.nBase + f.local}]`;
        if (f.varbit) {
          lines.push(`if (${valid}) { const w = VL[${r.header.idx}]; writeBitsBig(buf, bits, w, BigInt.asUintN(w, ${slot})); bits += w; }`);
          fast = false;
        } else if (f.wide)
          lines.push(`if (${valid}) { writeBitsBig(buf, bits, ${f.width}, BigInt.asUintN(${f.width}, ${slot})); bits += ${f.width}; }`);
        else lines.push(`if (${valid}) { writeBitsNum(buf, bits, ${f.width}, ${slot}); bits += ${f.width}; }`);
        if (!f.varbit) {
          if (!r.header.metadata) fastValid.add(r.header.idx);
          fastField(maxBits, f.width, f.signed, slot, f.wide);
        }
        maxBits += f.width;
        break;
      }
      case "hexstr": {
        const w = inp.bitwidth;
        const v = BigInt.asUintN(w, parseHex(inp.value));
        lines.push(`writeBitsBig(buf, bits, ${w}, ${v.toString()}n); bits += ${w};`);
        if (w <= NUM_FIELD_MAX) fastField(maxBits, w, false, v.toString(), false);
        else fastField(maxBits, w, false, `${v.toString()}n`, true);
        maxBits += w;
        break;
      }
      case "header": {
        const hi = L.header(inp.value);
        lines.push(`if (V[${hi.idx}] === 1) { const n = HBYTES(${hi.idx}); EMITG(${hi.idx}, buf, bits >> 3); bits += n * 8; }`);
        maxBits += hi.type.maxLengthBytes * 8;
        fast = false;
        break;
      }
      case "payload":
        payload = true;
        break;
      case "expression": {
        // not in the spec, but harmless: a data expression with an explicit bitwidth
        const c = compile(ctx, inp);
        const w = inp.bitwidth;
        lines.push(`writeBitsBig(buf, bits, ${w}, BigInt.asUintN(${w}, ${c.k === "n" ? `BigInt(${c.code})` : c.code})); bits += ${w};`);
        maxBits += w;
        fast = false;
        break;
      }
    }
  }
  if (fast && maxBits % 8 === 0) {
    const cond = fastValid.size ? [...fastValid].map((h) => `V[${h}] === 1`).join(" && ") : "true";
    const generic = lines.join("\n");
    lines.length = 0;
    lines.push(`if (${cond}) {\n${fastLines.join("\n")}\nbits = ${maxBits};\n} else {\nbuf.fill(0, 0, FIXED);\n${generic}\n}`);
  } else lines.unshift("buf.fill(0, 0, FIXED);");
  const i = calcs.length;
  const fixedBytes = Math.ceil(maxBits / 8) + 8;
  const holder = { buf: new Uint8Array(fixedBytes + (payload ? 2048 : 0)) };
  const href2 = gen.ref(holder, `scratch${i}`);
  const code = lines.join("\n").replaceAll("FIXED", String(fixedBytes));
  const body = payload
    ? `const need = ${fixedBytes} + S.payloadLen; let buf = ${href2}.buf; ` +
      `if (buf.length < need) buf = ${href2}.buf = new Uint8Array(need * 2);
let bits = 0;
${code}
const n0 = (bits + 7) >> 3;
buf.set(S.data.subarray(S.payloadOff, S.payloadOff + S.payloadLen), n0);
return ${href}.compute(buf, n0 + S.payloadLen);`
    : `const buf = ${href2}.buf;
let bits = 0;
${code}
return ${href}.compute(buf, (bits + 7) >> 3);`;
  calcs.push(`function CALC${i}() {\n${body}\n}`);
  numeric.push(h.numeric);
  return i;
}
