/**
 * The P4Runtime gRPC server of the embedded switch, on @grpc/grpc-js. It
 * maps each RPC onto a Device and reports failures with the canonical codes;
 * a Write with failed updates answers UNKNOWN with a google.rpc.Status in
 * "grpc-status-details-bin" holding one p4.v1.Error per update (as
 * simple_switch_grpc does), cut short when it would not fit the trailer
 * budget (STATUS_DETAILS_BUDGET).
 */
import * as grpc from "@grpc/grpc-js";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { AnySchema, anyPack } from "@bufbuild/protobuf/wkt";
import {
  CapabilitiesResponseSchema,
  ErrorSchema,
  GetForwardingPipelineConfigResponseSchema,
  P4Runtime,
  ReadResponseSchema,
  SetForwardingPipelineConfigResponseSchema,
  StreamMessageResponseSchema,
  WriteResponseSchema,
  type CapabilitiesRequest,
  type CapabilitiesResponse,
  type GetForwardingPipelineConfigRequest,
  type GetForwardingPipelineConfigResponse,
  type ReadRequest,
  type ReadResponse,
  type SetForwardingPipelineConfigRequest,
  type SetForwardingPipelineConfigResponse,
  type StreamMessageRequest,
  type StreamMessageResponse,
  type StreamErrorSchema,
  type WriteRequest,
  type WriteResponse,
} from "../../proto/gen/p4/v1/p4runtime_pb.js";
import { StatusSchema } from "../../proto/gen/google/rpc/status_pb.js";
import { Code } from "../../proto/gen/google/rpc/code_pb.js";
import { grpcServiceDefinition } from "../../proto/grpc-service.js";
import { decodeWriteRequest } from "../../p4runtime/wire/reader.js";
import { STATUS_DETAILS_KEY } from "../../p4runtime/status.js";
import { fromUint128 } from "../../p4runtime/election.js";
import { ArbitrationError } from "./arbitration.js";
import { type Device, type StreamClient, WriteFailure } from "./device.js";
import { StatusError, toStatusError } from "./status.js";

/** The P4Runtime version this server implements. */
export const P4RUNTIME_API_VERSION = "1.5.0";

/** Entities per ReadResponse message. */
const READ_CHUNK = 1000;

function serviceError(code: Code, details: string, statusDetails?: Uint8Array): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (statusDetails) metadata.set(STATUS_DETAILS_KEY, Buffer.from(statusDetails));
  return { code: code as number as grpc.status, details, metadata };
}

/**
 * Most bytes the serialized google.rpc.Status of a failed Write may take in
 * the "grpc-status-details-bin" trailer. Binary metadata travels base64
 * encoded (4/3 larger: 24,000 bytes become 32,000 characters). grpc-js
 * clients accept a trailer block of at most Node's HTTP/2 default
 * SETTINGS_MAX_HEADER_LIST_SIZE, 65,535 octets (grpc-js sets no other
 * limit); a larger block is never delivered: the call gets no answer and the
 * connection stops working. 24,000 bytes leave half of that limit for the
 * status message and the other headers. (gRPC C-core clients, such as
 * Python's, default to a smaller metadata limit, 8 KiB soft / 16 KiB hard;
 * such clients should keep their batches small.)
 */
export const STATUS_DETAILS_BUDGET = 24_000;

/** Indexes of left-out failures named in the status message, at most. */
const OMITTED_NAMED = 10;

/**
 * The status of a failed Write: one p4.v1.Error per update, in order (OK
 * ones included, as the specification asks), as long as they fit the
 * budget. The list is positional, so when it would not fit it is cut after
 * the last update that fits: every failure reported keeps its index, and
 * the message says which updates have no entry and how many of them failed.
 */
