import AssayCrypto
import AssayMempool
import AssayRocksDB
import AssayRPC
import AssayTracing
import AssayTypes
import Foundation
import TOMLKit

/// One node's settings, read from `config.toml` in its home directory (documented in Network/README.md).
/// Relative paths are resolved against the home directory.
public struct NodeConfig: Codable, Equatable, Sendable {
    public struct Node: Codable, Equatable, Sendable {
        public var moniker: String
        /// The consensus (validator) key: unlocked into the signer only SafetyRules calls.
        public var keyFile: String
        /// The node key: authenticates P2P links (peers allow it through the validator records).
        public var nodeKeyFile: String
        public var genesisFile: String
        public var dataDir: String

        enum CodingKeys: String, CodingKey {
            case moniker
            case keyFile = "key_file"
            case nodeKeyFile = "node_key_file"
            case genesisFile = "genesis_file"
            case dataDir = "data_dir"
        }
    }

    /// The node's own account: signs the replay worker's challenges (bonded from its balance) and the evidence
    /// reporter's evidence. Without it the node sends neither.
    public struct Account: Codable, Equatable, Sendable {
        public var keyFile: String

        enum CodingKeys: String, CodingKey {
            case keyFile = "key_file"
        }
    }

    public struct P2P: Codable, Equatable, Sendable {
        /// host:port to listen on.
        public var listen: String
        /// Peers to dial, as `host:port`; who they are is checked against the validator set at the handshake.
        public var peers: [String]
        public var frameBytesMax: Int
        public var sendQueueMax: Int
        /// The keys below were added after the first release; a config without them gets `P2P.defaults`.
        public var handshakeFrameBytesMax: Int
        public var pendingHandshakesMax: Int
        public var pendingHandshakesPerIPMax: Int
        public var keepaliveIntervalMs: Int
        public var peerTimeoutMs: Int
        /// Whether peers' blob chunk requests are answered. Off, every request gets "not held": for a node that
        /// must not spend upload bandwidth, and for testing the availability rule (a proposer withholding data).
        public var serveBlobs: Bool
        /// Node keys (hex) allowed to connect besides the validators': nodes that are not validators (yet), such
        /// as one joining by state sync before governance adds it. Nil (none) is not written to config.toml.
        public var allowedNodeKeys: [String]?

        enum CodingKeys: String, CodingKey {
            case listen
            case peers
            case frameBytesMax = "frame_bytes_max"
            case sendQueueMax = "send_queue_max"
            case handshakeFrameBytesMax = "handshake_frame_bytes_max"
            case pendingHandshakesMax = "pending_handshakes_max"
            case pendingHandshakesPerIPMax = "pending_handshakes_per_ip_max"
            case keepaliveIntervalMs = "keepalive_interval_ms"
            case peerTimeoutMs = "peer_timeout_ms"
            case serveBlobs = "serve_blobs"
            case allowedNodeKeys = "allowed_node_keys"
        }

        public static func defaults(listen: String, peers: [String]) -> P2P {
            P2P(
                listen: listen, peers: peers, frameBytesMax: 8 << 20, sendQueueMax: 4_096, handshakeFrameBytesMax: 1_024,
                pendingHandshakesMax: 64, pendingHandshakesPerIPMax: 8, keepaliveIntervalMs: 1_000, peerTimeoutMs: 3_000,
                serveBlobs: true, allowedNodeKeys: nil)
        }

        init(
            listen: String, peers: [String], frameBytesMax: Int, sendQueueMax: Int, handshakeFrameBytesMax: Int,
            pendingHandshakesMax: Int, pendingHandshakesPerIPMax: Int, keepaliveIntervalMs: Int, peerTimeoutMs: Int,
            serveBlobs: Bool, allowedNodeKeys: [String]?
        ) {
            self.listen = listen
            self.peers = peers
            self.frameBytesMax = frameBytesMax
            self.sendQueueMax = sendQueueMax
            self.handshakeFrameBytesMax = handshakeFrameBytesMax
            self.pendingHandshakesMax = pendingHandshakesMax
            self.pendingHandshakesPerIPMax = pendingHandshakesPerIPMax
            self.keepaliveIntervalMs = keepaliveIntervalMs
            self.peerTimeoutMs = peerTimeoutMs
            self.serveBlobs = serveBlobs
            self.allowedNodeKeys = allowedNodeKeys
        }

