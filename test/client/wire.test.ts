/**
 * The hand-written wire encoders (src/client/wire/) against protobuf-es:
 * byte-identical output on random messages and random friendly table-entry
 * input, round trips through fromBinary, every schema field covered, and the
 * fast path never accepting input the general encoder rejects.
 */
import { describe, expect, it, vi } from "vitest";
import fc from "fast-check";
import { type DescField, type DescMessage, ScalarType, create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  EntitySchema,
  TableEntrySchema,
  type Update,
  UpdateSchema,
  WriteRequestSchema,
  WriteRequest_Atomicity,
} from "../../src/proto/gen/p4/v1/p4runtime_pb.js";
import { coveredFields, encodeEntityMessage, encodeTableEntryMessage, encodeUpdate, encodeWriteRequest } from "../../src/client/wire/messages.js";
import { TableEntryFastPath, type WireSlot, framedLength, keyHash } from "../../src/client/wire/table-entry.js";
import { WriteRequestFramer } from "../../src/client/wire/request.js";
import { WireWriter } from "../../src/client/wire/writer.js";
import { decodeReadResponse, readerStats } from "../../src/client/wire/reader.js";
import { decodeEntity } from "../../src/client/entities/entity.js";
import { ReadResponseSchema } from "../../src/proto/gen/p4/v1/p4runtime_pb.js";
import { P4InfoIndex } from "../../src/p4runtime/p4info/index.js";
import { type EntityInput, encodeEntity } from "../../src/client/entities/entity.js";
import { entityKey } from "../../src/client/write-coalescer.js";
import type { BytestringMode } from "../../src/p4runtime/codec/bytestring.js";
import { fixture } from "../support/fixtures.js";
import { parseP4Info } from "../../src/p4runtime/p4info/load.js";

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

/** Every message type reachable from `root`. */
function reachable(root: DescMessage): DescMessage[] {
  const seen = new Map<string, DescMessage>();
  const visit = (m: DescMessage) => {
    if (seen.has(m.typeName)) return;
    seen.set(m.typeName, m);
    for (const f of m.fields) {
      if (f.fieldKind === "message") visit(f.message);
      if (f.fieldKind === "list" && f.listKind === "message") visit(f.message);
      if (f.fieldKind === "map" && f.mapKind === "message") visit(f.message);
    }
  };
  visit(root);
  return [...seen.values()];
}

// ---- random messages from the descriptors ----

const u32 = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 0xffff_ffff }));
const i32 = fc.oneof(fc.constant(0), fc.integer({ min: -5, max: 300 }), fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }));
const u64 = fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 300n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));
const i64 = fc.oneof(fc.constant(0n), fc.bigInt({ min: -5n, max: 300n }), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }));
const bytes = fc.oneof(
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 24 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 120, maxLength: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: 16_000, max: 20_000 }).map((n) => new Uint8Array(n).fill(7)) },
);
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.constantFrom("", "\uD800", "a\uDC00b", "é€😀", "x".repeat(200)),
);

function scalarArb(t: ScalarType): fc.Arbitrary<unknown> {
  switch (t) {
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return u32;
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return i32;
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return u64;
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return i64;
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.STRING:
      return text;
    case ScalarType.BYTES:
      return bytes;
    default:
      return fc.double();
  }
}

function fieldArb(f: DescField, depth: number): fc.Arbitrary<unknown> | undefined {
  switch (f.fieldKind) {
    case "scalar":
      return scalarArb(f.scalar);
    case "enum":
      return fc.oneof(fc.constantFrom(...f.enum.values.map((v) => v.number)), fc.integer({ min: 0, max: 40 }));
    case "message":
      return depth > 0 ? messageArb(f.message, depth - 1) : undefined;
    case "list":
      if (f.listKind === "message") return depth > 0 ? fc.array(messageArb(f.message, depth - 1), { maxLength: 3 }) : undefined;
      if (f.listKind === "enum") return fc.array(fc.constantFrom(...f.enum.values.map((v) => v.number)), { maxLength: 3 });
      return fc.array(scalarArb(f.scalar), { maxLength: 3 });
    default:
      return undefined;
  }
}

const unknownFields = fc.array(
  fc.oneof(
    fc.record({ no: fc.integer({ min: 200, max: 5000 }), wireType: fc.constant(0), data: fc.constantFrom(new Uint8Array([5]), new Uint8Array([0x96, 0x01])) }),
    fc.record({ no: fc.integer({ min: 200, max: 5000 }), wireType: fc.constant(2), data: fc.constantFrom(new Uint8Array([2, 1, 2]), new Uint8Array([0])) }),
  ),
  { minLength: 1, maxLength: 2 },
);

const messageArbs = new Map<string, fc.Arbitrary<unknown>>();

