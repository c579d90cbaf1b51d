/** The CLI's pure helpers: argument parsers, packet_out defaults, runtime-file match notation, frame summaries. */
import { describe, expect, it } from "vitest";
import { P4InfoIndex } from "../../src/p4runtime/p4info/index.js";
import { CliError } from "../../src/cli/output.js";
import { keyValues, parseAddress, parseUint } from "../../src/cli/connect.js";
import { parseReplicas } from "../../src/cli/commands/mcast.js";
import { packetOutMetadata, parseHex, summarizeFrame } from "../../src/cli/commands/packet.js";
import { matchFromRuntime, tableEntryFromRuntime } from "../../src/cli/commands/runtime.js";
import { loadP4Info } from "../../src/p4runtime/p4info/load.js";
import { fixture } from "../support/fixtures.js";
import { ipv4Udp } from "../support/frames.js";

const rt = new P4InfoIndex(fixture("runtime_test").p4info);

function usageError(fn: () => unknown): CliError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CliError);
    expect((e as CliError).exitCode).toBe(2);
    return e as CliError;
  }
  throw new Error("expected a usage error");
}

describe("CLI argument parsers", () => {
  it("addresses, integers and key=value lists", () => {
    expect(parseAddress("127.0.0.1:9559", "--grpc")).toEqual({ host: "127.0.0.1", port: 9559 });
    expect(parseAddress("[::1]:50051", "--grpc")).toEqual({ host: "::1", port: 50051 });
    expect(parseAddress("switch-1:9559", "--grpc")).toEqual({ host: "switch-1", port: 9559 });
    expect(usageError(() => parseAddress("127.0.0.1", "--grpc")).message).toMatch(/<host>:<port>/);
    expect(usageError(() => parseAddress("h:70000", "--grpc")).message).toMatch(/<host>:<port>/);
    expect(parseUint("0x10", "--index")).toBe(16n);
    expect(usageError(() => parseUint("-1", "--index")).message).toMatch(/non-negative integer/);
    expect(usageError(() => parseUint("300", "--x", 255n)).message).toMatch(/at most 255/);
    expect(keyValues(["a=1", "b=x=y"], "--param", "")).toEqual({ a: "1", b: "x=y" });
    expect(usageError(() => keyValues(["a"], "--param", "--param port=1")).hint).toBe("for example --param port=1");
    expect(usageError(() => keyValues(["a=1", "a=2"], "--param", "")).message).toMatch(/given twice/);
  });

  it("replicas: port[:instance], repeatable and comma-separated", () => {
    expect(parseReplicas(["1", "2:3", "4,5:1"])).toEqual([
      { port: 1, instance: 0 },
      { port: 2, instance: 3 },
      { port: 4, instance: 0 },
      { port: 5, instance: 1 },
    ]);
    usageError(() => parseReplicas(["x"]));
    usageError(() => parseReplicas(["1:"]));
  });

  it("hex frames tolerate spaces, colons and 0x", () => {
    expect(Buffer.from(parseHex("ff ff:00-01 0x0a")).toString("hex")).toBe("ffff00010a");
    expect(usageError(() => parseHex("abc")).message).toMatch(/odd number/);
    usageError(() => parseHex("zz"));
    usageError(() => parseHex(""));
  });
});

describe("packet_out metadata defaults", () => {
  it("runtime_test: egress_port from --port, pad 0, flags 0; --meta wins", () => {
    const h = rt.controllerPacketMetadata.find("packet_out");
    expect(packetOutMetadata(h, {}, 2)).toEqual({ egress_port: 2, flags: 0, pad: 0 });
    expect(packetOutMetadata(h, { flags: "1" }, 2)).toEqual({ egress_port: 2, flags: "1", pad: 0 });
    const e = usageError(() => packetOutMetadata(h, {}, undefined));
    expect(e.message).toMatch(/"egress_port" not given/);
    expect(e.hint).toMatch(/egress_port \(16 bits\), flags \(8 bits\), pad \(8 bits\)/);
  });

  it("p4cast's header: flags default 1 (DIRECT)", async () => {
    const p4cast = new P4InfoIndex(await loadP4Info("p4/build/p4cast.p4info.txtpb"));
    const h = p4cast.controllerPacketMetadata.find("packet_out");
    expect(packetOutMetadata(h, {}, 3)).toEqual({ egress_port: 3, flags: 1 });
    expect(packetOutMetadata(h, { flags: "0" }, 3)).toEqual({ egress_port: 3, flags: "0" });
  });

  it("a program without packet_out takes no --meta", () => {
    expect(packetOutMetadata(undefined, {}, 1)).toEqual({});
    usageError(() => packetOutMetadata(undefined, { a: "1" }, 1));
  });
});

