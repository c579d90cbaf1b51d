/**
 * Unicast forwarding (p4/controls/l3_forward.p4): one nexthop per port
 * (towards a neighbouring switch or an attached host), the switch's own
 * loopback as a local address, and IPv4/IPv6 routes to every host subnet
 * and every other switch's loopback along shortest paths.
 */
import { formatIPv4, formatIPv6 } from "../../p4runtime/codec/values.js";
import { pathTo, shortestPathTree } from "../paths/shortest.js";
import { hostV4, hostV6, networkOf, parsePrefix, portMac } from "../topology/addressing.js";
import type { HostSpec } from "../topology/schema.js";
import { T } from "./intent.js";
import { add, nexthop, route, type PlanContext } from "./context.js";

/** Nexthops (id = port) for every link and attached host; the loopback as a local address. */
export function planNeighbours(ctx: PlanContext): void {
  const { topo, graph: g } = ctx;
  for (const s of topo.switches) {
    const it = ctx.intent(s.name);
    for (const a of g.allAdjacencies(s.name)) {
      const peer = ctx.sw(a.to);
      add(it, `links[${a.link}]`, nexthop(a.port, portMac(s, a.port), portMac(peer, a.peerPort)));
    }
    for (const h of topo.hosts.filter((x) => x.attach.switch === s.name)) {
      add(it, `${ctx.hostPath(h.name)}.attach`, nexthop(h.attach.port, portMac(s, h.attach.port), BigInt(`0x${h.mac.replace(/:/g, "")}`)));
    }
    add(it, `${ctx.switchPath(s.name)}.loopback.ipv4`, { table: T.local, match: { dst_addr: s.loopback.ipv4 }, action: "mark_local" });
  }
}

/** Routes to host subnets (per host where a subnet is split between switches) and loopbacks, per family. */
export function planUnicastRoutes(ctx: PlanContext): void {
  const { topo, graph: g, warnings } = ctx;
  for (const family of ["ipv4", "ipv6"] as const) {
    const table = family === "ipv4" ? T.routeV4 : T.routeV6;
    const width = family === "ipv4" ? 32 : 128;
    const fmt = family === "ipv4" ? formatIPv4 : formatIPv6;
    const hostAddress = family === "ipv4" ? hostV4 : hostV6;
    // Destinations: host subnets (at the attached switch) and loopbacks.
    const subnets = new Map<string, { sw: string; prefix: string; from: string; hosts: HostSpec[] }>();
    for (const h of topo.hosts) {
      const text = family === "ipv4" ? h.ipv4 : h.ipv6;
      if (!text) continue;
      const p = parsePrefix(text, family);
      const key = `${fmt(networkOf(p, width))}/${p.len}`;
      const prev = subnets.get(key);
      if (prev && prev.sw !== h.attach.switch)
        warnings.push(`${family} subnet ${key} is split between ${prev.sw} and ${h.attach.switch}: routing per host`);
      subnets.set(key, {
        sw: prev && prev.sw !== h.attach.switch ? "*" : h.attach.switch,
        prefix: key,
        from: prev?.from ?? `${ctx.hostPath(h.name)}.${family}`,
        hosts: [...(prev?.hosts ?? []), h],
      });
    }
    for (const s of topo.switches) {
      const it = ctx.intent(s.name);
      const spt = shortestPathTree(g, s.name, family);
      const firstHop = (target: string): number | undefined => pathTo(spt, target)?.[0]?.port;
      // Local hosts: one /32 (/128) route each, straight to the host.
      for (const h of topo.hosts.filter((x) => x.attach.switch === s.name)) {
        const a = hostAddress(h);
        if (a !== undefined) add(it, `${ctx.hostPath(h.name)}.${family}`, route(table, `${fmt(a)}/${width}`, h.attach.port));
      }
      for (const { sw: at, prefix, from, hosts } of subnets.values()) {
        if (at === s.name) continue;
        if (at === "*") {
          // A split subnet: a route per host of that subnet.
          for (const h of hosts) {
            const a = hostAddress(h);
            if (a === undefined || h.attach.switch === s.name) continue;
            const hop = firstHop(h.attach.switch);
            if (hop !== undefined) add(it, `${ctx.hostPath(h.name)}.${family}`, route(table, `${fmt(a)}/${width}`, hop));
          }
          continue;
        }
        const hop = firstHop(at);
        if (hop !== undefined) add(it, from, route(table, prefix, hop));
      }
      for (const other of topo.switches) {
        if (other.name === s.name) continue;
        const lb = family === "ipv4" ? other.loopback.ipv4 : other.loopback.ipv6;
        if (!lb) continue;
        const hop = firstHop(other.name);
        if (hop !== undefined) add(it, `${ctx.switchPath(other.name)}.loopback.${family}`, route(table, `${lb}/${width}`, hop));
      }
    }
  }
}
