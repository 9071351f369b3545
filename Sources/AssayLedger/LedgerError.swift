import AssayBlobs
import AssayCrypto
import AssayStorage
import AssayTypes

/// Why a block could not be executed at all (as opposed to one transaction failing inside it).
public enum LedgerError: Error, Equatable, Sendable, CustomStringConvertible {
    case storage(StorageError)
    /// A stored value did not decode, or a tree node the root refers to is missing.
    case corruptState(key: String, reason: String)
    /// The store's state root is not the parent root the caller named.
    case parentRootMismatch(expected: Hash, stored: Hash)
    /// Genesis applies only to an empty store.
    case storeNotEmpty
    /// A blob the block needs is not held by this node: the block cannot be executed here (yet).
    case blobUnavailable(BlobRef)

    public var description: String {
        switch self {
        case let .storage(error): "storage: \(error)"
        case let .corruptState(key, reason): "corrupt state at \(key): \(reason)"
        case let .parentRootMismatch(expected, stored): "parent root \(expected) is not the stored root \(stored)"
        case .storeNotEmpty: "genesis needs an empty store"
        case let .blobUnavailable(ref): "block invalid: blob \(ref.id) unavailable (\(ref.length) bytes not held)"
        }
    }
}

/// The check a transaction failed before execution. Such a transaction is never included in a block.
public enum Rejection: Hashable, Sendable, CustomStringConvertible {
    case wrongChainID
    case badSignature
    case wrongNonce(expected: UInt64)
    case feeBelowMinimum(minimum: Amount)
    case cannotPayFee

    public var description: String {
        switch self {
        case .wrongChainID: "transaction is for another chain"
        case .badSignature: "signature does not verify"
        case let .wrongNonce(expected): "nonce must be exactly \(expected)"
        case let .feeBelowMinimum(minimum): "fee is below the minimum \(minimum)"
        case .cannotPayFee: "sender's balance cannot pay the fee and the blob fee"
        }
    }
}

/// The outcome code of an included transaction: `ok`, or why its body failed (it still paid its fee and
/// used its nonce; nothing else changed). Values are stable: clients see them over RPC.
public enum ResultCode: UInt16, Hashable, Sendable, CaseIterable {
    case ok = 0
    case insufficientBalance = 1
    case insufficientStake = 2
    case zeroAmount = 3
    case tooManyUnbondingEntries = 4
    case offerNotFound = 10
    case notOfferProvider = 11
    case invalidOffer = 12
    case offerExpired = 13
    case offerFull = 14
    case kernelNotOffered = 15
    case modelNotFound = 20
    case modelExists = 21
    case invalidModel = 22
    case invalidInput = 23
    case invalidDeadline = 24
    case workUnitsOverLimit = 25
    case jobNotFound = 30
    case notJobProvider = 31
    case wrongJobState = 32
    case deadlinePassed = 33
    case invalidOutput = 34
    case invalidTrace = 35
    case workUnitsMismatch = 36
    case bondTooSmall = 40
    case challengeWindowClosed = 41
    case workBudgetExhausted = 42
    case providerCannotChallenge = 43
    case tileNotFound = 44
    case tooEarlyToSettle = 50
    case invalidEvidence = 60
    case evidenceTooOld = 61
    case unknownValidator = 62
    case alreadyTombstoned = 63
    case notValidator = 70
    case invalidProposal = 71
    case proposalNotFound = 72
    case proposalClosed = 73
    case alreadyVoted = 74
    case overflow = 80
}

/// A body failure: the transaction is included with this code and rolled back to fee and nonce.
struct TxFailure: Error {
    let code: ResultCode
    init(_ code: ResultCode) { self.code = code }
}

extension Amount {
    /// Checked arithmetic inside a transaction: an overflow fails the transaction, never the block.
    func plus(_ other: Amount) throws(TxFailure) -> Amount {
        do { return try adding(other) } catch { throw TxFailure(.overflow) }
    }

    func minus(_ other: Amount, else code: ResultCode) throws(TxFailure) -> Amount {
        do { return try subtracting(other) } catch { throw TxFailure(code) }
    }

    func times(_ other: UInt64) throws(TxFailure) -> Amount {
        do { return try multiplied(by: other) } catch { throw TxFailure(.overflow) }
    }
}
