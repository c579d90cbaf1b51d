/**
 * Per-update and per-RPC failures of the P4Runtime server, carrying the
 * canonical code the specification prescribes for each condition.
 */
import { Code } from "../../proto/gen/google/rpc/code_pb.js";
import { EngineError } from "../engine/runtime-api.js";
import { isP4ValueError, isP4InfoLookupError } from "../../p4runtime/errors.js";

export class StatusError extends Error {
  override readonly name = "StatusError";
  constructor(
    readonly code: Code,
    message: string,
  ) {
    super(message);
  }
}

export const invalid = (m: string) => new StatusError(Code.INVALID_ARGUMENT, m);
export const notFound = (m: string) => new StatusError(Code.NOT_FOUND, m);
export const alreadyExists = (m: string) => new StatusError(Code.ALREADY_EXISTS, m);
export const permissionDenied = (m: string) => new StatusError(Code.PERMISSION_DENIED, m);
export const outOfRange = (m: string) => new StatusError(Code.OUT_OF_RANGE, m);
export const unimplemented = (m: string) => new StatusError(Code.UNIMPLEMENTED, m);
export const failedPrecondition = (m: string) => new StatusError(Code.FAILED_PRECONDITION, m);
export const exhausted = (m: string) => new StatusError(Code.RESOURCE_EXHAUSTED, m);

const engineCodes: Record<EngineError["code"], Code> = {
  NO_SUCH_OBJECT: Code.NOT_FOUND,
  BAD_KEY: Code.INVALID_ARGUMENT,
  BAD_ACTION: Code.INVALID_ARGUMENT,
  DUPLICATE_ENTRY: Code.ALREADY_EXISTS,
  NO_SUCH_ENTRY: Code.NOT_FOUND,
  TABLE_FULL: Code.RESOURCE_EXHAUSTED,
  BAD_INDEX: Code.OUT_OF_RANGE,
  BAD_VALUE: Code.INVALID_ARGUMENT,
  IN_USE: Code.FAILED_PRECONDITION,
  UNSUPPORTED: Code.UNIMPLEMENTED,
};

/** Maps anything thrown while applying an update to a StatusError. */
export function toStatusError(e: unknown): StatusError {
  if (e instanceof StatusError) return e;
  if (e instanceof EngineError) return new StatusError(engineCodes[e.code] ?? Code.UNKNOWN, e.message);
  if (isP4ValueError(e)) return new StatusError(Code.INVALID_ARGUMENT, e.message);
  if (isP4InfoLookupError(e)) return new StatusError(Code.NOT_FOUND, e.message);
  return new StatusError(Code.INTERNAL, e instanceof Error ? e.message : String(e));
}