export function writeFailureStatus(
  statuses: readonly { code: Code; message: string }[],
  budget = STATUS_DETAILS_BUDGET,
): { message: string; details: Uint8Array } {
  const failed = statuses.filter((s) => s.code !== Code.OK).length;
  let message = `${failed} of ${statuses.length} updates failed`;
  const anys = [];
  let size = 0;
  for (const s of statuses) {
    const any = anyPack(ErrorSchema, create(ErrorSchema, { canonicalCode: s.code, message: s.message }));
    const n = toBinary(AnySchema, any).length;
    // field tag + length prefix of the repeated `details` entry
    const entry = 1 + varintSize(n) + n;
    if (size + entry > budget - 1024) break; // keep room for the status's own code and message
    size += entry;
    anys.push(any);
  }
  if (anys.length < statuses.length) {
    const omitted: number[] = [];
    for (let i = anys.length; i < statuses.length; i++) if (statuses[i]!.code !== Code.OK) omitted.push(i);
    const named = omitted
      .slice(0, OMITTED_NAMED)
      .map((i) => `#${i}`)
      .join(", ");
    const listed = anys.length > 0 ? `for updates #0..#${anys.length - 1} only` : "for no update";
    message +=
      `; per-update errors are listed ${listed} (a trailer budget of ${budget} bytes):` +
      ` ${omitted.length} failure(s) of updates #${anys.length}..#${statuses.length - 1} are not listed` +
      (omitted.length > 0 ? ` (${named}${omitted.length > OMITTED_NAMED ? ", ..." : ""})` : "") +
      "; send smaller batches to get every error";
  }
  const status = create(StatusSchema, { code: Code.UNKNOWN, message, details: anys });
  return { message, details: toBinary(StatusSchema, status) };
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

function failureToError(e: unknown): Partial<grpc.StatusObject> {
  if (e instanceof WriteFailure) {
    const { message, details } = writeFailureStatus(e.statuses);
    return serviceError(Code.UNKNOWN, message, details);
  }
  const s = toStatusError(e);
  return serviceError(s.code, s.message);
}

export class P4RuntimeServer {
  private readonly server = new grpc.Server({
    "grpc.max_receive_message_length": 256 * 1024 * 1024,
    "grpc.max_send_message_length": 256 * 1024 * 1024,
  });
  private readonly devices = new Map<bigint, Device>();
  private readonly streams = new Set<grpc.ServerDuplexStream<StreamMessageRequest, StreamMessageResponse>>();
  private boundPort: number | undefined;

  constructor(devices: readonly Device[]) {
    for (const d of devices) this.devices.set(d.deviceId, d);
    // Write requests (the bulk of what a controller sends) skip protobuf-es's reflective decoder.
    this.server.addService(grpcServiceDefinition(P4Runtime, { write: decodeWriteRequest }), {
      write: this.write.bind(this),
      read: this.read.bind(this),
      setForwardingPipelineConfig: this.setPipeline.bind(this),
      getForwardingPipelineConfig: this.getPipeline.bind(this),
      streamChannel: this.streamChannel.bind(this),
      capabilities: this.capabilities.bind(this),
    });
  }

  /** Binds and starts; returns the port (useful with "127.0.0.1:0"). */
  listen(address: string, credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure()): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(address, credentials, (err, port) => {
        if (err) return reject(new Error(`cannot listen on ${address}: ${err.message}`));
        this.boundPort = port;
        resolve(port);
      });
    });
  }

  get port(): number | undefined {
    return this.boundPort;
  }

  private device(id: bigint): Device {
    const d = this.devices.get(id);
    if (!d)
      throw new StatusError(Code.NOT_FOUND, `unknown device id ${id} (this server has ${[...this.devices.keys()].join(", ") || "none"})`);
    return d;
  }

  private capabilities(
    _call: grpc.ServerUnaryCall<CapabilitiesRequest, CapabilitiesResponse>,
    cb: grpc.sendUnaryData<CapabilitiesResponse>,
  ): void {
    cb(null, create(CapabilitiesResponseSchema, { p4runtimeApiVersion: P4RUNTIME_API_VERSION }));
  }

  private setPipeline(
    call: grpc.ServerUnaryCall<SetForwardingPipelineConfigRequest, SetForwardingPipelineConfigResponse>,
    cb: grpc.sendUnaryData<SetForwardingPipelineConfigResponse>,
  ): void {
    try {
      this.device(call.request.deviceId).setPipeline(call.request);
      cb(null, create(SetForwardingPipelineConfigResponseSchema));
    } catch (e) {
      cb(failureToError(e));
    }
  }

  private getPipeline(
    call: grpc.ServerUnaryCall<GetForwardingPipelineConfigRequest, GetForwardingPipelineConfigResponse>,
    cb: grpc.sendUnaryData<GetForwardingPipelineConfigResponse>,
  ): void {
    try {
      const config = this.device(call.request.deviceId).getPipeline(call.request.responseType);
      cb(null, create(GetForwardingPipelineConfigResponseSchema, { config }));
    } catch (e) {
      cb(failureToError(e));
    }
  }

  private write(call: grpc.ServerUnaryCall<WriteRequest, WriteResponse>, cb: grpc.sendUnaryData<WriteResponse>): void {
    try {
      this.device(call.request.deviceId).write(call.request);
      cb(null, create(WriteResponseSchema));
    } catch (e) {
      cb(failureToError(e));
    }
  }

  private read(call: grpc.ServerWritableStream<ReadRequest, ReadResponse>): void {
    try {
      const entities = this.device(call.request.deviceId).read(call.request);
      for (let i = 0; i < entities.length || i === 0; i += READ_CHUNK) {
        call.write(create(ReadResponseSchema, { entities: entities.slice(i, i + READ_CHUNK) }));
      }
      call.end();
    } catch (e) {
      call.emit("error", failureToError(e));
    }
  }

  private streamChannel(call: grpc.ServerDuplexStream<StreamMessageRequest, StreamMessageResponse>): void {
    this.streams.add(call);
    let client: (StreamClient & { device: Device }) | undefined;
    const send = (msg: StreamMessageResponse) => {
      if (!call.writableEnded && !call.destroyed) call.write(msg);
    };
    const fail = (code: Code, message: string) => {
      if (client) client.device.disconnect(client);
      client = undefined;
      call.emit("error", serviceError(code, message));
    };
    /** A StreamError on the stream; `details` names the message it is about. */
    const streamError = (code: Code, message: string, details?: MessageInitShape<typeof StreamErrorSchema>["details"]) =>
      send(
        create(StreamMessageResponseSchema, {
          update: { case: "error", value: { canonicalCode: code, message, ...(details ? { details } : {}) } },
        }),
      );
    call.on("data", (msg: StreamMessageRequest) => {
      const u = msg.update;
      try {
        if (u.case === "arbitration") {
          const a = u.value;
          const role = a.role?.name ?? "";
          // Unset is not 0: such a stream is never primary (see arbitration.ts).
          const electionId = fromUint128(a.electionId);
          if (client) {
            if (a.deviceId !== client.device.deviceId)
              return fail(Code.FAILED_PRECONDITION, "arbitration: the device id of a live stream cannot change");
            if (role !== client.role)
              return fail(Code.FAILED_PRECONDITION, "arbitration: the role of a live stream cannot change; open a new stream");
            const next = { ...client, electionId, send };
            client.device.arbitrate(next, client);
            client = next;
          } else {
            const device = this.devices.get(a.deviceId);
            if (!device) return fail(Code.NOT_FOUND, `arbitration: unknown device id ${a.deviceId}`);
            const c = { electionId, role, send, device };
            device.arbitrate(c);
            client = c;
          }
          return;
        }
        if (!client) return fail(Code.FAILED_PRECONDITION, "the first message on a stream must be an arbitration update");
        if (u.case === "packet") {
          try {
            client.device.packetOut(client, u.value);
          } catch (e) {
            const s = toStatusError(e);
            streamError(s.code, s.message, { case: "packetOut", value: { packetOut: u.value } });
          }
        } else if (u.case === "digestAck") {
          try {
            client.device.digestAck(u.value.digestId, u.value.listId);
          } catch (e) {
            const s = toStatusError(e);
            streamError(s.code, s.message, { case: "digestListAck", value: { digestListAck: u.value } });
          }
        } else {
          streamError(Code.UNIMPLEMENTED, `stream message "${u.case ?? "empty"}" is not supported`);
        }
      } catch (e) {
        if (e instanceof ArbitrationError) return fail(e.code, e.message);
        const s = toStatusError(e);
        streamError(s.code, s.message);
      }
    });
    const done = () => {
      this.streams.delete(call);
      if (client) client.device.disconnect(client);
      client = undefined;
    };
    call.on("end", () => {
      done();
      call.end();
    });
    call.on("error", done);
    call.on("cancelled", done);
    call.on("close", done);
  }

  /**
   * Stops the server at once: every call and stream is cancelled, as when
   * a switch process dies, so clients see their streams fail.
   */
  async close(): Promise<void> {
    this.streams.clear();
    for (const d of this.devices.values()) d.close();
    this.server.forceShutdown();
  }
}
