import AssayBlobs
import AssayCodec
import AssayConsensus
import AssayCrypto
import AssayEngine
import AssayLedger
import AssayMempool
import AssayP2P
import AssayRPC
import AssayRocksDB
import AssaySafetyRules
import AssayTracing
import AssayStorage
import AssayTypes
import Foundation
import Logging
import ServiceLifecycle

/// The validator node: RocksDB, the ledger, the mempool, the consensus engine on encrypted P2P links,
/// and JSON-RPC, run until SIGTERM or SIGINT.
public enum Node {
    /// Every namespace the node's RocksDB holds, each a column family.
    static let namespaces: [Namespace] =
        LedgerNamespace.all + [
            ChainStore.blocksNamespace, ChainStore.chainNamespace, WriteAheadLog.namespace, SafetyRules.namespace,
            TransactionIndex.namespace, TransactionIndex.blockEventsNamespace, TransactionIndex.jobsNamespace,
            TransactionIndex.jobResultsNamespace,
        ]

    public struct StartError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    public static func run(home: NodeHome, keys: NodeKeys, logger: Logger) async throws {
        MallocTuning.forBlobTraffic()
        let config = try NodeConfig.load(path: home.configPath)
        let p2pSettings = try config.p2p.validated()
        guard frameCarriesBlobChunks(frameBytesMax: p2pSettings.frameBytesMax) else {
            throw StartError(
                "p2p frame_bytes_max \(p2pSettings.frameBytesMax) is too small to carry a blob chunk: at least "
                    + "\(WireMessage.blobChunkFrameBytesMax) bytes")
        }
        let genesis = try loadGenesis(home.resolve(config.node.genesisFile))
        let stateSync = config.statesync ?? .defaults
        let trust = try stateSync.trust()
        let storage = config.storage ?? .defaults
        let store = try RocksDBStore(
            path: home.resolve(config.node.dataDir), namespaces: namespaces, createIfMissing: true,
            reserve: try storage.reserve())
        let ledger = Ledger()

        // Non-validator nodes the operator allows (a node joining by state sync) are peers like the validators,
        // though no vote comes from them.
        let allowedNodes = p2pSettings.allowedNodeKeySet
        let peerKeys = genesis.validators.validators.map { genesis.nodeKey(of: $0.publicKey) } + allowedNodes
        let members =
            try ChainStore(store: store).tip().map { try Self.members($0, store: store) }
            ?? Dictionary(uniqueKeysWithValues: genesis.nodeKeys.map { ($1, $0) })
        @Sendable func allowedKeys(_ members: [PublicKey: PublicKey]) -> Set<PublicKey> {
            Set(members.keys).union(allowedNodes).subtracting([keys.node.publicKey])
        }
        let p2p = P2PService(
            config: try p2pConfig(
                p2pSettings, chainID: genesis.chainID, key: keys.node,
                allowedKeys: allowedKeys(members)),
            logger: logger)
        _ = try await p2p.start()
        let startsBehind = try await joinByStateSync(
            trust: trust, settings: stateSync, p2p: p2p, store: store, chainID: genesis.chainID, logger: logger)
        let committed = try reconcile(store: store, ledger: ledger, genesis: genesis, logger: logger)
        // The node's one blob store: HTTP uploads, P2P fetches, admission and the replay worker all share it.
        let blobs = try openBlobs(dataDir: home.resolve(config.node.dataDir), store: store, genesis: genesis)
        let transport = P2PTransport(p2p: p2p, peers: peerKeys)
        transport.admit(members)
        let snapshots = try stateSync.snapshotInterval > 0
            ? SnapshotStore(directory: home.resolve(config.node.dataDir) + "/snapshots", keep: stateSync.snapshotKeep)
            : nil
        let snapshotTaker = snapshots.map {
            SnapshotTaker(snapshots: $0, interval: Height(stateSync.snapshotInterval), logger: logger)
        }
        let pruner =
            storage.retainBlocks > 0
            ? BlockPruner(retainBlocks: storage.retainBlocks, store: store, snapshots: snapshots, logger: logger) : nil
        let blobTraffic = BlobTraffic()
        let fetcher = BlobFetcher(store: blobs, p2p: p2p, traffic: blobTraffic, logger: logger)
        // Blobs this node lacks (a gossiped transaction's, a proposed block's) are fetched from peers within a time
        // that grows with their size: 10 s plus 100 ms per MiB.
        let fetchBlob: @Sendable (BlobRef) async throws -> Void = { ref in
            try await fetcher.fetch(ref, deadline: .now + .seconds(10) + .milliseconds(100 * Int(ref.length >> 20)))
        }

