/**
 * The launcher (Python) builds what the controller (TypeScript) resolves
 * from a topology file — it asks `p4cast topology resolve` — so switch
 * interface names, port MACs, host gateways and gateway MACs are the same:
 * `p4cast_net.py --print-plan` is compared with an independent oracle: the
 * conventions as docs state them, computed here from the file (interface
 * `<switch>-eth<port>`; port MAC 02:50:<device id, 24 bits>:<port>, or the
 * switch's own `mac` with the port in the last byte; IPv4 gateway the last
 * usable address of the host's subnet, IPv6 gateway <subnet>::ff), and
 * values written out by hand for a switch with its own `mac`. (Comparing
 * with addressing.ts's resolve() would compare resolve() with itself: the
 * launcher gets its plan from `p4cast topology resolve`.) A file the controller rejects is
 * rejected with the controller's messages, and names too long for Linux
 * interfaces are refused. Needs Debian's Mininet for python3 (the launcher
 * imports it) and dist/ (npm run build); no root.
 */
import { describeUnless } from "../support/skips.js";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { parseIPv4, parseIPv6 } from "../../src/p4runtime/codec/values.js";
import { loadTopology } from "../../src/controller/topology/load.js";
import type { Topology } from "../../src/controller/topology/schema.js";
import { launcher, PY, repo } from "./support/network.js";

const skipReason =
  spawnSync(PY, ["-c", "import mininet.net"], { stdio: "ignore" }).status !== 0
    ? "Mininet is not installed for /usr/bin/python3"
    : undefined;
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

const hex2 = (n: number) => n.toString(16).padStart(2, "0");

/** The conventions, from the topology file alone (not from addressing.ts). */
function oracle(t: Topology) {
  const mac = (sw: Topology["switches"][number], port: number) =>
    sw.mac
      ? [...sw.mac.toLowerCase().split(":").slice(0, 5), hex2(port & 0xff)].join(":")
      : ["02", "50", hex2((sw.deviceId >> 16) & 0xff), hex2((sw.deviceId >> 8) & 0xff), hex2(sw.deviceId & 0xff), hex2(port & 0xff)].join(
          ":",
        );
  const ports = new Map<string, number[]>(t.switches.map((s) => [s.name, []]));
  for (const l of t.links) for (const e of l.ends) ports.get(e.switch)!.push(e.port);
  for (const h of t.hosts) ports.get(h.attach.switch)!.push(h.attach.port);
  const gw4 = (cidr: string | undefined) => {
    if (!cidr) return null;
    const [a, l] = cidr.split("/");
    const size = 2n ** BigInt(32 - Number(l));
    return ((parseIPv4(a!) / size) * size + size - 2n).toString();
  };
  const gw6 = (cidr: string | undefined) => {
    if (!cidr) return null;
    const [a, l] = cidr.split("/");
    const size = 2n ** BigInt(128 - Number(l));
    return ((parseIPv6(a!) / size) * size + 0xffn).toString();
  };
  return {
    switches: t.switches.map((s) => ({
      name: s.name,
      ports: ports
        .get(s.name)!
        .sort((x, y) => x - y)
        .map((p) => ({ port: p, interface: `${s.name}-eth${p}`, mac: mac(s, p) })),
    })),
    hosts: t.hosts.map((h) => [
      h.name,
      `${h.attach.switch}-eth${h.attach.port}`,
      mac(t.switches.find((s) => s.name === h.attach.switch)!, h.attach.port),
      gw4(h.ipv4),
      gw6(h.ipv6),
    ]),
  };
}

const launcherView = (py: Plan) => ({
  switches: py.switches.map((s) => ({
    name: s.name,
    ports: [...s.ports].sort((x, y) => x.port - y.port).map((p) => ({ port: p.port, interface: p.intf, mac: p.mac.toLowerCase() })),
  })),
  hosts: py.hosts.map((h) => [h.name, h.switchIntf, h.gatewayMac.toLowerCase(), ip(h.gatewayV4), ip(h.gatewayV6)]),
});

const ip = (a: string | null | undefined) => (a ? (a.includes(":") ? parseIPv6(a) : parseIPv4(a)).toString() : null);

const withOwnMac = `
name: own-mac
switches:
  - { name: edge, deviceId: 300, grpc: "127.0.0.1:24101", mac: "0a:bb:cc:dd:ee:00", loopback: { ipv4: 10.255.1.1 } }
  - { name: core, deviceId: 70000, grpc: "127.0.0.1:24102", loopback: { ipv4: 10.255.1.2 } }
hosts:
  - { name: a, mac: "00:00:00:00:aa:01", ipv4: 192.168.7.10/23, ipv6: "2001:db8:7::10/48", attach: { switch: edge, port: 17 } }
  - { name: b, mac: "00:00:00:00:aa:02", ipv6: "2001:db8:8::2/64", attach: { switch: core, port: 4 } }
links:
  - { ends: [{ switch: edge, port: 1 }, { switch: core, port: 2 }] }
`;

describeUnless(skipReason, "launcher and controller agree on derived names and addresses", () => {
  const dir = mkdtempSync(join(tmpdir(), "p4cast-conv-"));
  writeFileSync(join(dir, "own-mac.yaml"), withOwnMac);
  const files = [
    ...readdirSync(join(repo, "examples"))
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .map((f) => join(repo, "examples", f)),
    join(dir, "own-mac.yaml"),
  ];

  for (const file of files) {
    it(file.startsWith(repo) ? file.slice(repo.length + 1) : "a switch with its own mac, long prefixes, large device ids", () => {
      expect(launcherView(printPlan(file))).toEqual(oracle(loadTopology(file)));
    });
  }

  it("own-mac, written out by hand", () => {
    expect(launcherView(printPlan(join(dir, "own-mac.yaml")))).toEqual({
      switches: [
        {
          name: "edge",
          ports: [
            { port: 1, interface: "edge-eth1", mac: "0a:bb:cc:dd:ee:01" },
            { port: 17, interface: "edge-eth17", mac: "0a:bb:cc:dd:ee:11" },
          ],
        },
        {
          name: "core",
          ports: [
            { port: 2, interface: "core-eth2", mac: "02:50:01:11:70:02" },
            { port: 4, interface: "core-eth4", mac: "02:50:01:11:70:04" },
          ],
        },
      ],
      hosts: [
        ["a", "edge-eth17", "0a:bb:cc:dd:ee:11", ip("192.168.7.254"), ip("2001:db8:7::ff")],
        ["b", "core-eth4", "02:50:01:11:70:04", null, ip("2001:db8:8::ff")],
      ],
    });
  });

  it("rejects a file the controller rejects, with the controller's messages", () => {
    writeFileSync(
      join(dir, "bad.yaml"),
      "name: bad\nswitches:\n  - { name: s1, deviceId: 1, grpc: nowhere }\n" +
        "hosts:\n  - { name: h1, mac: zz, ipv4: 10.0.0.1/24, attach: { switch: s9, port: 1 } }\n",
    );
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
