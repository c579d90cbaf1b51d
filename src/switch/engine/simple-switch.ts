/**
 * The v1model architecture as BMv2's simple_switch runs it, made synchronous:
 * one call to process() runs the packet and everything it spawns (clones,
 * multicast replicas, resubmissions, recirculations) to completion.
 *
 * BMv2 has an ingress thread, per-port egress queues with egress threads and
 * a transmit thread. We keep its order of operations per packet and serialize
 * the queues: egress work is processed first-in first-out, and resubmitted or
 * recirculated packets re-enter ingress once the egress queue is empty.
 */
import { EngineError, type DigestMessage, type PacketOutput } from "./runtime-api.js";
import type { FieldList, Program } from "./program.js";
import type { PhvSnapshot } from "./phv.js";
import { liveDestination, type CloneSession, type GroupPlan, type Pre } from "./pre.js";
import type { PortStatus } from "./port-status.js";

/** standard_metadata.instance_type values (simple_switch.cpp). */
export const PKT_INSTANCE_TYPE_NORMAL = 0;
export const PKT_INSTANCE_TYPE_INGRESS_CLONE = 1;
export const PKT_INSTANCE_TYPE_EGRESS_CLONE = 2;
export const PKT_INSTANCE_TYPE_COALESCED = 3;
export const PKT_INSTANCE_TYPE_RECIRC = 4;
export const PKT_INSTANCE_TYPE_REPLICATION = 5;
export const PKT_INSTANCE_TYPE_RESUBMIT = 6;

/** Upper bound on pipeline passes spawned by one input packet. */
const MAX_PASSES = 4096;

interface IngressJob {
  readonly data: Uint8Array;
  readonly port: number;
  /** Normal packets: undefined; resubmit/recirculate: metadata to restore. */
  readonly restore?: { readonly from: PhvSnapshot; readonly fl: FieldList | undefined; readonly instanceType: number };
  readonly pktLen: number;
  readonly ingressLen: number;
  readonly timestampUs?: number;
}

interface EgressJob {
  readonly port: number;
  /** undefined: the PHV currently holds this packet. */
  readonly snap: PhvSnapshot | undefined;
  readonly data: Uint8Array;
  readonly payloadOff: number;
  readonly payloadLen: number;
  readonly pktLen: number;
  readonly ingressLen: number;
  readonly truncLen: number;
  readonly enqUs: number;
  /**
   * A live replica (no snapshot; the first of a multicast group while the
   * queue was empty): its rid and enqueue depth, put back at egress, since
   * the replicas enqueued after it wrote theirs into the PHV.
   */
  readonly liveReplica: { readonly rid: number; readonly enqDepth: number } | undefined;
}

type PacketCopy = Omit<EgressJob, "port" | "snap" | "enqUs" | "liveReplica">;

/** A clone the pipeline asked for: the session and the field list that goes with the copy. */
interface Clone {
  readonly sess: CloneSession;
  readonly fl: FieldList | undefined;
}

interface FastSlot {
  readonly n: number;
  readonly b: number;
  readonly width: number;
  readonly mod: number;
}

interface Slot {
  readonly wide: boolean;
  readonly slot: number;
  readonly width: number;
}

export class SimpleSwitch {
  private readonly digestCbs: ((d: DigestMessage) => void)[] = [];
  private readonly f: Record<string, Slot | undefined>;
  private readonly fs: Record<string, FastSlot>;
  private readonly F: {
    egress_ts: FastSlot;
    ingress_ts: FastSlot;
    parser_error: FastSlot;
    checksum_error: FastSlot;
    enq_timestamp: FastSlot;
    enq_qdepth: FastSlot;
    deq_timedelta: FastSlot;
    deq_qdepth: FastSlot;
    qid: FastSlot;
    egress_rid: FastSlot;
  };
  private readonly withQueueing: boolean;
  private readonly N: Float64Array;
  /** Narrow slots of hot standard metadata fields (-1 when absent or wide). */
  private readonly sEgressSpec: number;
  private readonly sEgressPort: number;
  private readonly sPacketLength: number;
  private readonly sInstanceType: number;
  private readonly sMcastGrp: number;
  private readonly sPriority: number;
  private readonly sIngressPort: number;
  private readonly mEgressPort: number;
  private readonly mEgressSpec: number;
  private readonly mPacketLength: number;
  private readonly mIngressPort: number;
  private nowAbs = 0;
  private readonly initNum: number;

