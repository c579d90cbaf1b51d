/**
 * TableEntry writes and reads: regular entries, the default entry, const
 * tables, indirect tables (members, groups, one-shot action sets with watch
 * ports), direct counters and meters, idle timeouts and controller metadata.
 */
import { create } from "@bufbuild/protobuf";
import {
  ActionProfileActionSchema,
  ActionProfileActionSetSchema,
  type TableAction,
  TableActionSchema,
  type TableEntry,
  TableEntrySchema,
  TableEntry_IdleTimeoutSchema,
  Update_Type,
} from "../../../proto/gen/p4/v1/p4runtime_pb.js";
import type { EntryAction, EntryHandle, EntrySpec, MatchValue } from "../../engine/runtime-api.js";
import type { TableBinding } from "../pipeline.js";
import { StatusError, alreadyExists, invalid, notFound, permissionDenied, toStatusError, unimplemented } from "../status.js";
import { Code } from "../../../proto/gen/google/rpc/code_pb.js";
import { actionToCall, callToAction, keyToMatch, matchToKey } from "./convert.js";
import { type EntryExtras, type RuntimeState, UndoLog } from "./context.js";
import { counterDataOf, meterRatesOf, toCounterData, toMeterConfig } from "./resources.js";
import { decodeWatch, encodeWatch } from "./watch-port.js";

/** The way back of an insert that has no step to undo (no direct resources, no one-shot set): records nothing. */
const NO_STEPS = new UndoLog(false);

interface ResolvedAction {
  readonly action: EntryAction;
  readonly oneShot?: EntryExtras["oneShot"];
}

/** Converts a TableAction, creating hidden members and a group for one-shot sets. */
function resolveAction(st: RuntimeState, b: TableBinding, ta: TableAction | undefined, isDefault: boolean, undo: UndoLog): ResolvedAction {
  const t = b.info;
  const idx = st.pipeline.index;
  const engine = st.pipeline.engine;
  const what = `table "${t.name}"`;
  const type = ta?.type;
  if (!type || type.case === undefined) throw invalid(`${what}: the entry has no action`);
  const profile = t.implementation;
  switch (type.case) {
    case "action": {
      if (profile) throw invalid(`${what} is indirect (action profile "${profile.name}"): it takes a member, a group or an action set`);
      const { info, call } = actionToCall(idx, type.value, what);
      const ref = t.actionRefs.get(info.id);
      if (!ref) throw invalid(`${what}: action "${info.name}" is not one of the table's actions`);
      if (isDefault && ref.scope === "table_only")
        throw permissionDenied(`${what}: action "${info.name}" is @tableonly and cannot be the default action`);
      if (!isDefault && ref.scope === "default_only")
        throw permissionDenied(`${what}: action "${info.name}" is @defaultonly and cannot be used in entries`);
      return { action: { kind: "action", call } };
    }
    case "actionProfileMemberId":
      if (!profile) throw invalid(`${what} is not indirect: it takes an action, not a member`);
      if (st.selectorMode(profile.name) === "oneShot") throw mixing(profile.name);
      if (!engine.members(profile.name).includes(type.value))
        throw notFound(`${what}: member ${type.value} is not in action profile "${profile.name}"`);
      return { action: { kind: "member", member: type.value } };
    case "actionProfileGroupId":
      if (!profile?.withSelector) throw invalid(`${what} has no action selector: it cannot use groups`);
      if (st.selectorMode(profile.name) === "oneShot") throw mixing(profile.name);
      if (!engine.groups(profile.name).includes(type.value))
        throw notFound(`${what}: group ${type.value} is not in action selector "${profile.name}"`);
      return { action: { kind: "group", group: type.value } };
    case "actionProfileActionSet": {
      if (!profile?.withSelector) throw invalid(`${what} has no action selector: one-shot action sets need one`);
      if (st.selectorMode(profile.name) === "manual") throw mixing(profile.name);
      const actions = type.value.actionProfileActions;
      if (actions.length === 0) throw invalid(`${what}: an action set needs at least one action`);
      if (profile.maxGroupSize > 0 && actions.length > profile.maxGroupSize) {
        throw invalid(`${what}: action set of ${actions.length} exceeds max_group_size ${profile.maxGroupSize}`);
      }
      const calls = actions.map((a, i) => {
        if (!a.action) throw invalid(`${what}: action set member without an action`);
        if (a.weight < 1) throw invalid(`${what}: action set weights must be >= 1 (got ${a.weight})`);
        const { info, call } = actionToCall(idx, a.action, what);
        if (!t.actionRefs.has(info.id)) throw invalid(`${what}: action "${info.name}" is not one of the table's actions`);
        return { call, weight: a.weight, watch: decodeWatch(a.watchKind, what, `action_profile_actions[${i}]`) };
      });
      const members: number[] = [];
      for (const c of calls) {
        const id = st.hiddenId(profile.name);
        engine.addMember(profile.name, id, c.call);
        members.push(id);
        undo.push(() => engine.deleteMember(profile.name, id));
      }
      const group = st.hiddenId(profile.name);
      engine.setGroup(
        profile.name,
        group,
        members.map((m, i) => {
          const { weight, watch } = calls[i]!;
          return watch.port === undefined ? { member: m, weight } : { member: m, weight, watchPort: watch.port };
        }),
      );
      st.setDeprecatedWatch(profile.name, group, new Set(members.filter((_, i) => calls[i]!.watch.deprecated)));
      undo.push(() => {
        engine.deleteGroup(profile.name, group);
        st.setDeprecatedWatch(profile.name, group, undefined);
      });
      return { action: { kind: "group", group }, oneShot: { profile: profile.name, group, members } };
    }
    default:
      throw invalid(`${what}: unsupported action type`);
  }
}

