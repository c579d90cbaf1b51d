/**
 * Errors raised by the P4Runtime client. Each error class has a fixed `name`
 * and a type guard that checks the name and shape rather than `instanceof`,
 * so errors that cross package copies are still recognised. Everything
 * exported here is public: "p4cast" and "p4cast/client" re-export it whole.
 */
import { Code } from "../proto/gen/google/rpc/code_pb.js";

/** A value that does not fit its P4 object (wrong width, bad syntax). */
export class P4ValueError extends Error {
  override readonly name = "P4ValueError";
  constructor(
    message: string,
    /** The P4 object the value was meant for, e.g. "hdr.ipv4.dst_addr". */
    readonly field?: string,
  ) {
    super(message);
  }
}

export function isP4ValueError(e: unknown): e is P4ValueError {
  return e instanceof Error && e.name === "P4ValueError";
}

/** A name that matches no P4Info object, or more than one. */
export class P4InfoLookupError extends Error {
  override readonly name = "P4InfoLookupError";
  constructor(
    message: string,
    readonly kind: string,
    readonly query: string,
    /** Names that were close to, or matched, the query. */
    readonly candidates: readonly string[],
  ) {
    super(message);
  }
}

export function isP4InfoLookupError(e: unknown): e is P4InfoLookupError {
  return e instanceof Error && e.name === "P4InfoLookupError";
}

/** The outcome of one update of a failed WriteRequest. */
export interface UpdateFailure {
  /** Position of the update in the request's `updates`. */
  readonly index: number;
  /** google.rpc.Code value. */
  readonly code: Code;
  readonly message: string;
  /** Target-specific error space and code, when the server sets them. */
  readonly space?: string;
  readonly targetCode?: number;
}

/**
 * A failed RPC. `code` is the gRPC status code; for Write, `failures` holds
 * every update that failed (decoded from grpc-status-details-bin).
 */
export class P4RuntimeError extends Error {
  override readonly name = "P4RuntimeError";
  constructor(
    /** The RPC or operation that failed, e.g. "Write". */
    readonly operation: string,
    readonly code: Code,
    readonly details: string,
    readonly failures: readonly UpdateFailure[] = [],
    /**
     * How many updates the server's per-update status list covers (OK ones
     * included), when it sent one. A list shorter than the request means the
     * server cut it short: updates past it may have failed unreported.
     * Undefined when the server sent no list, or an empty one.
     */
    readonly reported?: number,
  ) {
    super(formatRuntimeError(operation, code, details, failures));
  }

  /** True when this is a write failure caused only by the listed codes. */
  onlyFailedWith(...codes: Code[]): boolean {
    return this.failures.length > 0 && this.failures.every((f) => codes.includes(f.code));
  }
}

export function isP4RuntimeError(e: unknown): e is P4RuntimeError {
  return e instanceof Error && e.name === "P4RuntimeError" && "code" in e && "failures" in e;
}

function formatRuntimeError(operation: string, code: Code, details: string, failures: readonly UpdateFailure[]): string {
  const head = `${operation} failed: ${Code[code] ?? code}${details ? `: ${details}` : ""}`;
  if (failures.length === 0) return head;
  const lines = failures.map((f) => `  update #${f.index}: ${Code[f.code] ?? f.code}${f.message ? `: ${f.message}` : ""}`);
  return `${head}\n${lines.join("\n")}`;
}

/** The client is not (or no longer) connected, or the stream is gone. */
export class P4ConnectionError extends Error {
  override readonly name = "P4ConnectionError";
}

export function isP4ConnectionError(e: unknown): e is P4ConnectionError {
  return e instanceof Error && e.name === "P4ConnectionError";
}

/** Predicates that hide how different targets word the same condition. */
export function isNotPrimary(e: unknown): boolean {
  return isP4RuntimeError(e) && e.code === Code.PERMISSION_DENIED;
}

export function isPipelineMissing(e: unknown): boolean {
  return isP4RuntimeError(e) && e.code === Code.FAILED_PRECONDITION;
}

export function isUnimplemented(e: unknown): boolean {
  return isP4RuntimeError(e) && e.code === Code.UNIMPLEMENTED;
}

export { Code };
