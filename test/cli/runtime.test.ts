/**
 * `p4cast runtime` with a p4lang/tutorials-style runtime file for the
 * runtime_test program (test/cli/fixtures/s1-runtime.json): pipeline push
 * with a cookie (skipped when unchanged, unless --force), every entry kind
 * written, idempotent re-application, and bad or failing entries reported
 * with their position in the file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { P4RuntimeClient } from "../../src/client/client.js";
import type { DecodedOf } from "../../src/client/entities/entity.js";
import { startTarget, targets, type TestTarget } from "../support/targets.js";
import { fixtureBuildDir } from "../support/fixtures.js";
import { ipv4Udp } from "../support/frames.js";
import { at, p4cast, repoRoot } from "./cli.js";
import { defaultBuildDir, loadPipeline, pipelineCookie } from "../../src/controller/pipeline.js";

const runtimeFile = join(repoRoot, "test", "cli", "fixtures", "s1-runtime.json");

describe("p4cast runtime <sN-runtime.json>", { timeout: 120_000 }, () => {
  let target: TestTarget;
  let g: string[];
  let dir: string;

  beforeAll(async () => {
    target = await startTarget("embedded");
    g = at(target.address);
    dir = mkdtempSync(join(tmpdir(), "p4cast-runtime-"));
  });

  afterAll(async () => {
    await target?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function read<K extends "tableEntry" | "multicastGroup" | "cloneSession">(kind: K, q: object = {}): Promise<DecodedOf<K>[]> {
    const c = await P4RuntimeClient.connect({ address: target.address, deviceId: 1n, electionId: 1n, reconnect: false });
    try {
      return (await c.readAll({ kind, ...q } as never)) as DecodedOf<K>[];
    } finally {
      c.close();
    }
  }

  it("--dry-run checks the file without touching the switch", async () => {
    const r = await p4cast(["runtime", runtimeFile, "--dry-run", "--output", "json", "--grpc", "127.0.0.1:1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({
      result: "valid",
      entries: { table_entries: 6, multicast_group_entries: 1, clone_session_entries: 1 },
    });
  });

  it("pushes the pipeline and writes every entry; paths are relative to the file", async () => {
    const r = await p4cast(["runtime", "test/cli/fixtures/s1-runtime.json", ...g, "--output", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json();
    expect(out.pipeline).toBe("pushed");
    expect(out.cookie).toMatch(/^0x[0-9a-f]+$/);
    expect(out.results).toEqual([
      { kind: "table_entries", inserted: 5, modified: 1, failed: 0 },
      { kind: "multicast_group_entries", inserted: 1, modified: 0, failed: 0 },
      { kind: "clone_session_entries", inserted: 1, modified: 0, failed: 0 },
    ]);
    const lpm = await read("tableEntry", { table: "ipv4_lpm" });
    expect(lpm).toHaveLength(3);
    const acl = await read("tableEntry", { table: "acl_ternary" });
    expect(acl[0]).toMatchObject({
      priority: 10,
      match: { "hdr.udp.dst_port": { kind: "range", low: 1000n, high: 2000n }, "std.ingress_port": { kind: "optional", value: 1n } },
    });
    const def = await read("tableEntry", { table: "ipv4_lpm", isDefault: true });
    expect(def[0]?.action).toMatchObject({ name: "TestIngress.drop" });
    const groups = await read("multicastGroup", { groupId: 0 });
    expect(groups).toEqual([
      {
        kind: "multicastGroup",
        groupId: 1,
        replicas: [
          { port: 1, instance: 1 },
          { port: 2, instance: 1 },
          { port: 3, instance: 1 },
        ],
      },
    ]);
    const clones = await read("cloneSession", { sessionId: 0 });
    expect(clones[0]).toMatchObject({ sessionId: 100, replicas: [{ port: 255, instance: 0 }] });
  });

  it("the entries forward traffic (10.0.2.0/24 → port 2 with the new MAC)", async () => {
    const h1 = target.hosts!.get(1)!;
    const h2 = target.hosts!.get(2)!;
    const before = h2.received.length;
    h1.send(ipv4Udp({ dst: "10.0.2.5", dport: 80 }));
    await h2.waitFor(before + 1, 2000);
    expect(Buffer.from(h2.received[before]!.subarray(0, 6)).toString("hex")).toBe("080000000222");
  });

  it("applying the file again skips the pipeline (same cookie) and modifies the entries; --force pushes", async () => {
    let r = await p4cast(["runtime", runtimeFile, ...g, "--output", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({
      pipeline: "unchanged",
      results: [{ kind: "table_entries", inserted: 0, modified: 6, failed: 0 }, { modified: 1 }, { modified: 1 }],
    });
    r = await p4cast(["runtime", runtimeFile, ...g]);
    expect(r.stdout).toMatch(/pipeline unchanged/);
    r = await p4cast(["runtime", runtimeFile, ...g, "--force", "--output", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ pipeline: "pushed", results: [{ inserted: 5, modified: 1 }, { inserted: 1 }, { inserted: 1 }] });
  });

  it("--no-pipeline writes the entries to the pipeline the switch runs", async () => {
    const r = await p4cast(["runtime", runtimeFile, "--no-pipeline", ...g, "--output", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({
      pipeline: "skipped",
      results: [{ kind: "table_entries", modified: 6, failed: 0 }, { modified: 1 }, { modified: 1 }],
    });
  });

  it("bad entries: exit 2, each named by its position, nothing written", async () => {
    const file = JSON.parse(readFileSync(runtimeFile, "utf8"));
    file.p4info = join(fixtureBuildDir, "runtime_test.p4info.txtpb");
    file.bmv2_json = join(fixtureBuildDir, "runtime_test.json");
    file.table_entries = [
      {
        table: "TestIngress.ipv4_lpm",
        match: { "hdr.ipv4.dst_addr": ["10.0.50.0", 24] },
        action_name: "TestIngress.drop",
        action_params: {},
      },
      { table: "ipv4_lmp", match: { "hdr.ipv4.dst_addr": ["10.0.7.0", 24] }, action_name: "drop", action_params: {} },
      {
        table: "ipv4_lpm",
        match: { "hdr.ipv4.dst_addr": ["10.0.7.0", 24] },
        action_name: "set_nhop",
        action_params: { dmac: "00:00:00:00:00:01", port: 512 },
      },
      { table: "ipv4_lpm", match: { "hdr.ipv4.dst_addr": ["10.0.7.1", 24] }, action_name: "drop", action_params: {} },
    ];
    file.multicast_group_entries = [{ multicast_group_id: 5, replicas: [{ egress_port: 1 }, { egress_port: 1 }] }];
    const path = join(dir, "bad-runtime.json");
    writeFileSync(path, JSON.stringify(file));
    const r = await p4cast(["runtime", path, ...g]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/4 bad entries, nothing was written/);
    expect(r.stderr).toMatch(/table_entries\[1\] \(ipv4_lmp .*\): unknown table "ipv4_lmp"; did you mean "TestIngress.ipv4_lpm"\?/);
    expect(r.stderr).toMatch(/table_entries\[2\] .*set_nhop.port \(bit<9>\): value 512 is wider than 9 bits/);
    expect(r.stderr).toMatch(/table_entries\[3\] .*bits set beyond the \/24 prefix/);
    expect(r.stderr).toMatch(/multicast_group_entries\[0\] .*listed twice/);
    expect(r.stderr.indexOf("table_entries[1]")).toBeLessThan(r.stderr.indexOf("multicast_group_entries[0]"));
    expect(
      (await read("tableEntry", { table: "ipv4_lpm" })).some((e) =>
        JSON.stringify(e.match, (_k, v) => (typeof v === "bigint" ? String(v) : v)).includes(String(0x0a003200)),
      ),
    ).toBe(false);
  });

  it("entries the switch rejects: exit 1, each with its position and the switch's reason; the others are written", async () => {
    const file = {
      p4info: join(fixtureBuildDir, "runtime_test.p4info.txtpb"),
      bmv2_json: join(fixtureBuildDir, "runtime_test.json"),
      table_entries: [
        { table: "ipv4_lpm", match: { "hdr.ipv4.dst_addr": ["10.0.60.0", 24] }, action_name: "drop", action_params: {} },
        { table: "const_table", match: { "hdr.ethernet.ether_type": 2048 }, action_name: "NoAction", action_params: {} },
        { table: "ipv4_lpm", match: { "hdr.ipv4.dst_addr": ["10.0.61.0", 24] }, action_name: "punt", action_params: {} },
      ],
    };
    const path = join(dir, "rejected-runtime.json");
    writeFileSync(path, JSON.stringify(file));
    const r = await p4cast(["runtime", path, ...g, "--output", "json"]);
    expect(r.code).toBe(1);
    expect(r.json()).toMatchObject({
      results: [{ kind: "table_entries", inserted: 2, failed: 1 }],
      failures: [{ where: "table_entries[1]", code: "PERMISSION_DENIED" }],
    });
    expect(r.stderr).toMatch(/1 entry of .* failed:\n {2}table_entries\[1\] \(const_table/);
  });

  it("a pipeline has one cookie whichever command pushed it: `runtime` and `deploy` agree", async () => {
    const file = join(dir, "p4cast-runtime.json");
    writeFileSync(
      file,
      JSON.stringify({
        target: "bmv2",
        p4info: join(defaultBuildDir, "p4cast.p4info.txtpb"),
        bmv2_json: join(defaultBuildDir, "p4cast.json"),
        table_entries: [],
      }),
    );
    const r = await p4cast(["runtime", file, ...g, "--force", "--output", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const pipeline = await loadPipeline();
    expect(BigInt(r.json().cookie)).toBe(pipeline.cookie);
    const c = await P4RuntimeClient.connect({ address: target.address, deviceId: 1n, electionId: 1n, reconnect: false });
    try {
      expect(await c.pipelineCookie()).toBe(pipeline.cookie);
    } finally {
      c.close();
    }
    // The cookie depends on both halves.
    expect(pipelineCookie(pipeline.p4info, new Uint8Array([1]))).not.toBe(pipeline.cookie);
  });

  it("missing files and bad JSON are exit 2 with what to fix", async () => {
    const missing = join(dir, "missing-runtime.json");
    writeFileSync(missing, JSON.stringify({ p4info: "build/nope.p4info.txtpb", bmv2_json: "build/nope.json", table_entries: [] }));
    const notJson = join(dir, "broken.json");
    writeFileSync(notJson, "{ table_entries: ");
    const r1 = await p4cast(["runtime", missing, ...g]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/"p4info" names build\/nope.p4info.txtpb, found neither at/);
    const r2 = await p4cast(["runtime", notJson, ...g]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/is not valid JSON/);
    const r3 = await p4cast(["runtime", join(dir, "absent.json"), ...g]);
    expect(r3.code).toBe(2);
  });
});

describe.each(targets())("p4cast runtime with a 1,000-entry file against %s", { timeout: 120_000 }, (kind) => {
  let target: TestTarget;
  let dir: string;

  beforeAll(async () => {
    target = await startTarget(kind);
    dir = mkdtempSync(join(tmpdir(), "p4cast-runtime-big-"));
  });

  afterAll(async () => {
    await target?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("applies it, then applies it again harmlessly (every insert found present becomes a modify)", async () => {
    const mac = (i: number) => `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, "0")}:${(i & 0xff).toString(16).padStart(2, "0")}`;
    const file = {
      p4info: join(fixtureBuildDir, "runtime_test.p4info.txtpb"),
      bmv2_json: join(fixtureBuildDir, "runtime_test.json"),
      table_entries: Array.from({ length: 1000 }, (_, i) => ({
        table: "TestIngress.l2_exact",
        match: { "hdr.ethernet.dst_addr": mac(i) },
        action_name: "TestIngress.set_port",
        action_params: { port: 1 + (i % 4) },
      })),
    };
    const path = join(dir, "big-runtime.json");
    writeFileSync(path, JSON.stringify(file));
    const g = at(target.address);
    let t0 = performance.now();
    const first = await p4cast(["runtime", path, ...g, "--output", "json"]);
    const firstMs = performance.now() - t0;
    expect(first.code, first.stderr).toBe(0);
    expect(first.json()).toMatchObject({
      pipeline: "pushed",
      results: [{ kind: "table_entries", inserted: 1000, modified: 0, failed: 0 }],
    });
    t0 = performance.now();
    const second = await p4cast(["runtime", path, ...g, "--output", "json"]);
    const secondMs = performance.now() - t0;
    expect(second.code, second.stderr).toBe(0);
    expect(second.json()).toMatchObject({
      pipeline: "unchanged",
      results: [{ kind: "table_entries", inserted: 0, modified: 1000, failed: 0 }],
      failures: [],
    });
    console.log(
      `[p4cast tests] ${kind}: 1,000-entry runtime file applied in ${firstMs.toFixed(0)} ms, ` +
        `re-applied in ${secondMs.toFixed(0)} ms (command runs, process start included)`,
    );
    // Well under the client's 30 s deadline, which the re-run used to hit.
    expect(secondMs).toBeLessThan(20_000);
    const c = await P4RuntimeClient.connect({ address: target.address, deviceId: target.deviceId, electionId: 1n, reconnect: false });
    try {
      const entries = (await c.readAll({ kind: "tableEntry", table: "l2_exact" })) as DecodedOf<"tableEntry">[];
      expect(entries).toHaveLength(1000);
    } finally {
      c.close();
    }
  });
});
