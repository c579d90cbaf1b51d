/**
 * Code generation for moving headers between packet bytes and the PHV:
 * per header type an extractor (parser) and an emitter (deparser). Fixed-size
 * types get straight-line code with static bit offsets; varbit types use the
 * generic runtime routines at the end of this file.
 */
import { readBitsBig, readBitsNum, writeBitsBig, writeBitsNum } from "./bits.js";
import type { FieldInfo, HeaderTypeInfo, Phv, PhvLayout } from "./phv.js";

function byteExprRead(d: string, o: string, first: number, last: number): string {
  const n = last - first + 1;
  const at = (i: number): string => `${d}[${o} + ${i}]`;
  if (n === 1) return at(first);
  if (n <= 4) {
    const parts: string[] = [];
    for (let i = first; i <= last; i++) {
      const sh = 8 * (last - i);
      parts.push(sh ? `(${at(i)} << ${sh})` : at(i));
    }
    return n === 4 ? `((${parts.join(" | ")}) >>> 0)` : `(${parts.join(" | ")})`;
  }
  const parts: string[] = [];
  for (let i = first; i <= last; i++) {
    const sh = 8 * (last - i);
    parts.push(sh ? `${at(i)} * ${2 ** sh}` : at(i));
  }
  return `(${parts.join(" + ")})`;
}

/** Expression reading a fixed field (number storage) at bit offset bo. */
export function readFieldCode(d: string, o: string, bo: number, f: FieldInfo): string {
  const w = f.width;
  if (w === 0) return "0";
  const first = bo >> 3;
  const last = (bo + w - 1) >> 3;
  const n = last - first + 1;
  const tail = (last + 1) * 8 - (bo + w);
  const comb = byteExprRead(d, o, first, last);
  let v: string;
  if (n <= 4) {
    if (tail === 0 && w === n * 8) v = comb;
    else {
      const sh = tail ? `(${comb} >>> ${tail})` : comb;
      v = w >= 32 ? `(${sh} >>> 0)` : `(${sh} & ${2 ** w - 1})`;
    }
  } else {
    // more than 4 bytes: keep every intermediate below 2^53 (exact doubles)
    const lead = bo & 7;
    const used = 8 - tail;
    const parts: string[] = [lead ? `(${d}[${o} + ${first}] & ${0xff >> lead})` : `${d}[${o} + ${first}]`];
    for (let i = first + 1; i < last; i++) parts.push(`${d}[${o} + ${i}]`);
    let acc = parts[0]!;
    for (let i = 1; i < parts.length; i++) acc = `(${acc} * 256 + ${parts[i]})`;
    const lastByte = `${d}[${o} + ${last}]`;
    v = `(${acc} * ${2 ** used} + ${tail ? `(${lastByte} >> ${tail})` : lastByte})`;
  }
  if (f.signed) v = `wrapS(${v}, ${w})`;
  return v;
}

/**
 * Statements writing field value `v` (number storage, may be negative for
 * signed fields) into bytes; `touched` tracks which bytes were already
 * written so the first write assigns and later ones OR.
 */
export function writeFieldCode(out: string, o: string, bo: number, f: FieldInfo, v: string, touched: Set<number>): string {
  const w = f.width;
  if (w === 0) return "";
  const first = bo >> 3;
  const last = (bo + w - 1) >> 3;
  const tail = (last + 1) * 8 - (bo + w);
  const lines: string[] = [];
  let val = v;
  if (f.signed) val = `wrapU(${v}, ${w})`;
  const tv = `v${bo}`;
  lines.push(`const ${tv} = ${val};`);
  for (let i = first; i <= last; i++) {
    const down = 8 * (last - i);
    let term: string;
    if (w + tail <= 32) {
      const shifted = tail ? `(${tv} << ${tail})` : tv;
      term = down ? `((${shifted} >>> ${down}) & 255)` : `(${shifted} & 255)`;
    } else {
      const scaled = tail ? `${tv} * ${2 ** tail}` : tv;
      term = down ? `(Math.floor(${scaled} / ${2 ** down}) % 256)` : `(${scaled} % 256)`;
    }
    const isFirst = !touched.has(i);
    touched.add(i);
    lines.push(`${out}[${o} + ${i}] ${isFirst ? "=" : "|="} ${term};`);
  }
  return lines.join(" ");
}

