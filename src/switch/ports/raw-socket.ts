/**
 * A raw Linux interface as a switch port (Mininet's sN-ethP veths, or any
 * NIC): an AF_PACKET socket bound to the interface, promiscuous, blind to
 * its own transmissions. The socket lives in a small native addon
 * (native/afpacket, built by `native/afpacket/build.sh`); it is loaded the
 * first time a RawSocketPort is created, so nothing else in the switch needs
 * it. Needs root (CAP_NET_RAW) and Linux. The port also watches the
 * interface's operational state (netlink link events, in the addon) and
 * reports it through watchLink().
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { Port, PortStats } from "./port.js";

/** Counters of the addon's socket, totals since it opened (the addon accumulates the kernel's, which reset on every read). */
export interface AfPacketStats {
  readonly rxFrames: number;
  readonly rxBytes: number;
  /** Frames longer than the receive buffer (64 KiB), delivered cut. */
  readonly rxTruncated: number;
  /** Times the socket was found readable (each drains the queue). */
  readonly rxWakeups: number;
  readonly txFrames: number;
  readonly txBytes: number;
  /** txNoBuffer + txLinkDown. */
  readonly txDropped: number;
  /** Frames not sent because the send buffer or the device's queue was full (EAGAIN/ENOBUFS). */
  readonly txNoBuffer: number;
  /** Frames not sent because the link was down (ENETDOWN/ENXIO). */
  readonly txLinkDown: number;
  /** Frames the kernel refused (e.g. longer than the MTU). */
  readonly txErrors: number;
  readonly lastTxErrno: number;
  /** Frames the kernel offered to the socket, dropped ones included (PACKET_STATISTICS tp_packets). */
  readonly kernelPackets: number;
  /** Frames the kernel dropped because the socket's receive queue was full (PACKET_STATISTICS tp_drops). */
  readonly kernelDrops: number;
  /** errno of the last failed PACKET_STATISTICS read (0: read now, or the socket is closed). */
  readonly kernelStatsErrno: number;
  /** sendmmsg(2) calls that sent the queued frames (frames are sent in batches). */
  readonly txBatches: number;
  /** Slots of the receive ring (frames it holds before the kernel drops), and the bytes of one slot (the longest frame it takes whole). */
  readonly ringSlots: number;
  readonly ringSlotBytes: number;
  /** Effective buffer sizes in bytes (as the kernel reports them: twice what was asked). */
  readonly rcvbuf: number;
  readonly sndbuf: number;
}

/** A raw port's counters: the socket's, plus what the port dropped itself. */
export interface RawSocketStats extends AfPacketStats, PortStats {
  /** Frames that arrived before a handler was registered. */
  readonly droppedUnhandled: number;
  /** Frames given to send() after close() or after the socket failed. */
  readonly droppedClosed: number;
}

interface AfPacketSocket {
  readonly fd: number;
  readonly ifindex: number;
  /** Whether the interface is operationally up (IFF_UP and IFF_RUNNING); undefined when the link is not watched or the socket closed. */
  readonly linkUp: boolean | undefined;
  send(frame: Uint8Array): boolean;
  stats(): AfPacketStats;
  close(): void;
}

interface AfPacketAddon {
  readonly abiVersion: number;
  readonly AfPacketSocket: new (
    ifname: string,
    /** A batch of frames back to back in `data`; frame i ends at ends[i] and arrived at arrivals[i] (µs, monotonic clock). */
    onFrames: (data: Buffer, ends: Uint32Array, arrivals: Float64Array) => void,
    onError?: (err: Error) => void,
    netns?: string,
    onLink?: (up: boolean) => void,
  ) => AfPacketSocket;
}

/** Where the addon is looked for: $P4CAST_AFPACKET_ADDON, else the build output next to src/ and dist/. */
export function afpacketAddonPath(): string {
  const override = process.env.P4CAST_AFPACKET_ADDON;
  if (override) return override;
  // src/switch/ports/ and dist/switch/ports/ are both three levels below the repository root.
  return fileURLToPath(new URL("../../../native/afpacket/build/Release/afpacket.node", import.meta.url));
}

/** The command that builds the addon, for error messages. */
export const AFPACKET_BUILD_COMMAND = "native/afpacket/build.sh";

/**
 * The addon's interface version this code expects (3: kernel counters
 * accumulated, send failures split; 4: link watch; 5: receive ring, frames
 * handed over in batches, sends batched; 6: each frame's arrival time, the
 * kernel's stamp).
 */
const ADDON_ABI = 6;

let addon: AfPacketAddon | undefined;

