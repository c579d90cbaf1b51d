/**
 * The bulk paths' wire decoders (src/p4runtime/wire/reader.ts) against
 * protobuf-es: random ReadResponses and WriteRequests decode exactly as
 * fromBinary decodes them, and table entries of every shape without the
 * general decoder.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { type DescField, type DescMessage, ScalarType, create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { EntitySchema, ReadResponseSchema, UpdateSchema, type Update, WriteRequestSchema } from "../../src/proto/gen/p4/v1/p4runtime_pb.js";
import { decodeReadResponse, decodeWriteRequest, readerStats } from "../../src/p4runtime/wire/reader.js";
import { type EntityInput, decodeEntity, encodeEntity } from "../../src/client/entities/entity.js";
import { P4InfoIndex } from "../../src/p4runtime/p4info/index.js";
import { fixture } from "../support/fixtures.js";

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
    fc.record({
      no: fc.integer({ min: 200, max: 5000 }),
      wireType: fc.constant(0),
      data: fc.constantFrom(new Uint8Array([5]), new Uint8Array([0x96, 0x01])),
    }),
    fc.record({
      no: fc.integer({ min: 200, max: 5000 }),
      wireType: fc.constant(2),
      data: fc.constantFrom(new Uint8Array([2, 1, 2]), new Uint8Array([0])),
    }),
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

const prog = fixture("runtime_test");
const index = new P4InfoIndex(prog.p4info);
const types = ["insert", "modify", "delete"] as const;

/** The Update message the general encoder builds. */
function general(type: (typeof types)[number], input: EntityInput): Update {
  return create(UpdateSchema, { type: types.indexOf(type) + 1, entity: encodeEntity(index, input, { keyOnly: type === "delete" }) });
}

