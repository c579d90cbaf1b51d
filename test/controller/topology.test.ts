/** The topology file: schema errors and cross-reference errors name their path. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TopologyError, loadTopology, parseTopology } from "../../src/controller/topology/load.js";
import { portMac, resolve } from "../../src/controller/topology/addressing.js";
import { formatMac } from "../../src/p4runtime/codec/values.js";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const base = `
switches:
  - { name: s1, deviceId: 1, grpc: "127.0.0.1:20001", loopback: { ipv4: 10.255.0.1 } }
  - { name: s2, deviceId: 2, grpc: "127.0.0.1:20002", loopback: { ipv4: 10.255.0.2 } }
hosts:
  - { name: h1, mac: "00:00:00:00:00:01", ipv4: 10.0.1.1/24, attach: { switch: s1, port: 1 } }
  - { name: h2, mac: "00:00:00:00:00:02", ipv4: 10.0.2.1/24, attach: { switch: s2, port: 1 } }
links:
  - { ends: [{ switch: s1, port: 2 }, { switch: s2, port: 2 }] }
sessions:
  - { id: 1, source: h1, service: { address: 10.0.100.1, port: 5000 }, group: 232.1.1.1, clients: [h2] }
`;

function problems(text: string): string[] {
  try {
    parseTopology(text, "t.yaml");
  } catch (e) {
    if (e instanceof TopologyError) return e.problems.map((p) => `${p.path}: ${p.message}`);
    throw e;
  }
  return [];
}

describe("topology file", () => {
  it("accepts the examples and fills in defaults", () => {
    for (const f of ["examples/line3.yaml", "examples/mesh8.yaml"]) {
      const t = loadTopology(f);
      expect(t.switches.length).toBeGreaterThanOrEqual(3);
      expect(t.heartbeat.missThreshold).toBeGreaterThan(0);
    }
    const t = parseTopology(base, "t.yaml");
    expect(t.links[0]!.cost).toBe(1);
    expect(t.sessions[0]!.redundancy).toBe("always-redundant");
    expect(t.switches[0]!.cpuPort).toBe(255);
    expect(t.repair.drainMs).toBe(1000);
    expect(parseTopology(`${base}repair: { drainMs: 5 }\n`, "t.yaml").repair.drainMs).toBe(5);
  });

  it("names the path and reason of shape errors", () => {
    expect(problems(base.replace("10.255.0.1", "10.255.0.300"))).toEqual(["switches[0].loopback.ipv4: not an IPv4 address"]);
    expect(problems(base.replace("group: 232.1.1.1", "group: 10.1.1.1"))).toEqual([
      "sessions[0].group: not an IPv4 multicast address (224.0.0.0/4)",
    ]);
    expect(problems(base.replace("port: 5000", "port: 70000"))[0]).toMatch(/^sessions\[0\]\.service\.port: /);
    expect(problems(base.replace("deviceId: 2,", "deviceId: 2, color: red,"))[0]).toMatch(/^switches\[1\]: .*color/);
    expect(problems(`${base}repair: { drainMs: -1 }\n`)[0]).toMatch(/^repair\.drainMs: /);
    expect(problems(`${base}repair: { drain: 5 }\n`)[0]).toMatch(/^repair: .*drain/);
    expect(problems("switches: []")[0]).toMatch(/^switches: /);
    expect(problems("switches: [ {")[0]).toMatch(/not valid YAML/);
  });

  it("names the path of cross-reference errors, all at once", () => {
    const bad = base
      .replace("clients: [h2]", "clients: [h2, h9, h2, h1]")
      .replace("{ switch: s2, port: 2 }] }", "{ switch: s3, port: 2 }] }")
      .replace("attach: { switch: s2, port: 1 }", "attach: { switch: s1, port: 1 }");
    expect(problems(bad)).toEqual([
      'hosts[1].attach.port: port 1 of "s1" is already used by host "h1"',
      'links[0].ends[1].switch: unknown switch "s3"',
      'sessions[0].clients[1]: unknown host "h9"',
      'sessions[0].clients[2]: client "h2" is listed twice',
      'sessions[0].clients[3]: the source "h1" cannot be its own client',
    ]);
    expect(problems(base.replace("port: 2 }, { switch: s2", "port: 255 }, { switch: s2"))).toEqual([
      'links[0].ends[0].port: port 255 is the CPU port of "s1"',
    ]);
    expect(problems(base.replace('grpc: "127.0.0.1:20002"', 'grpc: "127.0.0.1:20001"'))).toEqual([
      'switches[1].grpc: 127.0.0.1:20001 is also switches[0].grpc ("s1")',
    ]);
  });

  it("refuses a host address that is its subnet's gateway (the switch's)", () => {
    expect(problems(base.replace("ipv4: 10.0.1.1/24", "ipv4: 10.0.1.254/24"))).toEqual([
      "hosts[0].ipv4: 10.0.1.254/24 is the gateway address of its subnet (the switch's 10.0.1.254)",
    ]);
    expect(problems(base.replace("ipv4: 10.0.2.1/24", 'ipv4: 10.0.2.1/24, ipv6: "fd00:2::ff/64"'))).toEqual([
      "hosts[1].ipv6: fd00:2::ff/64 is the gateway address of its subnet (the switch's fd00:2::ff)",
    ]);
    expect(problems(base.replace("ipv4: 10.0.1.1/24", "ipv4: 10.0.1.253/24"))).toEqual([]);
  });

  it("every example validates", () => {
    for (const f of readdirSync("examples").filter((x) => x.endsWith(".yaml")))
      expect(() => loadTopology(join("examples", f)), f).not.toThrow();
  });

  describe("address clashes name both paths", () => {
    const v6 = base
      .replace("ipv4: 10.0.1.1/24,", 'ipv4: 10.0.1.1/24, ipv6: "fd00:1::1/64",')
      .replace("ipv4: 10.0.2.1/24,", 'ipv4: 10.0.2.1/24, ipv6: "fd00:2::1/64",');
    it("host IPv4 addresses", () => {
      expect(problems(base.replace("ipv4: 10.0.2.1/24", "ipv4: 10.0.1.1/24"))).toEqual(["hosts[1].ipv4: 10.0.1.1 is also hosts[0].ipv4"]);
      // Different prefixes, one address.
      expect(problems(base.replace("ipv4: 10.0.2.1/24", "ipv4: 10.0.1.1/16"))).toEqual(["hosts[1].ipv4: 10.0.1.1 is also hosts[0].ipv4"]);
    });
    it("host IPv6 addresses, compared as numbers", () => {
      expect(problems(v6.replace('"fd00:2::1/64"', '"fd00:1:0::1/64"'))).toEqual(["hosts[1].ipv6: fd00:1::1 is also hosts[0].ipv6"]);
    });
    it("switch loopbacks", () => {
      expect(problems(base.replace("ipv4: 10.255.0.2", "ipv4: 10.255.0.1"))).toEqual([
        "switches[1].loopback.ipv4: 10.255.0.1 is also switches[0].loopback.ipv4",
      ]);
      const lb6 = base
        .replace("ipv4: 10.255.0.1 }", 'ipv4: 10.255.0.1, ipv6: "fd00:ff::1" }')
        .replace("ipv4: 10.255.0.2 }", 'ipv4: 10.255.0.2, ipv6: "fd00:ff:0::1" }');
      expect(problems(lb6)).toEqual(["switches[1].loopback.ipv6: fd00:ff:0::1 is also switches[0].loopback.ipv6"]);
    });
    it("host subnets and loopbacks in the ranges kept for overlay and detour addresses (with sessions)", () => {
      expect(problems(base.replace("ipv4: 10.0.2.1/24", "ipv4: 10.253.1.2/24"))).toEqual([
        "hosts[1].ipv4: 10.253.1.2/24 overlaps 10.253.0.0/16, which p4cast keeps for its detour addresses (10.253.<router>.<tree child>)",
      ]);
      expect(problems(base.replace("ipv4: 10.255.0.2", "ipv4: 10.254.9.9"))).toEqual([
        "switches[1].loopback.ipv4: 10.254.9.9 overlaps 10.254.0.0/16, " +
          "which p4cast keeps for its overlay addresses (10.254.<ingress>.<last hop>)",
      ]);
      // A wider subnet that holds both ranges.
      expect(problems(base.replace("ipv4: 10.0.2.1/24", "ipv4: 10.0.2.1/8"))).toHaveLength(2);
      // Without sessions nothing is sent to those addresses.
      expect(problems(base.replace("ipv4: 10.0.2.1/24", "ipv4: 10.253.1.2/24").replace(/sessions:[\s\S]*$/, "sessions: []\n"))).toEqual([]);
    });
    it("a host address that is a loopback", () => {
      expect(problems(base.replace("ipv4: 10.0.2.1/24", "ipv4: 10.255.0.1/24"))).toEqual([
        "hosts[1].ipv4: 10.255.0.1 is also switches[0].loopback.ipv4",
      ]);
    });
    it("a session's service address that is a host's or a loopback", () => {
      expect(problems(base.replace("address: 10.0.100.1", "address: 10.0.2.1"))).toEqual([
        "sessions[0].service.address: 10.0.2.1 is also hosts[1].ipv4",
      ]);
      expect(problems(base.replace("address: 10.0.100.1", "address: 10.255.0.2"))).toEqual([
        "sessions[0].service.address: 10.255.0.2 is also switches[1].loopback.ipv4",
      ]);
      expect(problems(v6.replace("address: 10.0.100.1", 'address: "fd00:2::1"'))).toEqual([
        "sessions[0].service.address: fd00:2::1 is also hosts[1].ipv6",
      ]);
    });
    it("two sessions with one service address and port (another port is fine)", () => {
      const two = (port: number) =>
        `${base}  - { id: 2, source: h1, service: { address: 10.0.100.1, port: ${port} }, group: 232.1.1.2, clients: [h2] }\n`;
      expect(problems(two(5000))).toEqual(["sessions[1].service: 10.0.100.1 port 5000 is also sessions[0].service"]);
      expect(problems(two(5001))).toEqual([]);
    });
    it("host MACs", () => {
      expect(problems(base.replace('mac: "00:00:00:00:00:02"', 'mac: "00:00:00:00:00:01"'))).toEqual([
        "hosts[1].mac: 00:00:00:00:00:01 is also hosts[0].mac",
      ]);
    });
    it("derived port MACs: a host's MAC, two switches' explicit MACs, device ids equal in their low 24 bits", () => {
      expect(problems(base.replace('mac: "00:00:00:00:00:02"', 'mac: "02:50:00:00:01:02"'))).toEqual([
        'switches[0].deviceId: 02:50:00:00:01:02 (port 2 of "s1") is also hosts[1].mac',
      ]);
      const macs = base
        .replace("deviceId: 1,", 'deviceId: 1, mac: "0a:00:00:00:00:00",')
        .replace("deviceId: 2,", 'deviceId: 2, mac: "0a:00:00:00:00:00",');
      expect(problems(macs)).toEqual(['switches[1].mac: 0a:00:00:00:00:01 (port 1 of "s2") is also switches[0].mac (port 1 of "s1")']);
      // (Their low 8 bits are equal too: the overlay addresses clash as well.)
      expect(problems(base.replace("deviceId: 2,", "deviceId: 16777217,"))).toEqual([
        "switches[1].deviceId: 16777217 gives the same overlay and detour addresses (10.254.x.1, 10.253.x.1) as switches[0].deviceId 1: " +
          "device ids must differ in their low 8 bits",
        'switches[1].deviceId: 02:50:00:00:01:01 (port 1 of "s2") is also switches[0].deviceId (port 1 of "s1")',
      ]);
    });
    it("device ids and gRPC addresses", () => {
      expect(problems(base.replace("deviceId: 2,", "deviceId: 1,"))).toEqual([
        'switches[1].deviceId: 1 is also switches[0].deviceId ("s1")',
      ]);
      expect(problems(base.replace("deviceId: 2,", "deviceId: 257,"))).toEqual([
        "switches[1].deviceId: 257 gives the same overlay and detour addresses (10.254.x.1, 10.253.x.1) as switches[0].deviceId 1: " +
          "device ids must differ in their low 8 bits",
      ]);
      // Without sessions there are no overlay addresses.
      expect(problems(base.replace("deviceId: 2,", "deviceId: 257,").replace(/sessions:\n.*\n/, ""))).toEqual([]);
      expect(problems(base.replace('grpc: "127.0.0.1:20002"', 'grpc: "127.0.0.1:20001"'))).toEqual([
        'switches[1].grpc: 127.0.0.1:20001 is also switches[0].grpc ("s1")',
      ]);
    });
    it("reports every clash at once", () => {
      const bad = base
        .replace("ipv4: 10.0.2.1/24", "ipv4: 10.0.1.1/24")
        .replace('mac: "00:00:00:00:00:02"', 'mac: "00:00:00:00:00:01"')
        .replace("deviceId: 2,", "deviceId: 1,");
      expect(problems(bad)).toEqual([
        'switches[1].deviceId: 1 is also switches[0].deviceId ("s1")',
        "hosts[1].ipv4: 10.0.1.1 is also hosts[0].ipv4",
        "hosts[1].mac: 00:00:00:00:00:01 is also hosts[0].mac",
      ]);
    });
  });

  it("random small topologies: clash-free ones are accepted; an injected clash is refused naming both paths", () => {
    fc.assert(
      fc.property(randomTopology, fc.option(clashKind, { nil: undefined }), fc.nat(), fc.nat(), (t, kind, r1, r2) => {
        if (kind === undefined) {
          expect(problems(JSON.stringify(t))).toEqual([]);
          return;
        }
        const clash = inject(t, kind, r1, r2);
        const found = problems(JSON.stringify(t));
        expect(
          found.some((p) => p.startsWith(`${clash.path}: `) && p.includes(clash.other)),
          `${kind}: ${found.join("; ")}`,
        ).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("resolves derived addresses for Mininet the same way the controller uses them", () => {
    const r = resolve(parseTopology(base, "t.yaml"));
    expect(r.hosts[0]).toMatchObject({ name: "h1", interface: "s1-eth1", gatewayV4: "10.0.1.254", gatewayMac: "02:50:00:00:01:01" });
    expect(r.switches[0]!.ports.map((p) => p.interface)).toEqual(["s1-eth1", "s1-eth2"]);
  });
});

// -- random topologies ---------------------------------------------------------

interface RawTopology {
  switches: { name: string; deviceId: number; grpc: string; loopback: { ipv4: string; ipv6?: string } }[];
  hosts: { name: string; mac: string; ipv4: string; ipv6?: string; attach: { switch: string; port: number } }[];
  links: { ends: [{ switch: string; port: number }, { switch: string; port: number }] }[];
  sessions: { id: number; source: string; service: { address: string; port: number }; group: string; clients: string[] }[];
}

/**
 * 2–4 switches in a line (link i: port 1 of s<i> to port 2 of s<i+1>), 2–5 hosts on ports 10+, 0–2 sessions;
 * every address distinct.
 */
