/**
 * The README and docs/cli.md as a newcomer reads them: every command line is
 * written the way it works from a checkout (`npx p4cast ...`, which runs the
 * package's `bin`), the `bin` is what the build produces, and every command
 * the README names exists (its `--help` exits 0).
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { p4cast, repoRoot } from "./cli.js";

const read = (f: string) => readFileSync(join(repoRoot, f), "utf8");

/** Lines inside ``` blocks, with their line numbers. */
function codeLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let inside = false;
  text.split("\n").forEach((l, i) => {
    if (l.startsWith("```")) inside = !inside;
    else if (inside) out.push({ line: i + 1, text: l });
  });
  return out;
}

describe("README and docs/cli.md commands", { timeout: 120_000 }, () => {
  it("write the CLI as npx p4cast (a fresh checkout has no p4cast on PATH)", () => {
    const bad = ["README.md", "docs/cli.md"].flatMap((f) =>
      codeLines(read(f))
        .filter((l) => /^(\$ )?(p4cast|node dist\/cli\/main\.js) /.test(l.text))
        .map((l) => `${f}:${l.line}: ${l.text}`),
    );
    expect(bad).toEqual([]);
  });

  it("npx p4cast runs the package's bin, which the build writes from src/cli/main.ts", () => {
    const pkg = JSON.parse(read("package.json")) as { name: string; bin: Record<string, string> };
    expect(pkg.name).toBe("p4cast");
    expect(pkg.bin).toEqual({ p4cast: "dist/cli/main.js" });
    const build = JSON.parse(read("tsconfig.build.json")) as { compilerOptions?: { outDir?: string; rootDir?: string } };
    expect(build.compilerOptions?.outDir?.replace(/^\.\//, "")).toBe("dist");
    expect(read("src/cli/main.ts").startsWith("#!/usr/bin/env node\n")).toBe(true);
  });

  it("every subcommand the README uses exists", async () => {
    const cmds = new Set<string>();
    for (const m of read("README.md").matchAll(/npx p4cast ([a-z]+)(?: (up|check|resolve|dump))?/g))
      cmds.add(m[2] ? `${m[1]} ${m[2]}` : m[1]!);
    expect([...cmds]).toEqual(expect.arrayContaining(["deploy", "status", "watch", "table dump", "net up", "demo"]));
    const results = await Promise.all([...cmds].map(async (c) => [c, await p4cast([...c.split(" "), "--help"])] as const));
    for (const [c, r] of results) expect(r.code, `npx p4cast ${c} --help: ${r.stderr}`).toBe(0);
  });
});
