import AssayBlobs
import Testing

@testable import AssayNode

@Suite struct BlobWiringTests {
    /// The node's one store lives in `<data dir>/blobs`, bounded by the chain's `max_blob_bytes`, and is the one
    /// the RPC layer sees.
    @Test func theServiceSharesTheStoreOfTheDataDirectory() throws {
        let node = try NodeFixture()
        let blobs = node.service.blobs
        #expect(blobs.directory == node.directory.path + "/blobs")
        #expect(blobs.maxBlobBytes == node.genesis.params.maxBlobBytes)
        let reopened = try Node.openBlobs(dataDir: node.directory.path, store: node.store, genesis: node.genesis)
        #expect(reopened.directory == blobs.directory)
    }
}