const randomTopology: fc.Arbitrary<RawTopology> = fc
  .record({
    switches: fc.integer({ min: 2, max: 4 }),
    hostsAt: fc.array(fc.nat(3), { minLength: 2, maxLength: 5 }),
    v6: fc.boolean(),
    sessions: fc.integer({ min: 0, max: 2 }),
  })
  .map(({ switches, hostsAt, v6, sessions }) => {
    const sw = Array.from({ length: switches }, (_, i) => ({
      name: `s${i + 1}`,
      deviceId: i + 1,
      grpc: `127.0.0.1:${20001 + i}`,
      loopback: { ipv4: `10.255.0.${i + 1}`, ...(v6 ? { ipv6: `fd00:ff::${i + 1}` } : {}) },
    }));
    const hosts = hostsAt.map((at, k) => ({
      name: `h${k + 1}`,
      mac: `00:00:00:00:00:${(k + 1).toString(16).padStart(2, "0")}`,
      ipv4: `10.0.${k + 1}.1/24`,
      ...(v6 ? { ipv6: `fd00:${k + 1}::1/64` } : {}),
      attach: { switch: sw[at % switches]!.name, port: 10 + k },
    }));
    const links = sw.slice(1).map((s, i) => ({
      ends: [
        { switch: sw[i]!.name, port: 1 },
        { switch: s.name, port: 2 },
      ] as [{ switch: string; port: number }, { switch: string; port: number }],
    }));
    const ses = Array.from({ length: sessions }, (_, j) => ({
      id: j + 1,
      source: hosts[0]!.name,
      service: { address: `10.200.0.${j + 1}`, port: 5000 + j },
      group: `232.1.1.${j + 1}`,
      clients: [hosts[1]!.name],
    }));
    return { switches: sw, hosts, links, sessions: ses };
  });

