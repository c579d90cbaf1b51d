/**
 * The topology file: the single source of truth for the controller and for
 * Mininet. This module holds its shape (a zod schema); load.ts parses YAML or
 * JSON, validates the shape and then the cross-references, and reports every
 * problem with its path in the file.
 */
import { z } from "zod";
import { parseIPv4, parseIPv6, parseMac } from "../../p4runtime/codec/values.js";

const ipv4 = z.string().refine((s) => ok(() => parseIPv4(s)), { message: "not an IPv4 address" });
const ipv6 = z.string().refine((s) => ok(() => parseIPv6(s)), { message: "not an IPv6 address" });
const ipv4Prefix = z.string().refine((s) => prefixOk(s, 32, parseIPv4), { message: "not an IPv4 prefix (a.b.c.d/len)" });
const ipv6Prefix = z.string().refine((s) => prefixOk(s, 128, parseIPv6), { message: "not an IPv6 prefix (addr/len)" });
const mac = z
  .string()
  .refine((s) => /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(s) && ok(() => parseMac(s)), { message: "not a MAC address (aa:bb:cc:dd:ee:ff)" });
const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, "expected host:port");
const name = z
  .string()
  .regex(/^[a-zA-Z][a-zA-Z0-9_-]{0,15}$/, "names are letters, digits, _ and -, starting with a letter, at most 16 characters");
const port = z.number().int().min(1).max(510);

function ok(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

function prefixOk(s: string, width: number, parse: (a: string) => bigint): boolean {
  const [addr, len, extra] = s.split("/");
  if (extra !== undefined || !addr || !len || !/^\d+$/.test(len) || Number(len) > width) return false;
  return ok(() => parse(addr));
}

export const Family = z.enum(["ipv4", "ipv6"]);

export const SwitchSchema = z
  .object({
    name,
    deviceId: z.number().int().min(0),
    /** P4Runtime server address. */
    grpc: hostPort,
    /** BMv2 Thrift address (register access on simple_switch_grpc). */
    thrift: hostPort.optional(),
    loopback: z.object({ ipv4, ipv6: ipv6.optional() }).strict(),
    cpuPort: z.number().int().min(1).max(511).default(255),
    /** Router MAC used as the source of frames the switch sends (ports may override). */
    mac: mac.optional(),
  })
  .strict();

export const HostSchema = z
  .object({
    name,
    mac,
    ipv4: ipv4Prefix.optional(),
    ipv6: ipv6Prefix.optional(),
    attach: z.object({ switch: name, port }).strict(),
  })
  .strict()
  .refine((h) => h.ipv4 !== undefined || h.ipv6 !== undefined, { message: "a host needs an ipv4 or ipv6 address (or both)" });

export const LinkEndSchema = z.object({ switch: name, port }).strict();

export const LinkSchema = z
  .object({
    ends: z.tuple([LinkEndSchema, LinkEndSchema]),
    cost: z.number().int().min(1).max(65535).default(1),
    families: z.array(Family).min(1).default(["ipv4", "ipv6"]),
  })
  .strict();

export const MeterSchema = z
  .object({
    /** Committed rate, bytes per second. */
    cir: z.number().int().min(0),
    /** Committed burst, bytes. */
    cburst: z.number().int().min(0),
    /** Peak rate, bytes per second (>= cir). */
    pir: z.number().int().min(0),
    /** Peak burst, bytes. */
    pburst: z.number().int().min(0),
    /** DSCP given to packets metered yellow. */
    yellowDscp: z.number().int().min(0).max(63).default(8),
  })
  .strict()
  .refine((m) => m.pir >= m.cir, { message: "pir must be at least cir" });

export const Redundancy = z.enum(["tree-only", "overlay-on-failure", "always-redundant"]);

export const SessionSchema = z
  .object({
    id: z.number().int().min(1).max(1023),
    /** The host that sends the session's unicast packets. */
    source: name,
    /** Where the source sends them: the service address and UDP/TCP port. */
    service: z.object({ address: z.union([ipv4, ipv6]), port: z.number().int().min(1).max(65535) }).strict(),
    /** The IPv4 multicast group of the session's tree. */
    group: ipv4.refine((g) => parseIPv4(g) >> 28n === 0xen, { message: "not an IPv4 multicast address (224.0.0.0/4)" }),
    clients: z.array(name).min(1),
    meter: MeterSchema.optional(),
    redundancy: Redundancy.default("always-redundant"),
  })
  .strict();

export const HeartbeatSchema = z
  .object({
    intervalMs: z.number().int().min(10).max(60_000).default(100),
    missThreshold: z.number().int().min(1).max(100).default(3),
    /**
     * fast: responses consumed in the data plane, the controller reads each switch's counters every interval;
     * slow: responses punted to the controller; dataplane: one request per switch per interval, copied to every
     * peer by the switch, which judges its peers itself and sends a digest only when one goes down or up.
     */
    mode: z.enum(["fast", "slow", "dataplane"]).default("fast"),
  })
  .strict();

export const RepairSchema = z
  .object({
    /**
     * How long a packet can still be on its way through the network (the queues of busy software switches
     * included): a repair waits this long after the new ways are ready before it takes the old ones down, and
     * again before it removes the old trust entries, so that nothing still in flight the old way is dropped.
     */
    drainMs: z.number().int().min(0).max(60_000).default(1000),
  })
  .strict();

export const TranslationSchema = z
  .object({
    /** Switches that translate between IPv4 and IPv6. */
    translators: z.array(name).default([]),
    /** RFC 6052 prefix for IPv4-embedded IPv6 addresses (a /96). */
    nat64Prefix: ipv6Prefix.default("64:ff9b::/96"),
    /** IPv6 multicast /96 prefix: G6 = prefix + G4. */
    multicastPrefix: ipv6Prefix.default("ff3e::/96"),
    /** IPv6 unicast /96 prefix for multicast sources: S6 = prefix + S4. */
    sourcePrefix: ipv6Prefix.default("64:ff9b::/96"),
    /** Explicit address mappings (RFC 7757 style). */
    mappings: z.array(z.object({ ipv6, ipv4 }).strict()).default([]),
  })
  .strict();

export const TopologySchema = z
  .object({
    name: z.string().min(1).default("p4cast"),
    switches: z.array(SwitchSchema).min(1),
    hosts: z.array(HostSchema).default([]),
    links: z.array(LinkSchema).default([]),
    sessions: z.array(SessionSchema).default([]),
    heartbeat: HeartbeatSchema.default({ intervalMs: 100, missThreshold: 3, mode: "fast" }),
    repair: RepairSchema.default({ drainMs: 1000 }),
    translation: TranslationSchema.optional(),
  })
  .strict();

export type Topology = z.infer<typeof TopologySchema>;
export type SwitchSpec = z.infer<typeof SwitchSchema>;
export type HostSpec = z.infer<typeof HostSchema>;
export type LinkSpec = z.infer<typeof LinkSchema>;
export type SessionSpec = z.infer<typeof SessionSchema>;
export type MeterSpec = z.infer<typeof MeterSchema>;
export type HeartbeatSpec = z.infer<typeof HeartbeatSchema>;
export type RepairSpec = z.infer<typeof RepairSchema>;
export type TranslationSpec = z.infer<typeof TranslationSchema>;
export type RedundancyMode = z.infer<typeof Redundancy>;
