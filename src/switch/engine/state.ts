/**
 * Per-packet state outside the PHV: BMv2's packet registers and flags
 * (exit, clone/resubmit/recirculate requests, learn id, truncation, the
 * PACKET_LENGTH register) and the parse position. The generated code reads
 * and writes these as properties of one object.
 */
export class PacketState {
  /** Set by `exit`; the pipeline stops after the current action. */
  exit = false;
  cloneValid = false;
  cloneSession = 0;
  cloneFl = 0;
  /** Field list id of resubmit (0: no resubmit), like BMv2's flag register. */
  resubmitFl = 0;
  recircFl = 0;
  learnId = 0;
  truncLen = Infinity;
  /** BMv2's PACKET_LENGTH register (changed by add_header/remove_header). */
  pktLen = 0;
  /** Length of the packet as it entered ingress (counters, byte meters). */
  ingressLen = 0;
  /** Parser error code of the last parse. */
  err = 0;
  checksumError = false;
  /** Packet bytes and the unparsed payload's position. */
  data: Uint8Array = new Uint8Array(0);
  payloadOff = 0;
  payloadLen = 0;
  /** Current time in microseconds (set once per pipeline pass). */
  nowUs = 0;
  dropPort = 511;

  /** RegisterAccess::clear_all plus the exit flag. */
  clearRegisters(): void {
    this.exit = false;
    this.cloneValid = false;
    this.cloneSession = 0;
    this.cloneFl = 0;
    this.resubmitFl = 0;
    this.recircFl = 0;
    this.learnId = 0;
  }
}
