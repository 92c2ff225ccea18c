#!/usr/bin/env python3
"""kslib without a cluster: the plan parsed from a sample `status --json` of three nodes, the HTTP guard, the
helpers around kubectl and kubescratch (against fake binaries), waiting. Run: python3 tests/e2e/test_kslib.py"""
import copy
import http.server
import ipaddress
import json
import os
import socket
import sys
import tempfile
import threading
import unittest
from unittest import mock

sys.dont_write_bytecode = True  # importing kslib must leave no __pycache__ in the repository
import kslib

# The shape `kubescratch status --json` has with `stage 6 --nodes 3`; the first node's nil fields left out, as Swift's
# JSONEncoder does by default (test_explicit_nulls has them as null).
STATUS = {
    "clusterCIDR": "10.200.0.0/16",
    "serviceRange": "10.32.0.0/24",
    "completedStage": 6,
    "components": [],
    "nodes": [
        {"name": "vm", "address": "192.0.2.2", "podRange": "10.200.0.0/24", "bridge": "cni0",
         "stateDir": "/var/lib/kubescratch", "cgroupParent": "/",
         "components": ["containerd", "kubelet", "etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager",
                        "kube-proxy"]},
        {"name": "node-2", "address": "10.201.0.2", "podRange": "10.200.1.0/24", "namespace": "ks-node-2",
         "hostAddress": "10.201.0.1", "link": "10.201.0.0/30", "bridge": "cni1", "stateDir": "/var/lib/kubescratch/node-2",
         "cgroupParent": "/ks-node-2", "components": ["node-2-containerd", "node-2-kubelet", "node-2-kube-proxy"]},
        {"name": "node-3", "address": "10.201.0.6", "podRange": "10.200.2.0/24", "namespace": "ks-node-3",
         "hostAddress": "10.201.0.5", "link": "10.201.0.4/30", "bridge": "cni2", "stateDir": "/var/lib/kubescratch/node-3",
         "cgroupParent": "/ks-node-3", "components": ["node-3-containerd", "node-3-kubelet", "node-3-kube-proxy"]},
    ],
}


def executable(folder, name, script):
    path = os.path.join(folder, name)
    with open(path, "w") as out:
        out.write("#!/bin/sh\n" + script)
    os.chmod(path, 0o755)
    return path


