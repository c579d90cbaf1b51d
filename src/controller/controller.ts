/**
 * The p4cast controller: connects to every switch of a topology, pushes the
 * pipeline (skipped when the cookie matches), programs every switch
 * declaratively from the plan, re-programs a switch that restarted, watches
 * links with heartbeats, repairs trees and overlays when links or switches
 * fail, adds and removes receivers on IGMP/MLD joins, and changes meters at
 * run time.
 *
 * Faults (docs/reliability.md): nothing that goes wrong in the background
 * ends the process. A write that fails marks its switch out of sync (logged,
 * in `state()`, event `fault`) and the switch is read back and reconciled
 * when it can be written again (retried with backoff, at once on return or
 * on regaining primary). A lost stream marks the switch unreachable and its
 * links down until it is back and re-programmed. Losing primary to another
 * controller is logged and the switch is reconciled when primary returns;
 * a backup controller (a lower election id) keeps reading, takes over on
 * every switch whose primary goes away, recovers the receivers that joined
 * from the switches' client groups, and reconciles.
 */
import { EventEmitter } from "node:events";
import { P4RuntimeClient } from "../client/client.js";
import { registerAccess, type RegisterAccess } from "../client/registers.js";
import { isP4RuntimeError } from "../p4runtime/errors.js";
import { planNetwork, type NetworkPlan } from "./plan/network-plan.js";
import type { SwitchIntent } from "./plan/intent.js";
import {
  applyDiff,
  applyPrepared,
  checkIntents,
  desiredState,
  prepareSwitches,
  readState,
  reconcileSwitch,
  type ReconcileResult,
  type SwitchState,
} from "./deploy/reconcile.js";
import { P4InfoIndex } from "../p4runtime/p4info/index.js";
import { trustOf, withTrust } from "./plan/trust.js";
import { HeartbeatMonitor } from "./runtime/heartbeat.js";
import { NetworkGraph } from "./topology/graph.js";
import type { MeterSpec, SwitchSpec, Topology } from "./topology/schema.js";
import { OVERLAY_RID_BASE, unionIntent } from "./plan/intent.js";
import type { Target } from "./targets/target.js";
import type { Pipeline } from "./pipeline.js";
import { MembershipTracker, type MembershipChange } from "./runtime/membership.js";
import { LinkFaults } from "./runtime/link-faults.js";
import { membershipDelta, receiversInGroups, type RecoveredReceiver } from "./runtime/membership-recovery.js";

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
  /**
   * Stay connected as a backup where another controller is primary, and take
   * over when it goes (deploy --run). Default false: connect() fails then.
   */
  readonly allowBackup?: boolean;
  /** First retry of a switch that is out of sync, in ms (default 500; doubles up to 8 s). */
  readonly resyncMs?: number;
  /**
   * Deadline of every P4Runtime call, in ms (default 5 s). A write that
   * misses it leaves its switch out of sync: read back and reconciled later.
   */
  readonly rpcTimeoutMs?: number;
  /**
   * The reconnect backoff cap towards a switch that went away, in ms
   * (default 500: a switch that returns is re-programmed within about a second).
   */
  readonly reconnectMaxMs?: number;
}

export interface DeployReport {
  readonly durationMs: number;
  readonly pipelinesPushed: readonly string[];
  readonly switches: readonly ReconcileResult[];
  readonly writes: number;
  readonly warnings: readonly string[];
  /** Switches not written because another controller is primary there. */
  readonly backupOn: readonly string[];
}

export interface FailoverReport {
  readonly link: string;
  readonly up: boolean;
  /** From the heartbeat verdict to the overlay switch-over write (overlay-on-failure), if any. */
  readonly overlayMs?: number;
  /**
   * From the heartbeat verdict to the new ways written on every switch: from then on they carry packets (the
   * old ways are still fed until the drains, `repair.drainMs`, have passed).
   */
  readonly readyMs: number;
  /** From the heartbeat verdict to the last write of the repair (the old trust entries gone, after a second drain). */
  readonly repairMs: number;
  readonly writes: number;
  /** Switches written, each once. */
  readonly switches: readonly string[];
  /** Switches whose part of the repair could not be written now (unreachable, not primary, failed): retried. */
  readonly deferred: readonly string[];
}

/** Something that went wrong in the background: logged, kept in `state()`, retried. */
export interface ControllerFault {
  readonly task: string;
  readonly switch?: string;
  readonly message: string;
  /** Wall-clock time (ms since the epoch). */
  readonly at: number;
}

