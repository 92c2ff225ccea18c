import Foundation
import KubescratchCore
import Testing

/// The step kinds added for "show what is hidden" and for break-it at every stage.
@Suite struct HiddenStateTests {
    let parser = LessonParser(knownManifests: ["service.yaml", "pod.yaml"])

    func lesson(_ body: String) throws(LessonError) -> Lesson {
        try parser.parse("---\ntitle: T\nstage: 5\ncomponents: [kube-proxy]\n---\n" + body, file: "t.md")
    }

    func step(_ yaml: String) throws(LessonError) -> Step.Kind {
        try lesson("```step\nid: s\ntitle: S\n\(yaml)\n```\n").steps[0].kind
    }

    @Test func newStepKindsParse() throws {
        #expect(try step("kill-container: web-static") == .action(.killContainer(pod: "web-static"), expectFailure: nil))
        #expect(try step("show: etcd-keys") == .action(.show(.etcdKeys), expectFailure: nil))
        #expect(try step("show: kubelet-certificate") == .action(.show(.kubeletCertificate), expectFailure: nil))
        #expect(try step("check: container-restarted\npod: web-static") == .check(.containerRestarted(pod: "web-static")))
        #expect(try step("check: proxy-rules\nservice: web") == .check(.proxyRules(service: "web", present: true)))
        #expect(try step("check: proxy-rules-gone\nservice: web") == .check(.proxyRules(service: "web", present: false)))
        #expect(try step("check: http-answers\nservice: web\nhost: cluster-ip") == .check(.httpAnswers(.clusterIP(service: "web"), status: 200)))
    }

    @Test func unknownShowAndHostAreRefusedWithTheChoices() {
        do {
            _ = try step("show: secrets")
            Issue.record("show: secrets was accepted")
        } catch {
            #expect(error.message.contains("etcd-keys") && error.message.contains("kubelet-certificate"))
        }
        do {
            _ = try step("check: http-answers\nservice: web\nhost: 8.8.8.8")
            Issue.record("an unknown host was accepted")
        } catch {
            #expect(error.message.contains("cluster-ip"))
        }
    }

    @Test func aDeletedServiceMustComeBackButTidyingUpIsFine() throws {
        let broken = "## Break it\n```step\nid: d\ntitle: D\ndelete: service.yaml\n```\n```step\nid: c\ntitle: C\ncheck: proxy-rules-gone\nservice: web\n```\n"
        #expect(throws: LessonError.self) { try lesson(broken) }
        let healed = broken + "```step\nid: a\ntitle: A\napply: service.yaml\n```\n```step\nid: h\ntitle: H\ncheck: proxy-rules\nservice: web\n```\n"
        let parsed = try lesson(healed)
        #expect(parsed.breakItUndo.map(\.id) == ["a"], "a cut section applies the Service again")
        // A pod the section makes and deletes itself is not a break (stage 3's section does this).
        let tidy = "## Break it\n```step\nid: a\ntitle: A\napply: pod.yaml\n```\n```step\nid: d\ntitle: D\ndelete: pod.yaml\n```\n```step\nid: c\ntitle: C\ncheck: pod-gone\npod: p\n```\n"
        #expect(try lesson(tidy).breakIt.count == 3)
        #expect(try lesson(tidy).breakItUndo.isEmpty, "healing a cut section must not make the section's own pod again")
    }

    // MARK: version notes

    @Test func oneVersionNotesAsidePerLessonAndItMustClose() throws {
        let notes = "```version-notes\nOn 1.24 it changed.\n```\n"
        let parsed = try lesson("Text.\n\n" + notes + "\n```step\nid: s\ntitle: S\nstart: kube-proxy\n```\n")
        #expect(parsed.steps[0].prose.contains("```version-notes"), "the aside stays in the prose, where the screen draws it")
        #expect(throws: LessonError.self) { try lesson(notes + notes) }
        do {
            _ = try lesson("```version-notes\nnever closed\n")
            Issue.record("an open aside was accepted")
        } catch {
            #expect(error.message.contains("not closed") && error.line == 6)
        }
        #expect(throws: LessonError.self) { try lesson("```version-notes\n```step\nid: s\ntitle: S\nstart: kube-proxy\n```\n```\n") }
    }

    @Test func theScreenDimsTheNotesOrFoldsThemIntoOneLine() {
        let text = "Main text.\n\n```version-notes\nFrom 1.24 kube-proxy holds no node ports.\n\n- a list item\n```\n\nAfter."
        let shown = MarkdownLayout.lines(text, width: 40)
        let notes = shown.filter { $0.style == .dim }
        #expect(notes.first?.text.hasPrefix("Version notes") == true)
        #expect(notes.contains { $0.text.hasPrefix("│ From 1.24") })
        #expect(notes.contains { $0.text.contains("a list item") })
        #expect(shown.contains { $0.text == "After." && $0.style == .plain })
        #expect(shown.allSatisfy { $0.text.count <= 40 })
        let folded = MarkdownLayout.lines(text, width: 40, shown: [])
        #expect(folded.filter { $0.style == .dim }.map(\.text).joined(separator: " ") == "Version notes hidden: v shows how other releases differ")
        #expect(!folded.contains { $0.text.contains("1.24") })
        #expect(folded.contains { $0.text == "Main text." } && folded.contains { $0.text == "After." })
    }

