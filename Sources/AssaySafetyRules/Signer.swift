import AssayCrypto

/// Produces signatures with one validator key. SafetyRules is its only caller in the node.
public protocol Signer: Sendable {
    var publicKey: PublicKey { get }
    func sign(_ message: [UInt8]) throws(CryptoError) -> Signature
}

/// Checks signatures; the engine verifies every peer message with one before its core sees it.
public protocol SignatureVerifier: Sendable {
    func isValid(_ signature: Signature, by key: PublicKey, for message: [UInt8]) -> Bool
}

/// BIP-340 Schnorr signing with a secp256k1 key.
public struct SchnorrSigner: Signer {
    private let key: SecretKey
    private let randomizedNonce: Bool

    /// `randomizedNonce: false` uses all-zero auxiliary randomness (BIP-340 allows it; the nonce still
    /// depends on key and message) so that a seeded simulation signs the same bytes on every run.
    public init(key: SecretKey, randomizedNonce: Bool = true) {
        self.key = key
        self.randomizedNonce = randomizedNonce
    }

    public var publicKey: PublicKey { key.publicKey }

    public func sign(_ message: [UInt8]) throws(CryptoError) -> Signature {
        randomizedNonce
            ? try key.sign(message) : try key.sign(message, auxiliaryRandomness: [UInt8](repeating: 0, count: 32))
    }
}

/// BIP-340 Schnorr verification.
public struct SchnorrVerifier: SignatureVerifier {
    public init() {}

    public func isValid(_ signature: Signature, by key: PublicKey, for message: [UInt8]) -> Bool {
        key.verify(signature, for: message)
    }
}
