/**
 * The one-switch commands against a real simple_switch_grpc (started by the
 * harness when it is on PATH): the runtime file, table dump, counters,
 * meters, multicast groups, and registers through BMv2's Thrift runtime
 * (simple_switch_grpc has no P4Runtime RegisterEntry).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeWith } from "../support/skips.js";
import { join } from "node:path";
import { bmv2Available, startTarget, type TestTarget } from "../support/targets.js";
import { at, p4cast, repoRoot } from "./cli.js";

const runtimeFile = join(repoRoot, "test", "cli", "fixtures", "s1-runtime.json");
describeWith(
  "p4cast one-switch commands against simple_switch_grpc",
  [{ tool: "simple_switch_grpc", missing: bmv2Available ? undefined : "not on PATH (build BMv2 with PI)" }],
  () => {
    let target: TestTarget;
    let g: string[];

    beforeAll(async () => {
      target = await startTarget("bmv2");
      g = at(target.address);
    });

    afterAll(async () => {
      await target?.stop();
    });

    it("runtime pushes the pipeline and every entry; again: unchanged, all modified", async () => {
      let r = await p4cast(["runtime", runtimeFile, ...g, "--output", "json"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json()).toMatchObject({
        pipeline: "pushed",
        results: [
          { kind: "table_entries", inserted: 5, modified: 1, failed: 0 },
          { kind: "multicast_group_entries", inserted: 1, failed: 0 },
          { kind: "clone_session_entries", inserted: 1, failed: 0 },
        ],
      });
      r = await p4cast(["runtime", runtimeFile, ...g, "--output", "json"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json()).toMatchObject({
        pipeline: "unchanged",
        results: [{ inserted: 0, modified: 6, failed: 0 }, { modified: 1 }, { modified: 1 }],
      });
    });

    it("table add / dump with human-readable values", async () => {
      let r = await p4cast([
        "table",
        "add",
        "ipv4_lpm",
        "dst_addr=10.0.3.0/24",
        "--action",
        "set_nhop",
        "--param",
        "dmac=00:00:00:00:03:03",
        "--param",
        "port=3",
        ...g,
      ]);
      expect(r.code, r.stderr).toBe(0);
      r = await p4cast(["table", "dump", "ipv4_lpm", "--no-defaults", ...g, "--output", "json"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json()).toContainEqual({
        table: "TestIngress.ipv4_lpm",
        match: { "hdr.ipv4.dst_addr": "10.0.3.0/24" },
        action: { name: "TestIngress.set_nhop", params: { dmac: "00:00:00:00:03:03", port: "3" } },
      });
    });

    it("registers go through Thrift (--thrift)", async () => {
      const thrift = ["--thrift", `127.0.0.1:${target.thriftPort}`];
      let r = await p4cast(["register", "write", "last_seen", "--index", "3", "1234", ...g, ...thrift, "--output", "json"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json()).toMatchObject({ via: "thrift", value: 1234 });
      r = await p4cast(["register", "read", "last_seen", "--index", "3", ...g, ...thrift, "--output", "json"]);
      expect(r.json()).toMatchObject({ via: "thrift", cells: [{ index: 3, value: 1234 }] });
      r = await p4cast(["register", "write", "signed_cells", "--index", "1", "-5", ...g, ...thrift]);
      expect(r.code, r.stderr).toBe(0);
      r = await p4cast(["register", "read", "signed_cells", ...g, ...thrift, "--output", "json"]);
      expect(r.json().cells.map((c: { value: number }) => c.value)).toEqual([0, -5, 0, 0]);
      r = await p4cast(["register", "read", "last_seen", ...g, "--thrift", "127.0.0.1:1"]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/hint: .*--thrift/);
    });

    it("counters, meters and multicast groups", async () => {
      let r = await p4cast(["counter", "read", "port_counter", "--index", "1", ...g, "--output", "json"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json()).toEqual([{ counter: "TestIngress.port_counter", index: 1, packets: 0, bytes: 0 }]);
      r = await p4cast([
        "meter",
        "set",
        "port_meter",
        "--index",
        "2",
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
      r = await p4cast(["meter", "read", "port_meter", "--index", "2", ...g, "--output", "json"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json()[0]).toMatchObject({ meter: "TestIngress.port_meter", index: 2 });
      r = await p4cast(["mcast", "dump", ...g, "--output", "json"]);
      expect(r.json()).toEqual([
        {
          groupId: 1,
          replicas: [
            { port: 1, instance: 1 },
            { port: 2, instance: 1 },
            { port: 3, instance: 1 },
          ],
        },
      ]);
    });
  },
  { timeout: 120_000 },
);
