/**
 * Burst regulation (p4/controls/burst_meter.p4): one two-rate three-colour
 * meter cell per session at its ingress router; yellow packets are marked
 * with the session's DSCP (an encap_session parameter), red ones dropped.
 */
import type { SessionSpec } from "../topology/schema.js";
import { METER_BURST } from "./intent.js";
import type { PlanContext } from "./context.js";
import type { SessionPlan } from "./sessions.js";

/** Meter settings changed at run time, by session id (an entry set to undefined removes the meter). */
export type MeterOverrides = ReadonlyMap<number, SessionSpec["meter"]>;

/** The DSCP that marks the session's yellow packets (default 8, CS1). */
export function yellowDscp(s: SessionSpec, overrides: MeterOverrides | undefined): number {
  return (overrides?.get(s.id) ?? s.meter)?.yellowDscp ?? 8;
}

/** The session's meter cell at its ingress router (the override when one is set, else the topology's). */
export function planBurstMeter(ctx: PlanContext, plan: SessionPlan, overrides: MeterOverrides | undefined): void {
  const s = plan.session;
  const meter = overrides?.has(s.id) ? overrides.get(s.id) : s.meter;
  if (meter)
    ctx.intent(plan.ingress).meters.push({
      meter: METER_BURST,
      index: s.id,
      config: { cir: meter.cir, cburst: meter.cburst, pir: meter.pir, pburst: meter.pburst },
    });
}
