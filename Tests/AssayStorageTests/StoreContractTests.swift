import AssayStorage
import Testing

/// What every `KeyValueStore` promises, checked against the in-memory store and RocksDB alike.
@Suite struct StoreContractTests {
    let a = Namespace("a")
    let b = Namespace("b")

    @Test(arguments: StoreKind.allCases)
    func putGetOverwriteDelete(kind: StoreKind) async throws {
        try await kind.withStore { store in
            #expect(try store.get([1], in: a) == nil)
            var batch = WriteBatch()
            batch.put([1], [10], in: a)
            try store.write(batch, durability: .synced)
            #expect(try store.get([1], in: a) == [10])

            batch = WriteBatch()
            batch.put([1], [11], in: a)
            batch.delete([2], in: a)  // deleting an absent key is not an error
            try store.write(batch, durability: .buffered)
            #expect(try store.get([1], in: a) == [11])

            batch = WriteBatch()
            batch.delete([1], in: a)
            try store.write(batch, durability: .synced)
            #expect(try store.get([1], in: a) == nil)
            #expect(try store.scan(a, prefix: []).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func batchOperationsApplyInOrder(kind: StoreKind) async throws {
        try await kind.withStore { store in
            var batch = WriteBatch()
            batch.put([1], [1], in: a)
            batch.put([1], [2], in: a)  // a later put wins
            batch.put([2], [1], in: a)
            batch.delete([2], in: a)  // a delete after a put removes it
            batch.delete([3], in: a)
            batch.put([3], [3], in: a)  // a put after a delete stays
            try store.write(batch, durability: .synced)
            #expect(try store.get([1], in: a) == [2])
            #expect(try store.get([2], in: a) == nil)
            #expect(try store.get([3], in: a) == [3])
        }
    }

    /// A reader taking snapshots while batches land sees each batch entirely or not at all.
    @Test(arguments: StoreKind.allCases)
    func concurrentReadersNeverSeePartOfABatch(kind: StoreKind) async throws {
        let batches = 100
        let keysPerBatch = 20
        try await kind.withStore { store in
            let writer = Task.detached {
                for number in 0..<batches {
                    var batch = WriteBatch()
                    for index in 0..<keysPerBatch { batch.put([UInt8(number), UInt8(index)], [UInt8(number)], in: a) }
                    try store.write(batch, durability: .buffered)
                }
            }
            var views = 0
            while views < 1000 {
                let counts = Dictionary(grouping: try store.snapshot().scan(a, prefix: []), by: { $0.key[0] })
                    .mapValues(\.count)
                #expect(counts.values.allSatisfy { $0 == keysPerBatch }, "partial batch visible: \(counts)")
                views += 1
                if counts.count == batches { break }
            }
            try await writer.value
            #expect(try store.scan(a, prefix: []).count == batches * keysPerBatch)
        }
    }

    /// Scans return keys in unsigned byte order (shorter before longer on a common prefix), bounded and limited.
    @Test(arguments: StoreKind.allCases)
    func scansFollowByteOrderWithBoundsAndLimits(kind: StoreKind) async throws {
        var random = SeededBytes(seed: 7)
        let fixed: [[UInt8]] = [[], [0x00], [0x00, 0x00], [0x01], [0x01, 0x00], [0x01, 0xff], [0x02], [0x7f], [0x80], [0xff], [0xff, 0xff]]
        let keys = fixed + (0..<150).map { _ in random.bytes(count: 1 + Int(random.next() % 4)) }
        let expected = Set(keys).sorted { $0.lexicographicallyPrecedes($1) }
        try await kind.withStore { store in
            var batch = WriteBatch()
            for key in keys.reversed() { batch.put(key, key + [0xee], in: a) }
            try store.write(batch, durability: .buffered)

            #expect(try store.scan(a, from: [], to: nil, limit: .max).map(\.key) == expected)
            #expect(try store.scan(a, from: [], to: nil, limit: .max).allSatisfy { $0.value == $0.key + [0xee] })
            let ranges: [([UInt8], [UInt8]?, Int)] = [
                ([0x01], [0x02], .max), ([0x01], [0x01, 0x00], .max), ([0x00, 0x00], [0x80], 7),
                ([0x80], nil, 3), ([0x40], [0x40], .max), ([0x90], [0x10], .max), ([], nil, 0),
            ]
            for (start, end, limit) in ranges {
                let want = expected.filter { key in
                    !key.lexicographicallyPrecedes(start) && (end.map { key.lexicographicallyPrecedes($0) } ?? true)
                }.prefix(limit)
                #expect(try store.scan(a, from: start, to: end, limit: limit).map(\.key) == Array(want))
            }
            for prefix: [UInt8] in [[0x01], [0xff], [0xff, 0xff], [0x00, 0x00]] {
                let want = expected.filter { $0.starts(with: prefix) }
                #expect(try store.scan(a, prefix: prefix).map(\.key) == want)
                #expect(try store.scan(a, prefix: prefix, limit: 1).map(\.key) == Array(want.prefix(1)))
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func namespacesAreIsolated(kind: StoreKind) async throws {
        try await kind.withStore { store in
            var batch = WriteBatch()
            batch.put([1], [0xa], in: a)
            batch.put([1], [0xb], in: b)
            batch.put([2], [0xb], in: b)
            try store.write(batch, durability: .synced)
            #expect(try store.get([1], in: a) == [0xa])
            #expect(try store.get([1], in: b) == [0xb])
            #expect(try store.get([1]) == nil)

            batch = WriteBatch()
            batch.delete([1], in: a)
            try store.write(batch, durability: .synced)
            #expect(try store.get([1], in: b) == [0xb])
            #expect(try store.scan(a, prefix: []).isEmpty)
            #expect(try store.scan(b, prefix: []).map(\.key) == [[1], [2]])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func snapshotsIgnoreLaterWrites(kind: StoreKind) async throws {
        try await kind.withStore { store in
            var batch = WriteBatch()
            batch.put([1], [1], in: a)
            batch.put([2], [2], in: a)
            try store.write(batch, durability: .synced)
            let snapshot = try store.snapshot()

            batch = WriteBatch()
            batch.put([1], [9], in: a)
            batch.delete([2], in: a)
            batch.put([3], [3], in: a)
            batch.put([3], [3], in: b)
            try store.write(batch, durability: .synced)

            #expect(try snapshot.get([1], in: a) == [1])
            #expect(try snapshot.get([2], in: a) == [2])
            #expect(try snapshot.get([3], in: a) == nil)
            #expect(try snapshot.scan(a, prefix: []).map(\.value) == [[1], [2]])
            #expect(try snapshot.scan(b, prefix: []).isEmpty)
            #expect(try store.scan(a, prefix: []).map(\.value) == [[9], [3]])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func emptyKeysAndValuesAreOrdinaryEntries(kind: StoreKind) async throws {
        try await kind.withStore { store in
            var batch = WriteBatch()
            batch.put([], [1], in: a)
            batch.put([2], [], in: a)
            try store.write(batch, durability: .synced)
            #expect(try store.get([], in: a) == [1])
            #expect(try store.get([2], in: a) == [])  // present and empty, not missing
            #expect(try store.scan(a, prefix: []).map(\.key) == [[], [2]])

            batch = WriteBatch()
            batch.delete([], in: a)
            try store.write(batch, durability: .synced)
            #expect(try store.get([], in: a) == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func largeValuesRoundTrip(kind: StoreKind) async throws {
        var random = SeededBytes(seed: 11)
        let large = random.bytes(count: 1 << 20) + [UInt8](repeating: 0x5a, count: 3 << 20)
        try await kind.withStore { store in
            var batch = WriteBatch()
            batch.put([1], large, in: a)
            batch.put([2], large.reversed(), in: a)
            try store.write(batch, durability: .synced)
            #expect(try store.get([1], in: a) == large)
            #expect(try store.scan(a, prefix: []).map(\.value) == [large, large.reversed()])
        }
    }

    /// A namespace the store was not opened with is refused, and a batch touching one writes nothing.
    @Test(arguments: StoreKind.allCases)
    func unopenedNamespaceFailsTheWholeBatch(kind: StoreKind) async throws {
        let unopened = Namespace("unopened")
        try await kind.withStore { store in
            var batch = WriteBatch()
            batch.put([1], [1], in: a)
            batch.put([1], [1], in: unopened)
            let error = #expect(throws: StorageError.self) { try store.write(batch, durability: .synced) }
            #expect(error?.kind == .unknownColumnFamily)
            #expect(error?.message.contains("'unopened'") == true)
            #expect(try store.get([1], in: a) == nil)
            #expect(throws: StorageError.self) { try store.get([1], in: unopened) }
            let snapshot = try store.snapshot()
            #expect(throws: StorageError.self) { try snapshot.scan(unopened, prefix: []) }
        }
    }
}
