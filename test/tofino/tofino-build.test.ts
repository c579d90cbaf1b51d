/**
 * The committed bf-p4c outputs of the TNA program (p4/build/tofino/,
 * `make -C p4 tofino`, p4/tofino-manifest.mjs). Without a compiler:
 * manifest.json must match the P4 sources on disk and the outputs their
 * hashes; the P4Info bf-p4c wrote must parse and name the v1model
 * program's control-plane objects, except the TNA differences
 * docs/tofino.md lists; bfrt.json must hold the same tables; and
 * docs/tofino.md must quote the compile the manifest records. With bf-p4c
 * (BF_P4C, or bf-p4c on PATH; extra flags in BF_P4C_FLAGS, e.g. an include
 * directory for core.p4) its front end writes the P4Info and bfrt.json
 * again: the P4Info must equal the committed one byte for byte, bfrt.json
 * table for table (bf-p4c orders its snapshot tables, and numbers them,
 * differently from run to run: those are compared by name only).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { p4Sources, sha256 } from "../../p4/sources.mjs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { parseP4Info } from "../../src/p4runtime/p4info/load.js";
import { describeWith } from "../support/skips.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const p4Dir = join(root, "p4");
const outDir = join(p4Dir, "build", "tofino");
const REBUILD = "run `make -C p4 tofino` (bf-p4c: docs/tofino.md) and commit p4/build/tofino/";
const P4INFO = "p4cast_tna.p4info.txtpb";

interface TofinoManifest {
  readonly compiler: {
    readonly command: string;
    readonly version: string;
    readonly target: string;
    readonly arch: string;
    readonly flags: string;
    readonly main: string;
  };
  readonly result: {
    readonly bfP4cExit: number | null;
    readonly assemblerExit: number | null;
    readonly binary: boolean;
    readonly errors: readonly string[];
    readonly stages: {
      readonly rounds: number;
      readonly ingress: number | null;
      readonly egress: number | null;
      readonly criticalPath: number | null;
    } | null;
  };
  readonly sources: Readonly<Record<string, string>>;
  readonly outputs: Readonly<Record<string, string>>;
  readonly pipelineFiles: Readonly<Record<string, { readonly sha256: string; readonly bytes: number; readonly committed: string }>>;
}

function readManifest(): TofinoManifest {
  const path = join(outDir, "manifest.json");
  if (!existsSync(path)) throw new Error(`p4/build/tofino/manifest.json is missing: ${REBUILD}`);
  return JSON.parse(readFileSync(path, "utf8")) as TofinoManifest;
}

describe("p4/build/tofino freshness (no compiler needed)", () => {
  it("manifest matches the P4 sources", () => {
    const manifest = readManifest();
    const onDisk = p4Sources(p4Dir);
    const recorded = Object.keys(manifest.sources).sort();
    const lines = [
      ...onDisk.filter((f) => f in manifest.sources && manifest.sources[f] !== sha256(join(p4Dir, f))).map((f) => `  changed: p4/${f}`),
      ...onDisk.filter((f) => !(f in manifest.sources)).map((f) => `  added:   p4/${f}`),
      ...recorded.filter((f) => !onDisk.includes(f)).map((f) => `  removed: p4/${f}`),
    ];
    if (lines.length)
      throw new Error(`p4/build/tofino is stale; these P4 sources differ from its manifest.json:\n${lines.join("\n")}\n${REBUILD}`);
    expect(manifest.compiler.main).toBe("tna/p4cast_tna.p4");
    expect(manifest.compiler.version).toMatch(/\d+\.\d+\.\d+/);
    expect(manifest.compiler.flags).toContain("--p4runtime-force-std-externs");
  });

  it("outputs match their recorded hashes", () => {
    const manifest = readManifest();
    for (const f of ["bfrt.json", P4INFO, "logs/table_summary.log"])
      expect(Object.keys(manifest.outputs), `manifest lists ${f}`).toContain(f);
    const wrong = Object.entries(manifest.outputs)
      .filter(([f, h]) => !existsSync(join(outDir, f)) || sha256(join(outDir, f)) !== h)
      .map(([f]) => `p4/build/tofino/${f}`);
    if (wrong.length) throw new Error(`outputs differ from p4/build/tofino/manifest.json: ${wrong.join(", ")}; ${REBUILD}`);
  });

  it("records the compile's result, and docs/tofino.md quotes it", () => {
    const { compiler, result } = readManifest();
    expect(result.bfP4cExit, "bf-p4c ran").not.toBeNull();
    expect(result.stages?.ingress).toBeGreaterThan(0);
    expect(result.stages?.egress).toBeGreaterThan(0);
    // No binary: the manifest says why (the assembler's or the compiler's error lines).
    if (!result.binary) expect(result.errors.length).toBeGreaterThan(0);
    // A binary: a clean compile, and the binary and its context committed
    // gzipped; gunzipped, they are the files whose sha256 the manifest records.
    if (result.binary) {
      expect(result.bfP4cExit).toBe(0);
      expect(result.errors).toEqual([]);
      const files = readManifest().pipelineFiles;
      expect(Object.keys(files).sort()).toEqual(["context.json", `${compiler.target}.bin`]);
      for (const [name, f] of Object.entries(files)) {
        const raw = gunzipSync(readFileSync(join(outDir, f.committed)));
        expect(raw.length, name).toBe(f.bytes);
        expect(createHash("sha256").update(raw).digest("hex"), name).toBe(f.sha256);
      }
    }
    const doc = readFileSync(join(root, "docs", "tofino.md"), "utf8");
    expect(doc).toContain(compiler.version);
    expect(doc).toContain(`${result.stages!.ingress} ingress stages`);
    expect(doc).toContain(`${result.stages!.egress} egress stages`);
    for (const e of result.errors.filter((l) => /stages/.test(l))) expect(doc).toContain(e.replace(/^.*error: /, ""));
  });
});

/** Control-plane names by kind, from a P4Info. */
function api(text: string): Record<string, Map<string, string>> {
  const p = parseP4Info(text, "text");
  const byId = new Map(p.actions.map((a) => [a.preamble!.id, a.preamble!.name]));
  return {
    tables: new Map(
      p.tables.map((t) => [
        t.preamble!.name,
        JSON.stringify({
          keys: t.matchFields.map((m) => [m.name, m.bitwidth, m.match.case === "matchType" ? m.match.value : 0]),
          actions: t.actionRefs.map((r) => byId.get(r.id)).sort(),
          size: String(t.size),
        }),
      ]),
    ),
    actions: new Map(p.actions.map((a) => [a.preamble!.name, JSON.stringify(a.params.map((x) => [x.name, x.bitwidth]))])),
    counters: new Map(p.counters.map((c) => [c.preamble!.name, String(c.size)])),
    meters: new Map(p.meters.map((m) => [m.preamble!.name, String(m.size)])),
    registers: new Map(p.registers.map((r) => [r.preamble!.name, String(r.size)])),
    packetMetadata: new Map(
      p.controllerPacketMetadata.map((m) => [m.preamble!.name, JSON.stringify(m.metadata.map((f) => [f.name, f.bitwidth]))]),
    ),
  };
}

