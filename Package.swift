// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "ServerLPA",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "lpa-edge", targets: ["lpa-edge"]),
        .executable(name: "lpa-sim", targets: ["lpa-sim"]),
        .executable(name: "lpa-core", targets: ["lpa-core"]),
        // The modules whose decoders Fuzz/ (a separate package, built with libFuzzer) feeds with bytes.
        .library(
            name: "ServerLPAFuzzable",
            targets: [
                "TerminalProtocol", "LPAEdge", "LPARPC", "RSP", "LPAOperator", "LPAHTTP", "LPAAdmin", "LPAConfig",
                "LPACore", "LPACrypto", "LPATLS",
            ]
        ),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-asn1", exact: "1.7.4"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
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
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "CTerminalProto",
            dependencies: ["CProtobufC"],
            path: "Sources/CTerminalProto"
        ),
        // The device agent in C (also built on its own by Sources/CLPAAgent/Makefile, with lpa-agent and its tests).
        .target(
            name: "CLPAAgent",
            dependencies: ["CTerminalProto", "CProtobufC", "COpenSSL"],
            path: "Sources/CLPAAgent",
            exclude: ["Makefile", "program", "tests"]
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
            name: "LPAConfig",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "LPATLS",
            dependencies: [
                "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
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

        // MARK: RSP: the GSMA interfaces (ES10a/b/c objects, STORE DATA, Bound Profile Package)
        .target(
            name: "RSP",
            dependencies: [
                "LPACrypto",
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),

        .target(
            name: "LPARPC",
            dependencies: [
                "LPATLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "LPACoreRPC",
            dependencies: [
                "LPARPC",
                "TerminalProtocol",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),

        // MARK: Operator interfaces (HTTPS to SM-DP+)
        .target(
            name: "LPAHTTP",
            dependencies: [
                "LPATLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "LPAOperator",
            dependencies: [
                "LPAHTTP",
                "LPATLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),

        // MARK: Core domain and store
        .target(
            name: "LPADomain",
            dependencies: ["LPAIdentity"]
        ),
        .target(
            name: "LPAStore",
            dependencies: [
                "LPADomain",
                "CSQLite",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: Services
        .target(
            name: "LPAEdge",
            dependencies: [
                "LPAConfig",
                "LPARPC",
                "LPACoreRPC",
                "LPATLS",
                "TerminalProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "LPASimKit",
            dependencies: [
                "LPAIdentity",
                "LPATLS",
                "LPACrypto",
                "TerminalProtocol",
                "RSP",
                "LPAHTTP",
                "LPAOperator",
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                "COpenSSL",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),

        .target(
            name: "LPACore",
            dependencies: [
                "LPAConfig",
                "LPADomain",
                "LPAStore",
                "LPARPC",
                "LPACoreRPC",
                "LPATLS",
                "TerminalProtocol",
                "RSP",
                "LPAOperator",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        .target(
            name: "LPALab",
            dependencies: [
                "LPACore",
                "LPAEdge",
                "LPASimKit",
                "LPAStore",
                "LPADomain",
                "LPAOperator",
                "LPAIdentity",
                "TerminalProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // MARK: Operator-facing HTTP: the admin API and the Prometheus endpoints
        .target(
            name: "LPAMetricsExport",
            dependencies: [
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "LPAAdmin",
            dependencies: [
                "LPACore",
                "LPADomain",
                "LPAStore",
                "LPAIdentity",
                "LPACrypto",
                "LPAMetricsExport",
                "LPATLS",
                "RSP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // MARK: Webhooks: signed job and campaign events from a durable outbox
        .target(
            name: "LPAWebhooks",
            dependencies: [
                "LPACore",
                "LPADomain",
                "LPAStore",
                "LPACrypto",
                "LPAHTTP",
                "LPATLS",
                "LPAAdminClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "LPAAdminClient",
            dependencies: [
                "LPATLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),

        // MARK: Executables (thin: arguments, configuration, lifecycle)
        .executableTarget(
            name: "lpa-core",
            dependencies: [
                "LPAConfig",
                "LPACore",
                "LPAAdmin",
                "LPAAdminClient",
                "LPAMetricsExport",
                "LPATLS",
                "LPAWebhooks",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "LPAStore",
            ]
        ),
        .executableTarget(
            name: "lpa-edge",
            dependencies: [
                "LPAConfig",
                "LPAEdge",
                "LPAMetricsExport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "TerminalProtocol",
            ]
        ),
        .executableTarget(
            name: "lpa-sim",
            dependencies: [
                "LPAAdminClient",
                "LPAConfig",
                "LPAMetricsExport",
                "LPASimKit",
                "LPACrypto",
                "LPAEdge",
                "LPACore",
                "LPALab",
                "LPAAdmin",
                "LPAIdentity",
                "LPAStore",
                "LPADomain",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                "LPACoreRPC",
                "LPARPC",
                "LPATLS",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),

        // MARK: Tests
        .testTarget(
            name: "LPACryptoTests",
            dependencies: ["LPACrypto", "LPAIdentity", "LPASimKit"]
        ),
        .testTarget(
            name: "LPASimKitTests",
            dependencies: [
                "LPASimKit", "LPACrypto", "LPAIdentity", "RSP", "LPAHTTP", "LPAOperator", "LPATLS", "TerminalProtocol",
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "LPATLSTests",
            dependencies: [
                "LPATLS",
                "LPACrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                "COpenSSL",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
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
                "LPAConfig",
                "LPAEdge",
                "LPASimKit",
                "LPATLS",
                "TerminalProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "LPARPCTests",
            dependencies: [
                "LPARPC",
                "LPACoreRPC",
                "LPATLS",
                "LPACrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .testTarget(
            name: "RSPTests",
            dependencies: ["RSP"]
        ),
        .testTarget(
            name: "LPAOperatorTests",
            dependencies: [
                "LPAOperator",
                "LPAHTTP",
                "LPATLS",
                "LPACrypto",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "LPAAdminTests",
            dependencies: [
                "LPAAdmin",
                "LPAAdminClient",
                "LPACore",
                "LPADomain",
                "LPAEdge",
                "LPAIdentity",
                "LPAMetricsExport",
                "LPAStore",
                "TerminalProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(
            name: "LPAWebhooksTests",
            dependencies: [
                "LPAWebhooks",
                "LPACore",
                "LPADomain",
                "LPAStore",
                "LPAHTTP",
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "LPAStoreTests",
            dependencies: ["LPAStore", "LPADomain", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]
        ),
        .testTarget(
            name: "LPACoreTests",
            dependencies: [
                "LPACore",
                "RSP",
                "LPAOperator",
                "LPAIdentity",
                "LPALab",
                "LPADomain",
                "LPAStore",
                "LPAEdge",
                "LPASimKit",
                "LPACrypto",
                "TerminalProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                "LPACoreRPC",
                "LPARPC",
                "LPATLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
