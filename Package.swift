// swift-tools-version: 6.1
import PackageDescription

/// Debian packages behind the three C libraries; `Tools/deps` installs them.
func systemLibrary(_ name: String, pkgConfig: String, apt: String) -> Target {
    .systemLibrary(name: name, pkgConfig: pkgConfig, providers: [.apt([apt])])
}

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let propertyBased = Target.Dependency.product(name: "PropertyBased", package: "swift-property-based")
let nio = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let nioHTTP1 = Target.Dependency.product(name: "NIOHTTP1", package: "swift-nio")
let nioWebSocket = Target.Dependency.product(name: "NIOWebSocket", package: "swift-nio")
let swiftCrypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let tomlKit = Target.Dependency.product(name: "TOMLKit", package: "TOMLKit")
let hummingbirdCore = Target.Dependency.product(name: "HummingbirdCore", package: "hummingbird")
let hummingbirdTesting = Target.Dependency.product(name: "HummingbirdTesting", package: "hummingbird")
let hummingbirdWebSocket = Target.Dependency.product(name: "HummingbirdWebSocket", package: "hummingbird-websocket")
let hummingbirdWSClient = Target.Dependency.product(name: "HummingbirdWSClient", package: "hummingbird-websocket")
let swiftProtobuf = Target.Dependency.product(name: "SwiftProtobuf", package: "swift-protobuf")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")
let tracing = Target.Dependency.product(name: "Tracing", package: "swift-distributed-tracing")
let otel = Target.Dependency.product(name: "OTel", package: "swift-otel")

