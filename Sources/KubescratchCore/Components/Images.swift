/// Where the pods' images come from.
public enum ImageSource: String, Codable, Sendable, CaseIterable {
    /// Built here from busybox and imported into containerd: no registry needed.
    case local
    /// Pulled from the public registries by containerd.
    case registry
}

public struct ImageSet: Sendable, Equatable, Codable {
    public var pause: String
    public var web: String

    public static let local = ImageSet(pause: "localhost/kubescratch-pause:1.0", web: "localhost/kubescratch-web:1.0")

    /// The release's pause image and a pinned nginx. The tag is kubeadm's `PauseVersion` for the release: the one
    /// setup read from kubeadm's constants when given, else the matrix's. kubeadm used k8s.gcr.io until 1.25.
    public static func registry(for version: KubernetesVersion, pause kubeadmPause: String? = nil) -> ImageSet {
        let registry = version.isAtLeast(1, 25) ? "registry.k8s.io" : "k8s.gcr.io"
        let tag = kubeadmPause ?? CompanionMatrix.row(for: version).pause
        return ImageSet(pause: "\(registry)/pause:\(tag)", web: "docker.io/library/nginx:1.27.3")
    }

    public static func forSource(_ source: ImageSource, version: KubernetesVersion, pause: String? = nil) -> ImageSet {
        source == .local ? .local : registry(for: version, pause: pause)
    }
}

/// The local images copy busybox into themselves, so it must run without the host's libraries.
public enum StaticExecutable {
    /// How much of the file's start is read: the program headers, and so the loader's name, sit there.
    public static let headLength = 4096

    /// A dynamic executable names its loader (PT_INTERP, "ld-linux…" or "ld-musl…") near the start of the file.
    public static func isStatic(head: [UInt8]) -> Bool {
        guard !head.isEmpty else { return false }
        let text = String(decoding: head.prefix(headLength), as: UTF8.self)
        return !text.contains("ld-linux") && !text.contains("ld-musl")
    }
}

/// What `run` remembers between invocations, so `run` continues and `stage N` knows how far the node is.
public struct TutorialProgress: Codable, Sendable, Equatable {
    /// The last stage whose steps all passed; 0 before stage 1.
    public var completedStage: Int
    /// A stage that began and did not finish (interrupted or failed): rewound before going on.
    public var unfinishedStage: Int?
    /// Steps of the unfinished stage that passed; with `betweenSteps`, the learner stopped cleanly after them
    /// and can go on from the next one. Otherwise a step was cut short and the stage is rewound first.
    public var stepsDone: Int?
    public var betweenSteps: Bool?
    public var facts: NodeFacts
    public var images: ImageSource
    public var binDir: String?

    public init(completedStage: Int, unfinishedStage: Int? = nil, stepsDone: Int? = nil, betweenSteps: Bool? = nil,
                facts: NodeFacts, images: ImageSource, binDir: String?) {
        self.completedStage = completedStage
        self.unfinishedStage = unfinishedStage
        self.stepsDone = stepsDone
        self.betweenSteps = betweenSteps
        self.facts = facts
        self.images = images
        self.binDir = binDir
    }
}
