/**
 * The p4cast controller: connects to every switch of a topology, pushes the
 * pipeline (skipped when the cookie matches), programs every switch
 * declaratively from the plan, re-programs a switch that restarted, watches
 * links with heartbeats, repairs trees and overlays when links fail, adds
 * and removes receivers on IGMP/MLD joins, and changes meters at run time.
 */
import { EventEmitter } from "node:events";
import { P4RuntimeClient } from "../client/client.js";
import { registerAccess, type RegisterAccess } from "../client/registers.js";
import { isP4RuntimeError } from "../client/errors.js";
import { planNetwork, type NetworkPlan } from "./plan/network-plan.js";
import type { SwitchIntent } from "./plan/intent.js";
import { trustOf, withTrust } from "./plan/trust.js";
import { applyDiff, desiredState, reconcileSwitch, type ReconcileResult, type SwitchState } from "./deploy/reconcile.js";
import { HeartbeatMonitor } from "./runtime/heartbeat.js";
import { NetworkGraph } from "./topology/graph.js";
import type { MeterSpec, SwitchSpec, Topology } from "./topology/schema.js";
import { OVERLAY_RID_BASE } from "./plan/intent.js";
import type { Target } from "./targets/target.js";
import type { Pipeline } from "./pipeline.js";
import { MembershipTracker, type MembershipChange } from "./runtime/membership.js";

export interface ControllerOptions {
  readonly topology: Topology;
  readonly pipeline: Pipeline;
  readonly electionId?: bigint;
  /** Overrides a switch's P4Runtime address (tests, port forwarding). */
  readonly grpcAddress?: (sw: SwitchSpec) => string;
  /** Overrides a switch's Thrift address. */
  readonly thriftAddress?: (sw: SwitchSpec) => { host: string; port: number } | undefined;
  readonly log?: (line: string) => void;
  readonly connectTimeoutMs?: number;
  /**
   * The kind of switch (src/controller/targets): how registers are reached
   * and laid out. Default: BMv2 behaviour (P4Runtime, else BMv2 Thrift).
   */
  readonly target?: Target;
}

export interface DeployReport {
  readonly durationMs: number;
  readonly pipelinesPushed: readonly string[];
  readonly switches: readonly ReconcileResult[];
  readonly writes: number;
  readonly warnings: readonly string[];
}

export interface FailoverReport {
  readonly link: string;
  readonly up: boolean;
  /** From the heartbeat verdict to the overlay switch-over write (overlay-on-failure), if any. */
  readonly overlayMs?: number;
  /** From the heartbeat verdict to the last write of the repair. */
  readonly repairMs: number;
  readonly writes: number;
  readonly switches: readonly string[];
}

export interface ControllerEvents {
  log: [string];
  deployed: [DeployReport];
  reprogrammed: [{ switch: string; result: ReconcileResult }];
  /** One switch of a deploy or repair is done. */
  programmed: [ReconcileResult];
  linkDown: [{ link: number; name: string }];
  linkUp: [{ link: number; name: string }];
  failover: [FailoverReport];
  /** overlay-on-failure last hops were switched to the overlay (the quick write is done). */
  overlaySwitched: [{ sessions: ReadonlyMap<number, ReadonlySet<string>>; atMs: number }];
  membership: [MembershipChange];
  error: [Error];
}

