/**
 * What the controller wants on every switch, computed from the topology, the
 * links currently up and the receivers that joined at run time: routes and
 * neighbours, local addresses, heartbeat peers, per-session trees, overlay
 * copies, last-hop delivery, burst meters and translation entries.
 */
import { formatIPv4, formatIPv6, formatMac } from "../../p4runtime/codec/values.js";
import type { TableEntryInput } from "../../client/entities/table-entry.js";
import { distributionTree, overlayPath, type DistributionTree, type OverlayPath } from "../paths/multicast.js";
import { pathTo, shortestPathTree } from "../paths/shortest.js";
import { hostV4, hostV6, networkOf, overlayAddress, parsePrefix, portMac } from "../topology/addressing.js";
import type { NetworkGraph } from "../topology/graph.js";
import type { HostSpec, SessionSpec } from "../topology/schema.js";
import { CLIENT_GROUP_BASE, CLIENT_RID_BASE, CLIENT_RID_V6_BASE, METER_BURST, OVERLAY_RID_BASE, type SwitchIntent, T, emptyIntent } from "./intent.js";
import { parseIPv4 } from "../../p4runtime/codec/values.js";
import type { ReplicaValue } from "../../client/entities/pre.js";
import { PlanError, type PlanProblem } from "./plan-error.js";
import { addTrustEntries } from "./trust.js";

