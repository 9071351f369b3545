import AssayCodec
import AssayCrypto
import AssayTypes
import Crypto
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

    /// A frame sealed in place is byte for byte what swift-crypto's ChaChaPoly seals (another implementation of
    /// RFC 8439) under the same key and counter nonce, and opens in place to the message.
    @Test func framesSealedInPlaceMatchAnotherImplementationAndOpenInPlace() throws {
        let key = SymmetricKey(data: [UInt8](repeating: 3, count: 32))
        var sending = DirectionalCipher(key: key)
        var receiving = DirectionalCipher(key: key)
        let message = (0..<(1 << 20) + 5).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 12) }
        for counter: UInt8 in [0, 1] {
            let frame = Array(try sending.sealedFrame(message).readableBytesView)
            let nonce = try ChaChaPoly.Nonce(data: [0, 0, 0, 0, counter, 0, 0, 0, 0, 0, 0, 0])
            let reference = try ChaChaPoly.seal(message, using: key, nonce: nonce)
            #expect(frame == FrameDecoder.frame(Array(reference.ciphertext) + Array(reference.tag)))
            var payload = Array(frame.dropFirst(FrameDecoder.headerBytes))
            try receiving.open(&payload)
            #expect(payload == message)
        }
    }

    @Test func aSealedFrameAlteredAnywhereIsRefused() throws {
        let key = SymmetricKey(data: [UInt8](repeating: 5, count: 32))
        var sending = DirectionalCipher(key: key)
        let message = [UInt8](repeating: 0x42, count: 1 << 20)
        let payload = Array(try sending.sealedFrame(message).readableBytesView.dropFirst(FrameDecoder.headerBytes))
        // The first and a middle byte of the ciphertext, and the last byte of the tag.
        for position in [0, payload.count / 2, payload.count - 1] {
            var altered = payload
            altered[position] ^= 0x01
            var receiving = DirectionalCipher(key: key)
            #expect(throws: ConnectionError.decryptionFailed) { try receiving.open(&altered) }
        }
        var receiving = DirectionalCipher(key: key)
        var intact = payload
        try receiving.open(&intact)
        #expect(intact == message)
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
            .statusAnnouncement(height: 9), .syncResponse([]), .snapshotOfferRequest, .snapshotOffer(manifest: [1, 2]),
            .snapshotChunkRequest(height: 20, index: 255), .snapshotChunk(height: 20, index: 3, bytes: [7]),
            .snapshotChunkNotHeld(height: 20, index: 3), .lightBlockRequest(height: 21), .lightBlock(height: 21, bytes: [9]),
        ] {
            #expect(try WireMessage(canonicalBytes: message.canonicalBytes) == message)
        }
        let greedy = WireMessage.syncRequest(fromHeight: 1, maxCount: 65).canonicalBytes
        #expect(throws: CodecError.self) { try WireMessage(canonicalBytes: greedy) }
        #expect(throws: CodecError.unknownTag(16, type: "WireMessage")) { try WireMessage(canonicalBytes: [16]) }
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