        public init(from decoder: any Decoder) throws {
            let values = try decoder.container(keyedBy: CodingKeys.self)
            let fallback = P2P.defaults(listen: "", peers: [])
            func optional(_ key: CodingKeys, _ value: Int) throws -> Int {
                try values.decodeIfPresent(Int.self, forKey: key) ?? value
            }
            self.init(
                listen: try values.decode(String.self, forKey: .listen),
                peers: try values.decode([String].self, forKey: .peers),
                frameBytesMax: try values.decode(Int.self, forKey: .frameBytesMax),
                sendQueueMax: try values.decode(Int.self, forKey: .sendQueueMax),
                handshakeFrameBytesMax: try optional(.handshakeFrameBytesMax, fallback.handshakeFrameBytesMax),
                pendingHandshakesMax: try optional(.pendingHandshakesMax, fallback.pendingHandshakesMax),
                pendingHandshakesPerIPMax: try optional(.pendingHandshakesPerIPMax, fallback.pendingHandshakesPerIPMax),
                keepaliveIntervalMs: try optional(.keepaliveIntervalMs, fallback.keepaliveIntervalMs),
                peerTimeoutMs: try optional(.peerTimeoutMs, fallback.peerTimeoutMs),
                serveBlobs: try values.decodeIfPresent(Bool.self, forKey: .serveBlobs) ?? fallback.serveBlobs,
                allowedNodeKeys: try values.decodeIfPresent([String].self, forKey: .allowedNodeKeys))
        }

        /// The transport settings these describe, or why they are invalid.
        public func validated() throws(NodeConfig.LoadError) -> P2P {
            func check(_ holds: Bool, _ reason: String) throws(NodeConfig.LoadError) {
                if !holds { throw .invalid(path: "[p2p]", reason: reason) }
            }
            // A frame must hold a gossiped transaction of the largest size, and a proposal's overhead besides.
            try check(
                (2 << 20...Int(UInt32.max)).contains(frameBytesMax),
                "frame_bytes_max \(frameBytesMax) is not within 2097152...4294967295")
            try check(
                (256...frameBytesMax).contains(handshakeFrameBytesMax),
                "handshake_frame_bytes_max \(handshakeFrameBytesMax) is not within 256...frame_bytes_max")
            try check(sendQueueMax >= 1, "send_queue_max \(sendQueueMax) is below 1")
            try check(
                pendingHandshakesMax >= 1 && pendingHandshakesPerIPMax >= 1,
                "pending_handshakes_max and pending_handshakes_per_ip_max must be at least 1")
            try check(
                keepaliveIntervalMs >= 1 && keepaliveIntervalMs < peerTimeoutMs,
                "keepalive_interval_ms \(keepaliveIntervalMs) must be at least 1 and below peer_timeout_ms \(peerTimeoutMs)")
            for key in allowedNodeKeys ?? [] {
                try check(Self.publicKey(hex: key) != nil, "allowed_node_keys: \(key) is not a hex public key")
            }
            return self
        }

        static func publicKey(hex: String) -> PublicKey? { Hex.decode(hex).flatMap { try? PublicKey(bytes: $0) } }

        /// `allowedNodeKeys` parsed (checked by `validated`).
        public var allowedNodeKeySet: [PublicKey] { (allowedNodeKeys ?? []).compactMap(Self.publicKey(hex:)) }
    }

    public struct Consensus: Codable, Equatable, Sendable {
        public var timeoutProposeMs: Int
        public var timeoutProposeDeltaMs: Int
        public var timeoutPrevoteMs: Int
        public var timeoutPrevoteDeltaMs: Int
        public var timeoutPrecommitMs: Int
        public var timeoutPrecommitDeltaMs: Int
        /// Pause after a commit before the next height starts, so that blocks gather transactions.
        public var timeoutCommitMs: Int
        public var blockTransactionsMax: Int

