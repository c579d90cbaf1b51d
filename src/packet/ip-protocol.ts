/** IP protocol / IPv6 next-header numbers used by p4cast (IANA registry). */
export const IpProtocol = {
  HOPOPT: 0,
  ICMP: 1,
  IGMP: 2,
  IPV4: 4,
  TCP: 6,
  UDP: 17,
  IPV6: 41,
  ICMPV6: 58,
  /** The p4cast multicast shim: RFC 3692 experimental number 253. */
  P4CAST: 253,
} as const;
