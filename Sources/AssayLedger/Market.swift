import AssayBlobs
import AssayCrypto
import AssayKernels
import AssayTypes

/// Offers, models, jobs and results.
extension BlockExecutor {
    func createOffer(_ offer: Offer, provider: Address) throws {
        guard try state.stake(provider).bonded >= params.minProviderStake else { throw TxFailure(.insufficientStake) }
        guard !offer.kernels.isEmpty, offer.kernels.allSatisfy(KernelBridge.isKnown), offer.capacity > 0,
            offer.pricePerWorkUnit > 0, offer.expiryHeight > height
        else { throw TxFailure(.invalidOffer) }
        let id = transactionHash
        state.write(StateKey.offer(id), OfferRecord(provider: provider, terms: offer, openJobs: 0))
        addTimeout(at: offer.expiryHeight, .offer, id: id.bytes)
        emit(.offerCreated(offer: id, provider: provider))
    }

    func withdrawOffer(_ id: Hash, by sender: Address) throws {
        guard let offer: OfferRecord = try state.read(StateKey.offer(id)) else { throw TxFailure(.offerNotFound) }
        guard offer.provider == sender else { throw TxFailure(.notOfferProvider) }
        state.set(StateKey.offer(id), nil)
        removeTimeout(at: offer.terms.expiryHeight, .offer, id: id.bytes)
        emit(.offerRemoved(offer: id))
    }

    func expireOffer(_ id: Hash) throws {
        guard try state.get(StateKey.offer(id)) != nil else { return }
        state.set(StateKey.offer(id), nil)
        emit(.offerRemoved(offer: id))
    }

    /// The model blob is named by its id; its bytes must be a valid model within `max_model_bytes`.
    func registerModel(_ blob: BlobRef) throws {
        guard blob.length <= params.maxModelBytes else { throw TxFailure(.invalidModel) }
        let hash = blob.id.digest
        guard try state.get(StateKey.model(hash)) == nil else { throw TxFailure(.modelExists) }
        guard KernelBridge.isValidModel(try blobBytes(blob)) else { throw TxFailure(.invalidModel) }
        state.write(StateKey.model(hash), blob)
        try retainBlob(hash)
        emit(.modelRegistered(model: hash))
    }

    func createJob(_ job: Job, client: Address) throws {
        guard var offer: OfferRecord = try state.read(StateKey.offer(job.offerID)) else {
            throw TxFailure(.offerNotFound)
        }
        guard height < offer.terms.expiryHeight else { throw TxFailure(.offerExpired) }
        guard offer.terms.kernels.contains(job.kernel) else { throw TxFailure(.kernelNotOffered) }
        guard offer.openJobs < offer.terms.capacity else { throw TxFailure(.offerFull) }
        guard job.deadline > height, job.deadline - height <= params.maxJobDeadlineBlocks else {
            throw TxFailure(.invalidDeadline)
        }
        guard job.maxWorkUnits > 0, job.maxWorkUnits <= params.maxJobWorkUnits else {
            throw TxFailure(.workUnitsOverLimit)
        }
        guard let model: BlobRef = try state.read(StateKey.model(job.modelHash)) else {
            throw TxFailure(.modelNotFound)
        }
        guard job.inputBlob.length <= params.maxInputBytes else { throw TxFailure(.invalidInput) }
        let escrow = try offer.terms.pricePerWorkUnit.times(job.maxWorkUnits)
        // Only jobs the kernel accepts within their work limit, cut into tiles of at most `max_tile_work_units`,
        // are taken, so every job can be delivered and every tile of its result disputed.
        let layout = KernelBridge.layout(
            job, model: try blobBytes(model), input: try blobBytes(job.inputBlob), maxTileWorkUnits: params.maxTileWorkUnits)
        guard layout != nil else { throw TxFailure(.invalidInput) }
        try debit(client, escrow)
        offer.openJobs += 1
        state.write(StateKey.offer(job.offerID), offer)
        let id = transactionHash
        let record = JobRecord(
            client: client, provider: offer.provider, request: job, pricePerWorkUnit: offer.terms.pricePerWorkUnit,
            escrow: escrow, createdHeight: height, status: .open)
        state.write(StateKey.job(id), record)
        try retainBlob(job.inputBlob.id.digest)
        addTimeout(at: job.deadline, .job, id: id.bytes)
        emit(.jobCreated(job: id, client: client, provider: offer.provider, escrow: escrow))
    }

    func postResult(_ result: JobResult, by sender: Address) throws {
        guard var job: JobRecord = try state.read(StateKey.job(result.jobID)) else { throw TxFailure(.jobNotFound) }
        guard job.provider == sender else { throw TxFailure(.notJobProvider) }
        guard job.status == .open else { throw TxFailure(.wrongJobState) }
        guard height < job.request.deadline else { throw TxFailure(.deadlinePassed) }
        // Only lengths and counts are checked here, from the job's shapes: the output and trace bytes are read by a
        // challenge, one tile at a time, so accepting a result costs the same whatever the job's size.
        guard result.outputBlob.length <= params.maxOutputBytes else { throw TxFailure(.invalidOutput) }
        let layout = try layout(of: job.request)
        guard result.outputBlob.length == layout.outputLength else { throw TxFailure(.invalidOutput) }
        guard result.traceBlob.length == layout.traceLength else { throw TxFailure(.invalidTrace) }
        guard result.workUnits == layout.workUnits else { throw TxFailure(.workUnitsMismatch) }
        let windowEnd = height + params.challengeWindowBlocks
        job.status = .resultPosted(
            outputHash: result.outputHash, traceBlob: result.traceBlob, traceRoot: result.traceRoot,
            workUnits: result.workUnits, resultTx: transactionHash, windowEnd: windowEnd)
        state.write(StateKey.job(result.jobID), job)
        try retainBlob(result.outputHash)
        try retainBlob(result.traceBlob.id.digest)
        removeTimeout(at: job.request.deadline, .job, id: result.jobID.bytes)
        addTimeout(at: windowEnd, .job, id: result.jobID.bytes)
        emit(.resultPosted(
            job: result.jobID, outputHash: result.outputHash, traceBlob: result.traceBlob, traceRoot: result.traceRoot,
            workUnits: result.workUnits, windowEnd: windowEnd))
    }

    /// An accepted job's layout under the current `max_tile_work_units`, from its model and its input's header
    /// alone (the input was checked whole when the job was accepted).
    func layout(of job: Job) throws -> TraceLayout {
        guard let modelBlob: BlobRef = try state.read(StateKey.model(job.modelHash)) else {
            throw TxFailure(.invalidInput)
        }
        let header = try blobBytes(job.inputBlob, range: 0..<min(job.inputBlob.length, KernelBridge.tensorHeaderBytesMax))
        guard let input = KernelBridge.tensorSpec(header: header, length: job.inputBlob.length),
            let layout = KernelBridge.layout(
                job, model: try blobBytes(modelBlob), input: input, maxTileWorkUnits: params.maxTileWorkUnits)
        else { throw TxFailure(.invalidInput) }
        return layout
    }
}
