/*
 * afpacket: a raw Linux interface as a Node.js object (N-API, C).
 *
 *   const { AfPacketSocket } = require("./build/Release/afpacket.node");
 *   const s = new AfPacketSocket("s1-eth1", (data, ends, arrivals) => { ... }, (err) => { ... });
 *   const h = new AfPacketSocket("h1-eth0", onFrames, onError, "/run/netns/p4cast-h1");
 *   s.send(buffer);   // true: queued, sent before the loop waits; false: over 64 KiB
 *   s.stats();        // counters (the kernel's included, accumulated here)
 *   s.close();
 *
 * One AF_PACKET/SOCK_RAW socket per interface, bound to it with ETH_P_ALL,
 * promiscuous (PACKET_MR_PROMISC, undone by the kernel when the socket
 * closes), not seeing its own transmissions (PACKET_IGNORE_OUTGOING).
 * Reception runs on the Node event loop from a receive ring mapped into the
 * process: a uv_poll watches the socket and, when it is readable, up to
 * RX_BATCH frames are copied back to back into one Buffer and handed to
 * JavaScript with a Uint32Array of their end offsets and a Float64Array of
 * their arrival times (the kernel's, on the monotonic clock), at most RX_WAKEUP
 * frames per wakeup so timers and other I/O still run under a flood (the
 * poll is level-triggered and fires again at once for the rest). Sending
 * queues a copy; sendmmsg(2) hands the queue to the kernel when it is full
 * and before the event loop next waits.
 *
 * Every frame is accounted for: rx_frames counts what JavaScript got; the
 * kernel's PACKET_STATISTICS (tp_packets: frames offered to the socket,
 * tp_drops: of those, dropped because the receive ring was full) restart
 * at zero on every read, so they are read into totals here (on stats() and
 * before the socket closes). Sending counts frames the kernel took, frames
 * it refused for want of room (EAGAIN/ENOBUFS: the socket's send buffer or
 * the device's queue was full), frames lost to a down link, and errors.
 * VLAN tags the kernel moved into packet metadata are put back into the
 * frame, so JavaScript sees the bytes that were on the wire.
 *
 * With a fifth argument, a function, the socket also watches the link: a
 * NETLINK_ROUTE socket in the interface's namespace, subscribed to link
 * events, on its own uv_poll; the interface counts as up while IFF_UP and
 * IFF_RUNNING are set (the operational state is up or unknown: what
 * simple_switch reads in /sys/class/net/<if>/operstate). The function is
 * called with true or false on every change, and `linkUp` reads the state.
 * The state is read (SIOCGIFFLAGS) after the subscription, so no change
 * falls between the two; an overrun netlink queue (ENOBUFS) is answered by
 * reading it again.
 *
 * With a fourth argument, the path of a network namespace (a file under
 * /run/netns, or /proc/<pid>/ns/net of a Mininet host), the interface is
 * looked up and the socket created inside that namespace: the calling
 * thread enters it with setns(2), creates and binds the socket, and returns
 * to its own namespace. A socket stays in the namespace it was created in,
 * so one process can be every host of a network.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif
#ifndef TP_STATUS_VLAN_TPID_VALID
#define TP_STATUS_VLAN_TPID_VALID (1 << 6)
#endif

/*
 * Receive ring (PACKET_RX_RING, TPACKET_V2): the kernel writes each frame
 * into a slot of a ring mapped into this process and flips the slot's
 * status; reading is a walk over the ring, no system call per frame. V2
 * rather than V3: a V3 ring wakes its reader only when a block fills or its
 * retire timer fires (whole jiffies: 4 ms at HZ=250), which would add
 * milliseconds per hop at low rates; a V2 slot is readable at once.
 */
#define RING_BYTES (16 * 1024 * 1024)
#define RING_BLOCK (1024 * 1024)
#define RING_MIN_SLOT 2048
/* Room in a slot before the frame: the V2 header and sockaddr_ll, aligned (the kernel puts a 14-byte MAC header at tp_mac 66). */
#define RING_HEADROOM 128
#define RX_BATCH 256
/*
 * Frames per wakeup: one batch, then back to the event loop (the poll is
 * level-triggered and fires again at once while frames are queued). Longer
 * drains (4096) hold the loop for a whole burst and changed what the burst
 * experiment's meters measured in Mininet (6.5 % off the RFC 2698 model
 * instead of under 5 %); no receive-queue drop was ever counted at 256.
 */
#define RX_WAKEUP RX_BATCH
/*
 * Transmission is batched: send() copies the frame into the socket's queue
 * and sendmmsg(2) hands the queue to the kernel when it holds TX_BATCH
 * frames, or TX_ARENA bytes, and in any case before the event loop next
 * waits (a uv_check handle, with a uv_idle handle keeping the loop from
 * blocking while anything is queued).
 */
#define TX_BATCH 256
#define TX_ARENA (1024 * 1024)
#define TX_MAX_FRAME 65536
/* Per socket; the kernel doubles the value for its bookkeeping. SO_*BUFFORCE (root) ignores net.core.[rw]mem_max. */
#define RCVBUF_BYTES (8 * 1024 * 1024)
#define SNDBUF_BYTES (4 * 1024 * 1024)
#define ABI_VERSION 6
#define NL_BUF 16384

typedef struct sock sock_t;

