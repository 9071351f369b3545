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
        // Exact int8 matrix-product micro-kernels (AVX2 chosen at run time), used only by AssayKernels.
        .target(name: "CKernels"),

        // Layer 1: encoding and cryptography.
        .target(name: "AssayCodec"),
        .target(name: "AssayCrypto", dependencies: ["CSecp256k1", "COpenSSL", "AssayCodec"]),

        // Layer 2: values and storage protocols.
        .target(name: "AssayTypes", dependencies: ["AssayCodec", "AssayCrypto"]),
        .target(name: "AssayStorage", dependencies: ["AssayCodec", "AssayCrypto", "AssayTypes"]),
        .target(name: "AssayKernels", dependencies: ["CKernels", "AssayCodec", "AssayCrypto", "AssayTypes"]),

        // Layer 5: adapters.
        .target(name: "AssayRocksDB", dependencies: ["CRocksDB", "AssayStorage"]),

        // Layer 7: the one executable.
        .executableTarget(
            name: "assay",
            dependencies: ["AssayCodec", "AssayCrypto", "AssayTypes", "AssayStorage", "AssayRocksDB", "AssayKernels", argumentParser]
        ),

        // Direct C loops over libsecp256k1, libcrypto and RocksDB: the baselines the bench compares the wrappers with.
        .target(
            name: "BenchBaselines",
            linkerSettings: [.linkedLibrary("secp256k1"), .linkedLibrary("crypto"), .linkedLibrary("rocksdb")]
        ),
        .executableTarget(
            name: "AssayBench",
            dependencies: ["AssayCodec", "AssayCrypto", "AssayTypes", "AssayStorage", "AssayRocksDB", "AssayKernels", "BenchBaselines"]
        ),

        .testTarget(name: "AssayCodecTests", dependencies: ["AssayCodec", propertyBased]),
        .testTarget(name: "AssayCryptoTests", dependencies: ["AssayCrypto", propertyBased], exclude: ["Vectors"]),
        .testTarget(name: "AssayTypesTests", dependencies: ["AssayTypes", propertyBased]),
        .testTarget(name: "assayTests", dependencies: ["assay", "AssayCrypto"]),
        .testTarget(name: "AssayStorageTests", dependencies: ["AssayStorage", "AssayRocksDB", "AssayCodec", "AssayCrypto"]),
        .testTarget(name: "AssayKernelsTests", dependencies: ["AssayKernels", "AssayCodec", "AssayTypes"]),
    ],
    swiftLanguageModes: [.v6]
)
