import AssayBlobs
import AssayCrypto
import AssayLedger
import AssayTypes
import Testing

/// Every ledger event names its type from `EventType` and gives one value per attribute key, in order.
@Suite struct EventAttributesTests {
    /// One event of every case the ledger emits.
    static var everyCase: [LedgerEvent] {
        let job = Hash([UInt8](repeating: 1, count: 32)), someone = address(testKey(5)), key = testKey(6).publicKey
        let tile = ChallengedTile(challenger: someone, layer: 1, tile: 2, workUnits: 3)
        return [
            .transferred(sender: someone, recipient: someone, amount: 1), .offerCreated(offer: job, provider: someone),
            .offerRemoved(offer: job), .modelRegistered(model: job),
            .jobCreated(job: job, client: someone, provider: someone, escrow: 4),
            .resultPosted(
                job: job, outputHash: job, traceBlob: BlobRef(of: [1, 2]), traceRoot: job, workUnits: 5, windowEnd: 6),
            .jobEnded(job: job, outcome: .settled, reason: .windowPassed, paid: 7, refund: 8, burned: 9),
            .challengeFailed(job: job, tile, bondForfeited: 10), .challengeUpheld(job: job, tile),
            .slashed(account: someone, amount: 11, toChallenger: 12, burned: 13), .bonded(account: someone, amount: 20),
            .unbondingStarted(account: someone, amount: 14, releaseHeight: 15),
            .unbondingReleased(account: someone, amount: 16), .tombstoned(validator: key),
            .proposalCreated(proposal: job), .voteCast(proposal: job, voter: key, approve: true),
            .proposalPassed(proposal: job), .proposalFailed(proposal: job, reason: "no longer applicable"),
            .proposalExpired(proposal: job),
            .validatorUpdated(validator: key, power: 17, effectiveHeight: 18), .parameterChanged(name: "min_fee", value: 19),
            .blobReleased(blob: job),
        ]
    }

    @Test func everyEventTypeIsEmittedWithItsAttributeKeysInOrder() {
        let events = Self.everyCase.map(\.typeAndAttributes)
        #expect(events.map(\.type) == EventType.allCases.map(\.rawValue))
        for (event, type) in zip(events, EventType.allCases) {
            #expect(event.attributes.map(\.key) == type.attributeKeys, "\(type)")
        }
    }

    @Test func amountsAreDecimalAndJobEndsNameTheirReason() {
        let ended = LedgerEvent.jobEnded(job: .zero, outcome: .slashed, reason: .wrongOutput, paid: 0, refund: 8, burned: 0)
        #expect(ended.typeAndAttributes.attributes.map(\.value).dropFirst() == ["slashed", "wrongOutput", "3", "0", "8", "0"])
    }
}
