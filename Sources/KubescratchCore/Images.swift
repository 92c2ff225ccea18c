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

    /// The pause image of the release (kubeadm's constants) and a pinned nginx.
    public static func registry(for version: KubernetesVersion) -> ImageSet {
        let pause: String
        if version.isAtLeast(1, 34) { pause = "registry.k8s.io/pause:3.10.1" }
        else if version.isAtLeast(1, 31) { pause = "registry.k8s.io/pause:3.10" }
        else if version.isAtLeast(1, 25) { pause = "registry.k8s.io/pause:3.8" }
        else { pause = "k8s.gcr.io/pause:3.2" }
        return ImageSet(pause: pause, web: "docker.io/library/nginx:1.27.3")
    }

    public static func forSource(_ source: ImageSource, version: KubernetesVersion) -> ImageSet {
        source == .local ? .local : registry(for: version)
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
