import AssayTypes

/// Verifies headers from a trusted one, as CometBFT's light client does with trust level 1/3: a block right after
/// the trusted one must be voted by the trusted next set; a later block is accepted only if signers holding more than
/// a third of the trusted next set's power signed it (so at least one honest validator vouches for it). Pure: no
/// clock, no I/O; staleness of the trusted block (a trusting period) is the caller's to judge.
public enum LightClient {
    /// `untrusted` is the block right after `trusted`: voted by the trusted next set and naming `trusted` as parent.
    public static func verifyAdjacent(trusted: LightBlock, untrusted: LightBlock) throws(LightClientError) {
        try checkUntrusted(trusted: trusted, untrusted: untrusted)
        guard untrusted.height == trusted.height + 1 else {
            throw .notAdjacent(trusted: trusted.height, untrusted: untrusted.height)
        }
        guard untrusted.header.validatorSetHash == trusted.header.nextValidatorSetHash else {
            throw .untrustedValidatorSet(height: untrusted.height)
        }
        guard untrusted.header.previousBlockHash == trusted.hash else {
            throw .doesNotExtendTrusted(height: untrusted.height)
        }
    }

    /// `untrusted` is a later, non-adjacent block: valid on its own, and signed by more than a third of the power of
    /// the trusted next set.
    public static func verifyNonAdjacent(trusted: LightBlock, untrusted: LightBlock) throws(LightClientError) {
        try checkUntrusted(trusted: trusted, untrusted: untrusted)
        guard untrusted.height > trusted.height + 1 else { throw .adjacent(trusted: trusted.height) }
        let trustedSet = trusted.nextValidators
        // `checkUntrusted` verified every signature as a member of the block's own set: only the tally is left.
        let signed = untrusted.commit.signatures.reduce(0) { $0 + trustedSet.power(of: $1.validator) }
        guard trustedSet.exceedsOneThird(signed) else {
            throw .insufficientTrustedPower(height: untrusted.height, signed: signed, total: trustedSet.totalPower)
        }
    }

    /// Adjacent verification for the next height, skipping verification for a later one.
    public static func verify(trusted: LightBlock, untrusted: LightBlock) throws(LightClientError) {
        if untrusted.height == trusted.height + 1 {
            try verifyAdjacent(trusted: trusted, untrusted: untrusted)
        } else {
            try verifyNonAdjacent(trusted: trusted, untrusted: untrusted)
        }
    }

    /// CometBFT's bisection: verify the target from the trusted block; when too little trusted power signed it,
    /// verify the midpoint first (and so on down, to adjacent blocks at worst), then go on from the newest block
    /// verified. Returns the verified block at `target`; `fetch` answers the light block of a height (untrusted).
    public static func verifyToHeight(
        _ target: Height, from trusted: LightBlock, fetch: (Height) async throws -> LightBlock
    ) async throws -> LightBlock {
        guard target > trusted.height else { throw LightClientError.notHigher(trusted: trusted.height, untrusted: target) }
        var verified = trusted
        // Blocks fetched but not yet verified, the target first, each later one lower than the one before.
        var pending = [try await fetched(target, fetch)]
        while let candidate = pending.last {
            do throws(LightClientError) {
                try verify(trusted: verified, untrusted: candidate)
                verified = candidate
                pending.removeLast()
            } catch {
                guard case .insufficientTrustedPower = error else { throw error }
                pending.append(try await fetched(verified.height + (candidate.height - verified.height) / 2, fetch))
            }
        }
        return verified
    }

    /// What every verification checks first: the untrusted block is higher, valid on its own, and later in time.
    private static func checkUntrusted(trusted: LightBlock, untrusted: LightBlock) throws(LightClientError) {
        guard untrusted.height > trusted.height else {
            throw .notHigher(trusted: trusted.height, untrusted: untrusted.height)
        }
        try untrusted.validate(chainID: trusted.header.chainID)
        guard untrusted.header.timeMs > trusted.header.timeMs else { throw .timeNotIncreasing(height: untrusted.height) }
    }

    private static func fetched(_ height: Height, _ fetch: (Height) async throws -> LightBlock) async throws
        -> LightBlock
    {
        let block = try await fetch(height)
        guard block.height == height else { throw LightClientError.wrongHeightFetched(asked: height, got: block.height) }
        return block
    }
}

extension LightClient {
    /// `untrusted` is the header right below `trusted`, the one `trusted` names as its parent (an older header needs
    /// no signatures: the trusted header's hash chain vouches for it).
    public static func verifyBackwards(trusted: Header, untrusted: Header) throws(LightClientError) {
        guard untrusted.height + 1 == trusted.height else {
            throw .notAdjacent(trusted: trusted.height, untrusted: untrusted.height)
        }
        guard untrusted.chainID == trusted.chainID else {
            throw .wrongChain(expected: trusted.chainID, found: untrusted.chainID)
        }
        guard untrusted.hash == trusted.previousBlockHash else {
            throw .notTrustedParent(height: untrusted.height)
        }
    }
}
