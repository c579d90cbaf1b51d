/**
 * Match-action tables: entry storage, the match units (exact: hash map; lpm:
 * one hash map per prefix length, longest first; ternary/range/optional:
 * priority-ordered scan), default entries, direct counters and meters, and
 * idle-time bookkeeping.
 */
import { NUM_FIELD_MAX, and53, maskOf, type Val } from "./bits.js";
import { bindAction, type BoundAction, type CompiledAction } from "./actions.js";
import type { ActionProfile } from "./action-profiles.js";
import { Meter } from "./meters.js";
import { SlotAllocator } from "./slots.js";
import {
  EngineError,
  type EntryAction,
  type EntryHandle,
  type EntrySpec,
  type MatchValue,
  type MeterRates,
  type ProgramTable,
} from "./runtime-api.js";

export type KeyKind = "exact" | "lpm" | "ternary" | "range" | "optional" | "valid";

export interface KeyDef {
  readonly name: string;
  readonly kind: KeyKind;
  readonly width: number;
}

type Unit = "exact" | "lpm" | "scan";

/** The masks and range ends of exact and lpm tables' keys: none (frozen, shared). */
const NO_VALS: Val[] = Object.freeze([]) as unknown as Val[];

/** Whether a key value is an unsigned value of at most `full`'s width. */
const fitsIn = (x: bigint, full: bigint): boolean => typeof x === "bigint" && x >= 0n && x <= full;
/** A key value as the engine holds a field of `width` bits. */
const toVal = (x: bigint, width: number): Val => (width <= NUM_FIELD_MAX ? Number(x) : x);

/** Normalized match data of one entry. */
interface Norm {
  /** For exact/lpm units: the map key. */
  mapKey: string | number;
  plen: number;
  /** For the scan unit: per key component. */
  v: Val[];
  m: Val[];
  hi: Val[];
  kinds: KeyKind[];
}

export interface Entry {
  readonly handle: EntryHandle;
  /** BMv2's internal handle: lowest free index; breaks priority ties. */
  readonly slot: number;
  key: MatchValue[];
  priority: number;
  action: EntryAction;
  bound: BoundAction | undefined;
  idleTimeoutNs: bigint | undefined;
  norm: Norm;
  packets: number;
  bytes: number;
  meter: Meter | undefined;
  /** Microseconds (clock value) of the last hit or of insertion. */
  lastHitUs: number;
}

export interface TableRuntimeEnv {
  nowUs(): bigint;
}

export class Table {
  readonly info: ProgramTable;
  readonly unit: Unit;
  /** Key values written by the generated key builder before apply(). */
  readonly K: Val[];
  readonly entries = new Map<EntryHandle, Entry>();
  private nextHandle = 0;
  private readonly slots = new SlotAllocator();
  private readonly exactMap = new Map<string | number, Entry>();
  private readonly lpmMaps = new Map<number, Map<string | number, Entry>>();
  private lpmLens: number[] = [];
  private scanList: Entry[] = [];
  private readonly lpmIndex: number;
  readonly immutable: boolean;
  defaultAction: EntryAction | undefined;
  defaultBound: BoundAction | undefined;
  readonly initialDefault: EntryAction | undefined;
  readonly defaultConst: boolean;
  readonly defaultEntryConst: boolean;
  /** Next node indices, resolved by the program compiler. */
  nextByAction = new Map<string, number>();
  nextHit: number | undefined;
  nextMiss: number | undefined;
  nextNoAction = -1;
  profile: ActionProfile | undefined;

  constructor(
    info: ProgramTable,
    readonly keyDefs: readonly KeyDef[],
    readonly allowed: Map<string, CompiledAction>,
    opts: { immutable: boolean; defaultAction?: EntryAction; defaultConst: boolean; defaultEntryConst: boolean },
  ) {
    this.info = info;
    this.K = keyDefs.map((k) => (k.width <= NUM_FIELD_MAX ? 0 : 0n));
    const kinds = keyDefs.map((k) => k.kind);
    this.kinds = kinds;
    const lpm = kinds.filter((k) => k === "lpm").length;
    const scan = kinds.some((k) => k === "ternary" || k === "range" || k === "optional");
    this.unit = scan || lpm > 1 ? "scan" : lpm === 1 ? "lpm" : "exact";
    this.lpmIndex = kinds.indexOf("lpm");
    this.immutable = opts.immutable;
    this.defaultConst = opts.defaultConst;
    this.defaultEntryConst = opts.defaultEntryConst;
    this.initialDefault = opts.defaultAction;
    this.defaultAction = opts.defaultAction;
  }

  get name(): string {
    return this.info.name;
  }

