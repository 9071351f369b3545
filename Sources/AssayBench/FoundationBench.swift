/// Crypto, storage and codec figures, each wrapper beside a direct C baseline. Filled in by the foundation work.
enum FoundationBench {
    static func run() throws {
        Measure.line("placeholder", 0, "ops/s")
    }
}
