import AssayConsensus
import AssayCrypto
import AssaySafetyRules
import AssayStorage
import AssayTypes

/// What an engine needs to know about its chain.
public struct EngineConfig: Sendable {
    public var chainID: String
    public var genesisValidators: ValidatorSet
    public var genesisTimeMs: UInt64
    public var timeouts: TimeoutConfig
    public var gossipIntervalMs: UInt64
    /// How long a proposer waits after committing a block before building the next one, so that blocks
    /// gather transactions instead of following each other empty (CometBFT's timeout_commit).
    public var commitDelayMs: UInt64

    public init(
        chainID: String, genesisValidators: ValidatorSet, genesisTimeMs: UInt64 = 0,
        timeouts: TimeoutConfig = TimeoutConfig(), gossipIntervalMs: UInt64 = 1_000, commitDelayMs: UInt64 = 0
    ) {
        self.commitDelayMs = commitDelayMs
        self.chainID = chainID
        self.genesisValidators = genesisValidators
        self.genesisTimeMs = genesisTimeMs
        self.timeouts = timeouts
        self.gossipIntervalMs = gossipIntervalMs
    }
}

/// One replica: feeds inputs to the consensus core, logging each to the WAL before it is applied,
/// signs through SafetyRules, executes and commits blocks through the `BlockExecutor`, and talks to
/// the world only through the injected `Transport`, `Clock` and `KeyValueStore`. Not thread-safe:
/// one owner calls `start`, `receive` and `timerFired` one at a time.
public final class Engine {
    static let blocksPerHeightMax = 256
    /// Distinct votes logged per height; beyond it (only a Byzantine flood gets there) votes are dropped.
    static let votesPerHeightMax = 65_536
    static let ownMessagesMax = 16
    static let evidenceMax = 1_000
    static let recentCommitsMax = 16

    let config: EngineConfig
    let safety: SafetyRules
    let verifier: any SignatureVerifier
    let store: any KeyValueStore
    let transport: any Transport
    let clock: any Clock
    let executor: any BlockExecutor
    let chain: ChainStore
    let checks: BlockChecks

    var core: ConsensusState
    var wal: WriteAheadLog
    var tip: ChainTip
    var lastCommit: Commit?
    /// Blocks proposed or built at the current height, by hash.
    var blocks: [Hash: Block] = [:]
    var seenVotes: Set<SeenKey> = []
    var seenProposals: Set<SeenKey> = []
    /// Own signed messages of the current height, re-sent on the gossip timer.
    var ownMessages: [ConsensusMessage] = []
    /// Precommit signatures verified as votes, of this height and the previous one: a commit
    /// certificate made of them needs no second check.
    var verifiedPrecommits: Set<Signature> = []
    var previousHeightPrecommits: Set<Signature> = []
    /// The last committed blocks with their certificates, newest last: most peers that fall behind
    /// need one of these, and serving them from memory spares decoding (and key parsing).
    var recentCommits: [(block: Block, commit: Commit)] = []
    /// Local clock time of the last commit: the proposer of the next height waits `commitDelayMs` from it.
    var lastCommitAtMs: UInt64 = 0
    var syncServed: [PeerID: (height: Height, atMs: UInt64)] = [:]
    /// Effects produced while replaying the WAL, performed once replay ends if still unanswered.
    var deferred: [Effect]?

    /// Equivocations the core found and `takeEvidence` has not handed out yet.
    var evidence: [DoubleSignEvidence] = []
    /// Signing requests SafetyRules refused (a faulty or twin node; zero for an honest one).
    public internal(set) var refusals = 0
    /// Whether the last start found and dropped a torn WAL record.
    public private(set) var droppedTornWALRecord = false

    public init(
        config: EngineConfig, signer: any Signer, verifier: any SignatureVerifier, store: any KeyValueStore,
        transport: any Transport, clock: any Clock, executor: any BlockExecutor
    ) throws(EngineError) {
        self.config = config
        do { safety = try SafetyRules(signer: signer, store: store, chainID: config.chainID) } catch {
            throw .corruptStore("\(error)")
        }
        self.verifier = verifier
        self.store = store
        self.transport = transport
        self.clock = clock
        self.executor = executor
        chain = ChainStore(store: store)
        checks = BlockChecks(chainID: config.chainID, verifier: verifier)
        core = ConsensusState(me: signer.publicKey, timeouts: config.timeouts)
        wal = WriteAheadLog(store: store)
        tip = ChainTip(genesisValidators: config.genesisValidators, genesisTimeMs: config.genesisTimeMs)
    }

    public var height: Height { core.height }
    public var round: Round { core.round }
    public var step: Step { core.step }
    public var committedHeight: Height { tip.height }
    /// The committed chain's tip: the last block and the validator sets of the next two heights.
    public var committedTip: ChainTip { tip }
    public var publicKey: PublicKey { safety.publicKey }
    /// The consensus core's state, read-only (tests and diagnostics).
    public var consensus: ConsensusState { core }

    /// The double-sign evidence found since the last call, for the node to report.
    public func takeEvidence() -> [DoubleSignEvidence] {
        defer { evidence.removeAll() }
        return evidence
    }

    /// Loads the chain tip, replays the WAL of the current height (or starts it), and starts gossip.
    public func start() throws(EngineError) {
        if let stored = try chain.tip() {
            tip = stored
            lastCommit = try chain.block(at: stored.height)?.commit
        }
        let loaded: (records: [WALRecord], droppedTornTail: Bool)
        do { loaded = try wal.load() } catch { throw .wal(error) }
        droppedTornWALRecord = loaded.droppedTornTail
        if case let .startHeight(walHeight, _)? = loaded.records.first, walHeight == tip.height + 1 {
            try replay(loaded.records)
        } else {
            try beginHeight(logged: false)
        }
        clock.schedule(.gossip, afterMs: config.gossipIntervalMs)
        resendOwnMessages()
    }

