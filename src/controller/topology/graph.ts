/**
 * The network as a graph: switches are nodes, links are edges with a cost
 * and the address families they carry. Links can be marked down (failover);
 * path computations see only the links that are up.
 */
import type { LinkSpec, SwitchSpec, Topology } from "./schema.js";

export type FamilyName = "ipv4" | "ipv6";

/** A link as seen from one end: `port` on `from` leads to `peerPort` on `to`. */
export interface Adjacency {
  readonly link: number;
  readonly from: string;
  readonly port: number;
  readonly to: string;
  readonly peerPort: number;
  readonly cost: number;
  readonly families: readonly FamilyName[];
}

/** A canonical, order-independent name for a link: "s1:2-s2:1". */
export function linkId(l: LinkSpec): string {
  const [a, b] = l.ends;
  const x = `${a.switch}:${a.port}`;
  const y = `${b.switch}:${b.port}`;
  return x < y ? `${x}-${y}` : `${y}-${x}`;
}

export class NetworkGraph {
  readonly switches: ReadonlyMap<string, SwitchSpec>;
  private readonly adj = new Map<string, Adjacency[]>();
  private readonly down = new Set<number>();

  constructor(readonly topology: Topology) {
    this.switches = new Map(topology.switches.map((s) => [s.name, s]));
    for (const s of topology.switches) this.adj.set(s.name, []);
    topology.links.forEach((l, i) => {
      const [a, b] = l.ends;
      this.adj
        .get(a.switch)!
        .push({ link: i, from: a.switch, port: a.port, to: b.switch, peerPort: b.port, cost: l.cost, families: l.families });
      this.adj
        .get(b.switch)!
        .push({ link: i, from: b.switch, port: b.port, to: a.switch, peerPort: a.port, cost: l.cost, families: l.families });
    });
    for (const list of this.adj.values()) list.sort((x, y) => x.port - y.port);
  }

  /** Up links leaving `sw` that carry `family` (all families when omitted). */
  neighbours(sw: string, family?: FamilyName): Adjacency[] {
    return (this.adj.get(sw) ?? []).filter((a) => !this.down.has(a.link) && (!family || a.families.includes(family)));
  }

  /** Every adjacency of `sw`, up or down. */
  allAdjacencies(sw: string): readonly Adjacency[] {
    return this.adj.get(sw) ?? [];
  }

  setLinkUp(link: number, up: boolean): boolean {
    const was = !this.down.has(link);
    if (up) this.down.delete(link);
    else this.down.add(link);
    return was !== up;
  }

  isUp(link: number): boolean {
    return !this.down.has(link);
  }

  downLinks(): number[] {
    return [...this.down].sort((a, b) => a - b);
  }

  linkName(link: number): string {
    return linkId(this.topology.links[link]!);
  }
}