function messageArb(desc: DescMessage, depth: number): fc.Arbitrary<unknown> {
  const cacheKey = `${desc.typeName}@${depth}`;
  const cached = messageArbs.get(cacheKey);
  if (cached) return cached;
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of desc.fields) {
    if (f.oneof) continue;
    const a = fieldArb(f, depth);
    if (a) parts[f.localName] = fc.option(a, { nil: undefined, freq: 2 });
  }
  for (const o of desc.oneofs) {
    const cases = o.fields.flatMap((f) => {
      const a = fieldArb(f, depth);
      return a ? [a.map((value) => ({ case: f.localName, value }))] : [];
    });
    parts[o.localName] = fc.oneof(fc.constant({ case: undefined }), ...cases);
  }
  const arb = fc
    .tuple(fc.record(parts, { requiredKeys: [] }), fc.option(unknownFields, { nil: undefined, freq: 12 }))
    .map(([init, unknown]) => {
      const clean = Object.fromEntries(Object.entries(init).filter(([, v]) => v !== undefined));
      const m = create(desc, clean as never) as Record<string, unknown>;
      if (unknown) m.$unknown = unknown;
      return m;
    });
  messageArbs.set(cacheKey, arb);
  return arb;
}

function wellFormed(m: unknown): boolean {
  return !/\\ud[89a-f][0-9a-f]{2}/i.test(JSON.stringify(m, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)));
}

describe("wire encoder", () => {
  it("covers every field of every message a WriteRequest can carry", () => {
    const missing: string[] = [];
    for (const m of reachable(WriteRequestSchema)) {
      const covered = coveredFields[m.typeName];
      const numbers = m.fields.map((f) => f.number).sort((a, b) => a - b);
      if (!covered || covered.join() !== numbers.join()) missing.push(`${m.typeName}: schema ${numbers.join(",")}, encoder ${covered?.join(",") ?? "none"}`);
    }
    expect(missing).toEqual([]);
  });

  it("writes WriteRequests byte for byte as toBinary does, and they round-trip (property)", () => {
    fc.assert(
      fc.property(messageArb(WriteRequestSchema, 7), (m) => {
        const req = m as never as Parameters<typeof encodeWriteRequest>[0];
        const ours = encodeWriteRequest(req);
        expect(hex(ours)).toBe(hex(toBinary(WriteRequestSchema, req)));
        const back = fromBinary(WriteRequestSchema, ours);
        // Lone surrogates come back as U+FFFD (the same bytes): equal unless the input had one.
        if (wellFormed(req)) expect(equals(WriteRequestSchema, back, req)).toBe(true);
        expect(hex(encodeWriteRequest(back))).toBe(hex(ours));
      }),
      { numRuns: 400 },
    );
  });

  it("writes every entity family as toBinary does (property)", () => {
    fc.assert(
      fc.property(messageArb(EntitySchema, 6), (m) => {
        const e = m as never as Parameters<typeof encodeEntityMessage>[0];
        expect(hex(encodeEntityMessage(e))).toBe(hex(toBinary(EntitySchema, e)));
        const u = create(UpdateSchema, { type: 2, entity: e });
        expect(hex(encodeUpdate(u))).toBe(hex(toBinary(UpdateSchema, u)));
        if (e.entity.case === "tableEntry") expect(hex(encodeTableEntryMessage(e.entity.value))).toBe(hex(toBinary(TableEntrySchema, e.entity.value)));
      }),
      { numRuns: 400 },
    );
  });

  it("falls back to toBinary for values outside their field's range", () => {
    const bad = create(UpdateSchema, { type: 1, entity: { entity: { case: "tableEntry", value: create(TableEntrySchema, { tableId: 1.5 }) } } });
    expect(() => encodeUpdate(bad)).toThrow(/invalid uint32/);
    const big = create(UpdateSchema, { type: 1, entity: { entity: { case: "tableEntry", value: create(TableEntrySchema, { idleTimeoutNs: "12" as never }) } } });
    expect(hex(encodeUpdate(big))).toBe(hex(toBinary(UpdateSchema, big)));
  });

  it("moves a nested body when its length needs more than one byte", () => {
    for (const n of [0, 1, 120, 124, 125, 126, 127, 128, 129, 16_370, 16_383, 16_384, 2_097_152]) {
      const u = create(UpdateSchema, { type: 1, entity: { entity: { case: "tableEntry", value: create(TableEntrySchema, { tableId: 7, metadata: new Uint8Array(n).fill(3) }) } } });
      expect(hex(encodeUpdate(u))).toBe(hex(toBinary(UpdateSchema, u)));
    }
    const w = new WireWriter(1);
    const mark = w.fork(1);
    w.bytes(2, new Uint8Array(300).fill(1));
    w.join(mark);
    expect([...w.finish().subarray(0, 6)]).toEqual([0x0a, 0xaf, 0x02, 0x12, 0xac, 0x02]);
  });
});

// ---- WriteRequest framing ----

