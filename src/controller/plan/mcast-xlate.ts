/**
 * Multicast address translation (p4/controls/mcast_xlate.p4): at each
 * translator, IPv6 groups under the topology's multicast prefix map to IPv4
 * groups, with sources under the source prefix.
 */
import { T } from "./intent.js";
import { add, type PlanContext } from "./context.js";
import { prefixBase } from "./nat64.js";

export function planMulticastTranslation(ctx: PlanContext): void {
  const tr = ctx.topo.translation;
  if (!tr) return;
  for (const name of tr.translators) {
    add(ctx.intent(name), "translation.multicastPrefix", {
      table: T.mcastXlateV6,
      match: { group_addr: tr.multicastPrefix },
      action: { name: "mcast_xlate_6to4", params: { source_prefix: prefixBase(tr.sourcePrefix) } },
    });
  }
}
