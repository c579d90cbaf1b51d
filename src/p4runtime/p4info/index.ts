/**
 * A typed index over a P4Info: every object kind the runtime API addresses,
 * each found by id, full name, alias or unique suffix (see NameIndex), with
 * the facts the codec and entity builders need (bit widths, match kinds,
 * allowed actions, attached resources).
 */
import type {
  P4Info,
  Table as P4Table,
  Action as P4Action,
  ActionProfile as P4ActionProfile,
  Counter as P4Counter,
  DirectCounter as P4DirectCounter,
  Meter as P4Meter,
  DirectMeter as P4DirectMeter,
  Register as P4Register,
  Digest as P4Digest,
  ValueSet as P4ValueSet,
  ControllerPacketMetadata as P4ControllerPacketMetadata,
  MatchField as P4MatchField,
} from "../../proto/gen/p4/config/v1/p4info_pb.js";
import type { P4DataTypeSpec } from "../../proto/gen/p4/config/v1/p4types_pb.js";
import {
  ActionRef_Scope,
  CounterSpec_Unit,
  MatchField_MatchType,
  MeterSpec_Unit,
  MeterSpec_Type,
} from "../../proto/gen/p4/config/v1/p4info_pb.js";
import type { MatchKind } from "../codec/match.js";
import { NameIndex, type Named } from "./names.js";

export interface MatchFieldInfo extends Named {
  readonly bitwidth: number;
  readonly kind: MatchKind;
  readonly annotations: readonly string[];
  readonly proto: P4MatchField;
}

export interface ActionParamInfo extends Named {
  readonly bitwidth: number;
  readonly annotations: readonly string[];
}

export interface ActionInfo extends Named {
  readonly params: NameIndex<ActionParamInfo>;
  readonly proto: P4Action;
}

export interface ActionRefInfo {
  readonly action: ActionInfo;
  readonly scope: "table_and_default" | "table_only" | "default_only";
}

export interface TableInfo extends Named {
  readonly matchFields: NameIndex<MatchFieldInfo>;
  /** Match fields in P4Info order (which is the key order). */
  readonly matchFieldList: readonly MatchFieldInfo[];
  readonly actions: NameIndex<ActionInfo>;
  readonly actionRefs: ReadonlyMap<number, ActionRefInfo>;
  readonly constDefaultActionId: number;
  readonly size: bigint;
  /** Set for indirect tables (action profile or selector). */
  readonly implementation?: ActionProfileInfo;
  readonly directCounter?: DirectCounterInfo;
  readonly directMeter?: DirectMeterInfo;
  readonly supportsIdleTimeout: boolean;
  readonly isConst: boolean;
  /** Whether entries need a priority (ternary, range or optional fields). */
  readonly needsPriority: boolean;
  readonly proto: P4Table;
}

export interface ActionProfileInfo extends Named {
  readonly withSelector: boolean;
  readonly size: bigint;
  readonly maxGroupSize: number;
  readonly tableIds: readonly number[];
  readonly proto: P4ActionProfile;
}

export type CounterUnit = "bytes" | "packets" | "both" | "unspecified";
export type MeterUnit = "bytes" | "packets" | "unspecified";

export interface CounterInfo extends Named {
  readonly unit: CounterUnit;
  readonly size: bigint;
  readonly proto: P4Counter;
}

export interface DirectCounterInfo extends Named {
  readonly unit: CounterUnit;
  readonly tableId: number;
  readonly proto: P4DirectCounter;
}

export interface MeterInfo extends Named {
  readonly unit: MeterUnit;
  readonly type: "two_rate_three_color" | "single_rate_three_color" | "single_rate_two_color";
  readonly size: bigint;
  readonly proto: P4Meter;
}

export interface DirectMeterInfo extends Named {
  readonly unit: MeterUnit;
  readonly tableId: number;
  readonly proto: P4DirectMeter;
}

export interface RegisterInfo extends Named {
  readonly size: number;
  /** Width of a cell when it is a plain bit<W>/int<W>; undefined otherwise. */
  readonly bitwidth?: number;
  readonly signed: boolean;
  readonly typeSpec?: P4DataTypeSpec;
  readonly proto: P4Register;
}

export interface DigestInfo extends Named {
  readonly typeSpec?: P4DataTypeSpec;
  readonly proto: P4Digest;
}

export interface ValueSetInfo extends Named {
  readonly size: number;
  readonly matchFields: NameIndex<MatchFieldInfo>;
  readonly matchFieldList: readonly MatchFieldInfo[];
  readonly proto: P4ValueSet;
}

export interface PacketMetadataFieldInfo extends Named {
  readonly bitwidth: number;
}

export interface ControllerPacketMetadataInfo extends Named {
  readonly fields: NameIndex<PacketMetadataFieldInfo>;
  readonly fieldList: readonly PacketMetadataFieldInfo[];
  readonly proto: P4ControllerPacketMetadata;
}

