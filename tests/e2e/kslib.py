"""What the e2e scripts share: kubectl and ctr on this node, waiting with a deadline, HTTP GETs that only reach this
node, and the network plan as `kubescratch status --json` reports it.

No address is written here: every node's address, pod
range and link come from the plan, so a cluster of any size is checked the same way.

Environment: BIN (the Kubernetes binaries), KUBESCRATCH_STATE_DIR (default /var/lib/kubescratch), KS (the kubescratch
binary, default the debug build), and when set, NODE_NAME and NODE_IP (run.sh's own finding of the first node)."""
import ipaddress
import json
import os
import re
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

LOOPBACK = ipaddress.IPv4Address("127.0.0.1")


def state_dir():
    return os.environ.get("KUBESCRATCH_STATE_DIR", "/var/lib/kubescratch")


def kubescratch_binary():
    return os.environ.get("KS", os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../.build/debug/kubescratch"))


def require(condition, message):
    """An assert that `python3 -O` keeps: the guard and the plan's checks must hold however the scripts are run."""
    if not condition:
        raise AssertionError(message)


# Processes.

@dataclass(frozen=True)
class Result:
    returncode: int | None  # None: killed at its timeout
    stdout: str
    stderr: str

    @property
    def ok(self):
        return self.returncode == 0

    @property
    def why(self):
        """What went wrong, for a failure message."""
        return self.stderr.strip() or f"exit status {self.returncode}"


def _run(argv, *, timeout, env=None):
    """A command's outcome; a hung command is a failure like another, not an exception."""
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Result(None, "", f"timed out after {timeout} s")
    return Result(done.returncode, done.stdout, done.stderr)


def kubescratch(*args, timeout=120):
    result = _run([kubescratch_binary(), *args], timeout=timeout)
    if not result.ok:
        raise AssertionError(f"kubescratch {' '.join(args)} failed: {result.why}")
    return result.stdout


def _kubectl_argv_and_env(args):
    if "BIN" not in os.environ:
        raise AssertionError("BIN must name the Kubernetes binaries folder (tests/e2e/run.sh sets it)")
    state = state_dir()
    # v1.20's kubectl predates KUBECACHEDIR and writes its cache under $HOME: a home of its own, not root's.
    env = dict(os.environ, KUBECONFIG=f"{state}/kubeconfigs/admin.kubeconfig", HOME=f"{state}/kubectl-home")
    return [os.path.join(os.environ["BIN"], "kubectl"), *args], env


def kubectl(*args, timeout=30):
    argv, env = _kubectl_argv_and_env(args)
    return _run(argv, env=env, timeout=timeout)


def kubectl_output(*args, timeout=30):
    result = kubectl(*args, timeout=timeout)
    if not result.ok:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {result.why}")
    return result.stdout


def kubectl_json(*args, timeout=30):
    return json.loads(kubectl_output(*args, "-o", "json", timeout=timeout))


def kubectl_first_line(*args, within):
    """The first line a following kubectl (logs -f) prints within `within` seconds, or "" when none came."""
    argv, env = _kubectl_argv_and_env(args)
    # `timeout` bounds kubectl even if this process dies; it passes our SIGTERM on to kubectl.
    follow = subprocess.Popen(["timeout", str(within), *argv], env=env, stdout=subprocess.PIPE, text=True)
    try:
        return follow.stdout.readline()
    finally:
        follow.terminate()
        follow.wait()


def ctr(*args, timeout=30):
    """ctr against the first node's containerd, in the namespace the kubelet uses."""
    return _run(["ctr", "-a", f"{state_dir()}/run/containerd.sock", "--connect-timeout", "3s", "-n", "k8s.io", *args],
                timeout=timeout)


# API objects.

def is_ready(obj):
    """A pod's or a node's Ready condition is True."""
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (obj.get("status") or {}).get("conditions") or [])


def is_deleting(obj):
    return bool(obj["metadata"].get("deletionTimestamp"))


def ready_pods(pods):
    return [p for p in pods if is_ready(p) and not is_deleting(p)]


def group_by_node(pods):
    by_node = {}
    for pod in pods:
        by_node.setdefault(pod["spec"].get("nodeName", ""), []).append(pod)
    return by_node


