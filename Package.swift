// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "ServerLPA",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "lpa-edge", targets: ["lpa-edge"]),
        .executable(name: "lpa-sim", targets: ["lpa-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
    ],
    targets: [
        // MARK: C system libraries and generated code
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        .target(
            name: "CTerminalProto",
            dependencies: ["CProtobufC"],
            path: "Sources/CTerminalProto"
        ),

        // MARK: Bottom layer: crypto, TLS, wire formats
        .target(
            name: "LPACrypto",
            dependencies: ["COpenSSL"]
        ),
        .target(
            name: "LPAIdentity"
        ),
        .target(
            name: "LPATLS",
            dependencies: [
                "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TerminalProtocol",
            dependencies: [
                "CTerminalProto",
                "CProtobufC",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),

        // MARK: Services
        .target(
            name: "LPAEdge",
            dependencies: [
                "LPAIdentity",
                "LPATLS",
                "LPACrypto",
                "TerminalProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "LPASimKit",
            dependencies: [
                "LPAIdentity",
                "LPATLS",
                "LPACrypto",
                "TerminalProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: Executables (thin: arguments, configuration, lifecycle)
        .executableTarget(
            name: "lpa-edge",
            dependencies: [
                "LPAEdge",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "lpa-sim",
            dependencies: [
                "LPASimKit",
                "LPAEdge",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: Tests
        .testTarget(
            name: "LPACryptoTests",
            dependencies: ["LPACrypto", "LPAIdentity", "LPASimKit"]
        ),
        .testTarget(
            name: "LPATLSTests",
            dependencies: [
                "LPATLS",
                "LPACrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "TerminalProtocolTests",
            dependencies: [
                "TerminalProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "LPAEdgeTests",
            dependencies: [
                "LPAEdge",
                "LPASimKit",
                "LPATLS",
                "LPACrypto",
                "TerminalProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
