/**
 * The write path's encoding: the table-entry encoder against protobuf-es
 * decoding, the boundary where input it declines goes to the general
 * encoder, and WriteRequest framing.
 *
 * The oracle of the table-entry encoder is the input itself: random valid
 * entries of every shape are encoded, the bytes are decoded by protobuf-es
 * (fromBinary) and by the entity decoder, and what comes back must be what
 * the input says, read with the codec's own parsers (parseMatch,
 * parseValue). The bytes must also be protobuf's canonical encoding of the
 * decoded message, since entities are ordered by a hash of their key bytes
 * whichever path encoded them.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type TableEntry,
  type Update,
  UpdateSchema,
  WriteRequestSchema,
  WriteRequest_Atomicity,
} from "../../src/proto/gen/p4/v1/p4runtime_pb.js";
import { P4InfoIndex, type TableInfo } from "../../src/p4runtime/p4info/index.js";
import { parseP4Info } from "../../src/p4runtime/p4info/load.js";
import { type MatchInput, type MatchSpec, parseMatch } from "../../src/p4runtime/codec/match.js";
import { type ValueInput, parseValue } from "../../src/p4runtime/codec/values.js";
import { type BytestringMode, byteWidth } from "../../src/p4runtime/codec/bytestring.js";
import { isP4InfoLookupError, isP4ValueError } from "../../src/p4runtime/errors.js";
import { type EntityInput, encodeEntity } from "../../src/client/entities/entity.js";
import { decodeTableEntry } from "../../src/client/entities/table-entry.js";
import { TableEntryEncoder, type WireSlot } from "../../src/client/wire/table-entry.js";
import { UpdateEncoder, type UpdateTypeCode, encodeMessage, entityKey, keyHash } from "../../src/client/wire/encode-update.js";
import { type SlotColumns, WriteRequestFramer } from "../../src/client/wire/frame.js";
import { fixture } from "../support/fixtures.js";

const runtime = new P4InfoIndex(fixture("runtime_test").p4info);

/**
 * A P4Info made for the encoder's edges: field ids out of the order the
 * fields are listed in, ids of two varint bytes, widths up to 52 bits (the
 * numbers written without bigints) and beyond, keys and actions long enough
 * that their lengths take two bytes.
 */
const edges = new P4InfoIndex(
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
  match_fields { id: 2 name: "hdr.t" bitwidth: 128 match_type: TERNARY }
  action_refs { id: 16777219 } action_refs { id: 16777218 }
  size: 16 }
actions { preamble { id: 16777217 name: "Ing.fwd" alias: "fwd" }
  params { id: 2 name: "port" bitwidth: 9 } params { id: 1 name: "mac" bitwidth: 48 } params { id: 3 name: "tag" bitwidth: 52 } }
actions { preamble { id: 16777218 name: "Ing.drop" alias: "drop" } }
actions { preamble { id: 16777219 name: "Ing.wide_param" alias: "wide_param" } params { id: 1 name: "v" bitwidth: 64 } }
actions { preamble { id: 16777220 name: "Ing.long" alias: "long" }
  ${Array.from({ length: 9 }, (_, i) => `params { id: ${i + 1} name: "p${i}" bitwidth: 52 }`).join(" ")} }
