#!/usr/bin/env python3
"""Issue 25: `kubectl logs` works for every pod on every node, also after both kubelets' garbage collection ran.

Usage: pod_logs.py STAGE6_END_EPOCH. Waits until at least two container-GC periods (the kubelet runs it every
minute) have passed since stage 6 ended, then:
- every container of every pod on both nodes answers `kubectl logs`;
- `kubectl logs -f` of a pod on node-2 shows a line written after the wait (the web server logs every readiness
  probe, every 2 s);
- each node's pod log folders are its own: the host's /var/log/pods holds no folder of a node-2 pod, and node-2's
  folder holds one for each of its pods (v1.20: node-2's folder is bound over /var/log/pods in node-2's mount
  namespace; 1.29+: podLogsDir).
Everything through kubectl and the file system, never through kubescratch's output."""
import json
import os
import subprocess
import sys
import time

STATE = os.environ.get("KUBESCRATCH_STATE_DIR", "/var/lib/kubescratch")
BIN = os.environ["BIN"]
ENV = dict(os.environ, KUBECONFIG=f"{STATE}/kubeconfigs/admin.kubeconfig", HOME=f"{STATE}/kubectl-home")
GC_PERIOD = 60  # kubelet ContainerGCPeriod (pkg/kubelet/kubelet.go), the same in v1.20 and current releases
NODE2_LOGS = f"{STATE}/node-2/pod-logs"


def kubectl(*args, timeout=30):
    return subprocess.run([f"{BIN}/kubectl", *args], env=ENV, capture_output=True, text=True, timeout=timeout)


def main():
    ended = float(sys.argv[1])
    wait = ended + 2 * GC_PERIOD + 5 - time.time()
    if wait > 0:
        print(f"  waiting {wait:.0f} s: two kubelet garbage-collection periods after the end of stage 6")
        time.sleep(wait)

    pods = json.loads(kubectl("get", "pods", "--all-namespaces", "-o", "json").stdout)["items"]
    running = [p for p in pods if p.get("status", {}).get("phase") == "Running" and "deletionTimestamp" not in p["metadata"]]
    by_node = {}
    for pod in running:
        by_node.setdefault(pod["spec"].get("nodeName", ""), []).append(pod)
    assert "node-2" in by_node and len(by_node) >= 2, f"pods on both nodes expected, found on {sorted(by_node)}"

    failures = []
    for pod in running:
        meta = pod["metadata"]
        for container in pod["spec"]["containers"]:
            out = kubectl("logs", "-n", meta["namespace"], meta["name"], "-c", container["name"], "--tail=5")
            if out.returncode != 0:
                failures.append(f"{meta['namespace']}/{meta['name']} ({container['name']}) on {pod['spec']['nodeName']}: {out.stderr.strip()}")
    assert not failures, "kubectl logs failed:\n  " + "\n  ".join(failures)
    counts = ", ".join(f"{len(v)} on {k}" for k, v in sorted(by_node.items()))
    print(f"  ok: kubectl logs answers for every container of all {len(running)} running pods ({counts}), {time.time() - ended:.0f} s after stage 6")

    # A line written after the wait, followed live.
    node2_web = next(p for p in by_node["node-2"] if p["metadata"].get("labels", {}).get("app") == "web")
    name = node2_web["metadata"]["name"]
    started = time.time()
    # Bounded: without a new line within 10 s, `timeout` ends kubectl and readline returns "".
    follow = subprocess.Popen(["timeout", "10", f"{BIN}/kubectl", "logs", "-f", "--tail=0", name], env=ENV,
                              stdout=subprocess.PIPE, text=True)
    try:
        line = follow.stdout.readline()  # the readiness probe every 2 s: a line within a few seconds
    finally:
        follow.kill()
        follow.wait()
    assert "response:" in line, f"kubectl logs -f {name} showed no new line (got {line!r})"
    print(f"  ok: kubectl logs -f {name} (node-2) showed a new line after {time.time() - started:.1f} s: {line.strip()}")

    # Each node's folders are its own.
    host_folders = set(os.listdir("/var/log/pods"))
    node2_folders = set(os.listdir(NODE2_LOGS))
    for pod in by_node["node-2"]:
        folder = f"{pod['metadata']['namespace']}_{pod['metadata']['name']}_{pod['metadata']['uid']}"
        assert folder in node2_folders, f"{folder} is not in node-2's {NODE2_LOGS}: {sorted(node2_folders)}"
        assert folder not in host_folders, f"node-2's pod folder {folder} is in the host's /var/log/pods"
    for pod in [p for node, ps in by_node.items() if node != "node-2" for p in ps]:
        folder = f"{pod['metadata']['namespace']}_{pod['metadata']['name']}_{pod['metadata']['uid']}"
        assert folder not in node2_folders, f"node-1's pod folder {folder} is in node-2's folder"
    print(f"  ok: node-2's {len(by_node['node-2'])} pod log folders are in {NODE2_LOGS}, none in the host's /var/log/pods")


if __name__ == "__main__":
    main()
