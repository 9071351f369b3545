/// SplitMix64 (Steele, Lea, Flood): the simulation's only source of randomness, so that one seed
/// replays one run exactly. Never the system generator.
public struct SimRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound` (bound > 0), by rejection so that no value is favoured.
    public mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0, "an empty range has no uniform value")
        let limit = UInt64.max - UInt64.max % bound
        while true {
            let value = next()
            if value < limit { return value % bound }
        }
    }

    /// Uniform in `range`.
    public mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(below(UInt64(range.upperBound - range.lowerBound + 1)))
    }

    /// True with probability `permille / 1000`.
    public mutating func chance(permille: Int) -> Bool { permille > 0 && Int(below(1_000)) < permille }

    /// A generator for a sub-component, independent of later draws from this one.
    public mutating func fork() -> SimRandom { SimRandom(seed: next()) }
}
