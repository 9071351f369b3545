import AssayBlobs
import AssayCrypto
import AssayKernels
import AssayTypes

/// The three ways a job ends. Each releases the escrow completely, frees a slot of the offer, and emits
/// `jobEnded` with its reason.
extension BlockExecutor {
    /// `settle` sent by anyone: allowed from the job's end height (window end, or deadline without a result).
    func settleManually(_ id: Hash) throws {
        guard let job: JobRecord = try state.read(StateKey.job(id)) else { throw TxFailure(.jobNotFound) }
        switch job.status {
        case .open:
            guard height >= job.request.deadline else { throw TxFailure(.tooEarlyToSettle) }
            removeTimeout(at: job.request.deadline, .job, id: id.bytes)
        case let .resultPosted(_, _, _, _, _, windowEnd):
            guard height >= windowEnd else { throw TxFailure(.tooEarlyToSettle) }
            removeTimeout(at: windowEnd, .job, id: id.bytes)
        case .settled, .refunded, .slashed:
            throw TxFailure(.wrongJobState)
        }
        try end(id, job)
    }

    /// The automatic end at the job's timeout height, so no credit waits on anyone sending `settle`.
    func settleAtTimeout(_ id: Hash) throws {
        guard let job: JobRecord = try state.read(StateKey.job(id)), !job.status.isTerminal else { return }
        try end(id, job)
    }

    private func end(_ id: Hash, _ job: JobRecord) throws {
        switch job.status {
        case .open: try refund(id, job)
        case let .resultPosted(_, _, _, workUnits, _, _): try pay(id, job, workUnits: workUnits)
        case .settled, .refunded, .slashed: preconditionFailure("a terminal job cannot end again")
        }
    }

    /// Window passed: the provider is paid for its work units less the burned take rate; the rest goes back.
    private func pay(_ id: Hash, _ job: JobRecord, workUnits: UInt64) throws {
        let payment = try job.pricePerWorkUnit.times(workUnits)
        let take = Params.fraction(payment, bps: params.takeRateBps)
        let refund = try job.escrow.minus(payment, else: .overflow)
        try credit(job.provider, payment - take)
        try credit(job.client, refund)
        try burn(take)
        let settlement = JobSettlement(height: height, paid: payment - take, burned: take, refund: refund)
        try close(id, job, status: .settled(.windowPassed, settlement))
        emit(.jobEnded(job: id, outcome: .settled, reason: .windowPassed, paid: payment - take, refund: refund, burned: take))
    }

    /// Deadline passed without a result: the client gets everything back, the provider loses the
    /// non-delivery penalty from its stake (burned).
    private func refund(_ id: Hash, _ job: JobRecord) throws {
        try credit(job.client, job.escrow)
        let penalty = try slash(job.provider, params.nondeliveryPenalty)
        try burn(penalty)
        try close(
            id, job, status: .refunded(.noResultByDeadline, JobSettlement(height: height, refund: job.escrow, slashed: penalty)))
        if penalty > 0 { emit(.slashed(account: job.provider, amount: penalty, toChallenger: 0, burned: penalty)) }
        emit(.jobEnded(job: id, outcome: .refunded, reason: .noResultByDeadline, paid: 0, refund: job.escrow, burned: 0))
    }

    /// Marks the job terminal with its escrow released, and frees its slot in the offer if the offer remains.
    func close(_ id: Hash, _ job: JobRecord, status: JobStatus) throws {
        var closed = job
        closed.status = status
        closed.escrow = 0
        state.write(StateKey.job(id), closed)
        scheduleBlobRelease(id, job)
        if var offer: OfferRecord = try state.read(StateKey.offer(job.request.offerID)), offer.openJobs > 0 {
            offer.openJobs -= 1
            state.write(StateKey.offer(job.request.offerID), offer)
        }
    }
}

