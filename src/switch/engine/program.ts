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
import {
  arr,
  obj,
  readAction,
  readCalculation,
  readChecksum,
  readCounterArray,
  readDeparser,
  readDocument,
  readEnum,
  readExternInstance,
  readFieldList,
  readLearnList,
  readMeterArray,
  readParser,
  readParseVset,
  readPipeline,
  readRegisterArray,
  str,
  type Bmv2Document,
  type CalculationInput,
  type FieldList as FieldListSpec,
  type FieldName,
  type MeterArray as MeterArraySpec,
  type Table as TableSpec,
} from "./bmv2-json.js";
import { Phv, PhvLayout, type FieldRef, type HeaderTypeInfo } from "./phv.js";
import { compilePrimitiveList, type PrimCtx } from "./primitives.js";
import { RegisterArray } from "./registers.js";
import { runtimeHelpers } from "./runtime-helpers.js";
import { EngineError, type ProgramAction, type EntryAction, type MatchValue, type ProgramTable } from "./runtime-api.js";
import type { PortStatus } from "./port-status.js";
import { PacketState } from "./state.js";
import { Table, type KeyDef } from "./tables.js";
import { ValueSet } from "./value-sets.js";

export interface ProgramOptions {
  readonly clock: () => bigint;
  readonly log: (msg: string) => void;
  readonly random: () => number;
  readonly dropPort: number;
  /** The switch's port status (action selectors' watch ports). */
  readonly portStatus: PortStatus;
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
  /** The document's meter arrays (direct ones included), for tables' direct meters. */
  private readonly meterSpecs: MeterArraySpec[] = [];
  private readonly calcIndex = new Map<string, number>();
  private readonly gen = new Gen();
  private readonly g: Generated;
  /** Hooks filled in by the architecture. */
  onLog: (msg: string) => void;

  constructor(
    json: unknown,
    private readonly opts: ProgramOptions,
  ) {
    const doc = readDocument(json);
    this.onLog = opts.log;
    this.initUs = opts.clock();
    this.S.dropPort = opts.dropPort;
    this.layout = new PhvLayout(doc);
    this.phv = new Phv(this.layout);
    this.errors = errorCodes(doc);
    for (const e of arr(doc.enums ?? [], "enums")) readEnum(e);
    for (const raw of arr(doc.extern_instances ?? [], "extern_instances")) {
      const x = readExternInstance(raw);
      throw unsupported(`extern instance '${x.name}' of type '${x.type}'`);
    }
    for (const raw of arr(doc.counter_arrays ?? [], "counter_arrays")) {
      const c = readCounterArray(raw);
      if (c.is_direct) continue;
      this.counters.set(c.name, new CounterArray(c.name, c.size));
    }
    for (const raw of arr(doc.meter_arrays ?? [], "meter_arrays")) {
      const m = readMeterArray(raw);
      this.meterSpecs.push(m);
      if (m.is_direct) continue;
      this.meters.set(m.name, new MeterArray(m.name, m.size, m.type === "bytes"));
    }
    for (const raw of arr(doc.register_arrays ?? [], "register_arrays")) {
      const r = readRegisterArray(raw);
      this.registers.set(r.name, new RegisterArray(r.name, r.size, r.bitwidth));
    }
    for (const raw of arr(doc.parse_vsets ?? [], "parse_vsets")) {
      const v = readParseVset(raw);
      this.valueSets.set(v.name, new ValueSet(v.name, v.compressed_bitwidth, v.max_size ?? 0));
    }
    for (const raw of arr(doc.field_lists ?? [], "field_lists")) {
      const fl = readFieldList(raw);
      this.fieldLists.set(fl.id, this.fieldList(fl));
    }

    this.g = this.compileAll(doc);
    for (const a of this.actionsById.values()) a.fn = this.g.actions[a.idx]!;
  }

  // -- helpers used at load ----------------------------------------------------

  /** Resolves a [header, field] pair, also through field_aliases. */
  private fieldRef(v: FieldName): FieldRef {
    const L = this.layout;
    return (L.headerByName.has(v[0]) ? undefined : L.findField(`${v[0]}.${v[1]}`)) ?? L.field(v[0], v[1]);
  }

  private fieldList(fl: FieldListSpec): FieldList {
    const nSlots: number[] = [];
    const bSlots: number[] = [];
    for (const e of fl.elements ?? []) {
      const r = this.fieldRef(e.value);
      if (r.field.wide) bSlots.push(r.header.bBase + r.field.local);
      else nSlots.push(r.header.nBase + r.field.local);
    }
    return { nSlots, bSlots };
  }