/* The loop's flusher: sockets with queued frames, sent from a uv_check handle before the loop waits. */
typedef struct {
  uv_check_t check;
  uv_idle_t idle; /* active while frames are queued: the loop polls without blocking until they are sent */
  sock_t *queued; /* sockets with tx_count > 0, linked through tx_next */
} flusher_t;

struct sock {
  int fd;
  int ifindex;
  char ifname[IF_NAMESIZE];
  uv_poll_t *poll; /* NULL once closed */
  napi_env env;
  napi_ref on_frames;
  napi_ref on_error;
  napi_async_context async_ctx;
  flusher_t *flusher;
  /* receive ring: slots of slot_size bytes, head is the next slot to read */
  uint8_t *ring;
  size_t ring_len;
  uint32_t slot_size, slots, head;
  /* transmit queue: frames copied into tx_arena, one mmsghdr each */
  uint8_t *tx_arena;
  size_t tx_used;
  uint32_t tx_count;
  struct mmsghdr *tx_msgs;
  struct iovec *tx_iov;
  sock_t *tx_next;
  int tx_listed;
  /* counters */
  uint64_t rx_frames, rx_bytes, rx_truncated, rx_wakeups;
  uint64_t tx_frames, tx_bytes, tx_no_buffer, tx_link_down, tx_errors, tx_batches;
  uint64_t kernel_packets, kernel_drops; /* PACKET_STATISTICS, accumulated */
  int last_tx_errno;
  int rcvbuf, sndbuf; /* effective sizes (getsockopt) */
  int consecutive_errors;
  /* link watch (optional): netlink socket, its poll, the callback, the state (-1: not watched) */
  int nl_fd;
  uv_poll_t *nl_poll;
  napi_ref on_link;
  int link_up;
};

#define CHECK(call)                                                   \
  do {                                                                \
    napi_status status__ = (call);                                    \
    if (status__ != napi_ok) {                                        \
      const napi_extended_error_info *info__ = NULL;                  \
      napi_get_last_error_info(env, &info__);                         \
      bool pending__ = false;                                         \
      napi_is_exception_pending(env, &pending__);                     \
      if (!pending__)                                                 \
        napi_throw_error(env, NULL,                                   \
                         info__ && info__->error_message              \
                             ? info__->error_message                  \
                             : "afpacket: N-API call failed");        \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what, const char *ifname, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "afpacket: %s(%s): %s", what, ifname, strerror(err));
  napi_value code, message, error;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  const char *cname = err == ENODEV ? "ENODEV" : err == EPERM ? "EPERM" : err == EACCES ? "EACCES" : "EAFPACKET";
  napi_create_string_utf8(env, cname, NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, message, &error);
  napi_value errnum;
  napi_create_int32(env, err, &errnum);
  napi_set_named_property(env, error, "errno", errnum);
  napi_throw(env, error);
  return NULL;
}

static void on_poll_closed(uv_handle_t *h) { free(h); }

/* Adds the kernel's counters since the last read (reading resets them) to the totals; errno on failure. */
static int collect_kernel_stats(sock_t *s) {
  if (s->fd < 0) return EBADF;
  struct tpacket_stats ks;
  socklen_t kl = sizeof ks;
  if (getsockopt(s->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &kl) < 0) return errno;
  /* tp_packets already includes tp_drops (af_packet.c adds them before copying out). */
  s->kernel_packets += ks.tp_packets;
  s->kernel_drops += ks.tp_drops;
  return 0;
}

/* Counts one frame the kernel would not take, by its errno. */
static void count_tx_failure(sock_t *s, int err) {
  s->last_tx_errno = err;
  if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS)
    s->tx_no_buffer++; /* send buffer or device queue full: a lost frame, like on a real NIC */
  else if (err == ENETDOWN || err == ENXIO)
    s->tx_link_down++;
  else
    s->tx_errors++; /* e.g. EMSGSIZE (frame over the MTU) */
}

/* Takes the socket off its loop's list of sockets with queued frames. */
static void tx_unlist(sock_t *s) {
  if (!s->tx_listed) return;
  for (sock_t **p = &s->flusher->queued; *p; p = &(*p)->tx_next)
    if (*p == s) {
      *p = s->tx_next;
      break;
    }
  s->tx_next = NULL;
  s->tx_listed = 0;
  if (!s->flusher->queued) uv_idle_stop(&s->flusher->idle);
}

/*
 * Hands the queued frames to the kernel: sendmmsg(2) until each frame is
 * sent or has failed. sendmmsg stops at the first frame the kernel refuses
 * and returns how many went before it; the call is repeated from there, and
 * a frame that fails as the first of a call is counted as lost by its errno.
 * Every queued frame counts once in txFrames, txNoBuffer, txLinkDown or txErrors.
 */
static void tx_flush(sock_t *s) {
  uint32_t i = 0, n = s->tx_count;
  while (i < n && s->fd >= 0) {
    int r = sendmmsg(s->fd, s->tx_msgs + i, n - i, MSG_DONTWAIT);
    s->tx_batches++;
    if (r > 0) {
      for (uint32_t k = i; k < i + (uint32_t)r; k++) {
        s->tx_frames++;
        s->tx_bytes += s->tx_iov[k].iov_len;
      }
      i += (uint32_t)r;
    } else if (errno != EINTR) {
      count_tx_failure(s, errno);
      i++;
    }
  }
  /* A socket closed with frames queued: they were not sent. */
  for (; i < n; i++) count_tx_failure(s, ENETDOWN);
  s->tx_count = 0;
  s->tx_used = 0;
  tx_unlist(s);
}

