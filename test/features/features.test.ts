/**
 * Every data-plane feature is found by its name. A feature F (kebab-case)
 * has its P4 control at p4/controls/<F with underscores>.p4, its controller
 * logic at src/controller/plan/<F>.ts and/or src/controller/runtime/<F>.ts,
 * and its tests at test/features/<F>.test.ts (docs/architecture.md,
 * "Features"). Two features picked at random (seed logged; set
 * P4CAST_FEATURES_SEED to repeat a pick) are printed with their paths.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The data-plane features: one P4 control each. */
const FEATURES = [
  "l3-forward",
  "session-encap",
  "tree-replication",
  "lasthop-delivery",
  "overlay-dedup",
  "heartbeat",
  "burst-meter",
  "nat64",
  "mcast-xlate",
  "membership",
  "trust",
  "validate",
] as const;
type Feature = (typeof FEATURES)[number];

/** Features without controller logic, and why. */
const NO_CONTROLLER_LOGIC: Partial<Record<Feature, string>> = {
  validate: "the data plane alone drops malformed packets: there is nothing to install",
};

/** Controls under p4/controls/ that are not a feature of their own, and why. */
const NOT_FEATURES: Record<string, string> = {
  "ingress.p4": "the ingress pipeline: instantiates the feature controls and decides which run",
  "egress.p4": "the egress pipeline: instantiates the egress halves of the features",
  "packet_io.p4": "packet-in / packet-out headers, used by every punt and by the controller's packet-outs",
  "xlate.p4": "the header rewrite shared by nat64 and mcast-xlate",
};

interface FeaturePaths {
  readonly control: string;
  /** Controller modules that exist (plan/ and/or runtime/). */
  readonly controller: readonly string[];
  /** Where the controller module would be. */
  readonly controllerCandidates: readonly string[];
  readonly test: string;
}

function pathsOf(f: Feature): FeaturePaths {
  const controllerCandidates = [`src/controller/plan/${f}.ts`, `src/controller/runtime/${f}.ts`];
  return {
    control: `p4/controls/${f.replaceAll("-", "_")}.p4`,
    controller: controllerCandidates.filter((p) => existsSync(join(root, p))),
    controllerCandidates,
    test: `test/features/${f}.test.ts`,
  };
}

const exists = (p: string): boolean => existsSync(join(root, p));

/** mulberry32: a small seeded PRNG, so a pick can be repeated. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe("features are found by name", () => {
  it("feature names are kebab-case and unique", () => {
    for (const f of FEATURES) expect(f, f).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(new Set(FEATURES).size).toBe(FEATURES.length);
  });

  it.each(FEATURES)("%s: its P4 control exists", (f) => {
    const { control } = pathsOf(f);
    expect(exists(control), control).toBe(true);
  });

  it.each(FEATURES)("%s: its test file exists", (f) => {
    const { test } = pathsOf(f);
    expect(exists(test), test).toBe(true);
  });

  it.each(FEATURES)("%s: its controller module exists (or it has none, for a stated reason)", (f) => {
    const { controller, controllerCandidates } = pathsOf(f);
    const reason = NO_CONTROLLER_LOGIC[f];
    if (reason !== undefined) {
      expect(reason.length, `${f}: the reason it has no controller logic`).toBeGreaterThan(0);
      return;
    }
    expect(controller, `${f}: none of ${controllerCandidates.join(", ")}`).not.toEqual([]);
  });

  it("every control under p4/controls/ is a feature's, or named as not a feature with the reason", () => {
    const controls = new Set(FEATURES.map((f) => pathsOf(f).control.slice("p4/controls/".length)));
    const strays = readdirSync(join(root, "p4/controls"))
      .filter((n) => n.endsWith(".p4"))
      .filter((n) => !controls.has(n) && !(n in NOT_FEATURES));
    expect(strays).toEqual([]);
    for (const n of Object.keys(NOT_FEATURES)) expect(exists(`p4/controls/${n}`), n).toBe(true);
  });

  it("two features picked at random: their three paths", () => {
    const env = process.env.P4CAST_FEATURES_SEED;
    const seed = env !== undefined && /^\d+$/.test(env) ? Number(env) >>> 0 : Date.now() % 2 ** 32;
    const next = random(seed);
    const pool: Feature[] = [...FEATURES];
    const picked: Feature[] = [];
    for (let i = 0; i < 2; i++) picked.push(...pool.splice(Math.floor(next() * pool.length), 1));
    console.log(`[features] seed ${seed} (P4CAST_FEATURES_SEED=${seed} repeats it): ${picked.join(", ")}`);
    const missing: string[] = [];
    for (const f of picked) {
      const p = pathsOf(f);
      const reason = NO_CONTROLLER_LOGIC[f];
      const controller = reason !== undefined ? `(none: ${reason})` : p.controller.length ? p.controller.join(" + ") : "MISSING";
      console.log(`[features] ${f}\n  P4 control  ${p.control}\n  controller  ${controller}\n  tests       ${p.test}`);
      if (!exists(p.control)) missing.push(p.control);
      if (!exists(p.test)) missing.push(p.test);
      if (reason === undefined && !p.controller.length) missing.push(p.controllerCandidates.join(" or "));
    }
    expect(missing).toEqual([]);
  });
});
