/**
 * Differential run of p4c's v1model samples: the table entries and packets of
 * each STF script (plus mutated copies of the packets) go through both the
 * engine and the real simple_switch, and the outputs are compared byte for
 * byte per port. Long (a few seconds per program): runs only with
 * P4CAST_DIFF_SAMPLES=1 and when p4c, simple_switch and a p4c source tree
 * (P4C_SRC) exist; otherwise it skips and says which is missing. Rejections
 * by p4c are handled as in p4c-samples.test.ts (p4c-samples-rejections.txt).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import {
  loadEngine,
  type Engine,
  type EntryAction,
  type EntrySpec,
  type Replica,
  type CloneSessionSpec,
} from "../../src/switch/engine/index.js";
import { runSimpleSwitch } from "./simple-switch-runner.js";
import { runStf } from "./stf.js";
import { NEED_P4C, NEED_P4C_SRC, NEED_SIMPLE_SWITCH, compileFile, samplesDir } from "./toolchain.js";
import { describeWith } from "../support/skips.js";
import { readExpectations } from "./expectations.js";

const EXPECTED_REJECTIONS = readExpectations(join(import.meta.dirname, "p4c-samples-rejections.txt"));

/** Samples whose behaviour depends on time or randomness, or that use more than the CLI can express. */
const SKIP = new Map<string, string>([
  [
    "issue1097-2-bmv2",
    "a register written in ingress and in egress: simple_switch pipelines packets, " +
      "so the next packet's ingress can run before this packet's egress",
  ],
  [
    "runtime-index-2-bmv2",
    "mutated packets index a header stack out of range: simple_switch aborts, the engine logs and uses a scratch header",
  ],
]);

type Op =
  | { kind: "add"; table: string; spec: EntrySpec }
  | { kind: "default"; table: string; action: EntryAction }
  | { kind: "mc"; group: number; replicas: readonly Replica[] }
  | { kind: "clone"; session: number; spec: CloneSessionSpec }
  | { kind: "reg"; name: string; index: number; value: bigint };

/** Records what an STF script configures and sends, without processing. */
function record(base: Engine, script: string, tables: string[]): { ops: Op[]; packets: Uint8Array[] } {
  const ops: Op[] = [];
  const packets: Uint8Array[] = [];
  const rec = new Proxy(base, {
    get(target, prop, recv) {
      switch (prop) {
        case "addEntry":
          return (table: string, spec: EntrySpec) => {
            const h = target.addEntry(table, spec);
            ops.push({ kind: "add", table, spec });
            return h;
          };
        case "setDefaultAction":
          return (table: string, action: EntryAction) => {
            target.setDefaultAction(table, action);
            ops.push({ kind: "default", table, action });
          };
        case "setMulticastGroup":
          return (group: number, replicas: readonly Replica[]) => {
            target.setMulticastGroup(group, replicas);
            ops.push({ kind: "mc", group, replicas });
          };
        case "setCloneSession":
          return (session: number, spec: CloneSessionSpec) => {
            target.setCloneSession(session, spec);
            ops.push({ kind: "clone", session, spec });
          };
        case "writeRegister":
          return (name: string, index: number, value: bigint) => ops.push({ kind: "reg", name, index, value });
        case "process":
          return (_port: number, data: Uint8Array) => {
            packets.push(data);
            return [];
          };
        default:
          return Reflect.get(target, prop, recv);
      }
    },
  });
  runStf(rec, tables, script);
  return { ops, packets };
}

const hx = (v: bigint) => `0x${v.toString(16)}`;

