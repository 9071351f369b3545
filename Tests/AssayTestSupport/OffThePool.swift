import Foundation

/// Runs a long synchronous computation on a thread of its own and awaits its result without holding a thread of
/// the cooperative pool. Swift Testing runs tests in parallel on that pool, which is only as wide as the machine
/// has cores, so a few CPU-bound test bodies on it starve every test in the process that awaits network I/O or a
/// timer. Record issues (`#expect`) after the await, on the test's own task: `body` runs outside it.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
