import AssayCrypto
import AssayLightClient
import AssayTypes

/// Validators with real BIP-340 keys, derived from their number so every run signs the same bytes.
struct Signers {
    // A SHA-256 output is a valid secp256k1 secret with overwhelming probability; these ones are.
    static let keys = (0..<32).map { try! SecretKey(bytes: SHA256.hash(Array("light test validator \($0)".utf8)).bytes) }

    static func key(_ number: Int) -> SecretKey { keys[number] }

    static func key(of publicKey: PublicKey) -> SecretKey { keys.first { $0.publicKey == publicKey }! }

    static func set(_ members: [(Int, UInt64)]) -> ValidatorSet {
        try! ValidatorSet(members.map { Validator(publicKey: key($0.0).publicKey, power: $0.1) })
    }

    static func set(_ numbers: ClosedRange<Int>, power: UInt64 = 10) -> ValidatorSet {
        set(numbers.map { ($0, power) })
    }
}

/// A chain of light blocks as consensus would produce it: `sets[h - 1]` votes on height h, so block h's next set is
/// `sets[h]` (the list holds one set more than the chain has blocks).
struct TestChain {
    static let chainID = "light-test"
    private(set) var blocks: [LightBlock] = []

    init(sets: [ValidatorSet], chainID: String = TestChain.chainID) {
        precondition(sets.count >= 2)
        for index in 0..<(sets.count - 1) {
            let height = Height(index + 1)
            let header = Self.header(
                chainID: chainID, height: height, previous: blocks.last?.hash ?? .zero, validators: sets[index],
                next: sets[index + 1])
            blocks.append(Self.signed(header, validators: sets[index], next: sets[index + 1]))
        }
    }

    subscript(height: Height) -> LightBlock { blocks[Int(height) - 1] }
    var tip: LightBlock { blocks[blocks.count - 1] }

    static func header(
        chainID: String = TestChain.chainID, height: Height, previous: Hash, validators: ValidatorSet, next: ValidatorSet
    ) -> Header {
        Header(
            chainID: chainID, height: height, timeMs: 1_000 * height, previousBlockHash: previous,
            lastCommitHash: SHA256.hash(Array("last commit \(height)".utf8)),
            transactionsRoot: SHA256.hash(Array("transactions \(height)".utf8)),
            stateRoot: SHA256.hash(Array("state \(height)".utf8)), validatorSetHash: validators.hash,
            nextValidatorSetHash: next.hash, proposer: validators.validators[0].publicKey)
    }

    /// The light block of `header`, its commit signed by `signers` (default: every member of `validators`).
    static func signed(
        _ header: Header, validators: ValidatorSet, next: ValidatorSet, signers: [PublicKey]? = nil
    ) -> LightBlock {
        LightBlock(
            header: header,
            commit: commit(
                chainID: header.chainID, height: header.height, blockHash: header.hash,
                signers: signers ?? validators.validators.map(\.publicKey)),
            validators: validators, nextValidators: next)
    }

    /// Precommit signatures over the sign bytes consensus uses, by the test keys of `signers`.
    static func commit(chainID: String, height: Height, blockHash: Hash, signers: [PublicKey]) -> Commit {
        let message = Vote.signBytes(chainID: chainID, kind: .precommit, height: height, round: 0, blockHash: blockHash)
        return Commit(
            height: height, round: 0, blockHash: blockHash,
            signatures: signers.map { CommitSignature(validator: $0, signature: try! Signers.key(of: $0).sign(message)) })
    }
}
