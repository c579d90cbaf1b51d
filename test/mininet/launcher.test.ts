/**
 * Smoke test of the Mininet launcher (mininet/p4cast_net.py): brings up
 * examples/line3.yaml with embedded switches on raw interfaces, checks that
 * every switch answers P4Runtime arbitration on its gRPC address, that every
 * host got its addresses, routes and gateway neighbor entries, and that a
 * host's frame reaches its switch; then tears the network down and checks
 * that no interface, namespace name or process is left. Needs root,
 * Debian's Mininet and the AF_PACKET addon; skips with the reason otherwise.
 *
 * The switches run `node dist/cli/main.js switch --interface ...` when dist/
 * has that option (dist/ is built first when missing), else the stand-in
 * test/mininet/fixtures/switch-main.ts (the run says which).
 */
import { describeUnless } from "../support/skips.js";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { P4RuntimeClient } from "../../src/client/client.js";
import { mininetSkipReason, repo, sh, startNetwork, type NetworkFile, type RunningNetwork } from "./support/network.js";

const topology = join(repo, "examples", "line3.yaml");
const workdir = "/tmp/p4cast-mininet-test";
const skipReason = mininetSkipReason("embedded");
if (skipReason) console.log(`[p4cast tests] mininet launcher: skipped: ${skipReason}`);