function toCli(e: Engine, ops: Op[]): string[] {
  const cli: string[] = [];
  const groups = new Map<number, readonly Replica[]>();
  for (const op of ops) if (op.kind === "mc") groups.set(op.group, op.replicas);
  let node = 0;
  const mcGroup = (g: number, replicas: readonly Replica[]) => {
    cli.push(`mc_mgrp_create ${g}`);
    const byRid = new Map<number, number[]>();
    for (const r of replicas) byRid.set(r.rid, [...(byRid.get(r.rid) ?? []), r.port]);
    for (const [rid, ports] of byRid) {
      cli.push(`mc_node_create ${rid} ${[...new Set(ports)].join(" ")}`, `mc_node_associate ${g} ${node++}`);
    }
  };
  // the STF runner re-programs a group at every node association: keep the final state only
  const lastMc = new Map<number, Op>();
  for (const op of ops) if (op.kind === "mc") lastMc.set(op.group, op);
  for (const op of ops) {
    if (op.kind === "mc" && lastMc.get(op.group) !== op) continue;
    switch (op.kind) {
      case "add": {
        const info = e.table(op.table);
        const scan = info.keys.some((k) => k.matchType === "ternary" || k.matchType === "range" || k.matchType === "optional");
        const keys = op.spec.key.map((k) => {
          switch (k.kind) {
            case "exact":
              return hx(k.value);
            case "lpm":
              return `${hx(k.value)}/${k.prefixLength}`;
            case "ternary":
              return `${hx(k.value)}&&&${hx(k.mask)}`;
            case "range":
              return `${hx(k.low)}->${hx(k.high)}`;
            case "optional":
              return k.wildcard ? "0x0&&&0x0" : hx(k.value);
            default:
              throw new Error("a match kind simple_switch_CLI cannot express");
          }
        });
        if (op.spec.action.kind !== "action") throw new Error("indirect entries are not expressed");
        const a = op.spec.action.call;
        const priority = scan ? ` ${1000000 - op.spec.priority}` : "";
        cli.push(`table_add ${op.table} ${a.action} ${keys.join(" ")} => ${a.args.map(hx).join(" ")}${priority}`);
        break;
      }
      case "default":
        if (op.action.kind !== "action") throw new Error("indirect defaults are not expressed");
        cli.push(`table_set_default ${op.table} ${op.action.call.action} ${op.action.call.args.map(hx).join(" ")}`);
        break;
      case "mc":
        mcGroup(op.group, op.replicas);
        break;
      case "clone": {
        const r = op.spec.replicas;
        if (r.length === 1 && r[0]!.rid === 0) cli.push(`mirroring_add ${op.session} ${r[0]!.port}`);
        else {
          mcGroup(30000 + op.session, r);
          cli.push(`mirroring_add_mc ${op.session} ${30000 + op.session}`);
        }
        break;
      }
      case "reg":
        cli.push(`register_write ${op.name} ${op.index} ${op.value}`);
        break;
    }
  }
  return cli;
}

function apply(e: Engine, ops: Op[]): void {
  for (const op of ops) {
    if (op.kind === "add") e.addEntry(op.table, op.spec);
    else if (op.kind === "default") e.setDefaultAction(op.table, op.action);
    else if (op.kind === "mc") e.setMulticastGroup(op.group, op.replicas);
    else if (op.kind === "clone") e.setCloneSession(op.session, op.spec);
    else e.writeRegister(op.name, op.index, op.value);
  }
}

const OPT_IN = {
  tool: "P4CAST_DIFF_SAMPLES=1",
  missing: process.env.P4CAST_DIFF_SAMPLES === "1" ? undefined : "not set (a long run: a few seconds per program)",
};