export function mixing(profile: string) {
  return invalid(
    `Invalid attempt to mix action selector programming modes on "${profile}": use members and groups, or one-shot action sets, not both`,
  );
}

/**
 * Undoes the partial effect of an update that failed half-way and rethrows
 * its error; if undoing fails too, the error says so (INTERNAL).
 */
function unwind(local: UndoLog, e: unknown): never {
  const failures = local.rollback();
  if (failures.length === 0) throw e;
  const s = toStatusError(e);
  throw new StatusError(Code.INTERNAL, `${s.message}; undoing its partial effect failed: ${failures.map((f) => f.error).join("; ")}`);
}

/**
 * The handle of the entry with this key and priority, at the time an undo
 * step runs (an earlier undo step may have re-inserted it under a new handle).
 */
function handleAt(st: RuntimeState, b: TableBinding, key: readonly MatchValue[], priority: number, step: string): EntryHandle {
  const h = st.pipeline.engine.findEntry(b.info.name, key, priority);
  if (h === undefined) throw new Error(`${step}: table "${b.info.name}" has no entry with this match and priority (priority ${priority})`);
  return h;
}

function dropOneShot(st: RuntimeState, o: EntryExtras["oneShot"]): void {
  if (!o) return;
  const engine = st.pipeline.engine;
  engine.deleteGroup(o.profile, o.group);
  st.setDeprecatedWatch(o.profile, o.group, undefined);
  for (const m of o.members) engine.deleteMember(o.profile, m);
}

function actionToProto(st: RuntimeState, action: EntryAction, extras: EntryExtras | undefined): TableAction {
  const idx = st.pipeline.index;
  if (extras?.oneShot && action.kind === "group") {
    const engine = st.pipeline.engine;
    const o = extras.oneShot;
    const deprecated = st.deprecatedWatchOf(o.profile, o.group);
    const set = create(ActionProfileActionSetSchema, {
      actionProfileActions: engine.getGroup(o.profile, o.group).map((m) =>
        create(ActionProfileActionSchema, {
          action: callToAction(idx, engine.getMember(o.profile, m.member)),
          weight: m.weight,
          watchKind: encodeWatch(m.watchPort, deprecated?.has(m.member) ?? false),
        }),
      ),
    });
    return create(TableActionSchema, { type: { case: "actionProfileActionSet", value: set } });
  }
  switch (action.kind) {
    case "action":
      return create(TableActionSchema, { type: { case: "action", value: callToAction(idx, action.call) } });
    case "member":
      return create(TableActionSchema, { type: { case: "actionProfileMemberId", value: action.member } });
    case "group":
      return create(TableActionSchema, { type: { case: "actionProfileGroupId", value: action.group } });
  }
}

function checkPriority(b: TableBinding, priority: number): void {
  if (b.info.needsPriority && priority <= 0)
    throw invalid(`table "${b.info.name}" has ternary, range or optional fields: entries need a priority > 0`);
  if (!b.info.needsPriority && priority !== 0) throw invalid(`table "${b.info.name}" has only exact/lpm fields: priority must be 0`);
}

