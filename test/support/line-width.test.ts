/**
 * No line of the hand-written TypeScript (src/ but its generated protocol
 * code, test/, bench/, experiments/) is longer than 140 characters, Biome's
 * line width (biome.jsonc). The formatter wraps code; long strings and
 * comments are wrapped by hand, and this test finds the ones it cannot.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const WIDTH = 140;

describe("line width", () => {
  it(`no line of src, test, bench or experiments is over ${WIDTH} characters`, () => {
    const files = execFileSync("git", ["ls-files", "-z", "--", "src", "test", "bench", "experiments"], { cwd: root, encoding: "utf8" })
      .split("\0")
      .filter((f) => f.endsWith(".ts") && !f.startsWith("src/proto/gen/"));
    expect(files.length).toBeGreaterThan(100);
    const long = files.flatMap((f) =>
      readFileSync(join(root, f), "utf8")
        .split("\n")
        .flatMap((line, i) => (line.length > WIDTH ? [`${f}:${i + 1}: ${line.length} characters`] : [])),
    );
    expect(long).toEqual([]);
  });
});
