/**
 * Small generated topologies for property tests: switches s1..sn (device id
 * i, loopback 10.255.0.i) and links between them given as pairs of switch
 * indices with a cost; each switch's link ports count up from 2 (port 1 is
 * left for a host). `hosts` and `sessions` are YAML lines of those sections.
 */
import { parseTopology } from "../../src/controller/topology/load.js";
import type { Topology } from "../../src/controller/topology/schema.js";

export interface RandomLink {
  readonly a: number;
  readonly b: number;
  readonly cost: number;
}

export function randomTopology(
  n: number,
  links: readonly RandomLink[],
  more: { readonly hosts?: readonly string[]; readonly sessions?: readonly string[] } = {},
): Topology {
  const nextPort = new Map<number, number>();
  const port = (i: number) => {
    const p = (nextPort.get(i) ?? 1) + 1;
    nextPort.set(i, p);
    return p;
  };
  const lines = [
    "name: random",
    "switches:",
    ...[...Array(n).keys()].map(
      (i) => `  - { name: s${i + 1}, deviceId: ${i + 1}, grpc: "127.0.0.1:${21000 + i}", loopback: { ipv4: 10.255.0.${i + 1} } }`,
    ),
    ...(more.hosts?.length ? ["hosts:", ...more.hosts] : ["hosts: []"]),
    links.length ? "links:" : "links: []",
    ...links.map(
      (l) => `  - { ends: [{ switch: s${l.a + 1}, port: ${port(l.a)} }, { switch: s${l.b + 1}, port: ${port(l.b)} }], cost: ${l.cost} }`,
    ),
    ...(more.sessions?.length ? ["sessions:", ...more.sessions] : []),
  ];
  return parseTopology(lines.join("\n"));
}
