/**
 * Protection coverage of a topology: which last hops of its always-redundant
 * sessions the overlay cannot protect, because no overlay path avoids every
 * link of the last hop's tree branch (or there is no overlay path at all).
 * A failure of a shared link then loses packets at that last hop whatever
 * the controller does; `topology check`, `deploy` and `demo` report it.
 */
import { planNetwork } from "../controller/plan/network-plan.js";
import { NetworkGraph } from "../controller/topology/graph.js";
import type { Topology } from "../controller/topology/schema.js";

export interface UnprotectedLastHop {
  readonly session: number;
  readonly lastHop: string;
  /** Links of the tree branch the overlay copy also crosses (every branch link when there is no overlay path). */
  readonly sharedLinks: readonly string[];
  readonly noOverlay: boolean;
}

export function unprotectedLastHops(topology: Topology): UnprotectedLastHop[] {
  const graph = new NetworkGraph(topology);
  const plan = planNetwork({ graph });
  const out: UnprotectedLastHop[] = [];
  for (const sp of plan.sessions.values()) {
    if (sp.session.redundancy !== "always-redundant") continue;
    for (const [lh, branch] of sp.tree.branch) {
      if (lh === sp.ingress) continue;
      const ov = sp.overlays.get(lh) ?? sp.standby.get(lh);
      const branchLinks = new Set(branch.map((a) => a.link));
      if (!ov) {
        out.push({ session: sp.session.id, lastHop: lh, sharedLinks: branch.map((a) => graph.linkName(a.link)), noOverlay: true });
      } else if (ov.sharedWithTree > 0) {
        out.push({
          session: sp.session.id,
          lastHop: lh,
          sharedLinks: ov.path.filter((a) => branchLinks.has(a.link)).map((a) => graph.linkName(a.link)),
          noOverlay: false,
        });
      }
    }
  }
  return out;
}

export function coverageWarning(u: UnprotectedLastHop): string {
  const unprotected = `protection coverage: session ${u.session} (always-redundant): last hop ${u.lastHop} is not protected`;
  return u.noOverlay
    ? `${unprotected}: no overlay path reaches it; a failure of ${u.sharedLinks.join(", ")} loses packets there`
    : `${unprotected}: no overlay path avoids its tree branch (the overlay shares ${u.sharedLinks.join(", ")}); ` +
        `a failure of ${u.sharedLinks.length === 1 ? "that link" : "those links"} loses packets there`;
}

export function protectionWarnings(topology: Topology): string[] {
  return unprotectedLastHops(topology).map(coverageWarning);
}