describe("bf-p4c's P4Info and bfrt.json (committed)", () => {
  const tna = api(readFileSync(join(outDir, P4INFO), "utf8"));
  const v1 = api(readFileSync(join(p4Dir, "build", "p4cast.p4info.txtpb"), "utf8"));

  /** docs/tofino.md, "Every difference": the TNA-only and v1model-only objects. */
  const tnaOnly: Record<string, string[]> = {
    tables: ["pktgen.hb_pktgen_peer_exact"],
    actions: ["pktgen.drop_unconfigured", "pktgen.hb_request_to_peer"],
    counters: ["pktgen.hb_request_counter"],
    meters: [],
    registers: ["ingress.dedup.dedup_slots", "ingress.dedup.dedup_valid", "pktgen.hb_tx_seq"],
    packetMetadata: [],
  };
  const v1Only: Record<string, string[]> = {
    tables: ["ingress.heartbeat.heartbeat_tick_exact"],
    actions: ["ingress.heartbeat.heartbeat_request"],
    registers: [
      "ingress.dedup.dedup_history",
      "ingress.heartbeat.hb_fanout_ts",
      "ingress.heartbeat.hb_state",
      "ingress.heartbeat.hb_tx_seq",
    ],
  };

  for (const kind of Object.keys(tnaOnly)) {
    it(`${kind}: the v1model names (pipe prefix stripped), the same keys, sizes and parameters`, () => {
      const a = tna[kind]!;
      const b = v1[kind]!;
      expect([...a.keys()].filter((n) => !b.has(n)).sort()).toEqual(tnaOnly[kind]);
      expect([...b.keys()].filter((n) => !a.has(n)).sort()).toEqual(v1Only[kind] ?? []);
      const differ = [...a.keys()].filter((n) => b.has(n) && a.get(n) !== b.get(n) && kind !== "registers");
      expect(differ, "same definition on both targets").toEqual([]);
    });
  }

  it("bfrt.json holds every P4Info table (as pipe.<name>)", () => {
    const bfrt = JSON.parse(readFileSync(join(outDir, "bfrt.json"), "utf8")) as { schema_version: string; tables: { name: string }[] };
    const names = new Set(bfrt.tables.map((t) => t.name));
    expect([...tna.tables!.keys()].filter((n) => !names.has(`pipe.${n}`))).toEqual([]);
  });
});

