import AssayCodec
import AssayCrypto

/// One tile of a trace: tile `tile` of layer `layer`. Ordered as the trace root's leaves are (layer, then tile).
public struct TileID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let layer: Int
    public let tile: Int

    public init(layer: Int, tile: Int) {
        self.layer = layer
        self.tile = tile
    }

    public static func < (lhs: TileID, rhs: TileID) -> Bool { (lhs.layer, lhs.tile) < (rhs.layer, rhs.tile) }

    public var description: String { "layer \(layer) tile \(tile)" }
}

extension TraceLayout {
    /// The tile at position `leaf` of the trace root's leaf order (layer 0's tiles first, each layer in tile order).
    public func tile(atLeaf leaf: Int) -> TileID {
        precondition((0..<totalTileCount).contains(leaf), "leaf \(leaf) is not within the trace's \(totalTileCount)")
        var first = 0
        for (layer, tiling) in layers.enumerated() {
            if leaf < first + tiling.tileCount { return TileID(layer: layer, tile: leaf - first) }
            first += tiling.tileCount
        }
        preconditionFailure("the layers' tiles add up to totalTileCount")
    }

    /// The `count` distinct tiles a validator spot-checks in one result, sorted, drawn uniformly without replacement
    /// over all tiles of all layers (every tile when `count` reaches their number). The draw is a function of a
    /// secret only the validator holds, the job and the result's trace root alone: the provider and the block
    /// proposer cannot predict it, and the validator gets the same tiles after a restart (docs/verification.md).
    public func sampleTiles(count: Int, secret: Digest32, job: Digest32, traceRoot: Digest32) -> [TileID] {
        let total = totalTileCount
        guard count < total else { return (0..<total).map(tile(atLeaf:)) }
        var draws = KeyedDraws(secret: secret, job: job, traceRoot: traceRoot)
        // Floyd's algorithm: k draws, each subset of k leaves equally likely.
        var chosen = Set<Int>()
        for upper in total - max(0, count)..<total {
            let leaf = Int(draws.below(UInt64(upper) + 1))
            chosen.insert(chosen.contains(leaf) ? upper : leaf)
        }
        return chosen.sorted().map(tile(atLeaf:))
    }
}

/// Uniform integers from HMAC-SHA-256 in counter mode under a key bound to one result: block i is
/// HMAC(result key, i as u64 little-endian), read as four u64 little-endian; the result key is
/// HMAC(secret, "assay/spot-check/1" || job id || trace root).
struct KeyedDraws {
    static let tag = "assay/spot-check/1"
    private let key: [UInt8]
    private var counter: UInt64 = 0
    private var pool: [UInt64] = []

    init(secret: Digest32, job: Digest32, traceRoot: Digest32) {
        key = HMACSHA256.authenticate(Array(Self.tag.utf8) + job.bytes + traceRoot.bytes, key: secret.bytes).bytes
    }

    mutating func next() -> UInt64 {
        if pool.isEmpty {
            var writer = CanonicalWriter()
            writer.write(counter)
            counter += 1
            var reader = CanonicalReader(HMACSHA256.authenticate(writer.bytes, key: key).bytes)
            pool = (0..<4).map { _ in try! reader.readUInt64() }.reversed()
        }
        return pool.removeLast()
    }

    /// Uniform in 0..<bound: draws at or above the largest multiple of `bound` are drawn again (no modulo bias).
    mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0, "an empty range has nothing to draw")
        let excess = (UInt64.max % bound + 1) % bound  // 2^64 mod bound
        while true {
            let draw = next()
            if excess == 0 || draw < UInt64.max - excess + 1 { return draw % bound }
        }
    }
}
