import Foundation

/// Fills `{{NAME}}` placeholders in manifests from assets/, and `{node}` in kubectl arguments.
public struct ManifestValues: Sendable, Equatable {
    public var nodeName: String
    public var webImage: String

    public init(nodeName: String, webImage: String) {
        self.nodeName = nodeName
        self.webImage = webImage
    }

    public func render(_ template: String) -> String {
        template
            .replacingOccurrences(of: "{{NODE_NAME}}", with: nodeName)
            .replacingOccurrences(of: "{{WEB_IMAGE}}", with: webImage)
    }

    public func argument(_ word: String) -> String {
        word.replacingOccurrences(of: "{node}", with: nodeName)
    }
}
