import AssayConsensus
import AssayCrypto
import AssaySafetyRules
import AssayStorage
import AssayTypes

extension Engine {
    /// Performs one effect of the core; answers come back through `submit`.
    func perform(_ effect: Effect) throws(EngineError) {
        switch effect {
        case let .propose(height, round, blockHash, proofOfLockRound):
            guard let block = blocks[blockHash] else { return }
            guard let proposal = signed({ () throws(SafetyError) in
                try safety.signProposal(
                    height: height, round: round, proofOfLockRound: proofOfLockRound, blockHash: blockHash)
            }) else { return }
            try submit(.proposal(proposal, block), durability: .synced, broadcast: .proposal(proposal, block))
        case let .vote(kind, height, round, blockHash):
            guard let vote = signed({ () throws(SafetyError) in
                try safety.signVote(kind, height: height, round: round, blockHash: blockHash)
            }) else { return }
            try submit(.vote(vote), durability: .synced, broadcast: .vote(vote))
        case let .scheduleTimeout(timeout, durationMs):
            clock.schedule(.consensus(timeout), afterMs: durationMs)
        case let .buildProposal(height, round):
            let readyAtMs = lastCommitAtMs + config.commitDelayMs
            if clock.nowMs < readyAtMs {
                clock.schedule(.buildProposal(height: height, round: round), afterMs: readyAtMs - clock.nowMs)
            } else {
                try buildAndSubmitProposal(round: round)
            }
        case let .validateBlock(hash):
            guard let block = blocks[hash] else { return }
            try submit(.verdict(hash, valid: try isValid(block)), durability: .buffered)
        case let .decide(height, _, blockHash, commit):
            try commitDecided(height: height, blockHash: blockHash, commit: commit)
        case let .evidence(found):
            if evidence.count < Self.evidenceMax { evidence.append(found) }
        }
    }

    private func signed<Value>(_ sign: () throws(SafetyError) -> Value) -> Value? {
        do { return try sign() } catch {
            refusals += 1
            return nil
        }
    }

    func buildAndSubmitProposal(round: Round) throws(EngineError) {
        guard let block = try buildBlock() else { return }
        try submit(.ownBlock(round: round, block), durability: .synced)
    }

    /// The execution layer's transactions in a block extending the tip, with the state root after them; nil when
    /// the application offers a block it then finds invalid (it has no proposal this round).
    func buildBlock() throws(EngineError) -> Block? {
        let height = tip.height + 1
        let context = ExecutionContext(
            height: height, timeMs: max(clock.nowMs, tip.timeMs + 1), proposer: safety.publicKey,
            validators: tip.nextRotation.validators)
        guard
            let transactions = try verdict({ () throws(ExecutionError) in
                try executor.transactionsForNewBlock(context)
            }),
            let stateRoot = try verdict({ () throws(ExecutionError) in
                try executor.execute(context, transactions: transactions)
            })
        else { return nil }
        let header = Header(
            chainID: config.chainID, height: height, timeMs: context.timeMs,
            previousBlockHash: tip.blockHash, lastCommitHash: Block.lastCommitHash(lastCommit),
            transactionsRoot: Block.transactionsRoot(transactions), stateRoot: stateRoot,
            validatorSetHash: tip.nextRotation.validators.hash,
            nextValidatorSetHash: tip.followingRotation.validators.hash, proposer: safety.publicKey)
        return Block(header: header, transactions: transactions, lastCommit: lastCommit)
    }

    /// Immediate execution: a block is valid when it links to the tip and executing its transactions
    /// gives the state root its header claims. A `decided` block (one with a valid commit certificate) is
    /// executed with the data it refers to awaited, not refused for its absence.
    /// A local fault while executing (storage, corruption) is thrown, never taken for a verdict on the block.
    func isValid(_ block: Block, decided: Bool = false) throws(EngineError) -> Bool {
        guard checks.linkageProblem(block, tip: tip, verified: previousHeightPrecommits) == nil else { return false }
        let validators = tip.nextRotation.validators
        let root = try verdict { () throws(ExecutionError) in
            decided
                ? try executor.executeDecided(block, validators: validators)
                : try executor.execute(
                    ExecutionContext(block.header, validators: validators), transactions: block.transactions)
        }
        return root == block.header.stateRoot
    }

    /// What `execute` gives, or nil when it finds the block invalid; a fault stops the engine.
    private func verdict<Value>(_ execute: () throws(ExecutionError) -> Value) throws(EngineError) -> Value? {
        do { return try execute() } catch {
            switch error {
            case .invalid: return nil
            case .fault: throw .execution(error)
            }
        }
    }