        enum CodingKeys: String, CodingKey {
            case timeoutProposeMs = "timeout_propose_ms"
            case timeoutProposeDeltaMs = "timeout_propose_delta_ms"
            case timeoutPrevoteMs = "timeout_prevote_ms"
            case timeoutPrevoteDeltaMs = "timeout_prevote_delta_ms"
            case timeoutPrecommitMs = "timeout_precommit_ms"
            case timeoutPrecommitDeltaMs = "timeout_precommit_delta_ms"
            case timeoutCommitMs = "timeout_commit_ms"
            case blockTransactionsMax = "block_transactions_max"
        }
    }

    public struct Mempool: Codable, Equatable, Sendable {
        public var transactionsMax: Int
        public var bytesMax: Int
        /// Transactions one sender may have waiting behind a missing nonce; absent: 16.
        public var gappedPerSenderMax: Int?
        /// Such transactions in the whole pool; absent: a tenth of `transactions_max`.
        public var gappedMax: Int?
        /// Committed blocks after which a transaction still waiting behind a missing nonce is dropped; absent: 100.
        public var gappedLifetimeBlocks: Int?
        /// Gossiped transactions waiting for admission; a batch beyond it is dropped. Absent: 20,000.
        public var gossipQueueTransactionsMax: Int?

        enum CodingKeys: String, CodingKey {
            case transactionsMax = "transactions_max"
            case bytesMax = "bytes_max"
            case gappedPerSenderMax = "gapped_per_sender_max"
            case gappedMax = "gapped_max"
            case gappedLifetimeBlocks = "gapped_lifetime_blocks"
            case gossipQueueTransactionsMax = "gossip_queue_transactions_max"
        }

        public static let gossipQueueDefault = 20_000
        static let transactionBytesMax = 64 * 1024

        public var gossipQueueMax: Int { gossipQueueTransactionsMax ?? Self.gossipQueueDefault }

        /// The pool's configuration, or why these settings cannot make one (a bad value must not reach a
        /// precondition at start-up).
        public func poolConfig(chainID: String, feeMin: Amount) throws(NodeConfig.LoadError) -> MempoolConfig {
            func invalid(_ reason: String) -> NodeConfig.LoadError { .invalid(path: "[mempool]", reason: reason) }
            guard transactionsMax > 1 else { throw invalid("transactions_max \(transactionsMax) must be at least 2") }
            guard bytesMax >= Self.transactionBytesMax else {
                throw invalid("bytes_max \(bytesMax) is below one largest transaction (\(Self.transactionBytesMax))")
            }
            if let gappedMax, !(0..<transactionsMax).contains(gappedMax) {
                throw invalid("gapped_max \(gappedMax) is not within 0..<transactions_max")
            }
            if let gappedPerSenderMax, gappedPerSenderMax < 0 { throw invalid("gapped_per_sender_max is negative") }
            if let gappedLifetimeBlocks, gappedLifetimeBlocks <= 0 {
                throw invalid("gapped_lifetime_blocks \(gappedLifetimeBlocks) must be positive")
            }
            guard gossipQueueMax > 0 else { throw invalid("gossip_queue_transactions_max must be positive") }
            var pool = MempoolConfig(
                chainID: chainID, transactionBytesMax: Self.transactionBytesMax, countMax: transactionsMax,
                bytesMax: bytesMax, feeMin: feeMin, gappedMax: gappedMax)
            if let gappedPerSenderMax { pool.gappedPerSenderMax = gappedPerSenderMax }
            if let gappedLifetimeBlocks { pool.gappedLifetimeBlocks = UInt64(gappedLifetimeBlocks) }
            return pool
        }
    }

    /// The JSON-RPC listener and its bounds (docs/rpc.md, "Limits"). Every bound but `listen` may be left out
    /// (configs written before it existed): then `RPCServerConfig`'s and `SubscriptionHub`'s defaults apply.
    public struct RPC: Codable, Equatable, Sendable {
        public var listen: String
        public var bodyBytesMax: Int
        public var responseBytesMax: Int
        public var webSocketQueueBytesMax: Int
        public var idleTimeoutMs: Int
        public var requestTimeoutMs: Int

        enum CodingKeys: String, CodingKey {
            case listen
            case bodyBytesMax = "body_bytes_max"
            case responseBytesMax = "response_bytes_max"
            case webSocketQueueBytesMax = "websocket_queue_bytes_max"
            case idleTimeoutMs = "idle_timeout_ms"
            case requestTimeoutMs = "request_timeout_ms"
        }