function checkIdleTimeout(b: TableBinding, ns: bigint): void {
  if (ns < 0n) throw invalid(`table "${b.info.name}": negative idle timeout`);
  if (ns > 0n && !b.info.supportsIdleTimeout) throw invalid(`table "${b.info.name}" does not support idle timeouts`);
}

export function applyTableEntryUpdate(st: RuntimeState, type: Update_Type, te: TableEntry, undo: UndoLog): void {
  const b = st.pipeline.table(te.tableId);
  const t = b.info;
  // "The is_const field must be false in any INSERT, MODIFY, or DELETE" (TableEntry).
  if (te.isConst) throw invalid(`table "${t.name}": is_const must be false in a write (the server sets it in reads)`);
  if (te.isDefaultAction) return writeDefaultEntry(st, b, type, te, undo);
  if (te.meterCounterData) throw unimplemented(`table "${t.name}": writing meter_counter_data is not supported`);
  const key = matchToKey(b, te.match);
  checkPriority(b, te.priority);
  const existing = st.pipeline.engine.findEntry(t.name, key, te.priority);
  if (t.isConst && (type !== Update_Type.MODIFY || te.action)) {
    throw permissionDenied(`table "${t.name}" is const: only its direct resources may be modified`);
  }
  switch (type) {
    case Update_Type.INSERT:
      if (existing !== undefined) throw alreadyExists(`table "${t.name}": an entry with this match and priority exists`);
      return insertEntry(st, b, te, key, undo);
    case Update_Type.MODIFY:
      if (existing === undefined) throw notFound(`table "${t.name}": no entry with this match and priority`);
      return modifyEntry(st, b, te, key, existing, undo);
    case Update_Type.DELETE:
      if (existing === undefined) throw notFound(`table "${t.name}": no entry with this match and priority`);
      return deleteEntry(st, b, key, te.priority, existing, undo);
    default:
      throw invalid(`table "${t.name}": update type must be INSERT, MODIFY or DELETE`);
  }
}

function insertEntry(st: RuntimeState, b: TableBinding, te: TableEntry, key: MatchValue[], undo: UndoLog): void {
  const engine = st.pipeline.engine;
  const t = b.info;
  checkIdleTimeout(b, te.idleTimeoutNs);
  if (te.counterData && !t.directCounter) throw invalid(`table "${t.name}" has no direct counter`);
  if (te.meterConfig && !t.directMeter) throw invalid(`table "${t.name}" has no direct meter`);
  const rates = te.meterConfig ? meterRatesOf(te.meterConfig, `direct meter of "${t.name}"`) : undefined;
  // Steps that can still fail after the entry is in (direct resources) need a way back; most inserts have none.
  const local = te.counterData || rates || t.implementation ? new UndoLog(true) : NO_STEPS;
  try {
    const resolved = resolveAction(st, b, te.action, false, local);
    const spec: EntrySpec = {
      key,
      priority: te.priority,
      action: resolved.action,
      ...(te.idleTimeoutNs ? { idleTimeoutNs: te.idleTimeoutNs } : {}),
    };
    const handle = engine.addEntry(t.name, spec);
    if (local.enabled) local.push(() => engine.deleteEntry(t.name, handle));
    if (te.counterData) engine.writeDirectCounter(t.name, handle, counterDataOf(te.counterData));
    if (rates) engine.setDirectMeter(t.name, handle, rates);
    // Extras only where they differ from the defaults a read assumes (no metadata, no idle timeout, no one-shot set).
    if (te.metadata.length > 0 || te.idleTimeoutNs !== 0n || resolved.oneShot) {
      st.extras.set(st.key(t.id, handle), {
        metadata: te.metadata,
        idleTimeoutNs: te.idleTimeoutNs,
        ...(resolved.oneShot ? { oneShot: resolved.oneShot } : {}),
      });
    }
    if (undo.enabled) {
      undo.push(() => {
        const h = handleAt(st, b, key, te.priority, "undo of INSERT");
        engine.deleteEntry(t.name, h);
        dropOneShot(st, resolved.oneShot);
        st.extras.delete(st.key(t.id, h));
      });
    }
  } catch (e) {
    unwind(local, e);
  }
}

