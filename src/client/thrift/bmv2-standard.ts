/**
 * A client for the register calls of BMv2's Thrift runtime service
 * ("standard", multiplexed, binary protocol over a buffered TCP transport,
 * port 9090 by default), and for simple_switch's own service
 * ("simple_switch": the egress queue depth). simple_switch_grpc answers
 * UNIMPLEMENTED to P4Runtime RegisterEntry reads and writes; this is the way
 * to reach its registers. Method names, field ids and types are those of
 * BMv2's standard.thrift and simple_switch.thrift; the client class follows
 * the shape the `thrift` package expects of generated clients (_reqs,
 * new_seqid, recv_<method>).
 */
import thrift from "thrift";

const T = thrift.Thrift.Type;
const MessageType = thrift.Thrift.MessageType;

/** BMv2's RegisterOperationErrorCode. */
const registerErrors: Record<number, string> = { 1: "INVALID_REGISTER_NAME", 2: "INVALID_INDEX", 3: "ERROR" };

export class Bmv2ThriftError extends Error {
  override readonly name = "Bmv2ThriftError";
  constructor(
    readonly operation: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Protocol {
  writeMessageBegin(name: string, type: number, seqid: number): void;
  writeMessageEnd(): void;
  writeStructBegin(name: string): void;
  writeStructEnd(): void;
  writeFieldBegin(name: string, type: number, id: number): void;
  writeFieldEnd(): void;
  writeFieldStop(): void;
  writeI32(v: number): void;
  writeI64(v: unknown): void;
  writeString(v: string): void;
  readStructBegin(): void;
  readStructEnd(): void;
  readFieldBegin(): { fname: string; ftype: number; fid: number };
  readFieldEnd(): void;
  readI32(): number;
  readI64(): { toOctetString(): string };
  readListBegin(): { etype: number; size: number };
  readListEnd(): void;
  readMessageEnd(): void;
  skip(type: number): void;
  flush(): void;
}

type ProtocolClass = new (transport: unknown) => Protocol;
type Callback = (err: Error | null, result?: unknown) => void;

function int64ToBigInt(v: { toOctetString(): string }): bigint {
  // Register cells are unsigned; BMv2 sends them as i64 bit patterns.
  return BigInt(`0x${v.toOctetString()}`);
}

function bigIntToInt64(v: bigint): unknown {
  const u = BigInt.asUintN(64, v);
  return new thrift.Int64(Buffer.from(u.toString(16).padStart(16, "0"), "hex"));
}

type Arg = { id: number; type: number; value: number | string | bigint };

/** The generated-client shape for one multiplexed service's calls. */
class ServiceClient {
  _seqid = 0;
  _reqs: Record<number, Callback> = {};
  new_seqid!: () => number;

  constructor(
    private readonly output: { flush(): void },
    private readonly pClass: ProtocolClass,
  ) {}

  call(method: string, args: Arg[], cb: Callback): void {
    const seqid = this.new_seqid ? this.new_seqid() : ++this._seqid;
    this._reqs[seqid] = cb;
    const out = new this.pClass(this.output);
    out.writeMessageBegin(method, MessageType.CALL, seqid);
    out.writeStructBegin(`${method}_args`);
    for (const a of args) {
      out.writeFieldBegin(`f${a.id}`, a.type, a.id);
      if (a.type === T.I32) out.writeI32(a.value as number);
      else if (a.type === T.I64) out.writeI64(bigIntToInt64(a.value as bigint));
      else out.writeString(a.value as string);
      out.writeFieldEnd();
    }
    out.writeFieldStop();
    out.writeStructEnd();
    out.writeMessageEnd();
    out.flush();
  }

  /** Reads a `<method>_result` struct: field 0 success, field 1 the exception. */
  private receive(input: Protocol, mtype: number, rseqid: number, method: string): void {
    const cb = this._reqs[rseqid];
    if (!cb) return;
    if (mtype === MessageType.EXCEPTION) {
      const x = new thrift.Thrift.TApplicationException();
      (x as unknown as { read(p: Protocol): void }).read(input);
      input.readMessageEnd();
      cb(new Bmv2ThriftError(method, "APPLICATION_EXCEPTION", `${method}: ${x.message}`));
      return;
    }
    let success: unknown;
    let error: Error | null = null;
    input.readStructBegin();
    for (;;) {
      const f = input.readFieldBegin();
      if (f.ftype === T.STOP) break;
      if (f.fid === 0 && f.ftype === T.I64) success = int64ToBigInt(input.readI64());
      else if (f.fid === 0 && f.ftype === T.I32) success = input.readI32();
      else if (f.fid === 0 && f.ftype === T.LIST) {
        const l = input.readListBegin();
        const values: bigint[] = [];
        for (let i = 0; i < l.size; i++) values.push(int64ToBigInt(input.readI64()));
        input.readListEnd();
        success = values;
      } else if (f.fid === 1 && f.ftype === T.STRUCT) {
        let code = 0;
        input.readStructBegin();
        for (;;) {
          const g = input.readFieldBegin();
          if (g.ftype === T.STOP) break;
          if (g.fid === 1 && g.ftype === T.I32) code = input.readI32();
          else input.skip(g.ftype);
          input.readFieldEnd();
        }
        input.readStructEnd();
        const name = registerErrors[code] ?? `code ${code}`;
        error = new Bmv2ThriftError(method, name, `${method}: ${name}`);
      } else input.skip(f.ftype);
      input.readFieldEnd();
    }
    input.readStructEnd();
    input.readMessageEnd();
    cb(error, success);
  }

  recv_bm_register_read(input: Protocol, mtype: number, rseqid: number): void {
    this.receive(input, mtype, rseqid, "bm_register_read");
  }
  recv_bm_register_read_all(input: Protocol, mtype: number, rseqid: number): void {
    this.receive(input, mtype, rseqid, "bm_register_read_all");
  }
  recv_bm_register_write(input: Protocol, mtype: number, rseqid: number): void {
    this.receive(input, mtype, rseqid, "bm_register_write");
  }
  recv_bm_register_reset(input: Protocol, mtype: number, rseqid: number): void {
    this.receive(input, mtype, rseqid, "bm_register_reset");
  }
  recv_set_all_egress_queue_depths(input: Protocol, mtype: number, rseqid: number): void {
    this.receive(input, mtype, rseqid, "set_all_egress_queue_depths");
  }
}

export interface Bmv2ThriftOptions {
  readonly host?: string;
  readonly port?: number;
  /** BMv2 context id (0 for simple_switch). */
  readonly contextId?: number;
  readonly timeoutMs?: number;
}

/** Register access (and simple_switch's queue depth) through BMv2's Thrift runtime. */
export class Bmv2ThriftClient {
  private readonly connection: ReturnType<typeof thrift.createConnection>;
  private readonly client: ServiceClient;
  private readonly simpleSwitch: ServiceClient;
  private readonly cxt: number;
  private readonly ready: Promise<void>;
  private readonly timeoutMs: number;

  constructor(readonly options: Bmv2ThriftOptions = {}) {
    const host = options.host ?? "127.0.0.1";
    const port = options.port ?? 9090;
    this.cxt = options.contextId ?? 0;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.connection = thrift.createConnection(host, port, {
      transport: thrift.TBufferedTransport,
      protocol: thrift.TBinaryProtocol,
      max_attempts: 1,
      connect_timeout: this.timeoutMs,
    } as never);
    this.ready = new Promise((resolve, reject) => {
      this.connection.once("connect", () => resolve());
      this.connection.once("error", (e: Error) =>
        reject(new Bmv2ThriftError("connect", "UNAVAILABLE", `BMv2 Thrift at ${host}:${port}: ${e.message}`)),
      );
    });
    this.ready.catch(() => undefined);
    this.connection.on("error", () => undefined);
    const mux = new thrift.Multiplexer();
    this.client = mux.createClient("standard", ServiceClient as never, this.connection) as unknown as ServiceClient;
    this.simpleSwitch = mux.createClient("simple_switch", ServiceClient as never, this.connection) as unknown as ServiceClient;
  }

  private invoke<R>(method: string, args: Arg[], service = this.client): Promise<R> {
    return this.ready.then(
      () =>
        new Promise<R>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Bmv2ThriftError(method, "DEADLINE_EXCEEDED", `${method}: no answer in ${this.timeoutMs} ms`)),
            this.timeoutMs,
          );
          service.call(method, args, (err, result) => {
            clearTimeout(timer);
            if (err) reject(err);
            else resolve(result as R);
          });
        }),
    );
  }

  /** The arguments of a register call: the context id, the register's name, then `rest`. */
  private registerArgs(name: string, ...rest: Arg[]): Arg[] {
    return [{ id: 1, type: T.I32, value: this.cxt }, { id: 2, type: T.STRING, value: name }, ...rest];
  }

  readRegister(name: string, index: number): Promise<bigint> {
    return this.invoke("bm_register_read", this.registerArgs(name, { id: 3, type: T.I32, value: index }));
  }

  readRegisterAll(name: string): Promise<bigint[]> {
    return this.invoke("bm_register_read_all", this.registerArgs(name));
  }

  async writeRegister(name: string, index: number, value: bigint): Promise<void> {
    await this.invoke("bm_register_write", this.registerArgs(name, { id: 3, type: T.I32, value: index }, { id: 4, type: T.I64, value }));
  }

  async resetRegister(name: string): Promise<void> {
    await this.invoke("bm_register_reset", this.registerArgs(name));
  }

  /**
   * simple_switch only: every egress queue holds `packets` packets (64 when
   * the switch starts). A queue that is full drops what comes next, so a
   * switch process the machine stalls for a moment loses the burst it then
   * replicates unless its queues hold that burst.
   */
  async setAllEgressQueueDepths(packets: number): Promise<void> {
    const rc = await this.invoke<number>("set_all_egress_queue_depths", [{ id: 1, type: T.I32, value: packets }], this.simpleSwitch);
    if (rc !== 0)
      throw new Bmv2ThriftError("set_all_egress_queue_depths", "ERROR", `set_all_egress_queue_depths: simple_switch answered ${rc}`);
  }

  close(): void {
    this.connection.end();
  }
}
