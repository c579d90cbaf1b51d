/**
 * The protocol layer: generated P4Runtime v1 messages and the gRPC glue.
 * Import message types from the generated modules through this barrel.
 */
export * as p4v1 from "./gen/p4/v1/p4runtime_pb.js";
export * as p4data from "./gen/p4/v1/p4data_pb.js";
export * as p4info from "./gen/p4/config/v1/p4info_pb.js";
export * as p4types from "./gen/p4/config/v1/p4types_pb.js";
export * as rpcStatus from "./gen/google/rpc/status_pb.js";
export * as rpcCode from "./gen/google/rpc/code_pb.js";
export { grpcMethod, grpcServiceDefinition, type GrpcMethod } from "./grpc-service.js";