class PlanTests(unittest.TestCase):
    plan = kslib.parse_plan(STATUS)

    def test_nodes_in_order(self):
        self.assertEqual(self.plan.names, ["vm", "node-2", "node-3"])
        self.assertEqual(self.plan.first.name, "vm")
        self.assertEqual([w.name for w in self.plan.workers], ["node-2", "node-3"])
        self.assertEqual(self.plan.cluster_cidr, ipaddress.IPv4Network("10.200.0.0/16"))

    def test_first_node_has_no_link(self):
        first = self.plan.first
        self.assertEqual((str(first.address), str(first.pod_range)), ("192.0.2.2", "10.200.0.0/24"))
        self.assertIsNone(first.link)
        self.assertIsNone(first.host_address)
        self.assertEqual(first.state_dir, "/var/lib/kubescratch")

    def test_explicit_nulls(self):
        status = copy.deepcopy(STATUS)
        status["nodes"][0].update(namespace=None, hostAddress=None, link=None)
        self.assertEqual(kslib.parse_plan(status), self.plan)

    def test_workers_follow_the_numbering_rule(self):
        # The rule the Swift side follows for node k >= 2; the scripts never recompute it, they read the plan.
        for k in (2, 3):
            node = self.plan.node(f"node-{k}")
            base = 4 * (k - 2)
            self.assertEqual(node.address, ipaddress.IPv4Address(f"10.201.0.{base + 2}"))
            self.assertEqual(node.host_address, ipaddress.IPv4Address(f"10.201.0.{base + 1}"))
            self.assertEqual(node.link, ipaddress.IPv4Network(f"10.201.0.{base}/30"))
            self.assertEqual(node.pod_range, ipaddress.IPv4Network(f"10.200.{k - 1}.0/24"))
            self.assertEqual(node.state_dir, f"/var/lib/kubescratch/node-{k}")

    def test_node_lookups(self):
        self.assertEqual(self.plan.node_running("kube-apiserver").name, "vm")
        self.assertEqual(self.plan.node_running("node-3-kubelet").name, "node-3")
        self.assertRaisesRegex(AssertionError, "on no node", self.plan.node_running, "node-4-kubelet")
        self.assertRaisesRegex(AssertionError, "no node node-4", self.plan.node, "node-4")
        self.assertTrue(self.plan.has("node-3"))
        self.assertFalse(self.plan.has("node-4"))
        self.assertEqual(self.plan.node_holding("10.200.2.7").name, "node-3")
        self.assertEqual(self.plan.node_holding("10.200.0.1").name, "vm")
        for outside in ("10.200.3.7", "10.201.0.2", "not an address", ""):
            self.assertIsNone(self.plan.node_holding(outside), outside)

    def test_guard_accepts_what_the_plan_assigns(self):
        for host in ("127.0.0.1", "192.0.2.2", "10.201.0.1", "10.201.0.2", "10.201.0.5", "10.201.0.6",
                     "10.200.0.2", "10.200.1.7", "10.200.2.254"):
            self.assertTrue(self.plan.may_contact(host), host)

    def test_guard_refuses_everything_else(self):
        for host in ("10.0.0.1", "8.8.8.8", "10.201.1.2", "10.201.0.0", "10.201.0.3", "10.201.0.9", "10.200.3.1",
                     "10.32.0.10", "127.0.0.2", "192.0.2.3", "localhost", "example.com", ""):
            self.assertFalse(self.plan.may_contact(host), host)

    def test_missing_plan_is_refused(self):
        for broken in ({}, {"clusterCIDR": "10.200.0.0/16"}, {"nodes": STATUS["nodes"]},
                       dict(STATUS, clusterCIDR="10.200.0.1/16")):
            self.assertRaisesRegex(AssertionError, "no usable network plan", kslib.parse_plan, broken)

    def test_plan_that_would_widen_the_guard_is_refused(self):
        def changed(index, **fields):
            status = copy.deepcopy(STATUS)
            status["nodes"][index].update(fields)
            return status

        cases = {
            "outside the cluster CIDR": changed(2, podRange="10.100.2.0/24"),
            "overlaps": changed(2, podRange="10.200.0.0/23"),
            "does not hold its two ends": changed(1, address="10.201.0.6"),
            "not a private range": changed(2, link="8.8.8.0/30", address="8.8.8.2", hostAddress="8.8.8.1"),
            "has a link": changed(0, link="10.201.0.0/30"),
            "names repeat": changed(2, name="node-2"),
            "has no link": changed(1, link=None),
        }
        for message, status in cases.items():
            self.assertRaisesRegex(AssertionError, message, kslib.parse_plan, status)
        self.assertRaisesRegex(AssertionError, "not a private range", kslib.parse_plan, dict(STATUS, clusterCIDR="11.0.0.0/8"))
        self.assertRaisesRegex(AssertionError, "no node", kslib.parse_plan, dict(STATUS, nodes=[]))
        self.assertRaisesRegex(AssertionError, "apart from the cluster CIDR", kslib.parse_plan, dict(STATUS, serviceRange="10.200.9.0/24"))
        self.assertRaisesRegex(AssertionError, "no usable network plan", kslib.parse_plan, {k: v for k, v in STATUS.items() if k != "serviceRange"})


class RefusingOpener:
    """Fails the test if a request is made: the guard must refuse before any connection."""

    def open(self, url, timeout):
        raise AssertionError(f"a request was made to {url}")


