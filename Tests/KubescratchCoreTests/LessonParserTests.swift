import Foundation
import KubescratchCore
import Testing

@Suite struct LessonParserTests {
    let parser = LessonParser(knownManifests: ["pod.yaml"])

    func parse(_ text: String) throws(LessonError) -> Lesson { try parser.parse(text, file: "x.md") }

    func error(_ text: String) -> LessonError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    let good = """
        ---
        title: Test
        stage: 2
        components: [containerd, kubelet]
        rewind:
          - { id: undo, title: Undo, stop: kubelet }
        ---
        # Heading

        Some prose.

        ```step
        id: start
        title: Start the kubelet
        start: kubelet
        mode: standalone
        timeout: 30
        ```

        More prose.

        ```step
        id: pending
        title: Stays pending
        check: pod-unscheduled
        pod: p
        hold: 5s
        ```

        Closing words.
        """

    @Test func parsesStepsProseAndRewind() throws {
        let lesson = try parse(good)
        #expect(lesson.stage == 2)
        #expect(lesson.components == [.containerd, .kubelet])
        #expect(lesson.steps.map(\.id) == ["start", "pending"])
        #expect(lesson.steps[0].kind == .action(.start(.kubelet, .standalone), expectFailure: nil))
        #expect(lesson.steps[0].timeoutSeconds == 30)
        #expect(lesson.steps[0].prose == "# Heading\n\nSome prose.")
        #expect(lesson.steps[0].line == 13)
        #expect(lesson.steps[1].kind == .check(.podUnscheduled("p")))
        #expect(lesson.steps[1].holdSeconds == 5)
        #expect(lesson.rewind.map(\.kind) == [.action(.stop(.kubelet), expectFailure: nil)])
        #expect(lesson.closing == "Closing words.")
    }

    @Test func unknownActionOrCheckSaysWhatIsExpected() throws {
        let unknownCheck = try #require(error(good.replacingOccurrences(of: "check: pod-unscheduled", with: "check: pod-flying")))
        #expect(unknownCheck.line == 25)
        #expect(unknownCheck.message.contains("unknown check 'pod-flying'"))
        let unknownField = try #require(error(good.replacingOccurrences(of: "start: kubelet", with: "launch: kubelet")))
        #expect(unknownField.message.contains("unknown field 'launch'"))
        #expect(unknownField.line == 15)
    }

    @Test func missingFieldIsNamed() throws {
        let missing = try #require(error(good.replacingOccurrences(of: "title: Start the kubelet\n", with: "")))
        #expect(missing.message == "missing field 'title'")
    }

    @Test func badYAMLHasALine() throws {
        let bad = try #require(error(good.replacingOccurrences(of: "mode: standalone", with: "mode: [standalone")))
        #expect(bad.message.contains("not valid YAML"))
        #expect(bad.line >= 12)
    }

    @Test func duplicateIdsAreRejected() throws {
        let duplicate = try #require(error(good.replacingOccurrences(of: "id: pending", with: "id: start")))
        #expect(duplicate.message.contains("duplicate step id 'start'"))
    }

    @Test func unknownManifestAndComponentAreRejected() throws {
        let text = good.replacingOccurrences(of: "start: kubelet\nmode: standalone", with: "apply: nothere.yaml")
        #expect(try #require(error(text)).message.contains("no manifest 'nothere.yaml'"))
        let component = good.replacingOccurrences(of: "start: kubelet", with: "start: docker")
        #expect(try #require(error(component)).message.contains("unknown component 'docker'"))
        let frontComponent = good.replacingOccurrences(of: "[containerd, kubelet]", with: "[containerd, dockerd]")
        #expect(try #require(error(frontComponent)).line == 4)
    }

    @Test func aStepDoesExactlyOneThing() throws {
        let two = good.replacingOccurrences(of: "mode: standalone", with: "mode: standalone\nstop: etcd")
        #expect(try #require(error(two)).message.contains("has start and stop"))
        let none = good.replacingOccurrences(of: "start: kubelet\nmode: standalone\n", with: "")
        #expect(try #require(error(none)).message.contains("does nothing"))
    }

    @Test func structureErrors() throws {
        #expect(try #require(error("# no front matter")).message.contains("expected front matter"))
        #expect(try #require(error("---\ntitle: x\n")).message.contains("not closed"))
        let unclosed = good.replacingOccurrences(of: "Closing words.", with: "```step\nid: z\ntitle: z\nstop: etcd")
        #expect(try #require(error(unclosed)).message.contains("step block is not closed"))
        let noStage = good.replacingOccurrences(of: "stage: 2\n", with: "")
        #expect(try #require(error(noStage)).message.contains("steps need a stage"))
        let stageSeven = good.replacingOccurrences(of: "stage: 2", with: "stage: 7")
        #expect(try #require(error(stageSeven)).message.contains("stage must be 1 to 6"))
    }

