/**
 * Paths that modules compute from their own location must land in the
 * repository whichever of src/ or dist/ they run from: a module moved to
 * another depth would otherwise point outside it (and, say, a lab would
 * report the CLI as not built and its suites would skip).
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CLI_MAIN } from "../src/lab/bmv2-network.js";
import { LAUNCHER } from "../src/lab/mininet-network.js";
import { defaultBuildDir } from "../src/controller/pipeline.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");

describe("module-relative paths", () => {
  it("the lab's CLI entry is the repository's dist/cli/main.js", () => {
    expect(CLI_MAIN).toBe(join(repo, "dist", "cli", "main.js"));
  });

  it("the Mininet launcher and the committed pipeline exist where the modules look", () => {
    expect(existsSync(LAUNCHER), LAUNCHER).toBe(true);
    expect(existsSync(join(defaultBuildDir, "p4cast.json")), defaultBuildDir).toBe(true);
  });
});