  constructor(
    readonly prog: Program,
    readonly pre: Pre,
    private readonly ports: PortStatus,
    private readonly clock: () => bigint,
    private readonly log: (m: string) => void,
  ) {
    const s = (n: string) => prog.slotOf(n);
    this.f = {
      ingress_port: s("standard_metadata.ingress_port"),
      packet_length: s("standard_metadata.packet_length"),
      instance_type: s("standard_metadata.instance_type"),
      egress_spec: s("standard_metadata.egress_spec"),
      egress_port: s("standard_metadata.egress_port"),
      parser_error: s("standard_metadata.parser_error"),
      checksum_error: s("standard_metadata.checksum_error"),
      mcast_grp: s("intrinsic_metadata.mcast_grp"),
      egress_rid: s("intrinsic_metadata.egress_rid"),
      ingress_ts: s("intrinsic_metadata.ingress_global_timestamp"),
      egress_ts: s("intrinsic_metadata.egress_global_timestamp"),
      priority: s("intrinsic_metadata.priority"),
      enq_timestamp: s("queueing_metadata.enq_timestamp"),
      enq_qdepth: s("queueing_metadata.enq_qdepth"),
      deq_timedelta: s("queueing_metadata.deq_timedelta"),
      deq_qdepth: s("queueing_metadata.deq_qdepth"),
      qid: s("queueing_metadata.qid"),
    };
    for (const req of ["ingress_port", "packet_length", "instance_type", "egress_spec", "egress_port"]) {
      if (!this.f[req]) throw new EngineError("UNSUPPORTED", `unsupported construct: v1model program without standard_metadata.${req}`);
    }
    const f = this.f;
    this.withQueueing = !!(f.enq_timestamp && f.enq_qdepth && f.deq_timedelta && f.deq_qdepth);
    this.N = prog.phv.N;
    this.initNum = Number(prog.initUs);
    const fast = (x: Slot | undefined): FastSlot =>
      !x
        ? { n: -1, b: -1, width: 0, mod: 1 }
        : x.wide
          ? { n: -1, b: x.slot, width: x.width, mod: 1 }
          : { n: x.slot, b: -1, width: x.width, mod: 2 ** Math.min(x.width, 53) };
    this.fs = Object.fromEntries(Object.entries(f).map(([k, v]) => [k, fast(v)]));
    this.F = {
      egress_ts: fast(f.egress_ts),
      ingress_ts: fast(f.ingress_ts),
      parser_error: fast(f.parser_error),
      checksum_error: fast(f.checksum_error),
      enq_timestamp: fast(f.enq_timestamp),
      enq_qdepth: fast(f.enq_qdepth),
      deq_timedelta: fast(f.deq_timedelta),
      deq_qdepth: fast(f.deq_qdepth),
      qid: fast(f.qid),
      egress_rid: fast(f.egress_rid),
    };
    const narrow = (x: Slot | undefined): number => (x && !x.wide ? x.slot : -1);
    const mod = (x: Slot | undefined): number => (x && !x.wide ? 2 ** Math.min(x.width, 53) : 1);
    this.sEgressSpec = narrow(f.egress_spec);
    this.sEgressPort = narrow(f.egress_port);
    this.sPacketLength = narrow(f.packet_length);
    this.sInstanceType = narrow(f.instance_type);
    this.sMcastGrp = narrow(f.mcast_grp);
    this.sPriority = narrow(f.priority);
    this.sIngressPort = narrow(f.ingress_port);
    this.mEgressPort = mod(f.egress_port);
    this.mEgressSpec = mod(f.egress_spec);
    this.mPacketLength = mod(f.packet_length);
    this.mIngressPort = mod(f.ingress_port);
    if ([f.egress_spec, f.egress_port, f.packet_length, f.instance_type, f.ingress_port].some((x) => x!.wide))
      throw new EngineError("UNSUPPORTED", "unsupported construct: standard_metadata fields wider than 48 bits");
  }

  onDigest(cb: (d: DigestMessage) => void): void {
    this.digestCbs.push(cb);
  }

  private set(name: string, v: number): void {
    const s = this.fs[name];
    if (s !== undefined) this.put(s, v);
  }

