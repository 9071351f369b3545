import AssayCrypto
import AssaySafetyRules
import AssayTypes

/// The simulation's validator keys: real secp256k1 keys derived from their index, made once per process.
enum SimKeys {
    static let countMax = 16

    static let secrets: [SecretKey] = (0..<countMax).map { derive("assay/sim-key/\($0)") }

    private static func derive(_ label: String) -> SecretKey {
        var counter: UInt8 = 0
        while true {
            if let key = try? SecretKey(bytes: SHA256.hash(Array("\(label)/\(counter)".utf8)).bytes) { return key }
            counter += 1
        }
    }

    /// A transaction signed with real BIP-340 and no auxiliary randomness, so that a seed always gives the same bytes.
    static func signed(_ key: SecretKey, nonce: UInt64, fee: Amount, body: TransactionBody) -> Transaction {
        var transaction = Transaction(
            chainID: SimChain.chainID, sender: key.publicKey, nonce: nonce, fee: fee, body: body,
            signature: unsigned)
        transaction.signature = try! key.sign(transaction.signingHash.bytes, auxiliaryRandomness: [UInt8](repeating: 0, count: 32))
        return transaction
    }

    private static let unsigned = try! Signature(bytes: [UInt8](repeating: 0, count: 64))

    static let publicKeys: [PublicKey] = secrets.map(\.publicKey)

    /// Validator I's node key (its ledger record names one; the simulated network has no handshake to use it).
    static let nodeKeys: [PublicKey] = (0..<countMax).map { derive("assay/sim-node-key/\($0)").publicKey }

    /// Each of `validators`' node keys, by its consensus key.
    static func nodeKeys(of validators: ValidatorSet) -> [PublicKey: PublicKey] {
        Dictionary(uniqueKeysWithValues: validators.validators.map { member in
            (member.publicKey, nodeKeys[publicKeys.firstIndex(of: member.publicKey)!])
        })
    }

    /// The client accounts' keys (a provider and its clients), apart from the validators'.
    static let accountSecrets: [SecretKey] = (0..<SimChain.accountCount).map { derive("assay/sim-account/\($0)") }

    static func secretBytes(_ index: Int) -> [UInt8] { secrets[index].withSecretBytes { Array($0) } }

    /// The signer and verifier for a scenario: real BIP-340, or the fast keyed-hash scheme.
    static func signer(_ index: Int, realSignatures: Bool) -> any Signer {
        realSignatures
            ? SchnorrSigner(key: secrets[index], randomizedNonce: false)
            : KeyedHashSigner(publicKey: publicKeys[index], secret: secretBytes(index))
    }

    /// One scenario's verifier. Real BIP-340 checks are cached for the scenario: the engines of one
    /// process would otherwise verify every vote once each, and each distinct signature still gets
    /// one real check.
    static func verifier(realSignatures: Bool) -> any SignatureVerifier {
        realSignatures ? VerifiedOnce(SchnorrVerifier()) : KeyedHashVerifier.shared
    }
}

/// Remembers the (key, signature, message) triples that verified. Confined to one scenario's thread.
final class VerifiedOnce: SignatureVerifier, @unchecked Sendable {
    private let inner: any SignatureVerifier
    private var valid: Set<Digest32> = []

    init(_ inner: any SignatureVerifier) { self.inner = inner }

    func isValid(_ signature: Signature, by key: PublicKey, for message: [UInt8]) -> Bool {
        let triple = SHA256.hash(parts: [key.bytes, signature.bytes, message])
        if valid.contains(triple) { return true }
        guard inner.isValid(signature, by: key, for: message) else { return false }
        valid.insert(triple)
        return true
    }
}

/// The simulation's fast signature scheme, behind the same `Signer` protocol as BIP-340: a signature
/// is SHA-256(secret | message) followed by SHA-256(public key | message). Only the holder of the
/// secret can produce it, and only `KeyedHashVerifier`, which knows the simulation's secrets, checks
/// it, so forgery stays impossible inside the simulation. Never used outside it.
struct KeyedHashSigner: Signer {
    let publicKey: PublicKey
    let secret: [UInt8]

    func sign(_ message: [UInt8]) throws(CryptoError) -> Signature {
        try KeyedHashVerifier.signature(secret: secret, publicKey: publicKey, message: message)
    }
}

struct KeyedHashVerifier: SignatureVerifier {
    static let shared = KeyedHashVerifier()

    private let secretsByKey: [PublicKey: [UInt8]]

    private init() {
        var table: [PublicKey: [UInt8]] = [:]
        for index in 0..<SimKeys.countMax { table[SimKeys.publicKeys[index]] = SimKeys.secretBytes(index) }
        secretsByKey = table
    }

    func isValid(_ signature: Signature, by key: PublicKey, for message: [UInt8]) -> Bool {
        guard let secret = secretsByKey[key],
            let expected = try? Self.signature(secret: secret, publicKey: key, message: message)
        else { return false }
        return expected == signature
    }

    static func signature(secret: [UInt8], publicKey: PublicKey, message: [UInt8]) throws(CryptoError) -> Signature {
        try Signature(bytes: SHA256.hash(parts: [secret, message]).bytes + SHA256.hash(parts: [publicKey.bytes, message]).bytes)
    }
}
