/**
 * What a failed WriteRequest means for each of its updates. A server
 * answers a failed request with one status per update, by position in the
 * request (P4RuntimeError.failures); it may cut that list short
 * (P4RuntimeError.reported), and the updates past it have no known
 * outcome. A request that failed as a whole (connection lost, deadline,
 * cancelled) may or may not have been applied: it is not retried.
 */
import { Code, P4RuntimeError, type UpdateFailure, isP4RuntimeError } from "../../p4runtime/errors.js";

/** Why an update past a cut-short per-update list has no known outcome. */
export function unreported(reported: number): string {
  return `the switch's per-update error list stopped after ${reported} update(s) of this request (write smaller batches)`;
}

/**
 * A failed request of `n` updates whose per-update list the server cut
 * short: the updates past the list are added to the failures as UNKNOWN,
 * since they may or may not have been applied.
 */
export function withUnreported(e: unknown, n: number): unknown {
  if (!isP4RuntimeError(e) || e.reported === undefined || e.reported >= n) return e;
  const extra: UpdateFailure[] = [];
  const message = `outcome not reported: the switch's per-update error list stopped after ${e.reported} of ${n} updates`;
  for (let i = e.reported; i < n; i++) extra.push({ index: i, code: Code.UNKNOWN, message });
  return new P4RuntimeError(e.operation, e.code, e.details, [...e.failures, ...extra], e.reported);
}

/** The error of every update of a request that failed as a whole: its outcome is unknown. */
export function outcomeUnknown(e: unknown): Error {
  return isP4RuntimeError(e) && (e.code === Code.UNAVAILABLE || e.code === Code.CANCELLED || e.code === Code.DEADLINE_EXCEEDED)
    ? new P4RuntimeError("Write", e.code, `write outcome unknown (${e.details}); not retried to avoid writing twice`)
    : e instanceof Error
      ? e
      : new Error(String(e));
}

/**
 * The outcome of each update of a failed request for its own caller, by
 * position k in the request: undefined when it was applied, else an error
 * whose one failure (index 0) is that update's.
 */
export function perUpdate(e: unknown): (k: number) => Error | undefined {
  if (!isP4RuntimeError(e) || e.failures.length === 0) {
    const err = outcomeUnknown(e);
    return () => err;
  }
  const byIndex = new Map(e.failures.map((f) => [f.index, f]));
  const reported = e.reported;
  return (k) => {
    const f = byIndex.get(k);
    if (f) return new P4RuntimeError("Write", f.code, "", [{ ...f, index: 0 }]);
    if (reported !== undefined && k >= reported) {
      const message = `outcome not reported: ${unreported(reported)}`;
      return new P4RuntimeError("Write", Code.UNKNOWN, message, [{ index: 0, code: Code.UNKNOWN, message }]);
    }
    return undefined;
  };
}
