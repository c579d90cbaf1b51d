/**
 * The gRPC channel to one P4Runtime server and typed calls for each RPC.
 * Transport only: no P4Info, no arbitration.
 */
import * as grpc from "@grpc/grpc-js";
import type { ClientDuplexStream } from "@grpc/grpc-js";
import { P4Runtime } from "../../proto/gen/p4/v1/p4runtime_pb.js";
import type {
  CapabilitiesRequest,
  CapabilitiesResponse,
  GetForwardingPipelineConfigRequest,
  GetForwardingPipelineConfigResponse,
  ReadRequest,
  ReadResponse,
  SetForwardingPipelineConfigRequest,
  SetForwardingPipelineConfigResponse,
  StreamMessageRequest,
  StreamMessageResponse,
  WriteRequest,
  WriteResponse,
} from "../../proto/gen/p4/v1/p4runtime_pb.js";
import { grpcMethod } from "../../proto/grpc-service.js";
import { toP4RuntimeError } from "../../p4runtime/status.js";

export interface TlsOptions {
  /** PEM CA certificate(s) that sign the server's certificate. */
  readonly rootCerts?: Buffer;
  /** PEM client key and certificate chain, for mutual TLS. */
  readonly privateKey?: Buffer;
  readonly certChain?: Buffer;
  /** Expected server name when it differs from the address's host. */
  readonly serverName?: string;
}

export interface ChannelOptions {
  readonly address: string;
  /** Omitted: plaintext (BMv2 and most labs). */
  readonly tls?: TlsOptions;
  /** Largest message accepted (default 256 MiB: big reads and pipelines). */
  readonly maxMessageBytes?: number;
  /**
   * Upper bound of grpc-js's own connection backoff while the server is
   * unreachable (default 2 s). Left to grpc-js (up to 120 s) a switch that
   * was down for a minute and a half is found again only half a minute
   * after it answers; bounded, a stream waiting for it is ready within
   * this bound of its return.
   */
  readonly maxReconnectBackoffMs?: number;
}

const methods = {
  write: grpcMethod(P4Runtime.method.write),
  read: grpcMethod(P4Runtime.method.read),
  setPipeline: grpcMethod(P4Runtime.method.setForwardingPipelineConfig),
  getPipeline: grpcMethod(P4Runtime.method.getForwardingPipelineConfig),
  streamChannel: grpcMethod(P4Runtime.method.streamChannel),
  capabilities: grpcMethod(P4Runtime.method.capabilities),
};

/**
 * Write with a request that is already serialized: grpc-js sends the bytes
 * as they are (no protobuf-es pass), so callers that encode WriteRequests
 * themselves (src/client/wire/) pay for serialization once.
 */
const writeBytesMethod = {
  path: methods.write.path,
  serialize: (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)),
  deserialize: methods.write.deserialize,
};

/** Read with the responses handed over as received (the caller decodes them, see src/p4runtime/wire/reader.ts). */
const readBytesMethod = {
  path: methods.read.path,
  serialize: methods.read.serialize,
  deserialize: (b: Buffer): Buffer => b,
};

export interface CallOptions {
  readonly timeoutMs?: number;
  readonly waitForReady?: boolean;
}

function callOptions(o: CallOptions | undefined): grpc.CallOptions {
  return o?.timeoutMs ? { deadline: Date.now() + o.timeoutMs } : {};
}

/**
 * A call's metadata. grpc-js takes wait-for-ready from the metadata's
 * options (a CallOptions field of that name is ignored): without it a call
 * made while the channel is between connection attempts fails at once
 * instead of waiting for the next one.
 */
function callMetadata(o: CallOptions | undefined): grpc.Metadata {
  const m = new grpc.Metadata();
  if (o?.waitForReady) m.setOptions({ waitForReady: true });
  return m;
}

function reconnectCap(o: ChannelOptions): number {
  return Math.max(1, Math.floor((o.maxReconnectBackoffMs ?? 2_000) / 1.2));
}

/** Typed P4Runtime RPCs over one grpc-js channel. */
export class P4RuntimeChannel {
  private readonly client: grpc.Client;

