/**
 * Loads a BMv2 JSON document and compiles it into one generated JavaScript
 * module: header extractors/emitters, the parser, actions, pipelines (tables'
 * key builders and conditionals as one switch-driven loop per pipeline),
 * calculations, checksums and the deparser. Runtime objects (tables, action
 * profiles, counters, meters, registers, value sets) are plain TypeScript
 * classes the generated code calls into.
 */
import { NUM_FIELD_MAX, parseHex, type Val } from "./bits.js";
import { compileCalculation } from "./calculations.js";
import { Gen } from "./codegen.js";
import type { CompiledAction } from "./actions.js";
import { ActionProfile } from "./action-profiles.js";
import { CounterArray } from "./counters.js";
import { malformed, unsupported } from "./errors.js";
import { asBool, compile, compileLV, storeCode } from "./expressions.js";
import { genEmitter, genExtractor } from "./headers.js";
import { MeterArray } from "./meters.js";
import { compileParser, errorCodes, type ErrorCodes } from "./parse-graph.js";
import { Phv, PhvLayout, arr, str, type FieldRef, type HeaderTypeInfo, type Json } from "./phv.js";
import { compilePrimitiveList, type PrimCtx } from "./primitives.js";
import { RegisterArray } from "./registers.js";
import { runtimeHelpers } from "./runtime-helpers.js";
import { EngineError, type ProgramAction, type EntryAction, type MatchValue, type ProgramTable } from "./runtime-api.js";
import { PacketState } from "./state.js";
import { Table, type KeyDef, type KeyKind } from "./tables.js";
import { ValueSet } from "./value-sets.js";

const KNOWN_TOP_LEVEL = new Set([
  "__meta__",
  "program",
  "header_types",
  "headers",
  "header_stacks",
  "header_union_types",
  "header_unions",
  "header_union_stacks",
  "field_lists",
  "errors",
  "enums",
  "parsers",
  "parse_vsets",
  "deparsers",
  "meter_arrays",
  "counter_arrays",
  "register_arrays",
  "calculations",
  "learn_lists",
  "actions",
  "pipelines",
  "checksums",
  "force_arith",
  "extern_instances",
  "field_aliases",
]);

export interface ProgramOptions {
  readonly clock: () => bigint;
  readonly log: (msg: string) => void;
  readonly random: () => number;
  readonly dropPort: number;
}

export interface LearnList {
  readonly id: number;
  readonly name: string;
  readonly values: () => bigint[];
}

/** Slots of a field list: copied from one packet's PHV into another's. */
export interface FieldList {
  readonly nSlots: number[];
  readonly bSlots: number[];
}

interface Generated {
  parse: (d: Uint8Array, len: number) => number;
  verifyChecksums: () => void;
  ingress: () => void;
  egress: () => void;
  deparse: (payload: Uint8Array, off: number, len: number) => Uint8Array;
  actions: ((P: Val[]) => void)[];
  calcs: (() => number | bigint)[];
  applies: [number, () => number][];
}

export class Program {
  readonly layout: PhvLayout;
  readonly phv: Phv;
  readonly S = new PacketState();
  readonly errors: ErrorCodes;
  readonly actions = new Map<string, CompiledAction>();
  readonly actionsById = new Map<number, CompiledAction>();
  readonly tables = new Map<string, Table>();
  readonly profiles = new Map<string, ActionProfile>();
  readonly counters = new Map<string, CounterArray>();
  readonly meters = new Map<string, MeterArray>();
  readonly registers = new Map<string, RegisterArray>();
  readonly valueSets = new Map<string, ValueSet>();
  readonly learnLists = new Map<number, LearnList>();
  readonly fieldLists = new Map<number, FieldList>();
  readonly initUs: bigint;
  private readonly calcIndex = new Map<string, number>();
  private readonly gen = new Gen();
  private readonly g: Generated;
  /** Hooks filled in by the architecture. */
  onLog: (msg: string) => void;

