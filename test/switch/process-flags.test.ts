/**
 * The switch process's Node.js flags are defined once (SWITCH_NODE_FLAGS)
 * and given by everything that starts a switch process; the one place that
 * cannot import them, the Mininet launcher (Python), must carry the same.
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
});
