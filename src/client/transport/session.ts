/**
 * The StreamChannel session of one client: opens the stream, arbitrates with
 * an election id, tracks primary/backup status, dispatches stream messages,
 * and re-opens and re-arbitrates with backoff when the stream drops.
 */
import { EventEmitter } from "node:events";
import { create } from "@bufbuild/protobuf";
import type { ClientDuplexStream } from "@grpc/grpc-js";
import {
  type DigestList,
  type IdleTimeoutNotification,
  MasterArbitrationUpdateSchema,
  type PacketIn,
  RoleSchema,
  type StreamError,
  type StreamMessageRequest,
  StreamMessageRequestSchema,
  type StreamMessageResponse,
} from "../../proto/gen/p4/v1/p4runtime_pb.js";
import { Code, P4ConnectionError, P4RuntimeError } from "../../p4runtime/errors.js";
import { Backoff, type BackoffOptions } from "./backoff.js";
import type { P4RuntimeChannel } from "./channel.js";
import { fromUint128, toUint128 } from "../../p4runtime/election.js";
import { toP4RuntimeError } from "../../p4runtime/status.js";

export type SessionState = "idle" | "arbitrating" | "ready" | "reconnecting" | "closed";

export interface ArbitrationStatus {
  readonly primary: boolean;
  /** The primary's election id, when there is a primary. */
  readonly primaryElectionId?: bigint;
  readonly code: Code;
  readonly message: string;
}

export interface SessionEvents {
  /** Every arbitration update from the server. */
  arbitration: [ArbitrationStatus];
  /** Primary status changed (true: became primary; false: became backup). */
  role: [boolean];
  /** The stream was lost; a reconnect is scheduled unless it was fatal. */
  disconnect: [Error];
  /** The stream was re-opened and re-arbitrated after a loss. */
  reconnect: [ArbitrationStatus];
  packetIn: [PacketIn];
  digest: [DigestList];
  idleTimeout: [IdleTimeoutNotification];
  streamError: [StreamError];
  closed: [];
}

export interface SessionOptions {
  readonly deviceId: bigint;
  readonly electionId: bigint;
  readonly role?: string;
  /** false disables reconnecting. */
  readonly reconnect?: BackoffOptions | false;
  /** How long to wait for the first arbitration answer (default 10 s). */
  readonly connectTimeoutMs?: number;
}

/** Codes after which retrying the same arbitration cannot help. */
const FATAL = new Set<Code>([
  Code.INVALID_ARGUMENT,
  Code.UNIMPLEMENTED,
  Code.PERMISSION_DENIED,
  Code.UNAUTHENTICATED,
  Code.FAILED_PRECONDITION,
]);

export class StreamSession extends EventEmitter<SessionEvents> {
  private stream: ClientDuplexStream<StreamMessageRequest, StreamMessageResponse> | undefined;
  private _state: SessionState = "idle";
  private last: ArbitrationStatus | undefined;
  private readonly backoff: Backoff | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reconnecting = false;
  private firstArbitration: { resolve: (s: ArbitrationStatus) => void; reject: (e: Error) => void } | undefined;

  constructor(
    private readonly channel: P4RuntimeChannel,
    readonly options: SessionOptions,
  ) {
    super();
    this.backoff = options.reconnect === false ? undefined : new Backoff(options.reconnect);
  }

  get state(): SessionState {
    return this._state;
  }

  get isPrimary(): boolean {
    return this.last?.primary ?? false;
  }

  get arbitration(): ArbitrationStatus | undefined {
    return this.last;
  }

