/**
 * The P4Runtime gRPC server of the embedded switch, on @grpc/grpc-js. It
 * maps each RPC onto a Device and reports failures with the canonical codes;
 * a Write with failed updates answers UNKNOWN with a google.rpc.Status in
 * "grpc-status-details-bin" holding one p4.v1.Error per update (as
 * simple_switch_grpc does).
 */
import * as grpc from "@grpc/grpc-js";
import { create, toBinary } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
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
  type WriteRequest,
  type WriteResponse,
} from "../../proto/gen/p4/v1/p4runtime_pb.js";
import { StatusSchema } from "../../proto/gen/google/rpc/status_pb.js";
import { Code } from "../../proto/gen/google/rpc/code_pb.js";
import { grpcServiceDefinition } from "../../proto/grpc-service.js";
import { STATUS_DETAILS_KEY } from "../../client/transport/status.js";
import { fromUint128 } from "../../client/transport/election.js";
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

function failureToError(e: unknown): Partial<grpc.StatusObject> {
  if (e instanceof WriteFailure) {
    const status = create(StatusSchema, {
      code: Code.UNKNOWN,
      message: e.message,
      details: e.statuses.map((s) => anyPack(ErrorSchema, create(ErrorSchema, { canonicalCode: s.code, message: s.message }))),
    });
    return serviceError(Code.UNKNOWN, e.message, toBinary(StatusSchema, status));
  }
  const s = toStatusError(e);
  return serviceError(s.code, s.message);
}

export class P4RuntimeServer {
  private readonly server = new grpc.Server({ "grpc.max_receive_message_length": 256 * 1024 * 1024, "grpc.max_send_message_length": 256 * 1024 * 1024 });
  private readonly devices = new Map<bigint, Device>();
  private readonly streams = new Set<grpc.ServerDuplexStream<StreamMessageRequest, StreamMessageResponse>>();
  private boundPort: number | undefined;

  constructor(devices: readonly Device[]) {
    for (const d of devices) this.devices.set(d.deviceId, d);
    this.server.addService(grpcServiceDefinition(P4Runtime), {
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
    if (!d) throw new StatusError(Code.NOT_FOUND, `unknown device id ${id} (this server has ${[...this.devices.keys()].join(", ") || "none"})`);
    return d;
  }

  private capabilities(_call: grpc.ServerUnaryCall<CapabilitiesRequest, CapabilitiesResponse>, cb: grpc.sendUnaryData<CapabilitiesResponse>): void {
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
    const streamError = (code: Code, message: string) => send(create(StreamMessageResponseSchema, { update: { case: "error", value: { canonicalCode: code, message } } }));
    call.on("data", (msg: StreamMessageRequest) => {
      const u = msg.update;
      try {
        if (u.case === "arbitration") {
          const a = u.value;
          const role = a.role?.name ?? "";
          const electionId = fromUint128(a.electionId) ?? 0n;
          if (client) {
            if (a.deviceId !== client.device.deviceId) return fail(Code.FAILED_PRECONDITION, "arbitration: the device id of a live stream cannot change");
            if (role !== client.role) return fail(Code.FAILED_PRECONDITION, "arbitration: the role of a live stream cannot change; open a new stream");
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
            send(create(StreamMessageResponseSchema, { update: { case: "error", value: { canonicalCode: s.code, message: s.message, details: { case: "packetOut", value: { packetOut: u.value } } } } }));
          }
        } else if (u.case === "digestAck") {
          try {
            client.device.digestAck(u.value.digestId, u.value.listId);
          } catch (e) {
            const s = toStatusError(e);
            send(create(StreamMessageResponseSchema, { update: { case: "error", value: { canonicalCode: s.code, message: s.message, details: { case: "digestListAck", value: { digestListAck: u.value } } } } }));
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
