/**
 * P4RuntimeClient: one controller's connection to one device. It owns the
 * channel and the stream session, keeps the P4Info index of the pipeline in
 * force, and offers typed operations by name: pipeline push, write, read,
 * packet-out, digest acks, plus events for arbitration, reconnects,
 * packet-ins, digests and idle timeouts.
 */
import { EventEmitter } from "node:events";
import { create, equals } from "@bufbuild/protobuf";
import type { P4Info } from "../proto/gen/p4/config/v1/p4info_pb.js";
import { P4InfoSchema } from "../proto/gen/p4/config/v1/p4info_pb.js";
import {
  CapabilitiesRequestSchema,
  DigestListAckSchema,
  ForwardingPipelineConfigSchema,
  ForwardingPipelineConfig_CookieSchema,
  GetForwardingPipelineConfigRequestSchema,
  GetForwardingPipelineConfigRequest_ResponseType,
  ReadRequestSchema,
  SetForwardingPipelineConfigRequestSchema,
  SetForwardingPipelineConfigRequest_Action,
  StreamMessageRequestSchema,
  type Entity,
  type ForwardingPipelineConfig,
  type PacketOut,
  type StreamError,
  type Update,
} from "../proto/gen/p4/v1/p4runtime_pb.js";
import { Code, P4ConnectionError, P4RuntimeError, isP4RuntimeError } from "../p4runtime/errors.js";
import type { BytestringMode } from "../p4runtime/codec/bytestring.js";
import { P4InfoIndex } from "../p4runtime/p4info/index.js";
import { type DecodedEntity, type EntityInput, decodeEntity, encodeEntity } from "./entities/entity.js";
import { type DecodedPacketIn, type PacketOutInput, decodePacketIn, encodePacketOut } from "./entities/packet-io.js";
import { type DecodedDigestList, decodeDigestList } from "./entities/digest.js";
import { type DecodedTableEntry, decodeTableEntry } from "./entities/table-entry.js";
import type { ReplicaPortEncoding } from "./entities/pre.js";
import { P4RuntimeChannel, type TlsOptions } from "./transport/channel.js";
import { type ArbitrationStatus, StreamSession } from "./transport/session.js";
import type { BackoffOptions } from "./transport/backoff.js";
import { parseElectionId, toUint128 } from "../p4runtime/election.js";
import { type CoalescerOptions, DEFAULT_MAX_BATCH, DEFAULT_WINDOW, WriteCoalescer } from "./write/coalescer.js";
import { type Atomicity, WritePath } from "./write/write-path.js";
import type { UpdateInput } from "./wire/encode-update.js";
import { decodeReadResponse } from "../p4runtime/wire/reader.js";

export interface P4RuntimeClientOptions {
  /** host:port of the P4Runtime server, e.g. "127.0.0.1:9559". */
  readonly address: string;
  readonly deviceId: bigint | number;
  /** 128-bit election id; the highest of a role is primary. */
  readonly electionId: bigint | number | string;
  readonly role?: string;
  readonly tls?: TlsOptions;
  /** Reconnect policy when the stream drops; false: stay down. */
  readonly reconnect?: BackoffOptions | false;
  /** Bytestrings sent to the server: canonical (default) or padded. */
  readonly bytestrings?: BytestringMode;
  readonly replicaPortEncoding?: ReplicaPortEncoding;
  readonly connectTimeoutMs?: number;
  /** Deadline of unary RPCs (default 30 s). */
  readonly rpcTimeoutMs?: number;
  /** How single-entity insert/modify/delete calls are batched (see WriteCoalescer). */
  readonly coalescing?: CoalescerOptions;
}

export type UpdateType = UpdateInput["type"];
export type { Atomicity, UpdateInput };

/**
 * Deadline of a pipeline push or fetch (P4Info, device config): the device loads or sends the whole program
 * (seconds on simple_switch_grpc, and `npm run bench:heartbeat` pushes 251 embedded switches served by one process
 * at once), where the client's own deadline is sized for entry writes, so that a hung switch holds them up no longer.
 */
const PIPELINE_TIMEOUT_MS = 60_000;

