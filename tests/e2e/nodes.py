#!/usr/bin/env python3
"""A cluster of N nodes (`kubescratch stage 6 --nodes N`, N >= 2), every node taken from the network plan of
`kubescratch status --json`, none named here:
- every node of the plan has a Node object, Ready, at the plan's address;
- the Deployment web has a Ready pod on every node, each in its node's pod range (if not: scaled to three replicas
  per node, then up to 150 s for the spread and the finished rollout; Kubernetes never moves a running pod to a node
  that joined later, and a rollout restart may place every new pod on the newer, emptier nodes);
- a web pod on each node reaches a web pod on every other node by its pod IP (every ordered pair);
- the Service's NodePort answers 200 on every node's address, asked from the host.
Through kubectl and HTTP: kubescratch only says which nodes and addresses to look at. Usage: nodes.py, after
`kubescratch stage 6 --nodes N` (needs $BIN, as tests/e2e/run.sh exports it; root, for the admin kubeconfig)."""
import itertools
import sys

sys.dont_write_bytecode = True  # importing kslib must leave no __pycache__ in the repository
import kslib

SPREAD_TIMEOUT = 150
REQUESTS_PER_ADDRESS = 10  # kube-proxy picks an endpoint at random: several requests reach pods on several nodes


def nodes_ready(plan):
    for node in plan.nodes:
        obj = kslib.kubectl_json("get", "node", node.name)
        conditions = {c["type"]: c["status"] for c in obj["status"].get("conditions", [])}
        assert kslib.is_ready(obj), f"Node {node.name} is not Ready: {conditions}"
        internal = [a["address"] for a in obj["status"].get("addresses", []) if a["type"] == "InternalIP"]
        assert internal == [str(node.address)], f"Node {node.name} reports InternalIP {internal}, the plan says {node.address}"
    print(f"  ok: {len(plan.nodes)} nodes Ready: {', '.join(plan.names)}")


def web_pods_by_node(plan):
    """Ready web pods on each node of the plan (an empty list where there is none)."""
    on = kslib.group_by_node(kslib.ready_pods(kslib.kubectl_json("get", "pods", "-l", "app=web")["items"]))
    return {node.name: on.get(node.name, []) for node in plan.nodes}


def counts(on):
    return ", ".join(f"{len(pods)} on {name}" for name, pods in on.items())


def bare(on):
    """The nodes without a Ready web pod."""
    return [name for name, pods in on.items() if not pods]


def web_spread(plan):
    """The Ready web pods on each node, once every node has one (after one rollout restart if needed)."""
    on = web_pods_by_node(plan)
    restarted = ""
    if bare(on):
        # The scheduler placed the replicas before the last nodes joined. It scores the emptier nodes higher (v1.20's
        # default LeastAllocated counts 100m CPU and 200 MiB for a pod without requests, and the first node also runs
        # the lesson's other pods): more replicas than the emptier nodes win fill every node.
        replicas = 3 * len(plan.nodes)
        print(f"  no Ready web pod on {', '.join(bare(on))} ({counts(on)}): kubectl scale deployment/web --replicas={replicas}")
        kslib.kubectl_output("scale", "deployment/web", f"--replicas={replicas}")

        def spread_and_rolled_out():
            now = web_pods_by_node(plan)
            if bare(now):
                return f"no Ready web pod on {', '.join(bare(now))} ({counts(now)})"
            rollout = kslib.kubectl("rollout", "status", "deployment/web", "--watch=false")
            if rollout.ok and "successfully rolled out" in rollout.stdout:
                return True
            return rollout.stdout.strip() or rollout.why

        kslib.wait_until(f"web on every node at {replicas} replicas", spread_and_rolled_out, timeout=SPREAD_TIMEOUT)
        on = web_pods_by_node(plan)
        assert not bare(on), f"a node lost its Ready web pod right after the rollout: {counts(on)}"
        restarted = f", at {replicas} replicas"
    for node in plan.nodes:
        for pod in on[node.name]:
            ip = pod["status"].get("podIP", "")
            assert plan.node_holding(ip) == node, \
                f"{pod['metadata']['name']} on {node.name} has IP {ip}, outside {node.pod_range}"
    print(f"  ok: web spread over all {len(on)} nodes{restarted}: {counts(on)}; every pod IP in its node's pod range")
    return on


def pod_to_pod(plan, on):
    pairs = list(itertools.permutations(plan.nodes, 2))
    for source, target in pairs:
        pod, ip = on[source.name][0]["metadata"]["name"], on[target.name][0]["status"]["podIP"]
        line = kslib.request_from_pod(pod, ip, plan)
        assert kslib.is_http_200(line), f"{pod} on {source.name} -> {ip} on {target.name}: {line!r}"
    print(f"  ok: {len(pairs)} ordered pairs answered 200 (a web pod on each node to a web pod's IP on every other node)")


def node_port(plan):
    service = kslib.kubectl_json("get", "service", "web")
    ports = [p["nodePort"] for p in service["spec"].get("ports", []) if p.get("nodePort")]
    assert ports, f"Service web has no NodePort: {service['spec'].get('ports')}"
    for node in plan.nodes:
        statuses = [kslib.http_status(f"http://{node.address}:{ports[0]}/", plan) for _ in range(REQUESTS_PER_ADDRESS)]
        assert all(s == 200 for s in statuses), f"NodePort {ports[0]} on {node.name} ({node.address}): {statuses}"
    print(f"  ok: NodePort {ports[0]} answered 200 on all {len(plan.nodes)} node addresses "
          f"({', '.join(str(n.address) for n in plan.nodes)}), {REQUESTS_PER_ADDRESS} requests each")


def main():
    plan = kslib.load_plan()
    assert len(plan.nodes) >= 2, \
        f"the plan lists {len(plan.nodes)} node ({plan.first.name}): run kubescratch stage 6 --nodes N first"
    print(f"checking a cluster of {len(plan.nodes)} nodes")
    nodes_ready(plan)
    on = web_spread(plan)
    pod_to_pod(plan, on)
    node_port(plan)


if __name__ == "__main__":
    try:
        main()
    except AssertionError as error:
        print(f"nodes: FAIL: {error}", file=sys.stderr)
        sys.exit(1)
