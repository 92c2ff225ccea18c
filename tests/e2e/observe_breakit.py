#!/usr/bin/env python3
"""Watches the node from outside while a stage's break-it section runs, then judges what was seen.

  observe_breakit.py watch STAGE FILE    # every 0.3 s, one JSON line of what the node does (until SIGTERM)
  observe_breakit.py judge STAGE FILE    # the degraded state was seen, and then the healed one

It asks the API server (kubectl with the admin kubeconfig), the components' health ports and the pods
themselves, never kubescratch: the section's own checks are not taken as proof of what they check. (Only where to
look comes from kubescratch: the network plan of `status --json`.)
Only addresses on this node are contacted: loopback, the node's address and pod IPs on our bridge.
"""
import base64, json, os, signal, subprocess, sys, time

sys.dont_write_bytecode = True  # importing kslib must leave no __pycache__ in the repository
import kslib

NODE_NAME = os.environ.get("NODE_NAME", "")


class PlanOnDemand:
    """`kubescratch status --json` takes a moment (it probes every component): the plan is read at the first look
    that needs it, not before the first look, and again only for a worker it did not list yet."""

    def __init__(self):
        self.plan = None

    def get(self):
        if self.plan is None:
            self.plan = kslib.load_plan()
        return self.plan

    def worker(self, name, reread):
        """The worker's entry, or None; the plan is read again only when asked to and it does not list the worker."""
        if reread and (self.plan is None or not self.plan.has(name)):
            self.plan = kslib.load_plan()
        return self.plan.node(name) if self.plan is not None and self.plan.has(name) else None


def kubectl_json(*args):
    """The object, or None while the API server does not answer (the section stops it on purpose)."""
    result = kslib.kubectl(*args, "-o", "json", timeout=5)
    return json.loads(result.stdout) if result.ok else None


def answers(url, plans):
    return kslib.http_status(url, plans.get(), timeout=1.0)


def answering_pods(plans):
    """Pods on the first node's bridge that answer, found in host-local's store: with or without an API server."""
    return sum(1 for ip in kslib.handed_out_pod_ips(plans.get().first) if answers(f"http://{ip}/", plans) == 200)


def web_attempt():
    """The newest attempt of the web container, from containerd's CRI metadata (no API server in stage 1)."""
    newest = None
    for cid in kslib.ctr("containers", "ls", "-q", timeout=5).stdout.split():
        try:
            info = json.loads(kslib.ctr("containers", "info", cid, timeout=5).stdout)
            if info.get("Labels", {}).get("io.kubernetes.container.name") != "web":
                continue
            meta = json.loads(base64.b64decode(info["Extensions"]["io.cri-containerd.container.metadata"]["value"]))
            attempt = meta["Metadata"]["Config"]["metadata"].get("attempt", 0)
            newest = attempt if newest is None else max(newest, attempt)
        except (ValueError, KeyError):
            pass
    return newest


def nat_rules(service):
    done = subprocess.run(["iptables", "-w", "-t", "nat", "-S"], capture_output=True, text=True, timeout=5)
    return sum(1 for line in done.stdout.splitlines()
               if line.startswith("-A KUBE-") and f'--comment "default/{service}' in line)