describe("WriteRequest framing", () => {
  it("frames encoded updates exactly as toBinary writes the whole request (property)", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.constantFrom("", "role-a", "é"),
        fc.constantFrom(WriteRequest_Atomicity.CONTINUE_ON_ERROR, WriteRequest_Atomicity.ROLLBACK_ON_ERROR, WriteRequest_Atomicity.DATAPLANE_ATOMIC),
        fc.array(messageArb(UpdateSchema, 5), { maxLength: 6 }),
        (deviceId, high, low, role, atomicity, updates) => {
          const electionId = { $typeName: "p4.v1.Uint128" as const, high, low };
          const framer = new WriteRequestFramer(deviceId, electionId, role);
          const ups = updates as Update[];
          const ours = framer.frame(ups.map(encodeUpdate), atomicity);
          const theirs = toBinary(WriteRequestSchema, create(WriteRequestSchema, { deviceId, electionId, role, atomicity, updates: ups }));
          expect(hex(ours)).toBe(hex(theirs));
          if (ups.length >= 2) {
            const part = framer.frame(ups.map(encodeUpdate), atomicity, 1, ups.length);
            expect(hex(part)).toBe(hex(toBinary(WriteRequestSchema, create(WriteRequestSchema, { deviceId, electionId, role, atomicity, updates: ups.slice(1) }))));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

// ---- friendly input straight to bytes ----

const prog = fixture("runtime_test");
const index = new P4InfoIndex(prog.p4info);
const types = ["insert", "modify", "delete"] as const;

/** What the client's general path produces: the Update message, or the error it throws. */
function general(type: (typeof types)[number], input: EntityInput, mode: BytestringMode): Update | Error {
  try {
    const opts = { mode, keyOnly: type === "delete" };
    return create(UpdateSchema, { type: types.indexOf(type) + 1, entity: encodeEntity(index, input, opts) });
  } catch (e) {
    return e as Error;
  }
}

const tableIds = Object.fromEntries([...index.tables].map((t) => [t.name, t.id]));

const numberish = fc.oneof(
  fc.integer({ min: 0, max: 600 }),
  fc.integer({ min: 0, max: 2 ** 53 }),
  fc.constantFrom(-1, 1.5, 2 ** 48, 2 ** 48 - 1, 511, 512, 2 ** 32, Number.MAX_SAFE_INTEGER + 2, Number.NaN),
  fc.bigInt({ min: 0n, max: 1n << 50n }),
  fc.constantFrom(-3n, 1n << 48n),
);
const stringy = fc.constantFrom("10.0.0.1", "10.0.0.0/8", "10.1.0.0/8", "0/0", "0x0a", "0b101", "00:00:00:00:00:02", "5&&&0xff", "0&&&0", "7&&&3", "1..5", "5..1", "0..65535", "*", "", "junk", " 12 ", "::1", "1.2.3.256");
const matchValue = fc.oneof(
  { weight: 4, arbitrary: numberish },
  { weight: 3, arbitrary: stringy },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 7 }) },
  { weight: 1, arbitrary: fc.record({ value: numberish, prefixLen: fc.integer({ min: -1, max: 50 }) }) },
  { weight: 1, arbitrary: fc.record({ value: numberish, mask: numberish }) },
  { weight: 1, arbitrary: fc.record({ low: numberish, high: numberish }) },
);
const fieldNames = fc.constantFrom(
  "hdr.ethernet.dst_addr",
  "dst_addr",
  "ethernet.dst_addr",
  "hdr.ipv4.dst_addr",
  "hdr.ipv4.src_addr",
  "hdr.ipv4.protocol",
  "hdr.udp.dst_port",
  "std.ingress_port",
  "ingress_port",
  "hdr.ethernet.ether_type",
  "nope",
);
const paramValue = fc.oneof(numberish, stringy, fc.constant(undefined));
const actionArb = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom("drop", "TestIngress.drop", "NoAction", "set_port", "acl_permit", "acl_deny", "nope", "punt"),
  fc.record(
    {
      name: fc.oneof(fc.constantFrom("set_port", "set_nhop", "TestIngress.set_nhop", "set_mcast", "drop", "nope"), fc.constantFrom(...[...index.actions].map((a) => a.id))),
      params: fc.dictionary(fc.constantFrom("port", "dmac", "group", "extra"), paramValue, { maxKeys: 3 }),
    },
    { requiredKeys: ["name"] },
  ),
  fc.record({ member: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.constantFrom(-1, 2 ** 32, 1.5)) }),
  fc.record({ group: fc.integer({ min: 0, max: 10 }) }),
  fc.constant({ oneShot: [{ name: "set_port", params: { port: 1 } }] }),
);
const tableEntryInput = fc.record(
  {
    table: fc.oneof(fc.constantFrom("l2_exact", "TestIngress.l2_exact", "ipv4_lpm", "acl_ternary", "ecmp", "const_table", "nope", "", 99), fc.constantFrom(...Object.values(tableIds))),
    match: fc.dictionary(fieldNames, matchValue, { maxKeys: 4 }),
    action: actionArb,
    priority: fc.constantFrom(0, 1, 10, -1, 1.5, 2 ** 31),
    isDefault: fc.constantFrom(false, true),
    idleTimeoutNs: fc.constantFrom(0n, 1_000n, -1n, 1n << 63n),
    metadata: fc.constantFrom(new Uint8Array(), new Uint8Array([1, 2])),
    counterData: fc.constant({ packets: 1n, bytes: 2n }),
    meterConfig: fc.constantFrom({ cir: 1, cburst: 2, pir: 3, pburst: 4 }, { cir: 5, cburst: 2, pir: 3, pburst: 4 }),
    meterCounterData: fc.constant({ green: { packets: 1n, bytes: 1n }, yellow: { packets: 0n, bytes: 0n }, red: { packets: 2n, bytes: 3n } }),
    withTimeSinceLastHit: fc.boolean(),
  },
  { requiredKeys: ["table"] },
).map((r) => {
  const clean = Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined));
  return { kind: "tableEntry", ...clean } as EntityInput;
});