  constructor(readonly options: ChannelOptions) {
    const max = options.maxMessageBytes ?? 256 * 1024 * 1024;
    const creds = options.tls
      ? grpc.credentials.createSsl(options.tls.rootCerts ?? null, options.tls.privateKey ?? null, options.tls.certChain ?? null)
      : grpc.credentials.createInsecure();
    this.client = new grpc.Client(options.address, creds, {
      "grpc.max_receive_message_length": max,
      "grpc.max_send_message_length": max,
      // grpc-js spreads each delay by up to 20%: the cap is set so that the spread delay stays within the bound.
      "grpc.initial_reconnect_backoff_ms": Math.min(250, reconnectCap(options)),
      "grpc.max_reconnect_backoff_ms": reconnectCap(options),
      ...(options.tls?.serverName
        ? { "grpc.ssl_target_name_override": options.tls.serverName, "grpc.default_authority": options.tls.serverName }
        : {}),
    });
  }

  private unary<Req, Res>(
    operation: string,
    m: { path: string; serialize: (r: Req) => Buffer; deserialize: (b: Buffer) => Res },
    req: Req,
    opts?: CallOptions,
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(m.path, m.serialize, m.deserialize, req, callMetadata(opts), callOptions(opts), (err, res) => {
        if (err) reject(toP4RuntimeError(operation, err));
        else resolve(res!);
      });
    });
  }

  write(req: WriteRequest, opts?: CallOptions): Promise<WriteResponse> {
    return this.unary("Write", methods.write, req, opts);
  }

  /** Write with a serialized p4.v1.WriteRequest (sent without re-encoding). */
  writeBytes(req: Uint8Array, opts?: CallOptions): Promise<WriteResponse> {
    return this.unary("Write", writeBytesMethod, req, opts);
  }

  setForwardingPipelineConfig(req: SetForwardingPipelineConfigRequest, opts?: CallOptions): Promise<SetForwardingPipelineConfigResponse> {
    return this.unary("SetForwardingPipelineConfig", methods.setPipeline, req, opts);
  }

  getForwardingPipelineConfig(req: GetForwardingPipelineConfigRequest, opts?: CallOptions): Promise<GetForwardingPipelineConfigResponse> {
    return this.unary("GetForwardingPipelineConfig", methods.getPipeline, req, opts);
  }

  capabilities(req: CapabilitiesRequest, opts?: CallOptions): Promise<CapabilitiesResponse> {
    return this.unary("Capabilities", methods.capabilities, req, opts);
  }

  /** Streams the read responses; errors are P4RuntimeError("Read"). */
  async *read(req: ReadRequest, opts?: CallOptions): AsyncGenerator<ReadResponse> {
    const call = this.client.makeServerStreamRequest(
      methods.read.path,
      methods.read.serialize,
      methods.read.deserialize,
      req,
      callMetadata(opts),
      callOptions(opts),
    );
    try {
      for await (const res of call as AsyncIterable<ReadResponse>) yield res;
    } catch (e) {
      throw toP4RuntimeError("Read", e);
    } finally {
      call.cancel();
    }
  }

  /** Read with each ReadResponse as its serialized bytes; errors are P4RuntimeError("Read"). */
  async *readBytes(req: ReadRequest, opts?: CallOptions): AsyncGenerator<Buffer> {
    const call = this.client.makeServerStreamRequest(
      readBytesMethod.path,
      readBytesMethod.serialize,
      readBytesMethod.deserialize,
      req,
      callMetadata(opts),
      callOptions(opts),
    );
    try {
      for await (const res of call as AsyncIterable<Buffer>) yield res;
    } catch (e) {
      throw toP4RuntimeError("Read", e);
    } finally {
      call.cancel();
    }
  }

  openStream(opts?: CallOptions): ClientDuplexStream<StreamMessageRequest, StreamMessageResponse> {
    return this.client.makeBidiStreamRequest(
      methods.streamChannel.path,
      methods.streamChannel.serialize,
      methods.streamChannel.deserialize,
      callMetadata(opts),
      callOptions(opts),
    );
  }

  /** Resolves when the channel is connected, or rejects after `timeoutMs`. */
  waitForReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve()));
    });
  }

  close(): void {
    this.client.close();
  }
}
