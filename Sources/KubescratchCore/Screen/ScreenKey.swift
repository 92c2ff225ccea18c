/// Every key of the full-screen tutorial, in one table: the screen dispatches on it, the help screen (`?`) lists it,
/// the status bar's hints and `kubescratch tutorial --help` are made from it, and a test checks that the README's
/// key table says the same.
public enum ScreenKey: String, CaseIterable, Sendable {
    case next, previous, scrollLesson, goToStage, replay, diagram, select, calls, log, flags, health, breakComponent, breakIt,
         packet, notes, commandLine, suggestion, shell, scrollOutput, escape, quit, help

    /// The characters that do it; empty where only a special key does (PgUp, Tab's reverse, Enter's keypad code).
    public var characters: [Character] {
        switch self {
        case .next: ["\n", "\r", "n"]
        case .previous: ["p"]
        case .goToStage: ["1", "2", "3", "4", "5", "6"]
        case .replay: ["r"]
        case .diagram: ["d"]
        case .select: ["\t"]
        case .calls: ["a"]
        case .log: ["l"]
        case .flags: ["f"]
        case .health: ["h"]
        case .breakComponent: ["b"]
        case .breakIt: ["x"]
        case .packet: ["P"]
        case .notes: Aside.allCases.map(\.key)
        case .commandLine: [":"]
        case .suggestion: ["t"]
        case .shell: ["!"]
        case .escape: ["\u{1B}"]
        case .quit: ["q"]
        case .help: ["?"]
        case .scrollLesson, .scrollOutput: []
        }
    }

    /// The key as the help screen and the README name it.
    public var label: String {
        switch self {
        case .next: "Enter / n"
        case .previous: "p"
        case .scrollLesson: "PgUp / PgDn"
        case .goToStage: "1 … 6"
        case .replay: "r"
        case .diagram: "d"
        case .select: "Tab"
        case .calls: "a"
        case .log: "l"
        case .flags: "f"
        case .health: "h"
        case .breakComponent: "b"
        case .breakIt: "x"
        case .packet: "P"
        case .notes: Aside.allCases.map { String($0.key) }.joined(separator: " / ")
        case .commandLine: ":"
        case .suggestion: "t"
        case .shell: "!"
        case .scrollOutput: "PgUp / PgDn"
        case .escape: "Esc"
        case .quit: "q"
        case .help: "?"
        }
    }

    public var help: String {
        switch self {
        case .next: "run the step you are reading (at a stage's end: go to the next stage)"
        case .previous: "read the previous step again (the node is not changed)"
        case .scrollLesson: "scroll the lesson"
        case .goToStage: "go to a stage: the node is moved to its start (asks first)"
        case .replay: "replay this stage from its start (asks first)"
        case .diagram: "the node diagram on the whole screen (d again to come back)"
        case .select: "select a component in the diagram, on any node (the API calls show only its own)"
        case .calls: "below 140 columns: the API calls in the output pane's place (a again: back)"
        case .log: "the selected component's log (or the one that crashed)"
        case .flags: "the selected component's command line and config files"
        case .health: "the selected component's health check"
        case .breakComponent: "break it: stop the selected component, or start it again"
        case .breakIt: "at a stage's end: run its break-it section (predict, break, watch, heal)"
        case .packet: "follow one packet to the NodePort: the rules it matched, the pod that answered (stage 5 on)"
        case .notes: "hide or show the lesson's " + Aside.allCases.map { $0.title.lowercased() + " (" + $0.about + ")" }.joined(separator: " / ")
        case .commandLine: "a command line: kubectl, ctr, crictl, etcdctl … with this node's environment; output below"
        case .suggestion: "put the step's next suggested command on the command line"
        case .shell: "your shell with the same environment (exit returns here)"
        case .scrollOutput: "with a command's output shown: scroll it"
        case .escape: "back to the output of the steps"
        case .quit: "quit at once; the node keeps running (`kubescratch` resumes, `kubescratch reset` removes it)"
        case .help: "this help; any key closes it"
        }
    }

    /// The status bar's few words for the keys a newcomer needs first; nil for the others.
    public var hint: String? {
        switch self {
        case .next: "Enter run"
        case .previous: "p back"
        case .goToStage: "1-6 stage"
        case .replay: "r replay"
        case .commandLine: ": command"
        case .diagram: "d diagram"
        case .select: "Tab select"
        case .help: "? help"
        case .quit: "q quit"
        default: nil
        }
    }

    /// The status bar's line of hints: the tutorial's own keys first, then how to look around, get help and leave.
    public static var hints: String {
        [ScreenKey.next, .previous, .goToStage, .replay, .commandLine, .diagram, .select, .help, .quit].compactMap(\.hint).joined(separator: " · ")
    }

    /// The key a typed character does, if any.
    public init?(_ character: Character) {
        guard let key = Self.allCases.first(where: { $0.characters.contains(character) }) else { return nil }
        self = key
    }

    /// One line per key, for `--help` texts: "Enter / n run the step … · p read the previous …".
    public static var summary: String { allCases.map { "\($0.label) \($0.help)" }.joined(separator: " · ") }
}
