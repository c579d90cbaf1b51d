/**
 * Shortest paths with deterministic ties: among equal-cost paths the one
 * with fewer hops wins, then the one whose sequence of switch names is
 * lexicographically smallest. The same inputs always give the same trees,
 * so a re-deploy computes exactly the entries already installed.
 */
import type { Adjacency, FamilyName, NetworkGraph } from "../topology/graph.js";

export interface PathTree {
  readonly root: string;
  /** The adjacency used to reach each switch (absent for the root and unreachable ones). */
  readonly via: ReadonlyMap<string, Adjacency>;
  readonly cost: ReadonlyMap<string, number>;
}

interface Label {
  cost: number;
  hops: number;
  path: string[];
}

function better(a: Label, b: Label): boolean {
  if (a.cost !== b.cost) return a.cost < b.cost;
  if (a.hops !== b.hops) return a.hops < b.hops;
  for (let i = 0; i < Math.min(a.path.length, b.path.length); i++) {
    if (a.path[i] !== b.path[i]) return a.path[i]! < b.path[i]!;
  }
  return a.path.length < b.path.length;
}

/**
 * Dijkstra from `root` over up links carrying `family`. `weight` may change
 * an adjacency's cost (the overlay uses it to steer away from the tree).
 */
export function shortestPathTree(
  g: NetworkGraph,
  root: string,
  family?: FamilyName,
  weight: (a: Adjacency) => number = (a) => a.cost,
): PathTree {
  const best = new Map<string, Label>([[root, { cost: 0, hops: 0, path: [root] }]]);
  const via = new Map<string, Adjacency>();
  const done = new Set<string>();
  for (;;) {
    let u: string | undefined;
    for (const [n, l] of best) if (!done.has(n) && (u === undefined || better(l, best.get(u)!))) u = n;
    if (u === undefined) break;
    done.add(u);
    const lu = best.get(u)!;
    for (const a of g.neighbours(u, family)) {
      if (done.has(a.to)) continue;
      const cand: Label = { cost: lu.cost + weight(a), hops: lu.hops + 1, path: [...lu.path, a.to] };
      const cur = best.get(a.to);
      if (!cur || better(cand, cur)) {
        best.set(a.to, cand);
        via.set(a.to, a);
      }
    }
  }
  return { root, via, cost: new Map([...best].map(([k, v]) => [k, v.cost])) };
}

/** The adjacencies from the root to `target`, in order; undefined if unreachable. */
export function pathTo(t: PathTree, target: string): Adjacency[] | undefined {
  if (target === t.root) return [];
  const out: Adjacency[] = [];
  let cur = target;
  while (cur !== t.root) {
    const a = t.via.get(cur);
    if (!a) return undefined;
    out.unshift(a);
    cur = a.from;
  }
  return out;
}
