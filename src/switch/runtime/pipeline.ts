/**
 * A pipeline in force on a device: the P4Info, its index, the loaded engine,
 * and the bindings from P4Info ids to the engine's objects (the BMv2 JSON
 * names, which p4c makes equal to the P4Info names). Binding fails, and the
 * pipeline is refused, when the P4Info and the JSON do not describe the same
 * program.
 */
import type { P4Info } from "../../proto/gen/p4/config/v1/p4info_pb.js";
import { P4InfoIndex, type MatchFieldInfo, type TableInfo } from "../../p4runtime/p4info/index.js";
import type { Engine } from "../engine/runtime-api.js";
import type { ProgramTable } from "../engine/runtime-api.js";
import { EngineError } from "../engine/runtime-api.js";
import { invalid } from "./status.js";

export interface TableBinding {
  readonly info: TableInfo;
  readonly engine: ProgramTable;
  /** For each engine key position, the P4Info match field. */
  readonly fieldAt: readonly MatchFieldInfo[];
}

export class BoundPipeline {
  readonly index: P4InfoIndex;
  private readonly tables = new Map<number, TableBinding>();

  constructor(
    readonly p4info: P4Info,
    readonly deviceConfig: Uint8Array,
    readonly engine: Engine,
    readonly cookie: bigint | undefined,
  ) {
    this.index = new P4InfoIndex(p4info);
    for (const t of this.index.tables) this.tables.set(t.id, bindTable(t, engine));
    for (const a of this.index.actions) {
      const ea = lookup(() => engine.action(a.name), `action "${a.name}"`);
      const names = ea.params.map((p) => p.name);
      for (const p of a.params) {
        if (!names.includes(p.name))
          throw invalid(`P4Info action "${a.name}" has parameter "${p.name}", which the device config's action lacks`);
      }
    }
    for (const r of this.index.registers) lookup(() => engine.registerSize(r.name), `register "${r.name}"`);
    for (const c of this.index.counters) lookup(() => engine.counterSize(c.name), `counter "${c.name}"`);
    for (const m of this.index.meters) lookup(() => engine.meterSize(m.name), `meter "${m.name}"`);
  }

  table(id: number): TableBinding {
    const t = this.tables.get(id);
    if (!t) throw invalid(`unknown table id ${id} (0x${id.toString(16)})`);
    return t;
  }

  allTables(): TableBinding[] {
    return [...this.tables.values()];
  }
}

function lookup<T>(fn: () => T, what: string): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof EngineError)
      throw invalid(`the P4Info's ${what} is not in the device config (BMv2 JSON): are they from the same p4c run?`);
    throw e;
  }
}

function bindTable(t: TableInfo, engine: Engine): TableBinding {
  const et = lookup(() => engine.table(t.name), `table "${t.name}"`);
  if (et.keys.length !== t.matchFieldList.length) {
    throw invalid(
      `table "${t.name}": the P4Info has ${t.matchFieldList.length} match fields but the device config has ${et.keys.length} keys`,
    );
  }
  const fieldAt = et.keys.map((k, i) => {
    // p4c names JSON keys like P4Info match fields; fall back to position.
    const f = t.matchFieldList.find((m) => m.name === k.name) ?? t.matchFieldList[i]!;
    if (f.bitwidth !== k.bitwidth)
      throw invalid(`table "${t.name}": key "${k.name}" is ${k.bitwidth} bits in the device config but ${f.bitwidth} in the P4Info`);
    return f;
  });
  return { info: t, engine: et, fieldAt };
}