        let mempool = Mempool(
            config: try config.mempool.poolConfig(chainID: genesis.chainID, feeMin: genesis.params.minFee),
            accounts: CommittedAccounts(store: store), committedHeight: committed.height,
            heldBlobLength: { blobs.heldLength($0) })
        // Governance can change min_fee and max_blob_bytes; the pool and the blob store follow the committed values.
        @Sendable func followParams() {
            guard let params = try? LedgerQuery(store: store).params() else { return }
            mempool.setMinimumFee(params.minFee)
            blobs.maxBlobBytes = params.maxBlobBytes
        }
        followParams()
        let maintenance = MempoolMaintenance(mempool: mempool, beforePass: followParams)
        let gossip = GossipAdmission(
            mempool: mempool, capacity: config.mempool.gossipQueueMax,
            blobsMissing: GossipBlobFetch(store: store, fetch: fetchBlob).fetchThenAdmit,
            relay: { p2p.broadcast(WireMessage.transactions([$0]).canonicalBytes) })
        let application = LedgerApplication(
            chainID: genesis.chainID, ledger: ledger, store: store, mempool: mempool,
            committed: committed, blockTransactionsMax: config.consensus.blockTransactionsMax,
            proposalBudgetMs: config.consensus.timeoutProposeMs / 4,
            blockBytesMax: blockBytesMax(frameBytesMax: p2pSettings.frameBytesMax), blobs: blobs,
            requestBlob: { ref in Task { try? await fetchBlob(ref) } }, fetchBlob: fetchBlob, logger: logger)

        // Links are allowed to the node keys of the validators of the committed height and the two after it: a
        // validator a committed change adds is allowed from that commit on (two heights before it votes), a removed
        // one is disconnected once its last height is committed.
        @Sendable func followMembers() {
            do {
                guard let tip = try ChainStore(store: store).tip() else { return }
                let members = try Self.members(tip, store: store)
                transport.admit(members)
                p2p.setAllowedKeys(allowedKeys(members))
            } catch {
                logger.error("P2P allow-list not updated after the commit: \(error)")
            }
        }
        let account = keys.account.map { key in
            AccountSubmitter(
                key: key, chainID: genesis.chainID, store: store, mempool: mempool,
                gossip: { p2p.broadcast(WireMessage.transactions([$0]).canonicalBytes) }, logger: logger)
        }
        if account == nil {
            logger.warning("no [account] key_file in the config: this node will not challenge results nor report double signs")
        }
        let evidence = EvidenceReporter(
            account: account, validator: keys.validator.publicKey, store: store, mempool: mempool,
            tip: { try? ChainStore(store: store).tip() }, logger: logger)
        let fatal = FatalSignal()
        let host = EngineHost(
            logger: logger, startsBehind: startsBehind, requestSync: { transport.requestSync($0) }, onEvidence: { evidence.found($0) }
        ) { reason in fatal.trigger(reason) }
        let service = NodeService(
            chainID: genesis.chainID, nodeKey: keys.node.publicKey, genesisValidators: genesis.validators, store: store,
            mempool: mempool, p2p: p2p, p2pListen: config.p2p.listen, application: application, blobs: blobs,
            catchingUp: { host.isCatchingUp })
        let tracing = try (config.tracing ?? .defaults).settings(moniker: config.node.moniker).map {
            try TracingBackend.make($0, logger: logger)
        }
        let tracer = tracing?.tracer ?? .off
        let replayConfig = config.replay ?? .defaults
        let replay = ReplayWorker(
            policy: try replayConfig.policy(), secret: SpotChecker.secret(of: keys.node), threads: replayConfig.threads,
            account: account, store: store, blobs: blobs, logger: logger, tracer: tracer)
        let rpcConfig = try config.rpc.serverConfig()
        let hub = SubscriptionHub(queueBytesMax: config.rpc.webSocketQueueBytesMax)
        let feed = SubscriptionFeed(hub: hub, service: service, logger: logger)
        let collector = BlobCollector(store: blobs, state: store, mempool: mempool, logger: logger)
        let metrics = NodeMetrics(
            application: application, mempool: mempool, gossip: gossip, p2p: p2p, replay: replay, hub: hub,
            blobs: collector, blobTraffic: blobTraffic)
        let jobSpans = JobSpans(tracer: tracer)
        application.onCommit = { block, outcome in
            service.committed(block)
            metrics.committed(block, outcome)
            jobSpans.committed(block, outcome)
            // Both only queue (bounded); the replay threads and the feed service do the work.
            replay.committed(block, outcome)
            feed.committed(block, outcome)
            // Re-checking the rest of the pool against the new state happens off the engine's queue, one pass
            // at a time however fast blocks commit.
            maintenance.committed(block.transactions, height: block.header.height)
            // Deleting released and unused blobs is local file I/O, also off the engine's queue.
            collector.committed(outcome, height: block.header.height)
            snapshotTaker?.committed(height: block.header.height, store: store)
            pruner?.committed(height: block.header.height)
            followMembers()
        }

