import Foundation
@testable import KubescratchCore
import Testing

/// The lessons' Markdown: one parse, drawn by the screen with attributes and printed plain without markers.
struct MarkdownTests {
    @Test func inlineCodeStrongAndEmphasisLoseTheirMarkers() {
        let runs = Inline.parse("**Predict:** run `ctr -n k8s.io tasks ls` and *then* look")
        #expect(runs == [InlineRun("Predict:", .strong), InlineRun(" run "), InlineRun("ctr -n k8s.io tasks ls", .code),
                         InlineRun(" and "), InlineRun("then", .emphasis), InlineRun(" look")])
    }

    @Test func markersWithoutAPartnerStayAsWritten() {
        #expect(Inline.plainText("the KUBE-* rules and 2 * 3") == "the KUBE-* rules and 2 * 3")
        #expect(Inline.plainText("a lone ` backtick") == "a lone ` backtick")
        #expect(Inline.plainText("**not closed") == "**not closed")
        // A star inside code does not close emphasis outside it.
        #expect(Inline.parse("*a `b*` c*") == [InlineRun("a `b*` c", .emphasis)])
    }

    @Test func blocksKeepTheSourceLinesOfAParagraphAndSplitListItems() {
        let blocks = MarkdownBlock.parse("# Title\n\nOne `two`\nthree.\n\n- item one\n  goes on\n- item two\n```sh\nls -l\n```")
        #expect(blocks == [
            .heading("Title"), .blank,
            .paragraph(marker: nil, runs: [InlineRun("One "), InlineRun("two", .code), InlineRun("\nthree.")]), .blank,
            .paragraph(marker: "- ", runs: [InlineRun("item one\n  goes on")]),
            .paragraph(marker: "- ", runs: [InlineRun("item two")]),
            .code(["ls -l"]),
        ])
    }

    @Test func theScreenDrawsCodeAndStrongWithAttributesAndWrapsTheRest() {
        let lines = MarkdownLayout.lines("**Predict:** which program runs `runc`? It is not the kubelet.", width: 24)
        #expect(lines.map(\.text) == ["Predict: which program", "runs runc? It is not the", "kubelet."])
        let first = lines[0].styles ?? []
        #expect(first.prefix(8).allSatisfy { $0 == .strong } && first[8] == .plain && first.last == .plain)
        let second = lines[1].styles ?? []
        #expect(Array(second[5...8]) == [.code, .code, .code, .code] && second[9] == .plain)
        #expect(lines[2].styles == nil, "a line with no inline style carries none")
    }

    @Test func aListItemHangsUnderItsBullet() {
        let lines = MarkdownLayout.lines("- `root`, `state`: all in the state folder of kubescratch", width: 22)
        #expect(lines.map(\.text) == ["• root, state: all in", "  the state folder of", "  kubescratch"])
    }

    @Test func gridWritesEachCharactersStyle() {
        var grid = Grid(width: 12, height: 1)
        let line = MarkdownLayout.lines("a `bc` d", width: 12)[0]
        grid.write(line, x: 1, y: 0)
        #expect(grid.text == " a bc d")
        #expect(grid[3, 0].style == .code && grid[4, 0].style == .code && grid[1, 0].style == .plain && grid[6, 0].style == .plain)
    }

    @Test func machineNotesAreFoldedAtFirstAndVersionNotesShown() {
        let text = "Main.\n\n```machine-notes\nNeeds `CAP_SYS_RESOURCE`.\n```\n\n```version-notes\nFrom 1.24 it changed.\n```\n"
        let first = MarkdownLayout.lines(text, width: 70).map(\.text)
        #expect(first.contains("Machine notes hidden: m shows what some machines need, and why"))
        #expect(!first.contains { $0.contains("CAP_SYS_RESOURCE") })
        #expect(first.contains("│ From 1.24 it changed."))
        let both = MarkdownLayout.lines(text, width: 60, shown: Set(Aside.allCases))
        let note = try? #require(both.first { $0.text.contains("CAP_SYS_RESOURCE") })
        #expect(note?.text == "│ Needs CAP_SYS_RESOURCE.")
        #expect(note?.styles?.first == .dim && note?.styles?[8] == .code, "dimmed, its code still code")
    }

    @Test func oneAsideOfEachKindPerLesson() throws {
        let parser = LessonParser()
        let front = "---\ntitle: T\nstage: 1\n---\n"
        let step = "```step\nid: s\ntitle: S\nstart: kube-proxy\n```\n"
        let notes = "```machine-notes\nOne.\n```\n"
        _ = try parser.parse(front + notes + "```version-notes\nTwo.\n```\n" + step, file: "t.md")
        #expect(throws: LessonError.self) { try parser.parse(front + notes + notes + step, file: "t.md") }
        #expect(throws: LessonError.self) { try parser.parse(front + "```machine-notes\nopen\n" + step, file: "t.md") }
    }

    @Test func noShippedLessonLeavesAMarkerOnTheScreen() throws {
        for file in try FileManager.default.contentsOfDirectory(atPath: Repo.lessons) where file.hasSuffix(".md") && file != "README.md" {
            let text = try String(contentsOfFile: "\(Repo.lessons)/\(file)", encoding: .utf8)
            let body = text.components(separatedBy: "\n---\n").dropFirst().joined(separator: "\n---\n")
            for line in MarkdownLayout.lines(body, width: 80, shown: Set(Aside.allCases)) where line.style != .arrow {
                // Code lines (indented, cyan) are shown as written; prose must not show `**` or backticks.
                #expect(!line.text.contains("**") && !line.text.contains("`"), "\(file): \(line.text)")
            }
        }
    }
}
