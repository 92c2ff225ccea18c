import ArgumentParser
import Foundation
import KubescratchCore
import KubescratchEngine

struct Lessons: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with lesson files.",
        subcommands: [Check.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a folder of lesson files: front matter, steps, components, manifests, duplicate ids.",
            discussion: """
                Prints every error as FILE:LINE: what is wrong and what was expected. Exit status 1 when any. Warns \
                (exit status 0) where a word a step lists in `answers:` appears before its **Predict:** prompt.
                """
        )

        @Argument(help: ArgumentHelp("The lessons folder (default: the shipped lessons/).", valueName: "DIR"))
        var folder: String?

        @Option(name: .long, help: ArgumentHelp("The manifests folder steps may name (default: the shipped assets/).", valueName: "DIR"))
        var assets: String?

        func run() throws {
            let folder = try self.folder ?? Setup.locate("lessons", explicit: nil, variable: "KUBESCRATCH_LESSONS")
            let assets = try self.assets ?? Setup.locate("assets", explicit: nil, variable: "KUBESCRATCH_ASSETS")
            do {
                let book = try LessonBook.load(folder: folder, assetsDir: assets)
                let steps = book.lessons.reduce(0) { $0 + $1.steps.count + $1.rewind.count }
                for warning in book.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
                let warned = book.warnings.isEmpty ? "" : " (\(book.warnings.count) warning\(book.warnings.count == 1 ? "" : "s") above)"
                print("\(folder): \(book.lessons.count) lessons, \(book.stages.count) stages, \(steps) steps: all valid\(warned)")
            } catch let error as LessonBookError {
                FileHandle.standardError.write(Data((error.description + "\n").utf8))
                throw ExitCode(1)
            }
        }
    }
}
