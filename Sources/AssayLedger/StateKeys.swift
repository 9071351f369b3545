import AssayCrypto
import AssayStorage
import AssayTypes

/// Where the ledger keeps things. Every state entry lives under one key in the `state` namespace and is a
/// leaf of the sparse Merkle tree (its tree key is SHA-256 of the state key); tree nodes live in `smt`.
public enum LedgerNamespace {
    public static let state = Namespace("state")
    public static let smt = Namespace("smt")
    public static let all = [state, smt]
}

/// State keys: one prefix byte per kind of entry, then the entry's id.
public enum StateKey {
    static let accountPrefix: UInt8 = 0x01
    static let stakePrefix: UInt8 = 0x02
    static let offerPrefix: UInt8 = 0x03
    static let modelPrefix: UInt8 = 0x04
    static let jobPrefix: UInt8 = 0x05
    static let validatorPrefix: UInt8 = 0x06
    static let proposalPrefix: UInt8 = 0x07
    static let paramsKey: [UInt8] = [0x08]
    static let totalsKey: [UInt8] = [0x09]
    /// Timeouts: prefix, height (8 bytes big-endian so that one height's entries are contiguous), kind, id.
    static let timeoutPrefix: UInt8 = 0x0a
    /// How many registered models and retained jobs use a blob (u64), by blob id.
    static let blobUsesPrefix: UInt8 = 0x0b
    /// The blob ids (32 bytes each) an ended job releases when its retention ends, by job id.
    static let blobReleasePrefix: UInt8 = 0x0c

    public static func account(_ address: Address) -> [UInt8] { accountKey(address).bytes }
    /// The account key built in place (an account is read and written several times per transfer).
    static func accountKey(_ address: Address) -> StoreKey { StoreKey(prefix: accountPrefix, address.bytes) }
    public static func stake(_ address: Address) -> [UInt8] { [stakePrefix] + address.bytes }
    public static func offer(_ id: Hash) -> [UInt8] { [offerPrefix] + id.bytes }
    public static func model(_ hash: Hash) -> [UInt8] { [modelPrefix] + hash.bytes }
    public static func job(_ id: Hash) -> [UInt8] { [jobPrefix] + id.bytes }
    public static func validator(_ key: PublicKey) -> [UInt8] { [validatorPrefix] + key.bytes }
    public static func proposal(_ id: Hash) -> [UInt8] { [proposalPrefix] + id.bytes }
    public static func blobUses(_ id: Hash) -> [UInt8] { [blobUsesPrefix] + id.bytes }
    public static func blobRelease(_ job: Hash) -> [UInt8] { [blobReleasePrefix] + job.bytes }
    public static var params: [UInt8] { paramsKey }
    public static var totals: [UInt8] { totalsKey }

    static func timeouts(at height: Height) -> [UInt8] {
        var key: [UInt8] = [timeoutPrefix]
        for shift in stride(from: 56, through: 0, by: -8) { key.append(UInt8(truncatingIfNeeded: height >> UInt64(shift))) }
        return key
    }

    static func timeout(at height: Height, _ kind: TimeoutKind, id: [UInt8]) -> [UInt8] {
        timeouts(at: height) + [kind.rawValue] + id
    }
}

/// What comes due at the end of a height, in the order it is handled there: jobs end before unbonded stake is
/// released, so a provider's stake leaving in the same block can still pay a non-delivery penalty.
enum TimeoutKind: UInt8 {
    case job = 0
    case proposal = 1
    case offer = 2
    case unbonding = 3
    /// A job's input and output blobs, `blob_retention_blocks` after it ended.
    case blobRelease = 4
}
