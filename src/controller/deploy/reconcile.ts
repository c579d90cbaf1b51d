/**
 * Declarative programming of one switch. A switch state (table entries by
 * identity, PRE groups, meter cells) is computed from an intent or read
 * from the switch; the difference between two states becomes updates,
 * written in an order that never leaves a packet pointing at something
 * missing longer than needed: new leaves (neighbours, rewrite rules, PRE
 * groups, meters) first, then the entries that reference them; deletions in
 * the reverse order. A deploy diffs against what the switch holds (so a
 * second deploy writes nothing); a repair diffs against what the controller
 * last wrote (it is the only writer), which saves the reads.
 */
import type { P4RuntimeClient, UpdateInput } from "../../client/client.js";
import type { DecodedOf } from "../../client/entities/entity.js";
import { decodeTableEntry, encodeTableEntry, type TableEntryInput } from "../../client/entities/table-entry.js";
import type { MeterConfigValue } from "../../client/entities/common.js";
import type { ReplicaValue } from "../../client/entities/pre.js";
import type { RegisterAccess } from "../../client/registers.js";
import { GROUP_BANK_B, GROUP_PARAMS, METER_BURST, type SwitchIntent, T } from "../plan/intent.js";
import type { ActionCallInput } from "../../client/entities/common.js";

/**
 * Tables whose entries others reference: written first, deleted last. The
 * trust tables (plan/trust.ts) are leaves too: a switch admits its new
 * neighbours before its tree and overlay entries change, and forgets the
 * old ones last.
 */
const LEAF_TABLES = new Set<string>([T.nexthop, T.treeRid, T.overlayRid, T.clientRid, T.local, T.hbPeer, T.hbMode, T.treeParent, T.overlaySender, T.hbNeighbor]);

const DEDUP_REGISTERS = [
  "ingress.dedup.dedup_highest",
  "ingress.dedup.dedup_history",
  "ingress.dedup.dedup_gap",
  "ingress.dedup.dedup_resync_seq",
  "ingress.dedup.dedup_resync_count",
];

export interface EntryState {
  readonly table: string;
  /** Canonical action and idle timeout. */
  readonly value: string;
  /** What to write to (re)create it. */
  readonly input: TableEntryInput;
}

export interface SwitchState {
  /** By canonical identity: table, match, priority. */
  readonly entries: Map<string, EntryState>;
  readonly groups: Map<number, readonly ReplicaValue[]>;
  /** Configured meter cells, by "meter/index". */
  readonly meters: Map<string, { meter: string; index: number; config: MeterConfigValue }>;
}

export interface ReconcileResult {
  readonly switch: string;
  readonly inserted: number;
  readonly modified: number;
  readonly deleted: number;
  /** WriteRequests sent. */
  readonly requests: number;
  /** Last-hop sessions whose dedup state was reset. */
  readonly resetSessions: readonly number[];
}

export interface ReconcileOptions {
  /** Updates per WriteRequest (default 1000). */
  readonly batch?: number;
  /** Register access, to reset dedup state of newly installed last-hop sessions. */
  readonly registers?: RegisterAccess;
  /** Compute the difference without writing it. */
  readonly dryRun?: boolean;
  /** The register writes that empty a session's dedup window (default: the v1model layout). */
  readonly dedupReset?: (session: number) => readonly { register: string; index: number; value: bigint }[];
}

const big = (_k: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);

function identity(d: { table: string; match: object; priority: number }): string {
  return JSON.stringify([d.table, Object.entries(d.match).sort(([a], [b]) => a.localeCompare(b)), d.priority], big);
}

const replicaKey = (r: readonly ReplicaValue[]) => JSON.stringify([...r].map((x) => [x.port, x.instance ?? 0]).sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!));

/**
 * Where each of the intent's (logical) groups lives: where it already is if
 * its replicas are unchanged, in the other bank if they changed, in bank A
 * if it is new.
 */
