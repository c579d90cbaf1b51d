/**
 * The launcher (Python) builds what the controller (TypeScript) resolves
 * from a topology file — it asks `p4cast topology resolve` — so switch
 * interface names, port MACs, host gateways and gateway MACs are the same:
 * `p4cast_net.py --print-plan` is compared with
 * src/controller/topology/addressing.ts's resolve() for every example and
 * for a switch with its own `mac`. A file the controller rejects is
 * rejected with the controller's messages, and names too long for Linux
 * interfaces are refused. Needs Debian's Mininet for python3 (the launcher
 * imports it) and dist/ (npm run build); no root.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseIPv4, parseIPv6 } from "../../src/client/codec/values.js";
import { resolve } from "../../src/controller/topology/addressing.js";
import { loadTopology } from "../../src/controller/topology/load.js";
import { launcher, PY, repo } from "./support/network.js";

const skipReason = spawnSync(PY, ["-c", "import mininet.net"], { stdio: "ignore" }).status !== 0 ? "Mininet is not installed for /usr/bin/python3" : undefined;
if (skipReason) console.log(`[p4cast tests] mininet conventions: skipped: ${skipReason}`);

interface Plan {
  switches: { name: string; ports: { port: number; peer: string; intf: string; mac: string }[] }[];
  hosts: { name: string; switchIntf: string; gatewayMac: string; gatewayV4: string | null; gatewayV6: string | null }[];
}

function printPlan(file: string): Plan {
  const r = spawnSync(PY, [launcher, "--print-plan", "--topology", file], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`--print-plan ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Plan;
}

const ip = (a: string | null | undefined) => (a ? (a.includes(":") ? parseIPv6(a) : parseIPv4(a)).toString() : null);

const withOwnMac = `
name: own-mac
switches:
  - { name: edge, deviceId: 300, grpc: "127.0.0.1:50101", mac: "0a:bb:cc:dd:ee:00", loopback: { ipv4: 10.255.1.1 } }
  - { name: core, deviceId: 70000, grpc: "127.0.0.1:50102", loopback: { ipv4: 10.255.1.2 } }
hosts:
  - { name: a, mac: "00:00:00:00:aa:01", ipv4: 192.168.7.10/23, ipv6: "2001:db8:7::10/48", attach: { switch: edge, port: 17 } }
  - { name: b, mac: "00:00:00:00:aa:02", ipv6: "2001:db8:8::2/64", attach: { switch: core, port: 4 } }
links:
  - { ends: [{ switch: edge, port: 1 }, { switch: core, port: 2 }] }
`;

describe.skipIf(skipReason !== undefined)("launcher and controller agree on derived names and addresses", () => {
  const dir = mkdtempSync(join(tmpdir(), "p4cast-conv-"));
  writeFileSync(join(dir, "own-mac.yaml"), withOwnMac);
  const files = [...readdirSync(join(repo, "examples")).filter((f) => /\.(ya?ml|json)$/.test(f)).map((f) => join(repo, "examples", f)), join(dir, "own-mac.yaml")];

  for (const file of files) {
    it(file.startsWith(repo) ? file.slice(repo.length + 1) : "a switch with its own mac, long prefixes, large device ids", () => {
      const ts = resolve(loadTopology(file));
      const py = printPlan(file);
      expect(py.switches.map((s) => ({ name: s.name, ports: s.ports.map((p) => ({ port: p.port, peer: p.peer, interface: p.intf, mac: p.mac })) }))).toEqual(
        ts.switches.map((s) => ({ name: s.name, ports: s.ports.map((p) => ({ port: p.port, peer: p.peer, interface: p.interface, mac: p.mac })) })),
      );
      expect(py.hosts.map((h) => [h.name, h.switchIntf, h.gatewayMac, ip(h.gatewayV4), ip(h.gatewayV6)])).toEqual(
        ts.hosts.map((h) => [h.name, h.interface, h.gatewayMac, ip(h.gatewayV4), ip(h.gatewayV6)]),
      );
    });
  }

  it("rejects a file the controller rejects, with the controller's messages", () => {
    writeFileSync(join(dir, "bad.yaml"), "name: bad\nswitches:\n  - { name: s1, deviceId: 1, grpc: nowhere }\nhosts:\n  - { name: h1, mac: zz, ipv4: 10.0.0.1/24, attach: { switch: s9, port: 1 } }\n");
    const r = spawnSync(PY, [launcher, "--print-plan", "--topology", join(dir, "bad.yaml")], { encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/bad\.yaml/);
    expect(r.stderr).toContain("switches[0].grpc: expected host:port");
    expect(r.stderr).toContain("hosts[0].mac: not a MAC address");
  });

  it("refuses names that make interface names longer than Linux allows", () => {
    writeFileSync(join(dir, "long.yaml"), withOwnMac.replace(/\bedge\b/g, "edgeswitch12").replace("name: own-mac", "name: long"));
    const r = spawnSync(PY, [launcher, "--print-plan", "--topology", join(dir, "long.yaml")], { encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("edgeswitch12-eth17 is longer than Linux allows (15)");
  });
});