const matchKinds: Partial<Record<MatchField_MatchType, MatchKind>> = {
  [MatchField_MatchType.EXACT]: "exact",
  [MatchField_MatchType.LPM]: "lpm",
  [MatchField_MatchType.TERNARY]: "ternary",
  [MatchField_MatchType.RANGE]: "range",
  [MatchField_MatchType.OPTIONAL]: "optional",
};

function counterUnit(u: CounterSpec_Unit | undefined): CounterUnit {
  return u === CounterSpec_Unit.BYTES
    ? "bytes"
    : u === CounterSpec_Unit.PACKETS
      ? "packets"
      : u === CounterSpec_Unit.BOTH
        ? "both"
        : "unspecified";
}

function meterUnit(u: MeterSpec_Unit | undefined): MeterUnit {
  return u === MeterSpec_Unit.BYTES ? "bytes" : u === MeterSpec_Unit.PACKETS ? "packets" : "unspecified";
}

function matchField(mf: P4MatchField, owner: string): MatchFieldInfo {
  const kind = mf.match.case === "matchType" ? matchKinds[mf.match.value] : undefined;
  if (!kind) {
    const what = mf.match.case === "otherMatchType" ? mf.match.value : "unspecified";
    throw new Error(`P4Info: match field "${mf.name}" of "${owner}" has match kind "${what}", which P4Runtime clients cannot encode`);
  }
  return { id: mf.id, name: mf.name, alias: mf.name, bitwidth: mf.bitwidth, kind, annotations: mf.annotations, proto: mf };
}

export class P4InfoIndex {
  readonly tables: NameIndex<TableInfo>;
  readonly actions: NameIndex<ActionInfo>;
  readonly actionProfiles: NameIndex<ActionProfileInfo>;
  readonly counters: NameIndex<CounterInfo>;
  readonly directCounters: NameIndex<DirectCounterInfo>;
  readonly meters: NameIndex<MeterInfo>;
  readonly directMeters: NameIndex<DirectMeterInfo>;
  readonly registers: NameIndex<RegisterInfo>;
  readonly digests: NameIndex<DigestInfo>;
  readonly valueSets: NameIndex<ValueSetInfo>;
  readonly controllerPacketMetadata: NameIndex<ControllerPacketMetadataInfo>;

