/**
 * Heartbeat peers (p4/controls/heartbeat.p4; the monitor is
 * runtime/heartbeat.ts). Each link is watched from both ends: each end
 * sends requests that the other reflects and counts the responses. Watched
 * from one end only, a link whose watcher dies would never be declared down
 * (nobody would be sending on it), so the trees through the dead switch
 * would never be repaired; from both ends, the surviving neighbours see it.
 * With data-plane verdicts (mode "dataplane") each switch also gets the
 * peers' requests (heartbeat_tick_exact) and the group that copies the
 * controller's one request per interval to every peer (HB_GROUP).
 */
import { parseIPv4 } from "../../p4runtime/codec/values.js";
import { portMac } from "../topology/addressing.js";
import { HB_GROUP, T } from "./intent.js";
import { add, type PlanContext } from "./context.js";

export interface HeartbeatPeer {
  readonly link: number;
  readonly port: number;
  readonly peer: string;
  readonly peerAddress: bigint;
  readonly index: number;
}

/**
 * The spacing below which a request judges nothing (heartbeat_tick_exact's min_gap): half an interval, in the v1model
 * timestamp's microseconds. Requests closer than that are a burst that queued behind a busy switch, not intervals.
 */
export function minRequestGapUs(intervalMs: number): number {
  return Math.floor((intervalMs * 1000) / 2);
}

/** Per switch, its peers (one index per peer address) and their entries; slow mode punts responses. */
export function planHeartbeatPeers(ctx: PlanContext): Map<string, HeartbeatPeer[]> {
  const { topo, graph: g } = ctx;
  const peers = new Map<string, HeartbeatPeer[]>();
  for (const s of topo.switches) {
    const list: HeartbeatPeer[] = [];
    const seen = new Set<string>();
    for (const a of g.allAdjacencies(s.name)) {
      const peer = ctx.sw(a.to);
      if (seen.has(peer.name)) continue; // one index per peer address
      seen.add(peer.name);
      list.push({ link: a.link, port: a.port, peer: peer.name, peerAddress: parseIPv4(peer.loopback.ipv4), index: list.length });
    }
    peers.set(s.name, list);
    const it = ctx.intent(s.name);
    for (const p of list)
      add(it, `links[${p.link}]`, {
        table: T.hbPeer,
        match: { peer_addr: p.peerAddress },
        action: { name: "set_peer", params: { peer_index: p.index } },
      });
    if (topo.heartbeat.mode === "slow") add(it, "heartbeat.mode", { table: T.hbMode, match: { msg_type: 2 }, action: "punt_heartbeat" });
    if (topo.heartbeat.mode === "dataplane" && list.length > 0) {
      for (const p of list) {
        const peer = ctx.sw(p.peer);
        const adj = g.allAdjacencies(s.name).find((a) => a.port === p.port)!;
        add(it, `links[${p.link}]`, {
          table: T.hbTick,
          match: { peer_index: p.index },
          action: {
            name: "heartbeat_request",
            params: {
              port: p.port,
              src_mac: portMac(s, p.port),
              dst_mac: portMac(peer, adj.peerPort),
              peer_addr: p.peerAddress,
              miss_threshold: topo.heartbeat.missThreshold,
              min_gap: minRequestGapUs(topo.heartbeat.intervalMs),
            },
          },
        });
      }
      ctx.setGroup(
        it,
        HB_GROUP,
        list.map((p) => ({ port: p.port, instance: p.index })),
        "heartbeat",
      );
    }
  }
  return peers;
}
