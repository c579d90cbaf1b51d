#!/usr/bin/python3
"""
p4cast_net: the topology file's network in Mininet, on P4 switches.

    python3 mininet/p4cast_net.py --topology examples/line3.yaml --switch bmv2|embedded [--cli]
    python3 mininet/p4cast_net.py --topology examples/line3.yaml --switch embedded -- <command> [args...]
    python3 mininet/p4cast_net.py --cleanup [--topology examples/line3.yaml]

Reads the same YAML/JSON topology file as the controller, through the
controller: `p4cast topology resolve` (node dist/cli/main.js) validates it
and prints every name and address it leaves implicit, and this launcher
builds exactly that: one Mininet host per host
(its MAC, IPv4/IPv6 addresses, default routes via its gateway, permanent
neighbor entries so nothing needs ARP/NDP), one switch process per switch
(simple_switch_grpc, or the embedded TypeScript switch on raw sockets) and
one veth pair per host attachment and per link, with the switch side named
<switch>-eth<port> after the file's port numbers (docs/mininet.md lists the
conventions). One network per machine at a time: its state lives in
--workdir, and --cleanup removes whatever a crashed run left (processes,
veths, netns names).

Mininet needs root and Debian's python3 with its mininet package; the
controller's CLI needs `npm run build`.
"""

import argparse
import ipaddress
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_WORKDIR = '/tmp/p4cast-mininet'
NETNS_PREFIX = 'p4cast-'
HOST_INTF = 'eth0'
CORE_MTU = 9000  # switch-to-switch links; host links keep 1500


def _import_mininet():
    """Imports Mininet; under a python3 without it (pyenv, venv) re-runs this script with /usr/bin/python3."""
    try:
        import mininet.net  # noqa: F401
        os.environ.pop('P4CAST_NET_REEXEC', None)  # not inherited by the commands we run
    except ImportError as e:
        system = '/usr/bin/python3'
        if __name__ == '__main__' and os.environ.get('P4CAST_NET_REEXEC') != '1' and os.path.exists(system) and os.path.realpath(sys.executable) != os.path.realpath(system):
            os.environ['P4CAST_NET_REEXEC'] = '1'
            os.execv(system, [system, os.path.abspath(__file__)] + sys.argv[1:])
        if __name__ != '__main__':
            raise
        sys.exit('p4cast-net: %s; install Debian\'s mininet (apt-get install -y --no-install-recommends mininet)' % e)


def say(msg):
    print('p4cast-net: %s' % msg, flush=True)


class TopologyError(Exception):
    pass


# --- The topology file, as the controller reads it ------------------------------
#
# The controller validates the file and derives everything it leaves
# implicit (port MACs, gateways, interface names): `p4cast topology resolve`
# prints that as JSON (src/controller/topology/addressing.ts), and this
# launcher builds exactly that. Only what Linux adds is checked here:
# interface names of at most 15 characters.


def node_cli():
    """The controller's command line: node dist/cli/main.js (built by npm run build)."""
    main_js = os.path.join(REPO, 'dist', 'cli', 'main.js')
    if not os.path.exists(main_js):
        raise TopologyError('%s is missing: build the TypeScript first (npm run build, or make build)' % main_js)
    return [shutil.which('node') or 'node', main_js]


def resolve_topology(path):
    """The topology file validated and resolved by the controller's own code."""
    r = subprocess.run(node_cli() + ['topology', 'resolve', os.path.abspath(path), '--output', 'json'],
                       capture_output=True, text=True, cwd=REPO)
    if r.returncode != 0:
        raise TopologyError((r.stderr or r.stdout).strip().replace('p4cast: error: ', '', 1))
    resolved = json.loads(r.stdout)
    problems = []
    for s in resolved['switches']:
        for p in s['ports']:
            if len(p['interface']) > 15:
                problems.append('switch %s port %d: interface name %s is longer than Linux allows (15); use a shorter switch name'
                                % (s['name'], p['port'], p['interface']))
    for h in resolved['hosts']:
        if len(host_intf(h['name'])) > 15:
            problems.append('host %s: its interface name %s is longer than Linux allows (15); use a name of at most %d characters'
                            % (h['name'], host_intf(h['name']), 14 - len(HOST_INTF)))
    if problems:
        raise TopologyError('%s:\n  %s' % (path, '\n  '.join(problems)))
    return resolved


def host_intf(name):
    return '%s-%s' % (name, HOST_INTF)