  /** The key fields' match kinds, shared by every entry's Norm. */
  private readonly kinds: KeyKind[];
  /** The last key `find` normalized: an insert of the same key array (found absent just before) reuses it. */
  private lastFound: { key: readonly MatchValue[]; normal: { norm: Norm; canon: MatchValue[] } } | undefined;

  // -- key handling -----------------------------------------------------------

  private normalize(key: readonly MatchValue[]): { norm: Norm; canon: MatchValue[] } {
    const defs = this.keyDefs;
    if (key.length !== defs.length)
      throw new EngineError("BAD_KEY", `table ${this.name}: expected ${defs.length} key fields, got ${key.length}`);
    const v: Val[] = [];
    // Masks and range ends matter to the scan unit only (exact and lpm tables look entries up by mapKey).
    const scan = this.unit === "scan";
    const m: Val[] = scan ? [] : NO_VALS;
    const hi: Val[] = scan ? [] : NO_VALS;
    const canon: MatchValue[] = [];
    let plen = 0;
    for (let i = 0; i < defs.length; i++) {
      const d = defs[i]!;
      const k = key[i]!;
      const w = d.width;
      const full = maskOf(w);
      const apiKind = d.kind === "valid" ? "exact" : d.kind;
      if (k.kind !== apiKind) throw new EngineError("BAD_KEY", `table ${this.name}: key ${d.name} is ${apiKind}, got ${k.kind}`);
      switch (k.kind) {
        case "exact":
          if (!fitsIn(k.value, full)) throw new EngineError("BAD_KEY", `table ${this.name}: key ${d.name} value does not fit ${w} bits`);
          v.push(toVal(k.value, w));
          if (scan) {
            m.push(toVal(full, w));
            hi.push(0);
          }
          canon.push(k); // already canonical
          break;
        case "lpm": {
          if (!fitsIn(k.value, full) || !Number.isInteger(k.prefixLength) || k.prefixLength < 0 || k.prefixLength > w)
            throw new EngineError("BAD_KEY", `table ${this.name}: bad lpm key ${d.name}`);
          const pm = full ^ maskOf(w - k.prefixLength);
          v.push(toVal(k.value & pm, w));
          if (scan) {
            m.push(toVal(pm, w));
            hi.push(0);
          }
          plen = k.prefixLength;
          canon.push({ kind: "lpm", value: k.value & pm, prefixLength: k.prefixLength });
          break;
        }
        case "ternary":
          if (!fitsIn(k.value, full) || !fitsIn(k.mask, full))
            throw new EngineError("BAD_KEY", `table ${this.name}: ternary key ${d.name} does not fit ${w} bits`);
          v.push(toVal(k.value & k.mask, w));
          m.push(toVal(k.mask, w));
          hi.push(0);
          canon.push({ kind: "ternary", value: k.value & k.mask, mask: k.mask });
          break;
        case "range":
          if (!fitsIn(k.low, full) || !fitsIn(k.high, full) || k.low > k.high)
            throw new EngineError("BAD_KEY", `table ${this.name}: bad range key ${d.name}`);
          v.push(toVal(k.low, w));
          m.push(0);
          hi.push(toVal(k.high, w));
          canon.push({ kind: "range", low: k.low, high: k.high });
          break;
        case "optional":
          if (!fitsIn(k.value, full)) throw new EngineError("BAD_KEY", `table ${this.name}: optional key ${d.name} does not fit ${w} bits`);
          v.push(toVal(k.wildcard ? 0n : k.value, w));
          m.push(toVal(k.wildcard ? 0n : full, w));
          hi.push(0);
          canon.push({ kind: "optional", value: k.wildcard ? 0n : k.value, wildcard: k.wildcard });
          break;
      }
    }
    let mapKey: string | number = 0;
    if (this.unit !== "scan") mapKey = v.length === 1 && typeof v[0] === "number" ? v[0] : v.join(",");
    // Exact and lpm tables compare entries by mapKey: the values stay with the scan unit only (nothing to keep per entry).
    return { norm: { mapKey, plen, v: scan ? v : NO_VALS, m, hi, kinds: this.kinds }, canon };
  }

  private sameKey(a: Entry, n: Norm, priority: number): boolean {
    if (this.unit === "scan" && a.priority !== priority) return false;
    if (a.norm.plen !== n.plen) return false;
    for (let i = 0; i < n.v.length; i++) {
      if (a.norm.v[i] !== n.v[i] || a.norm.m[i] !== n.m[i] || a.norm.hi[i] !== n.hi[i]) return false;
    }
    return true;
  }

  private lookupSame(n: Norm, priority: number): Entry | undefined {
    if (this.unit === "exact") return this.exactMap.get(n.mapKey);
    if (this.unit === "lpm") return this.lpmMaps.get(n.plen)?.get(n.mapKey);
    for (const e of this.scanList) if (this.sameKey(e, n, priority)) return e;
    return undefined;
  }