  private put(s: FastSlot, v: number): void {
    if (s.n >= 0) this.N[s.n] = v % s.mod;
    else if (s.b >= 0) this.prog.phv.B[s.b] = BigInt.asUintN(s.width, BigInt(v));
  }

  private get(name: string): number {
    const s = this.f[name];
    if (!s) return 0;
    const phv = this.prog.phv;
    return s.wide ? Number(phv.B[s.slot]!) : phv.N[s.slot]!;
  }

  /** Fast setter for narrow standard metadata fields (slot -1: absent). */
  private setN(slot: number, mod: number, v: number): void {
    if (slot >= 0) this.N[slot] = v % mod;
  }

  /** Microseconds since the switch started, like BMv2's get_ts(). */
  private nowUs(): number {
    return this.nowAbs - this.initNum;
  }

  process(ingressPort: number, data: Uint8Array, arrivedUs?: number): PacketOutput[] {
    const out: PacketOutput[] = [];
    // One time per input packet: its arrival when known, else the clock; never earlier than the last (ports' batches interleave).
    this.nowAbs = Math.max(this.nowAbs, arrivedUs ?? Number(this.clock()));
    const ingressQ: IngressJob[] = [{ data, port: ingressPort, pktLen: data.length, ingressLen: data.length, timestampUs: this.nowUs() }];
    const egressQ: EgressJob[] = [];
    let passes = 0;
    while (ingressQ.length > 0 || egressQ.length > 0) {
      if (++passes > MAX_PASSES) {
        this.log(`dropping packet: more than ${MAX_PASSES} pipeline passes (recirculation loop?)`);
        break;
      }
      if (egressQ.length > 0) this.egress(egressQ.shift()!, egressQ, ingressQ, out);
      else this.ingress(ingressQ.shift()!, egressQ, ingressQ);
    }
    return out;
  }

  private copyFieldList(fl: FieldList | undefined, from: PhvSnapshot): void {
    if (!fl) return;
    const { N, B } = this.prog.phv;
    for (const s of fl.nSlots) N[s] = from.N[s]!;
    for (const s of fl.bSlots) B[s] = from.B[s]!;
  }

  /**
   * The clone session the pipeline asked for (the request is cleared) and the
   * field list to copy into the clone; undefined, logged, when the session is
   * not configured.
   */
  private takeClone(): Clone | undefined {
    const S = this.prog.S;
    const session = S.cloneSession;
    const fl = this.prog.fieldLists.get(S.cloneFl);
    S.cloneValid = false;
    const sess = this.pre.sessions.get(session);
    if (!sess) {
      this.log(`clone session ${session} is not configured`);
      return undefined;
    }
    return { sess, fl };
  }

  /**
   * Replicates the packet in the PHV to a clone session: metadata reset, the
   * field list copied from `saved`, `instanceType` set, truncated as the
   * session says. The PHV holds `saved` again afterwards.
   */
  private sendClone(
    clone: Clone,
    saved: PhvSnapshot,
    instanceType: number,
    job: IngressJob | EgressJob,
    pktLen: number,
    egressQ: EgressJob[],
  ): void {
    const phv = this.prog.phv;
    const S = this.prog.S;
    phv.resetMetadata();
    this.copyFieldList(clone.fl, saved);
    this.set("instance_type", instanceType);
    this.replicate(clone.sess.plan, egressQ, {
      data: job.data,
      payloadOff: S.payloadOff,
      payloadLen: S.payloadLen,
      pktLen,
      ingressLen: job.ingressLen,
      truncLen: clone.sess.spec.truncateBytes > 0 ? clone.sess.spec.truncateBytes : Infinity,
    });
    phv.load(saved);
  }

