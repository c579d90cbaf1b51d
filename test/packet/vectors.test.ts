/**
 * Fixed vectors: frames built here must equal, byte for byte, frames produced
 * by an independent implementation (the hex strings below were generated
 * with Scapy 2.7.0 outside the repository), including every checksum.
 */
import { describe, expect, it } from "vitest";
import {
  GroupRecordType,
  IgmpType,
  Icmpv6Type,
  IpProtocol,
  TcpFlags,
  buildFrame,
  buildIgmpV2,
  buildIgmpV3Report,
  buildIpv6,
  buildMldV1,
  buildMldV2Report,
  bytesToHex,
  checksumProblems,
  decodeFrame,
  echoRest,
  hexToBytes,
  internetChecksum,
  ipv4HeaderChecksumValid,
  parseIgmp,
  parseIpv6,
  parseMld,
  routerAlertOptions,
} from "../../src/packet/index.js";

const eth = { dst: "02:00:00:00:00:02", src: "02:00:00:00:00:01" };

describe("fixed vectors", () => {
  it("IPv4/UDP", () => {
    const frame = buildFrame({
      ethernet: eth,
      packet: {
        ip: { version: 4, src: "10.0.0.1", dst: "10.0.0.2" },
        l4: { kind: "udp", udp: { srcPort: 1234, dstPort: 5678 }, payload: new TextEncoder().encode("hello") },
      },
    });
    expect(bytesToHex(frame)).toBe("02000000000202000000000108004500002100000000401166ca0a0000010a00000204d2162e000d8cff68656c6c6f");
  });

  it("IPv4 with options, DSCP/ECN, DF /UDP", () => {
    const frame = buildFrame({
      ethernet: eth,
      packet: {
        ip: {
          version: 4,
          src: "192.168.1.10",
          dst: "172.16.5.4",
          ttl: 17,
          identification: 0x1234,
          flags: 0b010,
          dscp: 0xb8 >> 2,
          ecn: 0,
          options: Uint8Array.of(1, 1, 1, 0),
        },
        l4: { kind: "udp", udp: { srcPort: 40000, dstPort: 53 }, payload: new TextEncoder().encode("abc") },
      },
    });
    const hex = "020000000002020000000001080046b80023123440001111e116c0a8010aac100504010101009c400035000b2c39616263";
    expect(bytesToHex(frame)).toBe(hex);
    const d = decodeFrame(hexToBytes(hex));
    expect(d.ip?.version).toBe(4);
    if (d.ip?.version === 4) {
      expect(d.ip.header.ihl).toBe(6);
      expect(Array.from(d.ip.header.options)).toEqual([1, 1, 1, 0]);
      expect(ipv4HeaderChecksumValid(d.ip.bytes)).toBe(true);
    }
    expect(checksumProblems(d)).toEqual([]);
  });

  it("IPv6/UDP", () => {
    const frame = buildFrame({
      ethernet: eth,
      packet: {
        ip: { version: 6, src: "2001:db8::1", dst: "2001:db8::2" },
        l4: { kind: "udp", udp: { srcPort: 1234, dstPort: 5678 }, payload: new TextEncoder().encode("hello") },
      },
    });
    expect(bytesToHex(frame)).toBe(
      "02000000000202000000000186dd" +
        "60000000000d114020010db800000000000000000000000120010db8000000000000000000000002" +
        "04d2162e000d458d68656c6c6f",
    );
  });

  it("IPv4/TCP SYN and IPv6/TCP SYN", () => {
    const tcp = { srcPort: 1234, dstPort: 80, seq: 1, ack: 0, flags: TcpFlags.SYN, window: 65535 };
    const v4 = buildFrame({
      ethernet: eth,
      packet: {
        ip: { version: 4, src: "10.0.0.1", dst: "10.0.0.2" },
        l4: { kind: "tcp", tcp, payload: new TextEncoder().encode("xyz") },
      },
    });
    expect(bytesToHex(v4)).toBe(
      "02000000000202000000000108004500002b00000000400666cb0a0000010a00000204d2005000000001000000005002ffffa440000078797a",
    );
    const v6 = buildFrame({
      ethernet: eth,
      packet: { ip: { version: 6, src: "2001:db8::1", dst: "2001:db8::2" }, l4: { kind: "tcp", tcp } },
    });
    expect(bytesToHex(v6)).toBe(
      "02000000000202000000000186dd" +
        "600000000014064020010db800000000000000000000000120010db8000000000000000000000002" +
        "04d2005000000001000000005002ffff4f4b0000",
    );
  });

  it("ICMP echo (no pseudo-header) and ICMPv6 echo (pseudo-header)", () => {
    const data = new TextEncoder().encode("ping");
    const v4 = buildFrame({
      ethernet: eth,
      packet: {
        ip: { version: 4, src: "10.0.0.1", dst: "10.0.0.2" },
        l4: { kind: "icmp", icmp: { type: 8, rest: echoRest(0x1234, 1) }, body: data },
      },
    });
    expect(bytesToHex(v4)).toBe("02000000000202000000000108004500002000000000400166db0a0000010a000002080006fa1234000170696e67");
    const v6 = buildFrame({
      ethernet: eth,
      packet: {
        ip: { version: 6, src: "2001:db8::1", dst: "2001:db8::2" },
        l4: { kind: "icmpv6", icmp: { type: Icmpv6Type.ECHO_REQUEST, rest: echoRest(0x1234, 1) }, body: data },
      },
    });
    expect(bytesToHex(v6)).toBe(
      "02000000000202000000000186dd" +
        "60000000000c3a4020010db800000000000000000000000120010db8000000000000000000000002" +
        "8000333e1234000170696e67",
    );
  });

  it("IGMPv2 report and IGMPv3 report", () => {
    expect(bytesToHex(buildIgmpV2({ type: IgmpType.V2_REPORT, group: "239.1.2.3" }))).toBe("1600f8faef010203");
    const v3 = buildIgmpV3Report({
      records: [{ recordType: GroupRecordType.CHANGE_TO_EXCLUDE, group: "232.1.1.1", sources: ["10.1.1.1", "10.1.1.2"] }],
    });
    expect(bytesToHex(v3)).toBe("2200daf40000000104000002e80101010a0101010a010102");
    const parsed = parseIgmp(v3);
    expect(parsed.type).toBe(IgmpType.V3_REPORT);
    if ("records" in parsed) expect(parsed.records[0]?.sources).toEqual(["10.1.1.1", "10.1.1.2"]);
  });

  it("MLDv1 and MLDv2 reports behind a Hop-by-Hop Router Alert", () => {
    const ctx = { version: 6 as const, src: "fe80::1", dst: "ff02::16" };
    const v1 = buildIpv6(
      { ...ctx, nextHeader: IpProtocol.ICMPV6, hopLimit: 1, hopByHopOptions: routerAlertOptions() },
      buildMldV1({ type: Icmpv6Type.MLD_V1_REPORT, multicastAddress: "ff3e::8000:1" }, ctx),
    );
    expect(bytesToHex(v1)).toBe(
      "6000000000200001fe800000000000000000000000000001ff020000000000000000000000000016" +
        "3a000502000001008300ffd100000000ff3e0000000000000000000080000001",
    );
    const v2 = buildIpv6(
      { ...ctx, nextHeader: IpProtocol.ICMPV6, hopLimit: 1, hopByHopOptions: routerAlertOptions() },
      buildMldV2Report(
        { records: [{ recordType: GroupRecordType.CHANGE_TO_EXCLUDE, multicastAddress: "ff3e::8000:1", sources: ["2001:db8::5"] }] },
        ctx,
      ),
    );
    expect(bytesToHex(v2)).toBe(
      "6000000000340001fe800000000000000000000000000001ff020000000000000000000000000016" +
        "3a000502000001008f00c1fd0000000104000001ff3e000000000000000000008000000120010db8000000000000000000000005",
    );
    const p = parseIpv6(v2);
    expect(p.hopByHop?.nextHeader).toBe(IpProtocol.ICMPV6);
    const mld = parseMld(p.payload);
    expect(mld.type).toBe(Icmpv6Type.MLD_V2_REPORT);
    if ("records" in mld) expect(mld.records[0]?.sources).toEqual(["2001:db8::5"]);
  });

  it("RFC 1071 example sum and the classic IPv4 header checksum", () => {
    // RFC 1071 4.1: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2.
    expect(internetChecksum(hexToBytes("0001f203f4f5f6f7"))).toBe(~0xddf2 & 0xffff);
    const header = hexToBytes("450000730000400040110000c0a80001c0a800c7");
    expect(internetChecksum(header)).toBe(0xb861);
  });
});
