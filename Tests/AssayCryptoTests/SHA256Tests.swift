import Dispatch
import PropertyBased
import Synchronization
import Testing
@testable import AssayCrypto

@Suite("SHA-256 known answers")
struct SHA256Tests {
    @Test func emptyInput() {
        #expect(SHA256.hash([UInt8]()).description
            == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func abc() {
        #expect(SHA256.hash(Array("abc".utf8)).description
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    /// Reference value from coreutils: `head -c 1048576 /dev/zero | sha256sum`.
    @Test func oneMebibyteOfZeros() {
        #expect(SHA256.hash([UInt8](repeating: 0, count: 1 << 20)).description
            == "30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58")
    }

    @Test func partsHashLikeTheirConcatenation() {
        let message = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let whole = SHA256.hash(message)
        for split in [0, 1, 63, 64, 65, 999, 1000] {
            #expect(SHA256.hash(parts: [Array(message[..<split]), Array(message[split...])]) == whole)
        }
        #expect(SHA256.hash(parts: [[], message, []]) == whole)
        #expect(SHA256.hash(message[...]) == whole)
    }

    /// Each thread keeps its own digest context; two threads hashing at once must not disturb each other.
    @Test func twoThreadsHashLikeOne() {
        let inputs = (0..<2000).map { index in (0..<(index % 300)).map { UInt8(truncatingIfNeeded: $0 ^ index) } }
        let expected = inputs.map { SHA256.hash($0) }
        let results = Mutex<[[Digest32]]>([[], []])
        DispatchQueue.concurrentPerform(iterations: 2) { thread in
            let digests = inputs.map { SHA256.hash($0) }
            results.withLock { $0[thread] = digests }
        }
        results.withLock { all in
            #expect(all[0] == expected)
            #expect(all[1] == expected)
        }
    }
}

@Suite("Digest32 values")
struct Digest32Tests {
    static let digestBytes = Gen.uint8().array(of: 32...32)

    @Test func bytesRoundTripAndDescribeAsHex() async {
        await propertyCheck(count: 500, input: Self.digestBytes) { bytes in
            let digest = Digest32(bytes)
            #expect(digest.bytes == bytes)
            #expect(digest.description == Hex.encode(bytes))
            #expect(digest.withUnsafeBytes { Array($0) } == bytes)
        }
    }

    /// Digests sort like their bytes, which sorted arrays of hashes (e.g. Merkle leaves) rely on.
    @Test func orderIsByteWiseLexicographic() async {
        await propertyCheck(count: 2_000, input: Self.digestBytes, Self.digestBytes) { left, right in
            #expect((Digest32(left) < Digest32(right)) == left.lexicographicallyPrecedes(right))
            #expect((Digest32(left) == Digest32(right)) == (left == right))
        }
    }

    @Test func digestsThatDifferInOneByteOrderByThatByte() {
        for index in 0..<32 {
            var low = [UInt8](repeating: 0x80, count: 32)
            var high = low
            low[index] = 0x7f
            high[index] = 0x81
            #expect(Digest32(low) < Digest32(high))
            #expect(!(Digest32(high) < Digest32(low)))
            #expect(Set([Digest32(low), Digest32(high), Digest32(low)]).count == 2)
        }
    }

    @Test func hashingADigestHashesItsBytes() {
        let digest = SHA256.hash(Array("abc".utf8))
        #expect(SHA256.hash(digest) == SHA256.hash(digest.bytes))
    }
}
