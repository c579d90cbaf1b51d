/**
 * Error helpers for the engine. Load-time problems are reported as
 * EngineError: "UNSUPPORTED" names a JSON construct the engine cannot run,
 * "BAD_VALUE" a malformed or inconsistent JSON document.
 */
import { EngineError } from "./runtime-api.js";

export function unsupported(construct: string): EngineError {
  return new EngineError("UNSUPPORTED", `unsupported construct: ${construct}`);
}

export function malformed(msg: string): EngineError {
  return new EngineError("BAD_VALUE", `malformed BMv2 JSON: ${msg}`);
}

/** Thrown by process() when a P4 assert()/assume() fails (BMv2 aborts). */
export class P4AssertionError extends Error {
  override readonly name = "P4AssertionError";
}