const clashKinds = [
  "hostV4",
  "hostV6",
  "loopbackV4",
  "loopbackV6",
  "hostIsLoopback",
  "serviceIsHost",
  "serviceIsLoopback",
  "sessionService",
  "hostMac",
  "hostMacIsPortMac",
  "deviceId",
  "overlayDeviceId",
  "grpc",
] as const;
const clashKind = fc.constantFrom(...clashKinds);

/** Two distinct indices below n (n >= 2): a < b. */
function pair(n: number, r1: number, r2: number): [number, number] {
  const a = r1 % n;
  const b = (a + 1 + (r2 % (n - 1))) % n;
  return a < b ? [a, b] : [b, a];
}

/** Makes `t` clash (in place); returns the path expected to be reported and the other path it must name. */
function inject(t: RawTopology, kind: (typeof clashKinds)[number], r1: number, r2: number): { path: string; other: string } {
  const [a, b] = pair(t.hosts.length, r1, r2);
  const [x, y] = pair(t.switches.length, r1, r2);
  const ensureSession = () => {
    if (t.sessions.length === 0)
      t.sessions.push({
        id: 1,
        source: t.hosts[0]!.name,
        service: { address: "10.200.0.1", port: 5000 },
        group: "232.1.1.1",
        clients: [t.hosts[1]!.name],
      });
  };
  switch (kind) {
    case "hostV4":
      t.hosts[b]!.ipv4 = t.hosts[a]!.ipv4;
      return { path: `hosts[${b}].ipv4`, other: `hosts[${a}].ipv4` };
    case "hostV6":
      t.hosts[a]!.ipv6 = `fd00:${a + 1}::1/64`;
      t.hosts[b]!.ipv6 = `fd00:${a + 1}::1/64`;
      return { path: `hosts[${b}].ipv6`, other: `hosts[${a}].ipv6` };
    case "loopbackV4":
      t.switches[y]!.loopback.ipv4 = t.switches[x]!.loopback.ipv4;
      return { path: `switches[${y}].loopback.ipv4`, other: `switches[${x}].loopback.ipv4` };
    case "loopbackV6":
      t.switches[x]!.loopback.ipv6 = "fd00:ff::99";
      t.switches[y]!.loopback.ipv6 = "fd00:ff:0:0::99";
      return { path: `switches[${y}].loopback.ipv6`, other: `switches[${x}].loopback.ipv6` };
    case "hostIsLoopback":
      t.hosts[a]!.ipv4 = `${t.switches[x]!.loopback.ipv4}/24`;
      return { path: `hosts[${a}].ipv4`, other: `switches[${x}].loopback.ipv4` };
    case "serviceIsHost":
      ensureSession();
      t.sessions[0]!.service.address = t.hosts[a]!.ipv4.split("/")[0]!;
      return { path: "sessions[0].service.address", other: `hosts[${a}].ipv4` };
    case "serviceIsLoopback":
      ensureSession();
      t.sessions[0]!.service.address = t.switches[x]!.loopback.ipv4;
      return { path: "sessions[0].service.address", other: `switches[${x}].loopback.ipv4` };
    case "sessionService":
      ensureSession();
      t.sessions.splice(1, 1, {
        id: 2,
        source: t.hosts[0]!.name,
        service: { ...t.sessions[0]!.service },
        group: "232.1.1.2",
        clients: [t.hosts[1]!.name],
      });
      return { path: "sessions[1].service", other: "sessions[0].service" };
    case "hostMac":
      t.hosts[b]!.mac = t.hosts[a]!.mac;
      return { path: `hosts[${b}].mac`, other: `hosts[${a}].mac` };
    case "hostMacIsPortMac": {
      // The MAC the switch derives for a port it uses (its link to the next switch).
      const s = t.switches[0]!;
      t.hosts[a]!.mac = formatMac(portMac({ ...s, cpuPort: 255 }, 1));
      return { path: "switches[0].deviceId", other: `hosts[${a}].mac` };
    }
    case "deviceId":
      t.switches[y]!.deviceId = t.switches[x]!.deviceId;
      return { path: `switches[${y}].deviceId`, other: `switches[${x}].deviceId` };
    case "overlayDeviceId":
      ensureSession();
      t.switches[y]!.deviceId = t.switches[x]!.deviceId + 256;
      return { path: `switches[${y}].deviceId`, other: `switches[${x}].deviceId` };
    case "grpc":
      t.switches[y]!.grpc = t.switches[x]!.grpc;
      return { path: `switches[${y}].grpc`, other: `switches[${x}].grpc` };
  }
}
