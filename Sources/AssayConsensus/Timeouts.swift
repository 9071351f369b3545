import AssayCodec
import AssayTypes

/// The three timers of Algorithm 1 (L19 propose, L35 prevote, L48 precommit).
public enum TimeoutKind: UInt8, Hashable, Sendable, CanonicalCodable {
    case propose = 1
    case prevote = 2
    case precommit = 3

    public func encode(to writer: inout CanonicalWriter) { writer.write(rawValue) }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let raw = try reader.readUInt8()
        guard let kind = TimeoutKind(rawValue: raw) else { throw .unknownTag(UInt64(raw), type: "TimeoutKind") }
        self = kind
    }
}

/// One scheduled timer: it fires back into the core as `Input.timeout` with these same fields.
public struct Timeout: Hashable, Sendable, CanonicalCodable {
    public var kind: TimeoutKind
    public var height: Height
    public var round: Round

    public init(kind: TimeoutKind, height: Height, round: Round) {
        self.kind = kind
        self.height = height
        self.round = round
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.write(kind)
        writer.write(height)
        writer.write(round)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        kind = try reader.read()
        height = try reader.readUInt64()
        round = try reader.readUInt32()
    }
}

/// Timer durations that grow linearly with the round (`base + round * delta`), so that after
/// the global stabilisation time some round's timeouts are long enough for honest messages to arrive.
public struct TimeoutConfig: Hashable, Sendable {
    public var proposeBaseMs: UInt64
    public var proposeDeltaMs: UInt64
    public var prevoteBaseMs: UInt64
    public var prevoteDeltaMs: UInt64
    public var precommitBaseMs: UInt64
    public var precommitDeltaMs: UInt64

    public init(
        proposeBaseMs: UInt64 = 3_000, proposeDeltaMs: UInt64 = 500, prevoteBaseMs: UInt64 = 1_000,
        prevoteDeltaMs: UInt64 = 500, precommitBaseMs: UInt64 = 1_000, precommitDeltaMs: UInt64 = 500
    ) {
        self.proposeBaseMs = proposeBaseMs
        self.proposeDeltaMs = proposeDeltaMs
        self.prevoteBaseMs = prevoteBaseMs
        self.prevoteDeltaMs = prevoteDeltaMs
        self.precommitBaseMs = precommitBaseMs
        self.precommitDeltaMs = precommitDeltaMs
    }

    /// Saturates rather than overflowing at absurd rounds.
    public func durationMs(_ kind: TimeoutKind, round: Round) -> UInt64 {
        let (base, delta) =
            switch kind {
            case .propose: (proposeBaseMs, proposeDeltaMs)
            case .prevote: (prevoteBaseMs, prevoteDeltaMs)
            case .precommit: (precommitBaseMs, precommitDeltaMs)
            }
        let (growth, overflow) = delta.multipliedReportingOverflow(by: UInt64(round))
        return overflow ? .max : base.addingReportingOverflow(growth).overflow ? .max : base + growth
    }
}
