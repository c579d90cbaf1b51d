/**
 * Bridges protobuf-es service descriptors to @grpc/grpc-js: method paths and
 * binary (de)serialisers for each RPC of a service.
 */
import { type DescMethod, type DescService, type MessageShape, type DescMessage, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";

export interface GrpcMethod<I extends DescMessage, O extends DescMessage> {
  readonly path: string;
  readonly serialize: (m: MessageShape<I>) => Buffer;
  readonly deserialize: (b: Buffer) => MessageShape<O>;
  readonly serializeResponse: (m: MessageShape<O>) => Buffer;
  readonly deserializeRequest: (b: Buffer) => MessageShape<I>;
}

export function grpcMethod<I extends DescMessage, O extends DescMessage>(method: DescMethod & { input: I; output: O }): GrpcMethod<I, O> {
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    serialize: (m) => Buffer.from(toBinary(method.input, m)),
    deserialize: (b) => fromBinary(method.output, b),
    serializeResponse: (m) => Buffer.from(toBinary(method.output, m)),
    deserializeRequest: (b) => fromBinary(method.input, b),
  };
}

/**
 * A grpc-js ServiceDefinition, keyed by the methods' local (camelCase) names. `requestDecoders` replaces fromBinary for
 * the requests of the methods it names (a faster decoder that gives the same message).
 */
export function grpcServiceDefinition(
  service: DescService,
  requestDecoders: Readonly<Record<string, (b: Buffer) => unknown>> = {},
): ServiceDefinition {
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) {
    const streamingRequest = m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming";
    const streamingResponse = m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming";
    def[m.localName] = {
      path: `/${service.typeName}/${m.name}`,
      requestStream: streamingRequest,
      responseStream: streamingResponse,
      requestSerialize: (v: unknown) => Buffer.from(toBinary(m.input, v as MessageShape<typeof m.input>)),
      requestDeserialize: requestDecoders[m.localName] ?? ((b: Buffer) => fromBinary(m.input, b)),
      responseSerialize: (v: unknown) => Buffer.from(toBinary(m.output, v as MessageShape<typeof m.output>)),
      responseDeserialize: (b: Buffer) => fromBinary(m.output, b),
    };
  }
  return def;
}