        /// The defaults, listening on `listen`.
        public init(listen: String) {
            let server = RPCServerConfig()
            self.listen = listen
            bodyBytesMax = server.bodyBytesMax
            responseBytesMax = server.responseBytesMax
            webSocketQueueBytesMax = SubscriptionHub.queueBytesMaxDefault
            idleTimeoutMs = server.idleTimeoutMs
            requestTimeoutMs = server.requestTimeoutMs
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(listen: try container.decode(String.self, forKey: .listen))
            func bound(_ key: CodingKeys, _ value: inout Int) throws {
                value = try container.decodeIfPresent(Int.self, forKey: key) ?? value
            }
            try bound(.bodyBytesMax, &bodyBytesMax)
            try bound(.responseBytesMax, &responseBytesMax)
            try bound(.webSocketQueueBytesMax, &webSocketQueueBytesMax)
            try bound(.idleTimeoutMs, &idleTimeoutMs)
            try bound(.requestTimeoutMs, &requestTimeoutMs)
        }

        /// The server settings these describe, or why they are invalid.
        public func serverConfig() throws -> RPCServerConfig {
            let bounds: [(String, Int)] = [
                ("body_bytes_max", bodyBytesMax), ("response_bytes_max", responseBytesMax),
                ("websocket_queue_bytes_max", webSocketQueueBytesMax), ("idle_timeout_ms", idleTimeoutMs),
                ("request_timeout_ms", requestTimeoutMs),
            ]
            if let (name, value) = bounds.first(where: { $0.1 <= 0 }) {
                throw LoadError.invalid(path: "[rpc]", reason: "\(name) \(value) is not positive")
            }
            let (host, port) = try NodeHome.hostAndPort(listen)
            return RPCServerConfig(
                host: host, port: port, bodyBytesMax: bodyBytesMax, responseBytesMax: responseBytesMax,
                idleTimeoutMs: idleTimeoutMs, requestTimeoutMs: requestTimeoutMs)
        }
    }

    public struct Metrics: Codable, Equatable, Sendable {
        /// Serve Prometheus text at `/metrics` on the RPC listener.
        public var enabled: Bool
    }

    /// The validator replay worker (`ReplayWorker`): how many tiles of each posted result it checks, on how many
    /// threads (docs/verification.md).
    public struct Replay: Codable, Equatable, Sendable {
        /// `sample` (k tiles drawn under the validator's secret) or `all` (every tile: a full replay).
        public var mode: SpotCheckPolicy.Mode
        /// k, in `sample` mode.
        public var tilesPerResult: Int
        public var threads: Int

        enum CodingKeys: String, CodingKey {
            case mode
            case tilesPerResult = "tiles_per_result"
            case threads
            // Whole-job sampling, replaced by tiles (issue 11): refused with a pointer rather than an unknown key.
            case sampleFraction = "sample_fraction"
            case seed
        }

        /// k = 16: 0.75% of the work of a 2,142-tile job per validator (docs/verification.md, "Defaults").
        public static let defaults = Replay(mode: .sample, tilesPerResult: 16, threads: 1)

        public init(mode: SpotCheckPolicy.Mode, tilesPerResult: Int, threads: Int) {
            self.mode = mode
            self.tilesPerResult = tilesPerResult
            self.threads = threads
        }

        public init(from decoder: any Decoder) throws {
            let values = try decoder.container(keyedBy: CodingKeys.self)
            if values.contains(.sampleFraction) || values.contains(.seed) {
                throw LoadError.invalid(
                    path: "[replay]", reason: "sample_fraction and seed are gone: validators check tiles_per_result "
                        + "tiles of every result (docs/verification.md)")
            }
            self.init(
                mode: try values.decode(SpotCheckPolicy.Mode.self, forKey: .mode),
                tilesPerResult: try values.decodeIfPresent(Int.self, forKey: .tilesPerResult) ?? Self.defaults.tilesPerResult,
                threads: try values.decodeIfPresent(Int.self, forKey: .threads) ?? Self.defaults.threads)
        }