/** Mostly well-formed entries of each table, so that the property exercises the fast path's accepting side too. */
const plausibleInput = fc.oneof(
  fc.record({ mac: fc.integer({ min: 0, max: 2 ** 48 - 1 }), port: fc.integer({ min: 0, max: 511 }), t: fc.constantFrom(0n, 5_000_000n) }).map(
    ({ mac, port, t }): EntityInput => ({ kind: "tableEntry", table: "l2_exact", match: { "hdr.ethernet.dst_addr": mac }, action: { name: "set_port", params: { port } }, idleTimeoutNs: t }),
  ),
  fc.record({ a: fc.integer({ min: 0, max: 255 }), len: fc.integer({ min: 8, max: 32 }), dmac: fc.constantFrom("00:00:00:00:02:02", 5, 2n ** 47n) }).map(
    ({ a, len, dmac }): EntityInput => ({
      kind: "tableEntry",
      table: "ipv4_lpm",
      match: { "hdr.ipv4.dst_addr": `${a}.0.0.0/${len}` },
      action: { name: "set_nhop", params: { dmac, port: 3 } },
    }),
  ),
  fc.record({ proto: fc.integer({ min: 0, max: 255 }), lo: fc.integer({ min: 0, max: 100 }), prio: fc.integer({ min: 1, max: 100 }), port: fc.constantFrom(1, "*", 0) }).map(
    ({ proto, lo, prio, port }): EntityInput => ({
      kind: "tableEntry",
      table: "acl_ternary",
      match: { "std.ingress_port": port, "hdr.udp.dst_port": `${lo}..${lo + 10}`, "hdr.ipv4.protocol": { value: proto, mask: 0xff }, "hdr.ipv4.src_addr": "10.0.1.0&&&0xffffff00" },
      action: "acl_permit",
      priority: prio,
      counterData: { packets: 3n, bytes: 4n },
    }),
  ),
  fc.record({ dst: fc.integer({ min: 0, max: 2 ** 32 - 1 }), which: fc.constantFrom("member", "group") }).map(
    ({ dst, which }): EntityInput => ({ kind: "tableEntry", table: "ecmp", match: { "hdr.ipv4.dst_addr": dst }, action: which === "member" ? { member: 3 } : { group: 4 } }),
  ),
);

type Mutable = Record<string, unknown> & { match?: Record<string, unknown> };

/** Small changes that push a well-formed entry across the line between valid and invalid. */
const mutation: fc.Arbitrary<(e: Mutable) => void> = fc.oneof(
  tableEntryInput.map((r) => (e: Mutable) => void (e.table = (r as { table: unknown }).table)),
  fc.tuple(fieldNames, matchValue).map(([k, v]) => (e: Mutable) => void (e.match = { ...e.match, [k]: v })),
  fc.constant((e: Mutable) => {
    const keys = Object.keys(e.match ?? {});
    if (keys.length) delete e.match![keys[0]!];
  }),
  actionArb.map((a) => (e: Mutable) => void (e.action = a)),
  fc.constantFrom(0, 1, 10, -1, 1.5, 2 ** 31, undefined).map((p) => (e: Mutable) => void (e.priority = p)),
  fc.constantFrom(true, false).map((d) => (e: Mutable) => void (e.isDefault = d)),
  fc.constantFrom(0n, 1_000n, -1n, 1n << 63n, 5).map((t) => (e: Mutable) => void (e.idleTimeoutNs = t)),
  fc.constantFrom(new Uint8Array(), new Uint8Array([1, 2]), "x").map((m) => (e: Mutable) => void (e.metadata = m)),
  fc.constantFrom({ packets: 1n, bytes: 2n }, undefined).map((c) => (e: Mutable) => void (e.counterData = c)),
  fc.constantFrom({ cir: 1, cburst: 2, pir: 3, pburst: 4 }, { cir: 5, cburst: 2, pir: 3, pburst: 4 }, { cir: -1, cburst: 2, pir: 3, pburst: 4 }).map(
    (c) => (e: Mutable) => void (e.meterConfig = c),
  ),
  fc.constant((e: Mutable) => void (e.meterCounterData = { green: { packets: 1n, bytes: 1n }, yellow: { packets: 0n, bytes: 0n }, red: { packets: 2n, bytes: 3n } })),
  fc.constant((e: Mutable) => void (e.withTimeSinceLastHit = true)),
);

