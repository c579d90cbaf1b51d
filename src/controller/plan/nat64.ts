/**
 * IPv4/IPv6 translation (p4/controls/nat64.p4, RFC 7915 with RFC 6052
 * embedded addresses and explicit mappings): the translators' entries, the
 * route of the NAT64 prefix towards the nearest translator, and IPv6
 * receivers of an IPv4 session delivered through a translator when that
 * path is shorter than native IPv4 delivery.
 */
import { formatIPv4, formatMac } from "../../p4runtime/codec/values.js";
import { pathTo, shortestPathTree } from "../paths/shortest.js";
import { networkOf, parsePrefix, portMac } from "../topology/addressing.js";
import type { NetworkGraph } from "../topology/graph.js";
import type { HostSpec, SessionSpec } from "../topology/schema.js";
import { T } from "./intent.js";
import { add, route, type PlanContext } from "./context.js";

/**
 * How an IPv6 receiver of an IPv4 session is reached through a translator:
 * the session is delivered as IPv4 unicast to a mapped address at `via`,
 * routed over IPv4 to `translator`, translated there (RFC 7915, explicit
 * mapping) and routed over IPv6 to the receiver.
 */
export interface TranslatedDelivery {
  readonly host: string;
  readonly via: string;
  readonly translator: string;
  readonly mapped: bigint;
  readonly cost: number;
  /** The cost of delivering over IPv4 all the way, when the host has IPv4. */
  readonly nativeCost?: number;
}

/** Mapped IPv4 addresses of translated receivers: 100.64.0.0/10 (RFC 6598), by host index. */
export function mappedAddress(hostIdx: number): bigint {
  return (100n << 24n) | (64n << 16n) | BigInt(hostIdx & 0xffff);
}

/** The network address of an IPv6 prefix, as a 128-bit number. */
export function prefixBase(p: string): bigint {
  return networkOf(parsePrefix(p, "ipv6"), 128);
}

/**
 * Receivers on the IPv6 side of an IPv4 session (joined over MLD, or with no
 * IPv4 address): the shorter of the IPv4 path (native delivery at their own
 * switch) and the IPv6 path through a translator. A receiver delivered
 * through a translator leaves `lastHops` and becomes a virtual client
 * (`name@translator`) at `via`, with the route of its mapped address to the
 * translator and the translator's rewrite to the receiver.
 */
export function planTranslatedReceivers(
  ctx: PlanContext,
  s: SessionSpec,
  ingress: string,
  clientNames: readonly string[],
  removed: ReadonlySet<string>,
  ipv6Joins: readonly string[],
  lastHops: Map<string, HostSpec[]>,
): TranslatedDelivery[] {
  const { topo, graph: g } = ctx;
  const translated: TranslatedDelivery[] = [];
  if (s.service.address.includes(":") || !topo.translation || topo.translation.translators.length === 0) return translated;
  const v6Side = new Set([...ipv6Joins, ...clientNames.filter((c) => ctx.hostsByName.get(c)?.ipv4 === undefined)]);
  for (const name of [...v6Side].sort()) {
    const h = ctx.hostsByName.get(name);
    if (!h?.ipv6 || removed.has(name)) continue;
    const d = translatedDelivery(g, ingress, h, ctx.hostIndex.get(name)!, topo.translation.translators);
    if (!d) {
      ctx.warnings.push(`session ${s.id}: no IPv6 path through a translator to ${name}`);
      continue;
    }
    if (d.nativeCost !== undefined && d.nativeCost <= d.cost) continue; // the IPv4 path is as short: native delivery
    translated.push(d);
    // Not a native client any more.
    const list = lastHops.get(h.attach.switch);
    if (list) {
      const rest = list.filter((x) => x.name !== name);
      if (rest.length > 0) lastHops.set(h.attach.switch, rest);
      else lastHops.delete(h.attach.switch);
    }
    // A virtual client at `via`: the mapped IPv4 address, reached through the first hop towards the translator.
    const spt4 = shortestPathTree(g, d.via, "ipv4");
    const first = pathTo(spt4, d.translator)![0]!;
    const virtual: HostSpec = {
      name: `${name}@${d.translator}`,
      mac: formatMac(portMac(ctx.sw(first.to), first.peerPort)),
      ipv4: `${formatIPv4(d.mapped)}/32`,
      attach: { switch: d.via, port: first.port },
    };
    const list2 = lastHops.get(d.via) ?? [];
    list2.push(virtual);
    lastHops.set(d.via, list2);
    ctx.virtualIndex.set(virtual.name, topo.hosts.length + ctx.hostIndex.get(name)!);
    // Route the mapped address from `via` to the translator; translate it there.
    const from = ctx.clientPath(s, name);
    for (const a of pathTo(spt4, d.translator)!.slice(1))
      add(ctx.intent(a.from), from, route(T.routeV4, `${formatIPv4(d.mapped)}/32`, a.port));
    add(ctx.intent(d.translator), from, {
      table: T.xlateV4Dst,
      match: { dst_addr: `${formatIPv4(d.mapped)}/32` },
      action: { name: "xlate_v4_dst_explicit", params: { addr: h.ipv6.split("/")[0]! } },
    });
  }
  return translated;
}