    /// Commits the decided block, its certificate, the application's writes and the next height's
    /// first WAL record in one synced batch, then starts the next height.
    func commitDecided(height: Height, blockHash: Hash, commit: Commit) throws(EngineError) {
        guard height == tip.height + 1, let block = blocks[blockHash] else {
            throw .corruptStore("decided block \(blockHash) at height \(height) is not held")
        }
        var batch = WriteBatch()
        let changes: [Validator]
        do { changes = try executor.commitWrites(for: block, validators: tip.nextRotation.validators, into: &batch) }
        catch { throw .execution(error) }
        let newTip: ChainTip
        do { newTip = try tip.committing(block, changes: changes) } catch {
            throw .execution(.fault("validator changes of block \(height) break the set: \(error)"))
        }
        // The tip only moves forward, from the one on disk.
        let storedHeight = try chain.tip()?.height ?? 0
        guard storedHeight == tip.height, newTip.height == storedHeight + 1 else {
            throw .corruptStore("committing block \(newTip.height) on a stored tip at \(storedHeight), ours at \(tip.height)")
        }
        try chain.commitWrites(block, commit, tip: newTip, into: &batch)
        if newTip.followingRotation.validators != tip.followingRotation.validators {
            chain.validatorSetWrites(newTip.followingRotation.validators, from: height + 2, into: &batch)
        }
        wal.resetWrites(startingWith: .startHeight(height + 1, newTip.nextRotation), into: &batch)
        do { try store.write(batch, durability: .synced) } catch { throw .storage(error) }
        wal.didReset()
        lastCommitAtMs = clock.nowMs
        do { try executor.didCommit(block) } catch { throw .execution(error) }
        tip = newTip
        lastCommit = commit
        recentCommits.append((block, commit))
        if recentCommits.count > Self.recentCommitsMax { recentCommits.removeFirst() }
        try beginHeight(logged: true)
        if deferred == nil { transport.broadcast(.status(core.height)) }
    }

    /// Starts height `tip.height + 1`; `logged` says whether its WAL record is already written.
    func beginHeight(logged: Bool) throws(EngineError) {
        blocks = [:]
        previousHeightPrecommits = verifiedPrecommits
        verifiedPrecommits = []
        seenVotes = []
        seenProposals = []
        ownMessages = []
        let record = WALRecord.startHeight(tip.height + 1, tip.nextRotation)
        if !logged {
            var batch = WriteBatch()
            wal.resetWrites(startingWith: record, into: &batch)
            do { try store.write(batch, durability: .synced) } catch { throw .storage(error) }
            wal.didReset()
        }
        try apply(record)
    }

    /// Re-applies the logged inputs of the current height to a fresh core, which reaches the same
    /// state (the core is deterministic), then performs the effects whose answers never got logged:
    /// a vote signed but not sent, a timer not yet fired, a block not yet validated.
    func replay(_ records: [WALRecord]) throws(EngineError) {
        deferred = []
        for record in records {
            // The log holds one height, the one after the committed tip; anything else means it is not our log.
            if let height = record.height, height != tip.height + 1 {
                throw .corruptStore("WAL record of height \(height) in the log of height \(tip.height + 1)")
            }
            try apply(record)
            if case let .vote(vote) = record, vote.validator == safety.publicKey { remember(.vote(vote)) }
            if case let .proposal(proposal, block) = record, proposal.proposer == safety.publicKey {
                remember(.proposal(proposal, block))
            }
        }
        let pending = deferred!
        deferred = nil
        let answered = AnsweredEffects(records, me: safety.publicKey)
        for effect in pending where !answered.contains(effect) { try perform(effect) }
    }
}

/// Which effects of a replayed height already have their answer in the log.
struct AnsweredEffects {
    private var votes: Set<[UInt32]> = []
    private var proposals: Set<Round> = []
    private var builds: Set<Round> = []
    private var verdicts: Set<Hash> = []
    private var timeouts: Set<Timeout> = []

    init(_ records: [WALRecord], me: PublicKey) {
        for record in records {
            switch record {
            case let .vote(vote) where vote.validator == me: votes.insert([UInt32(vote.kind.rawValue), vote.round])
            case let .proposal(proposal, _) where proposal.proposer == me: proposals.insert(proposal.round)
            case let .ownBlock(round, _): builds.insert(round)
            case let .verdict(hash, _): verdicts.insert(hash)
            case let .timeout(timeout): timeouts.insert(timeout)
            default: break
            }
        }
    }

    func contains(_ effect: Effect) -> Bool {
        switch effect {
        case let .vote(kind, _, round, _): votes.contains([UInt32(kind.rawValue), round])
        case let .propose(_, round, _, _): proposals.contains(round)
        case let .buildProposal(_, round): builds.contains(round)
        case let .validateBlock(hash): verdicts.contains(hash)
        case let .scheduleTimeout(timeout, _): timeouts.contains(timeout)
        case .decide, .evidence: false
        }
    }
}
