/**
 * A runner for p4c's STF test scripts (add / setdefault / packet / expect /
 * mirroring and multicast commands), driving the engine the way p4c's
 * bmv2stf.py drives simple_switch through its CLI.
 */
import type { Engine, MatchValue } from "../../src/switch/engine/index.js";

export interface StfResult {
  readonly ok: boolean;
  readonly errors: string[];
  /** Commands the runner does not know (reported, not fatal). */
  readonly skipped: string[];
}

function parseNum(s: string): bigint {
  const t = s.trim();
  if (/^-?0[xX]/.test(t) || /^-?0[bB]/.test(t) || /^-?0[oO]/.test(t)) {
    const neg = t.startsWith("-");
    const v = BigInt(neg ? t.slice(1) : t);
    return neg ? -v : v;
  }
  return BigInt(t);
}

/** Splits "a(b:c, d:e)" style lines into tokens while keeping parentheses groups. */
function tokenize(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let depth = 0;
  for (const c of line) {
    if (c === "(") depth++;
    if (c === ")") depth--;
    if ((c === " " || c === "\t") && depth === 0) {
      if (cur) out.push(cur);
      cur = "";
    } else cur += c;
  }
  if (cur) out.push(cur);
  return out;
}

function ternaryOf(v: string, width: number): { value: bigint; mask: bigint } {
  let prefix: string;
  let body: string;
  let bitsPer: number;
  if (/^0[xX]/.test(v)) [prefix, body, bitsPer] = ["0x", v.slice(2), 4];
  else if (/^0[bB]/.test(v)) [prefix, body, bitsPer] = ["0b", v.slice(2), 1];
  else if (/^0[oO]/.test(v)) [prefix, body, bitsPer] = ["0o", v.slice(2), 3];
  else return { value: BigInt(v), mask: (1n << BigInt(width)) - 1n };
  const full = bitsPer === 4 ? "f" : bitsPer === 1 ? "1" : "7";
  const value = BigInt(prefix + body.replaceAll("*", "0"));
  const mask = BigInt(prefix + body.replace(/[0-9a-fA-F]/g, full).replaceAll("*", "0"));
  return { value: value & mask, mask: mask & ((1n << BigInt(width)) - 1n) };
}

function lpmOf(v: string, width: number): { value: bigint; prefixLength: number } {
  const slash = v.indexOf("/");
  if (slash >= 0) return { value: parseNum(v.slice(0, slash)), prefixLength: Number(v.slice(slash + 1)) };
  let digits: number;
  let bitsPer: number;
  if (/^0[xX]/.test(v)) [digits, bitsPer] = [v.length - 2 - (v.match(/\*/g)?.length ?? 0), 4];
  else if (/^0[bB]/.test(v)) [digits, bitsPer] = [v.length - 2 - (v.match(/\*/g)?.length ?? 0), 1];
  else return { value: BigInt(v), prefixLength: width };
  return { value: BigInt(v.replaceAll("*", "0")), prefixLength: Math.min(width, digits * bitsPer) };
}

function bySuffix<T>(items: readonly T[], name: (t: T) => string, want: string): T | undefined {
  const exact = items.find((t) => name(t) === want);
  if (exact) return exact;
  const c = items.filter((t) => name(t).endsWith(want));
  return c.length === 1 ? c[0] : undefined;
}