  constructor(json: Json, private readonly opts: ProgramOptions) {
    if (json === null || typeof json !== "object" || Array.isArray(json)) throw malformed("the document is not a JSON object");
    for (const k of Object.keys(json)) if (!KNOWN_TOP_LEVEL.has(k)) throw unsupported(`top-level JSON attribute '${k}'`);
    const ver = json.__meta__?.version;
    if (!Array.isArray(ver) || ver[0] !== 2) throw unsupported(`BMv2 JSON version ${JSON.stringify(ver)} (need 2.x)`);
    this.onLog = opts.log;
    this.initUs = opts.clock();
    this.S.dropPort = opts.dropPort;
    this.layout = new PhvLayout(json);
    this.phv = new Phv(this.layout);
    this.errors = errorCodes(json);
    for (const e of arr(json.enums ?? [], "enums")) {
      str(e.name, "enum name");
      arr(e.entries, "enum entries");
    }
    for (const x of arr(json.extern_instances ?? [], "extern_instances")) throw unsupported(`extern instance '${String(x.name)}' of type '${String(x.type)}'`);
    for (const c of arr(json.counter_arrays ?? [], "counter_arrays")) {
      if (c.is_direct) continue;
      this.counters.set(str(c.name, "counter name"), new CounterArray(c.name, Number(c.size)));
    }
    for (const m of arr(json.meter_arrays ?? [], "meter_arrays")) {
      if (m.type !== "bytes" && m.type !== "packets") throw unsupported(`meter type '${String(m.type)}' of ${String(m.name)}`);
      if (Number(m.rate_count ?? 2) !== 2) throw unsupported(`meter ${String(m.name)} with rate_count ${String(m.rate_count)}`);
      if (m.is_direct) continue;
      this.meters.set(str(m.name, "meter name"), new MeterArray(m.name, Number(m.size), m.type === "bytes"));
    }
    for (const r of arr(json.register_arrays ?? [], "register_arrays")) {
      this.registers.set(str(r.name, "register name"), new RegisterArray(r.name, Number(r.size), Number(r.bitwidth)));
    }
    for (const v of arr(json.parse_vsets ?? [], "parse_vsets")) {
      this.valueSets.set(str(v.name, "parse_vset name"), new ValueSet(v.name, Number(v.compressed_bitwidth), Number(v.max_size ?? 0)));
    }
    for (const fl of arr(json.field_lists ?? [], "field_lists")) this.fieldLists.set(Number(fl.id), this.fieldList(fl));

    this.g = this.compileAll(json);
    for (const a of this.actionsById.values()) a.fn = this.g.actions[a.idx]!;
  }

  // -- helpers used at load ----------------------------------------------------

  private fieldRef(v: Json, where: string): FieldRef {
    if (!Array.isArray(v) || v.length !== 2) throw malformed(`${where}: bad field reference ${JSON.stringify(v)}`);
    const L = this.layout;
    return (L.headerByName.has(String(v[0])) ? undefined : L.findField(`${String(v[0])}.${String(v[1])}`)) ?? L.field(v[0], v[1]);
  }

  private fieldList(fl: Json): FieldList {
    const nSlots: number[] = [];
    const bSlots: number[] = [];
    for (const e of arr(fl.elements ?? [], "field list elements")) {
      if (e.type !== "field") throw unsupported(`field list element of type '${String(e.type)}' in ${String(fl.name)}`);
      const r = this.fieldRef(e.value, `field list ${String(fl.name)}`);
      if (r.field.wide) bSlots.push(r.header.bBase + r.field.local);
      else nSlots.push(r.header.nBase + r.field.local);
    }
    return { nSlots, bSlots };
  }

  /** Accessor to a named field ("standard_metadata.egress_spec", aliases allowed). */
  slotOf(dotted: string): { wide: boolean; slot: number; width: number } | undefined {
    const r = this.layout.findField(dotted);
    if (!r) return undefined;
    return { wide: r.field.wide, slot: r.field.wide ? r.header.bBase + r.field.local : r.header.nBase + r.field.local, width: r.field.width };
  }

  // -- the compiler ----------------------------------------------------------------