static void on_idle(uv_idle_t *handle) { (void)handle; }

/* Runs once per loop iteration, after I/O callbacks: everything queued goes out before the loop waits again. */
static void on_flush(uv_check_t *handle) {
  flusher_t *f = (flusher_t *)handle->data;
  while (f->queued) tx_flush(f->queued);
}

/* Queues a copy of the frame; sends the queue first when it has no room. */
static void tx_queue(sock_t *s, const void *data, size_t len) {
  if (s->tx_count == TX_BATCH || s->tx_used + len > TX_ARENA) tx_flush(s);
  uint8_t *dst = s->tx_arena + s->tx_used;
  memcpy(dst, data, len);
  struct iovec *iov = &s->tx_iov[s->tx_count];
  iov->iov_base = dst;
  iov->iov_len = len;
  struct mmsghdr *m = &s->tx_msgs[s->tx_count];
  memset(m, 0, sizeof *m);
  m->msg_hdr.msg_iov = iov;
  m->msg_hdr.msg_iovlen = 1;
  s->tx_used += (len + 15) & ~(size_t)15;
  s->tx_count++;
  if (!s->tx_listed) {
    s->tx_next = s->flusher->queued;
    s->flusher->queued = s;
    s->tx_listed = 1;
    uv_idle_start(&s->flusher->idle, on_idle);
  }
}

/* Stops watching and closes the sockets (keeping the counters); JS references are released by the finalizer. */
static void sock_shutdown(sock_t *s) {
  if (s->fd >= 0) {
    if (s->tx_count) tx_flush(s);
    collect_kernel_stats(s);
  }
  tx_unlist(s);
  if (s->poll) {
    uv_poll_stop(s->poll);
    uv_close((uv_handle_t *)s->poll, on_poll_closed);
    s->poll = NULL;
  }
  if (s->fd >= 0) {
    close(s->fd);
    s->fd = -1;
  }
  if (s->ring) {
    munmap(s->ring, s->ring_len);
    s->ring = NULL;
  }
  if (s->nl_poll) {
    uv_poll_stop(s->nl_poll);
    uv_close((uv_handle_t *)s->nl_poll, on_poll_closed);
    s->nl_poll = NULL;
  }
  if (s->nl_fd >= 0) {
    close(s->nl_fd);
    s->nl_fd = -1;
  }
}

/* Calls a JS function held by ref from the event loop (not inside a JS call). */
static void call_js(sock_t *s, napi_ref ref, size_t argc, napi_value *argv) {
  napi_env env = s->env;
  napi_value fn, recv, result;
  if (!ref || napi_get_reference_value(env, ref, &fn) != napi_ok || fn == NULL) return;
  napi_get_global(env, &recv); /* napi_make_callback needs an object as receiver */
  napi_make_callback(env, s->async_ctx, recv, fn, argc, argv, &result);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc); /* surfaces as process 'uncaughtException' */
  }
}

static void report_error(sock_t *s, const char *what, int err) {
  napi_env env = s->env;
  char msg[256];
  snprintf(msg, sizeof msg, "afpacket: %s(%s): %s", what, s->ifname, strerror(err));
  napi_value message, error, errnum;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &error);
  napi_create_int32(env, err, &errnum);
  napi_set_named_property(env, error, "errno", errnum);
  call_js(s, s->on_error, 1, &error);
}

static struct tpacket2_hdr *ring_slot(sock_t *s, uint32_t i) { return (struct tpacket2_hdr *)(s->ring + (size_t)i * s->slot_size); }

/* The frame's length as JavaScript gets it: a tag the kernel moved into the slot's header is put back (4 more bytes). */
static uint32_t slot_frame_len(const struct tpacket2_hdr *h, uint32_t status) {
  return h->tp_snaplen + ((status & TP_STATUS_VLAN_VALID) && h->tp_snaplen >= 12 ? 4 : 0);
}

/* Copies the slot's frame to dst as it was on the wire (802.1Q tag reinserted after the MACs). */
static void copy_slot_frame(const struct tpacket2_hdr *h, uint32_t status, uint8_t *dst) {
  const uint8_t *src = (const uint8_t *)h + h->tp_mac;
  uint32_t len = h->tp_snaplen;
  if (!((status & TP_STATUS_VLAN_VALID) && len >= 12)) {
    memcpy(dst, src, len);
    return;
  }
  uint16_t tpid = (status & TP_STATUS_VLAN_TPID_VALID) ? h->tp_vlan_tpid : ETH_P_8021Q;
  memcpy(dst, src, 12); /* destination and source MAC */
  dst[12] = tpid >> 8;
  dst[13] = tpid & 0xff;
  dst[14] = h->tp_vlan_tci >> 8;
  dst[15] = h->tp_vlan_tci & 0xff;
  memcpy(dst + 16, src + 12, len - 12);
}

