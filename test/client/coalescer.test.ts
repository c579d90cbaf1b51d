/**
 * Write coalescing against real servers: batching, per-caller outcomes,
 * ordering of updates to one entity, cancellation and stream loss.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { P4RuntimeClient } from "../../src/client/client.js";
import { WriteCoalescer, type WriteSink } from "../../src/client/write/coalescer.js";
import { Code, isP4ConnectionError, isP4RuntimeError } from "../../src/p4runtime/errors.js";
import type { DecodedOf } from "../../src/client/entities/entity.js";
import type { EntityInput } from "../../src/client/entities/entity.js";
import { fixture } from "../support/fixtures.js";
import { startTarget, targets, type TestTarget } from "../support/targets.js";
import { fromBinary } from "@bufbuild/protobuf";
import { WriteRequestSchema, type Update } from "../../src/proto/gen/p4/v1/p4runtime_pb.js";
import { P4InfoIndex } from "../../src/p4runtime/p4info/index.js";
import { UpdateEncoder, encodeMessage } from "../../src/client/wire/encode-update.js";
import { WriteRequestFramer } from "../../src/client/wire/frame.js";
import { P4RuntimeError, Code as RpcCode } from "../../src/p4runtime/errors.js";

const prog = fixture("runtime_test");
const l2 = (mac: number, port = 1): EntityInput => ({
  kind: "tableEntry",
  table: "l2_exact",
  match: { "hdr.ethernet.dst_addr": mac },
  action: { name: "set_port", params: { port } },
});

/** A scripted sink: the real encoder and framer, requests decoded and answered by `answer`. */
function scripted(answer: (updates: Update[], n: number) => Promise<void>) {
  const encoder = new UpdateEncoder(new P4InfoIndex(prog.p4info));
  const framer = new WriteRequestFramer(1n, { $typeName: "p4.v1.Uint128", high: 0n, low: 1n }, "");
  const requests: Update[][] = [];
  const writer: WriteSink = {
    encode: (type, entity, slot) => encoder.encode(type, entity, slot),
    encodeMessage,
    send: (cols, from, to) => {
      const updates = fromBinary(WriteRequestSchema, framer.frame(cols, 0, from, to)).updates;
      requests.push(updates);
      return answer(updates, requests.length);
    },
    onDisconnect: () => () => undefined,
  };
  return { writer, requests };
}

const portOf = (u: Update) =>
  u.entity?.entity.case === "tableEntry" && u.entity.entity.value.action?.type.case === "action"
    ? (u.entity.entity.value.action.type.value.params[0]!.value[0] ?? -1)
    : -1;