export interface PipelineInput {
  readonly p4info: P4Info;
  /** Target configuration (BMv2: the JSON text or bytes). */
  readonly deviceConfig: Uint8Array | string;
  /** Identifies the pipeline; pushes are skipped when the device has it. */
  readonly cookie?: bigint;
  /** VERIFY_AND_COMMIT by default; RECONCILE_AND_COMMIT keeps state. */
  readonly action?: "verifyAndCommit" | "reconcileAndCommit" | "verify" | "verifyAndSave" | "commit";
  /** Push even when the device reports the same cookie. */
  readonly force?: boolean;
}

export interface ClientEvents {
  arbitration: [ArbitrationStatus];
  /** true when this client became primary, false when it lost it. */
  role: [boolean];
  disconnect: [Error];
  /** Stream re-opened and re-arbitrated: re-push state if needed. */
  reconnect: [ArbitrationStatus];
  packetIn: [DecodedPacketIn];
  digest: [DecodedDigestList];
  idleTimeout: [readonly DecodedTableEntry[]];
  streamError: [StreamError];
  /** A stream message that could not be decoded with the current P4Info. */
  decodeError: [Error];
}

const pipelineActions = {
  verify: SetForwardingPipelineConfigRequest_Action.VERIFY,
  verifyAndSave: SetForwardingPipelineConfigRequest_Action.VERIFY_AND_SAVE,
  verifyAndCommit: SetForwardingPipelineConfigRequest_Action.VERIFY_AND_COMMIT,
  commit: SetForwardingPipelineConfigRequest_Action.COMMIT,
  reconcileAndCommit: SetForwardingPipelineConfigRequest_Action.RECONCILE_AND_COMMIT,
} as const;

export class P4RuntimeClient extends EventEmitter<ClientEvents> {
  readonly deviceId: bigint;
  readonly electionId: bigint;
  readonly channel: P4RuntimeChannel;
  private readonly session: StreamSession;
  private _index: P4InfoIndex | undefined;
  private _writer: WriteCoalescer | undefined;
  /** encode → batch → frame → send (src/client/write/). */
  private readonly writePath: WritePath;

  private constructor(readonly options: P4RuntimeClientOptions) {
    super();
    this.deviceId = BigInt(options.deviceId);
    this.electionId = parseElectionId(options.electionId);
    // The channel's own connection backoff follows the session's reconnect cap, so a switch
    // that returns after a long outage is reached within that cap of its return.
    const cap = options.reconnect === false ? undefined : options.reconnect?.maxMs;
    this.channel = new P4RuntimeChannel({
      address: options.address,
      ...(options.tls ? { tls: options.tls } : {}),
      ...(cap !== undefined ? { maxReconnectBackoffMs: cap } : {}),
    });
    this.session = new StreamSession(this.channel, {
      deviceId: this.deviceId,
      electionId: this.electionId,
      ...(options.role ? { role: options.role } : {}),
      ...(options.reconnect !== undefined ? { reconnect: options.reconnect } : {}),
      ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    });
    this.writePath = new WritePath({
      deviceId: this.deviceId,
      electionId: toUint128(this.electionId),
      role: options.role ?? "",
      encoding: this.encodeOptions,
      index: () => this.index,
      send: (request) => this.channel.writeBytes(request, this.rpc),
      maxBatch: options.coalescing?.maxBatch ?? DEFAULT_MAX_BATCH,
      window: options.coalescing?.window ?? DEFAULT_WINDOW,
    });
    this.session.on("arbitration", (s) => this.emit("arbitration", s));
    this.session.on("role", (p) => this.emit("role", p));
    this.session.on("disconnect", (e) => {
      this.writePath.disconnected(e);
      this.emit("disconnect", e);
    });
    this.session.on("reconnect", (s) => {
      this.backupReplicas = undefined;
      this.emit("reconnect", s);
    });
    this.session.on("streamError", (e) => this.emit("streamError", e));
    this.session.on("packetIn", (p) => this.decodeAndEmit(() => this.emit("packetIn", decodePacketIn(this.index, p))));
    this.session.on("digest", (d) => this.decodeAndEmit(() => this.emit("digest", decodeDigestList(this.index, d))));
    this.session.on("idleTimeout", (n) =>
      this.decodeAndEmit(() =>
        this.emit(
          "idleTimeout",
          n.tableEntry.map((te) => decodeTableEntry(this.index, te)),
        ),
      ),
    );
  }

