/**
 * Packet header vector layout and storage: header types, header instances,
 * stacks, unions and union stacks from the BMv2 JSON, and the flat arrays that
 * hold one packet's field values while it is processed.
 *
 * Every header instance owns a contiguous block of "number" slots (fields of
 * at most NUM_FIELD_MAX bits, exact doubles in a Float64Array) and of "bigint"
 * slots (wider fields and varbit fields). Field k of a header type has a fixed
 * local index inside those blocks, so a field of a header chosen at run time
 * (a stack element) is found as N[nBase[h] + local].
 */
import { NUM_FIELD_MAX } from "./bits.js";
import {
  arr,
  readFieldAlias,
  readHeader,
  readHeaderStack,
  readHeaderType,
  readHeaderUnion,
  readHeaderUnionStack,
  readHeaderUnionType,
  type Bmv2Document,
  type Expression,
  type HeaderType,
  type TypeValue,
} from "./bmv2-json.js";
import { malformed } from "./errors.js";

export interface FieldInfo {
  readonly name: string;
  /** Bit width; for a varbit field, its maximum width. */
  readonly width: number;
  readonly signed: boolean;
  readonly varbit: boolean;
  /** Stored as bigint (B array) rather than number (N array). */
  readonly wide: boolean;
  /** Index inside the header's N block (if !wide) or B block (if wide). */
  readonly local: number;
  /** Bit offset inside the header when no varbit precedes it, else -1. */
  readonly bitOffset: number;
}

export interface HeaderTypeInfo {
  readonly name: string;
  readonly fields: FieldInfo[];
  readonly byName: Map<string, number>;
  readonly nN: number;
  readonly nB: number;
  /** Sum of the widths of the fixed-size fields. */
  readonly fixedBits: number;
  /** Index of the varbit field or -1. */
  readonly varbitIndex: number;
  /** Maximum header length in bytes (varbit headers), else fixedBits/8. */
  readonly maxLengthBytes: number;
  /** The header type's length_exp (width of its varbit field), if any. */
  readonly lengthExp: TypeValue | Expression | null;
}

export interface HeaderInfo {
  readonly idx: number;
  readonly name: string;
  readonly type: HeaderTypeInfo;
  readonly metadata: boolean;
  readonly nBase: number;
  readonly bBase: number;
  /** Header union this header belongs to (index), or -1. */
  union: number;
  /** True for the per-stack scratch header used on out-of-range accesses. */
  readonly dummy: boolean;
}

export interface StackInfo {
  readonly idx: number;
  readonly name: string;
  readonly type: HeaderTypeInfo;
  readonly headers: number[];
  /** Scratch header standing in for out-of-range indices. */
  readonly dummy: number;
}

export interface UnionInfo {
  readonly idx: number;
  readonly name: string;
  readonly memberNames: string[];
  readonly headers: number[];
}

export interface UnionStackInfo {
  readonly idx: number;
  readonly name: string;
  readonly unions: number[];
  readonly memberNames: string[];
  readonly dummy: number;
}

export interface FieldRef {
  readonly header: HeaderInfo;
  readonly field: FieldInfo;
  readonly index: number;
}

export class PhvLayout {
  readonly types = new Map<string, HeaderTypeInfo>();
  readonly headers: HeaderInfo[] = [];
  readonly headerByName = new Map<string, HeaderInfo>();
  readonly stacks: StackInfo[] = [];
  readonly stackByName = new Map<string, StackInfo>();
  readonly unions: UnionInfo[] = [];
  readonly unionByName = new Map<string, UnionInfo>();
  readonly unionStacks: UnionStackInfo[] = [];
  readonly unionStackByName = new Map<string, UnionStackInfo>();
  readonly aliases = new Map<string, [string, string]>();
  nCount = 0;
  bCount = 0;