static double clock_us(clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/*
 * Takes up to RX_BATCH frames from the ring into one Buffer (frames back to
 * back), a Uint32Array of their end offsets and a Float64Array of their
 * arrival times, and gives the slots back to the kernel. Returns the number
 * of frames; 0 when the ring is empty, -1 when JavaScript values could not
 * be made.
 *
 * Arrival: the kernel stamps each slot (tp_sec, tp_nsec) when it fills it,
 * on the real-time clock; JavaScript gets it on the monotonic clock (that
 * of process.hrtime), in microseconds, by the two clocks' offset read once
 * per batch, and never later than the batch was taken.
 */
static int take_batch(sock_t *s, napi_value *data_out, napi_value *ends_out, napi_value *arrivals_out) {
  napi_env env = s->env;
  uint32_t count = 0;
  size_t bytes = 0;
  for (uint32_t i = s->head; count < RX_BATCH; i = (i + 1) % s->slots) {
    struct tpacket2_hdr *h = ring_slot(s, i);
    uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
    if (!(status & TP_STATUS_USER)) break;
    bytes += slot_frame_len(h, status);
    count++;
  }
  if (count == 0) return 0;
  void *data, *ends_data;
  napi_value ab;
  if (napi_create_buffer(env, bytes, &data, data_out) != napi_ok) return -1;
  if (napi_create_arraybuffer(env, count * sizeof(uint32_t), &ends_data, &ab) != napi_ok) return -1;
  if (napi_create_typedarray(env, napi_uint32_array, count, ab, 0, ends_out) != napi_ok) return -1;
  void *arrivals_data;
  if (napi_create_arraybuffer(env, count * sizeof(double), &arrivals_data, &ab) != napi_ok) return -1;
  if (napi_create_typedarray(env, napi_float64_array, count, ab, 0, arrivals_out) != napi_ok) return -1;
  uint32_t *ends = (uint32_t *)ends_data;
  double *arrivals = (double *)arrivals_data;
  double mono_now = clock_us(CLOCK_MONOTONIC);
  double real_to_mono = mono_now - clock_us(CLOCK_REALTIME);
  uint8_t *dst = (uint8_t *)data;
  size_t at = 0;
  for (uint32_t k = 0; k < count; k++) {
    struct tpacket2_hdr *h = ring_slot(s, s->head);
    uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
    uint32_t len = slot_frame_len(h, status);
    copy_slot_frame(h, status, dst + at);
    if (h->tp_snaplen < h->tp_len) s->rx_truncated++;
    at += len;
    ends[k] = (uint32_t)at;
    double arrived = (double)h->tp_sec * 1e6 + (double)h->tp_nsec / 1e3 + real_to_mono;
    arrivals[k] = arrived < mono_now ? arrived : mono_now;
    s->rx_frames++;
    s->rx_bytes += len;
    __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    s->head = (s->head + 1) % s->slots;
  }
  return (int)count;
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  sock_t *s = (sock_t *)handle->data;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (status < 0) {
    /*
     * libuv reports POLLERR as UV_EBADF and stops the watcher. The kernel
     * raises it on a packet socket when the link goes down (ENETDOWN), which
     * Mininet does to cut a link: clear the error and keep going while the
     * interface exists. Gone interface, or an error that keeps coming: stop.
     */
    int err = 0;
    socklen_t el = sizeof err;
    if (s->fd < 0 || getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) err = EBADF;
    char name[IF_NAMESIZE];
    int transient = (err == 0 || err == ENETDOWN || err == ENOBUFS) && if_indextoname((unsigned)s->ifindex, name) != NULL;
    if (transient && ++s->consecutive_errors < 1000 && uv_poll_start(s->poll, UV_READABLE, on_readable) == 0) {
      events = UV_READABLE;
    } else {
      if (err == 0 || transient) err = ENODEV;
      sock_shutdown(s);
      report_error(s, "poll", err);
      napi_close_handle_scope(env, scope);
      return;
    }
  }
  if (events & UV_READABLE) {
    s->rx_wakeups++;
    uint32_t total = 0;
    /* Drain: batches of RX_BATCH until the ring is empty (or RX_WAKEUP frames; the poll fires again for the rest). */
    while (total < RX_WAKEUP && s->fd >= 0) {
      napi_handle_scope batch_scope;
      if (napi_open_handle_scope(env, &batch_scope) != napi_ok) break;
      napi_value argv[3];
      int n = take_batch(s, &argv[0], &argv[1], &argv[2]);
      /* JavaScript may close the socket from the callback: the loop condition checks s->fd. */
      if (n > 0) call_js(s, s->on_frames, 3, argv);
      napi_close_handle_scope(env, batch_scope);
      if (n <= 0) {
        if (n < 0 && s->fd >= 0) {
          sock_shutdown(s);
          report_error(s, "receive", ENOMEM);
        }
        break;
      }
      s->consecutive_errors = 0;
      total += (uint32_t)n;
    }
  }
  napi_close_handle_scope(env, scope);
}

static int flags_up(unsigned flags) { return (flags & IFF_UP) && (flags & IFF_RUNNING); }

/* The link's state now (1 up, 0 down), through the packet socket (so in its namespace); -errno on failure. */
static int query_link(sock_t *s) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, s->ifname, strlen(s->ifname) + 1);
  if (ioctl(s->fd, SIOCGIFFLAGS, &ifr) < 0) return -errno;
  return flags_up((unsigned short)ifr.ifr_flags);
}