export interface SwitchHealth {
  readonly name: string;
  /** The P4Runtime stream is up. */
  readonly reachable: boolean;
  /** This controller is primary on the switch. */
  readonly primary: boolean;
  /** The election id of the switch's primary, when another controller is primary. */
  readonly primaryElectionId?: bigint;
  /** What the switch holds is what this controller intends (false: a retry is due). */
  readonly inSync: boolean;
  readonly lastFault?: ControllerFault;
  /** Times the switch was re-programmed after coming back. */
  readonly reprograms: number;
}

export interface ControllerState {
  readonly electionId: bigint;
  readonly switches: readonly SwitchHealth[];
  /** Down links with why (heartbeat at an end, an end unreachable). */
  readonly downLinks: readonly { readonly link: number; readonly name: string; readonly reasons: readonly string[] }[];
  readonly faults: readonly ControllerFault[];
}

export interface ControllerEvents {
  log: [string];
  deployed: [DeployReport];
  reprogrammed: [{ switch: string; result: ReconcileResult }];
  /** One switch of a deploy or repair is done. */
  programmed: [ReconcileResult];
  /** Updates were written to one switch (deploys, repairs, re-programs, retries, take-overs). */
  written: [ReconcileResult];
  linkDown: [{ link: number; name: string; reasons: readonly string[] }];
  linkUp: [{ link: number; name: string }];
  failover: [FailoverReport];
  /** overlay-on-failure last hops were switched to the overlay (the quick write is done). */
  overlaySwitched: [{ sessions: ReadonlyMap<number, ReadonlySet<string>>; atMs: number }];
  membership: [MembershipChange];
  /** The stream to a switch was lost. */
  switchLost: [{ switch: string; reason: string }];
  /** Primary status on a switch changed on a live stream (another controller came or went). */
  role: [{ switch: string; primary: boolean; primaryElectionId?: bigint }];
  /** This controller became primary on a switch it did not hold and reconciled it. */
  takeover: [{ switch: string; result: ReconcileResult; ms: number }];
  /** A switch that was out of sync was read back and reconciled. */
  resynced: [{ switch: string; result: ReconcileResult }];
  /** A background task failed; it is retried, the process goes on. */
  fault: [ControllerFault];
}

interface RepairOutcome {
  writes: number;
  switches: string[];
  deferred: string[];
  /** When the new ways were written everywhere (performance.now()): the union, or a lone switch's move. */
  readyAt: number;
}

interface SwitchRuntime {
  reachable: boolean;
  primary: boolean;
  primaryElectionId: bigint | undefined;
  inSync: boolean;
  lastFault: ControllerFault | undefined;
  reprograms: number;
  retries: number;
  nextRetryAt: number;
}

