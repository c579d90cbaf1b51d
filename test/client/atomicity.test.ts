/**
 * Write atomicity against real servers over gRPC on loopback: random batches
 * of INSERT / MODIFY / DELETE (and default-entry MODIFY) over a few keys of
 * one table, checked against a model. With ROLLBACK_ON_ERROR and
 * DATAPLANE_ATOMIC a failed batch leaves the table as it was and a successful
 * one leaves it as the model says; with CONTINUE_ON_ERROR exactly the updates
 * the model accepts are applied and exactly the others are reported.
 * simple_switch_grpc answers UNIMPLEMENTED for the two atomic modes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { P4RuntimeClient, type UpdateInput } from "../../src/client/client.js";
import { Code, isP4RuntimeError, type P4RuntimeError } from "../../src/p4runtime/errors.js";
import type { DecodedOf } from "../../src/client/entities/entity.js";
import { EmbeddedSwitch } from "../../src/switch/embedded-switch.js";
import { fixture } from "../support/fixtures.js";
import { startTarget, targets, type TestTarget } from "../support/targets.js";

const prog = fixture("runtime_test");
const TABLE = "l2_exact";
const FIELD = "hdr.ethernet.dst_addr";
const KEYS = [0x0a0000000001n, 0x0a0000000002n, 0x0a0000000003n];

/** An action as the model holds it: a port for set_port, or "drop". */
type Act = number | "drop";
type Op = { type: "insert" | "modify" | "delete"; key: number; act: Act } | { type: "default"; act: Act | "reset" };

interface Model {
  entries: Map<bigint, Act>;
  /** undefined: the program's default (NoAction). */
  dflt: Act | undefined;
}

const action = (a: Act) => (a === "drop" ? "drop" : { name: "set_port", params: { port: a } });

function toUpdate(op: Op): UpdateInput {
  if (op.type === "default") {
    return {
      type: "modify",
      entity: { kind: "tableEntry", table: TABLE, isDefault: true, ...(op.act === "reset" ? {} : { action: action(op.act) }) },
    };
  }
  const match = { [FIELD]: KEYS[op.key]! };
  if (op.type === "delete") return { type: "delete", entity: { kind: "tableEntry", table: TABLE, match } };
  return { type: op.type, entity: { kind: "tableEntry", table: TABLE, match, action: action(op.act) } };
}

/** Applies one op to the model; false when the server must refuse it. */
function applyOp(m: Model, op: Op): boolean {
  if (op.type === "default") {
    m.dflt = op.act === "reset" ? undefined : op.act;
    return true;
  }
  const k = KEYS[op.key]!;
  const has = m.entries.has(k);
  if (op.type === "insert" ? has : !has) return false;
  if (op.type === "delete") m.entries.delete(k);
  else m.entries.set(k, op.act);
  return true;
}

function cloneModel(m: Model): Model {
  return { entries: new Map(m.entries), dflt: m.dflt };
}

function actOf(a: DecodedOf<"tableEntry">["action"]): Act | undefined {
  if (a?.kind !== "action")
    throw new Error(`unexpected action ${JSON.stringify(a, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`);
  if (a.name.endsWith("set_port")) return Number(a.params.port);
  if (a.name.endsWith("drop")) return "drop";
  if (a.name === "NoAction") return undefined;
  throw new Error(`unexpected action ${a.name}`);
}

async function readState(c: P4RuntimeClient): Promise<Model> {
  const entries = new Map<bigint, Act>();
  for (const e of (await c.readAll({ kind: "tableEntry", table: TABLE })) as DecodedOf<"tableEntry">[]) {
    const v = e.match[FIELD];
    if (v?.kind !== "exact") throw new Error(`unexpected match ${JSON.stringify(v)}`);
    const a = actOf(e.action);
    if (a === undefined) throw new Error("an entry with NoAction was never written");
    entries.set(v.value, a);
  }
  const [d] = (await c.readAll({ kind: "tableEntry", table: TABLE, isDefault: true })) as DecodedOf<"tableEntry">[];
  return { entries, dflt: actOf(d!.action) };
}

