/**
 * A switch port: something that carries Ethernet frames in and out. Virtual
 * links, pcap files and (for Mininet) raw Linux interfaces implement it.
 */
export interface Port {
  readonly name: string;
  /** Sends a frame out of the switch through this port. */
  send(frame: Uint8Array): void;
  /** Registers the handler for frames arriving at the switch on this port. */
  onReceive(handler: (frame: Uint8Array) => void): void;
  close(): void;
}

/**
 * Delivers frames to a handler asynchronously, in order, so that a chain of
 * in-process switches never recurses through each other's pipelines.
 */
export class FrameQueue {
  private readonly queue: Uint8Array[] = [];
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
    this.queue.length = 0;
    this.handler = undefined;
  }

  /** Accepts frames again after close() (a restarted switch re-attaches). */
  reopen(): void {
    this.closed = false;
  }

  private schedule(): void {
    if (this.scheduled || !this.handler || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const h = this.handler;
      if (!h) return;
      // Bounded per turn so timers and I/O still run under load.
      for (let n = 0; n < 256 && this.queue.length > 0; n++) h(this.queue.shift()!);
      this.schedule();
    });
  }
}