export function runStf(engine: Engine, tableNames: readonly string[], script: string): StfResult {
  const errors: string[] = [];
  const skipped: string[] = [];
  const expected = new Map<number, string[]>();
  const got = new Map<number, Uint8Array[]>();
  /** Ports the script names in `packet` and `expect` lines: the only ones p4c's runner gives the switch. */
  const named = new Set<number>();
  const mcNodes: { rid: number; ports: number[] }[] = [];
  const mcGroups = new Map<number, number[]>();
  const syncGroup = (g: number) => {
    const reps = (mcGroups.get(g) ?? []).flatMap((n) => mcNodes[n]!.ports.map((port) => ({ port, rid: mcNodes[n]!.rid })));
    engine.setMulticastGroup(g, reps);
  };
  const parseCall = (tok: string): { name: string; args: [string, string][] } => {
    const m = /^([^(]+)\((.*)\)$/.exec(tok);
    if (!m) return { name: tok, args: [] };
    const args = m[2]!
      .split(",")
      .map((x) => x.trim())
      .filter((x) => x)
      .map((x) => {
        const i = x.indexOf(":");
        return [x.slice(0, i).trim(), x.slice(i + 1).trim()] as [string, string];
      });
    return { name: m[1]!.trim(), args };
  };
  const resolveAction = (table: string, name: string, args: [string, string][]) => {
    const t = engine.table(table);
    const an = bySuffix(t.actions, (a) => a, name);
    if (!an) throw new Error(`no action ${name} in ${table}`);
    const info = engine.action(an);
    const vals = info.params.map((p) => {
      const a = args.find(([k]) => k === p.name);
      if (!a) throw new Error(`missing argument ${p.name} of ${an}`);
      return BigInt.asUintN(p.bitwidth, parseNum(a[1]));
    });
    return { action: an, args: vals };
  };
  const lines = script.split("\n");
  for (let ln = 0; ln < lines.length; ln++) {
    const raw = lines[ln]!.replace(/#.*$/, "").trim();
    if (!raw) continue;
    try {
      const toks = tokenize(raw);
      const cmd = toks[0]!;
      switch (cmd) {
        case "add": {
          const table = bySuffix(tableNames, (t) => t, toks[1]!);
          if (!table) throw new Error(`no table ${toks[1]}`);
          let i = 2;
          let prio = 0;
          if (/^\d+$/.test(toks[i]!)) prio = Number(toks[i++]);
          const info = engine.table(table);
          const keyVals = new Map<number, string>();
          for (; i < toks.length - 1; i++) {
            const t = toks[i]!;
            const c = t.lastIndexOf(":");
            let k = t.slice(0, c).replace(/\$([0-9]+)/g, "[$1]");
            const v = t.slice(c + 1);
            const names = info.keys.map((x) => x.name);
            let idx = names.indexOf(k);
            if (idx < 0) idx = names.indexOf(`${k}.$valid$`);
            if (idx < 0 && k.endsWith(".valid")) idx = names.indexOf(`${k.slice(0, -5)}$valid$`);
            if (idx < 0) {
              const c2 = names.map((n, j) => [n, j] as const).filter(([n]) => n.endsWith(`.${k}`) || n.endsWith(`.${k}$`));
              if (c2.length === 1) idx = c2[0]![1];
            }
            if (idx < 0) throw new Error(`unknown key field ${k} in ${table}`);
            k = names[idx]!;
            keyVals.set(idx, v);
          }
          const key: MatchValue[] = info.keys.map((kd, j) => {
            const v = keyVals.get(j);
            switch (kd.matchType) {
              case "exact":
                return { kind: "exact", value: v === undefined ? 0n : BigInt.asUintN(kd.bitwidth, parseNum(v)) };
              case "lpm":
                return { kind: "lpm", ...(v === undefined ? { value: 0n, prefixLength: 0 } : lpmOf(v, kd.bitwidth)) };
              case "ternary":
                return { kind: "ternary", ...(v === undefined ? { value: 0n, mask: 0n } : ternaryOf(v, kd.bitwidth)) };
              case "optional":
                return v === undefined
                  ? { kind: "optional", value: 0n, wildcard: true }
                  : { kind: "optional", value: parseNum(v), wildcard: false };
              case "range": {
                if (v === undefined) return { kind: "range", low: 0n, high: (1n << BigInt(kd.bitwidth)) - 1n };
                const [lo, hi] = v.split("->");
                return { kind: "range", low: parseNum(lo!), high: parseNum(hi ?? lo!) };
              }
              default:
                throw new Error(`key field ${j} of ${table}: unknown match type`);
            }
          });
          const call = parseCall(toks[toks.length - 1]!);
          engine.addEntry(table, { key, priority: prio, action: { kind: "action", call: resolveAction(table, call.name, call.args) } });
          break;
        }
        case "setdefault": {
          const table = bySuffix(tableNames, (t) => t, toks[1]!);
          if (!table) throw new Error(`no table ${toks[1]}`);
          const call = parseCall(toks.slice(2).join(" "));
          engine.setDefaultAction(table, { kind: "action", call: resolveAction(table, call.name, call.args) });
          break;
        }
        case "packet": {
          const port = Number(toks[1]);
          named.add(port);
          const hex = toks.slice(2).join("");
          const data = Uint8Array.from(Buffer.from(hex, "hex"));
          for (const o of engine.process(port, data)) {
            const l = got.get(o.port) ?? [];
            l.push(o.data);
            got.set(o.port, l);
          }
          break;
        }
        case "expect": {
          const port = Number(toks[1]);
          named.add(port);
          const l = expected.get(port) ?? [];
          l.push(toks.slice(2).join(""));
          expected.set(port, l);
          break;
        }
        case "mirroring_add":
          engine.setCloneSession(Number(toks[1]), { replicas: [{ port: Number(toks[2]), rid: 0 }], truncateBytes: 0 });
          break;
        case "mc_mgrp_create":
          mcGroups.set(Number(toks[1]), []);
          syncGroup(Number(toks[1]));
          break;
        case "mc_node_create":
          mcNodes.push({ rid: Number(toks[1]), ports: toks.slice(2).map(Number) });
          break;
        case "mc_node_associate": {
          const g = Number(toks[1]);
          mcGroups.get(g)?.push(Number(toks[2]));
          syncGroup(g);
          break;
        }
        case "register_write":
          engine.writeRegister(bySuffix([`${toks[1]}`], (x) => x, toks[1]!)!, Number(toks[2]), parseNum(toks[3]!));
          break;
        default:
          skipped.push(raw);
      }
    } catch (e) {
      errors.push(`line ${ln + 1}: ${raw}: ${(e as Error).message}`);
    }
  }
  // compare like p4c's checkOutputs: per port, in order, with '*' wildcards and '$' strict length.
  // p4c's runner gives simple_switch an interface only for the ports the script names in `packet`
  // and `expect` lines; a frame sent to any other port leaves through no interface and is not compared.
  const ports = new Set([...expected.keys(), ...[...got.keys()].filter((p) => named.has(p))]);
  for (const p of ports) {
    const exp = expected.get(p) ?? [];
    const rec = got.get(p) ?? [];
    if (exp.length !== rec.length) {
      errors.push(
        `port ${p}: expected ${exp.length} packets, got ${rec.length}: ${rec.map((r) => Buffer.from(r).toString("hex")).join(" ")}`,
      );
      continue;
    }
    exp.forEach((e0, i) => {
      let e = e0.toUpperCase();
      const strict = e.endsWith("$");
      if (strict) e = e.slice(0, -1);
      const r = Buffer.from(rec[i]!).toString("hex").toUpperCase();
      if ((strict && r.length > e.length) || r.length < e.length) {
        errors.push(`port ${p} packet ${i}: length ${r.length / 2} vs expected ${e.length / 2}\n  got      ${r}\n  expected ${e}`);
        return;
      }
      for (let k = 0; k < e.length; k++) {
        if (e[k] !== "*" && e[k] !== r[k]) {
          errors.push(`port ${p} packet ${i} differs at hex digit ${k}\n  got      ${r}\n  expected ${e}`);
          return;
        }
      }
    });
  }
  return { ok: errors.length === 0, errors, skipped };
}