  // -- action resolution ----------------------------------------------------------

  resolve(action: EntryAction, where: string): BoundAction | undefined {
    if (action.kind === "action") {
      if (this.profile) throw new EngineError("BAD_ACTION", `${where}: table ${this.name} is indirect; use a member or group`);
      const a = this.allowed.get(action.call.action);
      if (!a) throw new EngineError("BAD_ACTION", `${where}: action ${action.call.action} is not an action of table ${this.name}`);
      return bindAction(a, action.call, where);
    }
    const p = this.profile;
    if (!p) throw new EngineError("BAD_ACTION", `${where}: table ${this.name} is not indirect`);
    if (action.kind === "member") {
      if (!p.members.has(action.member)) throw new EngineError("NO_SUCH_ENTRY", `${where}: no member ${action.member} in ${p.name}`);
    } else {
      if (!p.selector) throw new EngineError("BAD_ACTION", `${where}: ${p.name} has no selector; groups are not allowed`);
      if (!p.groups.has(action.group)) throw new EngineError("NO_SUCH_ENTRY", `${where}: no group ${action.group} in ${p.name}`);
    }
    return undefined;
  }

  // -- runtime API -------------------------------------------------------------

  add(spec: EntrySpec, nowUs: bigint, fromJson = false): EntryHandle {
    if (this.immutable && !fromJson) throw new EngineError("UNSUPPORTED", `table ${this.name} has const entries and cannot be modified`);
    if (this.entries.size >= this.info.maxSize) throw new EngineError("TABLE_FULL", `table ${this.name} is full (${this.info.maxSize})`);
    const priority = this.unit === "scan" ? spec.priority : 0;
    if (this.unit === "scan" && (!Number.isInteger(priority) || priority < 0))
      throw new EngineError("BAD_KEY", `table ${this.name}: bad priority ${spec.priority}`);
    const { norm, canon } = this.lastFound?.key === spec.key ? this.lastFound.normal : this.normalize(spec.key);
    this.lastFound = undefined;
    if (this.lookupSame(norm, priority)) throw new EngineError("DUPLICATE_ENTRY", `table ${this.name}: duplicate entry`);
    const bound = this.resolve(spec.action, `table ${this.name}`);
    const timeout = this.checkTimeout(spec.idleTimeoutNs);
    const handle = this.nextHandle++;
    const slot = this.slots.take();
    const e: Entry = {
      handle,
      slot,
      key: canon,
      priority,
      action: spec.action,
      bound,
      idleTimeoutNs: timeout,
      norm,
      packets: 0,
      bytes: 0,
      meter: this.info.directMeters ? new Meter() : undefined,
      lastHitUs: Number(nowUs),
    };
    this.entries.set(handle, e);
    this.profile?.ref(spec.action, +1);
    this.index(e);
    return handle;
  }

  private checkTimeout(t: bigint | undefined): bigint | undefined {
    if (t === undefined || t === 0n) return undefined;
    if (!this.info.supportTimeout) throw new EngineError("UNSUPPORTED", `table ${this.name} does not support idle timeouts`);
    if (t < 0n) throw new EngineError("BAD_VALUE", "negative idle timeout");
    return t;
  }

  private index(e: Entry): void {
    if (this.unit === "exact") this.exactMap.set(e.norm.mapKey, e);
    else if (this.unit === "lpm") {
      let m = this.lpmMaps.get(e.norm.plen);
      if (!m) {
        m = new Map();
        this.lpmMaps.set(e.norm.plen, m);
        this.lpmLens = [...this.lpmMaps.keys()].sort((a, b) => b - a);
      }
      m.set(e.norm.mapKey, e);
    } else {
      // larger priority first; equal priorities: lower internal handle first (BMv2)
      const list = this.scanList;
      let i = list.length;
      while (i > 0 && (list[i - 1]!.priority < e.priority || (list[i - 1]!.priority === e.priority && list[i - 1]!.slot > e.slot))) i--;
      list.splice(i, 0, e);
    }
  }

  private unindex(e: Entry): void {
    if (this.unit === "exact") this.exactMap.delete(e.norm.mapKey);
    else if (this.unit === "lpm") {
      const m = this.lpmMaps.get(e.norm.plen)!;
      m.delete(e.norm.mapKey);
      if (m.size === 0) {
        this.lpmMaps.delete(e.norm.plen);
        this.lpmLens = [...this.lpmMaps.keys()].sort((a, b) => b - a);
      }
    } else this.scanList = this.scanList.filter((x) => x !== e);
  }

  find(key: readonly MatchValue[], priority: number): EntryHandle | undefined {
    let n: Norm;
    try {
      const normal = this.normalize(key);
      this.lastFound = { key, normal };
      n = normal.norm;
    } catch {
      return undefined;
    }
    return this.lookupSame(n, this.unit === "scan" ? priority : 0)?.handle;
  }

