/**
 * Reading a topology file: YAML or JSON, the schema, then the checks that
 * need the whole file (names defined once, references resolve, ports used
 * once, ids unique). Every error names its path in the file, e.g.
 * `sessions[0].clients[1]: unknown host "h9"`; all of them are reported at
 * once.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { type Topology, TopologySchema } from "./schema.js";
import { gatewayV4, gatewayV6, hostV4, hostV6, parsePrefix, portMac } from "./addressing.js";
import { formatIPv4, formatIPv6, formatMac, parseIPv4, parseIPv6, parseMac } from "../../p4runtime/codec/values.js";

export class TopologyError extends Error {
  override readonly name = "TopologyError";
  constructor(
    readonly file: string,
    readonly problems: readonly { path: string; message: string }[],
  ) {
    super(
      `${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n` +
        problems.map((p) => `  ${p.path || "(top)"}: ${p.message}`).join("\n"),
    );
  }
}

function pathText(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/** Parses and validates topology text; `file` names it in errors. */
export function parseTopology(text: string, file = "topology"): Topology {
  let raw: unknown;
  try {
    raw = file.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new TopologyError(file, [
      { path: "", message: `not valid ${file.endsWith(".json") ? "JSON" : "YAML"}: ${e instanceof Error ? e.message : String(e)}` },
    ]);
  }
  const parsed = TopologySchema.safeParse(raw);
  if (!parsed.success) {
    throw new TopologyError(
      file,
      parsed.error.issues.map((i) => ({ path: pathText(i.path), message: i.message })),
    );
  }
  const problems = crossCheck(parsed.data);
  if (problems.length > 0) throw new TopologyError(file, problems);
  return parsed.data;
}

export function loadTopology(path: string): Topology {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new TopologyError(path, [{ path: "", message: `cannot read the file: ${e instanceof Error ? e.message : String(e)}` }]);
  }
  return parseTopology(text, path);
}