  constructor(readonly p4info: P4Info) {
    this.actions = new NameIndex(
      "action",
      p4info.actions.map((a) => {
        const pre = a.preamble!;
        return {
          id: pre.id,
          name: pre.name,
          alias: pre.alias,
          params: new NameIndex(
            `parameter of action "${pre.name}"`,
            a.params.map((p) => ({ id: p.id, name: p.name, alias: p.name, bitwidth: p.bitwidth, annotations: p.annotations })),
          ),
          proto: a,
        };
      }),
    );
    this.actionProfiles = new NameIndex(
      "action profile",
      p4info.actionProfiles.map((ap) => ({
        id: ap.preamble!.id,
        name: ap.preamble!.name,
        alias: ap.preamble!.alias,
        withSelector: ap.withSelector,
        size: ap.size,
        maxGroupSize: ap.maxGroupSize,
        tableIds: ap.tableIds,
        proto: ap,
      })),
    );
    this.counters = new NameIndex(
      "counter",
      p4info.counters.map((c) => ({
        id: c.preamble!.id,
        name: c.preamble!.name,
        alias: c.preamble!.alias,
        unit: counterUnit(c.spec?.unit),
        size: c.size,
        proto: c,
      })),
    );
    this.directCounters = new NameIndex(
      "direct counter",
      p4info.directCounters.map((c) => ({
        id: c.preamble!.id,
        name: c.preamble!.name,
        alias: c.preamble!.alias,
        unit: counterUnit(c.spec?.unit),
        tableId: c.directTableId,
        proto: c,
      })),
    );
    const meterType = (t: MeterSpec_Type | undefined): MeterInfo["type"] =>
      t === MeterSpec_Type.SINGLE_RATE_THREE_COLOR
        ? "single_rate_three_color"
        : t === MeterSpec_Type.SINGLE_RATE_TWO_COLOR
          ? "single_rate_two_color"
          : "two_rate_three_color";
    this.meters = new NameIndex(
      "meter",
      p4info.meters.map((m) => ({
        id: m.preamble!.id,
        name: m.preamble!.name,
        alias: m.preamble!.alias,
        unit: meterUnit(m.spec?.unit),
        type: meterType(m.spec?.type),
        size: m.size,
        proto: m,
      })),
    );
    this.directMeters = new NameIndex(
      "direct meter",
      p4info.directMeters.map((m) => ({
        id: m.preamble!.id,
        name: m.preamble!.name,
        alias: m.preamble!.alias,
        unit: meterUnit(m.spec?.unit),
        tableId: m.directTableId,
        proto: m,
      })),
    );
    this.registers = new NameIndex(
      "register",
      p4info.registers.map((r) => {
        const bs = r.typeSpec?.typeSpec.case === "bitstring" ? r.typeSpec.typeSpec.value.typeSpec : undefined;
        const bitwidth = bs?.case === "bit" || bs?.case === "int" ? bs.value.bitwidth : undefined;
        return {
          id: r.preamble!.id,
          name: r.preamble!.name,
          alias: r.preamble!.alias,
          size: r.size,
          ...(bitwidth !== undefined ? { bitwidth } : {}),
          signed: bs?.case === "int",
          ...(r.typeSpec ? { typeSpec: r.typeSpec } : {}),
          proto: r,
        };
      }),
    );
    this.digests = new NameIndex(
      "digest",
      p4info.digests.map((d) => ({
        id: d.preamble!.id,
        name: d.preamble!.name,
        alias: d.preamble!.alias,
        ...(d.typeSpec ? { typeSpec: d.typeSpec } : {}),
        proto: d,
      })),
    );
    this.valueSets = new NameIndex(
      "value set",
      p4info.valueSets.map((vs) => {
        const list = vs.match.map((mf) => matchField(mf, vs.preamble!.name));
        return {
          id: vs.preamble!.id,
          name: vs.preamble!.name,
          alias: vs.preamble!.alias,
          size: vs.size,
          matchFields: new NameIndex(`match field of value set "${vs.preamble!.name}"`, list),
          matchFieldList: list,
          proto: vs,
        };
      }),
    );
    this.controllerPacketMetadata = new NameIndex(
      "controller packet metadata",
      p4info.controllerPacketMetadata.map((c) => {
        const list = c.metadata.map((m) => ({ id: m.id, name: m.name, alias: m.name, bitwidth: m.bitwidth }));
        return {
          id: c.preamble!.id,
          name: c.preamble!.name,
          alias: c.preamble!.alias,
          fields: new NameIndex(`field of "${c.preamble!.name}" metadata`, list),
          fieldList: list,
          proto: c,
        };
      }),
    );
    this.tables = new NameIndex(
      "table",
      p4info.tables.map((t) => {
        const pre = t.preamble!;
        const list = t.matchFields.map((mf) => matchField(mf, pre.name));
        const refs = new Map<number, ActionRefInfo>();
        for (const ref of t.actionRefs) {
          const scope =
            ref.scope === ActionRef_Scope.TABLE_ONLY
              ? "table_only"
              : ref.scope === ActionRef_Scope.DEFAULT_ONLY
                ? "default_only"
                : "table_and_default";
          refs.set(ref.id, { action: this.actions.get(ref.id), scope });
        }
        let directCounter: DirectCounterInfo | undefined;
        let directMeter: DirectMeterInfo | undefined;
        for (const rid of t.directResourceIds) {
          directCounter ??= this.directCounters.find(rid);
          directMeter ??= this.directMeters.find(rid);
        }
        const implementation = t.implementationId !== 0 ? this.actionProfiles.find(t.implementationId) : undefined;
        return {
          id: pre.id,
          name: pre.name,
          alias: pre.alias,
          matchFields: new NameIndex(`match field of table "${pre.name}"`, list),
          matchFieldList: list,
          actions: new NameIndex(
            `action of table "${pre.name}"`,
            [...refs.values()].map((r) => r.action),
          ),
          actionRefs: refs,
          constDefaultActionId: t.constDefaultActionId,
          size: t.size,
          ...(implementation ? { implementation } : {}),
          ...(directCounter ? { directCounter } : {}),
          ...(directMeter ? { directMeter } : {}),
          supportsIdleTimeout: t.idleTimeoutBehavior === 1,
          isConst: t.isConstTable,
          needsPriority: list.some((f) => f.kind === "ternary" || f.kind === "range" || f.kind === "optional"),
          proto: t,
        };
      }),
    );
  }

  table(key: string | number): TableInfo {
    return this.tables.get(key);
  }
  action(key: string | number): ActionInfo {
    return this.actions.get(key);
  }
  actionProfile(key: string | number): ActionProfileInfo {
    return this.actionProfiles.get(key);
  }
  counter(key: string | number): CounterInfo {
    return this.counters.get(key);
  }
  directCounter(key: string | number): DirectCounterInfo {
    return this.directCounters.get(key);
  }
  meter(key: string | number): MeterInfo {
    return this.meters.get(key);
  }
  directMeter(key: string | number): DirectMeterInfo {
    return this.directMeters.get(key);
  }
  register(key: string | number): RegisterInfo {
    return this.registers.get(key);
  }
  digest(key: string | number): DigestInfo {
    return this.digests.get(key);
  }
  valueSet(key: string | number): ValueSetInfo {
    return this.valueSets.get(key);
  }
  packetMetadata(key: "packet_in" | "packet_out" | (string & {}) | number): ControllerPacketMetadataInfo {
    return this.controllerPacketMetadata.get(key);
  }
}