function plain(m: Model): { entries: [string, Act][]; dflt: Act | "NoAction" } {
  return { entries: [...m.entries].map(([k, v]) => [k.toString(16), v] as [string, Act]).sort(), dflt: m.dflt ?? "NoAction" };
}

const actArb: fc.Arbitrary<Act> = fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant("drop" as const));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      type: fc.constantFrom("insert" as const, "modify" as const, "delete" as const),
      key: fc.integer({ min: 0, max: KEYS.length - 1 }),
      act: actArb,
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("default" as const), act: fc.oneof(actArb, fc.constant("reset" as const)) }) },
);
const batchArb = fc.array(opArb, { minLength: 1, maxLength: 8 });

async function failureOf(p: Promise<unknown>): Promise<P4RuntimeError | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (isP4RuntimeError(e)) return e;
    throw e;
  }
}

describe.each(targets())("write atomicity against %s", (kind) => {
  let target: TestTarget;
  let c: P4RuntimeClient;

  beforeAll(async () => {
    target = await startTarget(kind);
    c = await P4RuntimeClient.connect({ address: target.address, deviceId: target.deviceId, electionId: 10n, reconnect: false });
    await c.setPipeline({ p4info: prog.p4info, deviceConfig: prog.deviceConfig, cookie: 7n });
  });

  afterAll(async () => {
    c?.close();
    await target?.stop();
  });

  it("CONTINUE_ON_ERROR applies exactly the updates the model accepts and reports the others by index", async () => {
    await fc.assert(
      fc.asyncProperty(batchArb, async (ops) => {
        const model = await readState(c);
        const expected: number[] = [];
        for (const [i, op] of ops.entries()) if (!applyOp(model, op)) expected.push(i);
        const err = await failureOf(c.write(ops.map(toUpdate), "continueOnError"));
        expect(err?.failures.map((f) => f.index) ?? []).toEqual(expected);
        for (const f of err?.failures ?? []) expect([Code.ALREADY_EXISTS, Code.NOT_FOUND]).toContain(f.code);
        expect(plain(await readState(c))).toEqual(plain(model));
      }),
      { numRuns: kind === "bmv2" ? 40 : 80 },
    );
  });

  for (const atomicity of ["rollbackOnError", "dataplaneAtomic"] as const) {
    if (kind === "bmv2") {
      it(`${atomicity}: simple_switch_grpc answers UNIMPLEMENTED and applies nothing`, async () => {
        const before = plain(await readState(c));
        const err = await failureOf(
          c.write([toUpdate({ type: "insert", key: 0, act: 1 }), toUpdate({ type: "insert", key: 1, act: 2 })], atomicity),
        );
        // The whole request is refused: no per-update statuses, nothing applied.
        expect(err?.code).toBe(Code.UNIMPLEMENTED);
        expect(err?.failures).toEqual([]);
        expect(plain(await readState(c))).toEqual(before);
      });
      continue;
    }

    it(`${atomicity}: a failed batch changes nothing, a successful one gives the model's state`, async () => {
      await fc.assert(
        fc.asyncProperty(batchArb, async (ops) => {
          const before = await readState(c);
          const model = cloneModel(before);
          const firstBad = ops.findIndex((op) => !applyOp(model, op));
          const err = await failureOf(c.write(ops.map(toUpdate), atomicity));
          if (firstBad < 0) {
            expect(err).toBeUndefined();
            expect(plain(await readState(c))).toEqual(plain(model));
            return;
          }
          expect(err, `batch should fail at update #${firstBad}`).toBeDefined();
          const failed = err!.failures.filter((f) => f.code !== Code.ABORTED);
          expect(failed.map((f) => f.index)).toEqual([firstBad]);
          // Every other update is reported ABORTED (rolled back or not applied).
          expect(err!.failures.filter((f) => f.code === Code.ABORTED).map((f) => f.index)).toEqual(
            ops.map((_, i) => i).filter((i) => i !== firstBad),
          );
          expect(plain(await readState(c))).toEqual(plain(before));
        }),
        { numRuns: 120 },
      );
    });

    it(`${atomicity}: [MODIFY x, DELETE x, INSERT y, INSERT y] leaves x as it was`, async () => {
      await c.write([
        { type: "insert", entity: { kind: "tableEntry", table: TABLE, match: { [FIELD]: 0x0b0000000001n }, action: action(1) } },
      ]);
      const x = { kind: "tableEntry" as const, table: TABLE, match: { [FIELD]: 0x0b0000000001n } };
      const y = { kind: "tableEntry" as const, table: TABLE, match: { [FIELD]: 0x0b0000000002n }, action: action(3) };
      const err = await failureOf(
        c.write(
          [
            { type: "modify", entity: { ...x, action: action(2) } },
            { type: "delete", entity: x },
            { type: "insert", entity: y },
            { type: "insert", entity: y },
          ],
          atomicity,
        ),
      );
      expect(err?.failures.map((f) => [f.index, f.code])).toEqual([
        [0, Code.ABORTED],
        [1, Code.ABORTED],
        [2, Code.ABORTED],
        [3, Code.ALREADY_EXISTS],
      ]);
      const [back] = (await c.readAll(x)) as DecodedOf<"tableEntry">[];
      expect(actOf(back!.action)).toBe(1);
      expect(await c.readAll({ kind: "tableEntry", table: TABLE, match: { [FIELD]: 0x0b0000000002n } })).toHaveLength(0);
      await c.delete(x);
    });
  }
});