/* A NETLINK_ROUTE socket subscribed to link events, in the calling thread's namespace; -errno on failure. */
static int open_link_events(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_LINK;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

/* Sets the link state; calls JavaScript when it changed. */
static void set_link(sock_t *s, int up) {
  if (up == s->link_up) return;
  s->link_up = up;
  napi_value arg;
  napi_get_boolean(s->env, up != 0, &arg);
  call_js(s, s->on_link, 1, &arg);
}

/* Link events: the last RTM_NEWLINK/RTM_DELLINK of our interface in the queue decides. */
static void on_link_event(uv_poll_t *handle, int status, int events) {
  (void)events;
  sock_t *s = (sock_t *)handle->data;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  /* After an overrun, what is queued may be older than what was lost: the state is read again at the end. */
  int resync = 0;
  if (status < 0) {
    /* POLLERR (libuv stops the watcher): the queue overran. Clear the error and keep watching. */
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(s->nl_fd, SOL_SOCKET, SO_ERROR, &err, &el);
    resync = 1;
    uv_poll_start(s->nl_poll, UV_READABLE, on_link_event);
  }
  int up = s->link_up;
  static _Alignas(struct nlmsghdr) char buf[NL_BUF];
  for (;;) {
    ssize_t n = recv(s->nl_fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        resync = 1;
        continue;
      }
      break; /* EAGAIN: drained */
    }
    int len = (int)n;
    for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
      if (nh->nlmsg_type != RTM_NEWLINK && nh->nlmsg_type != RTM_DELLINK) continue;
      if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg))) continue;
      struct ifinfomsg *ifi = (struct ifinfomsg *)NLMSG_DATA(nh);
      if (ifi->ifi_index != s->ifindex) continue;
      up = nh->nlmsg_type == RTM_NEWLINK && flags_up(ifi->ifi_flags);
    }
  }
  if (resync && s->fd >= 0) {
    int q = query_link(s);
    if (q >= 0) up = q;
  }
  set_link(s, up);
  napi_close_handle_scope(env, scope);
}

/* Frees the socket's memory (after sock_shutdown). */
static void sock_free(sock_t *s) {
  if (!s) return;
  free(s->tx_arena);
  free(s->tx_msgs);
  free(s->tx_iov);
  free(s);
}

static void on_flusher_closed(uv_handle_t *h) {
  flusher_t *f = (flusher_t *)h->data;
  /* Both handles point to f; the second to close frees it. */
  if (h == (uv_handle_t *)&f->idle) free(f);
}

static void flusher_finalize(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  flusher_t *f = (flusher_t *)data;
  uv_close((uv_handle_t *)&f->check, on_flusher_closed);
  uv_close((uv_handle_t *)&f->idle, on_flusher_closed);
}

/* The loop's flusher, made on first use: neither handle keeps the process alive. */
static flusher_t *get_flusher(napi_env env) {
  flusher_t *f = NULL;
  if (napi_get_instance_data(env, (void **)&f) == napi_ok && f) return f;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;
  f = calloc(1, sizeof *f);
  if (!f) return NULL;
  uv_check_init(loop, &f->check);
  uv_idle_init(loop, &f->idle);
  f->check.data = f;
  f->idle.data = f;
  uv_check_start(&f->check, on_flush);
  uv_unref((uv_handle_t *)&f->check);
  uv_unref((uv_handle_t *)&f->idle);
  if (napi_set_instance_data(env, f, flusher_finalize, NULL) != napi_ok) {
    flusher_finalize(env, f, NULL);
    return NULL;
  }
  return f;
}

static void sock_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  sock_t *s = (sock_t *)data;
  sock_shutdown(s);
  if (s->on_frames) napi_delete_reference(env, s->on_frames);
  if (s->on_error) napi_delete_reference(env, s->on_error);
  if (s->on_link) napi_delete_reference(env, s->on_link);
  if (s->async_ctx) napi_async_destroy(env, s->async_ctx);
  sock_free(s);
}

static sock_t *unwrap(napi_env env, napi_value self) {
  sock_t *s = NULL;
  if (napi_unwrap(env, self, (void **)&s) != napi_ok) return NULL;
  return s;
}

/* A mapped receive ring. */
typedef struct {
  uint8_t *mem;
  size_t len;
  uint32_t slot_size, slots;
} ring_t;

/*
 * Sets up the receive ring: TPACKET_V2 slots big enough for a frame of the
 * interface's MTU (with Ethernet header, a VLAN tag and the slot header),
 * at least RING_MIN_SLOT bytes, a power of two; RING_BYTES in all. 0 or errno.
 */
static int setup_ring(int fd, const char *ifname, ring_t *ring, const char **what) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
  *what = "ioctl(SIOCGIFMTU)";
  if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) return errno;
  uint32_t need = RING_HEADROOM + 18 + (uint32_t)(ifr.ifr_mtu > 0 ? ifr.ifr_mtu : 1500);
  uint32_t slot = RING_MIN_SLOT;
  while (slot < need && slot < RING_BLOCK) slot <<= 1;
  int version = TPACKET_V2;
  *what = "setsockopt(PACKET_VERSION)";
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) < 0) return errno;
  struct tpacket_req req = {
      .tp_block_size = RING_BLOCK,
      .tp_block_nr = RING_BYTES / RING_BLOCK,
      .tp_frame_size = slot,
      .tp_frame_nr = (RING_BYTES / RING_BLOCK) * (RING_BLOCK / slot),
  };
  *what = "setsockopt(PACKET_RX_RING)";
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) return errno;
  size_t len = (size_t)req.tp_block_size * req.tp_block_nr;
  *what = "mmap(receive ring)";
  void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mem == MAP_FAILED) return errno;
  ring->mem = mem;
  ring->len = len;
  ring->slot_size = slot;
  ring->slots = req.tp_frame_nr;
  return 0;
}