  /**
   * Connects, opens the stream and arbitrates. Resolves once the server has
   * answered the arbitration (as primary or backup). When the device already
   * has a pipeline, its P4Info is fetched so names work at once.
   */
  static async connect(options: P4RuntimeClientOptions): Promise<P4RuntimeClient> {
    const client = new P4RuntimeClient(options);
    try {
      await client.session.open();
      await client.fetchP4Info();
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  private decodeAndEmit(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.emit("decodeError", e instanceof Error ? e : new Error(String(e)));
    }
  }

  get isPrimary(): boolean {
    return this.session.isPrimary;
  }

  /** The stream is up and arbitrated (primary or backup). */
  get connected(): boolean {
    return this.session.state === "ready";
  }

  get arbitration(): ArbitrationStatus | undefined {
    return this.session.arbitration;
  }

  get address(): string {
    return this.options.address;
  }

  /** The index of the pipeline in force; throws if none is known. */
  get index(): P4InfoIndex {
    if (!this._index)
      throw new P4ConnectionError(`no P4Info for device ${this.deviceId} at ${this.address}: push a pipeline or load a P4Info first`);
    return this._index;
  }

  get hasP4Info(): boolean {
    return this._index !== undefined;
  }

  /** Uses `p4info` for names without pushing it (the device already runs it). */
  useP4Info(p4info: P4Info): void {
    this._index = new P4InfoIndex(p4info);
  }

  /** The deadline of each RPC (writes, reads, arbitration) unless a call gives its own. */
  get rpcTimeoutMs(): number {
    return this.options.rpcTimeoutMs ?? 30_000;
  }

  private get rpc() {
    return { timeoutMs: this.rpcTimeoutMs };
  }

  /** The deadline of a call that moves the whole program (PIPELINE_TIMEOUT_MS). */
  private get pipelineRpc() {
    return { timeoutMs: Math.max(this.rpcTimeoutMs, PIPELINE_TIMEOUT_MS) };
  }

  private get encodeOptions() {
    return {
      ...(this.options.bytestrings ? { mode: this.options.bytestrings } : {}),
      ...(this.options.replicaPortEncoding ? { replicaPortEncoding: this.options.replicaPortEncoding } : {}),
    };
  }

  async capabilities(): Promise<string> {
    const res = await this.channel.capabilities(create(CapabilitiesRequestSchema, { deviceId: this.deviceId }), this.rpc);
    return res.p4runtimeApiVersion;
  }

  /**
   * Whether the server keeps backup replicas of multicast replicas: they
   * came with P4Runtime 1.5, and a server of an older version (PI, under
   * simple_switch_grpc, says 1.3.0) accepts the field and drops it. Asked
   * once per connection (a reconnect may reach another server); a failed
   * call rejects and is asked again next time, as a read of the switch
   * would fail then too.
   */
  takesBackupReplicas(): Promise<boolean> {
    if (!this.backupReplicas) {
      const asked = this.capabilities().then((v) => apiVersionAtLeast(v, 1, 5));
      this.backupReplicas = asked;
      asked.catch(() => {
        if (this.backupReplicas === asked) this.backupReplicas = undefined;
      });
    }
    return this.backupReplicas;
  }
  private backupReplicas: Promise<boolean> | undefined;

  /** Fetches the device's P4Info; undefined when it has no pipeline. */
  async fetchP4Info(): Promise<P4Info | undefined> {
    const cfg = await this.getPipeline("p4infoAndCookie");
    if (cfg?.p4info && !equals(P4InfoSchema, cfg.p4info, create(P4InfoSchema))) {
      this._index = new P4InfoIndex(cfg.p4info);
      return cfg.p4info;
    }
    return undefined;
  }

  /** The device's pipeline (or part of it); undefined when none is set. */
  async getPipeline(
    what: "all" | "cookieOnly" | "p4infoAndCookie" | "deviceConfigAndCookie" = "all",
  ): Promise<ForwardingPipelineConfig | undefined> {
    const types = {
      all: GetForwardingPipelineConfigRequest_ResponseType.ALL,
      cookieOnly: GetForwardingPipelineConfigRequest_ResponseType.COOKIE_ONLY,
      p4infoAndCookie: GetForwardingPipelineConfigRequest_ResponseType.P4INFO_AND_COOKIE,
      deviceConfigAndCookie: GetForwardingPipelineConfigRequest_ResponseType.DEVICE_CONFIG_AND_COOKIE,
    };
    try {
      const res = await this.channel.getForwardingPipelineConfig(
        create(GetForwardingPipelineConfigRequestSchema, { deviceId: this.deviceId, responseType: types[what] }),
        // The cookie alone is small; the P4Info and the device config are the whole program, like a push.
        what === "cookieOnly" ? this.rpc : this.pipelineRpc,
      );
      return res.config;
    } catch (e) {
      // No pipeline yet: simple_switch_grpc answers FAILED_PRECONDITION.
      if (isP4RuntimeError(e) && (e.code === Code.FAILED_PRECONDITION || e.code === Code.NOT_FOUND)) return undefined;
      throw e;
    }
  }

  /** The cookie of the device's pipeline, or undefined. */
  async pipelineCookie(): Promise<bigint | undefined> {
    const cfg = await this.getPipeline("cookieOnly");
    return cfg?.cookie?.cookie;
  }

  /**
   * Pushes a pipeline. Skips the push (returns false) when the device already
   * reports the same cookie, unless `force`. Returns true when pushed.
   */
  async setPipeline(input: PipelineInput): Promise<boolean> {
    const action = input.action ?? "verifyAndCommit";
    if (input.cookie !== undefined && !input.force && (action === "verifyAndCommit" || action === "reconcileAndCommit")) {
      const current = await this.pipelineCookie();
      if (current === input.cookie) {
        if (!this._index) await this.fetchP4Info();
        if (!this._index) this._index = new P4InfoIndex(input.p4info);
        return false;
      }
    }
    const deviceConfig = typeof input.deviceConfig === "string" ? new TextEncoder().encode(input.deviceConfig) : input.deviceConfig;
    await this.channel.setForwardingPipelineConfig(
      create(SetForwardingPipelineConfigRequestSchema, {
        deviceId: this.deviceId,
        electionId: toUint128(this.electionId),
        ...(this.options.role ? { role: this.options.role } : {}),
        action: pipelineActions[action],
        config: create(ForwardingPipelineConfigSchema, {
          p4info: input.p4info,
          p4DeviceConfig: action === "commit" ? new Uint8Array() : deviceConfig,
          ...(input.cookie !== undefined ? { cookie: create(ForwardingPipelineConfig_CookieSchema, { cookie: input.cookie }) } : {}),
        }),
      }),
      this.pipelineRpc,
    );
    if (action !== "verify") this._index = new P4InfoIndex(input.p4info);
    return true;
  }

  /** Encodes updates against the current P4Info as protobuf-es messages (throws on bad input, naming the update and field). */
  encodeUpdates(updates: readonly UpdateInput[]): Update[] {
    return this.writePath.messages(updates);
  }

  /**
   * Writes updates. Every update is encoded (and checked against the P4Info)
   * before anything is sent, so bad input is an error naming the update and
   * field and nothing is written. On failure throws a P4RuntimeError whose
   * `failures` list every failed update by its index in `updates`.
   *
   * With continueOnError (the default) a write of more than `maxBatch`
   * updates (coalescing options, default 128: it bounds the error list of a
   * failed request) goes as consecutive requests
   * of that size with up to `window` in flight; updates of one entity keep
   * their order. rollbackOnError and dataplaneAtomic writes are never split:
   * they are one WriteRequest whatever their size, since their all-or-nothing
   * guarantee holds only within one request.
   */
  async write(updates: readonly UpdateInput[], atomicity: Atomicity = "continueOnError"): Promise<void> {
    await this.writePath.write(updates, atomicity);
  }

  /** Sends already-encoded updates in one WriteRequest. */
  async writeRaw(updates: readonly Update[], atomicity: Atomicity = "continueOnError"): Promise<void> {
    await this.writePath.writeMessages(updates, atomicity);
  }

  /**
   * The coalescer behind single-entity insert/modify/delete: concurrent
   * calls share WriteRequests; each caller gets its own outcome.
   */
  get writer(): WriteCoalescer {
    this._writer ??= this.coalescer(this.options.coalescing);
    return this._writer;
  }

  /** A coalescer of its own (see WriteCoalescer) writing through this client; close it when done. */
  coalescer(options?: CoalescerOptions): WriteCoalescer {
    return new WriteCoalescer(this.writePath, options);
  }

  /** Inserts entities: one entity goes through the coalescer, several form one batch. */
  insert(...entities: EntityInput[]): Promise<void> {
    return this.apply("insert", entities);
  }

  modify(...entities: EntityInput[]): Promise<void> {
    return this.apply("modify", entities);
  }

  delete(...entities: EntityInput[]): Promise<void> {
    return this.apply("delete", entities);
  }

  private apply(type: UpdateType, entities: EntityInput[]): Promise<void> {
    if (entities.length === 1) {
      const w = this.writer;
      const e = entities[0]!;
      return type === "insert" ? w.insert(e) : type === "modify" ? w.modify(e) : w.delete(e);
    }
    return this.write(entities.map((entity) => ({ type, entity })));
  }

  /**
   * Reads entities. Unset fields are wildcards: `{ kind: "tableEntry", table:
   * "ipv4_lpm" }` reads the whole table. Yields decoded entities as they
   * arrive.
   */
  async *read(queries: readonly EntityInput[], opts: { timeoutMs?: number } = {}): AsyncGenerator<DecodedEntity> {
    const entities = queries.map((q) => encodeEntity(this.index, q, { ...this.encodeOptions, forRead: true }));
    for await (const e of this.readRaw(entities, opts)) yield decodeEntity(this.index, e);
  }

  /** Reads and collects every matching entity. */
  async readAll(...queries: EntityInput[]): Promise<DecodedEntity[]> {
    return this.collect(queries);
  }

  /** Reads and collects every matching entity, within `timeoutMs` (instead of the client's deadline) when given. */
  async collect(queries: readonly EntityInput[], opts: { timeoutMs?: number } = {}): Promise<DecodedEntity[]> {
    const out: DecodedEntity[] = [];
    for await (const e of this.read(queries, opts)) out.push(e);
    return out;
  }

  /** Reads already-encoded queries; `timeoutMs` overrides the client's deadline for this read. */
  async *readRaw(entities: Entity[], opts: { timeoutMs?: number } = {}): AsyncGenerator<Entity> {
    // Responses are decoded by the wire decoder (table entries without reflection; the same messages fromBinary gives).
    const rpc = opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : this.rpc;
    for await (const res of this.channel.readBytes(
      create(ReadRequestSchema, { deviceId: this.deviceId, entities, ...(this.options.role ? { role: this.options.role } : {}) }),
      rpc,
    )) {
      yield* decodeReadResponse(res);
    }
  }

  /** Sends a packet through the CPU port with packet_out metadata by name. */
  sendPacket(input: PacketOutInput): void {
    this.session.send(
      create(StreamMessageRequestSchema, { update: { case: "packet", value: encodePacketOut(this.index, input, this.encodeOptions) } }),
    );
  }

  /** Sends an already-encoded PacketOut (hot paths that build it once). */
  sendPacketRaw(packet: PacketOut): void {
    this.session.send(create(StreamMessageRequestSchema, { update: { case: "packet", value: packet } }));
  }

  /** Encodes a PacketOut against the current P4Info without sending it. */
  encodePacketOut(input: PacketOutInput): PacketOut {
    return encodePacketOut(this.index, input, this.encodeOptions);
  }

  /** Encodes read queries once, for reads repeated with readRaw. */
  encodeQueries(queries: readonly EntityInput[]): Entity[] {
    return queries.map((q) => encodeEntity(this.index, q, { ...this.encodeOptions, forRead: true }));
  }

  /** Acknowledges a digest list so the device may send the same data again. */
  ackDigest(digest: string | number, listId: bigint): void {
    const d = this.index.digest(digest);
    this.session.send(
      create(StreamMessageRequestSchema, { update: { case: "digestAck", value: create(DigestListAckSchema, { digestId: d.id, listId }) } }),
    );
  }

  /** Resolves with the next arbitration status in which this client is primary. */
  waitForPrimary(timeoutMs = 10_000): Promise<void> {
    if (this.isPrimary) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off("role", onRole);
        reject(new P4RuntimeError("Arbitration", Code.DEADLINE_EXCEEDED, `not primary for device ${this.deviceId} after ${timeoutMs} ms`));
      }, timeoutMs);
      const onRole = (primary: boolean) => {
        if (!primary) return;
        clearTimeout(timer);
        this.off("role", onRole);
        resolve();
      };
      this.on("role", onRole);
    });
  }

  close(): void {
    this._writer?.close("the client was closed");
    this.session.close();
    this.channel.close();
  }
}

/** Whether a P4Runtime API version string ("1.5.0", "1.4.1-dev") is at least major.minor. */
export function apiVersionAtLeast(version: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version.trim());
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}