export class Controller extends EventEmitter<ControllerEvents> {
  readonly graph: NetworkGraph;
  readonly clients = new Map<string, P4RuntimeClient>();
  readonly registers = new Map<string, RegisterAccess>();
  private plan: NetworkPlan | undefined;
  /** What the controller last wrote to each switch, and the intent it came from. */
  private readonly applied = new Map<string, { hash: string; state: SwitchState; intent: SwitchIntent }>();
  private heartbeat: HeartbeatMonitor | undefined;
  readonly membership: MembershipTracker;
  private readonly overlayActivated = new Map<number, Set<string>>();
  private readonly meterOverrides = new Map<number, MeterSpec | undefined>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly options: ControllerOptions) {
    super();
    this.graph = new NetworkGraph(options.topology);
    this.membership = new MembershipTracker(options.topology);
  }

  get topology(): Topology {
    return this.options.topology;
  }

  private log(line: string): void {
    this.options.log?.(line);
    this.emit("log", line);
  }

  /** Runs controller work one piece at a time (deploys, repairs, joins). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Connects to every switch (in parallel) and arbitrates as primary. */
  async connect(): Promise<void> {
    const electionId = this.options.electionId ?? 1n;
    await Promise.all(
      this.topology.switches.map(async (s) => {
        const address = this.options.grpcAddress?.(s) ?? s.grpc;
        const client = await P4RuntimeClient.connect({
          address,
          deviceId: BigInt(s.deviceId),
          electionId,
          reconnect: { initialMs: 100, maxMs: 2000 },
          connectTimeoutMs: this.options.connectTimeoutMs ?? 10_000,
        });
        if (!client.isPrimary) {
          client.close();
          throw new Error(`${s.name} (${address}): another controller is primary (election id ${client.arbitration?.primaryElectionId}); use a higher --election-id`);
        }
        this.clients.set(s.name, client);
        client.on("reconnect", (st) => {
          if (!st.primary) return;
          this.log(`${s.name}: reconnected; re-programming it`);
          void this.serial(() => this.reprogram(s.name)).catch((e: unknown) => this.emit("error", e instanceof Error ? e : new Error(String(e))));
        });
        client.on("disconnect", (e) => this.log(`${s.name}: stream lost (${e.message})`));
        client.on("packetIn", (p) => {
          const change = this.membership.onPacketIn(s.name, p);
          if (change) void this.serial(() => this.applyMembership(change)).catch((e: unknown) => this.emit("error", e instanceof Error ? e : new Error(String(e))));
        });
      }),
    );
  }

  private async registersFor(name: string): Promise<RegisterAccess> {
    let r = this.registers.get(name);
    if (!r) {
      const s = this.graph.switches.get(name)!;
      const thrift = this.options.thriftAddress?.(s) ?? (s.thrift ? { host: s.thrift.split(":")[0]!, port: Number(s.thrift.split(":")[1]) } : undefined);
      r = this.options.target ? await this.options.target.registers(this.clients.get(name)!) : await registerAccess(this.clients.get(name)!, thrift ?? {});
      this.registers.set(name, r);
    }
    return r;
  }

  private computePlan(): NetworkPlan {
    return planNetwork({
      graph: this.graph,
      extraClients: this.membership.joined(),
      removedClients: this.membership.left(),
      ipv6Joins: this.membership.ipv6Joins(),
      overlayActivated: this.overlayActivated,
      meterOverrides: this.meterOverrides,
      ...(this.plan ? { pinnedOverlays: new Map([...this.plan.sessions].map(([id, sp]) => [id, new Map([...sp.overlays, ...sp.standby])])) } : {}),
    });
  }

  private async pushPipeline(name: string): Promise<boolean> {
    const p = this.options.pipeline;
    return this.clients.get(name)!.setPipeline({ p4info: p.p4info, deviceConfig: p.deviceConfig, cookie: p.cookie });
  }

  private reconcileOptions(registers: RegisterAccess) {
    const t = this.options.target;
    return { registers, ...(t ? { dedupReset: (s: number) => t.dedupResetWrites(s) } : {}) };
  }

  /** Reads the switch and writes what differs from the intent (deploys, restarts). */
  private async program(name: string, intent: SwitchIntent): Promise<ReconcileResult> {
    const { state, ...result } = await reconcileSwitch(this.clients.get(name)!, intent, this.reconcileOptions(await this.registersFor(name)));
    this.applied.set(name, { hash: intentHash(intent), state, intent });
    this.emit("programmed", result);
    return result;
  }

  /** Writes what differs from what the controller last wrote (repairs: no reads). */
  private async update(name: string, intent: SwitchIntent): Promise<ReconcileResult> {
    const last = this.applied.get(name);
    if (!last) return this.program(name, intent);
    const client = this.clients.get(name)!;
    const desired = desiredState(client, intent, last.state);
    const result = await applyDiff(client, name, last.state, desired, this.reconcileOptions(await this.registersFor(name)));
    this.applied.set(name, { hash: intentHash(intent), state: desired, intent });
    return result;
  }

  /** Pushes pipelines and programs every switch; returns what was written. */
  deploy(): Promise<DeployReport> {
    return this.serial(async () => {
      const t0 = performance.now();
      const pushed = (await Promise.all(this.topology.switches.map(async (s) => ((await this.pushPipeline(s.name)) ? s.name : undefined)))).filter((x): x is string => !!x);
      this.plan = this.computePlan();
      for (const w of this.plan.warnings) this.log(`warning: ${w}`);
      const results = await Promise.all(this.topology.switches.map((s) => this.program(s.name, this.plan!.intents.get(s.name)!)));
      const report: DeployReport = {
        durationMs: performance.now() - t0,
        pipelinesPushed: pushed,
        switches: results,
        writes: results.reduce((n, r) => n + r.inserted + r.modified + r.deleted, 0),
        warnings: this.plan.warnings,
      };
      this.emit("deployed", report);
      return report;
    });
  }

  /** A switch came back (restart): pipeline and every entry again. */
  private async reprogram(name: string): Promise<void> {
    await this.pushPipeline(name);
    this.registers.get(name)?.close();
    this.registers.delete(name);
    this.plan ??= this.computePlan();
    const result = await this.program(name, this.plan.intents.get(name)!);
    this.log(`${name}: re-programmed (${result.inserted} inserted, ${result.modified} modified, ${result.deleted} deleted)`);
    this.emit("reprogrammed", { switch: name, result });
  }

  /**
   * Switches overlay-on-failure last hops to their standby overlay: one
   * MulticastGroupEntry write per affected ingress router, before anything
   * else is recomputed.
   */
  private async activateOverlays(affected: ReadonlyMap<number, ReadonlySet<string>>): Promise<number> {
    const plan = this.plan;
    if (!plan) return 0;
    // Per ingress router: its last intent with the overlay copies added to the session groups.
    const byIngress = new Map<string, SwitchIntent>();
    for (const [sid, lastHops] of affected) {
      const sp = plan.sessions.get(sid);
      const last = sp && this.applied.get(sp.ingress);
      if (!sp || !last) continue;
      const base = byIngress.get(sp.ingress) ?? { ...last.intent, groups: new Map(last.intent.groups) };
      const group = base.groups.get(sid);
      if (!group) continue;
      const add = [...lastHops].flatMap((lh) => {
        const ov = sp.standby.get(lh);
        return ov ? [{ port: ov.path[0]!.port, instance: OVERLAY_RID_BASE + (this.graph.switches.get(lh)!.deviceId & 0xfff) }] : [];
      });
      base.groups.set(sid, [...group, ...add.filter((r) => !group.some((x) => x.port === r.port && x.instance === r.instance))]);
      byIngress.set(sp.ingress, base);
    }
    const results = await Promise.all([...byIngress].map(([sw, intent]) => this.update(sw, intent)));
    return results.reduce((n, r) => n + r.inserted + r.modified + r.deleted, 0);
  }

  /** Recomputes the plan and programs the switches whose intent changed. */
  private async repair(first: readonly string[] = []): Promise<{ writes: number; switches: string[] }> {
    this.plan = this.computePlan();
    const changed = this.topology.switches.map((s) => s.name).filter((n) => this.applied.get(n)?.hash !== intentHash(this.plan!.intents.get(n)!));
    // Some switches go first (e.g. ingress routers switching to the overlay).
    const ordered = [...first.filter((n) => changed.includes(n)), ...changed.filter((n) => !first.includes(n))];
    // Neighbour trust, make before break: every switch admits its new tree
    // parents, overlay senders and heartbeat neighbours before any tree or
    // overlay moves, and keeps the old ones until every switch has moved.
    let writes = await this.admitTrust(ordered);
    const during = (n: string) => withTrust(this.plan!.intents.get(n)!, trustOf(this.applied.get(n)?.intent ?? this.plan!.intents.get(n)!));
    const head = ordered.filter((n) => first.includes(n));
    for (const n of head) {
      const r = await this.update(n, during(n));
      writes += r.inserted + r.modified + r.deleted;
    }
    const rest = await Promise.all(ordered.slice(head.length).map((n) => this.update(n, during(n))));
    writes += rest.reduce((s, r) => s + r.inserted + r.modified + r.deleted, 0);
    writes += await this.retireTrust(ordered);
    return { writes, switches: ordered };
  }

  /** Adds the current plan's trust entries to what `names` hold (nothing else changes). */
  private async admitTrust(names: readonly string[]): Promise<number> {
    const results = await Promise.all(
      names.map((n) => {
        const last = this.applied.get(n);
        if (!last) return undefined;
        const target = withTrust(last.intent, trustOf(this.plan!.intents.get(n)!));
        return target === last.intent ? undefined : this.update(n, target);
      }),
    );
    return results.reduce((s, r) => s + (r ? r.inserted + r.modified + r.deleted : 0), 0);
  }

  /** Removes trust entries the current plan no longer has (after every switch moved). */
  private async retireTrust(names: readonly string[]): Promise<number> {
    const results = await Promise.all(
      names.map((n) => {
        const want = this.plan!.intents.get(n)!;
        return this.applied.get(n)?.hash === intentHash(want) ? undefined : this.update(n, want);
      }),
    );
    return results.reduce((s, r) => s + (r ? r.inserted + r.modified + r.deleted : 0), 0);
  }

  /** Starts the heartbeat loop; link verdicts trigger repairs. */
  startHeartbeats(): HeartbeatMonitor {
    this.plan ??= this.computePlan();
    const hb = new HeartbeatMonitor(this.graph, this.clients, this.plan.peers, this.topology.heartbeat, this.options.target?.heartbeatRequests);
    const fail = (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      this.log(`error: ${err.message}`);
      this.emit("error", err);
    };
    hb.on("linkDown", (e) => void this.serial(() => this.linkChanged(e.link, false, e.atMs)).catch(fail));
    hb.on("linkUp", (e) => void this.serial(() => this.linkChanged(e.link, true, e.atMs)).catch(fail));
    hb.on("error", (e) => this.emit("error", e));
    hb.start();
    this.heartbeat = hb;
    return hb;
  }

  /** Marks a link down or up (heartbeat verdict, or by hand) and repairs. */
  setLink(link: number, up: boolean): Promise<FailoverReport | undefined> {
    return this.serial(() => this.linkChanged(link, up, performance.now()));
  }

  private async linkChanged(link: number, up: boolean, detectedAtMs: number): Promise<FailoverReport | undefined> {
    if (!this.graph.setLinkUp(link, up)) return undefined;
    const name = this.graph.linkName(link);
    this.log(`link ${name} ${up ? "up" : "down"}`);
    this.emit(up ? "linkUp" : "linkDown", { link, name });
    const first: string[] = [];
    let quick = 0;
    let overlayMs: number | undefined;
    const plan = this.plan ?? this.computePlan();
    if (!up) {
      // overlay-on-failure: last hops whose tree branch used the link switch to the overlay at once.
      const affected = new Map<number, Set<string>>();
      for (const sp of plan.sessions.values()) {
        if (sp.session.redundancy !== "overlay-on-failure") continue;
        for (const [lh, branch] of sp.tree.branch) {
          if (!branch.some((a) => a.link === link)) continue;
          const set = this.overlayActivated.get(sp.session.id) ?? new Set<string>();
          set.add(lh);
          this.overlayActivated.set(sp.session.id, set);
          affected.set(sp.session.id, new Set([...(affected.get(sp.session.id) ?? []), lh]));
          first.push(sp.ingress);
        }
      }
      quick = await this.activateOverlays(affected);
      if (quick > 0) {
        overlayMs = performance.now() - detectedAtMs;
        this.emit("overlaySwitched", { sessions: affected, atMs: performance.now() });
      }
      if (quick > 0) this.log(`overlay switched on for ${[...affected].map(([s, l]) => `session ${s} → ${[...l].join(", ")}`).join("; ")} in ${(performance.now() - detectedAtMs).toFixed(1)} ms`);
    }
    const { writes: repairWrites, switches } = await this.repair(first);
    const writes = quick + repairWrites;
    const report: FailoverReport = { link: name, up, ...(overlayMs !== undefined ? { overlayMs } : {}), repairMs: performance.now() - detectedAtMs, writes, switches };
    this.log(`repair after ${name} ${up ? "up" : "down"}: ${writes} writes on ${switches.join(", ") || "no switch"} in ${report.repairMs.toFixed(1)} ms`);
    this.emit("failover", report);
    return report;
  }

  private async applyMembership(change: MembershipChange): Promise<void> {
    this.log(`membership: ${change.host} ${change.joined ? "joined" : "left"} session ${change.session} (${change.via})`);
    this.emit("membership", change);
    await this.repair();
  }

  /** Changes a session's burst meter at run time (undefined: back to the file). */
  setMeter(session: number, meter: MeterSpec | undefined): Promise<void> {
    return this.serial(async () => {
      if (!this.topology.sessions.some((s) => s.id === session)) throw new Error(`no session ${session} in the topology`);
      if (meter) this.meterOverrides.set(session, meter);
      else this.meterOverrides.delete(session);
      await this.repair();
    });
  }

  get currentPlan(): NetworkPlan | undefined {
    return this.plan;
  }

  async close(): Promise<void> {
    this.heartbeat?.stop();
    await this.queue.catch(() => undefined);
    for (const r of this.registers.values()) r.close();
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

function intentHash(i: SwitchIntent): string {
  return JSON.stringify(
    [i.entries, [...i.groups].sort(([a], [b]) => a - b), i.meters],
    (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v),
  );
}

export { isP4RuntimeError };