def plan(resolved):
    """What this launcher builds, from the resolved topology: switches with their ports, hosts with gateways, links."""
    intf = {(s['name'], p['port']): p for s in resolved['switches'] for p in s['ports']}
    hosts = [{
        'name': h['name'], 'mac': h['mac'].lower(), 'ipv4': h.get('ipv4'), 'ipv6': h.get('ipv6'),
        'intf': host_intf(h['name']), 'netns': NETNS_PREFIX + h['name'],
        'switch': h['switch'], 'port': h['port'], 'switchIntf': h['interface'],
        'gatewayMac': h['gatewayMac'], 'gatewayV4': h.get('gatewayV4'), 'gatewayV6': h.get('gatewayV6'),
    } for h in resolved['hosts']]
    links = [({'switch': l['a']['switch'], 'port': l['a']['port'], 'intf': intf[(l['a']['switch'], l['a']['port'])]['interface'],
               'mac': intf[(l['a']['switch'], l['a']['port'])]['mac']},
              {'switch': l['b']['switch'], 'port': l['b']['port'], 'intf': intf[(l['b']['switch'], l['b']['port'])]['interface'],
               'mac': intf[(l['b']['switch'], l['b']['port'])]['mac']}) for l in resolved['links']]
    link_ends = [[{'node': h['name'], 'intf': h['intf'], 'netns': h['netns']}, {'node': h['switch'], 'intf': h['switchIntf'], 'netns': None}]
                 for h in hosts]
    link_ends += [[{'node': e['switch'], 'intf': e['intf'], 'netns': None} for e in l] for l in links]
    return {
        'name': resolved['name'],
        'linkEnds': link_ends,
        'switches': [{
            'name': s['name'], 'deviceId': s['deviceId'], 'grpc': s['grpc'], 'thrift': s.get('thrift'), 'cpuPort': s['cpuPort'],
            'ports': [{'port': p['port'], 'peer': p['peer'], 'intf': p['interface'], 'mac': p['mac']} for p in s['ports']],
        } for s in resolved['switches']],
        'hosts': hosts,
        'links': links,
    }


# --- Processes, ports and files -------------------------------------------------


def split_hostport(addr):
    host, _, port = addr.rpartition(':')
    return host.strip('[]') or '127.0.0.1', int(port)


def port_in_use(addr):
    """True when something listens on host:port (a bind with SO_REUSEADDR fails)."""
    host, port = split_hostport(addr)
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def who_listens(addr):
    _, port = split_hostport(addr)
    try:
        out = subprocess.run(['ss', '-Hltnp', 'sport = :%d' % port], capture_output=True, text=True, timeout=5).stdout.strip()
        return out.split('users:', 1)[1] if 'users:' in out else out
    except (OSError, subprocess.SubprocessError):
        return ''


def accepts(addr, timeout=0.5):
    host, port = split_hostport(addr)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path, n=25):
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-n:])
    except OSError:
        return '(no log)'


try:
    import ctypes
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (ImportError, OSError, AttributeError):
    _prctl = None


def _die_with_parent():
    """In the child, before exec: SIGTERM when the launcher dies, even by SIGKILL (prctl PR_SET_PDEATHSIG = 1).
    Looked up at import time: nothing is imported between fork and exec."""
    if _prctl is not None:
        _prctl(1, signal.SIGTERM)


def cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return [a.decode(errors='replace') for a in f.read().split(b'\0') if a]
    except OSError:
        return None


def kill_and_wait(pid, expect_argv=None, grace=5.0, sig=signal.SIGTERM):
    """Signals pid (if it still runs `expect_argv`), waits up to `grace` seconds, then SIGKILLs."""
    argv = cmdline(pid)
    if argv is None or (expect_argv is not None and argv != expect_argv):
        return False
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return True
    deadline = time.time() + grace
    while time.time() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    deadline = time.time() + 5
    while time.time() < deadline and not _gone(pid):
        time.sleep(0.05)
    return True


