import AssayAPI
import AssayCodec
import AssayCrypto
import AssayLedger
import AssayTypes
import Foundation

/// Reads of chain state the wallet commands share. State entries come with a Merkle proof that is checked
/// against the state root in the committed block header of the height the node answered for.
enum ChainReads {
    static func latestHeight(_ client: RPCClient) async throws -> UInt64 {
        try await client.call(ChainMethods.status, NoParams()).latestHeight
    }

    /// The chain parameter `name` in force (Genesis/README.md names).
    static func parameter(_ name: String, _ client: RPCClient) async throws -> UInt64 {
        guard let value = try await client.call(MarketMethods.params, NoParams())[name] else {
            throw CommandFailure("node answered 'params' without \(name)")
        }
        return value
    }

    /// The job's view; an unknown id is the node's not-found error ("job <id> not found").
    static func existingJob(_ text: String, _ client: RPCClient) async throws -> (id: Hash, view: JobView) {
        let id = try RPCValue.hash(text, what: "job id")
        return (id, try await client.call(MarketMethods.job, IDParams(id: id.description)))
    }

    struct ProvenValue {
        let height: UInt64
        let stateRoot: Hash
        let value: [UInt8]?
        /// The trusted height the light client verified the header from; nil without a trust file.
        let trustedFrom: UInt64?
    }

    /// The value under a raw state key, proven: the proof must verify against the answer's state root, and that
    /// root must be the one in the committed header at the answer's height, verified by the light client from the
    /// trust file when there is one (docs/wallet.md, Light client).
    static func proven(_ key: [UInt8], _ client: RPCClient) async throws -> ProvenValue {
        let answer = try await client.call(MarketMethods.query, QueryParams(key: Hex.encode(key), prove: true))
        guard let proofHex = answer.proof, let proofBytes = Hex.decode(proofHex) else {
            throw CommandFailure("node answered 'query' without a proof")
        }
        let height = answer.height
        let root = try RPCValue.hash(answer.stateRoot, what: "state_root")
        var value: [UInt8]?
        if let valueHex = answer.value {
            guard let bytes = Hex.decode(valueHex) else { throw CommandFailure("node's 'query' value is not hex") }
            value = bytes
        }
        let proof: StateProof
        do { proof = try StateProof(canonicalBytes: proofBytes) } catch {
            throw CommandFailure("node's state proof does not decode: \(error)")
        }
        guard StateProof.verify(proof, root: root, key: key, value: value) else {
            throw CommandFailure("the node's Merkle proof does NOT verify against state root \(root)")
        }
        let committed = try await VerifiedHeaders.header(at: height, client)
        guard committed.header.stateRoot == root else {
            throw CommandFailure("state root \(root) is not the one in the committed header at height \(height)")
        }
        return ProvenValue(height: height, stateRoot: root, value: value, trustedFrom: committed.trustedFrom)
    }

    static func offer(_ id: Hash, _ client: RPCClient) async throws -> OfferRecord {
        guard let bytes = try await proven(StateKey.offer(id), client).value else {
            throw CommandFailure("offer \(id) not found (withdrawn, expired or never created)")
        }
        do { return try OfferRecord(canonicalBytes: bytes) } catch { throw CommandFailure("offer \(id): \(error)") }
    }

    static func modelExists(_ hash: Hash, _ client: RPCClient) async throws -> Bool {
        try await proven(StateKey.model(hash), client).value != nil
    }
}
