import AssayBlobs
import AssayCrypto
import AssayKernels
import AssayTypes
import Foundation

/// Which tiles of each posted result a validator checks (`[replay]`, docs/verification.md): `sample` checks
/// `tilesPerResult` tiles drawn under the validator's secret, `all` every tile (a full replay, tile by tile).
public struct SpotCheckPolicy: Equatable, Sendable {
    public enum Mode: String, Codable, Sendable {
        case all, sample
    }

    public var mode: Mode
    public var tilesPerResult: Int

    public init(mode: Mode, tilesPerResult: Int) {
        self.mode = mode
        self.tilesPerResult = tilesPerResult
    }

    /// The tiles to check in a result of `layout`.
    func tiles(_ layout: TraceLayout, secret: Digest32, job: Hash, traceRoot: Hash) -> [TileID] {
        let count = mode == .all ? layout.totalTileCount : tilesPerResult
        return layout.sampleTiles(count: count, secret: secret, job: job, traceRoot: traceRoot)
    }
}

/// A posted result with what its check needs from the job.
struct ResultUnderCheck {
    let job: Hash
    let request: Job
    let model: Model
    let result: JobResult
}

/// What checking one result found: the tiles recomputed, their work units, and the first tile found wrong (its
/// check failed, or the output blob differs from the final layer within it), if any.
struct SpotCheckOutcome: Equatable {
    var tilesChecked = 0
    var workUnits: UInt64 = 0
    var wrongTile: TileID?
}

enum SpotCheckError: Error, CustomStringConvertible {
    case traceLength(found: UInt64, expected: UInt64)
    case outputLength(found: UInt64, finalLayer: UInt64)

    var description: String {
        switch self {
        case let .traceLength(found, expected): "the trace blob has \(found) bytes; this job's trace has \(expected)"
        case let .outputLength(found, finalLayer):
            "the output blob has \(found) bytes, fewer than the final layer's \(finalLayer)"
        }
    }
}

/// One validator's check of a result: compares the output blob with the trace's final layer, then recomputes the
/// policy's tiles, reading only the byte ranges each needs (`read`: a range of a locally held blob). Stops at the
/// first wrong tile, which is what a challenge names.
struct SpotChecker {
    static let compareBytesMax = 1 << 20

    let read: (BlobRef, Range<UInt64>) throws -> [UInt8]
    let secret: Digest32
    let policy: SpotCheckPolicy
    let maxTileWorkUnits: UInt64

    func check(_ posted: ResultUnderCheck) throws -> SpotCheckOutcome {
        let layout = try self.layout(posted)
        let result = posted.result
        guard result.traceBlob.length == layout.traceLength else {
            throw SpotCheckError.traceLength(found: result.traceBlob.length, expected: layout.traceLength)
        }
        if let tile = try outputMismatch(result, layout) { return SpotCheckOutcome(wrongTile: tile) }
        var outcome = SpotCheckOutcome()
        for tile in policy.tiles(layout, secret: secret, job: posted.job, traceRoot: result.traceRoot) {
            let check = try self.check(tile, of: posted, in: layout)
            outcome.tilesChecked += 1
            outcome.workUnits += check.workUnits
            if !check.matches {
                outcome.wrongTile = tile
                break
            }
        }
        return outcome
    }

    /// The job's layout, from its model and the header of its input (the input's elements are not read).
    func layout(_ posted: ResultUnderCheck) throws -> TraceLayout {
        let input = posted.request.inputBlob
        let header = try read(input, 0..<min(input.length, UInt64(TensorSpec.canonicalHeaderBytesMax)))
        return try TraceLayout(
            try KernelID(posted.request.kernel), model: posted.model, input: try TensorSpec(canonicalHeader: header),
            limits: .forJob(maxWorkUnits: posted.request.maxWorkUnits), maxTileWorkUnits: maxTileWorkUnits)
    }

    func check(_ tile: TileID, of posted: ResultUnderCheck, in layout: TraceLayout) throws -> TileCheck {
        let reads = try layout.tileInputs(layer: tile.layer, tile: tile.tile)
        let inputs = try reads.pieces.flatMap { piece in
            try read(piece.source == .jobInput ? posted.request.inputBlob : posted.result.traceBlob, piece.range)
        }
        let committed = try read(posted.result.traceBlob, try layout.tileRange(layer: tile.layer, tile: tile.tile))
        return try layout.checkTile(
            layer: tile.layer, tile: tile.tile, inputs: inputs,
            committedTileHash: TraceLayout.tileHash(layer: tile.layer, tile: tile.tile, bytes: committed))
    }

    /// The final-layer tile holding the first byte where the output's elements (after its header) differ from the
    /// trace's final layer, compared a piece at a time; nil when they are equal.
    func outputMismatch(_ result: JobResult, _ layout: TraceLayout) throws -> TileID? {
        let last = layout.layerCount - 1
        let finalLayer = try layout.layerRange(last)
        let length = UInt64(finalLayer.count)
        guard result.outputBlob.length >= length else {
            throw SpotCheckError.outputLength(found: result.outputBlob.length, finalLayer: length)
        }
        let header = result.outputBlob.length - length
        var offset: UInt64 = 0
        while offset < length {
            let end = min(length, offset + UInt64(Self.compareBytesMax))
            let output = try read(result.outputBlob, header + offset..<header + end)
            let trace = try read(result.traceBlob, finalLayer.lowerBound + offset..<finalLayer.lowerBound + end)
            if let index = Self.firstDifference(output, trace) {
                return try layout.tile(containing: finalLayer.lowerBound + offset + UInt64(index), layer: last)
            }
            offset = end
        }
        return nil
    }

    /// Where two pieces of equal length first differ, nil when they are equal. memcmp decides: every checked result
    /// has its whole final layer compared, and an element-wise loop costs seconds per result in a debug build.
    static func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int? {
        let equal = a.withUnsafeBytes { a in
            b.withUnsafeBytes { b in a.count == b.count && (a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0) }
        }
        return equal ? nil : a.indices.first { $0 >= b.count || a[$0] != b[$0] } ?? a.count
    }
}

extension TraceLayout {
    /// The tile of `layer` whose bytes hold trace byte `position` (tiles are consecutive: a binary search).
    func tile(containing position: UInt64, layer: Int) throws -> TileID {
        var (low, high) = (0, try tileCount(layer: layer) - 1)
        while low < high {
            let middle = (low + high + 1) / 2
            if try tileRange(layer: layer, tile: middle).lowerBound <= position { low = middle } else { high = middle - 1 }
        }
        return TileID(layer: layer, tile: low)
    }
}

extension SpotChecker {
    static let secretTag = "assay/spot-check-secret/1"

    /// The node's sampling secret: HMAC-SHA-256 keyed by its node key over a fixed tag. Fixed as long as the node
    /// key (so before any trace root exists), never stored or sent, nothing new to back up; nobody without the key
    /// can compute it, and the HMAC reveals nothing of the key. The node key, not the consensus key, which only
    /// SafetyRules holds; not the account key, which a node may lack and still check results.
    static func secret(of key: SecretKey) -> Digest32 {
        key.withSecretBytes { HMACSHA256.authenticate(Array(secretTag.utf8), key: Array($0)) }
    }
}
