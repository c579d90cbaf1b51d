/**
 * The P4 sources a manifest covers, for p4/manifest.mjs, p4/tofino-manifest.mjs
 * and the tests that check the committed outputs are fresh: every *.p4 under
 * p4/ except build output, as sorted '/'-separated paths relative to p4/.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The p4/ folder. */
export const p4Dir = fileURLToPath(new URL(".", import.meta.url));

const EXCLUDED_DIRS = new Set(["build", ".build-stage", ".tofino-stage", "node_modules"]);

/** Every *.p4 file under `dir` (default: all of p4/), relative to p4/, sorted. */
export function p4Sources(dir = p4Dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!EXCLUDED_DIRS.has(entry.name)) out.push(...p4Sources(path));
    } else if (entry.isFile() && entry.name.endsWith(".p4")) {
      out.push(relative(p4Dir, path).split(sep).join("/"));
    }
  }
  return out.sort();
}

/** The SHA-256 of a file, hex. */
export function sha256(path) {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}
