/**
 * The constant entries of a P4 table, read from the program's source, and
 * a lookup that matches them as a ternary table does (the first entry that
 * matches decides). For the TNA port's @hidden decision tables, whose
 * entries no packet test exercises (there is no TNA simulator here).
 * Key values: `_`, `true` / `false`, numbers, `value &&& mask`, and the
 * `const` names of p4/include/headers.p4 and p4/tna/arch.p4.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const p4Dir = fileURLToPath(new URL("../../p4", import.meta.url));

/** One constant entry: per key a value and a mask (mask 0: don't care), and the action with its arguments. */
export interface ConstEntry {
  readonly keys: readonly { readonly value: number; readonly mask: number }[];
  /** e.g. "lh_drop(DROP_DUPLICATE)" or "route_ipv4()". */
  readonly action: string;
}

let constants: Map<string, number> | undefined;

/** The numeric `const` declarations of the headers and the TNA architecture file. */
function p4Constants(): Map<string, number> {
  if (constants) return constants;
  constants = new Map();
  for (const file of ["include/headers.p4", "tna/arch.p4"]) {
    const text = readFileSync(join(p4Dir, file), "utf8");
    for (const [, name, value] of text.matchAll(/^const bit<\d+>\s+(\w+)\s*=\s*(0x[0-9a-fA-F]+|\d+)\s*;/gm))
      constants.set(name!, Number(value));
  }
  return constants;
}

function value(token: string, table: string): number {
  const t = token.trim();
  if (t === "true") return 1;
  if (t === "false") return 0;
  if (/^(0x[0-9a-fA-F]+|\d+)$/.test(t)) return Number(t);
  const c = p4Constants().get(t);
  if (c === undefined) throw new Error(`${table}: unknown value ${t}`);
  return c;
}

/** The body of `const entries = { ... }` of `table <name>` in p4/<file>, comments removed. */
function entriesBlock(file: string, table: string): string {
  const text = readFileSync(join(p4Dir, file), "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
  const start = text.search(new RegExp(`table ${table}\\s*\\{`));
  if (start < 0) throw new Error(`no table ${table} in p4/${file}`);
  const open = text.indexOf("const entries", start);
  const brace = text.indexOf("{", open);
  let depth = 0;
  for (let i = brace; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return text.slice(brace + 1, i);
  }
  throw new Error(`${table}: unterminated const entries`);
}

/** The constant entries of `table <name>` in p4/<file>, in their priority order. */
export function constEntries(file: string, table: string): ConstEntry[] {
  const block = entriesBlock(file, table);
  const entries = [...block.matchAll(/\(([^()]*)\)\s*:\s*(\w+)\(([^()]*)\)\s*;/g)].map(([, keys, action, args]) => ({
    keys: keys!.split(",").map((k) => {
      const t = k.trim();
      if (t === "_") return { value: 0, mask: 0 };
      const [v, m] = t.split("&&&");
      return { value: value(v!, table), mask: m === undefined ? 0xffffffff : value(m, table) };
    }),
    action: `${action}(${args!.trim()})`,
  }));
  if (entries.length === 0) throw new Error(`${table}: no entries read`);
  return entries;
}

/** The action of the first entry that matches `key`, or `defaultAction`. */
export function lookup(entries: readonly ConstEntry[], key: readonly (number | boolean)[], defaultAction: string): string {
  const k = key.map(Number);
  const hit = entries.find((e) => {
    if (e.keys.length !== k.length) throw new Error(`an entry has ${e.keys.length} keys, the lookup ${k.length}`);
    return e.keys.every((m, i) => ((k[i]! ^ m.value) & m.mask) >>> 0 === 0);
  });
  return hit?.action ?? defaultAction;
}
