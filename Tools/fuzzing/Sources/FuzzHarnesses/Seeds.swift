import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayKernels
import AssayTypes
import Foundation
@testable import AssayP2P

/// The seed corpora: real encodings made by the codecs themselves, a few per harness, written once with
/// `Tools/fuzz --seeds` and committed. Keys and signatures are fixed (zero auxiliary randomness), so writing
/// them again gives the same files.
public enum Seeds {
    public static func write(to directory: String) throws {
        for (harness, inputs) in all() {
            let folder = URL(fileURLWithPath: directory).appendingPathComponent(harness)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for (index, input) in inputs.enumerated() {
                try Data(input).write(to: folder.appendingPathComponent(String(format: "seed-%02d", index)))
            }
        }
    }

    static func all() -> [(String, [[UInt8]])] {
        let block = Samples.block()
        let wire = Samples.wireMessages(block: block).map(\.canonicalBytes)
        return [
            ("transaction", Samples.transactions().map(\.canonicalBytes)),
            ("block", [block.canonicalBytes, Block(header: block.header, transactions: [], lastCommit: nil).canonicalBytes]),
            ("vote", Samples.votes().map(\.canonicalBytes)),
            ("proposal", Samples.proposals().map(\.canonicalBytes)),
            ("wire-message", wire),
            ("blob-chunk", Samples.blobChunks().map(\.canonicalBytes)),
            ("frame", frameSeeds(wire)),
            ("handshake", handshakeSeeds()),
            ("json", Samples.jsonBodies.map { Array($0.utf8) }),
            ("json-rpc", Samples.jsonBodies.map { Array($0.utf8) }),
            ("rpc-params", rpcParamSeeds()),
            ("model-blob", Samples.models().map { [0] + $0.canonicalBytes } + Samples.tensors().map { [1] + $0.canonicalBytes }),
            ("npy", Samples.tensors().map(NPY.encode)),
            ("npy-stream", Samples.tensors().map { [7] + $0.canonicalBytes } + [[0] + Samples.tensors()[2].canonicalBytes]),
        ]
    }

    /// Mode and split bytes, then a few messages framed back to back (the last one cut short).
    static func frameSeeds(_ messages: [[UInt8]]) -> [[UInt8]] {
        let stream = messages.prefix(4).flatMap(FrameDecoder.frame)
        return [[0, 0] + stream, [1, 6] + stream, [0, 255] + stream.dropLast(3)]
    }

    /// One seed per handshake mode: a hello, an auth's plaintext, length-prefixed wire messages, raw bytes.
    static func handshakeSeeds() -> [[UInt8]] {
        let initiator = try! SecretKey(bytes: [UInt8](repeating: 0, count: 31) + [2])
        let hello = HandshakeHello(version: Handshake.version, chainID: "assay-fuzz", ephemeralKey: [UInt8](repeating: 7, count: 32))
        let auth = HandshakeAuth(
            nodeKey: initiator.publicKey,
            signature: try! initiator.sign([UInt8](repeating: 1, count: 33), auxiliaryRandomness: Samples.zeroAux))
        let short = [WireMessage.statusAnnouncement(height: 9), .syncRequest(fromHeight: 3, maxCount: 64), .vote(Samples.votes()[0])]
        let messages = short.flatMap { message in [UInt8(message.canonicalBytes.count)] + message.canonicalBytes }
        return [[0] + FrameDecoder.frame(hello.canonicalBytes), [1] + auth.canonicalBytes, [2] + messages, [3, 4, 0, 0, 0, 1, 2, 3, 4]]
    }

    /// For each method the dispatcher serves, its index and three of these typical params (a different three for
    /// neighbouring methods).
    static func rpcParamSeeds() -> [[UInt8]] {
        let transaction = Hex.encode(Samples.transactions()[0].canonicalBytes)
        let hash = String(repeating: "ab", count: 32)
        let address = Address(publicKey: Samples.key(3).publicKey).description
        let params = [
            "{}", "[]", #"{"height":1}"#, #"{"hash":"\#(hash)"}"#, #"["\#(transaction)"]"#, #"{"txs":["\#(transaction)","00"]}"#,
            #"{"address":"\#(address)"}"#, #"{"id":"\#(hash)","length":5}"#, #"{"provider":"\#(address)","kernel":"gemm-i8/1"}"#,
            #"{"key":"0011","prove":true}"#, #"{"client":"\#(address)","state":"open","limit":3}"#,
        ]
        return RPCHarnesses.methodNames.indices.flatMap { index in
            [0, 1, 5].map { [UInt8(index)] + Array(params[(index + $0) % params.count].utf8) }
        }
    }
}

