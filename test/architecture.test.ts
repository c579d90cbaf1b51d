/**
 * The layering the folder tree shows must hold in the imports: a lower
 * layer never imports a higher one, and there are no import cycles.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = join(dirname(fileURLToPath(import.meta.url)), "..", "src");

/** Layer rank by top-level folder of src/. */
const layers: Record<string, number> = {
  proto: 0,
  packet: 0,
  p4runtime: 1,
  client: 2,
  switch: 2,
  controller: 3,
  lab: 4,
  cli: 5,
  "index.ts": 6,
};

/** Folders of one rank that must not import each other (peers). */
const peers: readonly (readonly [string, string])[] = [
  ["client", "switch"],
  ["switch", "client"],
];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"|import\("(\.[^"]+)"\)/g)) {
    const spec = m[1] ?? m[2]!;
    out.push(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
  }
  return out;
}

const layerOf = (f: string) => layers[relative(src, f).split("/")[0]!];

describe("architecture", () => {
  const all = files(src);

  it("every file belongs to a known layer", () => {
    for (const f of all) expect(layerOf(f), relative(src, f)).toBeDefined();
  });

  it("lower layers never import higher ones", () => {
    const violations: string[] = [];
    for (const f of all) {
      for (const target of imports(f)) {
        if (layerOf(target)! > layerOf(f)!) violations.push(`${relative(src, f)} imports ${relative(src, target)}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it("peers do not import each other: the P4Runtime client and the switch share only p4runtime/", () => {
    const bad = all.flatMap((f) => {
      const top = relative(src, f).split("/")[0];
      return imports(f)
        .filter((t) => peers.some(([a, b]) => a === top && relative(src, t).split("/")[0] === b))
        .map((t) => `${relative(src, f)} -> ${relative(src, t)}`);
    });
    expect(bad).toEqual([]);
  });

  it("the controller does not import the switch (the lab, a layer above both, joins them)", () => {
    const bad = all.flatMap((f) =>
      relative(src, f).startsWith("controller/")
        ? imports(f)
            .filter((t) => relative(src, t).startsWith("switch/"))
            .map((t) => `${relative(src, f)} -> ${relative(src, t)}`)
        : [],
    );
    expect(bad).toEqual([]);
  });

  it("the packet library and the protocol layer do not depend on each other", () => {
    const bad = all.flatMap((f) => {
      const top = relative(src, f).split("/")[0];
      if (top !== "packet" && top !== "proto") return [];
      return imports(f)
        .filter((t) => relative(src, t).split("/")[0] !== top)
        .map((t) => `${relative(src, f)} -> ${relative(src, t)}`);
    });
    expect(bad).toEqual([]);
  });

  it("has no import cycles", () => {
    const graph = new Map(all.map((f) => [f, imports(f).filter((t) => t.startsWith(src))]));
    const state = new Map<string, 1 | 2>();
    const cycles: string[] = [];
    const visit = (f: string, stack: string[]) => {
      if (state.get(f) === 2) return;
      if (state.get(f) === 1) {
        cycles.push([...stack.slice(stack.indexOf(f)), f].map((x) => relative(src, x)).join(" -> "));
        return;
      }
      state.set(f, 1);
      for (const t of graph.get(f) ?? []) visit(t, [...stack, f]);
      state.set(f, 2);
    };
    for (const f of all) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
