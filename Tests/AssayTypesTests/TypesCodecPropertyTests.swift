import AssayCodec
import AssayCrypto
import AssayTypes
import PropertyBased
import Testing

/// Seeded construction of random but well-formed chain values.
struct RandomValues {
    static let keys: [SecretKey] = (1...4).map { try! SecretKey(bytes: [UInt8](repeating: 0, count: 31) + [UInt8($0)]) }

    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
    mutating func hash() -> Hash { Hash(bytes(32)) }
    mutating func key() -> PublicKey { Self.keys[Int(next() % 4)].publicKey }
    mutating func signature() -> Signature { try! Signature(bytes: bytes(64)) }

    mutating func transaction() -> Transaction {
        Transaction(
            chainID: String(repeating: "c", count: Int(next() % 65)), sender: key(), nonce: next() >> (next() % 64),
            fee: next() % 1_000_000,
            body: .transfer(Transfer(recipient: try! Address(bytes: bytes(20)), amount: next())),
            signature: signature())
    }

    mutating func vote() -> Vote {
        Vote(
            kind: next() & 1 == 0 ? .prevote : .precommit, height: next(), round: UInt32(truncatingIfNeeded: next()),
            blockHash: next() & 1 == 0 ? nil : hash(), validator: key(), signature: signature())
    }

    mutating func commit() -> Commit {
        let signers = Self.keys.prefix(Int(next() % 5))
        return Commit(
            height: next(), round: UInt32(truncatingIfNeeded: next()), blockHash: hash(),
            signatures: signers.map { CommitSignature(validator: $0.publicKey, signature: signature()) })
    }

    mutating func block() -> Block {
        let header = Header(
            chainID: "assay-test", height: next(), timeMs: next(), previousBlockHash: hash(), lastCommitHash: hash(),
            transactionsRoot: hash(), stateRoot: hash(), validatorSetHash: hash(), nextValidatorSetHash: hash(), proposer: key())
        return Block(
            header: header, transactions: (0..<Int(next() % 4)).map { _ in transaction() },
            lastCommit: next() & 1 == 0 ? nil : commit())
    }
}

@Suite struct TypesCodecPropertyTests {
    @Test func blocksRoundTrip() async {
        await propertyCheck(count: 2_000, input: Gen.uint64()) { seed in
            var random = RandomValues(state: seed)
            let block = random.block()
            #expect((try? Block(canonicalBytes: block.canonicalBytes)) == block, "seed \(seed)")
        }
    }

    @Test func votesAndTransactionsRoundTrip() async {
        await propertyCheck(count: 10_000, input: Gen.uint64()) { seed in
            var random = RandomValues(state: seed)
            let vote = random.vote()
            let transaction = random.transaction()
            #expect((try? Vote(canonicalBytes: vote.canonicalBytes)) == vote, "seed \(seed)")
            #expect((try? Transaction(canonicalBytes: transaction.canonicalBytes)) == transaction, "seed \(seed)")
        }
    }