        let engineConfig = EngineConfig(
            chainID: genesis.chainID, genesisValidators: genesis.validators, genesisTimeMs: genesis.genesisTimeMs,
            timeouts: TimeoutConfig(
                proposeBaseMs: UInt64(config.consensus.timeoutProposeMs),
                proposeDeltaMs: UInt64(config.consensus.timeoutProposeDeltaMs),
                prevoteBaseMs: UInt64(config.consensus.timeoutPrevoteMs),
                prevoteDeltaMs: UInt64(config.consensus.timeoutPrevoteDeltaMs),
                precommitBaseMs: UInt64(config.consensus.timeoutPrecommitMs),
                precommitDeltaMs: UInt64(config.consensus.timeoutPrecommitDeltaMs)),
            commitDelayMs: UInt64(config.consensus.timeoutCommitMs))
        try host.start { host in
            try Engine(
                config: engineConfig, signer: keys.validator, verifier: SchnorrVerifier(), store: store,
                transport: host.engineTransport(over: transport), clock: DispatchClock(host: host), executor: application)
        }
        let inbound = InboundRouter(
            host: host, transport: transport, gossip: gossip, p2p: p2p, store: store,
            genesisValidators: genesis.validators,
            blobs: BlobRouting(
                server: BlobServer(
                    store: blobs, p2p: p2p, traffic: blobTraffic, logger: logger, serving: config.p2p.serveBlobs),
                fetcher: fetcher),
            snapshots: SnapshotServer(snapshots: snapshots, p2p: p2p))

        let rpc = RPCServer(
            config: rpcConfig,
            node: service, hub: hub, metrics: { config.metrics.enabled ? metrics.text() : "" }, logger: logger)
        logger.info(
            "node \(config.node.moniker) started at height \(committed.height), p2p \(config.p2p.listen), rpc \(config.rpc.listen)")
        let diskWatch = DiskWatch(store: store, interval: .seconds(1), logger: logger)
        let group = ServiceGroup(
            services: [rpc.application(), inbound, feed, diskWatch, fatal] + (tracing.map { [$0.service] } ?? []),
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        replay.start()
        defer {
            host.stop()
            replay.stop()
        }
        try await group.run()
        await p2p.stop()
        if let reason = fatal.reason { throw StartError("stopped on a fatal error: \(reason)") }
        logger.info("node \(config.node.moniker) stopped")
    }

    /// Restores a snapshot from the peers when state sync is enabled and the node holds no chain yet (docs/p2p.md,
    /// State sync). Returns whether it did: the node then starts behind the peers.
    static func joinByStateSync(
        trust: (height: Height, hash: Hash)?, settings: NodeConfig.StateSync, p2p: P2PService, store: RocksDBStore,
        chainID: String, logger: Logger
    ) async throws -> Bool {
        guard let trust, try ChainStore(store: store).tip() == nil else { return false }
        logger.info("state sync: joining from trusted block \(trust.height) \(trust.hash)")
        let verifier = SnapshotBlockVerifier(
            chainID: chainID, trustHeight: trust.height, trustHash: trust.hash,
            trustPeriodMs: settings.trustPeriodS.multipliedReportingOverflow(by: 1000).partialValue,
            nowMs: UInt64(Date().timeIntervalSince1970 * 1000))
        let client = StateSyncClient(
            p2p: p2p, store: store, chainID: chainID, verifier: verifier, settings: settings, logger: logger)
        _ = try await client.run()
        return true
    }

    /// Opens `<data dir>/blobs` with the committed `max_blob_bytes` (genesis's before the first block).
    static func openBlobs(dataDir: String, store: RocksDBStore, genesis: Genesis) throws -> BlobStore {
        let maxBlobBytes = (try? LedgerQuery(store: store).params())?.maxBlobBytes ?? genesis.params.maxBlobBytes
        do { return try BlobStore(directory: dataDir + "/blobs", maxBlobBytes: maxBlobBytes) } catch {
            throw StartError("cannot open the blob store in \(dataDir)/blobs: \(error)")
        }
    }