const bfP4c = process.env.BF_P4C ?? "bf-p4c";
const hasBfP4c = spawnSync("sh", ["-c", `command -v "${bfP4c}"`], { stdio: "ignore" }).status === 0;
const needs = [
  {
    tool: "bf-p4c",
    missing: hasBfP4c
      ? undefined
      : `${process.env.BF_P4C ? `BF_P4C=${bfP4c} is not executable` : "not on PATH and BF_P4C not set"} (docs/tofino.md)`,
  },
];

describeWith("bf-p4c writes the committed P4Info and bfrt.json again", needs, () => {
  it("same compiler version as the manifest, the same P4Info and bfrt.json", { timeout: 300_000 }, () => {
    const manifest = readManifest();
    const version = spawnSync(bfP4c, ["--version"], { encoding: "utf8" });
    expect(`${version.stdout}${version.stderr}`.trim().split("\n").join(" ")).toBe(manifest.compiler.version);
    const dir = mkdtempSync(join(tmpdir(), "p4cast-bf-p4c-"));
    try {
      const extra = (process.env.BF_P4C_FLAGS ?? "").split(/\s+/).filter((s) => s !== "");
      const args = [
        "--target",
        manifest.compiler.target,
        "--arch",
        manifest.compiler.arch,
        ...manifest.compiler.flags.split(" ").filter((f) => f !== "-g"),
        ...extra,
        // The front and mid end only: the outputs below come from there.
        "--skip-compilation",
        "pipe",
        "-o",
        dir,
        "--p4runtime-files",
        join(dir, P4INFO),
        manifest.compiler.main,
      ];
      const run = spawnSync(bfP4c, args, { cwd: p4Dir, encoding: "utf8" });
      expect(run.status, run.stderr + run.stdout).toBe(0);
      expect(sha256(join(dir, P4INFO))).toBe(sha256(join(outDir, P4INFO)));
      const tables = (path: string): Map<string, string> => {
        const j = JSON.parse(readFileSync(path, "utf8")) as { tables: { name: string }[] };
        return new Map(j.tables.map((t) => [t.name, t.name.startsWith("pipe.snapshot.") ? "" : JSON.stringify(t)]));
      };
      const fresh = tables(join(dir, "bfrt.json"));
      const committed = tables(join(outDir, "bfrt.json"));
      expect([...fresh.keys()].sort()).toEqual([...committed.keys()].sort());
      expect(
        [...fresh].filter(([n, t]) => committed.get(n) !== t).map(([n]) => n),
        "tables that differ",
      ).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
