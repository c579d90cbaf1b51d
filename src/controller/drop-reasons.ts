/**
 * The p4cast program's drop reasons (p4/include/headers.p4, `DROP_*`): the
 * cell of `ingress.ingress_drop_counter` and `egress.egress_drop_counter`
 * a dropped packet is counted in. test/controller/drop-reasons.test.ts
 * holds this table to the P4 constants.
 */
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
