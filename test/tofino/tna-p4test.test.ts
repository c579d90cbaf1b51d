/**
 * The TNA port (p4/tna/p4cast_tna.p4) through p4c's front and mid end with
 * the tna.p4 of p4c's open-source Tofino back end: the same command as
 * `make -C p4 tna`. Needs p4test on PATH and the Tofino include files in
 * $TOFINO_INCLUDE (docs/tofino.md says how to
 * get them); without either the test is skipped and says why.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const includeDir = process.env.TOFINO_INCLUDE;
const hasP4test = spawnSync("sh", ["-c", "command -v p4test"], { stdio: "ignore" }).status === 0;
const hasInclude = includeDir !== undefined && existsSync(join(includeDir, "tna.p4")) && existsSync(join(includeDir, "tofino1_arch.p4"));
const skipReason = !hasP4test
  ? "p4test is not on PATH (install p4c: https://github.com/p4lang/p4c)"
  : !hasInclude
    ? `${includeDir === undefined ? "TOFINO_INCLUDE is not set" : `no Tofino include files in ${includeDir}`} ` +
      "(set TOFINO_INCLUDE; docs/tofino.md shows how to copy tna.p4 and tofino1_*.p4 out of p4c)"
    : undefined;
if (skipReason) console.log(`[p4cast tests] TNA p4test check skipped: ${skipReason}`);

/* The shared files declare what only v1model uses (its parser, checksum
 * controls, PacketIoIngress and MembershipPunt, whose work TNA tables do,
 * constants): newer p4test reports each as unused or removed. */
const quietUnused = ["--Wdisable=unused", "--Wdisable=removed"];
const args = ["--std", "p4-16", "-D__TARGET_TOFINO__=1", ...quietUnused, "-I", includeDir ?? "", "p4/tna/p4cast_tna.p4"];

describe("TNA port", () => {
  it("passes p4test with tna.p4 (no errors, no warnings)", { timeout: 180_000 }, (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const run = spawnSync("p4test", args, { cwd: root, encoding: "utf8" });
    expect(run.stderr + run.stdout).toBe("");
    expect(run.status).toBe(0);
  });

  it("fails p4test when a shared control reads and writes a register separately (no RegisterAction)", { timeout: 180_000 }, (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    // The TNA macros turn P4CAST_REG_READ / _WRITE into a compile error: the
    // stateful features must use one RegisterAction per register.
    const run = spawnSync("p4test", [...args.slice(0, -1), "-DP4CAST_TNA_SELFTEST_REG_READ=1", "p4/tna/p4cast_tna.p4"], {
      cwd: root,
      encoding: "utf8",
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/P4CAST_REG_READ_needs_a_RegisterAction_on_TNA/);
  });

  it("reuses the shared headers and feature controls; only the stateful features are replaced", () => {
    const main = readFileSync(join(root, "p4/tna/p4cast_tna.p4"), "utf8");
    for (const f of [
      "../include/headers.p4",
      "../include/metadata.p4",
      "../include/deparser.p4",
      "../controls/ingress.p4",
      "../controls/egress.p4",
    ]) {
      expect(main).toContain(`#include "${f}"`);
    }
    // The TNA versions define the shared files' include guards before ingress.p4 includes them.
    expect(readFileSync(join(root, "p4/tna/overlay_dedup.p4"), "utf8")).toContain("#define P4CAST_CONTROL_OVERLAY_DEDUP_P4");
    // The heartbeat is one control for both targets: only its registers' accesses are per target.
    expect(existsSync(join(root, "p4/tna/heartbeat.p4"))).toBe(false);
    expect(readFileSync(join(root, "p4/controls/heartbeat.p4"), "utf8")).toMatch(
      /#ifdef P4CAST_TARGET_TNA[\s\S]*RegisterAction[\s\S]*#else[\s\S]*P4CAST_REG_WRITE/,
    );
    expect(main.indexOf('"overlay_dedup.p4"')).toBeLessThan(main.indexOf('"../controls/ingress.p4"'));
    expect(main).not.toContain('"heartbeat.p4"');
  });

  it("no file of the Tofino back end is in the repository", () => {
    const ls = spawnSync("git", ["ls-files"], { cwd: root, encoding: "utf8" }).stdout.split("\n");
    expect(ls.filter((f) => /(^|\/)(tna|t2na|tofino1_(specs|base|arch)|tofino2_(specs|base|arch))\.p4$/.test(f))).toEqual([]);
  });
});