`,
    "text",
    "edges.p4info.txtpb",
  ),
);

const EMPTY = new Uint8Array(0);
const newSlot = (): WireSlot => ({ buf: EMPTY, start: 0, end: 0, hash: 0 });
const show = (x: unknown) =>
  JSON.stringify(x, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? [...v] : v));

/** The framed update of a slot, unframed: a copy of the p4.v1.Update's bytes. */
function updateBytes(slot: WireSlot): Uint8Array {
  const framed = slot.buf.subarray(slot.start, slot.end);
  expect(framed[0]).toBe(0x22); // WriteRequest.updates
  let len = 0;
  let shift = 0;
  let p = 1;
  for (;;) {
    const b = framed[p++]!;
    len += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
    shift += 7;
  }
  expect(framed.length - p).toBe(len);
  return new Uint8Array(framed.subarray(p)); // a plain copy: what protobuf-es decodes from it is plain too
}

// ---- valid input and what it says ----

/** A value of `bits` bits: mostly edges and small numbers. */
const valueOfBits = (bits: number): fc.Arbitrary<bigint> => {
  const max = (1n << BigInt(bits)) - 1n;
  return fc.oneof(
    fc.constantFrom(0n, 1n, max, max >> 1n, max < 255n ? max : 255n, max < 256n ? max : 256n),
    fc.bigInt({ min: 0n, max }),
    fc.bigInt({ min: 0n, max: max < 1000n ? max : 1000n }),
  );
};

/** The same value spelled as callers may: number, bigint, decimal or hex string, bytes. */
const spelled = (v: bigint): fc.Arbitrary<ValueInput> => {
  const bytes = () => {
    const out: number[] = [];
    for (let x = v; x > 0n; x >>= 8n) out.unshift(Number(x & 0xffn));
    return new Uint8Array(out);
  };
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant<ValueInput>(v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v) },
    { weight: 1, arbitrary: fc.constantFrom<ValueInput>(v, v.toString(), `0x${v.toString(16)}`, bytes()) },
  );
};

const fieldValue = (f: TableInfo["matchFieldList"][number]): fc.Arbitrary<MatchInput | undefined> => {
  const w = f.bitwidth;
  const v = valueOfBits(w);
  switch (f.kind) {
    case "exact":
      return v.chain(spelled);
    case "optional":
      return fc.oneof(v.chain(spelled), fc.constant<MatchInput>("*"), fc.constant(undefined));
    case "lpm":
      return fc.tuple(v, fc.integer({ min: 0, max: w })).chain(([x, len]) => {
        const value = len === 0 ? 0n : (x >> BigInt(w - len)) << BigInt(w - len);
        return fc.oneof(
          spelled(value).map((s): MatchInput => ({ value: s, prefixLen: len })),
          fc.constant<MatchInput>(`0x${value.toString(16)}/${len}`),
        );
      });
    case "ternary":
      return fc.tuple(v, v).chain(([x, mask]) =>
        fc.oneof(
          fc.tuple(spelled(x & mask), spelled(mask)).map(([value, m]): MatchInput => ({ value, mask: m })),
          fc.constant<MatchInput>(`0x${(x & mask).toString(16)}&&&0x${mask.toString(16)}`),
          fc.constant<MatchInput>("*"),
          fc.constant(undefined),
        ),
      );
    case "range":
      return fc.tuple(v, v).chain(([a, b]) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        return fc.oneof(
          fc.tuple(spelled(low), spelled(high)).map(([l, h]): MatchInput => ({ low: l, high: h })),
          fc.constant<MatchInput>(`${low}..${high}`),
          fc.constant(undefined),
        );
      });
  }
};

/** Every name a match field answers to in its table (full name, then unique suffixes). */
function namesOf(table: TableInfo, f: TableInfo["matchFieldList"][number]): string[] {
  const parts = f.name.split(".");
  return parts
    .map((_, i) => parts.slice(i).join("."))
    .filter((n) => {
      try {
        return table.matchFields.find(n)?.id === f.id;
      } catch {
        return false;
      }
    });
}

const paramsOf = (index: P4InfoIndex, action: string) =>
  fc
    .tuple(
      ...[...index.action(action).params].map((p) =>
        valueOfBits(p.bitwidth)
          .chain(spelled)
          .map((v) => [p.name, v] as const),
      ),
    )
    .chain((ps) => fc.shuffledSubarray(ps, { minLength: ps.length }))
    .map((ps) => Object.fromEntries(ps));

/** An action call of `table`: by full name, alias or id, parameters in any order. */
const actionCall = (index: P4InfoIndex, table: TableInfo) =>
  fc.constantFrom(...[...table.actions].map((a) => a.name)).chain((name) => {
    const a = index.action(name);
    const spellings = [a.name, a.name.split(".").pop()!, a.id] as const;
    return fc
      .tuple(fc.constantFrom(...spellings), paramsOf(index, name), fc.boolean())
      .map(([n, params, short]) => (short && a.params.size === 0 && typeof n === "string" ? n : { name: n, params }));
  });

const tableAction = (index: P4InfoIndex, table: TableInfo): fc.Arbitrary<unknown> => {
  if (!table.implementation) return actionCall(index, table);
  const member = fc.integer({ min: 0, max: 0xffff_ffff }).map((m) => ({ member: m }));
  if (!table.implementation.withSelector) return member;
  const weighted = actionCall(index, table).chain((c) =>
    fc
      .option(fc.integer({ min: 0, max: 1000 }), { nil: undefined })
      .map((weight) => (typeof c === "string" || weight === undefined ? c : { ...c, weight })),
  );
  const group = fc.integer({ min: 0, max: 0xffff_ffff }).map((g) => ({ group: g }));
  return fc.oneof(
    member,
    group,
    fc.array(weighted, { maxLength: 3 }).map((oneShot) => ({ oneShot })),
  );
};

const counterData = fc.record({ packets: fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }), bytes: fc.bigInt({ min: 0n, max: 300n }) });

/** Valid updates of `table`: [type, input]. */
function validEntry(index: P4InfoIndex, table: TableInfo): fc.Arbitrary<[UpdateTypeCode, EntityInput]> {
  const fields = table.matchFieldList;
  const match = fc
    .tuple(...fields.map((f) => fc.tuple(fc.constantFrom(...namesOf(table, f)), fieldValue(f))))
    .chain((fs) => fc.shuffledSubarray(fs, { minLength: fs.length }))
    .map((fs) => Object.fromEntries(fs.filter(([, v]) => v !== undefined)));
  const extras = fc.record(
    {
      idleTimeoutNs: table.supportsIdleTimeout ? fc.bigInt({ min: 0n, max: 1n << 40n }) : fc.constant(0n),
      metadata: fc.uint8Array({ maxLength: 8 }),
      withTimeSinceLastHit: fc.boolean(),
      meterConfig: table.directMeter
        ? fc
            .tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 }), fc.bigInt({ min: 0n, max: 10n }))
            .map(([cir, more, eb]) => ({
              cir,
              cburst: 100,
              pir: cir + more,
              pburst: 200n,
              ...(eb > 0n ? { eburst: eb } : {}),
            }))
        : fc.constant(undefined),
      counterData: table.directCounter ? counterData : fc.constant(undefined),
      meterCounterData: fc.record({ green: counterData, yellow: counterData, red: counterData }),
    },
    { requiredKeys: [] },
  );
  const tableName = fc.constantFrom<string | number>(table.name, table.name.split(".").pop()!, table.id);
  const priority = table.needsPriority ? fc.integer({ min: 1, max: 0x7fffffff }) : fc.constantFrom(undefined, 0);
  const type = fc.constantFrom<UpdateTypeCode>(1, 2, 3);
  const entry = fc.record({ type, table: tableName, match, priority, action: tableAction(index, table), extras, keep: fc.boolean() });
  const defaultAction = table.implementation ? fc.constant(undefined) : actionCall(index, table);
  const defaultEntry = fc.record({ table: tableName, action: defaultAction, extras });
  const plain = entry.map(({ type: u, table: t, match: m, priority: p, action, extras: x, keep }): [UpdateTypeCode, EntityInput] => {
    // Deletes need only the key: the action may be left out.
    const a = u === 3 && !keep ? {} : { action };
    return [u, { kind: "tableEntry", table: t, match: m, ...(p !== undefined ? { priority: p } : {}), ...a, ...x } as EntityInput];
  });
  const byDefault = defaultEntry.map(({ table: t, action, extras: x }): [UpdateTypeCode, EntityInput] => [
    2,
    { kind: "tableEntry", table: t, isDefault: true, ...(action !== undefined ? { action } : {}), ...x } as EntityInput,
  ]);
  return fc.oneof({ weight: 8, arbitrary: plain }, { weight: 1, arbitrary: byDefault });
}

const writable = (index: P4InfoIndex) => [...index.tables].filter((t) => t.matchFieldList.length > 0);
const validUpdate = (index: P4InfoIndex) => fc.oneof(...writable(index).map((t) => validEntry(index, t)));

/** What an input says, read with the codec's parsers: the decoded entry the bytes must give. */
function expected(index: P4InfoIndex, input: EntityInput & { kind: "tableEntry" }): unknown {
  const table = index.table(input.table);
  const match: Record<string, MatchSpec> = {};
  for (const [name, v] of Object.entries(input.match ?? {})) {
    const f = table.matchFields.get(name);
    const spec = parseMatch(v, f);
    if (spec) match[f.name] = spec;
  }
  const call = (c: unknown) => {
    const { name, params } =
      typeof c === "string" ? { name: c, params: {} } : (c as { name: string | number; params?: Record<string, ValueInput> });
    const a = table.actions.get(name);
    return { name: a.name, params: Object.fromEntries([...a.params].map((p) => [p.name, parseValue(params![p.name]!, p.bitwidth)])) };
  };
  const a = input.action as unknown;
  const action =
    a === undefined
      ? undefined
      : typeof a === "object" && a !== null && "member" in a
        ? { kind: "member", member: (a as { member: number }).member }
        : typeof a === "object" && a !== null && "group" in a
          ? { kind: "group", group: (a as { group: number }).group }
          : typeof a === "object" && a !== null && "oneShot" in a
            ? {
                kind: "oneShot",
                actions: (a as { oneShot: { weight?: number }[] }).oneShot.map((c) => ({ ...call(c), weight: c.weight ?? 1 })),
              }
            : { kind: "action", ...call(a) };
  const mc = input.meterConfig;
  const big = (v: bigint | number) => BigInt(v);
  const meterConfig = mc && { cir: big(mc.cir), cburst: big(mc.cburst), pir: big(mc.pir), pburst: big(mc.pburst) };
  return {
    table: table.name,
    match,
    ...(action ? { action } : {}),
    priority: input.priority ?? 0,
    isDefault: Boolean(input.isDefault),
    isConst: false,
    idleTimeoutNs: input.idleTimeoutNs ?? 0n,
    ...(input.withTimeSinceLastHit ? { timeSinceLastHitNs: 0n } : {}),
    ...(mc ? { meterConfig: { ...meterConfig, ...(mc.eburst ? { eburst: big(mc.eburst) } : {}) } } : {}),
    ...(input.counterData ? { counterData: input.counterData } : {}),
    ...(input.meterCounterData ? { meterCounterData: input.meterCounterData } : {}),
    metadata: input.metadata ?? new Uint8Array(),
  };
}

/** Every bytestring of the entry is in `mode`'s form for its field's width. */
function checkForm(index: P4InfoIndex, te: TableEntry, mode: BytestringMode): void {
  const table = index.table(te.tableId);
  const check = (b: Uint8Array, bits: number, what: string) => {
    if (mode === "padded") expect(b.length, what).toBe(byteWidth(bits));
    else expect(b.length === 1 || (b.length > 1 && b[0] !== 0), `${what}: ${[...b]}`).toBe(true);
  };
  for (const fm of te.match) {
    const f = table.matchFields.get(fm.fieldId);
    const t = fm.fieldMatchType;
    if (t.case === "exact" || t.case === "optional") check(t.value.value, f.bitwidth, f.name);
    if (t.case === "lpm") check(t.value.value, f.bitwidth, f.name);
    if (t.case === "ternary") for (const b of [t.value.value, t.value.mask]) check(b, f.bitwidth, f.name);
    if (t.case === "range") for (const b of [t.value.low, t.value.high]) check(b, f.bitwidth, f.name);
  }
  const t = te.action?.type;
  const actions =
    t?.case === "action" ? [t.value] : t?.case === "actionProfileActionSet" ? t.value.actionProfileActions.map((x) => x.action!) : [];
  for (const a of actions) {
    for (const p of a.params) check(p.value, index.action(a.actionId).params.get(p.paramId).bitwidth, `param ${p.paramId}`);
  }
}

/**
 * Encodes with the table-entry encoder and checks the bytes against the
 * input through protobuf-es decoding; returns the decoded Update.
 */
function checkEncoded(
  encoder: TableEntryEncoder,
  index: P4InfoIndex,
  type: UpdateTypeCode,
  input: EntityInput,
  mode: BytestringMode,
): Update {
  const slot = newSlot();
  expect(encoder.encodeTo(type, input, type === 3, slot), show(input)).toBe(true);
  const bytes = updateBytes(slot);
  const u = fromBinary(UpdateSchema, bytes);
  expect(u.type).toBe(type);
  expect(u.entity?.entity.case).toBe("tableEntry");
  const te = u.entity!.entity.value as TableEntry;
  expect(decodeTableEntry(index, te), show(input)).toEqual(expected(index, input as EntityInput & { kind: "tableEntry" }));
  checkForm(index, te, mode);
  // Protobuf's canonical encoding of what it decoded (field order, varints, nothing left out or added).
  expect(Buffer.from(toBinary(UpdateSchema, u)).equals(Buffer.from(bytes))).toBe(true);
  // The same entity hash as any Update message of the entity gets (see entityKey).
  expect(slot.hash).toBe(keyHash(entityKey(u.entity!)));
  return u;
}

describe("the table-entry encoder, decoded by protobuf-es (property)", () => {
  for (const [name, index] of [
    ["runtime_test", runtime],
    ["edges", edges],
  ] as const) {
    it(`encodes every valid entry of ${name} as the input says, canonical and padded`, () => {
      // One encoder per mode for the whole run: plans, order caches and slabs carry over from entry to entry.
      const encoders = { canonical: new TableEntryEncoder(index, "canonical"), padded: new TableEntryEncoder(index, "padded") };
      fc.assert(
        fc.property(validUpdate(index), fc.constantFrom<BytestringMode>("canonical", "canonical", "padded"), ([type, input], mode) => {
          checkEncoded(encoders[mode], index, type, input, mode);
        }),
        { numRuns: Number(process.env.ENCODE_RUNS ?? 2000) },
      );
    });
  }

  it("moves bodies whose lengths take two and three bytes", () => {
    const encoder = new TableEntryEncoder(edges);
    const match = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`m.f${i}`, 2 ** 52 - 1 - i]));
    const params = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`p${i}`, 2 ** 51 + i]));
    for (const n of [0, 1, 100, 127, 128, 16_383, 16_384, 70_000]) {
      const metadata = new Uint8Array(n).fill(7);
      const input: EntityInput = { kind: "tableEntry", table: "many", match, action: { name: "long", params }, metadata };
      checkEncoded(encoder, edges, 1, input, "canonical");
    }
  });
});

// ---- the boundary: what the encoder declines goes to the general encoder ----

/** Small changes that push a valid entry across the line between valid and invalid. */
type Mutation = (e: Record<string, unknown>) => void;

/** A mutation that sets one field of the entry. */
const setField =
  (key: string, value: unknown): Mutation =>
  (e) => {
    e[key] = value;
  };

const mutation: fc.Arbitrary<Mutation> = fc.oneof<fc.Arbitrary<Mutation>[]>(
  fc.constantFrom<unknown>("nope", "", 99, "l2_exact", "acl_ternary", "ecmp", "ipv4_lpm", "multi", "wide").map((t) => setField("table", t)),
  fc
    .tuple(
      fc.constantFrom(
        ...["hdr.ethernet.dst_addr", "dst_addr", "hdr.ipv4.dst_addr", "hdr.ipv4.protocol", "hdr.udp.dst_port"],
        ...["std.ingress_port", "x", "hdr.w", "m.f3", "nope"],
      ),
      fc.constantFrom<unknown>(
        ...[-1, 1.5, 2 ** 48, 2 ** 53 + 2, 512, 7n, Number.NaN, null],
        ...["10.1.0.0/8", "5&&&3", "5..1", "*", "junk", { value: 1, prefixLen: 40 }],
      ),
    )
    .map(
      ([k, v]): Mutation =>
        (e) => {
          e.match = { ...(e.match as object), [k]: v };
        },
    ),
  fc.constant((e: Record<string, unknown>) => {
    const m = { ...(e.match as Record<string, unknown>) };
    delete m[Object.keys(m)[0] ?? ""];
    e.match = m;
  }),
  fc
    .constantFrom<unknown>(
      ...[undefined, "drop", "nope", 5, null, { name: "drop", params: null }, { name: "fwd", params: { port: 1, mac: 2, tag: -1 } }],
      ...[
        { name: "set_port", params: { port: 600 } },
        { name: "set_port", params: {} },
        { name: "set_port", params: { port: 1, x: 2 } },
      ],
      ...[{ member: 1.5 }, { group: 2 }, { member: 3 }, { oneShot: [5] }, { oneShot: [{ name: "drop", weight: 1.5 }] }],
    )
    .map((a) => setField("action", a)),
  fc.constantFrom<unknown>(0, 1, -1, 1.5, 2 ** 31, undefined).map((p) => setField("priority", p)),
  fc.constantFrom<unknown>(true, false, 1).map((d) => setField("isDefault", d)),
  fc.constantFrom<unknown>(0n, 5n, -1n, 1n << 63n, 5).map((t) => setField("idleTimeoutNs", t)),
  fc.constantFrom<unknown>(new Uint8Array([1]), "x").map((m) => setField("metadata", m)),
  fc.constantFrom<unknown>({ packets: 1n, bytes: 2n }, { packets: 1, bytes: 2 }).map((c) => setField("counterData", c)),
  fc
    .constantFrom<unknown>({ cir: 5, cburst: 2, pir: 3, pburst: 4 }, { cir: -1, cburst: 2, pir: 3, pburst: 4 })
    .map((c) => setField("meterConfig", c)),
);

const nearlyValid = (index: P4InfoIndex) =>
  fc
    .tuple(validUpdate(index), fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([[type, input], ms]): [UpdateTypeCode, EntityInput] => {
      const e = { ...input, match: { ...("match" in input ? input.match : {}) } } as Record<string, unknown>;
      for (const m of ms) m(e);
      return [type, e as unknown as EntityInput];
    });

/** The general encoder's answer for an update: the Update message, or its error. */
function general(index: P4InfoIndex, type: UpdateTypeCode, input: EntityInput): Update | Error {
  try {
    return create(UpdateSchema, { type, entity: encodeEntity(index, input, { keyOnly: type === 3 }) });
  } catch (e) {
    return e as Error;
  }
}

describe("the boundary between the table-entry encoder and protobuf-es", () => {
  for (const [name, index] of [
    ["runtime_test", runtime],
    ["edges", edges],
  ] as const) {
    it(`accepts only valid input of ${name}; whatever it declines gets the general encoder's bytes or error (property)`, () => {
      const fast = new TableEntryEncoder(index);
      const boundary = new UpdateEncoder(index);
      const runs = Number(process.env.ENCODE_RUNS ?? 2000);
      let accepted = 0;
      let declined = 0;
      fc.assert(
        fc.property(nearlyValid(index), ([type, input]) => {
          const slot = newSlot();
          if (fast.encodeTo(type, input, type === 3, slot)) {
            accepted++;
            // Accepted: the input is valid (the general encoder has no error for it) and the bytes say what it says.
            expect(general(index, type, input), show(input)).not.toBeInstanceOf(Error);
            checkEncoded(fast, index, type, input, "canonical");
            return;
          }
          declined++;
          const g = general(index, type, input);
          const out = newSlot();
          let thrown: unknown;
          try {
            boundary.encode(type, input, out);
          } catch (e) {
            thrown = e;
          }
          if (g instanceof Error) {
            // The error is the general encoder's, naming the field, or protobuf-es's for a value out of its field's range.
            expect(thrown, show(input)).toBeInstanceOf(Error);
            expect((thrown as Error).message).toBe(g.message);
          } else {
            let serialized: Uint8Array | Error;
            try {
              serialized = toBinary(UpdateSchema, g);
            } catch (e) {
              serialized = e as Error;
            }
            if (serialized instanceof Error) expect((thrown as Error).message).toBe(serialized.message);
            else expect(Buffer.from(updateBytes(out)).equals(Buffer.from(serialized))).toBe(true);
          }
        }),
        { numRuns: runs },
      );
      // Some mutations leave the entry valid: both sides of the line are exercised.
      expect(accepted).toBeGreaterThan(runs / 50);
      expect(declined).toBeGreaterThan(runs / 2);
    });
  }

  it("reports bad table entries with the general encoder's errors, naming the field", () => {
    const boundary = new UpdateEncoder(runtime);
    const fast = new TableEntryEncoder(runtime);
    const l2 = (x: object): EntityInput => ({ kind: "tableEntry", table: "l2_exact", match: { "hdr.ethernet.dst_addr": 1 }, ...x });
    const cases: [EntityInput, RegExp][] = [
      [l2({ match: { "hdr.ethernet.dst_addr": 2 ** 48 }, action: "drop" }), /hdr\.ethernet\.dst_addr.*wider than 48 bits/],
      [l2({ action: { name: "set_port", params: { port: 512 } } }), /set_port\.port.*wider than 9 bits/],
      [l2({ action: { name: "set_port", params: {} } }), /missing parameter "port"/],
      [l2({ action: { name: "set_port", params: { port: 1, speed: 2 } } }), /unknown parameter "speed"/],
      [l2({ match: {}, action: "drop" }), /exact match field\(s\) "hdr\.ethernet\.dst_addr" must be given/],
      [l2({ match: { "hdr.ethernet.dst_addr": 1, dst_addr: 1 }, action: "drop" }), /"hdr\.ethernet\.dst_addr" given twice/],
      [l2({}), /an entry needs an action/],
      [l2({ action: "drop", priority: 3 }), /must not set a priority/],
      [{ kind: "tableEntry", table: "acl_ternary", match: {}, action: "acl_permit" }, /need a priority/],
      [{ kind: "tableEntry", table: "ecmp", match: { "hdr.ipv4.dst_addr": 1 }, action: "drop" }, /is indirect/],
      [{ kind: "tableEntry", table: "ipv4_lpm", match: { "hdr.ipv4.dst_addr": "10.1.0.0/8" }, action: "drop" }, /beyond the \/8 prefix/],
      [l2({ isDefault: true, action: "drop" }), /the default entry has no match fields/],
      [{ kind: "tableEntry", table: "no_such_table", match: {}, action: "drop" }, /no_such_table/],
    ];
    for (const [input, message] of cases) {
      expect(fast.encodeTo(1, input, false, newSlot()), show(input)).toBe(false);
      let thrown: unknown;
      try {
        boundary.encode(1, input, newSlot());
      } catch (e) {
        thrown = e;
      }
      expect(isP4ValueError(thrown) || isP4InfoLookupError(thrown), show(input)).toBe(true);
      expect((thrown as Error).message).toMatch(message);
    }
  });

  it("encodes other entity families and Update messages with protobuf-es, hashed by entity", () => {
    const boundary = new UpdateEncoder(runtime);
    const inputs: [UpdateTypeCode, EntityInput][] = [
      [1, { kind: "multicastGroup", groupId: 7, replicas: [{ port: 1 }, { port: 2, instance: 1 }] }],
      [2, { kind: "registerEntry", register: "last_seen", index: 3, value: 9 }],
      [
        1,
        {
          kind: "actionProfileMember",
          profile: "ecmp_selector",
          memberId: 4,
          action: { name: "set_nhop", params: { dmac: 1, port: 2 } },
        },
      ],
    ];
    for (const [type, input] of inputs) {
      const slot = newSlot();
      boundary.encode(type, input, slot);
      const g = general(runtime, type, input) as Update;
      expect(Buffer.from(updateBytes(slot)).equals(Buffer.from(toBinary(UpdateSchema, g)))).toBe(true);
      expect(slot.hash).toBe(keyHash(entityKey(g.entity!)));
      const message = newSlot();
      encodeMessage(g, message);
      expect(equals(UpdateSchema, fromBinary(UpdateSchema, updateBytes(message)), g)).toBe(true);
      expect(message.hash).toBe(slot.hash);
    }
    // A table entry as an Update message and as input: one entity, one hash.
    const match = { "hdr.ipv4.protocol": { value: 6, mask: 0xff } };
    const entry: EntityInput = { kind: "tableEntry", table: "acl_ternary", match, priority: 5, action: "acl_permit" };
    const slot = newSlot();
    boundary.encode(1, entry, slot);
    const asMessage = newSlot();
    const { action: _action, ...key } = entry as EntityInput & { kind: "tableEntry" };
    encodeMessage(boundary.message(3, key), asMessage);
    expect(asMessage.hash).toBe(slot.hash);
  });
});

