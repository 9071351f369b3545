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
let swiftCrypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
let hummingbirdTesting = Target.Dependency.product(name: "HummingbirdTesting", package: "hummingbird")

let package = Package(
    name: "Assay",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "assay", targets: ["assay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
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

        // Layer 3: state machines over the values.
        .target(name: "AssayMempool", dependencies: ["AssayCodec", "AssayCrypto", "AssayTypes"]),

        // Layer 5: adapters to the outside world.
        .target(
            name: "AssayP2P",
            dependencies: ["AssayCodec", "AssayCrypto", "AssayTypes", nio, nioPosix, swiftCrypto, logging]
        ),
        .target(
            name: "AssayRPC",
            dependencies: ["AssayCodec", "AssayCrypto", "AssayTypes", "AssayMempool", hummingbird, logging]
        ),

        // Layer 7: the one executable.
        .executableTarget(
            name: "assay",
            dependencies: ["AssayCodec", "AssayCrypto", "AssayTypes", "AssayStorage", argumentParser]
        ),

        .executableTarget(
            name: "AssayBench", dependencies: ["AssayCodec", "AssayCrypto", "AssayTypes", "AssayStorage", "AssayMempool"]
        ),

        .testTarget(name: "AssayCodecTests", dependencies: ["AssayCodec", propertyBased]),
        .testTarget(name: "AssayMempoolTests", dependencies: ["AssayMempool", "AssayTypes", "AssayCrypto"]),
        .testTarget(
            name: "AssayP2PTests",
            dependencies: ["AssayP2P", "AssayTypes", "AssayCrypto", "AssayCodec", nio, nioPosix, logging]
        ),
        .testTarget(
            name: "AssayRPCTests",
            dependencies: ["AssayRPC", "AssayTypes", "AssayCrypto", "AssayMempool", hummingbirdTesting]
        ),
        .testTarget(name: "AssayTypesTests", dependencies: ["AssayTypes", propertyBased]),
    ],
    swiftLanguageModes: [.v6]
)