describeWith(
  "p4c samples: engine vs simple_switch on STF configuration and mutated packets",
  [OPT_IN, NEED_P4C, NEED_SIMPLE_SWITCH, NEED_P4C_SRC],
  () => {
    const dir = samplesDir();
    const stfs = execFileSync(
      "sh",
      ["-c", `for s in ${dir}/*.stf; do p="\${s%.stf}.p4"; [ -f "$p" ] && grep -q v1model.p4 "$p" && echo "$s"; done; true`],
      { encoding: "utf8" },
    )
      .split("\n")
      .filter((x) => x);
    const outDir = join(tmpdir(), "p4cast-engine-json", "samples-out");
    mkdirSync(outDir, { recursive: true });
    for (const stf of stfs) {
      const name = stf
        .split("/")
        .pop()!
        .replace(/\.stf$/, "");
      it(name, async (ctx) => {
        const why = SKIP.get(name);
        if (why) ctx.skip(why);
        const out = join(outDir, `${name}.json`);
        if (!existsSync(out)) {
          const r = compileFile(join(dir, `${name}.p4`), out, [dir]);
          if (!r.ok) {
            const expected = r.kind === "rejected" ? EXPECTED_REJECTIONS.get(name) : undefined;
            const what = r.kind === "rejected" ? "rejected" : r.kind === "timeout" ? "timed out on" : "crashed on";
            console.log(`[p4cast tests] p4c ${what} ${name}${expected ? ` (expected: ${expected})` : " (UNEXPECTED)"}: ${r.detail}`);
            if (expected) ctx.skip(`p4c rejects it (expected: ${expected})`);
            throw new Error(`p4c-bm2-ss ${r.kind} on ${name}: ${r.detail}`);
          }
        }
        const json = JSON.parse(readFileSync(out, "utf8"));
        const tables = (json.pipelines as { tables: { name: string }[] }[]).flatMap((p) => p.tables.map((t) => t.name));
        const { ops, packets } = record(loadEngine(json, { clock: () => 0n }), readFileSync(stf, "utf8"), tables);
        let cli: string[] = [];
        try {
          cli = toCli(loadEngine(json), ops);
        } catch (e) {
          const why = e instanceof Error ? e.message : String(e);
          const note = `its STF configuration cannot be written as simple_switch_CLI commands: ${why}`;
          console.log(`[p4cast tests] skipped: ${name}: ${note}`);
          ctx.skip(note);
        }
        // the STF packets and mutated copies of them
        let x = name.length * 7919;
        const rnd = (n: number) => {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0;
          return (x >>> 8) % n;
        };
        const pkts: Uint8Array[] = [...packets];
        for (const p of packets)
          for (let k = 0; k < 4; k++) {
            const q = Uint8Array.from(p);
            for (let m = 0; m < 1 + rnd(3); m++) if (q.length) q[rnd(q.length)] = rnd(256);
            // truncated copies keep a first header: reading fields of invalid headers is
            // undefined (the engine reads 0, simple_switch stale values of an earlier packet)
            pkts.push(rnd(5) === 0 ? q.subarray(0, Math.min(q.length, 16 + rnd(q.length + 1))) : q);
          }
        const e = loadEngine(json, { clock: () => 0n });
        apply(e, ops);
        const dbg = loadEngine(json, { clock: () => 0n });
        apply(dbg, ops);
        const e2ports = (p: Uint8Array) =>
          dbg
            .process(0, p)
            .map((o) => `${o.port}:${Buffer.from(o.data).toString("hex")}`)
            .join(" ");
        const ours = new Map<number, string[]>();
        for (const p of pkts)
          for (const o of e.process(0, p)) ours.set(o.port, [...(ours.get(o.port) ?? []), Buffer.from(o.data).toString("hex")]);
        const ports = [...new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, ...ours.keys()])].filter((p) => p < 511);
        const theirsRaw = await runSimpleSwitch(json, cli, 0, pkts, ports);
        const theirs = new Map<number, string[]>([...theirsRaw].map(([p, l]) => [p, l.map((d) => Buffer.from(d).toString("hex"))]));
        // simple_switch runs ingress and egress concurrently: a recirculated, resubmitted or
        // cloned copy may come out after packets that entered later, so compare those per
        // port as multisets
        const reorders = /"(recirculate|resubmit|clone_ingress_pkt_to_egress|clone_egress_pkt_to_egress)"/.test(
          JSON.stringify(json.actions),
        );
        const norm = (m: Map<number, string[]>) =>
          Object.fromEntries(
            [...m]
              .filter(([p]) => ports.includes(p))
              .sort((a, b) => a[0] - b[0])
              .map(([p, l]) => [p, reorders ? [...l].sort() : l]),
          );
        const a = norm(ours);
        const b = norm(theirs);
        const diffs: string[] = [];
        for (const port of new Set([...Object.keys(a), ...Object.keys(b)])) {
          const la = a[port] ?? [];
          const lb = b[port] ?? [];
          if (la.length !== lb.length) diffs.push(`port ${port}: engine ${la.length} packets, simple_switch ${lb.length}`);
          for (let i = 0; i < Math.min(la.length, lb.length); i++)
            if (la[i] !== lb[i]) {
              diffs.push(`port ${port} packet ${i}:\n  engine        ${la[i]}\n  simple_switch ${lb[i]}`);
              break;
            }
        }
        if (diffs.length && process.env.P4CAST_DIFF_DUMP) {
          const { writeFileSync } = await import("node:fs");
          writeFileSync(
            join(tmpdir(), `diff-${name}.txt`),
            [...pkts.map((p, i) => `in ${i} ${Buffer.from(p).toString("hex")} -> ${e2ports(p)}`), JSON.stringify(b)].join("\n"),
          );
        }
        expect(diffs).toEqual([]);
      }, 120_000);
    }
  },
);
