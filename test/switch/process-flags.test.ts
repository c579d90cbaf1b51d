/**
 * The switch process's Node.js flags are defined once (SWITCH_NODE_FLAGS)
 * and given by everything that starts a switch process; the two places that
 * cannot import them, the Mininet launcher (Python) and the `p4cast`
 * command's shebang, must carry the same flags.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SWITCH_NODE_FLAGS } from "../../src/switch/process-flags.js";
import { join } from "node:path";

const repoPath = (path: string) => join(import.meta.dirname, "..", "..", path);

describe("switch process flags", () => {
  it("the Mininet launcher starts p4cast switch with SWITCH_NODE_FLAGS", () => {
    const py = readFileSync(repoPath("mininet/p4cast_net.py"), "utf8");
    const m = /^\s*node_flags = \[(.*)\]$/m.exec(py);
    expect(m, "node_flags in mininet/p4cast_net.py").not.toBeNull();
    expect([...m![1]!.matchAll(/'([^']*)'/g)].map((x) => x[1])).toEqual(SWITCH_NODE_FLAGS);
  });

  it("the p4cast command's shebang passes SWITCH_NODE_FLAGS to node", () => {
    const first = readFileSync(repoPath("src/cli/main.ts"), "utf8").split("\n")[0]!;
    expect(first).toBe(`#!/usr/bin/env -S node ${SWITCH_NODE_FLAGS.join(" ")}`);
  });
});
