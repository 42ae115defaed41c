// swift-tools-version:6.1
// Coverage-guided fuzz targets (libFuzzer) for ServerLPA's decoders. A package of its own so that the product build
// is untouched: build and run it with `Fuzz/run.sh` (see README, "Fuzzing").
import Foundation
import PackageDescription

/// The parent package's identity is the name of the directory it is checked out in.
let serverLPA = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

let fuzzTargets = [
    "FuzzTerminalFrame", "FuzzRPC", "FuzzRSP", "FuzzOperatorJSON", "FuzzHTTPResponse", "FuzzCSVImport", "FuzzYAML",
    "FuzzX509", "FuzzTLSRecord", "FuzzTLSDifferential",
]

let package = Package(
    name: "ServerLPAFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
    ],
    targets: [
        .target(name: "FuzzSupport"),
    ] + fuzzTargets.map { name in
        .executableTarget(
            name: name,
            dependencies: [
                "FuzzSupport",
                .product(name: "ServerLPAFuzzable", package: serverLPA),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        )
    },
    swiftLanguageModes: [.v6]
)