  private compileAll(json: Json): Generated {
    const gen = this.gen;
    const L = this.layout;
    const phv = this.phv;
    const S = this.S;
    const calcs: string[] = [];
    const calcNumeric: boolean[] = [];

    // calculations (named): generated lazily by name
    const calcJson = new Map<string, Json>();
    for (const c of arr(json.calculations ?? [], "calculations")) calcJson.set(str(c.name, "calculation name"), c);
    const calcByName = (name: string): { ref: string; numeric: boolean } => {
      let i = this.calcIndex.get(name);
      if (i === undefined) {
        const c = calcJson.get(name);
        if (!c) throw malformed(`unknown calculation ${name}`);
        i = this.compileCalc(String(c.algo), arr(c.input, `inputs of ${name}`), `calculation ${name}`, calcs, calcNumeric);
        this.calcIndex.set(name, i);
      }
      return { ref: `CALC${i}`, numeric: calcNumeric[i]! };
    };

    const slotCode = (dotted: string): string | undefined => {
      const s = this.slotOf(dotted);
      return s ? (s.wide ? `B[${s.slot}]` : `N[${s.slot}]`) : undefined;
    };
    const baseCtx = (where: string, params?: readonly number[]): PrimCtx => ({
      layout: L,
      gen,
      ...(params ? { params } : {}),
      where,
      register: (name: string) => {
        const r = this.registers.get(name);
        if (!r) throw malformed(`${where}: unknown register array ${name}`);
        return { width: r.width, store: r.store, size: r.size };
      },
      counter: (name: string) => {
        const c = this.counters.get(name);
        if (!c) throw malformed(`${where}: unknown counter array ${name}`);
        return gen.ref(c, `ctr_${name}`);
      },
      meter: (name: string) => {
        const m = this.meters.get(name);
        if (!m) throw malformed(`${where}: unknown meter array ${name}`);
        return gen.ref(m, `mtr_${name}`);
      },
      calculation: calcByName,
      egressSpecSlot: slotCode("standard_metadata.egress_spec"),
      mcastGrpSlot: slotCode("intrinsic_metadata.mcast_grp"),
    });

    // header types: extractors and emitters for fixed-size types
    const typeFn = new Map<HeaderTypeInfo, { ex: string; dp: string }>();
    let tcount = 0;
    for (const t of L.types.values()) {
      if (t.varbitIndex >= 0) continue;
      if (t.fixedBits % 8 !== 0) continue; // only metadata types may be unaligned
      const ex = `EX${tcount}`;
      const dp = `DP${tcount}`;
      tcount++;
      gen.decl(genExtractor(t, ex));
      gen.decl(genEmitter(t, dp));
      typeFn.set(t, { ex, dp });
    }

    // actions
    const actionSrc: string[] = [];
    for (const a of arr(json.actions ?? [], "actions")) {
      const name = str(a.name, "action name");
      const params = arr(a.runtime_data ?? [], `runtime_data of ${name}`).map((p: Json) => ({ name: String(p.name), bitwidth: Number(p.bitwidth) }));
      const info: ProgramAction = { name, params };
      const ca: CompiledAction = { idx: actionSrc.length, id: Number(a.id), name, info, fn: () => {} };
      const ctx = baseCtx(`action ${name}`, params.map((p) => p.bitwidth));
      const body = compilePrimitiveList(ctx, arr(a.primitives ?? [], `primitives of ${name}`));
      actionSrc.push(`function A${ca.idx}(P) {\n${body}\n}`);
      if (this.actionsById.has(ca.id)) throw malformed(`duplicate action id ${ca.id}`);
      this.actionsById.set(ca.id, ca);
      // action names can repeat across controls in odd JSON; keep the first for lookup by name
      if (!this.actions.has(name)) this.actions.set(name, ca);
    }
    for (const s of actionSrc) gen.decl(s);

    // parse value sets
    const vsRef = (name: string) => {
      const vs = this.valueSets.get(name);
      if (!vs) throw malformed(`unknown parse_vset ${name}`);
      return { ref: gen.ref(vs, `vs_${name}`), widths: vs.widths, setWidths: (w: number[]) => vs.setWidths(w) };
    };

    // parser
    const parsers = arr(json.parsers ?? [], "parsers");
    const parserJson = parsers.find((p) => p.name === "parser") ?? parsers[0];
    if (parserJson) {
      gen.decl(
        compileParser(parserJson, {
          ctx: baseCtx("parser"),
          errors: this.errors,
          extractor: (t) => {
            const f = typeFn.get(t);
            if (!f) throw unsupported(`extract of header type ${t.name} whose width is not a whole number of bytes`);
            return f.ex;
          },
          valueSet: vsRef,
        }, "PARSE"),
      );
    } else gen.decl("function PARSE(d, len) { return 0; }");

    // checksums
    const verifies: string[] = [];
    const updates: string[] = [];
    for (const c of arr(json.checksums ?? [], "checksums")) {
      const where = `checksum ${String(c.name)}`;
      if (c.type !== undefined && c.type !== "generic") throw unsupported(`${where} of type '${String(c.type)}'`);
      const target = compileLV(baseCtx(where), { type: "field", value: c.target });
      const calc = calcByName(String(c.calculation));
      const cond = c.if_cond ? asBool(compile(baseCtx(where), c.if_cond)) : "true";
      const v = target.read;
      if (c.verify !== false) {
        const cmp = calc.numeric && v.k === "n" ? `${calc.ref}() !== ${v.code}` : `BigInt(${calc.ref}()) !== ${v.k === "n" ? `BigInt(${v.code})` : v.code}`;
        verifies.push(`if (${cond} && ${cmp}) S.checksumError = true;`);
      }
      if (c.update !== false) {
        const out = calc.numeric ? { code: `${calc.ref}()`, k: "n" as const, bits: 32, neg: false } : { code: `BigInt(${calc.ref}())`, k: "b" as const, bits: 64, neg: false };
        updates.push(`if (${cond}) { ${storeCode(target, out)} }`);
      }
    }
    gen.decl(`function VERIFY() {\n${verifies.join("\n")}\n}`);

    // deparser
    const deparsers = arr(json.deparsers ?? [], "deparsers");
    const dj = deparsers.find((d) => d.name === "deparser") ?? deparsers[0];
    const order: number[] = dj ? arr(dj.order, "deparser order").map((n: Json) => L.header(n).idx) : [];
    if (dj && Array.isArray(dj.primitives) && dj.primitives.length > 0) throw unsupported("deparser primitives");
    {
      const sizeLines: string[] = [];
      const emitLines: string[] = [];
      for (const h of order) {
        const hi = L.headers[h]!;
        const f = typeFn.get(hi.type);
        if (f) {
          const n = hi.type.fixedBits >> 3;
          sizeLines.push(`if (V[${h}] === 1) size += ${n};`);
          emitLines.push(`if (V[${h}] === 1) { ${f.dp}(${h}, out, o); o += ${n}; }`);
        } else {
          sizeLines.push(`if (V[${h}] === 1) size += HBYTES(${h});`);
          emitLines.push(`if (V[${h}] === 1) { EMITG(${h}, out, o); o += HBYTES(${h}); }`);
        }
      }
      gen.decl(`function DEPARSE(payload, poff, plen) {
${updates.join("\n")}
let size = 0;
${sizeLines.join("\n")}
const out = new Uint8Array(size + plen);
let o = 0;
${emitLines.join("\n")}
if (plen > 64) out.set(payload.subarray(poff, poff + plen), o); else for (let i = 0; i < plen; i++) out[o + i] = payload[poff + i];
return out;
}`);
    }

    // learn lists
    const learnSrc: string[] = [];
    for (const ll of arr(json.learn_lists ?? [], "learn_lists")) {
      const where = `learn list ${String(ll.name)}`;
      const vals = arr(ll.elements ?? [], `${where} elements`).map((e: Json) => {
        if (e.type !== "field") throw unsupported(`${where} element of type '${String(e.type)}'`);
        const r = compile(baseCtx(where), e);
        return r.k === "n" ? `BigInt(${r.code})` : r.code;
      });
      const id = Number(ll.id);
      learnSrc.push(`[${id}, () => [${vals.join(", ")}]]`);
      this.learnLists.set(id, { id, name: String(ll.name), values: () => [] });
    }

    // pipelines
    const pipelineRuns: string[] = [];
    const applies: [number, () => number][] = [];
    const applyIdx: string[] = [];
    const pipelines = arr(json.pipelines ?? [], "pipelines");
    const selectorJobs: [ActionProfile, number][] = [];
    for (const p of pipelines) {
      const pname = str(p.name, "pipeline name");
      const nodeIdx = new Map<string, number>();
      const tablesJ = arr(p.tables ?? [], `tables of ${pname}`);
      const condsJ = arr(p.conditionals ?? [], `conditionals of ${pname}`);
      const callsJ = arr(p.action_calls ?? [], `action_calls of ${pname}`);
      for (const n of [...tablesJ, ...condsJ, ...callsJ]) {
        const nm = str(n.name, "node name");
        if (nodeIdx.has(nm)) throw malformed(`pipeline ${pname}: duplicate node name ${nm}`);
        nodeIdx.set(nm, nodeIdx.size);
      }
      const nodeOf = (n: unknown): number => {
        if (n === null || n === undefined) return -1;
        const i = nodeIdx.get(String(n));
        if (i === undefined) throw malformed(`pipeline ${pname}: unknown node ${String(n)}`);
        return i;
      };
      for (const ap of arr(p.action_profiles ?? [], `action_profiles of ${pname}`)) {
        const prof = new ActionProfile(str(ap.name, "action profile name"), Number(ap.max_size ?? 1024), !!ap.selector);
        if (ap.selector) {
          const i = this.compileCalc(String(ap.selector.algo), arr(ap.selector.input, "selector input"), `selector of ${prof.name}`, calcs, calcNumeric);
          selectorJobs.push([prof, i]);
        }
        this.profiles.set(prof.name, prof);
      }
      const cases: string[] = [];
      for (const t of tablesJ) {
        const idx = nodeOf(t.name);
        const { table, keyCode } = this.compileTable(t, nodeOf, baseCtx(`table ${String(t.name)}`), json);
        const ai = applies.length;
        applies.push([ai, this.makeApply(table, json)]);
        const tref = gen.ref(table.K, `K_${table.name}`);
        applyIdx.push(`APPLY${ai}`);
        cases.push(`case ${idx}: ${keyCode.map((c, i) => `${tref}[${i}] = ${c};`).join(" ")} n = APPLY${ai}(); break;`);
      }
      for (const c of condsJ) {
        const where = `conditional ${String(c.name)}`;
        const cond = asBool(compile(baseCtx(where), c.expression));
        cases.push(`case ${nodeOf(c.name)}: n = ${cond} ? ${nodeOf(c.true_next)} : ${nodeOf(c.false_next)}; break;`);
      }
      for (const c of callsJ) {
        const a = this.actionsById.get(Number(c.action_id));
        if (!a) throw malformed(`action call ${String(c.name)}: unknown action id ${String(c.action_id)}`);
        if (a.info.params.length > 0) throw malformed(`action call ${String(c.name)}: action ${a.name} takes parameters`);
        cases.push(`case ${nodeOf(c.name)}: A${a.idx}([]); n = ${nodeOf(c.next_node)}; break;`);
      }
      const init = nodeOf(p.init_table);
      const fname = `RUN_${pname.replace(/[^A-Za-z0-9_]/g, "_")}`;
      gen.decl(`function ${fname}() {
let n = ${init};
while (n >= 0 && !S.exit) {
  switch (n) {
${cases.join("\n")}
    default: n = -1;
  }
}
}`);
      pipelineRuns.push(`${JSON.stringify(pname)}: ${fname}`);
    }

    // calculations last (they may have been requested by anything above)
    calcs.forEach((src) => gen.decl(src));
    const applyDecls = applies.map(([i]) => `const APPLY${i} = APPLIES[${i}][1];`);
    for (const d of applyDecls) gen.decl(d);

    const env = this.helperEnv();
    const out = gen.build<{
      PARSE: Generated["parse"];
      VERIFY: () => void;
      DEPARSE: Generated["deparse"];
      RUNS: Record<string, () => void>;
      ACTIONS: ((P: Val[]) => void)[];
      CALCS: (() => number | bigint)[];
      LEARN: [number, () => bigint[]][];
    }>(
      { ...env, APPLIES: applies },
      `{ PARSE, VERIFY, DEPARSE, RUNS: { ${pipelineRuns.join(", ")} }, ACTIONS: [${actionSrc.map((_, i) => `A${i}`).join(", ")}], CALCS: [${calcs.map((_, i) => `CALC${i}`).join(", ")}], LEARN: [${learnSrc.join(", ")}] }`,
    );
    for (const [prof, i] of selectorJobs) prof.selector = out.CALCS[i]!;
    for (const [id, fn] of out.LEARN) {
      const ll = this.learnLists.get(id)!;
      this.learnLists.set(id, { ...ll, values: fn });
    }
    void phv;
    void S;
    return {
      parse: out.PARSE,
      verifyChecksums: out.VERIFY,
      ingress: out.RUNS["ingress"] ?? (() => {}),
      egress: out.RUNS["egress"] ?? (() => {}),
      deparse: out.DEPARSE,
      actions: out.ACTIONS,
      calcs: out.CALCS,
      applies,
    };
  }

