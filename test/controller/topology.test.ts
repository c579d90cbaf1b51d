/** The topology file: schema errors and cross-reference errors name their path. */
import { describe, expect, it } from "vitest";
import { TopologyError, loadTopology, parseTopology } from "../../src/controller/topology/load.js";
import { resolve } from "../../src/controller/topology/addressing.js";

const base = `
switches:
  - { name: s1, deviceId: 1, grpc: "127.0.0.1:50001", loopback: { ipv4: 10.255.0.1 } }
  - { name: s2, deviceId: 2, grpc: "127.0.0.1:50002", loopback: { ipv4: 10.255.0.2 } }
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
  });

  it("names the path and reason of shape errors", () => {
    expect(problems(base.replace("10.255.0.1", "10.255.0.300"))).toEqual(["switches[0].loopback.ipv4: not an IPv4 address"]);
    expect(problems(base.replace("group: 232.1.1.1", "group: 10.1.1.1"))).toEqual(["sessions[0].group: not an IPv4 multicast address (224.0.0.0/4)"]);
    expect(problems(base.replace("port: 5000", "port: 70000"))[0]).toMatch(/^sessions\[0\]\.service\.port: /);
    expect(problems(base.replace("deviceId: 2,", "deviceId: 2, color: red,"))[0]).toMatch(/^switches\[1\]: .*color/);
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
    expect(problems(base.replace("port: 2 }, { switch: s2", "port: 255 }, { switch: s2"))).toEqual(['links[0].ends[0].port: port 255 is the CPU port of "s1"']);
    expect(problems(base.replace('grpc: "127.0.0.1:50002"', 'grpc: "127.0.0.1:50001"'))).toEqual(['switches[1].grpc: 127.0.0.1:50001 is also switches[0].grpc ("s1")']);
  });

  it("refuses a host address that is its subnet's gateway (the switch's)", () => {
    expect(problems(base.replace("ipv4: 10.0.1.1/24", "ipv4: 10.0.1.254/24"))).toEqual(["hosts[0].ipv4: 10.0.1.254/24 is the gateway address of its subnet (the switch's 10.0.1.254)"]);
    expect(problems(base.replace("ipv4: 10.0.2.1/24", 'ipv4: 10.0.2.1/24, ipv6: "fd00:2::ff/64"'))).toEqual(["hosts[1].ipv6: fd00:2::ff/64 is the gateway address of its subnet (the switch's fd00:2::ff)"]);
    expect(problems(base.replace("ipv4: 10.0.1.1/24", "ipv4: 10.0.1.253/24"))).toEqual([]);
  });

  it("resolves derived addresses for Mininet the same way the controller uses them", () => {
    const r = resolve(parseTopology(base, "t.yaml"));
    expect(r.hosts[0]).toMatchObject({ name: "h1", interface: "s1-eth1", gatewayV4: "10.0.1.254", gatewayMac: "02:50:00:00:01:01" });
    expect(r.switches[0]!.ports.map((p) => p.interface)).toEqual(["s1-eth1", "s1-eth2"]);
  });
});
