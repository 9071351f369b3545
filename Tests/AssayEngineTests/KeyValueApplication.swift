import AssayCodec
import AssayCrypto
import AssayEngine
import AssayStorage
import AssayTypes
@testable import AssaySimulation

/// The engine story tests' application (the simulation runs the ledger): each transaction is a payload "set the
/// recipient's value to the amount", and the state root is a hash chain over everything committed. It really
/// executes, so proposers must compute roots and validators must check them. Its rules: a transaction belongs to
/// this chain, carries the block height as nonce, a fee of at most `feeMax` and a non-zero amount. Committing a
/// block of a height in `validatorChanges` hands those changes to the engine (the story's governance).
final class KeyValueApplication: BlockExecutor {
    static let namespace = Namespace("app")
    static let stateKey = Array("state".utf8)
    static let feeMax: Amount = 100
    static let transactionsPerBlockMax = 2

    private let chainID: String
    private let disk: SimulatedDisk
    private let sender: PublicKey
    private var random: SimRandom
    private let onCommit: (Block) -> Void
    private let validatorChanges: [Height: [Validator]]
    private(set) var height: Height = 0
    private(set) var root: Hash = .zero

    /// Loads the committed state from `disk` (after a restart, the state as of the last synced commit).
    init(
        chainID: String, disk: SimulatedDisk, sender: PublicKey, random: SimRandom,
        validatorChanges: [Height: [Validator]] = [:], onCommit: @escaping (Block) -> Void
    ) {
        self.chainID = chainID
        self.validatorChanges = validatorChanges
        self.disk = disk
        self.sender = sender
        self.random = random
        self.onCommit = onCommit
        if let raw = try? disk.get(Self.stateKey, in: Self.namespace), raw.count == 40 {
            height = raw.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
            root = Digest32(Array(raw.suffix(32)))
        }
    }

    func transactionsForNewBlock(_ context: ExecutionContext) -> [Transaction] {
        (0..<random.int(0...Self.transactionsPerBlockMax)).map { _ in
            Self.transaction(
                chainID: chainID, sender: sender, nonce: context.height, fee: UInt64(random.int(1...Int(Self.feeMax))),
                amount: UInt64(random.int(1...1_000_000)))
        }
    }

    func execute(_ context: ExecutionContext, transactions: [Transaction]) throws(ExecutionError) -> Hash {
        let height = context.height
        guard height == self.height + 1 else { throw .fault("block \(height) does not follow \(self.height)") }
        return try Self.nextRoot(after: root, height: height, transactions: transactions, chainID: chainID)
    }

    func commitWrites(for block: Block, validators: ValidatorSet, into batch: inout WriteBatch)
        throws(ExecutionError) -> [Validator]
    {
        let newRoot = try execute(ExecutionContext(block.header, validators: validators), transactions: block.transactions)
        guard newRoot == block.header.stateRoot else {
            throw .invalid(.stateRootMismatch(header: block.header.stateRoot, executed: newRoot))
        }
        batch.put(Self.stateKey, withUnsafeBytes(of: block.height.bigEndian) { Array($0) } + newRoot.bytes, in: Self.namespace)
        return validatorChanges[block.height] ?? []
    }

    func didCommit(_ block: Block) {
        height = block.height
        root = block.header.stateRoot
        onCommit(block)
    }

    /// The application's state transition: SHA-256(previous root | height | each transaction hash).
    static func nextRoot(after previous: Hash, height: Height, transactions: [Transaction], chainID: String)
        throws(ExecutionError) -> Hash
    {
        guard transactions.count <= transactionsPerBlockMax else { throw .invalid(.applicationRule("too many transactions")) }
        var parts = [previous.bytes, withUnsafeBytes(of: height.littleEndian) { Array($0) }]
        for transaction in transactions {
            guard transaction.chainID == chainID, transaction.nonce == height, transaction.fee <= feeMax,
                case let .transfer(transfer) = transaction.body, transfer.amount > 0
            else { throw .invalid(.applicationRule("a transaction breaks the application's rules")) }
            parts.append(transaction.hash.bytes)
        }
        return SHA256.hash(parts: parts)
    }

    /// This application has no accounts, so transaction signatures are never checked.
    static let unsignedSignature = try! Signature(bytes: [UInt8](repeating: 0, count: 64))

    /// A payload transaction.
    static func transaction(chainID: String, sender: PublicKey, nonce: Height, fee: Amount, amount: Amount)
        -> Transaction
    {
        Transaction(
            chainID: chainID, sender: sender, nonce: nonce, fee: fee,
            body: .transfer(Transfer(recipient: Address(publicKey: sender), amount: amount)),
            signature: unsignedSignature)
    }
}
