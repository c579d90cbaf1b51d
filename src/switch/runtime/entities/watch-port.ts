/**
 * Watch ports of action selector members (ActionProfileGroup.Member and the
 * one-shot ActionProfileAction): the port whose liveness decides whether the
 * member may be selected, as `watch_port` (a port bytestring; empty: none) or
 * the deprecated int32 `watch` (0, SDN_PORT_UNKNOWN: none).
 */
import type { ActionProfileGroup_Member } from "../../../proto/gen/p4/v1/p4runtime_pb.js";
import { invalid } from "../status.js";
import { MAX_PORT, portFromBytes, portToBytes } from "./ports.js";

/** The watch_kind oneof (the same in a group member and a one-shot action). */
export type WatchKind = ActionProfileGroup_Member["watchKind"];

export interface WatchPort {
  /** undefined: the member does not depend on any port. */
  readonly port: number | undefined;
  /** Written as the deprecated int32 `watch` (read back that way). */
  readonly deprecated: boolean;
}

/** Decodes a watch_kind; `field` names the member in messages, after `what`. */
export function decodeWatch(kind: WatchKind, what: string, field: string): WatchPort {
  switch (kind.case) {
    case "watchPort":
      return { port: kind.value.length === 0 ? undefined : portFromBytes(kind.value, what, `${field}.watch_port`), deprecated: false };
    case "watch":
      if (kind.value < 0 || kind.value > MAX_PORT)
        throw invalid(`${what}: ${field}.watch ${kind.value} is outside the target's ports 0..${MAX_PORT}`);
      return { port: kind.value === 0 ? undefined : kind.value, deprecated: true };
    default:
      return { port: undefined, deprecated: false };
  }
}

/** The watch_kind to read back, in the form it was written. */
export function encodeWatch(port: number | undefined, deprecated: boolean): WatchKind {
  if (port === undefined) return { case: undefined };
  return deprecated ? { case: "watch", value: port } : { case: "watchPort", value: portToBytes(port) };
}
