/**
 * p4c's own v1model test programs with their STF expectations, compiled by
 * the real p4c-bm2-ss and run through the engine. Needs p4c and the local
 * mirror of p4lang/p4c; skipped otherwise. Nothing from p4c is committed.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EngineError, loadPipeline } from "../../src/switch/engine/index.js";
import { runStf } from "./stf.js";
import { HAVE_MIRROR, HAVE_P4C, samplesDir } from "./toolchain.js";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";

/** Samples whose STF uses commands or externs the engine does not model (reason). */
const KNOWN_SKIPS = new Map<string, string>([]);

describe.skipIf(!HAVE_P4C || !HAVE_MIRROR)("p4c testdata (v1model) with STF expectations", () => {
  const dir = HAVE_P4C && HAVE_MIRROR ? samplesDir() : "";
  // every STF whose program is written for v1model
  const stfs = dir
    ? execFileSync("sh", ["-c", `for s in ${dir}/*.stf; do p="\${s%.stf}.p4"; [ -f "$p" ] && grep -q v1model.p4 "$p" && echo "$s"; done; true`], { encoding: "utf8" })
        .split("\n")
        .filter((x) => x)
    : [];
  const outDir = join(tmpdir(), "p4cast-engine-json", "samples-out");
  mkdirSync(outDir, { recursive: true });
  for (const stf of stfs) {
    const name = stf.split("/").pop()!.replace(/\.stf$/, "");
    const p4 = join(dir, `${name}.p4`);
    if (!existsSync(p4)) continue;
    it.skipIf(KNOWN_SKIPS.has(name))(name, (ctx) => {
      const out = join(outDir, `${name}.json`);
      if (!existsSync(out)) {
        try {
          execFileSync("p4c-bm2-ss", ["-I", dir, "-o", out, p4], { stdio: ["ignore", "ignore", "pipe"], timeout: 120_000 });
        } catch {
          ctx.skip(); // p4c itself rejects it (negative or arch-specific test)
          return;
        }
      }
      const json = JSON.parse(readFileSync(out, "utf8"));
      let engine;
      try {
        engine = loadPipeline(json, { clock: () => 0n });
      } catch (e) {
        if (e instanceof EngineError && e.code === "UNSUPPORTED") throw new Error(`rejected at load: ${e.message}`);
        throw e;
      }
      const tables = (json.pipelines as { tables: { name: string }[] }[]).flatMap((p) => p.tables.map((t) => t.name));
      const r = runStf(engine, tables, readFileSync(stf, "utf8"));
      expect(r.errors, r.skipped.length ? `skipped commands: ${r.skipped.join("; ")}` : "").toEqual([]);
    });
  }
});
