/**
 * The one-switch CLI commands end to end: the p4cast command (test/cli/cli.ts)
 * as a child process against an embedded switch running in this process
 * with the runtime_test program; stdout (--output json) and exit codes,
 * bad input included.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { P4RuntimeClient } from "../../src/client/client.js";
import type { DecodedOf } from "../../src/client/entities/entity.js";
import { PcapWriter, readPcap } from "../../src/switch/ports/pcap.js";
import { fixture } from "../support/fixtures.js";
import { ipv4Udp } from "../support/frames.js";
import { startTarget, type TestTarget } from "../support/targets.js";
import type { Command } from "commander";
import { buildProgram } from "../../src/cli/program.js";
import { at, p4cast, repoRoot } from "./cli.js";

const prog = fixture("runtime_test");

describe("p4cast one-switch commands against the embedded switch", { timeout: 120_000 }, () => {
  let target: TestTarget;
  let g: string[];
  let dir: string;

  beforeAll(async () => {
    target = await startTarget("embedded");
    g = at(target.address);
    dir = mkdtempSync(join(tmpdir(), "p4cast-cli-"));
  });

  afterAll(async () => {
    await target?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("says the device has no pipeline (exit 1, with a hint) before one is pushed", async () => {
    const r = await p4cast(["table", "dump", ...g]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has no pipeline/);
    expect(r.stderr).toMatch(/hint: push one first/);
    // PRE commands need no P4Info: the switch itself says it has no pipeline.
    const m = await p4cast(["mcast", "dump", ...g]);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/hint: the device has no pipeline: push one first/);
  });

  /** Reads with an in-process client that disconnects at once (so the CLI stays primary). */
  async function readAll(...q: Parameters<P4RuntimeClient["readAll"]>): Promise<DecodedOf<"tableEntry">[]> {
    const c = await P4RuntimeClient.connect({ address: target.address, deviceId: 1n, electionId: 1n, reconnect: false });
    try {
      return (await c.readAll(...q)) as DecodedOf<"tableEntry">[];
    } finally {
      c.close();
    }
  }

  /** Runs each argv in turn; one result per argv, in order. */
  async function sequential<const A extends readonly (readonly string[])[]>(
    argvs: A,
  ): Promise<{ -readonly [K in keyof A]: Awaited<ReturnType<typeof p4cast>> }> {
    const out: Awaited<ReturnType<typeof p4cast>>[] = [];
    for (const a of argvs) out.push(await p4cast([...a]));
    return out as { -readonly [K in keyof A]: Awaited<ReturnType<typeof p4cast>> };
  }

  it("pushes the program (client in-process) so the rest can run", async () => {
    const c = await P4RuntimeClient.connect({ address: target.address, deviceId: 1n, electionId: 1n, reconnect: false });
    await c.setPipeline({ p4info: prog.p4info, deviceConfig: prog.deviceConfig, cookie: 7n });
    c.close();
  });

  it("table add / dump / modify / delete with human-readable values", async () => {
    let r = await p4cast([
      "table",
      "add",
      "ipv4_lpm",
      "hdr.ipv4.dst_addr=10.0.2.0/24",
      "--action",
      "set_nhop",
      "--param",
      "dmac=00:00:00:00:02:02",
      "--param",
      "port=2",
      ...g,
      "--output",
      "json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({
      result: "added",
      entry: { table: "TestIngress.ipv4_lpm", match: { "hdr.ipv4.dst_addr": "10.0.2.0/24" } },
    });

    r = await p4cast([
      "table",
      "add",
      "acl_ternary",
      "src_addr=10.0.0.0&&&255.0.0.0",
      "dst_port=1000..2000",
      "ingress_port=3",
      "--action",
      "acl_deny",
      "--priority",
      "10",
      ...g,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^added: TestIngress.acl_ternary/);

    r = await p4cast(["table", "add", "l2_exact", "dst_addr=00:00:00:00:00:0a", "--action", "set_port", "--param", "port=4", ...g]);
    expect(r.code, r.stderr).toBe(0);

    r = await p4cast(["table", "dump", "ipv4_lpm", ...g, "--output", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toEqual([
      { table: "TestIngress.ipv4_lpm", match: {}, default: true, action: { name: "TestIngress.drop", params: {} } },
      {
        table: "TestIngress.ipv4_lpm",
        match: { "hdr.ipv4.dst_addr": "10.0.2.0/24" },
        action: { name: "TestIngress.set_nhop", params: { dmac: "00:00:00:00:02:02", port: "2" } },
      },
    ]);

    r = await p4cast(["table", "dump", ...g, "--output", "json", "--no-defaults"]);
    const all = r.json<{ table: string; match: Record<string, string>; priority?: number; const?: boolean }[]>();
    expect(all.map((e) => e.table).sort()).toEqual([
      "TestIngress.acl_ternary",
      "TestIngress.const_table",
      "TestIngress.ipv4_lpm",
      "TestIngress.l2_exact",
    ]);
    expect(all.find((e) => e.table === "TestIngress.acl_ternary")).toMatchObject({
      priority: 10,
      match: { "hdr.ipv4.src_addr": "10.0.0.0&&&255.0.0.0", "hdr.udp.dst_port": "1000..2000", "std.ingress_port": "3" },
    });
    expect(all.find((e) => e.table === "TestIngress.const_table")).toMatchObject({
      const: true,
      match: { "hdr.ethernet.ether_type": "0x88cc" },
    });

    r = await p4cast(["table", "dump", ...g]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("hdr.ipv4.dst_addr=10.0.2.0/24");
    expect(r.stdout).toContain("TestIngress.set_nhop(dmac=00:00:00:00:02:02, port=2)");

    r = await p4cast(["table", "modify", "ipv4_lpm", "dst_addr=10.0.2.0/24", "--action", "punt", ...g]);
    expect(r.code, r.stderr).toBe(0);
    r = await p4cast([
      "table",
      "modify",
      "ipv4_lpm",
      "--default",
      "--action",
      "set_nhop",
      "--param",
      "dmac=0x2",
      "--param",
      "port=1",
      ...g,
    ]);
    expect(r.code, r.stderr).toBe(0);
    let entries = await readAll({ kind: "tableEntry", table: "ipv4_lpm" });
    expect(entries[0]?.action).toMatchObject({ name: "TestIngress.punt" });
    const def = await readAll({ kind: "tableEntry", table: "ipv4_lpm", isDefault: true });
    expect(def[0]?.action).toMatchObject({ name: "TestIngress.set_nhop", params: { dmac: 2n, port: 1n } });

    r = await p4cast(["table", "delete", "ipv4_lpm", "--default", ...g]);
    expect(r.code, r.stderr).toBe(0);
    r = await p4cast(["table", "delete", "ipv4_lpm", "dst_addr=10.0.2.0/24", ...g]);
    expect(r.code, r.stderr).toBe(0);
    entries = await readAll({ kind: "tableEntry", table: "ipv4_lpm" });
    expect(entries).toEqual([]);
  });

  it("bad input is exit 2 and says what to fix", async () => {
    // One at a time: two clients may not hold the same election id.
    const [unknownTable, tooWide, unknownField, badParam, noAction, noPriority, badOutput, badGrpc, unknownAction, matchTooWide, hostBits] =
      await sequential([
        ["table", "add", "ipv4_lmp", "dst_addr=10.0.0.0/8", "--action", "drop", ...g],
        [
          "table",
          "add",
          "ipv4_lpm",
          "dst_addr=10.0.0.0/8",
          "--action",
          "set_nhop",
          "--param",
          "dmac=00:00:00:00:00:01",
          "--param",
          "port=512",
          ...g,
        ],
        ["table", "add", "ipv4_lpm", "dst_adr=10.0.0.0/8", "--action", "drop", ...g],
        ["table", "add", "ipv4_lpm", "dst_addr=10.0.0.0/8", "--action", "set_nhop", "--param", "dmac=00:00:00:00:00:01", ...g],
        ["table", "add", "ipv4_lpm", "dst_addr=10.0.0.0/8", ...g],
        ["table", "add", "acl_ternary", "protocol=17", "--action", "acl_permit", ...g],
        ["table", "dump", "--output", "yaml", ...g],
        ["table", "dump", "--grpc", "localhost"],
        ["table", "add", "ipv4_lpm", "dst_addr=10.0.0.0/8", "--action", "set_port", "--param", "port=1", ...g],
        ["table", "add", "acl_ternary", "protocol=0x1ff&&&0xff", "--action", "acl_permit", "--priority", "1", ...g],
        ["table", "add", "ipv4_lpm", "dst_addr=10.1.2.3/8", "--action", "drop", ...g],
      ]);
    expect(unknownTable.code).toBe(2);
    expect(unknownTable.stderr).toMatch(/unknown table "ipv4_lmp"; did you mean "TestIngress.ipv4_lpm"\?/);
    expect(tooWide.code).toBe(2);
    expect(tooWide.stderr).toMatch(/set_nhop\.port \(bit<9>\): value "512" is wider than 9 bits/);
    expect(tooWide.stderr).toMatch(/hint: TestIngress.ipv4_lpm hdr.ipv4.dst_addr=<lpm, 32 bits>/);
    expect(unknownField.code).toBe(2);
    expect(unknownField.stderr).toMatch(/unknown match field of table "TestIngress.ipv4_lpm" "dst_adr"; did you mean "hdr.ipv4.dst_addr"/);
    expect(badParam.code).toBe(2);
    expect(badParam.stderr).toMatch(/missing parameter "port"/);
    expect(noAction.code).toBe(2);
    expect(noAction.stderr).toMatch(/needs --action/);
    expect(noPriority.code).toBe(2);
    expect(noPriority.stderr).toMatch(/need a priority/);
    expect(badOutput.code).toBe(2);
    expect(badOutput.stderr).toMatch(/--output must be "table" or "json"/);
    expect(badGrpc.code).toBe(2);
    expect(badGrpc.stderr).toMatch(/--grpc must be <host>:<port>/);
    expect(unknownAction.code).toBe(2);
    expect(unknownAction.stderr).toMatch(/action "TestIngress.set_port" is not an action of table "TestIngress.ipv4_lpm"/);
    expect(unknownAction.stderr).toMatch(/hint: its actions: TestIngress.set_nhop, TestIngress.drop, TestIngress.punt/);
    expect(matchTooWide.code).toBe(2);
    expect(matchTooWide.stderr).toMatch(/hdr\.ipv4\.protocol \(bit<8>\): value "0x1ff" is wider than 8 bits/);
    expect(hostBits.code).toBe(2);
    expect(hostBits.stderr).toMatch(/hdr\.ipv4\.dst_addr \(lpm, 32 bits\): "10\.1\.2\.3\/8" has bits set beyond the \/8 prefix/);
  });

  it("user errors outside table commands: exit 2, one line, no stack trace", async () => {
    const [switchPort, switchHost, switchIface, unknownOption, badTopology] = await sequential([
      ["switch", "--grpc", "127.0.0.1:99999"],
      ["switch", "--grpc", "nohost"],
      ["switch", "--interface", "eth0"],
      ["deploy", "-t", "examples/line3.yaml", "--connect-timeout", "5"],
      ["topology", "check", "test/controller/fixtures/duplicate-host-ipv4.yaml"],
    ]);
    for (const r of [switchPort, switchHost, switchIface, unknownOption, badTopology]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    }
    expect(switchPort.stderr).toMatch(
      /^p4cast: error: --grpc must be <host>:<port>, e\.g\. 127\.0\.0\.1:9559 \(got "127\.0\.0\.1:99999"\)$/m,
    );
    expect(switchHost.stderr).toMatch(/--grpc must be <host>:<port>.*\(got "nohost"\)/);
    expect(switchIface.stderr).toMatch(/^p4cast: error: --interface wants <port>@<interface>.*got "eth0"/m);
    expect(unknownOption.stderr).toMatch(/unknown option '--connect-timeout'/);
    expect(badTopology.stderr).toMatch(/hosts\[4\]\.ipv4: 10\.0\.3\.2 is also hosts\[1\]\.ipv4/);
    // An address in use (the test switch's): the operation failed, exit 1, with a hint.
    const inUse = await p4cast(["switch", "--grpc", target.address]);
    expect(inUse.code, inUse.stderr).toBe(1);
    expect(inUse.stderr).toMatch(new RegExp(`^p4cast: error: cannot listen on ${target.address.replace(/\./g, "\\.")}: `, "m"));
    expect(inUse.stderr).toMatch(/^hint: is another switch listening on that address/m);
    expect(inUse.stderr).not.toMatch(/^\s+at /m);
  });

  it("an existing entry is exit 1 with a hint to use modify", async () => {
    const args = ["table", "add", "l2_exact", "dst_addr=00:00:00:00:00:0a", "--action", "drop", ...g];
    const r = await p4cast(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ALREADY_EXISTS/);
    expect(r.stderr).toMatch(/hint: it exists already: use modify/);
  });

  it("an unreachable --grpc is exit 3", async () => {
    const r = await p4cast(["table", "dump", "--grpc", "127.0.0.1:1", "--connect-timeout", "1500"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot reach a P4Runtime server at 127.0.0.1:1/);
    expect(r.stderr).toMatch(/hint: is the switch running/);
  });

  it("mcast set (insert, then modify) / dump / delete, and clone sessions", async () => {
    let r = await p4cast(["mcast", "set", "1", "--replica", "1", "--replica", "2:1", ...g, "--output", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ result: "inserted", groupId: 1 });
    r = await p4cast(["mcast", "set", "1", "--replica", "1,3", ...g, "--output", "json"]);
    expect(r.json()).toMatchObject({ result: "modified" });
    r = await p4cast(["mcast", "set", "2", "--replica", "4", ...g]);
    expect(r.code, r.stderr).toBe(0);
    r = await p4cast(["mcast", "dump", ...g, "--output", "json"]);
    expect(r.json()).toEqual([
      {
        groupId: 1,
        replicas: [
          { port: 1, instance: 0 },
          { port: 3, instance: 0 },
        ],
      },
      { groupId: 2, replicas: [{ port: 4, instance: 0 }] },
    ]);
    r = await p4cast(["mcast", "delete", "2", ...g]);
    expect(r.code, r.stderr).toBe(0);
    r = await p4cast(["mcast", "dump", "2", ...g]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/there is no multicast group 2/);
    r = await p4cast(["mcast", "set", "3", "--replica", "x", ...g]);
    expect(r.code).toBe(2);

    r = await p4cast(["clone", "set", "100", "--replica", "255", "--truncate", "128", ...g]);
    expect(r.code, r.stderr).toBe(0);
    r = await p4cast(["clone", "dump", ...g, "--output", "json"]);
    expect(r.json()).toEqual([{ sessionId: 100, replicas: [{ port: 255, instance: 0 }], classOfService: 0, packetLengthBytes: 128 }]);
    r = await p4cast(["clone", "delete", "100", ...g]);
    expect(r.code, r.stderr).toBe(0);
  });

  it("counter read (indexed and direct) counts traffic; counter reset", async () => {
    const h1 = target.hosts!.get(1)!;
    for (let i = 0; i < 3; i++) h1.send(ipv4Udp({ dst: "10.0.9.9", dport: 1500 }));
    await new Promise((r) => setTimeout(r, 300));
    let r = await p4cast(["counter", "read", "port_counter", "--index", "1", ...g, "--output", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const [cell] = r.json<{ counter: string; index: number; packets: number; bytes: number }[]>();
    expect(cell).toMatchObject({ counter: "TestIngress.port_counter", index: 1, packets: 3 });
    expect(cell!.bytes).toBeGreaterThan(3 * 40);

    r = await p4cast(["counter", "read", "port_counter", ...g, "--output", "json"]);
    expect(r.json<unknown[]>()).toHaveLength(64);

    // Direct counter of the acl entry added above (src 10/8, dst_port 1000..2000, ingress_port 3): traffic from port 1 misses it.
    r = await p4cast([
      "counter",
      "read",
      "--table",
      "acl_ternary",
      "src_addr=10.0.0.0&&&255.0.0.0",
      "dst_port=1000..2000",
      "ingress_port=3",
      "--priority",
      "10",
      ...g,
      "--output",
      "json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toEqual([
      {
        table: "TestIngress.acl_ternary",
        match: { "hdr.ipv4.src_addr": "10.0.0.0&&&255.0.0.0", "hdr.udp.dst_port": "1000..2000", "std.ingress_port": "3" },
        priority: 10,
        packets: 0,
        bytes: 0,
      },
    ]);
    r = await p4cast(["counter", "read", "acl_counter", ...g, "--output", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<unknown[]>()).toHaveLength(1);

    r = await p4cast(["counter", "reset", "port_counter", "--index", "1", ...g]);
    expect(r.code, r.stderr).toBe(0);
    r = await p4cast(["counter", "read", "port_counter", "--index", "1", ...g, "--output", "json"]);
    expect(r.json()).toEqual([{ counter: "TestIngress.port_counter", index: 1, packets: 0, bytes: 0 }]);

    r = await p4cast(["counter", "read", "port_countr", ...g]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/did you mean "TestIngress.port_counter"/);
    r = await p4cast(["counter", "read", "port_counter", "--index", "64", ...g]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/index 64 is outside 0..63/);
  });

  it("meter set / read / reset, indexed and direct", async () => {
    let r = await p4cast([
      "meter",
      "set",
      "port_meter",
      "--index",
      "1",
      "--cir",
      "1000",
      "--cburst",
      "100",
      "--pir",
      "2000",
      "--pburst",
      "200",
      ...g,
    ]);
    expect(r.code, r.stderr).toBe(0);
    r = await p4cast(["meter", "read", "port_meter", "--index", "1", ...g, "--output", "json"]);
    expect(r.json()).toEqual([
      { meter: "TestIngress.port_meter", index: 1, unit: "bytes", config: { cir: 1000, cburst: 100, pir: 2000, pburst: 200 } },
    ]);
    r = await p4cast(["meter", "reset", "port_meter", "--index", "1", ...g]);
    expect(r.code, r.stderr).toBe(0);
    r = await p4cast(["meter", "read", "port_meter", "--index", "1", ...g, "--output", "json"]);
    expect(r.json()).toEqual([{ meter: "TestIngress.port_meter", index: 1, unit: "bytes", config: null }]);

    const key = ["src_addr=10.0.0.0&&&255.0.0.0", "dst_port=1000..2000", "ingress_port=3", "--priority", "10"];
    r = await p4cast(["meter", "set", "acl_meter", ...key, "--cir", "10", "--cburst", "5", "--pir", "20", "--pburst", "10", ...g]);
    expect(r.code, r.stderr).toBe(0);
    r = await p4cast(["meter", "read", "--table", "acl_ternary", ...g, "--output", "json"]);
    expect(r.json()).toEqual([
      {
        table: "TestIngress.acl_ternary",
        match: { "hdr.ipv4.src_addr": "10.0.0.0&&&255.0.0.0", "hdr.udp.dst_port": "1000..2000", "std.ingress_port": "3" },
        priority: 10,
        unit: "packets",
        config: { cir: 10, cburst: 5, pir: 20, pburst: 10 },
      },
    ]);

    r = await p4cast([
      "meter",
      "set",
      "port_meter",
      "--index",
      "1",
      "--cir",
      "1000",
      "--cburst",
      "100",
      "--pir",
      "20",
      "--pburst",
      "200",
      ...g,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--pir \(20\) must be at least --cir \(1000\)/);
    r = await p4cast(["meter", "set", "port_meter", "--cir", "1", "--cburst", "1", "--pir", "1", "--pburst", "1", ...g]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pass --index/);
  });

  it("register read / write through registerAccess (P4Runtime on the embedded switch)", async () => {
    let r = await p4cast(["register", "write", "last_seen", "--index", "5", "0x2a", ...g, "--output", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ result: "written", register: "TestIngress.last_seen", index: 5, value: 42, via: "p4runtime" });
    r = await p4cast(["register", "read", "last_seen", "--index", "5", ...g, "--output", "json"]);
    expect(r.json()).toEqual({
      register: "TestIngress.last_seen",
      via: "p4runtime",
      bitwidth: 32,
      signed: false,
      cells: [{ index: 5, value: 42 }],
    });
    r = await p4cast(["register", "write", "signed_cells", "--index", "2", "-5", ...g]);
    expect(r.code, r.stderr).toBe(0);
    r = await p4cast(["register", "read", "signed_cells", ...g, "--output", "json"]);
    expect(r.json<{ cells: { value: number }[] }>().cells.map((x) => x.value)).toEqual([0, 0, -5, 0]);

    const [wide, badIndex, badSigned] = await sequential([
      ["register", "write", "last_seen", "--index", "1", "0x100000000", ...g],
      ["register", "read", "last_seen", "--index", "8", ...g],
      ["register", "write", "signed_cells", "--index", "1", "40000", ...g],
    ]);
    expect(wide.code).toBe(2);
    expect(wide.stderr).toMatch(/register "TestIngress.last_seen" \(bit<32>\): value "0x100000000" is wider than 32 bits/);
    expect(badIndex.code).toBe(2);
    expect(badIndex.stderr).toMatch(/index 8 is outside 0..7/);
    expect(badSigned.code).toBe(2);
    expect(badSigned.stderr).toMatch(/outside -32768..32767/);
  });

  it("packet send: --hex and --pcap frames leave the given port", async () => {
    const h2 = target.hosts!.get(2)!;
    const before = h2.received.length;
    const frame = ipv4Udp({ dst: "10.0.2.7", dport: 7000 });
    let r = await p4cast(["packet", "send", "--port", "2", "--hex", Buffer.from(frame).toString("hex"), ...g, "--output", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toEqual({ result: "sent", packets: 1, metadata: { egress_port: 2, flags: 0, pad: 0 } });
    await h2.waitFor(before + 1, 2000);
    expect(Buffer.from(h2.received[before]!).toString("hex")).toBe(Buffer.from(frame).toString("hex"));

    const pcap = join(dir, "out.pcap");
    const w = new PcapWriter(pcap);
    w.write(ipv4Udp({ dst: "10.0.2.8", dport: 1 }));
    w.write(ipv4Udp({ dst: "10.0.2.9", dport: 2 }));
    w.close();
    r = await p4cast(["packet", "send", "--port", "2", "--pcap", pcap, ...g]);
    expect(r.code, r.stderr).toBe(0);
    await h2.waitFor(before + 3, 2000);
    expect(h2.received.length).toBe(before + 3);

    const [bad, missing, unknown, both] = await sequential([
      ["packet", "send", "--port", "2", "--hex", "0g", ...g],
      ["packet", "send", "--hex", "00", ...g],
      ["packet", "send", "--port", "2", "--hex", "00", "--meta", "colour=1", ...g],
      ["packet", "send", "--port", "2", ...g],
    ]);
    expect(bad.code).toBe(2);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/"egress_port" not given/);
    expect(missing.stderr).toMatch(/hint: pass --port/);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/"colour"/);
    expect(both.code).toBe(2);
  });

  it("packet capture prints packet-ins with metadata and writes a pcap", async () => {
    const wr = await p4cast(["table", "add", "ipv4_lpm", "dst_addr=10.0.99.0/24", "--action", "punt", ...g]);
    expect(wr.code, wr.stderr).toBe(0);
    const pcap = join(dir, "in.pcap");
    let sent = false;
    const h3 = target.hosts!.get(3)!;
    const run = p4cast(["packet", "capture", "--count", "2", "--timeout", "10", "--pcap", pcap, ...g, "--output", "json"], {
      onStderr: (text) => {
        if (!sent && text.includes("capturing")) {
          sent = true;
          setTimeout(() => {
            h3.send(ipv4Udp({ dst: "10.0.99.1", dport: 9 }));
            h3.send(ipv4Udp({ dst: "10.0.99.2", dport: 9 }));
          }, 100);
        }
      },
    });
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { n: number; metadata: Record<string, number>; summary: string; length: number });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ n: 1, metadata: { ingress_port: 3, reason: 1 } });
    expect(lines[0]!.summary).toMatch(/IPv4 10\.0\.1\.1 > 10\.0\.99\.1 proto 17/);
    const recs = readPcap(pcap);
    expect(recs).toHaveLength(2);
    expect(recs[1]!.data.length).toBe(lines[1]!.length);
  });

  it("packet capture with --count fails (exit 1) when too few arrive before --timeout", async () => {
    const r = await p4cast(["packet", "capture", "--count", "1", "--timeout", "0.5", ...g]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/captured 0 of 1 packet-in\(s\)/);
  });

  it("a backup client can read but not write (last: the switch remembers the highest election id)", async () => {
    const other = await P4RuntimeClient.connect({ address: target.address, deviceId: 1n, electionId: 50n, reconnect: false });
    try {
      const read = await p4cast(["table", "dump", "l2_exact", ...g, "--output", "json"]);
      expect(read.code, read.stderr).toBe(0);
      const write = await p4cast(["table", "add", "l2_exact", "dst_addr=00:00:00:00:00:0b", "--action", "drop", ...g]);
      expect(write.code).toBe(1);
      expect(write.stderr).toMatch(/is a backup: another controller is primary with election id 50/);
      expect(write.stderr).toMatch(/hint: pass --election-id 51/);
      const primary = await p4cast([
        "table",
        "add",
        "l2_exact",
        "dst_addr=00:00:00:00:00:0b",
        "--action",
        "drop",
        ...g,
        "--election-id",
        "51",
      ]);
      expect(primary.code, primary.stderr).toBe(0);
    } finally {
      other.close();
    }
  });

  it("every command has --help", async () => {
    // Every command and subcommand of the command tree, rendered in-process (commander's own help);
    // one real process below checks that `--help` reaches it and prints the examples.
    const all: Command[] = [];
    const walk = (c: Command): void => {
      for (const sub of c.commands) {
        all.push(sub);
        walk(sub);
      }
    };
    walk(buildProgram());
    const names = (c: Command): string => (c.parent && c.parent.name() !== "p4cast" ? `${names(c.parent)} ${c.name()}` : c.name());
    expect(all.map(names)).toEqual(
      expect.arrayContaining([
        "table add",
        "table dump",
        "mcast set",
        "clone dump",
        "counter read",
        "meter set",
        "register write",
        "packet send",
        "packet capture",
        "runtime",
        "codegen",
      ]),
    );
    for (const c of all) {
      expect(c.helpInformation(), names(c)).toMatch(new RegExp(`^Usage: p4cast ${names(c)}`));
      expect(c.description(), `${names(c)} has a description`).not.toBe("");
    }
    const table = await p4cast(["table", "--help"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/Usage: p4cast table/);
    expect(table.stdout).toMatch(/Examples:/);
  });
});

describe("p4cast packet send on p4cast's own data plane", { timeout: 120_000 }, () => {
  let target: TestTarget;
  let dir: string;

  beforeAll(async () => {
    target = await startTarget("embedded");
    dir = mkdtempSync(join(tmpdir(), "p4cast-cli-"));
  });

  afterAll(async () => {
    await target?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("flags default to 1 (DIRECT): the frame leaves --port unchanged", async () => {
    const file = join(dir, "p4cast-runtime.json");
    writeFileSync(
      file,
      JSON.stringify({
        p4info: join(repoRoot, "p4/build/p4cast.p4info.txtpb"),
        bmv2_json: join(repoRoot, "p4/build/p4cast.json"),
        table_entries: [],
      }),
    );
    let r = await p4cast(["runtime", file, ...at(target.address)]);
    expect(r.code, r.stderr).toBe(0);
    const frame = ipv4Udp({ dst: "10.9.9.9", dport: 5 });
    r = await p4cast([
      "packet",
      "send",
      "--port",
      "2",
      "--hex",
      Buffer.from(frame).toString("hex"),
      ...at(target.address),
      "--output",
      "json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toEqual({ result: "sent", packets: 1, metadata: { egress_port: 2, flags: 1 } });
    const h2 = target.hosts!.get(2)!;
    await h2.waitFor(1, 2000);
    expect(h2.received.map((f) => Buffer.from(f).toString("hex"))).toEqual([Buffer.from(frame).toString("hex")]);
  });
});
