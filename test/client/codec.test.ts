import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  byteWidth,
  canonicalize,
  decodeSigned,
  decodeUnsigned,
  encodeSigned,
  encodeUnsigned,
  maxUnsigned,
  pad,
} from "../../src/p4runtime/codec/bytestring.js";
import {
  formatIPv4,
  formatIPv6,
  formatMac,
  formatValue,
  guessFormat,
  parseIPv4,
  parseIPv6,
  parseMac,
  parseValue,
} from "../../src/p4runtime/codec/values.js";
import { decodeMatch, encodeMatch, formatMatch, parseMatch, type MatchFieldShape } from "../../src/p4runtime/codec/match.js";
import { P4ValueError } from "../../src/p4runtime/errors.js";

const width = fc.integer({ min: 1, max: 160 });
const valueOfWidth = width.chain((w) => fc.tuple(fc.constant(w), fc.bigInt({ min: 0n, max: maxUnsigned(w) })));

describe("bytestrings", () => {
  it("canonical encoding is the shortest string, zero is one byte", () => {
    expect([...encodeUnsigned(0n, 32)]).toEqual([0]);
    expect([...encodeUnsigned(1n, 32)]).toEqual([1]);
    expect([...encodeUnsigned(0x100n, 32)]).toEqual([1, 0]);
    expect([...encodeUnsigned(0x0a000001n, 32, "padded")]).toEqual([10, 0, 0, 1]);
    expect([...encodeUnsigned(5n, 9, "padded")]).toEqual([0, 5]);
  });

  it("rejects a value wider than its field, naming field and width", () => {
    expect(() => encodeUnsigned(512n, 9, "canonical", "std.egress_spec")).toThrow(/std\.egress_spec.*9 bits/);
    expect(() => decodeUnsigned(new Uint8Array([2, 0]), 9, "port")).toThrow(/port.*9 bits/);
  });

  it("round-trips every width and value, canonical and padded (property)", () => {
    fc.assert(
      fc.property(valueOfWidth, ([w, v]) => {
        const c = encodeUnsigned(v, w);
        const p = encodeUnsigned(v, w, "padded");
        expect(p.length).toBe(byteWidth(w));
        expect(c.length).toBeLessThanOrEqual(p.length);
        expect(c.length === 1 || c[0] !== 0).toBe(true);
        expect(decodeUnsigned(c, w)).toBe(v);
        expect(decodeUnsigned(p, w)).toBe(v);
        expect([...canonicalize(p)]).toEqual([...c]);
        expect([...pad(c, w)]).toEqual([...p]);
      }),
      { numRuns: 2000 },
    );
  });

  it("round-trips signed values with sign-extended padding (property)", () => {
    const signed = fc
      .integer({ min: 2, max: 128 })
      .chain((w) => fc.tuple(fc.constant(w), fc.bigInt({ min: -(1n << BigInt(w - 1)), max: (1n << BigInt(w - 1)) - 1n })));
    fc.assert(
      fc.property(signed, ([w, v]) => {
        const c = encodeSigned(v, w);
        const p = encodeSigned(v, w, "padded");
        expect(decodeSigned(c, w)).toBe(v);
        expect(decodeSigned(p, w)).toBe(v);
        expect(p.length).toBe(byteWidth(w));
      }),
      { numRuns: 1000 },
    );
    expect([...encodeSigned(-1n, 16)]).toEqual([0xff]);
    expect([...encodeSigned(-1n, 16, "padded")]).toEqual([0xff, 0xff]);
    expect([...encodeSigned(128n, 16)]).toEqual([0x00, 0x80]);
  });
});