    /// A watch is bounded and says how long; create, the pod → Service check and the new shows parse.
    @Test func watchCreateAndThePodToServiceCheck() throws {
        func one(_ block: String) throws -> Step {
            try #require(try parse(good.replacingOccurrences(of: "Closing words.", with: "```step\n\(block)\n```\n")).steps.last)
        }
        let watch = try one("id: w\ntitle: Watch\nwatch: [get, pods, -w]\nfor: 6\nfast-forward: skip")
        #expect(watch.kind == .action(.watch(["get", "pods", "-w"], seconds: 6), expectFailure: nil) && watch.skippedWhenFastForwarding)
        #expect(try #require(error(good.replacingOccurrences(of: "Closing words.", with: "```step\nid: w\ntitle: W\nwatch: [get, pods]\nfor: 6\n```\n")))
            .message.contains("with -w"))
        #expect(try #require(error(good.replacingOccurrences(of: "Closing words.", with: "```step\nid: w\ntitle: W\nwatch: [get, pods, -w]\n```\n")))
            .message.contains("`for: N`"))
        #expect(try one("id: b\ntitle: Bind\ncreate: pod.yaml").kind == .action(.create("pod.yaml"), expectFailure: nil))
        #expect(try one("id: r\ntitle: R\ncheck: pod-reaches\nselector: app=web\nservice: web").kind == .check(.podReachesService(selector: "app=web", service: "web")))
        #expect(try one("id: n\ntitle: N\nshow: pod-network").kind == .action(.show(.podNetwork), expectFailure: nil))
        #expect(try one("id: s\ntitle: S\nshow: etcd-secret\nanswers: [protobuf, k8s]").answers == ["protobuf", "k8s"])
    }

    /// `lessons check` warns where an answer a step reveals stands before its Predict prompt, and not otherwise.
    @Test func answersGivenAwayBeforeTheirPromptAreFound() throws {
        let text = """
            ---
            title: T
            stage: 1
            components: [containerd]
            ---
            The bridge plugin gives the pod its address.

            **Predict:** which program gives the pod its address?

            ```step
            id: ip
            title: Look
            check: pod-running
            pod: web
            answers: [bridge, host-local]
            ```

            The bridge plugin, from the host-local range.
            """
        let lesson = try LessonParser().parse(text, file: "t.md")
        let warnings = LessonParser.predictLeaks(in: text, lesson: lesson)
        #expect(warnings.count == 1)
        #expect(warnings.first?.line == 6 && warnings.first?.message.contains("'bridge'") == true, "\(warnings)")
        let fixed = text.replacingOccurrences(of: "The bridge plugin gives the pod its address.", with: "A pod needs an address.")
        #expect(LessonParser.predictLeaks(in: fixed, lesson: try LessonParser().parse(fixed, file: "t.md")).isEmpty)
        let noPrompt = fixed.replacingOccurrences(of: "**Predict:** which", with: "Which")
        #expect(LessonParser.predictLeaks(in: noPrompt, lesson: try LessonParser().parse(noPrompt, file: "t.md")).first?.message
            .contains("no **Predict:** prompt") == true)
    }

    @Test func onlyChecksCanBeSkippedWhenFastForwarding() throws {
        let skipped = good.replacingOccurrences(of: "hold: 5s", with: "hold: 5s\nfast-forward: skip")
        let lesson = try parse(skipped)
        #expect(lesson.steps.map(\.skippedWhenFastForwarding) == [false, true])
        #expect(try parse(good).steps.allSatisfy { !$0.skippedWhenFastForwarding }, "waited for unless marked")
        let onAction = good.replacingOccurrences(of: "timeout: 30", with: "timeout: 30\nfast-forward: skip")
        let actionError = try #require(error(onAction))
        #expect(actionError.message.contains("only a check, a watch, a show or a trace can be skipped") && actionError.line == 18)
        let badValue = good.replacingOccurrences(of: "hold: 5s", with: "hold: 5s\nfast-forward: maybe")
        #expect(try #require(error(badValue)).message.contains("fast-forward must be skip or wait"))
    }

    @Test func errorsPrintAsFileLineMessage() {
        #expect(LessonError(file: "a.md", line: 3, message: "m").description == "a.md:3: m")
    }

    /// The shipped lessons: every stage, valid, and each stage's steps in a sensible order.
    @Test func shippedLessonsAreValid() throws {
        let manifests = Set(try FileManager.default.contentsOfDirectory(atPath: Repo.assets).filter { $0.hasSuffix(".yaml") })
        let parser = LessonParser(knownManifests: manifests)
        var stages: [Int: Lesson] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: Repo.lessons) where file.hasSuffix(".md") && file != "README.md" {
            let lesson = try parser.parse(String(contentsOfFile: "\(Repo.lessons)/\(file)", encoding: .utf8), file: file)
            if let stage = lesson.stage { stages[stage] = lesson }
        }
        #expect(stages.keys.sorted() == Array(Lesson.stages))
        // Each stage starts the component it is named for, and the last stage has them all.
        let starts: [Int: ComponentID] = [2: .kubeAPIServer, 3: .kubeScheduler, 4: .kubeControllerManager, 5: .kubeProxy]
        for (stage, component) in starts {
            #expect(stages[stage]!.steps.contains { $0.kind == .action(.start(component, .cluster), expectFailure: nil) }, "stage \(stage)")
            #expect(stages[stage]!.rewind.isEmpty == false, "stage \(stage) needs rewind steps for replay")
        }
        #expect(Set(stages[5]!.components) == Set(ComponentID.firstNode))
    }
}

