/**
 * The p4cast program's drop reasons (p4/include/headers.p4, `DROP_*`): the
 * cell of `ingress.ingress_drop_counter` and `egress.egress_drop_counter`
 * a dropped packet is counted in. test/controller/drop-reasons.test.ts
 * holds this table to the P4 constants. Also: reading those counters from
 * every switch, and what they counted between two readings.
 */
import type { P4RuntimeClient } from "../client/client.js";

export const DropReason = {
  PARSER_ERROR: 1,
  CHECKSUM: 2,
  TRUNCATED: 3,
  TTL_EXPIRED: 4,
  NO_ROUTE: 5,
  LOCAL_UNHANDLED: 6,
  UNKNOWN_SESSION: 7,
  DUPLICATE: 8,
  TOO_OLD: 9,
  METER_RED: 10,
  XLATE: 11,
  HB_UNKNOWN_PEER: 12,
  HB_CONSUMED: 13,
  MALFORMED: 14,
  UNTRUSTED_TREE: 15,
  UNTRUSTED_OVERLAY: 16,
  UNTRUSTED_HEARTBEAT: 17,
  OUT_OF_WINDOW: 18,
} as const;
export type DropReasonName = keyof typeof DropReason;

/** The counters indexed by drop reason, per gress. */
export const DROP_COUNTERS = { ingress: "ingress.ingress_drop_counter", egress: "egress.egress_drop_counter" } as const;

/** A reason's name for a code ("UNTRUSTED_OVERLAY"), or "reason N" for a code the program does not define. */
export function dropReasonName(code: number): string {
  return (Object.keys(DropReason) as DropReasonName[]).find((k) => DropReason[k] === code) ?? `reason ${code}`;
}

/** Packets one switch's pipeline dropped for one reason. */
export interface PipelineDrop {
  readonly switch: string;
  readonly gress: keyof typeof DROP_COUNTERS;
  readonly reason: string;
  readonly packets: number;
}

/** Every switch's drop counters: "switch/gress/reason" → packets. */
export async function readDropCounters(clients: ReadonlyMap<string, P4RuntimeClient>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  await Promise.all(
    [...clients].map(async ([sw, client]) => {
      for (const [gress, counter] of Object.entries(DROP_COUNTERS)) {
        for (const e of await client.readAll({ kind: "counterEntry", counter })) {
          if (e.kind === "counterEntry") out.set(`${sw}/${gress}/${e.index}`, Number(e.data.packets));
        }
      }
    }),
  );
  return out;
}

/** What the pipelines dropped between two readings, per switch, gress and reason; consumed heartbeat responses left out. */
export function dropsBetween(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): PipelineDrop[] {
  return [...after].flatMap(([key, packets]) => {
    const [sw, gress, reason] = key.split("/") as [string, keyof typeof DROP_COUNTERS, string];
    const n = packets - (before.get(key) ?? 0);
    return n > 0 && Number(reason) !== DropReason.HB_CONSUMED
      ? [{ switch: sw, gress, reason: dropReasonName(Number(reason)), packets: n }]
      : [];
  });
}

/** Drops in words, for messages: "s2 ingress NO_ROUTE=4, s6 ingress DUPLICATE=300", or "none". */
export function formatDrops(drops: readonly PipelineDrop[]): string {
  return drops.map((d) => `${d.switch} ${d.gress} ${d.reason}=${d.packets}`).join(", ") || "none";
}
