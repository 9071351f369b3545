import AssayCrypto
import BenchBaselines
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Schnorr sign and verify (1 and 2 threads) and SHA-256 (200 bytes, 1 MiB), each wrapper call beside a C loop
/// doing the same job straight on libsecp256k1 / libcrypto.
///
/// The machines are shared (2 cores, several builds at once), so wall-clock rates swing by 2x between runs.
/// Rates are therefore per CPU-second of the measuring threads (`CLOCK_THREAD_CPUTIME_ID`), which other
/// processes do not inflate; with 2 threads the rate is all operations over the busier thread's CPU time, i.e.
/// what two cores of its own would sustain. Neither side takes a lock, so CPU time is all of its cost. Wrapper
/// and baseline alternate in short runs for `rounds` rounds and each side's fastest run is printed.
enum CryptoBench {
    static let rounds = 15

    static func run() throws {
        let key = try SecretKey.generate()
        let secret = key.withSecretBytes { Array($0) }
        let message = SHA256.hash(Array("a transaction's signing hash".utf8)).bytes
        let signature = try key.sign(message)
        let publicKey = key.publicKey

        for threads in [1, 2] {
            compare("schnorr sign, \(threads) thread(s)", "sign/cpu-s", threads: threads, operations: 2_400,
                wrapper: { count in
                    for _ in 0..<count { precondition((try? key.sign(message)) != nil) }
                },
                baseline: { count in
                    precondition(crypto_baseline_sign(secret, message, message.count, count) == count)
                })
        }
        for threads in [1, 2] {
            compare("schnorr verify, \(threads) thread(s)", "verify/cpu-s", threads: threads, operations: 1_200,
                wrapper: { count in
                    for _ in 0..<count { precondition(publicKey.verify(signature, for: message)) }
                },
                baseline: { count in
                    let verified = crypto_baseline_verify(
                        publicKey.bytes, signature.bytes, message, message.count, count)
                    precondition(verified == count)
                })
        }
        compareHashing(size: 200, operations: 250_000, label: "sha256 200 B", unit: "hash/cpu-s", scale: 1)
        compareHashing(
            size: 1 << 20, operations: 100, label: "sha256 1 MiB", unit: "GB/cpu-s", scale: Double(1 << 20) / 1e9)
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

    /// Prints the best rate of `wrapper` beside the best rate of `baseline`, each given an operation count.
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
        Measure.line(label, wrapperRates.max()!, unit, baseline: baselineRates.max()!)
    }

    /// Operations per CPU-second with the work split evenly over `threads` threads (see the type's comment).
    private static func timedRate(threads: Int, operations: Int, _ body: @escaping @Sendable (Int) -> Void) -> Double {
        let perThread = operations / threads
        let busiest = Mutex<Double>(0)
        let run: @Sendable (Int) -> Void = { _ in
            let start = threadCPUSeconds()
            body(perThread)
            let used = threadCPUSeconds() - start
            busiest.withLock { $0 = max($0, used) }
        }
        if threads == 1 {
            run(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: threads, execute: run)
        }
        return Double(perThread * threads) / busiest.withLock { $0 }
    }

    private static func threadCPUSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
