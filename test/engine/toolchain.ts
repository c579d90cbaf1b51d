/**
 * Access to the real toolchain when it is installed: p4c-bm2-ss to compile
 * P4 programs (ours, and p4c's own testdata from a p4c source tree named by
 * P4C_SRC) and simple_switch for byte-for-byte comparisons. Suites that need
 * them skip with the reason (test/support/skips.ts). Compiled JSON is cached
 * under the OS temp directory and never committed.
 *
 * P4C_SRC: a p4c checkout (a directory with testdata/p4_16_samples), or a
 * bare clone / git directory of p4lang/p4c (read at HEAD with git show).
 * BMV2_SRC: the same for p4lang/behavioral-model.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Requirement } from "../support/skips.js";
import { simpleSwitchBinary } from "../../src/lab/bmv2-network.js";

export function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

export const HAVE_P4C = have("p4c-bm2-ss");
/**
 * simple_switch and its CLI: from PATH, or from P4CAST_SIMPLE_SWITCH (binary)
 * and P4CAST_SIMPLE_SWITCH_CLI (a command line, e.g. "python3
 * .../sswitch_CLI.py", run with the caller's PYTHONPATH).
 */
export const SS_BIN: string | undefined = simpleSwitchBinary();
export const SS_CLI: string[] | undefined =
  process.env.P4CAST_SIMPLE_SWITCH_CLI?.split(" ").filter((x) => x) ?? (have("simple_switch_CLI") ? ["simple_switch_CLI"] : undefined);
export const HAVE_SIMPLE_SWITCH = SS_BIN !== undefined && SS_CLI !== undefined;

export const NEED_P4C: Requirement = {
  tool: "p4c-bm2-ss",
  missing: HAVE_P4C ? undefined : "not on PATH (build p4c from its public sources)",
};
export const NEED_SIMPLE_SWITCH: Requirement = {
  tool: "simple_switch",
  missing: HAVE_SIMPLE_SWITCH
    ? undefined
    : `${SS_BIN ? "" : "simple_switch "}${!SS_BIN && !SS_CLI ? "and " : ""}${SS_CLI ? "" : "simple_switch_CLI "}` +
      "not on PATH (nor P4CAST_SIMPLE_SWITCH / P4CAST_SIMPLE_SWITCH_CLI)",
};

/** A source tree from an environment variable: a checkout, or a git directory read at HEAD. */
export class SourceTree {
  private constructor(
    readonly variable: string,
    readonly path: string,
    readonly kind: "checkout" | "git",
  ) {}

  /** The tree named by `variable`, or why there is none; `probe` is a path that must exist in it. */
  static fromEnv(variable: string, probe: string): SourceTree | string {
    const path = process.env[variable];
    if (!path) return `${variable} is not set (the path of a checkout or git directory)`;
    if (existsSync(join(path, probe))) return new SourceTree(variable, path, "checkout");
    if (
      existsSync(join(path, "HEAD")) &&
      existsSync(join(path, "objects")) &&
      spawnSync("git", ["--git-dir", path, "cat-file", "-e", `HEAD:${probe}`]).status === 0
    )
      return new SourceTree(variable, path, "git");
    return `${variable}=${path} has no ${probe} (neither a checkout nor a git directory holding it)`;
  }

  read(file: string): string {
    if (this.kind === "checkout") return readFileSync(join(this.path, file), "utf8");
    return execFileSync("git", ["--git-dir", this.path, "show", `HEAD:${file}`], { encoding: "utf8", maxBuffer: 64 << 20 });
  }

