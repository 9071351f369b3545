import ArgumentParser
import AssayAPI
import AssayBlobs
import AssayCodec
import AssayCrypto
import AssayKernels
import AssayTracing
import AssayTypes
import Foundation
import Tracing

/// What a job asks for, shared by `assay tx job` and `assay job submit`.
struct JobRequestOptions: ParsableArguments {
    @Option(help: "The offer to take (its id).") var offer: String
    @Option(help: "Kernel: gemm-i8/1, conv2d-i8/1, mlp-q8/1 or qnn/1.") var kernel = "gemm-i8/1"
    @Option(help: "The input tensor (.npy).") var input: String
    @Option(name: .customLong("max-units"), help: "Most work units to pay for (default: the job's exact cost).")
    var maxUnits: UInt64?
    @Option(help: "Blocks from now by which the result must arrive.") var deadlineBlocks: UInt64 = 50

    /// The job and the escrow it locks (the offer's price x max units), after uploading the input blob to the
    /// node. `model`, when known here, gives the default max units and a local check that the kernel accepts
    /// the job.
    func request(modelHash: Hash, model: Model? = nil, _ client: RPCClient) async throws -> (job: Job, escrow: UInt64) {
        let kernelID: KernelID
        do { kernelID = try KernelID(kernel) } catch { throw CommandFailure("--kernel: \(error)") }
        let tensor = try KernelFiles.tensor(at: input)
        var units = maxUnits
        if let model {
            let cost: UInt64
            // The ledger's limits: the job's own work bound (the chain bounds that by max_job_work_units).
            let limits = KernelLimits.forJob(maxWorkUnits: units ?? .max)
            do { cost = try Kernels.cost(kernelID, model: model, input: tensor, limits: limits) } catch {
                throw CommandFailure("the kernel refuses this model and input: \(error)")
            }
            if let units, units < cost { throw CommandFailure("--max-units \(units) is below the job's cost \(cost)") }
            units = units ?? cost
        }
        guard let units else { throw CommandFailure("--max-units is needed when the model is not given") }
        let offerID = try RPCValue.hash(offer, what: "--offer")
        let offer = try await ChainReads.offer(offerID, client)
        guard offer.terms.kernels.contains(kernel) else {
            throw CommandFailure("offer \(offerID) does not include \(kernel) (it offers \(offer.terms.kernels.joined(separator: ", ")))")
        }
        let (escrow, overflow) = offer.terms.pricePerWorkUnit.multipliedReportingOverflow(by: units)
        guard !overflow else { throw CommandFailure("price x max units overflows 64 bits") }
        let deadline = try await ChainReads.latestHeight(client) + deadlineBlocks
        let inputBlob = try await BlobClient(client).upload(tensor.canonicalBytes)
        let job = Job(
            offerID: offerID, kernel: kernel, modelHash: modelHash, inputBlob: inputBlob, maxWorkUnits: units,
            deadline: deadline)
        return (job, escrow)
    }
}

/// `assay job submit|output`: the client's path through the market.
struct JobClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job", abstract: "Buy a kernel run from a provider and fetch its output.",
        subcommands: [Submit.self, OutputCommand.self])

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register the model if the chain lacks it, then submit the job (its id is the tx hash).",
            discussion: """
                With OTEL_EXPORTER_OTLP_ENDPOINT set, the submission's steps are traced to that OpenTelemetry \
                collector, in the job's trace (docs/rpc.md, Tracing).
                """)
        @OptionGroup var signing: SigningOptions
        @OptionGroup var request: JobRequestOptions
        @Option(help: "The model arrays (.npz; names in docs/kernels.md).") var model: String

        func run() async throws {
            let started = DefaultTracerClock.now
            let model = try KernelFiles.model(at: model)
            let wallet = try await signing.wallet()
            try await TracingBackend.runCommand(service: "assay-client", instance: wallet.address.description) { tracer in
                // The job id is the hash of the signed transaction, known only at the end: the steps are timed, then
                // recorded in the job's trace (docs/rpc.md, Tracing).
                var steps: [RecordedSpan] = []
                let submitted = try await submit(model, wallet, timing: &steps)
                if let job = try? RPCValue.hash(submitted.hash, what: "job id") {
                    tracer.record("client.submit", job: job, from: started, to: DefaultTracerClock.now, children: steps)
                }
            }
        }

        private func submit(_ model: Model, _ wallet: Wallet, timing steps: inout [RecordedSpan]) async throws -> Submission {
            let hash = BlobRef(of: model.canonicalBytes).id.digest
            if try await !ChainReads.modelExists(hash, wallet.client) {
                try await RecordedSpan.timing("client.register_model", into: &steps) {
                    let modelBlob = try await BlobClient(wallet.client).upload(model.canonicalBytes)
                    let registered = try await wallet.submit(
                        .registerModel(RegisterModel(modelBlob: modelBlob)), fee: try await signing.fee(for: wallet),
                        wait: true)
                    // Someone else registering the same model first is fine: the job only needs it to exist.
                    if registered.committed?.codeName != "modelExists" { try registered.requireOK("register_model") }
                }
                if !signing.node.json { print("registered model \(hash)") }
            }
            let (job, escrow) = try await RecordedSpan.timing("client.upload_input", into: &steps) {
                try await request.request(modelHash: hash, model: model, wallet.client)
            }
            if !signing.node.json { print("escrow: \(Output.credits(escrow)) for up to \(job.maxWorkUnits) work units") }
            return try await RecordedSpan.timing("client.broadcast", into: &steps) {
                try await signing.submit(.job(job), spends: escrow, wallet: wallet)
            }
        }
    }

    struct OutputCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "output", abstract: "Download a job's output blob, check it against the job's output hash, write .npy.")
        @OptionGroup var options: NodeOptions
        @Argument(help: "The job id.") var id: String
        @Option(help: "Where to write the output tensor (.npy).") var out: String

        func run() async throws {
            let client = try options.client()
            let (jobID, view) = try await ChainReads.existingJob(id, client)
            guard let result = view.result else {
                throw CommandFailure("job \(jobID) has no result yet (state \(view.state))")
            }
            let (resultTx, expected) = (result.resultTx, result.outputHash)
            let posted = try await client.call(ChainMethods.tx, HashParams(hash: resultTx))
            guard let bytes = Hex.decode(posted.tx),
                let transaction = try? Transaction(canonicalBytes: bytes), case let .result(body) = transaction.body,
                body.jobID == jobID
            else { throw CommandFailure("transaction \(resultTx) is not the result of job \(jobID)") }
            // The download is checked against the blob id, which is the job's output hash.
            guard body.outputBlob.id.hex == expected else {
                throw CommandFailure("the result's output blob \(body.outputBlob.id) is not the job's output_hash \(expected)")
            }
            // Streamed: each piece is hashed and converted to .npy as it arrives; the file appears only once the
            // bytes hash to the output hash.
            var npy = NPYStream()
            try await BlobClient.writeFile(out) { file in
                try await BlobClient(client).download(body.outputBlob) { piece in
                    do { try file.write(contentsOf: try npy.npyBytes([UInt8](piece))) } catch let error as NumPyError {
                        throw CommandFailure("the posted output is not a tensor: \(error)")
                    }
                }
                do { try npy.finish() } catch { throw CommandFailure("the posted output is not a tensor: \(error)") }
            }
            print(
                "wrote \(out): \(npy.dtype.map(String.init(describing:)) ?? "?") \(npy.shape), output_hash "
                    + "\(body.outputBlob.id) (matches the job), state \(view.state)")
        }
    }
}
