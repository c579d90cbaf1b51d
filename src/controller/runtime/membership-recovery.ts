/**
 * Receivers that joined or left at run time, recovered from the switches.
 * IGMP/MLD state is not shared between controllers: the switches hold it.
 * Every receiver of a session is a replica of the session's client group on
 * its last hop (or on the router before a translator, for an IPv6 receiver
 * of an IPv4 session), with the host's index in its replication id. A
 * controller that takes over reads those groups and compares them with what
 * the topology file alone would install: a receiver installed but not in
 * the file joined; a receiver of the file missing from a switch that was
 * read left. A switch that could not be read says nothing about its
 * receivers.
 */
import type { ReplicaValue } from "../../client/entities/pre.js";
import { CLIENT_GROUP_BASE, CLIENT_RID_BASE, CLIENT_RID_V6_BASE, GROUP_BANK_B } from "../plan/intent.js";
import type { NetworkPlan } from "../plan/network-plan.js";
import type { Topology } from "../topology/schema.js";

export interface RecoveredReceiver {
  readonly session: number;
  readonly host: string;
  /** Reached through a translator on the IPv6 side (it joined with MLD). */
  readonly ipv6: boolean;
}

/** The receivers that the client groups of `groups` (one switch's PRE groups) serve. */
export function receiversInGroups(topology: Topology, groups: ReadonlyMap<number, readonly ReplicaValue[]>): RecoveredReceiver[] {
  const sessions = new Set(topology.sessions.map((s) => s.id));
  const out: RecoveredReceiver[] = [];
  for (const [physical, replicas] of groups) {
    const session = (physical & ~GROUP_BANK_B) - CLIENT_GROUP_BASE;
    if (!sessions.has(session)) continue;
    for (const r of replicas) {
      const rid = r.instance ?? 0;
      const index = rid >= CLIENT_RID_V6_BASE ? rid - CLIENT_RID_V6_BASE : rid - CLIENT_RID_BASE;
      if (index < 0) continue;
      const translated = index >= topology.hosts.length;
      const host = topology.hosts[translated ? index - topology.hosts.length : index];
      if (host) out.push({ session, host: host.name, ipv6: translated });
    }
  }
  return out;
}

export interface MembershipDelta {
  readonly joined: RecoveredReceiver[];
  readonly left: { session: number; host: string }[];
}

/**
 * Compares what the switches that were read serve (`installed`, per switch)
 * with what the file alone would install there (`filePlan`, a plan made
 * without run-time joins).
 */
export function membershipDelta(
  topology: Topology,
  filePlan: NetworkPlan,
  installed: ReadonlyMap<string, readonly RecoveredReceiver[]>,
): MembershipDelta {
  const expected = new Map<string, RecoveredReceiver[]>();
  for (const [sw, intent] of filePlan.intents) expected.set(sw, receiversInGroups(topology, intent.groups));
  const key = (r: { session: number; host: string }) => `${r.session}/${r.host}`;
  const everywhereExpected = new Set([...expected.values()].flat().map(key));
  const everywhereInstalled = new Set([...installed.values()].flat().map(key));
  const joined: RecoveredReceiver[] = [];
  const seen = new Set<string>();
  for (const list of installed.values()) {
    for (const r of list) {
      if (seen.has(key(r))) continue;
      seen.add(key(r));
      if (!everywhereExpected.has(key(r)) || (r.ipv6 && ![...expected.values()].flat().some((e) => key(e) === key(r) && e.ipv6)))
        joined.push(r);
    }
  }
  const left: { session: number; host: string }[] = [];
  for (const [sw, list] of expected) {
    if (!installed.has(sw)) continue; // not read: unknown
    for (const r of list)
      if (!everywhereInstalled.has(key(r)) && !left.some((l) => key(l) === key(r))) left.push({ session: r.session, host: r.host });
  }
  return { joined, left };
}
