/// Named fault presets. Each scenario draws its concrete faults from its seed within the profile.
public enum FaultProfile: String, CaseIterable, Sendable, CustomStringConvertible {
    /// No faults: short delays, nothing lost.
    case calm
    /// Loss, duplication and long-tailed delays that reorder messages.
    case lossy
    /// Partitions: one node isolated, the set split in halves, one-way links.
    case partition
    /// Crashes and restarts that lose unsynced writes and tear the WAL's last record.
    case crash
    /// Byzantine twins (two engines sharing one key) and an equivocating proposer.
    case byzantine
    /// All of the above at once.
    case chaos

    public var description: String { rawValue }

    /// The profile a seed gets when none is chosen: the presets in turn.
    public static func forSeed(_ seed: UInt64) -> FaultProfile { allCases[Int(seed % UInt64(allCases.count))] }

    var hasLoss: Bool { self == .lossy || self == .chaos }
    var hasPartitions: Bool { self == .partition || self == .chaos }
    var hasCrashes: Bool { self == .crash || self == .chaos }
    var hasByzantine: Bool { self == .byzantine || self == .chaos }
}

/// Message delivery while faults are active; after the heal every profile gets `healthy`.
struct NetworkConditions: Sendable {
    var lossPermille = 0
    var duplicatePermille = 0
    var delayMinMs: UInt64 = 1
    var delayMaxMs: UInt64 = 10
    /// Share of messages that take the slow path (up to `slowMaxMs`), overtaking being the result.
    var slowPermille = 0
    var slowMaxMs: UInt64 = 0

    static let healthy = NetworkConditions()
}

/// A time window in which some links drop everything.
struct PartitionWindow: Sendable {
    enum Shape: Sendable {
        case isolate(Int)
        /// Nodes whose bit is set form one side.
        case halves(sideMask: UInt64)
        /// Messages from `from` are dropped; it still hears everyone.
        case mute(from: Int)
        /// Messages to `to` are dropped; everyone still hears it.
        case deafen(to: Int)
    }

    var shape: Shape
    var startMs: UInt64
    var endMs: UInt64

    func blocks(from: Int, to: Int, atMs now: UInt64) -> Bool {
        guard now >= startMs, now < endMs else { return false }
        switch shape {
        case let .isolate(node): return from == node || to == node
        case let .halves(mask): return (mask >> UInt64(from)) & 1 != (mask >> UInt64(to)) & 1
        case let .mute(node): return from == node
        case let .deafen(node): return to == node
        }
    }
}

struct CrashPlan: Sendable {
    var node: Int
    var crashAtMs: UInt64
    var restartAtMs: UInt64
    var tearLastWrite: Bool
}