// ---- framing ----

describe("WriteRequest framing", () => {
  it("frames updates (runs in one slab, buffers of their own, holes) into the request protobuf-es decodes (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(validUpdate(runtime), fc.constantFrom("fast", "message", "hole")), { minLength: 1, maxLength: 40 }),
        fc.constantFrom(
          WriteRequest_Atomicity.CONTINUE_ON_ERROR,
          WriteRequest_Atomicity.ROLLBACK_ON_ERROR,
          WriteRequest_Atomicity.DATAPLANE_ATOMIC,
        ),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.constantFrom("", "role-a", "é"),
        (items, atomicity, deviceId, low, role) => {
          const encoder = new UpdateEncoder(runtime);
          const electionId = { $typeName: "p4.v1.Uint128" as const, high: 1n, low };
          const framer = new WriteRequestFramer(deviceId, electionId, role);
          const cols: SlotColumns = { bufs: [], starts: [], ends: [], hashes: [] };
          const sent: Update[] = [];
          for (const [[type, input], how] of items) {
            const slot = newSlot();
            if (how === "fast") encoder.encode(type, input, slot);
            else if (how === "message") encodeMessage(encoder.message(type, input), slot);
            // Each update as protobuf-es reads it alone; the framed request must carry exactly these.
            if (how !== "hole") sent.push(fromBinary(UpdateSchema, updateBytes(slot)));
            cols.bufs.push(slot.buf);
            cols.starts.push(slot.start);
            cols.ends.push(slot.end);
            cols.hashes.push(slot.hash);
          }
          const request = fromBinary(WriteRequestSchema, framer.frame(cols, atomicity, 0, items.length));
          const want = create(WriteRequestSchema, { deviceId, electionId, role, atomicity, updates: sent });
          expect(equals(WriteRequestSchema, request, want)).toBe(true);
          if (items.length > 2) {
            const part = fromBinary(WriteRequestSchema, framer.frame(cols, atomicity, 1, items.length - 1));
            const inner = items.slice(1, -1).filter(([, how]) => how !== "hole").length;
            expect(part.updates).toHaveLength(inner);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
