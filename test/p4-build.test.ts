/**
 * Freshness of the committed p4c outputs (p4/build/): the manifest written
 * by p4/manifest.mjs must match the P4 sources on disk and the outputs, the
 * outputs must parse, and every P4Info object (direct counters included)
 * must be documented in docs/tables.md (the controller's contract).
 * Regenerate with `make -C p4`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { p4Sources, sha256 } from "../p4/sources.mjs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseP4Info } from "../src/p4runtime/p4info/load.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const p4Dir = join(root, "p4");
const manifestPath = join(p4Dir, "build", "manifest.json");
const REBUILD = "run `make -C p4` (needs p4c-bm2-ss and p4test on PATH) and commit p4/build/";

interface Manifest {
  readonly compiler: { readonly command: string; readonly version: string; readonly flags: string; readonly main: string };
  readonly sources: Readonly<Record<string, string>>;
  readonly outputs: Readonly<Record<string, string>>;
}

function readManifest(): Manifest {
  if (!existsSync(manifestPath)) {
    throw new Error(`p4/build/manifest.json is missing: ${REBUILD}`);
  }
  return JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest;
}

interface Preamble {
  readonly name: string;
}
interface P4InfoJson {
  readonly tables?: ReadonlyArray<{
    readonly preamble: Preamble;
    readonly matchFields?: ReadonlyArray<{ readonly name: string; readonly bitwidth: number; readonly matchType: string }>;
    readonly size?: string;
  }>;
  readonly actions?: ReadonlyArray<{
    readonly preamble: Preamble;
    readonly params?: ReadonlyArray<{ readonly name: string; readonly bitwidth: number }>;
  }>;
  readonly counters?: ReadonlyArray<{ readonly preamble: Preamble }>;
  readonly directCounters?: ReadonlyArray<{ readonly preamble: Preamble }>;
  readonly meters?: ReadonlyArray<{ readonly preamble: Preamble }>;
  readonly registers?: ReadonlyArray<{ readonly preamble: Preamble }>;
  readonly controllerPacketMetadata?: ReadonlyArray<{
    readonly preamble: Preamble;
    readonly metadata?: ReadonlyArray<{ readonly name: string; readonly bitwidth: number }>;
  }>;
}

describe("p4/build freshness", () => {
  it("manifest matches the P4 sources", () => {
    const manifest = readManifest();
    const onDisk = p4Sources(p4Dir);
    const recorded = Object.keys(manifest.sources).sort();
    const changed = onDisk.filter((f) => f in manifest.sources && manifest.sources[f] !== sha256(join(p4Dir, f)));
    const added = onDisk.filter((f) => !(f in manifest.sources));
    const removed = recorded.filter((f) => !onDisk.includes(f));
    const lines = [
      ...changed.map((f) => `  changed: p4/${f}`),
      ...added.map((f) => `  added:   p4/${f}`),
      ...removed.map((f) => `  removed: p4/${f}`),
    ];
    if (lines.length) {
      throw new Error(`p4/build is stale; these P4 sources differ from p4/build/manifest.json:\n${lines.join("\n")}\n${REBUILD}`);
    }
    expect(manifest.compiler.version).toMatch(/\d+\.\d+\.\d+/);
  });

  it("outputs match their recorded hashes", () => {
    const manifest = readManifest();
    const expected = [
      "build/p4cast.json",
      "build/p4cast.p4info.txtpb",
      "build/p4cast.p4info.txt",
      "build/p4cast.p4info.json",
      "build/p4cast.p4info.bin",
    ];
    for (const f of expected) expect(Object.keys(manifest.outputs), `manifest lists ${f}`).toContain(f);
    const wrong = Object.entries(manifest.outputs)
      .filter(([f, h]) => !existsSync(join(p4Dir, f)) || sha256(join(p4Dir, f)) !== h)
      .map(([f]) => `p4/${f}`);
    if (wrong.length) throw new Error(`outputs differ from p4/build/manifest.json: ${wrong.join(", ")}; ${REBUILD}`);
  });

  it("BMv2 JSON and P4Info JSON parse and hold the program", () => {
    const bmv2 = JSON.parse(readFileSync(join(p4Dir, "build", "p4cast.json"), "utf8")) as {
      __meta__?: { version?: number[] };
      pipelines?: Array<{ name: string; tables: unknown[] }>;
    };
    expect(bmv2.__meta__?.version?.[0]).toBe(2);
    expect(bmv2.pipelines?.map((p) => p.name)).toEqual(["ingress", "egress"]);
    const p4info = JSON.parse(readFileSync(join(p4Dir, "build", "p4cast.p4info.json"), "utf8")) as P4InfoJson;
    expect(p4info.tables?.length ?? 0).toBeGreaterThan(10);
    expect(p4info.controllerPacketMetadata?.map((m) => m.preamble.name).sort()).toEqual(["packet_in", "packet_out"]);
    // The text and binary P4Info say the same as the JSON one.
    const names = (xs: ReadonlyArray<{ preamble?: { name: string } | undefined }>): string[] =>
      xs.map((x) => x.preamble?.name ?? "").sort();
    const text = parseP4Info(readFileSync(join(p4Dir, "build", "p4cast.p4info.txtpb"), "utf8"), "text");
    const binary = parseP4Info(new Uint8Array(readFileSync(join(p4Dir, "build", "p4cast.p4info.bin"))), "binary");
    const jsonTables = (p4info.tables ?? []).map((t) => t.preamble.name).sort();
    expect(names(text.tables)).toEqual(jsonTables);
    expect(names(binary.tables)).toEqual(jsonTables);
    expect(names(binary.registers)).toEqual(names(text.registers));
  });

  it("every P4Info object is documented in docs/tables.md", () => {
    const p4info = JSON.parse(readFileSync(join(p4Dir, "build", "p4cast.p4info.json"), "utf8")) as P4InfoJson;
    const doc = readFileSync(join(root, "docs", "tables.md"), "utf8");
    const names = [
      ...(p4info.tables ?? []),
      ...(p4info.actions ?? []),
      ...(p4info.counters ?? []),
      ...(p4info.directCounters ?? []),
      ...(p4info.meters ?? []),
      ...(p4info.registers ?? []),
    ]
      .map((o) => o.preamble.name)
      .filter((n) => n !== "NoAction");
    const missing = names.filter((n) => !doc.includes(n));
    expect(missing, "add these to docs/tables.md").toEqual([]);
  });

  it("docs/tables.md gives every table's keys and size and every action's parameters exactly", () => {
    const p4info = JSON.parse(readFileSync(join(p4Dir, "build", "p4cast.p4info.json"), "utf8")) as P4InfoJson;
    const doc = readFileSync(join(root, "docs", "tables.md"), "utf8");
    const problems: string[] = [];
    for (const t of p4info.tables ?? []) {
      // The table's section: from its bold heading to the next bold heading.
      const start = doc.indexOf(`**\`${t.preamble.name}\``);
      if (start < 0) {
        problems.push(`no section for table ${t.preamble.name}`);
        continue;
      }
      const next = doc.indexOf("\n**`", start + 1);
      const section = doc.slice(start, next < 0 ? undefined : next);
      for (const m of t.matchFields ?? []) {
        const want = `\`${m.name}\` ${m.matchType.toLowerCase()} ${m.bitwidth}`;
        if (!section.includes(want)) problems.push(`${t.preamble.name}: key "${want}"`);
      }
      if (t.size && !section.includes(`size ${t.size}`)) problems.push(`${t.preamble.name}: "size ${t.size}"`);
    }
    for (const a of p4info.actions ?? []) {
      if (!a.params?.length) continue;
      const short = a.preamble.name.split(".").pop()!;
      const signature = `${short}(${a.params.map((p) => `${p.name}: ${p.bitwidth}`).join(", ")})`;
      if (!doc.includes(signature)) problems.push(`${a.preamble.name}: signature "${signature}"`);
    }
    for (const m of p4info.controllerPacketMetadata ?? []) {
      for (const f of m.metadata ?? []) {
        const row = `| \`${m.preamble.name}\` | \`${f.name}\` | ${f.bitwidth} |`;
        if (!doc.includes(row)) problems.push(`${m.preamble.name}.${f.name}: row "${row}"`);
      }
    }
    expect(problems, "update docs/tables.md").toEqual([]);
  });
});
