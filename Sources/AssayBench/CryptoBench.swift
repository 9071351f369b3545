import AssayCrypto
import BenchBaselines
import Dispatch

/// Schnorr sign and verify (1 and 2 threads) and SHA-256 (200 bytes, 1 MiB), each wrapper call beside a C loop
/// doing the same job straight on libsecp256k1 / libcrypto. Wrapper and baseline alternate for `rounds` rounds
/// and the medians are printed, so that load from other processes hits both alike.
enum CryptoBench {
    static let rounds = 9

    static func run() throws {
        let key = try SecretKey.generate()
        let secret = key.withSecretBytes { Array($0) }
        let message = SHA256.hash(Array("a transaction's signing hash".utf8)).bytes
        let signature = try key.sign(message)
        let publicKey = key.publicKey

        for threads in [1, 2] {
            compare("schnorr sign, \(threads) thread(s)", "sign/s", threads: threads, operations: 3_000,
                wrapper: { count in
                    for _ in 0..<count { precondition((try? key.sign(message)) != nil) }
                },
                baseline: { count in
                    precondition(crypto_baseline_sign(secret, message, message.count, count) == count)
                })
        }
        for threads in [1, 2] {
            compare("schnorr verify, \(threads) thread(s)", "verify/s", threads: threads, operations: 2_000,
                wrapper: { count in
                    for _ in 0..<count { precondition(publicKey.verify(signature, for: message)) }
                },
                baseline: { count in
                    let verified = crypto_baseline_verify(
                        publicKey.bytes, signature.bytes, message, message.count, count)
                    precondition(verified == count)
                })
        }
        compareHashing(size: 200, operations: 400_000, label: "sha256 200 B", unit: "hash/s", scale: 1)
        compareHashing(size: 1 << 20, operations: 150, label: "sha256 1 MiB", unit: "GB/s", scale: Double(1 << 20) / 1e9)
    }

    private static func compareHashing(size: Int, operations: Int, label: String, unit: String, scale: Double) {
        let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 131) }
        let expected = SHA256.hash(data)
        compare(label, unit, threads: 1, operations: operations, scale: scale,
            wrapper: { count in
                var last = Digest32.zero
                for _ in 0..<count { last = SHA256.hash(data) }
                precondition(last == expected)
            },
            baseline: { count in
                var digest = [UInt8](repeating: 0, count: 32)
                precondition(crypto_baseline_sha256(data, data.count, count, &digest) == count)
                precondition(digest == expected.bytes)
            })
    }

    /// Prints the median rate of `wrapper` beside the median rate of `baseline`, each given an operation count.
    private static func compare(
        _ label: String, _ unit: String, threads: Int, operations: Int, scale: Double = 1,
        wrapper: @escaping @Sendable (Int) -> Void, baseline: @escaping @Sendable (Int) -> Void
    ) {
        // Warm caches, lazily made contexts and the thread pool before timing.
        wrapper(max(1, operations / 20))
        baseline(max(1, operations / 20))
        var wrapperRates: [Double] = []
        var baselineRates: [Double] = []
        for round in 0..<rounds {
            // Alternate which side goes first, so neither always runs on a warmer or quieter machine.
            let order = round.isMultiple(of: 2) ? [true, false] : [false, true]
            for isWrapper in order {
                let rate = timedRate(threads: threads, operations: operations, isWrapper ? wrapper : baseline)
                if isWrapper { wrapperRates.append(rate * scale) } else { baselineRates.append(rate * scale) }
            }
        }
        Measure.line(label, median(wrapperRates), unit, baseline: median(baselineRates))
    }

    /// Operations per second with the work split evenly over `threads` threads.
    private static func timedRate(threads: Int, operations: Int, _ body: @escaping @Sendable (Int) -> Void) -> Double {
        let perThread = operations / threads
        let start = Measure.now()
        if threads == 1 {
            body(perThread)
        } else {
            DispatchQueue.concurrentPerform(iterations: threads) { _ in body(perThread) }
        }
        return Double(perThread * threads) / (Measure.now() - start)
    }

    private static func median(_ values: [Double]) -> Double {
        values.sorted()[values.count / 2]
    }
}