function placeGroups(intent: SwitchIntent, current?: SwitchState): Map<number, number> {
  const placed = new Map<number, number>();
  for (const [logical, replicas] of intent.groups) {
    const here = [logical, logical | GROUP_BANK_B].filter((p) => current?.groups.has(p));
    const same = here.find((p) => replicaKey(current!.groups.get(p)!) === replicaKey(replicas));
    placed.set(logical, same ?? (here.length > 0 ? here[0]! ^ GROUP_BANK_B : logical));
  }
  return placed;
}

function withPhysicalGroups(e: TableEntryInput, placed: ReadonlyMap<number, number>): TableEntryInput {
  const a = e.action;
  if (!a || typeof a !== "object" || !("params" in a) || !a.params) return e;
  const params = { ...a.params };
  let changed = false;
  for (const k of Object.keys(params)) {
    if (!GROUP_PARAMS.has(k)) continue;
    const phys = placed.get(Number(params[k]));
    if (phys !== undefined) {
      params[k] = phys;
      changed = true;
    }
  }
  return changed ? { ...e, action: { ...(a as ActionCallInput), params } } : e;
}

/**
 * The state an intent asks for (entries canonicalised through the P4Info),
 * with groups placed relative to `current` (see GROUP_BANK_B).
 */
export function desiredState(client: P4RuntimeClient, intent: SwitchIntent, current?: SwitchState): SwitchState {
  const placed = placeGroups(intent, current);
  const entries = new Map<string, EntryState>();
  for (const raw of intent.entries) {
    const e = withPhysicalGroups(raw, placed);
    const d = decodeTableEntry(client.index, encodeTableEntry(client.index, e));
    const key = identity(d);
    const value = JSON.stringify([d.action, d.idleTimeoutNs], big);
    const prev = entries.get(key);
    if (prev && prev.value !== value) throw new Error(`plan for ${intent.switch}: two different entries for one key of ${d.table}: ${prev.value} vs ${value}`);
    entries.set(key, { table: d.table, value, input: e });
  }
  return {
    entries,
    groups: new Map([...intent.groups].map(([logical, replicas]) => [placed.get(logical)!, replicas])),
    meters: new Map(intent.meters.map((m) => [`${m.meter}/${m.index}`, m])),
  };
}

/** What the switch holds (wildcard reads; default and const entries left out). */
export async function readState(client: P4RuntimeClient): Promise<SwitchState> {
  const [entries, groups, meters] = await Promise.all([
    client.readAll({ kind: "tableEntry", table: "*" }),
    client.readAll({ kind: "multicastGroup" }),
    client.index.meters.find(METER_BURST) ? client.readAll({ kind: "meterEntry", meter: METER_BURST }) : Promise.resolve([]),
  ]);
  const state: SwitchState = { entries: new Map(), groups: new Map(), meters: new Map() };
  for (const e of entries as DecodedOf<"tableEntry">[]) {
    if (e.isDefault || e.isConst) continue;
    state.entries.set(identity(e), {
      table: e.table,
      value: JSON.stringify([e.action, e.idleTimeoutNs], big),
      input: { table: e.table, match: Object.fromEntries(Object.entries(e.match).map(([k, v]) => [k, matchInput(v)])), ...(e.priority ? { priority: e.priority } : {}) },
    });
  }
  for (const g of groups as DecodedOf<"multicastGroup">[]) state.groups.set(g.groupId, g.replicas);
  for (const m of meters as DecodedOf<"meterEntry">[]) if (m.config) state.meters.set(`${m.meter}/${m.index}`, { meter: m.meter, index: Number(m.index), config: m.config });
  return state;
}

interface Diff {
  readonly phases: UpdateInput[][];
  readonly inserted: number;
  readonly modified: number;
  readonly deleted: number;
  readonly newLastHopSessions: number[];
}

const replicaText = replicaKey;
const meterText = (c: MeterConfigValue | undefined) => (c ? JSON.stringify([c.cir, c.cburst, c.pir, c.pburst].map((x) => BigInt(x)), big) : "");

