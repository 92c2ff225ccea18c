#!/usr/bin/env python3
"""Issue 25: `kubectl logs` works for every pod on every node, also after every kubelet's garbage collection ran.

Usage: pod_logs.py STAGE6_END_EPOCH. Waits until at least two container-GC periods (the kubelet runs it every
minute) have passed since stage 6 ended, then, for every node of the network plan (`kubescratch status --json`):
- every container of every pod on every node answers `kubectl logs`;
- `kubectl logs -f` of a web pod on each worker shows a line written after the wait (the web server logs every
  readiness probe, every 2 s);
- each node's pod log folders are its own: the host's /var/log/pods holds no folder of a worker's pod, and each
  worker's folder holds one for each of its pods and none of another node's (v1.20: the worker's folder is bound over
  /var/log/pods in the worker's mount namespace; 1.29+: podLogsDir).
Everything through kubectl and the file system, never through kubescratch's output."""
import os
import sys
import time

sys.dont_write_bytecode = True  # importing kslib must leave no __pycache__ in the repository
import kslib

GC_PERIOD = 60  # kubelet ContainerGCPeriod (pkg/kubelet/kubelet.go), the same in v1.20 and current releases


def folder_of(pod):
    meta = pod["metadata"]
    return f"{meta['namespace']}_{meta['name']}_{meta['uid']}"


def main():
    ended = float(sys.argv[1])
    wait = ended + 2 * GC_PERIOD + 5 - time.time()
    if wait > 0:
        print(f"  waiting {wait:.0f} s: two kubelet garbage-collection periods after the end of stage 6")
        time.sleep(wait)

    plan = kslib.load_plan()
    assert plan.workers, f"stage 6 is done, but the plan lists no worker node: {plan.names}"
    pods = kslib.kubectl_json("get", "pods", "--all-namespaces")["items"]
    running = [p for p in pods if p.get("status", {}).get("phase") == "Running" and not kslib.is_deleting(p)]
    by_node = kslib.group_by_node(running)
    assert all(name in by_node for name in plan.names), \
        f"pods on every node ({', '.join(plan.names)}) expected, found on {sorted(by_node)}"

    failures = []
    for pod in running:
        meta = pod["metadata"]
        for container in pod["spec"]["containers"]:
            out = kslib.kubectl("logs", "-n", meta["namespace"], meta["name"], "-c", container["name"], "--tail=5")
            if not out.ok:
                failures.append(f"{meta['namespace']}/{meta['name']} ({container['name']}) on {pod['spec']['nodeName']}: {out.why}")
    assert not failures, "kubectl logs failed:\n  " + "\n  ".join(failures)
    counts = ", ".join(f"{len(v)} on {k}" for k, v in sorted(by_node.items()))
    print(f"  ok: kubectl logs answers for every container of all {len(running)} running pods ({counts}), {time.time() - ended:.0f} s after stage 6")

    # A line written after the wait, followed live.
    for worker in plan.workers:
        web = [p for p in by_node[worker.name] if p["metadata"].get("labels", {}).get("app") == "web"]
        assert web, f"no running web pod on {worker.name} to follow"
        name = web[0]["metadata"]["name"]
        started = time.time()
        line = kslib.kubectl_first_line("logs", "-f", "--tail=0", name, within=10)  # a probe line every 2 s
        assert "response:" in line, f"kubectl logs -f {name} showed no new line (got {line!r})"
        print(f"  ok: kubectl logs -f {name} ({worker.name}) showed a new line after {time.time() - started:.1f} s: "
              f"{line.strip()}")

    # Each node's folders are its own.
    host_folders = set(os.listdir("/var/log/pods"))
    for worker in plan.workers:
        logs = f"{worker.state_dir}/pod-logs"
        worker_folders = set(os.listdir(logs))
        for pod in by_node[worker.name]:
            folder = folder_of(pod)
            assert folder in worker_folders, f"{folder} is not in {worker.name}'s {logs}: {sorted(worker_folders)}"
            assert folder not in host_folders, f"{worker.name}'s pod folder {folder} is in the host's /var/log/pods"
        for pod in [p for node, ps in by_node.items() if node != worker.name for p in ps]:
            assert folder_of(pod) not in worker_folders, \
                f"{pod['spec']['nodeName']}'s pod folder {folder_of(pod)} is in {worker.name}'s folder"
        print(f"  ok: {worker.name}'s {len(by_node[worker.name])} pod log folders are in {logs}, "
              "none in the host's /var/log/pods")


if __name__ == "__main__":
    main()
