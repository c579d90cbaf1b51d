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
}

/**
 * The overlay path from the ingress router to `lastHop`: shortest by the
 * number of links shared with the tree branch first, then by cost.
 */
export function overlayPath(g: NetworkGraph, tree: DistributionTree, lastHop: string): OverlayPath | undefined {
  const branchLinks = new Set((tree.branch.get(lastHop) ?? []).map((a) => a.link));
  // A shared link costs more than any path of unshared links can.
  const penalty = 1 + g.topology.links.reduce((s, l) => s + l.cost, 0);
  const spt = shortestPathTree(g, tree.ingress, "ipv4", (a) => a.cost + (branchLinks.has(a.link) ? penalty : 0));
  const path = pathTo(spt, lastHop);
  if (!path) return undefined;
  return { lastHop, path, sharedWithTree: path.filter((a) => branchLinks.has(a.link)).length };
}