        public func encode(to encoder: any Encoder) throws {
            var values = encoder.container(keyedBy: CodingKeys.self)
            try values.encode(mode, forKey: .mode)
            try values.encode(tilesPerResult, forKey: .tilesPerResult)
            try values.encode(threads, forKey: .threads)
        }

        /// The policy these settings describe, or why they are invalid.
        public func policy() throws(NodeConfig.LoadError) -> SpotCheckPolicy {
            guard (1...1_000_000).contains(tilesPerResult) else {
                throw .invalid(path: "[replay]", reason: "tiles_per_result \(tilesPerResult) is not within 1...1000000")
            }
            guard (1...64).contains(threads) else {
                throw .invalid(path: "[replay]", reason: "threads \(threads) is not within 1...64")
            }
            return SpotCheckPolicy(mode: mode, tilesPerResult: tilesPerResult)
        }
    }

    /// The data directory's disk (docs/ARCHITECTURE.md, "Bounds").
    public struct Storage: Codable, Equatable, Sendable {
        /// Free bytes the data directory's file system must keep: below them the node stops before RocksDB could
        /// meet a full disk. 0 turns the check off (a failed write still stops the node).
        public var minFreeBytes: Int
        /// Blocks kept below the tip and with it (their commits and transaction index entries too); older ones are
        /// pruned. 0 keeps every block. Blocks of the snapshots the node holds are kept whatever this says.
        public var retainBlocks: UInt64

        enum CodingKeys: String, CodingKey {
            case minFreeBytes = "min_free_bytes"
            case retainBlocks = "retain_blocks"
        }

        public static let defaults = Storage(minFreeBytes: 64 << 20, retainBlocks: 0)

        public init(minFreeBytes: Int, retainBlocks: UInt64) {
            self.minFreeBytes = minFreeBytes
            self.retainBlocks = retainBlocks
        }

        /// Keys left out take their defaults.
        public init(from decoder: any Decoder) throws {
            let values = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                minFreeBytes: try values.decodeIfPresent(Int.self, forKey: .minFreeBytes) ?? Self.defaults.minFreeBytes,
                retainBlocks: try values.decodeIfPresent(UInt64.self, forKey: .retainBlocks) ?? Self.defaults.retainBlocks)
        }