function crossCheck(t: Topology): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  const switches = new Map<string, number>();
  const hosts = new Map<string, number>();
  t.switches.forEach((s, i) => {
    if (switches.has(s.name)) add(`switches[${i}].name`, `"${s.name}" is already the name of switches[${switches.get(s.name)}]`);
    switches.set(s.name, i);
  });
  // Device ids name the switch in P4Runtime and in its derived MACs and overlay addresses: one per switch.
  const deviceIds = new Map<number, number>();
  t.switches.forEach((s, i) => {
    const other = deviceIds.get(s.deviceId);
    if (other !== undefined)
      add(`switches[${i}].deviceId`, `${s.deviceId} is also switches[${other}].deviceId ("${t.switches[other]!.name}")`);
    else deviceIds.set(s.deviceId, i);
  });
  // Overlay and detour addresses (10.254.<ingress>.<last hop>, 10.253.<router>.<child>) take a device id's low 8 bits.
  if (t.sessions.length > 0) {
    const low = new Map<number, number>();
    t.switches.forEach((s, i) => {
      const other = low.get(s.deviceId & 0xff);
      if (other === undefined) low.set(s.deviceId & 0xff, i);
      else if (t.switches[other]!.deviceId !== s.deviceId)
        add(
          `switches[${i}].deviceId`,
          `${s.deviceId} gives the same overlay and detour addresses (10.254.x.${s.deviceId & 0xff}, 10.253.x.${s.deviceId & 0xff}) as ` +
            `switches[${other}].deviceId ${t.switches[other]!.deviceId}: device ids must differ in their low 8 bits`,
        );
    });
  }
  const grpcSeen = new Map<string, number>();
  t.switches.forEach((s, i) => {
    const other = grpcSeen.get(s.grpc);
    if (other !== undefined) add(`switches[${i}].grpc`, `${s.grpc} is also switches[${other}].grpc ("${t.switches[other]!.name}")`);
    else grpcSeen.set(s.grpc, i);
  });
  t.hosts.forEach((h, i) => {
    if (hosts.has(h.name) || switches.has(h.name)) add(`hosts[${i}].name`, `"${h.name}" is already used`);
    hosts.set(h.name, i);
    // The switch answers as the subnet's gateway (last usable IPv4 address, <subnet>::ff): a host may not take it.
    if (h.ipv4 && hostV4(h) === gatewayV4(h))
      add(`hosts[${i}].ipv4`, `${h.ipv4} is the gateway address of its subnet (the switch's ${formatIPv4(gatewayV4(h)!)})`);
    if (h.ipv6 && hostV6(h) === gatewayV6(h))
      add(`hosts[${i}].ipv6`, `${h.ipv6} is the gateway address of its subnet (the switch's ${formatIPv6(gatewayV6(h)!)})`);
  });
  const usedPorts = new Map<string, string>();
  const usePort = (sw: string, port: number, path: string, by: string) => {
    if (!switches.has(sw)) {
      add(`${path}.switch`, `unknown switch "${sw}"`);
      return;
    }
    const key = `${sw}:${port}`;
    const prev = usedPorts.get(key);
    if (prev) add(`${path}.port`, `port ${port} of "${sw}" is already used by ${prev}`);
    else usedPorts.set(key, by);
    const cpu = t.switches[switches.get(sw)!]!.cpuPort;
    if (port === cpu) add(`${path}.port`, `port ${port} is the CPU port of "${sw}"`);
  };
  for (const [i, h] of t.hosts.entries()) usePort(h.attach.switch, h.attach.port, `hosts[${i}].attach`, `host "${h.name}"`);
  t.links.forEach((l, i) => {
    for (const [j, e] of l.ends.entries()) usePort(e.switch, e.port, `links[${i}].ends[${j}]`, `links[${i}]`);
    if (l.ends[0].switch === l.ends[1].switch) add(`links[${i}].ends`, "a link must join two different switches");
  });
  const sessionIds = new Set<number>();
  const groups = new Map<string, number>();
  t.sessions.forEach((s, i) => {
    if (sessionIds.has(s.id)) add(`sessions[${i}].id`, `session id ${s.id} is used twice`);
    sessionIds.add(s.id);
    if (groups.has(s.group)) add(`sessions[${i}].group`, `group ${s.group} is also the group of sessions[${groups.get(s.group)}]`);
    groups.set(s.group, i);
    if (!hosts.has(s.source)) add(`sessions[${i}].source`, `unknown host "${s.source}"`);
    const seen = new Set<string>();
    s.clients.forEach((c, j) => {
      if (!hosts.has(c)) add(`sessions[${i}].clients[${j}]`, `unknown host "${c}"`);
      if (seen.has(c)) add(`sessions[${i}].clients[${j}]`, `client "${c}" is listed twice`);
      if (c === s.source) add(`sessions[${i}].clients[${j}]`, `the source "${c}" cannot be its own client`);
      seen.add(c);
    });
    const src = hosts.has(s.source) ? t.hosts[hosts.get(s.source)!] : undefined;
    const v6 = s.service.address.includes(":");
    if (src && (v6 ? !src.ipv6 : !src.ipv4))
      add(`sessions[${i}].service.address`, `the source "${s.source}" has no ${v6 ? "IPv6" : "IPv4"} address to send to it from`);
  });
  t.translation?.translators.forEach((n, i) => {
    if (!switches.has(n)) add(`translation.translators[${i}]`, `unknown switch "${n}"`);
  });
  addressClashes(t, add);
  if (t.sessions.length > 0) reservedRanges(t, add);
  return problems;
}

/** IPv4 ranges the controller addresses its own copies from (addressing.ts): the topology may not use them. */
const RESERVED_V4: readonly { prefix: string; what: string }[] = [
  { prefix: "10.254.0.0/16", what: "overlay addresses (10.254.<ingress>.<last hop>)" },
  { prefix: "10.253.0.0/16", what: "detour addresses (10.253.<router>.<tree child>)" },
];

/** Host subnets and loopbacks must stay out of the reserved ranges: their routes would clash with the overlay's and the detours'. */
function reservedRanges(t: Topology, add: (path: string, message: string) => void): void {
  const ranges = RESERVED_V4.map((r) => ({ ...r, ...parsePrefix(r.prefix, "ipv4") }));
  const check = (path: string, text: string, addr: bigint, len: number) => {
    for (const r of ranges) {
      const bits = BigInt(32 - Math.min(len, r.len));
      if (addr >> bits === r.addr >> bits) add(path, `${text} overlaps ${r.prefix}, which p4cast keeps for its ${r.what}`);
    }
  };
  for (const [i, s] of t.switches.entries()) check(`switches[${i}].loopback.ipv4`, s.loopback.ipv4, parseIPv4(s.loopback.ipv4), 32);
  t.hosts.forEach((h, i) => {
    if (!h.ipv4) return;
    const p = parsePrefix(h.ipv4, "ipv4");
    check(`hosts[${i}].ipv4`, h.ipv4, p.addr, p.len);
  });
}

