/**
 * One P4Runtime device of the embedded switch: its pipeline, the runtime
 * state around the engine, client arbitration, the stream clients, packet
 * I/O through the CPU port, digests and idle-timeout notifications. The gRPC
 * server (server.ts) is a thin layer over this class.
 */
import { create } from "@bufbuild/protobuf";
import {
  type Entity,
  EntitySchema,
  type ForwardingPipelineConfig,
  ForwardingPipelineConfigSchema,
  ForwardingPipelineConfig_CookieSchema,
  GetForwardingPipelineConfigRequest_ResponseType as ResponseType,
  IdleTimeoutNotificationSchema,
  PacketInSchema,
  type PacketOut,
  type ReadRequest,
  SetForwardingPipelineConfigRequest_Action as PipelineAction,
  type SetForwardingPipelineConfigRequest,
  type StreamMessageResponse,
  StreamMessageResponseSchema,
  type TableEntry,
  type Update,
  Update_Type,
  WriteRequest_Atomicity,
  type WriteRequest,
  PacketReplicationEngineEntrySchema,
  MulticastGroupEntrySchema,
  CloneSessionEntrySchema,
  type DigestList,
} from "../../proto/gen/p4/v1/p4runtime_pb.js";
import { Code } from "../../proto/gen/google/rpc/code_pb.js";
import type { DigestMessage, Engine, PacketOutput } from "../engine/runtime-api.js";
import type { P4InfoIndex } from "../../p4runtime/p4info/index.js";
import { fromUint128, toUint128 } from "../../p4runtime/election.js";
import { Arbitrator, type ArbitrationNotice, type Candidate } from "./arbitration.js";
import { BoundPipeline } from "./pipeline.js";
import { RuntimeState, UndoLog } from "./entities/context.js";
import { entryMessage, readTableEntries, applyTableEntryUpdate } from "./entities/table-entries.js";
import { readGroups, readMembers, writeGroup, writeMember } from "./entities/action-profiles.js";
import { readCloneSessions, readMulticastGroups, writeCloneSession, writeMulticastGroup } from "./entities/pre.js";
import {
  readCounters,
  readDirectCounters,
  readDirectMeters,
  readMeters,
  readRegisters,
  writeCounter,
  writeDirectCounter,
  writeDirectMeter,
  writeMeter,
  writeRegister,
} from "./entities/externs.js";
import { readValueSets, writeValueSet } from "./entities/value-sets.js";
import { DigestManager } from "./digests.js";
import { ControllerHeaderError, prependPacketOut, splitPacketIn } from "./controller-header.js";
import { StatusError, failedPrecondition, invalid, notFound, permissionDenied, toStatusError, unimplemented } from "./status.js";

/** A live StreamChannel of this device. */
export interface StreamClient extends Candidate {
  send(msg: StreamMessageResponse): void;
}

export interface DeviceOptions {
  readonly deviceId: bigint;
  /** The CPU port (simple_switch_grpc --cpu-port); undefined: no packet I/O. */
  readonly cpuPort?: number;
  /** Builds an engine from a BMv2 JSON document. */
  readonly loadEngine: (json: unknown, clock: () => bigint) => Engine;
  /** Sends a packet out of a data port. */
  readonly transmit: (port: number, data: Uint8Array) => void;
  /** Microseconds since some fixed start (ingress_global_timestamp). */
  readonly clockUs?: () => bigint;
  readonly log?: (msg: string) => void;
  /** Errors that leave the device in a state nobody asked for (a failed rollback). Default: `log`, else stderr. */
  readonly logError?: (msg: string) => void;
  /** Called with each pipeline installed, before it processes a packet. */
  readonly onPipeline?: (index: P4InfoIndex) => void;
  /** Sees every digest the engine makes, before (and whether or not) it goes to a controller. */
  readonly observeDigest?: (d: DigestMessage) => void;
}

/** Outcome of each update of a Write, in order. */
export interface UpdateStatus {
  readonly code: Code;
  readonly message: string;
}

export class WriteFailure extends Error {
  override readonly name = "WriteFailure";
  constructor(readonly statuses: readonly UpdateStatus[]) {
    super(`${statuses.filter((s) => s.code !== Code.OK).length} of ${statuses.length} updates failed`);
  }
}

