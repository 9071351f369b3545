import AssayCrypto
import AssayStorage
import AssayTypes
import Testing

@testable import AssayLedger

/// A tree held in a dictionary, updated through the same `TreeUpdater` the ledger uses.
final class MemoryTree: TreeNodeSource {
    var nodes: [NodePath: TreeNode] = [:]
    var root: TreeSlot = .empty

    func node(at path: NodePath) throws(LedgerError) -> TreeNode? { nodes[path] }

    func apply(_ entries: [(key: [UInt8], value: [UInt8]?)]) throws {
        let changes = entries.map { TreeChange(key: SHA256.hash($0.key), value: $0.value.map { SHA256.hash($0) }) }
            .sorted { $0.key < $1.key }
        var updater = TreeUpdater(source: self)
        root = try updater.apply(changes, to: root)
        for (key, node) in updater.writes { nodes[key] = node }
    }

    func prove(_ key: [UInt8]) throws -> StateProof { try SparseMerkleTree.prove(key: key, root: root, source: self) }
}

@Suite struct SparseMerkleTreeTests {
    static func randomState(seed: UInt64, count: Int) -> [[UInt8]: [UInt8]] {
        var generator = SeededGenerator(seed: seed)
        var state: [[UInt8]: [UInt8]] = [:]
        for _ in 0..<count {
            state[generator.bytes(Int.random(in: 1...40, using: &generator))] = generator.bytes(Int.random(in: 0...60, using: &generator))
        }
        return state
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func inclusionAndNonInclusionProofsVerifyAndTamperedOnesFail(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let state = Self.randomState(seed: seed, count: Int.random(in: 1...400, using: &generator))
        let tree = MemoryTree()
        let entries = state.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        try tree.apply(entries.map { ($0.key, $0.value) })
        let root = tree.root.hash

        for (key, value) in entries.prefix(100) {
            let proof = try tree.prove(key)
            #expect(StateProof.verify(proof, root: root, key: key, value: value))
            #expect(!StateProof.verify(proof, root: root, key: key, value: value + [0]))
            #expect(!StateProof.verify(proof, root: root, key: key, value: nil))
            #expect(!StateProof.verify(tampered(proof, &generator), root: root, key: key, value: value))
        }
        for _ in 0..<50 {
            let absent = generator.bytes(41)  // longer than any present key
            let proof = try tree.prove(absent)
            #expect(StateProof.verify(proof, root: root, key: absent, value: nil))
            #expect(!StateProof.verify(proof, root: root, key: absent, value: []))
            if !proof.levels.isEmpty || proof.terminal != .empty {
                #expect(!StateProof.verify(tampered(proof, &generator), root: root, key: absent, value: nil))
            }
        }
    }

    /// Flips one bit of one hash in the proof.
    func tampered(_ proof: StateProof, _ generator: inout SeededGenerator) -> StateProof {
        var copy = proof
        func flip(_ hash: Hash) -> Hash {
            var bytes = hash.bytes
            bytes[Int.random(in: 0..<32, using: &generator)] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
            return Hash(bytes)
        }
        let hashCount = proof.levels.count * 15
        let pick = Int.random(in: 0...hashCount, using: &generator)
        if pick < hashCount {
            copy.levels[pick / 15][pick % 15] = flip(proof.levels[pick / 15][pick % 15])
        } else if case let .leaf(key, value) = proof.terminal {
            copy.terminal = .leaf(key: key, value: flip(value))
        } else {
            copy.terminal = .leaf(key: flip(.zero), value: .zero)
        }
        return copy
    }

    @Test func rootDependsOnlyOnTheContentNotOnBatchingOrOrder() throws {
        let state = Self.randomState(seed: 9, count: 300)
        let entries = state.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { ($0.key, Optional($0.value)) }
        let whole = MemoryTree()
        try whole.apply(entries)
        let piecewise = MemoryTree()
        for chunk in stride(from: 0, to: entries.count, by: 37) {
            try piecewise.apply(Array(entries[chunk..<min(chunk + 37, entries.count)].reversed()))
        }
        #expect(whole.root == piecewise.root)

        // Adding then removing extra keys returns the same root, and the same nodes.
        let extra = Self.randomState(seed: 10, count: 120)
        try piecewise.apply(extra.map { ($0.key, Optional($0.value)) })
        #expect(piecewise.root != whole.root)
        try piecewise.apply(extra.keys.filter { state[$0] == nil }.map { ($0, nil) } + extra.keys.filter { state[$0] != nil }.map { ($0, state[$0]) })
        #expect(piecewise.root == whole.root)
        #expect(piecewise.nodes.count == whole.nodes.count)

        try whole.apply(entries.map { ($0.0, nil) })
        #expect(whole.root == .empty)
        #expect(whole.nodes.isEmpty)
    }

    /// Small subtrees live inside their parents: a big tree stores far fewer nodes than it has, and every
    /// stored node, embedded subtrees included, decodes back to itself.
    @Test func storedNodesEmbedSmallSubtreesAndRoundTrip() throws {
        let state = Self.randomState(seed: 11, count: 2_000)
        let tree = MemoryTree()
        try tree.apply(state.map { ($0.key, Optional($0.value)) })
        // 2,000 leaves need about 2,000 / 2.5 nodes; storing only subtrees of more than 8 leaves keeps the
        // root, its 16 children and some of their children.
        #expect(tree.nodes.count > 16 && tree.nodes.count < 300)
        for node in tree.nodes.values {
            #expect(try TreeNode(canonicalBytes: node.encoded) == node)
            #expect(!node.fitsInParent)
        }
    }

    /// The root as docs/economics.md defines it, computed here with plain arrays: two leaves whose key hashes
    /// differ in the first nibble sit in the root node's slots.
    @Test func rootMatchesTheDocumentedHashing() throws {
        let first: [UInt8] = [1], firstValue: [UInt8] = [7]
        let second = (2...255).map { [UInt8($0)] }.first { SHA256.hash($0).bytes[0] >> 4 != SHA256.hash(first).bytes[0] >> 4 }!
        let secondValue: [UInt8] = [8, 9]
        let tree = MemoryTree()
        try tree.apply([(first, firstValue), (second, secondValue)])
        var slots = [UInt8](repeating: 0, count: 32 * 16)
        for (key, value) in [(first, firstValue), (second, secondValue)] {
            let keyHash = SHA256.hash(key).bytes
            let leaf = SHA256.hash([0x00] + keyHash + SHA256.hash(value).bytes).bytes
            let slot = Int(keyHash[0] >> 4)
            slots.replaceSubrange((32 * slot)..<(32 * slot + 32), with: leaf)
        }
        #expect(tree.root.hash == SHA256.hash([0x01] + slots))
        #expect(tree.nodes.count == 1)
    }

    @Test func emptyAndSingleLeafTrees() throws {
        let tree = MemoryTree()
        #expect(StateProof.verify(try tree.prove([1]), root: .zero, key: [1], value: nil))
        try tree.apply([([1], [2])])
        #expect(tree.root.hash == SparseMerkleTree.leafHash(key: SHA256.hash([1]), value: SHA256.hash([2])))
        #expect(StateProof.verify(try tree.prove([1]), root: tree.root.hash, key: [1], value: [2]))
        #expect(StateProof.verify(try tree.prove([3]), root: tree.root.hash, key: [3], value: nil))
    }

    @Test func ledgerProofsOfAccountsVerifyAgainstTheChainRoot() throws {
        let chain = try inMemoryChain()
        try chain.commit([try chain.sign(testKey(5), .transfer(Transfer(recipient: address(testKey(6)), amount: 10)))])
        let present = StateKey.account(address(testKey(5)))
        let (value, proof) = try chain.query.prove(present)
        #expect(value != nil)
        #expect(StateProof.verify(proof, root: chain.root, key: present, value: value))
        let absentKey = StateKey.account(address(testKey(77)))
        let (none, absence) = try chain.query.prove(absentKey)
        #expect(none == nil)
        #expect(StateProof.verify(absence, root: chain.root, key: absentKey, value: nil))
        let decoded = try StateProof(canonicalBytes: proof.canonicalBytes)
        #expect(decoded == proof)
    }
}