/// Challenges: the ledger recomputes the one tile a challenge names, inside the block, and decides.
extension BlockExecutor {
    func adjudicate(_ challenge: Challenge, by challenger: Address) throws {
        let id = challenge.jobID
        guard let job: JobRecord = try state.read(StateKey.job(id)) else { throw TxFailure(.jobNotFound) }
        guard case let .resultPosted(outputHash, traceBlob, _, _, _, windowEnd) = job.status else {
            throw TxFailure(.wrongJobState)
        }
        guard height < windowEnd else { throw TxFailure(.challengeWindowClosed) }
        guard challenger != job.provider else { throw TxFailure(.providerCannotChallenge) }
        guard challenge.bond >= params.challengeBondMin else { throw TxFailure(.bondTooSmall) }
        guard try state.account(challenger).balance >= challenge.bond else { throw TxFailure(.insufficientBalance) }
        let layout = try layout(of: job.request)
        let tile = TileID(layer: Int(challenge.layer), tile: Int(challenge.tile))
        guard let workUnits = try? layout.tileWorkUnits(layer: tile.layer, tile: tile.tile) else {
            throw TxFailure(.tileNotFound)
        }
        guard workUnits <= workRemaining else { throw TxFailure(.workBudgetExhausted) }
        workRemaining -= workUnits
        let output = BlobRef(id: BlobID(outputHash), length: layout.outputLength)
        let challenged = ChallengedTile(
            challenger: challenger, layer: challenge.layer, tile: challenge.tile, workUnits: workUnits)

        if try tileIsRight(tile, layout, input: job.request.inputBlob, trace: traceBlob, output: output) {
            try debit(challenger, challenge.bond)
            try credit(job.provider, challenge.bond)
            emit(.challengeFailed(job: id, challenged, bondForfeited: challenge.bond))
            return
        }
        emit(.challengeUpheld(job: id, challenged))
        try convict(id, job, reason: .wrongOutput, windowEnd: windowEnd, challenger: challenger)
    }

    /// Recomputes the tile from the bytes it reads (ranges of the job input and of the layers in the trace it
    /// depends on) and compares it with its bytes in the trace and, for the last layer, with the output blob's (whose
    /// header must be the output tensor's). Reads only those ranges; costs the tile's work units.
    private func tileIsRight(
        _ tile: TileID, _ layout: TraceLayout, input: BlobRef, trace: BlobRef, output: BlobRef
    ) throws -> Bool {
        let reads = try layout.tileInputs(layer: tile.layer, tile: tile.tile)
        var inputs: [UInt8] = []
        for piece in reads.pieces { inputs += try blobBytes(piece.source == .jobInput ? input : trace, range: piece.range) }
        let honest = try layout.recomputeTile(layer: tile.layer, tile: tile.tile, inputs: inputs)
        guard try blobBytes(trace, range: try layout.tileRange(layer: tile.layer, tile: tile.tile)) == honest else {
            return false
        }
        guard tile.layer == layout.layerCount - 1 else { return true }
        let header = layout.output.canonicalHeader
        return try blobBytes(output, range: 0..<UInt64(header.count)) == header
            && blobBytes(output, range: try layout.outputRange(tile: tile.tile)) == honest
    }

    /// Fraud proven: slash the provider (part to the challenger, the rest burned) and refund the client in full.
    private func convict(_ id: Hash, _ job: JobRecord, reason: JobEndReason, windowEnd: Height, challenger: Address)
        throws
    {
        let stake = try state.stake(job.provider)
        let slashed = try slash(job.provider, Params.fraction(stake.slashable, bps: params.fraudSlashFraction))
        let reward = Params.fraction(slashed, bps: params.challengerRewardFraction)
        try credit(challenger, reward)
        try burn(slashed - reward)
        try credit(job.client, job.escrow)
        removeTimeout(at: windowEnd, .job, id: id.bytes)
        try close(id, job, status: .slashed(reason, JobSettlement(height: height, refund: job.escrow, slashed: slashed)))
        emit(.slashed(account: job.provider, amount: slashed, toChallenger: reward, burned: slashed - reward))
        emit(.jobEnded(job: id, outcome: .slashed, reason: reason, paid: 0, refund: job.escrow, burned: 0))
    }
}