    /// A message from a peer. Signatures and membership are checked here, before the core sees it.
    public func receive(_ message: ConsensusMessage, from peer: PeerID) throws(EngineError) {
        switch message {
        case let .vote(vote):
            guard vote.height == core.height else { return try serveSync(peer, theirHeight: vote.height) }
            guard seenVotes.count < Self.votesPerHeightMax, core.acceptsRound(vote.round),
                !seenVotes.contains(SeenKey(vote)), isMember(vote.validator),
                verifier.isValid(vote.signature, by: vote.validator, for: vote.signBytes(chainID: config.chainID))
            else { return }
            if vote.kind == .precommit { verifiedPrecommits.insert(vote.signature) }
            try submit(.vote(vote), durability: .buffered)
        case let .proposal(proposal, block):
            guard proposal.height == core.height else { return try serveSync(peer, theirHeight: proposal.height) }
            guard core.acceptsRound(proposal.round), !seenProposals.contains(SeenKey(proposal)),
                blocks.count < Self.blocksPerHeightMax,
                block.hash == proposal.blockHash, isMember(proposal.proposer),
                verifier.isValid(
                    proposal.signature, by: proposal.proposer, for: proposal.signBytes(chainID: config.chainID))
            else { return }
            try submit(.proposal(proposal, block), durability: .buffered)
        case let .decided(block, commit):
            guard block.height == core.height, core.step != .decided, commit.height == block.height,
                commit.blockHash == block.hash, let validators = core.validators,
                checks.commitProblem(commit, validators: validators, verified: verifiedPrecommits) == nil,
                try isValid(block, decided: true)
            else { return }
            try submit(.commitCertificate(block, commit), durability: .buffered)
        case let .status(theirHeight):
            try serveSync(peer, theirHeight: theirHeight)
        }
    }

    /// A timer set through the `Clock` fired.
    public func timerFired(_ timer: EngineTimer) throws(EngineError) {
        switch timer {
        case let .consensus(timeout):
            guard timeout.height == core.height, timeout.round == core.round, core.step != .decided else { return }
            try submit(.timeout(timeout), durability: .buffered)
        case .gossip:
            resendOwnMessages()
            clock.schedule(.gossip, afterMs: config.gossipIntervalMs)
        case let .buildProposal(height, round):
            guard height == core.height, round == core.round, core.step != .decided else { return }
            try buildAndSubmitProposal(round: round)
        }
    }

    // MARK: - Inputs

    /// Logs `record` (synced for own messages, which are broadcast only once durable), then applies it.
    func submit(_ record: WALRecord, durability: Durability, broadcast: ConsensusMessage? = nil)
        throws(EngineError)
    {
        do { try wal.append(record, durability: durability) } catch { throw .wal(error) }
        if let broadcast {
            transport.broadcast(broadcast)
            remember(broadcast)
        }
        try apply(record)
    }

    /// Feeds a logged record to the core and performs (or, during replay, defers) the effects.
    func apply(_ record: WALRecord) throws(EngineError) {
        let input: Input
        switch record {
        case let .startHeight(newHeight, rotation):
            input = .startHeight(newHeight, rotation)
        case let .proposal(proposal, block):
            seenProposals.insert(SeenKey(proposal))
            blocks[block.hash] = block
            input = .proposal(proposal)
        case let .vote(vote):
            seenVotes.insert(SeenKey(vote))
            input = .vote(vote)
        case let .timeout(timeout):
            input = .timeout(timeout)
        case let .verdict(hash, valid):
            input = .blockVerdict(hash, valid: valid)
        case let .ownBlock(round, block):
            blocks[block.hash] = block
            input = .proposalValue(height: block.height, round: round, blockHash: block.hash)
        case let .commitCertificate(block, commit):
            blocks[block.hash] = block
            input = .commitCertificate(commit)
        }
        let effects = core.apply(input)
        if deferred != nil {
            deferred!.append(contentsOf: effects)
        } else {
            for effect in effects { try perform(effect) }
        }
    }

    private func isMember(_ key: PublicKey) -> Bool { core.validators?.power(of: key) ?? 0 > 0 }

    // MARK: - Gossip and sync

    func remember(_ message: ConsensusMessage) {
        ownMessages.append(message)
        if ownMessages.count > Self.ownMessagesMax { ownMessages.removeFirst() }
    }

    /// Gossip: own messages of this round and the previous one, and the polka behind the valid value.
    func resendOwnMessages() {
        let oldest = core.round > 0 ? core.round - 1 : 0
        for message in ownMessages where message.round.map({ $0 >= oldest }) ?? true { transport.broadcast(message) }
        for vote in core.validValueProof where vote.validator != safety.publicKey { transport.broadcast(.vote(vote)) }
        transport.broadcast(.status(core.height))
    }

    /// Sends a peer working on an earlier height the block it is missing, at most once per gossip interval.
    private func serveSync(_ peer: PeerID, theirHeight: Height) throws(EngineError) {
        guard theirHeight >= 1, theirHeight <= tip.height else { return }
        if let served = syncServed[peer], served.height == theirHeight,
            clock.nowMs < served.atMs + config.gossipIntervalMs
        {
            return
        }
        var stored = recentCommits.last { $0.block.height == theirHeight }
        if stored == nil { stored = try chain.block(at: theirHeight) }
        guard let stored else { return }
        syncServed[peer] = (theirHeight, clock.nowMs)
        transport.send(.decided(stored.block, stored.commit), to: peer)
    }
}