export function diffStates(current: SwitchState, desired: SwitchState): Diff {
  const leafWrites: UpdateInput[] = [];
  const refWrites: UpdateInput[] = [];
  const refDeletes: UpdateInput[] = [];
  const leafDeletes: UpdateInput[] = [];
  let inserted = 0;
  let modified = 0;
  let deleted = 0;
  const newLastHopSessions: number[] = [];
  for (const [key, d] of desired.entries) {
    const cur = current.entries.get(key);
    const list = LEAF_TABLES.has(d.table) ? leafWrites : refWrites;
    if (!cur) {
      list.push({ type: "insert", entity: { kind: "tableEntry", ...d.input } });
      inserted++;
      if (d.table === T.lastHopSession) newLastHopSessions.push(Number(d.input.match?.session_id));
    } else if (cur.value !== d.value) {
      list.push({ type: "modify", entity: { kind: "tableEntry", ...d.input } });
      modified++;
    }
  }
  for (const [key, cur] of current.entries) {
    if (desired.entries.has(key)) continue;
    const { action: _a, ...keyOnly } = cur.input;
    (LEAF_TABLES.has(cur.table) ? leafDeletes : refDeletes).push({ type: "delete", entity: { kind: "tableEntry", ...keyOnly } });
    deleted++;
  }
  for (const [id, replicas] of desired.groups) {
    const cur = current.groups.get(id);
    if (!cur) {
      leafWrites.push({ type: "insert", entity: { kind: "multicastGroup", groupId: id, replicas } });
      inserted++;
    } else if (replicaText(cur) !== replicaText(replicas)) {
      leafWrites.push({ type: "modify", entity: { kind: "multicastGroup", groupId: id, replicas } });
      modified++;
    }
  }
  for (const id of current.groups.keys()) {
    if (desired.groups.has(id)) continue;
    leafDeletes.push({ type: "delete", entity: { kind: "multicastGroup", groupId: id } });
    deleted++;
  }
  for (const [key, m] of desired.meters) {
    if (meterText(current.meters.get(key)?.config) === meterText(m.config)) continue;
    leafWrites.push({ type: "modify", entity: { kind: "meterEntry", meter: m.meter, index: m.index, config: m.config } });
    modified++;
  }
  for (const [key, m] of current.meters) {
    if (desired.meters.has(key)) continue;
    leafWrites.push({ type: "modify", entity: { kind: "meterEntry", meter: m.meter, index: m.index } });
    modified++;
  }
  return { phases: [leafWrites, refWrites, refDeletes, leafDeletes], inserted, modified, deleted, newLastHopSessions };
}

/** Writes the difference between `current` and `desired`. */
export async function applyDiff(client: P4RuntimeClient, name: string, current: SwitchState, desired: SwitchState, opts: ReconcileOptions = {}): Promise<ReconcileResult> {
  const batch = opts.batch ?? 1000;
  const diff = diffStates(current, desired);
  let requests = 0;
  if (!opts.dryRun) {
    // The dedup state of a newly installed last-hop session starts empty.
    if (opts.registers) {
      const reset = opts.dedupReset ?? ((s: number) => DEDUP_REGISTERS.map((register) => ({ register, index: s, value: 0n })));
      for (const s of diff.newLastHopSessions) for (const w of reset(s)) await opts.registers.write(w.register, w.index, w.value);
    }
    for (const phase of diff.phases) {
      for (let i = 0; i < phase.length; i += batch) {
        await client.write(phase.slice(i, i + batch));
        requests++;
      }
    }
  }
  return { switch: name, inserted: diff.inserted, modified: diff.modified, deleted: diff.deleted, requests, resetSessions: diff.newLastHopSessions };
}

/** Reads the switch and writes what differs from the intent. */
export async function reconcileSwitch(client: P4RuntimeClient, intent: SwitchIntent, opts: ReconcileOptions = {}): Promise<ReconcileResult & { state: SwitchState }> {
  const current = await readState(client);
  const desired = desiredState(client, intent, current);
  const result = await applyDiff(client, intent.switch, current, desired, opts);
  return { ...result, state: desired };
}

function matchInput(v: DecodedOf<"tableEntry">["match"][string]) {
  switch (v.kind) {
    case "exact":
    case "optional":
      return v.value;
    case "lpm":
      return { value: v.value, prefixLen: v.prefixLen };
    case "ternary":
      return { value: v.value, mask: v.mask };
    case "range":
      return { low: v.low, high: v.high };
  }
}