def _gone(pid):
    """True when pid no longer runs (reaps it when it is our child)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:
        pass
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except OSError:
        return True


def run(args, check=True):
    r = subprocess.run(args, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError('%s: %s' % (' '.join(args), (r.stderr or r.stdout).strip()))
    return r


def link_exists(name):
    return os.path.exists('/sys/class/net/%s' % name)


OFFLOADS = ['rx', 'off', 'tx', 'off', 'sg', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']


def offloads_off(runner, intf):
    """Checksum and segmentation offloads off: frames on the wire are what the switch sees and sends."""
    r = runner(['ethtool', '-K', intf] + OFFLOADS)
    code = r[2] if isinstance(r, tuple) else r.returncode
    if code not in (0, None) and shutil.which('ethtool') is None:
        raise RuntimeError('ethtool is missing (apt-get install -y ethtool): offloads must be off on %s' % intf)


# --- Mininet nodes ------------------------------------------------------------------

_import_mininet()
from mininet.cli import CLI  # noqa: E402
from mininet.log import setLogLevel  # noqa: E402
from mininet.net import Mininet  # noqa: E402
from mininet.node import Host, Switch  # noqa: E402


class P4Switch(Switch):
    """A P4 switch process on the root namespace's <name>-eth<port> interfaces.
    Subclasses give the command line; this class starts it (log and pcaps in
    its own directory), waits for its gRPC port, and stops it."""

    kind = 'p4'
    program = None
    ready_timeout = 30.0

    def __init__(self, name, spec=None, workdir=None, pipeline=None, pcap=True, log_level='info', **params):
        params.setdefault('dpid', '%x' % (spec['deviceId'] or 1))
        params['inNamespace'] = False
        Switch.__init__(self, name, **params)
        self.spec = spec
        self.dir = os.path.join(workdir, name)
        self.log_path = os.path.join(self.dir, 'switch.log')
        self.pcap_dir = os.path.join(self.dir, 'pcap') if pcap else None
        self.pipeline = pipeline  # (bmv2 json, p4info) or None
        self.log_level = log_level
        self.proc = None
        self.argv = None

    def port_args(self):
        return [(p['port'], p['intf']) for p in self.spec['ports']]

    def command(self):
        raise NotImplementedError

    def start(self, controllers):  # noqa: ARG002 - no OpenFlow controllers
        os.makedirs(self.dir, exist_ok=True)
        if self.pcap_dir:
            os.makedirs(self.pcap_dir, exist_ok=True)
        self.argv = self.command()
        with open(os.path.join(self.dir, 'command.json'), 'w') as f:
            json.dump(self.argv, f)
        log = open(self.log_path, 'ab')
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         cwd=REPO, start_new_session=True, preexec_fn=_die_with_parent)
        finally:
            log.close()

    def wait_ready(self, deadline):
        """Ready = the process lives and its gRPC port accepts connections."""
        while True:
            code = self.proc.poll()
            if code is not None:
                raise RuntimeError('%s (%s) exited with %s before its gRPC server on %s answered; last lines of %s:\n%s'
                                   % (self.name, self.kind, code, self.spec['grpc'], self.log_path, tail(self.log_path)))
            if accepts(self.spec['grpc']):
                return
            if time.time() > deadline:
                raise RuntimeError('%s (%s) did not answer on %s in time; last lines of %s:\n%s'
                                   % (self.name, self.kind, self.spec['grpc'], self.log_path, tail(self.log_path)))
            time.sleep(0.1)

    def stop_process(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def stop(self, deleteIntfs=True):
        self.stop_process()
        Switch.stop(self, deleteIntfs)

    def connected(self):
        return self.proc is not None and self.proc.poll() is None and accepts(self.spec['grpc'])


# Packets each egress queue of simple_switch holds (it starts with 64). A switch process the machine
# stalls for a moment replicates the packets that waited in its sockets all at once when it runs again;
# 64 per queue drop the tail of that burst on every port.
BMV2_EGRESS_QUEUE_PACKETS = 1024


class ThriftNotReady(RuntimeError):
    """The Thrift server answered with an exception or hung up: simple_switch(_grpc) starts its Thrift server
    before it registers its `simple_switch` service (switch_runner.cpp, main.cpp), and a call in between gets a
    TApplicationException."""


def thrift_call_i32(addr, service, method, args, timeout=5.0):
    """One call of a multiplexed Thrift service (binary protocol, unframed) whose arguments and result are
    i32: `args` are the field values 1..n. Returns the result, raises OSError/ThriftNotReady/RuntimeError on failure."""
    name = ('%s:%s' % (service, method)).encode()
    body = struct.pack('!iI', -2147418111, len(name)) + name + struct.pack('!i', 1)  # version 1, CALL; seqid 1
    for i, v in enumerate(args, 1):
        body += struct.pack('!bhi', 8, i, v)  # T_I32, field id, value
    body += b'\x00'  # end of the args struct
    host, port = split_hostport(addr)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(body)
        data = b''
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                raise ThriftNotReady('%s: %s closed the connection before answering' % (method, addr))
            data += chunk
            try:
                version, nlen = struct.unpack_from('!iI', data, 0)
                off = 8 + nlen + 4
                if version & 0xff == 3:
                    raise ThriftNotReady('%s: %s answered with an exception' % (method, addr))
                ftype, fid = struct.unpack_from('!bh', data, off)
                if ftype == 8 and fid == 0:
                    return struct.unpack_from('!i', data, off + 3)[0]
                raise RuntimeError('%s: unexpected answer from %s' % (method, addr))
            except struct.error:
                continue  # not all of it yet


class Bmv2Switch(P4Switch):
    """simple_switch_grpc, with BMv2's Thrift server for register access."""

    kind = 'bmv2'
    program = 'simple_switch_grpc'

    def wait_ready(self, deadline):
        P4Switch.wait_ready(self, deadline)
        while True:
            try:
                rc = thrift_call_i32(self.spec['thrift'], 'simple_switch', 'set_all_egress_queue_depths', [BMV2_EGRESS_QUEUE_PACKETS])
                if rc != 0:
                    raise RuntimeError('%s: set_all_egress_queue_depths answered %d' % (self.name, rc))
                return
            except (OSError, ThriftNotReady) as e:
                if self.proc.poll() is not None:
                    raise RuntimeError('%s (%s) exited with %s while its Thrift server on %s was not ready; last lines of %s:\n%s'
                                       % (self.name, self.kind, self.proc.poll(), self.spec['thrift'], self.log_path, tail(self.log_path)))
                if time.time() > deadline:
                    raise RuntimeError('%s: its Thrift server on %s did not answer: %s' % (self.name, self.spec['thrift'], e))
                time.sleep(0.1)

    def command(self):
        s = self.spec
        argv = [shutil.which(self.program) or self.program]
        for port, intf in self.port_args():
            argv += ['-i', '%d@%s' % (port, intf)]
        argv += ['--device-id', str(s['deviceId']), '--thrift-port', str(split_hostport(s['thrift'])[1]),
                 '--log-console', '--log-level', self.log_level,
                 # its own IPC socket: the default /tmp/bmv2-<device id>-... clashes with other BMv2s of that id
                 '--notifications-addr', 'ipc://%s' % os.path.join(self.dir, 'notifications.ipc')]
        if self.pcap_dir:
            argv += ['--pcap=' + self.pcap_dir]  # the directory is an optional value: it needs the '='
        argv += [self.pipeline[0]] if self.pipeline else ['--no-p4']
        argv += ['--', '--grpc-server-addr', s['grpc'], '--cpu-port', str(s['cpuPort'])]
        return argv


