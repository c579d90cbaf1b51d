/**
 * A raw Linux interface as a switch port (Mininet's sN-ethP veths, or any
 * NIC): an AF_PACKET socket bound to the interface, promiscuous, blind to
 * its own transmissions. The socket lives in a small native addon
 * (native/afpacket, built by `native/afpacket/build.sh`); it is loaded the
 * first time a RawSocketPort is created, so nothing else in the switch needs
 * it. Needs root (CAP_NET_RAW) and Linux.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { Port } from "./port.js";

/** Counters of one raw port (the kernel's drop count is reset on every read). */
export interface RawSocketStats {
  readonly rxFrames: number;
  readonly rxBytes: number;
  /** Frames longer than the receive buffer (64 KiB), delivered cut. */
  readonly rxTruncated: number;
  readonly txFrames: number;
  readonly txBytes: number;
  /** Frames lost because the queue was full or the link was down. */
  readonly txDropped: number;
  /** Frames the kernel refused (e.g. longer than the MTU). */
  readonly txErrors: number;
  readonly lastTxErrno: number;
  /** Frames the kernel dropped because the socket's receive queue was full. */
  readonly kernelDrops: number;
}

interface AfPacketSocket {
  readonly fd: number;
  readonly ifindex: number;
  send(frame: Uint8Array): boolean;
  stats(): RawSocketStats;
  close(): void;
}

interface AfPacketAddon {
  readonly abiVersion: number;
  readonly AfPacketSocket: new (ifname: string, onFrames: (frames: Buffer[]) => void, onError?: (err: Error) => void, netns?: string) => AfPacketSocket;
}

/** Where the addon is looked for: $P4CAST_AFPACKET_ADDON, else the build output next to src/ and dist/. */
export function afpacketAddonPath(): string {
  const override = process.env["P4CAST_AFPACKET_ADDON"];
  if (override) return override;
  // src/switch/ports/ and dist/switch/ports/ are both three levels below the repository root.
  return fileURLToPath(new URL("../../../native/afpacket/build/Release/afpacket.node", import.meta.url));
}

/** The command that builds the addon, for error messages. */
export const AFPACKET_BUILD_COMMAND = "native/afpacket/build.sh";

/** The addon's interface version this code expects (2: sockets in another network namespace). */
const ADDON_ABI = 2;

let addon: AfPacketAddon | undefined;

/** Loads the addon once; throws an error naming the missing file and the build command. */
export function loadAfPacket(): AfPacketAddon {
  if (addon) return addon;
  if (process.platform !== "linux") throw new Error(`raw interfaces as switch ports need Linux (AF_PACKET); this is ${process.platform}`);
  const path = afpacketAddonPath();
  if (!existsSync(path)) {
    throw new Error(`the AF_PACKET addon is not built: ${path} is missing; build it with \`${AFPACKET_BUILD_COMMAND}\` (node-gyp, a C compiler and Node's headers)`);
  }
  try {
    addon = createRequire(import.meta.url)(path) as AfPacketAddon;
  } catch (e) {
    throw new Error(`cannot load the AF_PACKET addon ${path} (${(e as Error).message}); rebuild it with \`${AFPACKET_BUILD_COMMAND}\``);
  }
  if (addon.abiVersion !== ADDON_ABI) {
    const found = addon.abiVersion;
    addon = undefined;
    throw new Error(`the AF_PACKET addon ${path} has interface version ${found}, expected ${ADDON_ABI}; rebuild it with \`${AFPACKET_BUILD_COMMAND}\``);
  }
  return addon;
}

/** True when the addon is built and loads (does not need root). */
export function afpacketAvailable(): boolean {
  try {
    loadAfPacket();
    return true;
  } catch {
    return false;
  }
}

export interface RawSocketPortOptions {
  /** Port name (logs); defaults to the interface name. */
  readonly name?: string;
  /**
   * Called when the socket fails for good (the interface was deleted); the
   * port stops receiving and drops what it is given to send. Default: one
   * line on stderr.
   */
  readonly onError?: (err: Error) => void;
  /**
   * A network namespace to open the interface in: a path such as
   * /run/netns/<name> or /proc/<pid>/ns/net (a Mininet host). The socket
   * lives there; this process stays where it is.
   */
  readonly netns?: string;
}

