import AssayCrypto
import AssayTypes

/// Why a light block was not accepted. Each names the height it is about.
public enum LightClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The commit signs another block than this header (a field changed after signing, or another height).
    case forgedHeader(height: Height, headerHash: Hash, signedHash: Hash)
    case wrongChain(expected: String, found: String)
    /// The block's validator set is not the one its header names.
    case validatorSetMismatch(height: Height)
    /// The block's next validator set is not the one its header names.
    case nextValidatorSetMismatch(height: Height)
    /// The commit is not valid precommits of more than two thirds of the block's own set.
    case invalidCommit(height: Height, Commit.Problem)
    case notHigher(trusted: Height, untrusted: Height)
    case notAdjacent(trusted: Height, untrusted: Height)
    /// Skipping verification was asked for the block right after the trusted one (adjacent verification applies).
    case adjacent(trusted: Height)
    case timeNotIncreasing(height: Height)
    /// The block right after the trusted one is voted by another set than the trusted block's next set.
    case untrustedValidatorSet(height: Height)
    /// The block right after the trusted one does not name the trusted block as its parent.
    case doesNotExtendTrusted(height: Height)
    /// Those in the trusted next set who signed hold no more than a third of its power: nothing says the block's set
    /// is honest. Bisection answers this by verifying a height in between first.
    case insufficientTrustedPower(height: Height, signed: UInt64, total: UInt64)
    /// Backwards: the header below the trusted one is not the parent the trusted header names.
    case notTrustedParent(height: Height)
    /// The source answered another height than the one asked for.
    case wrongHeightFetched(asked: Height, got: Height)

    public var description: String {
        switch self {
        case let .forgedHeader(height, headerHash, signedHash):
            "header at height \(height) hashes to \(headerHash), but its commit signs \(signedHash): forged header"
        case let .wrongChain(expected, found): "header is of chain \(found), not \(expected)"
        case let .validatorSetMismatch(height): "validator set does not hash to header \(height)'s validator_set_hash"
        case let .nextValidatorSetMismatch(height):
            "next validator set does not hash to header \(height)'s next_validator_set_hash"
        case let .invalidCommit(height, problem): "commit of height \(height) is invalid: \(problem)"
        case let .notHigher(trusted, untrusted): "height \(untrusted) is not above the trusted height \(trusted)"
        case let .notAdjacent(trusted, untrusted): "height \(untrusted) is not next to the trusted height \(trusted)"
        case let .adjacent(trusted): "height \(trusted + 1) follows the trusted height: verify it as adjacent"
        case let .timeNotIncreasing(height): "header \(height)'s time is not after the trusted header's"
        case let .untrustedValidatorSet(height):
            "header \(height) is voted by a set other than the trusted header's next validator set"
        case let .doesNotExtendTrusted(height): "header \(height) does not extend the trusted header"
        case let .insufficientTrustedPower(height, signed, total):
            "signers of height \(height) hold \(signed) of the trusted set's power \(total), not more than a third"
        case let .notTrustedParent(height): "header \(height) is not the parent of the trusted header"
        case let .wrongHeightFetched(asked, got): "asked for the light block at height \(asked), got height \(got)"
        }
    }
}
