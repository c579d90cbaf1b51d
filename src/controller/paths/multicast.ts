/**
 * Per-session paths: the multicast distribution tree (the union of the
 * shortest paths from the ingress router to every last-hop router) and, per
 * last-hop router, a unicast overlay path that shares as few links with that
 * router's tree branch as the topology allows.
 */
import type { Adjacency, NetworkGraph } from "../topology/graph.js";
import { pathTo, shortestPathTree } from "./shortest.js";

export interface DistributionTree {
  readonly ingress: string;
  /** Tree children of each switch: the adjacencies (ports) to replicate to. */
  readonly children: ReadonlyMap<string, readonly Adjacency[]>;
  /** Every switch on the tree. */
  readonly members: ReadonlySet<string>;
  /** The tree branch (root → last hop) of each reachable last-hop router. */
  readonly branch: ReadonlyMap<string, readonly Adjacency[]>;
  /** Last-hop routers the tree cannot reach. */
  readonly unreachable: readonly string[];
}

export function distributionTree(g: NetworkGraph, ingress: string, lastHops: readonly string[]): DistributionTree {
  const spt = shortestPathTree(g, ingress, "ipv4");
  const children = new Map<string, Adjacency[]>();
  const members = new Set<string>([ingress]);
  const branch = new Map<string, Adjacency[]>();
  const unreachable: string[] = [];
  for (const lh of [...new Set(lastHops)].sort()) {
    const p = pathTo(spt, lh);
    if (!p) {
      unreachable.push(lh);
      continue;
    }
    branch.set(lh, p);
    for (const a of p) {
      members.add(a.to);
      const list = children.get(a.from) ?? [];
      if (!list.some((x) => x.port === a.port)) list.push(a);
      children.set(a.from, list);
    }
  }
  for (const list of children.values()) list.sort((x, y) => x.port - y.port);
  return { ingress, children, members, branch, unreachable };
}

export interface OverlayPath {
  readonly lastHop: string;
  readonly path: readonly Adjacency[];
  /** How many of its links are also on the last hop's tree branch. */
  readonly sharedWithTree: number;
  /** How many switches it passes through that the tree branch also passes through (ingress and last hop aside). */
  readonly sharedSwitches: number;
  /** How many of the session's other last hops it passes through. */
  readonly transits: number;
}

/**
 * The overlay path from the ingress router to `lastHop`: shortest by the
 * number of links and switches shared with the tree branch first (so that
 * neither a broken link nor a dead switch of the branch takes both copies),
 * then by cost.
 */
export function overlayPath(g: NetworkGraph, tree: DistributionTree, lastHop: string): OverlayPath | undefined {
  const { weight, describe } = overlayMeasures(g, tree, lastHop);
  const path = pathTo(shortestPathTree(g, tree.ingress, "ipv4", weight), lastHop);
  return path ? describe(path) : undefined;
}

/**
 * A path to `lastHop` chosen earlier, measured against the tree as it is
 * now: the same path with its sharing counted again.
 */
export function remeasureOverlay(g: NetworkGraph, tree: DistributionTree, lastHop: string, path: readonly Adjacency[]): OverlayPath {
  return overlayMeasures(g, tree, lastHop).describe(path);
}

/**
 * Whether overlay path `a` protects its last hop worse than `b` against the
 * current tree: it passes more of the session's other last hops, or shares
 * more links and switches with the last hop's tree branch (cost aside).
 */
export function protectsWorse(a: OverlayPath, b: OverlayPath): boolean {
  if (a.transits !== b.transits) return a.transits > b.transits;
  return a.sharedWithTree + a.sharedSwitches > b.sharedWithTree + b.sharedSwitches;
}

function overlayMeasures(g: NetworkGraph, tree: DistributionTree, lastHop: string) {
  const branch = tree.branch.get(lastHop) ?? [];
  const branchLinks = new Set(branch.map((a) => a.link));
  // The switches inside the branch: if one of them dies, the branch breaks; the overlay should not need it either.
  const branchSwitches = new Set(branch.map((a) => a.to).filter((n) => n !== lastHop));
  // Another last hop of the session on the way would run the copy through its
  // own dedup window (which takes it as its own and then drops its real
  // copies as duplicates): worst of all, so avoided first.
  const otherLastHops = new Set([...tree.branch.keys()].filter((n) => n !== lastHop));
  // A shared link or switch costs more than any path of unshared ones can.
  const penalty = 1 + g.topology.links.reduce((s, l) => s + l.cost, 0);
  const transit = penalty * (2 * g.topology.links.length + 1);
  return {
    weight: (a: Adjacency) =>
      a.cost + (branchLinks.has(a.link) ? penalty : 0) + (branchSwitches.has(a.to) ? penalty : 0) + (otherLastHops.has(a.to) ? transit : 0),
    describe: (path: readonly Adjacency[]): OverlayPath => ({
      lastHop,
      path,
      sharedWithTree: path.filter((a) => branchLinks.has(a.link)).length,
      sharedSwitches: path.filter((a) => branchSwitches.has(a.to)).length,
      transits: path.filter((a) => otherLastHops.has(a.to)).length,
    }),
  };
}

/** A way around one tree link: from the link's upper end to its lower end without it. */
export interface DetourPath {
  /** The tree link it replaces (upper end → lower end). */
  readonly link: Adjacency;
  readonly path: readonly Adjacency[];
}

/**
 * The detour of tree link `a` (a.from → a.to): the cheapest path between
 * its ends over the other up links; undefined where `a` is a bridge.
 */
export function detourPath(g: NetworkGraph, a: Adjacency): DetourPath | undefined {
  const spt = shortestPathTree(g, a.from, "ipv4", (x) => (x.link === a.link ? Number.POSITIVE_INFINITY : x.cost));
  if (!Number.isFinite(spt.cost.get(a.to) ?? Number.POSITIVE_INFINITY)) return undefined;
  const path = pathTo(spt, a.to);
  return path ? { link: a, path } : undefined;
}