function modifyEntry(
  st: RuntimeState,
  b: TableBinding,
  te: TableEntry,
  key: readonly MatchValue[],
  handle: EntryHandle,
  undo: UndoLog,
): void {
  const engine = st.pipeline.engine;
  const t = b.info;
  const k = st.key(t.id, handle);
  const before = engine.getEntry(t.name, handle);
  const extras = st.extras.get(k) ?? { metadata: new Uint8Array(), idleTimeoutNs: 0n };
  const prevCounter = t.directCounter ? engine.readDirectCounter(t.name, handle) : undefined;
  const prevRates = t.directMeter ? engine.getDirectMeter(t.name, handle) : undefined;
  if (te.counterData && !t.directCounter) throw invalid(`table "${t.name}" has no direct counter`);
  if (te.meterConfig && !t.directMeter) throw invalid(`table "${t.name}" has no direct meter`);
  const rates = te.meterConfig ? meterRatesOf(te.meterConfig, `direct meter of "${t.name}"`) : undefined;
  if (t.isConst) {
    // Only direct resources of const entries may change.
    if (te.counterData) engine.writeDirectCounter(t.name, handle, counterDataOf(te.counterData));
    if (te.meterConfig) engine.setDirectMeter(t.name, handle, rates);
    undo.push(() => {
      const h = handleAt(st, b, key, te.priority, "undo of MODIFY");
      if (prevCounter) engine.writeDirectCounter(t.name, h, prevCounter);
      if (t.directMeter) engine.setDirectMeter(t.name, h, prevRates);
    });
    return;
  }
  checkIdleTimeout(b, te.idleTimeoutNs);
  const local = new UndoLog(true);
  try {
    const resolved = resolveAction(st, b, te.action, false, local);
    engine.modifyEntry(t.name, handle, resolved.action, te.idleTimeoutNs);
    if (te.counterData) engine.writeDirectCounter(t.name, handle, counterDataOf(te.counterData));
    // Full-snapshot semantics: an absent meter config resets the meter.
    if (t.directMeter) engine.setDirectMeter(t.name, handle, rates);
    undo.onCommit(() => dropOneShot(st, extras.oneShot));
    const { notifiedAtUs: _n, oneShot: _o, ...kept } = extras;
    st.extras.set(k, {
      ...kept,
      metadata: te.metadata,
      idleTimeoutNs: te.idleTimeoutNs,
      ...(resolved.oneShot ? { oneShot: resolved.oneShot } : {}),
    });
    undo.push(() => {
      const h = handleAt(st, b, key, te.priority, "undo of MODIFY");
      engine.modifyEntry(t.name, h, before.action, before.idleTimeoutNs ?? 0n);
      dropOneShot(st, resolved.oneShot);
      if (prevCounter) engine.writeDirectCounter(t.name, h, prevCounter);
      if (t.directMeter) engine.setDirectMeter(t.name, h, prevRates);
      st.extras.set(st.key(t.id, h), extras);
    });
  } catch (e) {
    unwind(local, e);
  }
}

function deleteEntry(
  st: RuntimeState,
  b: TableBinding,
  key: readonly MatchValue[],
  priority: number,
  handle: EntryHandle,
  undo: UndoLog,
): void {
  const engine = st.pipeline.engine;
  const t = b.info;
  const k = st.key(t.id, handle);
  const extras = st.extras.get(k);
  // What the undo step restores (a continue-on-error batch has no undo step: nothing to copy).
  const before = undo.enabled ? engine.getEntry(t.name, handle) : undefined;
  const prevCounter = before && t.directCounter ? engine.readDirectCounter(t.name, handle) : undefined;
  const prevRates = before && t.directMeter ? engine.getDirectMeter(t.name, handle) : undefined;
  engine.deleteEntry(t.name, handle);
  st.extras.delete(k);
  if (before) {
    undo.push(() => {
      if (engine.findEntry(t.name, key, priority) !== undefined)
        throw new Error(`undo of DELETE: table "${t.name}" already has an entry with this match and priority`);
      const h = engine.addEntry(t.name, before);
      if (prevCounter) engine.writeDirectCounter(t.name, h, prevCounter);
      if (prevRates) engine.setDirectMeter(t.name, h, prevRates);
      if (extras) st.extras.set(st.key(t.id, h), extras);
    });
  }
  // Hidden one-shot objects go with the entry, unless the batch rolls back.
  undo.onCommit(() => dropOneShot(st, extras?.oneShot));
}

