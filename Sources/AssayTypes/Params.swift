import AssayCodec

/// The chain parameters. Every one is an unsigned integer; fractions are in basis points (1/10,000).
/// Genesis sets them (Genesis/README.md documents each one) and governance can change them one at a time.
public struct Params: Hashable, Sendable {
    public var minFee: Amount = 1_000
    public var unbondingBlocks: UInt64 = 1_000
    public var minProviderStake: Amount = 1_000 * Amount.baseUnitsPerCredit
    public var challengeWindowBlocks: UInt64 = 20
    public var challengeBondMin: Amount = Amount.baseUnitsPerCredit
    public var takeRateBps: UInt64 = 100
    public var fraudSlashFraction: UInt64 = 5_000
    public var challengerRewardFraction: UInt64 = 5_000
    public var nondeliveryPenalty: Amount = 10 * Amount.baseUnitsPerCredit
    public var doubleSignSlashFraction: UInt64 = 500
    public var governanceVotingBlocks: UInt64 = 100
    public var maxModelBytes: UInt64 = 64 << 20
    public var maxInputBytes: UInt64 = 64 << 20
    public var maxOutputBytes: UInt64 = 64 << 20
    public var maxJobWorkUnits: UInt64 = 10_000_000_000_000
    public var blockWorkBudget: UInt64 = 1_000_000_000
    /// T: every job's tiles cost at most this many work units (AssayKernels' `TraceLayout`).
    public var maxTileWorkUnits: UInt64 = 100_000_000
    public var maxJobDeadlineBlocks: UInt64 = 200
    public var maxBlobBytes: UInt64 = 256 << 20
    public var blobByteFee: Amount = 1
    public var blobRetentionBlocks: UInt64 = 1_000

    public init() {}

    public static let basisPoints: UInt64 = 10_000

    /// One parameter: its JSON and governance name, where it lives, and the values it may take.
    public struct Spec: Sendable {
        public let name: String
        public let keyPath: WritableKeyPath<Params, UInt64> & Sendable
        public let range: ClosedRange<UInt64>
        /// An amount of credits (base units), which RPC writes as a decimal string.
        public let isAmount: Bool

        init(
            name: String, keyPath: WritableKeyPath<Params, UInt64> & Sendable, range: ClosedRange<UInt64>,
            isAmount: Bool = false
        ) {
            self.name = name
            self.keyPath = keyPath
            self.range = range
            self.isAmount = isAmount
        }
    }

    /// Every parameter, in the order Genesis/README.md lists them.
    public static let specs: [Spec] = [
        Spec(name: "min_fee", keyPath: \.minFee, range: 0...1_000_000_000_000, isAmount: true),
        Spec(name: "unbonding_blocks", keyPath: \.unbondingBlocks, range: 2...10_000_000),
        Spec(name: "min_provider_stake", keyPath: \.minProviderStake, range: 0...1_000_000_000_000_000_000, isAmount: true),
        Spec(name: "challenge_window_blocks", keyPath: \.challengeWindowBlocks, range: 1...100_000),
        Spec(name: "challenge_bond_min", keyPath: \.challengeBondMin, range: 1...1_000_000_000_000_000, isAmount: true),
        Spec(name: "take_rate_bps", keyPath: \.takeRateBps, range: 0...basisPoints),
        Spec(name: "fraud_slash_fraction", keyPath: \.fraudSlashFraction, range: 0...basisPoints),
        Spec(name: "challenger_reward_fraction", keyPath: \.challengerRewardFraction, range: 0...basisPoints),
        Spec(name: "nondelivery_penalty", keyPath: \.nondeliveryPenalty, range: 0...1_000_000_000_000_000, isAmount: true),
        Spec(name: "double_sign_slash_fraction", keyPath: \.doubleSignSlashFraction, range: 0...basisPoints),
        Spec(name: "governance_voting_blocks", keyPath: \.governanceVotingBlocks, range: 1...1_000_000),
        Spec(name: "max_model_bytes", keyPath: \.maxModelBytes, range: 1...(4 << 30)),
        Spec(name: "max_input_bytes", keyPath: \.maxInputBytes, range: 1...(4 << 30)),
        Spec(name: "max_output_bytes", keyPath: \.maxOutputBytes, range: 1...(4 << 30)),
        Spec(name: "max_job_work_units", keyPath: \.maxJobWorkUnits, range: 1...1_000_000_000_000_000),
        Spec(name: "block_work_budget", keyPath: \.blockWorkBudget, range: 1...1_000_000_000_000),
        // 2^26 tiles every layer a job may have (docs/kernels.md, Tiles and traces), so a job the kernel accepts
        // can always be disputed.
        Spec(name: "max_tile_work_units", keyPath: \.maxTileWorkUnits, range: (1 << 26)...1_000_000_000_000),
        Spec(name: "max_job_deadline_blocks", keyPath: \.maxJobDeadlineBlocks, range: 1...100_000),
        // 4 GiB keeps a blob's leaf hashes (AssayBlobs) at 128 KiB.
        Spec(name: "max_blob_bytes", keyPath: \.maxBlobBytes, range: 1...(4 << 30)),
        Spec(name: "blob_byte_fee", keyPath: \.blobByteFee, range: 0...1_000_000, isAmount: true),
        Spec(name: "blob_retention_blocks", keyPath: \.blobRetentionBlocks, range: 1...10_000_000),
    ]

