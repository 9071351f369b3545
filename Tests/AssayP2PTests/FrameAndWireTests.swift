import AssayCodec
import AssayCrypto
import AssayTypes
import Testing

@testable import AssayP2P

@Suite struct FrameAndWireTests {
    @Test func framesSurviveEverySplit() throws {
        let payloads: [[UInt8]] = [[], [1], Array(0..<200)]
        let stream = payloads.flatMap(FrameDecoder.frame)
        for split in 0...stream.count {
            var decoder = FrameDecoder(frameBytesMax: 1_000)
            var out: [[UInt8]] = []
            for piece in [stream[..<split], stream[split...]] {
                decoder.append(piece)
                while let frame = try decoder.nextFrame() { out.append(frame) }
            }
            #expect(out == payloads && decoder.bufferedBytes == 0)
        }
    }

    @Test func anOversizeLengthIsRefusedFromTheHeaderAlone() {
        var decoder = FrameDecoder(frameBytesMax: 1_000)
        decoder.append([0xE9, 0x03, 0, 0])  // 1001
        #expect(throws: ConnectionError.frameTooLarge(bytes: 1_001, max: 1_000)) { try decoder.nextFrame() }
    }

    @Test func wireMessagesRoundTripAndBoundsHold() throws {
        let key = node(3)
        let vote = Vote(
            kind: .prevote, height: 4, round: 1, blockHash: nil, validator: key.publicKey,
            signature: try key.sign([1]))
        let tx = try Transaction.signed(
            chainID: "chain", nonce: 0, fee: 1,
            body: .transfer(Transfer(recipient: Address(publicKey: key.publicKey), amount: 5)), key: key)
        for message in [
            WireMessage.vote(vote), .transactions([tx]), .syncRequest(fromHeight: 7, maxCount: 64),
            .statusAnnouncement(height: 9), .syncResponse([]),
        ] {
            #expect(try WireMessage(canonicalBytes: message.canonicalBytes) == message)
        }
        let greedy = WireMessage.syncRequest(fromHeight: 1, maxCount: 65).canonicalBytes
        #expect(throws: CodecError.self) { try WireMessage(canonicalBytes: greedy) }
        #expect(throws: CodecError.unknownTag(9, type: "WireMessage")) { try WireMessage(canonicalBytes: [9]) }
    }

    @Test func gossipBatchesStayUnderTheCountAndByteBoundsAPeerEnforces() throws {
        let key = node(3)
        func signed(_ body: TransactionBody, nonce: UInt64) throws -> Transaction {
            try Transaction.signed(chainID: "chain", nonce: nonce, fee: 1, body: body, key: key)
        }
        let small = try signed(.transfer(Transfer(recipient: Address(publicKey: key.publicKey), amount: 5)), nonce: 1)
        let bytesMax = Transaction.encodedBytesMax + WireMessage.batchOverheadBytes
        // The byte bound, not the count bound, is the binding one here.
        let fitting = (bytesMax - WireMessage.batchOverheadBytes) / small.canonicalBytes.count
        try #require(fitting < WireMessage.transactionsMax)
        let byBytes = WireMessage.transactionBatches(Array(repeating: small, count: 2 * fitting + 1), bytesMax: bytesMax)
        #expect(byBytes.map { if case let .transactions(batch) = $0 { batch.count } else { 0 } } == [fitting, fitting, 1])
        #expect(byBytes.allSatisfy { $0.canonicalBytes.count <= bytesMax })
        let byCount = WireMessage.transactionBatches(Array(repeating: small, count: 10_001), bytesMax: 8 << 20)
        #expect(byCount.map { if case let .transactions(batch) = $0 { batch.count } else { 0 } } == [10_000, 1])
        #expect(WireMessage.transactionBatches([], bytesMax: bytesMax).isEmpty)
    }
}
