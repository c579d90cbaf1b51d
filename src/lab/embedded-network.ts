/**
 * A topology brought up in-process on embedded switches: one switch per
 * topology switch (each with its own P4Runtime server on loopback), virtual
 * links between their ports, and a host endpoint per host. Used by the demo,
 * the end-to-end tests and the experiments when BMv2 is absent; the same
 * topology file drives Mininet.
 */
import { P4CAST_VERDICT_DIGEST } from "../switch/port-verdicts.js";
import { EmbeddedSwitch, type LogLevel } from "../switch/embedded-switch.js";
import { HostPort, VirtualLink } from "../switch/ports/virtual-link.js";
import type { SwitchSpec, Topology } from "../controller/topology/schema.js";
import { linkId } from "../controller/topology/graph.js";
import { createServer } from "node:net";

export interface EmbeddedNetworkOptions {
  readonly logLevel?: LogLevel;
  readonly pcapDir?: string;
  /**
   * "random" (default): every switch listens on a free loopback port (tests,
   * the demo). "topology": on the switch's `grpc` address from the topology
   * file, so that other commands (status, watch, table ...) find it there;
   * an address that is taken is refused with the switch's name.
   */
  readonly addresses?: "random" | "topology";
  /**
   * The digest whose heartbeat verdicts mark ports down (EmbeddedSwitchOptions.portVerdictDigest);
   * default p4cast's, false: none.
   */
  readonly portVerdictDigest?: string | false;
}

/** A switch's P4Runtime address could not be bound. */
export class AddressInUseError extends Error {
  override readonly name = "AddressInUseError";
  constructor(
    readonly switchName: string,
    readonly address: string,
    reason: string,
  ) {
    super(`switch ${switchName} cannot listen on ${address}: ${reason}`);
  }
}

/** Checks that host:port can be bound now (a plain TCP listen, closed at once). */
export async function addressFree(address: string): Promise<string | undefined> {
  const i = address.lastIndexOf(":");
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, "$1");
  const port = Number(address.slice(i + 1));
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", (e: NodeJS.ErrnoException) =>
      resolve(
        e.code === "EADDRINUSE" ? "the address is in use (another p4cast deploy or net up, or another switch, listens there)" : e.message,
      ),
    );
    s.listen(port, host, () => s.close(() => resolve(undefined)));
  });
}

export class EmbeddedNetwork {
  readonly switches = new Map<string, EmbeddedSwitch>();
  readonly addresses = new Map<string, string>();
  readonly hosts = new Map<string, HostPort>();
  /** Inter-switch links by index in the topology's `links`. */
  readonly links: VirtualLink[] = [];
  private ports = new Map<string, number>();
  private hostsOf = new Map<string, string>();

  private constructor(
    readonly topology: Topology,
    private readonly opts: EmbeddedNetworkOptions,
  ) {}

  static async start(topology: Topology, opts: EmbeddedNetworkOptions = {}): Promise<EmbeddedNetwork> {
    const net = new EmbeddedNetwork(topology, opts);
    try {
      for (const s of topology.switches) await net.bootSwitch(s, opts);
    } catch (e) {
      await net.stop();
      throw e;
    }
    for (const l of topology.links) {
      const [a, b] = l.ends;
      const link = new VirtualLink(`${a.switch}-eth${a.port}`, `${b.switch}-eth${b.port}`);
      net.switches.get(a.switch)!.attach(a.port, link.a);
      net.switches.get(b.switch)!.attach(b.port, link.b);
      net.links.push(link);
    }
    for (const h of topology.hosts) {
      const link = new VirtualLink(`${h.attach.switch}-eth${h.attach.port}`, `${h.name}-eth0`);
      net.switches.get(h.attach.switch)!.attach(h.attach.port, link.a);
      net.hosts.set(h.name, new HostPort(link.b));
      net.hostLinks.set(h.name, link);
    }
    return net;
  }

  private readonly hostLinks = new Map<string, VirtualLink>();

  private verdicts(opts: EmbeddedNetworkOptions): { portVerdictDigest?: string } {
    const d = opts.portVerdictDigest ?? P4CAST_VERDICT_DIGEST;
    return d ? { portVerdictDigest: d } : {};
  }

  private async bootSwitch(s: SwitchSpec, opts: EmbeddedNetworkOptions): Promise<void> {
    let address = "127.0.0.1:0";
    if (opts.addresses === "topology") {
      address = s.grpc;
      const why = await addressFree(address);
      if (why) throw new AddressInUseError(s.name, address, why);
    }
    const sw = new EmbeddedSwitch({
      name: s.name,
      deviceId: BigInt(s.deviceId),
      cpuPort: s.cpuPort,
      logLevel: opts.logLevel ?? "off",
      ...(opts.pcapDir ? { pcapDir: opts.pcapDir } : {}),
      ...this.verdicts(opts),
    });
    let bound: number;
    try {
      bound = await sw.listen(address);
    } catch (e) {
      await sw.close();
      throw new AddressInUseError(s.name, address, e instanceof Error ? e.message : String(e));
    }
    const host = address.slice(0, address.lastIndexOf(":"));
    this.switches.set(s.name, sw);
    this.hostsOf.set(s.name, host);
    this.ports.set(s.name, bound);
    this.addresses.set(s.name, `${host}:${bound}`);
  }

  /** The P4Runtime address of a switch (for ControllerOptions.grpcAddress). */
  grpcAddress = (s: SwitchSpec): string => {
    const a = this.addresses.get(s.name);
    if (!a) throw new Error(`no embedded switch "${s.name}"`);
    return a;
  };

  link(nameOrIndex: string | number): VirtualLink {
    if (typeof nameOrIndex === "number") return this.links[nameOrIndex]!;
    const i = this.topology.links.findIndex((l) => linkId(l) === nameOrIndex);
    if (i < 0) throw new Error(`no link "${nameOrIndex}"`);
    return this.links[i]!;
  }

  /**
   * Kills a switch (its server and pipeline are gone, its links go quiet)
   * and starts a fresh one on the same address with the same ports.
   */
  async restartSwitch(name: string, downMs = 0): Promise<void> {
    const old = this.switches.get(name);
    const spec = this.topology.switches.find((s) => s.name === name);
    if (!old || !spec) throw new Error(`no embedded switch "${name}"`);
    const attached: { port: number; end: VirtualLink["a"] }[] = [];
    for (const [i, l] of this.topology.links.entries()) {
      l.ends.forEach((e, j) => {
        if (e.switch === name) attached.push({ port: e.port, end: j === 0 ? this.links[i]!.a : this.links[i]!.b });
      });
    }
    for (const h of this.topology.hosts)
      if (h.attach.switch === name) attached.push({ port: h.attach.port, end: this.hostLinks.get(h.name)!.a });
    await old.close();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    const sw = new EmbeddedSwitch({
      name,
      deviceId: BigInt(spec.deviceId),
      cpuPort: spec.cpuPort,
      logLevel: "off",
      ...this.verdicts(this.opts),
    });
    await sw.listen(`${this.hostsOf.get(name)}:${this.ports.get(name)}`);
    for (const a of attached) {
      a.end.reopen();
      sw.attach(a.port, a.end);
    }
    this.switches.set(name, sw);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.switches.values()].map((s) => s.close()));
  }
}