export interface SessionPlan {
  readonly session: SessionSpec;
  readonly ingress: string;
  /** Last-hop router → its clients. */
  readonly lastHops: ReadonlyMap<string, readonly HostSpec[]>;
  readonly tree: DistributionTree;
  /** Overlay paths in use (always-redundant, or overlay-on-failure after a failure). */
  readonly overlays: ReadonlyMap<string, OverlayPath>;
  /** Overlay paths installed but not fed (overlay-on-failure, before a failure). */
  readonly standby: ReadonlyMap<string, OverlayPath>;
  /** Receivers reached through a translator (IPv6 side). */
  readonly translated: readonly TranslatedDelivery[];
  /**
   * Last hop → client → the client's replica id there: the key, with the
   * session id, of its lasthop_client_session_exact entry (the per-client
   * delivered counter). Clients the last hop delivers to only.
   */
  readonly clientRids: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

export interface NetworkPlan {
  readonly intents: ReadonlyMap<string, SwitchIntent>;
  readonly sessions: ReadonlyMap<number, SessionPlan>;
  /** Heartbeat peers: per switch, peer address → index (and the link). */
  readonly peers: ReadonlyMap<string, readonly HeartbeatPeer[]>;
  readonly warnings: readonly string[];
}

export interface HeartbeatPeer {
  readonly link: number;
  readonly port: number;
  readonly peer: string;
  readonly peerAddress: bigint;
  readonly index: number;
}

export interface PlanInput {
  readonly graph: NetworkGraph;
  /** Receivers added at run time (IGMP/MLD joins), by session id. */
  readonly extraClients?: ReadonlyMap<number, readonly string[]>;
  /** Receivers removed at run time, by session id. */
  readonly removedClients?: ReadonlyMap<number, readonly string[]>;
  /**
   * overlay-on-failure sessions: last hops switched to the overlay because
   * their tree branch broke (session id → last hops).
   */
  readonly overlayActivated?: ReadonlyMap<number, ReadonlySet<string>>;
  /** Meter overrides set at run time, by session id. */
  readonly meterOverrides?: ReadonlyMap<number, SessionSpec["meter"]>;
  /**
   * Overlay paths chosen earlier (session id → last hop → path). A path is
   * kept while all its links are up, so a repair does not move the overlay
   * that is covering for a broken tree branch.
   */
  readonly pinnedOverlays?: ReadonlyMap<number, ReadonlyMap<string, OverlayPath>>;
  /** Receivers that joined from the IPv6 side (MLD), by session id. */
  readonly ipv6Joins?: ReadonlyMap<number, readonly string[]>;
}

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

const mac = (v: bigint) => formatMac(v);

export function planNetwork(input: PlanInput): NetworkPlan {
  const g = input.graph;
  const topo = g.topology;
  const warnings: string[] = [];
  const intents = new Map<string, SwitchIntent>(topo.switches.map((s) => [s.name, emptyIntent(s.name)]));
  const sw = (n: string) => g.switches.get(n)!;
  const hostsByName = new Map(topo.hosts.map((h) => [h.name, h]));
  const hostIndex = new Map(topo.hosts.map((h, i) => [h.name, i]));
  const virtualIndex = new Map<string, number>();
  const clientRid = (host: string, v6: boolean) => (v6 ? CLIENT_RID_V6_BASE : CLIENT_RID_BASE) + (hostIndex.get(host) ?? virtualIndex.get(host)!);
  // Provenance: the path in the topology file of what produced an entry or group.
  const switchIndex = new Map(topo.switches.map((s, i) => [s.name, i]));
  const sp = (n: string) => `switches[${switchIndex.get(n)}]`;
  const hp = (n: string) => `hosts[${hostIndex.get(n)}]`;
  const sessionIndex = new Map(topo.sessions.map((s, i) => [s.id, i]));
  const problems: PlanProblem[] = [];
  const setGroup = (it: SwitchIntent, id: number, replicas: ReplicaValue[], from: string) => {
    const prev = it.groups.get(id);
    const prevFrom = it.origins?.groups.get(id) ?? "another element";
    if (prev && replicasText(prev) !== replicasText(replicas)) {
      problems.push({ switch: it.switch, paths: [prevFrom, from], message: `multicast group ${id}: ${from} wants replicas ${replicasText(replicas)} but ${prevFrom} wants ${replicasText(prev)}` });
      return;
    }
    it.groups.set(id, replicas);
    if (!prev) it.origins?.groups.set(id, from);
  };

  // -- neighbours: one nexthop per port (link or host), id = port ---------------
  for (const s of topo.switches) {
    const it = intents.get(s.name)!;
    for (const a of g.allAdjacencies(s.name)) {
      const peer = sw(a.to);
      add(it, `links[${a.link}]`, nexthop(a.port, portMac(s, a.port), portMac(peer, a.peerPort)));
    }
    for (const h of topo.hosts.filter((x) => x.attach.switch === s.name)) {
      add(it, `${hp(h.name)}.attach`, nexthop(h.attach.port, portMac(s, h.attach.port), BigInt("0x" + h.mac.replace(/:/g, ""))));
    }
    add(it, `${sp(s.name)}.loopback.ipv4`, { table: T.local, match: { dst_addr: s.loopback.ipv4 }, action: "mark_local" });
  }

  // -- unicast routes -----------------------------------------------------------
  for (const family of ["ipv4", "ipv6"] as const) {
    const table = family === "ipv4" ? T.routeV4 : T.routeV6;
    const width = family === "ipv4" ? 32 : 128;
    const fmt = family === "ipv4" ? formatIPv4 : formatIPv6;
    // Destinations: host subnets (at the attached switch) and loopbacks.
    const subnets = new Map<string, { sw: string; prefix: string; from: string }>();
    for (const h of topo.hosts) {
      const text = family === "ipv4" ? h.ipv4 : h.ipv6;
      if (!text) continue;
      const p = parsePrefix(text, family);
      const key = `${fmt(networkOf(p, width))}/${p.len}`;
      const prev = subnets.get(key);
      if (prev && prev.sw !== h.attach.switch) warnings.push(`${family} subnet ${key} is split between ${prev.sw} and ${h.attach.switch}: routing per host`);
      subnets.set(key, { sw: prev && prev.sw !== h.attach.switch ? "*" : h.attach.switch, prefix: key, from: prev?.from ?? `${hp(h.name)}.${family}` });
    }
    for (const s of topo.switches) {
      const it = intents.get(s.name)!;
      const spt = shortestPathTree(g, s.name, family);
      const firstHop = (target: string): number | undefined => pathTo(spt, target)?.[0]?.port;
      // Local hosts: one /32 (/128) route each, straight to the host.
      for (const h of topo.hosts.filter((x) => x.attach.switch === s.name)) {
        const a = family === "ipv4" ? hostV4(h) : hostV6(h);
        if (a !== undefined) add(it, `${hp(h.name)}.${family}`, route(table, `${fmt(a)}/${width}`, h.attach.port));
      }
      for (const { sw: at, prefix, from } of subnets.values()) {
        if (at === s.name) continue;
        if (at === "*") {
          for (const h of topo.hosts) {
            const a = family === "ipv4" ? hostV4(h) : hostV6(h);
            if (a === undefined || h.attach.switch === s.name) continue;
            const hop = firstHop(h.attach.switch);
            if (hop !== undefined) add(it, `${hp(h.name)}.${family}`, route(table, `${fmt(a)}/${width}`, hop));
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
        if (hop !== undefined) add(it, `${sp(other.name)}.loopback.${family}`, route(table, `${lb}/${width}`, hop));
      }
    }
  }

  // -- heartbeat peers -------------------------------------------------------------
  // Each link is watched from both ends: each end sends requests that the
  // other reflects and counts the responses. Watched from one end only, a
  // link whose watcher dies would never be declared down (nobody would be
  // sending on it), so the trees through the dead switch would never be
  // repaired; from both ends, the surviving neighbours see it.
  const peers = new Map<string, HeartbeatPeer[]>();
  for (const s of topo.switches) {
    const list: HeartbeatPeer[] = [];
    const seen = new Set<string>();
    for (const a of g.allAdjacencies(s.name)) {
      const peer = sw(a.to);
      if (seen.has(peer.name)) continue; // one index per peer address
      seen.add(peer.name);
      list.push({ link: a.link, port: a.port, peer: peer.name, peerAddress: parseIPv4(peer.loopback.ipv4), index: list.length });
    }
    peers.set(s.name, list);
    const it = intents.get(s.name)!;
    for (const p of list) add(it, `links[${p.link}]`, { table: T.hbPeer, match: { peer_addr: p.peerAddress }, action: { name: "set_peer", params: { peer_index: p.index } } });
    if (topo.heartbeat.mode === "slow") add(it, "heartbeat.mode", { table: T.hbMode, match: { msg_type: 2 }, action: "punt_heartbeat" });
  }

  // -- sessions -----------------------------------------------------------------
  const sessions = new Map<number, SessionPlan>();
  const treeRids = new Map<string, Set<number>>();
  const clientRids = new Map<string, Map<number, TableEntryInput>>();
  const overlayRids = new Map<string, Map<number, TableEntryInput>>();
  for (const s of topo.sessions) {
    const source = hostsByName.get(s.source)!;
    const ingress = source.attach.switch;
    const ses = `sessions[${sessionIndex.get(s.id)}]`;
    /** A receiver's path: its place in the session's clients, else a receiver that joined at run time. */
    const clientPath = (name: string) => {
      const host = name.split("@")[0]!;
      const j = s.clients.indexOf(host);
      return j >= 0 ? `${ses}.clients[${j}]` : `${ses} (${host}, joined at run time)`;
    };
    const removed = new Set(input.removedClients?.get(s.id) ?? []);
    const clientNames = [...new Set([...s.clients, ...(input.extraClients?.get(s.id) ?? [])])].filter((c) => !removed.has(c));
    const lastHops = new Map<string, HostSpec[]>();
    for (const c of clientNames) {
      const h = hostsByName.get(c);
      if (!h) continue;
      const list = lastHops.get(h.attach.switch) ?? [];
      list.push(h);
      lastHops.set(h.attach.switch, list);
    }
    // Receivers on the IPv6 side: the shorter of the IPv4 path (native
    // delivery at their own switch) and the IPv6 path through a translator.
    const translated: TranslatedDelivery[] = [];
    if (!s.service.address.includes(":") && topo.translation && topo.translation.translators.length > 0) {
      const v6Side = new Set([...(input.ipv6Joins?.get(s.id) ?? []), ...clientNames.filter((c) => hostsByName.get(c)?.ipv4 === undefined)]);
      for (const name of [...v6Side].sort()) {
        const h = hostsByName.get(name);
        if (!h?.ipv6 || removed.has(name)) continue;
        const d = translatedDelivery(g, ingress, h, hostIndex.get(name)!, topo.translation.translators);
        if (!d) {
          warnings.push(`session ${s.id}: no IPv6 path through a translator to ${name}`);
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
          mac: formatMac(portMac(sw(first.to), first.peerPort)),
          ipv4: `${formatIPv4(d.mapped)}/32`,
          attach: { switch: d.via, port: first.port },
        };
        const list2 = lastHops.get(d.via) ?? [];
        list2.push(virtual);
        lastHops.set(d.via, list2);
        virtualIndex.set(virtual.name, topo.hosts.length + hostIndex.get(name)!);
        // Route the mapped address from `via` to the translator; translate it there.
        for (const a of pathTo(spt4, d.translator)!.slice(1)) add(intents.get(a.from)!, clientPath(name), route(T.routeV4, `${formatIPv4(d.mapped)}/32`, a.port));
        add(intents.get(d.translator)!, clientPath(name), { table: T.xlateV4Dst, match: { dst_addr: `${formatIPv4(d.mapped)}/32` }, action: { name: "xlate_v4_dst_explicit", params: { addr: h.ipv6.split("/")[0]! } } });
      }
    }
    if (lastHops.has(ingress)) {
      warnings.push(`session ${s.id}: clients on the ingress router ${ingress} (${lastHops.get(ingress)!.map((h) => h.name).join(", ")}) are not served: last-hop delivery happens on another router`);
    }
    const remoteLastHops = [...lastHops.keys()].filter((n) => n !== ingress);
    const tree = distributionTree(g, ingress, remoteLastHops);
    for (const u of tree.unreachable) warnings.push(`session ${s.id}: last-hop router ${u} is unreachable over IPv4`);
    // Overlay paths: in use for always-redundant sessions; for overlay-on-failure
    // ones they are installed on standby (routes, rewrite rules, local
    // addresses) so that switching a last hop to the overlay takes one write:
    // adding its copy to the ingress router's session group.
    const overlays = new Map<string, OverlayPath>();
    const standby = new Map<string, OverlayPath>();
    const active = (lh: string) =>
      s.redundancy === "always-redundant" || (s.redundancy === "overlay-on-failure" && (input.overlayActivated?.get(s.id)?.has(lh) ?? false));
    for (const lh of remoteLastHops) {
      if (s.redundancy === "tree-only") continue;
      const pinned = input.pinnedOverlays?.get(s.id)?.get(lh);
      const ov = pinned && pinned.path.every((a) => g.isUp(a.link)) ? pinned : overlayPath(g, tree, lh);
      if (!ov) {
        warnings.push(`session ${s.id}: no overlay path to ${lh}`);
        continue;
      }
      if (active(lh)) overlays.set(lh, ov);
      else standby.set(lh, ov);
    }
    const delivered = new Map<string, Map<string, number>>();
    sessions.set(s.id, { session: s, ingress, lastHops, tree, overlays, standby, translated, clientRids: delivered });
    const v6 = s.service.address.includes(":");
    const groupId = s.id;
    const clientGroup = CLIENT_GROUP_BASE + s.id;

    // Client delivery at each last hop (including the ingress router itself).
    for (const [lh, clients] of lastHops) {
      const it = intents.get(lh)!;
      const lhSw = sw(lh);
      const rids = clientRids.get(lh) ?? new Map<number, TableEntryInput>();
      clientRids.set(lh, rids);
      const replicas = [];
      for (const c of clients) {
        const rid = clientRid(c.name, v6);
        const addr = v6 ? hostV6(c) : hostV4(c);
        if (addr === undefined) {
          warnings.push(`session ${s.id}: client ${c.name} has no ${v6 ? "IPv6" : "IPv4"} address; not delivered`);
          continue;
        }
        rids.set(rid, origin(it, clientPath(c.name), {
          table: T.clientRid,
          match: { egress_rid: rid },
          action: {
            name: v6 ? "deliver_to_client_v6" : "deliver_to_client_v4",
            params: { client_addr: addr, src_mac: portMac(lhSw, c.attach.port), dst_mac: BigInt("0x" + c.mac.replace(/:/g, "")) },
          },
        }));
        replicas.push({ port: c.attach.port, instance: rid });
        if (lh !== ingress) {
          // The client's delivered counter for this session.
          add(it, clientPath(c.name), { table: T.clientSession, match: { session_id: s.id, egress_rid: rid }, action: "count_client_copy" });
          delivered.set(lh, (delivered.get(lh) ?? new Map<string, number>()).set(c.name, rid));
        }
      }
      if (lh !== ingress) {
        setGroup(it, clientGroup, replicas, `${ses}.clients`);
        add(it, `${ses}.clients`, { table: T.lastHopSession, match: { session_id: s.id }, action: { name: "accept_session", params: { client_grp: clientGroup } } });
        it.lastHopSessions.add(s.id);
      }
    }

    // The ingress router: classification, encapsulation, session group.
    {
      const it = intents.get(ingress)!;
      const ing = sw(ingress);
      const replicas: { port: number; instance: number }[] = [];
      for (const a of tree.children.get(ingress) ?? []) {
        replicas.push({ port: a.port, instance: a.port });
        addTreeRid(treeRids, ingress, a.port);
      }
      for (const [lh, ov] of [...overlays, ...standby]) {
        const first = ov.path[0]!;
        const lhSw = sw(lh);
        const rid = OVERLAY_RID_BASE + (lhSw.deviceId & 0xfff);
        if (overlays.has(lh)) replicas.push({ port: first.port, instance: rid });
        const m = overlayRids.get(ingress) ?? new Map<number, TableEntryInput>();
        overlayRids.set(ingress, m);
        m.set(rid, origin(it, ses, {
          table: T.overlayRid,
          match: { egress_rid: rid },
          action: { name: "overlay_to_peer", params: { peer_addr: overlayAddress(ing, lhSw), src_mac: portMac(ing, first.port), dst_mac: portMac(sw(first.to), first.peerPort) } },
        }));
      }
      setGroup(it, groupId, replicas, ses);
      add(it, `${ses}.service`, {
        table: v6 ? T.sessionV6 : T.sessionV4,
        match: { dst_addr: s.service.address, l4_dst_port: s.service.port },
        action: {
          name: "encap_session",
          params: { session_id: s.id, group_addr: s.group, src_addr: ing.loopback.ipv4, mcast_grp: groupId, yellow_dscp: (input.meterOverrides?.get(s.id) ?? s.meter)?.yellowDscp ?? 8 },
        },
      });
      const meter = input.meterOverrides?.has(s.id) ? input.meterOverrides.get(s.id) : s.meter;
      if (meter) it.meters.push({ meter: METER_BURST, index: s.id, config: { cir: meter.cir, cburst: meter.cburst, pir: meter.pir, pburst: meter.pburst } });
    }

    // Transit and last-hop routers on the tree: group address → tree group.
    for (const m of tree.members) {
      if (m === ingress) continue;
      const it = intents.get(m)!;
      const replicas: { port: number; instance: number }[] = [];
      for (const a of tree.children.get(m) ?? []) {
        replicas.push({ port: a.port, instance: a.port });
        addTreeRid(treeRids, m, a.port);
      }
      if (lastHops.has(m)) {
        for (const c of lastHops.get(m)!) {
          const rid = clientRid(c.name, v6);
          if (clientRids.get(m)?.has(rid)) replicas.push({ port: c.attach.port, instance: rid });
        }
      }
      setGroup(it, groupId, replicas, ses);
      add(it, `${ses}.group`, { table: T.mcastV4, match: { group_addr: s.group }, action: { name: "replicate_to_group", params: { mcast_grp: groupId } } });
    }

    // Overlay addresses: local at the last hop, routed along the overlay path.
    for (const [lh, ov] of [...overlays, ...standby]) {
      const addr = overlayAddress(sw(ingress), sw(lh));
      const text = `${formatIPv4(addr)}/32`;
      const lhIt = intents.get(lh)!;
      // Sessions sharing an ingress router and a last hop want the same entries; the reconciler merges them.
      add(lhIt, ses, { table: T.local, match: { dst_addr: addr }, action: "mark_local" });
      for (const a of ov.path.slice(1)) add(intents.get(a.from)!, ses, route(T.routeV4, text, a.port));
    }
  }
  for (const [s, ports] of treeRids) {
    const it = intents.get(s)!;
    const spec = sw(s);
    for (const p of [...ports].sort((a, b) => a - b)) {
      add(it, sp(s), { table: T.treeRid, match: { egress_rid: p }, action: { name: "rewrite_replica_src_mac", params: { src_mac: portMac(spec, p) } } });
    }
  }
  for (const [s, rids] of clientRids) intents.get(s)!.entries.push(...rids.values());
  for (const [s, rids] of overlayRids) intents.get(s)!.entries.push(...rids.values());

  // -- translation --------------------------------------------------------------
  const tr = topo.translation;
  if (tr) {
    for (const name of tr.translators) {
      const it = intents.get(name)!;
      add(it, "translation.nat64Prefix", { table: T.xlateV6Dst, match: { dst_addr: tr.nat64Prefix }, action: "xlate_v6_dst_embedded" });
      add(it, "translation.nat64Prefix", { table: T.xlateV6Src, match: { src_addr: tr.nat64Prefix }, action: "xlate_v6_src_embedded" });
      tr.mappings.forEach((m, k) => {
        const from = `translation.mappings[${k}]`;
        add(it, from, { table: T.xlateV6Dst, match: { dst_addr: `${m.ipv6}/128` }, action: { name: "xlate_v6_dst_explicit", params: { addr: m.ipv4 } } });
        add(it, from, { table: T.xlateV6Src, match: { src_addr: `${m.ipv6}/128` }, action: { name: "xlate_v6_src_explicit", params: { addr: m.ipv4 } } });
        add(it, from, { table: T.xlateV4Dst, match: { dst_addr: `${m.ipv4}/32` }, action: { name: "xlate_v4_dst_explicit", params: { addr: m.ipv6 } } });
        add(it, from, { table: T.xlateV4Src, match: { src_addr: `${m.ipv4}/32` }, action: { name: "xlate_v4_src_explicit", params: { addr: m.ipv6 } } });
      });
      // IPv4 sources of translated traffic get the NAT64 prefix.
      add(it, "translation.nat64Prefix", { table: T.xlateV4Src, match: { src_addr: "0.0.0.0/1" }, action: { name: "xlate_v4_src_embedded", params: { prefix: prefixBase(tr.nat64Prefix) } } });
      add(it, "translation.nat64Prefix", { table: T.xlateV4Src, match: { src_addr: "128.0.0.0/1" }, action: { name: "xlate_v4_src_embedded", params: { prefix: prefixBase(tr.nat64Prefix) } } });
      add(it, "translation.multicastPrefix", {
        table: T.mcastXlateV6,
        match: { group_addr: tr.multicastPrefix },
        action: { name: "mcast_xlate_6to4", params: { source_prefix: prefixBase(tr.sourcePrefix) } },
      });
    }
    // Every switch routes the NAT64 prefix towards the nearest translator.
    if (tr.translators.length > 0) {
      for (const s of topo.switches) {
        if (tr.translators.includes(s.name)) continue;
        const spt = shortestPathTree(g, s.name, "ipv6");
        const best = [...tr.translators].sort((a, b) => (spt.cost.get(a) ?? Infinity) - (spt.cost.get(b) ?? Infinity) || a.localeCompare(b))[0]!;
        const hop = pathTo(spt, best)?.[0]?.port;
        if (hop !== undefined) add(intents.get(s.name)!, "translation.nat64Prefix", route(T.routeV6, tr.nat64Prefix, hop));
      }
    }
  }
  // -- neighbour trust (plan/trust.ts) --------------------------------------------
  addTrustEntries(g, intents, sessions, peers);
  if (problems.length > 0) throw new PlanError(problems);
  return { intents, sessions, peers, warnings };
}

/** Mapped IPv4 addresses of translated receivers: 100.64.0.0/10 (RFC 6598), by host index. */
export function mappedAddress(hostIdx: number): bigint {
  return (100n << 24n) | (64n << 16n) | BigInt(hostIdx & 0xffff);
}

/**
 * The cheapest (via, translator) for an IPv6 receiver: IPv4 from the
 * ingress router to `via`, IPv4 from `via` to the translator, IPv6 from the
 * translator to the receiver's switch; `via` is not the translator (the copy
 * must arrive at the translator to be translated) nor the ingress router
 * (whose copies are not yet last-hop copies). Ties: via, then translator
 * name.
 */
function translatedDelivery(g: NetworkGraph, ingress: string, h: HostSpec, hostIdx: number, translators: readonly string[]): TranslatedDelivery | undefined {
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

function prefixBase(p: string): bigint {
  return networkOf(parsePrefix(p, "ipv6"), 128);
}

function nexthop(port: number, src: bigint, dst: bigint): TableEntryInput {
  return { table: T.nexthop, match: { nexthop_id: port }, action: { name: "forward_to_neighbor", params: { port, src_mac: mac(src), dst_mac: mac(dst) } } };
}

function route(table: string, prefix: string, nexthopId: number): TableEntryInput {
  return { table, match: { dst_addr: prefix }, action: { name: "route_to_nexthop", params: { nexthop_id: nexthopId } } };
}

/** Adds entries to an intent, recording the topology path that produced them. */
function add(it: SwitchIntent, from: string, ...entries: TableEntryInput[]): void {
  for (const e of entries) it.origins?.entries.set(e, from);
  it.entries.push(...entries);
}

/** Records the topology path that produced an entry added to `it` later. */
function origin(it: SwitchIntent, from: string, e: TableEntryInput): TableEntryInput {
  it.origins?.entries.set(e, from);
  return e;
}

function replicasText(r: readonly ReplicaValue[]): string {
  return `[${[...r].sort((a, b) => a.port - b.port || (a.instance ?? 0) - (b.instance ?? 0)).map((x) => `${x.port}:${x.instance ?? 0}`).join(", ")}]`;
}

function addTreeRid(m: Map<string, Set<number>>, s: string, port: number): void {
  const set = m.get(s) ?? new Set<number>();
  set.add(port);
  m.set(s, set);
}