/** The translators' entries (NAT64 prefix, explicit mappings, IPv4 sources) and the NAT64 prefix's routes. */
export function planNat64(ctx: PlanContext): void {
  const tr = ctx.topo.translation;
  if (!tr) return;
  for (const name of tr.translators) {
    const it = ctx.intent(name);
    add(it, "translation.nat64Prefix", { table: T.xlateV6Dst, match: { dst_addr: tr.nat64Prefix }, action: "xlate_v6_dst_embedded" });
    add(it, "translation.nat64Prefix", { table: T.xlateV6Src, match: { src_addr: tr.nat64Prefix }, action: "xlate_v6_src_embedded" });
    tr.mappings.forEach((m, k) => {
      const from = `translation.mappings[${k}]`;
      add(it, from, {
        table: T.xlateV6Dst,
        match: { dst_addr: `${m.ipv6}/128` },
        action: { name: "xlate_v6_dst_explicit", params: { addr: m.ipv4 } },
      });
      add(it, from, {
        table: T.xlateV6Src,
        match: { src_addr: `${m.ipv6}/128` },
        action: { name: "xlate_v6_src_explicit", params: { addr: m.ipv4 } },
      });
      add(it, from, {
        table: T.xlateV4Dst,
        match: { dst_addr: `${m.ipv4}/32` },
        action: { name: "xlate_v4_dst_explicit", params: { addr: m.ipv6 } },
      });
      add(it, from, {
        table: T.xlateV4Src,
        match: { src_addr: `${m.ipv4}/32` },
        action: { name: "xlate_v4_src_explicit", params: { addr: m.ipv6 } },
      });
    });
    // IPv4 sources of translated traffic get the NAT64 prefix.
    for (const half of ["0.0.0.0/1", "128.0.0.0/1"]) {
      add(it, "translation.nat64Prefix", {
        table: T.xlateV4Src,
        match: { src_addr: half },
        action: { name: "xlate_v4_src_embedded", params: { prefix: prefixBase(tr.nat64Prefix) } },
      });
    }
  }
  // Every switch routes the NAT64 prefix towards the nearest translator.
  if (tr.translators.length === 0) return;
  for (const s of ctx.topo.switches) {
    if (tr.translators.includes(s.name)) continue;
    const spt = shortestPathTree(ctx.graph, s.name, "ipv6");
    const best = [...tr.translators].sort(
      (a, b) => (spt.cost.get(a) ?? Infinity) - (spt.cost.get(b) ?? Infinity) || a.localeCompare(b),
    )[0]!;
    const hop = pathTo(spt, best)?.[0]?.port;
    if (hop !== undefined) add(ctx.intent(s.name), "translation.nat64Prefix", route(T.routeV6, tr.nat64Prefix, hop));
  }
}

/**
 * The cheapest (via, translator) for an IPv6 receiver: IPv4 from the
 * ingress router to `via`, IPv4 from `via` to the translator, IPv6 from the
 * translator to the receiver's switch; `via` is not the translator (the copy
 * must arrive at the translator to be translated) nor the ingress router
 * (whose copies are not yet last-hop copies). Ties: via, then translator
 * name.
 */
function translatedDelivery(
  g: NetworkGraph,
  ingress: string,
  h: HostSpec,
  hostIdx: number,
  translators: readonly string[],
): TranslatedDelivery | undefined {
  const fromIngress = shortestPathTree(g, ingress, "ipv4");
  let best: TranslatedDelivery | undefined;
  for (const t of [...translators].sort()) {
    const toT = shortestPathTree(g, t, "ipv4");
    const v6 = shortestPathTree(g, t, "ipv6").cost.get(h.attach.switch);
    if (v6 === undefined) continue;
    for (const via of [...g.switches.keys()].sort()) {
      // The copy must reach the translator from outside, and last-hop
      // delivery happens on a switch other than the ingress router.
      if (via === t || via === ingress) continue;
      const a = fromIngress.cost.get(via);
      const b = toT.cost.get(via);
      if (a === undefined || b === undefined) continue;
      const cost = a + b + v6;
      if (!best || cost < best.cost) best = { host: h.name, via, translator: t, mapped: mappedAddress(hostIdx), cost };
    }
  }
  if (!best) return undefined;
  const native = h.ipv4 !== undefined ? fromIngress.cost.get(h.attach.switch) : undefined;
  return native !== undefined ? { ...best, nativeCost: native } : best;
}