def look(stage, plans):
    seen = {"t": round(time.time(), 2)}
    if stage == 1:
        # The attempt first: the section kills the container right after it starts, and the first look is the "before".
        seen["web_attempt"] = web_attempt()
        seen["answering_pods"] = answering_pods(plans)
    elif stage == 2:
        # The pods are found on the bridge, not through the API: the pinned pod may get its address only a moment
        # before the section stops the API server.
        seen["api_up"] = answers("https://127.0.0.1:6443/readyz", plans) == 200
        seen["answering_pods"] = answering_pods(plans)
    elif stage == 3:
        pod = kubectl_json("get", "pod", "breakit")
        seen["scheduler_up"] = answers("https://127.0.0.1:10259/healthz", plans) == 200
        seen["breakit"] = None if pod is None else (pod["spec"].get("nodeName") or "unbound")
        # The section deletes the pod right after it is bound: the scheduler's event outlives that moment.
        events = kubectl_json("get", "events", "--field-selector", "involvedObject.name=breakit,reason=Scheduled")
        seen["scheduled_events"] = len(events["items"]) if events else 0
    elif stage == 4:
        listed = kubectl_json("get", "pods", "-l", "app=web")
        pods = None if listed is None else [p for p in listed["items"] if not kslib.is_deleting(p)]
        seen["kcm_up"] = answers("https://127.0.0.1:10257/healthz", plans) == 200
        seen["web_pods"] = None if pods is None else len(pods)
        seen["web_ready"] = None if pods is None else len(kslib.ready_pods(pods))
    elif stage == 6:
        # The whole stage: node-2 joins, goes away and comes back; the section then takes the pod routes away.
        node = kubectl_json("get", "node", "node-2")
        seen["node2"] = None if node is None else next(
            (c["status"] for c in node["status"].get("conditions", []) if c["type"] == "Ready"), "Unknown")
        seen["unreachable"] = bool(node) and any(t["key"] == "node.kubernetes.io/unreachable" and t["effect"] == "NoExecute"
                                                  for t in node["spec"].get("taints", []))
        listed = kubectl_json("get", "pods", "-l", "app=web")
        on = kslib.group_by_node(kslib.ready_pods(listed["items"] if listed else []))
        seen["web_vm"] = len(on.get(NODE_NAME, []))
        seen["web_node2"] = len(on.get("node-2", []))
        # node-2 joins during the stage: status --json lists it once it runs, so the plan is read again once its Node
        # exists. Before that there is no route to look for.
        node2 = plans.worker("node-2", reread=node is not None)
        if node2 is None:
            seen["routes"] = None
        else:
            routes = subprocess.run(["ip", "route", "show", str(node2.pod_range)], capture_output=True, text=True).stdout
            seen["routes"] = f"via {node2.address}" in routes
    elif stage == 5:
        seen["proxy_up"] = answers("http://127.0.0.1:10256/healthz", plans) == 200
        seen["nodeport"] = answers(f"http://{plans.get().first.address}:30080/", plans)
        seen["service"] = kslib.kubectl("get", "service", "web", "-o", "name", timeout=5).ok
        seen["rules"] = nat_rules("web")
        listed = kubectl_json("get", "pods", "-l", "app=web")
        seen["web_pods"] = None if listed is None else len(listed["items"])
    return seen


def watch(stage, path):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    plans = PlanOnDemand()
    with open(path, "w") as out:
        while not stop:
            out.write(json.dumps(look(stage, plans)) + "\n")
            out.flush()
            time.sleep(0.3)


