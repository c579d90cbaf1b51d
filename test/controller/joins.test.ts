/**
 * Receivers joining and leaving at run time: an IGMP report from a host that
 * is not a client of a session reaches the controller as a packet-in; the
 * controller adds the host and it starts receiving the stream; an IGMP leave
 * removes it. An MLD report for the IPv6 form of the group counts as well.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Controller, type ControllerEvents } from "../../src/controller/controller.js";
import { EmbeddedNetwork } from "../../src/lab/embedded-network.js";
import { loadPipeline } from "../../src/controller/pipeline.js";
import { loadTopology } from "../../src/controller/topology/load.js";
import { portMac } from "../../src/controller/topology/addressing.js";
import { formatMac } from "../../src/p4runtime/codec/values.js";
import { recordClients, sendStream, settle, streamFrame } from "../../src/lab/stream.js";
import {
  buildFrame,
  buildIgmpV2,
  buildMldV1,
  decodeFrame,
  IgmpType,
  ipv4MulticastMac,
  ipv6MulticastMac,
  routerAlertOptions,
} from "../../src/packet/index.js";

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

/** mesh8 on embedded switches, deployed. */
async function bringUp() {
  const t = loadTopology("examples/mesh8.yaml");
  const net = await EmbeddedNetwork.start(t);
  const ctl = new Controller({ topology: t, pipeline: await loadPipeline(), grpcAddress: net.grpcAddress });
  cleanup = async () => {
    await ctl.close();
    await net.stop();
  };
  await ctl.connect();
  await ctl.deploy();
  return { t, net, ctl };
}

function nextMembership(ctl: Controller): Promise<ControllerEvents["membership"][0]> {
  return new Promise((r) => ctl.once("membership", r));
}

describe("joins on embedded switches", () => {
  it("an IGMP report adds a receiver and a leave removes it", async () => {
    const { t, net, ctl } = await bringUp();
    const s = t.sessions.find((x) => x.id === 2)!;
    const c62 = t.hosts.find((h) => h.name === "c62")!;
    expect(s.clients).not.toContain("c62");
    const src = t.hosts.find((h) => h.name === s.source)!;
    const gw = formatMac(portMac(t.switches.find((x) => x.name === src.attach.switch)!, src.attach.port));
    const logs = recordClients(net.hosts, ["c62", "c61"], s.service.port);
    const send = (from: number, n: number) => sendStream(net.hosts.get(src.name)!, (q) => streamFrame(src, gw, s, from + q), n, 3);

    await send(0, 20);
    await settle(logs);
    expect(logs.get("c62")!.seqs).toHaveLength(0);

    // IGMPv2 membership report for the session's group, with Router Alert.
    const joined = nextMembership(ctl);
    net.hosts.get("c62")!.send(
      buildFrame({
        ethernet: { src: c62.mac, dst: ipv4MulticastMac(s.group) },
        packet: {
          ip: { version: 4, src: c62.ipv4!.split("/")[0]!, dst: s.group, ttl: 1, options: new Uint8Array([0x94, 0x04, 0, 0]) },
          l4: { kind: "raw", protocol: 2, bytes: buildIgmpV2({ type: IgmpType.V2_REPORT, group: s.group }) },
        },
      }),
    );
    expect(await joined).toMatchObject({ session: 2, host: "c62", joined: true, via: "igmp" });
    await new Promise((r) => setTimeout(r, 100));
    await send(20, 20);
    await settle(logs);
    expect(new Set(logs.get("c62")!.seqs)).toEqual(new Set(Array.from({ length: 20 }, (_, i) => 20 + i)));

    // Leave.
    const left = nextMembership(ctl);
    net.hosts.get("c62")!.send(
      buildFrame({
        ethernet: { src: c62.mac, dst: "01:00:5e:00:00:02" },
        packet: {
          ip: { version: 4, src: c62.ipv4!.split("/")[0]!, dst: "224.0.0.2", ttl: 1, options: new Uint8Array([0x94, 0x04, 0, 0]) },
          l4: { kind: "raw", protocol: 2, bytes: buildIgmpV2({ type: IgmpType.V2_LEAVE, group: s.group }) },
        },
      }),
    );
    expect(await left).toMatchObject({ session: 2, host: "c62", joined: false });
    await new Promise((r) => setTimeout(r, 100));
    const before = logs.get("c62")!.seqs.length;
    await send(40, 20);
    await settle(logs);
    expect(logs.get("c62")!.seqs.length).toBe(before);
    // The configured client kept receiving throughout.
    expect(new Set(logs.get("c61")!.seqs).size).toBe(60);
  }, 60_000);

  it("an MLD report for the IPv6 form of a session's group adds the receiver", async () => {
    const { t, net, ctl } = await bringUp();
    const c72 = t.hosts.find((h) => h.name === "c72")!;
    const g6 = "ff3e::e801:102"; // ff3e::/96 + 232.1.1.2
    const joined = nextMembership(ctl);
    const src6 = "fe80::2:72";
    net.hosts.get("c72")!.send(
      buildFrame({
        ethernet: { src: c72.mac, dst: ipv6MulticastMac(g6) },
        packet: {
          ip: { version: 6, src: src6, dst: g6, hopLimit: 1, hopByHopOptions: routerAlertOptions() },
          l4: { kind: "raw", protocol: 58, bytes: buildMldV1({ type: 131, multicastAddress: g6 }, { version: 6, src: src6, dst: g6 }) },
        },
      }),
    );
    expect(await joined).toMatchObject({ session: 2, host: "c72", joined: true, via: "mld" });
  }, 60_000);
});