const FAULTS_KEPT = 50;
const UNREACHABLE = (sw: string) => `${sw} unreachable`;
const HEARTBEAT = (sw: string) => `heartbeat at ${sw}`;

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
  /** Per switch, the tail of its writes (see onSwitch). */
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly runtime = new Map<string, SwitchRuntime>();
  private readonly linkFaults = new LinkFaults();
  private readonly faults: ControllerFault[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Drains under way, ended at once by close(). */
  private readonly closing = new Set<() => void>();
  /** Repairs started so far: a repair whose number is no longer the last is superseded. */
  private repairs = 0;
  /** The last repair's outcome (a superseded repair settles with it). */
  private lastRepair: Promise<RepairOutcome> = Promise.resolve({ writes: 0, switches: [], deferred: [], readyAt: 0 });
  /** Receivers are this controller's own (it deployed as primary) or were recovered from the switches. */
  private membershipKnown = false;
  private recovering: Promise<void> | undefined;

  constructor(readonly options: ControllerOptions) {
    super();
    this.graph = new NetworkGraph(options.topology);
    this.membership = new MembershipTracker(options.topology);
  }

  get topology(): Topology {
    return this.options.topology;
  }

  get electionId(): bigint {
    return this.options.electionId ?? 1n;
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

  /**
   * Runs `fn` in `name`'s turn: writes to one switch never overlap, and a
   * switch that hangs holds up only its own writes, not the planning of the
   * next repair nor the writes to other switches.
   */
  private onSwitch<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.chains.get(name) ?? Promise.resolve()).then(fn, fn);
    this.chains.set(
      name,
      run.catch(() => undefined),
    );
    return run;
  }

  /** A background task of one switch, in its turn; a failure is a fault, never an exception. */
  private switchTask(task: string, name: string, fn: () => Promise<unknown>): void {
    if (this.closed) return;
    void this.onSwitch(name, fn).catch((e: unknown) => this.fault(task, name, e));
  }

  /** Runs a background task in turn; a failure is a fault (logged, kept), never an exception. */
  private background(task: string, sw: string | undefined, fn: () => Promise<unknown>): void {
    if (this.closed) return;
    void this.serial(fn).catch((e: unknown) => this.fault(task, sw, e));
  }

  private fault(task: string, sw: string | undefined, e: unknown): ControllerFault {
    const message = e instanceof Error ? e.message : String(e);
    const f: ControllerFault = { task, ...(sw ? { switch: sw } : {}), message, at: Date.now() };
    this.faults.push(f);
    if (this.faults.length > FAULTS_KEPT) this.faults.splice(0, this.faults.length - FAULTS_KEPT);
    if (sw) {
      const rt = this.rt(sw);
      rt.lastFault = f;
      rt.inSync = false;
    }
    this.log(`fault: ${task}${sw ? ` on ${sw}` : ""}: ${message}${sw ? " (will retry)" : ""}`);
    this.emit("fault", f);
    return f;
  }

  private rt(sw: string): SwitchRuntime {
    let r = this.runtime.get(sw);
    if (!r) {
      r = {
        reachable: false,
        primary: false,
        primaryElectionId: undefined,
        inSync: false,
        lastFault: undefined,
        reprograms: 0,
        retries: 0,
        nextRetryAt: 0,
      };
      this.runtime.set(sw, r);
    }
    return r;
  }

  /** Connects to every switch (in parallel) and arbitrates. */
  async connect(): Promise<void> {
    const electionId = this.electionId;
    const results = await Promise.allSettled(
      this.topology.switches.map(async (s) => {
        const address = this.options.grpcAddress?.(s) ?? s.grpc;
        const client = await P4RuntimeClient.connect({
          address,
          deviceId: BigInt(s.deviceId),
          electionId,
          reconnect: { initialMs: 100, maxMs: this.options.reconnectMaxMs ?? 500 },
          connectTimeoutMs: this.options.connectTimeoutMs ?? 10_000,
          // A hung switch holds a write until this deadline; repairs wait for it.
          rpcTimeoutMs: this.options.rpcTimeoutMs ?? 5_000,
        });
        if (!client.isPrimary && !this.options.allowBackup) {
          client.close();
          throw new Error(
            `${s.name} (${address}): another controller is primary (election id ${client.arbitration?.primaryElectionId}); ` +
              "use a higher --election-id",
          );
        }
        this.clients.set(s.name, client);
        const rt = this.rt(s.name);
        rt.reachable = true;
        rt.primary = client.isPrimary;
        rt.primaryElectionId = client.arbitration?.primaryElectionId;
        if (!client.isPrimary)
          this.log(`${s.name}: backup (the primary's election id is ${rt.primaryElectionId ?? "unknown"}); taking over when it goes`);
        this.watchSwitch(s.name, client);
      }),
    );
    const failed = results.flatMap((r) =>
      r.status === "rejected" ? [r.reason instanceof Error ? r.reason : new Error(String(r.reason))] : [],
    );
    if (failed.length > 0) {
      for (const c of this.clients.values()) c.close();
      this.clients.clear();
      throw failed.length === 1 ? failed[0]! : new Error(failed.map((e) => e.message).join("; "));
    }
    this.retryTimer = setInterval(() => this.retryOutOfSync(), Math.max(50, Math.min(500, this.options.resyncMs ?? 500)));
    this.retryTimer.unref?.();
  }

  private watchSwitch(name: string, client: P4RuntimeClient): void {
    const rt = this.rt(name);
    client.on("disconnect", (e) => {
      if (this.closed) return;
      const wasReachable = rt.reachable;
      rt.reachable = false;
      rt.primary = false;
      rt.inSync = false;
      this.applied.delete(name);
      this.registers.get(name)?.close();
      this.registers.delete(name);
      this.heartbeat?.pause(name);
      if (!wasReachable) return;
      const reason = `stream lost (${e.message})`;
      this.log(`${name}: ${reason}; its links are down until it is back and re-programmed`);
      this.emit("switchLost", { switch: name, reason });
      for (const a of this.graph.allAdjacencies(name)) this.linkFault(a.link, UNREACHABLE(name), true, performance.now());
    });
    client.on("reconnect", (st) => {
      if (this.closed) return;
      rt.reachable = true;
      rt.primary = st.primary;
      rt.primaryElectionId = st.primaryElectionId;
      if (!st.primary) {
        this.log(`${name}: reconnected as backup (the primary's election id is ${st.primaryElectionId ?? "unknown"})`);
        return;
      }
      this.log(`${name}: reconnected; re-programming it`);
      this.switchTask("re-program", name, () => this.reprogram(name));
    });
    client.on("arbitration", (st) => {
      if (rt.reachable) rt.primaryElectionId = st.primaryElectionId;
    });
    client.on("role", (primary) => {
      // A role change while the stream is being re-opened is handled by "reconnect".
      if (this.closed || !rt.reachable || !client.connected || primary === rt.primary) return;
      rt.primary = primary;
      const other = client.arbitration?.primaryElectionId;
      this.emit("role", { switch: name, primary, ...(other !== undefined ? { primaryElectionId: other } : {}) });
      if (!primary) {
        rt.inSync = false; // another controller may change anything now
        this.applied.delete(name);
        this.log(`${name}: lost primary to election id ${other ?? "unknown"}; reconciling when primary again`);
        return;
      }
      this.log(`${name}: primary (election id ${this.electionId}); reading it back and reconciling`);
      this.switchTask("take over", name, () => this.takeOver(name));
    });
    client.on("packetIn", (p) => {
      const change = this.membership.onPacketIn(name, p);
      if (change) this.background("membership", undefined, () => this.applyMembership(change));
    });
  }

  private async registersFor(name: string): Promise<RegisterAccess> {
    let r = this.registers.get(name);
    if (!r) {
      const s = this.graph.switches.get(name)!;
      const thrift =
        this.options.thriftAddress?.(s) ?? (s.thrift ? { host: s.thrift.split(":")[0]!, port: Number(s.thrift.split(":")[1]) } : undefined);
      r = this.options.target
        ? await this.options.target.registers(this.clients.get(name)!)
        : await registerAccess(this.clients.get(name)!, thrift ?? {});
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
      ...(this.plan
        ? { pinnedOverlays: new Map([...this.plan.sessions].map(([id, sp]) => [id, new Map([...sp.overlays, ...sp.standby])])) }
        : {}),
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

  /** Reads the switch and writes what differs from the intent (deploys, returns, take-overs, retries). */
  private async program(name: string, intent: SwitchIntent): Promise<ReconcileResult> {
    this.applied.delete(name);
    const { state, ...result } = await reconcileSwitch(
      this.clients.get(name)!,
      intent,
      this.reconcileOptions(await this.registersFor(name)),
    );
    this.applied.set(name, { hash: intentHash(intent), state, intent });
    const rt = this.rt(name);
    rt.inSync = true;
    rt.retries = 0;
    this.emit("written", result);
    this.emit("programmed", result);
    return result;
  }

  /** Writes what differs from what the controller last wrote (repairs: no reads). */
  private async update(name: string, intent: SwitchIntent): Promise<ReconcileResult> {
    // Asked before `applied` is read: nothing may change it between that read and the write.
    const backups = await this.clients.get(name)!.takesBackupReplicas();
    const last = this.applied.get(name);
    if (!last) return this.program(name, intent);
    const client = this.clients.get(name)!;
    const desired = desiredState(client, intent, last.state, backups);
    // Until the write is answered the switch holds something between the two states.
    this.applied.delete(name);
    const result = await applyDiff(client, name, last.state, desired, this.reconcileOptions(await this.registersFor(name)));
    this.applied.set(name, { hash: intentHash(intent), state: desired, intent });
    this.emit("written", result);
    return result;
  }

  /** Whether this controller can write `name` now. */
  private writable(name: string): boolean {
    const rt = this.rt(name);
    const c = this.clients.get(name);
    return !!c && rt.reachable && rt.primary && c.connected && c.isPrimary;
  }

  /**
   * Every link of the switch is down: it is dead, hung or cut off. Nothing
   * reaches it, so repairs leave it for later: a hung switch would hold a
   * write (and every repair behind it) until the write's deadline.
   */
  private isolated(name: string): boolean {
    const adj = this.graph.allAdjacencies(name);
    return adj.length > 0 && adj.every((a) => this.linkFaults.isDown(a.link));
  }

  /**
   * Brings `name` to its intent (taken when its turn comes, so a queued
   * write applies the newest plan) where it can be written now; otherwise
   * (or when the write fails) marks it out of sync for a retry. Never throws.
   */
  private tryUpdate(task: string, name: string, intent: () => SwitchIntent | undefined): Promise<ReconcileResult | undefined> {
    return this.onSwitch(name, async () => {
      const want = intent();
      if (!want) return undefined;
      if (!this.writable(name) || this.isolated(name)) {
        this.rt(name).inSync = false;
        return undefined;
      }
      try {
        return await this.update(name, want);
      } catch (e) {
        this.fault(task, name, e);
        return undefined;
      }
    });
  }

  /**
   * Pushes pipelines and programs every switch where this controller is
   * primary; returns what was written. Every switch is planned and checked
   * before the first write: the plan, each switch's entries, groups and
   * meters against the pipeline's P4Info (before a pipeline push), then,
   * after reading the switches, every update. A topology that cannot be
   * planned throws a PlanError naming the topology paths involved, and no
   * switch is written.
   */
  deploy(): Promise<DeployReport> {
    return this.serial(async () => {
      const t0 = performance.now();
      const mine = this.topology.switches.map((s) => s.name).filter((n) => this.writable(n));
      const backupOn = this.topology.switches.map((s) => s.name).filter((n) => !mine.includes(n));
      if (mine.length === this.topology.switches.length) this.membershipKnown = true;
      else if (mine.length > 0) await this.recoverMembership();
      const plan = this.computePlan();
      const checked = checkIntents(new P4InfoIndex(this.options.pipeline.p4info), plan.intents.values());
      const pushed = (await Promise.all(mine.map(async (n) => ((await this.pushPipeline(n)) ? n : undefined)))).filter(
        (x): x is string => !!x,
      );
      const prepared = await prepareSwitches(
        mine.map((n) => ({ client: this.clients.get(n)!, intent: plan.intents.get(n)! })),
        checked,
      );
      this.plan = plan;
      for (const w of this.plan.warnings) this.log(`warning: ${w}`);
      const results = await Promise.all(
        prepared.map((p) =>
          this.onSwitch(p.switch, async () => {
            this.applied.delete(p.switch);
            const { state, ...result } = await applyPrepared(p, this.reconcileOptions(await this.registersFor(p.switch)));
            this.applied.set(p.switch, { hash: intentHash(p.intent), state, intent: p.intent });
            const rt = this.rt(p.switch);
            rt.inSync = true;
            rt.retries = 0;
            this.emit("written", result);
            this.emit("programmed", result);
            return result;
          }),
        ),
      );
      const report: DeployReport = {
        durationMs: performance.now() - t0,
        pipelinesPushed: pushed,
        switches: results,
        writes: results.reduce((n, r) => n + r.inserted + r.modified + r.deleted, 0),
        warnings: this.plan.warnings,
        backupOn,
      };
      this.emit("deployed", report);
      return report;
    });
  }

  /** A switch came back (restart): pipeline and every entry again. */
  private async reprogram(name: string): Promise<void> {
    if (!this.writable(name)) return;
    this.heartbeat?.pause(name);
    await this.pushPipeline(name);
    this.registers.get(name)?.close();
    this.registers.delete(name);
    this.plan ??= this.computePlan();
    const result = await this.program(name, this.plan.intents.get(name)!);
    const rt = this.rt(name);
    rt.reprograms++;
    this.heartbeat?.resume(name);
    this.log(`${name}: re-programmed (${result.inserted} inserted, ${result.modified} modified, ${result.deleted} deleted)`);
    this.emit("reprogrammed", { switch: name, result });
    // Its links are no longer down for being out of reach (a heartbeat may still hold them down).
    for (const a of this.graph.allAdjacencies(name)) this.linkFault(a.link, UNREACHABLE(name), false, performance.now());
  }

  /** Became primary on a live stream (another controller left, or gave way): read back and reconcile. */
  private async takeOver(name: string): Promise<void> {
    if (!this.writable(name)) return;
    const t0 = performance.now();
    if (!this.membershipKnown) await this.recoverMembership();
    // A switch that has never had this pipeline (a backup that never deployed) gets it now.
    await this.pushPipeline(name);
    this.plan = this.computePlan();
    const result = await this.program(name, this.plan.intents.get(name)!);
    const ms = performance.now() - t0;
    this.log(`${name}: reconciled after taking over in ${ms.toFixed(1)} ms (${result.inserted + result.modified + result.deleted} writes)`);
    this.emit("takeover", { switch: name, result, ms });
  }

  /**
   * The receivers that joined or left at run time, read from the switches'
   * client groups (the controller that handled the joins may be gone).
   */
  private recoverMembership(): Promise<void> {
    // Switches taken over at once share one recovery.
    this.recovering ??= this.readMembership().finally(() => (this.recovering = undefined));
    return this.recovering;
  }

  private async readMembership(): Promise<void> {
    if (this.membershipKnown) return;
    const filePlan = planNetwork({ graph: this.graph });
    const installed = new Map<string, RecoveredReceiver[]>();
    await Promise.all(
      [...this.clients].map(async ([name, client]) => {
        if (!client.connected || !client.hasP4Info) return;
        try {
          installed.set(name, receiversInGroups(this.topology, (await readState(client)).groups));
        } catch (e) {
          this.fault("recover receivers", name, e);
        }
      }),
    );
    const delta = membershipDelta(this.topology, filePlan, installed);
    for (const r of delta.joined) this.membership.record(r.session, r.host, true, r.ipv6 ? "mld" : "igmp");
    for (const r of delta.left) this.membership.record(r.session, r.host, false, "igmp");
    this.membershipKnown = true;
    if (delta.joined.length + delta.left.length > 0) {
      const changes = [
        ...delta.joined.map((r) => `${r.host} joined session ${r.session}`),
        ...delta.left.map((r) => `${r.host} left session ${r.session}`),
      ];
      this.log(`receivers recovered from the switches: ${changes.join(", ")}`);
    }
  }

  /** Retries switches that are out of sync (failed writes, rival changes), with backoff per switch. */
  private retryOutOfSync(): void {
    if (this.closed || !this.plan) return;
    const now = performance.now();
    for (const [name, rt] of this.runtime) {
      if (rt.inSync || !this.writable(name) || this.isolated(name) || now < rt.nextRetryAt) continue;
      const base = this.options.resyncMs ?? 500;
      rt.nextRetryAt = now + Math.min(8_000, base * 2 ** Math.min(rt.retries, 4));
      rt.retries++;
      this.switchTask("resync", name, async () => {
        if (rt.inSync || !this.writable(name) || this.isolated(name)) return;
        this.plan ??= this.computePlan();
        const result = await this.program(name, this.plan.intents.get(name)!);
        this.log(`${name}: back in sync (${result.inserted} inserted, ${result.modified} modified, ${result.deleted} deleted)`);
        this.emit("resynced", { switch: name, result });
      });
    }
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
    const results = await Promise.all([...byIngress].map(([sw, intent]) => this.tryUpdate("overlay switch-over", sw, () => intent)));
    return results.reduce((n, r) => n + (r ? r.inserted + r.modified + r.deleted : 0), 0);
  }

  /**
   * Recomputes the plan and queues the writes of every switch whose intent
   * changed, make-before-break across switches. When more than one switch
   * changes, each first gets the union of what it holds and what it will
   * hold (new branches, routes and trusted neighbours ready, old ones still
   * fed): the `first` ones (ingress routers switching to the overlay) before
   * the others. Only when all of them have it, and packets already sent the
   * old way have had `repair.drainMs` to arrive, does each move to its new
   * intent, still trusting its old neighbours; when all have moved and
   * another drain has passed, the old trust entries go. No switch stops
   * sending a packet its old way before every switch on the new way is ready
   * for it, however slow the writes (copies sent the new way early are
   * dropped by a switch not yet ready and the old way still delivers), and no
   * switch takes an old way down under a packet still on it. A newer repair
   * supersedes this one at its next step (it starts from what is written,
   * this one's union included). `head` settles when the first ones are
   * written, `done` when all are (a switch that cannot be written is
   * deferred).
   */
  private repair(first: readonly string[] = []): { head: Promise<void>; done: Promise<RepairOutcome> } {
    const generation = ++this.repairs;
    const superseded = () => this.closed || generation !== this.repairs;
    this.plan = this.computePlan();
    const plan = () => this.plan;
    const changed = this.topology.switches
      .map((s) => s.name)
      .filter((n) => this.applied.get(n)?.hash !== intentHash(this.plan!.intents.get(n)!));
    const headNames = [...new Set(first)].filter((n) => changed.includes(n));
    const restNames = changed.filter((n) => !headNames.includes(n));
    const names = [...headNames, ...restNames];
    // The new plan, keeping the neighbours the switch trusts now (tree parents,
    // overlay senders, heartbeat neighbours): a packet still on its old way is admitted.
    const during = (n: string) => {
      const next = plan()?.intents.get(n);
      const last = this.applied.get(n)?.intent;
      return next && last ? withTrust(next, trustOf(last)) : next;
    };
    // The old and the new state at once: new branches, routes and trusted neighbours ready, old ones still fed.
    const union = (n: string) => {
      const next = plan()?.intents.get(n);
      const last = this.applied.get(n)?.intent;
      return next && last ? unionIntent(last, next) : next;
    };
    // One switch alone changes atomically enough: its own writes are ordered leaves first (reconcile).
    const makeFirst = names.length > 1;
    const make = (group: readonly string[]) => Promise.all(makeFirst ? group.map((n) => this.tryUpdate("repair", n, () => union(n))) : []);
    // Each step's writes, or undefined where a newer repair took over before it.
    const step = async (
      drain: boolean,
      intent: (n: string) => SwitchIntent | undefined,
    ): Promise<(ReconcileResult | undefined)[] | undefined> => {
      if (drain) await this.drain();
      if (superseded()) return undefined;
      return Promise.all(names.map((n) => this.tryUpdate("repair", n, () => intent(n))));
    };
    const head = make(headNames);
    const rest = head.then(() => make(restNames));
    // Copies already sent the old way arrive before any switch takes it down (the union left both ways fed).
    const move = rest.then(() => step(makeFirst, during));
    // Old trust entries go when every switch has moved and what the old neighbours sent has arrived.
    const oldTrust = () =>
      names.some((n) => {
        const [now, next] = [during(n), plan()?.intents.get(n)];
        return now !== undefined && next !== undefined && intentHash(now) !== intentHash(next);
      });
    const retire = move.then((mv) => (mv ? step(oldTrust(), (n) => plan()?.intents.get(n)) : undefined));
    // The new ways carry packets once the union is written everywhere (one switch alone: once it has moved).
    const readyAt = (makeFirst ? rest : move).then(() => performance.now());
    const done = Promise.all([head, rest, move, retire, readyAt]).then(async ([h, r, mv, rt, ready]) => {
      const outcome: RepairOutcome = { writes: 0, switches: [], deferred: [], readyAt: ready };
      const count = (x: ReconcileResult | undefined) => (x ? x.inserted + x.modified + x.deleted : 0);
      const made = [...h, ...r];
      if (!mv || !rt) {
        // Superseded: the newer repair finishes what this one began.
        for (const [i, n] of names.entries()) {
          outcome.writes += count(made[i]) + count(mv?.[i]);
          outcome.switches.push(n);
        }
        // (Closed rather than superseded: nothing newer to wait for.)
        if (generation === this.repairs) return outcome;
        const newer = await this.lastRepair;
        return { ...outcome, deferred: newer.deferred, readyAt: newer.readyAt };
      }
      names.forEach((n, i) => {
        const last = rt[i];
        if (!last) {
          outcome.deferred.push(n);
          return;
        }
        outcome.writes += count(made[i]) + count(mv[i]) + count(last);
        outcome.switches.push(n);
      });
      return outcome;
    });
    this.lastRepair = done;
    return { head: head.then(() => undefined), done };
  }

  /** Settles when every repair started so far has written its last step (or was superseded by one that has). */
  async repairsSettled(): Promise<void> {
    for (let last = this.lastRepair; ; last = this.lastRepair) {
      await last;
      if (last === this.lastRepair) return;
    }
  }

  /** Waits `repair.drainMs` (less when the controller closes meanwhile). */
  private drain(): Promise<void> {
    const ms = this.topology.repair.drainMs;
    if (ms <= 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.closing.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.closing.add(done);
    });
  }

  /** Starts the heartbeat loop; link verdicts trigger repairs. */
  startHeartbeats(): HeartbeatMonitor {
    this.plan ??= this.computePlan();
    const hb = new HeartbeatMonitor(
      this.graph,
      this.clients,
      this.plan.peers,
      this.topology.heartbeat,
      this.options.target?.heartbeatRequests,
    );
    hb.on("linkDown", (e) => this.linkFault(e.link, HEARTBEAT(e.detectedBy), true, e.atMs));
    hb.on("linkUp", (e) => this.linkFault(e.link, HEARTBEAT(e.detectedBy), false, e.atMs));
    hb.on("error", (e) => this.fault("heartbeat", undefined, e));
    for (const [name, rt] of this.runtime) if (!rt.reachable) hb.pause(name);
    hb.start();
    this.heartbeat = hb;
    return hb;
  }

  /** Adds or clears one reason for a link to be down; a change of the link's state repairs. */
  private linkFault(link: number, reason: string, add: boolean, atMs: number): void {
    const changed = add ? this.linkFaults.add(link, reason) : this.linkFaults.remove(link, reason);
    if (!changed) return;
    // The verdict is logged when it is reached; the repair follows in turn.
    this.log(`link ${this.graph.linkName(link)} ${add ? `down (${reason})` : "up"}`);
    this.background(`link ${this.graph.linkName(link)} ${add ? "down" : "up"}`, undefined, () => this.linkChanged(link, !add, atMs));
  }

  /** Marks a link down or up by hand (tests, operators) and repairs. */
  setLink(link: number, up: boolean): Promise<FailoverReport | undefined> {
    const reason = "set by hand";
    const changed = up ? this.linkFaults.remove(link, reason) : this.linkFaults.add(link, reason);
    if (!changed) return Promise.resolve(undefined);
    this.log(`link ${this.graph.linkName(link)} ${up ? "up" : `down (${reason})`}`);
    return this.serial(() => this.linkChanged(link, up, performance.now())).then((r) => r?.report);
  }

  /**
   * Applies a link verdict: overlay switch-over first, then the repair. The
   * turn ends when the first writes are done; `report` settles when every
   * switch is written (or deferred), so a hung switch never holds the next verdict.
   */
  private async linkChanged(link: number, up: boolean, detectedAtMs: number): Promise<{ report: Promise<FailoverReport> } | undefined> {
    // The verdict may have changed again while this waited its turn.
    if (up === this.linkFaults.isDown(link)) return undefined;
    if (!this.graph.setLinkUp(link, up)) return undefined;
    const name = this.graph.linkName(link);
    const reasons = this.linkFaults.down().get(link) ?? [];
    if (up) this.emit("linkUp", { link, name });
    else this.emit("linkDown", { link, name, reasons });
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
        const switched = [...affected].map(([s, l]) => `session ${s} → ${[...l].join(", ")}`).join("; ");
        this.log(`overlay switched on for ${switched} in ${overlayMs.toFixed(1)} ms`);
      }
    }
    const { head, done } = this.repair(first);
    await head;
    const report = done.then(({ writes: repairWrites, switches, deferred, readyAt }) => {
      const writes = quick + repairWrites;
      const r: FailoverReport = {
        link: name,
        up,
        ...(overlayMs !== undefined ? { overlayMs } : {}),
        readyMs: readyAt - detectedAtMs,
        repairMs: performance.now() - detectedAtMs,
        writes,
        switches,
        deferred,
      };
      const where = switches.length === 1 ? "1 switch" : `${switches.length} switches`;
      const deferredText = deferred.length ? `; deferred on ${deferred.join(", ")} (not writable now)` : "";
      this.log(
        `repair after ${name} ${up ? "up" : "down"}: ${writes} writes on ${where}, new ways ready in ${r.readyMs.toFixed(1)} ms, ` +
          `old ones gone in ${r.repairMs.toFixed(1)} ms${deferredText}`,
      );
      this.emit("failover", r);
      return r;
    });
    return { report };
  }

  private async applyMembership(change: MembershipChange): Promise<void> {
    this.log(`membership: ${change.host} ${change.joined ? "joined" : "left"} session ${change.session} (${change.via})`);
    this.emit("membership", change);
    const { done } = this.repair();
    void done.then((o) =>
      this.log(
        `repair after the membership change: ${o.writes} writes on ${o.switches.length} switches` +
          (o.deferred.length ? `; deferred on ${o.deferred.join(", ")}` : ""),
      ),
    );
  }

  /** Changes a session's burst meter at run time (undefined: back to the file). */
  async setMeter(session: number, meter: MeterSpec | undefined): Promise<void> {
    const { done } = await this.serial(async () => {
      if (!this.topology.sessions.some((s) => s.id === session)) throw new Error(`no session ${session} in the topology`);
      if (meter) this.meterOverrides.set(session, meter);
      else this.meterOverrides.delete(session);
      return this.repair();
    });
    const o = await done;
    if (o.deferred.length > 0)
      throw new Error(`meter of session ${session}: not written to ${o.deferred.join(", ")} yet (not writable now; retried)`);
  }

  get currentPlan(): NetworkPlan | undefined {
    return this.plan;
  }

  /** The heartbeat loop, once started (read-only use: its watches). */
  get heartbeats(): HeartbeatMonitor | undefined {
    return this.heartbeat;
  }

  /**
   * Register access to a connected switch (the one reconciles use: P4Runtime,
   * else BMv2 Thrift, or the target's), for reads on demand such as the live
   * view's hb_rtt; undefined while the switch has no stream or pipeline.
   */
  async registerReader(name: string): Promise<RegisterAccess | undefined> {
    const c = this.clients.get(name);
    if (!c?.connected || !c.hasP4Info) return undefined;
    return this.registersFor(name);
  }

  /** Nanoseconds per unit of the data plane's hb_rtt (the target's; BMv2: us). */
  get rttUnitNs(): number {
    return this.options.target?.rttUnitNs ?? 1000;
  }

  /** Per switch: reachable, primary, in sync, last fault; down links and why; recent faults. */
  state(): ControllerState {
    return {
      electionId: this.electionId,
      switches: this.topology.switches.map((s) => {
        const rt = this.rt(s.name);
        return {
          name: s.name,
          reachable: rt.reachable,
          primary: rt.primary,
          ...(!rt.primary && rt.primaryElectionId !== undefined ? { primaryElectionId: rt.primaryElectionId } : {}),
          inSync: rt.inSync,
          ...(rt.lastFault ? { lastFault: rt.lastFault } : {}),
          reprograms: rt.reprograms,
        };
      }),
      downLinks: [...this.linkFaults.down()].map(([link, reasons]) => ({ link, name: this.graph.linkName(link), reasons })),
      faults: [...this.faults],
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const end of [...this.closing]) end();
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.heartbeat?.stop();
    await this.queue.catch(() => undefined);
    // Writes under way finish first, unless a switch hangs.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...this.chains.values()]), new Promise((r) => (timer = setTimeout(r, 2_000)))]);
    clearTimeout(timer);
    for (const r of this.registers.values()) r.close();
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

function intentHash(i: SwitchIntent): string {
  return JSON.stringify([i.entries, [...i.groups].sort(([a], [b]) => a - b), i.meters], (_k, v: unknown) =>
    typeof v === "bigint" ? v.toString() : v,
  );
}

export { isP4RuntimeError };