export class RawSocketPort implements Port {
  readonly name: string;
  private socket: AfPacketSocket | undefined;
  private handler: ((frame: Uint8Array) => void) | undefined;
  /** Frames that arrived before a handler was registered (dropped). */
  droppedUnhandled = 0;
  /** Frames given to send() after close() or after the socket failed. */
  droppedClosed = 0;
  private failure: Error | undefined;
  private lastStats: RawSocketStats = { rxFrames: 0, rxBytes: 0, rxTruncated: 0, txFrames: 0, txBytes: 0, txDropped: 0, txErrors: 0, lastTxErrno: 0, kernelDrops: 0 };

  /**
   * Opens the interface. Throws when the addon is not built, the interface
   * does not exist (code ENODEV) or the process may not open raw sockets
   * (code EPERM: run as root or grant CAP_NET_RAW).
   */
  constructor(
    readonly ifname: string,
    options: RawSocketPortOptions = {},
  ) {
    this.name = options.name ?? ifname;
    const { AfPacketSocket } = loadAfPacket();
    const onError = options.onError ?? ((e: Error) => process.stderr.write(`raw port ${this.name}: ${e.message}; the port is closed\n`));
    try {
      this.socket = new AfPacketSocket(
        ifname,
        (frames) => {
          const h = this.handler;
          if (!h) {
            this.droppedUnhandled += frames.length;
            return;
          }
          for (const f of frames) h(f);
        },
        (err) => {
          this.stats();
          this.failure = err;
          this.socket = undefined;
          onError(err);
        },
        options.netns,
      );
    } catch (e) {
      const err = e as Error & { code?: string };
      if (err.code === "EPERM" || err.code === "EACCES") {
        throw Object.assign(new Error(`${err.message} — raw sockets need root or CAP_NET_RAW`), { code: err.code });
      }
      if (err.code === "ENODEV") throw Object.assign(new Error(`${err.message} — no interface named "${ifname}"${options.netns ? ` in ${options.netns}` : ""}`), { code: err.code });
      throw err;
    }
  }

  send(frame: Uint8Array): void {
    if (!this.socket) {
      this.droppedClosed++;
      return;
    }
    this.socket.send(frame);
  }

  onReceive(handler: (frame: Uint8Array) => void): void {
    this.handler = handler;
  }

  /** Counters (after close(): as they were when the port closed). */
  stats(): RawSocketStats & { droppedUnhandled: number; droppedClosed: number } {
    if (this.socket) this.lastStats = accumulate(this.lastStats, this.socket.stats());
    return { ...this.lastStats, droppedUnhandled: this.droppedUnhandled, droppedClosed: this.droppedClosed };
  }

  /** The error that closed the socket, if it failed. */
  get error(): Error | undefined {
    return this.failure;
  }

  close(): void {
    this.stats();
    this.socket?.close();
    this.socket = undefined;
    this.handler = undefined;
  }
}

/** The socket's counters are totals, except the kernel's drops, which restart at every read. */
function accumulate(prev: RawSocketStats, now: RawSocketStats): RawSocketStats {
  return { ...now, kernelDrops: prev.kernelDrops + now.kernelDrops };
}

/**
 * Parses `<port>@<ifname>` (the switch command's --interface and
 * simple_switch_grpc's -i): port 0..511, Linux interface name of 1..15
 * characters without '/', whitespace or ':'.
 */
export function parseInterfaceSpec(spec: string): { port: number; ifname: string } {
  const m = /^(\d{1,3})@([^\s/:@]{1,15})$/.exec(spec.trim());
  if (!m || Number(m[1]) > 511) throw new Error(`--interface wants <port>@<interface> (port 0..511, e.g. 1@s1-eth1), got "${spec}"`);
  return { port: Number(m[1]), ifname: m[2]! };
}