  constructor(doc: Bmv2Document) {
    for (const t of arr(doc.header_types, "header_types")) this.addType(readHeaderType(t));
    const byId = new Map<number, HeaderInfo>();
    for (const raw of arr(doc.headers, "headers")) {
      const h = readHeader(raw);
      const info = this.addHeader(h.name, this.type(h.header_type), !!h.metadata, false);
      byId.set(h.id, info);
    }
    const hdrOfId = (id: number, ctx: string): HeaderInfo => {
      const h = byId.get(id);
      if (!h) throw malformed(`${ctx}: unknown header id ${id}`);
      return h;
    };
    for (const raw of arr(doc.header_stacks ?? [], "header_stacks")) {
      const s = readHeaderStack(raw);
      const name = s.name;
      const type = this.type(s.header_type);
      const headers = s.header_ids.map((id) => hdrOfId(id, `stack ${name}`).idx);
      const dummy = this.addHeader(`${name}$oob`, type, false, true).idx;
      const st: StackInfo = { idx: this.stacks.length, name, type, headers, dummy };
      this.stacks.push(st);
      this.stackByName.set(name, st);
    }
    const unionTypes = new Map<string, string[]>();
    for (const raw of arr(doc.header_union_types ?? [], "header_union_types")) {
      const u = readHeaderUnionType(raw);
      unionTypes.set(
        u.name,
        u.headers.map((p) => p[0]),
      );
    }
    const unionById = new Map<number, UnionInfo>();
    for (const raw of arr(doc.header_unions ?? [], "header_unions")) {
      const u = readHeaderUnion(raw);
      const name = u.name;
      const memberNames = unionTypes.get(u.union_type);
      if (!memberNames) throw malformed(`header union ${name}: unknown union type ${u.union_type}`);
      const headers = u.header_ids.map((id) => hdrOfId(id, `union ${name}`).idx);
      if (headers.length !== memberNames.length) {
        throw malformed(`header union ${name}: ${headers.length} headers for ${memberNames.length} members`);
      }
      const info: UnionInfo = { idx: this.unions.length, name, memberNames, headers };
      for (const h of headers) this.headers[h]!.union = info.idx;
      this.unions.push(info);
      this.unionByName.set(name, info);
      unionById.set(u.id, info);
    }
    for (const raw of arr(doc.header_union_stacks ?? [], "header_union_stacks")) {
      const us = readHeaderUnionStack(raw);
      const name = us.name;
      const memberNames = unionTypes.get(us.union_type);
      if (!memberNames) throw malformed(`union stack ${name}: unknown union type`);
      const unions = us.header_union_ids.map((id) => {
        const u = unionById.get(id);
        if (!u) throw malformed(`union stack ${name}: unknown union id ${id}`);
        return u.idx;
      });
      // scratch union for out-of-range indices
      const first = this.unions[unions[0] ?? -1];
      if (!first) throw malformed(`union stack ${name} has no unions`);
      const dummyHeaders = first.headers.map(
        (h, i) => this.addHeader(`${name}$oob.${first.memberNames[i]}`, this.headers[h]!.type, false, true).idx,
      );
      const dummyUnion: UnionInfo = { idx: this.unions.length, name: `${name}$oob`, memberNames, headers: dummyHeaders };
      for (const h of dummyHeaders) this.headers[h]!.union = dummyUnion.idx;
      this.unions.push(dummyUnion);
      const info: UnionStackInfo = { idx: this.unionStacks.length, name, unions, memberNames, dummy: dummyUnion.idx };
      this.unionStacks.push(info);
      this.unionStackByName.set(name, info);
    }
    for (const raw of arr(doc.field_aliases ?? [], "field_aliases")) {
      const [alias, [hdr, fname]] = readFieldAlias(raw);
      this.aliases.set(alias, [hdr, fname]);
    }
  }

  private addType(t: HeaderType): void {
    const name = t.name;
    const fields: FieldInfo[] = [];
    const byName = new Map<string, number>();
    let nN = 0;
    let nB = 0;
    let bits = 0;
    let varbitIndex = -1;
    for (const [fname, fwidth, fsigned] of t.fields) {
      const signed = fsigned === true;
      let width: number;
      let varbit = false;
      if (fwidth === "*") {
        if (varbitIndex >= 0) throw malformed(`header type ${name} has two varbit fields`);
        varbit = true;
        varbitIndex = fields.length;
        width = -1; // fixed below
      } else {
        width = fwidth;
        if (signed && width < 2) throw malformed(`signed field ${name}.${fname} narrower than 2 bits`);
      }
      fields.push({ name: fname, width, signed, varbit, wide: false, local: 0, bitOffset: varbitIndex >= 0 && !varbit ? -1 : bits });
      if (!varbit) bits += width;
      byName.set(fname, fields.length - 1);
    }
    // readHeaderType() requires max_length when there is a varbit field
    const maxLength = varbitIndex >= 0 ? (t.max_length ?? 0) : Math.ceil(bits / 8);
    if (varbitIndex >= 0) {
      const maxBits = maxLength * 8 - bits;
      if (maxBits < 0) throw malformed(`max_length of ${name} is smaller than its fixed fields`);
      const f = fields[varbitIndex]!;
      fields[varbitIndex] = { ...f, width: maxBits };
    }
    const final = fields.map((f) => {
      const wide = f.varbit || f.width > NUM_FIELD_MAX;
      return { ...f, wide, local: wide ? nB++ : nN++ };
    });
    this.types.set(name, {
      name,
      fields: final,
      byName,
      nN,
      nB,
      fixedBits: bits,
      varbitIndex,
      maxLengthBytes: maxLength,
      lengthExp: t.length_exp ?? null,
    });
  }

  private addHeader(name: string, type: HeaderTypeInfo, metadata: boolean, dummy: boolean): HeaderInfo {
    if (this.headerByName.has(name)) throw malformed(`duplicate header ${name}`);
    const info: HeaderInfo = { idx: this.headers.length, name, type, metadata, nBase: this.nCount, bBase: this.bCount, union: -1, dummy };
    this.nCount += type.nN;
    this.bCount += type.nB;
    this.headers.push(info);
    this.headerByName.set(name, info);
    return info;
  }

  type(name: unknown): HeaderTypeInfo {
    const t = this.types.get(String(name));
    if (!t) throw malformed(`unknown header type ${String(name)}`);
    return t;
  }

