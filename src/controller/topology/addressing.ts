/**
 * Addresses the topology file leaves implicit, derived the same way for the
 * controller and for Mininet (`p4cast topology resolve` prints them):
 * switch port MACs, host gateways, overlay addresses, interface names.
 */
import { formatIPv4, formatIPv6, formatMac, parseIPv4, parseIPv6, parseMac } from "../../p4runtime/codec/values.js";
import type { HostSpec, SwitchSpec, Topology } from "./schema.js";

/** MAC of a switch port: the switch's `mac` with the port in the last byte, or 02:50:<device id 24 bits>:<port>. */
export function portMac(sw: SwitchSpec, port: number): bigint {
  if (sw.mac) return (parseMac(sw.mac) & ~0xffn) | BigInt(port & 0xff);
  return (0x0250n << 32n) | (BigInt(sw.deviceId & 0xffffff) << 8n) | BigInt(port & 0xff);
}

export interface Prefix {
  readonly addr: bigint;
  readonly len: number;
}

export function parsePrefix(text: string, family: "ipv4" | "ipv6"): Prefix {
  const [a, l] = text.split("/");
  return { addr: family === "ipv4" ? parseIPv4(a!) : parseIPv6(a!), len: Number(l) };
}

export function networkOf(p: Prefix, width: number): bigint {
  const hostBits = BigInt(width - p.len);
  return (p.addr >> hostBits) << hostBits;
}

/** IPv4 gateway of a host: the last usable address of its subnet (x.x.x.254 in a /24). */
export function gatewayV4(h: HostSpec): bigint | undefined {
  if (!h.ipv4) return undefined;
  const p = parsePrefix(h.ipv4, "ipv4");
  const net = networkOf(p, 32);
  return net + (1n << BigInt(32 - p.len)) - 2n;
}

/** IPv6 gateway of a host: <subnet>::ff. */
export function gatewayV6(h: HostSpec): bigint | undefined {
  if (!h.ipv6) return undefined;
  const p = parsePrefix(h.ipv6, "ipv6");
  return networkOf(p, 128) + 0xffn;
}

export function hostV4(h: HostSpec): bigint | undefined {
  return h.ipv4 ? parsePrefix(h.ipv4, "ipv4").addr : undefined;
}

export function hostV6(h: HostSpec): bigint | undefined {
  return h.ipv6 ? parsePrefix(h.ipv6, "ipv6").addr : undefined;
}

/** Overlay addresses: 10.254.<ingress device>.<last-hop device>. */
export function overlayAddress(ingress: SwitchSpec, lastHop: SwitchSpec): bigint {
  return (10n << 24n) | (254n << 16n) | (BigInt(ingress.deviceId & 0xff) << 8n) | BigInt(lastHop.deviceId & 0xff);
}

/**
 * Detour addresses: 10.253.<tree router's device>.<tree child's device>. A
 * tree copy that takes a backup replica around a broken tree link goes to
 * the child as unicast to this address (local at the child, routed along
 * the detour; plan/tree-backup.ts).
 */
export function detourAddress(from: SwitchSpec, to: SwitchSpec): bigint {
  return (10n << 24n) | (253n << 16n) | (BigInt(from.deviceId & 0xff) << 8n) | BigInt(to.deviceId & 0xff);
}

/** The Linux interface name of a switch port in Mininet. */
export function interfaceName(sw: SwitchSpec, port: number): string {
  return `${sw.name}-eth${port}`;
}

/** Everything derived, in a form Mininet's launcher reads. */
export function resolve(t: Topology) {
  const byName = new Map(t.switches.map((s) => [s.name, s]));
  return {
    name: t.name,
    switches: t.switches.map((s) => ({
      name: s.name,
      deviceId: s.deviceId,
      grpc: s.grpc,
      thrift: s.thrift,
      cpuPort: s.cpuPort,
      loopbackV4: s.loopback.ipv4,
      loopbackV6: s.loopback.ipv6,
      ports: [
        ...t.hosts.filter((h) => h.attach.switch === s.name).map((h) => ({ port: h.attach.port, peer: h.name })),
        ...t.links.flatMap((l) => l.ends.flatMap((e, i) => (e.switch === s.name ? [{ port: e.port, peer: l.ends[1 - i]!.switch }] : []))),
      ]
        .sort((a, b) => a.port - b.port)
        .map((p) => ({ ...p, interface: interfaceName(s, p.port), mac: formatMac(portMac(s, p.port)) })),
    })),
    hosts: t.hosts.map((h) => {
      const sw = byName.get(h.attach.switch)!;
      const g4 = gatewayV4(h);
      const g6 = gatewayV6(h);
      return {
        name: h.name,
        mac: h.mac,
        ipv4: h.ipv4,
        ipv6: h.ipv6,
        switch: sw.name,
        port: h.attach.port,
        interface: interfaceName(sw, h.attach.port),
        gatewayMac: formatMac(portMac(sw, h.attach.port)),
        ...(g4 !== undefined ? { gatewayV4: formatIPv4(g4) } : {}),
        ...(g6 !== undefined ? { gatewayV6: formatIPv6(g6) } : {}),
      };
    }),
    links: t.links.map((l) => ({ a: l.ends[0], b: l.ends[1], cost: l.cost, families: l.families })),
  };
}
