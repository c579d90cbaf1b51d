/**
 * p4c's own v1model test programs with their STF expectations, compiled by
 * the real p4c-bm2-ss and run through the engine. Needs p4c-bm2-ss and a p4c
 * source tree in P4C_SRC (a checkout, or a git directory read at HEAD);
 * without them the suite skips and says which is missing. Nothing from p4c
 * is committed.
 *
 * A sample p4c rejects is listed in the output. Rejections named in
 * p4c-samples-rejections.txt (with the reason) are expected; any other
 * rejection, a timeout or a crash of p4c fails.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { EngineError, loadEngine } from "../../src/switch/engine/index.js";
import { describeWith } from "../support/skips.js";
import { runStf } from "./stf.js";
import { NEED_P4C, NEED_P4C_SRC, P4C_SRC, compileFile, samplesDir } from "./toolchain.js";
import { readExpectations } from "./expectations.js";

/** Samples whose STF uses commands or externs the engine does not model (reason). */
const KNOWN_SKIPS = new Map<string, string>([]);

const EXPECTED_REJECTIONS = readExpectations(join(import.meta.dirname, "p4c-samples-rejections.txt"));

describeWith("p4c testdata (v1model) with STF expectations", [NEED_P4C, NEED_P4C_SRC], () => {
  const dir = samplesDir();
  // every STF whose program is written for v1model
  const stfs = execFileSync(
    "sh",
    ["-c", `for s in ${dir}/*.stf; do p="\${s%.stf}.p4"; [ -f "$p" ] && grep -q v1model.p4 "$p" && echo "$s"; done; true`],
    { encoding: "utf8" },
  )
    .split("\n")
    .filter((x) => x);
  console.log(
    `[p4cast tests] p4c samples: ${typeof P4C_SRC === "string" ? P4C_SRC : P4C_SRC.describe()}: ` +
      `${stfs.length} v1model programs with an STF`,
  );
  const outDir = join(tmpdir(), "p4cast-engine-json", "samples-out");
  mkdirSync(outDir, { recursive: true });
  const rejected: string[] = [];

  afterAll(() => {
    if (rejected.length)
      console.log(
        `[p4cast tests] p4c rejected ${rejected.length} sample${rejected.length === 1 ? "" : "s"}:\n` +
          rejected.map((r) => `  ${r}`).join("\n"),
      );
    const unused = [...EXPECTED_REJECTIONS.keys()].filter(
      (n) => !rejected.some((r) => r.startsWith(`${n}:`)) && stfs.some((s) => s.endsWith(`/${n}.stf`)),
    );
    if (unused.length) console.log(`[p4cast tests] p4c-samples-rejections.txt names samples p4c now compiles: ${unused.join(", ")}`);
  });

  for (const stf of stfs) {
    const name = stf
      .split("/")
      .pop()!
      .replace(/\.stf$/, "");
    const p4 = join(dir, `${name}.p4`);
    it(name, (ctx) => {
      const known = KNOWN_SKIPS.get(name);
      if (known) ctx.skip(known);
      const out = join(outDir, `${name}.json`);
      if (!existsSync(out)) {
        const r = compileFile(p4, out, [dir]);
        if (!r.ok) {
          const expected = r.kind === "rejected" ? EXPECTED_REJECTIONS.get(name) : undefined;
          rejected.push(`${name}: ${r.kind}${expected ? ` (expected: ${expected})` : " (UNEXPECTED)"}: ${r.detail}`);
          if (expected) ctx.skip(`p4c rejects it (expected: ${expected})`);
          const what = r.kind === "rejected" ? "rejected" : r.kind === "timeout" ? "timed out on" : "crashed on";
          const hint =
            r.kind === "rejected" ? "\nif p4c is right to reject it, add it with the reason to test/engine/p4c-samples-rejections.txt" : "";
          throw new Error(`p4c-bm2-ss ${what} ${name}: ${r.detail}${hint}`);
        }
      }
      const json = JSON.parse(readFileSync(out, "utf8"));
      let engine;
      try {
        engine = loadEngine(json, { clock: () => 0n });
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
