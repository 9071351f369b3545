import AssayCodec
import AssayCrypto

/// What every validator agrees on about a block. The block hash is SHA-256 of the header's canonical bytes;
/// the transactions and the previous commit are bound to it through `transactionsRoot` and `lastCommitHash`.
public struct Header: Hashable, Sendable {
    public var chainID: String
    public var height: Height
    /// Milliseconds since the Unix epoch, from the proposer's clock; validators check it only for monotonicity.
    public var timeMs: UInt64
    public var previousBlockHash: Hash
    public var lastCommitHash: Hash
    public var transactionsRoot: Hash
    /// The state root after executing this block (immediate execution).
    public var stateRoot: Hash
    /// The hash of the validator set that votes on this block.
    public var validatorSetHash: Hash
    /// The hash of the validator set of the next height (changes committed at height H take effect at H + 2, so
    /// the next set is known when this block is proposed): a light client follows set changes through it.
    public var nextValidatorSetHash: Hash
    public var proposer: PublicKey

    public init(
        chainID: String, height: Height, timeMs: UInt64, previousBlockHash: Hash, lastCommitHash: Hash,
        transactionsRoot: Hash, stateRoot: Hash, validatorSetHash: Hash, nextValidatorSetHash: Hash,
        proposer: PublicKey
    ) {
        self.chainID = chainID
        self.height = height
        self.timeMs = timeMs
        self.previousBlockHash = previousBlockHash
        self.lastCommitHash = lastCommitHash
        self.transactionsRoot = transactionsRoot
        self.stateRoot = stateRoot
        self.validatorSetHash = validatorSetHash
        self.nextValidatorSetHash = nextValidatorSetHash
        self.proposer = proposer
    }

    public var hash: Hash { SHA256.hash(canonicalBytes) }
}

extension Header: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(chainID)
        writer.write(height)
        writer.write(timeMs)
        writer.write(previousBlockHash)
        writer.write(lastCommitHash)
        writer.write(transactionsRoot)
        writer.write(stateRoot)
        writer.write(validatorSetHash)
        writer.write(nextValidatorSetHash)
        writer.write(proposer)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        chainID = try reader.readString(bound: Transaction.chainIDBound)
        height = try reader.readUInt64()
        timeMs = try reader.readUInt64()
        previousBlockHash = try reader.read()
        lastCommitHash = try reader.read()
        transactionsRoot = try reader.read()
        stateRoot = try reader.read()
        validatorSetHash = try reader.read()
        nextValidatorSetHash = try reader.read()
        proposer = try reader.read()
    }
}

/// A header, its transactions, and the commit certificate of the previous block (nil at height 1).
public struct Block: Hashable, Sendable {
    public static let transactionsMax = 20_000

    public var header: Header
    public var transactions: [Transaction]
    public var lastCommit: Commit?

    public init(header: Header, transactions: [Transaction], lastCommit: Commit?) {
        self.header = header
        self.transactions = transactions
        self.lastCommit = lastCommit
    }

    public var hash: Hash { header.hash }
    public var height: Height { header.height }

    /// Binary Merkle root over transaction hashes (see `MerkleRoot`).
    public static func transactionsRoot(_ transactions: [Transaction]) -> Hash {
        MerkleRoot.of(leaves: transactions.map(\.hash))
    }

    public static func lastCommitHash(_ commit: Commit?) -> Hash {
        commit.map { SHA256.hash($0.canonicalBytes) } ?? .zero
    }

    /// The header's roots match the body it came with.
    public var bodyMatchesHeader: Bool {
        header.transactionsRoot == Self.transactionsRoot(transactions)
            && header.lastCommitHash == Self.lastCommitHash(lastCommit)
    }
}

extension Block: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(header)
        writer.write(transactions)
        writer.write(lastCommit)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        header = try reader.read()
        transactions = try reader.readArray(bound: Self.transactionsMax)
        lastCommit = try reader.readOptional()
    }
}

