#!/usr/bin/env python3
"""Asserts the real node's state at the end of a stage, through the API (kubectl) and the
runtime (ctr), never through kubescratch's own output (only the addresses to look at come from the network plan
of `kubescratch status --json`). Exits non-zero with what was wrong. Usage: assert_stage.py STAGE."""
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # importing kslib must leave no __pycache__ in the repository
import kslib

NODE = os.environ["NODE_NAME"]


def pods():
    return {p["metadata"]["name"]: p for p in kslib.kubectl_json("get", "pods")["items"]}


def stage1():
    plan = kslib.load_plan()
    tasks = kslib.ctr("tasks", "ls")
    running = [line for line in tasks.stdout.splitlines()[1:] if "RUNNING" in line]
    assert len(running) >= 2, \
        f"expected the static pod's sandbox and web container running, ctr says:\n{tasks.stdout or tasks.why}"
    print(f"  ok: {len(running)} tasks running in containerd")
    ips = kslib.handed_out_pod_ips(plan.first)
    assert ips, f"no pod IP in {plan.first.pod_range} handed out by host-local"
    answers = {ip: kslib.http_status(f"http://{ip}/", plan) for ip in ips}
    assert 200 in answers.values(), f"no pod IP answers 200: {answers}"
    print(f"  ok: pod IPs answering: {answers}")


def stage2():
    node = kslib.kubectl_json("get", "node", NODE)
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
    def pending_pod_running():
        pod = pods()["pending-pod"]
        bound, phase = pod["spec"].get("nodeName"), pod["status"]["phase"]
        return bound == NODE and phase == "Running" or f"{bound} {phase}"

    kslib.wait_until("pending-pod bound to the node and Running", pending_pod_running, timeout=30)
    print("  ok: pending-pod bound to the node and Running")
    taints = kslib.kubectl_json("get", "node", NODE)["spec"].get("taints") or []
    assert not any(t["key"] == "node.kubernetes.io/not-ready" for t in taints), f"not-ready taint still there: {taints}"
    print("  ok: no not-ready taint")


def stage4():
    replica_sets = [rs for rs in kslib.kubectl_json("get", "replicasets")["items"]
                    if any(o["kind"] == "Deployment" and o["name"] == "web" for o in rs["metadata"].get("ownerReferences", []))]
    assert len(replica_sets) == 1, f"expected one ReplicaSet of deployment web, got {[r['metadata']['name'] for r in replica_sets]}"
    print(f"  ok: ReplicaSet {replica_sets[0]['metadata']['name']} owned by deployment web")
    web = [p for p in kslib.kubectl_json("get", "pods", "-l", "app=web")["items"] if not kslib.is_deleting(p)]
    assert len(web) == 3 and all(kslib.is_ready(p) for p in web), f"expected 3 ready web pods: {[(p['metadata']['name'], p['status'].get('phase')) for p in web]}"
    assert all(p["spec"]["nodeName"] == NODE for p in web)
    print("  ok: 3 web pods Ready on the node")


def stage5():
    plan = kslib.load_plan()
    service = kslib.kubectl_json("get", "service", "web")
    port = service["spec"]["ports"][0]["nodePort"]
    nat = subprocess.run(["iptables", "-w", "-t", "nat", "-S", "KUBE-NODEPORTS"], capture_output=True, text=True).stdout
    assert str(port) in nat, f"no KUBE-NODEPORTS rule for {port}:\n{nat}"
    print(f"  ok: kube-proxy programmed NodePort {port}")
    for host in (plan.first.address, "127.0.0.1"):
        status = kslib.http_status(f"http://{host}:{port}/", plan)
        assert status == 200, f"http://{host}:{port}/ answered {status}"
        print(f"  ok: http://{host}:{port}/ answers 200")
    # The ClusterIP only once kube-proxy's rule catches it: before, the packet would leave by the default route.
    cluster_ip = service["spec"]["clusterIP"]
    assert kslib.is_in(cluster_ip, plan.service_range), f"ClusterIP {cluster_ip} outside the service range"
    services = subprocess.run(["iptables", "-w", "-t", "nat", "-S", "KUBE-SERVICES"], capture_output=True, text=True).stdout
    assert f"-d {cluster_ip}/32 " in services, f"no KUBE-SERVICES rule for {cluster_ip}:\n{services}"
    url = f"http://{cluster_ip}:{service['spec']['ports'][0]['port']}/"
    status = kslib.http_status(url, plan, also_allow=plan.service_range)
    assert status == 200, f"ClusterIP {cluster_ip} answered {status}"
    print(f"  ok: ClusterIP {cluster_ip} answers 200 (its KUBE-SERVICES rule exists)")


def stage6():
    plan = kslib.load_plan()
    node2 = plan.node("node-2")  # the lesson's second node
    node = kslib.kubectl_json("get", "node", node2.name)
    assert kslib.is_ready(node), "node-2 is not Ready"
    assert not any(t["key"] == "node.kubernetes.io/unreachable" for t in node["spec"].get("taints", [])), "node-2 still tainted"
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses.get("InternalIP") == str(node2.address), addresses
    print(f"  ok: Node node-2 Ready at {node2.address}, podCIDR {node['spec'].get('podCIDR')}")
    on = kslib.group_by_node(kslib.ready_pods(kslib.kubectl_json("get", "pods", "-l", "app=web")["items"]))
    assert len(on.get(NODE, [])) == 4 and len(on.get(node2.name, [])) == 2, {n: len(v) for n, v in on.items()}
    node2_ips = [p["status"]["podIP"] for p in on[node2.name]]
    assert all(plan.node_holding(ip) == node2 for ip in node2_ips), node2_ips
    print(f"  ok: 6 Ready web pods: 4 on {NODE}, 2 on node-2 (in {node2.pod_range})")
    for a, b in ((on[NODE][0], on[node2.name][0]), (on[node2.name][0], on[NODE][0])):
        line = kslib.request_from_pod(a["metadata"]["name"], b["status"]["podIP"], plan)
        assert kslib.is_http_200(line), f"{a['metadata']['name']} -> {b['status']['podIP']}: {line}"
        print(f"  ok: pod on {a['spec']['nodeName']} -> pod on {b['spec']['nodeName']} ({b['status']['podIP']}): {line}")
    # kube-proxy picks an endpoint at random: ten requests per address reach pods on both nodes.
    for host in (plan.first.address, node2.address):
        statuses = [kslib.http_status(f"http://{host}:30080/", plan) for _ in range(10)]
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
