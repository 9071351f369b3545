import AssayCodec
import AssayCrypto
import AssayKernels
import AssayTypes

extension ProviderWorker {
    /// Misbehaviour for tests and demos (`assay provider start --cheat`).
    enum Cheat: Equatable {
        case none
        /// With probability P per job, an output that differs from the trace's final layer (its last byte flipped).
        case wrong(probability: Double)
        /// Results posted only at the deadline.
        case late
        /// No results at all.
        case silent
        /// In every job that has it, this tile corrupted and every later layer recomputed from it (`Trace.corrupting`).
        case tile(TileID)
        /// In every job, each tile corrupted with probability Q (a coin per tile seeded by --seed and the job id).
        case fraction(Double)

        init(parsing text: String?) throws {
            switch text {
            case nil, "none": self = .none
            case "late": self = .late
            case "silent": self = .silent
            case let text? where text.hasPrefix("wrong:"):
                self = .wrong(probability: try Self.probability(text.dropFirst(6), "wrong:P"))
            case let text? where text.hasPrefix("fraction:"):
                self = .fraction(try Self.probability(text.dropFirst(9), "fraction:Q"))
            case let text? where text.hasPrefix("tile:"):
                let parts = text.dropFirst(5).split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count == 2, let layer = Int(parts[0]), let tile = Int(parts[1]), layer >= 0, tile >= 0 else {
                    throw CommandFailure("--cheat tile:LAYER:TILE needs two whole numbers >= 0, e.g. tile:2:17")
                }
                self = .tile(TileID(layer: layer, tile: tile))
            case let text?:
                throw CommandFailure("--cheat '\(text)': use wrong:P, tile:LAYER:TILE, fraction:Q, late or silent")
            }
        }

        private static func probability(_ text: Substring, _ form: String) throws -> Double {
            guard let value = Double(text), (0...1).contains(value) else {
                throw CommandFailure("--cheat \(form) needs a number between 0 and 1")
            }
            return value
        }

        static let coinTag = "assay/cheat-fraction/1"

        /// The tiles to corrupt in the trace of `job` (never an empty tile, which has no byte to corrupt). For
        /// `fraction:Q`, leaf i is corrupted when its coin (`coin`) falls below Q: the same job gets the same tiles on
        /// every run, and about a fraction Q of them.
        func tilesToCorrupt(_ layout: TraceLayout, job: Hash, seed: UInt64) -> Set<TileID> {
            switch self {
            case let .tile(id):
                guard let range = try? layout.tileRange(layer: id.layer, tile: id.tile), !range.isEmpty else { return [] }
                return [id]
            case let .fraction(q):
                return Set((0..<layout.totalTileCount).map(layout.tile(atLeaf:)).enumerated().filter { leaf, id in
                    Self.coin(seed: seed, job: job, leaf: leaf) < q
                        && !((try? layout.tileRange(layer: id.layer, tile: id.tile))?.isEmpty ?? true)
                }.map(\.element))
            case .none, .wrong, .late, .silent:
                return []
            }
        }

        /// Uniform in [0, 1): the first 53 bits (big-endian) of SHA-256(tag || seed u64 LE || job id || leaf u64 LE).
        static func coin(seed: UInt64, job: Hash, leaf: Int) -> Double {
            var writer = CanonicalWriter()
            writer.writeFixed(Array(coinTag.utf8))
            writer.write(seed)
            writer.write(job)
            writer.write(UInt64(leaf))
            let draw = SHA256.hash(writer.bytes).bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            return Double(draw >> 11) / Double(1 << 53)
        }
    }
}