const nearlyValidInput = fc.tuple(plausibleInput, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([input, ms]) => {
  const e = { ...input, ...("match" in input && input.match ? { match: { ...input.match } } : {}) } as unknown as Mutable;
  for (const m of ms) m(e);
  return e as unknown as EntityInput;
});

function checkAgainstGeneral(type: (typeof types)[number], input: EntityInput, mode: BytestringMode): boolean {
  const path = new TableEntryFastPath(index, mode);
  const t = (types.indexOf(type) + 1) as 1 | 2 | 3;
  const fast = path.update(t, input, type === "delete");
  const slot: WireSlot = { buf: new Uint8Array(), start: 0, end: 0, hash: 0 };
  const framed = path.encodeTo(t, input, type === "delete", slot);
  expect(framed).toBe(fast !== undefined);
  const slow = general(type, input, mode);
  if (!fast) return false;
  // The fast path accepted the input: the general encoder must accept it too, with the same bytes and key.
  expect(slow).not.toBeInstanceOf(Error);
  const u = slow as Update;
  const expected = toBinary(UpdateSchema, u);
  expect(hex(fast.bytes)).toBe(hex(expected));
  expect(fast.key).toBe(entityKey(u.entity!));
  // The slot form: the same Update framed as WriteRequest field 4, and the key's hash.
  const f = slot.buf.subarray(slot.start, slot.end);
  expect(f[0]).toBe(0x22);
  expect(framedLength(f, 0)).toBe(expected.length);
  expect(hex(f.subarray(f.length - expected.length))).toBe(hex(expected));
  expect(slot.hash).toBe(keyHash(fast.key));
  return true;
}