describe("IPv6 receivers of IPv4 sessions", () => {
  it("an IPv6-only host that joins the IPv6 group gets the stream through the translator", async () => {
    const { t, net, ctl } = await bringUp();
    const s = t.sessions.find((x) => x.id === 2)!;
    const v6 = t.hosts.find((h) => h.name === "v6only")!;
    const g6 = "ff3e::e801:102";
    const joined = nextMembership(ctl);
    const ll = "fe80::5:1";
    net.hosts.get("v6only")!.send(
      buildFrame({
        ethernet: { src: v6.mac, dst: ipv6MulticastMac(g6) },
        packet: {
          ip: { version: 6, src: ll, dst: g6, hopLimit: 1, hopByHopOptions: routerAlertOptions() },
          l4: { kind: "raw", protocol: 58, bytes: buildMldV1({ type: 131, multicastAddress: g6 }, { version: 6, src: ll, dst: g6 }) },
        },
      }),
    );
    expect(await joined).toMatchObject({ session: 2, host: "v6only", joined: true, via: "mld" });
    await new Promise((r) => setTimeout(r, 200));
    const d = ctl.currentPlan!.sessions.get(2)!.translated;
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ host: "v6only", translator: "s5" });
    // The stream arrives as IPv6: destination the host, source the NAT64 form of the source.
    const src = t.hosts.find((h) => h.name === s.source)!;
    const gw = formatMac(portMac(t.switches.find((x) => x.name === src.attach.switch)!, src.attach.port));
    const got: { src: string; dst: string; seq: number }[] = [];
    net.hosts.get("v6only")!.onFrame((f) => {
      const fr = decodeFrame(f);
      if (fr.ip?.version === 6 && fr.ip.l4.kind === "udp")
        got.push({
          src: fr.ip.header.src,
          dst: fr.ip.header.dst,
          seq: new DataView(fr.ip.l4.payload.buffer, fr.ip.l4.payload.byteOffset).getUint32(0),
        });
    });
    await sendStream(net.hosts.get(src.name)!, (q) => streamFrame(src, gw, s, q), 20, 3);
    const logs = new Map([["v6only", { seqs: got.map((x) => x.seq) }]]);
    await settle(logs);
    expect(got.map((x) => x.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(got[0]).toMatchObject({ src: "64:ff9b::a00:101", dst: "fd00:5::1" });
  }, 60_000);
});
