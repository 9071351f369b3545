import AssayCodec
import AssayCrypto
import AssayTypes

/// What a light client needs of one height: the header, the commit that finalised it, the set that signed it, and
/// the set of the next height (named by the header, so the client can follow set changes without the state).
public struct LightBlock: Hashable, Sendable {
    public var header: Header
    public var commit: Commit
    public var validators: ValidatorSet
    public var nextValidators: ValidatorSet

    public init(header: Header, commit: Commit, validators: ValidatorSet, nextValidators: ValidatorSet) {
        self.header = header
        self.commit = commit
        self.validators = validators
        self.nextValidators = nextValidators
    }

    public var height: Height { header.height }
    public var hash: Hash { header.hash }

    /// Checks that the block stands on its own: the commit is for this header (a header changed after signing has
    /// another hash), the header is of `chainID`, both sets are the ones the header names, and the commit carries
    /// valid precommits (the vote sign bytes consensus signs) of more than two thirds of `validators`.
    public func validate(chainID: String) throws(LightClientError) {
        guard commit.height == header.height, commit.blockHash == header.hash else {
            throw .forgedHeader(height: header.height, headerHash: header.hash, signedHash: commit.blockHash)
        }
        guard header.chainID == chainID else { throw .wrongChain(expected: chainID, found: header.chainID) }
        guard validators.hash == header.validatorSetHash else { throw .validatorSetMismatch(height: header.height) }
        guard nextValidators.hash == header.nextValidatorSetHash else {
            throw .nextValidatorSetMismatch(height: header.height)
        }
        do { try commit.verify(chainID: chainID, height: header.height, blockHash: header.hash, validators: validators) }
        catch { throw .invalidCommit(height: header.height, error) }
    }
}

extension LightBlock: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(header)
        writer.write(commit)
        writer.write(validators)
        writer.write(nextValidators)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        header = try reader.read()
        commit = try reader.read()
        validators = try reader.read()
        nextValidators = try reader.read()
    }
}
