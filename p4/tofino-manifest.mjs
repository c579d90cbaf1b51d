// SPDX-License-Identifier: Apache-2.0
/**
 * Writes p4/build/tofino/ after `make -C p4 tofino` ran bf-p4c (p4c's
 * open-source Tofino back end) on p4/tna/p4cast_tna.p4 into a staging
 * directory: copies the small outputs a user and the controller need and
 * writes manifest.json with
 *
 *   - the compiler (`<bf-p4c> --version`), target, architecture and flags;
 *   - the result: bf-p4c's and the assembler's exit codes, their error
 *     lines, and the stages the table placement used per gress (from the
 *     compiler's own table_summary.log);
 *   - the sha256 of every P4 source under p4/ (build/ excluded) and of
 *     every copied output;
 *   - when the assembler wrote them, the pipeline's binary and context
 *     (tofino.bin, context.json: what a P4Runtime server loads), committed
 *     gzipped (megabytes raw) with the sha256 and size of bf-p4c's files;
 *   - resources.summary.json: stage by stage and object by object, the
 *     logical tables and memories of the compiler's resources.json.
 *
 * test/tofino/tofino-build.test.ts recomputes the source hashes and fails
 * when they differ, so outputs of an older program never go unnoticed.
 * Machine paths are not recorded: tools by their base name, error lines
 * with paths shortened to file names.
 *
 * Usage (from p4/): node tofino-manifest.mjs --bf-p4c bf-p4c --target tofino
 *   --arch tna --flags "--std p4-16 -g --p4runtime-force-std-externs" --main tna/p4cast_tna.p4
 *   --stage .tofino-stage --out build/tofino
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { p4Sources, sha256 } from "./sources.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (fallback !== undefined) return fallback;
  throw new Error(`tofino-manifest.mjs: missing --${name}`);
}

const bfP4c = arg("bf-p4c", "bf-p4c");
const target = arg("target", "tofino");
const arch = arg("arch", "tna");
const flags = arg("flags", "--std p4-16 -g --p4runtime-force-std-externs");
const main = arg("main", "tna/p4cast_tna.p4");
const stage = join(here, arg("stage", ".tofino-stage"));
const outDir = join(here, arg("out", "build/tofino"));
const program = basename(main, ".p4");




function readIfExists(path) {
  return existsSync(path) ? readFileSync(path, "utf8") : undefined;
}

/** An exit code written by the Makefile (`echo $? > x.rc`), or null when the step did not run. */
function exitCode(name) {
  const text = readIfExists(join(stage, name));
  return text === undefined ? null : Number(text.trim());
}

