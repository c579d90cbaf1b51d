/**
 * Committed lists of expected outcomes, one per line: `name: reason`
 * ('#' starts a comment). A line without a reason is an error: every
 * expected rejection says why it is expected.
 */
import { readFileSync } from "node:fs";

export function readExpectations(file: string): Map<string, string> {
  const out = new Map<string, string>();
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((raw, i) => {
      const line = raw.replace(/#.*$/, "").trim();
      if (!line) return;
      const m = /^([A-Za-z0-9_.+-]+):\s*(\S.*)$/.exec(line);
      if (!m) throw new Error(`${file}:${i + 1}: want "<sample>: <reason>", got "${raw}"`);
      out.set(m[1]!, m[2]!);
    });
  return out;
}