    @Test func everyShippedLessonHasAtMostOneAsideAndTheStagesHaveOne() throws {
        let parser = LessonParser()
        for file in try FileManager.default.contentsOfDirectory(atPath: Repo.lessons) where file.hasSuffix(".md") && file != "README.md" {
            let text = try String(contentsOfFile: "\(Repo.lessons)/\(file)", encoding: .utf8)
            let lesson = try parser.parse(text, file: file)
            let count = text.components(separatedBy: "\n").filter { $0.trimmingCharacters(in: .whitespaces) == "```version-notes" }.count
            #expect(count == (lesson.stage == nil ? count : 1), "\(file) has \(count) version notes asides")
        }
    }

    // MARK: etcd keys

    @Test func etcdKeysAreGroupedByResourceAndApiGroup() {
        let keys = ["/registry/pods/default/web-static-vm", "/registry/pods/default/pinned-pod", "/registry/minions/vm",
                    "/registry/clusterroles/admin", "/registry/clusterroles/edit", "/registry/clusterroles/view", "/registry/clusterroles/cluster-admin",
                    "/registry/apiregistration.k8s.io/apiservices/v1.", "/registry/apiregistration.k8s.io/apiservices/v1.apps",
                    "compact_rev_key"]
        #expect(EtcdKeyListing.resource(of: "/registry/apiregistration.k8s.io/apiservices/v1.apps") == "apiregistration.k8s.io/apiservices")
        #expect(EtcdKeyListing.resource(of: "/registry/minions/vm") == "minions")
        let lines = EtcdKeyListing.summary(keys)
        #expect(lines[0] == "9 keys under /registry/, 4 kinds of object:", "etcd's own compact_rev_key is not the API server's")
        #expect(lines.contains("  /registry/clusterroles/…  (4 keys)"))
        #expect(lines.contains("  /registry/minions/vm"))
        #expect(lines.contains("  /registry/pods/default/pinned-pod  /registry/pods/default/web-static-vm"))
        #expect(lines.count == 5)
    }

    // MARK: the kubelet's certificate

    @Test func theKubeletCertificateSummaryNamesTheNodeAuthorizersUserAndGroup() throws {
        let layout = StateLayout(root: FileManager.default.temporaryDirectory.appendingPathComponent("ks-cert-\(UUID().uuidString)").path)
        let output = try ClusterPKI.generate(facts: Sample.facts(kubernetes: KubernetesVersion(1, 20, 2)), network: ClusterNetwork(), layout: layout)
        let pem = try #require(output.files.first { $0.path == PKIFiles(layout: layout).cert("kubelet-client") }).contents
        let lines = try CertificateSummary.lines(pem: pem)
        #expect(lines[0].hasPrefix("Subject: ") && lines[0].contains("CN=system:node:vm") && lines[0].contains("O=system:nodes"))
        #expect(lines[1].hasPrefix("Issuer:  ") && lines[1].contains("CN=kubescratch"), "\(lines[1])")
        #expect(lines.contains { $0.hasPrefix("Usage:") && $0.contains("clientAuth") })
        #expect(throws: (any Error).self) { try CertificateSummary.lines(pem: "not a certificate") }
    }
}

/// kube-proxy's rules, read from a real `iptables -t nat -S` of a v1.20.2 node at the end of stage 5.
@Suite struct ServiceRulesTests {
    static let capture = try! String(contentsOfFile: Repo.fixtures + "/stage5-iptables-nat.txt", encoding: .utf8)

    @Test func findsEveryRuleOfTheServiceInARealCapture() {
        let rules = ServiceRules(service: "web", iptablesSave: Self.capture)
        #expect(rules.rules.count == 13)
        #expect(rules.endpointChains.count == 3, "one KUBE-SEP chain per Ready pod")
        #expect(rules.chains.contains("KUBE-NODEPORTS") && rules.chains.contains("KUBE-SERVICES"))
        #expect(rules.chains.contains { $0.hasPrefix("KUBE-SVC-") })
        #expect(rules.catches(clusterIP: "10.32.0.215"))
        #expect(!rules.catches(clusterIP: "10.32.0.216"), "only the Service's own address")
    }

    @Test func otherServicesAndNamespacesAreNotCounted() {
        #expect(ServiceRules(service: "we", iptablesSave: Self.capture).rules.isEmpty, "a prefix of the name is another Service")
        #expect(ServiceRules(service: "web", namespace: "kube-system", iptablesSave: Self.capture).rules.isEmpty)
        let kubernetes = ServiceRules(service: "kubernetes", iptablesSave: Self.capture)
        #expect(!kubernetes.rules.isEmpty && !kubernetes.rules.contains { $0.contains("default/web") })
        let withoutWeb = Self.capture.split(separator: "\n").filter { !$0.contains("default/web") }.joined(separator: "\n")
        #expect(ServiceRules(service: "web", iptablesSave: withoutWeb).rules.isEmpty)
        #expect(ServiceRules(service: "web", iptablesSave: withoutWeb).description == "no rule mentions the Service")
    }
}
