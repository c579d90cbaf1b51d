/**
 * One bulk continue-on-error write larger than a batch, sent as
 * consecutive chunks with a window of them in flight; its outcome by index
 * in the caller's list.
 */
import { Code, P4RuntimeError, type UpdateFailure, isP4RuntimeError } from "../../p4runtime/errors.js";
import { InFlight, type KeySet } from "./batch.js";
import { unreported } from "./outcome.js";

export interface ChunkOptions {
  /** Most updates in one request. */
  readonly maxBatch: number;
  /** Most requests in flight at once. */
  readonly window: number;
}

/**
 * Sends updates [0, n) (n = hashes.length) as consecutive chunks of
 * `maxBatch`: `hashes[i]` is the entity hash of update i, and `send(from,
 * to)` sends updates [from, to) as one WriteRequest. At most `window`
 * chunks are in flight; a chunk that touches an entity a chunk in flight
 * touches is sent only once that chunk has been answered, so the caller's
 * order per entity holds. After a chunk fails as a whole (its outcome
 * unknown: connection lost, deadline, not primary...) no further chunk is
 * sent.
 *
 * Outcome: resolves when every update was applied. Otherwise one
 * P4RuntimeError whose `failures` index the caller's list: every update the
 * server rejected, and, when a chunk failed as a whole, each of its updates
 * (outcome unknown) and each update never sent (ABORTED). When nothing at
 * all was applied because the first chunks failed as a whole, that
 * request's error is thrown as it is, as a single request's would be.
 */
export async function writeChunked(
  hashes: ArrayLike<number>,
  send: (from: number, to: number) => Promise<unknown>,
  opts: ChunkOptions,
): Promise<void> {
  const n = hashes.length;
  const size = Math.max(1, opts.maxBatch);
  const window = Math.max(1, opts.window);
  const chunks = Math.ceil(n / size);
  const inFlight = new InFlight<{ readonly keys: KeySet }>(size, window);
  /** Chunks that failed as a whole, by chunk number. */
  const wholesale = new Map<number, unknown>();
  const failures: UpdateFailure[] = [];
  let firstUpdateError: P4RuntimeError | undefined;
  let applied = false;
  let next = 0;

  await new Promise<void>((finish) => {
    const pump = (): void => {
      while (wholesale.size === 0 && next < chunks && inFlight.size < window) {
        const c = next;
        const from = c * size;
        const to = Math.min(n, from + size);
        if (inFlight.conflicts(hashes, from, to)) break; // an earlier chunk touching the same entity is in flight
        next++;
        const chunk = { keys: inFlight.keySet() };
        if (chunks > 1) for (let i = from; i < to; i++) chunk.keys.add(hashes[i]!);
        inFlight.add(chunk);
        let sent: Promise<unknown>;
        try {
          sent = send(from, to);
        } catch (e) {
          sent = Promise.reject(e);
        }
        sent
          .then(
            () => {
              applied = true;
            },
            (e: unknown) => {
              if (isP4RuntimeError(e) && e.failures.length > 0) {
                firstUpdateError ??= e;
                if (e.failures.length < to - from) applied = true;
                for (const f of e.failures) failures.push({ ...f, index: f.index + from });
                // A list cut short by the server: the updates past it have no known outcome.
                if (e.reported !== undefined) {
                  const message = `outcome not reported: ${unreported(e.reported)}`;
                  for (let i = from + e.reported; i < to; i++) failures.push({ index: i, code: Code.UNKNOWN, message });
                }
              } else {
                wholesale.set(c, e);
              }
            },
          )
          .finally(() => {
            inFlight.delete(chunk);
            pump();
          });
      }
      if (inFlight.size === 0 && (wholesale.size > 0 || next >= chunks)) finish();
    };
    pump();
  });

  if (wholesale.size === 0 && failures.length === 0) return;
  const first = wholesale.size > 0 ? Math.min(...wholesale.keys()) : -1;
  if (first >= 0 && !applied && failures.length === 0) throw wholesale.get(first);
  const outcome: UpdateFailure[] = failures;
  let code: Code;
  let details: string;
  if (first >= 0) {
    const e = wholesale.get(first);
    code = isP4RuntimeError(e) ? e.code : Code.UNKNOWN;
    const why = isP4RuntimeError(e) ? e.details || e.message : e instanceof Error ? e.message : String(e);
    const ranges: string[] = [];
    for (const [c, err] of [...wholesale].sort((a, b) => a[0] - b[0])) {
      const from = c * size;
      const to = Math.min(n, from + size);
      const cCode = isP4RuntimeError(err) ? err.code : Code.UNKNOWN;
      const cWhy = isP4RuntimeError(err) ? err.details || err.message : err instanceof Error ? err.message : String(err);
      for (let i = from; i < to; i++) outcome.push({ index: i, code: cCode, message: `outcome unknown: ${cWhy}` });
      ranges.push(`#${from}..#${to - 1} outcome unknown`);
    }
    const unsent = next * size;
    const message = "not sent: an earlier request of this write failed";
    for (let i = unsent; i < n; i++) outcome.push({ index: i, code: Code.ABORTED, message });
    if (unsent < n) ranges.push(`#${unsent}..#${n - 1} not sent`);
    details = `${why} (the write went as requests of up to ${size} updates: ${ranges.join(", ")})`;
  } else {
    code = firstUpdateError!.code;
    details = firstUpdateError!.details;
  }
  outcome.sort((a, b) => a.index - b.index);
  throw new P4RuntimeError("Write", code, details, outcome);
}
