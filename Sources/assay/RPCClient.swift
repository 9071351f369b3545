import AssayAPI
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A JSON-RPC 2.0 client for the node's HTTP endpoint (docs/rpc.md), for the command line.
struct RPCClient {
    let url: URL

    init(node: String) throws {
        guard let url = URL(string: node), url.scheme == "http" || url.scheme == "https" else {
            throw CommandFailure("--node '\(node)' is not an http:// URL")
        }
        self.url = url
    }

    /// Calls a method described in AssayAPI and returns its typed result, or throws the node's error message.
    func call<Params, Result>(_ method: Method<Params, Result>, _ params: Params, timeout: TimeInterval = 10)
        async throws -> Result
    {
        let body = try await post(try method.request(params), timeout: timeout)
        do { return try method.result(from: body) } catch let error as RPCError {
            throw CommandFailure(error.description)
        } catch { throw CommandFailure("\(error) (from \(url))") }
    }

    private func post(_ request: Data, timeout: TimeInterval) async throws -> Data {
        var post = URLRequest(url: url, timeoutInterval: timeout)
        post.httpMethod = "POST"
        post.setValue("application/json", forHTTPHeaderField: "Content-Type")
        post.httpBody = request
        do {
            return try await URLSession.shared.data(for: post).0
        } catch {
            throw CommandFailure("cannot reach the node at \(url): \(error.localizedDescription)")
        }
    }
}

/// Output for people by default, JSON for scripts with `--json`.
enum Output {
    /// A typed answer as the node sent it (its wire keys), pretty-printed with sorted keys.
    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// A typed answer as its JSON value, for the `key: value` printer.
    static func jsonValue(_ value: some Encodable) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
    }

    /// `1234567` base units as `1.234567` credits.
    static func credits(_ baseUnits: String) -> String {
        guard let value = UInt64(baseUnits) else { return baseUnits }
        return credits(value)
    }

    static func credits(_ value: UInt64) -> String {
        let whole = value / 1_000_000
        let fraction = String(value % 1_000_000)
        return "\(whole).\(String(repeating: "0", count: 6 - fraction.count) + fraction) credits"
    }

    /// Parses a credit amount with up to six decimals (`5`, `0.25`) into base units.
    static func baseUnits(credits text: String) throws -> UInt64 {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = UInt64(parts[0].isEmpty ? "0" : parts[0]) else {
            throw CommandFailure("'\(text)' is not an amount of credits")
        }
        var fraction: UInt64 = 0
        if parts.count == 2 {
            let digits = String(parts[1])
            guard digits.count <= 6, digits.allSatisfy(\.isNumber), let value = UInt64(digits.isEmpty ? "0" : digits)
            else { throw CommandFailure("'\(text)': at most six decimals (1 base unit = 0.000001 credits)") }
            fraction = value * UInt64(pow(10.0, Double(6 - digits.count)))
        }
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: 1_000_000)
        guard !overflow, scaled <= UInt64.max - fraction else { throw CommandFailure("'\(text)' is too large") }
        return scaled + fraction
    }
}