describe("a rollback that fails (embedded switch)", () => {
  let sw: EmbeddedSwitch;
  let c: P4RuntimeClient;
  const logged: string[] = [];

  beforeAll(async () => {
    sw = new EmbeddedSwitch({ deviceId: 1n, cpuPort: 255, logLevel: "error", log: (l) => logged.push(l) });
    const port = await sw.listen("127.0.0.1:0");
    c = await P4RuntimeClient.connect({ address: `127.0.0.1:${port}`, deviceId: 1n, electionId: 1n, reconnect: false });
    await c.setPipeline({ p4info: prog.p4info, deviceConfig: prog.deviceConfig });
  });

  afterAll(async () => {
    c?.close();
    await sw?.close();
  });

  it("answers INTERNAL naming the update whose undo failed, and logs it", async () => {
    const x = { kind: "tableEntry" as const, table: TABLE, match: { [FIELD]: 0x0c0000000001n } };
    await c.insert({ ...x, action: "drop" });
    const engine = sw.device.pipeline!.engine;
    const addEntry = engine.addEntry.bind(engine);
    let calls = 0;
    // Call 1 is the first INSERT of y (the second fails before adding); call 2 is the DELETE's undo re-inserting x.
    engine.addEntry = (table, spec) => {
      calls++;
      if (calls === 2) throw new Error("injected engine failure");
      return addEntry(table, spec);
    };
    try {
      const y = { ...x, match: { [FIELD]: 0x0c0000000002n }, action: "drop" };
      const err = await failureOf(
        c.write(
          [
            { type: "delete", entity: x },
            { type: "insert", entity: y },
            { type: "insert", entity: y },
          ],
          "rollbackOnError",
        ),
      );
      expect(calls).toBe(2);
      expect(err?.code).toBe(Code.INTERNAL);
      expect(err?.message).toMatch(/update #2 failed \(ALREADY_EXISTS/);
      expect(err?.message).toMatch(/update #0 \(DELETE tableEntry\): injected engine failure/);
      expect(logged.some((l) => /rolling the batch back failed/.test(l) && /update #0/.test(l))).toBe(true);
    } finally {
      engine.addEntry = addEntry;
    }
  });
});