describe("framing encoded slots", () => {
  it("frames fast-path slots (runs in one slab) and stand-alone updates as toBinary writes the request (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...types), plausibleInput, fc.boolean()), { minLength: 1, maxLength: 40 }), fc.constantFrom(0, 1, 2), (items, atomicity) => {
        const path = new TableEntryFastPath(index);
        const framer = new WriteRequestFramer(1n, { $typeName: "p4.v1.Uint128", high: 0n, low: 7n }, "r");
        const slots: WireSlot[] = [];
        const updates: Update[] = [];
        for (const [type, input, alone] of items) {
          const u = general(type, input, "canonical") as Update;
          updates.push(u);
          const slot: WireSlot = { buf: new Uint8Array(), start: 0, end: 0, hash: 0 };
          if (alone) {
            // As the client frames an update the general encoder produced: a buffer of its own.
            const b = encodeUpdate(u);
            const framed = new Uint8Array(b.length + 3);
            const w = new WireWriter(8);
            w.bytesAlways(4, b);
            framed.set(w.finish());
            Object.assign(slot, { buf: framed, start: 0, end: w.pos });
          } else {
            expect(path.encodeTo((types.indexOf(type) + 1) as 1 | 2 | 3, input, type === "delete", slot)).toBe(true);
          }
          slots.push(slot);
        }
        const expected = hex(toBinary(WriteRequestSchema, create(WriteRequestSchema, { deviceId: 1n, electionId: { high: 0n, low: 7n }, role: "r", atomicity, updates })));
        expect(hex(framer.frameSlots(slots, atomicity))).toBe(expected);
        const cols = { bufs: slots.map((x) => x.buf), starts: slots.map((x) => x.start), ends: slots.map((x) => x.end), hashes: slots.map((x) => x.hash) };
        expect(hex(framer.frameColumns(cols, atomicity, 0, slots.length))).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe("table entries straight to wire bytes", () => {
  it("accepts only what the general encoder accepts, with identical bytes and key (property, random input)", () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.oneof(tableEntryInput, nearlyValidInput), fc.constantFrom<BytestringMode>("canonical", "padded"), (type, input, mode) => {
        if (checkAgainstGeneral(type, input, mode)) accepted++;
      }),
      { numRuns: Number(process.env.WIRE_RUNS ?? 4000) },
    );
    expect(accepted).toBeGreaterThan(100);
  });

  it("takes the fast path for well-formed entries of every shape, bytes identical (property)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...types), plausibleInput, fc.constantFrom<BytestringMode>("canonical", "padded"), (type, input, mode) => {
        expect(checkAgainstGeneral(type, input, mode)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it("leaves every error to the general encoder, so messages stay as they were", () => {
    const fast = new TableEntryFastPath(index);
    const bad: EntityInput[] = [
      { kind: "tableEntry", table: "l2_exact", match: { "hdr.ethernet.dst_addr": 2 ** 48 }, action: "drop" },
      { kind: "tableEntry", table: "l2_exact", match: { "hdr.ethernet.dst_addr": 1 }, action: { name: "set_port", params: { port: 512 } } },
      { kind: "tableEntry", table: "l2_exact", match: { "hdr.ethernet.dst_addr": 1 }, action: { name: "set_port", params: {} } },
      { kind: "tableEntry", table: "l2_exact", match: { "hdr.ethernet.dst_addr": 1 }, action: { name: "set_port", params: { port: 1, speed: 2 } } },
      { kind: "tableEntry", table: "l2_exact", match: {}, action: "drop" },
      { kind: "tableEntry", table: "l2_exact", match: { "hdr.ethernet.dst_addr": 1, dst_addr: 1 }, action: "drop" },
      { kind: "tableEntry", table: "l2_exact", match: { "hdr.ethernet.dst_addr": 1 } },
      { kind: "tableEntry", table: "l2_exact", match: { "hdr.ethernet.dst_addr": 1 }, action: "drop", priority: 3 },
      { kind: "tableEntry", table: "acl_ternary", match: {}, action: "acl_permit" },
      { kind: "tableEntry", table: "ecmp", match: { "hdr.ipv4.dst_addr": 1 }, action: "drop" },
      { kind: "tableEntry", table: "ipv4_lpm", match: { "hdr.ipv4.dst_addr": "10.1.0.0/8" }, action: "drop" },
      { kind: "tableEntry", table: "no_such_table", match: {}, action: "drop" },
    ];
    for (const input of bad) {
      expect(fast.update(1, input, false), JSON.stringify(input, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v))).toBeUndefined();
      expect(general("insert", input, "canonical")).toBeInstanceOf(Error);
    }
  });
});

// ---- the direct path: exact fields and parameters given as numbers ----

/**
 * A P4Info made for the direct path's edges: field ids out of the order the
 * fields are listed and given in, ids of two varint bytes, widths up to 52
 * bits and beyond (64: not direct), keys and actions long enough that their
 * lengths take two bytes, and a table of a width the direct path declines.
 */
const directInfo = new P4InfoIndex(
  parseP4Info(
    `
tables { preamble { id: 33554433 name: "Ing.multi" alias: "multi" }
  match_fields { id: 3 name: "hdr.a.x" bitwidth: 9 match_type: EXACT }
  match_fields { id: 300 name: "hdr.b.y" bitwidth: 48 match_type: EXACT }
  match_fields { id: 2 name: "hdr.c.z" bitwidth: 32 match_type: EXACT }
  action_refs { id: 16777217 } action_refs { id: 16777218 } action_refs { id: 16777219 } action_refs { id: 16777220 }
  size: 1024 }
tables { preamble { id: 33554434 name: "Ing.many" alias: "many" }
  ${Array.from({ length: 10 }, (_, i) => `match_fields { id: ${10 - i} name: "m.f${i}" bitwidth: 52 match_type: EXACT }`).join("\n  ")}
  action_refs { id: 16777217 } action_refs { id: 16777218 } action_refs { id: 16777220 }
  size: 1024 }
tables { preamble { id: 33554435 name: "Ing.wide" alias: "wide" }
  match_fields { id: 1 name: "hdr.w" bitwidth: 64 match_type: EXACT }
  action_refs { id: 16777218 }
  size: 16 }
actions { preamble { id: 16777217 name: "Ing.fwd" alias: "fwd" }
  params { id: 2 name: "port" bitwidth: 9 } params { id: 1 name: "mac" bitwidth: 48 } params { id: 3 name: "tag" bitwidth: 52 } }
actions { preamble { id: 16777218 name: "Ing.drop" alias: "drop" } }
actions { preamble { id: 16777219 name: "Ing.wide_param" alias: "wide_param" } params { id: 1 name: "v" bitwidth: 64 } }
actions { preamble { id: 16777220 name: "Ing.long" alias: "long" }
  ${Array.from({ length: 9 }, (_, i) => `params { id: ${i + 1} name: "p${i}" bitwidth: 52 }`).join(" ")} }
`,
    "text",
    "direct.p4info.txtpb",
  ),
);

/** Each table's match fields: every name a field answers to (full name, then suffixes), and its width. */
const directTables: Record<string, readonly { names: readonly string[]; bits: number }[]> = {
  multi: [
    { names: ["hdr.a.x", "a.x", "x"], bits: 9 },
    { names: ["hdr.b.y", "b.y", "y"], bits: 48 },
    { names: ["hdr.c.z", "c.z", "z"], bits: 32 },
  ],
  many: Array.from({ length: 10 }, (_, i) => ({ names: [`m.f${i}`, `f${i}`], bits: 52 })),
  wide: [{ names: ["hdr.w", "w"], bits: 64 }],
};
/** A value for a field of `bits` from random `r`: mostly one that fits (edges included), or, when `odd` > 0, one outside or of another type. */
const directValue = (bits: number, r: number, odd: number): unknown => {
  if (odd > 0) return [-1, 1.5, 2 ** bits, Number.NaN, 7n, "5", undefined, null][odd - 1];
  const max = 2 ** Math.min(bits, 53) - 1;
  if (r % 3 === 0) return Math.min(max, [0, 1, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 48, max][r % 10]!);
  return (r * 2 ** 22 + (r % 4_000_037)) % (max + 1);
};
const oddOrNot = fc.oneof({ weight: 30, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 8 }) });
const directParams = (names: readonly string[], bits: readonly number[]) =>
  fc
    .record({
      values: fc.array(fc.tuple(fc.nat(), oddOrNot), { minLength: names.length, maxLength: names.length }),
      order: fc.shuffledSubarray([...names.keys()], { minLength: names.length }),
      drop: fc.oneof({ weight: 20, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(names.length - 1) }),
      extra: fc.oneof({ weight: 20, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant("extra") }),
    })
    .map(({ values, order, drop, extra }) => {
      const out: Record<string, unknown> = {};
      for (const i of order) if (i !== drop) out[names[i]!] = directValue(bits[i]!, values[i]![0], values[i]![1]);
      if (extra) out[extra] = 1;
      return out;
    });