describeUnless(skipReason, "Mininet launcher (line3, embedded switches)", () => {
  let run: RunningNetwork;
  let net: NetworkFile;

  beforeAll(async () => {
    run = await startNetwork({ kind: "embedded", topology, workdir });
    net = run.net;
  }, 90_000);

  afterAll(async () => {
    await run?.stop();
  }, 30_000);

  it("prints every switch's gRPC address", () => {
    for (const s of ["s1", "s2", "s3"])
      expect(run.output()).toMatch(new RegExp(`${s} \\(embedded, device \\d\\): gRPC 127\\.0\\.0\\.1:2000\\d`));
    expect(net.switches.map((s) => s.name)).toEqual(["s1", "s2", "s3"]);
  });

  it("every switch answers P4Runtime arbitration on its gRPC address", async () => {
    for (const s of net.switches) {
      const c = await P4RuntimeClient.connect({
        address: s.grpc,
        deviceId: s.deviceId,
        electionId: 1n,
        reconnect: false,
        connectTimeoutMs: 5000,
      });
      expect(c.isPrimary, s.name).toBe(true);
      c.close();
    }
  });

  it("names switch interfaces <switch>-eth<port> with the port MACs", () => {
    const ports = net.switches.flatMap((s) => s.ports.map((p) => `${p.intf} ${p.mac}`)).sort();
    expect(ports).toEqual(
      ["s1-eth1", "s1-eth2", "s2-eth1", "s2-eth2", "s3-eth1", "s3-eth2", "s3-eth3"].map((i) => `${i} 02:50:00:00:0${i[1]}:0${i[6]}`),
    );
    for (const s of net.switches)
      for (const p of s.ports) expect(readFileSync(`/sys/class/net/${p.intf}/address`, "utf8").trim()).toBe(p.mac);
  });

  it("gives switch-to-switch links room for the encapsulation (MTU 9000) and host links 1500", () => {
    const mtu = (i: string) => readFileSync(`/sys/class/net/${i}/mtu`, "utf8").trim();
    for (const i of ["s1-eth2", "s2-eth1", "s2-eth2", "s3-eth3"]) expect(mtu(i), i).toBe("9000");
    for (const i of ["s1-eth1", "s3-eth1", "s3-eth2"]) expect(mtu(i), i).toBe("1500");
  });

  it("every host got its MAC, addresses, default routes and permanent gateway neighbors", () => {
    expect(net.hosts.map((h) => h.name)).toEqual(["h1", "h2", "h3"]);
    for (const h of net.hosts) {
      const addr = JSON.parse(sh(["ip", "-n", h.netns, "-j", "addr", "show", "dev", h.intf]).stdout) as {
        address: string;
        addr_info: { local: string; prefixlen: number }[];
      }[];
      expect(addr[0]?.address, h.name).toBe(h.mac);
      const locals = addr[0]!.addr_info.map((a) => `${a.local}/${a.prefixlen}`);
      expect(locals, h.name).toContain(h.ipv4);
      expect(locals, h.name).toContain(h.ipv6);
      expect(sh(["ip", "-n", h.netns, "-4", "route", "show", "default"]).stdout, h.name).toContain(
        `default via ${h.gatewayV4} dev ${h.intf}`,
      );
      expect(sh(["ip", "-n", h.netns, "-6", "route", "show", "default"]).stdout, h.name).toContain(
        `default via ${h.gatewayV6} dev ${h.intf}`,
      );
      const neigh = sh(["ip", "-n", h.netns, "neigh", "show", "dev", h.intf]).stdout;
      expect(neigh, h.name).toContain(`${h.gatewayV4} lladdr ${h.gatewayMac} PERMANENT`);
      expect(neigh, h.name).toContain(`${h.gatewayV6} lladdr ${h.gatewayMac} PERMANENT`);
      expect(h.gatewayV4, h.name).toMatch(/\.254$/);
      expect(h.gatewayV6, h.name).toMatch(/::ff$/);
      const feats = sh(["ip", "netns", "exec", h.netns, "ethtool", "-k", h.intf]).stdout;
      expect(feats, h.name).toMatch(/tx-checksumming: off/);
      expect(feats, h.name).toMatch(/rx-checksumming: off/);
    }
  });

  it("a host's UDP datagram reaches its switch's port as sent", async () => {
    const h1 = net.hosts.find((h) => h.name === "h1")!;
    const marker = `p4cast-mininet-smoke-${process.pid}`;
    const send = `require("node:dgram")
      .createSocket("udp4")
      .send(${JSON.stringify(marker)}, 5000, "10.0.3.2", (e, n) => process.exit(e ? 1 : 0))`;
    expect(sh(["ip", "netns", "exec", h1.netns, process.execPath, "-e", send]).status).toBe(0);
    const pcap = join(net.switches[0]!.pcapDir, "s1-port1-in.pcap");
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !(existsSync(pcap) && readFileSync(pcap).includes(marker)))
      await new Promise((r) => setTimeout(r, 100));
    const bytes = readFileSync(pcap);
    const at = bytes.indexOf(marker);
    expect(at).toBeGreaterThan(0);
    // Ethernet header of that frame: 14 + 20 (IPv4) + 8 (UDP) bytes before the payload.
    const eth = bytes.subarray(at - 42, at - 28);
    expect(eth.subarray(0, 6).toString("hex")).toBe(h1.gatewayMac.replaceAll(":", ""));
    expect(eth.subarray(6, 12).toString("hex")).toBe(h1.mac.replaceAll(":", ""));
  });

  it("tears down on SIGTERM leaving no interface, namespace name or process", async () => {
    const pids = [...net.switches.map((s) => s.pid), ...net.hosts.map((h) => h.pid)];
    const code = await run.stop();
    expect(code, run.output()).toBe(0);
    const intfs = [...net.switches.flatMap((s) => s.ports.map((p) => p.intf))];
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && intfs.some((i) => existsSync(`/sys/class/net/${i}`))) await new Promise((r) => setTimeout(r, 100));
    expect(intfs.filter((i) => existsSync(`/sys/class/net/${i}`))).toEqual([]);
    expect(sh(["ip", "netns", "list"]).stdout).not.toMatch(/p4cast-h\d/);
    expect(pids.filter((p) => existsSync(`/proc/${p}`) && !readFileSync(`/proc/${p}/stat`, "utf8").includes(") Z "))).toEqual([]);
    expect(existsSync(join(workdir, "state.json"))).toBe(false);
  }, 30_000);
});
