/**
 * Name lookup shared by every P4Info object kind: an object is found by its
 * fully-qualified name, its alias, or any dot-separated suffix of its name
 * that no other object of the same kind shares ("ipv4_lpm" for
 * "MyIngress.ipv4_lpm"). Unknown or ambiguous names raise
 * P4InfoLookupError listing the candidates.
 */
import { P4InfoLookupError } from "../errors.js";

export interface Named {
  readonly id: number;
  readonly name: string;
  readonly alias: string;
}

export class NameIndex<T extends Named> implements Iterable<T> {
  private readonly byId = new Map<number, T>();
  private readonly byName = new Map<string, T>();
  private readonly bySuffix = new Map<string, T[]>();
  private readonly all: T[] = [];

  /** `kind` names the object kind in error messages ("table", "action"...). */
  constructor(
    readonly kind: string,
    items: Iterable<T>,
  ) {
    for (const item of items) {
      this.all.push(item);
      this.byId.set(item.id, item);
      this.byName.set(item.name, item);
      const parts = item.name.split(".");
      const suffixes = new Set<string>();
      for (let i = 1; i < parts.length; i++) suffixes.add(parts.slice(i).join("."));
      if (item.alias && item.alias !== item.name) suffixes.add(item.alias);
      for (const s of suffixes) {
        const list = this.bySuffix.get(s);
        if (list) list.push(item);
        else this.bySuffix.set(s, [item]);
      }
    }
  }

  get size(): number {
    return this.all.length;
  }

  /** The items in declaration order (no copy: do not modify). */
  get items(): readonly T[] {
    return this.all;
  }

  [Symbol.iterator](): Iterator<T> {
    return this.all[Symbol.iterator]();
  }

  /** Looks up by id, full name, alias or unique suffix; undefined if none. */
  find(key: string | number): T | undefined {
    if (typeof key === "number") return this.byId.get(key);
    const exact = this.byName.get(key);
    if (exact) return exact;
    const list = this.bySuffix.get(key);
    if (list && list.length === 1) return list[0];
    if (list && list.length > 1) {
      throw new P4InfoLookupError(
        `${this.kind} name "${key}" is ambiguous: it matches ${list.map((t) => `"${t.name}"`).join(", ")}; use the full name`,
        this.kind,
        key,
        list.map((t) => t.name),
      );
    }
    return undefined;
  }

  /** Like find, but an unknown name is an error listing similar names. */
  get(key: string | number): T {
    const found = this.find(key);
    if (found) return found;
    if (typeof key === "number") {
      throw new P4InfoLookupError(`no ${this.kind} with id ${key} (0x${key.toString(16)}) in the P4Info`, this.kind, String(key), []);
    }
    const candidates = this.similar(key);
    const hint =
      candidates.length > 0
        ? `; did you mean ${candidates.map((c) => `"${c}"`).join(", ")}?`
        : this.all.length > 0
          ? `; known: ${this.all
              .slice(0, 12)
              .map((t) => `"${t.name}"`)
              .join(", ")}${this.all.length > 12 ? ", ..." : ""}`
          : `; the P4Info has no ${this.kind}s`;
    throw new P4InfoLookupError(`unknown ${this.kind} "${key}"${hint}`, this.kind, key, candidates);
  }

  /** Names that contain the query or are within a small edit distance of it. */
  private similar(query: string): string[] {
    const q = query.toLowerCase();
    const scored: { name: string; score: number }[] = [];
    for (const t of this.all) {
      const last = t.name.split(".").pop()!.toLowerCase();
      const full = t.name.toLowerCase();
      let score = Infinity;
      if (full.includes(q) || q.includes(last)) score = 0;
      // A dotted query is compared with the whole name, a bare one with the last part.
      else score = q.includes(".") ? editDistance(q, full) : editDistance(q, last);
      if (score <= Math.max(2, Math.floor(q.length / 3))) scored.push({ name: t.name, score });
    }
    scored.sort((a, b) => a.score - b.score || a.name.localeCompare(b.name));
    return scored.slice(0, 5).map((s) => s.name);
  }
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