describe("values", () => {
  it("parses integers, hex, IPv4, IPv6 and MAC", () => {
    expect(parseValue("42", 8)).toBe(42n);
    expect(parseValue("0x2A", 8)).toBe(42n);
    expect(parseValue("0b101", 8)).toBe(5n);
    expect(parseValue("10.0.0.1", 32)).toBe(0x0a000001n);
    expect(parseValue("00:11:22:33:44:55", 48)).toBe(0x001122334455n);
    expect(parseValue("2001:db8::1", 128)).toBe(0x20010db8000000000000000000000001n);
    expect(parseValue("64:ff9b::192.0.2.33", 128)).toBe(0x0064ff9b0000000000000000c0000221n);
    expect(parseValue(new Uint8Array([1, 2]), 16)).toBe(0x102n);
  });

  it("errors name the field and its width", () => {
    expect(() => parseValue("10.0.0.256", 32, "hdr.ipv4.dst")).toThrow(/hdr\.ipv4\.dst/);
    expect(() => parseValue("2001:db8::1", 32, "hdr.ipv4.dst")).toThrow(/hdr\.ipv4\.dst \(bit<32>\).*wider than 32 bits/);
    expect(() => parseValue("hello", 8, "x")).toThrow(/cannot parse "hello"/);
    expect(() => parseValue(1.5, 8, "x")).toThrow(/safe integer/);
    expect(() => parseValue("300", 8, "meta.ttl")).toThrow('meta.ttl (bit<8>): value "300" is wider than 8 bits');
    expect(() => parseValue("300", 8, "meta.ttl")).toThrow(P4ValueError);
  });

  it("formats addresses the way people write them (RFC 5952 for IPv6)", () => {
    expect(formatIPv6(parseIPv6("2001:0db8:0000:0000:0000:0000:0000:0001"))).toBe("2001:db8::1");
    expect(formatIPv6(parseIPv6("2001:db8:0:1:0:0:0:1"))).toBe("2001:db8:0:1::1");
    expect(formatIPv6(parseIPv6("2001:db8:0:0:1:0:0:1"))).toBe("2001:db8::1:0:0:1");
    expect(formatIPv6(0n)).toBe("::");
    expect(formatIPv6(parseIPv6("ff0e::1"))).toBe("ff0e::1");
    expect(formatIPv6(parseIPv6("1:0:1:0:1:0:1:0"))).toBe("1:0:1:0:1:0:1:0");
    expect(formatMac(0x001122334455n)).toBe("00:11:22:33:44:55");
    expect(formatValue(255n, "hex")).toBe("0xff");
    expect(guessFormat("hdr.ipv4.dst_addr", 32)).toBe("ipv4");
    expect(guessFormat("hdr.ethernet.dst_addr", 48)).toBe("mac");
    expect(guessFormat("hdr.ipv6.src_addr", 128)).toBe("ipv6");
    expect(guessFormat("meta.session_id", 32)).toBe("int");
    expect(guessFormat("x", 32, ["@format(IPV4_ADDRESS)"])).toBe("ipv4");
  });

  it("round-trips addresses through text (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: maxUnsigned(32) }), (v) => {
        expect(parseIPv4(formatIPv4(v))).toBe(v);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: maxUnsigned(48) }), (v) => {
        expect(parseMac(formatMac(v))).toBe(v);
      }),
      { numRuns: 500 },
    );
    // Bias towards zero groups so that "::" compression is exercised.
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
        const v = groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
        expect(parseIPv6(formatIPv6(v))).toBe(v);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(valueOfWidth, ([w, v]) => {
        expect(parseValue(formatValue(v, "int"), w)).toBe(v);
        expect(parseValue(formatValue(v, "hex"), w)).toBe(v);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("match fields", () => {
  const f = (kind: MatchFieldShape["kind"], bitwidth: number, name = "f"): MatchFieldShape => ({ id: 1, name, bitwidth, kind });

  it("parses the usual notations", () => {
    expect(parseMatch("10.0.0.0/8", f("lpm", 32))).toEqual({ kind: "lpm", value: 0x0a000000n, prefixLen: 8 });
    expect(parseMatch("0x800&&&0xff00", f("ternary", 16))).toEqual({ kind: "ternary", value: 0x800n, mask: 0xff00n });
    expect(parseMatch("1000..2000", f("range", 16))).toEqual({ kind: "range", low: 1000n, high: 2000n });
    expect(parseMatch("7", f("optional", 9))).toEqual({ kind: "optional", value: 7n });
    expect(parseMatch("2001:db8::/32", f("lpm", 128))).toEqual({ kind: "lpm", value: 0x20010db8n << 96n, prefixLen: 32 });
  });

  it("omits don't-care values", () => {
    expect(parseMatch("0.0.0.0/0", f("lpm", 32))).toBeUndefined();
    expect(parseMatch("0&&&0", f("ternary", 16))).toBeUndefined();
    expect(parseMatch("0..65535", f("range", 16))).toBeUndefined();
    expect(parseMatch("*", f("optional", 9))).toBeUndefined();
  });

  it("rejects bad input with the field's name", () => {
    expect(() => parseMatch("10.0.0.1/8", f("lpm", 32, "hdr.ipv4.dst"))).toThrow(/hdr\.ipv4\.dst.*beyond the \/8 prefix/);
    expect(() => parseMatch("10.0.0.0/33", f("lpm", 32, "d"))).toThrow(/prefix length 33/);
    expect(() => parseMatch("0x801&&&0xff00", f("ternary", 16, "t"))).toThrow(/outside the mask/);
    expect(() => parseMatch("5..3", f("range", 16, "r"))).toThrow(/empty range/);
    expect(() => parseMatch("70000", f("exact", 16, "e"))).toThrow(/e \(bit<16>\)/);
  });

  it("round-trips every kind through FieldMatch (property)", () => {
    const arb = width.chain((w) =>
      fc.oneof(
        fc.bigInt({ min: 0n, max: maxUnsigned(w) }).map((v) => ({ w, spec: { kind: "exact" as const, value: v } })),
        fc.bigInt({ min: 0n, max: maxUnsigned(w) }).map((v) => ({ w, spec: { kind: "optional" as const, value: v } })),
        fc.tuple(fc.integer({ min: 1, max: w }), fc.bigInt({ min: 0n, max: maxUnsigned(w) })).map(([len, v]) => ({
          w,
          spec: { kind: "lpm" as const, value: v & (maxUnsigned(w) ^ maxUnsigned(w - len)), prefixLen: len },
        })),
        fc.tuple(fc.bigInt({ min: 1n, max: maxUnsigned(w) }), fc.bigInt({ min: 0n, max: maxUnsigned(w) })).map(([m, v]) => ({
          w,
          spec: { kind: "ternary" as const, value: v & m, mask: m },
        })),
        fc
          .tuple(fc.bigInt({ min: 0n, max: maxUnsigned(w) }), fc.bigInt({ min: 0n, max: maxUnsigned(w) }))
          .map(([a, b]): [bigint, bigint] => (a < b ? [a, b] : [b, a]))
          .map(([low, high]) => ({ w, spec: { kind: "range" as const, low, high } })),
      ),
    );
    fc.assert(
      fc.property(arb, fc.constantFrom("canonical" as const, "padded" as const), ({ w, spec }, mode) => {
        const field = f(spec.kind, w);
        const fm = encodeMatch(spec, field, mode);
        expect(decodeMatch(fm, field)).toEqual(spec);
        // The text form parses back to the same match unless it is a don't-care.
        const text = formatMatch(spec, "hex");
        const again = parseMatch(text, field);
        if (again) expect(again).toEqual(spec);
      }),
      { numRuns: 2000 },
    );
  });
});
