import AssayCodec
import AssayCrypto

/// A signed transaction: who sends it, in which chain, in what order, for what fee, doing what.
///
/// The signature is BIP-340 over `signingHash`, the SHA-256 of the canonical bytes of every field but the
/// signature. The transaction hash is SHA-256 of the whole canonical encoding.
public struct Transaction: Hashable, Sendable {
    public static let chainIDBound = 64
    public static let encodedBytesMax = 1 << 20

    public var chainID: String
    public var sender: PublicKey
    public var nonce: UInt64
    public var fee: Amount
    public var body: TransactionBody
    public var signature: Signature

    public init(
        chainID: String, sender: PublicKey, nonce: UInt64, fee: Amount, body: TransactionBody, signature: Signature
    ) {
        self.chainID = chainID
        self.sender = sender
        self.nonce = nonce
        self.fee = fee
        self.body = body
        self.signature = signature
    }

    /// Builds and signs a transaction with `key`.
    public static func signed(
        chainID: String, nonce: UInt64, fee: Amount, body: TransactionBody, key: SecretKey
    ) throws(CryptoError) -> Transaction {
        let hash = signingHash(chainID: chainID, sender: key.publicKey, nonce: nonce, fee: fee, body: body)
        return Transaction(
            chainID: chainID, sender: key.publicKey, nonce: nonce, fee: fee, body: body,
            signature: try key.sign(hash.bytes))
    }

    public var senderAddress: Address { Address(publicKey: sender) }

    /// SHA-256 of the canonical bytes, encoded into a buffer sized for a typical transaction (the ledger
    /// hashes every transaction it executes; growing the default buffer cost two reallocations each time).
    public var hash: Hash {
        var writer = CanonicalWriter(reservingCapacity: 256)
        encode(to: &writer)
        return SHA256.hash(writer.bytes)
    }

    public var signingHash: Hash {
        Self.signingHash(chainID: chainID, sender: sender, nonce: nonce, fee: fee, body: body)
    }

    public var hasValidSignature: Bool { sender.verify(signature, for: signingHash.bytes) }

    static func signingHash(chainID: String, sender: PublicKey, nonce: UInt64, fee: Amount, body: TransactionBody)
        -> Hash
    {
        var writer = CanonicalWriter(reservingCapacity: 160)
        writeUnsigned(&writer, chainID: chainID, sender: sender, nonce: nonce, fee: fee, body: body)
        return SHA256.hash(writer.bytes)
    }

    private static func writeUnsigned(
        _ writer: inout CanonicalWriter, chainID: String, sender: PublicKey, nonce: UInt64, fee: Amount,
        body: TransactionBody
    ) {
        writer.write(chainID)
        writer.write(sender)
        writer.write(nonce)
        writer.write(fee)
        writer.write(body)
    }
}

extension Transaction: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) {
        Self.writeUnsigned(&writer, chainID: chainID, sender: sender, nonce: nonce, fee: fee, body: body)
        writer.write(signature)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        chainID = try reader.readString(bound: Self.chainIDBound)
        sender = try reader.read()
        nonce = try reader.readUInt64()
        fee = try reader.readUInt64()
        body = try reader.read()
        signature = try reader.read()
    }
}

/// What a transaction does. Tags are fixed forever once assigned (docs/encoding-transactions.md).
public enum TransactionBody: Hashable, Sendable {
    case transfer(Transfer)
    case stake(Stake)
    case unstake(Unstake)
    case offer(Offer)
    case withdrawOffer(WithdrawOffer)
    case registerModel(RegisterModel)
    case job(Job)
    case result(JobResult)
    case challenge(Challenge)
    case settle(Settle)
    case evidence(DoubleSignEvidence)
    case governancePropose(GovernanceProposal)
    case governanceVote(GovernanceVote)

    public var tag: UInt64 {
        switch self {
        case .transfer: 0
        case .stake: 1
        case .unstake: 2
        case .offer: 3
        case .withdrawOffer: 4
        case .registerModel: 5
        case .job: 6
        case .result: 7
        case .challenge: 8
        case .settle: 9
        case .evidence: 10
        case .governancePropose: 11
        case .governanceVote: 12
        }
    }

    public var kindName: String {
        switch self {
        case .transfer: "transfer"
        case .stake: "stake"
        case .unstake: "unstake"
        case .offer: "offer"
        case .withdrawOffer: "withdraw_offer"
        case .registerModel: "register_model"
        case .job: "job"
        case .result: "result"
        case .challenge: "challenge"
        case .settle: "settle"
        case .evidence: "evidence"
        case .governancePropose: "governance_propose"
        case .governanceVote: "governance_vote"
        }
    }
}

extension TransactionBody: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) {
        writer.writeULEB128(tag)
        switch self {
        case let .transfer(body): writer.write(body)
        case let .stake(body): writer.write(body)
        case let .unstake(body): writer.write(body)
        case let .offer(body): writer.write(body)
        case let .withdrawOffer(body): writer.write(body)
        case let .registerModel(body): writer.write(body)
        case let .job(body): writer.write(body)
        case let .result(body): writer.write(body)
        case let .challenge(body): writer.write(body)
        case let .settle(body): writer.write(body)
        case let .evidence(body): writer.write(body)
        case let .governancePropose(body): writer.write(body)
        case let .governanceVote(body): writer.write(body)
        }
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        switch try reader.readTag() {
        case 0: self = .transfer(try reader.read())
        case 1: self = .stake(try reader.read())
        case 2: self = .unstake(try reader.read())
        case 3: self = .offer(try reader.read())
        case 4: self = .withdrawOffer(try reader.read())
        case 5: self = .registerModel(try reader.read())
        case 6: self = .job(try reader.read())
        case 7: self = .result(try reader.read())
        case 8: self = .challenge(try reader.read())
        case 9: self = .settle(try reader.read())
        case 10: self = .evidence(try reader.read())
        case 11: self = .governancePropose(try reader.read())
        case 12: self = .governanceVote(try reader.read())
        case let tag: throw .unknownTag(tag, type: "TransactionBody")
        }
    }
}

/// Moves `amount` base units from the sender to `recipient`.
public struct Transfer: Hashable, Sendable, CanonicalCodable {
    public var recipient: Address
    public var amount: Amount

    public init(recipient: Address, amount: Amount) {
        self.recipient = recipient
        self.amount = amount
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(recipient)
        writer.write(amount)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        recipient = try reader.read()
        amount = try reader.readUInt64()
    }
}
