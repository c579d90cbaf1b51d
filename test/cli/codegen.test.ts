/**
 * `p4cast codegen`: declarations generated from p4c's P4Info must compile
 * under the project's tsconfig, accept correct entries and reject wrong
 * ones. A small program using them is type-checked with tsc: every line
 * marked `@ts-expect-error` must fail (tsc reports unused directives), and
 * with the directives removed exactly those lines fail.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { P4InfoIndex } from "../../src/p4runtime/p4info/index.js";
import { loadP4Info } from "../../src/p4runtime/p4info/load.js";
import { p4cast, repoRoot } from "./cli.js";

const out = join(repoRoot, "test", "cli", ".generated");

const usage = `import {
  counterEntry,
  defaultEntry,
  entryKey,
  packetOut,
  registerEntry,
  tableEntry,
  type PacketOutMetadata,
  type RegisterName,
} from "./p4cast.js";
import * as rt from "./runtime_test.js";
import type { TableEntryInput } from "../../../src/client/index.js";

export const ok: TableEntryInput[] = [
  tableEntry("ingress.l3.ipv4_lpm", { dst_addr: "10.0.2.0/24" }, "ingress.l3.route_to_nexthop", { nexthop_id: 7 }),
  tableEntry("ipv4_lpm", { dst_addr: { value: "10.0.0.0", prefixLen: 8 } }, "drop_no_route", {}),
  tableEntry("nexthop_exact", { nexthop_id: 7 }, "forward_to_neighbor", {
    port: 2,
    src_mac: "00:00:00:00:00:01",
    dst_mac: "00:00:00:00:00:02",
  }),
  defaultEntry("ipv4_lpm", "drop_no_route", {}),
  entryKey("ipv4_lpm", { dst_addr: "10.0.2.0/24" }),
  rt.tableEntry(
    "acl_ternary",
    { "hdr.ipv4.src_addr": "10.0.0.0&&&255.0.0.0", "hdr.udp.dst_port": { low: 1, high: 5 } },
    "acl_deny",
    {},
    { priority: 10 },
  ),
  rt.defaultEntry("acl_ternary", "acl_miss", {}),
];
export const meta: PacketOutMetadata = { egress_port: 1, flags: 1 };
export const reg: RegisterName = "hb_last_seq";
export const cells = [registerEntry("hb_last_seq", 1, 5), rt.counterEntry("port_counter", 1), rt.meterEntry("TestIngress.port_meter")];
export const out = packetOut(new Uint8Array(14), { egress_port: 2, flags: 1 });

// @ts-expect-error misspelt table
tableEntry("ipv4_lmp", { dst_addr: "10.0.2.0/24" }, "drop_no_route", {});
// @ts-expect-error unknown match field
tableEntry("ipv4_lpm", { dst_adr: "10.0.2.0/24" }, "drop_no_route", {});
// @ts-expect-error action not allowed in this table
tableEntry("ipv4_lpm", { dst_addr: "10.0.2.0/24" }, "set_peer", { peer_index: 1 });
// @ts-expect-error wrong parameter name
tableEntry("ipv4_lpm", { dst_addr: "10.0.2.0/24" }, "route_to_nexthop", { nexthop: 7 });
// @ts-expect-error missing parameter
tableEntry("ipv4_lpm", { dst_addr: "10.0.2.0/24" }, "route_to_nexthop", {});
// @ts-expect-error parameters for an action without any
tableEntry("ipv4_lpm", { dst_addr: "10.0.2.0/24" }, "drop_no_route", { port: 1 });
// @ts-expect-error exact field missing
tableEntry("nexthop_exact", {}, "drop_no_route", {});
// @ts-expect-error exact field given an lpm object
tableEntry("nexthop_exact", { nexthop_id: { value: 1, prefixLen: 8 } }, "drop_no_route", {});
// @ts-expect-error priority required on a ternary table
rt.tableEntry("acl_ternary", { "hdr.ipv4.src_addr": "10.0.0.0&&&255.0.0.0" }, "acl_deny", {});
// @ts-expect-error default-only action in an entry
rt.tableEntry("acl_ternary", {}, "acl_miss", {}, { priority: 1 });
// @ts-expect-error unknown packet_out field
export const badMeta: PacketOutMetadata = { egress_port: 1, flags: 1, colour: 2 };
// @ts-expect-error unknown register
export const badReg: RegisterName = "hb_last_seqq";
// @ts-expect-error a register is not a counter
counterEntry("hb_last_seq", 1);
// @ts-expect-error packet_out field missing
packetOut(new Uint8Array(14), { egress_port: 2 });
`;

function tsc(project: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", project], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
}

describe("p4cast codegen", { timeout: 120_000 }, () => {
  beforeAll(() => {
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
  });
  // The output stays for inspection: gitignored, and tsc's test/**/*.ts skips dot folders.

  it("generates declarations for p4cast's and runtime_test's P4Info", async () => {
    const client = "../../../src/client/index.js";
    const [a, b] = [
      await p4cast(["codegen", "--p4info", "p4/build/p4cast.p4info.txtpb", "--client-module", client, "--out", join(out, "p4cast.ts")]),
      await p4cast([
        "codegen",
        "--p4info",
        "test/fixtures/p4/build/runtime_test.p4info.txtpb",
        "--client-module",
        client,
        "--out",
        join(out, "runtime_test.ts"),
      ]),
    ];
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const text = readFileSync(join(out, "p4cast.ts"), "utf8");
    const index = new P4InfoIndex(await loadP4Info(join(repoRoot, "p4/build/p4cast.p4info.txtpb")));
    for (const t of index.tables) {
      expect(text).toContain(`readonly ${JSON.stringify(t.name)}: `);
      for (const f of t.matchFieldList) expect(text).toContain(`readonly ${JSON.stringify(f.name)}${f.kind === "exact" ? "" : "?"}: `);
    }
    for (const act of index.actions)
      for (const p of act.params) expect(text).toContain(`readonly ${JSON.stringify(p.name)}: ValueInput /* bit<${p.bitwidth}> */`);
    // stdout when --out is omitted
    const c = await p4cast(["codegen", "--p4info", "test/fixtures/p4/build/runtime_test.p4info.txtpb"]);
    expect(c.stdout).toMatch(/^\/\/ Generated by `p4cast codegen`/);
    expect(c.stdout).toContain('from "p4cast/client"');
  });

  it("the generated file type-checks, correct entries compile and every wrong one fails", async () => {
    writeFileSync(join(out, "usage.ts"), usage);
    writeFileSync(
      join(out, "tsconfig.json"),
      JSON.stringify({ extends: "../../../tsconfig.json", compilerOptions: { noEmit: true, rootDir: "../../.." }, include: ["*.ts"] }),
    );
    const r = await tsc(join(out, "tsconfig.json"));
    expect(r.out).toBe("");
    expect(r.code).toBe(0);
  });

  it("without the @ts-expect-error directives, exactly the marked lines fail", async () => {
    const lines = usage.split("\n");
    const expected: number[] = [];
    const stripped = lines.map((l, i) => {
      if (l.startsWith("// @ts-expect-error")) {
        expected.push(i + 1);
        return "//";
      }
      return l;
    });
    writeFileSync(join(out, "usage.ts"), stripped.join("\n"));
    const r = await tsc(join(out, "tsconfig.json"));
    writeFileSync(join(out, "usage.ts"), usage);
    expect(r.code).not.toBe(0);
    const failing = [...new Set([...r.out.matchAll(/usage\.ts\((\d+),\d+\): error/g)].map((m) => Number(m[1]) - 1))].sort((x, y) => x - y);
    expect(failing).toEqual(expected);
    expect(r.out).not.toMatch(/p4cast\.ts\(|runtime_test\.ts\(/);
  });

  it("bad input: no --p4info or a missing file is exit 2", async () => {
    const a = await p4cast(["codegen"]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/needs --p4info/);
    const b = await p4cast(["codegen", "--p4info", "nope.txtpb"]);
    expect(b.code).toBe(2);
  });
});
