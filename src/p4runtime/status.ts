/**
 * Turning gRPC failures into P4RuntimeError: the status code and message,
 * plus, for batched writes, one UpdateFailure per failed update decoded from
 * the google.rpc.Status in the "grpc-status-details-bin" trailer.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { anyIs, anyUnpack } from "@bufbuild/protobuf/wkt";
import type { ServiceError } from "@grpc/grpc-js";
import { StatusSchema } from "../proto/gen/google/rpc/status_pb.js";
import { ErrorSchema } from "../proto/gen/p4/v1/p4runtime_pb.js";
import { Code, P4RuntimeError, type UpdateFailure } from "./errors.js";

export const STATUS_DETAILS_KEY = "grpc-status-details-bin";

function isServiceError(e: unknown): e is ServiceError {
  return e instanceof Error && typeof (e as Partial<ServiceError>).code === "number" && "metadata" in e;
}

/** Decodes per-update failures from a status-details trailer, if present. */
export function decodeUpdateFailures(details: Buffer | Uint8Array | undefined): UpdateFailure[] {
  return decodeStatusDetails(details)?.failures ?? [];
}

/**
 * The per-update failures of a status-details trailer and how many updates
 * its list covers; undefined when there is no trailer or it does not decode.
 */
export function decodeStatusDetails(details: Buffer | Uint8Array | undefined): { failures: UpdateFailure[]; reported: number } | undefined {
  if (!details || details.length === 0) return undefined;
  let status;
  try {
    status = fromBinary(StatusSchema, details instanceof Uint8Array ? details : new Uint8Array(details));
  } catch {
    return undefined;
  }
  const failures: UpdateFailure[] = [];
  status.details.forEach((any, index) => {
    if (!anyIs(any, ErrorSchema)) return;
    const err = anyUnpack(any, ErrorSchema);
    if (!err || err.canonicalCode === Code.OK) return;
    failures.push({
      index,
      code: err.canonicalCode as Code,
      message: err.message,
      ...(err.space ? { space: err.space } : {}),
      ...(err.code ? { targetCode: err.code } : {}),
    });
  });
  return { failures, reported: status.details.length };
}

/** Wraps whatever an RPC threw as a P4RuntimeError naming the operation. */
export function toP4RuntimeError(operation: string, e: unknown): P4RuntimeError {
  if (e instanceof P4RuntimeError) return e;
  if (isServiceError(e)) {
    const raw = e.metadata?.get(STATUS_DETAILS_KEY)?.[0];
    const decoded = typeof raw === "string" ? undefined : decodeStatusDetails(raw);
    // An empty list is no per-update answer (simple_switch_grpc attaches one to request-level errors too).
    const reported = decoded && decoded.reported > 0 ? decoded.reported : undefined;
    return new P4RuntimeError(operation, e.code as number as Code, e.details ?? e.message, decoded?.failures ?? [], reported);
  }
  const message = e instanceof Error ? e.message : String(e);
  return new P4RuntimeError(operation, Code.UNKNOWN, message);
}