describe("write coalescer with a scripted server", () => {
  it("maps a request's per-update failures to the right callers when the batch has holes", async () => {
    // Updates 1 (bad input) and 3 (cancelled) never reach the request; the server fails request position 2 (port 5).
    const { writer, requests } = scripted(async (updates) => {
      const at = updates.findIndex((u) => portOf(u) === 5);
      if (at >= 0) throw new P4RuntimeError("Write", RpcCode.UNKNOWN, "", [{ index: at, code: RpcCode.ALREADY_EXISTS, message: "exists" }]);
    });
    const w = new WriteCoalescer(writer, { lingerMs: 5 });
    const ac = new AbortController();
    const calls = [
      w.insert(l2(0x100, 1)),
      w.insert({
        kind: "tableEntry",
        table: "l2_exact",
        match: { "hdr.ethernet.dst_addr": 0x101 },
        action: { name: "set_port", params: { port: 600 } },
      }),
      w.insert(l2(0x102, 2)),
      w.insert(l2(0x103, 3), ac.signal),
      w.insert(l2(0x104, 5)),
      w.insert(l2(0x105, 6)),
    ];
    ac.abort();
    const r = await Promise.allSettled(calls);
    expect(r.map((x) => x.status)).toEqual(["fulfilled", "rejected", "fulfilled", "rejected", "rejected", "fulfilled"]);
    expect((r[1] as PromiseRejectedResult).reason.message).toMatch(/9 bits/);
    expect((r[3] as PromiseRejectedResult).reason.name).toBe("AbortError");
    expect((r[4] as PromiseRejectedResult).reason.failures[0].code).toBe(RpcCode.ALREADY_EXISTS);
    expect(requests.map((u) => u.map(portOf))).toEqual([[1, 2, 5, 6]]);
  });

  it("cancels an update held back behind an in-flight write of the same entity, and sends the rest", async () => {
    let release!: () => void;
    const first = new Promise<void>((r) => (release = r));
    const { writer, requests } = scripted((_u, n) => (n === 1 ? first : Promise.resolve()));
    const w = new WriteCoalescer(writer, { window: 4 });
    const a = w.insert(l2(0x200, 1));
    await new Promise((r) => setImmediate(r));
    const ac = new AbortController();
    const b = w.modify(l2(0x200, 2), ac.signal); // must wait for a
    const c2 = w.insert(l2(0x201, 3));
    await new Promise((r) => setTimeout(r, 5));
    expect(requests).toHaveLength(1); // b and c2 are blocked behind a (one batch)
    ac.abort();
    await expect(b).rejects.toMatchObject({ name: "AbortError" });
    release();
    await Promise.all([a, c2]);
    expect(requests.map((u) => u.map(portOf))).toEqual([[1], [3]]);
  });

  it("answers each caller when its own batch is answered, also when its neighbours' updates wait for a later batch", async () => {
    // Calls made in one turn share one gate; the second update of 0x400 cannot share the first batch, so the gate spans two requests.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { writer, requests } = scripted((_u, n) => (n === 2 ? held : Promise.resolve()));
    const w = new WriteCoalescer(writer, { window: 4 });
    const answered: string[] = [];
    const a = w.insert(l2(0x400, 1)).then(() => answered.push("a"));
    const b = w.modify(l2(0x400, 2)).then(() => answered.push("b"));
    const c2 = w.insert(l2(0x401, 3)).then(() => answered.push("c"));
    const bad = w.insert({
      kind: "tableEntry",
      table: "l2_exact",
      match: { "hdr.ethernet.dst_addr": 0x402 },
      action: { name: "set_port", params: { port: 600 } },
    });
    await a;
    expect(answered).toEqual(["a"]); // b and c went in the second request, still in flight
    expect(requests.map((u) => u.map(portOf))).toEqual([[1], [2, 3]]);
    await expect(bad).rejects.toThrow(/9 bits/);
    release();
    await Promise.all([b, c2]);
    expect(answered).toEqual(["a", "b", "c"]);
  });

  it("rejects bad input while its neighbours' request is still in flight", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { writer, requests } = scripted(() => held);
    const w = new WriteCoalescer(writer);
    const ok1 = w.insert(l2(0x600, 1));
    const bad = w.insert({
      kind: "tableEntry",
      table: "l2_exact",
      match: { "hdr.ethernet.dst_addr": 0x601 },
      action: { name: "set_port", params: { port: 600 } },
    });
    const ok2 = w.insert(l2(0x602, 2));
    await expect(bad).rejects.toThrow(/9 bits/); // the request of the other two is held
    expect(requests.map((u) => u.map(portOf))).toEqual([[1, 2]]);
    release();
    await Promise.all([ok1, ok2]);
  });

  it("answers callers whose updates were all rejected before sending, and callers of a closed coalescer", async () => {
    const { writer, requests } = scripted(async () => undefined);
    const w = new WriteCoalescer(writer, { lingerMs: 20 });
    const badInput: EntityInput = {
      kind: "tableEntry",
      table: "l2_exact",
      match: { "hdr.ethernet.dst_addr": 0x500 },
      action: { name: "set_port", params: { port: 600 } },
    };
    const allBad = await Promise.allSettled([w.insert(badInput), w.insert({ ...badInput, table: "nope" })]);
    expect(allBad.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    const queued = [w.insert(l2(0x501)), w.insert(l2(0x502))];
    w.close("closed by the test");
    const r = await Promise.allSettled(queued);
    expect(r.map((x) => x.status === "rejected" && /closed by the test/.test((x.reason as Error).message))).toEqual([true, true]);
    expect(requests).toHaveLength(0);
  });

  it("keeps call order across many batches and answers every caller once", async () => {
    const { writer, requests } = scripted(async () => undefined);
    const w = new WriteCoalescer(writer, { maxBatch: 7, window: 3 });
    const n = 200;
    const settled = new Array<number>(n).fill(0);
    await Promise.all(Array.from({ length: n }, (_, i) => w.insert(l2(0x300 + (i % 50), i % 500)).then(() => settled[i]!++)));
    expect(settled.every((x) => x === 1)).toBe(true);
    const sent = requests.flat().map(portOf);
    expect(sent).toHaveLength(n);
    // Per entity (i % 50), its updates went in call order.
    for (let k = 0; k < 50; k++) {
      const mine = sent.filter((p) => p % 50 === k);
      expect(mine).toEqual([...mine].sort((x, y) => x - y));
    }
    expect(Math.max(...requests.map((r) => r.length))).toBeLessThanOrEqual(7);
  });
});

