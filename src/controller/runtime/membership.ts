/**
 * Receivers that join and leave at run time. IGMP (v2/v3) and MLD (v1/v2)
 * reports reach the controller as packet-ins (reasons 1 and 2); the tracker
 * maps the reporting host (by switch and ingress port) and the group to a
 * session and records the change. An IPv6 receiver that joins the IPv6
 * form of a session's IPv4 group (G6 = multicast prefix + G4) is a receiver
 * of that session as well.
 */
import type { DecodedPacketIn } from "../../client/entities/packet-io.js";
import { decodeFrame } from "../../packet/frame.js";
import { GroupRecordType, IgmpType, type IgmpMessage } from "../../packet/igmp.js";
import { parseMld, type MldMessage } from "../../packet/mld.js";
import { Icmpv6Type } from "../../packet/icmpv6.js";
import { parseIPv4, parseIPv6 } from "../../p4runtime/codec/values.js";
import { networkOf, parsePrefix } from "../topology/addressing.js";
import type { Topology } from "../topology/schema.js";

const REASON_IGMP = 1n;
const REASON_MLD = 2n;

export interface MembershipChange {
  readonly session: number;
  readonly host: string;
  readonly joined: boolean;
  readonly via: "igmp" | "mld";
}

export class MembershipTracker {
  private readonly extra = new Map<number, Set<string>>();
  private readonly removed = new Map<number, Set<string>>();
  /** Receivers whose last report came from the IPv6 side (MLD). */
  private readonly v6 = new Map<number, Set<string>>();

  constructor(private readonly topology: Topology) {}

  joined(): Map<number, string[]> {
    return new Map([...this.extra].map(([k, v]) => [k, [...v]]));
  }

  left(): Map<number, string[]> {
    return new Map([...this.removed].map(([k, v]) => [k, [...v]]));
  }

  /** Receivers that joined from the IPv6 side, by session id. */
  ipv6Joins(): Map<number, string[]> {
    return new Map([...this.v6].map(([k, v]) => [k, [...v]]));
  }

  /** The session whose group is `g4`, or whose IPv6 form is `g6`. */
  private sessionFor(group: bigint, v6: boolean): number | undefined {
    for (const s of this.topology.sessions) {
      const g4 = parseIPv4(s.group);
      if (!v6 && g4 === group) return s.id;
      if (v6 && this.topology.translation) {
        const prefix = networkOf(parsePrefix(this.topology.translation.multicastPrefix, "ipv6"), 128);
        if ((prefix | g4) === group) return s.id;
      }
    }
    return undefined;
  }

  /** Records a join or leave; returns the change, or undefined if nothing changed. */
  record(session: number, host: string, joined: boolean, via: "igmp" | "mld"): MembershipChange | undefined {
    const add = this.extra.get(session) ?? new Set<string>();
    const rem = this.removed.get(session) ?? new Set<string>();
    const v6 = this.v6.get(session) ?? new Set<string>();
    const before = `${add.has(host)}${rem.has(host)}${v6.has(host)}`;
    const configured = this.topology.sessions.find((s) => s.id === session)?.clients.includes(host) ?? false;
    if (joined) {
      rem.delete(host);
      if (!configured) add.add(host);
    } else {
      add.delete(host);
      if (configured) rem.add(host);
    }
    if (joined && via === "mld") v6.add(host);
    else v6.delete(host);
    this.extra.set(session, add);
    this.removed.set(session, rem);
    this.v6.set(session, v6);
    return before === `${add.has(host)}${rem.has(host)}${v6.has(host)}` ? undefined : { session, host, joined, via };
  }

  onPacketIn(sw: string, p: DecodedPacketIn): MembershipChange | undefined {
    const reason = p.metadata.reason;
    if (reason !== REASON_IGMP && reason !== REASON_MLD) return undefined;
    const port = Number(p.metadata.ingress_port);
    const host = this.topology.hosts.find((h) => h.attach.switch === sw && h.attach.port === port);
    if (!host) return undefined;
    let frame;
    try {
      frame = decodeFrame(p.payload);
    } catch {
      return undefined;
    }
    const ip = frame.ip;
    if (!ip) return undefined;
    let last: MembershipChange | undefined;
    if (reason === REASON_IGMP && ip.l4.kind === "igmp") {
      const m = ip.l4.message;
      for (const { group, join } of igmpGroups(m)) {
        const s = this.sessionFor(parseIPv4(group), false);
        if (s !== undefined) last = this.record(s, host.name, join, "igmp") ?? last;
      }
    } else if (reason === REASON_MLD && ip.version === 6 && ip.l4.kind === "icmpv6") {
      let m;
      try {
        m = parseMld(ip.l4.bytes);
      } catch {
        return undefined;
      }
      for (const { group, join } of mldGroups(m)) {
        const s = this.sessionFor(parseIPv6(group), true);
        if (s !== undefined) last = this.record(s, host.name, join, "mld") ?? last;
      }
    }
    return last;
  }
}

/**
 * What a report says about each group: IGMPv2/MLDv1 reports join and
 * leave/done messages leave; in v3/v2 records, EXCLUDE modes and ALLOW join,
 * an INCLUDE mode with no sources leaves, an INCLUDE with sources (SSM)
 * joins, and BLOCK changes nothing for the (any-source) session.
 */
function recordVerdict(recordType: number, sources: number): boolean | undefined {
  switch (recordType) {
    case GroupRecordType.MODE_IS_EXCLUDE:
    case GroupRecordType.CHANGE_TO_EXCLUDE:
    case GroupRecordType.ALLOW_NEW_SOURCES:
      return true;
    case GroupRecordType.MODE_IS_INCLUDE:
    case GroupRecordType.CHANGE_TO_INCLUDE:
      return sources > 0;
    default:
      return undefined;
  }
}

function igmpGroups(m: IgmpMessage): { group: string; join: boolean }[] {
  if ("records" in m) {
    return m.records.flatMap((r) => {
      const v = recordVerdict(r.recordType, r.sources.length);
      return v === undefined ? [] : [{ group: r.group, join: v }];
    });
  }
  if (m.type === IgmpType.V1_REPORT || m.type === IgmpType.V2_REPORT) return [{ group: m.group, join: true }];
  if (m.type === IgmpType.V2_LEAVE) return [{ group: m.group, join: false }];
  return [];
}

function mldGroups(m: MldMessage): { group: string; join: boolean }[] {
  if ("records" in m) {
    return m.records.flatMap((r) => {
      const v = recordVerdict(r.recordType, r.sources.length);
      return v === undefined ? [] : [{ group: r.multicastAddress, join: v }];
    });
  }
  if (m.type === Icmpv6Type.MLD_V1_REPORT) return [{ group: m.multicastAddress, join: true }];
  if (m.type === Icmpv6Type.MLD_V1_DONE) return [{ group: m.multicastAddress, join: false }];
  return [];
}
