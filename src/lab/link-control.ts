/**
 * How a lab cuts one of its links between switches, whatever the lab
 * (in-process links, veth pairs with relays, Mininet): silently by default
 * (frames lost both ways, both interfaces stay up, as a broken path beyond
 * the interface looks), or with the carrier (both ends see their interface
 * go down, as a pulled cable does); restore() carries frames again and
 * brings the carrier back.
 */
export interface CutOptions {
  readonly carrier?: boolean;
}

export interface LinkControl {
  cut(opts?: CutOptions): void;
  restore(): void;
}