/// Small valid values of every type the harnesses decode.
enum Samples {
    static let chainID = "assay-fuzz"
    static let zeroAux = [UInt8](repeating: 0, count: 32)

    static func key(_ n: UInt8) -> SecretKey { try! SecretKey(bytes: [UInt8](repeating: 0, count: 31) + [n]) }
    static func filled(_ byte: UInt8) -> Hash { Hash([UInt8](repeating: byte, count: 32)) }

    static func vote(_ kind: VoteKind, blockHash: Hash?, signer: SecretKey = key(2)) -> Vote {
        let bytes = Vote.signBytes(chainID: chainID, kind: kind, height: 7, round: 1, blockHash: blockHash)
        return Vote(
            kind: kind, height: 7, round: 1, blockHash: blockHash, validator: signer.publicKey,
            signature: try! signer.sign(bytes, auxiliaryRandomness: zeroAux))
    }

    static func votes() -> [Vote] {
        [vote(.prevote, blockHash: filled(0x55)), vote(.precommit, blockHash: filled(0x66)), vote(.prevote, blockHash: nil)]
    }

    static func bodies() -> [TransactionBody] {
        let model = BlobRef(of: [1, 2, 3])
        return [
            .transfer(Transfer(recipient: Address(publicKey: key(3).publicKey), amount: 5_000_000)),
            .stake(Stake(amount: 1_000_000_000)),
            .unstake(Unstake(amount: 250_000_000)),
            .offer(Offer(kernels: ["gemm-i8/1", "mlp-q8/1"], pricePerWorkUnit: 3, capacity: 8, expiryHeight: 5_000)),
            .withdrawOffer(WithdrawOffer(offerID: filled(0x22))),
            .registerModel(RegisterModel(modelBlob: model)),
            .job(Job(offerID: filled(0x22), kernel: "gemm-i8/1", modelHash: filled(0x33), inputBlob: BlobRef(of: [9]),
                     maxWorkUnits: 1_000, deadline: 120)),
            .result(JobResult(
                jobID: filled(0x44), outputBlob: BlobRef(of: [4, 5]), traceBlob: BlobRef(of: [6, 7, 8, 9]),
                traceRoot: filled(0x88), workUnits: 24)),
            .challenge(Challenge(jobID: filled(0x44), layer: 1, tile: 2, bond: 1_000_000)),
            .settle(Settle(jobID: filled(0x44))),
            .evidence(DoubleSignEvidence(vote(.prevote, blockHash: filled(1)), vote(.prevote, blockHash: filled(2)))!),
            .governancePropose(GovernanceProposal(action: .addValidator(key(3).publicKey, power: 10, nodeKey: key(4).publicKey))),
            .governancePropose(GovernanceProposal(action: .setParameter(name: "min_fee", value: 2_000))),
            .governanceVote(GovernanceVote(proposalID: filled(0x77), approve: true)),
        ]
    }

    static func transactions() -> [Transaction] {
        let signer = key(1)
        return bodies().enumerated().map { index, body in
            var transaction = Transaction(
                chainID: chainID, sender: signer.publicKey, nonce: UInt64(index), fee: 1_000, body: body,
                signature: try! Signature(bytes: [UInt8](repeating: 0, count: 64)))
            transaction.signature = try! signer.sign(transaction.signingHash.bytes, auxiliaryRandomness: zeroAux)
            return transaction
        }
    }

    static func commit(for blockHash: Hash) -> Commit {
        let signatures = [key(2), key(4)].map { signer in
            let vote = vote(.precommit, blockHash: blockHash, signer: signer)
            return CommitSignature(validator: vote.validator, signature: vote.signature)
        }
        return Commit(height: 7, round: 1, blockHash: blockHash, signatures: signatures)
    }