    /// Corrupting one byte, cutting or extending a valid block never crashes a decoder: it throws or
    /// yields a value that re-encodes to the same bytes.
    @Test func corruptedBlocksDecodeCanonicallyOrThrow() async {
        await propertyCheck(count: 10_000, input: Gen.uint64()) { seed in
            var random = RandomValues(state: seed)
            var bytes = random.block().canonicalBytes
            let position = Int(random.next() % UInt64(bytes.count))
            switch random.next() % 3 {
            case 0: bytes[position] ^= UInt8(truncatingIfNeeded: random.next() | 1)
            case 1: bytes.removeSubrange(position...)
            default: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
            }
            if let block = try? Block(canonicalBytes: bytes) { #expect(block.canonicalBytes == bytes) }
            if let vote = try? Vote(canonicalBytes: bytes) { #expect(vote.canonicalBytes == bytes) }
            if let tx = try? Transaction(canonicalBytes: bytes) { #expect(tx.canonicalBytes == bytes) }
        }
    }
}

@Suite struct SignatureBindingTests {
    @Test func signedTransferVerifiesAndAnyFieldChangeBreaksIt() throws {
        let key = RandomValues.keys[0]
        let recipient = Address(publicKey: RandomValues.keys[1].publicKey)
        let tx = try Transaction.signed(
            chainID: "assay-test", nonce: 7, fee: 10, body: .transfer(Transfer(recipient: recipient, amount: 99)),
            key: key)
        #expect(tx.hasValidSignature)
        var changed = tx
        changed.nonce = 8
        #expect(!changed.hasValidSignature)
        changed = tx
        changed.chainID = "assay-other"
        #expect(!changed.hasValidSignature)
        changed = tx
        changed.sender = RandomValues.keys[1].publicKey
        #expect(!changed.hasValidSignature)
    }

    @Test func commitNeedsOverTwoThirdsOfPower() throws {
        let validators = try ValidatorSet(RandomValues.keys.map { Validator(publicKey: $0.publicKey, power: 10) })
        let blockHash = Hash([UInt8](repeating: 7, count: 32))
        let message = Vote.signBytes(chainID: "c", kind: .precommit, height: 5, round: 1, blockHash: blockHash)
        func commit(_ signers: ArraySlice<SecretKey>) throws -> Commit {
            Commit(height: 5, round: 1, blockHash: blockHash, signatures: try signers.map {
                CommitSignature(validator: $0.publicKey, signature: try $0.sign(message))
            })
        }
        try commit(RandomValues.keys[0..<3]).verify(chainID: "c", height: 5, blockHash: blockHash, validators: validators)
        #expect(throws: Commit.Problem.insufficientPower(signed: 20, total: 40)) {
            try commit(RandomValues.keys[0..<2]).verify(chainID: "c", height: 5, blockHash: blockHash, validators: validators)
        }
        #expect(throws: Commit.Problem.self) {
            try commit(RandomValues.keys[0..<3]).verify(chainID: "d", height: 5, blockHash: blockHash, validators: validators)
        }
    }

    @Test func doubleSignEvidenceNeedsConflictingVotes() throws {
        let key = RandomValues.keys[0]
        func vote(_ hash: Hash?) throws -> Vote {
            let bytes = Vote.signBytes(chainID: "c", kind: .prevote, height: 3, round: 0, blockHash: hash)
            return Vote(kind: .prevote, height: 3, round: 0, blockHash: hash, validator: key.publicKey,
                        signature: try key.sign(bytes))
        }
        let a = try vote(Hash([UInt8](repeating: 1, count: 32)))
        let b = try vote(nil)
        let evidence = try #require(DoubleSignEvidence(a, b))
        #expect(evidence.isValid(chainID: "c"))
        #expect(!evidence.isValid(chainID: "other"))
        #expect(DoubleSignEvidence(a, a) == nil)
        #expect(try DoubleSignEvidence(canonicalBytes: evidence.canonicalBytes) == evidence)
        #expect(DoubleSignEvidence(b, a) == evidence)
    }

    @Test func validatorSetRulesAndCanonicalOrder() throws {
        let keys = RandomValues.keys.map(\.publicKey)
        #expect(throws: ValidatorSet.Problem.empty) { try ValidatorSet([]) }
        #expect(throws: ValidatorSet.Problem.zeroPower(keys[0])) { try ValidatorSet([Validator(publicKey: keys[0], power: 0)]) }
        #expect(throws: ValidatorSet.Problem.duplicate(keys[1])) {
            try ValidatorSet([Validator(publicKey: keys[1], power: 1), Validator(publicKey: keys[1], power: 2)])
        }
        let set = try ValidatorSet(keys.reversed().map { Validator(publicKey: $0, power: 1) })
        #expect(set.validators.map(\.publicKey) == keys.sorted())
        #expect(try ValidatorSet(canonicalBytes: set.canonicalBytes) == set)
        var unsorted = CanonicalWriter()
        unsorted.write(set.validators.reversed() as [Validator])
        #expect(throws: CodecError.self) { try ValidatorSet(canonicalBytes: unsorted.bytes) }
    }
}
