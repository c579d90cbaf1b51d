/** Counter and meter values between P4Runtime messages and the engine. */
import { create } from "@bufbuild/protobuf";
import { type CounterData, CounterDataSchema, type MeterConfig, MeterConfigSchema } from "../../../proto/gen/p4/v1/p4runtime_pb.js";
import type { CounterValue, MeterRates } from "../../engine/runtime-api.js";
import { invalid } from "../status.js";

export function counterDataOf(d: CounterData): CounterValue {
  if (d.packetCount < 0n || d.byteCount < 0n) throw invalid("counter values must not be negative");
  return { packets: d.packetCount, bytes: d.byteCount };
}

export function toCounterData(v: CounterValue): CounterData {
  return create(CounterDataSchema, { packetCount: v.packets, byteCount: v.bytes });
}

/** Checks a two-rate meter configuration: non-negative, cir <= pir. */
export function meterRatesOf(c: MeterConfig, what: string): MeterRates {
  for (const [k, v] of [
    ["cir", c.cir],
    ["cburst", c.cburst],
    ["pir", c.pir],
    ["pburst", c.pburst],
  ] as const) {
    if (v < 0n) throw invalid(`${what}: ${k} must not be negative`);
  }
  if (c.pir < c.cir) throw invalid(`${what}: pir (${c.pir}) must be at least cir (${c.cir})`);
  return { cir: c.cir, cburst: c.cburst, pir: c.pir, pburst: c.pburst };
}

export function toMeterConfig(r: MeterRates): MeterConfig {
  return create(MeterConfigSchema, { cir: r.cir, cburst: r.cburst, pir: r.pir, pburst: r.pburst });
}