    static func block() -> Block {
        let transactions = Array(transactions().prefix(3))
        let lastCommit = commit(for: filled(0x99))
        let header = Header(
            chainID: chainID, height: 8, timeMs: 1_700_000_000_000, previousBlockHash: filled(0x99),
            lastCommitHash: Block.lastCommitHash(lastCommit), transactionsRoot: Block.transactionsRoot(transactions),
            stateRoot: filled(0x10), validatorSetHash: filled(0x11), nextValidatorSetHash: filled(0x12),
            proposer: key(2).publicKey)
        return Block(header: header, transactions: transactions, lastCommit: lastCommit)
    }

    static func proposals() -> [Proposal] {
        [nil, Round(0)].map { lockRound in
            let signer = key(2)
            let bytes = Proposal.signBytes(chainID: chainID, height: 8, round: 1, proofOfLockRound: lockRound, blockHash: filled(0x12))
            return Proposal(
                height: 8, round: 1, proofOfLockRound: lockRound, blockHash: filled(0x12), proposer: signer.publicKey,
                signature: try! signer.sign(bytes, auxiliaryRandomness: zeroAux))
        }
    }

    static func wireMessages(block: Block) -> [WireMessage] {
        let ref = BlobRef(of: [1, 2, 3])
        return [
            .transactions(Array(transactions().prefix(2))),
            .proposal(proposals()[0], block),
            .vote(votes()[0]),
            .syncRequest(fromHeight: 3, maxCount: 64),
            .syncResponse([CommittedBlock(block: block, commit: commit(for: block.hash))]),
            .statusAnnouncement(height: 12),
            .blobChunkRequest(ref, indices: [0, 1, 2]),
            .blobChunk(ref, index: 0, bytes: [1, 2, 3], proof: ChunkProof(siblings: [])),
            .blobChunksNotHeld(ref, indices: [3]),
            .snapshotOfferRequest,
            .snapshotOffer(manifest: [1, 2, 3]),
            .snapshotChunkRequest(height: 20, index: 7),
            .snapshotChunk(height: 20, index: 7, bytes: [4, 5, 6]),
            .snapshotChunkNotHeld(height: 20, index: 7),
        ]
    }

    /// The last, short chunk of blobs of one, two and three chunks, each with its real proof.
    static func blobChunks() -> [WireMessage] {
        [0, 1, 2].map { fullChunks in
            let tail = [UInt8](repeating: UInt8(fullChunks + 1), count: 100)
            let full = [UInt8](repeating: 0xAB, count: blobChunkBytes)
            let leaves = Array(repeating: blobLeafHash(full), count: fullChunks) + [blobLeafHash(tail)]
            let tree = try! BlobTree(leaves: leaves, length: UInt64(fullChunks * blobChunkBytes + tail.count))
            return .blobChunk(tree.ref, index: UInt32(fullChunks), bytes: tail, proof: tree.proof(chunk: fullChunks))
        }
    }

    static func tensors() -> [Tensor] {
        [
            try! Tensor(int8: [1, -2, 3, -4, 5, -6], shape: [2, 3]),
            try! Tensor(uint8: [0, 255, 7], shape: [3]),
            try! Tensor(int32: [Int32.min, 0, Int32.max, 42], shape: [2, 1, 2]),
            try! Tensor(int8: [9], shape: []),
        ]
    }

    static func models() -> [Model] {
        let arrays = tensors()
        return [try! Model(arrays: [("w", arrays[0]), ("b", arrays[2])]), try! Model(arrays: [("x", arrays[1])])]
    }

    static let jsonBodies = [
        #"{"jsonrpc":"2.0","id":1,"method":"status"}"#,
        #"{"jsonrpc":"2.0","id":"a","method":"block","params":{"height":1}}"#,
        #"[{"jsonrpc":"2.0","id":1,"method":"health"},{"jsonrpc":"2.0","method":"status"},{"id":3}]"#,
        #"{"jsonrpc":"2.0","id":2,"method":"account","params":["assay1qqqq"]}"#,
        #"{"a":[1,-2.5e3,true,false,null,"\u00e9\n"],"b":{"c":18446744073709551615,"d":-9223372036854775808}}"#,
        "[[[[[]]]]]",
    ]
}
