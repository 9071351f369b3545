import AssayBlobs
import AssayCodec
import AssayP2P
import AssayTypes

/// The canonical decoders of what peers and clients send: transactions (RPC and gossip), blocks, votes and
/// proposals (consensus messages), whole wire messages, and blob chunks with their Merkle proofs.
enum CodecHarnesses {
    static let all: [Harness] = [
        Harness("transaction", "Transaction from canonical bytes (RPC broadcast, gossip)") { bytes in
            guard let transaction = decodeCanonical(Transaction.self, bytes) else { return }
            _ = transaction.hash
            _ = transaction.signingHash
        },
        Harness("block", "Block from canonical bytes (proposals, block sync)") { bytes in
            guard let block = decodeCanonical(Block.self, bytes) else { return }
            _ = block.hash
            _ = Block.transactionsRoot(block.transactions)
            _ = Block.lastCommitHash(block.lastCommit)
        },
        Harness("vote", "Vote from canonical bytes") { bytes in
            guard let vote = decodeCanonical(Vote.self, bytes) else { return }
            _ = vote.signBytes(chainID: "assay-fuzz")
        },
        Harness("proposal", "Proposal from canonical bytes") { bytes in
            guard let proposal = decodeCanonical(Proposal.self, bytes) else { return }
            _ = proposal.signBytes(chainID: "assay-fuzz")
        },
        Harness("wire-message", "WireMessage from canonical bytes (every P2P message after the handshake)") { bytes in
            decodeCanonical(WireMessage.self, bytes)
        },
        Harness("blob-chunk", "blobChunk wire message: ChunkProof decoding and verify(chunk:index:proof:ref:)") { bytes in
            guard case let .blobChunk(ref, index, chunk, proof)? = decodeCanonical(WireMessage.self, bytes) else { return }
            try? verify(chunk: chunk, index: Int(index), proof: proof, ref: ref)
            // The same proof against every shape of tree near the claimed one: `leads` must refuse, never trap.
            let leafCount = ref.chunkCount
            for count in [1, 2, 3, leafCount - 1, leafCount, leafCount + 1] where count > 0 {
                _ = proof.leads(from: blobLeafHash(chunk), index: Int(index), leafCount: count, to: ref.id.digest)
            }
        },
    ]
}