  /** The first meter array of that name. */
  private meterSpec(name: string): MeterArraySpec | undefined {
    return this.meterSpecs.find((m) => m.name === name);
  }

  /** Accessor to a named field ("standard_metadata.egress_spec", aliases allowed). */
  slotOf(dotted: string): { wide: boolean; slot: number; width: number } | undefined {
    const r = this.layout.findField(dotted);
    if (!r) return undefined;
    return {
      wide: r.field.wide,
      slot: r.field.wide ? r.header.bBase + r.field.local : r.header.nBase + r.field.local,
      width: r.field.width,
    };
  }

  // -- the compiler ----------------------------------------------------------------

  private compileAll(doc: Bmv2Document): Generated {
    const gen = this.gen;
    const L = this.layout;
    const phv = this.phv;
    const S = this.S;
    const calcs: string[] = [];
    const calcNumeric: boolean[] = [];

    // calculations (named): generated lazily by name
    const calcJson = new Map<string, unknown>();
    for (const c of arr(doc.calculations ?? [], "calculations")) calcJson.set(str(obj(c, "a calculation").name, "calculation name"), c);
    const calcByName = (name: string): { ref: string; numeric: boolean } => {
      let i = this.calcIndex.get(name);
      if (i === undefined) {
        const raw = calcJson.get(name);
        if (!raw) throw malformed(`unknown calculation ${name}`);
        const c = readCalculation(raw);
        i = this.compileCalc(c.algo, c.input, `calculation ${name}`, calcs, calcNumeric);
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
    for (const raw of arr(doc.actions ?? [], "actions")) {
      const a = readAction(raw);
      const name = a.name;
      const params = (a.runtime_data ?? []).map((p) => ({ name: p.name, bitwidth: p.bitwidth }));
      const info: ProgramAction = { name, params };
      const ca: CompiledAction = { idx: actionSrc.length, id: a.id, name, info, fn: () => {} };
      const ctx = baseCtx(
        `action ${name}`,
        params.map((p) => p.bitwidth),
      );
      const body = compilePrimitiveList(ctx, a.primitives ?? []);
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
    const parsers = arr(doc.parsers ?? [], "parsers").map((p) => obj(p, "a parser"));
    const parserJson = parsers.find((p) => p.name === "parser") ?? parsers[0];
    if (parserJson) {
      gen.decl(
        compileParser(
          readParser(parserJson),
          {
            ctx: baseCtx("parser"),
            errors: this.errors,
            extractor: (t) => {
              const f = typeFn.get(t);
              if (!f) throw unsupported(`extract of header type ${t.name} whose width is not a whole number of bytes`);
              return f.ex;
            },
            valueSet: vsRef,
          },
          "PARSE",
        ),
      );
    } else gen.decl("function PARSE(d, len) { return 0; }");

    // checksums
    const verifies: string[] = [];
    const updates: string[] = [];
    for (const raw of arr(doc.checksums ?? [], "checksums")) {
      const c = readChecksum(raw);
      const where = `checksum ${c.name}`;
      const target = compileLV(baseCtx(where), { type: "field", value: c.target });
      const calc = calcByName(c.calculation);
      const cond = c.if_cond ? asBool(compile(baseCtx(where), c.if_cond)) : "true";
      const v = target.read;
      if (c.verify !== false) {
        const cmp =
          calc.numeric && v.k === "n"
            ? `${calc.ref}() !== ${v.code}`
            : `BigInt(${calc.ref}()) !== ${v.k === "n" ? `BigInt(${v.code})` : v.code}`;
        verifies.push(`if (${cond} && ${cmp}) S.checksumError = true;`);
      }
      if (c.update !== false) {
        const out = calc.numeric
          ? { code: `${calc.ref}()`, k: "n" as const, bits: 32, neg: false }
          : { code: `BigInt(${calc.ref}())`, k: "b" as const, bits: 64, neg: false };
        updates.push(`if (${cond}) { ${storeCode(target, out)} }`);
      }
    }
    gen.decl(`function VERIFY() {\n${verifies.join("\n")}\n}`);

    // deparser
    const deparsers = arr(doc.deparsers ?? [], "deparsers").map((d) => obj(d, "a deparser"));
    const deparserJson = deparsers.find((d) => d.name === "deparser") ?? deparsers[0];
    const order: number[] = deparserJson ? readDeparser(deparserJson).order.map((n) => L.header(n).idx) : [];
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
    for (const raw of arr(doc.learn_lists ?? [], "learn_lists")) {
      const ll = readLearnList(raw);
      const where = `learn list ${ll.name}`;
      const vals = (ll.elements ?? []).map((e) => {
        const r = compile(baseCtx(where), e);
        return r.k === "n" ? `BigInt(${r.code})` : r.code;
      });
      const id = ll.id;
      learnSrc.push(`[${id}, () => [${vals.join(", ")}]]`);
      this.learnLists.set(id, { id, name: ll.name, values: () => [] });
    }

    // pipelines
    const pipelineRuns: string[] = [];
    const applies: [number, () => number][] = [];
    const applyIdx: string[] = [];
    const pipelines = arr(doc.pipelines ?? [], "pipelines");
    const selectorJobs: [ActionProfile, number][] = [];
    for (const raw of pipelines) {
      const p = readPipeline(raw);
      const pname = p.name;
      const nodeIdx = new Map<string, number>();
      const tablesJ = p.tables ?? [];
      const condsJ = p.conditionals ?? [];
      const callsJ = p.action_calls ?? [];
      for (const n of [...tablesJ, ...condsJ, ...callsJ]) {
        const nm = n.name;
        if (nodeIdx.has(nm)) throw malformed(`pipeline ${pname}: duplicate node name ${nm}`);
        nodeIdx.set(nm, nodeIdx.size);
      }
      const nodeOf = (n: string | null | undefined): number => {
        if (n === null || n === undefined) return -1;
        const i = nodeIdx.get(n);
        if (i === undefined) throw malformed(`pipeline ${pname}: unknown node ${n}`);
        return i;
      };
      for (const ap of p.action_profiles ?? []) {
        const prof = new ActionProfile(ap.name, ap.max_size ?? 1024, !!ap.selector, this.opts.portStatus);
        if (ap.selector) {
          const i = this.compileCalc(ap.selector.algo, ap.selector.input, `selector of ${prof.name}`, calcs, calcNumeric);
          selectorJobs.push([prof, i]);
        }
        this.profiles.set(prof.name, prof);
      }
      const cases: string[] = [];
      for (const t of tablesJ) {
        const idx = nodeOf(t.name);
        const { table, keyCode } = this.compileTable(t, nodeOf, baseCtx(`table ${t.name}`));
        const ai = applies.length;
        applies.push([ai, this.makeApply(table)]);
        const tref = gen.ref(table.K, `K_${table.name}`);
        applyIdx.push(`APPLY${ai}`);
        cases.push(`case ${idx}: ${keyCode.map((c, i) => `${tref}[${i}] = ${c};`).join(" ")} n = APPLY${ai}(); break;`);
      }
      for (const c of condsJ) {
        const where = `conditional ${c.name}`;
        const cond = asBool(compile(baseCtx(where), c.expression));
        cases.push(`case ${nodeOf(c.name)}: n = ${cond} ? ${nodeOf(c.true_next)} : ${nodeOf(c.false_next)}; break;`);
      }
      for (const c of callsJ) {
        const a = this.actionsById.get(c.action_id);
        if (!a) throw malformed(`action call ${c.name}: unknown action id ${c.action_id}`);
        if (a.info.params.length > 0) throw malformed(`action call ${c.name}: action ${a.name} takes parameters`);
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
    for (const src of calcs) gen.decl(src);
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
      `{ PARSE, VERIFY, DEPARSE, RUNS: { ${pipelineRuns.join(", ")} }, ` +
        `ACTIONS: [${actionSrc.map((_, i) => `A${i}`).join(", ")}], CALCS: [${calcs.map((_, i) => `CALC${i}`).join(", ")}], ` +
        `LEARN: [${learnSrc.join(", ")}] }`,
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
      ingress: out.RUNS.ingress ?? (() => {}),
      egress: out.RUNS.egress ?? (() => {}),
      deparse: out.DEPARSE,
      actions: out.ACTIONS,
      calcs: out.CALCS,
      applies,
    };
  }

  /** Generates `function CALC<i>()`; returns i. */
  private compileCalc(algo: string, inputs: readonly CalculationInput[], where: string, calcs: string[], numeric: boolean[]): number {
    return compileCalculation(this.layout, this.gen, (v) => this.fieldRef(v), algo, inputs, where, calcs, numeric);
  }

  private compileTable(t: TableSpec, nodeOf: (n: string | null | undefined) => number, ctx: PrimCtx): { table: Table; keyCode: string[] } {
    const name = t.name;
    const L = this.layout;
    const keyDefs: KeyDef[] = [];
    const keyCode: string[] = [];
    for (const k of t.key ?? []) {
      let code: string;
      let width: number;
      let targetName: string;
      if (k.match_type === "valid") {
        const h = L.header(k.target);
        code = `V[${h.idx}]`;
        width = 1;
        targetName = k.target;
      } else {
        const target = k.target;
        if ("type" in target) {
          // a field of a header chosen at run time (p4c emits this for stack[index].f)
          const lv = compileLV(ctx, target);
          width = lv.field.width;
          code = lv.read.code;
          if (lv.field.signed) code = lv.field.wide ? `BigInt.asUintN(${width}, ${code})` : `wrapU(${code}, ${width})`;
          targetName = String(target);
        } else if (target[1] === "$valid$") {
          code = `V[${L.header(target[0]).idx}]`;
          width = 1;
          targetName = target.join(".");
        } else {
          const r = this.fieldRef(target);
          if (r.field.varbit) throw unsupported(`varbit key field in table ${name}`);
          const lv = compileLV(ctx, { type: "field", value: target });
          width = r.field.width;
          code = lv.read.code;
          if (r.field.signed) code = r.field.wide ? `BigInt.asUintN(${width}, ${code})` : `wrapU(${code}, ${width})`;
          targetName = target.join(".");
        }
        if (k.mask != null) {
          const m = BigInt.asUintN(width, parseHex(k.mask));
          if (width <= 32) code = `((${code} & ${m}) >>> 0)`;
          else if (width <= NUM_FIELD_MAX) code = `and53(${code}, ${m})`;
          else code = `(${code} & ${m}n)`;
        }
      }
      keyDefs.push({ name: k.name ?? targetName, kind: k.match_type, width });
      keyCode.push(code);
    }
    const actionNames: string[] = [...(t.actions ?? [])];
    const actionIds = t.action_ids ?? [];
    const allowed = new Map<string, CompiledAction>();
    actionNames.forEach((an, i) => {
      const a = (actionIds[i] !== undefined ? this.actionsById.get(actionIds[i]!) : undefined) ?? this.actions.get(an);
      if (!a) throw malformed(`table ${name}: unknown action ${an}`);
      allowed.set(an, a);
    });
    const ttype = t.type ?? "simple";
    let profile: ActionProfile | undefined;
    if (ttype !== "simple") {
      profile = this.profiles.get(String(t.action_profile));
      if (!profile) throw malformed(`table ${name}: unknown action profile ${String(t.action_profile)}`);
      if (ttype === "indirect_ws" && !profile.selector) throw malformed(`table ${name}: indirect_ws with a profile without selector`);
      for (const [n, a] of allowed) profile.actions.set(n, a);
    }
    let directMeters: string | undefined;
    if (t.direct_meters) {
      directMeters = t.direct_meters;
      if (!this.meterSpec(directMeters)) throw malformed(`table ${name}: unknown direct meter ${directMeters}`);
    }
    const info: ProgramTable = {
      name,
      keys: keyDefs.map((k) => ({ name: k.name, matchType: Table.kindOf(k.kind), bitwidth: k.width })),
      actions: actionNames,
      maxSize: t.max_size ?? 1024,
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
      const a = this.actionsById.get(de.action_id);
      if (!a) throw malformed(`table ${name}: default action id ${de.action_id} unknown`);
      const args = (de.action_data ?? []).map((x) => parseHex(x));
      defaultAction = { kind: "action", call: { action: a.name, args } };
      defConst = !!de.action_const;
      defEntryConst = !!de.action_entry_const;
      if (profile) throw unsupported(`default_entry with an action on indirect table ${name}`);
      if (!allowed.has(a.name)) allowed.set(a.name, a);
    }
    const entriesJ = t.entries ?? [];
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
      const key: MatchValue[] = e.match_key.map((mk, i) => {
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
            throw malformed(`table ${name}: key field ${i} of a const entry has an unknown match type`);
        }
      });
      const a = this.actionsById.get(e.action_entry.action_id);
      if (!a) throw malformed(`table ${name}: const entry with unknown action`);
      const args = (e.action_entry.action_data ?? []).map((x) => parseHex(x));
      const priority = 0x7fffffff - (e.priority ?? 0);
      table.add({ key, priority, action: { kind: "action", call: { action: a.name, args } } }, this.initUs, true);
    }
    this.tables.set(name, table);
    return { table, keyCode };
  }

  private makeApply(table: Table): () => number {
    const S = this.S;
    const initUs = this.initUs;
    let setColor: ((c: number) => void) | undefined;
    let meterBytes = false;
    if (table.info.directMeters) {
      // compileTable() has checked that the meter array exists
      const m = this.meterSpec(table.info.directMeters);
      meterBytes = m?.type === "bytes";
      if (m?.result_target) {
        const r = this.fieldRef(m.result_target);
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
    return runtimeHelpers({
      layout: this.layout,
      phv: this.phv,
      S: this.S,
      log: (m) => this.onLog(m),
      random: this.opts.random,
      initUs: this.initUs,
    });
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
