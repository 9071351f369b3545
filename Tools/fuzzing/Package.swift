// swift-tools-version: 6.1
import PackageDescription

/// libFuzzer harnesses for every decoder a peer or client reaches. A package of its own so that the main package's
/// `swift build` and `swift test` never build them; `Tools/fuzz` builds it with `-sanitize=fuzzer,address`.
let assay = [
    "AssayCodec", "AssayCrypto", "AssayBlobs", "AssayTypes", "AssayKernels", "AssayMempool", "AssayP2P", "AssayRPC", "AssayAPI",
]

let package = Package(
    name: "AssayFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Assay", path: "../.."),
        // The same package the main one uses for the P2P handshake's X25519 keys.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .target(
            name: "FuzzHarnesses",
            dependencies: assay.map { .product(name: $0, package: "Assay") } + [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // One binary for every harness: it hands the chosen one to libFuzzer's driver (LLVMFuzzerRunDriver).
        .executableTarget(name: "assay-fuzz", dependencies: ["FuzzHarnesses"]),
    ],
    swiftLanguageModes: [.v6]
)