const directAction = fc.oneof(
  { weight: 6, arbitrary: directParams(["port", "mac", "tag"], [9, 48, 52]).map((params) => ({ name: "fwd", params })) },
  { weight: 2, arbitrary: directParams(Array.from({ length: 9 }, (_, i) => `p${i}`), Array(9).fill(52)).map((params) => ({ name: "Ing.long", params })) },
  { weight: 2, arbitrary: fc.constantFrom<unknown>("drop", { name: "drop" }, { name: 16777218, params: {} }, { name: "drop", params: undefined }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(undefined, "nope", { name: "wide_param", params: { v: 1 } }, { name: "fwd" }, { member: 1 }, { name: "drop", group: 1 }, { name: "drop", params: null }, 5),
  },
);
const directInput = fc
  .record({
    table: fc.constantFrom("multi", "Ing.multi", 33554433, "many", "many", "wide"),
    order: fc.shuffledSubarray([...Array(10).keys()], { minLength: 10 }),
    alias: fc.array(fc.nat(2), { minLength: 10, maxLength: 10 }),
    values: fc.array(fc.tuple(fc.nat(), oddOrNot), { minLength: 10, maxLength: 10 }),
    /** -1: every field once; otherwise a field left out, given twice (by two of its names) or inherited. */
    change: fc.oneof({ weight: 12, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(29) }),
    action: directAction,
    extra: fc.oneof(
      { weight: 10, arbitrary: fc.constant<Record<string, unknown>>({}) },
      { weight: 1, arbitrary: fc.constantFrom<Record<string, unknown>>({ priority: 0 }, { priority: 2 }, { idleTimeoutNs: 0n }, { withTimeSinceLastHit: false }, { metadata: new Uint8Array([1]) }, { isDefault: false }) },
    ),
  })
  .map((r): EntityInput => {
    const key = typeof r.table === "string" ? r.table.replace("Ing.", "") : "multi";
    const fields = directTables[key]!;
    const which = r.change % fields.length;
    const how = r.change < 0 ? -1 : Math.floor(r.change / 10);
    const match: Record<string, unknown> = how === 2 ? Object.create({ [fields[which]!.names[0]!]: 1 }) : {};
    for (const i of r.order) {
      if (i >= fields.length) continue;
      const f = fields[i]!;
      const value = directValue(f.bits, r.values[i]![0], r.values[i]![1]);
      if ((how === 0 || how === 2) && i === which) continue;
      match[f.names[r.alias[i]! % f.names.length]!] = value;
      if (how === 1 && i === which) match[f.names[(r.alias[i]! + 1) % f.names.length]!] = value;
    }
    return { kind: "tableEntry", table: r.table, match, ...(r.action !== undefined ? { action: r.action } : {}), ...r.extra } as EntityInput;
  });

describe("table entries written directly (exact fields and parameters as numbers)", () => {
  function generalOf(type: (typeof types)[number], input: EntityInput, mode: BytestringMode): Update | Error {
    try {
      return create(UpdateSchema, { type: types.indexOf(type) + 1, entity: encodeEntity(directInfo, input, { mode, keyOnly: type === "delete" }) });
    } catch (e) {
      return e as Error;
    }
  }

  it("writes exactly what the general encoder writes and declines everything it rejects (property; one path, so order caches and slabs carry over)", () => {
    const paths = { canonical: new TableEntryFastPath(directInfo, "canonical"), padded: new TableEntryFastPath(directInfo, "padded") };
    const direct = vi.spyOn(TableEntryFastPath.prototype as unknown as { encodeDirect: (...a: unknown[]) => boolean }, "encodeDirect");
    let accepted = 0;
    let directly = 0;
    try {
      fc.assert(
        fc.property(fc.constantFrom(...types), directInput, fc.constantFrom<BytestringMode>("canonical", "padded"), (type, input, mode) => {
          const t = (types.indexOf(type) + 1) as 1 | 2 | 3;
          const calls = direct.mock.results.length;
          const fast = paths[mode].update(t, input, type === "delete");
          const tookDirect = direct.mock.results.slice(calls).some((r) => r.value === true);
          const slow = generalOf(type, input, mode);
          if (!fast) {
            expect(tookDirect).toBe(false);
            return;
          }
          accepted++;
          if (tookDirect) directly++;
          expect(slow).not.toBeInstanceOf(Error);
          const u = slow as Update;
          expect(hex(fast.bytes)).toBe(hex(toBinary(UpdateSchema, u)));
          expect(fast.key).toBe(entityKey(u.entity!));
          const slot: WireSlot = { buf: new Uint8Array(), start: 0, end: 0, hash: 0 };
          expect(paths[mode].encodeTo(t, input, type === "delete", slot)).toBe(true);
          expect(slot.hash).toBe(keyHash(fast.key));
          expect(hex(slot.buf.subarray(slot.end - fast.bytes.length, slot.end))).toBe(hex(fast.bytes));
        }),
        { numRuns: Number(process.env.WIRE_RUNS ?? 4000) },
      );
    } finally {
      direct.mockRestore();
    }
    if (process.env.WIRE_REPORT) console.log({ accepted, directly });
    expect(accepted).toBeGreaterThan(1000);
    expect(directly).toBeGreaterThan(1000);
  });

  it("moves bodies whose lengths take two bytes (a key of ten fields, an action of nine parameters)", () => {
    const path = new TableEntryFastPath(directInfo);
    const match = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`m.f${i}`, 2 ** 52 - 1 - i]));
    const params = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`p${i}`, 2 ** 51 + i]));
    const input: EntityInput = { kind: "tableEntry", table: "many", match, action: { name: "long", params } };
    const fast = path.update(1, input, false)!;
    const u = generalOf("insert", input, "canonical") as Update;
    expect(fast.bytes.length).toBeGreaterThan(256);
    expect(hex(fast.bytes)).toBe(hex(toBinary(UpdateSchema, u)));
    expect(fast.key).toBe(entityKey(u.entity!));
  });
});

