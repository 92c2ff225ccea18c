#!/usr/bin/env python3
"""Asserts what the API server's audit log says the components did by the end of a stage (issue 19), read with
`kubescratch traffic --json` and compared with the API's own objects (kubectl). Usage: assert_traffic.py STAGE.
Exits non-zero with what was missing."""
import json
import os
import sys

sys.dont_write_bytecode = True  # importing kslib must leave no __pycache__ in the repository
import kslib

NODE = os.environ["NODE_NAME"]


def calls():
    return [json.loads(line) for line in kslib.kubescratch("traffic", "--json", timeout=60).splitlines() if line.strip()]


def pods():
    return kslib.kubectl_json("get", "pods")["items"]


def made(log, user, verb, resource, name=None):
    return [c for c in log if c["user"] == user and c["verb"] == verb and c["resource"] == resource
            and (name is None or c.get("name", "").startswith(name))]


def main(stage):
    log = calls()
    assert log, "the audit log holds no call at all"
    bindings = {c.get("name") for c in made(log, "system:kube-scheduler", "create", "pods/binding") if c["code"] == 201}
    said = []
    if stage >= 2:
        mine = [c for c in log if c["user"] == f"system:node:{NODE}"]
        assert made(mine, f"system:node:{NODE}", "patch", "nodes/status", NODE), f"no patch nodes/status {NODE} by its kubelet"
        assert any(c["resource"] == "leases" and c.get("name") == NODE for c in mine), f"no Lease call by kubelet {NODE}"
        said.append(f"kubelet {NODE}: {len(mine)} calls, nodes/status and its Lease among them")
    if stage >= 3:
        # One Binding by the scheduler for every pod it placed: every pod in the API that went through it.
        placed = [p["metadata"]["name"] for p in pods()
                  if p["spec"].get("nodeName") and p["spec"].get("schedulerName", "default-scheduler") == "default-scheduler"
                  and "kubernetes.io/config.mirror" not in p["metadata"].get("annotations", {})
                  and p["metadata"]["name"] != "pinned-pod"]
        # A Binding made by hand (stage 3's break-it) goes to the namespace's `bindings` resource: kubectl's path.
        missing = [name for name in placed if name not in bindings and not made(log, "admin", "create", "pods/binding", name)
                   and not made(log, "admin", "create", "bindings", name)]
        assert not missing, f"pods bound without a Binding in the audit log: {missing}"
        assert "pending-pod" in bindings, "no Binding of pending-pod by the scheduler"
        assert "pinned-pod" not in bindings, "pinned-pod had spec.nodeName from the start: the scheduler must not bind it"
        said.append(f"scheduler: {len(bindings)} Bindings, one for each of the {len(placed)} pods it placed")
    if stage >= 4:
        web = [p["metadata"]["name"] for p in pods() if p["metadata"].get("labels", {}).get("app") == "web"]
        created = {c.get("name") for c in made(log, "system:serviceaccount:kube-system:replicaset-controller", "create", "pods")}
        # The controller manager creates pods with generateName: the audit log names the ReplicaSet's prefix only,
        # so each web pod is matched by its Binding instead, and the creations are counted.
        assert created or made(log, "system:serviceaccount:kube-system:replicaset-controller", "create", "pods"), \
            "no pod created by the replicaset-controller"
        assert all(name in bindings for name in web), f"web pods without the scheduler's Binding: {[n for n in web if n not in bindings]}"
        assert made(log, "system:serviceaccount:kube-system:deployment-controller", "create", "replicasets"), \
            "no ReplicaSet created by the deployment-controller"
        said.append(f"ctrl-manager: ReplicaSets by the deployment-controller, {len(made(log, 'system:serviceaccount:kube-system:replicaset-controller', 'create', 'pods'))} pods by the replicaset-controller")
    if stage >= 5:
        proxy = [c for c in log if c["user"] == "system:kube-proxy"]
        for resource in ("services", "endpointslices"):
            assert any(c["resource"] == resource and c["verb"] in ("list", "watch") for c in proxy), f"kube-proxy never listed {resource}"
        said.append(f"kube-proxy: lists (and watches) of services and endpointslices, {len(proxy)} calls")
    if stage >= 6:
        workers = kslib.load_plan().workers
        assert workers, "stage 6 is done, but the plan lists no worker node"
        for worker in workers:
            user = f"system:node:{worker.name}"
            theirs = [c for c in log if c["user"] == user]
            assert made(theirs, user, "patch", "nodes/status", worker.name), f"no patch nodes/status by {worker.name}'s kubelet"
            said.append(f"kubelet {worker.name}: {len(theirs)} calls as {user}")
    size = os.path.getsize(f"{kslib.state_dir()}/logs/audit.log")
    print(f"  ok: the audit log after stage {stage} ({size // 1024} KiB): " + "; ".join(said))


if __name__ == "__main__":
    try:
        main(int(sys.argv[1]))
    except AssertionError as error:
        print(f"assert_traffic: stage {sys.argv[1]}: {error}")
        sys.exit(1)
