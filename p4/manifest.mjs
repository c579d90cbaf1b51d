// SPDX-License-Identifier: Apache-2.0
/**
 * Writes p4/build/manifest.json after `make -C p4` compiled the program:
 * the p4c version (`<p4c> --version`), the compiler flags, and the sha256 of
 * every P4 source file under p4/ (build/ excluded) and of every build
 * output. test/p4-build.test.ts recomputes the source hashes and fails when
 * they differ, so stale BMv2 JSON / P4Info never go unnoticed.
 *
 * Usage (from p4/): node manifest.mjs --p4c p4c-bm2-ss --flags "--std p4-16"
 *                   --main v1model/p4cast.p4 --build build
 */
import { spawnSync } from "node:child_process";
import { readdirSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { p4Sources, sha256 } from "./sources.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (fallback !== undefined) return fallback;
  throw new Error(`manifest.mjs: missing --${name}`);
}

const p4c = arg("p4c", "p4c-bm2-ss");
const flags = arg("flags", "");
const main = arg("main", "v1model/p4cast.p4");
const buildDir = join(here, arg("build", "build"));




// p4c prints its version on stderr.
const run = spawnSync(p4c, ["--version"], { encoding: "utf8" });
if (run.status !== 0) throw new Error(`manifest.mjs: ${p4c} --version failed: ${run.stderr}`);
const version = `${run.stdout}${run.stderr}`.trim().split("\n").join(" ");

const sources = {};
for (const file of p4Sources(here)) sources[file] = sha256(join(here, file));

const outputs = {};
for (const name of readdirSync(buildDir).sort()) {
  const path = join(buildDir, name);
  if (name === "manifest.json" || !statSync(path).isFile()) continue;
  outputs[`build/${name}`] = sha256(path);
}

const manifest = {
  generator: "p4/manifest.mjs",
  note: "Paths are relative to p4/. Regenerate with `make -C p4`.",
  compiler: { command: p4c, version, flags, main },
  sources,
  outputs,
};

writeFileSync(join(buildDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(
  `manifest.mjs: ${Object.keys(sources).length} sources, ` +
    `${Object.keys(outputs).length} outputs, ${version}`,
);