  entry(handle: EntryHandle): Entry {
    const e = this.entries.get(handle);
    if (!e) throw new EngineError("NO_SUCH_ENTRY", `table ${this.name}: no entry ${handle}`);
    return e;
  }

  modify(handle: EntryHandle, action: EntryAction, idleTimeoutNs: bigint | undefined): void {
    if (this.immutable) throw new EngineError("UNSUPPORTED", `table ${this.name} has const entries and cannot be modified`);
    const e = this.entry(handle);
    const bound = this.resolve(action, `table ${this.name}`);
    const t = idleTimeoutNs === undefined ? e.idleTimeoutNs : this.checkTimeout(idleTimeoutNs);
    this.profile?.ref(e.action, -1);
    this.profile?.ref(action, +1);
    e.action = action;
    e.bound = bound;
    e.idleTimeoutNs = t;
  }

  delete(handle: EntryHandle): void {
    if (this.immutable) throw new EngineError("UNSUPPORTED", `table ${this.name} has const entries and cannot be modified`);
    const e = this.entry(handle);
    this.unindex(e);
    this.entries.delete(handle);
    this.slots.release(e.slot);
    this.profile?.ref(e.action, -1);
  }

  spec(handle: EntryHandle): EntrySpec {
    const e = this.entry(handle);
    return {
      key: e.key,
      priority: e.priority,
      action: e.action,
      ...(e.idleTimeoutNs !== undefined ? { idleTimeoutNs: e.idleTimeoutNs } : {}),
    };
  }

  setDefault(action: EntryAction): void {
    if (this.defaultEntryConst) throw new EngineError("BAD_ACTION", `table ${this.name}: the default entry is const`);
    if (
      this.defaultConst &&
      action.kind === "action" &&
      this.initialDefault?.kind === "action" &&
      action.call.action !== this.initialDefault.call.action
    )
      throw new EngineError("BAD_ACTION", `table ${this.name}: the default action is const`);
    const bound = this.resolve(action, `default action of ${this.name}`);
    this.profile?.ref(action, +1);
    if (this.defaultAction) this.profile?.ref(this.defaultAction, -1);
    this.defaultAction = action;
    this.defaultBound = bound;
  }

  resetDefault(): void {
    if (this.defaultAction) this.profile?.ref(this.defaultAction, -1);
    this.defaultAction = this.initialDefault;
    this.defaultBound = this.initialDefault ? this.resolve(this.initialDefault, `default action of ${this.name}`) : undefined;
    if (this.initialDefault) this.profile?.ref(this.initialDefault, +1);
  }

  setDirectMeter(handle: EntryHandle, rates: MeterRates | undefined): void {
    const e = this.entry(handle);
    if (!e.meter) throw new EngineError("UNSUPPORTED", `table ${this.name} has no direct meter`);
    e.meter.set(rates);
  }

  // -- packet path ---------------------------------------------------------------

  /** Looks up the key in this.K; undefined on miss. */
  lookup(): Entry | undefined {
    const K = this.K;
    if (this.unit === "exact") {
      return this.exactMap.get(K.length === 1 && typeof K[0] === "number" ? K[0] : K.join(","));
    }
    if (this.unit === "lpm") {
      const li = this.lpmIndex;
      const w = this.keyDefs[li]!.width;
      const orig = K[li]!;
      try {
        for (const p of this.lpmLens) {
          if (typeof orig === "number") K[li] = orig - (orig % 2 ** (w - p));
          else K[li] = orig & (maskOf(w) ^ maskOf(w - p));
          const mk = K.length === 1 && typeof K[0] === "number" ? K[0] : K.join(",");
          const e = this.lpmMaps.get(p)!.get(mk);
          if (e) return e;
        }
      } finally {
        K[li] = orig;
      }
      return undefined;
    }
    const list = this.scanList;
    outer: for (let i = 0; i < list.length; i++) {
      const n = list[i]!.norm;
      for (let j = 0; j < K.length; j++) {
        const k = K[j]!;
        const kind = n.kinds[j];
        if (kind === "range") {
          if (k < n.v[j]! || k > n.hi[j]!) continue outer;
        } else if (typeof k === "number") {
          const m = n.m[j] as number;
          const km = m === 0 ? 0 : k <= 0xffffffff && m <= 0xffffffff ? (k & m) >>> 0 : and53(k, m);
          if (km !== n.v[j]) continue outer;
        } else if ((k & (n.m[j] as bigint)) !== n.v[j]) continue outer;
      }
      return list[i];
    }
    return undefined;
  }

  /** Runtime info for the runtime layer. */
  static kindOf(k: KeyKind): MatchValue["kind"] {
    return k === "valid" ? "exact" : k;
  }
}
