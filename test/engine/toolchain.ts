/**
 * Access to the real toolchain when it is installed: p4c-bm2-ss to compile
 * P4 programs (ours, and p4c's own testdata read from the local mirror of
 * p4lang/p4c) and simple_switch for byte-for-byte comparisons. Tests that
 * need them are skipped when they are absent. Compiled JSON is cached under
 * the OS temp directory and never committed.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const P4C_MIRROR = "/work/.mirror/p4lang+p4c/repo";

export function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

export const HAVE_P4C = have("p4c-bm2-ss");
/**
 * simple_switch and its CLI: from PATH, or from P4CAST_SIMPLE_SWITCH (binary)
 * and P4CAST_SIMPLE_SWITCH_CLI (a command line, e.g. "/usr/bin/python3
 * .../sswitch_CLI.py", run with the caller's PYTHONPATH).
 */
export const SS_BIN: string | undefined = process.env["P4CAST_SIMPLE_SWITCH"] ?? (have("simple_switch") ? "simple_switch" : undefined);
export const SS_CLI: string[] | undefined = process.env["P4CAST_SIMPLE_SWITCH_CLI"]?.split(" ").filter((x) => x) ?? (have("simple_switch_CLI") ? ["simple_switch_CLI"] : undefined);
export const HAVE_SIMPLE_SWITCH = SS_BIN !== undefined && SS_CLI !== undefined;
export const HAVE_MIRROR = existsSync(P4C_MIRROR);

const cacheDir = join(tmpdir(), "p4cast-engine-json");

/** Compiles P4 source text (v1model) to BMv2 JSON; cached by content hash. */
export function compileP4(source: string, name: string, includeDirs: string[] = []): unknown {
  mkdirSync(cacheDir, { recursive: true });
  const h = createHash("sha256").update(source).update(includeDirs.join(",")).digest("hex").slice(0, 16);
  const out = join(cacheDir, `${name.replace(/[^A-Za-z0-9_.-]/g, "_")}-${h}.json`);
  if (!existsSync(out)) {
    const src = join(cacheDir, `${name.replace(/[^A-Za-z0-9_.-]/g, "_")}-${h}.p4`);
    writeFileSync(src, source);
    execFileSync("p4c-bm2-ss", [...includeDirs.flatMap((d) => ["-I", d]), "-o", out, src], { stdio: ["ignore", "ignore", "pipe"], timeout: 120_000 });
  }
  return JSON.parse(readFileSync(out, "utf8"));
}

export function mirrorFile(path: string): string {
  return execFileSync("git", ["--git-dir", P4C_MIRROR, "show", `HEAD:${path}`], { encoding: "utf8", maxBuffer: 64 << 20 });
}

export function mirrorList(dir: string): string[] {
  return execFileSync("git", ["--git-dir", P4C_MIRROR, "ls-tree", "--name-only", "HEAD", dir + "/"], { encoding: "utf8" })
    .split("\n")
    .filter((x) => x);
}

/** Materializes the mirror's p4_16_samples directory (for #include of sibling files). */
export function samplesDir(): string {
  const dir = join(cacheDir, "p4_16_samples");
  if (!existsSync(join(dir, ".done"))) {
    mkdirSync(dir, { recursive: true });
    for (const f of mirrorList("testdata/p4_16_samples")) {
      const base = f.split("/").pop()!;
      if (!/\.(p4|stf|h)$/.test(base)) continue;
      try {
        writeFileSync(join(dir, base), mirrorFile(f));
      } catch {
        // sub-directories and the like
      }
    }
    writeFileSync(join(dir, ".done"), "");
  }
  return dir;
}
