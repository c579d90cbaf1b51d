/**
 * No path of a developer's machine belongs in the repository: the tracked
 * files must not name absolute paths of the machine's work, p4 source, root
 * or home directories (the patterns below), nor a developers' guide file
 * (DEVELOPERS dot md) that is not part of the repository.
 * Source trees and tools are found through PATH and environment variables
 * (P4C_SRC, BMV2_SRC, TOFINO_INCLUDE).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");

// Built from pieces so that this file does not match itself.
const slash = "/";
const patterns: RegExp[] = [
  new RegExp(`(^|[\\s"'\`(=:])${slash}work${slash}`),
  new RegExp(`${slash}opt${slash}p4src`),
  new RegExp(`(^|[\\s"'\`(=:])${slash}root${slash}`),
  new RegExp(`(^|[\\s"'\`(=:])${slash}home${slash}[a-z_][a-z0-9_-]*${slash}`),
  new RegExp(`DEVELOPERS` + `\\.md`),
];

function machinePaths(files: readonly string[], read: (f: string) => Buffer): string[] {
  const hits: string[] = [];
  for (const f of files) {
    const buf = read(f);
    if (buf.includes(0)) continue; // binary
    buf
      .toString("utf8")
      .split("\n")
      .forEach((line, i) => {
        const p = patterns.find((re) => re.test(line));
        if (p) hits.push(`${f}:${i + 1}: ${line.trim().slice(0, 160)}`);
      });
  }
  return hits;
}

describe("tracked files", () => {
  it("name no absolute path of a developer's machine and no developers' guide file", () => {
    const files = execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 })
      .split("\0")
      .filter((f) => f);
    expect(files.length).toBeGreaterThan(100);
    const hits = machinePaths(files, (f) => {
      try {
        return readFileSync(join(root, f));
      } catch (e) {
        // a tracked file deleted in the working tree has nothing to check
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return Buffer.alloc(0);
        throw e;
      }
    });
    expect(hits, `absolute paths of a machine, or a developers' guide file, in tracked files:\n${hits.join("\n")}`).toEqual([]);
  });

  it("the check finds such paths, naming file and line", () => {
    const text: Record<string, string> = {
      "a.md": `ok\nsee ${slash}opt${slash}p4src/p4c\n`,
      "b.ts": `const x = "${slash}work${slash}main";\nconst y = "src/work/x";`,
      "c.md": "read DEVELOPERS" + ".md first",
      "d.sh": `cd ${slash}home${slash}alice${slash}p4c`,
    };
    expect(machinePaths(Object.keys(text), (f) => Buffer.from(text[f]!))).toEqual([
      `a.md:2: see ${slash}opt${slash}p4src/p4c`,
      `b.ts:1: const x = "${slash}work${slash}main";`,
      "c.md:1: read DEVELOPERS" + ".md first",
      `d.sh:1: cd ${slash}home${slash}alice${slash}p4c`,
    ]);
  });
});
