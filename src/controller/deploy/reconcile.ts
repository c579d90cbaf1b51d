/**
 * Declarative programming of one switch: read what it holds (wildcard
 * reads), compare with the intent, and write only the difference, in an
 * order that never leaves a packet pointing at something missing longer than
 * needed: new leaves (neighbours, rewrite rules, PRE groups, meters) first,
 * then the entries that reference them; deletions in the reverse order.
 * Re-running it on an unchanged switch writes nothing.
 */
import type { P4RuntimeClient, UpdateInput } from "../../client/client.js";
import type { DecodedOf } from "../../client/entities/entity.js";
import { decodeTableEntry, encodeTableEntry, type TableEntryInput } from "../../client/entities/table-entry.js";
import type { MeterConfigValue } from "../../client/entities/common.js";
import type { RegisterAccess } from "../../client/registers.js";
import { METER_BURST, type SwitchIntent, T } from "../plan/intent.js";

/** Tables whose entries others reference: written first, deleted last. */
const LEAF_TABLES = new Set<string>([T.nexthop, T.treeRid, T.overlayRid, T.clientRid, T.local, T.hbPeer, T.hbMode]);

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
}

const big = (_k: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);

interface Desired {
  readonly key: string;
  readonly value: string;
  readonly table: string;
  readonly input: TableEntryInput;
}

/** Canonical identity (table, match, priority) and value (action) of entries. */
function canonical(client: P4RuntimeClient, e: TableEntryInput): Desired {
  const d = decodeTableEntry(client.index, encodeTableEntry(client.index, e));
  return {
    table: d.table,
    key: JSON.stringify([d.table, Object.entries(d.match).sort(([a], [b]) => a.localeCompare(b)), d.priority], big),
    value: JSON.stringify([d.action, d.idleTimeoutNs], big),
    input: e,
  };
}

export async function reconcileSwitch(client: P4RuntimeClient, intent: SwitchIntent, opts: ReconcileOptions = {}): Promise<ReconcileResult> {
  const batch = opts.batch ?? 1000;
  // -- desired state, merged by key ---------------------------------------------
  const desired = new Map<string, Desired>();
  for (const e of intent.entries) {
    const d = canonical(client, e);
    const prev = desired.get(d.key);
    if (prev && prev.value !== d.value) {
      throw new Error(`plan for ${intent.switch}: two different entries for the same key in ${d.table}: ${prev.value} vs ${d.value}`);
    }
    desired.set(d.key, d);
  }
  // -- current state --------------------------------------------------------------
  const [entries, groups, meters] = await Promise.all([
    client.readAll({ kind: "tableEntry", table: "*" }),
    client.readAll({ kind: "multicastGroup" }),
    client.index.meters.find(METER_BURST) ? client.readAll({ kind: "meterEntry", meter: METER_BURST }) : Promise.resolve([]),
  ]);
  const current = new Map<string, { table: string; value: string; entity: DecodedOf<"tableEntry"> }>();
  for (const e of entries as DecodedOf<"tableEntry">[]) {
    if (e.isDefault || e.isConst) continue;
    const key = JSON.stringify([e.table, Object.entries(e.match).sort(([a], [b]) => a.localeCompare(b)), e.priority], big);
    current.set(key, { table: e.table, value: JSON.stringify([e.action, e.idleTimeoutNs], big), entity: e });
  }
  // -- the difference -------------------------------------------------------------
  const leafWrites: UpdateInput[] = [];
  const refWrites: UpdateInput[] = [];
  const refDeletes: UpdateInput[] = [];
  const leafDeletes: UpdateInput[] = [];
  let inserted = 0;
  let modified = 0;
  let deleted = 0;
  const newLastHopSessions: number[] = [];
  for (const d of desired.values()) {
    const cur = current.get(d.key);
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
  for (const [key, cur] of current) {
    if (desired.has(key)) continue;
    const e = cur.entity;
    const del: UpdateInput = {
      type: "delete",
      entity: { kind: "tableEntry", table: e.table, match: Object.fromEntries(Object.entries(e.match).map(([k, v]) => [k, matchInput(v)])), ...(e.priority ? { priority: e.priority } : {}) },
    };
    (LEAF_TABLES.has(cur.table) ? leafDeletes : refDeletes).push(del);
    deleted++;
  }
  const currentGroups = new Map((groups as DecodedOf<"multicastGroup">[]).map((g) => [g.groupId, g.replicas]));
  const sortReplicas = (r: readonly { port: number; instance?: number }[]) => JSON.stringify([...r].map((x) => [x.port, x.instance ?? 0]).sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!));
  for (const [id, replicas] of intent.groups) {
    const cur = currentGroups.get(id);
    if (!cur) {
      leafWrites.push({ type: "insert", entity: { kind: "multicastGroup", groupId: id, replicas } });
      inserted++;
    } else if (sortReplicas(cur) !== sortReplicas(replicas)) {
      leafWrites.push({ type: "modify", entity: { kind: "multicastGroup", groupId: id, replicas } });
      modified++;
    }
  }
  for (const id of currentGroups.keys()) {
    if (!intent.groups.has(id)) {
      leafDeletes.push({ type: "delete", entity: { kind: "multicastGroup", groupId: id } });
      deleted++;
    }
  }
  const wantMeters = new Map(intent.meters.map((m) => [`${m.meter}/${m.index}`, m]));
  const meterText = (c: MeterConfigValue | undefined) => (c ? JSON.stringify([c.cir, c.cburst, c.pir, c.pburst].map((x) => BigInt(x)), big) : "");
  for (const m of meters as DecodedOf<"meterEntry">[]) {
    const want = wantMeters.get(`${m.meter}/${m.index}`);
    if (meterText(want?.config) === meterText(m.config)) {
      wantMeters.delete(`${m.meter}/${m.index}`);
      continue;
    }
    if (!want) {
      leafWrites.push({ type: "modify", entity: { kind: "meterEntry", meter: m.meter, index: m.index } });
      modified++;
    }
  }
  for (const m of wantMeters.values()) {
    leafWrites.push({ type: "modify", entity: { kind: "meterEntry", meter: m.meter, index: m.index, config: m.config } });
    modified++;
  }
  // -- write, phase by phase ----------------------------------------------------------
  let requests = 0;
  if (!opts.dryRun) {
    // Dedup state of a newly installed last-hop session starts empty.
    if (opts.registers && newLastHopSessions.length > 0) {
      for (const s of newLastHopSessions) {
        for (const r of ["ingress.dedup.dedup_highest", "ingress.dedup.dedup_history", "ingress.dedup.dedup_gap"]) {
          await opts.registers.write(r, s, 0n);
        }
      }
    }
    for (const phase of [leafWrites, refWrites, refDeletes, leafDeletes]) {
      for (let i = 0; i < phase.length; i += batch) {
        await client.write(phase.slice(i, i + batch));
        requests++;
      }
    }
  }
  return { switch: intent.switch, inserted, modified, deleted, requests, resetSessions: newLastHopSessions };
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