describe("runtime files (p4lang/tutorials notation)", () => {
  it("lpm [v, len], ternary [v, mask], range [lo, hi], exact and optional values", () => {
    expect(matchFromRuntime(rt, "ipv4_lpm", { "hdr.ipv4.dst_addr": ["10.0.1.0", 24] })).toEqual({
      "hdr.ipv4.dst_addr": { value: "10.0.1.0", prefixLen: 24 },
    });
    expect(
      matchFromRuntime(rt, "acl_ternary", {
        "hdr.ipv4.src_addr": ["10.0.0.0", "255.0.0.0"],
        "hdr.udp.dst_port": [1, 5],
        "std.ingress_port": 3,
      }),
    ).toEqual({
      "hdr.ipv4.src_addr": { value: "10.0.0.0", mask: "255.0.0.0" },
      "hdr.udp.dst_port": { low: 1, high: 5 },
      "std.ingress_port": 3,
    });
    expect(matchFromRuntime(rt, "l2_exact", { "hdr.ethernet.dst_addr": "00:00:00:00:00:01" })).toEqual({
      "hdr.ethernet.dst_addr": "00:00:00:00:00:01",
    });
    expect(usageError(() => matchFromRuntime(rt, "l2_exact", { "hdr.ethernet.dst_addr": [1, 2] })).message).toMatch(/takes one value/);
    expect(usageError(() => matchFromRuntime(rt, "ipv4_lpm", { "hdr.ipv4.dst_addr": ["10.0.1.0", "24"] })).message).toMatch(
      /prefix length must be a number/,
    );
    expect(usageError(() => matchFromRuntime(rt, "ipv4_lpm", { "hdr.ipv4.dst_addr": [1, 2, 3] })).message).toMatch(
      /expected \[value, prefix length\]/,
    );
  });

  it("default_action entries are modifies of the default entry; names resolve to full names", () => {
    expect(tableEntryFromRuntime(rt, { table: "ipv4_lpm", default_action: true, action_name: "drop", action_params: {} })).toEqual({
      type: "modify",
      entry: { table: "TestIngress.ipv4_lpm", isDefault: true, action: { name: "TestIngress.drop", params: {} } },
    });
    expect(
      tableEntryFromRuntime(rt, {
        table: "TestIngress.ipv4_lpm",
        match: { "hdr.ipv4.dst_addr": ["10.0.1.1", 32] },
        action_name: "TestIngress.set_nhop",
        action_params: { dmac: "08:00:00:00:01:11", port: 1 },
      }),
    ).toMatchObject({
      type: "insert",
      entry: { action: { name: "TestIngress.set_nhop", params: { dmac: "08:00:00:00:01:11", port: 1 } } },
    });
    expect(() => tableEntryFromRuntime(rt, { table: "MyIngress.ipv4_lpm", action_name: "drop" })).toThrow(
      /did you mean "TestIngress.ipv4_lpm"/,
    );
  });
});

describe("frame summaries", () => {
  it("Ethernet and IPv4; runts", () => {
    expect(summarizeFrame(ipv4Udp({ dst: "10.0.2.7", dport: 9 }))).toBe(
      "00:00:00:00:00:01 > 00:00:00:00:00:02 IPv4 10.0.1.1 > 10.0.2.7 proto 17 ttl 64, 48 bytes",
    );
    expect(summarizeFrame(new Uint8Array(5))).toBe("5 bytes (runt)");
  });
});