        /// The reserve these settings describe (none for 0), or why they are invalid.
        public func reserve() throws(NodeConfig.LoadError) -> DiskReserve? {
            guard minFreeBytes >= 0 else {
                throw .invalid(path: "[storage]", reason: "min_free_bytes \(minFreeBytes) is negative")
            }
            return minFreeBytes == 0 ? nil : DiskReserve(minFreeBytes: UInt64(minFreeBytes))
        }
    }

    /// State sync (docs/p2p.md, State sync): taking and serving snapshots, and joining from one.
    public struct StateSync: Codable, Equatable, Sendable {
        /// Start an empty node from a peer's snapshot instead of replaying every block.
        public var enable: Bool
        /// A height and its block hash (hex) the operator trusts, from a source of their own: the light client
        /// verifies the snapshot's block from it.
        public var trustHeight: UInt64
        public var trustHash: String
        /// How long a trusted block stays trusted (as CometBFT's `trust_period`): a trusted block older than this, by
        /// its header time against the wall clock, is refused, since validators that signed it may have unbonded.
        public var trustPeriodS: UInt64
        /// Take a snapshot after every block whose height is a multiple of this; 0 takes none.
        public var snapshotInterval: Int
        /// Complete snapshots kept on disk (the newest).
        public var snapshotKeep: Int
        /// How long a joining node gathers offers before choosing a snapshot, and waits for a chunk before asking
        /// another peer.
        public var discoveryMs: Int
        public var chunkTimeoutMs: Int

        enum CodingKeys: String, CodingKey {
            case enable
            case trustHeight = "trust_height"
            case trustHash = "trust_hash"
            case trustPeriodS = "trust_period_s"
            case snapshotInterval = "snapshot_interval"
            case snapshotKeep = "snapshot_keep"
            case discoveryMs = "discovery_ms"
            case chunkTimeoutMs = "chunk_timeout_ms"
        }

        public static let defaults = StateSync(
            enable: false, trustHeight: 0, trustHash: "", trustPeriodS: 14 * 24 * 3600, snapshotInterval: 0,
            snapshotKeep: 2, discoveryMs: 2_000, chunkTimeoutMs: 10_000)

        public init(
            enable: Bool, trustHeight: UInt64, trustHash: String, trustPeriodS: UInt64, snapshotInterval: Int,
            snapshotKeep: Int, discoveryMs: Int, chunkTimeoutMs: Int
        ) {
            self.enable = enable
            self.trustHeight = trustHeight
            self.trustHash = trustHash
            self.trustPeriodS = trustPeriodS
            self.snapshotInterval = snapshotInterval
            self.snapshotKeep = snapshotKeep
            self.discoveryMs = discoveryMs
            self.chunkTimeoutMs = chunkTimeoutMs
        }

        /// Keys left out take their defaults.
        public init(from decoder: any Decoder) throws {
            let values = try decoder.container(keyedBy: CodingKeys.self)
            let fallback = Self.defaults
            self.init(
                enable: try values.decodeIfPresent(Bool.self, forKey: .enable) ?? fallback.enable,
                trustHeight: try values.decodeIfPresent(UInt64.self, forKey: .trustHeight) ?? fallback.trustHeight,
                trustHash: try values.decodeIfPresent(String.self, forKey: .trustHash) ?? fallback.trustHash,
                trustPeriodS: try values.decodeIfPresent(UInt64.self, forKey: .trustPeriodS) ?? fallback.trustPeriodS,
                snapshotInterval: try values.decodeIfPresent(Int.self, forKey: .snapshotInterval)
                    ?? fallback.snapshotInterval,
                snapshotKeep: try values.decodeIfPresent(Int.self, forKey: .snapshotKeep) ?? fallback.snapshotKeep,
                discoveryMs: try values.decodeIfPresent(Int.self, forKey: .discoveryMs) ?? fallback.discoveryMs,
                chunkTimeoutMs: try values.decodeIfPresent(Int.self, forKey: .chunkTimeoutMs) ?? fallback.chunkTimeoutMs)
        }

        /// The trusted block, when joining is enabled, or why the section is invalid.
        public func trust() throws(NodeConfig.LoadError) -> (height: Height, hash: Hash)? {
            func check(_ holds: Bool, _ reason: String) throws(NodeConfig.LoadError) {
                if !holds { throw .invalid(path: "[statesync]", reason: reason) }
            }
            try check(snapshotInterval >= 0, "snapshot_interval \(snapshotInterval) is negative")
            try check(snapshotKeep >= 1, "snapshot_keep \(snapshotKeep) is below 1")
            try check(discoveryMs >= 1 && chunkTimeoutMs >= 1, "discovery_ms and chunk_timeout_ms must be at least 1")
            guard enable else { return nil }
            try check(trustHeight >= 1, "enable = true needs trust_height (a height of at least 1)")
            try check(trustPeriodS >= 1, "trust_period_s must be at least 1")
            guard let bytes = Hex.decode(trustHash), bytes.count == 32 else {
                throw .invalid(path: "[statesync]", reason: "trust_hash \(trustHash) is not a 32-byte hex hash")
            }
            return (trustHeight, Hash(bytes))
        }
    }

    /// OpenTelemetry traces of jobs, sent to a collector over OTLP/HTTP (docs/rpc.md, Tracing). Off by default.
    public struct Tracing: Codable, Equatable, Sendable {
        public var enable: Bool
        /// The collector's base URL, as in `OTEL_EXPORTER_OTLP_ENDPOINT`: spans go to `<otlp_endpoint>/v1/traces`.
        public var otlpEndpoint: String
        /// `http/protobuf` or `http/json`.
        public var otlpProtocol: String

        enum CodingKeys: String, CodingKey {
            case enable
            case otlpEndpoint = "otlp_endpoint"
            case otlpProtocol = "otlp_protocol"
        }

        public static let defaults = Tracing(
            enable: false, otlpEndpoint: "http://127.0.0.1:4318", otlpProtocol: "http/protobuf")

        public init(enable: Bool, otlpEndpoint: String, otlpProtocol: String) {
            self.enable = enable
            self.otlpEndpoint = otlpEndpoint
            self.otlpProtocol = otlpProtocol
        }

        /// Keys left out take their defaults, so `enable = true` alone sends to a collector on this machine.
        public init(from decoder: any Decoder) throws {
            let values = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                enable: try values.decodeIfPresent(Bool.self, forKey: .enable) ?? Self.defaults.enable,
                otlpEndpoint: try values.decodeIfPresent(String.self, forKey: .otlpEndpoint) ?? Self.defaults.otlpEndpoint,
                otlpProtocol: try values.decodeIfPresent(String.self, forKey: .otlpProtocol) ?? Self.defaults.otlpProtocol)
        }

        /// The exporter's settings for the node `moniker`, nil while tracing is off, or why the section is invalid.
        public func settings(moniker: String) throws(NodeConfig.LoadError) -> TracingSettings? {
            guard TracingSettings.protocols.contains(otlpProtocol) else {
                throw .invalid(
                    path: "[tracing]",
                    reason: "otlp_protocol \(otlpProtocol) is not one of \(TracingSettings.protocols.joined(separator: ", "))")
            }
            guard let scheme = URL(string: otlpEndpoint)?.scheme, ["http", "https"].contains(scheme) else {
                throw .invalid(path: "[tracing]", reason: "otlp_endpoint \(otlpEndpoint) is not an http(s) URL")
            }
            guard enable else { return nil }
            return TracingSettings(
                endpoint: otlpEndpoint, otlpProtocol: otlpProtocol, serviceName: "assay-node", instance: moniker)
        }
    }

    public struct Log: Codable, Equatable, Sendable {
        /// trace, debug, info, notice, warning, error or critical.
        public var level: String
    }

    public var node: Node
    public var p2p: P2P
    public var consensus: Consensus
    public var mempool: Mempool
    public var rpc: RPC
    public var metrics: Metrics
    /// Absent: the node challenges nothing and reports no evidence (it says so at start).
    public var account: Account?
    /// Absent in configs written before the replay worker existed: then `Replay.defaults`.
    public var replay: Replay?
    /// Absent in configs written before the disk reserve existed: then `Storage.defaults`.
    public var storage: Storage?
    /// Absent in configs written before tracing existed: then `Tracing.defaults` (off).
    public var tracing: Tracing?
    /// Absent in configs written before state sync existed: then `StateSync.defaults`.
    public var statesync: StateSync?
    public var log: Log

    public static func defaults(moniker: String, p2pListen: String, rpcListen: String, peers: [String]) -> NodeConfig {
        NodeConfig(
            node: Node(
                moniker: moniker, keyFile: "validator_key.json", nodeKeyFile: "node_key.json",
                genesisFile: "genesis.json", dataDir: "data"),
            p2p: .defaults(listen: p2pListen, peers: peers),
            consensus: Consensus(
                timeoutProposeMs: 1_000, timeoutProposeDeltaMs: 500, timeoutPrevoteMs: 500,
                timeoutPrevoteDeltaMs: 250, timeoutPrecommitMs: 500, timeoutPrecommitDeltaMs: 250,
                timeoutCommitMs: 300, blockTransactionsMax: 10_000),
            mempool: Mempool(
                transactionsMax: 100_000, bytesMax: 128 << 20, gappedPerSenderMax: 16, gappedMax: 10_000,
                gappedLifetimeBlocks: 100, gossipQueueTransactionsMax: Mempool.gossipQueueDefault),
            rpc: RPC(listen: rpcListen),
            metrics: Metrics(enabled: true),
            account: Account(keyFile: "account_key.json"),
            replay: .defaults,
            storage: .defaults,
            tracing: .defaults,
            statesync: .defaults,
            log: Log(level: "info"))
    }

    public enum LoadError: Error, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case invalid(path: String, reason: String)

        public var description: String {
            switch self {
            case let .unreadable(path, reason): "cannot read node config \(path): \(reason)"
            case let .invalid(path, reason): "node config \(path) is not valid: \(reason)"
            }
        }
    }

    public static func load(path: String) throws -> NodeConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw LoadError.unreadable(path: path, reason: error.localizedDescription)
        }
        do {
            return try TOMLDecoder(strictDecoding: true).decode(NodeConfig.self, from: text)
        } catch {
            throw LoadError.invalid(path: path, reason: "\(error)")
        }
    }

    public func tomlText() throws -> String {
        try TOMLEncoder().encode(self)
    }
}
