/**
 * A switch port: something that carries Ethernet frames in and out. Virtual
 * links, pcap files and (for Mininet) raw Linux interfaces implement it.
 */
export interface Port {
  readonly name: string;
  /** Sends a frame out of the switch through this port. */
  send(frame: Uint8Array): void;
  /**
   * Registers the handler for frames arriving at the switch on this port;
   * ports that know when a frame arrived (raw sockets: the kernel's stamp)
   * pass it, in microseconds on the monotonic clock of process.hrtime.
   */
  onReceive(handler: (frame: Uint8Array, arrivedUs?: number) => void): void;
  close(): void;
  /** Counters, for ports that can lose frames outside the pipeline (raw sockets). */
  stats?(): PortStats;
  /**
   * For ports with a link state (raw interfaces): calls `handler` with
   * whether the link is up, at once and then on every change, until the
   * port closes. The switch feeds it to its data plane's port status.
   */
  watchLink?(handler: (up: boolean) => void): void;
}

/**
 * Where a port's frames went, totals since it opened. A frame the host lost
 * (an overloaded machine: a full receive queue, a full send queue) is
 * counted here, so it can be told apart from a frame the pipeline dropped.
 */
export interface PortStats {
  /** Frames handed to the switch. */
  readonly rxFrames: number;
  /** Frames the kernel offered to the port (received + kernelDrops + still queued). */
  readonly kernelPackets: number;
  /** Frames the kernel dropped because the port's receive queue was full (the switch did not read in time). */
  readonly kernelDrops: number;
  /** Frames the kernel took to send. */
  readonly txFrames: number;
  /** Frames not sent for want of room (EAGAIN/ENOBUFS: send buffer or device queue full). */
  readonly txNoBuffer: number;
  /** Frames not sent because the link was down. */
  readonly txLinkDown: number;
  /** Frames the kernel refused (e.g. longer than the MTU). */
  readonly txErrors: number;
  /** Frames that arrived before the switch listened, or were sent after the port closed. */
  readonly droppedUnhandled: number;
  readonly droppedClosed: number;
}

/** Frames a port lost outside the pipeline: the host's doing, not the program's. */
export function hostDrops(s: PortStats): number {
  return s.kernelDrops + s.txNoBuffer + s.txLinkDown + s.txErrors + s.droppedUnhandled + s.droppedClosed;
}

/**
 * One line of counters: `rxFrames=… kernelPackets=… kernelDrops=… txFrames=… txNoBuffer=…
 * txLinkDown=… txErrors=… droppedUnhandled=… droppedClosed=…`.
 */
export function formatPortStats(s: PortStats): string {
  return PORT_STATS_KEYS.map((k) => `${k}=${s[k]}`).join(" ");
}

export const PORT_STATS_KEYS = [
  "rxFrames",
  "kernelPackets",
  "kernelDrops",
  "txFrames",
  "txNoBuffer",
  "txLinkDown",
  "txErrors",
  "droppedUnhandled",
  "droppedClosed",
] as const satisfies readonly (keyof PortStats)[];

/** Parses what formatPortStats wrote (other keys are ignored; missing ones are 0). */
export function parsePortStats(text: string): PortStats {
  const out: Record<string, number> = Object.fromEntries(PORT_STATS_KEYS.map((k) => [k, 0]));
  for (const m of text.matchAll(/(\w+)=(\d+)/g)) if ((PORT_STATS_KEYS as readonly string[]).includes(m[1]!)) out[m[1]!] = Number(m[2]);
  return out as unknown as PortStats;
}

const EMPTY_FRAME = new Uint8Array(0);

/**
 * Delivers frames to a handler asynchronously, in order, so that a chain of
 * in-process switches never recurses through each other's pipelines.
 */
export class FrameQueue {
  /** Frames from `head` on are waiting (an index, not shift(): shift copies the whole array, quadratic in a long queue). */
  private queue: Uint8Array[] = [];
  private head = 0;
  private scheduled = false;
  private handler: ((frame: Uint8Array) => void) | undefined;
  private closed = false;

  setHandler(h: (frame: Uint8Array) => void): void {
    this.handler = h;
    this.schedule();
  }

  push(frame: Uint8Array): void {
    if (this.closed) return;
    this.queue.push(frame);
    this.schedule();
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    this.head = 0;
    this.handler = undefined;
  }

  /** Accepts frames again after close() (a restarted switch re-attaches). */
  reopen(): void {
    this.closed = false;
  }

  private schedule(): void {
    if (this.scheduled || !this.handler || this.head === this.queue.length) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const h = this.handler;
      if (!h) return;
      // Bounded per turn so timers and I/O still run under load.
      for (let n = 0; n < 256 && this.head < this.queue.length; n++) {
        const frame = this.queue[this.head]!;
        this.queue[this.head++] = EMPTY_FRAME;
        h(frame);
      }
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      } else if (this.head >= 4096 && this.head * 2 >= this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.schedule();
    });
  }
}
