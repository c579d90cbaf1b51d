import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bigIntToIpv6,
  embedIpv4,
  extractIpv4,
  inIpv6Prefix,
  ipv4MulticastMac,
  ipv4ToNumber,
  ipv6MulticastMac,
  ipv6ToBigInt,
  isPacketError,
  mapMulticastSourceGroup,
  normalizeIpv6,
  numberToIpv4,
  WELL_KNOWN_PREFIX,
} from "../../src/packet/index.js";
import type { Rfc6052PrefixLength } from "../../src/packet/index.js";

describe("IPv6 text", () => {
  it("formats per RFC 5952", () => {
    expect(normalizeIpv6("2001:0DB8:0000:0000:0000:0000:0000:0001")).toBe("2001:db8::1");
    expect(normalizeIpv6("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(normalizeIpv6("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1");
    expect(normalizeIpv6("::")).toBe("::");
    expect(normalizeIpv6("::1")).toBe("::1");
    expect(normalizeIpv6("64:ff9b::192.0.2.33")).toBe("64:ff9b::c000:221");
    expect(normalizeIpv6("::ffff:10.0.0.1")).toBe("::ffff:a00:1");
  });

  it("rejects malformed text", () => {
    for (const bad of ["1::2::3", "12345::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "g::1"]) {
      let caught: unknown;
      try {
        ipv6ToBigInt(bad);
      } catch (e) {
        caught = e;
      }
      expect(isPacketError(caught), bad).toBe(true);
    }
  });

  it("round-trips any 128-bit value", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (v) => {
        expect(ipv6ToBigInt(bigIntToIpv6(v))).toBe(v);
      }),
    );
    fc.assert(
      fc.property(fc.ipV6(), (a) => {
        expect(ipv6ToBigInt(normalizeIpv6(a))).toBe(ipv6ToBigInt(a));
      }),
    );
  });

  it("IPv4 round-trips", () => {
    fc.assert(
      fc.property(fc.ipV4(), (a) => {
        expect(numberToIpv4(ipv4ToNumber(a))).toBe(a);
      }),
    );
  });
});

describe("multicast MACs", () => {
  it("maps groups to MAC addresses", () => {
    expect(ipv4MulticastMac("239.129.2.3")).toBe("01:00:5e:01:02:03");
    expect(ipv6MulticastMac("ff3e::8000:1")).toBe("33:33:80:00:00:01");
  });
});

describe("RFC 6052", () => {
  // RFC 6052 section 2.4, table 2: 192.0.2.33 under each prefix length.
  const table: Array<[Rfc6052PrefixLength, string, string]> = [
    [32, "2001:db8::", "2001:db8:c000:221::"],
    [40, "2001:db8:100::", "2001:db8:1c0:2:21::"],
    [48, "2001:db8:122::", "2001:db8:122:c000:2:2100::"],
    [56, "2001:db8:122:300::", "2001:db8:122:3c0:0:221::"],
    [64, "2001:db8:122:344::", "2001:db8:122:344:c0:2:2100:0"],
    [96, "2001:db8:122:344::", "2001:db8:122:344::c000:221"],
  ];
  it.each(table)("/%i embeds and extracts per the RFC table", (len, prefix, expected) => {
    expect(embedIpv4(prefix, len, "192.0.2.33")).toBe(expected);
    expect(extractIpv4(expected, len)).toBe("192.0.2.33");
  });

  it("the well-known prefix", () => {
    expect(embedIpv4(WELL_KNOWN_PREFIX, 96, "192.0.2.33")).toBe("64:ff9b::c000:221");
    expect(inIpv6Prefix("64:ff9b::c000:221", WELL_KNOWN_PREFIX, 96)).toBe(true);
    expect(inIpv6Prefix("64:ff9c::c000:221", WELL_KNOWN_PREFIX, 96)).toBe(false);
  });

  it("extract inverts embed for every length and address; the u octet stays 0", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Rfc6052PrefixLength>(32, 40, 48, 56, 64, 96),
        fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
        fc.ipV4(),
        (len, p, v4) => {
          const a = embedIpv4(bigIntToIpv6(p), len, v4);
          expect(extractIpv4(a, len)).toBe(v4);
          if (len !== 96) expect((ipv6ToBigInt(a) >> 56n) & 0xffn).toBe(0n);
        },
      ),
    );
  });

  it("RFC 8114 style (S,G) mapping", () => {
    expect(mapMulticastSourceGroup("192.0.2.1", "232.1.1.1", "ff3e:0:0:0:0:0::", "64:ff9b::")).toEqual({
      source6: "64:ff9b::c000:201",
      group6: "ff3e::e801:101",
    });
  });
});