def wait_until(what, predicate, timeout, interval=1.0):
    """Calls predicate until it returns True. Anything else it returns, or an AssertionError it raises, says what is
    still missing: the failure names it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            outcome = predicate()
        except AssertionError as error:
            outcome = str(error)
        if outcome is True:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s (last seen: {outcome})")
        time.sleep(interval)


# The network plan.

def ipv4(host):
    """`host` as an IPv4 address, or None for anything else (names included)."""
    try:
        return ipaddress.IPv4Address(host)
    except ValueError:
        return None


def is_in(host, network):
    address = ipv4(host)
    return address is not None and address in network


@dataclass(frozen=True)
class Node:
    name: str
    address: ipaddress.IPv4Address
    pod_range: ipaddress.IPv4Network
    host_address: ipaddress.IPv4Address | None  # the host's end of a worker's link
    link: ipaddress.IPv4Network | None
    state_dir: str
    components: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    cluster_cidr: ipaddress.IPv4Network
    service_range: ipaddress.IPv4Network  # kube-apiserver's --service-cluster-ip-range: ClusterIPs
    nodes: tuple[Node, ...]

    def __post_init__(self):
        # The HTTP guard trusts these ranges: a plan that would widen it to addresses off this node is refused.
        require(self.nodes, "the plan lists no node")
        require(self.cluster_cidr.is_private, f"cluster CIDR {self.cluster_cidr} is not a private range")
        require(self.service_range.is_private and not self.service_range.overlaps(self.cluster_cidr),
                f"service range {self.service_range} is not a private range apart from the cluster CIDR")
        require(len(set(self.names)) == len(self.names), f"node names repeat: {self.names}")
        require(self.first.link is None, f"the first node {self.first.name} has a link: {self.first.link}")
        for node in self.nodes:
            require(node.pod_range.subnet_of(self.cluster_cidr),
                    f"{node.name}'s pod range {node.pod_range} is outside the cluster CIDR {self.cluster_cidr}")
            require(not any(node.pod_range.overlaps(other.pod_range) for other in self.nodes if other is not node),
                    f"{node.name}'s pod range {node.pod_range} overlaps another node's")
        for worker in self.workers:
            require(worker.link is not None and worker.host_address is not None, f"worker {worker.name} has no link")
            require(worker.link.is_private, f"{worker.name}'s link {worker.link} is not a private range")
            ends = {worker.address, worker.host_address}
            require(len(ends) == 2 and all(end in worker.link for end in ends),
                    f"{worker.name}'s link {worker.link} does not hold its two ends {worker.host_address} and {worker.address}")

    @property
    def first(self):
        return self.nodes[0]

    @property
    def workers(self):
        return self.nodes[1:]

    @property
    def names(self):
        return [node.name for node in self.nodes]

    def has(self, name):
        return name in self.names

    def node(self, name):
        for node in self.nodes:
            if node.name == name:
                return node
        raise AssertionError(f"the plan has no node {name}: it lists {', '.join(self.names)}")

    def node_running(self, component):
        for node in self.nodes:
            if component in node.components:
                return node
        raise AssertionError(f"component {component} is on no node of the plan")

    def node_holding(self, ip):
        """The node whose pod range holds `ip`, or None."""
        return next((node for node in self.nodes if is_in(ip, node.pod_range)), None)

    def may_contact(self, host):
        """127.0.0.1, a node's address, either end of a worker's link, or an address in a node's pod range."""
        assigned = {LOOPBACK} | {node.address for node in self.nodes} | {node.host_address for node in self.workers}
        return ipv4(host) in assigned or self.node_holding(host) is not None


def _node(entry):
    def optional(key, parse):
        # Swift's JSONEncoder leaves out nil values: a missing key and null mean the same.
        return None if entry.get(key) is None else parse(entry[key])

    return Node(name=entry["name"], address=ipaddress.IPv4Address(entry["address"]),
                pod_range=ipaddress.IPv4Network(entry["podRange"]),
                host_address=optional("hostAddress", ipaddress.IPv4Address),
                link=optional("link", ipaddress.IPv4Network), state_dir=entry["stateDir"],
                components=tuple(entry["components"]))


def parse_plan(status):
    """The plan in a parsed `kubescratch status --json`."""
    try:
        return Plan(ipaddress.IPv4Network(status["clusterCIDR"]), ipaddress.IPv4Network(status["serviceRange"]),
                    tuple(_node(entry) for entry in status["nodes"]))
    except (KeyError, TypeError, ValueError) as error:
        raise AssertionError(f"status --json holds no usable network plan: {type(error).__name__} {error}") from None


def load_plan():
    plan = parse_plan(json.loads(kubescratch("status", "--json")))
    # run.sh finds the node's name and address on its own: the plan must agree with it before the guard trusts it.
    for variable, planned in (("NODE_NAME", plan.first.name), ("NODE_IP", str(plan.first.address))):
        found = os.environ.get(variable)
        require(found in (None, planned), f"status --json says the first node is {planned}, but {variable} is {found}")
    return plan


def handed_out_pod_ips(node):
    """The addresses host-local handed out in the node's pod range (its IPAM store names a file after each one),
    readable with or without an API server."""
    found = []
    for _, _, files in os.walk(f"{node.state_dir}/cni/ipam"):
        found += [name for name in files if is_in(name, node.pod_range)]
    return sorted(found)


# HTTP, only to this node.

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None  # the guard vetted this host only: a redirect is an answer (its 3xx status), not followed


def _opener():
    # Certificates are not checked: the HTTPS targets are health endpoints on 127.0.0.1.
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    # No proxy, even if the environment names one: the request must go to the vetted address itself.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect(),
                                       urllib.request.HTTPSHandler(context=unverified))


_OPENER = _opener()


def http_status(url, plan, *, also_allow=None, timeout=3.0):
    """The HTTP status of a GET (an int, also for 3xx to 5xx), or why nothing answered (a str). Refuses any host but
    those plan.may_contact allows, and those in `also_allow`, a range the caller vetted."""
    host = urllib.parse.urlsplit(url).hostname or ""
    vetted = also_allow is not None and is_in(host, also_allow)
    require(plan.may_contact(host) or vetted,
            f"refusing to contact {host}: not 127.0.0.1, a node's or link's address, or in a pod range of the plan")
    try:
        with _OPENER.open(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except Exception as error:  # noqa: BLE001 - the message is the evidence
        return str(error)


def request_from_pod(pod, ip, plan):
    """From inside `pod`, a GET / to port 80 of a pod IP (which must lie in a pod range of the plan, all of them inside
    its cluster CIDR); the answer's status line, or why there was none. busybox nc: the images' wget crashes without
    NSS files."""
    require(plan.node_holding(ip) is not None, f"refusing to contact {ip} from {pod}: in no pod range of the plan")
    result = kubectl("exec", pod, "--", "sh", "-c", f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 {ip} 80",
                     timeout=20)
    return (result.stdout.splitlines() or [""])[0].strip() if result.ok else result.why


def is_http_200(status_line):
    return re.match(r"HTTP/1\.[01] 200\b", status_line) is not None