class EmbeddedP4Switch(P4Switch):
    """The embedded TypeScript switch (`p4cast switch`) on raw sockets."""

    kind = 'embedded'
    program = 'node'
    ready_timeout = 30.0
    base_command = None  # argv before "switch"; default: node dist/cli/main.js

    # Node.js flags of a switch process: the same as SWITCH_NODE_FLAGS in src/switch/process-flags.ts (a test checks).
    node_flags = ['--max-semi-space-size=64', '--min-semi-space-size=16']

    def command(self):
        s = self.spec
        argv = list(self.base_command or [shutil.which('node') or 'node', *self.node_flags, os.path.join(REPO, 'dist', 'cli', 'main.js')])
        level = {'trace': 'debug', 'warn': 'error'}.get(self.log_level, self.log_level)
        argv += ['switch', '--grpc', s['grpc'], '--device-id', str(s['deviceId']), '--cpu-port', str(s['cpuPort']), '--name', self.name,
                 '--log-level', level]
        if self.pcap_dir:
            argv += ['--pcap-dir', self.pcap_dir]
        if self.pipeline:
            argv += ['--json', self.pipeline[0], '--p4info', self.pipeline[1]]
        for port, intf in self.port_args():
            argv += ['--interface', '%d@%s' % (port, intf)]
        return argv


SWITCH_KINDS = {'bmv2': Bmv2Switch, 'embedded': EmbeddedP4Switch}


def host_exec(host, args):
    """Runs an argument list in a host's namespace; raises with its stderr on failure."""
    out, err, code = host.pexec(args)
    if code != 0:
        raise RuntimeError('%s: %s: %s' % (host.name, ' '.join(args), (err or out).strip()))
    return out


def configure_host(host, h, neighbors):
    """Addresses, routes via the gateway, permanent neighbor entries, no offloads, no DAD/RA."""
    intf = h['intf']
    sysctls = ['net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.default.disable_ipv6=0',
               'net.ipv6.conf.%s.disable_ipv6=0' % intf, 'net.ipv6.conf.%s.accept_dad=0' % intf,
               'net.ipv6.conf.%s.accept_ra=0' % intf, 'net.ipv6.conf.%s.router_solicitations=0' % intf]
    host_exec(host, ['sysctl', '-q', '-w'] + sysctls)
    host_exec(host, ['ip', 'link', 'set', 'dev', intf, 'address', h['mac']])
    host_exec(host, ['ip', 'addr', 'flush', 'dev', intf, 'scope', 'global'])
    offloads_off(host.pexec, intf)
    host_exec(host, ['ip', 'link', 'set', 'dev', intf, 'up'])
    host_exec(host, ['ip', 'link', 'set', 'dev', 'lo', 'up'])
    for fam, gw_key, flag in (('ipv4', 'gatewayV4', '-4'), ('ipv6', 'gatewayV6', '-6')):
        if not h[fam]:
            continue
        host_exec(host, ['ip', flag, 'addr', 'add', h[fam], 'dev', intf] + (['nodad'] if fam == 'ipv6' else []))
        host_exec(host, ['ip', flag, 'neigh', 'replace', h[gw_key], 'lladdr', h['gatewayMac'], 'dev', intf, 'nud', 'permanent'])
        host_exec(host, ['ip', flag, 'route', 'replace', 'default', 'via', h[gw_key], 'dev', intf])
        for other in neighbors:  # same subnet: no ARP/NDP needed either
            if other is not h and other[fam] and ipaddress.ip_interface(other[fam]).network == ipaddress.ip_interface(h[fam]).network:
                addr = str(ipaddress.ip_interface(other[fam]).ip)
                host_exec(host, ['ip', flag, 'neigh', 'replace', addr, 'lladdr', other['mac'], 'dev', intf, 'nud', 'permanent'])


def configure_switch_intf(intf, mac, mtu=None):
    """The switch side: its port MAC, no IPv6 (no kernel chatter into the switch), no offloads,
    and between switches a larger MTU (p4cast's encapsulation adds 28 bytes to a host's packet)."""
    run(['ip', 'link', 'set', 'dev', intf, 'address', mac])
    if mtu:
        run(['ip', 'link', 'set', 'dev', intf, 'mtu', str(mtu)])
    run(['sysctl', '-q', '-w', 'net.ipv6.conf.%s.disable_ipv6=1' % intf], check=False)
    offloads_off(lambda a: run(a, check=False), intf)
    run(['ip', 'link', 'set', 'dev', intf, 'up'])


# --- State and clean-up ---------------------------------------------------------

LOCK_PATH = '/run/lock/p4cast-mininet.lock' if os.path.isdir('/run/lock') else '/tmp/p4cast-mininet.lock'