  /** Opens the stream and resolves with the first arbitration answer. */
  open(): Promise<ArbitrationStatus> {
    if (this._state === "closed") return Promise.reject(new P4ConnectionError("session is closed"));
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    return new Promise<ArbitrationStatus>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.firstArbitration = undefined;
        this.stopStream();
        this._state = "idle";
        reject(
          new P4ConnectionError(
            `no arbitration answer from ${this.channel.options.address} (device ${this.options.deviceId}) within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.firstArbitration = {
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.startStream(true);
    });
  }

  /** Sends a stream message; fails when the stream is not up. */
  send(msg: StreamMessageRequest): void {
    if (!this.stream || this._state !== "ready") {
      throw new P4ConnectionError(`stream to ${this.channel.options.address} is ${this._state}: cannot send`);
    }
    this.stream.write(msg);
  }

  /** Re-sends arbitration, e.g. with a new election id. */
  rearbitrate(): void {
    this.stream?.write(this.arbitrationRequest());
  }

  close(): void {
    if (this._state === "closed") return;
    this._state = "closed";
    if (this.timer) clearTimeout(this.timer);
    this.stopStream();
    this.firstArbitration?.reject(new P4ConnectionError("session closed"));
    this.firstArbitration = undefined;
    this.emit("closed");
  }

  private arbitrationRequest(): StreamMessageRequest {
    return create(StreamMessageRequestSchema, {
      update: {
        case: "arbitration",
        value: create(MasterArbitrationUpdateSchema, {
          deviceId: this.options.deviceId,
          electionId: toUint128(this.options.electionId),
          ...(this.options.role ? { role: create(RoleSchema, { name: this.options.role }) } : {}),
        }),
      },
    });
  }

  private startStream(waitForReady: boolean): void {
    this._state = "arbitrating";
    const stream = this.channel.openStream({ waitForReady });
    this.stream = stream;
    stream.on("data", (msg: StreamMessageResponse) => this.onMessage(msg));
    stream.on("error", (e: Error) => this.onLost(stream, toP4RuntimeError("StreamChannel", e)));
    stream.on("end", () => this.onLost(stream, new P4ConnectionError(`stream to ${this.channel.options.address} ended by the server`)));
    stream.write(this.arbitrationRequest());
  }

  private stopStream(): void {
    const s = this.stream;
    this.stream = undefined;
    if (s) {
      s.removeAllListeners("data");
      s.removeAllListeners("end");
      s.removeAllListeners("error");
      s.on("error", () => undefined);
      s.cancel();
    }
  }

  private onMessage(msg: StreamMessageResponse): void {
    const u = msg.update;
    switch (u.case) {
      case "arbitration": {
        const status: ArbitrationStatus = {
          primary: (u.value.status?.code ?? Code.OK) === Code.OK,
          ...(u.value.electionId ? { primaryElectionId: fromUint128(u.value.electionId)! } : {}),
          code: (u.value.status?.code ?? Code.OK) as Code,
          message: u.value.status?.message ?? "",
        };
        const wasPrimary = this.last?.primary;
        this.last = status;
        const first = this._state === "arbitrating";
        this._state = "ready";
        this.emit("arbitration", status);
        if (wasPrimary !== status.primary) this.emit("role", status.primary);
        if (first) {
          this.backoff?.reset();
          if (this.firstArbitration) {
            this.firstArbitration.resolve(status);
            this.firstArbitration = undefined;
          } else if (this.reconnecting) {
            this.reconnecting = false;
            this.emit("reconnect", status);
          }
        }
        break;
      }
      case "packet":
        this.emit("packetIn", u.value);
        break;
      case "digest":
        this.emit("digest", u.value);
        break;
      case "idleTimeoutNotification":
        this.emit("idleTimeout", u.value);
        break;
      case "error":
        this.emit("streamError", u.value);
        break;
      default:
        break;
    }
  }

  private onLost(stream: ClientDuplexStream<StreamMessageRequest, StreamMessageResponse>, err: Error): void {
    if (stream !== this.stream || this._state === "closed") return;
    this.stopStream();
    const wasPrimary = this.last?.primary;
    this.last = undefined;
    if (this.firstArbitration) {
      // The very first attempt: report the failure to the caller of open().
      this._state = "idle";
      const first = this.firstArbitration;
      this.firstArbitration = undefined;
      first.reject(err);
      return;
    }
    const fatal = err instanceof P4RuntimeError && FATAL.has(err.code);
    const retry = !!this.backoff && !fatal;
    // The state says "not connected" before anyone hears of the loss.
    this._state = retry ? "reconnecting" : "idle";
    if (wasPrimary) this.emit("role", false);
    this.emit("disconnect", err);
    if (retry && this._state === "reconnecting") this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this._state = "reconnecting";
    this.reconnecting = true;
    const delay = this.backoff!.next();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this._state !== "reconnecting") return;
      this.startStream(true);
    }, delay);
    this.timer.unref?.();
  }
}