  private ingress(job: IngressJob, egressQ: EgressJob[], ingressQ: IngressJob[]): void {
    const prog = this.prog;
    const phv = prog.phv;
    const S = prog.S;
    phv.reset();
    S.clearRegisters();
    S.truncLen = Infinity;
    S.data = job.data;
    S.pktLen = job.pktLen;
    S.ingressLen = job.ingressLen;
    S.nowUs = this.nowAbs;
    if (job.restore) {
      // resubmitted / recirculated: metadata reset, then the field list copied
      this.copyFieldList(job.restore.fl, job.restore.from);
      this.set("instance_type", job.restore.instanceType);
      this.set("packet_length", job.pktLen);
    } else {
      this.setN(this.sIngressPort, this.mIngressPort, job.port);
      this.setN(this.sPacketLength, this.mPacketLength, job.pktLen);
      this.N[this.sInstanceType] = PKT_INSTANCE_TYPE_NORMAL;
      if (job.timestampUs !== undefined) this.put(this.F.ingress_ts, job.timestampUs);
    }
    const ingressPacketSize = S.pktLen;
    prog.parse(job.data.length);
    this.put(this.F.parser_error, S.err);
    this.put(this.F.checksum_error, S.checksumError ? 1 : 0);
    prog.runIngress();
    S.exit = false;

    const egressSpec = this.N[this.sEgressSpec]!;
    const mgid = this.sMcastGrp >= 0 ? this.N[this.sMcastGrp]! : this.f.mcast_grp ? this.get("mcast_grp") : 0;

    // INGRESS CLONING: the clone is the original packet, parsed again
    if (S.cloneValid) {
      const clone = this.takeClone();
      if (clone) {
        const cur = phv.save();
        const saved = {
          payloadOff: S.payloadOff,
          payloadLen: S.payloadLen,
          err: S.err,
          ck: S.checksumError,
          pktLen: S.pktLen,
          exit: S.exit,
          learnId: S.learnId,
          resubmitFl: S.resubmitFl,
          truncLen: S.truncLen,
        };
        phv.reset();
        this.set("ingress_port", job.port);
        prog.parse(job.data.length);
        this.sendClone(clone, cur, PKT_INSTANCE_TYPE_INGRESS_CLONE, job, ingressPacketSize, egressQ);
        Object.assign(S, {
          payloadOff: saved.payloadOff,
          payloadLen: saved.payloadLen,
          err: saved.err,
          checksumError: saved.ck,
          pktLen: saved.pktLen,
          exit: saved.exit,
          learnId: saved.learnId,
          resubmitFl: saved.resubmitFl,
          truncLen: saved.truncLen,
        });
      }
    }

    // LEARNING
    if (S.learnId > 0) {
      const ll = prog.learnLists.get(S.learnId);
      if (ll) {
        const msg: DigestMessage = {
          name: ll.name,
          values: ll.values(),
          ingressPort: job.port,
          ...(egressSpec !== S.dropPort && mgid === 0 ? { egressPort: egressSpec } : {}),
        };
        for (const cb of this.digestCbs) cb(msg);
      } else this.log(`unknown learn list ${S.learnId}`);
    }

    // RESUBMIT
    if (S.resubmitFl) {
      ingressQ.push({
        data: job.data,
        port: job.port,
        restore: { from: phv.save(), fl: prog.fieldLists.get(S.resubmitFl), instanceType: PKT_INSTANCE_TYPE_RESUBMIT },
        pktLen: ingressPacketSize,
        ingressLen: job.ingressLen,
      });
      return;
    }

    const pk: PacketCopy = {
      data: job.data,
      payloadOff: S.payloadOff,
      payloadLen: S.payloadLen,
      pktLen: S.pktLen,
      ingressLen: job.ingressLen,
      truncLen: S.truncLen,
    };
    // MULTICAST
    if (mgid !== 0) {
      this.set("instance_type", PKT_INSTANCE_TYPE_REPLICATION);
      const g = this.pre.groups.get(mgid);
      // Nothing touches the PHV after this: the first replica may keep it live.
      if (g) this.replicate(g, egressQ, { ...pk, truncLen: Infinity }, true);
      else this.log(`replication requested for mgid ${mgid}, which is not known to the PRE`);
      return;
    }
    if (egressSpec === S.dropPort) return;
    this.N[this.sInstanceType] = PKT_INSTANCE_TYPE_NORMAL;
    this.enqueue(egressSpec, egressQ, pk, egressQ.length === 0);
  }

