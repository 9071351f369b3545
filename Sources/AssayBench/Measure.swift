#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock measurement for benchmarks only (never used by the chain's logic).
enum Measure {
    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// Runs `body` `count` times and returns operations per second.
    static func rate(_ count: Int, _ body: (Int) -> Void) -> Double {
        let start = now()
        for index in 0..<count { body(index) }
        return Double(count) / (now() - start)
    }

    static func line(_ label: String, _ value: Double, _ unit: String, baseline: Double? = nil) {
        var text = "\(label): \(format(value)) \(unit)"
        if let baseline { text += "  baseline \(format(baseline)) \(unit)  ratio \(format(value / baseline, digits: 2))" }
        print(text)
    }

    static func format(_ value: Double, digits: Int = 0) -> String {
        if digits == 0 && value >= 100 { return String(Int(value.rounded())) }
        let scale = pow(10.0, Double(max(digits, 2)))
        return String((value * scale).rounded() / scale)
    }
}