@Suite struct BreakItParserTests {
    let parser = LessonParser(knownManifests: ["pod.yaml"])

    func lesson(_ section: String) throws(LessonError) -> Lesson {
        try parser.parse("""
            ---
            title: The scheduler
            stage: 3
            components: [kube-scheduler]
            ---
            ```step
            id: start
            title: Start kube-scheduler
            start: kube-scheduler
            ```

            The closing words.

            \(section)
            """, file: "3.md")
    }

    @Test func theSectionIsSeparateFromTheStage() throws {
        let parsed = try lesson("""
            ## Break it

            Predict: what happens?

            ```step
            id: b-stop
            title: Stop kube-scheduler
            stop: kube-scheduler
            ```

            ```step
            id: b-start
            title: Start it again
            start: kube-scheduler
            ```

            ```step
            id: b-healed
            title: Look
            check: healthy
            component: kube-scheduler
            ```

            Healed.
            """)
        #expect(parsed.steps.map(\.id) == ["start"], "break-it steps are not stage steps")
        #expect(parsed.breakIt.map(\.id) == ["b-stop", "b-start", "b-healed"])
        #expect(parsed.closing == "The closing words.")
        #expect(parsed.breakIt[0].prose.hasPrefix("## Break it") && parsed.breakIt[0].prose.contains("Predict: what happens?"))
        #expect(parsed.breakItClosing == "Healed.")
        #expect(parsed.breakItUndo.map(\.id) == ["b-start"], "what runs again when the section was cut short")
        let section = parsed.breakItSection
        #expect(section.isBreakItSection && section.steps.map(\.id) == ["b-stop", "b-start", "b-healed"] && section.rewind.isEmpty)
    }

    @Test func aSectionThatLeavesTheNodeBrokenIsRefused() {
        #expect(throws: LessonError.self) {
            try lesson("## Break it\n```step\nid: b\ntitle: Stop\nstop: kube-scheduler\n```\n```step\nid: c\ntitle: Look\ncheck: pod-gone\npod: x\n```")
        }
        do {
            _ = try lesson("## Break it\n```step\nid: b\ntitle: Remove\nremove-static-pod: pod.yaml\n```\n```step\nid: c\ntitle: Look\ncheck: pod-gone\npod: x\n```")
            Issue.record("a removed static pod that is never put back was accepted")
        } catch {
            #expect(error.message.contains("never puts it back") && (15...18).contains(error.line), "line \(error.line)")
        }
    }

    @Test func aSectionMustEndWithACheckAndHaveSteps() {
        #expect(throws: LessonError.self) { try lesson("## Break it\n```step\nid: b\ntitle: Stop\nstop: kube-scheduler\n```\n```step\nid: c\ntitle: Start\nstart: kube-scheduler\n```") }
        #expect(throws: LessonError.self) { try lesson("## Break it\nNothing to do.") }
        #expect(throws: LessonError.self) { try lesson("## Break it\n```step\nid: w\ntitle: Wipe\nwipe: etcd-data\n```\n```step\nid: c\ntitle: Look\ncheck: pod-gone\npod: x\n```") }
        #expect(throws: LessonError.self) { try lesson("## Break it\n\n## Break it again") }
    }

    @Test func theShippedLessonsHaveASectionInEveryStage() throws {
        let manifests = Set(try FileManager.default.contentsOfDirectory(atPath: Repo.assets).filter { $0.hasSuffix(".yaml") })
        let parser = LessonParser(knownManifests: manifests)
        let stages = try FileManager.default.contentsOfDirectory(atPath: Repo.lessons).filter { $0.hasSuffix(".md") && $0 != "README.md" }
            .map { file in try parser.parse(try String(contentsOfFile: "\(Repo.lessons)/\(file)", encoding: .utf8), file: file) }
            .filter { $0.stage != nil }
        #expect(stages.count == Lesson.stages.count)
        for stage in stages {
            #expect(!stage.breakIt.isEmpty, "stage \(stage.stage ?? 0) has no break-it section")
            // Each section breaks something the stage built: a component, a static pod, or (stage 6) the pod routes.
            #expect(stage.breakIt.contains {
                switch $0.kind {
                case .action(.stop, _), .action(.removeStaticPod, _), .action(.worker(.removePodRoutes, _), _): true
                default: false
                }
            }, "stage \(stage.stage ?? 0)")
        }
    }
}