/** Loads the addon once; throws an error naming the missing file and the build command. */
export function loadAfPacket(): AfPacketAddon {
  if (addon) return addon;
  if (process.platform !== "linux") throw new Error(`raw interfaces as switch ports need Linux (AF_PACKET); this is ${process.platform}`);
  const path = afpacketAddonPath();
  if (!existsSync(path)) {
    throw new Error(
      `the AF_PACKET addon is not built: ${path} is missing; ` +
        `build it with \`${AFPACKET_BUILD_COMMAND}\` (node-gyp, a C compiler and Node's headers)`,
    );
  }
  try {
    addon = createRequire(import.meta.url)(path) as AfPacketAddon;
  } catch (e) {
    throw new Error(`cannot load the AF_PACKET addon ${path} (${(e as Error).message}); rebuild it with \`${AFPACKET_BUILD_COMMAND}\``);
  }
  if (addon.abiVersion !== ADDON_ABI) {
    const found = addon.abiVersion;
    addon = undefined;
    throw new Error(
      `the AF_PACKET addon ${path} has interface version ${found}, expected ${ADDON_ABI}; rebuild it with \`${AFPACKET_BUILD_COMMAND}\``,
    );
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
  private handler: ((frame: Uint8Array, arrivedUs?: number) => void) | undefined;
  /** Frames that arrived before a handler was registered (dropped). */
  droppedUnhandled = 0;
  /** Frames given to send() after close() or after the socket failed. */
  droppedClosed = 0;
  private failure: Error | undefined;
  /** The socket's counters when the port closed (or failed). */
  private final: AfPacketStats | undefined;
  private linkUp = true;
  private readonly linkWatchers: ((up: boolean) => void)[] = [];

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
        (data, ends, arrivals) => {
          const h = this.handler;
          if (!h) {
            this.droppedUnhandled += ends.length;
            return;
          }
          // Views into the batch's one buffer: no copy per frame.
          let start = 0;
          for (let i = 0; i < ends.length; i++) {
            const end = ends[i]!;
            h(data.subarray(start, end), arrivals[i]);
            start = end;
          }
        },
        (err) => {
          this.final = this.socket?.stats();
          this.failure = err;
          this.socket = undefined;
          onError(err);
          this.setLink(false);
        },
        options.netns,
        (up) => this.setLink(up),
      );
      this.linkUp = this.socket.linkUp ?? true;
    } catch (e) {
      const err = e as Error & { code?: string };
      if (err.code === "EPERM" || err.code === "EACCES") {
        throw Object.assign(new Error(`${err.message} — raw sockets need root or CAP_NET_RAW`), { code: err.code });
      }
      if (err.code === "ENODEV")
        throw Object.assign(new Error(`${err.message} — no interface named "${ifname}"${options.netns ? ` in ${options.netns}` : ""}`), {
          code: err.code,
        });
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

  onReceive(handler: (frame: Uint8Array, arrivedUs?: number) => void): void {
    this.handler = handler;
  }

  /**
   * Calls `handler` with the interface's operational state (up: IFF_UP and
   * IFF_RUNNING, i.e. operstate up or unknown), now and on every change
   * until the port closes; a failed socket (the interface was deleted)
   * reports down. Changes arrive as netlink events, not by polling.
   */
  watchLink(handler: (up: boolean) => void): void {
    this.linkWatchers.push(handler);
    handler(this.linkUp);
  }

  private setLink(up: boolean): void {
    if (up === this.linkUp) return;
    this.linkUp = up;
    for (const w of this.linkWatchers) w(up);
  }

  /**
   * Counters, totals since the port opened (after close(): as they were
   * when it closed). Every frame is accounted for: on receive, kernelPackets
   * = rxFrames + kernelDrops + frames still queued; on send, every call
   * counts once in txFrames, txNoBuffer, txLinkDown, txErrors or droppedClosed.
   */
  stats(): RawSocketStats {
    const s = this.socket?.stats() ?? this.final ?? EMPTY;
    return { ...s, droppedUnhandled: this.droppedUnhandled, droppedClosed: this.droppedClosed };
  }

  /** The error that closed the socket, if it failed. */
  get error(): Error | undefined {
    return this.failure;
  }

  close(): void {
    if (this.socket) {
      this.socket.close(); // reads the kernel's counters once more before closing
      this.final = this.socket.stats();
    }
    this.socket = undefined;
    this.handler = undefined;
    this.linkWatchers.length = 0;
  }
}

const EMPTY: AfPacketStats = {
  rxFrames: 0,
  rxBytes: 0,
  rxTruncated: 0,
  rxWakeups: 0,
  txFrames: 0,
  txBytes: 0,
  txDropped: 0,
  txNoBuffer: 0,
  txLinkDown: 0,
  txErrors: 0,
  lastTxErrno: 0,
  kernelPackets: 0,
  kernelDrops: 0,
  kernelStatsErrno: 0,
  txBatches: 0,
  ringSlots: 0,
  ringSlotBytes: 0,
  rcvbuf: 0,
  sndbuf: 0,
};

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
