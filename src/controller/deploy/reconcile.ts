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
import {
  decodeTableEntry,
  encodeTableEntry,
  formatTableEntry,
  type DecodedTableEntry,
  type TableEntryInput,
} from "../../client/entities/table-entry.js";
import { formatAction, type MeterConfigValue } from "../../client/entities/common.js";
import { encodeEntity } from "../../client/entities/entity.js";
import { isP4InfoLookupError, isP4ValueError } from "../../p4runtime/errors.js";
import type { P4InfoIndex } from "../../p4runtime/p4info/index.js";
import { PlanError, type PlanProblem } from "../plan/plan-error.js";
import { replicaSetText, type ReplicaValue } from "../../client/entities/pre.js";
import type { RegisterAccess } from "../../client/registers.js";
import { GROUP_BANK_B, GROUP_PARAMS, HB_GROUP, METER_BURST, type SwitchIntent, T } from "../plan/intent.js";
import type { ActionCallInput } from "../../client/entities/common.js";
import { DEFAULT_MAX_BATCH } from "../../client/write/coalescer.js";
import { BMV2_DEDUP_REGISTERS } from "../targets/bmv2.js";

/**
 * Tables whose entries others reference: written first, deleted last. The
 * trust tables (plan/trust.ts) are leaves too: a switch admits its new
 * neighbours before its tree and overlay entries change, and forgets the
 * old ones last.
 */
/** The entry with its key only (to name the key two entries share). */
function keyOnly(d: DecodedTableEntry): DecodedTableEntry {
  const { action: _action, ...key } = d;
  return key;
}

const LEAF_TABLES = new Set<string>([
  T.nexthop,
  T.treeRid,
  T.overlayRid,
  T.clientRid,
  T.clientSession,
  T.local,
  T.hbPeer,
  T.hbMode,
  T.treeParent,
  T.overlaySender,
  T.hbNeighbor,
]);

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
  /** Updates per WriteRequest (default: the client's DEFAULT_MAX_BATCH, 128, which bounds a failed request's error list). */
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

/**
 * Where each of the intent's (logical) groups lives: where it already is if
 * its replicas are unchanged, in the other bank if they changed, in bank A
 * if it is new. The heartbeat group has one place (HB_GROUP).
 */
function placeGroups(groups: ReadonlyMap<number, readonly ReplicaValue[]>, current?: SwitchState): Map<number, number> {
  const placed = new Map<number, number>();
  for (const [logical, replicas] of groups) {
    if (logical === HB_GROUP) {
      placed.set(logical, logical);
      continue;
    }
    const here = [logical, logical | GROUP_BANK_B].filter((p) => current?.groups.has(p));
    const same = here.find((p) => replicaSetText(current!.groups.get(p)!) === replicaSetText(replicas));
    placed.set(logical, same ?? (here.length > 0 ? here[0]! ^ GROUP_BANK_B : logical));
  }
  return placed;
}

/**
 * The groups of a switch whose P4Runtime server predates backup replicas
 * (it would accept and drop them, and every later read would differ from
 * the intent): the replicas alone. Such a switch keeps the controller's
 * repair only.
 */
