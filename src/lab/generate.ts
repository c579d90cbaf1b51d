/**
 * Generated topologies for benchmarks: a star of heartbeat peers, and a
 * large multi-session network (50 switches, 1,000 sessions, 5,000 clients).
 */
import { formatIPv4 } from "../p4runtime/codec/values.js";
import { type HeartbeatSpec, TopologySchema, type Topology } from "../controller/topology/schema.js";

/** The low 8 bits of `v` as two hex digits. */
const hexByte = (v: number) => (v & 0xff).toString(16).padStart(2, "0");

/** One hub switch linked to `leaves` switches: `leaves` links to watch. */
export function starTopology(leaves: number, mode: HeartbeatSpec["mode"], intervalMs = 100, basePort = 22000): Topology {
  const switches = Array.from({ length: leaves + 1 }, (_, i) => ({
    name: `s${i}`,
    deviceId: i + 1,
    grpc: `127.0.0.1:${basePort + i}`,
    loopback: { ipv4: formatIPv4((10n << 24n) | (255n << 16n) | BigInt(i + 1)) },
  }));
  const links = Array.from({ length: leaves }, (_, i) => ({
    ends: [
      { switch: "s0", port: i + 1 },
      { switch: `s${i + 1}`, port: 1 },
    ],
  }));
  return TopologySchema.parse({ name: `star${leaves}`, switches, links, heartbeat: { intervalMs, missThreshold: 3, mode } });
}

export interface ScaleOptions {
  readonly switches?: number;
  readonly sessions?: number;
  readonly clients?: number;
  readonly basePort?: number;
}

/**
 * A ring of core switches with chords, each switch serving clients on its
 * own /24 and some sessions' sources: every session has 5 clients spread
 * over different switches.
 */
export function scaleTopology(o: ScaleOptions = {}): Topology {
  const n = o.switches ?? 50;
  const sessions = o.sessions ?? 1000;
  const clients = o.clients ?? 5000;
  const basePort = o.basePort ?? 23000;
  const sw = (i: number) => `s${i + 1}`;
  const switches = Array.from({ length: n }, (_, i) => ({
    name: sw(i),
    deviceId: i + 1,
    grpc: `127.0.0.1:${basePort + i}`,
    loopback: { ipv4: formatIPv4((10n << 24n) | (255n << 16n) | BigInt(i + 1)) },
  }));
  const links: { ends: { switch: string; port: number }[]; cost: number }[] = [];
  const nextPort = new Array<number>(n).fill(400);
  const link = (a: number, b: number, cost = 1) =>
    links.push({
      ends: [
        { switch: sw(a), port: nextPort[a]!++ },
        { switch: sw(b), port: nextPort[b]!++ },
      ],
      cost,
    });
  for (let i = 0; i < n; i++) link(i, (i + 1) % n);
  for (let i = 0; i < n; i += 5) link(i, (i + Math.floor(n / 2)) % n, 3);
  const hosts: { name: string; mac: string; ipv4: string; attach: { switch: string; port: number } }[] = [];
  const perSwitch = Math.ceil((clients + n) / n);
  const hostOn = new Array<number>(n).fill(0);
  const addHost = (name: string, s: number) => {
    const k = hostOn[s]!++;
    if (k >= 250) throw new Error("scale topology: more than 250 hosts on one switch");
    hosts.push({
      name,
      mac: `00:00:${hexByte(s >> 8)}:${hexByte(s)}:${hexByte(k >> 8)}:${hexByte(k)}`,
      ipv4: `10.${Math.floor(s / 200) + 1}.${s % 200}.${k + 1}/24`,
      attach: { switch: sw(s), port: k + 1 },
    });
  };
  for (let i = 0; i < n; i++) addHost(`src${i + 1}`, i);
  for (let c = 0; c < clients; c++) addHost(`c${c + 1}`, c % n);
  void perSwitch;
  const sess = Array.from({ length: sessions }, (_, i) => {
    const ingress = i % n;
    const picks = [1, 2, 3, 4, 5].map((k) => `c${((i * 5 + k * 977) % clients) + 1}`).filter((c) => Number(c.slice(1)) % n !== ingress);
    return {
      id: i + 1,
      source: `src${ingress + 1}`,
      service: { address: `10.200.${Math.floor(i / 250)}.${(i % 250) + 1}`, port: 5000 },
      group: `232.${Math.floor(i / 250)}.${(i % 250) + 1}.1`,
      clients: [...new Set(picks)],
      redundancy: i % 2 === 0 ? "always-redundant" : "overlay-on-failure",
    };
  });
  return TopologySchema.parse({ name: `scale${n}`, switches, hosts, links, sessions: sess });
}
