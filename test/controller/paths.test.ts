/** Trees, overlay paths and the plan: deterministic, disjoint where possible. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { loadTopology } from "../../src/controller/topology/load.js";
import { NetworkGraph } from "../../src/controller/topology/graph.js";
import { distributionTree, overlayPath } from "../../src/controller/paths/multicast.js";
import { pathTo, shortestPathTree } from "../../src/controller/paths/shortest.js";
import { planNetwork } from "../../src/controller/plan/network-plan.js";
import type { Topology } from "../../src/controller/topology/schema.js";

const mesh = loadTopology("examples/mesh8.yaml");

describe("paths", () => {
  it("the tree reaches every last hop along shortest paths; overlays avoid its branches", () => {
    const g = new NetworkGraph(mesh);
    const tree = distributionTree(g, "s1", ["s6", "s7", "s8"]);
    expect(tree.unreachable).toEqual([]);
    const spt = shortestPathTree(g, "s1");
    for (const lh of ["s6", "s7", "s8"]) {
      const branch = tree.branch.get(lh)!;
      expect(branch.reduce((c, a) => c + a.cost, 0)).toBe(spt.cost.get(lh));
      const ov = overlayPath(g, tree, lh)!;
      expect(ov.sharedWithTree).toBe(0);
      expect(ov.path[ov.path.length - 1]!.to).toBe(lh);
    }
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
        const text = (p: typeof pa) => JSON.stringify([...p.intents].map(([k, v]) => [k, v.entries, [...v.groups]]), (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
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