/** Well-formed entries of each table, of every shape. */
const plausibleInput = fc.oneof(
  fc
    .record({ mac: fc.integer({ min: 0, max: 2 ** 48 - 1 }), port: fc.integer({ min: 0, max: 511 }), t: fc.constantFrom(0n, 5_000_000n) })
    .map(
      ({ mac, port, t }): EntityInput => ({
        kind: "tableEntry",
        table: "l2_exact",
        match: { "hdr.ethernet.dst_addr": mac },
        action: { name: "set_port", params: { port } },
        idleTimeoutNs: t,
      }),
    ),
  fc
    .record({
      a: fc.integer({ min: 0, max: 255 }),
      len: fc.integer({ min: 8, max: 32 }),
      dmac: fc.constantFrom<string | number | bigint>("00:00:00:00:02:02", 5, 2n ** 47n),
    })
    .map(
      ({ a, len, dmac }): EntityInput => ({
        kind: "tableEntry",
        table: "ipv4_lpm",
        match: { "hdr.ipv4.dst_addr": `${a}.0.0.0/${len}` },
        action: { name: "set_nhop", params: { dmac, port: 3 } },
      }),
    ),
  fc
    .record({
      proto: fc.integer({ min: 0, max: 255 }),
      lo: fc.integer({ min: 0, max: 100 }),
      prio: fc.integer({ min: 1, max: 100 }),
      port: fc.constantFrom(1, "*", 0),
    })
    .map(
      ({ proto, lo, prio, port }): EntityInput => ({
        kind: "tableEntry",
        table: "acl_ternary",
        match: {
          "std.ingress_port": port,
          "hdr.udp.dst_port": `${lo}..${lo + 10}`,
          "hdr.ipv4.protocol": { value: proto, mask: 0xff },
          "hdr.ipv4.src_addr": "10.0.1.0&&&0xffffff00",
        },
        action: "acl_permit",
        priority: prio,
        counterData: { packets: 3n, bytes: 4n },
      }),
    ),
  fc.record({ dst: fc.integer({ min: 0, max: 2 ** 32 - 1 }), which: fc.constantFrom("member", "group") }).map(
    ({ dst, which }): EntityInput => ({
      kind: "tableEntry",
      table: "ecmp",
      match: { "hdr.ipv4.dst_addr": dst },
      action: which === "member" ? { member: 3 } : { group: 4 },
    }),
  ),
);

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
    const updates = fc.array(fc.tuple(fc.constantFrom(...types), plausibleInput), { minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(updates, fc.boolean(), (items, extras) => {
        const entities = items.map(([type, input]) => {
          const e = general(type, input).entity!;
          if (extras && e.entity.case === "tableEntry") {
            const te = e.entity.value;
            te.priority = te.priority || -7; // a negative int32 takes ten bytes
            te.isConst = true;
            te.idleTimeoutNs = -5n;
            te.controllerMetadata = 1n << 63n;
            te.timeSinceLastHit = { $typeName: "p4.v1.TableEntry.IdleTimeout", elapsedNs: 123456789012n };
            const red = { $typeName: "p4.v1.CounterData" as const, byteCount: 1n, packetCount: 2n };
            te.meterCounterData = { $typeName: "p4.v1.MeterCounterData", red };
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

describe("write requests from wire bytes", () => {
  it("decodes random requests exactly as fromBinary does (property)", () => {
    fc.assert(
      fc.property(messageArb(WriteRequestSchema, 7), (m) => {
        const bytes = Buffer.from(toBinary(WriteRequestSchema, m as never));
        const ours = decodeWriteRequest(bytes);
        const theirs = fromBinary(WriteRequestSchema, bytes);
        expect(ours).toEqual(theirs);
        expect(equals(WriteRequestSchema, ours, theirs)).toBe(true);
        for (const [i, u] of ours.updates.entries()) expect(equals(UpdateSchema, u, theirs.updates[i]!)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it("decodes the updates of every shape without the general decoder", () => {
    const updates = fc.array(fc.tuple(fc.constantFrom(...types), plausibleInput), { minLength: 1, maxLength: 20 });
    const head = fc.record({
      deviceId: u64,
      electionId: fc.option(fc.record({ high: u64, low: u64 }), { nil: undefined }),
      role: fc.constantFrom("", "p4cast", "role-2"),
      atomicity: fc.integer({ min: 0, max: 2 }),
    });
    fc.assert(
      fc.property(updates, head, (items, h) => {
        const req = create(WriteRequestSchema, {
          deviceId: h.deviceId,
          role: h.role,
          atomicity: h.atomicity,
          ...(h.electionId ? { electionId: h.electionId } : {}),
          updates: items.map(([type, input]) => general(type, input)),
        });
        const bytes = Buffer.from(toBinary(WriteRequestSchema, req));
        const before = readerStats.fallbacks;
        const ours = decodeWriteRequest(bytes);
        expect(readerStats.fallbacks).toBe(before);
        expect(ours).toEqual(fromBinary(WriteRequestSchema, bytes));
      }),
      { numRuns: 300 },
    );
  });

  it("leaves a request with a role that is not ASCII, or a field given twice, to fromBinary", () => {
    const before = readerStats.fallbacks;
    const utf8 = Buffer.from(toBinary(WriteRequestSchema, create(WriteRequestSchema, { role: "rôle" })));
    expect(decodeWriteRequest(utf8)).toEqual(fromBinary(WriteRequestSchema, utf8));
    const once = toBinary(WriteRequestSchema, create(WriteRequestSchema, { electionId: { high: 1n, low: 0n } }));
    const twice = Buffer.concat([once, toBinary(WriteRequestSchema, create(WriteRequestSchema, { electionId: { high: 0n, low: 2n } }))]);
    const merged = decodeWriteRequest(twice).electionId;
    expect(merged).toEqual(fromBinary(WriteRequestSchema, twice).electionId);
    expect(merged).toMatchObject({ high: 1n, low: 2n });
    expect(readerStats.fallbacks).toBe(before + 2);
  });
});
