#!/usr/bin/env python3
"""Watches the node from outside while a stage's break-it section runs, then judges what was seen.

  observe_breakit.py watch STAGE FILE    # every 0.3 s, one JSON line of what the node does (until SIGTERM)
  observe_breakit.py judge STAGE FILE    # the degraded state was seen, and then the healed one

It asks the API server (kubectl with the admin kubeconfig), the components' health ports and the pods
themselves, never kubescratch: the section's own checks are not taken as proof of what they check.
Only addresses on this node are contacted: loopback, the node's address and pod IPs on our bridge.
"""
import base64, ipaddress, json, os, signal, subprocess, sys, time, urllib.request, ssl

STATE = os.environ.get("KUBESCRATCH_STATE_DIR", "/var/lib/kubescratch")
BIN = os.environ["BIN"]
NODE_IP = os.environ["NODE_IP"]
NODE_NAME = os.environ.get("NODE_NAME", "")
POD_NET = ipaddress.ip_network("10.200.0.0/24")


def kubectl(*args):
    env = dict(os.environ, KUBECONFIG=f"{STATE}/kubeconfigs/admin.kubeconfig", HOME=f"{STATE}/kubectl-home")
    done = subprocess.run([f"{BIN}/kubectl", *args], capture_output=True, text=True, env=env, timeout=5)
    return done.stdout if done.returncode == 0 else None


def answers(url, timeout=1.0):
    """The HTTP status of a GET, or None when nothing answers (certificates are not checked: health only)."""
    host = url.split("/")[2].split(":")[0]
    address = ipaddress.ip_address(host)
    assert address.is_loopback or host == NODE_IP or address in POD_NET, f"refusing to contact {host}"
    context = ssl._create_unverified_context()
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except Exception:
        return None


def pod_ips():
    """Addresses host-local handed out on our bridge (the IPAM store), with or without an API server."""
    found = []
    for root, _, files in os.walk(f"{STATE}/cni/ipam"):
        for name in files:
            try:
                if ipaddress.ip_address(name) in POD_NET:
                    found.append(name)
            except ValueError:
                pass
    return found


def ctr(*args):
    done = subprocess.run(["ctr", "-a", f"{STATE}/run/containerd.sock", "-n", "k8s.io", *args],
                          capture_output=True, text=True, timeout=5)
    return done.stdout if done.returncode == 0 else ""


def web_attempt():
    """The newest attempt of the web container, from containerd's CRI metadata (no API server in stage 1)."""
    newest = None
    for cid in ctr("containers", "ls", "-q").split():
        try:
            info = json.loads(ctr("containers", "info", cid))
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


def look(stage):
    seen = {"t": round(time.time(), 2)}
    if stage == 1:
        seen["answering_pods"] = sum(1 for ip in pod_ips() if answers(f"http://{ip}/") == 200)
        seen["web_attempt"] = web_attempt()
    elif stage == 2:
        # The pods are found on the bridge, not through the API: the pinned pod may get its address only a moment
        # before the section stops the API server.
        seen["api_up"] = answers("https://127.0.0.1:6443/readyz") == 200
        seen["answering_pods"] = sum(1 for ip in pod_ips() if answers(f"http://{ip}/") == 200)
    elif stage == 3:
        text = kubectl("get", "pod", "breakit", "-o", "json")
        pod = json.loads(text) if text else None
        seen["scheduler_up"] = answers("https://127.0.0.1:10259/healthz") == 200
        seen["breakit"] = None if pod is None else (pod["spec"].get("nodeName") or "unbound")
        # The section deletes the pod right after it is bound: the scheduler's event outlives that moment.
        events = kubectl("get", "events", "--field-selector", "involvedObject.name=breakit,reason=Scheduled", "-o", "json")
        seen["scheduled_events"] = len(json.loads(events)["items"]) if events else 0
    elif stage == 4:
        text = kubectl("get", "pods", "-l", "app=web", "-o", "json")
        pods = json.loads(text)["items"] if text else None
        seen["kcm_up"] = answers("https://127.0.0.1:10257/healthz") == 200
        seen["web_pods"] = None if pods is None else len([p for p in pods if not p["metadata"].get("deletionTimestamp")])
        seen["web_ready"] = None if pods is None else sum(
            1 for p in pods if not p["metadata"].get("deletionTimestamp")
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", [])))
    elif stage == 6:
        # The whole stage: node-2 joins, goes away and comes back; the section then takes the pod routes away.
        text = kubectl("get", "node", "node-2", "-o", "json")
        node = json.loads(text) if text else None
        seen["node2"] = None if node is None else next(
            (c["status"] for c in node["status"].get("conditions", []) if c["type"] == "Ready"), "Unknown")
        seen["unreachable"] = bool(node) and any(t["key"] == "node.kubernetes.io/unreachable" and t["effect"] == "NoExecute"
                                                  for t in node["spec"].get("taints", []))
        text = kubectl("get", "pods", "-l", "app=web", "-o", "json")
        pods = json.loads(text)["items"] if text else []
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")
                and any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))]
        seen["web_vm"] = sum(1 for p in live if p["spec"].get("nodeName") == NODE_NAME)
        seen["web_node2"] = sum(1 for p in live if p["spec"].get("nodeName") == "node-2")
        routes = subprocess.run(["ip", "route", "show", "10.200.1.0/24"], capture_output=True, text=True).stdout
        seen["routes"] = "via 10.201.0.2" in routes
    elif stage == 5:
        seen["proxy_up"] = answers("http://127.0.0.1:10256/healthz") == 200
        seen["nodeport"] = answers(f"http://{NODE_IP}:30080/")
        seen["service"] = kubectl("get", "service", "web", "-o", "name") is not None
        seen["rules"] = nat_rules("web")
        text = kubectl("get", "pods", "-l", "app=web", "-o", "json")
        seen["web_pods"] = None if text is None else len(json.loads(text)["items"])
    return seen


def watch(stage, path):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    with open(path, "w") as out:
        while not stop:
            out.write(json.dumps(look(stage)) + "\n")
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
