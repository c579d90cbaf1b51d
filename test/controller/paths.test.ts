/**
 * Trees, overlay paths and the plan: deterministic, disjoint where possible.
 * Tree and overlay costs are checked against an independent oracle: every
 * simple path of small random graphs, enumerated by brute force.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { loadTopology } from "../../src/controller/topology/load.js";
import { NetworkGraph, type Adjacency } from "../../src/controller/topology/graph.js";
import { detourPath, distributionTree, overlayPath } from "../../src/controller/paths/multicast.js";
import { pathTo, shortestPathTree } from "../../src/controller/paths/shortest.js";
import { clientGroupOf } from "../../src/controller/plan/lasthop-delivery.js";
import { planNetwork } from "../../src/controller/plan/network-plan.js";
import type { Topology } from "../../src/controller/topology/schema.js";
import { randomTopology } from "../support/random-topology.js";

const mesh = loadTopology("examples/mesh8.yaml");

/** Every simple path from `from` to `to`, as lists of link indices (brute force, from the file's links alone). */
function simplePaths(t: Topology, from: string, to: string): number[][] {
  const out: number[][] = [];
  const walk = (at: string, seen: Set<string>, path: number[]) => {
    if (at === to) {
      out.push([...path]);
      return;
    }
    t.links.forEach((l, i) => {
      const [x, y] = l.ends;
      const next = x.switch === at ? y.switch : y.switch === at ? x.switch : undefined;
      if (next === undefined || seen.has(next)) return;
      seen.add(next);
      path.push(i);
      walk(next, seen, path);
      path.pop();
      seen.delete(next);
    });
  };
  walk(from, new Set([from]), []);
  return out;
}

/** The adjacencies form a walk from `from` to `to` over the file's links. */
function expectWalk(t: Topology, path: readonly Adjacency[], from: string, to: string): void {
  let at = from;
  for (const a of path) {
    expect(a.from).toBe(at);
    const ends = t.links[a.link]!.ends.map((e) => e.switch);
    expect(ends).toContain(a.from);
    expect(ends).toContain(a.to);
    at = a.to;
  }
  expect(at).toBe(to);
}

const arbGraph = fc.integer({ min: 2, max: 6 }).chain((n) =>
  fc
    .uniqueArray(
      fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 0, max: n - 1 })).filter(([a, b]) => a < b),
      { maxLength: (n * (n - 1)) / 2, selector: ([a, b]) => `${a}-${b}` },
    )
    .chain((pairs) =>
      fc.tuple(fc.constant(n), fc.tuple(...pairs.map(([a, b]) => fc.integer({ min: 1, max: 4 }).map((cost) => ({ a, b, cost }))))),
    ),
);