  header(name: unknown): HeaderInfo {
    const h = this.headerByName.get(String(name));
    if (!h) throw malformed(`unknown header ${String(name)}`);
    return h;
  }

  stack(name: unknown): StackInfo {
    const s = this.stackByName.get(String(name));
    if (!s) throw malformed(`unknown header stack ${String(name)}`);
    return s;
  }

  union(name: unknown): UnionInfo {
    const u = this.unionByName.get(String(name));
    if (!u) throw malformed(`unknown header union ${String(name)}`);
    return u;
  }

  unionStack(name: unknown): UnionStackInfo {
    const u = this.unionStackByName.get(String(name));
    if (!u) throw malformed(`unknown header union stack ${String(name)}`);
    return u;
  }

  /** Resolves ["hdr","field"] (also "$valid$" is handled by callers). */
  field(hdr: unknown, fname: unknown): FieldRef {
    const h = this.header(hdr);
    const i = h.type.byName.get(String(fname));
    if (i === undefined) throw malformed(`unknown field ${String(hdr)}.${String(fname)}`);
    return { header: h, field: h.type.fields[i]!, index: i };
  }

  /** Resolves a "hdr.field" name through field_aliases; undefined if absent. */
  findField(dotted: string): FieldRef | undefined {
    const alias = this.aliases.get(dotted);
    let hdr: string;
    let fname: string;
    if (alias) [hdr, fname] = alias;
    else {
      const dot = dotted.indexOf(".");
      hdr = dotted.slice(0, dot);
      fname = dotted.slice(dot + 1);
    }
    const h = this.headerByName.get(hdr);
    if (!h) return undefined;
    const i = h.type.byName.get(fname);
    if (i === undefined) return undefined;
    return { header: h, field: h.type.fields[i]!, index: i };
  }

  /** Code that reads field (h static) as a JS expression over N/B. */
  slotCode(h: HeaderInfo, f: FieldInfo): string {
    return f.wide ? `B[${h.bBase + f.local}]` : `N[${h.nBase + f.local}]`;
  }
}

/** One packet's header values. */
export class Phv {
  readonly N: Float64Array;
  readonly B: bigint[];
  /** Validity per header instance (metadata headers are always valid). */
  readonly V: Uint8Array;
  /** Current bit length of the varbit field per header instance. */
  readonly VL: Int32Array;
  /** "next" index per header stack. */
  readonly NX: Int32Array;
  /** "next" index per header union stack. */
  readonly UNX: Int32Array;
  private readonly metaN: Int32Array;
  private readonly metaB: Int32Array;

  constructor(readonly layout: PhvLayout) {
    this.N = new Float64Array(layout.nCount);
    this.B = new Array<bigint>(layout.bCount).fill(0n);
    this.V = new Uint8Array(layout.headers.length);
    this.VL = new Int32Array(layout.headers.length);
    this.NX = new Int32Array(layout.stacks.length);
    this.UNX = new Int32Array(layout.unionStacks.length);
    const mn: number[] = [];
    const mb: number[] = [];
    for (const h of layout.headers) {
      if (!h.metadata) continue;
      for (let i = 0; i < h.type.nN; i++) mn.push(h.nBase + i);
      for (let i = 0; i < h.type.nB; i++) mb.push(h.bBase + i);
    }
    this.metaN = Int32Array.from(mn);
    this.metaB = Int32Array.from(mb);
    this.reset();
  }

  /** A fresh packet: headers invalid and zero, metadata valid and zero. */
  reset(): void {
    this.N.fill(0);
    this.B.fill(0n);
    this.VL.fill(0);
    this.NX.fill(0);
    this.UNX.fill(0);
    const hs = this.layout.headers;
    for (let i = 0; i < hs.length; i++) this.V[i] = hs[i]!.metadata ? 1 : 0;
  }

  /** BMv2's reset_metadata(): metadata fields back to 0, headers untouched. */
  resetMetadata(): void {
    const N = this.N;
    const mn = this.metaN;
    for (let i = 0; i < mn.length; i++) N[mn[i]!] = 0;
    const mb = this.metaB;
    for (let i = 0; i < mb.length; i++) this.B[mb[i]!] = 0n;
  }

  save(): PhvSnapshot {
    return { N: this.N.slice(), B: this.B.slice(), V: this.V.slice(), VL: this.VL.slice(), NX: this.NX.slice(), UNX: this.UNX.slice() };
  }

  load(s: PhvSnapshot): void {
    this.N.set(s.N);
    for (let i = 0; i < s.B.length; i++) this.B[i] = s.B[i]!;
    this.V.set(s.V);
    this.VL.set(s.VL);
    this.NX.set(s.NX);
    this.UNX.set(s.UNX);
  }
}

export interface PhvSnapshot {
  readonly N: Float64Array;
  readonly B: bigint[];
  readonly V: Uint8Array;
  readonly VL: Int32Array;
  readonly NX: Int32Array;
  readonly UNX: Int32Array;
}