  /** File names (not sub-directories) directly in `dir`. */
  list(dir: string): string[] {
    if (this.kind === "checkout")
      return readdirSync(join(this.path, dir), { withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => d.name);
    return execFileSync("git", ["--git-dir", this.path, "ls-tree", "HEAD", `${dir}/`], { encoding: "utf8" })
      .split("\n")
      .filter((l) => / blob /.test(l))
      .map((l) => l.split("\t")[1]!.split("/").pop()!);
  }

  describe(): string {
    return `${this.variable}=${this.path} (${this.kind === "checkout" ? "a checkout" : "a git directory, read at HEAD"})`;
  }
}

const P4C_PROBE = "testdata/p4_16_samples";
export const P4C_SRC = SourceTree.fromEnv("P4C_SRC", P4C_PROBE);
export const NEED_P4C_SRC: Requirement = { tool: "P4C_SRC", missing: typeof P4C_SRC === "string" ? P4C_SRC : undefined };
export const BMV2_SRC = SourceTree.fromEnv("BMV2_SRC", "targets/simple_switch/tests/testdata");
export const NEED_BMV2_SRC: Requirement = { tool: "BMV2_SRC", missing: typeof BMV2_SRC === "string" ? BMV2_SRC : undefined };

const cacheDir = join(tmpdir(), "p4cast-engine-json");

/** Compiles P4 source text (v1model) to BMv2 JSON; cached by content hash. */
export function compileP4(source: string, name: string, includeDirs: string[] = []): unknown {
  mkdirSync(cacheDir, { recursive: true });
  const h = createHash("sha256").update(source).update(includeDirs.join(",")).digest("hex").slice(0, 16);
  const out = join(cacheDir, `${name.replace(/[^A-Za-z0-9_.-]/g, "_")}-${h}.json`);
  if (!existsSync(out)) {
    const src = join(cacheDir, `${name.replace(/[^A-Za-z0-9_.-]/g, "_")}-${h}.p4`);
    writeFileSync(src, source);
    execFileSync("p4c-bm2-ss", [...includeDirs.flatMap((d) => ["-I", d]), "-o", out, src], {
      stdio: ["ignore", "ignore", "pipe"],
      timeout: 120_000,
    });
  }
  return JSON.parse(readFileSync(out, "utf8"));
}

/** Materializes P4C_SRC's testdata/p4_16_samples (the .p4, .stf and .h files, for #include of sibling files). */
export function samplesDir(): string {
  if (typeof P4C_SRC === "string") throw new Error(P4C_SRC);
  const h = createHash("sha256").update(P4C_SRC.path).digest("hex").slice(0, 12);
  const dir = join(cacheDir, `p4_16_samples-${h}`);
  if (!existsSync(join(dir, ".done"))) {
    mkdirSync(dir, { recursive: true });
    for (const base of P4C_SRC.list(P4C_PROBE)) {
      if (!/\.(p4|stf|h)$/.test(base)) continue;
      writeFileSync(join(dir, base), P4C_SRC.read(`${P4C_PROBE}/${base}`));
    }
    writeFileSync(join(dir, ".done"), "");
  }
  return dir;
}

export type CompileOutcome = { ok: true } | { ok: false; kind: "rejected" | "timeout" | "crash"; detail: string };

/**
 * Compiles with p4c-bm2-ss and classifies a failure: "rejected" (p4c
 * reported errors and exited 1), "timeout", or "crash" (a signal or any
 * other exit status).
 */
export function compileFile(p4: string, out: string, includeDirs: string[], timeoutMs = 120_000): CompileOutcome {
  const r = spawnSync("p4c-bm2-ss", [...includeDirs.flatMap((d) => ["-I", d]), "-o", out, p4], {
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 16 << 20,
  });
  const firstError = (r.stderr ?? "").split("\n").find((l) => /error/i.test(l)) ?? (r.stderr ?? "").trim().split("\n")[0] ?? "";
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ETIMEDOUT")
    return { ok: false, kind: "timeout", detail: `no result in ${timeoutMs / 1000} s` };
  if (r.error) return { ok: false, kind: "crash", detail: r.error.message };
  if (r.signal) return { ok: false, kind: "crash", detail: `killed by ${r.signal}: ${firstError}` };
  if (r.status === 0) return { ok: true };
  if (r.status === 1) return { ok: false, kind: "rejected", detail: firstError.trim() };
  return { ok: false, kind: "crash", detail: `exit status ${r.status}: ${firstError}` };
}
