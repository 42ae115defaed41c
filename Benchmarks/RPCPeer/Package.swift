// swift-tools-version:6.0
import PackageDescription

// The grpc-swift 2 side of `lpa-sim bench rpc`. A package of its own so that the product
// build never carries grpc-swift, swift-nio-http2 or BoringSSL. The message types are the
// product's generated file (Sources/rpc-peer/core_rpc.pb.swift is a symlink to it).
let package = Package(
    name: "RPCPeer",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "rpc-peer", targets: ["rpc-peer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
    ],
    targets: [
        .executableTarget(
            name: "rpc-peer",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Sources/rpc-peer"
        ),
    ],
    swiftLanguageModes: [.v6]
)
