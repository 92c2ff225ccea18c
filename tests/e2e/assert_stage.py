#!/usr/bin/env python3
"""Asserts the real node's state at the end of a stage, through the API (kubectl) and the
runtime (ctr), never through kubescratch's own output. Exits non-zero with what was wrong."""
import glob
import json
import os
import subprocess
import sys
import time
import urllib.request

STATE = os.environ.get("KUBESCRATCH_STATE_DIR", "/var/lib/kubescratch")
BIN = os.environ["BIN"]
NODE = os.environ["NODE_NAME"]
NODE_IP = os.environ["NODE_IP"]
POD_SUBNET_PREFIX = "10.200.0."
ENV = dict(os.environ, KUBECONFIG=f"{STATE}/kubeconfigs/admin.kubeconfig", HOME=f"{STATE}/kubectl-home")


def kubectl_json(*args):
    out = subprocess.run([f"{BIN}/kubectl", *args, "-o", "json"], env=ENV, capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def http_status(url):
    assert url.startswith(("http://127.0.0.1", f"http://{NODE_IP}", f"http://{POD_SUBNET_PREFIX}", "http://10.201.0.2:")), f"unsafe target {url}"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status
    except Exception as error:  # noqa: BLE001 - the message is the evidence
        return str(error)


def eventually(what, predicate, timeout=30):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = predicate()
            if last is True:
                print(f"  ok: {what}")
                return
        except AssertionError as error:
            last = str(error)
        time.sleep(1)
    raise AssertionError(f"{what}: {last}")


def pods():
    return {p["metadata"]["name"]: p for p in kubectl_json("get", "pods")["items"]}


def ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


def stage1():
    ctr = [ "ctr", "-a", f"{STATE}/run/containerd.sock", "--connect-timeout", "3s", "-n", "k8s.io" ]
    tasks = subprocess.run(ctr + ["tasks", "ls"], capture_output=True, text=True, timeout=30).stdout
    running = [line for line in tasks.splitlines()[1:] if "RUNNING" in line]
    assert len(running) >= 2, f"expected the static pod's sandbox and web container running, ctr says:\n{tasks}"
    print(f"  ok: {len(running)} tasks running in containerd")
    ips = [os.path.basename(p) for p in glob.glob(f"{STATE}/cni/ipam/kubescratch/{POD_SUBNET_PREFIX}*")]
    assert ips, "no pod IP handed out by host-local"
    answers = {ip: http_status(f"http://{ip}/") for ip in ips}
    assert 200 in answers.values(), f"no pod IP answers 200: {answers}"
    print(f"  ok: pod IPs answering: {answers}")


def stage2():
    node = kubectl_json("get", "node", NODE)
    print(f"  ok: node {NODE} registered")
    conditions = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert conditions.get("Ready") == "True", f"node not Ready: {conditions}"
    all_pods = pods()
    mirror = all_pods.get(f"web-static-{NODE}")
    assert mirror and "kubernetes.io/config.mirror" in mirror["metadata"]["annotations"], "no mirror pod of web-static"
    print("  ok: mirror pod web-static present")
    pending = all_pods["pending-pod"]
    assert pending["status"]["phase"] == "Pending" and not pending["spec"].get("nodeName"), f"pending-pod should be Pending and unbound: {pending['status']}"
    print("  ok: pending-pod Pending without a node")
    pinned = all_pods["pinned-pod"]
    assert pinned["spec"]["nodeName"] == NODE and pinned["status"]["phase"] == "Running", f"pinned-pod: {pinned['status'].get('phase')}"
    print("  ok: pinned-pod Running on the node")


def stage3():
    eventually("pending-pod bound to the node and Running", lambda: (
        (lambda p: p["spec"].get("nodeName") == NODE and p["status"]["phase"] == "Running" or f"{p['spec'].get('nodeName')} {p['status']['phase']}")(pods()["pending-pod"])))
    taints = kubectl_json("get", "node", NODE)["spec"].get("taints") or []
    assert not any(t["key"] == "node.kubernetes.io/not-ready" for t in taints), f"not-ready taint still there: {taints}"
    print("  ok: no not-ready taint")


def stage4():
    replica_sets = [rs for rs in kubectl_json("get", "replicasets")["items"]
                    if any(o["kind"] == "Deployment" and o["name"] == "web" for o in rs["metadata"].get("ownerReferences", []))]
    assert len(replica_sets) == 1, f"expected one ReplicaSet of deployment web, got {[r['metadata']['name'] for r in replica_sets]}"
    print(f"  ok: ReplicaSet {replica_sets[0]['metadata']['name']} owned by deployment web")
    web = [p for p in kubectl_json("get", "pods", "-l", "app=web")["items"] if not p["metadata"].get("deletionTimestamp")]
    assert len(web) == 3 and all(ready(p) for p in web), f"expected 3 ready web pods: {[(p['metadata']['name'], p['status'].get('phase')) for p in web]}"
    assert all(p["spec"]["nodeName"] == NODE for p in web)
    print("  ok: 3 web pods Ready on the node")


def stage5():
    service = kubectl_json("get", "service", "web")
    port = service["spec"]["ports"][0]["nodePort"]
    nat = subprocess.run(["iptables", "-w", "-t", "nat", "-S", "KUBE-NODEPORTS"], capture_output=True, text=True).stdout
    assert str(port) in nat, f"no KUBE-NODEPORTS rule for {port}:\n{nat}"
    print(f"  ok: kube-proxy programmed NodePort {port}")
    for host in (NODE_IP, "127.0.0.1"):
        status = http_status(f"http://{host}:{port}/")
        assert status == 200, f"http://{host}:{port}/ answered {status}"
        print(f"  ok: http://{host}:{port}/ answers 200")
    # The ClusterIP only once kube-proxy's rule catches it: before, the packet would leave by the default route.
    cluster_ip = service["spec"]["clusterIP"]
    assert cluster_ip.startswith("10.32.0."), f"ClusterIP {cluster_ip} outside the service range"
    services = subprocess.run(["iptables", "-w", "-t", "nat", "-S", "KUBE-SERVICES"], capture_output=True, text=True).stdout
    assert f"-d {cluster_ip}/32 " in services, f"no KUBE-SERVICES rule for {cluster_ip}:\n{services}"
    try:
        with urllib.request.urlopen(f"http://{cluster_ip}:{service['spec']['ports'][0]['port']}/", timeout=3) as response:
            status = response.status
    except Exception as error:  # noqa: BLE001 - the message is the evidence
        status = str(error)
    assert status == 200, f"ClusterIP {cluster_ip} answered {status}"
    print(f"  ok: ClusterIP {cluster_ip} answers 200 (its KUBE-SERVICES rule exists)")


NODE2, NODE2_IP = "node-2", "10.201.0.2"


def exec_request(pod, ip):
    """From inside `pod`, an HTTP request to a pod IP (busybox nc: the images' wget crashes without NSS files)."""
    assert ip.startswith(("10.200.0.", "10.200.1.")), f"unsafe target {ip}"
    done = subprocess.run([f"{BIN}/kubectl", "exec", pod, "--", "sh", "-c",
                           f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 {ip} 80"],
                          env=ENV, capture_output=True, text=True, timeout=20)
    return (done.stdout.splitlines() or [""])[0].strip() if done.returncode == 0 else (done.stderr.strip() or f"exit {done.returncode}")


def stage6():
    node = kubectl_json("get", "node", NODE2)
    assert any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"]["conditions"]), "node-2 is not Ready"
    assert not any(t["key"] == "node.kubernetes.io/unreachable" for t in node["spec"].get("taints", [])), "node-2 still tainted"
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses.get("InternalIP") == NODE2_IP, addresses
    print(f"  ok: Node node-2 Ready at {NODE2_IP}, podCIDR {node['spec'].get('podCIDR')}")
    web = [p for p in pods().values() if p["metadata"].get("labels", {}).get("app") == "web"
           and not p["metadata"].get("deletionTimestamp") and ready(p)]
    on = {n: [p for p in web if p["spec"].get("nodeName") == n] for n in (NODE, NODE2)}
    assert len(on[NODE]) == 4 and len(on[NODE2]) == 2, {n: len(v) for n, v in on.items()}
    assert all(p["status"]["podIP"].startswith("10.200.1.") for p in on[NODE2]), [p["status"]["podIP"] for p in on[NODE2]]
    print(f"  ok: 6 Ready web pods: 4 on {NODE}, 2 on node-2 (in 10.200.1.0/24)")
    for a, b in ((on[NODE][0], on[NODE2][0]), (on[NODE2][0], on[NODE][0])):
        line = exec_request(a["metadata"]["name"], b["status"]["podIP"])
        assert line.startswith("HTTP/1.") and " 200" in line, f"{a['metadata']['name']} -> {b['status']['podIP']}: {line}"
        print(f"  ok: pod on {a['spec']['nodeName']} -> pod on {b['spec']['nodeName']} ({b['status']['podIP']}): {line}")
    # kube-proxy picks an endpoint at random: ten requests per address reach pods on both nodes.
    for host in (NODE_IP, NODE2_IP):
        statuses = [http_status(f"http://{host}:30080/") for _ in range(10)]
        assert all(s == 200 for s in statuses), f"http://{host}:30080/: {statuses}"
        print(f"  ok: http://{host}:30080/ answers 200 ten times out of ten")


if __name__ == "__main__":
    stage = int(sys.argv[1])
    print(f"asserting the real state after stage {stage}")
    try:
        {1: stage1, 2: stage2, 3: stage3, 4: stage4, 5: stage5, 6: stage6}[stage]()
    except (AssertionError, KeyError) as error:
        print(f"FAIL after stage {stage}: {error}", file=sys.stderr)
        sys.exit(1)