/** A log line with every path shortened to its last component. */
const shortenPaths = (line) => line.replace(/(?:[^\s/:()'"]*\/)+([^\s/:()'"]+)/g, "$1").trim();

/** Error lines of a tool's log; when the tool failed without one, its last line. */
function errorLines(name, exit) {
  const lines = (readIfExists(join(stage, name)) ?? "").split("\n").map(shortenPaths).filter((l) => l !== "");
  const errors = lines.filter((l) => /\berror\b/i.test(l) && !/^\d+ errors?, \d+ warnings? generated/.test(l));
  if (errors.length === 0 && exit !== null && exit !== 0 && lines.length > 0) errors.push(lines.at(-1));
  return errors.filter((l, i, all) => all.indexOf(l) === i);
}

/** Stages of the last table placement round in the compiler's table_summary.log. */
function placement(log) {
  if (log === undefined) return null;
  const rounds = log.split(/^Table allocation done /m).slice(1);
  const last = rounds.at(-1);
  if (last === undefined) return null;
  const num = (re) => {
    const m = re.exec(last);
    return m ? Number(m[1]) : null;
  };
  return {
    rounds: rounds.length,
    ingress: num(/Number of stages for ingress table allocation: (\d+)/),
    egress: num(/Number of stages for egress table allocation: (\d+)/),
    criticalPath: num(/Critical path length through the table dependency graph: (\d+)/),
  };
}

// bf-p4c prints its version on stdout.
const run = spawnSync(bfP4c, ["--version"], { encoding: "utf8" });
if (run.status !== 0) throw new Error(`tofino-manifest.mjs: ${bfP4c} --version failed: ${run.stderr}`);
const version = `${run.stdout}${run.stderr}`.trim().split("\n").join(" ");

/* bf-p4c's output directory (it cleans it first, so the logs of the run sit beside it). */
const out = join(stage, "out");
const pipe = join(out, "pipe");
const logs = join(pipe, "logs");
const phvSummaries = existsSync(logs)
  ? readdirSync(logs)
      .filter((f) => /^phv_allocation_summary_\d+\.log$/.test(f))
      .sort((a, b) => Number(/\d+/.exec(a)[0]) - Number(/\d+/.exec(b)[0]))
  : [];

/** [staged file, committed name]: the small outputs (bf-p4c's reports in logs/). */
const copies = [
  ["bfrt.json", "bfrt.json"],
  [`${program}.p4info.txtpb`, `${program}.p4info.txtpb`],
  ["pipe/logs/table_summary.log", "logs/table_summary.log"],
  ["pipe/logs/parser.characterize.log", "logs/parser.characterize.log"],
  ...(phvSummaries.length ? [[`pipe/logs/${phvSummaries.at(-1)}`, "logs/phv_allocation_summary.log"]] : []),
];
const missing = copies.filter(([from]) => !existsSync(join(out, from))).map(([from]) => from);
if (missing.includes("bfrt.json") || missing.includes(`${program}.p4info.txtpb`)) {
  throw new Error(`tofino-manifest.mjs: bf-p4c wrote no ${missing.join(", ")} in ${out}; see ${join(stage, "bf-p4c.log")}`);
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(join(outDir, "logs"), { recursive: true });
const outputs = {};
for (const [from, to] of copies) {
  if (!existsSync(join(out, from))) continue;
  copyFileSync(join(out, from), join(outDir, to));
  outputs[to] = sha256(join(outDir, to));
}

/** The pipeline's binary and context, present only when the assembler
 * produced a binary: committed gzipped (Node's gzip writes no time stamp,
 * so equal files give equal bytes), with the sha256 and size of the files
 * bf-p4c wrote. */
const pipelineFiles = {};
const binary = join(pipe, `${target}.bin`);
if (existsSync(binary)) {
  for (const [name, path] of [[`${target}.bin`, binary], ["context.json", join(pipe, "context.json")]]) {
    if (!existsSync(path)) continue;
    writeFileSync(join(outDir, `${name}.gz`), gzipSync(readFileSync(path), { level: 9 }));
    outputs[`${name}.gz`] = sha256(join(outDir, `${name}.gz`));
    pipelineFiles[name] = { sha256: sha256(path), bytes: statSync(path).size, committed: `${name}.gz` };
  }
}

/** The compiler's resources.json (megabytes), summed up: per stage the
 * logical tables (16 per stage on Tofino 1, both gresses) and the SRAM,
 * TCAM and map-RAM blocks; per object its stages and blocks (SRAM of
 * "action" use counted as action RAM). */
function resourcesSummary(json) {
  const objects = {};
  const use = (name, stage) => {
    objects[name] ??= { stages: [], sram: 0, actionRam: 0, tcam: 0, mapRam: 0 };
    if (!objects[name].stages.includes(stage)) objects[name].stages.push(stage);
    return objects[name];
  };
  const stages = json.resources.mau.mau_stages.map((st) => {
    const s = st.stage_number;
    for (const ram of st.rams.srams)
      for (const u of ram.usages) {
        const o = use(u.used_by, s);
        if (u.used_for.includes("action")) o.actionRam++;
        else o.sram++;
      }
    for (const t of st.tcams.tcams) for (const u of t.usages) use(u.used_by, s).tcam++;
    for (const m of st.map_rams.maprams) for (const u of m.usages) use(u.used_by, s).mapRam++;
    return {
      stage: s,
      logicalTables: st.logical_tables.ids.length,
      sram: st.rams.srams.length,
      tcam: st.tcams.tcams.length,
      mapRam: st.map_rams.maprams.length,
    };
  });
  return { stages, objects };
}
const resources = readIfExists(join(logs, "resources.json"));
if (resources) {
  writeFileSync(join(outDir, "resources.summary.json"), JSON.stringify(resourcesSummary(JSON.parse(resources)), null, 1) + "\n");
  outputs["resources.summary.json"] = sha256(join(outDir, "resources.summary.json"));
}

const sources = {};
for (const file of p4Sources(here)) sources[file] = sha256(join(here, file));

/** The compiler's own count line, e.g. "0 errors, 11 warnings generated." */
const count = /^\d+ errors?, \d+ warnings? generated\.?$/m.exec(readIfExists(join(stage, "bf-p4c.log")) ?? "");

const result = {
  bfP4cExit: exitCode("bf-p4c.rc"),
  diagnostics: count ? count[0] : null,
  assemblerExit: exitCode("bfas.rc"),
  binary: existsSync(binary),
  errors: [...errorLines("bf-p4c.log", exitCode("bf-p4c.rc")), ...errorLines("bfas.log", exitCode("bfas.rc"))],
  stages: placement(readIfExists(join(logs, "table_summary.log"))),
};

const manifest = {
  generator: "p4/tofino-manifest.mjs",
  note: "Paths are relative to p4/build/tofino/ (outputs) and p4/ (sources). Regenerate with `make -C p4 tofino` (docs/tofino.md).",
  compiler: { command: basename(bfP4c), version, target, arch, flags, main },
  result,
  sources,
  outputs,
  pipelineFiles,
};
writeFileSync(join(outDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
const st = result.stages;
console.log(
  `tofino-manifest.mjs: ${Object.keys(sources).length} sources, ${Object.keys(outputs).length} outputs, ${version}; ` +
    `bf-p4c exit ${result.bfP4cExit}, assembler exit ${result.assemblerExit}` +
    (st ? `, stages ingress ${st.ingress} egress ${st.egress} (critical path ${st.criticalPath})` : "") +
    (result.binary ? "" : ", no binary"),
);