  /** Generates `function CALC<i>()`; returns i. */
  private compileCalc(algo: string, inputs: Json[], where: string, calcs: string[], numeric: boolean[]): number {
    return compileCalculation(this.layout, this.gen, (v: Json, w: string) => this.fieldRef(v, w), algo, inputs, where, calcs, numeric);
  }

  private compileTable(t: Json, nodeOf: (n: unknown) => number, ctx: PrimCtx, json: Json): { table: Table; keyCode: string[] } {
    const name = str(t.name, "table name");
    const L = this.layout;
    const keyDefs: KeyDef[] = [];
    const keyCode: string[] = [];
    for (const k of arr(t.key ?? [], `key of ${name}`)) {
      const mt = String(k.match_type) as KeyKind;
      if (!["exact", "lpm", "ternary", "range", "optional", "valid"].includes(mt)) throw unsupported(`match type '${mt}' in table ${name}`);
      let code: string;
      let width: number;
      if (mt === "valid") {
        const h = L.header(k.target);
        code = `V[${h.idx}]`;
        width = 1;
      } else {
        const target = k.target;
        if (target !== null && typeof target === "object" && !Array.isArray(target) && target.type === "expression") {
          // a field of a header chosen at run time (p4c emits this for stack[index].f)
          const lv = compileLV(ctx, target);
          width = lv.field.width;
          code = lv.read.code;
          if (lv.field.signed) code = lv.field.wide ? `BigInt.asUintN(${width}, ${code})` : `wrapU(${code}, ${width})`;
        } else if (!Array.isArray(target)) {
          throw unsupported(`key target ${JSON.stringify(target)} in table ${name}`);
        } else if (target[1] === "$valid$") {
          code = `V[${L.header(target[0]).idx}]`;
          width = 1;
        } else {
          const r = this.fieldRef(target, `table ${name}`);
          if (r.field.varbit) throw unsupported(`varbit key field in table ${name}`);
          const lv = compileLV(ctx, { type: "field", value: target });
          width = r.field.width;
          code = lv.read.code;
          if (r.field.signed) code = r.field.wide ? `BigInt.asUintN(${width}, ${code})` : `wrapU(${code}, ${width})`;
        }
        if (k.mask != null) {
          const m = BigInt.asUintN(width, parseHex(k.mask));
          if (width <= 32) code = `((${code} & ${m}) >>> 0)`;
          else if (width <= NUM_FIELD_MAX) code = `and53(${code}, ${m})`;
          else code = `(${code} & ${m}n)`;
        }
      }
      keyDefs.push({ name: String(k.name ?? (Array.isArray(k.target) ? k.target.join(".") : k.target)), kind: mt, width });
      keyCode.push(code);
    }
    const actionNames: string[] = arr(t.actions ?? [], `actions of ${name}`).map(String);
    const actionIds: number[] = Array.isArray(t.action_ids) ? t.action_ids.map(Number) : [];
    const allowed = new Map<string, CompiledAction>();
    actionNames.forEach((an, i) => {
      const a = (actionIds[i] !== undefined ? this.actionsById.get(actionIds[i]!) : undefined) ?? this.actions.get(an);
      if (!a) throw malformed(`table ${name}: unknown action ${an}`);
      allowed.set(an, a);
    });
    const ttype = String(t.type ?? "simple");
    if (!["simple", "indirect", "indirect_ws"].includes(ttype)) throw unsupported(`table type '${ttype}' of ${name}`);
    let profile: ActionProfile | undefined;
    if (ttype !== "simple") {
      profile = this.profiles.get(String(t.action_profile));
      if (!profile) throw malformed(`table ${name}: unknown action profile ${String(t.action_profile)}`);
      if (ttype === "indirect_ws" && !profile.selector) throw malformed(`table ${name}: indirect_ws with a profile without selector`);
      for (const [n, a] of allowed) profile.actions.set(n, a);
    }
    let directMeters: string | undefined;
    if (t.direct_meters) {
      directMeters = String(t.direct_meters);
      const m = arr(json.meter_arrays ?? [], "meter_arrays").find((x: Json) => x.name === directMeters);
      if (!m) throw malformed(`table ${name}: unknown direct meter ${directMeters}`);
    }
    const info: ProgramTable = {
      name,
      keys: keyDefs.map((k) => ({ name: k.name, matchType: Table.kindOf(k.kind), bitwidth: k.width })),
      actions: actionNames,
      maxSize: Number(t.max_size ?? 1024),
      ...(profile ? { actionProfile: profile.name } : {}),
      withCounters: !!t.with_counters,
      ...(directMeters ? { directMeters } : {}),
      supportTimeout: !!t.support_timeout,
    };
    let defaultAction: EntryAction | undefined;
    let defConst = false;
    let defEntryConst = false;
    const de = t.default_entry;
    if (de) {
      const a = this.actionsById.get(Number(de.action_id));
      if (!a) throw malformed(`table ${name}: default action id ${String(de.action_id)} unknown`);
      const args = arr(de.action_data ?? [], "action_data").map((x: Json) => parseHex(x));
      defaultAction = { kind: "action", call: { action: a.name, args } };
      defConst = !!de.action_const;
      defEntryConst = !!de.action_entry_const;
      if (profile) throw unsupported(`default_entry with an action on indirect table ${name}`);
      if (!allowed.has(a.name)) allowed.set(a.name, a);
    }
    const entriesJ = Array.isArray(t.entries) ? t.entries : [];
    const table = new Table(info, keyDefs, allowed, {
      immutable: entriesJ.length > 0,
      ...(defaultAction ? { defaultAction } : {}),
      defaultConst: defConst,
      defaultEntryConst: defEntryConst,
    });
    table.profile = profile;
    if (defaultAction) table.defaultBound = table.resolve(defaultAction, `default entry of ${name}`);
    // next nodes
    const nt = t.next_tables ?? {};
    for (const [k, v] of Object.entries(nt)) {
      if (k === "__HIT__") table.nextHit = nodeOf(v);
      else if (k === "__MISS__") table.nextMiss = nodeOf(v);
      else table.nextByAction.set(k, nodeOf(v));
    }
    table.nextNoAction = t.base_default_next !== undefined ? nodeOf(t.base_default_next) : -1;
    // const entries (JSON priority: lower value wins; API priority: larger wins)
    for (const e of entriesJ) {
      const key: MatchValue[] = arr(e.match_key, `entry of ${name}`).map((mk: Json, i: number) => {
        const d = keyDefs[i];
        if (!d) throw malformed(`table ${name}: entry has too many key fields`);
        switch (mk.match_type) {
          case "valid":
            return { kind: "exact", value: mk.key ? 1n : 0n };
          case "exact":
            return { kind: "exact", value: BigInt.asUintN(d.width, parseHex(mk.key)) };
          case "lpm":
            return { kind: "lpm", value: BigInt.asUintN(d.width, parseHex(mk.key)), prefixLength: Number(mk.prefix_length) };
          case "ternary":
            return { kind: "ternary", value: BigInt.asUintN(d.width, parseHex(mk.key)), mask: BigInt.asUintN(d.width, parseHex(mk.mask)) };
          case "range":
            return { kind: "range", low: BigInt.asUintN(d.width, parseHex(mk.start)), high: BigInt.asUintN(d.width, parseHex(mk.end)) };
          case "optional":
            return { kind: "optional", value: BigInt.asUintN(d.width, parseHex(mk.key)), wildcard: false };
          default:
            throw unsupported(`match type '${String(mk.match_type)}' in const entry of ${name}`);
        }
      });
      const a = this.actionsById.get(Number(e.action_entry?.action_id));
      if (!a) throw malformed(`table ${name}: const entry with unknown action`);
      const args = arr(e.action_entry.action_data ?? [], "action_data").map((x: Json) => parseHex(x));
      const priority = 0x7fffffff - Number(e.priority ?? 0);
      table.add({ key, priority, action: { kind: "action", call: { action: a.name, args } } }, this.initUs, true);
    }
    this.tables.set(name, table);
    return { table, keyCode };
  }