describe("write coalescer under random load (property, scripted server)", () => {
  it("answers every caller exactly once with its own outcome, sends nothing twice and keeps each entity's order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            key: fc.integer({ min: 0, max: 6 }),
            op: fc.constantFrom("insert", "modify", "delete"),
            bad: fc.constantFrom(false, false, false, false, true),
            cancel: fc.constantFrom(false, false, false, true),
            fail: fc.constantFrom(false, false, false, true),
            // Calls without a signal share gates (see Gate in write/coalescer.ts); only calls with one can be cancelled.
            signal: fc.boolean(),
            // Before the call: 0 none; 1 a microtask, 2 an event-loop turn, 3 a timer (later calls join later gates and segments).
            pause: fc.constantFrom(0, 0, 0, 0, 0, 1, 2, 3),
          }),
          { minLength: 1, maxLength: 60 },
        ),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        async (ops, maxBatch, window) => {
          // The server fails the updates whose port says so (port = 100 + call number for failures).
          let n = 0;
          const { writer, requests } = scripted(async (updates) => {
            await new Promise((r) => setTimeout(r, n++ % 2));
            const failures = updates.flatMap((u, index) =>
              portOf(u) >= 100 ? [{ index, code: RpcCode.NOT_FOUND, message: `port ${portOf(u)}` }] : [],
            );
            if (failures.length) throw new P4RuntimeError("Write", RpcCode.UNKNOWN, "", failures);
          });
          const w = new WriteCoalescer(writer, { maxBatch, window });
          const aborts = ops.map(() => new AbortController());
          for (const o of ops) o.cancel &&= o.signal;
          const calls: Promise<void>[] = [];
          for (const [i, o] of ops.entries()) {
            if (o.pause === 1) await Promise.resolve();
            else if (o.pause === 2) await new Promise((r) => setImmediate(r));
            else if (o.pause === 3) await new Promise((r) => setTimeout(r, 1));
            const port = o.fail ? 100 + i : i % 100;
            const entity: EntityInput = {
              kind: "tableEntry",
              table: "l2_exact",
              match: { "hdr.ethernet.dst_addr": 0x900 + o.key },
              action: { name: "set_port", params: { port: o.bad ? 1000 : port } },
            };
            const signal = o.signal ? aborts[i]!.signal : undefined;
            const call =
              o.op === "insert" ? w.insert(entity, signal) : o.op === "modify" ? w.modify(entity, signal) : w.delete(entity, signal);
            call.catch(() => undefined); // outcomes are checked below; a rejection before then is not unhandled
            calls.push(call);
            if (o.cancel) aborts[i]!.abort(); // in the caller's turn: before anything of it is encoded or sent
          }
          const results = await Promise.allSettled(calls);
          const sent = requests.flat().map(portOf);
          // Nothing twice, nothing cancelled or bad.
          expect(new Set(sent).size).toBe(sent.length);
          ops.forEach((o, i) => {
            const port = o.fail ? 100 + i : i % 100;
            const r = results[i]!;
            if (o.cancel) {
              // Cancelled in the callers' turn, before anything was encoded or sent.
              expect(r.status === "rejected" && (r.reason as Error).name === "AbortError").toBe(true);
              expect(sent.includes(port)).toBe(false);
              return;
            }
            if (o.bad) {
              expect(r.status === "rejected" && /bits/.test((r.reason as Error).message)).toBe(true);
              return;
            }
            expect(sent.filter((p) => p === port)).toHaveLength(1);
            if (o.fail) expect(r.status === "rejected" && (r.reason as P4RuntimeError).failures[0]?.code === RpcCode.NOT_FOUND).toBe(true);
            else expect(r.status).toBe("fulfilled");
          });
          // Per entity, the order sent is the order of the calls.
          for (let k = 0; k <= 6; k++) {
            const callOrder = ops.flatMap((o, i) => (o.key === k && !o.bad && !o.cancel ? [o.fail ? 100 + i : i % 100] : []));
            const sentOrder = sent.filter((p) => callOrder.includes(p));
            expect(sentOrder).toEqual(callOrder);
          }
          // No request holds one entity twice.
          for (const r of requests) {
            const keys = r
              .map((u) => (u.entity?.entity.case === "tableEntry" ? u.entity.entity.value.match[0]!.fieldMatchType.value : undefined))
              .map((m) => JSON.stringify(m && "value" in m ? [...(m.value as Uint8Array)] : m));
            expect(new Set(keys).size).toBe(keys.length);
          }
        },
      ),
      { numRuns: Number(process.env.COALESCER_RUNS ?? 150) },
    );
  });
});