/* Opens and binds the socket of `ifname` in the calling thread's namespace, with its receive ring; -errno on failure, *what names the step. */
static int open_bound(const char *ifname, unsigned *ifindex_out, const char **what, ring_t *ring) {
  unsigned ifindex = if_nametoindex(ifname);
  if (ifindex == 0) {
    *what = "if_nametoindex";
    return -errno;
  }
  /* Protocol 0: receive nothing until bound to the interface below. */
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *what = "socket";
    return -errno;
  }
  int one = 1;
  /* Generous buffers: a switch process the scheduler leaves waiting should find its frames queued, not dropped. */
  int sz = RCVBUF_BYTES;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz) < 0) {
    *what = "setsockopt(SO_RCVBUF)";
    goto fail;
  }
  sz = SNDBUF_BYTES;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz) < 0) {
    *what = "setsockopt(SO_SNDBUF)";
    goto fail;
  }
  /* Linux >= 4.20; older kernels: our own transmissions come back, which a switch must not see. */
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) {
    *what = "setsockopt(PACKET_IGNORE_OUTGOING)";
    goto fail;
  }
  /* The ring before the bind: protocol 0 receives nothing until then. */
  int rerr = setup_ring(fd, ifname, ring, what);
  if (rerr) {
    errno = rerr;
    goto fail;
  }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = (int)ifindex;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    *what = "bind";
    goto fail;
  }
  struct packet_mreq mr;
  memset(&mr, 0, sizeof mr);
  mr.mr_ifindex = (int)ifindex;
  mr.mr_type = PACKET_MR_PROMISC;
  if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) {
    *what = "setsockopt(PACKET_MR_PROMISC)";
    goto fail;
  }
  *ifindex_out = ifindex;
  return fd;
fail:;
  int e = errno;
  if (ring->mem) munmap(ring->mem, ring->len);
  ring->mem = NULL;
  close(fd);
  return -e;
}