/** Names of the BMv2 JSON's tables that have match keys. */
function tablesWithKeys(json: unknown): string[] {
  const pipelines = (json as { pipelines?: unknown } | null)?.pipelines;
  if (!Array.isArray(pipelines)) return [];
  const out: string[] = [];
  for (const p of pipelines as { tables?: unknown }[]) {
    if (!Array.isArray(p?.tables)) continue;
    for (const t of p.tables as { name?: unknown; key?: unknown }[]) {
      if (typeof t?.name === "string" && Array.isArray(t.key) && t.key.length > 0) out.push(t.name);
    }
  }
  return out;
}

/** The status of an update that was applied (shared: statuses are replaced, never changed). */
const UPDATE_OK: UpdateStatus = Object.freeze({ code: Code.OK, message: "" });

export class Device {
  readonly deviceId: bigint;
  readonly arbitrator = new Arbitrator<StreamClient>();
  private state: RuntimeState | undefined;
  private saved: { config: ForwardingPipelineConfig; engine: Engine } | undefined;
  private digests: DigestManager | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly start = process.hrtime.bigint();
  private readonly startUs = Number(this.start) / 1000;
  readonly clockUs: () => bigint;
  /** Packets sent to the CPU port while no controller listens. */
  droppedPacketIns = 0;

  constructor(private readonly options: DeviceOptions) {
    this.deviceId = options.deviceId;
    this.clockUs = options.clockUs ?? (() => (process.hrtime.bigint() - this.start) / 1000n);
  }

  get pipeline(): BoundPipeline | undefined {
    return this.state?.pipeline;
  }

  private logError(msg: string): void {
    const sink = this.options.logError ?? this.options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
    sink(msg);
  }

  private requirePipeline(): RuntimeState {
    if (!this.state) throw failedPrecondition(`device ${this.deviceId} has no forwarding pipeline: call SetForwardingPipelineConfig first`);
    return this.state;
  }

  // -- arbitration ----------------------------------------------------------

  /** Adds or updates a stream client; sends the resulting notices. */
  arbitrate(client: StreamClient, previous?: StreamClient): void {
    this.deliver(this.arbitrator.update(client, previous));
  }

  disconnect(client: StreamClient): void {
    this.deliver(this.arbitrator.remove(client));
  }

  private deliver(notices: ArbitrationNotice<StreamClient>[]): void {
    for (const n of notices) {
      n.to.send(
        create(StreamMessageResponseSchema, {
          update: {
            case: "arbitration",
            value: {
              deviceId: this.deviceId,
              ...(n.to.role ? { role: { name: n.to.role } } : {}),
              ...(n.electionId !== undefined ? { electionId: toUint128(n.electionId) } : {}),
              status: { code: n.code, message: n.message },
            },
          },
        }),
      );
    }
  }

  /** Checks that a mutating request comes from the role's primary. */
  checkPrimary(role: string, electionId: bigint | undefined, operation: string): void {
    const primary = this.arbitrator.primaryElectionId(role);
    if (primary === undefined || electionId !== primary) {
      throw permissionDenied(
        `${operation}: not the primary client of device ${this.deviceId}${role ? ` role "${role}"` : ""} ` +
          `(election id ${electionId ?? "unset"}${primary !== undefined ? `, primary has ${primary}` : ", no primary"})`,
      );
    }
  }

  // -- pipeline -------------------------------------------------------------

  setPipeline(req: SetForwardingPipelineConfigRequest): void {
    this.checkPrimary(req.role, fromUint128(req.electionId), "SetForwardingPipelineConfig");
    const action = req.action;
    if (action === PipelineAction.COMMIT) {
      if (!this.saved) throw notFound("COMMIT: no saved pipeline (use VERIFY_AND_SAVE first)");
      this.install(this.saved.config, this.saved.engine);
      this.saved = undefined;
      return;
    }
    if (!req.config) throw invalid("SetForwardingPipelineConfig: no config");
    const engine = this.build(req.config);
    switch (action) {
      case PipelineAction.VERIFY:
        return;
      case PipelineAction.VERIFY_AND_SAVE:
        this.saved = { config: req.config, engine };
        return;
      case PipelineAction.VERIFY_AND_COMMIT:
        this.install(req.config, engine);
        return;
      case PipelineAction.RECONCILE_AND_COMMIT:
        this.install(req.config, engine, true);
        return;
      default:
        throw invalid(
          `SetForwardingPipelineConfig: action ${action} is not VERIFY, VERIFY_AND_SAVE, VERIFY_AND_COMMIT, COMMIT or RECONCILE_AND_COMMIT`,
        );
    }
  }