/**
 * Addresses that must name one thing: switch loopbacks, host addresses and
 * session service addresses (per family, compared as numbers so that
 * `fd00::1` and `fd00:0::1` are one address), a session's service address
 * and port, host MACs and the MACs of the switch ports in use (explicit
 * `mac` or derived from the device id). Each clash names both paths.
 */
function addressClashes(t: Topology, add: (path: string, message: string) => void): void {
  const seen = new Map<string, string>();
  const reported = new Set<string>();
  /** Records `key` for `label` (default: `path`); reports `path` once per pair when another has it. */
  const claim = (key: string, path: string, shown: string, label = path): void => {
    const prev = seen.get(key);
    if (prev === undefined) seen.set(key, label);
    else if (!reported.has(`${path} ${prev.split(" ")[0]}`)) {
      reported.add(`${path} ${prev.split(" ")[0]}`);
      add(path, `${shown} is also ${prev}`);
    }
  };
  const v4 = (a: bigint) => `ipv4 ${a}`;
  const v6 = (a: bigint) => `ipv6 ${a}`;
  t.switches.forEach((s, i) => {
    claim(v4(parseIPv4(s.loopback.ipv4)), `switches[${i}].loopback.ipv4`, s.loopback.ipv4);
    if (s.loopback.ipv6) claim(v6(parseIPv6(s.loopback.ipv6)), `switches[${i}].loopback.ipv6`, s.loopback.ipv6);
  });
  t.hosts.forEach((h, i) => {
    const a4 = hostV4(h);
    const a6 = hostV6(h);
    if (a4 !== undefined) claim(v4(a4), `hosts[${i}].ipv4`, formatIPv4(a4));
    if (a6 !== undefined) claim(v6(a6), `hosts[${i}].ipv6`, formatIPv6(a6));
  });
  t.sessions.forEach((s, i) => {
    const six = s.service.address.includes(":");
    const a = six ? parseIPv6(s.service.address) : parseIPv4(s.service.address);
    const key = six ? v6(a) : v4(a);
    const prev = seen.get(key);
    // Sessions may share a service address on different ports; hosts and loopbacks may not use one.
    if (prev !== undefined && !prev.startsWith("sessions[")) add(`sessions[${i}].service.address`, `${s.service.address} is also ${prev}`);
    else if (prev === undefined) seen.set(key, `sessions[${i}].service.address`);
    claim(`service ${key} ${s.service.port}`, `sessions[${i}].service`, `${s.service.address} port ${s.service.port}`);
  });
  // MACs: hosts' own, then every switch port in use (hosts' and links' ends).
  for (const [i, h] of t.hosts.entries()) claim(`mac ${parseMac(h.mac)}`, `hosts[${i}].mac`, h.mac);
  const ports = new Map<string, Set<number>>();
  for (const h of t.hosts) ports.set(h.attach.switch, (ports.get(h.attach.switch) ?? new Set()).add(h.attach.port));
  for (const l of t.links) for (const e of l.ends) ports.set(e.switch, (ports.get(e.switch) ?? new Set()).add(e.port));
  const firstWithId = new Map<number, number>();
  for (const [i, s] of t.switches.entries()) firstWithId.set(s.deviceId, firstWithId.get(s.deviceId) ?? i);
  t.switches.forEach((s, i) => {
    // Derived MACs of a switch whose device id is another's: that clash is reported already.
    if (!s.mac && firstWithId.get(s.deviceId) !== i) return;
    const path = s.mac ? `switches[${i}].mac` : `switches[${i}].deviceId`;
    for (const p of [...(ports.get(s.name) ?? [])].sort((a, b) => a - b)) {
      const m = portMac(s, p);
      const where = `port ${p} of "${s.name}"`;
      claim(`mac ${m}`, path, `${formatMac(m)} (${where})`, `${path} (${where})`);
    }
  });
}