  /** `mayLive`: the PHV stays as it is until egress (ingress multicast), so a first replica needs no snapshot. */
  private replicate(plan: GroupPlan, egressQ: EgressJob[], pk: PacketCopy, mayLive = false): void {
    for (const r of plan.order) {
      const d = liveDestination(r, this.ports);
      if (!d) {
        this.log(`replica (port ${r.port}, rid ${r.rid}) not made: its port and every backup's are down`);
        continue;
      }
      this.put(this.F.egress_rid, d.rid);
      // The first replica made while nothing else is queued is processed first: it keeps the live PHV (no copy).
      this.enqueue(d.port, egressQ, pk, mayLive && egressQ.length === 0, d.rid);
    }
  }

  /** Queues a copy for egress; `live`: it is processed next, on the PHV as it is (no snapshot). */
  private enqueue(port: number, egressQ: EgressJob[], pk: PacketCopy, live: boolean, replicaRid?: number): void {
    // simple_switch has one queue per port by default: priorities above 0 are dropped
    if (this.sPriority >= 0 ? this.N[this.sPriority]! >= 1 : this.f.priority && this.get("priority") >= 1) {
      this.log("Priority out of range, dropping packet");
      return;
    }
    const now = this.nowUs();
    let depth = 0;
    if (this.withQueueing) {
      for (let i = 0; i < egressQ.length; i++) if (egressQ[i]!.port === port) depth++;
      this.put(this.F.enq_timestamp, now);
      this.put(this.F.enq_qdepth, depth);
    }
    egressQ.push({
      liveReplica: live && replicaRid !== undefined ? { rid: replicaRid, enqDepth: depth } : undefined,
      port,
      snap: live ? undefined : this.prog.phv.save(),
      data: pk.data,
      payloadOff: pk.payloadOff,
      payloadLen: pk.payloadLen,
      pktLen: pk.pktLen,
      ingressLen: pk.ingressLen,
      truncLen: pk.truncLen,
      enqUs: now,
    });
  }

  private egress(job: EgressJob, egressQ: EgressJob[], ingressQ: IngressJob[], out: PacketOutput[]): void {
    const prog = this.prog;
    const phv = prog.phv;
    const S = prog.S;
    if (job.snap) phv.load(job.snap);
    else if (job.liveReplica) {
      this.put(this.F.egress_rid, job.liveReplica.rid);
      if (this.withQueueing) {
        this.put(this.F.enq_timestamp, job.enqUs);
        this.put(this.F.enq_qdepth, job.liveReplica.enqDepth);
      }
    }
    S.clearRegisters();
    S.data = job.data;
    S.payloadOff = job.payloadOff;
    S.payloadLen = job.payloadLen;
    S.pktLen = job.pktLen;
    S.ingressLen = job.ingressLen;
    S.truncLen = job.truncLen;
    S.nowUs = this.nowAbs;
    const now = this.nowUs();
    this.put(this.F.egress_ts, now);
    if (this.withQueueing) {
      let depth = 0;
      for (let i = 0; i < egressQ.length; i++) if (egressQ[i]!.port === job.port) depth++;
      this.put(this.F.deq_timedelta, Math.max(0, now - job.enqUs));
      this.put(this.F.deq_qdepth, depth);
      this.put(this.F.qid, 0);
    }
    this.setN(this.sEgressPort, this.mEgressPort, job.port);
    // egress_spec starts as a value different from the drop port
    this.setN(this.sEgressSpec, this.mEgressSpec, S.dropPort + 1);
    this.setN(this.sPacketLength, this.mPacketLength, S.pktLen);
    prog.runEgress();
    S.exit = false;

    // EGRESS CLONING: a copy of the egress packet's headers with metadata reset
    if (S.cloneValid) {
      const clone = this.takeClone();
      if (clone) this.sendClone(clone, phv.save(), PKT_INSTANCE_TYPE_EGRESS_CLONE, job, S.pktLen, egressQ);
    }

    if (this.N[this.sEgressSpec] === S.dropPort) return;

    let bytes = prog.deparse();

    // RECIRCULATE
    if (S.recircFl) {
      ingressQ.push({
        data: bytes,
        port: 0,
        restore: { from: phv.save(), fl: prog.fieldLists.get(S.recircFl), instanceType: PKT_INSTANCE_TYPE_RECIRC },
        pktLen: bytes.length,
        ingressLen: bytes.length,
      });
      return;
    }
    if (S.truncLen < bytes.length) bytes = bytes.slice(0, S.truncLen);
    out.push({ port: job.port, data: bytes });
  }
}
