// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "kubescratch",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kubescratch", targets: ["kubescratch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // Already required by async-http-client; named here for TLS settings and ByteBuffer.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.100.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
    ],
    targets: [
        // Pure core: lessons, component plans, PKI, cluster state. No terminal, no processes, no network.
        .target(
            name: "KubescratchCore",
            dependencies: [
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // Effects at the edge: process supervision, probes, kubectl, images, the stage runner, reset.
        .target(
            name: "KubescratchEngine",
            dependencies: [
                "KubescratchCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // ncurses behind a small C shim (libncurses-dev): wide-character API, macros and globals as functions.
        .target(name: "CNcurses", linkerSettings: [.linkedLibrary("ncursesw")]),
        // The terminal screen's driver: keys in, the grid composed by the core copied out through ncurses.
        .target(
            name: "KubescratchScreen",
            dependencies: ["KubescratchCore", "KubescratchEngine", "CNcurses"]
        ),
        // Commands: one file per subcommand.
        .target(
            name: "KubescratchCommands",
            dependencies: [
                "KubescratchCore",
                "KubescratchEngine",
                "KubescratchScreen",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "kubescratch", dependencies: ["KubescratchCommands"]),
        // Benchmarks of the pure diagram pipeline (a benchmark, not a timed test).
        .executableTarget(name: "kubescratch-bench", dependencies: ["KubescratchCore"]),
        .testTarget(name: "KubescratchCoreTests", dependencies: ["KubescratchCore"], exclude: ["Snapshots", "Fixtures"]),
        .testTarget(name: "KubescratchEngineTests", dependencies: ["KubescratchEngine", "KubescratchCore"], exclude: ["Fixtures"]),
    ]
)