  /**
   * Installs a pipeline given on the command line (like simple_switch_grpc
   * started with a JSON): no arbitration is involved.
   */
  preload(config: ForwardingPipelineConfig): void {
    this.install(config, this.build(config));
  }

  private build(config: ForwardingPipelineConfig): Engine {
    if (!config.p4info) throw invalid("the pipeline config has no P4Info");
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(config.p4DeviceConfig));
    } catch (e) {
      throw invalid(`p4_device_config is not BMv2 JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    let engine: Engine;
    try {
      engine = this.options.loadEngine(json, this.clockUs);
    } catch (e) {
      throw invalid(`cannot load the BMv2 JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    // Binding checks that P4Info and JSON describe the same program.
    const bound = new BoundPipeline(config.p4info, config.p4DeviceConfig, engine, config.cookie?.cookie);
    // ...and that the P4Info leaves none of the JSON's control-plane tables out
    // (p4c's hidden tables that only run an action have no key and no P4Info entry).
    const missing = tablesWithKeys(json).filter((name) => !bound.index.tables.find(name));
    if (missing.length > 0) {
      const empty = bound.index.tables.size === 0 && bound.index.actions.size === 0;
      throw invalid(
        `${empty ? "the P4Info is empty but" : "the P4Info does not describe"} the device config (BMv2 JSON)${empty ? " has" : "'s"} ` +
          `${missing.length} table(s) with match keys (${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ", ..." : ""}): ` +
          "are they from the same p4c run?",
      );
    }
    return engine;
  }

  private install(config: ForwardingPipelineConfig, engine: Engine, reconcile = false): void {
    const previous = this.state;
    const bound = new BoundPipeline(config.p4info!, config.p4DeviceConfig, engine, config.cookie?.cookie);
    const state = new RuntimeState(bound);
    if (reconcile && previous) this.reconcile(previous, state);
    this.digests?.close();
    this.state = state;
    this.digests = new DigestManager(
      bound.index,
      (list) => this.sendDigest(list),
      () => BigInt(Date.now()) * 1_000_000n,
    );
    this.options.onPipeline?.(bound.index);
    engine.onDigest((d) => {
      this.options.observeDigest?.(d);
      this.digests?.receive(d);
    });
    this.scheduleIdleScan();
    this.options.log?.(
      `device ${this.deviceId}: pipeline installed (${bound.index.tables.size} tables, cookie ${config.cookie?.cookie ?? "none"})`,
    );
  }

  /**
   * RECONCILE_AND_COMMIT: carries over every entity the new pipeline can
   * still hold (same names and shapes); those it cannot are dropped.
   */
  private reconcile(from: RuntimeState, to: RuntimeState): void {
    const entities = this.readFrom(from, [
      create(EntitySchema, { entity: { case: "actionProfileMember", value: {} } }),
      create(EntitySchema, { entity: { case: "actionProfileGroup", value: {} } }),
      create(EntitySchema, { entity: { case: "tableEntry", value: {} } }),
      create(EntitySchema, {
        entity: { case: "packetReplicationEngineEntry", value: { type: { case: "multicastGroupEntry", value: {} } } },
      }),
      create(EntitySchema, { entity: { case: "packetReplicationEngineEntry", value: { type: { case: "cloneSessionEntry", value: {} } } } }),
    ]);
    const oldIdx = from.pipeline.index;
    const newIdx = to.pipeline.index;
    const undo = new UndoLog(false);
    for (const e of entities) {
      try {
        const x = e.entity;
        if (x.case === "tableEntry") {
          const t = newIdx.tables.find(oldIdx.table(x.value.tableId).name);
          if (!t) continue;
          x.value.tableId = t.id;
          if (x.value.action?.type.case === "action")
            x.value.action.type.value.actionId = newIdx.action(oldIdx.action(x.value.action.type.value.actionId).name).id;
        } else if (x.case === "actionProfileMember" || x.case === "actionProfileGroup") {
          const p = newIdx.actionProfiles.find(oldIdx.actionProfile(x.value.actionProfileId).name);
          if (!p) continue;
          x.value.actionProfileId = p.id;
          if (x.case === "actionProfileMember" && x.value.action)
            x.value.action.actionId = newIdx.action(oldIdx.action(x.value.action.actionId).name).id;
        }
        this.applyUpdate(to, Update_Type.INSERT, e, undo);
      } catch {
        // An entity the new program cannot hold is dropped.
      }
    }
  }

  getPipeline(type: ResponseType): ForwardingPipelineConfig {
    const p = this.requirePipeline().pipeline;
    const cookie = p.cookie !== undefined ? create(ForwardingPipelineConfig_CookieSchema, { cookie: p.cookie }) : undefined;
    return create(ForwardingPipelineConfigSchema, {
      ...(cookie ? { cookie } : {}),
      ...(type === ResponseType.ALL || type === ResponseType.P4INFO_AND_COOKIE ? { p4info: p.p4info } : {}),
      ...(type === ResponseType.ALL || type === ResponseType.DEVICE_CONFIG_AND_COOKIE ? { p4DeviceConfig: p.deviceConfig } : {}),
    });
  }

  // -- write and read -------------------------------------------------------

  /**
   * Applies a WriteRequest. Throws StatusError for request-level failures
   * and WriteFailure (every update's status) when some updates failed.
   */
  write(req: WriteRequest): void {
    this.checkPrimary(req.role, fromUint128(req.electionId), "Write");
    const st = this.requirePipeline();
    const atomic = req.atomicity === WriteRequest_Atomicity.ROLLBACK_ON_ERROR || req.atomicity === WriteRequest_Atomicity.DATAPLANE_ATOMIC;
    if (req.atomicity > WriteRequest_Atomicity.DATAPLANE_ATOMIC) throw invalid(`unknown atomicity ${req.atomicity}`);
    const undo = new UndoLog(atomic, (i) => {
      const u = req.updates[i]!;
      return `${Update_Type[u.type] ?? u.type} ${u.entity?.entity.case ?? "(no entity)"}`;
    });
    const statuses: UpdateStatus[] = [];
    let failed = false;
    for (let i = 0; i < req.updates.length; i++) {
      const u = req.updates[i]!;
      if (atomic && failed) {
        statuses.push({ code: Code.ABORTED, message: "not applied: an earlier update of the batch failed" });
        continue;
      }
      undo.at(i);
      try {
        this.applyOne(st, u, undo);
        statuses.push(UPDATE_OK);
      } catch (e) {
        const s = toStatusError(e);
        failed = true;
        statuses.push({ code: s.code, message: s.message });
      }
    }
    if (failed && atomic) {
      // Packets are processed on this same thread, so none sees a partial batch.
      const undoFailures = undo.rollback();
      if (undoFailures.length > 0) {
        const first = statuses.findIndex((s) => s.code !== Code.OK && s.code !== Code.ABORTED);
        const what = undoFailures.map((f) => `update #${f.index} (${f.what}): ${f.error}`).join("; ");
        const cause =
          first >= 0 ? `update #${first} failed (${Code[statuses[first]!.code]}: ${statuses[first]!.message})` : "an update failed";
        const message =
          `Write: ${cause} and rolling the batch back failed for ${undoFailures.length} undo step(s): ${what}; ` +
          "the device state may differ from the state before the batch";
        this.logError(`device ${this.deviceId}: ${message}`);
        throw new StatusError(Code.INTERNAL, message);
      }
      for (let i = 0; i < statuses.length; i++) {
        if (statuses[i]!.code === Code.OK) statuses[i] = { code: Code.ABORTED, message: "rolled back: another update of the batch failed" };
      }
    } else {
      undo.commit();
    }
    if (failed) throw new WriteFailure(statuses);
  }

  private applyOne(st: RuntimeState, u: Update, undo: UndoLog): void {
    if (!u.entity) throw invalid("update without an entity");
    if (u.type === Update_Type.UNSPECIFIED) throw invalid("update type is UNSPECIFIED");
    this.applyUpdate(st, u.type, u.entity, undo);
  }

  private applyUpdate(st: RuntimeState, type: Update_Type, entity: Entity, undo: UndoLog): void {
    const x = entity.entity;
    switch (x.case) {
      case "tableEntry":
        return applyTableEntryUpdate(st, type, x.value, undo);
      case "actionProfileMember":
        return writeMember(st, type, x.value, undo);
      case "actionProfileGroup":
        return writeGroup(st, type, x.value, undo);
      case "packetReplicationEngineEntry": {
        const t = x.value.type;
        if (t.case === "multicastGroupEntry") return writeMulticastGroup(st, type, t.value, undo);
        if (t.case === "cloneSessionEntry") return writeCloneSession(st, type, t.value, undo);
        throw invalid("PacketReplicationEngineEntry without a type");
      }
      case "counterEntry":
        return writeCounter(st, type, x.value, undo);
      case "directCounterEntry":
        return writeDirectCounter(st, type, x.value, undo);
      case "meterEntry":
        return writeMeter(st, type, x.value, undo);
      case "directMeterEntry":
        return writeDirectMeter(st, type, x.value, undo);
      case "registerEntry":
        return writeRegister(st, type, x.value, undo);
      case "valueSetEntry":
        return writeValueSet(st, type, x.value, undo);
      case "digestEntry":
        return this.digests!.write(type, x.value, undo);
      case "externEntry":
        throw unimplemented("extern entries are not supported by this target");
      default:
        throw invalid("update with an empty entity");
    }
  }

  read(req: ReadRequest): Entity[] {
    const st = this.requirePipeline();
    if (req.entities.length === 0) throw invalid("Read: no entities requested");
    return this.readFrom(st, req.entities);
  }

  private readFrom(st: RuntimeState, queries: readonly Entity[]): Entity[] {
    const now = this.clockUs();
    const out: Entity[] = [];
    const readTes = (q: TableEntry) => readTableEntries(st, q, now);
    const push = <K extends Entity["entity"]["case"]>(kind: K, values: readonly unknown[]) => {
      for (const value of values) out.push(create(EntitySchema, { entity: { case: kind, value } as Entity["entity"] }));
    };
    for (const q of queries) {
      const x = q.entity;
      switch (x.case) {
        case "tableEntry":
          push("tableEntry", readTes(x.value));
          break;
        case "actionProfileMember":
          push("actionProfileMember", readMembers(st, x.value));
          break;
        case "actionProfileGroup":
          push("actionProfileGroup", readGroups(st, x.value));
          break;
        case "packetReplicationEngineEntry": {
          const t = x.value.type;
          const pre = (v: unknown[], c: "multicastGroupEntry" | "cloneSessionEntry") =>
            v.map((value) => create(PacketReplicationEngineEntrySchema, { type: { case: c, value } as never }));
          if (t.case === "multicastGroupEntry")
            push("packetReplicationEngineEntry", pre(readMulticastGroups(st, t.value), "multicastGroupEntry"));
          else if (t.case === "cloneSessionEntry")
            push("packetReplicationEngineEntry", pre(readCloneSessions(st, t.value), "cloneSessionEntry"));
          else {
            // No type: every multicast group and clone session.
            push("packetReplicationEngineEntry", pre(readMulticastGroups(st, create(MulticastGroupEntrySchema)), "multicastGroupEntry"));
            push("packetReplicationEngineEntry", pre(readCloneSessions(st, create(CloneSessionEntrySchema)), "cloneSessionEntry"));
          }
          break;
        }
        case "counterEntry":
          push("counterEntry", readCounters(st, x.value));
          break;
        case "directCounterEntry":
          push("directCounterEntry", readDirectCounters(st, x.value, readTes));
          break;
        case "meterEntry":
          push("meterEntry", readMeters(st, x.value));
          break;
        case "directMeterEntry":
          push("directMeterEntry", readDirectMeters(st, x.value, readTes));
          break;
        case "registerEntry":
          push("registerEntry", readRegisters(st, x.value));
          break;
        case "valueSetEntry":
          push("valueSetEntry", readValueSets(st, x.value));
          break;
        case "digestEntry":
          push("digestEntry", this.digests!.read(x.value));
          break;
        case "externEntry":
          throw unimplemented("extern entries are not supported by this target");
        default:
          throw invalid("Read: an entity with nothing set");
      }
    }
    return out;
  }

  // -- packets --------------------------------------------------------------

  /**
   * A packet arriving on a data port; `arrivedUs`, when the port knows it:
   * its arrival on the monotonic clock of process.hrtime, in microseconds
   * (used only on the device's own clock, not on one given in the options).
   */
  receive(port: number, data: Uint8Array, arrivedUs?: number): void {
    const st = this.state;
    if (!st) return; // no pipeline: the switch drops everything
    let outputs: PacketOutput[];
    try {
      const at = arrivedUs === undefined || this.options.clockUs ? undefined : Math.floor(arrivedUs - this.startUs);
      outputs = st.pipeline.engine.process(port, data, at);
    } catch (e) {
      this.options.log?.(`device ${this.deviceId}: packet from port ${port} dropped: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.emitOutputs(outputs);
  }

  private emitOutputs(outputs: readonly PacketOutput[]): void {
    for (const o of outputs) {
      if (this.options.cpuPort !== undefined && o.port === this.options.cpuPort) this.toController(o.data);
      else this.options.transmit(o.port, o.data);
    }
  }

  /** A PacketOut from the primary: injected on the CPU port. */
  packetOut(client: StreamClient, p: PacketOut): void {
    if (!this.arbitrator.isPrimary(client)) throw permissionDenied("PacketOut: only the primary client may send packets");
    const st = this.requirePipeline();
    if (this.options.cpuPort === undefined) throw failedPrecondition("PacketOut: this switch has no CPU port");
    const header = st.pipeline.index.controllerPacketMetadata.find("packet_out");
    if (p.payload.length === 0) throw invalid("PacketOut: the payload is empty (it must hold the whole frame); dropped");
    if (!header && p.metadata.length > 0)
      throw invalid(`PacketOut: the P4Info has no packet_out header, but ${p.metadata.length} metadata field(s) were given; dropped`);
    let bytes: Uint8Array;
    try {
      bytes = header ? prependPacketOut(header, p.metadata, p.payload) : p.payload;
    } catch (e) {
      if (e instanceof ControllerHeaderError) throw new StatusError(e.code, `PacketOut dropped: ${e.message}`);
      throw e;
    }
    this.emitOutputs(st.pipeline.engine.process(this.options.cpuPort, bytes));
  }

  private toController(packet: Uint8Array): void {
    const st = this.state!;
    const header = st.pipeline.index.controllerPacketMetadata.find("packet_in");
    let msg: StreamMessageResponse;
    try {
      const { metadata, payload } = header ? splitPacketIn(header, packet) : { metadata: [], payload: packet };
      msg = create(StreamMessageResponseSchema, { update: { case: "packet", value: create(PacketInSchema, { payload, metadata }) } });
    } catch (e) {
      this.options.log?.(`device ${this.deviceId}: packet-in dropped: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.toPrimaries(msg) || this.droppedPacketIns++;
  }

  private toPrimaries(msg: StreamMessageResponse): boolean {
    let sent = false;
    for (const c of this.arbitrator.candidates()) {
      if (this.arbitrator.isPrimary(c)) {
        c.send(msg);
        sent = true;
      }
    }
    return sent;
  }

  digestAck(digestId: number, listId: bigint): void {
    if (!this.digests?.ack(digestId, listId)) throw notFound(`digest ack: no outstanding list ${listId} of digest id ${digestId}`);
  }

  private sendDigest(list: DigestList): void {
    this.toPrimaries(create(StreamMessageResponseSchema, { update: { case: "digest", value: list } }));
  }

  // -- idle timeouts --------------------------------------------------------

  private scheduleIdleScan(): void {
    if (this.idleTimer) clearInterval(this.idleTimer);
    const st = this.state;
    if (!st?.pipeline.allTables().some((b) => b.info.supportsIdleTimeout)) return;
    this.idleTimer = setInterval(() => this.scanIdle(), 20);
    this.idleTimer.unref?.();
  }

  /** Notifies the controller of entries idle for longer than their timeout. */
  scanIdle(): void {
    const st = this.state;
    if (!st) return;
    const now = this.clockUs();
    const engine = st.pipeline.engine;
    const expired: TableEntry[] = [];
    for (const b of st.pipeline.allTables()) {
      if (!b.info.supportsIdleTimeout) continue;
      for (const h of engine.entries(b.info.name)) {
        const extras = st.extras.get(st.key(b.info.id, h));
        if (!extras || extras.idleTimeoutNs <= 0n) continue;
        const lastHit = engine.entryLastHitUs(b.info.name, h);
        if (extras.notifiedAtUs !== undefined && extras.notifiedAtUs >= lastHit) continue;
        if ((now - lastHit) * 1000n < extras.idleTimeoutNs) continue;
        extras.notifiedAtUs = now;
        expired.push(entryMessage(st, b, h, now));
      }
    }
    if (expired.length === 0) return;
    this.toPrimaries(
      create(StreamMessageResponseSchema, {
        update: {
          case: "idleTimeoutNotification",
          value: create(IdleTimeoutNotificationSchema, { tableEntry: expired, timestamp: BigInt(Date.now()) * 1_000_000n }),
        },
      }),
    );
  }

  close(): void {
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.digests?.close();
  }
}