  private makeApply(table: Table, json: Json): () => number {
    const S = this.S;
    const initUs = this.initUs;
    let setColor: ((c: number) => void) | undefined;
    let meterBytes = false;
    if (table.info.directMeters) {
      const m = arr(json.meter_arrays ?? [], "meter_arrays").find((x: Json) => x.name === table.info.directMeters);
      meterBytes = m.type === "bytes";
      if (m.result_target) {
        const r = this.fieldRef(m.result_target, `direct meter ${String(m.name)}`);
        const slot = r.field.wide ? r.header.bBase + r.field.local : r.header.nBase + r.field.local;
        const N = this.phv.N;
        const B = this.phv.B;
        setColor = r.field.wide ? (c) => (B[slot] = BigInt(c)) : (c) => (N[slot] = c);
      }
    }
    const withCounters = table.info.withCounters;
    const initNum = Number(initUs);
    return () => {
      const e = table.lookup();
      let b;
      if (e) {
        if (withCounters) {
          e.packets++;
          e.bytes += S.ingressLen;
        }
        if (setColor && e.meter) setColor(e.meter.execute(S.nowUs - initNum, meterBytes ? S.ingressLen : 1));
        e.lastHitUs = S.nowUs;
        b = e.bound ?? table.profile?.select(e.action);
      } else {
        b = table.defaultBound ?? (table.profile && table.defaultAction ? table.profile.select(table.defaultAction) : undefined);
      }
      if (b) b.action.fn(b.args);
      if (e) {
        if (table.nextHit !== undefined) return table.nextHit;
      } else if (table.nextMiss !== undefined) return table.nextMiss;
      if (b) {
        const n = table.nextByAction.get(b.action.name);
        if (n !== undefined) return n;
      }
      return table.nextNoAction;
    };
  }

  /** Functions and arrays the generated code uses. */
  private helperEnv(): Record<string, unknown> {
    return runtimeHelpers({ layout: this.layout, phv: this.phv, S: this.S, log: (m) => this.onLog(m), random: this.opts.random, initUs: this.initUs });
  }

  // -- entry points for the architecture ------------------------------------------

  /** Parses S.data[0..len) into the PHV (which must be reset); returns bytes parsed. */
  parse(len: number): number {
    const S = this.S;
    S.err = this.errors.NoError;
    S.checksumError = false;
    const off = this.g.parse(S.data, len);
    S.payloadOff = off;
    S.payloadLen = len - off;
    this.g.verifyChecksums();
    return off;
  }

  runIngress(): void {
    this.g.ingress();
  }

  runEgress(): void {
    this.g.egress();
  }

  /** Updates checksums and serializes the valid headers followed by the payload. */
  deparse(): Uint8Array {
    const S = this.S;
    return this.g.deparse(S.data, S.payloadOff, S.payloadLen);
  }

  table(name: string): Table {
    const t = this.tables.get(name);
    if (!t) throw new EngineError("NO_SUCH_OBJECT", `no table ${name}`);
    return t;
  }
}

export { formatLog } from "./runtime-helpers.js";