function writeDefaultEntry(st: RuntimeState, b: TableBinding, type: Update_Type, te: TableEntry, undo: UndoLog): void {
  const engine = st.pipeline.engine;
  const t = b.info;
  if (type !== Update_Type.MODIFY) throw invalid(`table "${t.name}": the default entry can only be modified (not inserted or deleted)`);
  if (te.match.length > 0 || te.priority !== 0) throw invalid(`table "${t.name}": the default entry has no match and priority 0`);
  if (t.constDefaultActionId !== 0) throw permissionDenied(`table "${t.name}": the default action is const`);
  if (te.idleTimeoutNs !== 0n) throw invalid(`table "${t.name}": the default entry has no idle timeout`);
  const before = engine.getDefaultAction(t.name);
  if (!te.action || te.action.type.case === undefined) {
    engine.resetDefaultAction(t.name);
  } else {
    if (t.implementation) throw permissionDenied(`table "${t.name}" is indirect: its default action is fixed`);
    const resolved = resolveAction(st, b, te.action, true, undo);
    engine.setDefaultAction(t.name, resolved.action);
  }
  undo.push(() => engine.setDefaultAction(t.name, before));
}

/**
 * Reads table entries matching the query: table id 0 means every table, an
 * empty match every entry, a set is_default_action the default entry.
 * Direct counters, meters and time since last hit are included when the
 * query asks for them.
 */
export function readTableEntries(st: RuntimeState, q: TableEntry, nowUs: bigint): TableEntry[] {
  const p = st.pipeline;
  const bindings = q.tableId === 0 ? p.allTables() : [p.table(q.tableId)];
  const out: TableEntry[] = [];
  for (const b of bindings) {
    const t = b.info;
    const engine = p.engine;
    if (q.isDefaultAction) {
      if (q.tableId === 0) continue;
      const te = create(TableEntrySchema, {
        tableId: t.id,
        isDefaultAction: true,
        action: actionToProto(st, engine.getDefaultAction(t.name), undefined),
      });
      out.push(te);
      continue;
    }
    let handles: readonly EntryHandle[];
    if (q.match.length > 0) {
      const key = matchToKey(b, q.match);
      if (q.priority !== 0 || !t.needsPriority) {
        const h = engine.findEntry(t.name, key, q.priority);
        handles = h === undefined ? [] : [h];
      } else {
        handles = engine.entries(t.name).filter((h) => sameKey(engine.getEntry(t.name, h).key, key));
      }
    } else {
      handles = engine.entries(t.name);
      if (q.priority !== 0) handles = handles.filter((h) => engine.getEntry(t.name, h).priority === q.priority);
    }
    for (const h of handles) {
      out.push(entryMessage(st, b, h, nowUs, { counter: !!q.counterData, meter: !!q.meterConfig, lastHit: !!q.timeSinceLastHit }));
    }
  }
  return out;
}

/** One installed entry as a TableEntry message (canonical bytestrings). */
export function entryMessage(
  st: RuntimeState,
  b: TableBinding,
  h: EntryHandle,
  nowUs: bigint,
  want: { counter?: boolean; meter?: boolean; lastHit?: boolean } = {},
): TableEntry {
  const t = b.info;
  const engine = st.pipeline.engine;
  const spec = engine.getEntry(t.name, h);
  const extras = st.extras.get(st.key(t.id, h));
  const te = create(TableEntrySchema, {
    tableId: t.id,
    match: keyToMatch(b, spec.key),
    action: actionToProto(st, spec.action, extras),
    priority: spec.priority,
    idleTimeoutNs: extras?.idleTimeoutNs ?? spec.idleTimeoutNs ?? 0n,
    metadata: extras?.metadata ?? new Uint8Array(),
    isConst: t.isConst,
  });
  if (want.counter && t.directCounter) te.counterData = toCounterData(engine.readDirectCounter(t.name, h));
  if (want.meter && t.directMeter) {
    const rates = engine.getDirectMeter(t.name, h);
    if (rates) te.meterConfig = toMeterConfig(rates);
  }
  if (want.lastHit) {
    const elapsedUs = nowUs - engine.entryLastHitUs(t.name, h);
    te.timeSinceLastHit = create(TableEntry_IdleTimeoutSchema, { elapsedNs: (elapsedUs > 0n ? elapsedUs : 0n) * 1000n });
  }
  return te;
}

function sameKey(a: readonly MatchValue[], b: readonly MatchValue[]): boolean {
  return a.length === b.length && a.every((x, i) => JSON.stringify(x, big) === JSON.stringify(b[i], big));
}

function big(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}