def judge(stage, path):
    seen = [json.loads(line) for line in open(path) if line.strip()]
    assert seen, "nothing was observed"

    def first(predicate, after=0):
        return next((i for i, s in enumerate(seen) if i >= after and predicate(s)), None)

    if stage == 1:
        # First the kill: containerd shows a newer attempt of the web container, the same pod answering.
        before = seen[0]["web_attempt"]
        restarted = first(lambda s: s["web_attempt"] is not None and before is not None and s["web_attempt"] > before
                          and s["answering_pods"] == 1)
        assert restarted is not None, f"stage 1: never saw the web container restarted (attempt {before} at first; last {seen[-1]})"
        print(f"  ok: stage 1 break it, seen from containerd: web container attempt {before} -> {seen[restarted]['web_attempt']}, "
              f"pod answering ({seen[restarted]['t'] - seen[0]['t']:.1f} s after the section began)")
        gone = first(lambda s: s["answering_pods"] == 0, after=restarted)
        back = first(lambda s: s["answering_pods"] == 1, after=(gone or 0))
        degraded, healed = "no pod answered once its manifest was removed", "the pod answered again once it was back"
    elif stage == 2:
        # Two pods answer only once the stage made the pinned pod (before it, only the static one does).
        gone = first(lambda s: not s["api_up"] and s["answering_pods"] >= 2)
        back = first(lambda s: s["api_up"] and s["answering_pods"] >= 2, after=(gone or 0))
        degraded, healed = "the API server was down while both pods answered", "the API server was ready again"
    elif stage == 3:
        gone = first(lambda s: not s["scheduler_up"] and s["breakit"] == "unbound")
        # The learner is the scheduler: the pod is bound by a Binding made by hand, with no scheduler running and no
        # Scheduled event (only kube-scheduler records one); then the scheduler comes back and leaves it alone.
        by_hand = first(lambda s: not s["scheduler_up"] and s["breakit"] not in (None, "unbound") and s["scheduled_events"] == 0,
                        after=(gone or 0))
        assert gone is None or by_hand is not None, f"stage 3: never saw the pod bound by hand while the scheduler was stopped (last {seen[-1]})"
        back = first(lambda s: s["scheduler_up"], after=(by_hand or 0))
        degraded, healed = "a new pod stayed unbound without the scheduler", "it was bound by a Binding made by hand, then the scheduler ran again"
    elif stage == 4:
        # After the stage's own steps (three pods there), not before the Deployment exists.
        had = first(lambda s: s["web_ready"] == 3)
        gone = None if had is None else first(lambda s: not s["kcm_up"] and s["web_pods"] == 0, after=had)
        back = first(lambda s: s["kcm_up"] and s["web_ready"] == 3, after=(gone or 0))
        degraded, healed = "no web pod came back without the controller manager", "three Ready replicas once it ran"
    elif stage == 6:
        joined = first(lambda s: s["node2"] == "True" and s["web_node2"] >= 1 and s["web_vm"] >= 1)
        assert joined is not None, f"stage 6: never saw node-2 Ready with web pods on both nodes (last {seen[-1]})"
        lost = first(lambda s: s["node2"] != "True" and s["unreachable"], after=joined)
        assert lost is not None, f"stage 6: never saw node-2 NotReady with the unreachable:NoExecute taint (last {seen[-1]})"
        evicted = first(lambda s: s["node2"] != "True" and s["web_vm"] == 4 and s["web_node2"] == 0, after=lost)
        assert evicted is not None, f"stage 6: never saw four Ready web pods on {NODE_NAME} while node-2 was gone (last {seen[-1]})"
        back = first(lambda s: s["node2"] == "True" and not s["unreachable"] and s["web_node2"] == 2, after=evicted)
        assert back is not None, f"stage 6: node-2 never came back Ready, untainted, with 2 new pods (last {seen[-1]})"
        print(f"  ok: stage 6 seen from the API: node-2 joined with pods on both nodes; NotReady + unreachable taint "
              f"{seen[lost]['t'] - seen[joined]['t']:.1f} s later; 4 pods on {NODE_NAME} "
              f"{seen[evicted]['t'] - seen[lost]['t']:.1f} s after that; back Ready with 2 new pods on node-2")
        gone = first(lambda s: s["routes"] is False, after=back)
        back = first(lambda s: s["routes"] and s["node2"] == "True", after=(gone or 0))
        degraded, healed = "the pod routes gone", "them back with node-2 Ready"
    else:
        gone = first(lambda s: not s["proxy_up"] and s["nodeport"] == 200)
        back = first(lambda s: s["proxy_up"] and s["nodeport"] == 200, after=(gone or 0))
        degraded, healed = "the NodePort answered with kube-proxy stopped", "kube-proxy healthy and the NodePort answering"
        # Then, kube-proxy running again, the Service goes: its rules go with it while its three pods stay; then it
        # comes back. (A look can take seconds while kube-proxy restarts, so the moment it answered again before the
        # delete may fall between two looks: the order asked is stopped → Service gone with kube-proxy up → back.)
        no_service = None if gone is None else first(
            lambda s: s["proxy_up"] and not s["service"] and s["rules"] == 0 and s["web_pods"] == 3, after=gone)
        assert no_service is not None, f"stage 5: never saw the Service gone with no rule left and 3 pods (last {seen[-1]})"
        again = first(lambda s: s["service"] and s["rules"] > 0 and s["nodeport"] == 200, after=no_service)
        assert again is not None, f"stage 5: the Service never came back with its rules (last {seen[-1]})"
        had = max(s["rules"] for s in seen[:no_service])
        print(f"  ok: stage 5 break it, seen from the API and iptables: Service deleted -> its {had} nat rules gone, "
              f"3 pods kept; back with {seen[again]['rules']} rules and the NodePort answering")
    assert gone is not None, f"stage {stage}: never saw that {degraded} ({len(seen)} observations; last {seen[-1]})"
    assert back is not None, f"stage {stage}: saw that {degraded}, but never that {healed} (last {seen[-1]})"
    if stage == 3:
        assert sum(1 for s in seen[gone:back] if s["breakit"] == "unbound") * 0.3 >= 3, "the pod was unbound for less than 3 s"
    print(f"  ok: stage {stage} break it, seen from outside: {degraded}; then {healed} "
          f"({seen[back]['t'] - seen[gone]['t']:.1f} s later)")


if __name__ == "__main__":
    mode, stage, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    (watch if mode == "watch" else judge)(stage, path)