/* new AfPacketSocket(ifname, onFrames, onError?, netnsPath?, onLink?) */
static napi_value sock_new(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "AfPacketSocket(ifname, onFrames[, onError])");
    return NULL;
  }
  char ifname[IF_NAMESIZE + 1];
  size_t len = 0;
  napi_valuetype t;
  CHECK(napi_typeof(env, argv[0], &t));
  if (t != napi_string) {
    napi_throw_type_error(env, NULL, "afpacket: interface name must be a string");
    return NULL;
  }
  CHECK(napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &len));
  if (len == 0 || len >= IF_NAMESIZE) {
    napi_throw_range_error(env, NULL, "afpacket: interface name must have 1 to 15 characters");
    return NULL;
  }
  CHECK(napi_typeof(env, argv[1], &t));
  if (t != napi_function) {
    napi_throw_type_error(env, NULL, "afpacket: onFrames must be a function");
    return NULL;
  }
  napi_valuetype te = napi_undefined;
  if (argc >= 3) CHECK(napi_typeof(env, argv[2], &te));

  char netns[4096] = "";
  if (argc >= 4) {
    napi_valuetype tn;
    CHECK(napi_typeof(env, argv[3], &tn));
    if (tn == napi_string) {
      size_t nlen = 0;
      CHECK(napi_get_value_string_utf8(env, argv[3], netns, sizeof netns, &nlen));
      if (nlen == 0 || nlen >= sizeof netns - 1) {
        napi_throw_range_error(env, NULL, "afpacket: network namespace path must have 1 to 4094 characters");
        return NULL;
      }
    } else if (tn != napi_undefined && tn != napi_null) {
      napi_throw_type_error(env, NULL, "afpacket: network namespace must be a path (string)");
      return NULL;
    }
  }

  napi_valuetype tl = napi_undefined;
  if (argc >= 5) CHECK(napi_typeof(env, argv[4], &tl));
  if (tl != napi_function && tl != napi_undefined && tl != napi_null) {
    napi_throw_type_error(env, NULL, "afpacket: onLink must be a function");
    return NULL;
  }
  int watch_link = tl == napi_function;

  unsigned ifindex = 0;
  ring_t ring = {0};
  const char *what = "socket";
  int fd, nl_fd = -1;
  if (netns[0]) {
    /* Enter the namespace on this thread, open there, come back. */
    int self_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self_ns < 0) return throw_errno(env, "open(/proc/thread-self/ns/net)", ifname, errno);
    int target = open(netns, O_RDONLY | O_CLOEXEC);
    if (target < 0) {
      int e = errno;
      close(self_ns);
      return throw_errno(env, "open(network namespace)", netns, e);
    }
    if (setns(target, CLONE_NEWNET) < 0) {
      int e = errno;
      close(target), close(self_ns);
      return throw_errno(env, "setns(network namespace)", netns, e);
    }
    close(target);
    fd = open_bound(ifname, &ifindex, &what, &ring);
    if (fd >= 0 && watch_link) nl_fd = open_link_events();
    if (setns(self_ns, CLONE_NEWNET) < 0) {
      /* Cannot happen for a namespace we came from; if it does, this thread is in the wrong place for good. */
      fprintf(stderr, "afpacket: cannot return to the original network namespace: %s\n", strerror(errno));
      abort();
    }
    close(self_ns);
  } else {
    fd = open_bound(ifname, &ifindex, &what, &ring);
    if (fd >= 0 && watch_link) nl_fd = open_link_events();
  }
  if (fd < 0) return throw_errno(env, what, ifname, -fd == ENXIO ? ENODEV : -fd);
  if (nl_fd < 0 && watch_link) {
    close(fd);
    return throw_errno(env, "netlink socket", ifname, -nl_fd);
  }

  sock_t *s = calloc(1, sizeof *s);
  uv_poll_t *poll = malloc(sizeof *poll);
  uv_poll_t *nl_poll = watch_link ? malloc(sizeof *nl_poll) : NULL;
  flusher_t *flusher = get_flusher(env);
  if (s) {
    s->tx_arena = malloc(TX_ARENA);
    s->tx_msgs = calloc(TX_BATCH, sizeof *s->tx_msgs);
    s->tx_iov = calloc(TX_BATCH, sizeof *s->tx_iov);
  }
  if (!s || !s->tx_arena || !s->tx_msgs || !s->tx_iov || !poll || (watch_link && !nl_poll) || !flusher) {
    sock_free(s), free(poll), free(nl_poll), close(fd);
    munmap(ring.mem, ring.len);
    if (nl_fd >= 0) close(nl_fd);
    napi_throw_error(env, NULL, "afpacket: out of memory");
    return NULL;
  }
  s->fd = fd;
  s->nl_fd = -1;
  s->link_up = -1;
  s->ifindex = (int)ifindex;
  memcpy(s->ifname, ifname, len + 1);
  s->env = env;
  s->flusher = flusher;
  s->ring = ring.mem; /* unmapped by sock_shutdown from here on */
  s->ring_len = ring.len;
  s->slot_size = ring.slot_size;
  s->slots = ring.slots;
  socklen_t bl = sizeof s->rcvbuf;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &s->rcvbuf, &bl) < 0) s->rcvbuf = -1;
  bl = sizeof s->sndbuf;
  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &s->sndbuf, &bl) < 0) s->sndbuf = -1;

  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init_socket(loop, poll, fd) != 0) {
    free(poll), free(nl_poll);
    sock_shutdown(s);
    sock_free(s);
    if (nl_fd >= 0) close(nl_fd);
    napi_throw_error(env, NULL, "afpacket: cannot watch the socket on the event loop");
    return NULL;
  }
  poll->data = s;
  s->poll = poll;
  if (watch_link) {
    s->nl_fd = nl_fd; /* closed by sock_shutdown from here on */
    if (uv_poll_init_socket(loop, nl_poll, nl_fd) != 0) {
      free(nl_poll);
      sock_shutdown(s);
      sock_free(s);
      napi_throw_error(env, NULL, "afpacket: cannot watch the link on the event loop");
      return NULL;
    }
    nl_poll->data = s;
    s->nl_poll = nl_poll;
    /* Subscribed first, read second: a change in between is in the queue. */
    int q = query_link(s);
    if (q < 0) {
      sock_shutdown(s);
      sock_free(s);
      return throw_errno(env, "ioctl(SIOCGIFFLAGS)", ifname, -q);
    }
    s->link_up = q;
  }

  napi_status st = napi_wrap(env, self, s, sock_finalize, NULL, NULL);
  if (st != napi_ok) {
    sock_shutdown(s);
    sock_free(s);
    napi_throw_error(env, NULL, "afpacket: napi_wrap failed");
    return NULL;
  }
  CHECK(napi_create_reference(env, argv[1], 1, &s->on_frames));
  if (te == napi_function) CHECK(napi_create_reference(env, argv[2], 1, &s->on_error));
  if (watch_link) CHECK(napi_create_reference(env, argv[4], 1, &s->on_link));
  napi_value resource_name;
  CHECK(napi_create_string_utf8(env, "AfPacketSocket", NAPI_AUTO_LENGTH, &resource_name));
  CHECK(napi_async_init(env, self, resource_name, &s->async_ctx));
  int r = uv_poll_start(poll, UV_READABLE, on_readable);
  if (r == 0 && s->nl_poll) r = uv_poll_start(s->nl_poll, UV_READABLE, on_link_event);
  if (r != 0) {
    sock_shutdown(s);
    napi_throw_error(env, NULL, "afpacket: uv_poll_start failed");
    return NULL;
  }
  return self;
}

/* send(frame: Uint8Array): boolean (false: longer than 64 KiB, counted in txErrors) */
static napi_value sock_send(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self, result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  sock_t *s = unwrap(env, self);
  if (!s) {
    napi_throw_error(env, NULL, "afpacket: not a socket");
    return NULL;
  }
  if (s->fd < 0) {
    napi_throw_error(env, "ERR_SOCKET_CLOSED", "afpacket: send on a closed socket");
    return NULL;
  }
  void *data = NULL;
  size_t len = 0;
  bool is_typed = false;
  if (argc >= 1) CHECK(napi_is_typedarray(env, argv[0], &is_typed));
  if (!is_typed) {
    napi_throw_type_error(env, NULL, "afpacket: send wants a Uint8Array");
    return NULL;
  }
  napi_typedarray_type tt;
  size_t elems = 0, offset = 0;
  napi_value ab;
  CHECK(napi_get_typedarray_info(env, argv[0], &tt, &elems, &data, &ab, &offset));
  if (tt != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "afpacket: send wants a Uint8Array");
    return NULL;
  }
  len = elems;
  /* Queued, sent before the event loop next waits (or sooner when the queue fills); counted when the kernel answers. */
  bool ok = len <= TX_MAX_FRAME;
  if (ok)
    tx_queue(s, data, len);
  else
    count_tx_failure(s, EMSGSIZE);
  CHECK(napi_get_boolean(env, ok, &result));
  return result;
}