/// One precommit signature in a commit certificate.
public struct CommitSignature: Hashable, Sendable, CanonicalCodable {
    public var validator: PublicKey
    public var signature: Signature

    public init(validator: PublicKey, signature: Signature) {
        self.validator = validator
        self.signature = signature
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(validator)
        writer.write(signature)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        validator = try reader.read()
        signature = try reader.read()
    }
}

/// Precommits for one block at one round by more than two thirds of the voting power: proof the block is final.
public struct Commit: Hashable, Sendable {
    public var height: Height
    public var round: Round
    public var blockHash: Hash
    /// Sorted by validator key, one per validator.
    public var signatures: [CommitSignature]

    public init(height: Height, round: Round, blockHash: Hash, signatures: [CommitSignature]) {
        self.height = height
        self.round = round
        self.blockHash = blockHash
        self.signatures = signatures.sorted { $0.validator < $1.validator }
    }

    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case wrongBlock, unknownValidator(PublicKey), duplicate(PublicKey), badSignature(PublicKey)
        case insufficientPower(signed: UInt64, total: UInt64)

        public var description: String {
            switch self {
            case .wrongBlock: "commit is for a different block or height"
            case let .unknownValidator(key): "commit signed by \(key), not in the validator set"
            case let .duplicate(key): "commit has two signatures by \(key)"
            case let .badSignature(key): "commit signature by \(key) does not verify"
            case let .insufficientPower(signed, total): "commit power \(signed) of \(total) is not over two thirds"
            }
        }
    }

    /// Checks that this commits `blockHash` at `height` with valid precommits over two thirds of `validators`' power.
    public func verify(chainID: String, height: Height, blockHash: Hash, validators: ValidatorSet) throws(Problem) {
        guard self.height == height, self.blockHash == blockHash else { throw .wrongBlock }
        let message = Vote.signBytes(
            chainID: chainID, kind: .precommit, height: height, round: round, blockHash: blockHash)
        var power: UInt64 = 0
        var previous: PublicKey?
        for entry in signatures {
            if let previous, !(previous < entry.validator) { throw .duplicate(entry.validator) }
            previous = entry.validator
            let weight = validators.power(of: entry.validator)
            guard weight > 0 else { throw .unknownValidator(entry.validator) }
            guard entry.validator.verify(entry.signature, for: message) else { throw .badSignature(entry.validator) }
            power += weight
        }
        guard validators.isQuorum(power) else {
            throw .insufficientPower(signed: power, total: validators.totalPower)
        }
    }
}

extension Commit: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(height)
        writer.write(round)
        writer.write(blockHash)
        writer.write(signatures)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        height = try reader.readUInt64()
        round = try reader.readUInt32()
        blockHash = try reader.read()
        signatures = try reader.readArray(bound: ValidatorSet.sizeMax)
        guard zip(signatures, signatures.dropFirst()).allSatisfy({ $0.validator < $1.validator }) else {
            throw .invalidValue("commit signatures are not sorted by validator key without duplicates")
        }
    }
}

/// A binary Merkle root over 32-byte leaves, RFC 6962 style: leaves hashed with prefix 0x00, inner nodes
/// with 0x01, the split at the largest power of two below the count; the empty tree is SHA-256 of nothing.
public enum MerkleRoot {
    public static func of(leaves: [Hash]) -> Hash {
        guard !leaves.isEmpty else { return SHA256.hash([UInt8]()) }
        return root(leaves.map { SHA256.hash(parts: [[0x00], $0.bytes]) }[...])
    }

    private static func root(_ nodes: ArraySlice<Hash>) -> Hash {
        if nodes.count == 1 { return nodes[nodes.startIndex] }
        var split = 1
        while split * 2 < nodes.count { split *= 2 }
        let middle = nodes.startIndex + split
        return SHA256.hash(parts: [[0x01], root(nodes[..<middle]).bytes, root(nodes[middle...]).bytes])
    }
}
