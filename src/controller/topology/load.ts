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
import { gatewayV4, gatewayV6, hostV4, hostV6 } from "./addressing.js";
import { formatIPv4, formatIPv6 } from "../../client/codec/values.js";

export class TopologyError extends Error {
  override readonly name = "TopologyError";
  constructor(
    readonly file: string,
    readonly problems: readonly { path: string; message: string }[],
  ) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${problems.map((p) => `  ${p.path || "(top)"}: ${p.message}`).join("\n")}`);
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
    throw new TopologyError(file, [{ path: "", message: `not valid ${file.endsWith(".json") ? "JSON" : "YAML"}: ${e instanceof Error ? e.message : String(e)}` }]);
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
  const deviceIds = new Map<string, string>();
  const hosts = new Map<string, number>();
  t.switches.forEach((s, i) => {
    if (switches.has(s.name)) add(`switches[${i}].name`, `"${s.name}" is already the name of switches[${switches.get(s.name)}]`);
    switches.set(s.name, i);
    const dev = `${s.grpc}#${s.deviceId}`;
    if (deviceIds.has(dev)) add(`switches[${i}].deviceId`, `device ${s.deviceId} at ${s.grpc} is also ${deviceIds.get(dev)}`);
    deviceIds.set(dev, s.name);
  });
  const grpcSeen = new Map<string, string>();
  t.switches.forEach((s, i) => {
    const other = grpcSeen.get(s.grpc);
    if (other) add(`switches[${i}].grpc`, `${s.grpc} is also the address of switch "${other}"`);
    grpcSeen.set(s.grpc, s.name);
  });
  t.hosts.forEach((h, i) => {
    if (hosts.has(h.name) || switches.has(h.name)) add(`hosts[${i}].name`, `"${h.name}" is already used`);
    hosts.set(h.name, i);
    // The switch answers as the subnet's gateway (last usable IPv4 address, <subnet>::ff): a host may not take it.
    if (h.ipv4 && hostV4(h) === gatewayV4(h)) add(`hosts[${i}].ipv4`, `${h.ipv4} is the gateway address of its subnet (the switch's ${formatIPv4(gatewayV4(h)!)})`);
    if (h.ipv6 && hostV6(h) === gatewayV6(h)) add(`hosts[${i}].ipv6`, `${h.ipv6} is the gateway address of its subnet (the switch's ${formatIPv6(gatewayV6(h)!)})`);
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
  t.hosts.forEach((h, i) => usePort(h.attach.switch, h.attach.port, `hosts[${i}].attach`, `host "${h.name}"`));
  t.links.forEach((l, i) => {
    l.ends.forEach((e, j) => usePort(e.switch, e.port, `links[${i}].ends[${j}]`, `links[${i}]`));
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
    if (src && (v6 ? !src.ipv6 : !src.ipv4)) add(`sessions[${i}].service.address`, `the source "${s.source}" has no ${v6 ? "IPv6" : "IPv4"} address to send to it from`);
  });
  t.translation?.translators.forEach((n, i) => {
    if (!switches.has(n)) add(`translation.translators[${i}]`, `unknown switch "${n}"`);
  });
  return problems;
}