let package = Package(
    name: "Assay",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "assay", targets: ["assay"]),
        // Test-only: a validator that double-signs, for the evidence check of Tools/e2e.
        .executable(name: "assay-equivocator", targets: ["AssayEquivocator"]),
        // The decoders a peer or client reaches, for the libFuzzer harnesses of Tools/fuzzing (its own package).
        .library(name: "AssayCodec", targets: ["AssayCodec"]),
        .library(name: "AssayCrypto", targets: ["AssayCrypto"]),
        .library(name: "AssayBlobs", targets: ["AssayBlobs"]),
        .library(name: "AssayTypes", targets: ["AssayTypes"]),
        .library(name: "AssayKernels", targets: ["AssayKernels"]),
        .library(name: "AssayMempool", targets: ["AssayMempool"]),
        .library(name: "AssayP2P", targets: ["AssayP2P"]),
        .library(name: "AssayRPC", targets: ["AssayRPC"]),
        // The typed JSON-RPC surface, for Swift clients of a node.
        .library(name: "AssayAPI", targets: ["AssayAPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        // OTLP/HTTP only: the default traits add the gRPC exporter and grpc-swift, minutes of CI build for nothing.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // Layer 0: C libraries, touched only by their wrapper module.
        systemLibrary("CRocksDB", pkgConfig: "rocksdb", apt: "librocksdb-dev"),
        systemLibrary("CSecp256k1", pkgConfig: "libsecp256k1", apt: "libsecp256k1-dev"),
        systemLibrary("COpenSSL", pkgConfig: "libcrypto", apt: "libssl-dev"),
        // Exact int8 matrix-product micro-kernels (AVX2 chosen at run time), used only by AssayKernels.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O2"])]),

        // Layer 1: encoding and cryptography.
        .target(name: "AssayCodec"),
        // The typed RPC surface (Codable params and results, method descriptions) shared by the server and clients.
        .target(name: "AssayAPI"),
        .target(name: "AssayCrypto", dependencies: ["CSecp256k1", "COpenSSL", "AssayCodec"]),

        // Layer 2: blob identity and the blob store (transactions name blobs).
        .target(name: "AssayBlobs", dependencies: ["AssayCodec", "AssayCrypto"]),

        // Layer 3: values, storage protocols, kernels.
        .target(name: "AssayTypes", dependencies: ["AssayCodec", "AssayCrypto", "AssayBlobs"]),
        .target(name: "AssayStorage", dependencies: ["AssayCodec", "AssayCrypto", "AssayTypes"]),
        .target(
            name: "AssayKernels", dependencies: ["CKernels", "AssayCodec", "AssayCrypto", "AssayTypes", "AssayBlobs"],
            swiftSettings: [.unsafeFlags(["-O"])]),

        // ONNX models imported to qnn/1 (issue 12): the only module, with the CLI, that links protobuf. Its
        // onnx.pb.swift is generated once by Tools/models/gen-onnx-swift and committed; no plugin runs in the build.
        .target(name: "AssayONNX", dependencies: ["AssayKernels", swiftProtobuf]),

        // Layer 4: state machines: ledger, consensus core, key holder, mempool.
        .target(
            name: "AssayLedger",
            dependencies: ["AssayCodec", "AssayCrypto", "AssayTypes", "AssayStorage", "AssayKernels", "AssayBlobs"]),
        .target(name: "AssayConsensus", dependencies: ["AssayTypes", "AssayCodec", "AssayCrypto"]),
        .target(name: "AssaySafetyRules", dependencies: ["AssayTypes", "AssayCodec", "AssayCrypto", "AssayStorage"]),
        .target(name: "AssayMempool", dependencies: ["AssayCodec", "AssayCrypto", "AssayTypes", "AssayBlobs"]),
        // Headers verified from a trusted one through validator set changes (the wallet).
        .target(name: "AssayLightClient", dependencies: ["AssayTypes", "AssayCrypto", "AssayCodec"]),

        // Layer 5: the replica.
        .target(
            name: "AssayEngine",
            dependencies: ["AssayConsensus", "AssaySafetyRules", "AssayStorage", "AssayTypes", "AssayCodec", "AssayCrypto"]
        ),

        // Layer 6: adapters.
        .target(name: "AssayRocksDB", dependencies: ["CRocksDB", "AssayStorage"]),
        .target(
            name: "AssayP2P",
            dependencies: ["AssayCodec", "AssayCrypto", "AssayTypes", "AssayBlobs", nio, nioPosix, swiftCrypto, logging]
        ),
        .target(
            name: "AssayRPC",
            dependencies: [
                "AssayAPI", "AssayCodec", "AssayCrypto", "AssayTypes", "AssayLedger", "AssayMempool", "AssayBlobs", hummingbird,
                hummingbirdCore, hummingbirdWebSocket, nio, nioHTTP1, nioWebSocket, nioPosix, logging,
            ],
            // The explorer's files, compiled into the binary as byte arrays (`PackageResources`): no bundle lookup.
            resources: [
                .embedInCode("Explorer/index.html"), .embedInCode("Explorer/app.js"), .embedInCode("Explorer/style.css"),
            ]
        ),
        // Job traces over OpenTelemetry (swift-otel's OTLP/HTTP exporter), ids derived from the job id.
        .target(name: "AssayTracing", dependencies: ["AssayCrypto", tracing, otel, logging, serviceLifecycle]),
        .target(
            name: "AssaySimulation",
            dependencies: [
                "AssayEngine", "AssayConsensus", "AssaySafetyRules", "AssayStorage", "AssayTypes", "AssayCodec",
                "AssayCrypto", "AssayLedger", "AssayMempool", "AssayKernels", "AssayBlobs",
            ]
        ),

        // Layer 7: the composition root.
        .target(
            name: "AssayNode",
            dependencies: [
                "AssayCodec", "AssayCrypto", "AssayTypes", "AssayStorage", "AssayRocksDB", "AssayLedger", "AssayKernels",
                "AssayMempool", "AssayConsensus", "AssaySafetyRules", "AssayEngine", "AssayP2P", "AssayRPC", "AssayBlobs",
                "AssayAPI", "AssayTracing", "AssayLightClient", logging, serviceLifecycle, tomlKit, metrics, prometheus,
                tracing,
            ]
        ),

        // Layer 8: the one executable.
        .executableTarget(
            name: "assay",
            dependencies: [
                "AssayCodec", "AssayCrypto", "AssayTypes", "AssayStorage", "AssayRocksDB", "AssayKernels",
                "AssayLedger", "AssaySimulation", "AssayNode", "AssayRPC", "AssayAPI", "AssayBlobs", "AssayONNX",
                "AssayTracing", "AssayLightClient", logging, argumentParser, nio, nioPosix, nioHTTP1, nioWebSocket,
            ]
        ),

        // Test-only: signs two prevotes per height with a validator's key, bypassing SafetyRules (Tools/e2e).
        .executableTarget(name: "AssayEquivocator", dependencies: ["AssayCrypto", "AssayTypes", "AssayP2P", logging]),

        // Direct C loops over libsecp256k1, libcrypto and RocksDB: the baselines the bench compares the wrappers with.
        .target(
            name: "BenchBaselines",
            linkerSettings: [.linkedLibrary("secp256k1"), .linkedLibrary("crypto"), .linkedLibrary("rocksdb")]
        ),
        .executableTarget(
            name: "AssayBench",
            dependencies: [
                "AssayCodec", "AssayCrypto", "AssayTypes", "AssayStorage", "AssayRocksDB", "AssayKernels",
                "AssayLedger", "AssayMempool", "AssayBlobs", "AssayP2P", "AssayNode", "AssayONNX", "BenchBaselines", logging,
            ]
        ),

        .testTarget(name: "AssayCodecTests", dependencies: ["AssayCodec", propertyBased]),
        .testTarget(name: "AssayCryptoTests", dependencies: ["AssayCrypto", propertyBased], exclude: ["Vectors"]),
        .testTarget(
            name: "AssayTypesTests", dependencies: ["AssayCodec", "AssayCrypto", "AssayTypes", "AssayBlobs", propertyBased]),
        .testTarget(name: "AssayBlobsTests", dependencies: ["AssayBlobs", "AssayCodec", "AssayCrypto", propertyBased]),
        .testTarget(
            name: "AssayStorageTests",
            dependencies: ["AssayStorage", "AssayRocksDB", "AssayBlobs", "AssayCodec", "AssayCrypto"]),
        .testTarget(name: "AssayONNXTests", dependencies: ["AssayONNX", "AssayKernels", swiftProtobuf]),
        .testTarget(name: "AssayKernelsTests", dependencies: ["AssayKernels", "AssayCodec", "AssayCrypto", "AssayTypes", "AssayBlobs"]),
        .testTarget(
            name: "AssayLedgerTests",
            dependencies: [
                "AssayCodec", "AssayCrypto", "AssayTypes", "AssayStorage", "AssayRocksDB", "AssayKernels", "AssayLedger",
                "AssayBlobs",
            ]),
        .testTarget(name: "AssayConsensusTests", dependencies: ["AssayConsensus", "AssayTypes", "AssayCrypto"]),
        .testTarget(
            name: "AssaySafetyRulesTests", dependencies: ["AssaySafetyRules", "AssayStorage", "AssayTypes", "AssayCrypto"]
        ),
        .testTarget(
            name: "AssayEngineTests",
            dependencies: [
                "AssayEngine", "AssaySimulation", "AssayConsensus", "AssayStorage", "AssayTypes", "AssayCrypto", "AssayCodec",
            ]
        ),
        .target(name: "AssayTestSupport", path: "Tests/AssayTestSupport"),
        .testTarget(
            name: "AssaySimulationTests",
            dependencies: ["AssaySimulation", "AssayEngine", "AssayLedger", "AssayStorage", "AssayTestSupport"]),
        .testTarget(name: "AssayLightClientTests", dependencies: ["AssayLightClient", "AssayTypes", "AssayCrypto", "AssayCodec"]),
        .testTarget(
            name: "AssayMempoolTests", dependencies: ["AssayMempool", "AssayTypes", "AssayCrypto", "AssayBlobs", propertyBased]),
        .testTarget(
            name: "AssayP2PTests",
            dependencies: ["AssayP2P", "AssayTypes", "AssayCrypto", "AssayCodec", nio, nioPosix, logging]
        ),
        .testTarget(
            name: "AssayRPCTests",
            dependencies: [
                "AssayRPC", "AssayAPI", "AssayTypes", "AssayCrypto", "AssayLedger", "AssayMempool", "AssayBlobs", hummingbirdTesting,
                hummingbirdWSClient, nio, nioPosix,
            ]
        ),
        .testTarget(
            name: "AssayNodeTests",
            dependencies: [
                "AssayNode", "AssayRPC", "AssayAPI", "AssayLedger", "AssayKernels", "AssayRocksDB", "AssayStorage", "AssayMempool",
                "AssayP2P", "AssayTypes", "AssayCrypto", "AssayCodec", "AssayBlobs", "AssaySafetyRules", "AssayTracing", "AssayLightClient",
                logging, hummingbird, hummingbirdTesting,
            ]
        ),
        .testTarget(
            name: "assayTests",
            dependencies: [
                "assay", "AssayAPI", "AssayCrypto", "AssayTypes", "AssayKernels", "AssayNode", "AssayLightClient",
                argumentParser,
            ]),
    ],
    swiftLanguageModes: [.v6]
)