/** Code reading wide field `f` of the header at byte `o` of `d` as a bigint. */
const readBig = (f: { bitOffset: number; width: number }) => `readBitsBig(d, o * 8 + ${f.bitOffset}, ${f.width})`;

/** Generates `function EX_<k>(h, d, o)` extracting a fixed-size header type. */
export function genExtractor(t: HeaderTypeInfo, fname: string): string {
  const lines: string[] = [`function ${fname}(h, d, o) {`, `const nb = NB[h], bb = BB[h];`];
  for (const f of t.fields) {
    if (f.wide) lines.push(`B[bb + ${f.local}] = ${f.signed ? `BigInt.asIntN(${f.width}, ${readBig(f)})` : readBig(f)};`);
    else lines.push(`N[nb + ${f.local}] = ${readFieldCode("d", "o", f.bitOffset, f)};`);
  }
  lines.push("}");
  return lines.join("\n");
}

/** Generates `function DP_<k>(h, out, o)` emitting a fixed-size header type. */
export function genEmitter(t: HeaderTypeInfo, fname: string): string {
  const lines: string[] = [`function ${fname}(h, out, o) {`, `const nb = NB[h], bb = BB[h];`];
  const touched = new Set<number>();
  for (const f of t.fields) {
    if (f.width === 0) continue;
    if (f.wide) {
      // wide fields: make sure untouched bytes are zeroed, then OR the bits in
      const first = f.bitOffset >> 3;
      const last = (f.bitOffset + f.width - 1) >> 3;
      for (let i = first; i <= last; i++) {
        if (!touched.has(i)) lines.push(`out[o + ${i}] = 0;`);
        touched.add(i);
      }
      lines.push(`writeBitsBig(out, o * 8 + ${f.bitOffset}, ${f.width}, B[bb + ${f.local}]);`);
    } else {
      lines.push(writeFieldCode("out", "o", f.bitOffset, f, `N[nb + ${f.local}]`, touched));
    }
  }
  lines.push("}");
  return lines.join("\n");
}

// ---------------------------------------------------------------------------
// generic (varbit) routines

/** Size in bytes of header h as it would appear on the wire now. */
export function headerBytes(layout: PhvLayout, phv: Phv, h: number): number {
  const hi = layout.headers[h]!;
  const t = hi.type;
  return t.varbitIndex < 0 ? t.fixedBits >> 3 : (t.fixedBits + phv.VL[h]!) >> 3;
}

/** Extracts a header whose varbit field is `vlBits` long. */
export function extractGeneric(layout: PhvLayout, phv: Phv, h: number, d: Uint8Array, o: number, vlBits: number): void {
  const hi = layout.headers[h]!;
  let bit = o * 8;
  for (const f of hi.type.fields) {
    const w = f.varbit ? vlBits : f.width;
    if (f.wide) {
      let v = readBitsBig(d, bit, w);
      if (f.signed) v = BigInt.asIntN(w, v);
      phv.B[hi.bBase + f.local] = v;
    } else {
      let v = readBitsNum(d, bit, w);
      if (f.signed && w > 0 && v >= 2 ** (w - 1)) v -= 2 ** w;
      phv.N[hi.nBase + f.local] = v;
    }
    bit += w;
  }
  phv.VL[h] = hi.type.varbitIndex >= 0 ? vlBits : 0;
}

/** Emits a header (any type) into zero-or-garbage bytes at out[o..]. */
export function emitGeneric(layout: PhvLayout, phv: Phv, h: number, out: Uint8Array, o: number): void {
  const hi = layout.headers[h]!;
  const n = headerBytes(layout, phv, h);
  out.fill(0, o, o + n);
  let bit = o * 8;
  for (const f of hi.type.fields) {
    const w = f.varbit ? phv.VL[h]! : f.width;
    if (f.wide) writeBitsBig(out, bit, w, BigInt.asUintN(w, phv.B[hi.bBase + f.local]!));
    else writeBitsNum(out, bit, w, phv.N[hi.nBase + f.local]!);
    bit += w;
  }
}
