/**
 * Bulk writes larger than a batch: split into chunks with a window in
 * flight, failures by index in the caller's list, per-entity order across
 * chunks, atomic writes never split, bad input writing nothing. The chunk
 * runner alone (writeChunked) with a scripted server, then the client
 * against real targets.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { P4RuntimeClient, type UpdateInput } from "../../src/client/client.js";
import { Code, P4RuntimeError, isP4RuntimeError } from "../../src/p4runtime/errors.js";
import type { DecodedOf, EntityInput } from "../../src/client/entities/entity.js";
import { writeChunked } from "../../src/client/write/bulk.js";
import { fixture } from "../support/fixtures.js";
import { startTarget, targets, type TestTarget } from "../support/targets.js";

const settle = () => new Promise((r) => setTimeout(r, 1));

/** A scripted server: records each request's range and when it ran; `outcome` decides each request's fate. */
function server(outcome: (from: number, to: number) => Error | undefined = () => undefined) {
  const log: { from: number; to: number; start: number; end: number }[] = [];
  let clock = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const send = async (from: number, to: number) => {
    const entry = { from, to, start: clock++, end: -1 };
    log.push(entry);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await settle();
    inFlight--;
    entry.end = clock++;
    const e = outcome(from, to);
    if (e) throw e;
  };
  return { send, log, maxInFlight: () => maxInFlight };
}

