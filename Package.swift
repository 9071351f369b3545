// swift-tools-version: 6.1
import PackageDescription

/// Debian packages behind the three C libraries; `Tools/deps` installs them.
func systemLibrary(_ name: String, pkgConfig: String, apt: String) -> Target {
    .systemLibrary(name: name, pkgConfig: pkgConfig, providers: [.apt([apt])])
}

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let propertyBased = Target.Dependency.product(name: "PropertyBased", package: "swift-property-based")

let package = Package(
    name: "Assay",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "assay", targets: ["assay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        // Layer 0: C libraries, touched only by their wrapper module.
        systemLibrary("CRocksDB", pkgConfig: "rocksdb", apt: "librocksdb-dev"),
        systemLibrary("CSecp256k1", pkgConfig: "libsecp256k1", apt: "libsecp256k1-dev"),
        systemLibrary("COpenSSL", pkgConfig: "libcrypto", apt: "libssl-dev"),

        // Layer 1: encoding and cryptography.
        .target(name: "AssayCodec"),
        .target(name: "AssayCrypto", dependencies: ["CSecp256k1", "COpenSSL", "AssayCodec"]),

        // Layer 2: values and storage protocols.
        .target(name: "AssayTypes", dependencies: ["AssayCodec", "AssayCrypto"]),
        .target(name: "AssayStorage", dependencies: ["AssayCodec", "AssayCrypto", "AssayTypes"]),

        // Layer 3: consensus core and the key holder.
        .target(name: "AssayConsensus", dependencies: ["AssayTypes", "AssayCodec", "AssayCrypto"]),
        .target(name: "AssaySafetyRules", dependencies: ["AssayTypes", "AssayCodec", "AssayCrypto", "AssayStorage"]),

        // Layer 4: the replica.
        .target(
            name: "AssayEngine",
            dependencies: ["AssayConsensus", "AssaySafetyRules", "AssayStorage", "AssayTypes", "AssayCodec", "AssayCrypto"]
        ),

        // Layer 5: adapters.
        .target(
            name: "AssaySimulation",
            dependencies: [
                "AssayEngine", "AssayConsensus", "AssaySafetyRules", "AssayStorage", "AssayTypes", "AssayCodec",
                "AssayCrypto",
            ]
        ),

        // Layer 7: the one executable.
        .executableTarget(
            name: "assay",
            dependencies: [
                "AssayCodec", "AssayCrypto", "AssayTypes", "AssayStorage", "AssaySimulation", argumentParser,
            ]
        ),

        .executableTarget(name: "AssayBench", dependencies: ["AssayCodec", "AssayCrypto", "AssayTypes", "AssayStorage"]),

        .testTarget(name: "AssayCodecTests", dependencies: ["AssayCodec", propertyBased]),
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
        .testTarget(name: "AssaySimulationTests", dependencies: ["AssaySimulation", "AssayEngine"]),
        .testTarget(name: "AssayTypesTests", dependencies: ["AssayTypes", propertyBased]),
    ],
    swiftLanguageModes: [.v6]
)