function withoutBackups(groups: ReadonlyMap<number, readonly ReplicaValue[]>): Map<number, readonly ReplicaValue[]> {
  return new Map(
    [...groups].map(([id, replicas]) => [id, replicas.map((r) => (r.backups?.length ? { port: r.port, instance: r.instance ?? 0 } : r))]),
  );
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
 * with groups placed relative to `current` (see GROUP_BANK_B), their
 * backup replicas left out unless `backups` (the switch keeps them:
 * P4RuntimeClient.takesBackupReplicas). Throws a
 * PlanError naming every entry that the P4Info refuses and every pair of
 * different entries for one key, with the topology paths they came from.
 */
export function desiredState(
  client: P4RuntimeClient,
  intent: SwitchIntent,
  current: SwitchState | undefined,
  backups: boolean,
): SwitchState {
  const problems: PlanProblem[] = [];
  const state = buildDesired(client.index, intent, current, problems, undefined, backups);
  if (problems.length > 0) throw new PlanError(problems);
  return state;
}

/**
 * Entries already encoded and canonicalised against a P4Info (by
 * checkIntents), by the intent's entry object. Valid for switches that run
 * the pipeline of that P4Info; entries whose group ids are placed
 * differently are encoded again.
 */
export type CheckedEntries = WeakMap<
  TableEntryInput,
  { readonly key: string; readonly value: string; readonly decoded: DecodedTableEntry }
>;

/**
 * Checks intents against a P4Info with no switch involved: every entry,
 * group and meter cell encodes, and no key has two different entries.
 * Throws one PlanError with the problems of every switch; returns the
 * entries' canonical forms, for prepareSwitches to reuse.
 */
export function checkIntents(index: P4InfoIndex, intents: Iterable<SwitchIntent>): CheckedEntries {
  const problems: PlanProblem[] = [];
  const checked: CheckedEntries = new WeakMap();
  for (const intent of intents) {
    const desired = buildDesired(index, intent, undefined, problems, checked);
    for (const u of otherUpdates(desired)) {
      try {
        encodeEntity(index, u.entity);
      } catch (e) {
        problems.push(refused(intent, u, e));
      }
    }
  }
  if (problems.length > 0) throw new PlanError(problems);
  return checked;
}

/** The intent's multicast groups and meter cells as updates (for checking them against a P4Info). */
function otherUpdates(desired: SwitchState): UpdateInput[] {
  return [
    ...[...desired.groups].map(
      ([groupId, replicas]): UpdateInput => ({ type: "insert", entity: { kind: "multicastGroup", groupId, replicas } }),
    ),
    ...[...desired.meters.values()].map(
      (m): UpdateInput => ({ type: "modify", entity: { kind: "meterEntry", meter: m.meter, index: m.index, config: m.config } }),
    ),
  ];
}

/** A P4Info refusal of a group or meter update, as a plan problem (other errors are bugs: rethrown). */
function refused(intent: SwitchIntent, u: UpdateInput, e: unknown): PlanProblem {
  if (!isP4ValueError(e) && !isP4InfoLookupError(e)) throw e;
  let what: string = u.entity.kind;
  if (u.entity.kind === "multicastGroup") {
    const origin = intent.origins?.groups.get(Number(u.entity.groupId) & ~GROUP_BANK_B);
    what = `multicast group ${u.entity.groupId}${origin ? ` (${origin})` : ""}`;
  } else if (u.entity.kind === "meterEntry") what = `meter ${u.entity.meter}[${u.entity.index}]`;
  return { switch: intent.switch, paths: [], message: `${what}: ${e.message}` };
}

/**
 * The desired state; problems are gathered, not thrown. `checked`: entries
 * encoded before (reused when their group ids are placed the same), and
 * filled with the ones encoded here.
 */
function buildDesired(
  index: P4InfoIndex,
  intent: SwitchIntent,
  current: SwitchState | undefined,
  problems: PlanProblem[],
  checked?: CheckedEntries,
  backups = true,
): SwitchState {
  const groups = backups ? intent.groups : withoutBackups(intent.groups);
  const placed = placeGroups(groups, current);
  const entries = new Map<string, EntryState>();
  const from = new Map<string, { path: string | undefined; decoded: DecodedTableEntry }>();
  const label = (path: string | undefined) => path ?? "an entry with no recorded origin";
  for (const raw of intent.entries) {
    const path = intent.origins?.entries.get(raw);
    const e = withPhysicalGroups(raw, placed);
    // An entry without group ids is the same whatever the placement.
    const known = e === raw ? checked?.get(raw) : undefined;
    let d: DecodedTableEntry;
    let key: string;
    let value: string;
    if (known) ({ decoded: d, key, value } = known);
    else {
      try {
        d = decodeTableEntry(index, encodeTableEntry(index, e));
      } catch (err) {
        if (!isP4ValueError(err) && !isP4InfoLookupError(err)) throw err;
        problems.push({
          switch: intent.switch,
          paths: path ? [path] : [],
          message: `${label(path)}: an entry of ${e.table} is refused by the P4Info: ${err.message}`,
        });
        continue;
      }
      key = identity(d);
      value = JSON.stringify([d.action, d.idleTimeoutNs], big);
      if (e === raw) checked?.set(raw, { key, value, decoded: d });
    }
    const prev = entries.get(key);
    if (prev) {
      if (prev.value !== value) {
        const first = from.get(key)!;
        problems.push({
          switch: intent.switch,
          paths: [first.path, path].filter((p): p is string => p !== undefined),
          message:
            `two different entries for one key, ${formatTableEntry(index, keyOnly(d))}: ` +
            `${label(first.path)} wants ${actionText(index, first.decoded)}, ${label(path)} wants ${actionText(index, d)}`,
        });
      }
      continue;
    }
    entries.set(key, { table: d.table, value, input: e });
    from.set(key, { path, decoded: d });
  }
  return {
    entries,
    groups: new Map([...groups].map(([logical, replicas]) => [placed.get(logical)!, replicas])),
    meters: new Map(intent.meters.map((m) => [`${m.meter}/${m.index}`, m])),
  };
}

function actionText(index: P4InfoIndex, d: DecodedTableEntry): string {
  const a = d.action;
  if (!a) return "no action";
  return a.kind === "action" ? formatAction(index, a) : JSON.stringify(a, big);
}

/**
 * Deadline of each whole-switch read. The client's deadline (a few seconds, so that a hung switch holds up a
 * write no longer) is too short for a read that streams every entry of a big switch on a busy machine:
 * `npm run bench:deploy` reads 50 switches of ~2,800 entries each, served by one process, in 5-6 s.
 */
export const STATE_READ_TIMEOUT_MS = 60_000;

/** What the switch holds (wildcard reads; default and const entries left out). */
export async function readState(client: P4RuntimeClient): Promise<SwitchState> {
  const within = { timeoutMs: Math.max(STATE_READ_TIMEOUT_MS, client.rpcTimeoutMs) };
  const [entries, groups, meters] = await Promise.all([
    client.collect([{ kind: "tableEntry", table: "*" }], within),
    client.collect([{ kind: "multicastGroup" }], within),
    client.index.meters.find(METER_BURST) ? client.collect([{ kind: "meterEntry", meter: METER_BURST }], within) : Promise.resolve([]),
  ]);
  const state: SwitchState = { entries: new Map(), groups: new Map(), meters: new Map() };
  for (const e of entries as DecodedOf<"tableEntry">[]) {
    if (e.isDefault || e.isConst) continue;
    state.entries.set(identity(e), {
      table: e.table,
      value: JSON.stringify([e.action, e.idleTimeoutNs], big),
      input: {
        table: e.table,
        match: Object.fromEntries(Object.entries(e.match).map(([k, v]) => [k, matchInput(v)])),
        ...(e.priority ? { priority: e.priority } : {}),
      },
    });
  }
  for (const g of groups as DecodedOf<"multicastGroup">[]) state.groups.set(g.groupId, g.replicas);
  for (const m of meters as DecodedOf<"meterEntry">[])
    if (m.config) state.meters.set(`${m.meter}/${m.index}`, { meter: m.meter, index: Number(m.index), config: m.config });
  return state;
}

interface Diff {
  readonly phases: UpdateInput[][];
  readonly inserted: number;
  readonly modified: number;
  readonly deleted: number;
  readonly newLastHopSessions: number[];
}

const meterText = (c: MeterConfigValue | undefined) =>
  c
    ? JSON.stringify(
        [c.cir, c.cburst, c.pir, c.pburst].map((x) => BigInt(x)),
        big,
      )
    : "";

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
    } else if (replicaSetText(cur) !== replicaSetText(replicas)) {
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
export async function applyDiff(
  client: P4RuntimeClient,
  name: string,
  current: SwitchState,
  desired: SwitchState,
  opts: ReconcileOptions = {},
): Promise<ReconcileResult> {
  return writeDiff(client, name, diffStates(current, desired), opts);
}

async function writeDiff(client: P4RuntimeClient, name: string, diff: Diff, opts: ReconcileOptions): Promise<ReconcileResult> {
  const batch = opts.batch ?? DEFAULT_MAX_BATCH;
  let requests = 0;
  if (!opts.dryRun) {
    // The dedup state of a newly installed last-hop session starts empty.
    if (opts.registers) {
      const reset = opts.dedupReset ?? ((s: number) => BMV2_DEDUP_REGISTERS.map((register) => ({ register, index: s, value: 0n })));
      for (const s of diff.newLastHopSessions) for (const w of reset(s)) await opts.registers.write(w.register, w.index, w.value);
    }
    for (const phase of diff.phases) {
      for (let i = 0; i < phase.length; i += batch) {
        await client.write(phase.slice(i, i + batch));
        requests++;
      }
    }
  }
  return {
    switch: name,
    inserted: diff.inserted,
    modified: diff.modified,
    deleted: diff.deleted,
    requests,
    resetSessions: diff.newLastHopSessions,
  };
}

/** One switch, planned and checked, ready to be written (prepareSwitches). */
export interface PreparedSwitch {
  readonly switch: string;
  readonly client: P4RuntimeClient;
  readonly intent: SwitchIntent;
  readonly current: SwitchState;
  readonly desired: SwitchState;
  readonly diff: Diff;
}

/**
 * Plans every switch before any is written: reads each one (in parallel),
 * computes its desired state and the difference, and encodes every group
 * and meter update against the switch's P4Info (table entries are encoded
 * by the desired state already, or by checkIntents: `checked`, for switches
 * that run the pipeline it checked against). Problems of every switch are
 * gathered into one PlanError; nothing is written.
 */
export async function prepareSwitches(
  targets: readonly { client: P4RuntimeClient; intent: SwitchIntent }[],
  checked?: CheckedEntries,
): Promise<PreparedSwitch[]> {
  const currents = await Promise.all(targets.map((t) => readState(t.client)));
  const backups = await Promise.all(targets.map((t) => t.client.takesBackupReplicas()));
  const problems: PlanProblem[] = [];
  const prepared = targets.map(({ client, intent }, i): PreparedSwitch => {
    const current = currents[i]!;
    const desired = buildDesired(client.index, intent, current, problems, checked, backups[i]);
    const diff = diffStates(current, desired);
    for (const u of diff.phases.flat()) {
      if (u.entity.kind === "tableEntry") continue;
      try {
        client.encodeUpdates([u]);
      } catch (e) {
        problems.push(refused(intent, u, e));
      }
    }
    return { switch: intent.switch, client, intent, current, desired, diff };
  });
  if (problems.length > 0) throw new PlanError(problems);
  return prepared;
}

/** Writes a prepared switch's difference; returns what was written and the state it leaves. */
export async function applyPrepared(p: PreparedSwitch, opts: ReconcileOptions = {}): Promise<ReconcileResult & { state: SwitchState }> {
  const result = await writeDiff(p.client, p.switch, p.diff, opts);
  return { ...result, state: p.desired };
}

/** Reads the switch and writes what differs from the intent. */
export async function reconcileSwitch(
  client: P4RuntimeClient,
  intent: SwitchIntent,
  opts: ReconcileOptions = {},
): Promise<ReconcileResult & { state: SwitchState }> {
  const [prepared] = await prepareSwitches([{ client, intent }]);
  return applyPrepared(prepared!, opts);
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