describe("paths", () => {
  it("the tree reaches every last hop along shortest paths; overlays avoid its branches", () => {
    const g = new NetworkGraph(mesh);
    const tree = distributionTree(g, "s1", ["s6", "s7", "s8"]);
    expect(tree.unreachable).toEqual([]);
    for (const lh of ["s6", "s7", "s8"]) {
      const branch = tree.branch.get(lh)!;
      const cheapest = Math.min(...simplePaths(mesh, "s1", lh).map((p) => p.reduce((c, l) => c + mesh.links[l]!.cost, 0)));
      expect(branch.reduce((c, a) => c + a.cost, 0)).toBe(cheapest);
      const ov = overlayPath(g, tree, lh)!;
      expect(ov.sharedWithTree).toBe(0);
      expect(ov.path[ov.path.length - 1]!.to).toBe(lh);
    }
  });

  it("tree branches cost least; overlays avoid other last hops, then the branch's links and switches, then cost (oracle)", () => {
    fc.assert(
      fc.property(arbGraph, ([n, links]) => {
        const t = randomTopology(n, links);
        const g = new NetworkGraph(t);
        const lastHops = t.switches.slice(1).map((s) => s.name);
        const tree = distributionTree(g, "s1", lastHops);
        const cost = (p: readonly number[]) => p.reduce((c, l) => c + t.links[l]!.cost, 0);
        for (const lh of lastHops) {
          const all = simplePaths(t, "s1", lh);
          if (all.length === 0) {
            expect(tree.unreachable).toContain(lh);
            expect(overlayPath(g, tree, lh)).toBeUndefined();
            continue;
          }
          const branch = tree.branch.get(lh)!;
          expectWalk(t, branch, "s1", lh);
          expect(cost(branch.map((a) => a.link))).toBe(Math.min(...all.map(cost)));
          const onBranch = new Set(branch.map((a) => a.link));
          const branchSwitches = new Set(branch.map((a) => a.to).filter((x) => x !== lh));
          const others = new Set(lastHops.filter((x) => x !== lh && tree.branch.has(x)));
          // The switches a path of links visits after s1.
          const visits = (p: readonly number[]) => {
            let at = "s1";
            return p.map((l) => {
              const [a, b] = t.links[l]!.ends;
              at = a.switch === at ? b.switch : a.switch;
              return at;
            });
          };
          const shared = (p: readonly number[]) => p.filter((l) => onBranch.has(l)).length;
          // Lexicographic: through other last hops, then links and switches shared with the branch, then cost.
          const score = (p: readonly number[]) => {
            const v = visits(p);
            return [v.filter((x) => others.has(x)).length, shared(p) + v.filter((x) => branchSwitches.has(x)).length, cost(p)] as const;
          };
          const best = all.map(score).sort((x, y) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2])[0]!;
          const ov = overlayPath(g, tree, lh)!;
          expectWalk(t, ov.path, "s1", lh);
          expect(ov.sharedWithTree).toBe(shared(ov.path.map((a) => a.link)));
          expect(score(ov.path.map((a) => a.link))).toEqual(best);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("a tree link's detour: the cheapest walk between its ends without it, none where it is a bridge (oracle)", () => {
    fc.assert(
      fc.property(arbGraph, ([n, links]) => {
        const t = randomTopology(n, links);
        const g = new NetworkGraph(t);
        const cost = (p: readonly number[]) => p.reduce((c, l) => c + t.links[l]!.cost, 0);
        for (const from of t.switches.map((x) => x.name)) {
          for (const a of g.neighbours(from)) {
            const others = simplePaths(t, a.from, a.to).filter((p) => !p.includes(a.link));
            const d = detourPath(g, a);
            if (others.length === 0) {
              expect(d, `${a.from}:${a.port} is a bridge`).toBeUndefined();
              continue;
            }
            expect(d!.link).toBe(a);
            expectWalk(t, d!.path, a.from, a.to);
            const ls = d!.path.map((x) => x.link);
            expect(ls).not.toContain(a.link);
            expect(cost(ls)).toBe(Math.min(...others.map(cost)));
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it("the plan: a backup on each tree link of tree-only and overlay-on-failure sessions, relays below", () => {
    const t: Topology = {
      ...mesh,
      sessions: mesh.sessions.map((s, i) => ({ ...s, redundancy: i === 0 ? ("always-redundant" as const) : ("tree-only" as const) })),
    };
    const plan = planNetwork({ graph: new NetworkGraph(t) });
    for (const [id, sp] of plan.sessions) {
      if (sp.session.redundancy === "always-redundant") {
        expect(sp.detours.size, `session ${id}`).toBe(0);
        expect(sp.relays.size, `session ${id}`).toBe(0);
        continue;
      }
      const links = [...sp.tree.children.values()].flat();
      // mesh8 has no bridge on these trees: every link has a detour.
      expect([...sp.detours.keys()].sort()).toEqual(links.map((a) => a.to).sort());
      for (const a of links) {
        const d = sp.detours.get(a.to)!;
        const group = plan.intents.get(a.from)!.groups.get(id)!;
        expect(group.find((r) => r.port === a.port)!.backups).toEqual([{ port: d.path[0]!.port, instance: 0x200 + a.port }]);
      }
      // Relays: the members with children but the ingress router; their client group sends a copy to each child.
      expect([...sp.relays.keys()].sort()).toEqual([...sp.tree.children.keys()].filter((m) => m !== sp.ingress).sort());
      for (const [relay, children] of sp.relays) {
        const group = plan.intents.get(relay)!.groups.get(clientGroupOf(id))!;
        for (const a of children) expect(group).toContainEqual({ port: a.port, instance: 0x400 + a.port });
      }
    }
  });

  it("a pinned overlay that a false alarm moved onto the tree branch goes back to the disjoint path once the alarm clears", () => {
    const g = new NetworkGraph(mesh);
    const pins = (p: ReturnType<typeof planNetwork>) =>
      new Map([...p.sessions].map(([id, sp]) => [id, new Map([...sp.overlays, ...sp.standby])]));
    const first = planNetwork({ graph: g });
    const ar = [...first.sessions.values()].find((sp) => sp.session.redundancy === "always-redundant")!;
    const id = ar.session.id;
    const lh = [...ar.overlays.keys()].find((x) => ar.overlays.get(x)!.sharedWithTree === 0)!;
    const original = ar.overlays.get(lh)!;
    // The overlay's last link is declared down (a false alarm): it moves, onto the tree branch if it must.
    const last = original.path.at(-1)!.link;
    g.setLinkUp(last, false);
    const during = planNetwork({ graph: g, pinnedOverlays: pins(first) });
    const moved = during.sessions.get(id)!.overlays.get(lh)!;
    expect(moved.path.map((a) => a.link)).not.toContain(last);
    // The alarm clears: the pinned path has all its links up again, but the fresh one protects better.
    g.setLinkUp(last, true);
    const after = planNetwork({ graph: g, pinnedOverlays: pins(during) });
    const back = after.sessions.get(id)!.overlays.get(lh)!;
    expect(back.sharedWithTree + back.sharedSwitches).toBe(original.sharedWithTree + original.sharedSwitches);
    if (moved.sharedWithTree + moved.sharedSwitches > original.sharedWithTree + original.sharedSwitches)
      expect(back.path.map((a) => a.link)).toEqual(original.path.map((a) => a.link));
    // A pinned path as good as the fresh one stays (no move for nothing).
    const again = planNetwork({ graph: g, pinnedOverlays: pins(after) });
    expect(again.sessions.get(id)!.overlays.get(lh)!.path).toEqual(back.path);
  });

  it("shares as few links as the topology allows when no disjoint path exists", () => {
    const g = new NetworkGraph(loadTopology("examples/line3.yaml"));
    const tree = distributionTree(g, "s1", ["s3"]);
    expect(overlayPath(g, tree, "s3")!.sharedWithTree).toBe(2);
  });

  it("the plan is a pure function of the topology and link states (property)", () => {
    const links = mesh.links.length;
    fc.assert(
      fc.property(fc.subarray([...Array(links).keys()], { maxLength: 3 }), (down) => {
        const a = new NetworkGraph(mesh);
        const b = new NetworkGraph(mesh);
        for (const l of down) a.setLinkUp(l, false);
        for (const l of [...down].reverse()) b.setLinkUp(l, false);
        const pa = planNetwork({ graph: a });
        const pb = planNetwork({ graph: b });
        const text = (p: typeof pa) =>
          JSON.stringify(
            [...p.intents].map(([k, v]) => [k, v.entries, [...v.groups]]),
            (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v),
          );
        expect(text(pa)).toBe(text(pb));
        // Nothing routes over a link that is down.
        for (const [sw, it] of pa.intents) {
          for (const e of it.entries) {
            if (!String(e.table).endsWith("_lpm") || typeof e.action !== "object" || !("params" in e.action)) continue;
            const port = Number((e.action.params as Record<string, unknown>).nexthop_id);
            const adj = a.allAdjacencies(sw).find((x) => x.port === port);
            if (adj) expect(a.isUp(adj.link)).toBe(true);
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it("unreachable last hops are reported, not silently dropped", () => {
    const t: Topology = { ...mesh, links: mesh.links.filter((l) => !l.ends.some((e) => e.switch === "s8")) };
    const plan = planNetwork({ graph: new NetworkGraph(t) });
    expect(plan.warnings.join("\n")).toMatch(/last-hop router s8 is unreachable/);
    expect(pathTo(shortestPathTree(new NetworkGraph(t), "s1"), "s8")).toBeUndefined();
  });
});