describe("read responses from wire bytes", () => {
  it("decodes random responses exactly as fromBinary does (property)", () => {
    fc.assert(
      fc.property(messageArb(ReadResponseSchema, 6), (m) => {
        const bytes = Buffer.from(toBinary(ReadResponseSchema, m as never));
        const ours = decodeReadResponse(bytes);
        const theirs = fromBinary(ReadResponseSchema, bytes).entities;
        expect(ours).toEqual(theirs);
        ours.forEach((e, i) => {
          expect(equals(EntitySchema, e, theirs[i]!)).toBe(true);
          expect(Object.keys(e.entity.value ?? {})).toEqual(Object.keys(theirs[i]!.entity.value ?? {}));
        });
      }),
      { numRuns: 400 },
    );
  });

  it("decodes the table entries of every shape without the general decoder, as decodeEntity reads them", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...types), plausibleInput), { minLength: 1, maxLength: 20 }), fc.boolean(), (items, extras) => {
        const entities = items.map(([type, input]) => {
          const e = (general(type, input, "canonical") as Update).entity!;
          if (extras && e.entity.case === "tableEntry") {
            const te = e.entity.value;
            te.priority = te.priority || -7; // a negative int32 takes ten bytes
            te.isConst = true;
            te.idleTimeoutNs = -5n;
            te.controllerMetadata = 1n << 63n;
            te.timeSinceLastHit = { $typeName: "p4.v1.TableEntry.IdleTimeout", elapsedNs: 123456789012n };
            te.meterCounterData = { $typeName: "p4.v1.MeterCounterData", red: { $typeName: "p4.v1.CounterData", byteCount: 1n, packetCount: 2n } };
          }
          return e;
        });
        const bytes = Buffer.from(toBinary(ReadResponseSchema, create(ReadResponseSchema, { entities })));
        const before = readerStats.fallbacks;
        const ours = decodeReadResponse(bytes);
        expect(readerStats.fallbacks).toBe(before);
        const theirs = fromBinary(ReadResponseSchema, bytes).entities;
        expect(ours).toEqual(theirs);
        if (!extras) expect(ours.map((e) => decodeEntity(index, e))).toEqual(theirs.map((e) => decodeEntity(index, e)));
      }),
      { numRuns: 300 },
    );
  });
});
