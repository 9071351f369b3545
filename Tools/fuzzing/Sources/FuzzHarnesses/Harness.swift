import AssayCodec

/// One fuzz target: a name for the command line and a function libFuzzer calls with each input.
///
/// A harness returns normally for every input a decoder refuses with an error; it stops the process (a finding)
/// only when the code under test crashes or breaks a property that must hold for every input, such as a decoded
/// value re-encoding to exactly the bytes it came from.
public struct Harness: Sendable {
    public let name: String
    public let summary: String
    public let run: @Sendable ([UInt8]) -> Void

    init(_ name: String, _ summary: String, run: @escaping @Sendable ([UInt8]) -> Void) {
        self.name = name
        self.summary = summary
        self.run = run
    }
}

public enum Harnesses {
    /// Every harness, in the order `--list` prints them.
    public static let all: [Harness] = CodecHarnesses.all + P2PHarnesses.all + RPCHarnesses.all + NumPyHarnesses.all

    public static func named(_ name: String) -> Harness? { all.first { $0.name == name } }
}

/// Decodes `bytes` as a `T`; a value that decodes must re-encode to exactly `bytes`, since canonical decoders accept
/// one encoding per value (docs/encoding.md) and hashes and signatures are taken over those bytes.
@discardableResult
func decodeCanonical<T: CanonicalCodable>(_: T.Type, _ bytes: [UInt8]) -> T? {
    guard let value = try? T(canonicalBytes: bytes) else { return nil }
    let encoded = value.canonicalBytes
    if encoded != bytes {
        fatalError("\(T.self) decoded \(bytes.count) bytes that re-encode to \(encoded.count) other bytes")
    }
    return value
}
