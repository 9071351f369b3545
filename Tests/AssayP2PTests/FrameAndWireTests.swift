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
}
