import AssayConsensus
import AssayCrypto
import AssaySafetyRules
import AssayTypes

/// Checks of a block against the chain it extends, before the execution layer runs it.
struct BlockChecks {
    let chainID: String
    let verifier: any SignatureVerifier

    /// Why `block` cannot be block `tip.height + 1` of this chain, or nil if its header links up.
    func linkageProblem(_ block: Block, tip: ChainTip, verified: Set<Signature> = []) -> String? {
        let header = block.header
        if header.chainID != chainID { return "wrong chain \(header.chainID)" }
        if header.height != tip.height + 1 { return "height \(header.height), expected \(tip.height + 1)" }
        if header.previousBlockHash != tip.blockHash { return "does not extend the committed block" }
        if header.timeMs <= tip.timeMs { return "time does not increase" }
        if header.validatorSetHash != tip.nextRotation.validators.hash { return "wrong validator set" }
        if header.nextValidatorSetHash != tip.followingRotation.validators.hash { return "wrong next validator set" }
        if !block.bodyMatchesHeader { return "body does not match the header" }
        if tip.height == 0 { return block.lastCommit == nil ? nil : "first block carries a commit" }
        guard let commit = block.lastCommit, commit.height == tip.height, commit.blockHash == tip.blockHash else {
            return "last commit is not for the previous block"
        }
        return commitProblem(commit, validators: tip.lastValidators, verified: verified)
    }

    /// Why `commit` is not > 2/3 valid precommits of `validators` for its block, or nil. Signatures in
    /// `verified` were checked already (as precommit votes of that height) and are not checked again.
    func commitProblem(_ commit: Commit, validators: ValidatorSet, verified: Set<Signature> = []) -> String? {
        let message = Vote.signBytes(
            chainID: chainID, kind: .precommit, height: commit.height, round: commit.round, blockHash: commit.blockHash)
        var power: UInt64 = 0
        for (index, entry) in commit.signatures.enumerated() {
            if index > 0, !(commit.signatures[index - 1].validator < entry.validator) { return "duplicate signer" }
            let weight = validators.power(of: entry.validator)
            guard weight > 0 else { return "signer is not a validator" }
            guard verified.contains(entry.signature) || verifier.isValid(entry.signature, by: entry.validator, for: message)
            else { return "bad signature" }
            power += weight
        }
        return validators.isQuorum(power) ? nil : "commit power \(power) is not over two thirds"
    }
}

/// Commit verification for those outside the engine (state sync checks the commit of the block it starts from).
public enum CommitCheck {
    /// Why `commit` is not > 2/3 of `validators`' power in valid precommits for its block, or nil.
    public static func problem(
        _ commit: Commit, validators: ValidatorSet, chainID: String, verifier: any SignatureVerifier
    ) -> String? {
        BlockChecks(chainID: chainID, verifier: verifier).commitProblem(commit, validators: validators)
    }
}
