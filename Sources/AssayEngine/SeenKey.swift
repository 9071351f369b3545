import AssayTypes

/// What identifies a proposal or vote for de-duplication: signer, kind, round, proof-of-lock round
/// and value, without the signature (two signatures over the same content are the same message).
/// Hashes whole 64-bit words, which is much cheaper than hashing the byte arrays of `Vote`.
struct SeenKey: Hashable {
    let signer: (UInt64, UInt64, UInt64, UInt64)
    let value: (UInt64, UInt64, UInt64, UInt64)
    /// Kind (0 proposal, 1 prevote, 2 precommit), nil value, round and proof-of-lock round packed.
    let header: UInt64
    let proofOfLockRound: UInt32

    init(_ vote: Vote) {
        signer = Self.words(vote.validator.bytes)
        value = vote.blockHash.map { Self.words($0.bytes) } ?? (0, 0, 0, 0)
        header = UInt64(vote.kind.rawValue) | (vote.blockHash == nil ? 1 << 8 : 0) | UInt64(vote.round) << 32
        proofOfLockRound = 0
    }

    init(_ proposal: Proposal) {
        signer = Self.words(proposal.proposer.bytes)
        value = Self.words(proposal.blockHash.bytes)
        header = (proposal.proofOfLockRound == nil ? 1 << 16 : 0) | UInt64(proposal.round) << 32
        proofOfLockRound = proposal.proofOfLockRound ?? 0
    }

    private static func words(_ bytes: [UInt8]) -> (UInt64, UInt64, UInt64, UInt64) {
        precondition(bytes.count == 32, "keys and hashes are 32 bytes")
        return bytes.withUnsafeBytes {
            ($0.loadUnaligned(fromByteOffset: 0, as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
             $0.loadUnaligned(fromByteOffset: 16, as: UInt64.self), $0.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        }
    }

    static func == (lhs: SeenKey, rhs: SeenKey) -> Bool {
        lhs.signer == rhs.signer && lhs.value == rhs.value && lhs.header == rhs.header
            && lhs.proofOfLockRound == rhs.proofOfLockRound
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(signer.0)
        hasher.combine(signer.1)
        hasher.combine(value.0)
        hasher.combine(value.1)
        hasher.combine(header)
        hasher.combine(proofOfLockRound)
    }
}