    public static func spec(named name: String) -> Spec? { specs.first { $0.name == name } }

    /// A problem with one parameter, named as in JSON.
    public struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
        public let name: String
        public let message: String
        public var description: String { "\(name): \(message)" }
    }

    /// Every value within its range, and the rules that tie parameters together.
    public func problems() -> [Problem] { Self.specs.compactMap(rangeProblem) + ruleProblems() }

    private func rangeProblem(_ spec: Spec) -> Problem? {
        let value = self[keyPath: spec.keyPath]
        guard !spec.range.contains(value) else { return nil }
        return Problem(name: spec.name, message: "\(value) is outside \(spec.range.lowerBound)...\(spec.range.upperBound)")
    }

    private func ruleProblems() -> [Problem] {
        var found: [Problem] = []
        // A provider's stake must stay slashable for as long as any of its jobs can still be challenged.
        if unbondingBlocks <= maxJobDeadlineBlocks &+ challengeWindowBlocks {
            found.append(Problem(
                name: "unbonding_blocks",
                message: "must exceed max_job_deadline_blocks + challenge_window_blocks "
                    + "(\(maxJobDeadlineBlocks) + \(challengeWindowBlocks))"))
        }
        // Any single tile must be adjudicable within one block's work budget.
        if maxTileWorkUnits > blockWorkBudget {
            found.append(Problem(
                name: "max_tile_work_units", message: "must not exceed block_work_budget (\(blockWorkBudget))"))
        }
        return found
    }

    /// This set of parameters with one changed, if the name exists, the value is in its range and the rules hold.
    /// (The other values were checked when they were set.)
    public func setting(_ name: String, to value: UInt64) throws(Problem) -> Params {
        guard let spec = Self.spec(named: name) else { throw Problem(name: name, message: "no such parameter") }
        var changed = self
        changed[keyPath: spec.keyPath] = value
        if let problem = changed.rangeProblem(spec) ?? changed.ruleProblems().first { throw problem }
        return changed
    }

    /// `amount` x `bps` / 10,000, rounded down, without overflow.
    public static func fraction(_ amount: Amount, bps: UInt64) -> Amount {
        // bps <= 10,000 so the quotient is at most `amount` and fits.
        basisPoints.dividingFullWidth(amount.multipliedFullWidth(by: min(bps, basisPoints))).quotient
    }
}

extension Params: CanonicalCodable {
    /// All values in `specs` order; the encoding is part of the state (and so of the state root).
    public func encode(to writer: inout CanonicalWriter) {
        for spec in Self.specs { writer.write(self[keyPath: spec.keyPath]) }
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        self.init()
        for spec in Self.specs { self[keyPath: spec.keyPath] = try reader.readUInt64() }
    }
}
