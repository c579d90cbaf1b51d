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
import { EngineError, type DigestMessage } from "./runtime-api.js";
import type { FieldList, Program } from "./program.js";
import type { PhvSnapshot } from "./phv.js";
import type { Pre, GroupPlan } from "./pre.js";

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

export interface PacketOutput {
  readonly port: number;
  readonly data: Uint8Array;
}

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
}

interface Slot {
  readonly wide: boolean;
  readonly slot: number;
  readonly width: number;
}

export class SimpleSwitch {
  private readonly digestCbs: ((d: DigestMessage) => void)[] = [];
  private readonly f: Record<string, Slot | undefined>;
  private readonly withQueueing: boolean;

  constructor(
    readonly prog: Program,
    readonly pre: Pre,
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
  }

  onDigest(cb: (d: DigestMessage) => void): void {
    this.digestCbs.push(cb);
  }

  private set(name: string, v: number): void {
    const s = this.f[name];
    if (!s) return;
    const phv = this.prog.phv;
    if (s.wide) phv.B[s.slot] = BigInt.asUintN(s.width, BigInt(v));
    else phv.N[s.slot] = s.width >= 53 ? v : v % 2 ** s.width;
  }

  private get(name: string): number {
    const s = this.f[name];
    if (!s) return 0;
    const phv = this.prog.phv;
    return s.wide ? Number(phv.B[s.slot]!) : phv.N[s.slot]!;
  }

  private nowUs(): number {
    return Number(this.clock() - this.prog.initUs);
  }