class HTTPTests(unittest.TestCase):
    plan = kslib.parse_plan(STATUS)

    @classmethod
    def setUpClass(cls):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/":
                    self.send_response(200)
                elif self.path == "/elsewhere":
                    self.send_response(302)
                    self.send_header("Location", "http://8.8.8.8/")
                else:
                    self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        cls.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        cls.base = f"http://127.0.0.1:{cls.server.server_port}"
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def test_statuses_from_a_local_server(self):
        self.assertEqual(kslib.http_status(f"{self.base}/", self.plan), 200)
        self.assertEqual(kslib.http_status(f"{self.base}/missing", self.plan), 404)

    def test_redirect_is_not_followed(self):
        self.assertEqual(kslib.http_status(f"{self.base}/elsewhere", self.plan), 302)

    def test_proxy_in_the_environment_is_not_used(self):
        with mock.patch.dict(os.environ, {"http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}):
            # urllib reads proxies when an opener is built: build one under the proxy-naming environment.
            with mock.patch.object(kslib, "_OPENER", kslib._opener()):
                self.assertEqual(kslib.http_status(f"{self.base}/", self.plan), 200)

    def test_nothing_listening_is_a_reason_not_a_status(self):
        with socket.socket() as probe:  # a port nothing listens on: bound, then closed
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        answer = kslib.http_status(f"http://127.0.0.1:{port}/", self.plan, timeout=1)
        self.assertIsInstance(answer, str)
        self.assertIn("refused", answer)

    def test_guard_refuses_before_connecting(self):
        with mock.patch.object(kslib, "_OPENER", RefusingOpener()):
            for url in ("http://10.0.0.1/", "http://8.8.8.8:80/", "http://10.201.1.2:30080/", "https://example.com/",
                        "http://10.32.0.10/"):
                self.assertRaisesRegex(AssertionError, "refusing to contact", kslib.http_status, url, self.plan)

    def test_also_allow_admits_only_its_range(self):
        opened = []

        class RecordingOpener:
            def open(self, url, timeout):
                opened.append(url)
                raise OSError("not really sent")

        with mock.patch.object(kslib, "_OPENER", RecordingOpener()):
            allowed = kslib.http_status("http://10.32.0.10:80/", self.plan, also_allow=self.plan.service_range)
            self.assertEqual(allowed, "not really sent")
            self.assertRaises(AssertionError, kslib.http_status, "http://10.32.1.10/", self.plan,
                              also_allow=self.plan.service_range)
        self.assertEqual(opened, ["http://10.32.0.10:80/"])

    def test_request_from_pod_refuses_addresses_outside_the_pod_ranges(self):
        for ip in ("10.0.0.1", "8.8.8.8", "10.201.0.2", "10.32.0.10", "10.200.3.4", "10.200.1.2; reboot"):
            self.assertRaisesRegex(AssertionError, "refusing", kslib.request_from_pod, "web-1", ip, self.plan)

    def test_http_200_status_line(self):
        for line in ("HTTP/1.0 200 OK", "HTTP/1.1 200"):
            self.assertTrue(kslib.is_http_200(line), line)
        for line in ("HTTP/1.0 2000", "HTTP/1.1 404 Not Found", "HTTP/2 200", "", "error: 200"):
            self.assertFalse(kslib.is_http_200(line), line)


class CommandTests(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.addCleanup(self.folder.cleanup)
        state = os.path.join(self.folder.name, "state")
        environment = {"BIN": self.folder.name, "KUBESCRATCH_STATE_DIR": state,
                       "KS": executable(self.folder.name, "kubescratch", f"cat <<'JSON'\n{json.dumps(STATUS)}\nJSON\n")}
        patcher = mock.patch.dict(os.environ, environment)
        patcher.start()
        self.addCleanup(patcher.stop)
        for variable in ("NODE_NAME", "NODE_IP"):
            os.environ.pop(variable, None)
        self.state = state

    def test_load_plan_runs_status_json(self):
        self.assertEqual(kslib.load_plan().names, ["vm", "node-2", "node-3"])

    def test_load_plan_agrees_with_run_sh(self):
        os.environ.update(NODE_NAME="vm", NODE_IP="192.0.2.2")
        self.assertEqual(str(kslib.load_plan().first.address), "192.0.2.2")
        os.environ["NODE_IP"] = "192.0.2.9"
        self.assertRaisesRegex(AssertionError, "NODE_IP is 192.0.2.9", kslib.load_plan)
        os.environ.update(NODE_NAME="other", NODE_IP="192.0.2.2")
        self.assertRaisesRegex(AssertionError, "NODE_NAME is other", kslib.load_plan)

    def test_kubectl_gets_its_own_home_and_the_admin_kubeconfig(self):
        echo = 'printf \'{"home": "%s", "kubeconfig": "%s", "args": "%s"}\' "$HOME" "$KUBECONFIG" "$*"\n'
        executable(self.folder.name, "kubectl", echo)
        self.assertEqual(kslib.kubectl_json("get", "pods"),
                         {"home": f"{self.state}/kubectl-home", "kubeconfig": f"{self.state}/kubeconfigs/admin.kubeconfig",
                          "args": "get pods -o json"})

    def test_kubectl_failures_name_their_cause(self):
        executable(self.folder.name, "kubectl", 'echo "the server is down" >&2; exit 1\n')
        self.assertRaisesRegex(AssertionError, "kubectl get node vm -o json failed: the server is down",
                               kslib.kubectl_json, "get", "node", "vm")
        executable(self.folder.name, "kubectl", "exec sleep 5\n")
        slow = kslib.kubectl("get", "pods", timeout=0.2)
        self.assertFalse(slow.ok)
        self.assertIn("timed out", slow.why)

    def test_kubescratch_failure_is_an_assertion(self):
        executable(self.folder.name, "kubescratch", 'echo "no state" >&2; exit 2\n')
        self.assertRaisesRegex(AssertionError, "kubescratch status --json failed: no state", kslib.load_plan)

    def test_no_bin_is_a_clear_failure(self):
        del os.environ["BIN"]
        self.assertRaisesRegex(AssertionError, "BIN must name", kslib.kubectl, "get", "pods")

    def test_handed_out_pod_ips(self):
        node = kslib.parse_plan(dict(STATUS, nodes=[dict(STATUS["nodes"][0], stateDir=self.state)])).first
        store = os.path.join(self.state, "cni", "ipam", "kubescratch")
        os.makedirs(store)
        for name in ("10.200.0.3", "10.200.0.2", "10.200.1.5", "last_reserved_ip.0", "lock"):
            open(os.path.join(store, name), "w").close()
        self.assertEqual(kslib.handed_out_pod_ips(node), ["10.200.0.2", "10.200.0.3"])


class WaitAndObjectTests(unittest.TestCase):
    def test_wait_until_returns_once_true(self):
        calls = []

        def third_time():
            calls.append(1)
            return len(calls) >= 3 or f"{len(calls)} calls"

        kslib.wait_until("three calls", third_time, timeout=5, interval=0.01)
        self.assertEqual(len(calls), 3)

    def test_wait_until_names_what_was_last_seen(self):
        def never():
            raise AssertionError("still Pending")

        self.assertRaisesRegex(AssertionError, r"pod Running: not within 0.05 s \(last seen: still Pending\)",
                               kslib.wait_until, "pod Running", never, timeout=0.05, interval=0.01)

    def test_ready_pods_by_node(self):
        def pod(name, node, ready, deleting=False):
            meta = {"name": name, **({"deletionTimestamp": "now"} if deleting else {})}
            return {"metadata": meta, "spec": {"nodeName": node},
                    "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}

        pods = [pod("a", "vm", True), pod("b", "node-2", True), pod("c", "node-2", False), pod("d", "vm", True, deleting=True)]
        by_node = kslib.group_by_node(kslib.ready_pods(pods))
        names = {node: [p["metadata"]["name"] for p in pods] for node, pods in by_node.items()}
        self.assertEqual(names, {"vm": ["a"], "node-2": ["b"]})
        self.assertFalse(kslib.is_ready({"metadata": {}, "status": {}}))


if __name__ == "__main__":
    unittest.main()