const distinct = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe("writeChunked", () => {
  it("sends consecutive chunks of maxBatch with at most `window` in flight", async () => {
    const s = server();
    await writeChunked(distinct(2500), s.send, { maxBatch: 1000, window: 2 });
    expect(s.log.map((x) => [x.from, x.to])).toEqual([
      [0, 1000],
      [1000, 2000],
      [2000, 2500],
    ]);
    expect(s.maxInFlight()).toBe(2);
  });

  it("reports per-update failures by index in the caller's list", async () => {
    const s = server((from) =>
      from === 1000
        ? new P4RuntimeError("Write", Code.UNKNOWN, "batch failed", [{ index: 5, code: Code.ALREADY_EXISTS, message: "exists" }])
        : undefined,
    );
    const e = await writeChunked(distinct(2500), s.send, { maxBatch: 1000, window: 4 }).catch((x: unknown) => x);
    expect(isP4RuntimeError(e)).toBe(true);
    expect((e as P4RuntimeError).failures).toEqual([{ index: 1005, code: Code.ALREADY_EXISTS, message: "exists" }]);
    expect(s.log).toHaveLength(3);
  });

  it("sends a chunk touching an entity of an earlier chunk only after that chunk is answered", async () => {
    const keys = distinct(30);
    keys[25] = keys[3]!; // chunk 2 touches an entity of chunk 0
    const s = server();
    await writeChunked(keys, s.send, { maxBatch: 10, window: 3 });
    const [c0, , c2] = s.log;
    expect(c2!.start).toBeGreaterThan(c0!.end);
  });

  it("after a request fails as a whole sends nothing more and lists what is unknown and what was not sent", async () => {
    const s = server((from) => (from === 0 ? new P4RuntimeError("Write", Code.UNAVAILABLE, "connection dropped") : undefined));
    const e = (await writeChunked(distinct(4000), s.send, { maxBatch: 1000, window: 2 }).catch((x: unknown) => x)) as P4RuntimeError;
    expect(e.code).toBe(Code.UNAVAILABLE);
    // Chunks 0 and 1 were in flight together; chunk 0 failed (chunk 1 went through), so chunks 2 and 3 were never sent.
    expect(s.log.map((x) => x.from)).toEqual([0, 1000]);
    expect(e.failures).toHaveLength(3000);
    expect(e.failures[0]).toMatchObject({ index: 0, code: Code.UNAVAILABLE, message: "outcome unknown: connection dropped" });
    expect(e.failures[999]!.index).toBe(999);
    expect(e.failures[1000]).toMatchObject({ index: 2000, code: Code.ABORTED });
    expect(e.details).toMatch(/#0\.\.#999 outcome unknown, #2000\.\.#3999 not sent/);
  });

  it("throws a request's own error when nothing at all was applied", async () => {
    const denied = new P4RuntimeError("Write", Code.PERMISSION_DENIED, "not primary");
    const s = server(() => denied);
    await expect(writeChunked(distinct(2500), s.send, { maxBatch: 1000, window: 4 })).rejects.toBe(denied);
  });
});

const prog = fixture("runtime_test");
const l2 = (mac: number, port = 1): EntityInput => ({
  kind: "tableEntry",
  table: "l2_exact",
  match: { "hdr.ethernet.dst_addr": mac },
  action: { name: "set_port", params: { port } },
});
const ins = (e: EntityInput): UpdateInput => ({ type: "insert", entity: e });

describe.each(targets())("bulk writes against %s", (kind) => {
  let target: TestTarget;
  let c: P4RuntimeClient;
  let requests = 0;

  beforeAll(async () => {
    target = await startTarget(kind);
    c = await P4RuntimeClient.connect({
      address: target.address,
      deviceId: target.deviceId,
      electionId: 1n,
      reconnect: false,
      coalescing: { maxBatch: 100, window: 3 },
    });
    await c.setPipeline({ p4info: prog.p4info, deviceConfig: prog.deviceConfig, cookie: 9n });
    const writeBytes = c.channel.writeBytes.bind(c.channel);
    c.channel.writeBytes = (req, opts) => {
      requests++;
      return writeBytes(req, opts);
    };
  });

  afterAll(async () => {
    c?.close();
    await target?.stop();
  });

  const count = async () => (await c.readAll({ kind: "tableEntry", table: "l2_exact" })).length;
  const clear = async () => {
    const all = (await c.readAll({ kind: "tableEntry", table: "l2_exact" })) as DecodedOf<"tableEntry">[];
    if (all.length)
      await c.write(
        all.map((e) => ({
          type: "delete" as const,
          entity: {
            kind: "tableEntry" as const,
            table: "l2_exact",
            match: { "hdr.ethernet.dst_addr": (e.match["hdr.ethernet.dst_addr"] as { value: bigint }).value },
          },
        })),
      );
  };

  it("splits a write into requests of maxBatch and reports failures by the caller's index", async () => {
    await clear();
    await c.insert(l2(0x10000 + 5), l2(0x10000 + 170), l2(0x10000 + 249));
    requests = 0;
    const updates = Array.from({ length: 250 }, (_, i) => ins(l2(0x10000 + i)));
    const e = await c.write(updates).catch((x: unknown) => x);
    expect(requests).toBe(3);
    expect(isP4RuntimeError(e)).toBe(true);
    const failures = (e as P4RuntimeError).failures;
    expect(failures.map((f) => f.index)).toEqual([5, 170, 249]);
    expect(failures.every((f) => f.code === Code.ALREADY_EXISTS)).toBe(true);
    expect(await count()).toBe(250);
  });

  it("keeps one entry's insert → modify → delete order across chunks", async () => {
    await clear();
    const filler = (base: number) => Array.from({ length: 120 }, (_, i) => ins(l2(base + i)));
    const key = 0x20000;
    await c.write([
      ins(l2(key, 1)),
      ...filler(0x21000),
      { type: "modify", entity: l2(key, 7) },
      ...filler(0x22000),
      { type: "delete", entity: l2(key) },
      ...filler(0x23000),
      ins(l2(key, 9)),
    ]);
    const [e] = (await c.readAll({
      kind: "tableEntry",
      table: "l2_exact",
      match: { "hdr.ethernet.dst_addr": key },
    })) as DecodedOf<"tableEntry">[];
    expect(e!.action).toMatchObject({ params: { port: 9n } });
  });

  it("never splits a rollbackOnError or dataplaneAtomic write", async () => {
    await clear();
    for (const atomicity of ["rollbackOnError", "dataplaneAtomic"] as const) {
      requests = 0;
      const updates = Array.from({ length: 250 }, (_, i) => ins(l2(0x30000 + i)));
      const e = await c.write(updates, atomicity).catch((x: unknown) => x);
      expect(requests).toBe(1);
      if (kind === "bmv2") expect(isP4RuntimeError(e) && e.code).toBe(Code.UNIMPLEMENTED);
      else expect(e).toBeUndefined();
      await clear();
    }
  });

  it("writes nothing when any update of the list is bad, naming it", async () => {
    await clear();
    requests = 0;
    const updates = Array.from({ length: 250 }, (_, i) => ins(l2(0x40000 + i)));
    updates[230] = ins({
      kind: "tableEntry",
      table: "l2_exact",
      match: { "hdr.ethernet.dst_addr": 1 },
      action: { name: "set_port", params: { port: 999 } },
    });
    await expect(c.write(updates)).rejects.toThrow(/^update #230 \(insert tableEntry\): .*port.*9 bits/);
    expect(requests).toBe(0);
    expect(await count()).toBe(0);
  });
});