class NetworkLock:
    """One p4cast network per machine: an flock held for the launcher's lifetime
    (the kernel drops it when the launcher dies, however it dies)."""

    def __init__(self):
        self.fd = None

    @staticmethod
    def holder():
        """(pid, workdir) written by the holder of the lock, or None."""
        try:
            with open(LOCK_PATH) as f:
                pid, _, workdir = f.read().strip().partition(' ')
                return int(pid), workdir
        except (OSError, ValueError):
            return None

    def acquire(self, workdir):
        import fcntl
        fd = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            h = self.holder()
            raise RuntimeError('another p4cast network is running%s; stop it (Ctrl-C, SIGTERM) or run --cleanup%s'
                               % (' (launcher pid %d, workdir %s)' % h if h else '', ' --workdir %s' % h[1] if h else ''))
        os.ftruncate(fd, 0)
        os.write(fd, ('%d %s\n' % (os.getpid(), workdir)).encode())
        self.fd = fd

    def release(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class State:
    """<workdir>/state.json: what this run created, so --cleanup can undo it after a crash."""

    def __init__(self, workdir):
        self.path = os.path.join(workdir, 'state.json')
        self.data = {'launcher': os.getpid(), 'switches': [], 'hosts': [], 'interfaces': [], 'netns': []}

    def save(self):
        tmp = self.path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(self.data, f, indent=1)
        os.replace(tmp, self.path)

    @staticmethod
    def read(workdir):
        try:
            with open(os.path.join(workdir, 'state.json')) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None


def cleanup(workdir=DEFAULT_WORKDIR, net_plan=None, quiet=False, locked=False):
    """Stops what a run left behind: switch processes, host shells, netns names, veths.
    Uses <workdir>/state.json, and the names of a topology's plan when given."""
    state = State.read(workdir) or {'switches': [], 'hosts': [], 'interfaces': [], 'netns': []}
    launcher = state.get('launcher')
    if launcher and launcher != os.getpid() and cmdline(launcher) is not None and any('p4cast_net' in a for a in cmdline(launcher)):
        if not quiet:
            say('launcher %d is still running; stopping it first' % launcher)
        kill_and_wait(launcher, grace=15, sig=signal.SIGTERM)
    lock = None
    if not locked and launcher != os.getpid():  # not the launcher's own work: nobody else may be running
        lock = NetworkLock()
        try:
            lock.acquire(workdir)
        except RuntimeError as e:
            raise RuntimeError('clean-up refused: %s' % e)
    try:
        return _cleanup(workdir, state, net_plan, quiet)
    finally:
        if lock:
            lock.release()


def _cleanup(workdir, state, p, quiet):
    switch_pids = [(s['pid'], s['argv']) for s in state['switches'] if s.get('pid')]
    intfs = set(state['interfaces'])
    netns = set(state['netns'])
    shells = {'mininet:%s' % n for n in state.get('shells', [])}
    if p:
        for s in p['switches']:
            intfs.update(pt['intf'] for pt in s['ports'])
            shells.add('mininet:%s' % s['name'])
        for h in p['hosts']:
            netns.add(h['netns'])
            shells.add('mininet:%s' % h['name'])
    killed = 0
    for pid, argv in switch_pids:
        killed += kill_and_wait(pid, argv)
    # Leftover switch processes bound to our interfaces, and Mininet shells of our nodes.
    marks = {'@' + i for i in intfs}
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        argv = cmdline(int(entry))
        if not argv:
            continue
        ours_switch = any(a.endswith(m) and '@' in a for a in argv for m in marks) and (
            os.path.basename(argv[0]) == 'simple_switch_grpc' or 'switch' in argv)
        ours_shell = argv[-1] in shells and 'bash' in ' '.join(argv[:4])
        if ours_switch or ours_shell:
            killed += kill_and_wait(int(entry), argv, grace=3, sig=signal.SIGTERM if ours_switch else signal.SIGHUP)
    removed_ns = 0
    for ns in sorted(netns):
        if os.path.exists('/run/netns/%s' % ns):
            run(['ip', 'netns', 'delete', ns], check=False)
            removed_ns += 1
    removed = 0
    for intf in sorted(intfs):
        if link_exists(intf):
            run(['ip', 'link', 'del', intf], check=False)
            removed += 1
    # Interface deletion (and that of a namespace's veths) finishes asynchronously.
    deadline = time.time() + 10
    while time.time() < deadline and any(link_exists(i) for i in intfs):
        time.sleep(0.1)
    left = sorted(i for i in intfs if link_exists(i))
    try:
        os.unlink(os.path.join(workdir, 'state.json'))
    except OSError:
        pass
    if not quiet:
        say('clean-up: %d process(es) stopped, %d netns name(s) and %d interface(s) removed%s'
            % (killed, removed_ns, removed, '; still present: ' + ', '.join(left) if left else ''))
    return not left


# --- The network ----------------------------------------------------------------


class P4castNet:
    """Builds, starts and stops the network of one topology file."""

    def __init__(self, net_plan, kind, workdir=DEFAULT_WORKDIR, pipeline=None, pcap=True, embedded_command=None, ready_timeout=None, log_level='info',
                 core_mtu=CORE_MTU):
        self.plan = net_plan
        self.kind = kind
        self.workdir = workdir
        self.pipeline = pipeline
        self.pcap = pcap
        self.embedded_command = embedded_command
        self.ready_timeout = ready_timeout
        self.log_level = log_level
        self.core_mtu = core_mtu
        self.net = None
        self.state = None

    def preflight(self):
        cls = SWITCH_KINDS[self.kind]
        if self.kind == 'bmv2' and not shutil.which(cls.program):
            raise RuntimeError('simple_switch_grpc is not on PATH: build BMv2 with PI (gRPC) support, or use --switch embedded')
        if self.kind == 'embedded':
            base = self.embedded_command or [shutil.which('node') or 'node', os.path.join(REPO, 'dist', 'cli', 'main.js')]
            if not self.embedded_command and not os.path.exists(base[1]):
                raise RuntimeError('%s is missing: build the TypeScript first (npm run build)' % base[1])
            addon = os.environ.get('P4CAST_AFPACKET_ADDON') or os.path.join(REPO, 'native', 'afpacket', 'build', 'Release', 'afpacket.node')
            if not os.path.exists(addon):
                raise RuntimeError('the AF_PACKET addon is not built (%s is missing): run native/afpacket/build.sh' % addon)
            r = subprocess.run(base + ['switch', '--help'], capture_output=True, text=True, cwd=REPO)
            if '--interface' not in r.stdout:
                raise RuntimeError('%s switch has no --interface option (raw Linux interfaces as ports); '
                                   'it needs the change described in docs/mininet.md, then npm run build' % ' '.join(base))
        problems = []
        for s in self.plan['switches']:
            if self.kind == 'bmv2' and not s['thrift']:
                s['thrift'] = '127.0.0.1:%d' % (9090 + s['deviceId'])
            for what in ('grpc', 'thrift') if self.kind == 'bmv2' else ('grpc',):
                if port_in_use(s[what]):
                    owner = who_listens(s[what])
                    problems.append('%s: %s address %s is already in use%s' % (s['name'], what, s[what], ' by ' + owner if owner else ''))
        if problems:
            raise RuntimeError('refusing to start:\n  ' + '\n  '.join(problems))

    def start(self):
        self.lock = NetworkLock()
        self.lock.acquire(self.workdir)
        old = State.read(self.workdir)
        if old:
            launcher = old.get('launcher')
            argv = cmdline(launcher) if launcher else None
            if argv and any('p4cast_net' in a for a in argv):
                raise RuntimeError('another p4cast network is running (launcher pid %d, %s); stop it or run --cleanup' % (launcher, self.workdir))
            say('a previous run did not clean up (state in %s); cleaning up first' % self.workdir)
            cleanup(self.workdir, self.plan, locked=True)
        self.preflight()
        for s in self.plan['switches']:  # a crashed run may have left veths without a state file
            for p in s['ports']:
                if link_exists(p['intf']):
                    run(['ip', 'link', 'del', p['intf']], check=False)
        os.makedirs(self.workdir, exist_ok=True)
        for s in self.plan['switches']:
            shutil.rmtree(os.path.join(self.workdir, s['name']), ignore_errors=True)
        self.state = State(self.workdir)
        self.state.data['interfaces'] = [p['intf'] for s in self.plan['switches'] for p in s['ports']] + [h['intf'] for h in self.plan['hosts']]
        self.state.data['netns'] = [h['netns'] for h in self.plan['hosts']]
        self.state.data['shells'] = [n['name'] for n in self.plan['switches'] + self.plan['hosts']]
        self.state.save()

        cls = SWITCH_KINDS[self.kind]
        if self.kind == 'embedded' and self.embedded_command:
            cls = type('EmbeddedP4SwitchCustom', (EmbeddedP4Switch,), {'base_command': self.embedded_command})
        self.net = Mininet(topo=None, controller=None, switch=cls, host=Host, build=False, autoSetMacs=False, autoStaticArp=False)
        switches = {}
        for s in self.plan['switches']:
            switches[s['name']] = self.net.addSwitch(s['name'], cls=cls, spec=s, workdir=self.workdir, pipeline=self.pipeline, pcap=self.pcap,
                                                   log_level=self.log_level)
        hosts = {}
        for h in self.plan['hosts']:
            hosts[h['name']] = self.net.addHost(h['name'], ip=None, mac=h['mac'])
        for h in self.plan['hosts']:
            self.net.addLink(hosts[h['name']], switches[h['switch']], port1=0, port2=h['port'],
                             intfName1=h['intf'], intfName2=h['switchIntf'], addr1=h['mac'], addr2=h['gatewayMac'])
        for a, b in self.plan['links']:
            self.net.addLink(switches[a['switch']], switches[b['switch']], port1=a['port'], port2=b['port'],
                             intfName1=a['intf'], intfName2=b['intf'], addr1=a['mac'], addr2=b['mac'])
        self.net.build()
        switch_names = {s['name'] for s in self.plan['switches']}
        for s in self.plan['switches']:
            for p in s['ports']:
                configure_switch_intf(p['intf'], p['mac'], self.core_mtu if p['peer'] in switch_names else None)
        os.makedirs('/run/netns', exist_ok=True)
        for h in self.plan['hosts']:
            node = hosts[h['name']]
            configure_host(node, h, self.plan['hosts'])
            run(['ip', 'netns', 'delete', h['netns']], check=False)
            run(['ip', 'netns', 'attach', h['netns'], str(node.pid)])
        self.state.data['hostPids'] = {h: n.pid for h, n in hosts.items()}
        self.state.save()

        for sw in self.net.switches:
            sw.start([])
            self.state.data['switches'].append({'name': sw.name, 'pid': sw.proc.pid, 'argv': cmdline(sw.proc.pid) or sw.argv})
            self.state.save()
        timeout = self.ready_timeout or cls.ready_timeout
        deadline = time.time() + timeout
        for sw in self.net.switches:
            sw.wait_ready(deadline)
        self.write_network_file()

    def network_info(self):
        return {
            'name': self.plan['name'],
            'kind': self.kind,
            'workdir': self.workdir,
            'switches': [{
                'name': sw.name, 'deviceId': sw.spec['deviceId'], 'grpc': sw.spec['grpc'],
                'thrift': sw.spec['thrift'] if self.kind == 'bmv2' else None, 'cpuPort': sw.spec['cpuPort'],
                'pid': sw.proc.pid if sw.proc else None, 'log': sw.log_path, 'pcapDir': sw.pcap_dir,
                'ports': sw.spec['ports'],
            } for sw in self.net.switches],
            'hosts': [dict(h, pid=self.net[h['name']].pid) for h in self.plan['hosts']],
            'links': self.plan['linkEnds'],
        }

    def write_network_file(self):
        path = os.path.join(self.workdir, 'network.json')
        with open(path, 'w') as f:
            json.dump(self.network_info(), f, indent=1)
        return path

    def watch(self, interval=0.5):
        """From now on, reports a switch process that dies (with its log's last lines) while the network is up."""
        import threading
        self.watching = threading.Event()
        switches = list(self.net.switches)

        def run():
            reported = set()
            while not self.watching.wait(interval):
                for sw in switches:
                    proc = sw.proc
                    code = proc.poll() if proc else None
                    if code is not None and sw.name not in reported and not self.watching.is_set():
                        reported.add(sw.name)
                        print('\np4cast-net: %s (%s) died with exit code %s; last lines of %s:\n%s'
                              % (sw.name, sw.kind, code, sw.log_path, tail(sw.log_path)), file=sys.stderr, flush=True)
        threading.Thread(target=run, name='p4cast-watch', daemon=True).start()

    def stop(self):
        if getattr(self, 'watching', None):
            self.watching.set()
        if self.net:
            for sw in self.net.switches:  # switches first: no errors for vanishing ports
                sw.stop_process()
            self.net.stop()
            self.net = None
        if getattr(self, 'lock', None) and self.lock.fd is not None:
            cleanup(self.workdir, self.plan, quiet=True, locked=True)
            try:
                os.unlink(os.path.join(self.workdir, 'network.json'))
            except OSError:
                pass
            self.lock.release()


# --- Cutting links ----------------------------------------------------------------
#
# A cut link drops every frame in both directions while both interfaces stay
# up: the 'blackhole' queueing discipline on the egress of both veth ends.
# Setting an interface down would do it too, but simple_switch_grpc stops
# receiving on all its ports once one of its interfaces goes down.


def find_links(links, names):
    """The links named by one interface name, or by two node names (every link between them)."""
    if len(names) == 1:
        found = [l for l in links if any(e['intf'] == names[0] for e in l)]
    elif len(names) == 2:
        found = [l for l in links if sorted(e['node'] for e in l) == sorted(names)]
    else:
        found = []
    if not found:
        raise RuntimeError('no link %s (name one interface, e.g. s2-eth2, or two nodes, e.g. s2 s3)' % ' '.join(names))
    return found


def set_link(link, cut):
    """Cuts (blackhole on both ends) or restores (default queueing discipline) one link."""
    for e in link:
        ns = ['-n', e['netns']] if e['netns'] else []
        if cut:
            run(['tc'] + ns + ['qdisc', 'replace', 'dev', e['intf'], 'root', 'blackhole'])
        else:
            r = run(['tc'] + ns + ['qdisc', 'del', 'dev', e['intf'], 'root'], check=False)
            if r.returncode != 0 and 'handle of zero' not in r.stderr and 'Cannot find' not in r.stderr:
                raise RuntimeError('tc qdisc del dev %s root: %s' % (e['intf'], r.stderr.strip()))
    return '%s <-> %s %s' % (link[0]['intf'], link[1]['intf'], 'cut' if cut else 'restored')


class P4castCLI(CLI):
    """Mininet's CLI plus `cut` and `restore` (see set_link)."""

    links = []

    def do_cut(self, line):
        """cut <node> <node> | cut <interface>: drop every frame on the link, both ways, interfaces staying up."""
        self._set(line, True)

    def do_restore(self, line):
        """restore <node> <node> | restore <interface>: undo cut."""
        self._set(line, False)

    def _set(self, line, cut):
        try:
            for link in find_links(self.links, line.split()):
                print(set_link(link, cut))
        except RuntimeError as e:
            print('*** %s' % e)


# --- Command line ---------------------------------------------------------------


def _terminate(signum, frame):  # noqa: ARG001
    raise KeyboardInterrupt('signal %d' % signum)


def run_command(command, env):
    """Runs the command; if we are told to stop meanwhile, it gets SIGTERM and 5 s before SIGKILL."""
    try:
        child = subprocess.Popen(command, env=env)
    except OSError as e:
        raise RuntimeError('cannot run %s: %s' % (command[0], e))
    try:
        return child.wait()
    except KeyboardInterrupt:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        raise


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog='p4cast_net.py',
        description='Builds the network of a p4cast topology file in Mininet, on simple_switch_grpc or the embedded switch.',
        epilog='Without --cli or a command, the network stays up until Ctrl-C or SIGTERM. '
               'After "--", a command to run against the network (environment: P4CAST_NETWORK=<network.json>, '
               'P4CAST_TOPOLOGY=<file>); its exit code is ours, and the network is torn down after it.')
    ap.add_argument('--topology', '-t', help='topology file (YAML or JSON)')
    ap.add_argument('--switch', '-s', choices=sorted(SWITCH_KINDS), default='bmv2', help='switch kind (default: bmv2)')
    ap.add_argument('--cli', action='store_true', help='drop into the Mininet CLI once the network is up')
    ap.add_argument('--cleanup', action='store_true', help='remove what a previous run left behind, then exit')
    ap.add_argument('--cut', nargs='+', metavar='NAME', help='on the running network: cut a link (an interface, or two nodes), then exit')
    ap.add_argument('--restore', nargs='+', metavar='NAME', help='on the running network: restore a cut link, then exit')
    ap.add_argument('--print-plan', action='store_true', help='print what would be built (names, MACs, gateways) as JSON, then exit; no root needed')
    ap.add_argument('--workdir', default=DEFAULT_WORKDIR, help='state, logs and pcaps (default: %(default)s)')
    ap.add_argument('--p4-json', help='BMv2 JSON to load at start (else the controller pushes the pipeline)')
    ap.add_argument('--p4info', help='P4Info of --p4-json (the embedded switch needs it with --p4-json)')
    ap.add_argument('--no-pcap', action='store_true', help='no per-interface pcap files')
    ap.add_argument('--log-level', choices=['trace', 'debug', 'info', 'warn', 'error', 'off'], default='info',
                    help='switch log level (default: info; trace/debug log every packet; the embedded switch maps trace to debug, warn to error)')
    ap.add_argument('--embedded-command', help='JSON list: the command before "switch" for the embedded kind (default: ["node", "dist/cli/main.js"])')
    ap.add_argument('--core-mtu', type=int, default=CORE_MTU,
                    help='MTU of switch-to-switch links (default: %(default)s; host links stay at 1500; '
                         'p4cast\'s encapsulation adds 28 bytes to a host\'s packet)')
    ap.add_argument('--ready-timeout', type=float, help='seconds for all switches to answer on gRPC (default: 30)')
    ap.add_argument('--verbose', '-v', action='store_true', help="Mininet's own progress messages")
    ap.add_argument('command', nargs=argparse.REMAINDER, help='after --: a command to run against the network')
    a = ap.parse_args(argv)
    command = a.command[1:] if a.command[:1] == ['--'] else a.command

    try:
        net_plan = plan(resolve_topology(a.topology)) if a.topology else None
    except (OSError, TopologyError) as e:
        sys.exit('p4cast-net: %s' % e)
    if a.print_plan:
        if not net_plan:
            ap.error('--print-plan needs --topology')
        json.dump(net_plan, sys.stdout, indent=1)
        print()
        return 0
    if os.geteuid() != 0:
        sys.exit('p4cast-net: Mininet needs root')
    setLogLevel('info' if a.verbose else 'output')  # 'output': the CLI's results
    if a.cut or a.restore:
        try:
            with open(os.path.join(a.workdir, 'network.json')) as f:
                links = json.load(f)['links']
        except (OSError, ValueError, KeyError):
            sys.exit('p4cast-net: no running network in %s (network.json)' % a.workdir)
        try:
            for link in find_links(links, a.cut or a.restore):
                say(set_link(link, bool(a.cut)))
        except RuntimeError as e:
            sys.exit('p4cast-net: %s' % e)
        return 0
    if a.cleanup:
        try:
            sys.exit(0 if cleanup(a.workdir, net_plan) else 1)
        except RuntimeError as e:
            sys.exit('p4cast-net: %s' % e)
    if not net_plan:
        ap.error('--topology is required (except with --cleanup)')
    if a.cli and command:
        ap.error('--cli and a command exclude each other')
    if a.p4_json and a.switch == 'embedded' and not a.p4info:
        ap.error('--p4-json needs --p4info for the embedded switch')
    pipeline = (os.path.abspath(a.p4_json), os.path.abspath(a.p4info) if a.p4info else None) if a.p4_json else None
    embedded = None
    if a.embedded_command:
        embedded = json.loads(a.embedded_command)
        if not isinstance(embedded, list) or not all(isinstance(x, str) for x in embedded):
            ap.error('--embedded-command wants a JSON list of strings')

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    net = P4castNet(net_plan, a.switch, workdir=os.path.abspath(a.workdir), pipeline=pipeline, pcap=not a.no_pcap,
                    embedded_command=embedded, ready_timeout=a.ready_timeout, log_level=a.log_level,
                    core_mtu=a.core_mtu)
    code = 0
    try:
        net.start()
        info_path = net.write_network_file()
        for sw in net.net.switches:
            extra = ', thrift %s' % sw.spec['thrift'] if a.switch == 'bmv2' else ''
            say('%s (%s, device %d): gRPC %s%s, log %s' % (sw.name, a.switch, sw.spec['deviceId'], sw.spec['grpc'], extra, sw.log_path))
        for h in net.plan['hosts']:
            say('%s: %s %s via %s (netns %s)' % (h['name'], h['ipv4'] or '-', h['ipv6'] or '-', h['switchIntf'], h['netns']))
        say('ready: %s' % info_path)
        net.watch()
        if a.cli:
            P4castCLI.links = net.plan['linkEnds']
            P4castCLI(net.net)
        elif command:
            env = dict(os.environ, P4CAST_NETWORK=info_path, P4CAST_TOPOLOGY=os.path.abspath(a.topology))
            code = run_command(command, env)
            say('command exited with %d' % code)
        else:
            say('up; Ctrl-C or SIGTERM tears it down')
            while True:
                signal.pause()
    except KeyboardInterrupt:
        if command:
            code = 130  # the command was interrupted
    except Exception as e:  # noqa: BLE001 - report, tear down, fail
        print('p4cast-net: error: %s' % e, file=sys.stderr, flush=True)
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if getattr(net, 'lock', None) and net.lock.fd is not None:
            say('tearing down')
            net.stop()
            say('down')
    return code


if __name__ == '__main__':
    sys.exit(main())
