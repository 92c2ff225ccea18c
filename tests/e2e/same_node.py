#!/usr/bin/env python3
"""A node moved forward from a kept stage end must be the node a real run leaves (issue 23).

`same_node.py capture FILE` writes what the API holds: for every kind that can be listed (events left out: they are a
log, not state), each object's kind, namespace, name and labels; for pods their phase, node and readiness; for nodes
their readiness and taints; for Deployments their ready replicas; for Services their type, ports and node ports.
`same_node.py compare REAL MOVED` fails, listing the differences, unless both captures hold the same.
Leader-election locks (kube-system's Leases and Endpoints of the scheduler and the controller manager) are left out:
their holders are new processes, recreated under the same names once they lead, which may be a moment later.
"""
import json, sys

sys.dont_write_bytecode = True  # importing kslib must leave no __pycache__ in the repository
import kslib

SKIP = {"events", "events.events.k8s.io", "componentstatuses"}
LOCKS = {("leases", "kube-system"), ("endpoints", "kube-system")}


def capture():
    state = set()
    for resource in kslib.kubectl_output("api-resources", "--verbs=list", "-o", "name").split():
        if resource in SKIP:
            continue
        for item in kslib.kubectl_json("get", resource, "--all-namespaces")["items"]:
            meta = item["metadata"]
            namespace = meta.get("namespace", "")
            if (resource, namespace) in LOCKS:
                continue
            labels = ",".join(f"{k}={v}" for k, v in sorted((meta.get("labels") or {}).items()))
            facts = []
            status, spec = item.get("status", {}), item.get("spec", {})
            conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
            if resource == "pods":
                facts = [status.get("phase"), spec.get("nodeName"), "Ready=" + conditions.get("Ready", "?")]
            elif resource == "nodes":
                facts = ["Ready=" + conditions.get("Ready", "?")] + sorted(t["key"] for t in spec.get("taints", []))
            elif resource == "deployments.apps":
                facts = [f"ready={status.get('readyReplicas', 0)}/{spec.get('replicas')}"]
            elif resource == "services":
                facts = [spec.get("type"), spec.get("clusterIP")] + [f"{p['port']}:{p.get('nodePort', '')}" for p in spec.get("ports", [])]
            state.add(" ".join([resource, namespace or "-", meta["name"], labels or "-"] + [str(f) for f in facts]))
    return sorted(state)


if sys.argv[1] == "capture":
    captured = capture()
    with open(sys.argv[2], "w") as out:
        json.dump(captured, out, indent=0)
    print(f"  captured {len(captured)} objects")
elif sys.argv[1] == "compare":
    real, moved = (set(json.load(open(path))) for path in sys.argv[2:4])
    if real != moved:
        print("same_node: the moved node differs from the real one")
        for line in sorted(real - moved):
            print("  only after the real run:  ", line)
        for line in sorted(moved - real):
            print("  only after moving forward:", line)
        sys.exit(1)
    kinds = len({line.split()[0] for line in real})
    print(f"  ok: the node moved forward holds the same {len(real)} objects of {kinds} kinds as after the real run "
          "(names, labels, pods Running and Ready on the same node, Deployments ready, Services and their ports)")