describe.each(targets())("write coalescer against %s", (kind) => {
  let target: TestTarget;
  let c: P4RuntimeClient;

  beforeAll(async () => {
    target = await startTarget(kind);
    c = await P4RuntimeClient.connect({ address: target.address, deviceId: target.deviceId, electionId: 1n, reconnect: false });
    await c.setPipeline({ p4info: prog.p4info, deviceConfig: prog.deviceConfig, cookie: 5n });
  });

  afterAll(async () => {
    c?.close();
    await target?.stop();
  });

  it("gathers concurrent single writes into few requests, each caller resolved", async () => {
    const w = c.coalescer({ maxBatch: 100, window: 2 });
    await Promise.all(Array.from({ length: 500 }, (_, i) => w.insert(l2(0x1000 + i))));
    expect(w.stats.updates).toBe(500);
    expect(w.stats.requests).toBeLessThanOrEqual(6);
    expect(w.stats.largestBatch).toBe(100);
    const entries = await c.readAll({ kind: "tableEntry", table: "l2_exact" });
    expect(entries.length).toBeGreaterThanOrEqual(500);
  });

  it("fails only the caller whose update failed", async () => {
    const w = c.coalescer({ lingerMs: 5 });
    await w.insert(l2(0x2000));
    const results = await Promise.allSettled([w.insert(l2(0x2001)), w.insert(l2(0x2000)), w.insert(l2(0x2002)), w.delete(l2(0x2fff))]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "rejected"]);
    const e1 = (results[1] as PromiseRejectedResult).reason;
    const e3 = (results[3] as PromiseRejectedResult).reason;
    expect(isP4RuntimeError(e1) && e1.failures[0]?.code).toBe(Code.ALREADY_EXISTS);
    expect(isP4RuntimeError(e3) && e3.failures[0]?.code).toBe(Code.NOT_FOUND);
    expect(w.stats.requests).toBe(2);
  });

  it("keeps insert → modify → delete of one entry in order", async () => {
    const w = c.coalescer({ window: 8 });
    const key = 0x3000;
    const ops = [w.insert(l2(key, 1)), w.modify(l2(key, 2)), w.modify(l2(key, 3)), w.delete(l2(key)), w.insert(l2(key, 4))];
    await Promise.all(ops);
    const [e] = (await c.readAll({
      kind: "tableEntry",
      table: "l2_exact",
      match: { "hdr.ethernet.dst_addr": key },
    })) as DecodedOf<"tableEntry">[];
    expect(e!.action).toMatchObject({ params: { port: 4n } });
    // Five updates of one entity cannot share a batch: five requests.
    expect(w.stats.requests).toBe(5);
  });

  it("cancels writes not yet sent and rejects bad input at once", async () => {
    const w = c.coalescer({ lingerMs: 50 });
    const ac = new AbortController();
    const cancelled = w.insert(l2(0x4000), ac.signal);
    const kept = w.insert(l2(0x4001));
    ac.abort();
    await expect(cancelled).rejects.toMatchObject({ name: "AbortError" });
    await kept;
    expect(await c.readAll({ kind: "tableEntry", table: "l2_exact", match: { "hdr.ethernet.dst_addr": 0x4000 } })).toHaveLength(0);
    await expect(
      w.insert({ kind: "tableEntry", table: "l2_exact", match: { "hdr.ethernet.dst_addr": 1n << 48n }, action: "drop" }),
    ).rejects.toThrow(/48 bits/);
  });

  it("fails only the caller whose input is bad; the rest of its batch is written", async () => {
    const w = c.coalescer({ maxBatch: 50 });
    const calls = Array.from({ length: 120 }, (_, i) =>
      i === 77
        ? w.insert({
            kind: "tableEntry",
            table: "l2_exact",
            match: { "hdr.ethernet.dst_addr": 0x6000 + i },
            action: { name: "set_port", params: { port: 512 } },
          })
        : w.insert(l2(0x6000 + i)),
    );
    const results = await Promise.allSettled(calls);
    expect(results.filter((r) => r.status === "rejected")).toHaveLength(1);
    expect((results[77] as PromiseRejectedResult).reason.message).toMatch(/port.*9 bits/);
    expect(w.stats.updates).toBe(119);
    const entries = (await c.readAll({ kind: "tableEntry", table: "l2_exact" })) as DecodedOf<"tableEntry">[];
    const written = new Set(entries.map((e) => Number((e.match["hdr.ethernet.dst_addr"] as { value: bigint }).value)));
    expect(Array.from({ length: 120 }, (_, i) => written.has(0x6000 + i)).filter(Boolean)).toHaveLength(119);
    expect(written.has(0x6000 + 77)).toBe(false);
  });

  it("orders by entity whatever the spelling of its key, and keeps Update messages and inputs in one queue", async () => {
    const w = c.coalescer({ window: 8 });
    const key = 0x7000;
    const asMessage = c.encodeUpdates([{ type: "modify", entity: l2(key, 5) }])[0]!;
    const ops = [
      w.insert(l2(key, 1)),
      w.write(asMessage),
      w.modify({
        kind: "tableEntry",
        table: "TestIngress.l2_exact",
        match: { "hdr.ethernet.dst_addr": "00:00:00:00:70:00" },
        action: { name: "set_port", params: { port: 6 } },
      }),
    ];
    await Promise.all(ops);
    expect(w.stats.requests).toBe(3);
    const [e] = (await c.readAll({
      kind: "tableEntry",
      table: "l2_exact",
      match: { "hdr.ethernet.dst_addr": key },
    })) as DecodedOf<"tableEntry">[];
    expect(e!.action).toMatchObject({ params: { port: 6n } });
  });

  it("fails queued writes with a clear error when the stream is lost, writing nothing twice", async () => {
    const other = await startTarget(kind);
    const d = await P4RuntimeClient.connect({
      address: other.address,
      deviceId: other.deviceId,
      electionId: 1n,
      reconnect: { initialMs: 5000 },
    });
    await d.setPipeline({ p4info: prog.p4info, deviceConfig: prog.deviceConfig, cookie: 5n });
    const w = d.coalescer({ lingerMs: 200 });
    const pending = w.insert(l2(0x5000)).catch((e: unknown) => e);
    const lost = new Promise<void>((r) => d.once("disconnect", () => r()));
    await other.stop();
    await lost;
    const err = await pending;
    expect(isP4ConnectionError(err)).toBe(true);
    expect((err as Error).message).toMatch(/stream lost before the write was sent/);
    w.close();
    d.close();
  });
});