static napi_value sock_close(napi_env env, napi_callback_info info) {
  napi_value self, undef;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  sock_t *s = unwrap(env, self);
  if (s) sock_shutdown(s);
  CHECK(napi_get_undefined(env, &undef));
  return undef;
}

static void set_num(napi_env env, napi_value obj, const char *name, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, obj, name, n);
}

/*
 * stats(): totals since the socket opened. kernelPackets: frames the kernel
 * offered to the socket; kernelDrops: of those, dropped for a full receive
 * queue (PACKET_STATISTICS, read and accumulated here). After close(): the
 * totals at close.
 */
static napi_value sock_stats(napi_env env, napi_callback_info info) {
  napi_value self, obj;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  sock_t *s = unwrap(env, self);
  if (!s) {
    napi_throw_error(env, NULL, "afpacket: not a socket");
    return NULL;
  }
  /* Queued frames first, so that every send() so far is counted. */
  if (s->fd >= 0 && s->tx_count) tx_flush(s);
  CHECK(napi_create_object(env, &obj));
  set_num(env, obj, "rxFrames", (double)s->rx_frames);
  set_num(env, obj, "rxBytes", (double)s->rx_bytes);
  set_num(env, obj, "rxTruncated", (double)s->rx_truncated);
  set_num(env, obj, "txFrames", (double)s->tx_frames);
  set_num(env, obj, "txBytes", (double)s->tx_bytes);
  set_num(env, obj, "txDropped", (double)(s->tx_no_buffer + s->tx_link_down));
  set_num(env, obj, "txNoBuffer", (double)s->tx_no_buffer);
  set_num(env, obj, "txLinkDown", (double)s->tx_link_down);
  set_num(env, obj, "txErrors", (double)s->tx_errors);
  set_num(env, obj, "lastTxErrno", (double)s->last_tx_errno);
  /* A failed read leaves the totals as they were and says so (0: read now, or the socket is closed). */
  set_num(env, obj, "kernelStatsErrno", s->fd >= 0 ? collect_kernel_stats(s) : 0);
  set_num(env, obj, "kernelPackets", (double)s->kernel_packets);
  set_num(env, obj, "kernelDrops", (double)s->kernel_drops);
  set_num(env, obj, "rxWakeups", (double)s->rx_wakeups);
  set_num(env, obj, "txBatches", (double)s->tx_batches);
  set_num(env, obj, "ringSlots", (double)s->slots);
  set_num(env, obj, "ringSlotBytes", (double)s->slot_size);
  set_num(env, obj, "rcvbuf", (double)s->rcvbuf);
  set_num(env, obj, "sndbuf", (double)s->sndbuf);
  return obj;
}

static napi_value sock_get_fd(napi_env env, napi_callback_info info) {
  napi_value self, v;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  sock_t *s = unwrap(env, self);
  CHECK(napi_create_int32(env, s ? s->fd : -1, &v));
  return v;
}

static napi_value sock_get_ifindex(napi_env env, napi_callback_info info) {
  napi_value self, v;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  sock_t *s = unwrap(env, self);
  CHECK(napi_create_int32(env, s ? s->ifindex : 0, &v));
  return v;
}

/* linkUp: true or false while the link is watched, undefined otherwise (or once closed). */
static napi_value sock_get_link_up(napi_env env, napi_callback_info info) {
  napi_value self, v;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  sock_t *s = unwrap(env, self);
  if (!s || s->link_up < 0 || s->nl_fd < 0) {
    CHECK(napi_get_undefined(env, &v));
    return v;
  }
  CHECK(napi_get_boolean(env, s->link_up != 0, &v));
  return v;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"send", NULL, sock_send, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, sock_close, NULL, NULL, NULL, napi_default_method, NULL},
      {"stats", NULL, sock_stats, NULL, NULL, NULL, napi_default_method, NULL},
      {"fd", NULL, NULL, sock_get_fd, NULL, NULL, napi_default, NULL},
      {"ifindex", NULL, NULL, sock_get_ifindex, NULL, NULL, napi_default, NULL},
      {"linkUp", NULL, NULL, sock_get_link_up, NULL, NULL, napi_default, NULL},
  };
  napi_value cls;
  CHECK(napi_define_class(env, "AfPacketSocket", NAPI_AUTO_LENGTH, sock_new, NULL, sizeof props / sizeof props[0], props, &cls));
  CHECK(napi_set_named_property(env, exports, "AfPacketSocket", cls));
  napi_value ver;
  CHECK(napi_create_uint32(env, ABI_VERSION, &ver));
  CHECK(napi_set_named_property(env, exports, "abiVersion", ver));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