  process(ingressPort: number, data: Uint8Array): PacketOutput[] {
    const out: PacketOutput[] = [];
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
    S.nowUs = Number(this.clock());
    if (job.restore) {
      // resubmitted / recirculated: metadata reset, then the field list copied
      this.copyFieldList(job.restore.fl, job.restore.from);
      this.set("instance_type", job.restore.instanceType);
      this.set("packet_length", job.pktLen);
    } else {
      this.set("ingress_port", job.port);
      this.set("packet_length", job.pktLen);
      this.set("instance_type", PKT_INSTANCE_TYPE_NORMAL);
      if (job.timestampUs !== undefined) this.set("ingress_ts", job.timestampUs);
    }
    const ingressPacketSize = S.pktLen;
    prog.parse(job.data.length);
    this.set("parser_error", S.err);
    this.set("checksum_error", S.checksumError ? 1 : 0);
    prog.runIngress();
    S.exit = false;

    const egressSpec = this.get("egress_spec");
    const mgid = this.f.mcast_grp ? this.get("mcast_grp") : 0;

    // INGRESS CLONING: the clone is the original packet, parsed again
    if (S.cloneValid) {
      const session = S.cloneSession;
      const fl = prog.fieldLists.get(S.cloneFl);
      S.cloneValid = false;
      const sess = this.pre.sessions.get(session);
      if (sess) {
        const cur = phv.save();
        const saved = { payloadOff: S.payloadOff, payloadLen: S.payloadLen, err: S.err, ck: S.checksumError, pktLen: S.pktLen, exit: S.exit, learnId: S.learnId, resubmitFl: S.resubmitFl, truncLen: S.truncLen };
        phv.reset();
        this.set("ingress_port", job.port);
        prog.parse(job.data.length);
        phv.resetMetadata();
        this.copyFieldList(fl, cur);
        this.set("instance_type", PKT_INSTANCE_TYPE_INGRESS_CLONE);
        const trunc = sess.spec.truncateBytes > 0 ? sess.spec.truncateBytes : Infinity;
        this.replicate(sess.plan, egressQ, { data: job.data, payloadOff: S.payloadOff, payloadLen: S.payloadLen, pktLen: ingressPacketSize, ingressLen: job.ingressLen, truncLen: trunc });
        phv.load(cur);
        Object.assign(S, { payloadOff: saved.payloadOff, payloadLen: saved.payloadLen, err: saved.err, checksumError: saved.ck, pktLen: saved.pktLen, exit: saved.exit, learnId: saved.learnId, resubmitFl: saved.resubmitFl, truncLen: saved.truncLen });
      } else this.log(`clone session ${session} is not configured`);
    }

    // LEARNING
    if (S.learnId > 0) {
      const ll = prog.learnLists.get(S.learnId);
      if (ll) {
        const msg: DigestMessage = { name: ll.name, values: ll.values() };
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

    const pk = { data: job.data, payloadOff: S.payloadOff, payloadLen: S.payloadLen, pktLen: S.pktLen, ingressLen: job.ingressLen, truncLen: S.truncLen };
    // MULTICAST
    if (mgid !== 0) {
      this.set("instance_type", PKT_INSTANCE_TYPE_REPLICATION);
      const g = this.pre.groups.get(mgid);
      if (g) this.replicate(g, egressQ, { ...pk, truncLen: Infinity });
      else this.log(`replication requested for mgid ${mgid}, which is not known to the PRE`);
      return;
    }
    if (egressSpec === S.dropPort) return;
    this.set("instance_type", PKT_INSTANCE_TYPE_NORMAL);
    this.enqueue(egressSpec, egressQ, pk, egressQ.length === 0);
  }

  private replicate(plan: GroupPlan, egressQ: EgressJob[], pk: Omit<EgressJob, "port" | "snap" | "enqUs">): void {
    for (const r of plan.order) {
      this.set("egress_rid", r.rid);
      this.enqueue(r.port, egressQ, pk, false);
    }
  }

  private enqueue(port: number, egressQ: EgressJob[], pk: Omit<EgressJob, "port" | "snap" | "enqUs">, live: boolean): void {
    // simple_switch has one queue per port by default: priorities above 0 are dropped
    if (this.f.priority && this.get("priority") >= 1) {
      this.log("Priority out of range, dropping packet");
      return;
    }
    const now = this.nowUs();
    if (this.withQueueing) {
      this.set("enq_timestamp", now);
      this.set("enq_qdepth", egressQ.filter((j) => j.port === port).length);
    }
    egressQ.push({ ...pk, port, snap: live ? undefined : this.prog.phv.save(), enqUs: now });
  }

  private egress(job: EgressJob, egressQ: EgressJob[], ingressQ: IngressJob[], out: PacketOutput[]): void {
    const prog = this.prog;
    const phv = prog.phv;
    const S = prog.S;
    if (job.snap) phv.load(job.snap);
    S.clearRegisters();
    S.data = job.data;
    S.payloadOff = job.payloadOff;
    S.payloadLen = job.payloadLen;
    S.pktLen = job.pktLen;
    S.ingressLen = job.ingressLen;
    S.truncLen = job.truncLen;
    S.nowUs = Number(this.clock());
    const now = this.nowUs();
    this.set("egress_ts", now);
    if (this.withQueueing) {
      this.set("deq_timedelta", Math.max(0, now - job.enqUs));
      this.set("deq_qdepth", egressQ.filter((j) => j.port === job.port).length);
      this.set("qid", 0);
    }
    this.set("egress_port", job.port);
    // egress_spec starts as a value different from the drop port
    this.set("egress_spec", S.dropPort + 1);
    this.set("packet_length", S.pktLen);
    prog.runEgress();
    S.exit = false;

    // EGRESS CLONING: a copy of the egress packet's headers with metadata reset
    if (S.cloneValid) {
      const session = S.cloneSession;
      const fl = prog.fieldLists.get(S.cloneFl);
      S.cloneValid = false;
      const sess = this.pre.sessions.get(session);
      if (sess) {
        const cur = phv.save();
        phv.resetMetadata();
        this.copyFieldList(fl, cur);
        this.set("instance_type", PKT_INSTANCE_TYPE_EGRESS_CLONE);
        const trunc = sess.spec.truncateBytes > 0 ? sess.spec.truncateBytes : Infinity;
        this.replicate(sess.plan, egressQ, { data: job.data, payloadOff: S.payloadOff, payloadLen: S.payloadLen, pktLen: S.pktLen, ingressLen: job.ingressLen, truncLen: trunc });
        phv.load(cur);
      } else this.log(`clone session ${session} is not configured`);
    }

    if (this.get("egress_spec") === S.dropPort) return;

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