    /// The validators of the tip's height and of the two heights after it, by node key: the sets name consensus
    /// keys, the committed ledger records (kept after removal) the node key of each.
    static func members<Store: KeyValueReader>(_ tip: ChainTip, store: Store) throws
        -> [AssayCrypto.PublicKey: AssayCrypto.PublicKey]
    {
        let sets = [tip.lastValidators, tip.nextRotation.validators, tip.followingRotation.validators]
        let query = LedgerQuery(store: store)
        var members: [AssayCrypto.PublicKey: AssayCrypto.PublicKey] = [:]
        for validator in sets.flatMap(\.validators) {
            guard let record = try query.validator(validator.publicKey) else {
                throw StartError("validator \(validator.publicKey) of the committed sets has no ledger record")
            }
            members[record.nodeKey] = validator.publicKey
        }
        return members
    }

    /// Room in a proposal's frame for all but the transactions: the proposal, the header, a last commit of up to
    /// `ValidatorSet.sizeMax` signatures, length prefixes and the cipher's tag.
    static let proposalOverheadBytes = 256 << 10

    /// Transaction bytes per block: a proposal must fit one P2P frame, or every peer would refuse it.
    static func blockBytesMax(frameBytesMax: Int) -> Int { min(16 << 20, frameBytesMax - proposalOverheadBytes) }

    static func p2pConfig(_ p2p: NodeConfig.P2P, chainID: String, key: SecretKey, allowedKeys: Set<AssayCrypto.PublicKey>)
        throws -> P2PConfig
    {
        let listen = try NodeHome.hostAndPort(p2p.listen)
        return P2PConfig(
            chainID: chainID, identity: key, listenHost: listen.host, listenPort: listen.port,
            peers: try p2p.peers.map { let (host, port) = try NodeHome.hostAndPort($0); return PeerAddress(host: host, port: port) },
            allowedKeys: allowedKeys, frameBytesMax: p2p.frameBytesMax, handshakeFrameBytesMax: p2p.handshakeFrameBytesMax,
            pendingHandshakesMax: p2p.pendingHandshakesMax, pendingHandshakesPerIPMax: p2p.pendingHandshakesPerIPMax,
            outboundMessagesMax: p2p.sendQueueMax, keepaliveInterval: .milliseconds(Int64(p2p.keepaliveIntervalMs)),
            peerTimeout: .milliseconds(Int64(p2p.peerTimeoutMs)))
    }

    /// Whether an encrypted frame of this limit holds the largest blob chunk message (peers would disconnect
    /// a node that sends them more).
    static func frameCarriesBlobChunks(frameBytesMax: Int) -> Bool {
        frameBytesMax >= WireMessage.blobChunkFrameBytesMax
    }

    public static func loadGenesis(_ path: String) throws -> Genesis {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StartError("cannot read genesis file \(path)")
        }
        do { return try Genesis.parse(json: data) } catch {
            throw StartError("genesis file \(path) is not valid:\n\(error)")
        }
    }

    /// Writes genesis into an empty store; otherwise checks that the stored state is the state the last
    /// committed block promises (they are written in one batch, so anything else is damage).
    static func reconcile(store: RocksDBStore, ledger: Ledger, genesis: Genesis, logger: Logger) throws -> ChainSnapshot {
        let chain = ChainStore(store: store)
        guard let tip = try chain.tip() else {
            if try Ledger.stateRoot(of: store) == .zero {
                let (changes, root) = try ledger.genesis(genesis, store: store)
                try store.write(changes, durability: .synced)
                logger.info("wrote genesis state \(root) for chain \(genesis.chainID)")
            }
            return ChainSnapshot(
                height: 0, blockHash: nil, stateRoot: try Ledger.stateRoot(of: store), timeMs: genesis.genesisTimeMs,
                transactions: 0)
        }
        guard let stored = try chain.block(at: tip.height) else {
            throw StartError("data directory \(store.directory): chain tip \(tip.height) has no stored block")
        }
        let root = try Ledger.stateRoot(of: store)
        guard root == stored.block.header.stateRoot else {
            throw StartError(
                "data directory \(store.directory): state root \(root) is not the root of block \(tip.height)")
        }
        return ChainSnapshot(
            height: tip.height, blockHash: tip.blockHash, stateRoot: root, timeMs: stored.block.header.timeMs,
            transactions: stored.block.transactions.count)
    }
}

/// A service that ends the group when the engine hits a fatal error, so the process exits non-zero.
final class FatalSignal: Service, @unchecked Sendable {
    private let stream: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private(set) var reason: String?

    init() { (stream, continuation) = AsyncStream.makeStream(of: String.self) }

    func trigger(_ reason: String) { continuation.yield(reason) }

    func run() async throws {
        for await reason in stream.cancelOnGracefulShutdown() {
            self.reason = reason
            throw Node.StartError(reason)
        }
    }
}
