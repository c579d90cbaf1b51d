/**
 * Bringing a topology's network up for the CLI (`deploy --embedded`,
 * `net up`, `demo`): embedded switches or simple_switch_grpc processes, on
 * the topology's addresses (so that status, watch and table find them) or
 * on free ports (the demo); waiting for Ctrl-C; and telling a user whose
 * switches are not running what to start.
 */
import { connect } from "node:net";
import { AddressInUseError, EmbeddedNetwork } from "../lab/embedded-network.js";
import { Bmv2Network, bmv2NetworkUnavailable } from "../lab/bmv2-network.js";
import type { SwitchSpec, Topology } from "../controller/topology/schema.js";
import type { HostPort } from "../switch/ports/virtual-link.js";
import { CliError, EXIT } from "./output.js";

export type TargetName = "embedded" | "bmv2";

/** What the commands need of a running network, whichever the target. */
export interface RunningNetwork {
  readonly target: TargetName;
  readonly hosts: ReadonlyMap<string, HostPort>;
  grpcAddress(s: SwitchSpec): string;
  thriftAddress?(s: SwitchSpec): { host: string; port: number };
  link(i: number): { cut(): void; restore?(): void };
  stop(): Promise<void>;
}

export function parseTarget(v: string | undefined, allowAuto: boolean): TargetName | "auto" {
  const ok = allowAuto ? ["auto", "embedded", "bmv2"] : ["embedded", "bmv2"];
  const t = v ?? (allowAuto ? "auto" : "embedded");
  if (!ok.includes(t)) throw new CliError(`--target must be ${ok.join(", ")} (got "${t}")`, EXIT.usage);
  return t as TargetName | "auto";
}

/**
 * Starts the network. `addresses: "topology"` listens on the file's
 * addresses and refuses, naming the switch, when one is taken.
 */
export async function startNetwork(topology: Topology, target: TargetName, addresses: "random" | "topology"): Promise<RunningNetwork> {
  try {
    if (target === "bmv2") {
      const why = bmv2NetworkUnavailable();
      if (why)
        throw new CliError(`cannot run the topology on BMv2: ${why}`, EXIT.failed, "use --target embedded (in-process embedded switches)");
      const net = await Bmv2Network.start(topology, { addresses });
      return {
        target,
        hosts: net.hosts,
        grpcAddress: net.grpcAddress,
        thriftAddress: net.thriftAddress,
        link: (i) => net.link(i),
        stop: () => net.stop(),
      };
    }
    const net = await EmbeddedNetwork.start(topology, { addresses });
    return { target, hosts: net.hosts, grpcAddress: net.grpcAddress, link: (i) => net.link(i), stop: () => net.stop() };
  } catch (e) {
    if (e instanceof AddressInUseError) {
      throw new CliError(
        e.message,
        EXIT.failed,
        "stop whatever listens there (an earlier `p4cast deploy --embedded` or `p4cast net up`?), " +
          "or change the switch's grpc address in the topology file",
      );
    }
    throw e;
  }
}

/** Prints where each switch listens (stdout, one table-like line per switch). */
export function listeningLines(topology: Topology, net: RunningNetwork): string {
  const width = Math.max(...topology.switches.map((s) => s.name.length));
  return topology.switches
    .map((s) => {
      const thrift = net.thriftAddress?.(s);
      const thriftText = thrift ? `  Thrift ${thrift.host}:${thrift.port}` : "";
      return `  ${s.name.padEnd(width)}  P4Runtime ${net.grpcAddress(s)}  device ${s.deviceId}${thriftText}`;
    })
    .join("\n");
}

/** Resolves with the signal's name on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(sig);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}

/** Whether a TCP connection to host:port opens within `timeoutMs`. */
export function tcpReachable(address: string, timeoutMs = 1500): Promise<boolean> {
  const i = address.lastIndexOf(":");
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, "$1");
  const port = Number(address.slice(i + 1));
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.once("connect", () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.once("error", () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

/** The switches of a topology nobody listens for, in topology order. */
export async function unreachableSwitches(topology: Topology, address: (s: SwitchSpec) => string = (s) => s.grpc): Promise<SwitchSpec[]> {
  const up = await Promise.all(topology.switches.map((s) => tcpReachable(address(s))));
  return topology.switches.filter((_s, i) => !up[i]);
}

/** The error for a topology command whose switches are not running. */
export function notRunningError(file: string, down: readonly SwitchSpec[], total: number): CliError {
  const names = down.map((s) => `${s.name} (${s.grpc})`);
  const what =
    down.length === total
      ? `no switch of ${file} is running: cannot reach ${names.slice(0, 3).join(", ")}` +
        (names.length > 3 ? ` and ${names.length - 3} more` : "")
      : `cannot reach ${names.join(", ")}`;
  return new CliError(
    what,
    EXIT.unreachable,
    `start the network first: \`npx p4cast deploy -t ${file} --embedded\` (embedded switches on the file's addresses, until Ctrl-C) ` +
      `or \`npx p4cast net up -t ${file}\`; or start simple_switch_grpc on the addresses in ${file}`,
  );
}
